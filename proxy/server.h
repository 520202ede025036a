#pragma once
// The top of proxy/: the process (this file) and main.cc, wiring every room together; the only
// files that may use them all. (Arrows: tests/layering/layers.txt; README, "Code map".)
//
// The process: one control thread (listener, admin HTTP, signals, meta store, health checks)
// and N worker threads, each with its own io_context that owns its sessions' sockets and its
// share of the backend pool.

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
  awaitable<void> accept_loop();
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
  tcp::acceptor acceptor_;
  asio::signal_set stop_signals_;
  asio::signal_set reload_signals_;
  std::unique_ptr<AdminServer> admin_;
  std::shared_ptr<MetaStore> meta_;
  std::unique_ptr<OnlineDdlService> online_ddl_;
  std::size_t next_worker_ = 0;
  std::mutex health_mutex_;
  std::mutex admin_token_mutex_;
  std::string admin_token_;
  bool backend_ok_ = false;
  std::string backend_reason_ = "backend not checked yet";
  std::string backend_error_;  // the last health check's error, "" when it passed
  bool stopping_ = false;
};

}  // namespace ghostgate::proxy
