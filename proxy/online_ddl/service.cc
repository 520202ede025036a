#include "proxy/online_ddl/service.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "proxy/observe/failpoint.h"
#include "proxy/observe/log.h"
#include "proxy/observe/metrics.h"
#include "proxy/online_ddl/meta_store.h"
#include "proxy/online_ddl/service_internal.h"
#include "rules/classifier.h"
#include "rules/lexer.h"

namespace ghostgate::proxy {

using namespace online_ddl_detail;

namespace online_ddl_detail {

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

rules::Plan refusal(std::string message, std::string_view reason) {
  rules::Plan plan;
  plan.verdict = rules::Plan::Verdict::refuse;
  plan.error_code = rules::Engine::refuse_error_code;
  plan.sql_state = "HY000";
  plan.error_message = std::move(message);
  plan.reason = reason;
  return plan;
}

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

}  // namespace online_ddl_detail

OnlineDdlService::OnlineDdlService(rules::TableRules rules, std::shared_ptr<MetaStore> meta,
                                   bool dry_run, std::shared_ptr<const rules::ShardRouting> shards,
                                   std::chrono::milliseconds shard_wait)
    : engine_(std::make_unique<rules::Engine>(std::move(rules), shards)),
      shards_(std::move(shards)),
      shard_wait_(shard_wait),
      meta_(std::move(meta)),
      catalog_(std::make_unique<CachedCatalog>()),
      dry_catalog_(std::make_unique<DryRunCatalog>(*catalog_)),
      dry_run_(dry_run) {
  quick_engine_.store(engine_.get(), std::memory_order_release);
}

OnlineDdlService::~OnlineDdlService() = default;

void OnlineDdlService::replace_rules(rules::TableRules rules) {
  std::lock_guard lock(mutex_);
  auto fresh = std::make_unique<rules::Engine>(std::move(rules), shards_);
  fresh->load(engine_->snapshot());
  // quick_forward() reads the engine without the mutex: keep the old one alive. Rule reloads
  // are rare (SIGHUP), so the few retired engines are not worth reclaiming.
  static std::vector<std::unique_ptr<rules::Engine>> retired;
  retired.push_back(std::move(engine_));
  engine_ = std::move(fresh);
  quick_engine_.store(engine_.get(), std::memory_order_release);
}

void OnlineDdlService::set_load_error(std::string error) {
  std::lock_guard lock(mutex_);
  load_error_ = std::move(error);
}

std::string OnlineDdlService::load_error() const {
  std::lock_guard lock(mutex_);
  return load_error_;
}

bool OnlineDdlService::set_dry_run(bool on) {
  std::lock_guard lock(mutex_);
  if (on == dry_run_.load()) {
    return false;
  }
  if (on) {
    dry_catalog_->clear();  // the dry-run view starts from the backend's
  } else {
    ready_.store(false, std::memory_order_release);
  }
  dry_run_.store(on, std::memory_order_release);
  return !on;
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
  if (ready()) {
    co_return true;  // loaded meanwhile on demand (load_on_demand)
  }
  // A slow or failing meta table at start-up (tests: statements must wait for the state).
  if (std::optional<std::string> fp = co_await failpoint_at("meta-load")) {
    log_warn(no_conn, "online-ddl: cannot load meta table {}: {}", meta_->table(), *fp);
    set_load_error("cannot load " + meta_->table() + ": " + *fp);
    co_return false;
  }
  if (auto err = co_await meta_->ensure_table()) {
    log_warn(no_conn, "online-ddl: cannot create meta table {}: {}", meta_->table(), *err);
    set_load_error("cannot create " + meta_->table() + ": " + *err);
    co_return false;
  }
  if (auto err = co_await load_shard_groups()) {
    log_warn(no_conn, "online-ddl: cannot load the shard groups from {}: {}", shard_groups_table(),
             *err);
    set_load_error("cannot load the shard groups from " + shard_groups_table() + ": " + *err);
    co_return false;
  }
  if (const std::string warning = meta_->definitions_warning(); !warning.empty()) {
    log_warn(no_conn, "online-ddl: {}", warning);
  }
  std::vector<StoredRecord> stored;
  std::vector<ForeignRow> foreign;
  if (auto err = co_await meta_->load(stored, &foreign)) {
    log_warn(no_conn, "online-ddl: cannot load meta table {}: {}", meta_->table(), *err);
    set_load_error("cannot read " + meta_->table() + ": " + *err);
    co_return false;
  }
  std::vector<rules::GhostRecord> records;
  {
    std::lock_guard lock(mutex_);
    marks_.clear();
    definitions_.clear();
    for (StoredRecord& s : stored) {
      if (s.mark) {
        marks_[s.record.ghost] = *s.mark;
      }
      if (!s.definition.empty()) {
        definitions_[s.record.ghost] = std::move(s.definition);
      }
      since_.emplace(s.record.ghost, std::chrono::system_clock::now());
      records.push_back(std::move(s.record));
    }
    engine_->load(records);
    metrics().online_ddl_pending.set(static_cast<std::int64_t>(records.size()));
  }
  log_info(no_conn, "online-ddl: {} pending migration(s) loaded from {}", records.size(),
           meta_->table());
  set_load_error("");
  for (const ForeignRow& f : foreign) {
    log_warn(no_conn,
             "online-ddl: {} also holds a pending migration of {} under id \"{}\", not one of "
             "this instance's ids: shown as foreign in /online-ddl, never acted on (to take it "
             "over, e.g. from DM, list that source id under `id`)",
             meta_->table(), rules::quote_name(f.ghost), f.id);
  }
  {
    std::lock_guard lock(mutex_);
    foreign_ = std::move(foreign);
  }
  ready_.store(true, std::memory_order_release);
  co_return true;
}

const rules::Catalog& OnlineDdlService::planning_catalog() const {
  if (dry_run_) {
    return *dry_catalog_;
  }
  return *catalog_;
}

awaitable<std::optional<std::string>> OnlineDdlService::persist(
    const QualifiedName& ghost, std::optional<rules::GhostRecord> rec,
    std::optional<CutoverMark> mark) {
  if (!ready()) {
    co_return std::string("the meta table is not available (see /readyz)");
  }
  if (rec) {
    StoredRecord stored{std::move(*rec), std::move(mark), {}};
    {
      std::lock_guard lock(mutex_);
      if (auto it = definitions_.find(ghost); it != definitions_.end()) {
        stored.definition = it->second;
      }
    }
    std::optional<std::string> err = co_await meta_->upsert(std::move(stored));
    co_return err;
  }
  QualifiedName name = ghost;
  std::optional<std::string> err = co_await meta_->remove(std::move(name));
  co_return err;
}

awaitable<std::optional<std::string>> OnlineDdlService::refresh(QualifiedName ghost) {
  std::optional<StoredRecord> stored;
  if (auto err = co_await meta_->load_one(ghost, stored)) {
    co_return err;
  }
  std::lock_guard lock(mutex_);
  definitions_.erase(ghost);
  if (stored) {
    if (stored->mark) {
      marks_[ghost] = *stored->mark;
    } else {
      marks_.erase(ghost);
    }
    if (!stored->definition.empty()) {
      definitions_[ghost] = std::move(stored->definition);
    }
    since_.emplace(ghost, std::chrono::system_clock::now());
    engine_->restore(ghost, std::move(stored->record));
  } else {
    marks_.erase(ghost);
    since_.erase(ghost);
    engine_->restore(ghost, std::nullopt);
  }
  metrics().online_ddl_pending.set(static_cast<std::int64_t>(engine_->snapshot().size()));
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> OnlineDdlService::refresh_all() {
  std::vector<StoredRecord> stored;
  if (auto err = co_await meta_->load(stored)) {
    co_return err;
  }
  std::lock_guard lock(mutex_);
  std::set<QualifiedName> seen;
  for (StoredRecord& s : stored) {
    const QualifiedName ghost = s.record.ghost;
    seen.insert(ghost);
    if (busy_ghosts_.count(ghost) != 0) {
      continue;
    }
    if (s.mark) {
      marks_[ghost] = *s.mark;
    } else {
      marks_.erase(ghost);
    }
    if (s.definition.empty()) {
      definitions_.erase(ghost);
    } else {
      definitions_[ghost] = std::move(s.definition);
    }
    since_.emplace(ghost, std::chrono::system_clock::now());
    engine_->restore(ghost, std::move(s.record));
  }
  for (const rules::GhostRecord& r : engine_->snapshot()) {
    if (seen.count(r.ghost) == 0 && busy_ghosts_.count(r.ghost) == 0) {
      marks_.erase(r.ghost);
      definitions_.erase(r.ghost);
      since_.erase(r.ghost);
      engine_->restore(r.ghost, std::nullopt);
    }
  }
  metrics().online_ddl_pending.set(static_cast<std::int64_t>(engine_->snapshot().size()));
  co_return std::nullopt;
}

bool OnlineDdlService::already_recorded(const Step& step) const {
  std::lock_guard lock(mutex_);
  const rules::GhostRecord* r = engine_->find(step.ghost);
  return r != nullptr && std::find(r->ddls.begin(), r->ddls.end(), step.sql) != r->ddls.end();
}

awaitable<std::optional<std::string>> OnlineDdlService::apply_state_step(const Step& step) {
  std::optional<rules::GhostRecord> previous;
  std::optional<CutoverMark> previous_mark;
  std::optional<std::string> previous_definition;
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
      // The record ends (its tombstone, if any, already has the definition).
      if (auto it = definitions_.find(step.ghost); it != definitions_.end()) {
        previous_definition = std::move(it->second);
        definitions_.erase(it);
      }
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
    if (previous_definition) {
      definitions_[step.ghost] = std::move(*previous_definition);
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
  nlohmann::json foreign = nlohmann::json::array();
  for (const ForeignRow& f : foreign_) {
    foreign.push_back(
        {{"id", f.id}, {"ghost", {{"schema", f.ghost.schema}, {"table", f.ghost.table}}}});
  }
  nlohmann::json actions = nlohmann::json::array();
  for (const OperatorAction& a : actions_) {
    actions.push_back(
        {{"unix",
          std::chrono::duration_cast<std::chrono::seconds>(a.when.time_since_epoch()).count()},
         {"peer", a.peer},
         {"request", a.request},
         {"ghost", a.ghost},
         {"result", a.result},
         {"ddls", a.ddls}});
  }
  // Shard merge: each target's group as last read or written by this instance.
  nlohmann::json shard_groups = nlohmann::json::array();
  for (const auto& [target, g] : groups_) {
    nlohmann::json members = nlohmann::json::array();
    for (const rules::ShardMemberState& m : g.members()) {
      members.push_back({{"member", dotted(m.name)}, {"reached", m.reached}});
    }
    nlohmann::json versions = nlohmann::json::array();
    for (const rules::ShardVersion& v : g.versions()) {
      nlohmann::json specs = nlohmann::json::array();
      for (const rules::ShardSpec& spec : v.specs) {
        specs.push_back({{"text", spec.text},
                         {"class", std::string(rules::to_string(spec.cls))},
                         {"done", spec.done}});
      }
      versions.push_back({{"number", v.number},
                          {"by", dotted(v.introduced_by)},
                          {"released", v.released},
                          {"specs", specs}});
    }
    nlohmann::json waiting = nlohmann::json::array();
    for (const rules::WaitingChange& w : g.waiting()) {
      nlohmann::json missing = nlohmann::json::array();
      for (const QualifiedName& m : w.missing) {
        missing.push_back(dotted(m));
      }
      waiting.push_back(
          {{"version", w.version}, {"specs", w.specs}, {"missing", missing}, {"unseen", w.unseen}});
    }
    shard_groups.push_back({{"target", dotted(target)},
                            {"mode", std::string(rules::to_string(g.mode()))},
                            {"member_count", g.config().member_count},
                            {"members", members},
                            {"versions", versions},
                            {"waiting", waiting}});
  }
  return nlohmann::json{{"ready", ready()},
                        {"dry_run", dry_run_.load()},
                        {"ids", meta_->ids()},
                        {"pending", j},
                        {"foreign", foreign},
                        {"operator_actions", actions},
                        {"shard_groups", shard_groups}}
      .dump(2);
}

}  // namespace ghostgate::proxy
