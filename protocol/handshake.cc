#include "protocol/handshake.h"

#include <algorithm>

namespace ghostgate::protocol {

std::error_code parse_handshake_v10(Bytes payload, HandshakeV10& out) {
  Reader r(payload);
  out = HandshakeV10{};
  if (r.read_u8() != 10) {
    return r.ok() ? Errc::unsupported : r.error();
  }
  out.server_version = std::string(r.read_null_string());
  out.connection_id = r.read_u32();
  const std::string_view part1 = r.read_string(8);
  r.skip(1);  // filler
  Capabilities caps = r.read_u16();
  if (!r.ok()) {
    return r.error();
  }
  out.scramble.assign(part1);
  if (r.at_end()) {
    out.capabilities = caps;
    return {};
  }
  out.charset = r.read_u8();
  out.status = r.read_u16();
  caps |= static_cast<Capabilities>(r.read_u16()) << 16;
  const std::uint8_t auth_data_len = r.read_u8();
  r.skip(6);
  const std::uint32_t mariadb_caps = r.read_u32();
  if (!(caps & cap::long_password)) {
    out.mariadb_capabilities = mariadb_caps;
  }
  out.capabilities = caps;
  if (caps & cap::secure_connection) {
    // Part 2 is at least 13 bytes and ends with a NUL that is not part of the scramble.
    // Without CLIENT_PLUGIN_AUTH the length byte is a filler (always 0 from MySQL), so part 2
    // is the classic 13 bytes; honouring a stray value there would make the same struct
    // serialize to different bytes.
    const std::size_t n =
        (caps & cap::plugin_auth) ? std::max<int>(13, static_cast<int>(auth_data_len) - 8) : 13;
    // Every server sends all of it (12 bytes + NUL for a 20-byte scramble); a shorter part 2
    // is a cut packet, and accepting it would hand out a short scramble.
    std::string_view part2 = r.read_string(n);
    if (!r.ok()) {
      return r.error();
    }
    // The NUL ends the scramble (MySQL, MariaDB and TiDB all send it). Without it the
    // scramble would be longer than the length byte can describe, and would not re-encode.
    if (part2.back() != '\0') {
      return Errc::malformed;
    }
    part2.remove_suffix(1);
    out.scramble.append(part2);
  }
  if ((caps & cap::plugin_auth) && !r.at_end()) {
    // Some servers omit the final NUL.
    std::string_view rest = r.read_rest();
    if (const auto nul = rest.find('\0'); nul != std::string_view::npos) {
      rest = rest.substr(0, nul);
    }
    out.auth_plugin.assign(rest);
  }
  return r.error();
}

void serialize_handshake_v10(const HandshakeV10& h, Writer& w) {
  w.write_u8(10);
  w.write_null_string(h.server_version);
  w.write_u32(h.connection_id);
  std::string_view scramble = h.scramble;
  std::string_view part1 = scramble.substr(0, std::min<std::size_t>(8, scramble.size()));
  w.write_string(part1);
  w.write_zeros(8 - part1.size());
  w.write_u8(0);
  w.write_u16(static_cast<std::uint16_t>(h.capabilities));
  w.write_u8(h.charset);
  w.write_u16(h.status);
  w.write_u16(static_cast<std::uint16_t>(h.capabilities >> 16));
  w.write_u8((h.capabilities & cap::plugin_auth) ? static_cast<std::uint8_t>(scramble.size() + 1)
                                                 : 0);
  w.write_zeros(6);
  w.write_u32((h.capabilities & cap::long_password) ? 0 : h.mariadb_capabilities);
  if (h.capabilities & cap::secure_connection) {
    std::string_view part2 = scramble.size() > 8 ? scramble.substr(8) : std::string_view{};
    w.write_string(part2);
    // Part 2 is at least 13 bytes including its NUL.
    w.write_zeros(part2.size() + 1 < 13 ? 13 - part2.size() : 1);
  }
  if (h.capabilities & cap::plugin_auth) {
    w.write_null_string(h.auth_plugin);
  }
}

Capabilities peek_client_capabilities(Bytes payload) {
  if (payload.size() < 4) {
    return 0;
  }
  Reader r(payload);
  return r.read_u32();
}

std::error_code parse_ssl_request(Bytes payload, SslRequest& out) {
  Reader r(payload);
  out = SslRequest{};
  out.capabilities = r.read_u32();
  out.max_packet_size = r.read_u32();
  out.charset = r.read_u8();
  r.skip(19);
  out.mariadb_capabilities = r.read_u32();
  if (r.ok() && !r.at_end()) {
    return Errc::malformed;
  }
  return r.error();
}

void serialize_ssl_request(const SslRequest& s, Writer& w) {
  w.write_u32(s.capabilities);
  w.write_u32(s.max_packet_size);
  w.write_u8(s.charset);
  w.write_zeros(19);
  w.write_u32(s.mariadb_capabilities);
}

std::error_code parse_handshake_response41(Bytes payload, HandshakeResponse41& out) {
  Reader r(payload);
  out = HandshakeResponse41{};
  out.capabilities = r.read_u32();
  if (r.ok() && !(out.capabilities & cap::protocol_41)) {
    return Errc::unsupported;  // HandshakeResponse320: clients from before MySQL 4.1
  }
  out.max_packet_size = r.read_u32();
  out.charset = r.read_u8();
  r.skip(19);
  out.mariadb_capabilities = r.read_u32();
  out.user = std::string(r.read_null_string());
  if (out.capabilities & cap::plugin_auth_lenenc_data) {
    out.auth_response = std::string(r.read_lenenc_string());
  } else if (out.capabilities & cap::secure_connection) {
    const std::uint8_t n = r.read_u8();
    out.auth_response = std::string(r.read_string(n));
  } else {
    out.auth_response = std::string(r.read_null_string());
  }
  if ((out.capabilities & cap::connect_with_db) && !r.at_end()) {
    out.database = std::string(r.read_null_string());
  }
  if ((out.capabilities & cap::plugin_auth) && !r.at_end()) {
    out.auth_plugin = std::string(r.read_null_string());
  }
  if ((out.capabilities & cap::connect_attrs) && !r.at_end()) {
    out.connect_attrs = std::string(r.read_lenenc_string());
    out.has_connect_attrs = true;
  }
  return r.error();
}

void serialize_handshake_response41(const HandshakeResponse41& h, Writer& w) {
  w.write_u32(h.capabilities);
  w.write_u32(h.max_packet_size);
  w.write_u8(h.charset);
  w.write_zeros(19);
  w.write_u32(h.mariadb_capabilities);
  w.write_null_string(h.user);
  if (h.capabilities & cap::plugin_auth_lenenc_data) {
    w.write_lenenc_string(h.auth_response);
  } else if (h.capabilities & cap::secure_connection) {
    w.write_u8(static_cast<std::uint8_t>(h.auth_response.size()));
    w.write_string(h.auth_response);
  } else {
    w.write_null_string(h.auth_response);
  }
  if (h.capabilities & cap::connect_with_db) {
    w.write_null_string(h.database);
  }
  if (h.capabilities & cap::plugin_auth) {
    w.write_null_string(h.auth_plugin);
  }
  if ((h.capabilities & cap::connect_attrs) && h.has_connect_attrs) {
    w.write_lenenc_string(h.connect_attrs);
  }
}

std::error_code parse_auth_switch_request(Bytes payload, AuthSwitchRequest& out) {
  Reader r(payload);
  out = AuthSwitchRequest{};
  if (r.read_u8() != auth_switch_header) {
    return r.ok() ? Errc::malformed : r.error();
  }
  out.plugin = std::string(r.read_null_string());
  out.data = std::string(r.read_rest());
  return r.error();
}

void serialize_auth_switch_request(const AuthSwitchRequest& a, Writer& w) {
  w.write_u8(auth_switch_header);
  w.write_null_string(a.plugin);
  w.write_string(a.data);
}

std::error_code parse_change_user(Bytes payload, Capabilities caps, ChangeUser& out) {
  Reader r(payload);
  out = ChangeUser{};
  if (r.read_u8() != static_cast<std::uint8_t>(Command::change_user)) {
    return r.ok() ? Errc::malformed : r.error();
  }
  out.user = std::string(r.read_null_string());
  if (caps & cap::secure_connection) {
    const std::uint8_t n = r.read_u8();
    out.auth_response = std::string(r.read_string(n));
  } else {
    out.auth_response = std::string(r.read_null_string());
  }
  out.database = std::string(r.read_null_string());
  if (!r.at_end()) {
    out.charset = r.read_u16();
    if ((caps & cap::plugin_auth) && !r.at_end()) {
      out.auth_plugin = std::string(r.read_null_string());
    }
    if ((caps & cap::connect_attrs) && !r.at_end()) {
      out.connect_attrs = std::string(r.read_lenenc_string());
      out.has_connect_attrs = true;
    }
  }
  return r.error();
}

void serialize_change_user(const ChangeUser& c, Capabilities caps, Writer& w) {
  w.write_u8(static_cast<std::uint8_t>(Command::change_user));
  w.write_null_string(c.user);
  if (caps & cap::secure_connection) {
    w.write_u8(static_cast<std::uint8_t>(c.auth_response.size()));
    w.write_string(c.auth_response);
  } else {
    w.write_null_string(c.auth_response);
  }
  w.write_null_string(c.database);
  w.write_u16(c.charset);
  if (caps & cap::plugin_auth) {
    w.write_null_string(c.auth_plugin);
  }
  if ((caps & cap::connect_attrs) && c.has_connect_attrs) {
    w.write_lenenc_string(c.connect_attrs);
  }
}

}  // namespace ghostgate::protocol
