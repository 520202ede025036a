#pragma once
// The top of proxy/: the process (this file) and main.cc, wiring every room together; the only
// files that may use them all. (Arrows: tests/layering/layers.txt; README, "Code map".)
//
// The process: one control thread (admin HTTP, signals, meta store, health checks) and N worker
// threads, each with its own io_context that accepts clients on its own descriptor of the one
// listening socket and owns their sessions' sockets and its share of the backend pool.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/admin/admin_server.h"
#include "proxy/config/config.h"
#include "proxy/net/asio.h"
#include "proxy/online_ddl/meta_store.h"
#include "proxy/online_ddl/service.h"
#include "proxy/session/runtime.h"

namespace ghostgate::proxy {

class Server {
 public:
  explicit Server(Config config);
  ~Server();
  // Binds the ports (throws ConfigError with a clear message if it cannot), runs until SIGTERM /
  // SIGINT has drained the sessions. Returns the process exit code.
  int run();

 private:
  // Worker `index`'s: accepts on its acceptor and runs each session on its own context.
  awaitable<void> accept_loop(std::size_t index);
  awaitable<void> refuse(tcp::socket socket, std::uint16_t code, std::string message);
  awaitable<void> load_online_ddl();
  awaitable<void> health_loop();
  awaitable<void> drain();
  // The admin endpoint's mutating calls (token checked there).
  awaitable<std::pair<int, std::string>> online_ddl_action(std::string method, std::string path,
                                                           std::string body, std::string peer);
  // admin-token-file, read at start and on SIGHUP; never logged.
  void read_admin_token(const Config& config);
  void reload();
  void update_gauges();
  std::pair<bool, std::string> readiness();

  asio::io_context control_{1};
  Runtime runtime_;
  std::vector<std::unique_ptr<Worker>> workers_;
  // One per worker, on its context, each holding a descriptor of the one listening socket; only
  // that worker's thread touches it once run() has started the threads. Declared after workers_
  // so they go before the contexts: an accept loop's frame still queued on a stopped context is
  // destroyed with the context, and does not touch its acceptor then.
  std::vector<tcp::acceptor> acceptors_;
  std::atomic<std::size_t> listening_{0};  // acceptors drain() has not closed yet
  asio::signal_set stop_signals_;
  asio::signal_set reload_signals_;
  std::unique_ptr<AdminServer> admin_;
  std::shared_ptr<MetaStore> meta_;
  std::unique_ptr<OnlineDdlService> online_ddl_;
  std::mutex health_mutex_;
  std::mutex admin_token_mutex_;
  std::string admin_token_;
  bool backend_ok_ = false;
  std::string backend_reason_ = "backend not checked yet";
  std::string backend_error_;  // the last health check's error, "" when it passed
  bool stopping_ = false;
};

}  // namespace ghostgate::proxy
