#pragma once
// Buffered packet reading over a Stream. Packets are views into the buffer, valid until the
// caller consumes them: the common path copies nothing.

#include <cstdint>
#include <vector>

#include "protocol/frame.h"
#include "proxy/net/asio.h"
#include "proxy/net/stream.h"

namespace ghostgate::proxy {

class Counter;

class InBuffer {
 public:
  explicit InBuffer(std::size_t initial = 16 * 1024) : initial_(initial) {}
  protocol::Bytes data() const { return {buf_.data() + begin_, end_ - begin_}; }
  std::uint8_t* mutable_data() { return buf_.data() + begin_; }
  std::size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  void consume(std::size_t n);
  // Reads at least one more byte from `stream` (as many as are ready, up to the free space, and
  // at most `limit`).
  awaitable<error_code> fill(Stream& stream, std::size_t limit = SIZE_MAX);
  // Releases memory after a large packet or response (the buffer grew past its initial size and
  // is empty), so idle connections stay small.
  void shrink();
  // Doubles the buffer, up to `max` bytes, if the last fill() took all the room it had: more
  // was probably waiting in the kernel.
  void grow_if_filled(std::size_t max);
  // Adds every byte read to `counter` (e.g. the client-bytes metric).
  void count_into(Counter* counter) { counter_ = counter; }

 private:
  std::vector<std::uint8_t> buf_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t initial_;
  Counter* counter_ = nullptr;
  bool last_fill_full_ = false;
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
