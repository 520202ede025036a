// Replays the recorded gh-ost / pt-osc statement streams (/work/shared/traces/*/trace.sql) and the
// per-tool traces written from each tool's source (tests/traces/*/trace.sql, see
// tests/traces/make_traces.py) through classify + quick_forward + plan + apply against a simulated
// downstream, and checks every decision that is not a plain forward, the exact cut-over DDLs, and
// the end state: which tables exist, and - for tests/traces - each real table's columns (in
// order), index names and constraint names against the expected.txt of the upstream run.
//
// Recorded traces: $GHOSTGATE_TRACES, else <repo>/../shared/traces (the repo is cloned as
// <dir>/main with shared/ beside it). A missing trace fails the test.
// GHOSTGATE_TRACE_DOWNSTREAM=DIR writes what each tests/traces run sends downstream to
// DIR/<name>.sql (make_traces.py --check-downstream DIR runs it on MariaDB against expected.txt).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "rules/classifier.h"
#include "rules/lexer.h"
#include "rules/online_ddl.h"
#include "rules/schema_diff.h"

namespace ghostgate::rules {
namespace {

namespace fs = std::filesystem;

fs::path traces_dir() {
  if (const char* env = std::getenv("GHOSTGATE_TRACES"); env != nullptr && *env != '\0') {
    return env;
  }
  // tests/rules/trace_test.cc -> <repo> -> <repo>/../shared/traces
  return fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path() / "shared" /
         "traces";
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Splits a mysql-client script into statements the way the `mysql` client does: by the current
// DELIMITER (outside quotes and comments), honouring `DELIMITER x` lines.
std::vector<std::string> read_script(const std::string& text) {
  std::vector<std::string> out;
  std::string delimiter = ";";
  std::string cur;
  char quote = 0;
  bool block_comment = false;
  std::size_t i = 0;
  auto at_line_start = [&]() { return cur.find_first_not_of(" \t\r\n") == std::string::npos; };
  while (i < text.size()) {
    if (quote == 0 && !block_comment && at_line_start() && text.compare(i, 10, "DELIMITER ") == 0) {
      const std::size_t eol = text.find('\n', i);
      delimiter = text.substr(i + 10, (eol == std::string::npos ? text.size() : eol) - i - 10);
      while (!delimiter.empty() && (delimiter.back() == '\r' || delimiter.back() == ' ')) {
        delimiter.pop_back();
      }
      cur.clear();
      i = eol == std::string::npos ? text.size() : eol + 1;
      continue;
    }
    const char c = text[i];
    if (block_comment) {
      cur += c;
      if (c == '*' && i + 1 < text.size() && text[i + 1] == '/') {
        cur += '/';
        ++i;
        block_comment = false;
      }
      ++i;
      continue;
    }
    if (quote != 0) {
      cur += c;
      if (c == '\\' && quote != '`' && i + 1 < text.size()) {
        cur += text[i + 1];
        i += 2;
        continue;
      }
      if (c == quote) {
        quote = 0;
      }
      ++i;
      continue;
    }
    if (c == '\'' || c == '"' || c == '`') {
      quote = c;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      block_comment = true;
    } else if (text.compare(i, delimiter.size(), delimiter) == 0) {
      const std::size_t b = cur.find_first_not_of(" \t\r\n");
      if (b != std::string::npos) {
        out.push_back(cur.substr(b, cur.find_last_not_of(" \t\r\n") - b + 1));
      }
      cur.clear();
      i += delimiter.size();
      continue;
    }
    cur += c;
    ++i;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Table definitions reduced to what a schema change changes: columns in order, index names,
// constraint names. Enough to follow the ALTERs in the traces; anything else is an error, so a
// trace cannot silently leave the simulation behind.

struct TableSchema {
  std::vector<std::string> columns;
  std::set<std::string> indexes;
  std::set<std::string> constraints;
  // Definition texts as written (not compared): what SHOW CREATE TABLE would print, enough for
  // the proxy's revert (render()).
  std::map<std::string, std::string> column_defs;  // name -> definition after the name
  std::map<std::string, std::string> index_defs;   // name -> "KEY `name` (...)"
  std::string primary_key;
  friend bool operator==(const TableSchema& a, const TableSchema& b) {
    return a.columns == b.columns && a.indexes == b.indexes && a.constraints == b.constraints;
  }
};

// A SHOW CREATE TABLE of the simulated table (columns in order, then the keys).
std::string render(const std::string& table, const TableSchema& t) {
  std::string out = "CREATE TABLE ";
  append_quoted_identifier(out, table);
  out += " (\n";
  std::vector<std::string> lines;
  for (const std::string& c : t.columns) {
    std::string line = "  ";
    append_quoted_identifier(line, c);
    auto def = t.column_defs.find(c);
    line += " " + (def == t.column_defs.end() ? std::string("int") : def->second);
    lines.push_back(std::move(line));
  }
  if (!t.primary_key.empty()) {
    lines.push_back("  " + t.primary_key);
  }
  for (const std::string& i : t.indexes) {
    auto def = t.index_defs.find(i);
    lines.push_back("  " + (def == t.index_defs.end() ? "KEY `" + i + "` (`?`)" : def->second));
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += lines[i] + (i + 1 < lines.size() ? ",\n" : "\n");
  }
  return out + ") ENGINE=InnoDB";
}

std::ostream& operator<<(std::ostream& os, const TableSchema& t) {
  os << "columns(";
  for (const std::string& c : t.columns) {
    os << c << " ";
  }
  os << ") indexes(";
  for (const std::string& i : t.indexes) {
    os << i << " ";
  }
  os << ") constraints(";
  for (const std::string& c : t.constraints) {
    os << c << " ";
  }
  return os << ")";
}

std::vector<Token> tokens_of(std::string_view text) {
  std::vector<Token> out;
  Lexer lexer(text);
  for (Token t = lexer.next(); t.kind != TokenKind::end; t = lexer.next()) {
    out.push_back(t);
  }
  return out;
}

std::string name_of(const Token& t) { return std::string(identifier_body(t)); }

// The source text from token `from` to the end of token `to - 1` (tokens view one statement);
// a column position (FIRST, AFTER x) at the end is left out.
std::string raw(const std::vector<Token>& v, std::size_t from, std::size_t to) {
  for (std::size_t k = from; k < to; ++k) {
    if (v[k].is("FIRST") || v[k].is("AFTER")) {
      to = k;
    }
  }
  if (from >= to) {
    return {};
  }
  const char* begin = v[from].text.data();
  const char* end = v[to - 1].text.data() + v[to - 1].text.size();
  return std::string(begin, static_cast<std::size_t>(end - begin));
}

// Splits tokens [begin, end) at commas outside parentheses.
std::vector<std::vector<Token>> split_specs(const std::vector<Token>& v, std::size_t begin,
                                            std::size_t end) {
  std::vector<std::vector<Token>> out(1);
  int depth = 0;
  for (std::size_t i = begin; i < end; ++i) {
    if (v[i].is_punct('(')) {
      ++depth;
    } else if (v[i].is_punct(')')) {
      --depth;
    } else if (depth == 0 && (v[i].is_punct(',') || v[i].is_punct(';'))) {
      out.emplace_back();
      continue;
    }
    out.back().push_back(v[i]);
  }
  std::erase_if(out, [](const std::vector<Token>& s) { return s.empty(); });
  return out;
}

bool one_of(const Token& t, std::initializer_list<std::string_view> words) {
  for (std::string_view w : words) {
    if (t.is(w)) {
      return true;
    }
  }
  return false;
}

// FIRST / AFTER col at the end of a column spec: moves `col` there.
void place(TableSchema& t, const std::string& col, const std::vector<Token>& spec) {
  for (std::size_t i = 0; i < spec.size(); ++i) {
    if (spec[i].is("FIRST") || (spec[i].is("AFTER") && i + 1 < spec.size())) {
      std::erase(t.columns, col);
      auto at = t.columns.begin();
      if (spec[i].is("AFTER")) {
        at = std::find(t.columns.begin(), t.columns.end(), name_of(spec[i + 1]));
        if (at != t.columns.end()) {
          ++at;
        }
      }
      t.columns.insert(at, col);
      return;
    }
  }
}

// One create definition (CREATE TABLE body) or the part of an ALTER ADD after ADD.
bool add_definition(TableSchema& t, const std::vector<Token>& d, std::size_t i) {
  if (i >= d.size()) {
    return false;
  }
  auto named = [&](std::size_t k) { return k < d.size() && !d[k].is_punct('('); };
  if (d[i].is("PRIMARY")) {
    t.primary_key = raw(d, i, d.size());
    return true;
  }
  if (d[i].is("CHECK") || d[i].is("FOREIGN")) {
    return true;  // unnamed: nothing the comparison looks at
  }
  if (one_of(d[i], {"KEY", "INDEX", "UNIQUE", "FULLTEXT", "SPATIAL"})) {
    std::size_t k = i + 1;
    if (!d[i].is("KEY") && !d[i].is("INDEX") && k < d.size() && one_of(d[k], {"KEY", "INDEX"})) {
      ++k;
    }
    if (named(k)) {
      const std::string name = name_of(d[k]);
      t.indexes.insert(name);
      std::string text = d[i].is("UNIQUE") ? "UNIQUE KEY " : "KEY ";
      append_quoted_identifier(text, name);
      t.index_defs[name] = text + " " + raw(d, k + 1, d.size());
    }
    return true;
  }
  if (d[i].is("CONSTRAINT")) {
    if (named(i + 1) && i + 2 < d.size() && d[i + 2].is("UNIQUE")) {
      t.indexes.insert(name_of(d[i + 1]));
    } else if (named(i + 1)) {
      t.constraints.insert(name_of(d[i + 1]));
    }
    return true;
  }
  if (d[i].is("COLUMN")) {
    ++i;
  }
  if (i >= d.size() ||
      (d[i].kind != TokenKind::identifier && d[i].kind != TokenKind::quoted_identifier)) {
    return false;
  }
  const std::string col = name_of(d[i]);
  t.columns.push_back(col);
  t.column_defs[col] = raw(d, i + 1, d.size());
  place(t, col, d);
  return true;
}

bool apply_spec(TableSchema& t, const std::vector<Token>& s) {
  const Token& w = s[0];
  auto at = [&](std::size_t k) -> std::string { return k < s.size() ? name_of(s[k]) : ""; };
  if (w.is("ADD")) {
    return add_definition(t, s, 1);
  }
  if (w.is("DROP") && s.size() >= 2) {
    if (s[1].is("PRIMARY") || s[1].is("CHECK")) {
      return true;
    }
    if (s[1].is("INDEX") || s[1].is("KEY")) {
      t.index_defs.erase(at(2));
      return t.indexes.erase(at(2)) == 1;
    }
    if (s[1].is("FOREIGN") || s[1].is("CONSTRAINT")) {
      const std::string name = s[1].is("FOREIGN") ? at(3) : at(2);
      return t.constraints.erase(name) == 1;
    }
    const std::string col = s[1].is("COLUMN") ? at(2) : at(1);
    t.column_defs.erase(col);
    const auto n = std::erase(t.columns, col);
    return n == 1;
  }
  if (w.is("MODIFY") || w.is("CHANGE")) {
    std::size_t k = (s.size() > 1 && s[1].is("COLUMN")) ? 2 : 1;
    const std::string col = at(k);
    auto it = std::find(t.columns.begin(), t.columns.end(), col);
    if (it == t.columns.end()) {
      return false;
    }
    std::string now = col;
    if (w.is("CHANGE")) {
      now = at(k + 1);
      *it = now;
      t.column_defs.erase(col);
    }
    t.column_defs[now] = raw(s, w.is("CHANGE") ? k + 2 : k + 1, s.size());
    place(t, now, s);
    return true;
  }
  if (w.is("RENAME") && s.size() >= 4 &&
      (s[1].is("COLUMN") || s[1].is("INDEX") || s[1].is("KEY"))) {
    if (s[1].is("COLUMN")) {
      auto it = std::find(t.columns.begin(), t.columns.end(), at(2));
      if (it == t.columns.end()) {
        return false;
      }
      *it = at(4);
      return true;
    }
    return t.indexes.erase(at(2)) == 1 && t.indexes.insert(at(4)).second;
  }
  // Table options and the copy algorithm: no change to what is compared.
  return one_of(w, {"AUTO_INCREMENT", "ENGINE", "COMMENT", "ROW_FORMAT", "DEFAULT", "CHARACTER",
                    "CHARSET", "COLLATE", "ALGORITHM", "LOCK", "FORCE"});
}

// Definitions of `CREATE TABLE name (...)`; false when there is no body (LIKE, AS SELECT).
bool parse_create(std::string_view sql, TableSchema& t, std::vector<std::string>& errors) {
  const std::vector<Token> v = tokens_of(sql);
  std::size_t open = 0;
  while (open < v.size() && !v[open].is_punct('(') && !v[open].is("LIKE")) {
    ++open;
  }
  if (open == v.size() || v[open].is("LIKE")) {
    return false;
  }
  int depth = 0;
  std::size_t close = open;
  for (; close < v.size(); ++close) {
    depth += v[close].is_punct('(') ? 1 : v[close].is_punct(')') ? -1 : 0;
    if (depth == 0) {
      break;
    }
  }
  for (const auto& d : split_specs(v, open + 1, close)) {
    if (!add_definition(t, d, 0)) {
      errors.push_back("cannot follow CREATE TABLE definition: " + std::string(d[0].text));
    }
  }
  return true;
}

// The specs of ALTER TABLE <ref> ..., CREATE INDEX i ON t, DROP INDEX i ON t.
void apply_ddl(const Statement& st, TableSchema& t, std::vector<std::string>& errors) {
  const std::vector<Token> v = tokens_of(st.text);
  if (st.kind == StatementKind::create_index || st.kind == StatementKind::drop_index) {
    // CREATE [UNIQUE|...] INDEX name ON ...; DROP INDEX name ON ...
    for (std::size_t i = 0; i + 1 < v.size(); ++i) {
      if (v[i].is("INDEX") || v[i].is("KEY")) {
        const std::string name = name_of(v[i + 1]);
        const bool ok = st.kind == StatementKind::create_index ? t.indexes.insert(name).second
                                                               : t.indexes.erase(name) == 1;
        if (st.kind == StatementKind::create_index) {
          std::size_t open = i + 2;
          while (open < v.size() && !v[open].is_punct('(')) {
            ++open;
          }
          std::string text = v[0].is("CREATE") && v[1].is("UNIQUE") ? "UNIQUE KEY " : "KEY ";
          append_quoted_identifier(text, name);
          t.index_defs[name] = text + " " + raw(v, open, v.size());
        } else {
          t.index_defs.erase(name);
        }
        if (!ok) {
          errors.push_back("index " + name + ": " + std::string(st.text.substr(0, 80)));
        }
        return;
      }
    }
    return;
  }
  const TableRef& subject = st.tables()[0];
  std::size_t i = 0;
  while (i < v.size() && v[i].offset_in(st.text) < subject.offset + subject.length) {
    ++i;
  }
  for (const auto& spec : split_specs(v, i, v.size())) {
    if (spec[0].is("RENAME") && !(spec.size() > 1 && one_of(spec[1], {"COLUMN", "INDEX", "KEY"}))) {
      continue;  // ALTER TABLE ... RENAME [TO] x: the rename itself is followed elsewhere
    }
    if (!apply_spec(t, spec)) {
      errors.push_back("cannot follow ALTER spec: " + std::string(st.text.substr(0, 100)));
    }
  }
}

// The definitions in a SHOW CREATE TABLE of expected.txt, by table.
std::map<std::string, TableSchema> expected_schemas(const fs::path& file) {
  std::map<std::string, TableSchema> out;
  std::ifstream in(file);
  std::string line;
  std::string table;
  std::string create;
  bool in_create = false;
  std::vector<std::string> errors;
  while (std::getline(in, line)) {
    if (line.rfind("== TABLE `", 0) == 0) {
      table = line.substr(10, line.size() - 11);
    } else if (line == "-- SHOW CREATE TABLE") {
      in_create = true;
      create.clear();
    } else if (in_create) {
      create += line + "\n";
      if (line.rfind(") ", 0) == 0) {
        in_create = false;
        parse_create(create, out[table], errors);
      }
    }
  }
  EXPECT_EQ(errors, std::vector<std::string>{}) << file;
  return out;
}

// A downstream TiDB reduced to what the decisions depend on: which tables exist, and which DDLs
// each one has received since the start. It also answers as a Catalog, but only for names the
// driver has looked up (a cache, as the proxy keeps one), so need_lookup gets exercised.
class Downstream : public Catalog {
 public:
  std::optional<bool> table_exists(const QualifiedName& name) const override {
    auto it = cache_.find(name);
    if (it == cache_.end()) {
      return std::nullopt;
    }
    return it->second;
  }
  void look_up(const std::vector<QualifiedName>& names) {
    for (const QualifiedName& n : names) {
      cache_[n] = tables.count(n) > 0;
    }
    ++lookups;
  }

  // Executes a statement the proxy sends to the backend (forwarded or a plan's backend_sql).
  void execute(const std::string& sql, const std::string& db) {
    if (!db.empty() && db != log_db_) {
      log.push_back("USE " + quote_name({"", db}));
      log_db_ = db;
    }
    log.push_back(sql);
    const Statement st = classify(sql);
    auto name = [&](const TableRef& r) {
      return QualifiedName{std::string(r.schema.empty() ? std::string_view(db) : r.schema),
                           std::string(r.table)};
    };
    const auto refs = st.tables();
    switch (st.kind) {
      case StatementKind::insert:
      case StatementKind::replace:
      case StatementKind::update:
      case StatementKind::delete_rows:
        for (const TableRef& r : refs) {
          if (tables.count(name(r)) == 0) {
            errors.push_back("1146 Table doesn't exist: " + sql.substr(0, 80));
          }
        }
        if (!refs.empty()) {
          ++dml[name(refs[0])];
        }
        break;
      case StatementKind::create_table: {
        if (!tables.insert(name(refs[0])).second) {
          errors.push_back("1050 Table already exists: " + sql.substr(0, 80));
        }
        TableSchema t;
        if (!parse_create(sql, t, errors)) {
          if (const TableRef* like = st.first(RefRole::like_source)) {
            t = schemas[name(*like)];
          }
        }
        schemas[name(refs[0])] = t;
        break;
      }
      case StatementKind::drop_table:
        for (const TableRef& r : refs) {
          if (tables.erase(name(r)) == 0 && !st.if_exists) {
            errors.push_back("1051 Unknown table: " + sql.substr(0, 80));
          }
          schemas.erase(name(r));
        }
        break;
      case StatementKind::rename_table:
        for (std::size_t i = 0; i + 1 < refs.size(); i += 2) {
          move(name(refs[i]), name(refs[i + 1]), sql);
        }
        break;
      case StatementKind::alter_table:
      case StatementKind::create_index:
      case StatementKind::drop_index: {
        const QualifiedName t = name(refs[0]);
        if (tables.count(t) == 0) {
          errors.push_back("1146 Table doesn't exist: " + sql.substr(0, 80));
          break;
        }
        if (const TableRef* to = st.first(RefRole::rename_to)) {
          move(t, name(*to), sql);
        } else {
          ddls[t].push_back(sql);
          apply_ddl(st, schemas[t], errors);
        }
        break;
      }
      case StatementKind::create_trigger:
        errors.push_back("TiDB has no triggers: " + sql.substr(0, 80));
        break;
      case StatementKind::table_maintenance:
      case StatementKind::truncate:
        for (const TableRef& r : refs) {
          if (tables.count(name(r)) == 0) {
            errors.push_back("1146 Table doesn't exist: " + sql.substr(0, 80));
          }
        }
        break;
      default:
        break;
    }
    if (st.is_ddl) {
      cache_.clear();  // the proxy invalidates what a DDL may have changed
    }
  }

  std::string render(const QualifiedName& name) {
    return ::ghostgate::rules::render(name.table, schemas[name]);
  }

  std::set<QualifiedName> tables;
  std::map<QualifiedName, TableSchema> schemas;
  std::vector<std::string> log;  // every statement sent, USE lines where the database changes
  std::map<QualifiedName, std::vector<std::string>> ddls;
  std::map<QualifiedName, int> dml;
  std::vector<std::string> errors;
  int lookups = 0;

 private:
  void move(const QualifiedName& from, const QualifiedName& to, const std::string& sql) {
    if (tables.erase(from) == 0 || !tables.insert(to).second) {
      errors.push_back("rename failed: " + sql.substr(0, 80));
      return;
    }
    ddls[to] = std::move(ddls[from]);
    ddls.erase(from);
    schemas[to] = std::move(schemas[from]);
    schemas.erase(from);
  }

  std::map<QualifiedName, bool> cache_;
  std::string log_db_;
};

struct Replay {
  // One line per statement that was not simply forwarded, and per cut-over DDL:
  //   "local <reason> | <statement, first 70 bytes>"  or  "refuse | ..."  or  "  sql: <ddl>"
  std::vector<std::string> decisions;
  int suppressed_dml = 0;
  int forwarded_dml = 0;
  std::map<std::string, int> suppressed_dml_by_table;
  Downstream downstream;
  std::vector<GhostRecord> registry_at_end;
  std::vector<GhostRecord> persisted_at_end;  // what the meta table would hold

  // Carries out a plan's steps: backend SQL downstream, state changes in `engine` and `persisted`.
  void run_steps_impl(Engine& engine, std::map<QualifiedName, GhostRecord>& persisted,
                      const std::vector<Step>& steps);
};

bool is_dml(StatementKind k) {
  return k == StatementKind::insert || k == StatementKind::replace || k == StatementKind::update ||
         k == StatementKind::delete_rows || k == StatementKind::load_data;
}

// The head of a statement for the decision log: whitespace collapsed, cut before the first `(`
// and at 90 bytes.
std::string head(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '(') {
      break;
    }
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space && (out.empty() || out.back() == ' ')) {
      continue;
    }
    out += space ? ' ' : c;
  }
  if (out.size() > 90) {
    out.resize(90);
  }
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  return out;
}

// The tables before.sql creates, with their definitions (a dump: `USE db` before each database's
// tables).
void load_before(const fs::path& dir, Downstream& down) {
  std::string db = "test";
  for (const std::string& sql : read_script(read_file(dir / "before.sql"))) {
    const Statement st = classify(sql);
    if (st.kind == StatementKind::use) {
      db = std::string(st.tables()[0].schema);
    } else if (st.kind == StatementKind::create_table) {
      const QualifiedName name{db, std::string(st.tables()[0].table)};
      down.tables.insert(name);
      parse_create(sql, down.schemas[name], down.errors);
    }
  }
}

Replay replay_dir(const fs::path& dir) {
  Replay r;
  const fs::path trace = dir / "trace.sql";
  if (!fs::exists(trace)) {
    ADD_FAILURE() << "trace missing: " << trace << " (set GHOSTGATE_TRACES)";
    return r;
  }
  load_before(dir, r.downstream);
  Engine engine(TableRules::defaults());
  std::map<QualifiedName, GhostRecord> persisted;
  std::string db;
  std::map<QualifiedName, std::string> kept;  // a cut-over target's definition before it
  auto run_steps = [&](const std::vector<Step>& steps) {
    r.run_steps_impl(engine, persisted, steps);
  };

  for (const std::string& sql : read_script(read_file(trace))) {
    const Statement st = classify(sql);
    if (st.kind == StatementKind::use) {
      db = std::string(st.tables()[0].schema);
    }
    if (engine.quick_forward(st, db)) {
      r.downstream.execute(sql, db);
      r.forwarded_dml += is_dml(st.kind) ? 1 : 0;
      continue;
    }
    Plan p = engine.plan(st, db, r.downstream);
    for (int round = 0; p.verdict == Plan::Verdict::need_lookup; ++round) {
      EXPECT_LT(round, 2) << "lookups do not converge: " << sql;
      EXPECT_FALSE(p.lookups.empty());
      r.downstream.look_up(p.lookups);
      p = engine.plan(st, db, r.downstream);
    }
    if (p.verdict == Plan::Verdict::forward) {
      r.downstream.execute(sql, db);
      r.forwarded_dml += is_dml(st.kind) ? 1 : 0;
      if (!is_dml(st.kind) && st.kind != StatementKind::begin && st.kind != StatementKind::commit &&
          st.kind != StatementKind::use) {
        r.decisions.push_back("forward | " + head(sql));
      }
      continue;
    }
    if (p.verdict == Plan::Verdict::refuse) {
      // A revert, as the proxy carries it out (proxy/online_ddl/revert.cc): back to the
      // definition kept at the table's last cut-over, when that loses nothing.
      auto kept_it = p.revert ? kept.find(p.revert->table) : kept.end();
      if (kept_it == kept.end()) {
        r.decisions.push_back("refuse | " + head(sql) + " | " + p.error_message);
        continue;
      }
      const std::string current = r.downstream.render(p.revert->table);
      const RevertDiff diff = revert_statements(current, kept_it->second, p.revert->table);
      if (!diff.lossy.empty()) {
        std::string lossy;
        for (const std::string& item : diff.lossy) {
          lossy += "; " + item;
        }
        r.decisions.push_back("refuse | " + head(sql) + " | lossy" + lossy);
        continue;
      }
      r.decisions.push_back("local revert | " + head(sql));
      for (const std::string& alter : diff.statements) {
        r.decisions.push_back("  sql: " + alter);
        r.downstream.execute(alter, "");
      }
      kept_it->second = current;  // a revert of the revert goes back to it
      run_steps(p.revert->steps);
      continue;
    }
    if (is_dml(st.kind)) {
      EXPECT_TRUE(p.steps.empty()) << sql;
      EXPECT_FALSE(p.implicit_commit) << sql;
      ++r.suppressed_dml;
      ++r.suppressed_dml_by_table[std::string(st.tables()[0].table)];
      continue;
    }
    EXPECT_EQ(p.implicit_commit, st.is_ddl) << sql;
    r.decisions.push_back("local " + std::string(p.reason) + " | " + head(sql));
    // The proxy keeps a cut-over target's definition before its first DDL (the tombstone's).
    for (const auto& [ghost, target] : p.cutovers) {
      if (std::any_of(p.steps.begin(), p.steps.end(), [&](const Step& step) {
            return step.kind == Step::Kind::backend_sql && step.target == target;
          })) {
        kept[target] = r.downstream.render(target);
      }
    }
    run_steps(p.steps);
  }
  r.registry_at_end = engine.snapshot();
  for (auto& [key, rec] : persisted) {
    r.persisted_at_end.push_back(rec);
  }
  return r;
}

void Replay::run_steps_impl(Engine& engine, std::map<QualifiedName, GhostRecord>& persisted,
                            const std::vector<Step>& steps) {
  {
    Replay& r = *this;
    for (const Step& step : steps) {
      if (step.kind == Step::Kind::backend_sql) {
        r.decisions.push_back("  sql: " + step.sql);
        r.downstream.execute(step.sql, "");  // qualified: runs on any connection
        continue;
      }
      std::optional<GhostRecord> rec = engine.apply(step);
      if (rec) {
        persisted[step.ghost] = *rec;
      } else {
        persisted.erase(step.ghost);
      }
      if (step.kind == Step::Kind::record) {
        r.decisions.push_back("  record: " + step.sql);
      } else if (step.kind == Step::Kind::forget) {
        r.decisions.push_back("  forget " + step.ghost.table);
      } else if (step.kind == Step::Kind::defer_drop) {
        r.decisions.push_back("  defer: " + step.sql);
      } else if (step.kind == Step::Kind::bind) {
        r.decisions.push_back("  bind " + step.ghost.schema + "." + step.ghost.table +
                              (step.bound_kind == TableKind::ghost ? " ghost" : " trash") +
                              (step.target.table.empty() ? "" : " of " + step.target.table) +
                              (step.sql.empty() ? "" : " by " + step.sql));
      }
    }
  }
}

Replay replay(const std::string& name) { return replay_dir(traces_dir() / name); }

QualifiedName t(std::string table) { return {"test", std::move(table)}; }

void expect_clean_end(const Replay& r, const std::set<QualifiedName>& tables) {
  EXPECT_TRUE(r.registry_at_end.empty());
  EXPECT_TRUE(r.persisted_at_end.empty());
  EXPECT_EQ(r.downstream.errors, std::vector<std::string>{});
  EXPECT_EQ(r.downstream.tables, tables);  // no helper table downstream
}

// Every statement of the run that is not DML/BEGIN/COMMIT/USE, what happens to it, and the
// backend statements and state changes it causes.
const std::string kDropGhc =
    "local drop helper table | DROP TABLE IF EXISTS `_t_ghc` /* generated by server */";
const std::string kDropDel =
    "local drop helper table | DROP TABLE IF EXISTS `_t_del` /* generated by server */";
const std::string kCreateGhc =
    "local create trash table | create /* gh-ost */ table `test`.`_t_ghc`";
const std::string kCreateGho =
    "local create ghost table | create /* gh-ost */ table `test`.`_t_gho` like `test`.`t`";
const std::string kSentry = "local create trash table | create /* gh-ost */ table `test`.`_t_del`";
const std::string kAtomicCutOver =
    "local cut-over | rename /* gh-ost */ table `test`.`t` to `test`.`_t_del`, `test`.`_t_gho` "
    "to `test`.`t`";

TEST(Traces, GhostAtomic) {
  const Replay r = replay("ghost-atomic");
  EXPECT_EQ(r.decisions,
            (std::vector<std::string>{
                kDropGhc,
                kCreateGhc,
                kCreateGho,
                "local record ddl on ghost table | alter /* gh-ost */ table `test`.`_t_gho` add "
                "column c varchar",
                "  record: alter /* gh-ost */ table `test`.`_t_gho` add column c varchar(10) not "
                "null default 'q', add index ix_b(b)",
                "local record ddl on ghost table | alter /* gh-ost */ table `test`.`_t_gho` "
                "AUTO_INCREMENT=535",
                "  record: alter /* gh-ost */ table `test`.`_t_gho` AUTO_INCREMENT=535",
                kSentry,
                kDropDel,
                kAtomicCutOver,
                "  sql: alter /* gh-ost */ table `test`.`t` add column c varchar(10) not null "
                "default 'q', add index ix_b(b)",
                "  sql: alter /* gh-ost */ table `test`.`t` AUTO_INCREMENT=535",
                "  forget _t_gho",
                kDropGhc,
                kDropDel,
            }));
  // README: row statements per table: _t_ghc=32, _t_gho=506, t=184.
  EXPECT_EQ(r.suppressed_dml_by_table,
            (std::map<std::string, int>{{"_t_ghc", 32}, {"_t_gho", 506}}));
  EXPECT_EQ(r.forwarded_dml, 184);
  EXPECT_EQ(r.downstream.dml.at(t("t")), 184);
  expect_clean_end(r, {t("t")});
  EXPECT_EQ(r.downstream.ddls.at(t("t")),
            (std::vector<std::string>{"alter /* gh-ost */ table `test`.`t` add column c "
                                      "varchar(10) not null default 'q', add index ix_b(b)",
                                      "alter /* gh-ost */ table `test`.`t` AUTO_INCREMENT=535"}));
}

TEST(Traces, GhostTwoStep) {
  const Replay r = replay("ghost-two-step");
  EXPECT_EQ(r.decisions,
            (std::vector<std::string>{
                kDropGhc,
                kCreateGhc,
                kCreateGho,
                "local record ddl on ghost table | alter /* gh-ost */ table `test`.`_t_gho` "
                "modify column b bigint default null, drop column",
                "  record: alter /* gh-ost */ table `test`.`_t_gho` modify column b bigint "
                "default null, drop column d",
                "local record ddl on ghost table | alter /* gh-ost */ table `test`.`_t_gho` "
                "AUTO_INCREMENT=533",
                "  record: alter /* gh-ost */ table `test`.`_t_gho` AUTO_INCREMENT=533",
                // Step 1 renames the real table away: downstream keeps it for the cut-over.
                "local rename involving helper tables | alter /* gh-ost */ table `test`.`t` "
                "rename `_t_del`",
                "local cut-over | alter /* gh-ost */ table `test`.`_t_gho` rename `t`",
                "  sql: alter /* gh-ost */ table `test`.`t` modify column b bigint default null, "
                "drop column d",
                "  sql: alter /* gh-ost */ table `test`.`t` AUTO_INCREMENT=533",
                "  forget _t_gho",
                kDropGhc,
            }));
  // README: _t_ghc=48, _t_gho=536, t=244.
  EXPECT_EQ(r.suppressed_dml_by_table,
            (std::map<std::string, int>{{"_t_ghc", 48}, {"_t_gho", 536}}));
  EXPECT_EQ(r.forwarded_dml, 244);
  expect_clean_end(r, {t("t")});  // `_t_del` stays upstream only
  EXPECT_EQ(r.downstream.ddls.at(t("t")).size(), 2u);
}

TEST(Traces, GhostAbortedThenRetried) {
  const Replay r = replay("ghost-aborted-then-retried");
  EXPECT_EQ(r.decisions,
            (std::vector<std::string>{
                kDropGhc,
                kCreateGhc,
                kCreateGho,
                "local record ddl on ghost table | alter /* gh-ost */ table `test`.`_t_gho` add "
                "column c1 int not null default 0",
                "  record: alter /* gh-ost */ table `test`.`_t_gho` add column c1 int not null "
                "default 0",
                "local record ddl on ghost table | alter /* gh-ost */ table `test`.`_t_gho` "
                "AUTO_INCREMENT=535",
                "  record: alter /* gh-ost */ table `test`.`_t_gho` AUTO_INCREMENT=535",
                // Run 1 was aborted; run 2 starts with --initially-drop-ghost-table: forget run 1.
                "local drop helper table | DROP TABLE IF EXISTS `_t_gho` /* generated by server */",
                "  forget _t_gho",
                kDropDel,
                kDropGhc,
                kCreateGhc,
                kCreateGho,
                "local record ddl on ghost table | alter /* gh-ost */ table `test`.`_t_gho` add "
                "column c2 varchar",
                "  record: alter /* gh-ost */ table `test`.`_t_gho` add column c2 varchar(20) not "
                "null default 'x', modify e decimal(12,3)",
                "local record ddl on ghost table | alter /* gh-ost */ table `test`.`_t_gho` "
                "AUTO_INCREMENT=620",
                "  record: alter /* gh-ost */ table `test`.`_t_gho` AUTO_INCREMENT=620",
                kSentry,
                kDropDel,
                kAtomicCutOver,
                "  sql: alter /* gh-ost */ table `test`.`t` add column c2 varchar(20) not null "
                "default 'x', modify e decimal(12,3)",
                "  sql: alter /* gh-ost */ table `test`.`t` AUTO_INCREMENT=620",
                "  forget _t_gho",
                kDropGhc,
            }));
  // README: _t_ghc=78, _t_gho=939, t=436. Run 1's `c1` never reaches downstream.
  EXPECT_EQ(r.suppressed_dml_by_table,
            (std::map<std::string, int>{{"_t_ghc", 78}, {"_t_gho", 939}}));
  EXPECT_EQ(r.forwarded_dml, 436);
  expect_clean_end(r, {t("t")});
  EXPECT_EQ(r.downstream.ddls.at(t("t")).size(), 2u);
}

// pt-osc's three triggers (created del, upd, ins) and their drops.
std::vector<std::string> ptosc_triggers(const std::string& table, bool drops) {
  std::vector<std::string> out;
  for (const auto& [suffix, event] :
       {std::pair{"del", "DELETE"}, std::pair{"upd", "UPDATE"}, std::pair{"ins", "INSERT"}}) {
    const std::string sql = "CREATE DEFINER=`gh`@`localhost` TRIGGER `pt_osc_test_" + table + "_" +
                            suffix + "` AFTER " + event + " ON `test`.`" + table + "` FOR";
    out.push_back("local pt-osc trigger | " + sql.substr(0, 90));
  }
  if (drops) {
    for (const char* suffix : {"del", "upd", "ins"}) {
      out.push_back("local pt-osc trigger | DROP TRIGGER IF EXISTS `test`.`pt_osc_test_" + table +
                    "_" + suffix + "`");
    }
  }
  return out;
}

TEST(Traces, PtOscDefault) {
  const Replay r = replay("ptosc-default");
  std::vector<std::string> expected = {
      "local create ghost table | CREATE TABLE `test`.`_t_new`",
      "local record ddl on ghost table | ALTER TABLE `test`.`_t_new` add column c3 int, add index "
      "ix_c3",
      "  record: ALTER TABLE `test`.`_t_new` add column c3 int, add index ix_c3(c3)",
  };
  const auto triggers = ptosc_triggers("t", true);
  expected.insert(expected.end(), triggers.begin(), triggers.begin() + 3);
  expected.insert(
      expected.end(),
      {"local statement on helper tables | ANALYZE TABLE `test`.`_t_new` /* "
       "pt-online-schema-change */",
       "local cut-over | RENAME TABLE `test`.`t` TO `test`.`_t_old`, `test`.`_t_new` TO "
       "`test`.`t`",
       "  sql: ALTER TABLE `test`.`t` add column c3 int, add index ix_c3(c3)", "  forget _t_new",
       "local drop helper table | DROP TABLE IF EXISTS `_t_old` /* generated by server */"});
  expected.insert(expected.end(), triggers.begin() + 3, triggers.end());
  EXPECT_EQ(r.decisions, expected);
  // README: _t_new=538, t=219.
  EXPECT_EQ(r.suppressed_dml_by_table, (std::map<std::string, int>{{"_t_new", 538}}));
  EXPECT_EQ(r.forwarded_dml, 219);
  expect_clean_end(r, {t("t")});
  EXPECT_EQ(
      r.downstream.ddls.at(t("t")),
      std::vector<std::string>{"ALTER TABLE `test`.`t` add column c3 int, add index ix_c3(c3)"});
}

TEST(Traces, PtOscNoDrop) {
  const Replay r = replay("ptosc-no-drop");
  std::vector<std::string> expected = {
      "local create ghost table | CREATE TABLE `test`.`_t_new`",
      "local record ddl on ghost table | ALTER TABLE `test`.`_t_new` add column c4 char",
      "  record: ALTER TABLE `test`.`_t_new` add column c4 char(4) not null default 'f'",
  };
  const auto triggers = ptosc_triggers("t", false);
  expected.insert(expected.end(), triggers.begin(), triggers.end());
  expected.insert(expected.end(),
                  {"local statement on helper tables | ANALYZE TABLE `test`.`_t_new` /* "
                   "pt-online-schema-change */",
                   "local cut-over | RENAME TABLE `test`.`t` TO `test`.`_t_old`, `test`.`_t_new` "
                   "TO `test`.`t`",
                   "  sql: ALTER TABLE `test`.`t` add column c4 char(4) not null default 'f'",
                   "  forget _t_new"});
  EXPECT_EQ(r.decisions, expected);
  // README: _t_new=418, t=175 (the load after the swap goes to the new `t`).
  EXPECT_EQ(r.suppressed_dml_by_table, (std::map<std::string, int>{{"_t_new", 418}}));
  EXPECT_EQ(r.forwarded_dml, 175);
  expect_clean_end(r, {t("t")});
}

TEST(Traces, PtOscForeignKeyDropSwap) {
  const Replay r = replay("ptosc-fk-drop-swap");
  std::vector<std::string> expected = {
      "local create ghost table | CREATE TABLE `test`.`_parent_new`",
      "local record ddl on ghost table | ALTER TABLE `test`.`_parent_new` add column note varchar",
      "  record: ALTER TABLE `test`.`_parent_new` add column note varchar(20) not null default 'n'",
  };
  const auto triggers = ptosc_triggers("parent", true);
  expected.insert(expected.end(), triggers.begin(), triggers.begin() + 3);
  expected.insert(
      expected.end(),
      {"local statement on helper tables | ANALYZE TABLE `test`.`_parent_new` /* "
       "pt-online-schema-change */",
       // drop_swap: the real table stays downstream until the ghost is renamed onto it.
       "local defer drop of real table (drop_swap) | DROP TABLE IF EXISTS `parent` /* generated "
       "by server */",
       "  defer: DROP TABLE IF EXISTS `test`.`parent`",
       "local cut-over | RENAME TABLE `test`.`_parent_new` TO `test`.`parent`",
       "  sql: ALTER TABLE `test`.`parent` add column note varchar(20) not null default 'n'",
       "  forget _parent_new"});
  expected.insert(expected.end(), triggers.begin() + 3, triggers.end());
  EXPECT_EQ(r.decisions, expected);
  // README: _parent_new=362, child=26, parent=107.
  EXPECT_EQ(r.suppressed_dml_by_table, (std::map<std::string, int>{{"_parent_new", 362}}));
  EXPECT_EQ(r.forwarded_dml, 26 + 107);
  expect_clean_end(r, {t("parent"), t("child")});
}

TEST(Traces, EveryTraceFolderIsCovered) {
  const fs::path dir = traces_dir();
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " (set GHOSTGATE_TRACES)";
  std::set<std::string> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory()) {
      found.insert(e.path().filename().string());
    }
  }
  EXPECT_EQ(found,
            (std::set<std::string>{"ghost-aborted-then-retried", "ghost-atomic", "ghost-two-step",
                                   "ptosc-default", "ptosc-fk-drop-swap", "ptosc-no-drop"}));
}

// The proxy may also receive a whole transaction as one multi-statement COM_QUERY: splitting the
// trace text must give the same statements as the mysql-client reading (DELIMITER aside).
TEST(Traces, SplitterAgreesWithTheClientReading) {
  for (const char* name : {"ghost-atomic", "ptosc-default"}) {
    const std::string text = read_file(traces_dir() / name / "trace.sql");
    ASSERT_FALSE(text.empty()) << name;
    const std::vector<std::string> client = read_script(text);
    std::vector<std::string> ours;
    // Our splitter knows nothing about DELIMITER (a client command): feed it each statement
    // joined with `;` as a client with CLIENT_MULTI_STATEMENTS would send them.
    std::string joined;
    for (const std::string& s : client) {
      joined += s;
      joined += ";\n";
    }
    for (std::string_view s : split_statements(joined)) {
      ours.emplace_back(s);
    }
    EXPECT_EQ(ours, client) << name;
  }
}

// The recorded runs too end with upstream's columns, indexes and constraints on every table.
TEST(Traces, RecordedTracesEndWithTheUpstreamSchema) {
  for (const char* name : {"ghost-aborted-then-retried", "ghost-atomic", "ghost-two-step",
                           "ptosc-default", "ptosc-fk-drop-swap", "ptosc-no-drop"}) {
    SCOPED_TRACE(name);
    Replay r = replay(name);
    for (const auto& [table, schema] : expected_schemas(traces_dir() / name / "expected.txt")) {
      const QualifiedName q{"test", table};
      EXPECT_EQ(r.downstream.schemas[q], schema) << table;
    }
    EXPECT_EQ(r.downstream.errors, std::vector<std::string>{});
  }
}

// ---------------------------------------------------------------------------------------------
// tests/traces: one trace per tool of issue 12, written from the tool's source.

fs::path tool_traces_dir() { return fs::path(__FILE__).parent_path().parent_path() / "traces"; }

std::vector<std::string> tool_trace_names() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(tool_traces_dir())) {
    if (e.is_directory() && fs::exists(e.path() / "trace.sql")) {
      out.push_back(e.path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Replays one tool trace and checks what every trace must end with: no error downstream, no
// state left, exactly the real tables of expected.txt (no helper anywhere), each with the
// upstream columns, indexes and constraints; no ALGORITHM= or LOCK= clause in a DDL ghostgate
// runs. (A row change forwarded to a helper would be an error: helpers never exist downstream.)
Replay check_tool_trace(const std::string& name) {
  SCOPED_TRACE(name);
  const fs::path dir = tool_traces_dir() / name;
  Replay r = replay_dir(dir);
  EXPECT_EQ(r.downstream.errors, std::vector<std::string>{});
  EXPECT_TRUE(r.registry_at_end.empty());
  EXPECT_TRUE(r.persisted_at_end.empty());
  const std::map<std::string, TableSchema> expected = expected_schemas(dir / "expected.txt");
  std::set<QualifiedName> want;
  for (const auto& [table, schema] : expected) {
    want.insert({"test", table});
    const QualifiedName q{"test", table};
    EXPECT_EQ(r.downstream.schemas[q], schema) << table;
  }
  EXPECT_EQ(r.downstream.tables, want);
  for (const std::string& d : r.decisions) {
    if (d.rfind("  sql: ", 0) == 0) {
      EXPECT_EQ(d.find("ALGORITHM"), std::string::npos) << d;
    }
  }
  if (const char* out = std::getenv("GHOSTGATE_TRACE_DOWNSTREAM"); out != nullptr && *out != 0) {
    std::ofstream f(fs::path(out) / (name + ".sql"), std::ios::binary);
    for (const std::string& sql : r.downstream.log) {
      f << sql << ";\n";
    }
  }
  return r;
}

TEST(ToolTraces, EveryToolHasATraceInTheRecordedFormat) {
  const std::vector<std::string> names = tool_trace_names();
  EXPECT_EQ(names, (std::vector<std::string>{
                       "bytebase-cross-schema", "dms-lock-free", "ghost-force-table-names",
                       "ghost-revert", "lhm-locked-switcher", "oak-online-alter-table",
                       "ptosc-rebuild-constraints-history", "spirit-multi-table", "vitess-revert",
                       "vitess-rotation"}));
  for (const std::string& name : names) {
    for (const char* file : {"before.sql", "trace.sql", "expected.txt", "README.md"}) {
      EXPECT_TRUE(fs::exists(tool_traces_dir() / name / file)) << name << "/" << file;
    }
  }
}

// The decisions that are not plain forwards, per trace: exact for the cut-over and its
// neighbours, so a change of semantics shows here.
std::vector<std::string> ddl_decisions(const Replay& r) {
  std::vector<std::string> out;
  for (const std::string& d : r.decisions) {
    if (d.rfind("local dml", 0) != 0) {
      out.push_back(d);
    }
  }
  return out;
}

bool has(const std::vector<std::string>& v, std::string_view line) {
  return std::find(v.begin(), v.end(), line) != v.end();
}

TEST(ToolTraces, Spirit) {
  const Replay r = check_tool_trace("spirit-multi-table");
  const auto d = ddl_decisions(r);
  EXPECT_TRUE(has(d,
                  "local cut-over | RENAME TABLE `t1` TO `_t1_old`, `_t1_new` TO `t1`, `t2` TO "
                  "`_t2_old`, `_t2_new` TO `t2`"));
  EXPECT_TRUE(
      has(d, "  sql: ALTER TABLE `test`.`t1` ADD COLUMN c varchar(10) NOT NULL DEFAULT 'q'"));
  EXPECT_TRUE(has(d, "  sql: ALTER TABLE `test`.`t2` DROP COLUMN d, ADD INDEX ix_b (b)"));
  EXPECT_TRUE(has(d, "local statement on helper tables | ANALYZE TABLE `test`.`_t1_new`"));
  EXPECT_TRUE(r.suppressed_dml_by_table.count("_spirit_checkpoint"));
}

TEST(ToolTraces, Lhm) {
  const Replay r = check_tool_trace("lhm-locked-switcher");
  const auto d = ddl_decisions(r);
  EXPECT_TRUE(has(d,
                  "local rename involving helper tables | alter table `t` rename "
                  "`lhma_2026_03_01_10_20_30_123_t` /* large hadron migration */"));
  EXPECT_TRUE(
      has(d, "local cut-over | alter table `lhmn_t` rename `t` /* large hadron migration */"));
  EXPECT_TRUE(has(d,
                  "  sql: create index `index_t_on_b` on `test`.`t` (`b`) /* large hadron "
                  "migration */"));
  EXPECT_EQ(
      std::count_if(d.begin(), d.end(),
                    [](const std::string& x) { return x.rfind("local tool trigger", 0) == 0; }),
      6);
}

TEST(ToolTraces, Vitess) {
  const Replay r = check_tool_trace("vitess-rotation");
  const auto d = ddl_decisions(r);
  const std::string vrp = "_vt_vrp_9c2b5c9e7f1d11f0a4c10a580a8c0012_20260301102000_";
  EXPECT_TRUE(has(d, "  bind test." + vrp +
                         " trash of t by _vt_hld_4e6d2a1cf0a911f0b3e20a580a8c0012_"
                         "20260302102131_"));
  EXPECT_TRUE(has(d, "  sql: DROP TABLE IF EXISTS `test`.`old_log`"));
  EXPECT_TRUE(has(d,
                  "  sql: ALTER TABLE `test`.`t` ADD COLUMN `c` varchar(10) NOT NULL DEFAULT "
                  "'q', DROP COLUMN `d`"));
  EXPECT_TRUE(r.suppressed_dml_by_table.count("vreplication"));
  EXPECT_TRUE(
      r.suppressed_dml_by_table.count("_vt_prg_9c2b5c9e7f1d11f0a4c10a580a8c0012_"
                                      "20260303102001_"));
}

TEST(ToolTraces, GhOstForceTableNames) {
  const Replay r = check_tool_trace("ghost-force-table-names");
  const auto d = ddl_decisions(r);
  EXPECT_TRUE(has(d, "  bind test._tmp_t_ghc trash"));
  EXPECT_TRUE(has(d, "  bind test._tmp_t_gho ghost of t"));
  EXPECT_TRUE(has(d, "  bind test._tmp_t_del trash of t"));
  EXPECT_TRUE(r.suppressed_dml_by_table.count("_tmp_t_ghk"));  // also after the RENAME
}

TEST(ToolTraces, PtOsc36) {
  const Replay r = check_tool_trace("ptosc-rebuild-constraints-history");
  const auto d = ddl_decisions(r);
  EXPECT_TRUE(has(d,
                  "  sql: ALTER TABLE `test`.`child` DROP FOREIGN KEY `fk_child_t`, ADD "
                  "CONSTRAINT `_fk_child_t` FOREIGN KEY (`p`) REFERENCES `test`.`t` (`id`)"));
  EXPECT_TRUE(r.suppressed_dml_by_table.count("pt_osc_history"));
}

TEST(ToolTraces, Bytebase) {
  const Replay r = check_tool_trace("bytebase-cross-schema");
  const auto d = ddl_decisions(r);
  EXPECT_TRUE(has(d, "  bind bbdataarchive.~t_gho ghost of t"));
  EXPECT_TRUE(
      has(d, "  sql: alter /* gh-ost */ table `test`.`t` drop column e, add index ix_a(a)"));
}

TEST(ToolTraces, Dms) { check_tool_trace("dms-lock-free"); }

// gh-ost --revert: `_t_del` is the ghost, the swap puts it back; downstream the migration's
// ALTER is undone from the definition kept at the first cut-over.
TEST(ToolTraces, GhOstRevert) {
  const Replay r = check_tool_trace("ghost-revert");
  const auto d = ddl_decisions(r);
  const auto at = std::find(d.begin(), d.end(),
                            "local revert | rename /* gh-ost */ table `test`.`t` to "
                            "`test`.`_t_rev_del`, `test`.`_t_del` to `test`.`t`");
  ASSERT_NE(at, d.end()) << ::testing::PrintToString(d);
  ASSERT_LT(at + 2, d.end());
  EXPECT_EQ(at[1], "  sql: ALTER TABLE `test`.`t` DROP INDEX `ix_b`");
  EXPECT_EQ(at[2], "  sql: ALTER TABLE `test`.`t` DROP COLUMN `c`");
  EXPECT_TRUE(r.suppressed_dml_by_table.count("_t_del"));  // the revert's replay into its ghost
  EXPECT_TRUE(r.suppressed_dml_by_table.count("_t_ghk"));
  EXPECT_EQ(r.downstream.ddls.at(t("t")).size(), 4u);  // migration 2, revert 2
}

// Vitess REVERT: the rotation back through another sentry; the type change is modified back,
// the added column dropped; the migrated table left under the shadow name is bound until its GC.
TEST(ToolTraces, VitessRevert) {
  const Replay r = check_tool_trace("vitess-revert");
  const auto d = ddl_decisions(r);
  const std::string vrp = "_vt_vrp_3d1c9a408a2e11f09b1e0a580a8c0012_20260301102000_";
  const std::string sentry2 = "_vt_hld_9a8b7c6d02c411f0d5e40a580a8c0012_20260304090500_";
  const auto at = std::find_if(d.begin(), d.end(), [](const std::string& x) {
    return x.rfind("local revert | RENAME TABLE `t` TO `_vt_hld_9a8b7c6d", 0) == 0;
  });
  ASSERT_NE(at, d.end()) << ::testing::PrintToString(d);
  ASSERT_LT(at + 3, d.end());
  EXPECT_EQ(at[1], "  sql: ALTER TABLE `test`.`t` DROP COLUMN `c`");
  EXPECT_EQ(at[2], "  sql: ALTER TABLE `test`.`t` MODIFY COLUMN `b` int(11) DEFAULT NULL");
  EXPECT_EQ(at[3], "  forget " + vrp);
  EXPECT_EQ(at[4], "  bind test." + vrp + " trash of t by " + sentry2);
  EXPECT_TRUE(r.suppressed_dml_by_table.count(vrp));
}

// A revert whose undoing would need data downstream never had (the migration dropped a column)
// is refused, naming what cannot be reverted; the table stays as the migration left it.
TEST(ToolTraces, ALossyRevertIsRefused) {
  const fs::path dir = fs::temp_directory_path() / "ghostgate-lossy-revert";
  fs::create_directories(dir);
  std::ofstream(dir / "before.sql")
      << "USE `test`;\nCREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `a` int(11) DEFAULT "
         "NULL,\n  `d` varchar(32) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n";
  std::ofstream(dir / "trace.sql")
      << "USE `test`;\n"
         "create /* gh-ost */ table `test`.`_t_gho` like `test`.`t`;\n"
         "alter /* gh-ost */ table `test`.`_t_gho` drop column d, add column c int;\n"
         "rename /* gh-ost */ table `test`.`t` to `test`.`_t_del`, `test`.`_t_gho` to "
         "`test`.`t`;\n"
         "rename /* gh-ost */ table `test`.`t` to `test`.`_t_rev_del`, `test`.`_t_del` to "
         "`test`.`t`;\n";
  const Replay r = replay_dir(dir);
  fs::remove_all(dir);
  ASSERT_FALSE(r.decisions.empty());
  const std::string& last = r.decisions.back();
  EXPECT_EQ(last.rfind("refuse | ", 0), 0u) << last;
  EXPECT_NE(last.find("lossy; column `d` was dropped or renamed by the migration"),
            std::string::npos)
      << last;
  EXPECT_EQ(r.downstream.schemas.at(t("t")).columns, (std::vector<std::string>{"id", "a", "c"}));
  EXPECT_EQ(r.downstream.errors, std::vector<std::string>{});
}

TEST(ToolTraces, Oak) {
  const Replay r = check_tool_trace("oak-online-alter-table");
  const auto d = ddl_decisions(r);
  EXPECT_TRUE(
      has(d, "  sql: ALTER TABLE `test`.`t` ADD COLUMN c varchar(10) NOT NULL DEFAULT 'q'"));
}

}  // namespace
}  // namespace ghostgate::rules
