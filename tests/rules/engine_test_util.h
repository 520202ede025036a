#pragma once
// Helpers shared by the engine's table tests (online_ddl_test.cc, tools_test.cc).

#include <gtest/gtest.h>

#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/online_ddl.h"

namespace ghostgate::rules {

// A downstream that knows which tables exist; everything else does not.
class SetCatalog : public Catalog {
 public:
  SetCatalog(std::initializer_list<QualifiedName> tables) : tables_(tables) {}
  std::optional<bool> table_exists(const QualifiedName& name) const override {
    ++calls;
    return tables_.count(name) > 0;
  }
  std::set<QualifiedName> tables_;
  mutable int calls = 0;
};

// Knows nothing: every question becomes a lookup.
class UnknownCatalog : public Catalog {
 public:
  std::optional<bool> table_exists(const QualifiedName&) const override { return std::nullopt; }
};

inline QualifiedName qn(std::string schema, std::string table) {
  return {std::move(schema), std::move(table)};
}

inline const char* verdict_name(Plan::Verdict v) {
  switch (v) {
    case Plan::Verdict::forward:
      return "forward";
    case Plan::Verdict::local:
      return "local";
    case Plan::Verdict::refuse:
      return "refuse";
    case Plan::Verdict::need_lookup:
      return "need_lookup";
  }
  return "?";
}

// Steps as readable lines: "sql: ...", "record test._t_gho: ...", "forget test._t_gho", ...
inline std::vector<std::string> steps(const Plan& p) {
  std::vector<std::string> out;
  for (const Step& s : p.steps) {
    const std::string ghost = s.ghost.schema + "." + s.ghost.table;
    switch (s.kind) {
      case Step::Kind::backend_sql:
        out.push_back("sql: " + s.sql);
        break;
      case Step::Kind::record:
        out.push_back("record " + ghost + " (" + s.real_hint + "): " + s.sql);
        break;
      case Step::Kind::forget:
        out.push_back("forget " + ghost);
        break;
      case Step::Kind::defer_drop:
        out.push_back("defer " + ghost + ": " + s.target.schema + "." + s.target.table + ": " +
                      s.sql);
        break;
      case Step::Kind::cutover_progress:
        out.push_back("progress " + ghost + " " + std::to_string(s.applied));
        break;
      case Step::Kind::bind:
        out.push_back(
            "bind " + ghost + " " + (s.bound_kind == TableKind::ghost ? "ghost" : "trash") + " (" +
            s.real_hint + ")" +
            (s.target.table.empty() ? "" : " to " + s.target.schema + "." + s.target.table));
        break;
      case Step::Kind::shard_cutover: {
        std::string line = "shard " + ghost + " member " + s.member.schema + "." + s.member.table +
                           " onto " + s.target.schema + "." + s.target.table;
        for (const std::string& sql : s.sqls) {
          line += " | " + sql;
        }
        out.push_back(std::move(line));
        break;
      }
    }
  }
  return out;
}

// An engine over a downstream holding `tables`, driven like the proxy drives it.
class EngineFixture : public ::testing::Test {
 protected:
  EngineFixture(std::initializer_list<QualifiedName> tables,
                TableRules rules = TableRules::defaults())
      : engine_(std::move(rules)), catalog_(tables) {}

  Plan plan(std::string_view sql, std::string_view db = "test") {
    text_ = std::string(sql);  // the statement must outlive the plan call only
    Statement st = classify(text_);
    return engine_.plan(st, db, catalog_);
  }
  // Plans and, for local plans, applies the state steps (as the proxy would after persisting).
  Plan run(std::string_view sql, std::string_view db = "test") {
    Plan p = plan(sql, db);
    if (p.verdict == Plan::Verdict::local) {
      for (const Step& s : p.steps) {
        if (s.kind != Step::Kind::backend_sql) {
          engine_.apply(s);
        }
      }
    }
    return p;
  }

  Engine engine_;
  SetCatalog catalog_;
  std::string text_;
};

}  // namespace ghostgate::rules
