#pragma once
// A TCP connection that may be upgraded to TLS in the middle of the MySQL handshake, as the
// protocol's SSLRequest does on both sides of the proxy.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "proxy/net/asio.h"

namespace ghostgate::proxy {

struct IoResult {
  error_code ec;
  std::size_t bytes = 0;
};

class Stream {
 public:
  explicit Stream(tcp::socket socket) : socket_(std::move(socket)) {}
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Plain TCP tries the syscall first; after max_turns operations in a row that did not wait,
  // one goes through Asio's asynchronous path, which lets the worker's other sessions run.
  static constexpr unsigned max_turns = 16;

  awaitable<IoResult> read_some(asio::mutable_buffer buffer);
  awaitable<IoResult> write_all(asio::const_buffer buffer);

  // Upgrade to TLS as the server side (client connections) or the client side (backend).
  awaitable<error_code> tls_accept(asio::ssl::context& ctx);
  // `host` names the server for SNI and, when `verify_host` is set, for certificate checks.
  awaitable<error_code> tls_connect(asio::ssl::context& ctx, std::string host, bool verify_host);

  bool is_tls() const { return tls_ != nullptr; }
  std::string tls_cipher() const;
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : socket_; }
  const tcp::socket& socket() const { return tls_ ? tls_->next_layer() : socket_; }
  bool is_open() const { return socket().is_open(); }
  // Closes the socket; pending operations complete with operation_aborted.
  void close();
  // True if the peer has closed or sent unexpected bytes: for idle pooled connections.
  bool peer_closed_or_unexpected();

 private:
  // Plain TCP: whether the next read or write may try the syscall directly (the socket is put
  // in non-blocking mode on first use). After max_turns operations in a row that did not wait,
  // one goes through Asio's asynchronous path instead, which yields to the worker's other
  // sessions: a session streaming a large result never starves them.
  bool take_turn();

  tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> tls_;
  unsigned turns_ = 0;
};

// Cancels a socket's pending operations if not disarmed within a timeout: bounds a connect or a
// backend read without racing two awaitables.
//
// The Stream form closes the stream instead: a cancel reaches only what is pending at that
// moment, so a coroutine busy elsewhere (waiting for a pool slot, on another socket) would go on
// to read with no limit; after a close every later operation fails at once too. It also finds
// the socket at firing time, so it survives a TLS upgrade in between. For deadlines after which
// the stream is useless anyway (a login).
class Watchdog {
 public:
  Watchdog(tcp::socket& socket, std::chrono::milliseconds timeout);
  Watchdog(Stream& stream, std::chrono::milliseconds timeout);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  bool fired() const { return state_->fired; }

 private:
  struct State {
    bool fired = false;
    // Cleared by ~Watchdog: a handler already queued (the timer expired just as the operation
    // completed) then does nothing; cancelling the timer cannot recall it.
    bool armed = true;
  };
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

}  // namespace ghostgate::proxy
