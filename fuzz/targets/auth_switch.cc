// AuthSwitchRequest round trip, and the auth proofs on its data (they must never crash).
#include "fuzz_util.h"
#include "protocol/auth.h"
#include "protocol/handshake.h"

using namespace ghostgate::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> payload(data, data + size);
  AuthSwitchRequest a;
  if (parse_auth_switch_request(payload, a)) {
    return 0;
  }
  std::vector<std::uint8_t> out;
  Writer w(out);
  serialize_auth_switch_request(a, w);
  FUZZ_CHECK(out == payload);
  AuthSwitchRequest a2;
  FUZZ_CHECK(!parse_auth_switch_request(out, a2));
  FUZZ_CHECK(a.plugin == a2.plugin && a.data == a2.data);
  std::string proof;
  if (!auth_proof(a.plugin, "password", a.data, proof)) {
    FUZZ_CHECK(a.plugin == clear_password_plugin || proof.size() == 20 || proof.size() == 32);
  }
  return 0;
}
