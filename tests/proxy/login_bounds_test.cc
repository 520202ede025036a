// What bounds a login: the Stream watchdog (closes, so a coroutine busy elsewhere when it fires
// fails at its next read) and the pool's slot wait cut at a deadline. One io_context, real
// loopback sockets.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>

#include "proxy/backend/pool.h"
#include "proxy/net/asio.h"
#include "proxy/net/stream.h"

namespace ghostgate::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct SocketPair {
  explicit SocketPair(asio::io_context& io) : a(io), b(io) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    a.connect(acceptor.local_endpoint());
    b = acceptor.accept();
  }
  tcp::socket a;
  tcp::socket b;
};

// The session's shape: busy with something else (a pool wait) when the deadline passes, then a
// read on the client stream, which must fail at once instead of waiting for the peer.
awaitable<void> busy_then_read(Stream& stream, std::chrono::milliseconds busy,
                               std::optional<error_code>& result, Clock::duration& read_took) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(busy);
  error_code ignored;
  co_await timer.async_wait(redirect(ignored));
  std::uint8_t byte = 0;
  const auto t0 = Clock::now();
  IoResult r = co_await stream.read_some(asio::buffer(&byte, 1));
  read_took = Clock::now() - t0;
  result = r.ec;
}

TEST(StreamWatchdog, ClosesSoAReadStartedAfterTheDeadlineFails) {
  asio::io_context io;
  SocketPair pair(io);
  Stream stream(std::move(pair.b));
  std::optional<error_code> result;
  Clock::duration read_took{};
  auto watchdog = std::make_unique<Watchdog>(stream, 50ms);
  asio::co_spawn(io, busy_then_read(stream, 150ms, result, read_took), asio::detached);
  io.run_for(5s);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(*result);  // failed, not a byte
  EXPECT_TRUE(watchdog->fired());
  EXPECT_FALSE(stream.is_open());
  EXPECT_LT(read_took, 1s);
}

TEST(StreamWatchdog, DisarmedInTimeLeavesTheStreamOpen) {
  asio::io_context io;
  SocketPair pair(io);
  Stream stream(std::move(pair.b));
  { Watchdog watchdog(stream, 50ms); }
  io.run_for(150ms);
  EXPECT_TRUE(stream.is_open());
}

TEST(StreamWatchdog, ZeroMeansNoLimit) {
  asio::io_context io;
  SocketPair pair(io);
  Stream stream(std::move(pair.b));
  Watchdog watchdog(stream, 0ms);
  io.run_for(100ms);
  EXPECT_FALSE(watchdog.fired());
  EXPECT_TRUE(stream.is_open());
}

awaitable<void> reserve(Pool& pool, Clock::time_point not_after, bool& got, Clock::duration& took) {
  const auto t0 = Clock::now();
  std::shared_ptr<void> slot = co_await pool.reserve_slot(not_after);
  took = Clock::now() - t0;
  got = slot != nullptr;
}

TEST(PoolReserve, WaitEndsAtTheDeadlineBeforeTheAcquireTimeout) {
  asio::io_context io;
  auto shared = std::make_shared<PoolShared>();
  shared->max_connections = 1;
  shared->acquire_timeout_ms = 10000;
  Pool pool(io, shared);
  EXPECT_FALSE(pool.under_pressure());
  bool first = false;
  bool second = true;
  Clock::duration took{};
  Clock::duration took2{};
  asio::co_spawn(io, reserve(pool, Clock::time_point::max(), first, took), asio::detached);
  io.run_for(50ms);
  // `first` dropped its slot when the coroutine ended; hold one for real.
  std::shared_ptr<void> held;
  asio::co_spawn(
      io,
      [](Pool& p, std::shared_ptr<void>& out) -> awaitable<void> {
        out = co_await p.reserve_slot();
      }(pool, held),
      asio::detached);
  io.restart();
  io.run_for(50ms);
  ASSERT_TRUE(held);
  EXPECT_TRUE(pool.under_pressure());
  asio::co_spawn(io, reserve(pool, Clock::now() + 100ms, second, took2), asio::detached);
  io.restart();
  io.run_for(3s);
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  EXPECT_GE(took2, 90ms);
  EXPECT_LT(took2, 2s);
  EXPECT_EQ(shared->waiting.load(), 0u);
}

// A slot reserved synchronously (there is room, so reserve_slot completes without waiting).
std::shared_ptr<void> co_spawn_reserve_for_test(asio::io_context& io, Pool& pool) {
  std::shared_ptr<void> slot;
  asio::co_spawn(
      io,
      [](Pool& p, std::shared_ptr<void>& out) -> awaitable<void> {
        out = co_await p.reserve_slot();
      }(pool, slot),
      asio::detached);
  io.restart();
  io.run_for(50ms);
  return slot;
}

// A burst larger than the pool: a client waiting for room takes a pooled connection that comes
// back, instead of closing it to open a new one (the backend would briefly see both).
TEST(PoolGreeting, AWaiterTakesAConnectionThatComesBackInsteadOfClosingIt) {
  asio::io_context io;
  auto shared = std::make_shared<PoolShared>();
  shared->max_connections = 1;
  shared->acquire_timeout_ms = 10000;
  Pool pool(io, shared);
  SocketPair pair(io);
  auto conn = std::make_unique<BackendConnection>(std::move(pair.a));
  conn->authenticated = true;
  conn->id = 42;
  conn->pool_slot = co_spawn_reserve_for_test(io, pool);
  ASSERT_TRUE(conn->pool_slot);
  ASSERT_TRUE(pool.under_pressure());

  std::optional<Pool::GreetingSource> got;
  asio::co_spawn(
      io,
      [](Pool& p, std::optional<Pool::GreetingSource>& out) -> awaitable<void> {
        out = co_await p.acquire_for_greeting(0, Clock::time_point::max());
      }(pool, got),
      asio::detached);
  io.restart();
  io.run_for(30ms);
  EXPECT_FALSE(got.has_value());  // still waiting: the only slot is taken
  EXPECT_EQ(shared->waiting.load(), 1u);
  pool.give_back(std::move(conn));
  io.restart();
  io.run_for(200ms);
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->idle);
  EXPECT_EQ(got->idle->id, 42u);
  EXPECT_FALSE(got->slot);
  EXPECT_TRUE(got->idle->stream.is_open());
  EXPECT_EQ(shared->open.load(), 1u);
  EXPECT_EQ(shared->waiting.load(), 0u);
}

TEST(PoolGreeting, AnIdleConnectionIsTakenAtOnceAndNoSlotWhenNoneIsFree) {
  asio::io_context io;
  auto shared = std::make_shared<PoolShared>();
  shared->max_connections = 1;
  shared->acquire_timeout_ms = 10000;
  Pool pool(io, shared);
  std::optional<Pool::GreetingSource> got;
  auto acquire = [&](Clock::time_point not_after) {
    got.reset();
    asio::co_spawn(
        io,
        [](Pool& p, Clock::time_point t,
           std::optional<Pool::GreetingSource>& out) -> awaitable<void> {
          out = co_await p.acquire_for_greeting(0, t);
        }(pool, not_after, got),
        asio::detached);
    io.restart();
    io.run_for(300ms);
  };
  acquire(Clock::time_point::max());  // nothing idle, room: a slot
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->idle);
  ASSERT_TRUE(got->slot);
  std::shared_ptr<void> held = std::move(got->slot);
  acquire(Clock::now() + 50ms);  // no room, nothing comes back: empty at the deadline
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->idle);
  EXPECT_FALSE(got->slot);
  EXPECT_EQ(shared->waiting.load(), 0u);
}

}  // namespace
}  // namespace ghostgate::proxy
