// HandshakeV10: decode, encode, decode again gives the same struct.
#include "fuzz_util.h"
#include "protocol/handshake.h"

using namespace ghostgate::protocol;

static bool same(const HandshakeV10& a, const HandshakeV10& b) {
  return a.server_version == b.server_version && a.connection_id == b.connection_id &&
         a.scramble == b.scramble && a.capabilities == b.capabilities && a.charset == b.charset &&
         a.status == b.status && a.auth_plugin == b.auth_plugin &&
         a.mariadb_capabilities == b.mariadb_capabilities;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> payload(data, data + size);
  HandshakeV10 h;
  if (parse_handshake_v10(payload, h)) {
    return 0;
  }
  // The pre-4.1 greeting ends after the lower capability flags; ghostgate only ever encodes the
  // full layout, so that form has no exact round trip.
  const std::size_t short_form = 1 + h.server_version.size() + 1 + 4 + 8 + 1 + 2;
  if (payload.size() == short_form) {
    return 0;
  }
  std::vector<std::uint8_t> out;
  Writer w(out);
  serialize_handshake_v10(h, w);
  HandshakeV10 h2;
  FUZZ_CHECK(!parse_handshake_v10(out, h2));
  FUZZ_CHECK(same(h, h2));
  return 0;
}
