// InBuffer's memory between commands: a connection that has read its command and given its
// buffer back holds no block; the block goes to the thread's cache and the next read that needs
// one takes it from there; a large packet still reads whole after a release; many idle buffers
// hold nothing but their inline arrays. One io_context, real loopback sockets.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "protocol/frame.h"
#include "proxy/net/asio.h"
#include "proxy/net/packet_io.h"
#include "proxy/net/stream.h"

namespace ghostgate::proxy {
namespace {

struct Connected {
  explicit Connected(asio::io_context& io) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket a(io);
    a.connect(acceptor.local_endpoint());
    writer = std::make_unique<Stream>(std::move(a));
    reader = std::make_unique<Stream>(acceptor.accept());
  }
  std::unique_ptr<Stream> writer;
  std::unique_ptr<Stream> reader;
};

// One packet of `payload_size` bytes (split into frames when large), the payload a pattern.
std::vector<std::uint8_t> packet_bytes(std::size_t payload_size, std::uint8_t seq = 0) {
  std::vector<std::uint8_t> payload(payload_size);
  for (std::size_t i = 0; i < payload_size; ++i) {
    payload[i] = static_cast<std::uint8_t>(i * 7 + 3);
  }
  std::vector<std::uint8_t> out;
  protocol::append_packet(out, seq, protocol::Bytes(payload));
  return out;
}

struct ReadOutcome {
  error_code ec;
  std::size_t payload_size = 0;
  bool payload_ok = false;
};

// Writes `bytes` from one end while reading one packet into `in` at the other, then consumes it.
ReadOutcome send_and_read(asio::io_context& io, Connected& c, InBuffer& in,
                          const std::vector<std::uint8_t>& bytes) {
  ReadOutcome out;
  std::vector<std::uint8_t> scratch;
  asio::co_spawn(
      io,
      [](Stream& s, const std::vector<std::uint8_t>& data) -> awaitable<void> {
        co_await s.write_all(asio::buffer(data));
      }(*c.writer, bytes),
      asio::detached);
  asio::co_spawn(
      io,
      [](Stream& s, InBuffer& buf, std::vector<std::uint8_t>& scratch,
         ReadOutcome& o) -> awaitable<void> {
        protocol::Packet p;
        o.ec = co_await read_packet(s, buf, std::size_t{1} << 30, scratch, p);
        if (!o.ec) {
          o.payload_size = p.payload.size();
          o.payload_ok = true;
          for (std::size_t i = 0; i < p.payload.size(); ++i) {
            if (p.payload[i] != static_cast<std::uint8_t>(i * 7 + 3)) {
              o.payload_ok = false;
              break;
            }
          }
          buf.consume(p.wire_size);
        }
      }(*c.reader, in, scratch, out),
      asio::detached);
  io.restart();
  io.run();
  return out;
}

TEST(InBuffer, SmallCommandStaysInlineAndTakesNoBlock) {
  asio::io_context io;
  Connected c(io);
  InBuffer in(InBuffer::First::inline_bytes);
  const std::size_t lent = BlockCache::lent();
  const ReadOutcome r = send_and_read(io, c, in, packet_bytes(60));
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.payload_size, 60u);
  EXPECT_TRUE(r.payload_ok);
  EXPECT_FALSE(in.holds_block());
  EXPECT_EQ(BlockCache::lent(), lent);
}

TEST(InBuffer, ReleasedBlockGoesToTheCacheAndComesBack) {
  asio::io_context io;
  Connected c(io);
  InBuffer in(InBuffer::First::block);
  const std::size_t lent = BlockCache::lent();
  ReadOutcome r = send_and_read(io, c, in, packet_bytes(100));
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_TRUE(in.holds_block());
  EXPECT_EQ(in.capacity(), BlockCache::block_size);
  EXPECT_EQ(BlockCache::lent(), lent + 1);

  const std::size_t cached = BlockCache::cached();
  in.release();
  EXPECT_FALSE(in.holds_block());
  EXPECT_EQ(in.capacity(), InBuffer::inline_size);
  EXPECT_EQ(BlockCache::lent(), lent);
  EXPECT_EQ(BlockCache::cached(), cached + 1);

  // The next read takes the cached block instead of allocating one.
  r = send_and_read(io, c, in, packet_bytes(100));
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_TRUE(r.payload_ok);
  EXPECT_EQ(BlockCache::cached(), cached);
  in.release();
  EXPECT_EQ(BlockCache::lent(), lent);
}

TEST(InBuffer, LargePacketsStillReadWholeAfterARelease) {
  asio::io_context io;
  Connected c(io);
  InBuffer in(InBuffer::First::inline_bytes);
  const std::size_t lent = BlockCache::lent();
  // 1 MiB (one frame, bigger than any block), then 17 MiB (two frames joined), each after a
  // release, then a small one that is back in the inline array.
  for (const std::size_t size : {std::size_t{1} << 20, std::size_t{17} << 20, std::size_t{5000}}) {
    in.release();
    const ReadOutcome r = send_and_read(io, c, in, packet_bytes(size));
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.payload_size, size);
    EXPECT_TRUE(r.payload_ok) << size;
  }
  in.release();
  EXPECT_FALSE(in.holds_block());
  const ReadOutcome r = send_and_read(io, c, in, packet_bytes(40));
  ASSERT_FALSE(r.ec);
  EXPECT_TRUE(r.payload_ok);
  EXPECT_FALSE(in.holds_block());
  EXPECT_EQ(BlockCache::lent(), lent);
}

TEST(InBuffer, UnreadBytesSurviveARelease) {
  asio::io_context io;
  Connected c(io);
  InBuffer in(InBuffer::First::block);
  // Two packets arrive together (a pipelining client): the first is consumed, the second stays
  // unread across the release and moves into the inline array.
  std::vector<std::uint8_t> two = packet_bytes(30);
  const std::vector<std::uint8_t> second = packet_bytes(50);
  two.insert(two.end(), second.begin(), second.end());
  const ReadOutcome r = send_and_read(io, c, in, two);
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(r.payload_size, 30u);
  ASSERT_EQ(in.size(), second.size());
  in.release();
  EXPECT_FALSE(in.holds_block());
  ASSERT_EQ(in.size(), second.size());
  EXPECT_TRUE(std::equal(second.begin(), second.end(), in.data().begin()));
  std::vector<std::uint8_t> scratch;
  protocol::Packet p;
  ASSERT_FALSE(protocol::next_packet(in.data(), 1 << 20, scratch, p));
  EXPECT_EQ(p.payload.size(), 50u);
}

TEST(InBuffer, ManyIdleConnectionsHoldNoBlocks) {
  // N connections that each read a command and a response and then went idle: no block is
  // lent out, and what each holds is its object (inline array included), nothing on the heap.
  constexpr int n = 200;
  asio::io_context io;
  std::vector<std::unique_ptr<Connected>> conns;
  std::vector<std::unique_ptr<InBuffer>> client(n);
  std::vector<std::unique_ptr<InBuffer>> backend(n);
  const std::size_t lent = BlockCache::lent();
  for (int i = 0; i < n; ++i) {
    conns.push_back(std::make_unique<Connected>(io));
    client[i] = std::make_unique<InBuffer>(InBuffer::First::inline_bytes);
    backend[i] = std::make_unique<InBuffer>(InBuffer::First::block);
    ASSERT_FALSE(send_and_read(io, *conns.back(), *client[i], packet_bytes(13)).ec);
    ASSERT_FALSE(send_and_read(io, *conns.back(), *backend[i], packet_bytes(3000)).ec);
    client[i]->release();
    backend[i]->release();
  }
  EXPECT_EQ(BlockCache::lent(), lent);
  for (int i = 0; i < n; ++i) {
    EXPECT_FALSE(client[i]->holds_block());
    EXPECT_FALSE(backend[i]->holds_block());
  }
  EXPECT_LE(BlockCache::cached(), BlockCache::max_cached);
  EXPECT_LE(sizeof(InBuffer), InBuffer::inline_size + 64);
}

TEST(InBuffer, GrownBufferIsFreedOnRelease) {
  asio::io_context io;
  Connected c(io);
  InBuffer in(InBuffer::First::block);
  const std::size_t lent = BlockCache::lent();
  // 200 KiB in one packet: reads fill the block, grow_if_filled doubles it (as the relay does).
  const std::vector<std::uint8_t> bytes = packet_bytes(200 * 1024);
  asio::co_spawn(
      io,
      [](Stream& s, const std::vector<std::uint8_t>& data) -> awaitable<void> {
        co_await s.write_all(asio::buffer(data));
      }(*c.writer, bytes),
      asio::detached);
  error_code ec;
  asio::co_spawn(
      io,
      [](Stream& s, InBuffer& buf, std::size_t want, error_code& out) -> awaitable<void> {
        while (buf.size() < want && !out) {
          buf.grow_if_filled(256 * 1024);
          out = co_await buf.fill(s);
        }
      }(*c.reader, in, bytes.size(), ec),
      asio::detached);
  io.run();
  ASSERT_FALSE(ec);
  ASSERT_EQ(in.size(), bytes.size());
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), in.data().begin()));
  EXPECT_GT(in.capacity(), BlockCache::block_size);
  in.consume(in.size());
  in.release();
  EXPECT_FALSE(in.holds_block());
  EXPECT_EQ(BlockCache::lent(), lent);
}

}  // namespace
}  // namespace ghostgate::proxy
