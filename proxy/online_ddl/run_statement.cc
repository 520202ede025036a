// Carrying out a plan that ghostgate answers itself: refuse, suppress, record (persisted before
// the OK), and the cut-over, run on the replicator's own backend connection so that a crash at
// any point replays to the same result.

#include <algorithm>
#include <regex>

#include "protocol/constants.h"
#include "proxy/observe/log.h"
#include "proxy/observe/metrics.h"
#include "proxy/online_ddl/service.h"
#include "proxy/online_ddl/service_internal.h"

namespace ghostgate::proxy {

using namespace online_ddl_detail;

namespace {

// SHOW CREATE TABLE without the AUTO_INCREMENT counter, which moves with every insert.
std::string definition_fingerprint(const std::string& create_table) {
  static const std::regex auto_increment(" AUTO_INCREMENT=[0-9]+");
  return digest(std::regex_replace(create_table, auto_increment, ""));
}

}  // namespace

// Runs one cut-over DDL so that a crash at any point replays to the same result: the target's
// definition is fingerprinted and persisted before the DDL runs; after a restart a changed
// fingerprint means the DDL had run and only its progress was lost.
awaitable<std::optional<std::string>> OnlineDdlService::run_cutover_sql(ClientPort& session,
                                                                        const Step& ddl,
                                                                        const Step& progress,
                                                                        std::uint16_t& error_code,
                                                                        std::string& sql_state) {
  const std::size_t index = progress.applied - 1;
  std::string show_sql = "SHOW CREATE TABLE " + rules::quote_name(ddl.target);
  QueryResult show = co_await session.backend_query(std::move(show_sql));
  if (show.error) {
    error_code = show.error->code;
    sql_state = show.error->sql_state;
    co_return show.error->message;
  }
  const std::string before = definition_fingerprint(
      show.rows.empty() || show.rows[0].size() < 2 ? std::string() : show.rows[0][1].value_or(""));
  std::optional<CutoverMark> mark;
  std::optional<rules::GhostRecord> record;
  {
    std::lock_guard lock(mutex_);
    if (auto it = marks_.find(progress.ghost); it != marks_.end()) {
      mark = it->second;
    }
    if (const rules::GhostRecord* r = engine_->find(progress.ghost)) {
      record = *r;
    }
  }
  if (mark && mark->index == index && mark->before != before) {
    log_info(session.id(),
             "online-ddl: cut-over DDL {} of {} already ran before a restart; "
             "not running it again",
             index + 1, rules::quote_name(progress.ghost));
    co_return std::nullopt;
  }
  const CutoverMark fresh{index, before};
  if (record) {
    if (auto err = co_await persist(progress.ghost, record, fresh)) {
      error_code = protocol::er::unknown_error;
      sql_state = "HY000";
      co_return "cannot persist cut-over progress: " + *err;
    }
    std::lock_guard lock(mutex_);
    marks_[progress.ghost] = fresh;
  }
  const auto started = std::chrono::steady_clock::now();
  std::string ddl_sql = ddl.sql;
  QueryResult r = co_await session.backend_query(std::move(ddl_sql));
  metrics().cutover_ddl_seconds.observe(std::chrono::steady_clock::now() - started);
  if (r.error) {
    error_code = r.error->code;
    sql_state = r.error->sql_state;
    co_return r.error->message;
  }
  log_info(session.id(), "online-ddl: cut-over ran on {}: {}", rules::quote_name(ddl.target),
           ddl.sql);
  std::optional<std::string> fp = co_await failpoint_at("after-cutover-ddl");
  co_return fp;
}

awaitable<OnlineDdlService::StatementResult> OnlineDdlService::run_statement(
    ClientPort& session, const Statement& stmt, std::string_view db, bool more_follow,
    std::uint8_t& seq, std::vector<std::uint8_t>& out) {
  StatementResult result;
  const auto started = std::chrono::steady_clock::now();  // a cut-over's whole duration
  if (dry_run_) {
    // Unreachable: in dry-run on_query judges every statement itself and forwards the batch.
    result.forwarded = true;
    co_return result;
  }
  // Statements that change the state of the same ghost run one at a time: a replicator that
  // timed out during a long cut-over and resent the RENAME on a new connection must wait for
  // the first one (then find nothing left to do), not run the same DDLs beside it.
  struct Claim {
    OnlineDdlService* self;
    std::vector<QualifiedName> ghosts;
    ~Claim() {
      std::lock_guard lock(self->mutex_);
      for (const QualifiedName& g : ghosts) {
        self->busy_ghosts_.erase(g);
      }
    }
  };
  Claim claim{this, {}};
  Plan plan;
  for (int waited = 0;; ++waited) {
    plan = co_await plan_with_lookups(session, stmt, db);
    if (plan.verdict != Plan::Verdict::local) {
      break;
    }
    std::vector<QualifiedName> ghosts;
    for (const Step& step : plan.steps) {
      if (step.kind != Step::Kind::backend_sql &&
          std::find(ghosts.begin(), ghosts.end(), step.ghost) == ghosts.end()) {
        ghosts.push_back(step.ghost);
      }
    }
    bool busy = false;
    {
      std::lock_guard lock(mutex_);
      for (const QualifiedName& g : ghosts) {
        busy = busy || busy_ghosts_.count(g) != 0;
      }
      if (!busy) {
        busy_ghosts_.insert(ghosts.begin(), ghosts.end());
        claim.ghosts = std::move(ghosts);
      }
    }
    if (!busy) {
      break;
    }
    if (waited == 0) {
      log_info(session.id(),
               "online-ddl: waiting for another statement on the same ghost table to finish "
               "(digest={})",
               digest(stmt.text));
    }
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(20));
    error_code ec;
    co_await timer.async_wait(redirect(ec));
  }
  const StatementKind kind = metric_kind(stmt.kind);
  if (plan.verdict == Plan::Verdict::forward) {
    result.forwarded = true;
    co_return result;
  }
  const std::string tables = describe_tables(stmt, db);
  const std::string id = digest(stmt.text);
  if (plan.verdict == Plan::Verdict::refuse) {
    counters_.refused.fetch_add(1, std::memory_order_relaxed);
    metrics().statements.inc(proxy::Decision::refused, kind);
    log_warn(session.id(), "online-ddl refuse: tables={} digest={}: {}", tables, id,
             plan.error_message);
    session.local_error(out, seq, plan.error_code, plan.sql_state, plan.error_message);
    result.error = true;
    co_return result;
  }
  // local: a suppressed DDL still ends the client's transaction, as the DDL would have.
  if (plan.implicit_commit && (session.status() & protocol::status::in_trans)) {
    std::string commit = "COMMIT";
    QueryResult c = co_await session.backend_query(std::move(commit));
    if (c.error) {
      session.local_error(out, seq, c.error->code, c.error->sql_state, c.error->message);
      result.error = true;
      co_return result;
    }
  }
  bool recorded = false;
  bool cutover = false;
  bool resent = false;
  const bool cutover_plan = plan.reason == "cut-over";
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    const Step& step = plan.steps[i];
    std::optional<std::string> err;
    if (step.kind == Step::Kind::record && already_recorded(step)) {
      // At-least-once delivery: a replicator resends a statement it got no OK for, and
      // ghostgate may have died after persisting it. Recorded twice, the DDL would run twice
      // at the cut-over (ADD COLUMN: "Duplicate column name", the migration stuck).
      resent = true;
      continue;
    }
    if (step.kind == Step::Kind::forget && cutover_plan) {
      // The cut-over DDLs ran and their progress is persisted; the meta row still says so.
      err = co_await failpoint_at("before-meta-clear");
    }
    std::uint16_t code = protocol::er::unknown_error;
    std::string state = "HY000";
    if (step.kind == Step::Kind::backend_sql) {
      catalog_->clear();
      if (i + 1 < plan.steps.size() && plan.steps[i + 1].kind == Step::Kind::cutover_progress) {
        cutover = true;
        err = co_await run_cutover_sql(session, step, plan.steps[i + 1], code, state);
      } else {
        std::string sql = step.sql;
        QueryResult r = co_await session.backend_query(std::move(sql));
        if (r.error) {
          code = r.error->code;
          state = r.error->sql_state;
          err = r.error->message;
        } else {
          log_info(session.id(), "online-ddl: ran {}", step.sql);
        }
      }
    } else {
      if (step.kind == Step::Kind::record) {
        recorded = true;
      }
      if (step.kind == Step::Kind::cutover_progress || step.kind == Step::Kind::forget) {
        std::lock_guard lock(mutex_);
        cutover = cutover || step.kind == Step::Kind::cutover_progress;
      }
      if (!err) {
        err = co_await apply_state_step(step);
      }
      if (err) {
        err = "ghostgate: cannot persist online-DDL state: " + *err;
      } else if (step.kind == Step::Kind::cutover_progress &&
                 std::any_of(plan.steps.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                             plan.steps.end(),
                             [](const Step& s) { return s.kind == Step::Kind::backend_sql; })) {
        err = co_await failpoint_at("between-cutover-ddls");
      } else if (step.kind == Step::Kind::forget && cutover_plan) {
        err = co_await failpoint_at("after-meta-clear");
      }
    }
    if (err) {
      if (cutover) {
        counters_.cutover_failures.fetch_add(1, std::memory_order_relaxed);
        metrics().cutovers_failed.inc();
      }
      log_warn(session.id(), "online-ddl {} failed: tables={} digest={}: {}", plan.reason, tables,
               id, *err);
      session.local_error(out, seq, code, state, *err);
      result.error = true;
      co_return result;
    }
  }
  if (cutover) {
    counters_.cutovers.fetch_add(1, std::memory_order_relaxed);
    metrics().cutovers_done.inc();
    metrics().cutover_seconds.observe(std::chrono::steady_clock::now() - started);
    metrics().statements.inc(proxy::Decision::cutover, kind);
  } else if (recorded) {
    counters_.recorded.fetch_add(1, std::memory_order_relaxed);
    metrics().statements.inc(proxy::Decision::recorded, kind);
  } else if (resent) {
    metrics().statements.inc(proxy::Decision::recorded, kind);
  } else {
    counters_.suppressed.fetch_add(1, std::memory_order_relaxed);
    metrics().statements.inc(proxy::Decision::suppressed, kind);
  }
  log_info(session.id(), "online-ddl {}: {} tables={} digest={}",
           cutover    ? "cut-over"
           : recorded ? "record"
           : resent   ? "record skipped (already recorded: a resend after a restart or a lost OK)"
                      : "suppress",
           plan.reason, tables, id);
  session.local_ok(out, seq, more_follow);
  co_return result;
}

}  // namespace ghostgate::proxy
