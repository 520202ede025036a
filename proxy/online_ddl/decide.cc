// The statement decision path: what the session asks (on_query, on_prepare), the plan with the
// catalog lookups it needs, and a batch answered partly by ghostgate, partly by the backend.

#include <map>

#include "protocol/constants.h"
#include "proxy/observe/log.h"
#include "proxy/observe/metrics.h"
#include "proxy/online_ddl/service.h"
#include "proxy/online_ddl/service_internal.h"
#include "rules/classifier.h"
#include "rules/lexer.h"

namespace ghostgate::proxy {

using namespace online_ddl_detail;

namespace {

// Decisions that start or end a migration (a ghost's CREATE, a cut-over, a helper's DROP; and
// ALTER, which may rename) look at the backend's catalog itself: another instance or a DBA may
// have created or dropped a helper-looking table within the cache's 60 s. This answers only
// what this statement looked up.
class FreshCatalog final : public rules::Catalog {
 public:
  std::optional<bool> table_exists(const rules::QualifiedName& name) const override {
    auto it = seen_.find(name);
    return it == seen_.end() ? std::nullopt : std::optional<bool>(it->second);
  }
  void store(const rules::QualifiedName& name, bool exists) { seen_[name] = exists; }

 private:
  std::map<rules::QualifiedName, bool> seen_;
};

bool needs_fresh_catalog(rules::StatementKind k) {
  using K = rules::StatementKind;
  return k == K::create_table || k == K::rename_table || k == K::drop_table || k == K::alter_table;
}

}  // namespace

awaitable<bool> OnlineDdlService::load_on_demand() {
  const auto deadline = std::chrono::steady_clock::now() + load_wait;
  while (!ready()) {
    if (!loading_.exchange(true)) {
      const bool ok = co_await load();
      loading_.store(false);
      if (ok) {
        break;
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      break;
    }
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(100));
    error_code ec;
    co_await timer.async_wait(redirect(ec));
  }
  co_return ready();
}

awaitable<Plan> OnlineDdlService::plan_with_lookups(ClientPort& session, const Statement& stmt,
                                                    std::string_view db) {
  FreshCatalog fresh;
  const bool use_fresh = !dry_run_ && needs_fresh_catalog(stmt.kind);
  // A DROP or RENAME of a real table is judged by the pending ghosts of that real table (pt-osc
  // drop_swap, gh-ost two-step rollback), which another instance may have recorded: re-read
  // them first. DDL only, and rare; row changes never get here.
  if (!dry_run_ && ready() &&
      (stmt.kind == rules::StatementKind::drop_table ||
       stmt.kind == rules::StatementKind::rename_table)) {
    if (auto err = co_await refresh_all()) {
      co_return refusal("ghostgate: cannot read the online-DDL state from the meta table: " + *err +
                        "; retry the statement");
    }
  }
  bool demanded = false;
  for (int round = 0;; ++round) {
    Plan plan;
    {
      std::lock_guard lock(mutex_);
      plan = engine_->plan(
          stmt, db, use_fresh ? static_cast<const rules::Catalog&>(fresh) : planning_catalog());
    }
    // Until the recorded state is loaded the registry is empty, and a plan made from it is
    // wrong in exactly the cases that matter after a restart: a resent cut-over RENAME would be
    // answered OK without running the recorded DDLs, a drop_swap DROP would drop the real table.
    // Only statements that need no state (plan forward) may pass.
    if (!ready() && plan.verdict != Plan::Verdict::forward) {
      // The client reached the backend, so the load can succeed now: do not wait for the
      // start-up retry timer (ghostgate started before its backend).
      if (!dry_run_ && !demanded) {
        demanded = true;
        if (co_await load_on_demand()) {
          --round;
          continue;
        }
      }
      co_return refusal(
          "ghostgate: the online-DDL state is not loaded from the meta table yet (see /readyz); "
          "retry the statement",
          "state not loaded");
    }
    if (plan.verdict != Plan::Verdict::need_lookup || round == 3) {
      if (plan.verdict == Plan::Verdict::need_lookup) {
        plan = refusal("ghostgate: cannot tell whether a table is a tool's helper");
      }
      co_return plan;
    }
    std::string sql = "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE ";
    for (std::size_t i = 0; i < plan.lookups.size(); ++i) {
      sql += i ? " OR " : "";
      sql += "(TABLE_SCHEMA = " + hex_literal(plan.lookups[i].schema) +
             " AND TABLE_NAME = " + hex_literal(plan.lookups[i].table) + ")";
    }
    QueryResult r = co_await session.backend_query(std::move(sql));
    if (r.error) {
      Plan failed;
      failed.verdict = Plan::Verdict::refuse;
      failed.error_code = r.error->code;
      failed.sql_state = r.error->sql_state;
      failed.error_message = "ghostgate: table lookup failed: " + r.error->message;
      co_return failed;
    }
    for (const QualifiedName& name : plan.lookups) {
      bool exists = false;
      for (const auto& row : r.rows) {
        if (row.size() >= 2 && row[0] && row[1] && *row[0] == name.schema &&
            *row[1] == name.table) {
          exists = true;
        }
      }
      catalog_->store(name, exists);
      fresh.store(name, exists);
    }
  }
}

// Sends the forwarded statements gathered so far as one batch and appends their results.
awaitable<bool> OnlineDdlService::flush_pending(ClientPort& session, std::string& pending,
                                                bool more_follow, std::uint8_t& seq,
                                                Decision& decision) {
  if (pending.empty()) {
    co_return true;
  }
  std::string batch = std::move(pending);
  pending.clear();
  ClientPort::Collected c =
      co_await session.collect_query(std::move(batch), more_follow, seq, decision.packets);
  if (!c.ok) {
    decision.close = true;
  }
  co_return c.ok && !c.error;
}

awaitable<OnlineDdlService::Decision> OnlineDdlService::on_query(ClientPort& session,
                                                                 std::string sql) {
  Decision decision;
  const bool multi = (session.client_caps() & protocol::cap::multi_statements) != 0;
  std::vector<std::string_view> pieces;
  if (multi) {
    pieces = rules::split_statements(sql);
  } else {
    pieces.push_back(sql);
  }
  std::string db = session.current_db();
  // A batch whose statements all forward is sent as it came.
  {
    bool all_forward = true;
    bool any_ddl = false;
    std::string sim_db = db;
    for (std::string_view piece : pieces) {
      const Statement s = rules::classify(piece);
      any_ddl = any_ddl || s.is_ddl;
      if (s.kind == rules::StatementKind::use) {
        if (const rules::TableRef* ref = s.first(rules::RefRole::database)) {
          sim_db = std::string(ref->schema);
          decision.use_db = sim_db;
        }
        continue;
      }
      if (dry_run_) {
        // In order: a statement's state changes decide how the next one is judged.
        co_await dry_run_statement(session, s, sim_db);
      } else {
        Plan plan = co_await plan_with_lookups(session, s, sim_db);
        if (plan.verdict != Plan::Verdict::forward) {
          all_forward = false;
          break;
        }
      }
      metrics().statements.inc(proxy::Decision::forwarded, metric_kind(s.kind));
    }
    if (all_forward) {
      if (any_ddl) {
        catalog_->clear();
      }
      co_return decision;
    }
  }
  // Mixed or suppressed: run statement by statement, in order. Consecutive forwarded statements
  // go to the backend together; ghostgate's own answers are stitched in between with the right
  // sequence ids and SERVER_MORE_RESULTS_EXISTS flags. Like the server, stop at the first error.
  decision = Decision{};
  decision.forward = false;
  std::uint8_t seq = 1;
  std::string pending;  // forwarded statements not yet sent
  const rules::Engine* engine = quick_engine_.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const bool last = i + 1 == pieces.size();
    const Statement s = rules::classify(pieces[i]);
    bool forward_it = false;
    if (s.kind == rules::StatementKind::use) {
      if (const rules::TableRef* ref = s.first(rules::RefRole::database)) {
        db = std::string(ref->schema);
      }
      forward_it = true;
    } else if (!s.is_ddl && engine->quick_forward(s, db)) {
      forward_it = true;
    } else {
      // What was sent before may change what this statement means (and must run first).
      if (!co_await flush_pending(session, pending, true, seq, decision)) {
        co_return decision;
      }
      StatementResult r = co_await run_statement(session, s, db, !last, seq, decision.packets);
      if (r.error || r.close) {
        decision.close = decision.close || r.close;
        co_return decision;
      }
      forward_it = r.forwarded;
    }
    if (forward_it) {
      if (!pending.empty()) {
        pending += ";\n";
      }
      pending += pieces[i];
      metrics().statements.inc(proxy::Decision::forwarded, metric_kind(s.kind));
    }
  }
  co_await flush_pending(session, pending, false, seq, decision);
  session.set_current_db(db);
  co_return decision;
}

awaitable<std::optional<std::uint16_t>> OnlineDdlService::on_prepare(ClientPort& session,
                                                                     std::string sql) {
  const Statement s = rules::classify(sql);
  Plan plan = co_await plan_with_lookups(session, s, session.current_db());
  if (plan.verdict == Plan::Verdict::forward) {
    co_return std::nullopt;
  }
  if (dry_run_) {
    // Forwarded prepared, its executions go straight to the backend: they are not judged and
    // change no dry-run state (README, dry-run).
    log_info(session.id(),
             "online-ddl dry-run: would prepare locally kind={} tables={} digest={} ({}); "
             "forwarded, its executions are not judged",
             label(metric_kind(s.kind)), describe_tables(s, session.current_db()), digest(s.text),
             plan.reason);
    co_return std::nullopt;
  }
  co_return static_cast<std::uint16_t>(s.placeholders);
}

}  // namespace ghostgate::proxy
