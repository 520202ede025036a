// OK / ERR / EOF: 4 bytes of capabilities, then the payload.
#include <optional>

#include "fuzz_util.h"
#include "protocol/packets.h"

using namespace ghostgate::protocol;

namespace {

// The status flags of a terminator, read by byte offsets from the protocol pages without the
// codec (an oracle for terminator_status): an EOF is fe, warnings(2), status(2), exactly;
// an OK (or an OK-as-EOF) is 00|fe, two length-encoded integers, then status (and warnings
// under protocol 4.1), then info and session state, which must fit. 0 for anything else.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_ok_packet.html
std::uint16_t expected_status(const std::vector<std::uint8_t>& p, Capabilities caps) {
  if (p.empty()) {
    return 0;
  }
  const auto u16 = [&](std::size_t at) {
    return static_cast<std::uint16_t>(p[at] | (p[at + 1] << 8));
  };
  if (p[0] == 0xfe && p.size() < 9 && !(caps & cap::deprecate_eof)) {
    return p.size() == 5 ? u16(3) : 0;
  }
  if (p[0] != 0x00 && p[0] != 0xfe) {
    return 0;
  }
  std::size_t at = 1;
  // A length-encoded integer at `at`: its value, or nullopt if malformed or cut.
  const auto lenenc = [&]() -> std::optional<std::uint64_t> {
    if (at >= p.size() || p[at] == 0xfb || p[at] == 0xff) {
      return std::nullopt;
    }
    const std::size_t width = p[at] < 0xfb ? 0 : p[at] == 0xfc ? 2 : p[at] == 0xfd ? 3 : 8;
    if (p.size() - at - 1 < width) {
      return std::nullopt;
    }
    std::uint64_t v = width == 0 ? p[at] : 0;
    for (std::size_t i = 0; i < width; ++i) {
      v |= static_cast<std::uint64_t>(p[at + 1 + i]) << (8 * i);
    }
    at += 1 + width;
    return v;
  };
  const auto lenenc_string = [&]() {
    const std::optional<std::uint64_t> n = lenenc();
    if (!n || *n > p.size() - at) {
      return false;
    }
    at += static_cast<std::size_t>(*n);
    return true;
  };
  if (!lenenc() || !lenenc()) {
    return 0;
  }
  const std::size_t fixed = (caps & cap::protocol_41) ? 4 : (caps & cap::transactions) ? 2 : 0;
  if (p.size() - at < fixed) {
    return 0;
  }
  const std::uint16_t status = fixed ? u16(at) : 0;
  at += fixed;
  if (at < p.size() && (caps & cap::session_track)) {
    if (!lenenc_string()) {
      return 0;
    }
    if ((status & status::session_state_changed) && at < p.size() && !lenenc_string()) {
      return 0;
    }
  }
  return status;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ghostgate::fuzz::Input in(data, size);
  const auto caps = static_cast<Capabilities>(in.take(4));
  const std::vector<std::uint8_t> payload = in.rest();
  FUZZ_CHECK(terminator_status(payload, caps) == expected_status(payload, caps));
  OkPacket ok;
  if (!parse_ok(payload, caps, ok)) {
    std::vector<std::uint8_t> out;
    Writer w(out);
    serialize_ok(ok, caps, w);
    OkPacket ok2;
    FUZZ_CHECK(!parse_ok(out, caps, ok2));
    FUZZ_CHECK(ok.header == ok2.header && ok.affected_rows == ok2.affected_rows &&
               ok.last_insert_id == ok2.last_insert_id && ok.info == ok2.info);
    if (caps & (cap::protocol_41 | cap::transactions)) {
      FUZZ_CHECK(ok.status == ok2.status);
    }
    if (caps & cap::protocol_41) {
      FUZZ_CHECK(ok.warnings == ok2.warnings);
    }
    if ((caps & cap::session_track) && (ok.status & status::session_state_changed)) {
      FUZZ_CHECK(ok.session_state == ok2.session_state);
    }
  }
  ErrPacket err;
  if (!parse_err(payload, caps, err)) {
    std::vector<std::uint8_t> out;
    Writer w(out);
    serialize_err(err, caps, w);
    ErrPacket err2;
    FUZZ_CHECK(!parse_err(out, caps, err2));
    FUZZ_CHECK(err.code == err2.code && err.message == err2.message);
    // serialize_err always sends a state under protocol 4.1: an absent one becomes HY000.
    if (caps & cap::protocol_41) {
      FUZZ_CHECK(err2.sql_state == (err.sql_state.empty() ? "HY000" : err.sql_state));
    }
  }
  EofPacket eof;
  if (!parse_eof(payload, eof)) {
    std::vector<std::uint8_t> out;
    Writer w(out);
    serialize_eof(eof, w);
    FUZZ_CHECK(out == payload);
  }
  return 0;
}
