#pragma once
// Room proxy/online_ddl/: online DDL in the proxy — the service (this file; decide.cc,
// run_statement.cc, dry_run.cc), the meta store (meta_store.h), and ClientPort
// (client_port.h), all it knows of the session whose statement it decides. May use
// proxy/backend/, proxy/net/, proxy/observe/, proxy/config/, rules/ and protocol/; never
// proxy/session/, which implements ClientPort. (Arrows: tests/layering/layers.txt.)
//
// The online-DDL engine (rules/online_ddl.h) wired to the proxy: classifies each statement,
// answers suppressed ones locally, runs cut-overs on the replicator's own backend connection
// (its sql_mode and character set), and persists recorded DDLs in the DM-compatible meta table
// before any OK. One per process, shared by every worker. In dry-run it forwards every
// statement and keeps the same state in memory only (dry_run_statement).
//
// Failpoints (proxy/observe/failpoint.h; tests/integration/test_crash.py arms each one):
//   revert-ran               a revert's ALTERs ran, its tombstone not yet written
//   meta-load                start-up, before the meta table is read
//   before-record-persist    a ghost DDL recorded in memory, not yet persisted
//   after-record-persisted   ... persisted, the client's OK not yet sent
//   after-cutover-ddl        a cut-over DDL ran, its progress not yet persisted
//   before-progress-persist  the same moment, on the persisting side
//   between-cutover-ddls     a cut-over DDL ran and its progress is persisted, more follow
//   before-meta-clear        every cut-over DDL ran, the meta row not yet deleted
//   after-meta-clear         the meta row deleted, the client's OK not yet sent
//   claim-taken              a statement holds its ghosts' claims, their state not yet re-read
//   tombstone-written        a cut-over's tombstone written, its meta row not yet deleted
//
// One truth in the backend (design.md, "Several instances"): a statement whose plan changes a
// ghost's state (record, forget, defer_drop, cut-over) first takes the ghost in this process
// (busy_ghosts_), then its claim in the backend (MetaStore::claim), re-reads the ghost's row
// there into the engine (memory is a cache), plans again and only then acts. A completed cut-over
// leaves a tombstone; a cut-over with neither a record nor a tombstone is refused (no silent
// cut-over). Forwarded statements never get here: no claim, no meta query on the hot path.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/net/asio.h"
#include "proxy/online_ddl/client_port.h"
#include "proxy/online_ddl/meta_store.h"
#include "rules/online_ddl.h"
#include "rules/shard_group.h"

namespace ghostgate::proxy {

class MetaStore;

class OnlineDdlService {
 public:
  struct Decision {
    bool forward = true;                // send the original packet and relay the response
    std::optional<std::string> use_db;  // the session's database after a successful forward
    std::vector<std::uint8_t> packets;  // !forward: the whole response, sequence ids from 1
    bool close = false;                 // !forward: close the client after sending
  };

  // `shards`: routes and shard groups (shard merge; nullptr = none); `shard_wait`: how long a
  // pessimistic shard cut-over waits for the other members (shard-wait-timeout).
  OnlineDdlService(rules::TableRules rules, std::shared_ptr<MetaStore> meta, bool dry_run,
                   std::shared_ptr<const rules::ShardRouting> shards = nullptr,
                   std::chrono::milliseconds shard_wait = std::chrono::seconds(60));
  ~OnlineDdlService();

  // Loads the recorded state from the meta table (creating it if missing). Until this has
  // succeeded the service is not ready (readyz) and statements that need state are refused.
  awaitable<bool> load();
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  // Why the last load() failed ("" after a success or before the first try), for /readyz.
  std::string load_error() const;

  // Hot path, synchronous, allocation-free: true when the text certainly needs nothing from
  // this service (every statement forwards, no USE to track).
  bool quick_forward(std::string_view sql, std::string_view current_db, bool multi) const;

  // The decision for a COM_QUERY text (or a locally prepared statement's execution).
  awaitable<Decision> on_query(ClientPort& session, std::string sql);
  // A COM_STMT_PREPARE: the parameter count when ghostgate answers it itself, else nullopt.
  awaitable<std::optional<std::uint16_t>> on_prepare(ClientPort& session, std::string sql);

  // An operator's action from the admin endpoint (token already checked), README "Online DDL
  // operations":  POST /online-ddl/ghost/<schema>.<table>/ddls  (body: JSON list of DDLs on the
  // ghost, run at the next cut-over), POST .../applied (the next cut-over runs none), DELETE
  // /online-ddl/ghost/<schema>.<table> (forget); README "Shard merge": POST
  // /online-ddl/shard/<schema>.<table>/release (body {"version": N}: run the change of version
  // N of that merge target now, without waiting for the members still missing). `peer` is who
  // asked, for the log and the list.
  struct ActionResult {
    int status = 200;
    std::string body;
  };
  awaitable<ActionResult> operator_action(std::string method, std::string path, std::string body,
                                          std::string peer);

  // SIGHUP: new rules take effect on the next statement; the recorded state is kept.
  void replace_rules(rules::TableRules rules);
  // SIGHUP: dry-run on or off from the next statement decided (a multi-statement batch being
  // decided at that moment may see the switch between two of its statements). Turning it on
  // starts the dry-run view from the real state. Turning it off drops what dry-run recorded in
  // memory only: the service is not ready until load() has read the meta table again, and the
  // call returns true to say so.
  bool set_dry_run(bool on);
  bool dry_run() const { return dry_run_.load(std::memory_order_acquire); }

  // For the admin endpoint: the pending migrations as JSON (in dry-run: the in-memory state a
  // real run would have, see dry_run_statement).
  std::string state_json() const;

  struct Counters {
    std::atomic<std::uint64_t> suppressed{0}, recorded{0}, refused{0}, cutovers{0},
        cutover_failures{0}, forgotten{0}, claims{0}, tombstone_answers{0},
        refused_unseen_cutovers{0};
  };
  const Counters& counters() const { return counters_; }

  // With online DDL off: counts a text statement as forwarded, by its kind (the first statement
  // of a batch); for `USE db` as a single statement returns the database, else nullopt.
  static std::optional<std::string> forwarded_without_engine(std::string_view sql);
  // The database a `USE db` text switches to; nullopt for any other statement.
  static std::optional<std::string> use_target(std::string_view sql);

 private:
  class CachedCatalog;
  class DryRunCatalog;
  struct StatementResult;
  struct DryRunResult;

  // Coroutine parameters are values or references the caller keeps alive while awaiting.
  awaitable<StatementResult> run_statement(ClientPort& session, const rules::Statement& stmt,
                                           std::string_view db, bool more_follow, std::uint8_t& seq,
                                           std::vector<std::uint8_t>& out);
  awaitable<rules::Plan> plan_with_lookups(ClientPort& session, const rules::Statement& stmt,
                                           std::string_view db);
  awaitable<std::optional<std::string>> apply_state_step(const rules::Step& step);
  // The ERR text for a cut-over whose DDL was never seen (README, "Online DDL operations").
  std::string unseen_cutover_message(const rules::QualifiedName& ghost,
                                     const rules::QualifiedName& target) const;
  // Waits until no copy of a cut-over DDL runs in the backend (in_flight.h); error text after
  // in_flight_timeout.
  awaitable<std::optional<std::string>> wait_in_flight(ClientPort& session, const rules::Step& ddl);
  // Re-reads every owned row from the backend into the engine (ghosts a statement of this
  // process is changing right now excepted: they are re-read under their claim).
  awaitable<std::optional<std::string>> refresh_all();
  // Loads the state now (not on the start-up retry timer) and waits for it, up to load_wait.
  awaitable<bool> load_on_demand();
  // Re-reads one ghost's meta row from the backend into the engine (under its claim).
  awaitable<std::optional<std::string>> refresh(rules::QualifiedName ghost);
  // Carries out a plan whose ghosts this statement holds (run_statement took them).
  awaitable<StatementResult> run_claimed(ClientPort& session, const rules::Statement& stmt,
                                         std::string_view db, bool more_follow, std::uint8_t& seq,
                                         std::vector<std::uint8_t>& out, const rules::Plan& plan);
  // A refused revert (plan.revert, claimed like a cut-over): carried out when the definition its
  // table had before its last cut-over is kept and the ALTERs back are lossless (revert.cc).
  awaitable<StatementResult> run_revert(ClientPort& session, const rules::Statement& stmt,
                                        std::string_view db, bool more_follow, std::uint8_t& seq,
                                        std::vector<std::uint8_t>& out, const rules::Plan& plan);
  // dry-run: judges a statement that is forwarded anyway, from the state a real run would have
  // by now, applies the plan's state changes to the in-memory engine only (no meta table, no
  // backend SQL) and logs what a real run would do.
  awaitable<void> dry_run_statement(ClientPort& session, const rules::Statement& stmt,
                                    std::string_view db);
  // Plans `stmt` again and applies it, in one critical section; nullopt when the catalog lost
  // what the plan needs meanwhile (look it up again).
  std::optional<DryRunResult> dry_run_apply(const rules::Statement& stmt, std::string_view db);
  const rules::Catalog& planning_catalog() const;
  // A record step whose DDL the ghost's record already holds (a resend, see run_statement).
  bool already_recorded(const rules::Step& step) const;
  awaitable<bool> flush_pending(ClientPort& session, std::string& pending, bool more_follow,
                                std::uint8_t& seq, Decision& decision);
  awaitable<std::optional<std::string>> persist(const rules::QualifiedName& ghost,
                                                std::optional<rules::GhostRecord> record,
                                                std::optional<CutoverMark> mark);
  // Shard merge (shard_merge.cc). A shard's cut-over (Step::Kind::shard_cutover): under the
  // target's claim, its group (read from the backend) decides against the target's columns and
  // indexes, then its steps run and persist one by one; pessimistic: waits for the members.
  awaitable<std::optional<std::string>> run_shard_cutover(ClientPort& session,
                                                          const rules::Step& step,
                                                          std::uint16_t& error_code,
                                                          std::string& sql_state);
  awaitable<ActionResult> shard_action(std::string method, std::string path, std::string body,
                                       std::string peer);
  // Creates the shard-group table and reads every configured target's group (load()).
  awaitable<std::optional<std::string>> load_shard_groups();
  // The group of `config` as stored in the backend (a fresh one when it has no row).
  awaitable<std::optional<std::string>> read_group(const rules::ShardGroupConfig& config,
                                                   std::optional<rules::ShardGroup>& out);
  awaitable<std::optional<std::string>> write_group(const rules::ShardGroup& group);
  // The target's columns and indexes, over `session`'s connection (nullptr: ghostgate's own).
  awaitable<std::optional<std::string>> read_target(ClientPort* session,
                                                    const rules::QualifiedName& target,
                                                    rules::TargetSchema& out);
  // Runs a group decision's steps (run_spec on `session`, or ghostgate's own connection when
  // nullptr); `group` is updated and persisted step by step.
  awaitable<std::optional<std::string>> run_shard_steps(ClientPort* session,
                                                        rules::ShardGroup& group,
                                                        const std::vector<rules::ShardStep>& steps,
                                                        std::uint16_t& error_code,
                                                        std::string& sql_state);
  // The cached group for /online-ddl and the waiting gauge (after each persisted change).
  void remember_group(const rules::ShardGroup& group);
  std::string shard_groups_table() const;
  awaitable<std::optional<std::string>> run_cutover_sql(ClientPort& session, const rules::Step& ddl,
                                                        const rules::Step& progress,
                                                        std::uint16_t& error_code,
                                                        std::string& sql_state);

  mutable std::mutex mutex_;  // guards engine_ (plan/apply/restore/snapshot)
  std::unique_ptr<rules::Engine> engine_;
  std::shared_ptr<const rules::ShardRouting> shards_;  // immutable; nullptr: no shard merge
  std::chrono::milliseconds shard_wait_;
  std::map<rules::QualifiedName, rules::ShardGroup> groups_;  // display cache; guarded by mutex_
  std::atomic<const rules::Engine*> quick_engine_{nullptr};   // read without the mutex
  std::map<rules::QualifiedName, CutoverMark> marks_;
  // Per ghost: its cut-over target's definition before the cut-over's first DDL (StoredRecord::
  // definition), for the tombstone. Guarded by mutex_, loaded and dropped with the record.
  std::map<rules::QualifiedName, std::string> definitions_;
  std::shared_ptr<MetaStore> meta_;
  std::unique_ptr<CachedCatalog> catalog_;
  std::unique_ptr<DryRunCatalog> dry_catalog_;  // used in dry-run only; guarded by mutex_
  std::atomic<bool> dry_run_;
  std::atomic<bool> ready_{false};
  void set_load_error(std::string error);
  std::string load_error_;  // guarded by mutex_
  std::map<rules::QualifiedName, std::chrono::system_clock::time_point> since_;
  // Ghosts whose state a statement is changing right now (run_statement serializes per ghost).
  std::set<rules::QualifiedName> busy_ghosts_;
  Counters counters_;
  struct OperatorAction {
    std::chrono::system_clock::time_point when;
    std::string peer, request, ghost, result;
    std::vector<std::string> ddls;
  };
  std::deque<OperatorAction> actions_;  // the last 50; guarded by mutex_
  std::vector<ForeignRow> foreign_;     // meta rows of other ids (start-up); guarded by mutex_
  // How long a statement waits for another instance's claim on the same ghost (a cut-over DDL
  // may run that long there).
  static constexpr std::chrono::seconds claim_timeout{300};
  // How long a statement that needs the state waits for it to load.
  static constexpr std::chrono::seconds load_wait{10};
  std::atomic<bool> loading_{false};
  // How long a cut-over waits for an earlier attempt's DDL still running in the backend.
  static constexpr std::chrono::seconds in_flight_timeout{3600};
};

}  // namespace ghostgate::proxy
