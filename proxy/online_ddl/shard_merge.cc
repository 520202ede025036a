// Shard merge in the proxy (README, "Shard merge"; rules/shard_group.h says who calls what): a
// shard's cut-over onto the merged table is decided by the target's shard group, kept in the
// backend beside the meta table, one row per target:
//
//   <meta-schema>.<name>_onlineddl_shard_groups (id, target_schema, target_table, state, ...)
//
// Every decision runs under the target's claim (a GET_LOCK like a ghost's, MetaStore::claim),
// from the row as stored, against the target's columns and indexes read fresh; each state step is
// persisted before the next spec runs and before any OK. A crash anywhere is answered by the
// replicator's resend: the group continues from what was persisted (a spec that ran but was not
// marked done is found on the target and only marked).
//
// Failpoints: shard-claimed (the target's claim held, its group not yet read),
// shard-state-persisted (a group state step persisted), shard-spec-ran (a spec ran, its done mark
// not yet persisted).

#include <algorithm>
#include <nlohmann/json.hpp>

#include "proxy/observe/log.h"
#include "proxy/observe/metrics.h"
#include "proxy/online_ddl/service.h"
#include "proxy/online_ddl/service_internal.h"
#include "rules/shard_ddl.h"
#include "rules/shard_group.h"
#include "rules/shard_routes.h"

namespace ghostgate::proxy {

using namespace online_ddl_detail;

namespace {

// The claim of a merge target: a name no ghost can have (an empty schema).
QualifiedName target_claim(const QualifiedName& target) {
  return {"", "shard-group " + rules::quote_name(target)};
}

awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(d);
  error_code ec;
  co_await timer.async_wait(redirect(ec));
}

// One statement over the replicator's connection, or ghostgate's own when `session` is null.
// (if/else around each co_await: gcc 12 mishandles co_await inside a conditional expression.)
awaitable<QueryResult> query_on(ClientPort* session, MetaStore& meta, std::string sql) {
  QueryResult r;
  if (session != nullptr) {
    r = co_await session->backend_query(std::move(sql));
  } else {
    r = co_await meta.query(std::move(sql));
  }
  co_return r;
}

std::string describe_waiting(const std::vector<rules::WaitingChange>& waiting) {
  std::string out;
  for (const rules::WaitingChange& w : waiting) {
    if (!out.empty()) {
      out += "; ";
    }
    out += "version " + std::to_string(w.version) + " (";
    for (std::size_t i = 0; i < w.specs.size(); ++i) {
      out += (i ? ", " : "") + w.specs[i];
    }
    out += ") waits for ";
    std::string who;
    for (const QualifiedName& m : w.missing) {
      who += (who.empty() ? "" : ", ") + dotted(m);
    }
    if (w.unseen != 0) {
      who += (who.empty() ? "" : " and ") + std::to_string(w.unseen) + " member(s) not seen yet";
    }
    out += who.empty() ? "an operator's release" : who;
  }
  return out;
}

}  // namespace

std::string OnlineDdlService::shard_groups_table() const {
  return meta_->sibling_table("_shard_groups");
}

void OnlineDdlService::remember_group(const rules::ShardGroup& group) {
  std::lock_guard lock(mutex_);
  groups_.insert_or_assign(group.target(), group);
  std::int64_t waiting = 0;
  for (const auto& [target, g] : groups_) {
    waiting += static_cast<std::int64_t>(g.waiting().size());
  }
  metrics().shard_changes_waiting.set(waiting);
}

awaitable<std::optional<std::string>> OnlineDdlService::load_shard_groups() {
  if (!shards_ || shards_->config.groups.empty()) {
    co_return std::nullopt;
  }
  std::string create =
      "CREATE TABLE IF NOT EXISTS " + shard_groups_table() +
      " (id VARCHAR(32) NOT NULL, target_schema VARCHAR(128) NOT NULL, target_table VARCHAR(128) "
      "NOT NULL, state MEDIUMTEXT, update_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON "
      "UPDATE CURRENT_TIMESTAMP, UNIQUE KEY uk_id_target (id, target_schema, target_table))";
  QueryResult r = co_await meta_->query(std::move(create));
  if (r.error) {
    co_return std::to_string(r.error->code) + ": " + r.error->message;
  }
  for (const rules::ShardGroupConfig& config : shards_->config.groups) {
    std::optional<rules::ShardGroup> group;
    if (auto err = co_await read_group(config, group)) {
      co_return err;
    }
    remember_group(*group);
    if (const auto waiting = group->waiting(); !waiting.empty()) {
      log_warn(no_conn, "online-ddl: shard group of {}: {}", rules::quote_name(config.target),
               describe_waiting(waiting));
    }
  }
  log_info(no_conn, "online-ddl: {} shard group(s) loaded from {} (shard-mode {})",
           shards_->config.groups.size(), shard_groups_table(),
           rules::to_string(shards_->config.mode));
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> OnlineDdlService::read_group(
    const rules::ShardGroupConfig& config, std::optional<rules::ShardGroup>& out) {
  std::string sql = "SELECT state FROM " + shard_groups_table() +
                    " WHERE id = " + hex_literal(meta_->ids().front()) +
                    " AND target_schema = " + hex_literal(config.target.schema) +
                    " AND target_table = " + hex_literal(config.target.table);
  QueryResult r = co_await meta_->query(std::move(sql));
  if (r.error) {
    co_return std::to_string(r.error->code) + ": " + r.error->message;
  }
  if (r.rows.empty() || r.rows[0].empty() || !r.rows[0][0]) {
    out.emplace(config, shards_->config.mode);
    co_return std::nullopt;
  }
  std::string error;
  out = rules::ShardGroup::from_json(*r.rows[0][0], config, shards_->config.mode, &error);
  if (!out) {
    co_return "the stored state of " + rules::quote_name(config.target) +
        " does not fit: " + error +
        " (the shard-groups configuration changed under a change in progress; restore it, or "
        "delete that row once the shards agree)";
  }
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> OnlineDdlService::write_group(const rules::ShardGroup& g) {
  std::string sql = "INSERT INTO " + shard_groups_table() +
                    " (id, target_schema, target_table, state) VALUES (" +
                    hex_literal(meta_->ids().front()) + ", " + hex_literal(g.target().schema) +
                    ", " + hex_literal(g.target().table) + ", " + hex_literal(g.to_json()) +
                    ") ON DUPLICATE KEY UPDATE state = VALUES(state)";
  QueryResult r = co_await meta_->query(std::move(sql));
  if (r.error) {
    co_return std::to_string(r.error->code) + ": " + r.error->message;
  }
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> OnlineDdlService::read_target(ClientPort* session,
                                                                    const QualifiedName& target,
                                                                    rules::TargetSchema& out) {
  const std::string where = " WHERE TABLE_SCHEMA = " + hex_literal(target.schema) +
                            " AND TABLE_NAME = " + hex_literal(target.table);
  std::string columns_sql =
      "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS" + where;
  std::string indexes_sql = "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS" + where;
  QueryResult columns = co_await query_on(session, *meta_, std::move(columns_sql));
  if (columns.error) {
    co_return "cannot read the columns of " + rules::quote_name(target) + ": " +
        columns.error->message;
  }
  QueryResult indexes = co_await query_on(session, *meta_, std::move(indexes_sql));
  if (indexes.error) {
    co_return "cannot read the indexes of " + rules::quote_name(target) + ": " +
        indexes.error->message;
  }
  out = rules::TargetSchema{};
  for (const auto& row : columns.rows) {
    if (row.size() >= 3 && row[0] && row[1]) {
      out.columns[rules::lower_name(*row[0])] = {*row[1], row[2].value_or("YES") == "YES"};
    }
  }
  for (const auto& row : indexes.rows) {
    if (!row.empty() && row[0]) {
      out.indexes.insert(rules::lower_name(*row[0]));
    }
  }
  if (out.columns.empty()) {
    co_return "the merge target " + rules::quote_name(target) +
        " has no columns visible to this connection (missing, or no privilege on it)";
  }
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> OnlineDdlService::run_shard_steps(
    ClientPort* session, rules::ShardGroup& group, const std::vector<rules::ShardStep>& steps,
    std::uint16_t& error_code, std::string& sql_state) {
  const std::uint64_t conn = session != nullptr ? session->id() : no_conn;
  for (const rules::ShardStep& step : steps) {
    if (step.kind == rules::ShardStep::Kind::run_spec) {
      if (session != nullptr) {
        // A copy of this spec may still run in the backend from an attempt that crashed
        // (a long ALTER): wait for it rather than run it beside it.
        Step ddl;
        ddl.target = group.target();
        ddl.sql = step.sql;
        if (auto err = co_await wait_in_flight(*session, ddl)) {
          co_return err;
        }
      }
      catalog_->clear();
      const auto started = std::chrono::steady_clock::now();
      std::string sql = step.sql;
      QueryResult r = co_await query_on(session, *meta_, std::move(sql));
      metrics().cutover_ddl_seconds.observe(std::chrono::steady_clock::now() - started);
      if (r.error) {
        error_code = r.error->code;
        sql_state = r.error->sql_state;
        co_return r.error->message;
      }
      log_info(conn, "online-ddl: shard merge ran on {} (version {}): {}",
               rules::quote_name(group.target()), step.version, step.sql);
      if (auto fp = co_await failpoint_at("shard-spec-ran")) {
        co_return fp;
      }
      continue;
    }
    const rules::ShardGroup previous = group;
    if (!group.apply(step)) {
      co_return "ghostgate: the shard group of " + rules::quote_name(group.target()) +
          " changed under this decision; resend the statement";
    }
    if (auto err = co_await write_group(group)) {
      group = previous;
      co_return "ghostgate: cannot persist the shard group of " +
          rules::quote_name(group.target()) + " in " + shard_groups_table() + ": " + *err;
    }
    remember_group(group);
    if (auto fp = co_await failpoint_at("shard-state-persisted")) {
      co_return fp;
    }
  }
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> OnlineDdlService::run_shard_cutover(ClientPort& session,
                                                                          const Step& step,
                                                                          std::uint16_t& error_code,
                                                                          std::string& sql_state) {
  const rules::ShardGroupConfig* config =
      shards_ ? rules::find_group(shards_->config, step.target) : nullptr;
  if (config == nullptr) {
    co_return "ghostgate: no shard group for " + rules::quote_name(step.target);  // unreachable
  }
  const rules::NormalizedSet set = rules::normalize_ddls(step.sqls, step.target);
  const auto deadline = std::chrono::steady_clock::now() + shard_wait_;
  bool waited = false;
  for (;;) {
    QualifiedName claim_name = target_claim(step.target);
    MetaStore::ClaimResult claim = co_await meta_->claim(std::move(claim_name), claim_timeout);
    if (!claim.claim) {
      co_return "ghostgate: cannot claim the shard group of " + rules::quote_name(step.target) +
          " in the backend: " + claim.error.value_or("unknown error") + "; retry the statement";
    }
    if (auto fp = co_await failpoint_at("shard-claimed")) {
      co_return fp;
    }
    std::optional<rules::ShardGroup> group;
    if (auto err = co_await read_group(*config, group)) {
      co_return "ghostgate: cannot read the shard group of " + rules::quote_name(step.target) +
          ": " + *err;
    }
    rules::TargetSchema target;
    if (auto err = co_await read_target(&session, step.target, target)) {
      co_return "ghostgate: " + *err;
    }
    const rules::ShardDecision d = group->decide(step.member, set, target);
    if (d.verdict == rules::ShardDecision::Verdict::conflict) {
      metrics().shard_cutovers_conflict.inc();
      log_warn(session.id(), "online-ddl: shard cut-over of {} onto {} refused: {}",
               dotted(step.member), rules::quote_name(step.target), d.message);
      co_return "ghostgate: " + d.message;
    }
    if (auto err = co_await run_shard_steps(&session, *group, d.steps, error_code, sql_state)) {
      metrics().shard_cutovers_error.inc();
      co_return err;
    }
    if (d.verdict == rules::ShardDecision::Verdict::ok) {
      metrics().shard_cutovers_ok.inc();
      log_info(session.id(),
               "online-ddl: shard cut-over of {} onto {}: version {} reached ({}){}{}",
               dotted(step.member), rules::quote_name(step.target), d.version, d.reason,
               d.waiting.empty() ? "" : "; still waiting: ", describe_waiting(d.waiting));
      co_return std::nullopt;
    }
    // wait (pessimistic): the arrival is persisted; let the others in and look again.
    if (!waited) {
      waited = true;
      metrics().shard_cutovers_wait.inc();
      log_info(session.id(), "online-ddl: shard cut-over of {} onto {} waits (up to {} ms): {}",
               dotted(step.member), rules::quote_name(step.target), shard_wait_.count(),
               describe_waiting(d.waiting));
    }
    claim = {};
    if (std::chrono::steady_clock::now() >= deadline) {
      log_warn(session.id(), "online-ddl: shard cut-over of {} onto {} timed out waiting: {}",
               dotted(step.member), rules::quote_name(step.target), d.message);
      co_return "ghostgate: " + d.message + " (waited " + std::to_string(shard_wait_.count()) +
          " ms, shard-wait-timeout; this shard's arrival is recorded: the change runs when the "
          "last member cuts over, or on POST /online-ddl/shard/" +
          dotted(step.target) + "/release; then resend this statement)";
    }
    const std::chrono::milliseconds pause(200);
    co_await sleep_for(pause);
  }
}

awaitable<OnlineDdlService::ActionResult> OnlineDdlService::shard_action(std::string method,
                                                                         std::string path,
                                                                         std::string body,
                                                                         std::string peer) {
  constexpr std::string_view prefix = "/online-ddl/shard/";
  constexpr std::string_view suffix = "/release";
  if (!path.ends_with(suffix) || path.size() <= prefix.size() + suffix.size()) {
    co_return ActionResult{404, "expected POST /online-ddl/shard/<schema>.<table>/release\n"};
  }
  if (method != "POST") {
    co_return ActionResult{405, "expected POST /online-ddl/shard/<schema>.<table>/release\n"};
  }
  const std::string name = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  std::string error;
  std::optional<QualifiedName> target = rules::parse_qualified_name(name, &error);
  const rules::ShardGroupConfig* config =
      target && shards_ && shards_->config.mode != rules::ShardMode::none
          ? rules::find_group(shards_->config, *target)
          : nullptr;
  if (config == nullptr) {
    co_return ActionResult{404, "no shard group for " + name + " (shard-groups, shard-mode)\n"};
  }
  std::size_t version = 0;
  try {
    const nlohmann::json j = nlohmann::json::parse(body);
    version = j.at("version").get<std::size_t>();
  } catch (const std::exception& e) {
    co_return ActionResult{400,
                           std::string("the body must be {\"version\": N}: ") + e.what() + "\n"};
  }
  QualifiedName claim_name = target_claim(*target);
  MetaStore::ClaimResult claim = co_await meta_->claim(std::move(claim_name), claim_timeout);
  if (!claim.claim) {
    co_return ActionResult{
        503, "cannot claim the shard group: " + claim.error.value_or("unknown error") + "\n"};
  }
  std::optional<rules::ShardGroup> group;
  if (auto err = co_await read_group(*config, group)) {
    co_return ActionResult{503, "cannot read the shard group: " + *err + "\n"};
  }
  const std::vector<rules::WaitingChange> waiting = group->waiting();
  if (std::none_of(waiting.begin(), waiting.end(),
                   [&](const rules::WaitingChange& w) { return w.version <= version; })) {
    co_return ActionResult{409, "nothing of " + rules::quote_name(*target) + " waits at version " +
                                    std::to_string(version) + "\n"};
  }
  rules::TargetSchema schema;
  if (auto err = co_await read_target(nullptr, *target, schema)) {
    co_return ActionResult{503, *err + "\n"};
  }
  const rules::ShardDecision d = group->release(version, schema);
  if (d.verdict == rules::ShardDecision::Verdict::conflict) {
    co_return ActionResult{409, d.message + "\n"};
  }
  std::uint16_t code = 0;
  std::string state;
  std::vector<std::string> ran;
  for (const rules::ShardStep& s : d.steps) {
    if (s.kind == rules::ShardStep::Kind::run_spec) {
      ran.push_back(s.sql);
    }
  }
  std::optional<std::string> err = co_await run_shard_steps(nullptr, *group, d.steps, code, state);
  const std::string done = err ? "failed: " + *err
                               : "released version " + std::to_string(version) + ", ran " +
                                     std::to_string(ran.size()) + " statement(s)";
  {
    std::lock_guard lock(mutex_);
    actions_.push_back(OperatorAction{std::chrono::system_clock::now(), peer, method + " " + path,
                                      rules::quote_name(*target), done, ran});
    while (actions_.size() > 50) {
      actions_.pop_front();
    }
  }
  log_warn(no_conn, "online-ddl operator action from {}: {} {}: {}", peer, method, path, done);
  if (err) {
    co_return ActionResult{503, done + "\n"};
  }
  co_return ActionResult{200, nlohmann::json{{"target", dotted(*target)},
                                             {"released", version},
                                             {"ran", ran},
                                             {"waiting", describe_waiting(d.waiting)}}
                                      .dump() +
                                  "\n"};
}

}  // namespace ghostgate::proxy
