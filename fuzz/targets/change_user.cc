// COM_CHANGE_USER: 4 bytes of client capabilities, then the payload.
#include "fuzz_util.h"
#include "protocol/handshake.h"

using namespace ghostgate::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ghostgate::fuzz::Input in(data, size);
  const auto caps = static_cast<Capabilities>(in.take(4));
  const std::vector<std::uint8_t> payload = in.rest();
  ChangeUser c;
  if (parse_change_user(payload, caps, c)) {
    return 0;
  }
  std::vector<std::uint8_t> out;
  Writer w(out);
  serialize_change_user(c, caps, w);
  ChangeUser c2;
  FUZZ_CHECK(!parse_change_user(out, caps, c2));
  FUZZ_CHECK(c.user == c2.user && c.auth_response == c2.auth_response &&
             c.database == c2.database && c.charset == c2.charset &&
             c.auth_plugin == c2.auth_plugin && c.connect_attrs == c2.connect_attrs &&
             c.has_connect_attrs == c2.has_connect_attrs);
  return 0;
}
