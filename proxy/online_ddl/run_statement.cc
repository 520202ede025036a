// Carrying out a plan that ghostgate answers itself: refuse, suppress, record (persisted before
// the OK), and the cut-over, run on the replicator's own backend connection so that a crash at
// any point replays to the same result.

#include <algorithm>
#include <regex>

#include "protocol/constants.h"
#include "proxy/observe/log.h"
#include "proxy/observe/metrics.h"
#include "proxy/online_ddl/in_flight.h"
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
  if (mark && mark->index == index && mark->before == before) {
    // An earlier attempt marked this DDL and the definition is unchanged: it may never have run,
    // or still be running in the backend (its connection gone with a crashed instance). Wait for
    // a running copy to finish rather than run it beside it (it would fail, e.g. "Duplicate
    // column name", or run twice).
    std::optional<std::string> err = co_await wait_in_flight(session, ddl);
    if (err) {
      error_code = protocol::er::unknown_error;
      sql_state = "HY000";
      co_return err;
    }
    std::string again_sql = "SHOW CREATE TABLE " + rules::quote_name(ddl.target);
    QueryResult again = co_await session.backend_query(std::move(again_sql));
    if (again.error) {
      error_code = again.error->code;
      sql_state = again.error->sql_state;
      co_return again.error->message;
    }
    const std::string now = definition_fingerprint(again.rows.empty() || again.rows[0].size() < 2
                                                       ? std::string()
                                                       : again.rows[0][1].value_or(""));
    if (now != before) {
      log_info(session.id(),
               "online-ddl: cut-over DDL {} of {} was still running from an earlier attempt "
               "and has completed; not running it again",
               index + 1, rules::quote_name(progress.ghost));
      co_return std::nullopt;
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
    {
      // The first DDL this cut-over runs: keep the target's definition before it (a revert
      // restores it), persisted with the mark below.
      std::lock_guard lock(mutex_);
      if (definitions_.count(progress.ghost) == 0 && !show.rows.empty() &&
          show.rows[0].size() >= 2 && show.rows[0][1]) {
        definitions_[progress.ghost] = *show.rows[0][1];
      }
    }
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

namespace {

// The ghosts whose state a plan changes or decides on: its state steps' and its cut-overs'
// (a cut-over with no record has no steps, yet its answer depends on the ghost's state).
std::vector<QualifiedName> state_ghosts(const Plan& plan) {
  std::vector<QualifiedName> ghosts;
  if (plan.verdict == Plan::Verdict::refuse && plan.revert) {
    ghosts.push_back(plan.revert->old_table);  // a revert is carried out like a cut-over
  } else if (plan.verdict != Plan::Verdict::local) {
    return ghosts;
  }
  for (const Step& step : plan.revert ? plan.revert->steps : plan.steps) {
    if (step.kind != Step::Kind::backend_sql) {
      ghosts.push_back(step.ghost);
    }
  }
  for (const auto& [ghost, target] : plan.cutovers) {
    ghosts.push_back(ghost);
  }
  std::sort(ghosts.begin(), ghosts.end());  // one order everywhere: no lock-order deadlock
  ghosts.erase(std::unique(ghosts.begin(), ghosts.end()), ghosts.end());
  return ghosts;
}

bool has_forget(const Plan& plan, const QualifiedName& ghost) {
  return std::any_of(plan.steps.begin(), plan.steps.end(), [&](const Step& s) {
    return s.kind == Step::Kind::forget && s.ghost == ghost;
  });
}

}  // namespace

std::string OnlineDdlService::unseen_cutover_message(const QualifiedName& ghost,
                                                     const QualifiedName& target) const {
  const std::string g = ghost.schema + "." + ghost.table;
  return "ghostgate: refusing the cut-over of " + rules::quote_name(ghost) + " onto " +
         rules::quote_name(target) + ": ghostgate never saw this migration's DDL (no record in " +
         meta_->table() + ", no completed cut-over in " + meta_->done_table() +
         "). The replicator or ghostgate started after the ghost's ALTER, another ghostgate "
         "instance with a different id recorded it, or the state was lost; an OK would leave " +
         rules::quote_name(target) + " without it. Resolve: POST /online-ddl/ghost/" + g +
         "/ddls with the DDLs to run, or POST /online-ddl/ghost/" + g +
         "/applied if they were applied by hand, on ghostgate's admin address; then resend this "
         "statement (README, \"Online DDL operations\")";
}

awaitable<std::optional<std::string>> OnlineDdlService::wait_in_flight(ClientPort& session,
                                                                       const Step& ddl) {
  const auto deadline = std::chrono::steady_clock::now() + in_flight_timeout;
  bool logged = false;
  for (;;) {
    const InFlightQuery q = in_flight_query(meta_->server_version(), ddl.target, ddl.sql);
    std::string sql = q.sql;
    QueryResult r = co_await session.backend_query(std::move(sql));
    if (r.error) {
      co_return "ghostgate: cannot check whether the cut-over DDL is still running in the "
                "backend: " +
          r.error->message;
    }
    if (count_in_flight(q, r.columns, r.rows, ddl.sql) == 0) {
      co_return std::nullopt;
    }
    if (!logged) {
      logged = true;
      log_info(session.id(),
               "online-ddl: the cut-over DDL on {} is still running in the backend from an "
               "earlier attempt; waiting for it (up to {} s)",
               rules::quote_name(ddl.target), in_flight_timeout.count());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      co_return "ghostgate: the cut-over DDL on " + rules::quote_name(ddl.target) +
          " from an earlier attempt is still running in the backend after " +
          std::to_string(in_flight_timeout.count()) +
          " s; resend the statement once it has finished (" +
          (q.tidb ? "ADMIN SHOW DDL JOBS" : "SHOW PROCESSLIST") + ")";
    }
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(250));
    error_code ec;
    co_await timer.async_wait(redirect(ec));
  }
}

awaitable<OnlineDdlService::StatementResult> OnlineDdlService::run_statement(
    ClientPort& session, const Statement& stmt, std::string_view db, bool more_follow,
    std::uint8_t& seq, std::vector<std::uint8_t>& out) {
  StatementResult result;
  if (dry_run_) {
    // Unreachable: in dry-run on_query judges every statement itself and forwards the batch.
    result.forwarded = true;
    co_return result;
  }
  // Statements that change the state of the same ghost run one at a time: a replicator that
  // timed out during a long cut-over and resent the RENAME on a new connection must wait for
  // the first one (then find nothing left to do), not run the same DDLs beside it. First in this
  // process (busy_ghosts_), then across instances (the backend claim).
  struct Busy {
    OnlineDdlService* self;
    std::vector<QualifiedName> ghosts;
    void release() {
      std::lock_guard lock(self->mutex_);
      for (const QualifiedName& g : ghosts) {
        self->busy_ghosts_.erase(g);
      }
      ghosts.clear();
    }
    ~Busy() { release(); }
  };
  Busy busy_claim{this, {}};
  std::vector<MetaStore::Claim> held;  // destroyed before busy_claim: backend first
  Plan plan;
  for (int attempt = 0;; ++attempt) {
    for (int waited = 0;; ++waited) {
      plan = co_await plan_with_lookups(session, stmt, db);
      std::vector<QualifiedName> ghosts = state_ghosts(plan);
      bool busy = false;
      {
        std::lock_guard lock(mutex_);
        for (const QualifiedName& g : ghosts) {
          busy = busy || busy_ghosts_.count(g) != 0;
        }
        if (!busy) {
          busy_ghosts_.insert(ghosts.begin(), ghosts.end());
          busy_claim.ghosts = std::move(ghosts);
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
    if (busy_claim.ghosts.empty()) {
      break;
    }
    // Across instances: claim, re-read the state from the backend, plan again.
    std::optional<std::string> err;
    for (const QualifiedName& g : busy_claim.ghosts) {
      MetaStore::ClaimResult c = co_await meta_->claim(g, claim_timeout);
      if (!c.claim) {
        err = "cannot claim " + rules::quote_name(g) +
              " in the backend: " + c.error.value_or("unknown error");
        break;
      }
      held.push_back(std::move(c.claim));
      counters_.claims.fetch_add(1, std::memory_order_relaxed);
    }
    if (!err) {
      err = co_await failpoint_at("claim-taken");
    }
    for (std::size_t i = 0; !err && i < busy_claim.ghosts.size(); ++i) {
      if (auto e = co_await refresh(busy_claim.ghosts[i])) {
        err = "cannot read the state of " + rules::quote_name(busy_claim.ghosts[i]) +
              " from the meta table: " + *e;
      }
    }
    if (err) {
      counters_.refused.fetch_add(1, std::memory_order_relaxed);
      metrics().statements.inc(proxy::Decision::refused, metric_kind(stmt.kind));
      log_warn(session.id(), "online-ddl refuse: tables={} digest={}: {}",
               describe_tables(stmt, db), digest(stmt.text), *err);
      session.local_error(out, seq, rules::Engine::refuse_error_code, "HY000",
                          "ghostgate: " + *err + "; retry the statement");
      result.error = true;
      co_return result;
    }
    Plan again = co_await plan_with_lookups(session, stmt, db);
    const std::vector<QualifiedName> now = state_ghosts(again);
    if (std::includes(busy_claim.ghosts.begin(), busy_claim.ghosts.end(), now.begin(), now.end()) ||
        attempt == 3) {
      plan = std::move(again);
      if (!std::includes(busy_claim.ghosts.begin(), busy_claim.ghosts.end(), now.begin(),
                         now.end())) {
        plan = refusal(
            "ghostgate: the online-DDL state of this statement's tables keeps changing on "
            "another instance; retry the statement");
      }
      break;
    }
    // The backend's state made the statement touch other ghosts: start over with those.
    held.clear();
    busy_claim.release();
  }
  StatementResult r = co_await run_claimed(session, stmt, db, more_follow, seq, out, plan);
  co_return r;
}

awaitable<OnlineDdlService::StatementResult> OnlineDdlService::run_claimed(
    ClientPort& session, const Statement& stmt, std::string_view db, bool more_follow,
    std::uint8_t& seq, std::vector<std::uint8_t>& out, const Plan& plan) {
  StatementResult result;
  const auto started = std::chrono::steady_clock::now();  // a cut-over's duration, once claimed
  const StatementKind kind = metric_kind(stmt.kind);
  if (plan.verdict == Plan::Verdict::forward) {
    result.forwarded = true;
    co_return result;
  }
  const std::string tables = describe_tables(stmt, db);
  const std::string id = digest(stmt.text);
  if (plan.verdict == Plan::Verdict::refuse && !plan.revert) {
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
  if (plan.revert) {
    StatementResult r = co_await run_revert(session, stmt, db, more_follow, seq, out, plan);
    co_return r;
  }
  // No silent cut-over: a cut-over pair the plan has no steps for (no record) is answered OK
  // only as the resend of a completed cut-over (its tombstone), else refused: an OK would leave
  // the real table without the migration's DDL and nobody would know.
  bool from_tombstone = false;
  for (const auto& [ghost, target] : plan.cutovers) {
    if (has_forget(plan, ghost)) {
      continue;
    }
    std::optional<Tombstone> done;
    if (auto err = co_await meta_->find_tombstone(ghost, target, done)) {
      session.local_error(out, seq, rules::Engine::refuse_error_code, "HY000",
                          "ghostgate: cannot read completed cut-overs from " + meta_->done_table() +
                              ": " + *err + "; retry the statement");
      result.error = true;
      co_return result;
    }
    if (done) {
      from_tombstone = true;
      counters_.tombstone_answers.fetch_add(1, std::memory_order_relaxed);
      log_info(session.id(),
               "online-ddl: cut-over of {} onto {} already completed at {} (tombstone): a "
               "resend, answered OK without running anything",
               rules::quote_name(ghost), rules::quote_name(target), done->done_time);
      continue;
    }
    const std::string message = unseen_cutover_message(ghost, target);
    counters_.refused.fetch_add(1, std::memory_order_relaxed);
    counters_.refused_unseen_cutovers.fetch_add(1, std::memory_order_relaxed);
    metrics().statements.inc(proxy::Decision::refused, metric_kind(stmt.kind));
    log_warn(session.id(), "online-ddl refuse: tables={} digest={}: {}", describe_tables(stmt, db),
             digest(stmt.text), message);
    session.local_error(out, seq, rules::Engine::refuse_error_code, "HY000", message);
    result.error = true;
    co_return result;
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
      // The tombstone first: a crash between it and the meta row's delete replays the cut-over
      // from the row (every DDL marked applied: nothing runs), never from nothing.
      auto target = std::find_if(plan.cutovers.begin(), plan.cutovers.end(),
                                 [&](const auto& c) { return c.first == step.ghost; });
      if (!err && target != plan.cutovers.end()) {
        Tombstone done{step.ghost, target->second, {}, {}, {}, {}};
        {
          std::lock_guard lock(mutex_);
          if (const rules::GhostRecord* r = engine_->find(step.ghost)) {
            done.ddls = r->ddls;
          }
          if (auto d = definitions_.find(step.ghost); d != definitions_.end()) {
            done.definition = d->second;
          }
        }
        if (auto e = co_await meta_->write_tombstone(std::move(done))) {
          err = "cannot write the cut-over's tombstone: " + *e;
        } else {
          err = co_await failpoint_at("tombstone-written");
        }
      }
    }
    if (step.kind == Step::Kind::record && !err) {
      bool fresh = false;
      {
        std::lock_guard lock(mutex_);
        fresh = engine_->find(step.ghost) == nullptr;
      }
      // A new migration under a ghost name used before: the old cut-over's tombstone must not
      // answer this one's cut-over.
      if (fresh) {
        if (auto e = co_await meta_->clear_tombstones(step.ghost)) {
          err = *e;
        }
      }
    }
    std::uint16_t code = protocol::er::unknown_error;
    std::string state = "HY000";
    if (step.kind == Step::Kind::shard_cutover) {
      cutover = true;
      err = co_await run_shard_cutover(session, step, code, state);
    } else if (step.kind == Step::Kind::backend_sql) {
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
           from_tombstone && !cutover ? "cut-over resend (tombstone)"
           : cutover                  ? "cut-over"
           : recorded                 ? "record"
           : resent ? "record skipped (already recorded: a resend after a restart or a lost OK)"
                    : "suppress",
           plan.reason, tables, id);
  session.local_ok(out, seq, more_follow);
  co_return result;
}

}  // namespace ghostgate::proxy
