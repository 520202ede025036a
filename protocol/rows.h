#pragma once
// Rows of a result set, in the text protocol (COM_QUERY) and the binary protocol
// (COM_STMT_EXECUTE / COM_STMT_FETCH), and the binary value encoding that COM_STMT_EXECUTE's
// parameters share with binary rows.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_text_resultset_row.html
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_binary_resultset.html
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_binary_resultset.html#sect_protocol_binary_resultset_row_value

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "protocol/codec.h"
#include "protocol/column.h"

namespace ghostgate::protocol {

// ---- Text rows -------------------------------------------------------------------------------

// One value per column: a view into the payload, or nullopt for SQL NULL (0xfb).
using TextRow = std::vector<std::optional<std::string_view>>;

// The row must hold exactly `column_count` values and nothing after them.
[[nodiscard]] std::error_code parse_text_row(Bytes payload, std::size_t column_count, TextRow& out);
void serialize_text_row(std::span<const std::optional<std::string_view>> row, Writer& w);

// ---- Binary values ---------------------------------------------------------------------------

// MYSQL_TYPE_DATE / DATETIME / TIMESTAMP. Encoded in 0, 4, 7 or 11 bytes: the shortest form
// that holds the non-zero fields, as servers send it.
struct DateTime {
  std::uint16_t year = 0;
  std::uint8_t month = 0;
  std::uint8_t day = 0;
  std::uint8_t hour = 0;
  std::uint8_t minute = 0;
  std::uint8_t second = 0;
  std::uint32_t microsecond = 0;

  bool operator==(const DateTime&) const = default;
};

// MYSQL_TYPE_TIME: a signed duration. Encoded in 0, 8 or 12 bytes.
struct Time {
  bool negative = false;
  std::uint32_t days = 0;
  std::uint8_t hour = 0;
  std::uint8_t minute = 0;
  std::uint8_t second = 0;
  std::uint32_t microsecond = 0;

  bool operator==(const Time&) const = default;
};

// One binary-protocol value. Which alternative a type decodes to:
//   NULL                                   -> monostate
//   TINY SHORT YEAR INT24 LONG LONGLONG    -> int64 (uint64 when unsigned)
//   FLOAT -> float, DOUBLE -> double
//   DATE DATETIME TIMESTAMP                -> DateTime
//   TIME                                   -> Time
//   everything else (DECIMAL, strings, blobs, BIT, ENUM, SET, JSON, GEOMETRY) -> string_view
// Strings are views into the parsed payload.
using Value = std::variant<std::monostate, std::int64_t, std::uint64_t, float, double,
                           std::string_view, DateTime, Time>;

// Equality that compares floating-point values by their bits, so a NaN read from the wire is
// equal to itself (a message's identity is its bytes, not IEEE comparison).
bool same_value(const Value& a, const Value& b);
bool same_values(std::span<const Value> a, std::span<const Value> b);

// Whether the binary protocol knows how to encode `type` at all.
bool is_known_binary_type(ColumnType type);

// Reads one non-NULL value of `type` at the reader's position. Errors stick in the reader;
// an unknown type fails it with Errc::unsupported.
Value read_binary_value(Reader& r, ValueType type);
// Writes one non-NULL value in the encoding of `type`. A value whose alternative does not fit
// the type is written as that type's zero value, so the bytes always match the declared type.
void write_binary_value(const Value& v, ValueType type, Writer& w);

// ---- Binary rows -----------------------------------------------------------------------------

// 0x00, a NULL bitmap with an offset of 2 bits, then the non-NULL values.
[[nodiscard]] std::error_code parse_binary_row(Bytes payload, std::span<const ValueType> columns,
                                               std::vector<Value>& out);
// `row` and `columns` have the same size; monostate values become NULL bits.
void serialize_binary_row(std::span<const Value> row, std::span<const ValueType> columns,
                          Writer& w);

// Size of a NULL bitmap for `count` fields with the bit offset used by rows (2) or
// COM_STMT_EXECUTE parameters (0).
inline std::size_t null_bitmap_size(std::size_t count, std::size_t offset) {
  return (count + offset + 7) / 8;
}

}  // namespace ghostgate::protocol
