#pragma once
// The DM-compatible meta table `<meta-schema>.<name>_onlineddl` in the backend, reached over
// ghostgate's own connection (backend.user) on the control thread. Writes finish before the
// client that caused them gets its OK.
//
// The backend is the truth shared by every instance with the same name and id (design.md,
// "Several instances"): besides the meta table it holds
//   - tombstones, `<meta-schema>.<name>_onlineddl_done`: one row per completed cut-over (ghost,
//     target, the DDLs that ran, when), kept `tombstone-ttl` and deleted lazily after; a resent
//     RENAME of a completed cut-over is answered from it;
//   - claims: a named user lock (GET_LOCK) per ghost, held on a connection of its own while a
//     statement changes that ghost's state. It dies with its connection, so a crashed instance
//     never leaves one held. TiDB has GET_LOCK since v6.1 (earlier versions accept it as a
//     no-op only with tidb_enable_noop_functions: claims then serialize within one instance).

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/backend/backend.h"
#include "proxy/config/config.h"
#include "proxy/net/asio.h"
#include "rules/online_ddl.h"

namespace ghostgate::proxy {

// Where an interrupted cut-over stood: DDL `index` was about to run while the target table's
// definition hashed to `before`. On replay a different hash means that DDL had already run.
struct CutoverMark {
  std::size_t index = 0;
  std::string before;
  friend bool operator==(const CutoverMark&, const CutoverMark&) = default;
};

struct StoredRecord {
  rules::GhostRecord record;
  std::optional<CutoverMark> mark;
  // The cut-over target's SHOW CREATE TABLE before the cut-over's first DDL ran ("" until then):
  // persisted with that DDL's mark, kept in the completed cut-over's tombstone for a revert.
  std::string definition;
};

// The JSON kept in the `ddls` column: {"schema", "table", "ddls"} as DM writes it, plus
// ghostgate's extra fields.
std::string record_to_json(const StoredRecord& stored);
// Throws std::exception on bad JSON.
StoredRecord record_from_json(const std::string& ghost_schema, const std::string& ghost_table,
                              const std::string& json);

// A row of the meta table under an id this instance does not own: shown, never acted on.
struct ForeignRow {
  std::string id;
  rules::QualifiedName ghost;
};

// A completed cut-over.
struct Tombstone {
  rules::QualifiedName ghost;
  rules::QualifiedName target;
  std::vector<std::string> ddls;
  std::string done_time;  // as the backend reports it
  // The target's SHOW CREATE TABLE before this cut-over ("" when not kept): what a revert brings
  // it back to. Only the newest cut-over onto a target keeps one.
  std::string definition;
  // A revert's own tombstone: the digest of the revert statement (a resend has the same).
  std::string revert_digest;
};

class MetaStore : public std::enable_shared_from_this<MetaStore> {
 public:
  // `ids`: DM source ids; new rows are written under the first, rows of all are loaded and
  // owned. Never empty.
  MetaStore(asio::io_context& control, BackendConfig backend,
            std::shared_ptr<asio::ssl::context> tls, std::string meta_schema, std::string task_name,
            std::vector<std::string> ids,
            std::chrono::seconds tombstone_ttl = std::chrono::hours(24));

  // A ghost claimed across instances until destroyed (the lock is released on the control
  // thread; a connection that fails meanwhile releases it too).
  class Claim {
   public:
    Claim() = default;
    Claim(Claim&&) noexcept = default;
    Claim& operator=(Claim&&) noexcept;
    ~Claim();
    explicit operator bool() const { return conn_ != nullptr; }

   private:
    friend class MetaStore;
    std::shared_ptr<MetaStore> store_;
    std::unique_ptr<BackendConnection> conn_;
    std::string key_;
  };
  struct ClaimResult {
    Claim claim;
    std::optional<std::string> error;  // with no claim: why (timeout, backend down)
  };
  // Waits up to `timeout` (1 s .. 3600 s, TiDB's range) for the ghost's claim.
  awaitable<ClaimResult> claim(rules::QualifiedName ghost, std::chrono::seconds timeout);
  // The claim's lock name: under 64 characters whatever the names.
  std::string claim_key(const rules::QualifiedName& ghost) const;

  // Each runs on the control thread, one at a time; callable from any worker's coroutine.
  // An error is returned as text (nullopt = success).
  awaitable<std::optional<std::string>> ensure_table();
  // Rows of the owned ids into `out`; rows of other ids into `foreign` when given.
  awaitable<std::optional<std::string>> load(std::vector<StoredRecord>& out,
                                             std::vector<ForeignRow>* foreign = nullptr);
  // One ghost's row (nullopt in `out`: none).
  awaitable<std::optional<std::string>> load_one(rules::QualifiedName ghost,
                                                 std::optional<StoredRecord>& out);
  awaitable<std::optional<std::string>> upsert(StoredRecord stored);
  awaitable<std::optional<std::string>> remove(rules::QualifiedName ghost);
  // Tombstones. write_tombstone also deletes expired ones; find_tombstone sees unexpired only;
  // clear_tombstones forgets the ghost's (a new migration with the same ghost name began).
  awaitable<std::optional<std::string>> write_tombstone(Tombstone done);
  awaitable<std::optional<std::string>> find_tombstone(rules::QualifiedName ghost,
                                                       rules::QualifiedName target,
                                                       std::optional<Tombstone>& out);
  awaitable<std::optional<std::string>> clear_tombstones(rules::QualifiedName ghost);
  // The newest unexpired tombstone of a cut-over onto `target` that kept its definition (nullopt
  // in `out`: none).
  awaitable<std::optional<std::string>> find_kept_definition(rules::QualifiedName target,
                                                             std::optional<Tombstone>& out);
  // False when the tombstone table of an older ghostgate could not gain the columns that keep
  // definitions (ensure_table; no ALTER privilege): tombstones are written without them and
  // reverts are refused.
  bool keeps_definitions() const { return keeps_definitions_.load(); }
  // Why not, for the log ("" when they are kept).
  std::string definitions_warning() const;
  // Health check: a round trip on ghostgate's own connection.
  awaitable<std::optional<std::string>> ping();

  std::string table() const;       // `schema`.`name_onlineddl`
  std::string done_table() const;  // `schema`.`name_onlineddl_done`
  // `schema`.`name_onlineddl<suffix>`: the other tables kept beside the meta table (the shard
  // groups, shard_store.h).
  std::string sibling_table(std::string_view suffix) const;
  // One statement on ghostgate's own connection (control thread), for those other stores.
  awaitable<QueryResult> query(std::string sql) { return run(std::move(sql)); }
  const std::vector<std::string>& ids() const { return ids_; }
  // The backend's version string as its greeting said (empty before the first connection).
  std::string server_version() const;

  // SIGHUP: new credentials (backend.user, password, password-file, connect-timeout) for the
  // next statement, on a new connection. Control thread only.
  void set_backend(BackendConfig backend);

 private:
  awaitable<QueryResult> run(std::string sql);
  awaitable<QueryResult> run_on_control(std::string sql);
  awaitable<ClaimResult> claim_on_control(std::string key, std::chrono::seconds timeout);
  awaitable<void> release_on_control(std::unique_ptr<BackendConnection> conn, std::string key);
  std::string owned_ids_sql() const;  // (X'..', X'..')

  asio::io_context& control_;
  BackendConfig backend_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::string schema_;
  std::string table_;
  std::vector<std::string> ids_;
  std::chrono::seconds tombstone_ttl_;
  std::unique_ptr<BackendConnection> conn_;
  bool busy_ = false;
  bool reconnect_ = false;  // set_backend(): the open connection logged in with the old account
  std::vector<std::unique_ptr<BackendConnection>> idle_claims_;  // control thread only
  std::atomic<bool> keeps_definitions_{true};
  std::string upgrade_error_;  // guarded by version_mutex_
  mutable std::mutex version_mutex_;
  std::string server_version_;
};

// X'...': a literal that means the same bytes whatever the sql_mode or character set.
std::string hex_literal(std::string_view bytes);

}  // namespace ghostgate::proxy
