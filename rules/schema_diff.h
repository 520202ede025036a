#pragma once
// What a revert (gh-ost --revert, Vitess REVERT; README "Revert") needs to bring a downstream
// table back: the ALTER TABLE statements that turn its current definition into the one it had
// before the migration, both as the server's SHOW CREATE TABLE prints them (MariaDB, MySQL and
// TiDB spellings), or the list of what cannot be turned back without loss.
//
// Downstream has no copy of the old table, so only changes whose undoing needs no old data are
// reverted: a column the migration added is dropped, an index added or dropped is dropped or
// added back, a column whose type or attributes changed is modified back (as the upstream revert
// itself does). Everything else is lossy or not understood, and named: a column the migration
// dropped (its values are gone downstream) or renamed, the primary key, constraints, table
// options, partitioning, the column order, any definition line this parser does not know.
//
// Token-aware (rules/lexer.h): comments, executable comments (`/*T![clustered_index] ... */`,
// `/*!50100 PARTITION ... */`) and quoted names are never split or matched inside. Pure: no I/O.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/online_ddl.h"

namespace ghostgate::rules {

// A CREATE TABLE statement reduced to what a revert compares. Definition texts are exactly as
// printed (comments kept), so two prints by one server compare equal when nothing changed.
struct TableDefinition {
  struct Part {
    std::string name;  // column, index or constraint name, unquoted ("" for an unnamed one)
    std::string text;  // the whole definition as printed, e.g. "`b` int(11) DEFAULT NULL"
  };
  std::vector<Part> columns;      // in order
  std::string primary_key;        // its definition, "" when there is none
  std::vector<Part> indexes;      // KEY, UNIQUE KEY, FULLTEXT KEY, SPATIAL KEY, ...
  std::vector<Part> constraints;  // CONSTRAINT ... FOREIGN KEY / CHECK, unnamed FOREIGN KEY
  std::string options;            // table options, tokens joined by one space, no AUTO_INCREMENT=
  std::string partitioning;       // PARTITION BY ..., tokens joined by one space
};

// Parses one SHOW CREATE TABLE text; nullopt with `*error` saying what is not understood (also
// a column or index name printed twice, which no server does).
[[nodiscard]] std::optional<TableDefinition> parse_table_definition(std::string_view create,
                                                                    std::string* error);

struct RevertDiff {
  // ALTER TABLE `table` ... statements, one change each (TiDB before v6.2 runs one change per
  // ALTER), in an order that works: indexes dropped, columns dropped, columns modified, indexes
  // added. Empty: the definitions already agree.
  std::vector<std::string> statements;
  // What cannot be reverted without loss, one sentence each. Non-empty: do not run `statements`.
  std::vector<std::string> lossy;
};

// The statements that turn `current` into `wanted` on `table` (both SHOW CREATE TABLE texts of
// that table from the same server).
[[nodiscard]] RevertDiff revert_statements(std::string_view current, std::string_view wanted,
                                           const QualifiedName& table);

}  // namespace ghostgate::rules
