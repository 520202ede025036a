// A revert (gh-ost --revert, Vitess REVERT; README "Revert"): the engine refuses it, because
// downstream keeps no copy of the old table, and names it (Plan::revert). With the definition the
// table had before its last cut-over kept in that cut-over's tombstone, the revert is the ALTERs
// that turn the current definition back into it, when those lose nothing (rules/schema_diff.h).
// They run on the replicator's own connection, like a cut-over's DDLs; the revert then leaves a
// tombstone of its own, so a resend is answered OK and a revert of the revert goes back again.

#include "protocol/constants.h"
#include "proxy/observe/log.h"
#include "proxy/observe/metrics.h"
#include "proxy/online_ddl/service.h"
#include "proxy/online_ddl/service_internal.h"
#include "rules/schema_diff.h"

namespace ghostgate::proxy {

using namespace online_ddl_detail;

awaitable<OnlineDdlService::StatementResult> OnlineDdlService::run_revert(
    ClientPort& session, const Statement& stmt, std::string_view db, bool more_follow,
    std::uint8_t& seq, std::vector<std::uint8_t>& out, const Plan& plan) {
  StatementResult result;
  result.error = true;  // until the OK
  const rules::RevertInfo& revert = *plan.revert;
  const std::string tables = describe_tables(stmt, db);
  const std::string id = digest(stmt.text);
  const StatementKind kind = metric_kind(stmt.kind);
  auto refuse = [&](const std::string& why) {
    counters_.refused.fetch_add(1, std::memory_order_relaxed);
    metrics().statements.inc(proxy::Decision::refused, kind);
    const std::string message = plan.error_message + ". " + why;
    log_warn(session.id(), "online-ddl refuse: tables={} digest={}: {}", tables, id, message);
    session.local_error(out, seq, plan.error_code, plan.sql_state, message);
  };
  auto fail = [&](std::uint16_t code, const std::string& state, const std::string& message) {
    counters_.cutover_failures.fetch_add(1, std::memory_order_relaxed);
    metrics().cutovers_failed.inc();
    log_warn(session.id(), "online-ddl revert failed: tables={} digest={}: {}", tables, id,
             message);
    session.local_error(out, seq, code, state, message);
  };

  std::optional<Tombstone> kept;
  if (auto err = co_await meta_->find_kept_definition(revert.table, kept)) {
    fail(rules::Engine::refuse_error_code, "HY000",
         "ghostgate: cannot read completed cut-overs from " + meta_->done_table() + ": " + *err +
             "; retry the statement");
    co_return result;
  }
  if (!kept) {
    refuse("ghostgate keeps no definition of " + rules::quote_name(revert.table) +
           " from before its last cut-over (none completed within online-ddl-tombstone-ttl, or "
           "that cut-over ran no DDL or was made by an older ghostgate; see " +
           meta_->done_table() + ")");
    co_return result;
  }
  std::vector<std::string> ran;
  if (kept->revert_digest == id && kept->ghost == revert.old_table) {
    // This revert completed before (its tombstone): a resend, e.g. after a crash before the OK.
    log_info(session.id(),
             "online-ddl: revert of {} onto {} already completed at {} (tombstone): a resend",
             rules::quote_name(revert.old_table), rules::quote_name(revert.table), kept->done_time);
  } else {
    std::string show_sql = "SHOW CREATE TABLE " + rules::quote_name(revert.table);
    QueryResult show = co_await session.backend_query(std::move(show_sql));
    if (show.error) {
      fail(show.error->code, show.error->sql_state, show.error->message);
      co_return result;
    }
    const std::string current =
        show.rows.empty() || show.rows[0].size() < 2 ? std::string() : show.rows[0][1].value_or("");
    const rules::RevertDiff diff =
        rules::revert_statements(current, kept->definition, revert.table);
    if (!diff.lossy.empty()) {
      std::string what;
      for (const std::string& item : diff.lossy) {
        what += what.empty() ? "" : "; ";
        what += item;
      }
      refuse(rules::quote_name(revert.table) +
             " cannot be brought back to its definition before the cut-over of " +
             rules::quote_name(kept->ghost) + " without loss: " + what);
      co_return result;
    }
    for (const std::string& sql : diff.statements) {
      std::string text = sql;
      QueryResult r = co_await session.backend_query(std::move(text));
      if (r.error) {
        fail(r.error->code, r.error->sql_state, r.error->message);
        co_return result;
      }
      log_info(session.id(), "online-ddl: revert ran on {}: {}", rules::quote_name(revert.table),
               sql);
      ran.push_back(sql);
    }
    catalog_->clear();
    if (auto fp = co_await failpoint_at("revert-ran")) {
      fail(protocol::er::unknown_error, "HY000", *fp);
      co_return result;
    }
    // The revert is a cut-over onto the table too: its own tombstone keeps the definition it
    // replaced (a revert of the revert goes back to it) and answers a resend.
    Tombstone done{revert.old_table, revert.table, ran, {}, current, id};
    if (auto err = co_await meta_->write_tombstone(std::move(done))) {
      fail(protocol::er::unknown_error, "HY000",
           "ghostgate: cannot write the revert's tombstone: " + *err);
      co_return result;
    }
  }
  // What the rest of the statement does now that the revert is done (helpers bound, the old
  // table's binding forgotten): idempotent, so a resend runs it again.
  for (const Step& step : revert.steps) {
    if (step.kind == Step::Kind::backend_sql) {
      std::string sql = step.sql;
      QueryResult r = co_await session.backend_query(std::move(sql));
      if (r.error) {
        fail(r.error->code, r.error->sql_state, r.error->message);
        co_return result;
      }
      continue;
    }
    if (auto err = co_await apply_state_step(step)) {
      fail(protocol::er::unknown_error, "HY000",
           "ghostgate: cannot persist online-DDL state: " + *err);
      co_return result;
    }
  }
  counters_.cutovers.fetch_add(1, std::memory_order_relaxed);
  metrics().cutovers_done.inc();
  metrics().statements.inc(proxy::Decision::cutover, kind);
  log_info(session.id(),
           "online-ddl revert: {} back to its definition before {} ({} ALTER{}) "
           "tables={} digest={}",
           rules::quote_name(revert.table), rules::quote_name(kept->ghost), ran.size(),
           ran.size() == 1 ? "" : "s", tables, id);
  session.local_ok(out, seq, more_follow);
  result.error = false;
  co_return result;
}

}  // namespace ghostgate::proxy
