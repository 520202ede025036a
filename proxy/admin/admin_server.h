#pragma once
// Room proxy/admin/: the admin HTTP endpoint (this file). What it serves comes through
// callbacks the server sets, so it may use only proxy/net/, proxy/observe/ and proxy/config/.
// Nothing below the top of proxy/ includes it. (Arrows: tests/layering/layers.txt.)
//
// The admin HTTP endpoint (Boost.Beast): liveness, readiness, Prometheus metrics, online-DDL
// state. GET and HEAD only; HTTP/1.1 keep-alive; bounded request size; every read and write has a
// deadline so a slow or idle client cannot pin a connection; a cap on concurrent connections.
//
//   GET /healthz     200 "ok"                 the process is up and serving HTTP
//   GET /readyz      200 "ready" | 503 "not ready: <reason>"   callbacks.readyz
//   GET /metrics     200 Prometheus text 0.0.4                 callbacks.metrics
//   GET /online-ddl  200 application/json                      callbacks.online_ddl
//   POST/DELETE /online-ddl/...   the operator's actions       callbacks.online_ddl_action
//       (token-protected: `Authorization: Bearer <token>` from admin-token-file; no token
//       configured 403, a missing or wrong one 401; compared in constant time, never logged;
//       every call logged with the peer's address)
//   other paths 404; other methods 405 (with Allow: GET, HEAD); query strings are ignored.
//
// Bodies end with a newline. Callbacks run on the admin server's strand of the io_context given
// at construction, one at a time; they must be thread-safe with respect to the rest of the
// process and quick (they block other admin requests, never the proxy's workers unless the same
// io_context is shared). A callback that throws gives a 500 and is logged.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "proxy/config/config.h"
#include "proxy/net/asio.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace ghostgate::proxy {

struct AdminCallbacks {
  // (ready, reason). Unset: always ready.
  std::function<std::pair<bool, std::string>()> readyz;
  // Prometheus text. Unset: render_prometheus() of the process-wide registry.
  std::function<std::string()> metrics;
  // JSON document describing online-DDL state. Unset: /online-ddl is 404.
  std::function<std::string()> online_ddl;
  // The bearer token of mutating calls; unset or empty: they are refused (403).
  std::function<std::string()> token;
  // A mutating call under /online-ddl/ whose token matched: (method, path, body, peer) ->
  // (HTTP status, text body). Unset: 404.
  std::function<awaitable<std::pair<int, std::string>>(std::string, std::string, std::string,
                                                       std::string)>
      online_ddl_action;
};

struct AdminServerOptions {
  // Deadline for reading one request (headers and body) and for writing one response; also how
  // long an idle keep-alive connection is kept.
  std::chrono::milliseconds io_timeout{10000};
  std::size_t max_connections = 32;     // further connections are closed at once
  std::size_t max_header_bytes = 8192;  // 431 beyond
  std::size_t max_body_bytes = 4096;    // 413 beyond (admin requests carry no body)
};

class AdminServer {
 public:
  // Nothing happens until start(). `listen.port` may be 0 (tests): see port().
  AdminServer(boost::asio::io_context& io, HostPort listen, AdminCallbacks callbacks = {},
              AdminServerOptions options = {});
  ~AdminServer();  // stop()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Replaces the callbacks; safe from any thread, at any time. Requests already being answered
  // finish with the old ones.
  void set_callbacks(AdminCallbacks callbacks);

  // Resolves, binds and listens, then accepts on the io_context. Throws std::runtime_error
  // ("admin: cannot listen on 127.0.0.1:9033: Address already in use") on failure.
  void start();

  // Closes the listener and every open admin connection. Safe from any thread and more than
  // once; takes effect on the io_context (at once when called from it). No callback is called
  // after stop() has taken effect.
  void stop();

  // The bound port after start() (the real one when listen.port was 0); 0 before.
  std::uint16_t port() const;

  struct Impl;  // implementation detail (admin_server.cc)

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace ghostgate::proxy
