// Replays the recorded gh-ost / pt-osc statement streams (/work/shared/traces/*/trace.sql) through
// classify + quick_forward + plan + apply against a simulated downstream, and checks every
// decision that is not a plain forward, the exact cut-over DDLs, and the end state.
//
// Traces: $GHOSTGATE_TRACES, else <repo>/../shared/traces (the repo is cloned as <dir>/main with
// shared/ beside it). A missing trace fails the test.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "rules/classifier.h"
#include "rules/lexer.h"
#include "rules/online_ddl.h"

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
      case StatementKind::create_table:
        if (!tables.insert(name(refs[0])).second) {
          errors.push_back("1050 Table already exists: " + sql.substr(0, 80));
        }
        break;
      case StatementKind::drop_table:
        for (const TableRef& r : refs) {
          if (tables.erase(name(r)) == 0 && !st.if_exists) {
            errors.push_back("1051 Unknown table: " + sql.substr(0, 80));
          }
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

  std::set<QualifiedName> tables;
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
  }

  std::map<QualifiedName, bool> cache_;
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

// The tables before.sql creates (all in `test`).
std::set<QualifiedName> tables_before(const fs::path& dir) {
  std::set<QualifiedName> out;
  for (const std::string& sql : read_script(read_file(dir / "before.sql"))) {
    const Statement st = classify(sql);
    if (st.kind == StatementKind::create_table) {
      out.insert({"test", std::string(st.tables()[0].table)});
    }
  }
  return out;
}

Replay replay(const std::string& name) {
  Replay r;
  const fs::path dir = traces_dir() / name;
  const fs::path trace = dir / "trace.sql";
  if (!fs::exists(trace)) {
    ADD_FAILURE() << "trace missing: " << trace << " (set GHOSTGATE_TRACES)";
    return r;
  }
  r.downstream.tables = tables_before(dir);
  Engine engine(TableRules::defaults());
  std::map<QualifiedName, GhostRecord> persisted;
  std::string db;

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
      r.decisions.push_back("refuse | " + head(sql) + " | " + p.error_message);
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
    for (const Step& step : p.steps) {
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
      }
    }
  }
  r.registry_at_end = engine.snapshot();
  for (auto& [key, rec] : persisted) {
    r.persisted_at_end.push_back(rec);
  }
  return r;
}

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

}  // namespace
}  // namespace ghostgate::rules
