// Coroutines here follow the Boost 1.74 + gcc 12 rules in style.md: free functions, parameters
// by value (shared_ptr<Impl>, the socket), no capturing-lambda coroutines, I/O errors as values
// via redirect_error.

#include "proxy/admin/admin_server.h"  // first; it includes <utility>, which asio 1.74 needs first

#include <fmt/format.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "proxy/net/asio.h"
#include "proxy/observe/log.h"
#include "proxy/observe/metrics.h"

#ifndef GHOSTGATE_VERSION
#define GHOSTGATE_VERSION "unknown"
#endif

namespace ghostgate::proxy {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::string_view text_type = "text/plain; charset=utf-8";
constexpr std::string_view prometheus_type = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view json_type = "application/json";
constexpr std::string_view server_name = "ghostgate/" GHOSTGATE_VERSION;

struct Reply {
  http::status status = http::status::ok;
  std::string_view content_type = text_type;
  std::string body;
  bool allow_header = false;  // 405
  bool close = false;         // after a malformed request
};

Reply text(http::status status, std::string body) {
  return Reply{status, text_type, std::move(body)};
}

}  // namespace

struct AdminServer::Impl {
  Impl(asio::io_context& io, HostPort listen_at, AdminCallbacks cbs, AdminServerOptions opts)
      : strand(asio::make_strand(io)),
        listen(std::move(listen_at)),
        options(opts),
        callbacks(std::move(cbs)),
        acceptor(strand) {}

  asio::strand<asio::io_context::executor_type> strand;
  HostPort listen;
  AdminServerOptions options;

  std::mutex callbacks_mutex;
  AdminCallbacks callbacks;

  std::atomic<std::uint16_t> bound_port{0};

  // Touched only on the strand.
  tcp::acceptor acceptor;
  bool started = false;
  bool stopped = false;
  std::uint64_t next_session = 0;
  std::unordered_map<std::uint64_t, beast::tcp_stream*> sessions;

  AdminCallbacks current_callbacks() {
    std::lock_guard lock(callbacks_mutex);
    return callbacks;
  }

  void do_stop() {
    if (stopped) {
      return;
    }
    stopped = true;
    error_code ignored;
    acceptor.close(ignored);
    // Completions are queued, not run inline, so the map does not change under this loop.
    for (auto& [id, stream] : sessions) {
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream->close();
    }
  }
};

namespace {

using Impl = AdminServer::Impl;

// Removes a session from the registry however its coroutine ends.
struct SessionRegistration {
  std::shared_ptr<Impl> impl;
  std::uint64_t id;
  ~SessionRegistration() { impl->sessions.erase(id); }
};

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

Reply route(Impl& impl, const http::request<http::string_body>& req) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    Reply r = text(http::status::method_not_allowed, "method not allowed\n");
    r.allow_header = true;
    return r;
  }
  const std::string_view path = path_of(std::string_view(req.target().data(), req.target().size()));
  if (path == "/healthz") {
    return text(http::status::ok, "ok\n");
  }
  if (path != "/readyz" && path != "/metrics" && path != "/online-ddl") {
    return text(http::status::not_found, "not found\n");
  }
  const AdminCallbacks cbs = impl.current_callbacks();
  try {
    if (path == "/readyz") {
      if (!cbs.readyz) {
        return text(http::status::ok, "ready\n");
      }
      auto [ready, reason] = cbs.readyz();
      if (ready) {
        return text(http::status::ok, "ready\n");
      }
      return text(http::status::service_unavailable,
                  fmt::format("not ready: {}\n", reason.empty() ? "no reason given" : reason));
    }
    if (path == "/metrics") {
      return Reply{http::status::ok, prometheus_type,
                   cbs.metrics ? cbs.metrics() : render_prometheus()};
    }
    // /online-ddl
    if (!cbs.online_ddl) {
      return text(http::status::not_found, "not found\n");
    }
    std::string body = cbs.online_ddl();
    if (body.empty() || body.back() != '\n') {
      body += '\n';
    }
    return Reply{http::status::ok, json_type, std::move(body)};
  } catch (const std::exception& e) {
    GG_LOG(error, no_conn, "admin: {} failed: {}", path, e.what());
    return text(http::status::internal_server_error, fmt::format("internal error: {}\n", e.what()));
  } catch (...) {
    GG_LOG(error, no_conn, "admin: {} failed with an unknown exception", path);
    return text(http::status::internal_server_error, "internal error\n");
  }
}

bool is_action(const http::request<http::string_body>& req) {
  const std::string_view path = path_of(std::string_view(req.target().data(), req.target().size()));
  return (req.method() == http::verb::post || req.method() == http::verb::delete_) &&
         path.starts_with("/online-ddl/");
}

// Constant time in the compared bytes: how much of a wrong token matched is not observable.
bool same_token(std::string_view given, std::string_view want) {
  unsigned char diff = given.size() == want.size() ? 0 : 1;
  for (std::size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i] ^ (want.empty() ? 0 : want[i % want.size()]));
  }
  return diff == 0 && !want.empty();
}

awaitable<Reply> run_action(std::shared_ptr<Impl> impl, http::request<http::string_body> req,
                            std::string peer) {
  const std::string path(path_of(std::string_view(req.target().data(), req.target().size())));
  const std::string method(req.method_string());
  const AdminCallbacks cbs = impl->current_callbacks();
  if (!cbs.online_ddl_action) {
    co_return text(http::status::not_found, "not found\n");
  }
  const std::string token = cbs.token ? cbs.token() : std::string();
  if (token.empty()) {
    GG_LOG(warn, no_conn, "admin: {} {} from {} refused: no admin-token-file configured", method,
           path, peer);
    co_return text(http::status::forbidden,
                   "mutating admin calls are disabled: set admin-token-file (a file holding a "
                   "token) and send it as Authorization: Bearer <token>\n");
  }
  const auto auth = req[http::field::authorization];
  const std::string_view given(auth.data(), auth.size());
  constexpr std::string_view bearer = "Bearer ";
  if (!given.starts_with(bearer) || !same_token(given.substr(bearer.size()), token)) {
    GG_LOG(warn, no_conn, "admin: {} {} from {} refused: missing or wrong token", method, path,
           peer);
    co_return text(http::status::unauthorized, "missing or wrong bearer token\n");
  }
  GG_LOG(info, no_conn, "admin: {} {} from {}", method, path, peer);
  try {
    std::pair<int, std::string> r =
        co_await cbs.online_ddl_action(method, path, std::move(req.body()), peer);
    co_return text(static_cast<http::status>(r.first), std::move(r.second));
  } catch (const std::exception& e) {
    GG_LOG(error, no_conn, "admin: {} {} failed: {}", method, path, e.what());
    co_return text(http::status::internal_server_error,
                   fmt::format("internal error: {}\n", e.what()));
  }
}

template <class Body>
void fill(http::response<Body>& res, const Reply& reply, unsigned version, bool keep_alive) {
  res.result(reply.status);
  res.version(version);
  res.set(http::field::server, beast::string_view(server_name.data(), server_name.size()));
  res.set(http::field::content_type,
          beast::string_view(reply.content_type.data(), reply.content_type.size()));
  res.set(http::field::cache_control, "no-store");
  if (reply.allow_header) {
    res.set(http::field::allow, "GET, HEAD");
  }
  res.keep_alive(keep_alive);
}

awaitable<error_code> write_reply(beast::tcp_stream& stream, Reply reply, unsigned version,
                                  bool keep_alive, bool head, std::chrono::milliseconds timeout) {
  error_code ec;
  stream.expires_after(timeout);
  if (head) {
    http::response<http::empty_body> res;
    fill(res, reply, version, keep_alive);
    res.content_length(reply.body.size());
    co_await http::async_write(stream, res, redirect(ec));
  } else {
    http::response<http::string_body> res;
    fill(res, reply, version, keep_alive);
    res.body() = std::move(reply.body);
    res.prepare_payload();
    co_await http::async_write(stream, res, redirect(ec));
  }
  co_return ec;
}

// The status to answer a request that could not be read, or nothing (just close).
std::optional<Reply> reply_for_read_error(const error_code& ec) {
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) {
    return std::nullopt;  // the client closed, possibly mid-request
  }
  if (ec == http::error::header_limit) {
    return text(http::status::request_header_fields_too_large, "request headers too large\n");
  }
  if (ec == http::error::body_limit || ec == http::error::buffer_overflow) {
    return text(http::status::payload_too_large, "request too large\n");
  }
  if (ec.category() == make_error_code(http::error::bad_method).category()) {
    return text(http::status::bad_request, "bad request\n");
  }
  return std::nullopt;  // network error, timeout, shutdown: nobody to answer
}

awaitable<void> serve_requests(std::shared_ptr<Impl> impl, beast::tcp_stream& stream) {
  const AdminServerOptions& opts = impl->options;
  // The buffer's limit bounds memory even for a request line without any newline.
  beast::flat_buffer buffer(opts.max_header_bytes + opts.max_body_bytes);
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
    parser.body_limit(opts.max_body_bytes);
    error_code ec;
    stream.expires_after(opts.io_timeout);
    co_await http::async_read(stream, buffer, parser, redirect(ec));
    if (impl->stopped) {
      co_return;
    }
    if (ec) {
      if (auto reply = reply_for_read_error(ec)) {
        co_await write_reply(stream, std::move(*reply), 11, false, false, opts.io_timeout);
      }
      co_return;
    }
    const http::request<http::string_body>& req = parser.get();
    const bool keep_alive = req.keep_alive();
    Reply reply;
    if (is_action(req)) {
      error_code peer_ec;
      const auto ep = stream.socket().remote_endpoint(peer_ec);
      std::string peer = peer_ec ? std::string("unknown")
                                 : ep.address().to_string() + ":" + std::to_string(ep.port());
      reply = co_await run_action(impl, req, std::move(peer));
    } else {
      reply = route(*impl, req);
    }
    ec = co_await write_reply(stream, std::move(reply), req.version(), keep_alive,
                              req.method() == http::verb::head, opts.io_timeout);
    if (ec || !keep_alive || impl->stopped) {
      break;
    }
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

awaitable<void> serve_session(std::shared_ptr<Impl> impl, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  const std::uint64_t id = impl->next_session++;
  impl->sessions.emplace(id, &stream);
  SessionRegistration registration{impl, id};
  try {
    co_await serve_requests(impl, stream);
  } catch (const std::exception& e) {
    GG_LOG(warn, no_conn, "admin: connection ended by an exception: {}", e.what());
  } catch (...) {
    GG_LOG(warn, no_conn, "admin: connection ended by an unknown exception");
  }
}

awaitable<void> accept_loop(std::shared_ptr<Impl> impl) {
  asio::steady_timer backoff(impl->strand);
  while (!impl->stopped) {
    error_code ec;
    tcp::socket socket = co_await impl->acceptor.async_accept(redirect(ec));
    if (impl->stopped) {
      break;
    }
    if (ec) {
      if (ec == asio::error::operation_aborted) {
        break;
      }
      // EMFILE and friends: do not spin.
      GG_LOG(warn, no_conn, "admin: accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(redirect(ec));
      continue;
    }
    if (impl->sessions.size() >= impl->options.max_connections) {
      GG_LOG(warn, no_conn, "admin: {} connections open; closing a new one", impl->sessions.size());
      socket.close(ec);
      continue;
    }
    asio::co_spawn(impl->strand, serve_session(impl, std::move(socket)), asio::detached);
  }
}

void stop_on_strand(std::shared_ptr<Impl> impl) {
  asio::dispatch(impl->strand, [impl] { impl->do_stop(); });
}

}  // namespace

AdminServer::AdminServer(asio::io_context& io, HostPort listen, AdminCallbacks callbacks,
                         AdminServerOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(listen), std::move(callbacks), options)) {}

AdminServer::~AdminServer() { stop(); }

void AdminServer::set_callbacks(AdminCallbacks callbacks) {
  std::lock_guard lock(impl_->callbacks_mutex);
  impl_->callbacks = std::move(callbacks);
}

void AdminServer::start() {
  Impl& impl = *impl_;
  const std::string where = impl.listen.str();
  if (impl.started) {
    throw std::runtime_error(fmt::format("admin: already started on {}", where));
  }
  error_code ec;
  tcp::endpoint endpoint;
  const auto address = asio::ip::make_address(impl.listen.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, impl.listen.port);
  } else {
    tcp::resolver resolver(impl.strand);
    const auto results = resolver.resolve(impl.listen.host, std::to_string(impl.listen.port),
                                          tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      throw std::runtime_error(
          fmt::format("admin: cannot resolve {}: {}", where, ec ? ec.message() : "no addresses"));
    }
    endpoint = results.begin()->endpoint();
  }
  const auto fail = [&](std::string_view step) {
    error_code ignored;
    impl.acceptor.close(ignored);
    return std::runtime_error(
        fmt::format("admin: cannot listen on {}: {} ({})", where, ec.message(), step));
  };
  impl.acceptor.open(endpoint.protocol(), ec);
  if (ec) {
    throw fail("open");
  }
  impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) {
    throw fail("SO_REUSEADDR");
  }
  impl.acceptor.bind(endpoint, ec);
  if (ec) {
    throw fail("bind");
  }
  impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw fail("listen");
  }
  impl.bound_port.store(impl.acceptor.local_endpoint().port());
  impl.started = true;
  GG_LOG(info, no_conn, "admin: listening on {}",
         HostPort{impl.listen.host, impl.bound_port.load()}.str());
  asio::co_spawn(impl.strand, accept_loop(impl_), asio::detached);
}

void AdminServer::stop() {
  if (impl_) {
    stop_on_strand(impl_);
  }
}

std::uint16_t AdminServer::port() const { return impl_->bound_port.load(); }

}  // namespace ghostgate::proxy
