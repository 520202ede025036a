#pragma once
// ghostgate's own error codes for the protocol layer. protocol/ and rules/ use std::error_code
// (no Boost below proxy/); the proxy converts at its boundary.

#include <system_error>

namespace ghostgate::protocol {

enum class Errc {
  ok = 0,
  incomplete,           // not enough bytes yet: read more and try again
  truncated,            // a length field points past the end of a complete packet
  bad_sequence,         // a frame's sequence id is not the one expected
  packet_too_large,     // joined payload over the configured limit
  malformed,            // the bytes do not form the expected message
  unexpected_packet,    // a valid packet that makes no sense in this state
  unsupported,          // a valid feature ghostgate does not handle
  auth_plugin_unknown,  // an authentication plugin ghostgate cannot compute
  auth_failed,          // a login proof that does not match the stored password
};

const std::error_category& protocol_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), protocol_category()};
}

}  // namespace ghostgate::protocol

template <>
struct std::is_error_code_enum<ghostgate::protocol::Errc> : std::true_type {};
