#pragma once
// Helpers shared by the protocol tests.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/codec.h"
#include "protocol/error.h"
#include "protocol/frame.h"

namespace ghostgate::protocol::testing {

using ByteVec = std::vector<std::uint8_t>;

// "0a 35 2e" or "0a352e" -> bytes. Whitespace is ignored.
inline ByteVec hex(std::string_view s) {
  ByteVec out;
  int hi = -1;
  for (char c : s) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      continue;
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

inline std::string to_hex(Bytes b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::uint8_t c : b) {
    s += digits[c >> 4];
    s += digits[c & 15];
    s += ' ';
  }
  return s;
}

template <std::size_t N>
ByteVec vec(const std::uint8_t (&a)[N]) {
  return ByteVec(a, a + N);
}

// The payloads of the complete packets in a stream of frames (continuations joined).
inline std::vector<ByteVec> packets_of(Bytes frames) {
  std::vector<ByteVec> out;
  std::vector<std::uint8_t> scratch;
  std::size_t pos = 0;
  while (pos < frames.size()) {
    Packet p;
    const std::error_code ec = next_packet(frames.subspan(pos), 1u << 30, scratch, p);
    EXPECT_FALSE(ec) << ec.message() << " at " << pos;
    if (ec) {
      break;
    }
    out.emplace_back(p.payload.begin(), p.payload.end());
    pos += p.wire_size;
  }
  return out;
}

// The payload of the only packet of a frame.
inline ByteVec payload_of(Bytes frames) {
  auto p = packets_of(frames);
  EXPECT_EQ(p.size(), 1u);
  return p.empty() ? ByteVec{} : p[0];
}

// A decoder on a truncated input must fail with one of these, never succeed or crash.
inline bool is_truncation_error(std::error_code ec) {
  return ec == Errc::incomplete || ec == Errc::truncated || ec == Errc::malformed;
}

}  // namespace ghostgate::protocol::testing
