// Inputs found by the fuzzers (fuzz/, scripts/fuzz.sh), kept as regression tests. Each names the
// target that found it and what was wrong.

#include <gtest/gtest.h>

#include "protocol/handshake.h"
#include "protocol/statement.h"
#include "protocol/test_util.h"

namespace ghostgate::protocol {
namespace {

using testing::ByteVec;
using testing::hex;

// fuzz_handshake_v10: a greeting whose auth-plugin-data length byte says 255 and whose part 2
// did not end with NUL decoded to a 255-byte scramble that no HandshakeV10 can carry (the
// length byte would overflow), so decode -> encode -> decode changed the scramble and plugin.
// Part 2 must end with its NUL.
TEST(FuzzRegression, HandshakeScrambleWithoutNul) {
  const ByteVec p = hex(
      "0a352e322d6d320052000000223d4e5029ffffffffffffffffffffffffa575395600ffff6f6f6f6f6f6f6f6f6f"
      "6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f"
      "6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f"
      "6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f"
      "6f6f6f6f6f6f6f6f6f6f6f676f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f0a3500000000"
      "000000b86f6f6f6f6f6f6f6f6f6f6f6f6f676f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f"
      "0a3500000000000000b800ff290000296440525c1d1d1d1d1d551d1d");
  HandshakeV10 h;
  EXPECT_TRUE(testing::is_truncation_error(parse_handshake_v10(p, h)));
  // The same greeting with a proper part 2 (12 bytes + NUL) is fine and round-trips.
  HandshakeV10 ok;
  ok.server_version = "5.2-m2";
  ok.scramble = std::string(20, 'x');
  ok.capabilities = 0xffffffff;
  ok.auth_plugin = "mysql_native_password";
  ByteVec out;
  Writer w(out);
  serialize_handshake_v10(ok, w);
  HandshakeV10 back;
  ASSERT_FALSE(parse_handshake_v10(out, back));
  EXPECT_EQ(back.scramble, ok.scramble);
  EXPECT_EQ(back.auth_plugin, ok.auth_plugin);
}

// fuzz_stmt: a PREPARE_OK with a non-zero reserved byte decoded, and re-encoded with 0.
TEST(FuzzRegression, PrepareOkReservedByteMustBeZero) {
  StmtPrepareOk ok;
  EXPECT_EQ(parse_stmt_prepare_ok(hex("00 01 00 18 02 00 02 00 00 13 00 00"), ok),
            make_error_code(Errc::malformed));
  EXPECT_FALSE(parse_stmt_prepare_ok(hex("00 01 00 18 02 00 02 00 00 00 00 00"), ok));
}

}  // namespace
}  // namespace ghostgate::protocol
