#pragma once
// What the online-DDL engine's files share (online_ddl.cc, online_ddl_names.cc,
// online_ddl_rename.cc, ddl_rewrite.cc); nothing outside rules/ includes it.

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "rules/classifier.h"
#include "rules/online_ddl.h"
#include "rules/table_rules.h"

namespace ghostgate::rules::engine_detail {

inline QualifiedName resolve(const TableRef& ref, std::string_view db) {
  return {std::string(ref.schema.empty() ? db : ref.schema), std::string(ref.table)};
}

inline bool is_helper(TableKind k) { return k != TableKind::real; }

inline void add_unique(std::vector<QualifiedName>& list, const QualifiedName& name) {
  if (std::find(list.begin(), list.end(), name) == list.end()) {
    list.push_back(name);
  }
}

inline Plan refuse(std::string message, std::string_view reason) {
  Plan p;
  p.verdict = Plan::Verdict::refuse;
  p.error_code = Engine::refuse_error_code;
  p.sql_state = std::string(Engine::refuse_sql_state);
  p.error_message = "ghostgate: " + std::move(message);
  p.reason = reason;
  return p;
}

// A table name written without a database while none is selected. MySQL refuses the whole
// statement with ER_NO_DB_ERROR; so do we, rather than send a rewrite with an unresolvable name
// (`` or a bare name) to a pooled connection, whose own database could be any.
inline Plan no_database() {
  Plan p;
  p.verdict = Plan::Verdict::refuse;
  p.error_code = 1046;
  p.sql_state = "3D000";
  p.error_message = "No database selected";
  p.reason = "no database selected";
  return p;
}

inline Plan local(const Statement& s, std::string_view reason) {
  Plan p;
  p.verdict = Plan::Verdict::local;
  p.implicit_commit = s.is_ddl;
  p.reason = reason;
  return p;
}

// pt-osc's keep their historical reason (logs and dashboards key on it).
inline std::string_view tool_trigger_reason(std::string_view trigger) {
  return is_pt_osc_trigger_name(trigger) ? "pt-osc trigger" : "tool trigger";
}

inline Step backend_sql(std::string sql, QualifiedName target) {
  Step step;
  step.kind = Step::Kind::backend_sql;
  step.sql = std::move(sql);
  step.target = std::move(target);
  return step;
}

inline Step state_step(Step::Kind kind, QualifiedName ghost) {
  Step step;
  step.kind = kind;
  step.ghost = std::move(ghost);
  return step;
}

// Ends a migration that did not cut over. If pt-osc had dropped the real table (drop_swap) and
// we deferred that DROP, the table really is gone upstream now: drop it downstream too.
inline void abandon(Plan& p, const GhostRecord& rec) {
  if (rec.deferred_drop) {
    p.steps.push_back(backend_sql(rec.deferred_drop_sql, *rec.deferred_drop));
  }
  p.steps.push_back(state_step(Step::Kind::forget, rec.ghost));
}

// The schema an unqualified reference of `st` belongs to. FOREIGN KEY ... REFERENCES <t> is in
// the schema of the table being created or altered, not the session's (MySQL and MariaDB both:
// the engines always resolved it so, and the servers kept that; checked on MariaDB 10.11 with
// `USE b; ALTER TABLE a.child ADD FOREIGN KEY (p) REFERENCES parent (id)` -> a.parent).
inline std::string_view unqualified_schema(const Statement& st, const TableRef& r,
                                           std::string_view current_db) {
  if (r.role == RefRole::references) {
    if (const TableRef* subject = st.first(RefRole::target);
        subject != nullptr && !subject->schema.empty()) {
      return subject->schema;
    }
  }
  return current_db;
}

// One reading of a helper's name by one matching rule: the real table it would be a helper of.
struct NameReading {
  TableKind kind = TableKind::real;
  std::string_view real;  // view into the helper's name
  // false: the name proves nothing about a real table (cut to 64 bytes, or a shape that names no
  // table), only the name itself must not exist
  bool verifiable = true;
  bool drop_on_rename = false;
  // `real` is a table the name gives: verifiable and from a non-empty capture (named_tables)
  bool names_table = false;
  // pt-osc's 64-byte cut removed the whole suffix: ghost or trash (classify_name's truncation
  // readings only)
  bool ambiguous = false;
};

// Every reading of `table`, rule by rule in match order (online_ddl_names.cc); empty when no rule
// matches, and then allocates nothing.
std::vector<NameReading> name_readings(const TableRules& rules, std::string_view table);

// The real-table names a helper's name gives, rule by rule (online_ddl_names.cc). `unnamed` is
// set when a matching rule's capture proves nothing or no rule matches.
std::vector<std::string_view> named_tables(const TableRules& rules, std::string_view table,
                                           bool& unnamed);

}  // namespace ghostgate::rules::engine_detail
