#pragma once
// Buffered packet reading over a Stream. Packets are views into the buffer, valid until the
// caller consumes them (or the buffer is released): the common path copies nothing.

#include <cstdint>
#include <vector>

#include "protocol/frame.h"
#include "proxy/net/asio.h"
#include "proxy/net/stream.h"

namespace ghostgate::proxy {

class Counter;

// Read buffers: 16 KiB blocks from a per-thread cache (BlockCache), lent to an InBuffer
// while it has bytes to hold and given back between commands, so an idle connection holds no
// block. A client's InBuffer reads its first bytes into a small array of its own: a typical
// command fits there and takes no block at all.
class BlockCache {
 public:
  static constexpr std::size_t block_size = 16 * 1024;
  // Blocks kept per thread for reuse (4 MiB); more are freed.
  static constexpr std::size_t max_cached = 256;

  // A block of block_size bytes: a cached one if there is one.
  static std::uint8_t* take();
  static void give(std::uint8_t* block);
  // Blocks cached on this thread, and blocks lent out by it (taken minus given): for tests and
  // the bench.
  static std::size_t cached();
  static std::size_t lent();
};

class InBuffer {
 public:
  // Bytes a buffer holds without a block.
  static constexpr std::size_t inline_size = 512;
  // Where fill() puts the first bytes of an empty buffer: into the inline array (client
  // commands, mostly small), or straight into a block (backend responses).
  enum class First { inline_bytes, block };

  explicit InBuffer(First first = First::block) : first_(first) {}
  ~InBuffer() { free_storage(); }
  InBuffer(const InBuffer&) = delete;
  InBuffer& operator=(const InBuffer&) = delete;

  protocol::Bytes data() const { return {buf_ + begin_, end_ - begin_}; }
  std::uint8_t* mutable_data() { return buf_ + begin_; }
  std::size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  void consume(std::size_t n);
  // Reads at least one more byte from `stream` (as many as are ready, up to the free space, and
  // at most `limit`).
  awaitable<error_code> fill(Stream& stream, std::size_t limit = SIZE_MAX);
  // Between commands: gives the block (or a buffer grown for a large packet or response) back,
  // keeping what is unread in the inline array if it fits there. Packet views die here.
  void release();
  // Doubles the buffer, up to `max` bytes, if the last fill() took all the room it had: more
  // was probably waiting in the kernel.
  void grow_if_filled(std::size_t max);
  // Adds every byte read to `counter` (e.g. the client-bytes metric).
  void count_into(Counter* counter) { counter_ = counter; }
  // The room the buffer has now: inline_size when it holds no block.
  std::size_t capacity() const { return cap_; }
  bool holds_block() const { return buf_ != inline_; }

 private:
  // Moves the unread bytes into storage of `cap` bytes (a cached block for block_size).
  void move_to(std::size_t cap);
  void free_storage();

  std::uint8_t* buf_ = inline_;
  std::size_t cap_ = inline_size;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  Counter* counter_ = nullptr;
  First first_;
  bool last_fill_full_ = false;
  std::uint8_t inline_[inline_size];
};

// Reads one whole packet (continuation frames joined into `scratch`). The packet's bytes stay
// in `in` until the caller calls in.consume(packet.wire_size).
awaitable<error_code> read_packet(Stream& stream, InBuffer& in, std::size_t max_payload,
                                  std::vector<std::uint8_t>& scratch, protocol::Packet& out);

// Like read_packet, but never reads a byte past the packet's end: for the packet before a TLS
// upgrade (SSLRequest), whose sender goes on with the TLS handshake without waiting, so bytes
// read ahead here would be lost to the TLS layer. Single-frame packets only.
awaitable<error_code> read_packet_exact(Stream& stream, InBuffer& in, std::size_t max_payload,
                                        std::vector<std::uint8_t>& scratch, protocol::Packet& out);

// Converts a protocol error into the proxy's error_code type.
error_code to_error_code(std::error_code ec);

}  // namespace ghostgate::proxy
