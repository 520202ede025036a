// OK / ERR / EOF: 4 bytes of capabilities, then the payload.
#include "fuzz_util.h"
#include "protocol/packets.h"

using namespace ghostgate::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ghostgate::fuzz::Input in(data, size);
  const auto caps = static_cast<Capabilities>(in.take(4));
  const std::vector<std::uint8_t> payload = in.rest();
  (void)terminator_status(payload, caps);
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
