#pragma once
// Connection phase messages.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase.html

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "protocol/codec.h"
#include "protocol/constants.h"

namespace ghostgate::protocol {

// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets_protocol_handshake_v10.html
struct HandshakeV10 {
  std::string server_version;
  std::uint32_t connection_id = 0;
  std::string scramble;  // auth-plugin-data, parts 1 and 2 joined, without the trailing NUL
  Capabilities capabilities = 0;
  std::uint8_t charset = 0;
  std::uint16_t status = 0;
  std::string auth_plugin;
  // MariaDB puts its extended capabilities in the last 4 filler bytes when CLIENT_MYSQL (bit 0)
  // is clear. Kept only so a parse/serialize round trip is exact; ghostgate advertises none.
  std::uint32_t mariadb_capabilities = 0;
};

// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets_protocol_handshake_response.html
struct HandshakeResponse41 {
  Capabilities capabilities = 0;
  std::uint32_t max_packet_size = 0;
  std::uint8_t charset = 0;
  std::uint32_t mariadb_capabilities = 0;  // MariaDB: last 4 of the 23 filler bytes
  std::string user;
  std::string auth_response;  // secret: wipe after use
  std::string database;       // with CLIENT_CONNECT_WITH_DB
  std::string auth_plugin;    // with CLIENT_PLUGIN_AUTH
  std::string connect_attrs;  // raw key/value block (without its length) with CLIENT_CONNECT_ATTRS
  bool has_connect_attrs = false;
};

// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets_protocol_ssl_request.html
struct SslRequest {
  Capabilities capabilities = 0;
  std::uint32_t max_packet_size = 0;
  std::uint8_t charset = 0;
  std::uint32_t mariadb_capabilities = 0;
};

// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets_protocol_auth_switch_request.html
struct AuthSwitchRequest {
  std::string plugin;
  std::string data;  // usually a new scramble + NUL
};

// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_change_user.html
struct ChangeUser {
  std::string user;
  std::string auth_response;  // secret
  std::string database;
  std::uint16_t charset = 0;
  std::string auth_plugin;
  std::string connect_attrs;
  bool has_connect_attrs = false;
};

[[nodiscard]] std::error_code parse_handshake_v10(Bytes payload, HandshakeV10& out);
void serialize_handshake_v10(const HandshakeV10& h, Writer& w);

// A client's first packet is either an SSLRequest (32 bytes) or a HandshakeResponse41.
inline bool is_ssl_request(Bytes payload, Capabilities client_caps) {
  return payload.size() == 32 && (client_caps & cap::ssl);
}
[[nodiscard]] std::error_code parse_ssl_request(Bytes payload, SslRequest& out);
void serialize_ssl_request(const SslRequest& r, Writer& w);
[[nodiscard]] std::error_code parse_handshake_response41(Bytes payload, HandshakeResponse41& out);
void serialize_handshake_response41(const HandshakeResponse41& r, Writer& w);
// The capability flags at the start of any client handshake packet (0 if too short).
Capabilities peek_client_capabilities(Bytes payload);

[[nodiscard]] std::error_code parse_auth_switch_request(Bytes payload, AuthSwitchRequest& out);
void serialize_auth_switch_request(const AuthSwitchRequest& r, Writer& w);

// `client_caps` decides the layout (auth response length prefix, plugin, attributes).
[[nodiscard]] std::error_code parse_change_user(Bytes payload, Capabilities client_caps,
                                                ChangeUser& out);
void serialize_change_user(const ChangeUser& c, Capabilities client_caps, Writer& w);

// AuthMoreData: 0x01 + data. caching_sha2_password uses 0x03 (fast auth ok) and 0x04 (perform
// full authentication) as single-byte data.
inline constexpr std::uint8_t caching_sha2_fast_auth_ok = 0x03;
inline constexpr std::uint8_t caching_sha2_full_auth = 0x04;
inline constexpr std::uint8_t caching_sha2_request_public_key = 0x02;

}  // namespace ghostgate::protocol
