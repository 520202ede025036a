#include "proxy/net/stream.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

namespace ghostgate::proxy {

awaitable<IoResult> Stream::read_some(asio::mutable_buffer buffer) {
  IoResult r;
  if (tls_) {
    r.bytes = co_await tls_->async_read_some(buffer, redirect(r.ec));
  } else if (take_turn()) {
    // Try the syscall first and wait for readiness only when nothing is there: an operation
    // that completes at once through Asio still posts its completion and runs the reactor
    // before it resumes (an extra epoll_wait and a scheduler trip per read; see
    // bench/RESULTS.md, "What limits ghostgate").
    r.bytes = socket_.read_some(buffer, r.ec);
    if (r.ec == asio::error::would_block || r.ec == asio::error::try_again) {
      // Nothing there: the reactor reads when it comes (no epoll_ctl, unlike async_wait).
      r.ec.clear();
      turns_ = 0;
      r.bytes = co_await socket_.async_read_some(buffer, redirect(r.ec));
    }
  } else {
    // Out of turns: the asynchronous form lets the worker's other sessions run first.
    r.bytes = co_await socket_.async_read_some(buffer, redirect(r.ec));
  }
  co_return r;
}

awaitable<IoResult> Stream::write_all(asio::const_buffer buffer) {
  IoResult r;
  if (tls_) {
    r.bytes = co_await asio::async_write(*tls_, buffer, redirect(r.ec));
  } else if (take_turn()) {
    const auto* data = static_cast<const std::uint8_t*>(buffer.data());
    while (r.bytes < buffer.size()) {
      const std::size_t n =
          socket_.write_some(asio::buffer(data + r.bytes, buffer.size() - r.bytes), r.ec);
      if (r.ec == asio::error::would_block || r.ec == asio::error::try_again) {
        r.ec.clear();
        turns_ = 0;
        co_await socket_.async_wait(tcp::socket::wait_write, redirect(r.ec));
        if (r.ec) {
          break;
        }
        continue;
      }
      if (r.ec) {
        break;
      }
      r.bytes += n;
    }
  } else {
    r.bytes = co_await asio::async_write(socket_, buffer, redirect(r.ec));
  }
  co_return r;
}

bool Stream::take_turn() {
  if (turns_ >= max_turns) {
    turns_ = 0;
    return false;
  }
  if (turns_ == 0 && !socket_.non_blocking()) {
    error_code ec;
    socket_.non_blocking(true, ec);
    if (ec) {
      return false;
    }
  }
  ++turns_;
  return true;
}

awaitable<error_code> Stream::tls_accept(asio::ssl::context& ctx) {
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(socket_), ctx);
  error_code ec;
  co_await tls_->async_handshake(asio::ssl::stream_base::server, redirect(ec));
  co_return ec;
}

awaitable<error_code> Stream::tls_connect(asio::ssl::context& ctx, std::string host,
                                          bool verify_host) {
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(socket_), ctx);
  error_code ec;
  if (!host.empty()) {
    // SNI only for names, never for IP literals (RFC 6066).
    error_code parse_ec;
    asio::ip::make_address(host, parse_ec);
    if (parse_ec) {
      SSL_set_tlsext_host_name(tls_->native_handle(), host.c_str());
    }
    if (verify_host) {
      X509_VERIFY_PARAM* param = SSL_get0_param(tls_->native_handle());
      if (!parse_ec) {
        X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
      } else {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
      }
    }
  }
  co_await tls_->async_handshake(asio::ssl::stream_base::client, redirect(ec));
  co_return ec;
}

std::string Stream::tls_cipher() const {
  if (!tls_) {
    return {};
  }
  const char* name = SSL_get_cipher_name(tls_->native_handle());
  return name ? name : "";
}

void Stream::close() {
  error_code ignored;
  socket().shutdown(tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
}

bool Stream::peer_closed_or_unexpected() {
  if (!is_open()) {
    return true;
  }
  char byte;
  const int n = ::recv(socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) {
    return true;  // orderly shutdown by the server
  }
  if (n > 0) {
    return true;  // an idle server has nothing to say; bytes mean a dying or confused peer
  }
  return errno != EAGAIN && errno != EWOULDBLOCK;
}

Watchdog::Watchdog(tcp::socket& socket, std::chrono::milliseconds timeout)
    : timer_(socket.get_executor()), state_(std::make_shared<State>()) {
  if (timeout.count() <= 0) {
    return;
  }
  timer_.expires_after(timeout);
  timer_.async_wait([sock = &socket, state = state_](const error_code& ec) {
    // The handler may run after ~Watchdog: it must not touch `sock` then.
    if (!ec && state->armed) {
      state->fired = true;
      error_code ignored;
      sock->cancel(ignored);
    }
  });
}

Watchdog::Watchdog(Stream& stream, std::chrono::milliseconds timeout)
    : timer_(stream.socket().get_executor()), state_(std::make_shared<State>()) {
  if (timeout.count() <= 0) {
    return;
  }
  timer_.expires_after(timeout);
  timer_.async_wait([s = &stream, state = state_](const error_code& ec) {
    // As above: after ~Watchdog the handler leaves `s` alone.
    if (!ec && state->armed) {
      state->fired = true;
      s->close();
    }
  });
}

Watchdog::~Watchdog() {
  state_->armed = false;
  timer_.cancel();
}

}  // namespace ghostgate::proxy
