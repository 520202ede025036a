// Primitive encodings and frames: lenenc tables both ways, the failure table, 16 MiB
// continuation frames, next_packet on input split at every position, renumber_frames.

#include "protocol/frame.h"

#include <gtest/gtest.h>

#include "protocol/codec.h"
#include "protocol/golden_mariadb.h"
#include "protocol/test_util.h"

namespace ghostgate::protocol {
namespace {

using testing::ByteVec;
using testing::hex;

// ---- Codec -----------------------------------------------------------------------------------

struct LenencCase {
  std::uint64_t value;
  const char* hex;
};

// page_protocol_basic_dt_integers: 1, 3, 4 or 9 bytes at the documented boundaries.
const LenencCase lenenc_cases[] = {
    {0, "00"},
    {250, "fa"},
    {251, "fc fb 00"},
    {0xffff, "fc ff ff"},
    {0x10000, "fd 00 00 01"},
    {0xffffff, "fd ff ff ff"},
    {0x1000000, "fe 00 00 00 01 00 00 00 00"},
    {0xffffffffffffffffull, "fe ff ff ff ff ff ff ff ff"},
};

TEST(Codec, LenencBothWays) {
  for (const auto& c : lenenc_cases) {
    const ByteVec bytes = hex(c.hex);
    Reader r(bytes);
    EXPECT_EQ(r.read_lenenc_int(), c.value) << c.hex;
    EXPECT_TRUE(r.ok() && r.at_end()) << c.hex;
    ByteVec out;
    Writer w(out);
    w.write_lenenc_int(c.value);
    EXPECT_EQ(out, bytes) << c.hex;
    EXPECT_EQ(lenenc_int_size(c.value), bytes.size());
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      Reader t(Bytes(bytes.data(), n));
      t.read_lenenc_int();
      EXPECT_EQ(t.error(), make_error_code(Errc::truncated)) << c.hex << " cut at " << n;
    }
  }
}

TEST(Codec, FailureTable) {
  struct {
    const char* name;
    const char* hex;
    int op;  // 0 lenenc int, 1 lenenc string, 2 NUL string, 3 int<4>
    Errc expected;
  } cases[] = {
      {"lenenc_null_marker", "fb", 0, Errc::malformed},
      {"lenenc_err_marker", "ff 00 00", 0, Errc::malformed},
      {"lenenc_2_short", "fc 01", 0, Errc::truncated},
      {"lenenc_3_short", "fd 01 02", 0, Errc::truncated},
      {"lenenc_8_short", "fe 01 02 03 04 05 06 07", 0, Errc::truncated},
      {"string_past_end", "05 61 62", 1, Errc::truncated},
      {"string_huge_length", "fe ff ff ff ff ff ff ff ff 61", 1, Errc::truncated},
      {"string_bad_length", "fb 61", 1, Errc::malformed},
      {"nul_string_unterminated", "61 62 63", 2, Errc::truncated},
      {"nul_string_empty_input", "", 2, Errc::truncated},
      {"int4_short", "01 02 03", 3, Errc::truncated},
  };
  for (const auto& c : cases) {
    const ByteVec bytes = hex(c.hex);
    Reader r(bytes);
    switch (c.op) {
      case 0:
        r.read_lenenc_int();
        break;
      case 1:
        r.read_lenenc_string();
        break;
      case 2:
        r.read_null_string();
        break;
      default:
        r.read_u32();
        break;
    }
    EXPECT_EQ(r.error(), make_error_code(c.expected)) << c.name;
    // The first error sticks and later reads return nothing.
    EXPECT_EQ(r.read_u8(), 0) << c.name;
    EXPECT_TRUE(r.read_rest().empty()) << c.name;
    EXPECT_EQ(r.error(), make_error_code(c.expected)) << c.name;
  }
}

TEST(Codec, ReadsFromAnEmptySpanAreErrors) {
  Reader r(Bytes{});
  EXPECT_TRUE(r.read_null_string().empty());
  EXPECT_EQ(r.error(), make_error_code(Errc::truncated));
  Reader r2(Bytes{});
  EXPECT_TRUE(r2.read_rest().empty());
  EXPECT_TRUE(r2.ok());
  EXPECT_EQ(r2.read_int(9), 0u);  // width over 8 is an error, not UB
  EXPECT_FALSE(r2.ok());
}

// ---- next_packet ------------------------------------------------------------------------------

TEST(Frames, EveryPrefixOfAResponseIsIncompleteUntilThePacketEnds) {
  // MariaDB's answer to CALL gg.two(): twelve small packets.
  const ByteVec stream(std::begin(golden::eof_call_two_response),
                       std::end(golden::eof_call_two_response));
  std::vector<std::uint8_t> scratch;
  std::size_t pos = 0;
  int packets = 0;
  std::uint8_t expected_seq = 1;
  while (pos < stream.size()) {
    Packet full;
    ASSERT_FALSE(
        next_packet(Bytes(stream.data() + pos, stream.size() - pos), 1 << 24, scratch, full));
    for (std::size_t n = 0; n < full.wire_size; ++n) {
      Packet p;
      EXPECT_EQ(next_packet(Bytes(stream.data() + pos, n), 1 << 24, scratch, p),
                make_error_code(Errc::incomplete))
          << "packet " << packets << " cut at " << n;
    }
    EXPECT_EQ(full.first_sequence, expected_seq);
    expected_seq = full.next_sequence;
    pos += full.wire_size;
    ++packets;
  }
  EXPECT_EQ(pos, stream.size());
  EXPECT_EQ(packets, 12);
}

struct BigCase {
  const char* name;
  std::size_t size;
  std::size_t frames;
};

class BigPackets : public ::testing::TestWithParam<BigCase> {};

TEST_P(BigPackets, AppendThenReadBack) {
  const BigCase& c = GetParam();
  ByteVec payload(c.size);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<std::uint8_t>(i * 7);
  }
  ByteVec wire;
  std::uint8_t seq = 250;  // wraps past 255
  append_packet(wire, seq, payload);
  EXPECT_EQ(seq, static_cast<std::uint8_t>(250 + c.frames));
  EXPECT_EQ(wire.size(), c.size + 4 * c.frames);
  // Frame headers: all full frames are 0xffffff, the last is shorter (possibly empty).
  std::size_t pos = 0;
  for (std::size_t f = 0; f < c.frames; ++f) {
    const FrameHeader h = parse_frame_header(wire.data() + pos);
    EXPECT_EQ(h.sequence, static_cast<std::uint8_t>(250 + f));
    EXPECT_EQ(h.length == max_frame_payload, f + 1 < c.frames);
    pos += 4 + h.length;
  }
  EXPECT_EQ(pos, wire.size());

  wire.push_back(0x99);  // a byte of the next packet
  std::vector<std::uint8_t> scratch;
  Packet p;
  ASSERT_FALSE(next_packet(wire, 64u << 20, scratch, p));
  EXPECT_EQ(p.wire_size, wire.size() - 1);
  EXPECT_EQ(p.first_sequence, 250);
  EXPECT_EQ(p.next_sequence, static_cast<std::uint8_t>(250 + c.frames));
  ASSERT_EQ(p.payload.size(), payload.size());
  EXPECT_TRUE(std::equal(p.payload.begin(), p.payload.end(), payload.begin()));

  // Cut anywhere (headers and frame boundaries especially): incomplete.
  std::vector<std::size_t> cuts = {0,
                                   3,
                                   4,
                                   5,
                                   max_frame_payload + 3,
                                   max_frame_payload + 4,
                                   max_frame_payload + 7,
                                   max_frame_payload + 8,
                                   wire.size() - 2};
  for (std::size_t cut : cuts) {
    if (cut >= wire.size() - 1) {
      continue;
    }
    Packet q;
    EXPECT_EQ(next_packet(Bytes(wire.data(), cut), 64u << 20, scratch, q),
              make_error_code(Errc::incomplete))
        << cut;
  }
  // Over the limit: refused as soon as the frame headers say so.
  Packet q;
  EXPECT_EQ(next_packet(Bytes(wire.data(), 4), c.size - 1, scratch, q),
            c.size - 1 >= max_frame_payload ? make_error_code(Errc::incomplete)
                                            : make_error_code(Errc::packet_too_large));
  EXPECT_EQ(next_packet(wire, c.size - 1, scratch, q), make_error_code(Errc::packet_too_large));
}

TEST_P(BigPackets, PacketBuilderSplitsLikeAppendPacket) {
  const BigCase& c = GetParam();
  ByteVec built;
  std::uint8_t seq = 3;
  PacketBuilder b(built);
  b.writer().write_zeros(c.size);
  b.finish(seq);
  ByteVec appended;
  std::uint8_t seq2 = 3;
  append_packet(appended, seq2, ByteVec(c.size, 0));
  EXPECT_EQ(seq, seq2);
  EXPECT_TRUE(built == appended);
}

INSTANTIATE_TEST_SUITE_P(Continuation, BigPackets,
                         ::testing::Values(BigCase{"exactly_0xffffff", max_frame_payload, 2},
                                           BigCase{"0xffffff_plus_10", max_frame_payload + 10, 2},
                                           BigCase{"two_full_frames", 2 * max_frame_payload, 3},
                                           BigCase{"40_mib", 40u << 20, 3}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Frames, FailureTable) {
  std::vector<std::uint8_t> scratch;
  Packet p;
  // A single frame longer than the limit.
  EXPECT_EQ(next_packet(hex("10 00 00 00"), 15, scratch, p),
            make_error_code(Errc::packet_too_large));
  // A continuation frame with the wrong sequence id.
  ByteVec wire;
  std::uint8_t seq = 0;
  append_packet(wire, seq, ByteVec(max_frame_payload + 1, 1));
  wire[4 + max_frame_payload + 3] = 7;
  EXPECT_EQ(next_packet(wire, 1u << 30, scratch, p), make_error_code(Errc::bad_sequence));
  // Fewer than 4 bytes, or a payload still arriving.
  EXPECT_EQ(next_packet(hex("01 00"), 100, scratch, p), make_error_code(Errc::incomplete));
  EXPECT_EQ(next_packet(hex("02 00 00 00 01"), 100, scratch, p), make_error_code(Errc::incomplete));
  // An empty packet is a packet.
  ASSERT_FALSE(next_packet(hex("00 00 00 05"), 100, scratch, p));
  EXPECT_TRUE(p.payload.empty());
  EXPECT_EQ(p.next_sequence, 6);
}

TEST(Frames, RenumberFrames) {
  // CALL's response starts at sequence 1; renumbered from 5, sequence ids run 5..16 and the
  // payloads are untouched.
  ByteVec stream(std::begin(golden::eof_call_two_response),
                 std::end(golden::eof_call_two_response));
  const ByteVec original = stream;
  std::uint8_t seq = 5;
  renumber_frames(stream.data(), stream.size(), seq);
  EXPECT_EQ(seq, 17);
  auto a = testing::packets_of(stream);
  auto b = testing::packets_of(original);
  EXPECT_EQ(a, b);
  std::size_t pos = 0;
  std::uint8_t expect = 5;
  while (pos < stream.size()) {
    const FrameHeader h = parse_frame_header(stream.data() + pos);
    EXPECT_EQ(h.sequence, expect++);
    pos += 4 + h.length;
  }
  // A 16 MiB packet's frames are renumbered one by one and wrap at 255.
  ByteVec big;
  std::uint8_t s = 0;
  append_packet(big, s, ByteVec(max_frame_payload + 5, 0));
  std::uint8_t r = 255;
  renumber_frames(big.data(), big.size(), r);
  EXPECT_EQ(r, 1);
  EXPECT_EQ(big[3], 255);
  EXPECT_EQ(big[4 + max_frame_payload + 3], 0);
}

}  // namespace
}  // namespace ghostgate::protocol
