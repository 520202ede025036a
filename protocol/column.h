#pragma once
// Column definitions (Protocol::ColumnDefinition41): the metadata before the rows of a result
// set, the parameter and column descriptions after COM_STMT_PREPARE_OK, and COM_FIELD_LIST's
// answer.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_text_resultset_column_definition.html

#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

#include "protocol/codec.h"

namespace ghostgate::protocol {

// enum_field_types. The wire carries one byte; values outside this list (future types) still
// fit in the enum and are reported by the row decoders as Errc::unsupported.
// https://dev.mysql.com/doc/dev/mysql-server/latest/field__types_8h.html
enum class ColumnType : std::uint8_t {
  decimal = 0x00,
  tiny = 0x01,
  short_ = 0x02,
  long_ = 0x03,
  float_ = 0x04,
  double_ = 0x05,
  null = 0x06,
  timestamp = 0x07,
  longlong = 0x08,
  int24 = 0x09,
  date = 0x0a,
  time = 0x0b,
  datetime = 0x0c,
  year = 0x0d,
  newdate = 0x0e,
  varchar = 0x0f,
  bit = 0x10,
  timestamp2 = 0x11,
  datetime2 = 0x12,
  time2 = 0x13,
  json = 0xf5,
  newdecimal = 0xf6,
  enum_ = 0xf7,
  set = 0xf8,
  tiny_blob = 0xf9,
  medium_blob = 0xfa,
  long_blob = 0xfb,
  blob = 0xfc,
  var_string = 0xfd,
  string = 0xfe,
  geometry = 0xff,
};

namespace column_flag {
inline constexpr std::uint16_t not_null = 0x0001;
inline constexpr std::uint16_t pri_key = 0x0002;
inline constexpr std::uint16_t unique_key = 0x0004;
inline constexpr std::uint16_t multiple_key = 0x0008;
inline constexpr std::uint16_t blob = 0x0010;
inline constexpr std::uint16_t unsigned_ = 0x0020;
inline constexpr std::uint16_t zerofill = 0x0040;
inline constexpr std::uint16_t binary = 0x0080;
inline constexpr std::uint16_t enum_ = 0x0100;
inline constexpr std::uint16_t auto_increment = 0x0200;
inline constexpr std::uint16_t timestamp = 0x0400;
inline constexpr std::uint16_t set = 0x0800;
inline constexpr std::uint16_t no_default_value = 0x1000;
inline constexpr std::uint16_t on_update_now = 0x2000;
inline constexpr std::uint16_t num = 0x8000;
}  // namespace column_flag

// The "binary" collation: what a proxy-made parameter definition claims.
inline constexpr std::uint16_t binary_charset = 63;

// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_text_resultset_column_definition.html
// Strings are views into the parsed payload.
struct ColumnDefinition41 {
  std::string_view catalog = "def";
  std::string_view schema;
  std::string_view table;
  std::string_view org_table;
  std::string_view name;
  std::string_view org_name;
  std::uint16_t charset = 0;
  std::uint32_t column_length = 0;
  ColumnType type = ColumnType::null;
  std::uint16_t flags = 0;
  std::uint8_t decimals = 0;
  // COM_FIELD_LIST appends the column's default value after the fixed fields: a lenenc string,
  // or 0xfb for NULL (nullopt here).
  bool has_default_value = false;
  std::optional<std::string_view> default_value;

  bool operator==(const ColumnDefinition41&) const = default;
};

[[nodiscard]] std::error_code parse_column_definition(Bytes payload, ColumnDefinition41& out);
void serialize_column_definition(const ColumnDefinition41& col, Writer& w);

// The definition ghostgate sends for each `?` of a statement it prepares itself: nothing is
// known about the parameter, so it is an untyped binary string, like MySQL's own answer for a
// parameter whose type cannot be inferred.
ColumnDefinition41 generic_param_definition();
void serialize_param_definition(Writer& w);

// How a value of this column (or parameter) is encoded in the binary protocol.
struct ValueType {
  ColumnType type = ColumnType::null;
  bool is_unsigned = false;

  bool operator==(const ValueType&) const = default;
};

inline ValueType value_type(const ColumnDefinition41& col) {
  return {col.type, (col.flags & column_flag::unsigned_) != 0};
}

}  // namespace ghostgate::protocol
