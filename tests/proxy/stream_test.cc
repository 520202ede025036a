// Stream's plain-TCP fast path: reads and writes try the syscall first and wait for readiness
// only when the socket is not ready. It must move every byte, in order, through a peer that
// makes it wait, and a stream whose data is always ready must still let the worker's other
// sessions run. One io_context (one thread, as a worker), real loopback sockets.

#include "proxy/net/stream.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "proxy/net/asio.h"

namespace ghostgate::proxy {
namespace {

using namespace std::chrono_literals;

struct Connected {
  explicit Connected(asio::io_context& io) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket a(io);
    a.connect(acceptor.local_endpoint());
    left = std::make_unique<Stream>(std::move(a));
    right = std::make_unique<Stream>(acceptor.accept());
  }
  std::unique_ptr<Stream> left;
  std::unique_ptr<Stream> right;
};

std::vector<std::uint8_t> pattern(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = static_cast<std::uint8_t>((i * 131) ^ (i >> 9));
  }
  return v;
}

TEST(Stream, MovesEveryByteInOrderWhenThePeerMakesItWait) {
  asio::io_context io;
  Connected c(io);
  // 8 MiB: far more than the kernel buffers hold, so the writer meets would_block many times;
  // the reader takes odd-sized bites so the reads end mid-write.
  const std::vector<std::uint8_t> sent = pattern(8 << 20);
  std::vector<std::uint8_t> got;
  IoResult wrote;
  error_code read_ec;
  asio::co_spawn(
      io,
      [](Stream& s, const std::vector<std::uint8_t>& data, IoResult& out) -> awaitable<void> {
        out = co_await s.write_all(asio::buffer(data));
        s.close();
      }(*c.left, sent, wrote),
      asio::detached);
  asio::co_spawn(
      io,
      [](Stream& s, std::vector<std::uint8_t>& out, error_code& ec) -> awaitable<void> {
        std::vector<std::uint8_t> buf(7919);
        for (;;) {
          IoResult r = co_await s.read_some(asio::buffer(buf));
          out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r.bytes));
          if (r.ec) {
            ec = r.ec;
            co_return;
          }
        }
      }(*c.right, got, read_ec),
      asio::detached);
  io.run_for(30s);
  EXPECT_FALSE(wrote.ec) << wrote.ec.message();
  EXPECT_EQ(wrote.bytes, sent.size());
  EXPECT_EQ(read_ec, asio::error::eof);
  ASSERT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent);
}

TEST(Stream, AStreamThatIsAlwaysReadyStillLetsOtherWorkRun) {
  asio::io_context io;
  Connected c(io);
  // 16 KiB already waiting in the receiver's kernel buffer (small enough that loopback delivers
  // it whole): every one of the 256 reads below could complete at once. Without a yield the
  // reader would finish before the other task ran even once.
  const std::vector<std::uint8_t> sent = pattern(16 * 1024);
  asio::write(c.left->socket(), asio::buffer(sent));
  int other_ran = 0;
  int other_ran_when_reader_done = -1;
  bool reader_done = false;
  asio::co_spawn(
      io,
      [](Stream& s, bool& done, const int& other, int& seen) -> awaitable<void> {
        std::vector<std::uint8_t> buf(64);
        std::size_t total = 0;
        while (total < 16 * 1024) {
          IoResult r = co_await s.read_some(asio::buffer(buf));
          if (r.ec) {
            break;
          }
          total += r.bytes;
        }
        seen = other;
        done = true;
      }(*c.right, reader_done, other_ran, other_ran_when_reader_done),
      asio::detached);
  asio::co_spawn(
      io,
      [](int& count, const bool& done) -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        while (!done) {
          ++count;
          co_await asio::post(ex, use_awaitable);
        }
      }(other_ran, reader_done),
      asio::detached);
  io.run_for(10s);
  ASSERT_TRUE(reader_done);
  // 256 reads with a yield at least every Stream::max_turns + 1 of them.
  EXPECT_GT(other_ran_when_reader_done, 0);
  EXPECT_GE(other_ran_when_reader_done, 256 / static_cast<int>(Stream::max_turns + 1) - 1);
}

TEST(Stream, AReadOnAClosedStreamFailsAtOnce) {
  asio::io_context io;
  Connected c(io);
  c.right->close();
  error_code ec;
  asio::co_spawn(
      io,
      [](Stream& s, error_code& out) -> awaitable<void> {
        std::uint8_t byte = 0;
        IoResult r = co_await s.read_some(asio::buffer(&byte, 1));
        out = r.ec;
      }(*c.right, ec),
      asio::detached);
  io.run_for(2s);
  EXPECT_TRUE(ec);
}

}  // namespace
}  // namespace ghostgate::proxy
