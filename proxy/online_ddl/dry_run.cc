// dry-run: every statement is forwarded; ghostgate judges it from the state a real run would
// have by now, keeps that state in memory only and logs what a real run would do.

#include <algorithm>

#include "proxy/observe/log.h"
#include "proxy/observe/metrics.h"
#include "proxy/online_ddl/service.h"
#include "proxy/online_ddl/service_internal.h"

namespace ghostgate::proxy {

using namespace online_ddl_detail;

struct OnlineDdlService::DryRunResult {
  Plan plan;
  bool recorded = false;  // a record step was applied
  bool resent = false;    // a record step was skipped: its DDL is recorded already
};

std::optional<OnlineDdlService::DryRunResult> OnlineDdlService::dry_run_apply(const Statement& stmt,
                                                                              std::string_view db) {
  std::lock_guard lock(mutex_);
  DryRunResult out;
  out.plan = engine_->plan(stmt, db, *dry_catalog_);
  const Plan& plan = out.plan;
  if (plan.verdict == Plan::Verdict::need_lookup) {
    return std::nullopt;
  }
  if (stmt.kind == rules::StatementKind::drop_database) {
    if (const rules::TableRef* ref = stmt.first(rules::RefRole::database)) {
      dry_catalog_->same_schema(ref->schema);  // gone downstream in both runs
    }
  }
  if (plan.verdict == Plan::Verdict::refuse ||
      (plan.verdict == Plan::Verdict::forward && !stmt.is_ddl)) {
    return out;  // a refused statement changes nothing in a real run, forwarded DML no table
  }

  // The statement's table names, classified with the state before it (as the plan saw them).
  const auto tables = stmt.tables();
  std::vector<QualifiedName> names(tables.size());
  std::vector<std::optional<rules::NameClass>> classes(tables.size());
  std::string_view trigger_schema;
  for (const rules::TableRef& r : tables) {
    if (r.role == rules::RefRole::trigger) {
      trigger_schema = r.schema;
    }
  }
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const rules::TableRef& r = tables[i];
    if (r.role == rules::RefRole::database || r.role == rules::RefRole::trigger ||
        r.role == rules::RefRole::references || r.role == rules::RefRole::like_source) {
      continue;
    }
    const std::string_view in =
        (r.role == rules::RefRole::trigger_table && !trigger_schema.empty()) ? trigger_schema : db;
    names[i] = {std::string(r.schema.empty() ? in : r.schema), std::string(r.table)};
    if (!names[i].schema.empty() && plan.verdict == Plan::Verdict::local) {
      classes[i] = engine_->classify_name(names[i], *dry_catalog_);
    }
  }
  if (plan.verdict == Plan::Verdict::forward) {
    for (const QualifiedName& name : names) {
      if (!name.schema.empty()) {
        dry_catalog_->same(name);  // the same DDL reaches the backend in both runs
      }
    }
    return out;
  }

  // A real run never lets a helper table reach the backend; a real table it touches is
  // changed there as in dry-run (the plan's backend SQL), except the two kept below.
  for (std::size_t i = 0; i < tables.size(); ++i) {
    if (!classes[i]) {
      continue;
    }
    if (classes[i]->kind != rules::TableKind::real) {
      dry_catalog_->set(names[i], false);
    } else {
      dry_catalog_->same(names[i]);
    }
  }
  for (const Step& step : plan.steps) {
    if (step.kind == Step::Kind::backend_sql && !step.target.table.empty()) {
      dry_catalog_->same(step.target);
    }
  }
  // A real table renamed to a helper name (the old-table half of a swap): a real run keeps it.
  std::size_t from = tables.size();  // none
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const rules::RefRole role = tables[i].role;
    if (role == rules::RefRole::rename_from ||
        (role == rules::RefRole::target && stmt.kind == rules::StatementKind::alter_table)) {
      from = i;
    } else if (role == rules::RefRole::rename_to && from < tables.size()) {
      if (classes[from] && classes[i] && classes[from]->kind == rules::TableKind::real &&
          classes[i]->kind != rules::TableKind::real) {
        dry_catalog_->set(names[from], true);
      }
      from = tables.size();
    }
  }

  // The plan's state changes, as apply_state_step makes them, without persisting them; the
  // backend SQL is not run (the statement itself is forwarded).
  bool changed = false;
  for (const Step& step : plan.steps) {
    if (step.kind == Step::Kind::backend_sql) {
      continue;
    }
    if (step.kind == Step::Kind::defer_drop) {
      dry_catalog_->set(step.target, true);  // pt-osc drop_swap: a real run keeps the table
    }
    if (step.kind == Step::Kind::record) {
      const rules::GhostRecord* r = engine_->find(step.ghost);
      if (r != nullptr && std::find(r->ddls.begin(), r->ddls.end(), step.sql) != r->ddls.end()) {
        out.resent = true;  // as run_statement: a resent DDL is not recorded twice
        continue;
      }
      out.recorded = true;
    }
    changed = true;
    if (engine_->apply(step)) {
      since_.emplace(step.ghost, std::chrono::system_clock::now());
    } else {
      since_.erase(step.ghost);
    }
  }
  if (changed) {
    metrics().online_ddl_pending.set(static_cast<std::int64_t>(engine_->snapshot().size()));
  }
  return out;
}

awaitable<void> OnlineDdlService::dry_run_statement(ClientPort& session, const Statement& stmt,
                                                    std::string_view db) {
  std::optional<DryRunResult> judged;
  for (int round = 0; !judged; ++round) {
    Plan plan = co_await plan_with_lookups(session, stmt, db);
    if (plan.verdict == Plan::Verdict::refuse) {
      // Also: state not loaded, lookup failed. A real run changes nothing either.
      judged = DryRunResult{std::move(plan)};
      break;
    }
    if (round == 3) {
      // DDL on other connections keeps clearing the catalog cache between the lookups and
      // the critical section: log the decision, apply nothing.
      if (plan.verdict != Plan::Verdict::forward) {
        log_warn(session.id(),
                 "online-ddl dry-run: the catalog kept changing, the state changes of digest={} "
                 "are not applied; later decisions may differ from a real run's",
                 digest(stmt.text));
      }
      judged = DryRunResult{std::move(plan)};
      break;
    }
    // Planned again under the mutex with the lookups now cached, and applied in the same
    // critical section: another connection may have changed the state since.
    judged = dry_run_apply(stmt, db);
  }
  const Plan& plan = judged->plan;
  if (plan.verdict == Plan::Verdict::forward) {
    co_return;
  }
  std::string_view verb = "suppress";
  std::string running;
  if (plan.verdict == Plan::Verdict::refuse) {
    verb = "refuse";
  } else {
    if (plan.reason == "cut-over") {
      verb = "cut over";
    } else if (judged->recorded) {
      verb = "record";
    } else if (judged->resent) {
      verb = "skip recording (already recorded)";
    }
    for (const Step& step : plan.steps) {
      if (step.kind == Step::Kind::backend_sql) {
        running += step.sql;
        running += "; ";
      } else if (step.kind == Step::Kind::shard_cutover) {
        running += "the shard group of " + rules::quote_name(step.target) + " decides (member " +
                   rules::quote_name(step.member) + ") on: ";
        for (const std::string& sql : step.sqls) {
          running += sql + "; ";
        }
      }
    }
  }
  log_info(session.id(),
           "online-ddl dry-run: would {} kind={} tables={} digest={} ({}){}{}forwarded", verb,
           label(metric_kind(stmt.kind)), describe_tables(stmt, db), digest(stmt.text), plan.reason,
           running.empty() ? "; " : " running: ", running);
}

}  // namespace ghostgate::proxy
