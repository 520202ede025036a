// HandshakeResponse41 and SSLRequest (the two first packets a client may send).
#include "fuzz_util.h"
#include "protocol/handshake.h"

using namespace ghostgate::protocol;

static bool same(const HandshakeResponse41& a, const HandshakeResponse41& b) {
  return a.capabilities == b.capabilities && a.max_packet_size == b.max_packet_size &&
         a.charset == b.charset && a.mariadb_capabilities == b.mariadb_capabilities &&
         a.user == b.user && a.auth_response == b.auth_response && a.database == b.database &&
         a.auth_plugin == b.auth_plugin && a.connect_attrs == b.connect_attrs &&
         a.has_connect_attrs == b.has_connect_attrs;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> payload(data, data + size);
  // An SSLRequest is exactly 32 bytes with CLIENT_SSL (0x800: bit 3 of the second byte) set;
  // it can never also parse as a HandshakeResponse41, which needs a user name after them.
  const bool ssl = is_ssl_request(payload, peek_client_capabilities(payload));
  FUZZ_CHECK(ssl == (payload.size() == 32 && (payload[1] & 0x08) != 0));
  if (ssl) {
    HandshakeResponse41 not_a_response;
    FUZZ_CHECK(parse_handshake_response41(payload, not_a_response));
  }
  SslRequest s;
  const bool parsed_ssl = !parse_ssl_request(payload, s);
  FUZZ_CHECK(!ssl || (parsed_ssl && (s.capabilities & cap::ssl)));
  if (parsed_ssl) {
    std::vector<std::uint8_t> out;
    Writer w(out);
    serialize_ssl_request(s, w);
    SslRequest s2;
    FUZZ_CHECK(!parse_ssl_request(out, s2));
    FUZZ_CHECK(s.capabilities == s2.capabilities && s.max_packet_size == s2.max_packet_size &&
               s.charset == s2.charset && s.mariadb_capabilities == s2.mariadb_capabilities);
  }
  HandshakeResponse41 r;
  if (parse_handshake_response41(payload, r)) {
    return 0;
  }
  std::vector<std::uint8_t> out;
  Writer w(out);
  serialize_handshake_response41(r, w);
  HandshakeResponse41 r2;
  FUZZ_CHECK(!parse_handshake_response41(out, r2));
  FUZZ_CHECK(same(r, r2));
  return 0;
}
