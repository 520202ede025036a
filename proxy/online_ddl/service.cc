#include "proxy/online_ddl/service.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>

#include "protocol/constants.h"
#include "proxy/observe/failpoint.h"
#include "proxy/observe/log.h"
#include "proxy/observe/metrics.h"
#include "proxy/online_ddl/meta_store.h"
#include "rules/classifier.h"
#include "rules/lexer.h"

namespace ghostgate::proxy {

using rules::Plan;
using rules::QualifiedName;
using rules::Statement;
using rules::Step;

namespace {

constexpr auto positive_ttl = std::chrono::seconds(60);
constexpr auto negative_ttl = std::chrono::seconds(2);

std::string digest(std::string_view text) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a: a stable id for grepping logs
  for (unsigned char c : text) {
    h = (h ^ c) * 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

StatementKind metric_kind(rules::StatementKind k) {
  using K = rules::StatementKind;
  switch (k) {
    case K::insert:
      return StatementKind::insert;
    case K::update:
      return StatementKind::update;
    case K::delete_rows:
      return StatementKind::delete_;
    case K::replace:
      return StatementKind::replace;
    case K::load_data:
      return StatementKind::load_data;
    case K::create_table:
      return StatementKind::create_table;
    case K::alter_table:
    case K::create_index:
    case K::drop_index:
      return StatementKind::alter_table;
    case K::rename_table:
      return StatementKind::rename_table;
    case K::drop_table:
      return StatementKind::drop_table;
    case K::truncate:
      return StatementKind::truncate;
    case K::create_trigger:
      return StatementKind::create_trigger;
    case K::drop_trigger:
      return StatementKind::drop_trigger;
    default:
      return StatementKind::other;
  }
}

std::string describe_tables(const Statement& s, std::string_view db) {
  std::string out;
  for (const rules::TableRef& t : s.tables()) {
    if (!out.empty()) {
      out += ',';
    }
    out += t.schema.empty() ? std::string(db) : std::string(t.schema);
    out += '.';
    out += t.table;
  }
  return out;
}

// SHOW CREATE TABLE without the AUTO_INCREMENT counter, which moves with every insert.
std::string definition_fingerprint(const std::string& create_table) {
  static const std::regex auto_increment(" AUTO_INCREMENT=[0-9]+");
  return digest(std::regex_replace(create_table, auto_increment, ""));
}

// A failpoint (proxy/failpoint.h) on a coroutine path: its error as text; a sleep waits on a
// timer so that the other sessions of this thread go on meanwhile. `name` is a literal.
awaitable<std::optional<std::string>> failpoint_at(const char* name) {
  std::optional<failpoint::Action> fp = failpoint::evaluate(name);
  if (!fp) {
    co_return std::nullopt;
  }
  if (fp->kind == failpoint::Action::Kind::sleep) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(fp->sleep_ms));
    error_code ec;
    co_await timer.async_wait(redirect(ec));
    co_return std::nullopt;
  }
  co_return fp->message;
}

}  // namespace

// What exists downstream, as seen through the replicator's own connection (its privileges),
// cached briefly. Every DDL that passes through clears it.
class OnlineDdlService::CachedCatalog final : public rules::Catalog {
 public:
  std::optional<bool> table_exists(const QualifiedName& name) const override {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end() || it->second.expires < std::chrono::steady_clock::now()) {
      return std::nullopt;
    }
    return it->second.exists;
  }
  void store(const QualifiedName& name, bool exists) {
    std::lock_guard lock(mutex_);
    entries_[name] = {exists,
                      std::chrono::steady_clock::now() + (exists ? positive_ttl : negative_ttl)};
  }
  void clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
  }

 private:
  struct Entry {
    bool exists;
    std::chrono::steady_clock::time_point expires;
  };
  mutable std::mutex mutex_;
  std::map<QualifiedName, Entry> entries_;
};

// dry-run forwards what a real run suppresses, so the backend no longer holds what a real run's
// downstream would: the ghost and changelog tables exist there (their CREATE went through), the
// real table that a cut-over renamed to a trash name is gone. Judged on the backend's catalog
// alone, the ghost's ALTER would look like DDL on a real table (a helper's name that exists
// downstream is a real table that merely looks like one). This keeps the names whose existence
// differs from the backend's and answers for them. Guarded by the service's mutex_.
class OnlineDdlService::DryRunCatalog final : public rules::Catalog {
 public:
  explicit DryRunCatalog(const CachedCatalog& backend) : backend_(backend) {}
  std::optional<bool> table_exists(const QualifiedName& name) const override {
    if (auto it = differs_.find(name); it != differs_.end()) {
      return it->second;
    }
    return backend_.table_exists(name);
  }
  void set(const QualifiedName& name, bool exists) { differs_[name] = exists; }
  void same(const QualifiedName& name) { differs_.erase(name); }
  void same_schema(std::string_view schema) {
    std::erase_if(differs_, [&](const auto& entry) { return entry.first.schema == schema; });
  }

 private:
  const CachedCatalog& backend_;
  std::map<QualifiedName, bool> differs_;
};

struct OnlineDdlService::DryRunResult {
  Plan plan;
  bool recorded = false;  // a record step was applied
  bool resent = false;    // a record step was skipped: its DDL is recorded already
};

struct OnlineDdlService::StatementResult {
  bool forwarded = false;  // the plan was "forward": the caller sends it
  bool error = false;      // an ERR was appended: a batch stops here
  bool close = false;
};

OnlineDdlService::OnlineDdlService(rules::TableRules rules, std::shared_ptr<MetaStore> meta,
                                   bool dry_run)
    : engine_(std::make_unique<rules::Engine>(std::move(rules))),
      meta_(std::move(meta)),
      catalog_(std::make_unique<CachedCatalog>()),
      dry_catalog_(dry_run ? std::make_unique<DryRunCatalog>(*catalog_) : nullptr),
      dry_run_(dry_run) {
  quick_engine_.store(engine_.get(), std::memory_order_release);
}

OnlineDdlService::~OnlineDdlService() = default;

void OnlineDdlService::replace_rules(rules::TableRules rules) {
  std::lock_guard lock(mutex_);
  auto fresh = std::make_unique<rules::Engine>(std::move(rules));
  fresh->load(engine_->snapshot());
  // quick_forward() reads the engine without the mutex: keep the old one alive. Rule reloads
  // are rare (SIGHUP), so the few retired engines are not worth reclaiming.
  static std::vector<std::unique_ptr<rules::Engine>> retired;
  retired.push_back(std::move(engine_));
  engine_ = std::move(fresh);
  quick_engine_.store(engine_.get(), std::memory_order_release);
}

namespace {

std::optional<std::string> use_target_of(const Statement& s) {
  if (s.kind != rules::StatementKind::use) {
    return std::nullopt;
  }
  const rules::TableRef* ref = s.first(rules::RefRole::database);
  if (ref == nullptr) {
    return std::nullopt;
  }
  return std::string(ref->schema);
}

}  // namespace

std::optional<std::string> OnlineDdlService::forwarded_without_engine(std::string_view sql) {
  Statement s = rules::classify(sql);
  metrics().statements.inc(proxy::Decision::forwarded, metric_kind(s.kind));
  return use_target_of(s);
}

std::optional<std::string> OnlineDdlService::use_target(std::string_view sql) {
  return use_target_of(rules::classify(sql));
}

bool OnlineDdlService::quick_forward(std::string_view sql, std::string_view current_db,
                                     bool multi) const {
  const rules::Engine* engine = quick_engine_.load(std::memory_order_acquire);
  auto quick = [&](std::string_view text) {
    const Statement s = rules::classify(text);
    if (s.kind == rules::StatementKind::use || s.is_ddl) {
      return false;  // USE is tracked, DDL clears the catalog cache
    }
    if (!engine->quick_forward(s, current_db)) {
      return false;
    }
    metrics().statements.inc(proxy::Decision::forwarded, metric_kind(s.kind));
    return true;
  };
  if (!multi) {
    return quick(sql);
  }
  rules::StatementSplitter splitter(sql);
  std::string_view piece;
  while (splitter.next(piece)) {
    if (!quick(piece)) {
      return false;
    }
  }
  return true;
}

awaitable<bool> OnlineDdlService::load() {
  // A slow or failing meta table at start-up (tests: statements must wait for the state).
  if (std::optional<std::string> fp = co_await failpoint_at("meta-load")) {
    log_warn(no_conn, "online-ddl: cannot load meta table {}: {}", meta_->table(), *fp);
    co_return false;
  }
  if (auto err = co_await meta_->ensure_table()) {
    log_warn(no_conn, "online-ddl: cannot create meta table {}: {}", meta_->table(), *err);
    co_return false;
  }
  std::vector<StoredRecord> stored;
  if (auto err = co_await meta_->load(stored)) {
    log_warn(no_conn, "online-ddl: cannot load meta table {}: {}", meta_->table(), *err);
    co_return false;
  }
  std::vector<rules::GhostRecord> records;
  {
    std::lock_guard lock(mutex_);
    marks_.clear();
    for (StoredRecord& s : stored) {
      if (s.mark) {
        marks_[s.record.ghost] = *s.mark;
      }
      since_.emplace(s.record.ghost, std::chrono::system_clock::now());
      records.push_back(std::move(s.record));
    }
    engine_->load(records);
    metrics().online_ddl_pending.set(static_cast<std::int64_t>(records.size()));
  }
  log_info(no_conn, "online-ddl: {} pending migration(s) loaded from {}", records.size(),
           meta_->table());
  ready_.store(true, std::memory_order_release);
  co_return true;
}

const rules::Catalog& OnlineDdlService::planning_catalog() const {
  if (dry_catalog_) {
    return *dry_catalog_;
  }
  return *catalog_;
}

awaitable<Plan> OnlineDdlService::plan_with_lookups(ClientPort& session, const Statement& stmt,
                                                    std::string_view db) {
  for (int round = 0;; ++round) {
    Plan plan;
    {
      std::lock_guard lock(mutex_);
      plan = engine_->plan(stmt, db, planning_catalog());
    }
    // Until the recorded state is loaded the registry is empty, and a plan made from it is
    // wrong in exactly the cases that matter after a restart: a resent cut-over RENAME would be
    // answered OK without running the recorded DDLs, a drop_swap DROP would drop the real table.
    // Only statements that need no state (plan forward) may pass.
    if (!ready() && plan.verdict != Plan::Verdict::forward) {
      Plan wait;
      wait.verdict = Plan::Verdict::refuse;
      wait.error_code = rules::Engine::refuse_error_code;
      wait.sql_state = "HY000";
      wait.error_message =
          "ghostgate: the online-DDL state is not loaded from the meta table yet (see /readyz); "
          "retry the statement";
      wait.reason = "state not loaded";
      co_return wait;
    }
    if (plan.verdict != Plan::Verdict::need_lookup || round == 3) {
      if (plan.verdict == Plan::Verdict::need_lookup) {
        plan = Plan{};
        plan.verdict = Plan::Verdict::refuse;
        plan.error_code = rules::Engine::refuse_error_code;
        plan.sql_state = "HY000";
        plan.error_message = "ghostgate: cannot tell whether a table is a tool's helper";
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
    }
  }
}

awaitable<std::optional<std::string>> OnlineDdlService::persist(
    const QualifiedName& ghost, std::optional<rules::GhostRecord> rec,
    std::optional<CutoverMark> mark) {
  if (!ready()) {
    co_return std::string("the meta table is not available (see /readyz)");
  }
  if (rec) {
    StoredRecord stored{std::move(*rec), std::move(mark)};
    std::optional<std::string> err = co_await meta_->upsert(std::move(stored));
    co_return err;
  }
  QualifiedName name = ghost;
  std::optional<std::string> err = co_await meta_->remove(std::move(name));
  co_return err;
}

bool OnlineDdlService::already_recorded(const Step& step) const {
  std::lock_guard lock(mutex_);
  const rules::GhostRecord* r = engine_->find(step.ghost);
  return r != nullptr && std::find(r->ddls.begin(), r->ddls.end(), step.sql) != r->ddls.end();
}

awaitable<std::optional<std::string>> OnlineDdlService::apply_state_step(const Step& step) {
  std::optional<rules::GhostRecord> previous;
  std::optional<CutoverMark> previous_mark;
  std::optional<rules::GhostRecord> now;
  {
    std::lock_guard lock(mutex_);
    if (const rules::GhostRecord* r = engine_->find(step.ghost)) {
      previous = *r;
    }
    now = engine_->apply(step);
    if (auto it = marks_.find(step.ghost); it != marks_.end()) {
      previous_mark = it->second;
      marks_.erase(it);
    }
    if (now) {
      since_.emplace(step.ghost, std::chrono::system_clock::now());
    } else {
      since_.erase(step.ghost);
    }
  }
  std::optional<std::string> err;
  if (step.kind == Step::Kind::record) {
    err = co_await failpoint_at("before-record-persist");
  } else if (step.kind == Step::Kind::cutover_progress) {
    err = co_await failpoint_at("before-progress-persist");
  }
  if (!err) {
    err = co_await persist(step.ghost, now, std::nullopt);
  }
  if (err) {
    std::lock_guard lock(mutex_);
    engine_->restore(step.ghost, previous);
    // The mark too: after a cut-over DDL ran and its progress could not be persisted, the
    // mark is what tells a retry that the DDL already ran (without it, it would run twice).
    if (previous_mark) {
      marks_[step.ghost] = *previous_mark;
    }
    co_return err;
  }
  {
    std::lock_guard lock(mutex_);
    metrics().online_ddl_pending.set(static_cast<std::int64_t>(engine_->snapshot().size()));
  }
  if (step.kind == Step::Kind::record) {
    // Persisted, yet the client may never hear of it (crash) or hear of a failure (error): it
    // will resend the statement.
    err = co_await failpoint_at("after-record-persisted");
  }
  co_return err;
}

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
      }
    }
  }
  log_info(session.id(),
           "online-ddl dry-run: would {} kind={} tables={} digest={} ({}){}{}forwarded", verb,
           label(metric_kind(stmt.kind)), describe_tables(stmt, db), digest(stmt.text), plan.reason,
           running.empty() ? "; " : " running: ", running);
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

std::string OnlineDdlService::state_json() const {
  nlohmann::json j = nlohmann::json::array();
  std::lock_guard lock(mutex_);
  for (const rules::GhostRecord& r : engine_->snapshot()) {
    nlohmann::json item;
    item["ghost"] = {{"schema", r.ghost.schema}, {"table", r.ghost.table}};
    item["real_table_hint"] = r.real_hint;
    item["ddls"] = r.ddls;
    item["applied"] = r.applied;
    if (r.deferred_drop) {
      item["deferred_drop"] = {{"schema", r.deferred_drop->schema},
                               {"table", r.deferred_drop->table}};
    }
    if (auto it = since_.find(r.ghost); it != since_.end()) {
      item["since_unix"] =
          std::chrono::duration_cast<std::chrono::seconds>(it->second.time_since_epoch()).count();
    }
    j.push_back(std::move(item));
  }
  return nlohmann::json{{"ready", ready()}, {"dry_run", dry_run_}, {"pending", j}}.dump(2);
}

}  // namespace ghostgate::proxy
