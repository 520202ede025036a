#pragma once
// Statement classification: what kind of statement a text is and which tables it touches.
//
// This is not a SQL parser. It reads just enough of each statement to know what ghostgate has to
// decide about it: the kind, the tables it writes or changes (with their exact byte spans, so a
// statement can be rewritten token-aware), whether MySQL would commit an open transaction before
// it, and how many `?` placeholders it has. SELECTs and the sources of INSERT ... SELECT are not
// analysed: only the target of a write matters for online DDL (as in DM).
//
// The hot path (replicated INSERT/UPDATE/DELETE) allocates nothing: names are views into the
// statement text, and up to Statement::inline_refs references are stored inline. Names are
// copied (unescaped) only when a quoted name contains a doubled backtick.

#include <cstdint>
#include <forward_list>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ghostgate::rules {

enum class StatementKind : std::uint8_t {
  other,              // anything not listed below (SHOW, SAVEPOINT, CALL, DO, ...)
  select,             // SELECT, (SELECT ...), WITH ... SELECT, TABLE, VALUES
  insert,             // INSERT [LOW_PRIORITY|DELAYED|HIGH_PRIORITY] [IGNORE] [INTO] t ...
  replace,            // REPLACE [LOW_PRIORITY|DELAYED] [INTO] t ...
  update,             // UPDATE [LOW_PRIORITY] [IGNORE] table_references SET ...
  delete_rows,        // DELETE ... FROM ...
  load_data,          // LOAD DATA|XML [LOCAL] INFILE 'f' [REPLACE|IGNORE] INTO TABLE t
  create_table,       // CREATE [OR REPLACE] [TEMPORARY] TABLE [IF NOT EXISTS] t (...|LIKE s|AS ..)
  alter_table,        // ALTER [ONLINE|OFFLINE] [IGNORE] TABLE t specs (incl. RENAME [TO|AS] n)
  create_index,       // CREATE [OR REPLACE] [ONLINE|OFFLINE] [UNIQUE|FULLTEXT|SPATIAL] INDEX i ON t
  drop_index,         // DROP INDEX [ONLINE|OFFLINE] [IF EXISTS] i ON t
  drop_table,         // DROP [TEMPORARY] TABLE[S] [IF EXISTS] t1, t2 ...
  rename_table,       // RENAME TABLE[S] a TO b [, c TO d ...]
  truncate,           // TRUNCATE [TABLE] t
  create_trigger,     // CREATE [OR REPLACE] [DEFINER=..] TRIGGER [IF NOT EXISTS] n ... ON t ...
  drop_trigger,       // DROP TRIGGER [IF EXISTS] [schema.]n
  table_maintenance,  // ANALYZE / OPTIMIZE / CHECK / REPAIR / CHECKSUM TABLE t1, t2 ...
  drop_database,      // DROP DATABASE|SCHEMA [IF EXISTS] db
  other_ddl,          // other statements with an implicit commit (CREATE VIEW, CREATE DATABASE..)
  use,                // USE db
  begin,              // BEGIN [WORK], START TRANSACTION ...
  commit,             // COMMIT [WORK] ...
  rollback,           // ROLLBACK [WORK] (not ROLLBACK TO SAVEPOINT: that is `other`)
  set,                // SET ... (variables, NAMES, TRANSACTION, PASSWORD ...)
  lock_tables,        // LOCK TABLE[S] t [AS a] READ|WRITE, ...
  unlock_tables,      // UNLOCK TABLE[S]
};

// What a table reference is to its statement.
enum class RefRole : std::uint8_t {
  target,         // the table written or changed: DML target, DDL subject, each DROP/TRUNCATE/
                  // maintenance/LOCK table. Multi-table UPDATE/DELETE list every table found.
  like_source,    // CREATE TABLE t LIKE <this>
  references,     // FOREIGN KEY (..) REFERENCES <this> inside CREATE/ALTER TABLE
  rename_from,    // RENAME TABLE <this> TO b: followed by its rename_to (unless `partial`)
  rename_to,      // RENAME TABLE a TO <this>; ALTER TABLE a RENAME [TO|AS] <this>
  trigger,        // CREATE/DROP TRIGGER: the trigger's own [schema.]name
  trigger_table,  // CREATE TRIGGER ... ON <this>
  database,       // USE <this>, DROP DATABASE <this>: the name is in `schema`, `table` is empty
};

struct TableRef {
  std::string_view schema;  // unquoted, unescaped; empty = unqualified (resolve against the db)
  std::string_view table;   // unquoted, unescaped
  // Byte span of the whole reference in the statement text, e.g. of `test`.`_t_gho`
  // (qualifier, dot and quotes included, surrounding comments excluded).
  std::uint32_t offset = 0;
  std::uint32_t length = 0;
  RefRole role = RefRole::target;
};

class Statement {
 public:
  static constexpr std::size_t inline_refs = 8;

  Statement() = default;
  // Names may point into owned storage: copying would be easy to get wrong, moving is safe.
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;

  std::string_view text;  // the classified text (a view: the caller keeps it alive)
  StatementKind kind = StatementKind::other;
  // MySQL commits an open transaction before this statement (DDL, LOCK TABLES, ANALYZE ...).
  bool is_ddl = false;
  bool if_exists = false;      // DROP TABLE/INDEX/TRIGGER/DATABASE ... IF EXISTS
  bool if_not_exists = false;  // CREATE TABLE/INDEX/TRIGGER ... IF NOT EXISTS
  bool temporary = false;      // CREATE/DROP TEMPORARY TABLE (no implicit commit)
  // ALTER TABLE only: the statement has specs other than RENAME [TO|AS] (e.g. ADD COLUMN).
  bool alter_has_other_specs = false;
  // The classifier met something it did not expect; `tables()` may be incomplete.
  bool partial = false;
  // `?` placeholders outside strings and comments (a COM_STMT_PREPARE's parameter count).
  std::uint32_t placeholders = 0;

  [[nodiscard]] std::span<const TableRef> tables() const {
    return overflow_.empty() ? std::span<const TableRef>(inline_refs_ptr(), size_)
                             : std::span<const TableRef>(overflow_);
  }
  // The first reference with `role`, or nullptr.
  [[nodiscard]] const TableRef* first(RefRole role) const;

  // For the classifier.
  void add(const TableRef& ref);
  // Keeps a copy of `s` for the statement's lifetime and returns a view of it.
  std::string_view own(std::string s);

 private:
  // Raw storage, not std::array<TableRef, N>: value-initialising N references for every
  // statement would cost more than classifying a typical INSERT. TableRef is an aggregate of
  // trivially copyable members, so the bytes implicitly hold a TableRef array (C++20).
  [[nodiscard]] const TableRef* inline_refs_ptr() const {
    return std::launder(reinterpret_cast<const TableRef*>(inline_));
  }
  [[nodiscard]] TableRef* inline_refs_ptr() {
    return std::launder(reinterpret_cast<TableRef*>(inline_));
  }
  alignas(TableRef) unsigned char inline_[sizeof(TableRef) * inline_refs];
  std::uint32_t size_ = 0;
  std::vector<TableRef> overflow_;        // used instead of inline_ once it is full
  std::forward_list<std::string> owned_;  // nodes never move, so views into them stay valid
};

// Classifies one statement (no trailing `;` needed). `text` must outlive the result: names are
// views into it. Never fails: what it cannot understand is `other` or `partial`.
[[nodiscard]] Statement classify(std::string_view text);

// Counts `?` placeholders outside strings, quoted names and comments.
[[nodiscard]] std::uint32_t count_placeholders(std::string_view text);

}  // namespace ghostgate::rules
