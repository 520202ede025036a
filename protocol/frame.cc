#include "protocol/frame.h"

#include <algorithm>

namespace ghostgate::protocol {

std::error_code next_packet(Bytes input, std::size_t max_payload,
                            std::vector<std::uint8_t>& scratch, Packet& out) {
  if (input.size() < frame_header_size) {
    return Errc::incomplete;
  }
  FrameHeader h = parse_frame_header(input.data());
  if (h.length < max_frame_payload) {
    // The common case: one frame, no copy.
    if (h.length > max_payload) {
      return Errc::packet_too_large;
    }
    if (input.size() < frame_header_size + h.length) {
      return Errc::incomplete;
    }
    out.payload = input.subspan(frame_header_size, h.length);
    out.first_sequence = h.sequence;
    out.next_sequence = static_cast<std::uint8_t>(h.sequence + 1);
    out.wire_size = frame_header_size + h.length;
    return {};
  }
  // Continuation frames: check they are all here before copying anything.
  std::size_t pos = 0;
  std::size_t total = 0;
  std::uint8_t expected = h.sequence;
  for (;;) {
    if (input.size() - pos < frame_header_size) {
      return Errc::incomplete;
    }
    const FrameHeader f = parse_frame_header(input.data() + pos);
    if (f.sequence != expected) {
      return Errc::bad_sequence;
    }
    total += f.length;
    if (total > max_payload) {
      return Errc::packet_too_large;
    }
    if (input.size() - pos - frame_header_size < f.length) {
      return Errc::incomplete;
    }
    pos += frame_header_size + f.length;
    expected = static_cast<std::uint8_t>(expected + 1);
    if (f.length < max_frame_payload) {
      break;
    }
  }
  scratch.clear();
  scratch.reserve(total);
  std::size_t p = 0;
  while (p < pos) {
    const FrameHeader f = parse_frame_header(input.data() + p);
    const auto* begin = input.data() + p + frame_header_size;
    scratch.insert(scratch.end(), begin, begin + f.length);
    p += frame_header_size + f.length;
  }
  out.payload = Bytes(scratch.data(), scratch.size());
  out.first_sequence = h.sequence;
  out.next_sequence = expected;
  out.wire_size = pos;
  return {};
}

void append_packet(std::vector<std::uint8_t>& out, std::uint8_t& seq, Bytes payload) {
  std::size_t pos = 0;
  for (;;) {
    const std::size_t n = std::min(payload.size() - pos, max_frame_payload);
    const std::size_t at = out.size();
    out.resize(at + frame_header_size);
    write_frame_header(out.data() + at, static_cast<std::uint32_t>(n), seq++);
    out.insert(out.end(), payload.begin() + pos, payload.begin() + pos + n);
    pos += n;
    if (n < max_frame_payload) {
      break;
    }
  }
}

PacketBuilder::PacketBuilder(std::vector<std::uint8_t>& out)
    : out_(out), header_pos_(out.size()), writer_(out) {
  out_.resize(out_.size() + frame_header_size);
}

void PacketBuilder::finish(std::uint8_t& seq) {
  const std::size_t length = out_.size() - header_pos_ - frame_header_size;
  if (length < max_frame_payload) {
    write_frame_header(out_.data() + header_pos_, static_cast<std::uint32_t>(length), seq++);
    return;
  }
  // Rare for synthesized packets: move the payload out and frame it properly.
  std::vector<std::uint8_t> payload(out_.begin() + header_pos_ + frame_header_size, out_.end());
  out_.resize(header_pos_);
  append_packet(out_, seq, payload);
}

void renumber_frames(std::uint8_t* data, std::size_t size, std::uint8_t& seq) {
  std::size_t pos = 0;
  while (pos + frame_header_size <= size) {
    const FrameHeader f = parse_frame_header(data + pos);
    data[pos + 3] = seq++;
    pos += frame_header_size + f.length;
  }
}

}  // namespace ghostgate::protocol
