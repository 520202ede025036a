#include "proxy/online_ddl/meta_store.h"

#include <nlohmann/json.hpp>

namespace ghostgate::proxy {

using nlohmann::json;

std::string hex_literal(std::string_view bytes) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out = "X'";
  out.reserve(bytes.size() * 2 + 3);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  out += '\'';
  return out;
}

std::string record_to_json(const StoredRecord& stored) {
  const rules::GhostRecord& r = stored.record;
  json j;
  j["schema"] = r.ghost.schema;
  j["table"] = r.real_hint;
  j["ddls"] = r.ddls;
  j["applied"] = r.applied;
  if (r.deferred_drop) {
    j["deferred_drop"] = {{"schema", r.deferred_drop->schema}, {"table", r.deferred_drop->table}};
    j["deferred_drop_sql"] = r.deferred_drop_sql;
  }
  if (stored.mark) {
    j["cutover_mark"] = {{"index", stored.mark->index}, {"before", stored.mark->before}};
  }
  return j.dump();
}

StoredRecord record_from_json(const std::string& ghost_schema, const std::string& ghost_table,
                              const std::string& text) {
  const json j = json::parse(text);
  StoredRecord stored;
  rules::GhostRecord& r = stored.record;
  r.ghost = {ghost_schema, ghost_table};
  r.real_hint = j.value("table", std::string());
  if (j.contains("ddls") && j["ddls"].is_array()) {
    r.ddls = j["ddls"].get<std::vector<std::string>>();
  }
  r.applied = j.value("applied", std::size_t{0});
  if (j.contains("deferred_drop")) {
    r.deferred_drop = rules::QualifiedName{j["deferred_drop"].value("schema", std::string()),
                                           j["deferred_drop"].value("table", std::string())};
    r.deferred_drop_sql = j.value("deferred_drop_sql", std::string());
  }
  if (j.contains("cutover_mark")) {
    stored.mark = CutoverMark{j["cutover_mark"].value("index", std::size_t{0}),
                              j["cutover_mark"].value("before", std::string())};
  }
  return stored;
}

MetaStore::MetaStore(asio::io_context& control, BackendConfig backend,
                     std::shared_ptr<asio::ssl::context> tls, std::string meta_schema,
                     std::string task_name, std::string instance_id)
    : control_(control),
      backend_(std::move(backend)),
      tls_(std::move(tls)),
      schema_(std::move(meta_schema)),
      table_(std::move(task_name) + "_onlineddl"),
      id_(std::move(instance_id)) {}

std::string MetaStore::table() const {
  return quote_identifier(schema_) + "." + quote_identifier(table_);
}

awaitable<QueryResult> MetaStore::run_on_control(std::string sql) {
  // One statement at a time on the one connection (coroutines interleave at co_await).
  asio::steady_timer wait(control_);
  while (busy_) {
    wait.expires_after(std::chrono::milliseconds(1));
    error_code ignored;
    co_await wait.async_wait(redirect(ignored));
  }
  busy_ = true;
  if (reconnect_) {
    conn_.reset();
    reconnect_ = false;
  }
  QueryResult result;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!conn_ || conn_->broken || !conn_->stream.is_open()) {
      conn_.reset();
      ConnectResult c = co_await connect_backend(backend_);
      if (!c.conn) {
        result.error = c.error;
        break;
      }
      if (auto err = co_await login_internal(*c.conn, backend_, tls_.get(), "")) {
        result.error = *err;
        break;
      }
      conn_ = std::move(c.conn);
    }
    result = co_await run_query(*conn_, sql, std::chrono::milliseconds(30000));
    if (!(result.error && result.error->io)) {
      break;  // done, or a server error that a reconnect would not fix
    }
    conn_.reset();  // the connection died (backend restart): one fresh try
  }
  busy_ = false;
  co_return result;
}

void MetaStore::set_backend(BackendConfig backend) {
  backend_ = std::move(backend);
  reconnect_ = true;
}

awaitable<QueryResult> MetaStore::run(std::string sql) {
  auto task = run_on_control(std::move(sql));
  QueryResult r = co_await asio::co_spawn(control_, std::move(task), use_awaitable);
  co_return r;
}

namespace {

std::optional<std::string> error_text(const QueryResult& r) {
  if (!r.error) {
    return std::nullopt;
  }
  return std::to_string(r.error->code) + ": " + r.error->message;
}

}  // namespace

awaitable<std::optional<std::string>> MetaStore::ensure_table() {
  // Statements are built into named locals: gcc 12 mishandles temporaries inside co_await.
  std::string create_db = "CREATE DATABASE IF NOT EXISTS " + quote_identifier(schema_);
  QueryResult r = co_await run(std::move(create_db));
  if (r.error) {
    co_return error_text(r);
  }
  std::string create_table = "CREATE TABLE IF NOT EXISTS " + table() +
                             " (id VARCHAR(32) NOT NULL, ghost_schema VARCHAR(128) NOT NULL, "
                             "ghost_table VARCHAR(128) NOT NULL, ddls TEXT, "
                             "update_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE "
                             "CURRENT_TIMESTAMP, UNIQUE KEY uk_id_schema_table (id, ghost_schema, "
                             "ghost_table))";
  r = co_await run(std::move(create_table));
  co_return error_text(r);
}

awaitable<std::optional<std::string>> MetaStore::load(std::vector<StoredRecord>& out) {
  std::string sql =
      "SELECT ghost_schema, ghost_table, ddls FROM " + table() + " WHERE id = " + hex_literal(id_);
  QueryResult r = co_await run(std::move(sql));
  if (r.error) {
    co_return error_text(r);
  }
  for (const auto& row : r.rows) {
    if (row.size() < 3 || !row[0] || !row[1]) {
      continue;
    }
    try {
      out.push_back(record_from_json(*row[0], *row[1], row[2].value_or("{}")));
    } catch (const std::exception& e) {
      co_return "meta row for " + *row[0] + "." + *row[1] + " is not valid JSON: " + e.what();
    }
  }
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> MetaStore::upsert(StoredRecord stored) {
  const rules::QualifiedName& g = stored.record.ghost;
  std::string sql = "INSERT INTO " + table() + " (id, ghost_schema, ghost_table, ddls) VALUES (" +
                    hex_literal(id_) + ", " + hex_literal(g.schema) + ", " + hex_literal(g.table) +
                    ", " + hex_literal(record_to_json(stored)) +
                    ") ON DUPLICATE KEY UPDATE ddls = VALUES(ddls)";
  QueryResult r = co_await run(std::move(sql));
  co_return error_text(r);
}

awaitable<std::optional<std::string>> MetaStore::remove(rules::QualifiedName ghost) {
  std::string sql = "DELETE FROM " + table() + " WHERE id = " + hex_literal(id_) +
                    " AND ghost_schema = " + hex_literal(ghost.schema) +
                    " AND ghost_table = " + hex_literal(ghost.table);
  QueryResult r = co_await run(std::move(sql));
  co_return error_text(r);
}

awaitable<std::optional<std::string>> MetaStore::other_ids(
    std::vector<std::pair<std::string, rules::QualifiedName>>& out) {
  std::string sql = "SELECT id, ghost_schema, ghost_table FROM " + table() + " WHERE id <> " +
                    hex_literal(id_) + " ORDER BY id, ghost_schema, ghost_table";
  QueryResult r = co_await run(std::move(sql));
  if (r.error) {
    co_return error_text(r);
  }
  for (const auto& row : r.rows) {
    if (row.size() >= 3 && row[0] && row[1] && row[2]) {
      out.emplace_back(*row[0], rules::QualifiedName{*row[1], *row[2]});
    }
  }
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> MetaStore::ping() {
  std::string sql = "SELECT 1";
  QueryResult r = co_await run(std::move(sql));
  co_return error_text(r);
}

}  // namespace ghostgate::proxy
