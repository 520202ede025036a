#pragma once
// Prepared statements: the COM_STMT_* requests and the COM_STMT_PREPARE_OK answer.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_command_phase_ps.html

#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

#include "protocol/codec.h"
#include "protocol/column.h"
#include "protocol/constants.h"
#include "protocol/rows.h"

namespace ghostgate::protocol {

// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_stmt_prepare.html
struct StmtPrepare {
  std::string_view query;

  bool operator==(const StmtPrepare&) const = default;
};

// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_stmt_prepare.html#sect_protocol_com_stmt_prepare_response_ok
// Without CLIENT_OPTIONAL_RESULTSET_METADATA (never negotiated by ghostgate) the packet is
// exactly 12 bytes.
struct StmtPrepareOk {
  std::uint32_t statement_id = 0;
  std::uint16_t column_count = 0;
  std::uint16_t param_count = 0;
  std::uint16_t warnings = 0;

  bool operator==(const StmtPrepareOk&) const = default;
};

inline constexpr std::uint8_t cursor_type_no_cursor = 0x00;
inline constexpr std::uint8_t cursor_type_read_only = 0x01;
inline constexpr std::uint8_t cursor_type_for_update = 0x02;
inline constexpr std::uint8_t cursor_type_scrollable = 0x04;

// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_stmt_execute.html
// The layout without CLIENT_QUERY_ATTRIBUTES (ghostgate never advertises it): statement id,
// flags, iteration count, then for statements with parameters a NULL bitmap (offset 0), the
// new-params-bound flag, the types when that flag is 1, and the non-NULL values.
struct StmtExecute {
  std::uint32_t statement_id = 0;
  std::uint8_t flags = cursor_type_no_cursor;
  std::uint32_t iteration_count = 1;
  bool new_params_bound = false;
  std::vector<ValueType> param_types;  // the types the values were decoded with
  std::vector<Value> params;           // monostate: NULL, or sent earlier with SEND_LONG_DATA

  // The types ride in the packet only when new_params_bound; otherwise they are what the
  // caller said the previous execute bound, which is not part of this message's identity.
  bool operator==(const StmtExecute& o) const;
};

// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_stmt_close.html
struct StmtClose {
  std::uint32_t statement_id = 0;
  bool operator==(const StmtClose&) const = default;
};

// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_stmt_reset.html
struct StmtReset {
  std::uint32_t statement_id = 0;
  bool operator==(const StmtReset&) const = default;
};

// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_stmt_fetch.html
struct StmtFetch {
  std::uint32_t statement_id = 0;
  std::uint32_t num_rows = 0;
  bool operator==(const StmtFetch&) const = default;
};

// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_stmt_send_long_data.html
struct StmtSendLongData {
  std::uint32_t statement_id = 0;
  std::uint16_t param_id = 0;
  std::string_view data;
  bool operator==(const StmtSendLongData&) const = default;
};

[[nodiscard]] std::error_code parse_stmt_prepare(Bytes payload, StmtPrepare& out);
void serialize_stmt_prepare(const StmtPrepare& p, Writer& w);

[[nodiscard]] std::error_code parse_stmt_prepare_ok(Bytes payload, StmtPrepareOk& out);
void serialize_stmt_prepare_ok(const StmtPrepareOk& ok, Writer& w);

// `param_count` comes from the statement's PREPARE_OK. `bound_types` are the types of the
// previous execute of the same statement, used when this one does not rebind (empty if none:
// then a non-NULL value cannot be decoded and the result is Errc::unexpected_packet).
// `long_data[i]` is true for a parameter whose value was sent with COM_STMT_SEND_LONG_DATA since
// the last execute: such a parameter has no bytes in this packet.
[[nodiscard]] std::error_code parse_stmt_execute(Bytes payload, std::uint16_t param_count,
                                                 std::span<const ValueType> bound_types,
                                                 StmtExecute& out,
                                                 std::span<const bool> long_data = {});
// Writes the types when e.new_params_bound (they must then be one per param).
void serialize_stmt_execute(const StmtExecute& e, Writer& w, std::span<const bool> long_data = {});

[[nodiscard]] std::error_code parse_stmt_close(Bytes payload, StmtClose& out);
void serialize_stmt_close(const StmtClose& c, Writer& w);
[[nodiscard]] std::error_code parse_stmt_reset(Bytes payload, StmtReset& out);
void serialize_stmt_reset(const StmtReset& c, Writer& w);
[[nodiscard]] std::error_code parse_stmt_fetch(Bytes payload, StmtFetch& out);
void serialize_stmt_fetch(const StmtFetch& c, Writer& w);
[[nodiscard]] std::error_code parse_stmt_send_long_data(Bytes payload, StmtSendLongData& out);
void serialize_stmt_send_long_data(const StmtSendLongData& c, Writer& w);

// The statement id of any COM_STMT_EXECUTE/CLOSE/RESET/FETCH/SEND_LONG_DATA (all carry it at
// offset 1), so the proxy can route a command without decoding all of it.
[[nodiscard]] std::error_code peek_statement_id(Bytes payload, std::uint32_t& out);

// The whole answer to a COM_STMT_PREPARE that ghostgate handles itself, as frames starting at
// sequence `seq` (advanced): PREPARE_OK with no columns, `param_count` generic parameter
// definitions and, without CLIENT_DEPRECATE_EOF, an EOF carrying `status`.
void append_stmt_prepare_response(std::vector<std::uint8_t>& out, std::uint8_t& seq,
                                  Capabilities caps, std::uint32_t statement_id,
                                  std::uint16_t param_count, std::uint16_t status);

}  // namespace ghostgate::protocol
