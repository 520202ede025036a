#pragma once
// Frames: 3-byte payload length + 1-byte sequence id. A payload of exactly 0xffffff bytes means
// the packet continues in the next frame (a packet that is a multiple of 0xffffff ends with an
// empty frame). https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_packets.html
// No I/O: the caller owns the buffers and the sockets.

#include <cstddef>
#include <cstdint>
#include <system_error>
#include <vector>

#include "protocol/codec.h"
#include "protocol/constants.h"

namespace ghostgate::protocol {

struct FrameHeader {
  std::uint32_t length = 0;
  std::uint8_t sequence = 0;
};

inline FrameHeader parse_frame_header(const std::uint8_t* p) {
  return {static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
              (static_cast<std::uint32_t>(p[2]) << 16),
          p[3]};
}

inline void write_frame_header(std::uint8_t* out, std::uint32_t length, std::uint8_t sequence) {
  out[0] = static_cast<std::uint8_t>(length);
  out[1] = static_cast<std::uint8_t>(length >> 8);
  out[2] = static_cast<std::uint8_t>(length >> 16);
  out[3] = sequence;
}

// One logical packet found at the start of an input buffer.
struct Packet {
  Bytes payload;  // a view into the input (one frame) or into the scratch buffer
  std::uint8_t first_sequence = 0;
  std::uint8_t next_sequence = 0;  // sequence id the next packet of the exchange must carry
  std::size_t wire_size = 0;       // bytes of input it occupies, headers included
};

// Finds the first complete packet in `input`, joining continuation frames into `scratch` when
// there is more than one frame. Returns Errc::incomplete when more bytes are needed,
// Errc::packet_too_large when the joined payload would exceed `max_payload`.
[[nodiscard]] std::error_code next_packet(Bytes input, std::size_t max_payload,
                                          std::vector<std::uint8_t>& scratch, Packet& out);

// Appends `payload` as frames starting at sequence `seq`; `seq` is advanced past them.
void append_packet(std::vector<std::uint8_t>& out, std::uint8_t& seq, Bytes payload);

// Builds one packet in place: reserves the header, lets the caller write the payload with
// writer(), then finish() fills in the header (splitting into frames if the payload is large).
class PacketBuilder {
 public:
  explicit PacketBuilder(std::vector<std::uint8_t>& out);
  Writer& writer() { return writer_; }
  void finish(std::uint8_t& seq);

 private:
  std::vector<std::uint8_t>& out_;
  std::size_t header_pos_;
  Writer writer_;
};

// Rewrites the sequence ids of every frame in a run of complete frames, starting at `seq`
// (advanced). Used when the proxy forwards packets inside an exchange it renumbered.
void renumber_frames(std::uint8_t* data, std::size_t size, std::uint8_t& seq);

}  // namespace ghostgate::protocol
