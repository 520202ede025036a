#pragma once
// The DM-compatible meta table `<meta-schema>.<name>_onlineddl` in the backend, reached over
// ghostgate's own connection (backend.user) on the control thread. Writes finish before the
// client that caused them gets its OK.

#include <memory>
#include <optional>
#include <string>
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
};

// The JSON kept in the `ddls` column: {"schema", "table", "ddls"} as DM writes it, plus
// ghostgate's extra fields.
std::string record_to_json(const StoredRecord& stored);
// Throws std::exception on bad JSON.
StoredRecord record_from_json(const std::string& ghost_schema, const std::string& ghost_table,
                              const std::string& json);

class MetaStore {
 public:
  MetaStore(asio::io_context& control, BackendConfig backend,
            std::shared_ptr<asio::ssl::context> tls, std::string meta_schema, std::string task_name,
            std::string instance_id);

  // Each runs on the control thread, one at a time; callable from any worker's coroutine.
  // An error is returned as text (nullopt = success).
  awaitable<std::optional<std::string>> ensure_table();
  awaitable<std::optional<std::string>> load(std::vector<StoredRecord>& out);
  awaitable<std::optional<std::string>> upsert(StoredRecord stored);
  awaitable<std::optional<std::string>> remove(rules::QualifiedName ghost);
  // Rows under ids this ghostgate does not load (another DM source, a DM task's source id not
  // configured): (id, ghost) pairs, for a warning at start-up.
  awaitable<std::optional<std::string>> other_ids(
      std::vector<std::pair<std::string, rules::QualifiedName>>& out);
  // Health check: a round trip on ghostgate's own connection.
  awaitable<std::optional<std::string>> ping();

  std::string table() const;  // `schema`.`name_onlineddl`

  // SIGHUP: new credentials (backend.user, password, password-file, connect-timeout) for the
  // next statement, on a new connection. Control thread only.
  void set_backend(BackendConfig backend);

 private:
  awaitable<QueryResult> run(std::string sql);
  awaitable<QueryResult> run_on_control(std::string sql);

  asio::io_context& control_;
  BackendConfig backend_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::string schema_;
  std::string table_;
  std::string id_;
  std::unique_ptr<BackendConnection> conn_;
  bool busy_ = false;
  bool reconnect_ = false;  // set_backend(): the open connection logged in with the old account
};

// X'...': a literal that means the same bytes whatever the sql_mode or character set.
std::string hex_literal(std::string_view bytes);

}  // namespace ghostgate::proxy
