#include "proxy/server.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

#include "protocol/packets.h"
#include "proxy/net/tls.h"
#include "proxy/observe/log.h"
#include "proxy/observe/metrics.h"
#include "proxy/session/session.h"
#include "rules/shard_routes.h"
#include "rules/table_rules.h"

namespace ghostgate::proxy {

namespace {

rules::TableRules make_rules(const OnlineDdlConfig& c) {
  std::string error;
  std::optional<rules::TableRules> r = rules::TableRules::create(rule_config(c), &error);
  if (!r) {
    throw ConfigError(error);
  }
  return std::move(*r);
}

// The routes and shard groups for the online-DDL engine; nullptr when no route is configured.
std::shared_ptr<const rules::ShardRouting> make_shards(const ShardMergeConfig& c) {
  if (c.routes.empty()) {
    return nullptr;
  }
  std::string error;
  std::optional<rules::Router> router = rules::Router::create(c.routes, &error, c.case_sensitive);
  if (!router) {
    throw ConfigError(error);  // validated at load: unreachable
  }
  return std::make_shared<const rules::ShardRouting>(
      rules::ShardRouting{std::move(*router), c.shard});
}

}  // namespace

Server::Server(Config config)
    : stop_signals_(control_, SIGTERM, SIGINT), reload_signals_(control_, SIGHUP) {
  auto cfg = std::make_shared<const Config>(std::move(config));
  runtime_.config.store(cfg);
  runtime_.client_tls = make_client_tls_context(cfg->client_tls);
  runtime_.backend_tls = make_backend_tls_context(cfg->backend);
  runtime_.pool_shared->apply(cfg->pool);
  if (cfg->online_ddl.enabled) {
    meta_ = std::make_shared<MetaStore>(control_, cfg->backend, runtime_.backend_tls,
                                        cfg->online_ddl.meta_schema, cfg->online_ddl.name,
                                        cfg->online_ddl.ids, cfg->online_ddl.tombstone_ttl);
    online_ddl_ = std::make_unique<OnlineDdlService>(
        make_rules(cfg->online_ddl), meta_, cfg->online_ddl.dry_run, make_shards(cfg->shard),
        cfg->shard.wait_timeout);
    runtime_.online_ddl = online_ddl_.get();
    runtime_.online_ddl_on.store(true);
  } else {
    meta_ = std::make_shared<MetaStore>(control_, cfg->backend, runtime_.backend_tls,
                                        cfg->online_ddl.meta_schema, cfg->online_ddl.name,
                                        std::vector<std::string>{""});
  }
  unsigned n = cfg->workers != 0 ? cfg->workers : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, runtime_.pool_shared));
  }
  for (auto& w : workers_) {
    std::vector<Pool*> peers;
    for (auto& other : workers_) {
      if (other != w) {
        peers.push_back(&other->pool);
      }
    }
    w->pool.set_peers(std::move(peers));
  }
  acceptors_.reserve(workers_.size());
  for (auto& w : workers_) {
    acceptors_.emplace_back(w->ctx);
  }
}

Server::~Server() = default;

namespace {

// ghostgate's own account needs these on the meta schema (README, "First run", step 3).
constexpr std::string_view meta_grant = "SELECT, INSERT, UPDATE, DELETE, CREATE";

// "1045: Access denied ..." and friends, said in the operator's terms.
std::string explain_backend_error(const std::string& err, const Config& c) {
  auto code_is = [&](std::string_view code) { return err.rfind(std::string(code) + ":", 0) == 0; };
  if (code_is("1045")) {
    return fmt::format(
        "backend refused ghostgate's own login as {:?} (backend.user and backend.password or "
        "password-file; fix it and send SIGHUP): {}",
        c.backend.user, err);
  }
  if (code_is("1044") || code_is("1142") || code_is("1227")) {
    return fmt::format("ghostgate's account {:?} lacks a privilege: GRANT {} ON {}.* TO it: {}",
                       c.backend.user, meta_grant, c.online_ddl.meta_schema, err);
  }
  if (code_is("2003") || code_is("2013") || code_is("2006") || code_is("1043")) {
    return fmt::format("backend {} unreachable: {}", c.backend.address.str(), err);
  }
  return fmt::format("backend {} answered an error: {}", c.backend.address.str(), err);
}

// Takes a client's place unless `max` are taken. Several workers accept at once: a load and a
// separate add could let two of them take the last place.
bool take_client_place(std::atomic<std::uint32_t>& clients, std::uint32_t max) {
  std::uint32_t n = clients.load(std::memory_order_relaxed);
  do {
    if (n >= max) {
      return false;
    }
  } while (!clients.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  return true;
}

}  // namespace

std::pair<bool, std::string> Server::readiness() {
  if (runtime_.draining.load()) {
    return {false, "shutting down"};
  }
  const auto cfg = runtime_.config_snapshot();
  {
    std::lock_guard lock(health_mutex_);
    if (!backend_ok_) {
      return {false, backend_error_.empty() ? backend_reason_
                                            : explain_backend_error(backend_error_, *cfg)};
    }
  }
  if (online_ddl_ && !online_ddl_->ready()) {
    std::string why = online_ddl_->load_error();
    const auto colon = why.find(": ");
    if (colon != std::string::npos) {
      // "cannot create `dm_meta`.`x_onlineddl`: 1142: ..." -> the privilege hint for the code.
      why = why.substr(0, colon + 2) + explain_backend_error(why.substr(colon + 2), *cfg);
    }
    return {false, why.empty() ? "online-DDL state not loaded from the meta table yet"
                               : "online-DDL state not loaded: " + why};
  }
  return {true, "ready"};
}

void Server::update_gauges() {
  Metrics& m = metrics();
  const PoolShared& p = *runtime_.pool_shared;
  m.backend_pool_open.set(p.open.load(std::memory_order_relaxed));
  m.backend_pool_idle.set(p.idle.load(std::memory_order_relaxed));
  m.backend_pool_waiting.set(p.waiting.load(std::memory_order_relaxed));
  m.client_connections_active.set(runtime_.clients.load(std::memory_order_relaxed));
  // The pool counts failed connects in PoolShared (no metrics dependency there); carry them over.
  // Only the control thread calls this, so reading and then adding cannot race with itself.
  const std::uint64_t failures = p.connect_failures.load(std::memory_order_relaxed);
  const std::uint64_t exported = m.backend_connect_failures.value();
  if (failures > exported) {
    m.backend_connect_failures.inc(failures - exported);
  }
}

int Server::run() {
  auto cfg = runtime_.config_snapshot();
  error_code ec;
  const tcp::endpoint endpoint(asio::ip::make_address(cfg->listen.host, ec), cfg->listen.port);
  if (ec) {
    throw ConfigError("listen: bad address " + cfg->listen.str());
  }
  tcp::acceptor listener(control_);
  listener.open(endpoint.protocol());
  listener.set_option(tcp::acceptor::reuse_address(true));
  listener.bind(endpoint, ec);
  if (ec) {
    throw ConfigError("listen: cannot bind " + cfg->listen.str() + ": " + ec.message());
  }
  listener.listen(asio::socket_base::max_listen_connections);
  // Each worker accepts on its own descriptor of this socket, so a session runs on the thread
  // that accepted it: no hand-off (a cross-thread wake-up) per connection. A dup, not
  // SO_REUSEPORT, which would let a second ghostgate share the port without a word. Released:
  // the control thread's epoll set must not keep it, or every connect would wake that thread.
  const int fd = listener.release();
  for (std::size_t i = 0; i < acceptors_.size(); ++i) {
    const int own = i == 0 ? fd : ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own >= 0) {
      acceptors_[i].assign(endpoint.protocol(), own, ec);
    }
    if (own < 0 || ec) {
      const std::string why = own < 0 ? std::strerror(errno) : ec.message();
      if (own >= 0) {
        ::close(own);
      }
      throw ConfigError("listen: cannot share " + cfg->listen.str() + " with the workers: " + why);
    }
  }
  listening_.store(acceptors_.size());
  if (cfg->admin_enabled) {
    AdminCallbacks callbacks;
    callbacks.readyz = [this] { return readiness(); };
    callbacks.metrics = [this] {
      update_gauges();
      return render_prometheus();
    };
    if (online_ddl_) {
      callbacks.online_ddl = [this] { return online_ddl_->state_json(); };
      callbacks.online_ddl_action = [this](std::string method, std::string path, std::string body,
                                           std::string peer) {
        return online_ddl_action(std::move(method), std::move(path), std::move(body),
                                 std::move(peer));
      };
    }
    read_admin_token(*cfg);
    callbacks.token = [this] {
      std::lock_guard lock(admin_token_mutex_);
      return admin_token_;
    };
    admin_ = std::make_unique<AdminServer>(control_, cfg->admin, callbacks);
    admin_->start();
  }
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    Worker* w = workers_[i].get();
    w->pool.start();
    asio::co_spawn(w->ctx, accept_loop(i), asio::detached);
    w->thread = std::thread([ctx = &w->ctx] {
      auto guard = asio::make_work_guard(*ctx);
      ctx->run();
    });
  }
  stop_signals_.async_wait([this](const error_code& e, int sig) {
    if (!e) {
      log_info(no_conn, "signal {}: draining", sig);
      asio::co_spawn(control_, drain(), asio::detached);
    }
  });
  std::function<void(const error_code&, int)> on_hup = [this, &on_hup](const error_code& e, int) {
    if (e) {
      return;
    }
    reload();
    reload_signals_.async_wait(on_hup);
  };
  reload_signals_.async_wait(on_hup);
  asio::co_spawn(control_, health_loop(), asio::detached);
  if (online_ddl_) {
    asio::co_spawn(control_, load_online_ddl(), asio::detached);
  }
  log_info(no_conn, "ghostgate {} listening on {} (backend {}, {} workers{})", GHOSTGATE_VERSION,
           cfg->listen.str(), cfg->backend.address.str(), workers_.size(),
           online_ddl_ ? (cfg->online_ddl.dry_run ? ", online DDL dry-run" : ", online DDL on")
                       : ", online DDL off");
  control_.run();
  // Completions still queued here must run or be destroyed while the workers' contexts still
  // exist. (The accept loops are the workers': an accept aborted by the drain completes on its
  // worker's context, or is destroyed with it.)
  control_.restart();
  control_.poll();
  for (auto& w : workers_) {
    w->ctx.stop();
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) {
      w->thread.join();
    }
  }
  log_info(no_conn, "ghostgate stopped");
  flush_logs();
  return 0;
}

awaitable<void> Server::accept_loop(std::size_t index) {
  Worker& worker = *workers_[index];
  tcp::acceptor& acceptor = acceptors_[index];
  asio::steady_timer backoff(worker.ctx);
  std::uint64_t accepted = 0;
  for (;;) {
    error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(redirect(ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
        break;
      }
      log_warn(no_conn, "accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));  // EMFILE and friends
      co_await backoff.async_wait(redirect(ec));
      continue;
    }
    ++accepted;
    if (runtime_.draining.load(std::memory_order_relaxed)) {
      // drain() closes the acceptors before it drains; this is for a worker that was too busy
      // to close its own within drain()'s second: no new session once draining.
      socket.close(ec);
      continue;
    }
    metrics().client_connections_total.inc();
    const auto cfg = runtime_.config_snapshot();
    if (!take_client_place(runtime_.clients, cfg->max_connections)) {
      metrics().client_connections_refused.inc();
      asio::co_spawn(worker.ctx,
                     refuse(std::move(socket), protocol::er::con_count, "Too many connections"),
                     asio::detached);
      continue;
    }
    asio::co_spawn(
        worker.ctx,
        [](tcp::socket s, Runtime& rt, Worker& w) -> awaitable<void> {
          co_await run_session(std::move(s), rt, w);
          rt.clients.fetch_sub(1, std::memory_order_relaxed);
        }(std::move(socket), runtime_, worker),
        asio::detached);
  }
  // How evenly the workers shared the connects (they race for each one).
  log_debug(no_conn, "worker {} stopped accepting after {} connections", index, accepted);
}

awaitable<void> Server::refuse(tcp::socket socket, std::uint16_t code, std::string message) {
  // An ERR instead of the greeting, as a server at its connection limit answers.
  std::vector<std::uint8_t> out;
  std::uint8_t seq = 0;
  protocol::append_err(out, seq, protocol::cap::protocol_41, code, "08004", message);
  Stream stream(std::move(socket));
  Watchdog watchdog(stream, std::chrono::milliseconds(2000));
  co_await stream.write_all(asio::buffer(out));
  stream.close();
}

awaitable<void> Server::load_online_ddl() {
  asio::steady_timer timer(control_);
  while (!stopping_) {
    if (co_await online_ddl_->load()) {
      co_return;
    }
    timer.expires_after(std::chrono::seconds(2));
    error_code ec;
    co_await timer.async_wait(redirect(ec));
  }
}

awaitable<void> Server::health_loop() {
  asio::steady_timer timer(control_);
  while (!stopping_) {
    std::optional<std::string> err = co_await meta_->ping();
    {
      std::lock_guard lock(health_mutex_);
      backend_ok_ = !err;
      backend_error_ = err ? *err : "";
    }
    update_gauges();
    timer.expires_after(std::chrono::seconds(2));
    error_code ec;
    co_await timer.async_wait(redirect(ec));
  }
}

awaitable<void> Server::drain() {
  if (stopping_) {
    co_return;
  }
  stopping_ = true;
  // Each acceptor is closed on its worker's thread (asio objects are not thread-safe); with the
  // last descriptor closed the socket stops listening and the kernel refuses new clients. That
  // comes first, so that once /readyz says "shutting down" no connect gets through.
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    asio::post(workers_[i]->ctx, [this, &acceptor = acceptors_[i]] {
      error_code ignored;
      acceptor.close(ignored);
      listening_.fetch_sub(1);
    });
  }
  error_code ignored;
  asio::steady_timer timer(control_);
  const auto closing_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (listening_.load() > 0 && std::chrono::steady_clock::now() < closing_deadline) {
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(redirect(ignored));
  }
  runtime_.draining.store(true);
  const auto cfg = runtime_.config_snapshot();
  const auto deadline = std::chrono::steady_clock::now() + cfg->timeouts.drain;
  while (runtime_.statements_in_flight.load() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      log_warn(no_conn, "drain timeout: {} statement(s) still in flight",
               runtime_.statements_in_flight.load());
      break;
    }
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(redirect(ignored));
  }
  if (admin_) {
    admin_->stop();
  }
  stop_signals_.cancel(ignored);
  reload_signals_.cancel(ignored);
  control_.stop();
}

void Server::read_admin_token(const Config& config) {
  std::string token;
  if (!config.admin_token_file.empty()) {
    std::ifstream in(config.admin_token_file);
    std::stringstream text;
    text << in.rdbuf();
    token = text.str();
    const auto end = token.find_last_not_of(" \t\r\n");
    token.resize(end == std::string::npos ? 0 : end + 1);
    token.erase(0, std::min(token.size(), token.find_first_not_of(" \t\r\n")));
    if (token.empty()) {
      log_warn(no_conn,
               "admin-token-file {}: unreadable or empty; mutating admin calls are refused",
               config.admin_token_file);
    }
  }
  std::lock_guard lock(admin_token_mutex_);
  admin_token_ = std::move(token);
}

awaitable<std::pair<int, std::string>> Server::online_ddl_action(std::string method,
                                                                 std::string path, std::string body,
                                                                 std::string peer) {
  OnlineDdlService::ActionResult r = co_await online_ddl_->operator_action(
      std::move(method), std::move(path), std::move(body), std::move(peer));
  co_return std::pair<int, std::string>{r.status, std::move(r.body)};
}

// SIGHUP: every changed key is applied live or named as needing a restart, one line each; the
// running value of a key that needs a restart is kept (so nothing runs half on the new value).
void Server::reload() {
  const auto current = runtime_.config_snapshot();
  const std::string& path = current->source_path;
  Config fresh;
  try {
    fresh = load_config(path);
  } catch (const std::exception& e) {
    metrics().config_reloads_failed.inc();
    log_error(no_conn, "reload refused, keeping the running configuration: {}", e.what());
    return;
  }
  Config next = *current;
  next.warnings = fresh.warnings;
  std::vector<std::string> applied;
  std::vector<std::pair<std::string, std::string>> restart;  // key, why
  bool new_rules = false, new_log = false, new_backend = false, reload_meta = false;
  for (const std::string& key : changed_keys(*current, fresh)) {
    auto starts = [&](std::string_view prefix) { return key.rfind(prefix, 0) == 0; };
    if (key == "online-ddl") {
      if (!online_ddl_) {
        restart.emplace_back(key, "online DDL was off at start, so its service does not exist");
        continue;
      }
      next.online_ddl.enabled = fresh.online_ddl.enabled;
    } else if (key == "dry-run") {
      next.online_ddl.dry_run = fresh.online_ddl.dry_run;
    } else if (key == "shadow-table-rules" || key == "trash-table-rules" ||
               key == "online-ddl-tools") {
      next.online_ddl.tools = fresh.online_ddl.tools;
      next.online_ddl.shadow_table_rules = fresh.online_ddl.shadow_table_rules;
      next.online_ddl.trash_table_rules = fresh.online_ddl.trash_table_rules;
      new_rules = true;
    } else if (key == "log.level" || key == "log.format" || key == "log.file") {
      next.log = fresh.log;
      new_log = true;
    } else if (key == "backend.user" || key == "backend.password" ||
               key == "backend.password-file" || key == "backend.connect-timeout") {
      next.backend.user = fresh.backend.user;
      next.backend.password = fresh.backend.password;
      next.backend.password_file = fresh.backend.password_file;
      next.backend.connect_timeout = fresh.backend.connect_timeout;
      new_backend = true;
    } else if (starts("pool.")) {
      next.pool = fresh.pool;
    } else if (starts("client-auth.")) {
      next.client_auth = fresh.client_auth;  // read by each new login
    } else if (starts("timeouts.")) {
      next.timeouts = fresh.timeouts;  // read by each new session
    } else if (key == "max-connections") {
      next.max_connections = fresh.max_connections;
    } else if (key == "max-packet-size") {
      next.max_packet_size = fresh.max_packet_size;  // read by each new session
    } else if (key == "admin-token-file") {
      next.admin_token_file = fresh.admin_token_file;  // read below, on every reload
    } else {
      restart.emplace_back(key, "");
      continue;
    }
    applied.push_back(key);
  }
  // What can fail goes first, so a failure leaves everything as it was.
  std::optional<rules::TableRules> rules;
  try {
    if (new_rules && online_ddl_) {
      rules = make_rules(next.online_ddl);
    }
    if (new_log) {
      init_logging(next.log);
    }
  } catch (const std::exception& e) {
    metrics().config_reloads_failed.inc();
    log_error(no_conn, "reload refused, keeping the running configuration: {}", e.what());
    return;
  }
  if (rules) {
    online_ddl_->replace_rules(std::move(*rules));
  }
  runtime_.pool_shared->apply(next.pool);
  if (new_backend) {
    meta_->set_backend(next.backend);  // health checks and the meta table: new connection
  }
  if (online_ddl_) {
    runtime_.online_ddl_on.store(next.online_ddl.enabled, std::memory_order_relaxed);
    reload_meta = online_ddl_->set_dry_run(next.online_ddl.dry_run);
  }
  read_admin_token(next);  // the file's content may have rotated with the key unchanged
  runtime_.config.store(std::make_shared<const Config>(std::move(next)));
  if (reload_meta) {
    // Off dry-run: what it recorded was in memory only; the meta table is the truth again.
    asio::co_spawn(control_, load_online_ddl(), asio::detached);
  }
  metrics().config_reloads_ok.inc();
  for (const std::string& w : fresh.warnings) {
    log_warn(no_conn, "config: {}", w);
  }
  for (const auto& [key, why] : restart) {
    log_warn(no_conn,
             "reload: {} changed in {} but needs a restart{}; still running with the old "
             "value",
             key, path, why.empty() ? "" : " (" + why + ")");
  }
  if (applied.empty()) {
    log_info(no_conn, "reload: nothing to apply from {}", path);
    return;
  }
  std::string keys;
  for (const std::string& k : applied) {
    keys += (keys.empty() ? "" : ", ") + k;
  }
  log_info(no_conn, "reload: applied {} from {} (log.level {}, online DDL {})", keys, path,
           to_string(log_level()),
           !online_ddl_ || !runtime_.online_ddl_on.load() ? "off"
           : online_ddl_->dry_run()                       ? "dry-run"
                                                          : "on");
}

}  // namespace ghostgate::proxy
