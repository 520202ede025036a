#include "proxy/online_ddl/meta_store.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

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
  // A helper bound by evidence rather than by its name (rules/online_ddl.h, GhostRecord): without
  // these, a restart would judge it from its name again.
  if (r.kind != rules::TableKind::ghost) {
    j["kind"] = "trash";
  }
  if (r.real) {
    j["real"] = {{"schema", r.real->schema}, {"table", r.real->table}};
  }
  if (!r.bound_by.empty()) {
    j["bound_by"] = r.bound_by;
  }
  if (stored.mark) {
    j["cutover_mark"] = {{"index", stored.mark->index}, {"before", stored.mark->before}};
  }
  if (!stored.definition.empty()) {
    j["pre_definition"] = stored.definition;
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
  // Rows written before these fields existed load with the defaults (a ghost, no binding).
  const std::string kind = j.value("kind", std::string("ghost"));
  if (kind == "trash") {
    r.kind = rules::TableKind::trash;
  } else if (kind != "ghost") {
    throw std::runtime_error("unknown record kind \"" + kind + "\"");
  }
  if (j.contains("real") && j["real"].is_object()) {
    r.real = rules::QualifiedName{j["real"].value("schema", std::string()),
                                  j["real"].value("table", std::string())};
    if (r.real->schema.empty() || r.real->table.empty()) {
      throw std::runtime_error("\"real\" needs a schema and a table");
    }
  }
  r.bound_by = j.value("bound_by", std::string());
  if (j.contains("cutover_mark")) {
    stored.mark = CutoverMark{j["cutover_mark"].value("index", std::size_t{0}),
                              j["cutover_mark"].value("before", std::string())};
  }
  stored.definition = j.value("pre_definition", std::string());
  return stored;
}

MetaStore::MetaStore(asio::io_context& control, BackendConfig backend,
                     std::shared_ptr<asio::ssl::context> tls, std::string meta_schema,
                     std::string task_name, std::vector<std::string> ids,
                     std::chrono::seconds tombstone_ttl)
    : control_(control),
      backend_(std::move(backend)),
      tls_(std::move(tls)),
      schema_(std::move(meta_schema)),
      table_(std::move(task_name) + "_onlineddl"),
      ids_(std::move(ids)),
      tombstone_ttl_(tombstone_ttl) {
  if (ids_.empty()) {
    ids_.emplace_back();
  }
}

std::string MetaStore::table() const {
  return quote_identifier(schema_) + "." + quote_identifier(table_);
}

std::string MetaStore::done_table() const {
  return quote_identifier(schema_) + "." + quote_identifier(table_ + "_done");
}

std::string MetaStore::sibling_table(std::string_view suffix) const {
  return quote_identifier(schema_) + "." + quote_identifier(table_ + std::string(suffix));
}

std::string MetaStore::owned_ids_sql() const {
  std::string out = "(";
  for (std::size_t i = 0; i < ids_.size(); ++i) {
    out += i ? ", " : "";
    out += hex_literal(ids_[i]);
  }
  return out + ")";
}

std::string MetaStore::definitions_warning() const {
  std::lock_guard lock(version_mutex_);
  return upgrade_error_;
}

std::string MetaStore::server_version() const {
  std::lock_guard lock(version_mutex_);
  return server_version_;
}

namespace {

std::string fnv(std::string_view text, std::uint64_t h) {
  for (unsigned char c : text) {
    h = (h ^ c) * 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

std::string MetaStore::claim_key(const rules::QualifiedName& ghost) const {
  // Two 64-bit hashes over unambiguous input (lengths first): 45 characters. A collision only
  // makes two ghosts wait for each other.
  std::string in = std::to_string(schema_.size()) + ":" + schema_ + std::to_string(table_.size()) +
                   ":" + table_ + std::to_string(ids_[0].size()) + ":" + ids_[0] +
                   std::to_string(ghost.schema.size()) + ":" + ghost.schema + ghost.table;
  return "ghostgate:" + fnv(in, 1469598103934665603ull) + fnv(in, 0x9e3779b97f4a7c15ull);
}

MetaStore::Claim& MetaStore::Claim::operator=(Claim&& other) noexcept {
  if (this != &other) {
    Claim gone(std::move(*this));
    store_ = std::move(other.store_);
    conn_ = std::move(other.conn_);
    key_ = std::move(other.key_);
  }
  return *this;
}

MetaStore::Claim::~Claim() {
  if (store_ && conn_) {
    std::shared_ptr<MetaStore> store = store_;
    asio::co_spawn(store->control_, store->release_on_control(std::move(conn_), std::move(key_)),
                   asio::detached);
  }
}

awaitable<MetaStore::ClaimResult> MetaStore::claim(rules::QualifiedName ghost,
                                                   std::chrono::seconds timeout) {
  auto task = claim_on_control(claim_key(ghost), timeout);
  ClaimResult r = co_await asio::co_spawn(control_, std::move(task), use_awaitable);
  if (r.claim.conn_) {
    r.claim.store_ = shared_from_this();
  }
  co_return r;
}

awaitable<MetaStore::ClaimResult> MetaStore::claim_on_control(std::string key,
                                                              std::chrono::seconds timeout) {
  ClaimResult result;
  const long long secs = std::clamp<long long>(timeout.count(), 1, 3600);
  std::string sql = "SELECT GET_LOCK(" + hex_literal(key) + ", " + std::to_string(secs) + ")";
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<BackendConnection> conn;
    if (!idle_claims_.empty()) {
      conn = std::move(idle_claims_.back());
      idle_claims_.pop_back();
    } else {
      ConnectResult c = co_await connect_backend(backend_);
      if (!c.conn) {
        result.error = c.error.message;
        co_return result;
      }
      if (auto err = co_await login_internal(*c.conn, backend_, tls_.get(), "")) {
        result.error = err->message;
        co_return result;
      }
      conn = std::move(c.conn);
      std::lock_guard lock(version_mutex_);
      server_version_ = conn->greeting.server_version;
    }
    QueryResult r = co_await run_query(*conn, sql, std::chrono::seconds(secs + 30));
    if (r.error && r.error->io && attempt == 0) {
      continue;  // a pooled claim connection died meanwhile: one fresh try
    }
    if (r.error) {
      result.error = std::to_string(r.error->code) + ": " + r.error->message;
      co_return result;
    }
    if (r.rows.empty() || r.rows[0].empty() || r.rows[0][0].value_or("") != "1") {
      result.error =
          "another statement (on this or another ghostgate instance) held the claim "
          "for " +
          std::to_string(secs) + " s";
      idle_claims_.push_back(std::move(conn));
      co_return result;
    }
    result.claim.conn_ = std::move(conn);
    result.claim.key_ = std::move(key);
    co_return result;
  }
  co_return result;
}

awaitable<void> MetaStore::release_on_control(std::unique_ptr<BackendConnection> conn,
                                              std::string key) {
  std::string sql = "SELECT RELEASE_LOCK(" + hex_literal(key) + ")";
  QueryResult r = co_await run_query(*conn, sql, std::chrono::seconds(10));
  if (!r.error && idle_claims_.size() < 4) {
    idle_claims_.push_back(std::move(conn));
  }
  // Otherwise dropped: closing the connection releases the lock.
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
      std::lock_guard lock(version_mutex_);
      server_version_ = conn_->greeting.server_version;
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

namespace {

// The tombstone columns that keep a cut-over's pre-migration definition (a revert restores it).
struct KeptColumn {
  std::string_view name;
  std::string_view definition;
};
constexpr KeptColumn kept_columns[] = {
    {"pre_definition", "pre_definition LONGTEXT NULL"},
    {"revert_digest", "revert_digest VARCHAR(32) NOT NULL DEFAULT ''"},
};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
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
  if (r.error) {
    co_return error_text(r);
  }
  std::string create_done = "CREATE TABLE IF NOT EXISTS " + done_table() +
                            " (id VARCHAR(32) NOT NULL, ghost_schema VARCHAR(128) NOT NULL, "
                            "ghost_table VARCHAR(128) NOT NULL, target_schema VARCHAR(128) NOT "
                            "NULL, target_table VARCHAR(128) NOT NULL, ddls TEXT, done_time "
                            "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, " +
                            std::string(kept_columns[0].definition) + ", " +
                            std::string(kept_columns[1].definition) +
                            ", PRIMARY KEY (id, ghost_schema, ghost_table, target_schema, "
                            "target_table))";
  r = co_await run(std::move(create_done));
  if (r.error) {
    co_return error_text(r);
  }
  // A tombstone table made by an older ghostgate gains the columns that keep definitions.
  std::string columns_sql =
      "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE "
      "TABLE_SCHEMA = " +
      hex_literal(schema_) + " AND TABLE_NAME = " + hex_literal(table_ + "_done");
  r = co_await run(std::move(columns_sql));
  if (r.error) {
    co_return error_text(r);
  }
  bool keeps = true;
  for (const KeptColumn& column : kept_columns) {
    const bool present = std::any_of(r.rows.begin(), r.rows.end(), [&](const auto& row) {
      return !row.empty() && row[0] && equals_ignoring_case(*row[0], column.name);
    });
    if (present) {
      continue;
    }
    std::string alter =
        "ALTER TABLE " + done_table() + " ADD COLUMN " + std::string(column.definition);
    QueryResult added = co_await run(std::move(alter));
    // 1060: another instance added it meanwhile.
    if (added.error && added.error->code != 1060) {
      std::lock_guard lock(version_mutex_);
      upgrade_error_ = "cannot add column " + std::string(column.name) + " to " + done_table() +
                       " (" + *error_text(added) +
                       "): completed cut-overs keep no definition and reverts are refused; "
                       "GRANT ALTER on the meta schema, or add it by hand: ALTER TABLE " +
                       done_table() + " ADD COLUMN " + std::string(column.definition);
      keeps = false;
    }
  }
  keeps_definitions_.store(keeps);
  if (keeps) {
    std::lock_guard lock(version_mutex_);
    upgrade_error_.clear();
  }
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> MetaStore::load(std::vector<StoredRecord>& out,
                                                      std::vector<ForeignRow>* foreign) {
  std::string sql = "SELECT id, ghost_schema, ghost_table, ddls FROM " + table();
  QueryResult r = co_await run(std::move(sql));
  if (r.error) {
    co_return error_text(r);
  }
  for (const auto& row : r.rows) {
    if (row.size() < 4 || !row[0] || !row[1] || !row[2]) {
      continue;
    }
    if (std::find(ids_.begin(), ids_.end(), *row[0]) == ids_.end()) {
      if (foreign) {
        foreign->push_back({*row[0], {*row[1], *row[2]}});
      }
      continue;
    }
    try {
      out.push_back(record_from_json(*row[1], *row[2], row[3].value_or("{}")));
    } catch (const std::exception& e) {
      co_return "meta row for " + *row[1] + "." + *row[2] + " is not valid JSON: " + e.what();
    }
  }
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> MetaStore::load_one(rules::QualifiedName ghost,
                                                          std::optional<StoredRecord>& out) {
  out.reset();
  // The first id's row wins over another owned id's.
  std::string sql = "SELECT ddls FROM " + table() + " WHERE id IN " + owned_ids_sql() +
                    " AND ghost_schema = " + hex_literal(ghost.schema) +
                    " AND ghost_table = " + hex_literal(ghost.table) +
                    " ORDER BY id = " + hex_literal(ids_[0]) + " DESC LIMIT 1";
  QueryResult r = co_await run(std::move(sql));
  if (r.error) {
    co_return error_text(r);
  }
  if (!r.rows.empty() && !r.rows[0].empty()) {
    try {
      out = record_from_json(ghost.schema, ghost.table, r.rows[0][0].value_or("{}"));
    } catch (const std::exception& e) {
      co_return "meta row for " + ghost.schema + "." + ghost.table +
          " is not valid JSON: " + e.what();
    }
  }
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> MetaStore::upsert(StoredRecord stored) {
  const rules::QualifiedName& g = stored.record.ghost;
  std::string sql = "INSERT INTO " + table() + " (id, ghost_schema, ghost_table, ddls) VALUES (" +
                    hex_literal(ids_[0]) + ", " + hex_literal(g.schema) + ", " +
                    hex_literal(g.table) + ", " + hex_literal(record_to_json(stored)) +
                    ") ON DUPLICATE KEY UPDATE ddls = VALUES(ddls)";
  QueryResult r = co_await run(std::move(sql));
  co_return error_text(r);
}

awaitable<std::optional<std::string>> MetaStore::remove(rules::QualifiedName ghost) {
  std::string sql = "DELETE FROM " + table() + " WHERE id IN " + owned_ids_sql() +
                    " AND ghost_schema = " + hex_literal(ghost.schema) +
                    " AND ghost_table = " + hex_literal(ghost.table);
  QueryResult r = co_await run(std::move(sql));
  co_return error_text(r);
}

awaitable<std::optional<std::string>> MetaStore::write_tombstone(Tombstone done) {
  std::string expire = "DELETE FROM " + done_table() + " WHERE done_time < NOW() - INTERVAL " +
                       std::to_string(tombstone_ttl_.count()) + " SECOND";
  QueryResult r = co_await run(std::move(expire));
  if (r.error) {
    co_return error_text(r);
  }
  if (!keeps_definitions_.load()) {
    std::string sql = "INSERT INTO " + done_table() +
                      " (id, ghost_schema, ghost_table, target_schema, target_table, ddls) "
                      "VALUES (" +
                      hex_literal(ids_[0]) + ", " + hex_literal(done.ghost.schema) + ", " +
                      hex_literal(done.ghost.table) + ", " + hex_literal(done.target.schema) +
                      ", " + hex_literal(done.target.table) + ", " +
                      hex_literal(json(done.ddls).dump()) +
                      ") ON DUPLICATE KEY UPDATE ddls = VALUES(ddls), done_time = NOW()";
    r = co_await run(std::move(sql));
    co_return error_text(r);
  }
  // Only the newest cut-over onto a target keeps a definition: a revert undoes that one. A crash
  // between the two statements loses the older definition only, which this one replaces.
  std::string supersede = "UPDATE " + done_table() + " SET pre_definition = NULL WHERE id IN " +
                          owned_ids_sql() +
                          " AND target_schema = " + hex_literal(done.target.schema) +
                          " AND target_table = " + hex_literal(done.target.table);
  r = co_await run(std::move(supersede));
  if (r.error) {
    co_return error_text(r);
  }
  const std::string definition =
      done.definition.empty() ? std::string("NULL") : hex_literal(done.definition);
  std::string sql = "INSERT INTO " + done_table() +
                    " (id, ghost_schema, ghost_table, target_schema, target_table, ddls, "
                    "pre_definition, revert_digest) VALUES (" +
                    hex_literal(ids_[0]) + ", " + hex_literal(done.ghost.schema) + ", " +
                    hex_literal(done.ghost.table) + ", " + hex_literal(done.target.schema) + ", " +
                    hex_literal(done.target.table) + ", " + hex_literal(json(done.ddls).dump()) +
                    ", " + definition + ", " + hex_literal(done.revert_digest) +
                    ") ON DUPLICATE KEY UPDATE ddls = VALUES(ddls), done_time = NOW(), "
                    "pre_definition = VALUES(pre_definition), revert_digest = "
                    "VALUES(revert_digest)";
  r = co_await run(std::move(sql));
  co_return error_text(r);
}

awaitable<std::optional<std::string>> MetaStore::find_kept_definition(
    rules::QualifiedName target, std::optional<Tombstone>& out) {
  out.reset();
  if (!keeps_definitions_.load()) {
    co_return std::nullopt;
  }
  std::string sql =
      "SELECT ghost_schema, ghost_table, ddls, CAST(done_time AS CHAR), "
      "pre_definition, revert_digest FROM " +
      done_table() + " WHERE id IN " + owned_ids_sql() +
      " AND target_schema = " + hex_literal(target.schema) +
      " AND target_table = " + hex_literal(target.table) +
      " AND pre_definition IS NOT NULL AND done_time >= NOW() - INTERVAL " +
      std::to_string(tombstone_ttl_.count()) + " SECOND ORDER BY done_time DESC LIMIT 1";
  QueryResult r = co_await run(std::move(sql));
  if (r.error) {
    co_return error_text(r);
  }
  if (!r.rows.empty() && r.rows[0].size() >= 6) {
    const auto& row = r.rows[0];
    Tombstone t{{row[0].value_or(""), row[1].value_or("")},
                std::move(target),
                {},
                row[3].value_or(""),
                row[4].value_or(""),
                row[5].value_or("")};
    try {
      const json j = json::parse(row[2].value_or("[]"));
      if (j.is_array()) {
        t.ddls = j.get<std::vector<std::string>>();
      }
    } catch (const std::exception&) {
      // For people only, as in find_tombstone.
    }
    out = std::move(t);
  }
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> MetaStore::find_tombstone(rules::QualifiedName ghost,
                                                                rules::QualifiedName target,
                                                                std::optional<Tombstone>& out) {
  out.reset();
  std::string sql = "SELECT ddls, CAST(done_time AS CHAR) FROM " + done_table() + " WHERE id IN " +
                    owned_ids_sql() + " AND ghost_schema = " + hex_literal(ghost.schema) +
                    " AND ghost_table = " + hex_literal(ghost.table) +
                    " AND target_schema = " + hex_literal(target.schema) +
                    " AND target_table = " + hex_literal(target.table) +
                    " AND done_time >= NOW() - INTERVAL " + std::to_string(tombstone_ttl_.count()) +
                    " SECOND LIMIT 1";
  QueryResult r = co_await run(std::move(sql));
  if (r.error) {
    co_return error_text(r);
  }
  if (!r.rows.empty() && r.rows[0].size() >= 2) {
    Tombstone t{std::move(ghost), std::move(target), {}, r.rows[0][1].value_or(""), {}, {}};
    try {
      const json j = json::parse(r.rows[0][0].value_or("[]"));
      if (j.is_array()) {
        t.ddls = j.get<std::vector<std::string>>();
      }
    } catch (const std::exception&) {
      // The DDL list is for people; the row's existence is what counts.
    }
    out = std::move(t);
  }
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> MetaStore::clear_tombstones(rules::QualifiedName ghost) {
  std::string sql = "DELETE FROM " + done_table() + " WHERE id IN " + owned_ids_sql() +
                    " AND ghost_schema = " + hex_literal(ghost.schema) +
                    " AND ghost_table = " + hex_literal(ghost.table);
  QueryResult r = co_await run(std::move(sql));
  co_return error_text(r);
}

awaitable<std::optional<std::string>> MetaStore::ping() {
  std::string sql = "SELECT 1";
  QueryResult r = co_await run(std::move(sql));
  co_return error_text(r);
}

}  // namespace ghostgate::proxy
