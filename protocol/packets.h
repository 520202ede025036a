#pragma once
// OK, ERR and EOF packets.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_ok_packet.html
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_err_packet.html
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_eof_packet.html

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "protocol/codec.h"
#include "protocol/constants.h"

namespace ghostgate::protocol {

struct OkPacket {
  std::uint8_t header = ok_header;  // 0xfe when it ends a result set under CLIENT_DEPRECATE_EOF
  std::uint64_t affected_rows = 0;
  std::uint64_t last_insert_id = 0;
  std::uint16_t status = 0;
  std::uint16_t warnings = 0;
  std::string_view info;           // human-readable text (and, with session tracking, the rest)
  std::string_view session_state;  // raw session-state-change block, when present
};

struct ErrPacket {
  std::uint16_t code = 0;
  std::string_view sql_state;  // 5 characters, empty for pre-4.1 errors
  std::string_view message;
};

struct EofPacket {
  std::uint16_t warnings = 0;
  std::uint16_t status = 0;
};

[[nodiscard]] std::error_code parse_ok(Bytes payload, Capabilities caps, OkPacket& out);
[[nodiscard]] std::error_code parse_err(Bytes payload, Capabilities caps, ErrPacket& out);
[[nodiscard]] std::error_code parse_eof(Bytes payload, EofPacket& out);

void serialize_ok(const OkPacket& ok, Capabilities caps, Writer& w);
void serialize_err(const ErrPacket& err, Capabilities caps, Writer& w);
void serialize_eof(const EofPacket& eof, Writer& w);

// A 0xfe packet is an EOF (or an OK ending a result set) only when short; a row or a column
// count can start with 0xfe only in a packet of 2^24 bytes or more.
inline bool is_eof_packet(Bytes payload) {
  return !payload.empty() && payload[0] == eof_header && payload.size() < max_frame_payload;
}
inline bool is_err_packet(Bytes payload) { return !payload.empty() && payload[0] == err_header; }
inline bool is_ok_packet(Bytes payload) { return !payload.empty() && payload[0] == ok_header; }

// Whole frames ready to write: an ERR packet with sequence id `seq` (advanced).
void append_err(std::vector<std::uint8_t>& out, std::uint8_t& seq, Capabilities caps,
                std::uint16_t code, std::string_view sql_state, std::string_view message);
void append_ok(std::vector<std::uint8_t>& out, std::uint8_t& seq, Capabilities caps,
               const OkPacket& ok);

// The status flags of a terminating packet (OK, EOF, or OK-as-EOF), or 0 if it has none.
std::uint16_t terminator_status(Bytes payload, Capabilities caps);

}  // namespace ghostgate::protocol

namespace ghostgate::protocol {

// Sets SERVER_MORE_RESULTS_EXISTS in a terminating OK or EOF payload, in place (when ghostgate
// stitches several responses into one multi-result answer). False if it is not a terminator.
bool set_more_results(std::uint8_t* payload, std::size_t length, Capabilities caps);

}  // namespace ghostgate::protocol
