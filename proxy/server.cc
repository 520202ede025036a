#include "proxy/server.h"

#include <csignal>
#include <fstream>
#include <sstream>

#include "protocol/packets.h"
#include "proxy/net/tls.h"
#include "proxy/observe/log.h"
#include "proxy/observe/metrics.h"
#include "proxy/session/session.h"
#include "rules/table_rules.h"

namespace ghostgate::proxy {

namespace {

rules::TableRules make_rules(const OnlineDdlConfig& c) {
  const auto& shadow = c.shadow_table_rules.empty() ? rules::TableRules::default_shadow_rules()
                                                    : c.shadow_table_rules;
  const auto& trash =
      c.trash_table_rules.empty() ? rules::TableRules::default_trash_rules() : c.trash_table_rules;
  std::string error;
  std::optional<rules::TableRules> r = rules::TableRules::create(shadow, trash, &error);
  if (!r) {
    throw ConfigError(error);
  }
  return std::move(*r);
}

}  // namespace

Server::Server(Config config)
    : acceptor_(control_),
      stop_signals_(control_, SIGTERM, SIGINT),
      reload_signals_(control_, SIGHUP) {
  auto cfg = std::make_shared<const Config>(std::move(config));
  runtime_.config.store(cfg);
  runtime_.client_tls = make_client_tls_context(cfg->client_tls);
  runtime_.backend_tls = make_backend_tls_context(cfg->backend);
  runtime_.pool_shared->apply(cfg->pool);
  if (cfg->online_ddl.enabled) {
    const std::string id = cfg->online_ddl.id.empty() ? cfg->online_ddl.name : cfg->online_ddl.id;
    meta_ = std::make_shared<MetaStore>(
        control_, cfg->backend, runtime_.backend_tls, cfg->online_ddl.meta_schema,
        cfg->online_ddl.name, std::vector<std::string>{id}, cfg->online_ddl.tombstone_ttl);
    online_ddl_ = std::make_unique<OnlineDdlService>(make_rules(cfg->online_ddl), meta_,
                                                     cfg->online_ddl.dry_run);
    runtime_.online_ddl = online_ddl_.get();
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
}

Server::~Server() = default;

std::pair<bool, std::string> Server::readiness() {
  if (runtime_.draining.load()) {
    return {false, "shutting down"};
  }
  {
    std::lock_guard lock(health_mutex_);
    if (!backend_ok_) {
      return {false, backend_reason_};
    }
  }
  if (online_ddl_ && !online_ddl_->ready()) {
    return {false, "online-DDL state not loaded from the meta table yet"};
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
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint, ec);
  if (ec) {
    throw ConfigError("listen: cannot bind " + cfg->listen.str() + ": " + ec.message());
  }
  acceptor_.listen(asio::socket_base::max_listen_connections);
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
  for (auto& w : workers_) {
    w->pool.start();
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
  asio::co_spawn(control_, accept_loop(), asio::detached);
  asio::co_spawn(control_, health_loop(), asio::detached);
  if (online_ddl_) {
    asio::co_spawn(control_, load_online_ddl(), asio::detached);
  }
  log_info(no_conn, "ghostgate {} listening on {} (backend {}, {} workers{})", GHOSTGATE_VERSION,
           cfg->listen.str(), cfg->backend.address.str(), workers_.size(),
           online_ddl_ ? (cfg->online_ddl.dry_run ? ", online DDL dry-run" : ", online DDL on")
                       : ", online DDL off");
  control_.run();
  // Completions still queued here (the accept aborted by the drain, whose socket belongs to a
  // worker's context) must run or be destroyed while the workers' contexts still exist.
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

awaitable<void> Server::accept_loop() {
  asio::steady_timer backoff(control_);
  for (;;) {
    Worker& worker = *workers_[next_worker_++ % workers_.size()];
    error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(worker.ctx, redirect(ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
        co_return;
      }
      log_warn(no_conn, "accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));  // EMFILE and friends
      co_await backoff.async_wait(redirect(ec));
      continue;
    }
    metrics().client_connections_total.inc();
    const auto cfg = runtime_.config_snapshot();
    if (runtime_.clients.load(std::memory_order_relaxed) >= cfg->max_connections) {
      metrics().client_connections_refused.inc();
      asio::co_spawn(worker.ctx,
                     refuse(std::move(socket), protocol::er::con_count, "Too many connections"),
                     asio::detached);
      continue;
    }
    runtime_.clients.fetch_add(1, std::memory_order_relaxed);
    asio::co_spawn(
        worker.ctx,
        [](tcp::socket s, Runtime& rt, Worker& w) -> awaitable<void> {
          co_await run_session(std::move(s), rt, w);
          rt.clients.fetch_sub(1, std::memory_order_relaxed);
        }(std::move(socket), runtime_, worker),
        asio::detached);
  }
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
      backend_reason_ = err ? "backend unreachable: " + *err : "ok";
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
  runtime_.draining.store(true);
  error_code ignored;
  acceptor_.close(ignored);
  const auto cfg = runtime_.config_snapshot();
  const auto deadline = std::chrono::steady_clock::now() + cfg->timeouts.drain;
  asio::steady_timer timer(control_);
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

void Server::reload() {
  const auto current = runtime_.config_snapshot();
  try {
    Config fresh = load_config(current->source_path);
    std::optional<rules::TableRules> rules;
    if (online_ddl_) {
      rules = make_rules(fresh.online_ddl);
    }
    set_log_level(fresh.log.level);
    runtime_.pool_shared->apply(fresh.pool);
    if (online_ddl_ && rules) {
      online_ddl_->replace_rules(std::move(*rules));
    }
    read_admin_token(fresh);
    if (fresh.listen.str() != current->listen.str() || fresh.workers != current->workers ||
        fresh.backend.address.str() != current->backend.address.str()) {
      log_warn(no_conn, "reload: listen, workers and backend.address changes need a restart");
    }
    for (const std::string& w : fresh.warnings) {
      log_warn(no_conn, "config: {}", w);
    }
    runtime_.config.store(std::make_shared<const Config>(std::move(fresh)));
    metrics().config_reloads_ok.inc();
    log_info(no_conn, "configuration reloaded from {} (log.level {})", current->source_path,
             to_string(log_level()));
  } catch (const std::exception& e) {
    metrics().config_reloads_failed.inc();
    log_error(no_conn, "reload refused, keeping the running configuration: {}", e.what());
  }
}

}  // namespace ghostgate::proxy
