#pragma once
// Shard merge, part 1 (pure): a shard's recorded DDLs normalised into single alter
// specifications, and each specification classified as additive, contracting or conflicting.
//
// Input: the DDLs the online-DDL engine recorded for one shard's ghost table, already rewritten
// onto the merge target (rewrite_ddl() in online_ddl.h), e.g.
//   ALTER /* gh-ost */ TABLE `shop`.`orders` add column note varchar(20) default null,
//     add index ix_a(a)
//   ALTER /* gh-ost */ TABLE `shop`.`orders` AUTO_INCREMENT=1000526
// normalize_ddls() reads them with the project's lexer (token-aware, never a regex over SQL) and
// returns one AlterSpec per specification:
//   - comments are gone (the lexer skips them; executable comments are code and are kept);
//   - `AUTO_INCREMENT=N` (gh-ost's per-shard value), `ALGORITHM=...`, `LOCK=...` are dropped;
//   - column positions (`FIRST`, `AFTER x`) are dropped;
//   - `CREATE [UNIQUE] INDEX i ON t (...)` becomes `ADD [UNIQUE] INDEX i (...)` and
//     `DROP INDEX i ON t` becomes `DROP INDEX i`, so both spellings compare equal;
//   - `ADD (a int, b int)` is split per column; `CHANGE x x def` (no rename) is a MODIFY;
//   - synonyms are unified (KEY/INDEX, optional COLUMN, CHARSET/CHARACTER SET, MariaDB
//     `IF [NOT] EXISTS`), column attributes are put in one order, `NULL` / `DEFAULT NULL` on a
//     nullable column are dropped, `ASC` in key parts is dropped;
//   - canonical text: keywords upper case, types lower case, column and index names lower case
//     and backtick-quoted (MySQL compares them case-insensitively), one space between tokens,
//     strings and numbers verbatim. Two shards' equal specifications have equal `text`.
// A specification the normaliser does not understand is kept verbatim as kind `unknown` (and is
// classified conflicting): nothing is silently dropped except the three table options above.
//
// classify_set() then decides per specification, against the target's current columns and
// indexes (information_schema, read by the proxy):
//   additive     ADD COLUMN nullable or with a constant default (or generated), ADD of a named
//                INDEX/KEY/FULLTEXT/SPATIAL, type widening, DEFAULT changes, comments, index
//                renames and visibility, harmless table options (ENGINE=, ROW_FORMAT=, ...)
//   contracting  DROP COLUMN, DROP INDEX, narrowing, SET NOT NULL (MODIFY to NOT NULL of a
//                nullable column), ADD COLUMN NOT NULL without a default or with an expression
//                default, ADD UNIQUE; and an additive spec that depends on an earlier
//                contracting one in the same set (DROP INDEX i, ADD INDEX i ...)
//   conflicting  RENAME COLUMN (and CHANGE with a new name), a type change that is neither
//                widening nor narrowing, unnamed ADD INDEX, ADD of a column or index that already
//                exists, a change to a column or index that does not exist, PRIMARY KEY, FOREIGN
//                KEY, CHECK, partitioning, AUTO_INCREMENT columns, and every `unknown`.
// The shard-group decision (shard_group.h) turns these into what runs when.
//
// Known limits (documented, not silent):
//   - Expressions (DEFAULT (...), generated columns, functional key parts) are compared token by
//     token with bare words upper-cased and quoted names lower-cased, so `(a + b)` and
//     `(`a` + `b`)` differ (a conflict, never a wrong merge).
//   - Column character sets: information_schema's COLUMN_TYPE carries none, so a MODIFY that
//     changes only the charset compares as the same type; a charset named on both sides counts
//     (ascii < latin1 < utf8mb3 < utf8mb4).
//   - A character column of n characters is taken to need up to 4n bytes when compared with a
//     TEXT type (utf8mb4), which may call a safe widening incomparable, never the reverse.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "rules/online_ddl.h"  // QualifiedName

namespace ghostgate::rules {

enum class SpecKind : std::uint8_t {
  add_column,
  drop_column,
  modify_column,         // MODIFY, or CHANGE without a rename
  rename_column,         // RENAME COLUMN a TO b, CHANGE a b def
  alter_column_default,  // ALTER COLUMN c SET DEFAULT v | DROP DEFAULT | SET [IN]VISIBLE
  add_index,             // ADD [UNIQUE|FULLTEXT|SPATIAL] INDEX, CREATE INDEX ... ON
  drop_index,            // DROP INDEX|KEY, DROP INDEX ... ON
  rename_index,          // RENAME INDEX|KEY a TO b
  alter_index,           // ALTER INDEX i [IN]VISIBLE, MariaDB ALTER INDEX i [NOT] IGNORED
  table_comment,         // COMMENT [=] '...'
  table_option,          // ENGINE=, ROW_FORMAT=, DEFAULT CHARSET=, FORCE, ... (no row change)
  unknown,               // kept verbatim; always conflicting
};

enum class SpecClass : std::uint8_t { additive, contracting, conflicting };

// How a column definition's DEFAULT reads.
enum class DefaultKind : std::uint8_t {
  none,               // no DEFAULT clause (or DEFAULT NULL on a nullable column)
  null,               // DEFAULT NULL on a NOT NULL column (an error the server reports)
  literal,            // a string, number, TRUE/FALSE, hex or bit literal
  current_timestamp,  // CURRENT_TIMESTAMP / NOW() / LOCALTIME[STAMP], with or without (fsp)
  expression,         // DEFAULT (expr)
};

struct AlterSpec {
  SpecKind kind = SpecKind::unknown;
  // Canonical text without the `ALTER TABLE name` prefix, e.g.
  // "ADD COLUMN `note` varchar(20)"; the verbatim source text for `unknown`.
  std::string text;
  // The column or index the spec changes, lower case (the old name for renames); empty for
  // table options and comments.
  std::string subject;
  std::string new_name;  // renames: the new name, lower case

  // Column definitions (add_column, modify_column, rename_column via CHANGE):
  std::string type;  // canonical type text, e.g. "varchar(20)", "int unsigned"
  bool not_null = false;
  DefaultKind default_kind = DefaultKind::none;
  bool auto_increment = false;
  bool generated = false;    // GENERATED ALWAYS AS / AS (expr)
  bool unique = false;       // add_index: UNIQUE; add_column: an inline UNIQUE [KEY]
  bool primary_key = false;  // an inline PRIMARY KEY / KEY, or ADD PRIMARY KEY (unknown)
  bool references = false;   // an inline REFERENCES
  bool check = false;        // an inline CHECK
  // add_index: the index has a name; its key part column names, lower case (none for a
  // functional part).
  bool named = true;
  std::vector<std::string> index_columns;
  // unknown: why the normaliser gave up.
  std::string why;

  friend bool operator==(const AlterSpec&, const AlterSpec&) = default;
};

// The specifications of one shard's migration, in the order the shard ran them.
struct NormalizedSet {
  std::vector<AlterSpec> specs;
};

// Normalises `ddls` (ALTER TABLE / CREATE INDEX / DROP INDEX statements, each naming `target`)
// into single specifications. A statement that names another table, or that is not one of those
// three kinds, becomes one `unknown` spec holding its text.
[[nodiscard]] NormalizedSet normalize_ddls(const std::vector<std::string>& ddls,
                                           const QualifiedName& target);

// The statement that runs `spec` alone on the target: "ALTER TABLE `shop`.`orders` <text>".
[[nodiscard]] std::string spec_sql(const QualifiedName& target, std::string_view spec_text);

// Equal as sets of canonical texts, in any order (two shards may list the same specifications
// in another order).
[[nodiscard]] bool same_set(const std::vector<std::string>& a, const std::vector<std::string>& b);
[[nodiscard]] std::vector<std::string> spec_texts(const NormalizedSet& set);

// What the target has now, from information_schema.columns (COLUMN_TYPE, IS_NULLABLE) and
// information_schema.statistics (INDEX_NAME). Keys are lower case.
struct ColumnInfo {
  std::string type;  // COLUMN_TYPE as the server reports it, e.g. "bigint(20) unsigned"
  bool nullable = true;

  friend bool operator==(const ColumnInfo&, const ColumnInfo&) = default;
};
struct TargetSchema {
  std::map<std::string, ColumnInfo> columns;
  std::set<std::string> indexes;  // including "primary"
};

// Lower-cases ASCII letters (column and index names compare case-insensitively).
[[nodiscard]] std::string lower_name(std::string_view name);

// How a column's values fare when its type changes from `from` to `to` (type texts as
// information_schema COLUMN_TYPE or a column definition spells them):
//   same          the same set of values (`int(11)` and `int`)
//   wider         every `from` value fits `to` (int -> bigint, varchar(20) -> varchar(40),
//                 decimal(8,2) -> decimal(10,2), float -> double, enum members appended ...)
//   narrower      every `to` value fits `from`, not the reverse (the opposite of wider)
//   incomparable  neither holds (int -> varchar, signed -> unsigned, a type not understood)
enum class TypeChange : std::uint8_t { same, wider, narrower, incomparable };
[[nodiscard]] TypeChange compare_types(std::string_view from, std::string_view to);

struct Classification {
  SpecClass cls = SpecClass::conflicting;
  std::string why;  // one line for messages: what makes it contracting or conflicting

  friend bool operator==(const Classification&, const Classification&) = default;
};

// Classifies each spec of `set` against `target`, in order: specs earlier in the set change what
// later ones see (ADD COLUMN c then ADD INDEX i (c) is fine). Result[i] belongs to set.specs[i].
[[nodiscard]] std::vector<Classification> classify_set(const NormalizedSet& set,
                                                       const TargetSchema& target);

// The columns ("c:name") and indexes ("i:name") a spec changes, and for an ADD INDEX its key
// columns. Specs that share a key must run in their order.
[[nodiscard]] std::vector<std::string> spec_keys(
    SpecKind kind, std::string_view subject, std::string_view new_name,
    const std::vector<std::string>& index_columns = {});
// The spec kinds that change a column (the others change an index or the table).
[[nodiscard]] bool changes_column(SpecKind kind);

// `schema` as it is after a spec ran (`column`: the definition it gives a column).
void apply_to_schema(SpecKind kind, const std::string& subject, const std::string& new_name,
                     const ColumnInfo& column, TargetSchema& schema);

// True when a spec's effect is already in `schema` (it ran before a crash): the column of an
// ADD COLUMN exists, the index of a DROP INDEX is gone, ... False for specs whose effect the
// catalog does not show (MODIFY, SET DEFAULT, comments, table options); those are idempotent.
[[nodiscard]] bool visible_in_schema(SpecKind kind, const std::string& subject,
                                     const std::string& new_name, const TargetSchema& schema);

[[nodiscard]] std::string_view to_string(SpecKind kind);
[[nodiscard]] std::string_view to_string(SpecClass cls);
[[nodiscard]] std::optional<SpecKind> parse_spec_kind(std::string_view text);
[[nodiscard]] std::optional<SpecClass> parse_spec_class(std::string_view text);

}  // namespace ghostgate::rules
