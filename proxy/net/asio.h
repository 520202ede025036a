#pragma once
// Room proxy/net/: bytes on sockets — Boost.Asio (this file), Stream (TCP that may turn TLS
// mid-handshake), the TLS contexts, packet I/O over a Stream. May use proxy/observe/,
// proxy/config/ and protocol/. (Arrows: tests/layering/layers.txt.)
//
// The one place proxy/ includes Boost.Asio from. <utility> must come first with Boost 1.74 +
// gcc 12 (asio's coroutine support uses std::exchange without including it).
// clang-format off
#include <utility>  // must precede asio (Boost 1.74 + gcc 12)
// clang-format on

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/error_code.hpp>

namespace ghostgate::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
template <class T = void>
using awaitable = asio::awaitable<T>;
inline constexpr auto use_awaitable = asio::use_awaitable;

// co_await op(..., redirect(ec)): an I/O error becomes a value, never an exception.
inline auto redirect(error_code& ec) { return asio::redirect_error(use_awaitable, ec); }

}  // namespace ghostgate::proxy
