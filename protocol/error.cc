#include "protocol/error.h"

#include <string>

namespace ghostgate::protocol {
namespace {

class ProtocolCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ghostgate.protocol"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::ok:
        return "ok";
      case Errc::incomplete:
        return "incomplete message";
      case Errc::truncated:
        return "truncated message";
      case Errc::bad_sequence:
        return "packets out of order";
      case Errc::packet_too_large:
        return "packet too large";
      case Errc::malformed:
        return "malformed packet";
      case Errc::unexpected_packet:
        return "unexpected packet";
      case Errc::unsupported:
        return "unsupported protocol feature";
      case Errc::auth_plugin_unknown:
        return "unknown authentication plugin";
      case Errc::auth_failed:
        return "authentication failed";
    }
    return "unknown protocol error";
  }
};

}  // namespace

const std::error_category& protocol_category() noexcept {
  static const ProtocolCategory category;
  return category;
}

}  // namespace ghostgate::protocol
