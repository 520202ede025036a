#include "protocol/rows.h"

#include <bit>
#include <cstring>

namespace ghostgate::protocol {
namespace {

constexpr std::uint8_t null_value = 0xfb;
constexpr std::uint8_t binary_row_header = 0x00;
constexpr std::size_t row_null_offset = 2;

enum class Encoding { int1, int2, int4, int8, float4, float8, datetime, time, lenenc, none };

Encoding encoding_of(ColumnType t) {
  switch (t) {
    case ColumnType::tiny:
      return Encoding::int1;
    case ColumnType::short_:
    case ColumnType::year:
      return Encoding::int2;
    case ColumnType::int24:
    case ColumnType::long_:
      return Encoding::int4;
    case ColumnType::longlong:
      return Encoding::int8;
    case ColumnType::float_:
      return Encoding::float4;
    case ColumnType::double_:
      return Encoding::float8;
    case ColumnType::date:
    case ColumnType::datetime:
    case ColumnType::timestamp:
      return Encoding::datetime;
    case ColumnType::time:
      return Encoding::time;
    case ColumnType::decimal:
    case ColumnType::newdecimal:
    case ColumnType::varchar:
    case ColumnType::bit:
    case ColumnType::json:
    case ColumnType::enum_:
    case ColumnType::set:
    case ColumnType::tiny_blob:
    case ColumnType::medium_blob:
    case ColumnType::long_blob:
    case ColumnType::blob:
    case ColumnType::var_string:
    case ColumnType::string:
    case ColumnType::geometry:
      return Encoding::lenenc;
    case ColumnType::null:
      // A NULL-typed value has no bytes: its NULL bit is set (MariaDB even sends it as a
      // parameter type with the bit set).
      return Encoding::none;
    default:
      // NEWDATE, TIMESTAMP2, DATETIME2, TIME2 exist only inside the server and binlog.
      return Encoding::none;
  }
}

std::int64_t sign_extend(std::uint64_t v, std::size_t width) {
  const unsigned shift = 64 - 8 * static_cast<unsigned>(width);
  return static_cast<std::int64_t>(v << shift) >> shift;
}

std::int64_t as_int(const Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    return *i;
  }
  if (const auto* u = std::get_if<std::uint64_t>(&v)) {
    return static_cast<std::int64_t>(*u);
  }
  return 0;
}

}  // namespace

// ---- Text rows -------------------------------------------------------------------------------

std::error_code parse_text_row(Bytes payload, std::size_t column_count, TextRow& out) {
  out.clear();
  Reader r(payload);
  for (std::size_t i = 0; i < column_count; ++i) {
    if (r.at_end()) {
      return Errc::truncated;
    }
    if (r.peek_u8() == null_value) {
      r.skip(1);
      out.emplace_back(std::nullopt);
      continue;
    }
    const std::string_view v = r.read_lenenc_string();
    if (!r.ok()) {
      return r.error();
    }
    out.emplace_back(v);
  }
  if (!r.at_end()) {
    return Errc::malformed;
  }
  return {};
}

void serialize_text_row(std::span<const std::optional<std::string_view>> row, Writer& w) {
  for (const auto& v : row) {
    if (v) {
      w.write_lenenc_string(*v);
    } else {
      w.write_u8(null_value);
    }
  }
}

// ---- Binary values ---------------------------------------------------------------------------

bool same_value(const Value& a, const Value& b) {
  if (a.index() != b.index()) {
    return false;
  }
  if (const auto* f = std::get_if<float>(&a)) {
    return std::bit_cast<std::uint32_t>(*f) == std::bit_cast<std::uint32_t>(std::get<float>(b));
  }
  if (const auto* d = std::get_if<double>(&a)) {
    return std::bit_cast<std::uint64_t>(*d) == std::bit_cast<std::uint64_t>(std::get<double>(b));
  }
  return a == b;
}

bool same_values(std::span<const Value> a, std::span<const Value> b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!same_value(a[i], b[i])) {
      return false;
    }
  }
  return true;
}

bool is_known_binary_type(ColumnType type) {
  return encoding_of(type) != Encoding::none || type == ColumnType::null;
}

Value read_binary_value(Reader& r, ValueType type) {
  const Encoding e = encoding_of(type.type);
  std::size_t width = 0;
  switch (e) {
    case Encoding::int1:
      width = 1;
      break;
    case Encoding::int2:
      width = 2;
      break;
    case Encoding::int4:
      width = 4;
      break;
    case Encoding::int8:
      width = 8;
      break;
    case Encoding::float4: {
      const auto bits = static_cast<std::uint32_t>(r.read_int(4));
      return r.ok() ? Value(std::bit_cast<float>(bits)) : Value();
    }
    case Encoding::float8: {
      const std::uint64_t bits = r.read_int(8);
      return r.ok() ? Value(std::bit_cast<double>(bits)) : Value();
    }
    case Encoding::datetime: {
      DateTime d;
      const std::uint8_t n = r.read_u8();
      if (n != 0 && n != 4 && n != 7 && n != 11) {
        r.fail(Errc::malformed);
        return {};
      }
      if (n >= 4) {
        d.year = r.read_u16();
        d.month = r.read_u8();
        d.day = r.read_u8();
      }
      if (n >= 7) {
        d.hour = r.read_u8();
        d.minute = r.read_u8();
        d.second = r.read_u8();
      }
      if (n >= 11) {
        d.microsecond = r.read_u32();
      }
      return r.ok() ? Value(d) : Value();
    }
    case Encoding::time: {
      Time t;
      const std::uint8_t n = r.read_u8();
      if (n != 0 && n != 8 && n != 12) {
        r.fail(Errc::malformed);
        return {};
      }
      if (n >= 8) {
        const std::uint8_t sign = r.read_u8();
        if (sign > 1) {
          r.fail(Errc::malformed);
          return {};
        }
        t.negative = sign == 1;
        t.days = r.read_u32();
        t.hour = r.read_u8();
        t.minute = r.read_u8();
        t.second = r.read_u8();
      }
      if (n >= 12) {
        t.microsecond = r.read_u32();
      }
      return r.ok() ? Value(t) : Value();
    }
    case Encoding::lenenc: {
      const std::string_view s = r.read_lenenc_string();
      return r.ok() ? Value(s) : Value();
    }
    case Encoding::none:
      if (type.type != ColumnType::null) {
        r.fail(Errc::unsupported);
      }
      return {};
  }
  const std::uint64_t raw = r.read_int(width);
  if (!r.ok()) {
    return {};
  }
  if (type.is_unsigned) {
    return Value(raw);
  }
  return Value(sign_extend(raw, width));
}

void write_binary_value(const Value& v, ValueType type, Writer& w) {
  switch (encoding_of(type.type)) {
    case Encoding::int1:
      w.write_int(static_cast<std::uint64_t>(as_int(v)), 1);
      return;
    case Encoding::int2:
      w.write_int(static_cast<std::uint64_t>(as_int(v)), 2);
      return;
    case Encoding::int4:
      w.write_int(static_cast<std::uint64_t>(as_int(v)), 4);
      return;
    case Encoding::int8:
      w.write_int(static_cast<std::uint64_t>(as_int(v)), 8);
      return;
    case Encoding::float4: {
      const auto* f = std::get_if<float>(&v);
      w.write_u32(std::bit_cast<std::uint32_t>(f ? *f : 0.0f));
      return;
    }
    case Encoding::float8: {
      const auto* d = std::get_if<double>(&v);
      w.write_u64(std::bit_cast<std::uint64_t>(d ? *d : 0.0));
      return;
    }
    case Encoding::datetime: {
      const auto* p = std::get_if<DateTime>(&v);
      const DateTime d = p ? *p : DateTime{};
      std::uint8_t n = 0;
      if (d.microsecond != 0) {
        n = 11;
      } else if (d.hour != 0 || d.minute != 0 || d.second != 0) {
        n = 7;
      } else if (d.year != 0 || d.month != 0 || d.day != 0) {
        n = 4;
      }
      w.write_u8(n);
      if (n >= 4) {
        w.write_u16(d.year);
        w.write_u8(d.month);
        w.write_u8(d.day);
      }
      if (n >= 7) {
        w.write_u8(d.hour);
        w.write_u8(d.minute);
        w.write_u8(d.second);
      }
      if (n >= 11) {
        w.write_u32(d.microsecond);
      }
      return;
    }
    case Encoding::time: {
      const auto* p = std::get_if<Time>(&v);
      const Time t = p ? *p : Time{};
      std::uint8_t n = 0;
      if (t.microsecond != 0) {
        n = 12;
      } else if (t.negative || t.days != 0 || t.hour != 0 || t.minute != 0 || t.second != 0) {
        n = 8;
      }
      w.write_u8(n);
      if (n >= 8) {
        w.write_u8(t.negative ? 1 : 0);
        w.write_u32(t.days);
        w.write_u8(t.hour);
        w.write_u8(t.minute);
        w.write_u8(t.second);
      }
      if (n >= 12) {
        w.write_u32(t.microsecond);
      }
      return;
    }
    case Encoding::lenenc: {
      const auto* s = std::get_if<std::string_view>(&v);
      w.write_lenenc_string(s ? *s : std::string_view{});
      return;
    }
    case Encoding::none:
      return;
  }
}

// ---- Binary rows -----------------------------------------------------------------------------

std::error_code parse_binary_row(Bytes payload, std::span<const ValueType> columns,
                                 std::vector<Value>& out) {
  out.clear();
  Reader r(payload);
  const std::uint8_t header = r.read_u8();
  if (r.ok() && header != binary_row_header) {
    return Errc::malformed;
  }
  const Bytes bitmap = r.read_bytes(null_bitmap_size(columns.size(), row_null_offset));
  if (!r.ok()) {
    return r.error();
  }
  out.reserve(columns.size());
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const std::size_t bit = i + row_null_offset;
    if (bitmap[bit / 8] & (1u << (bit % 8))) {
      out.emplace_back(std::monostate{});
      continue;
    }
    out.push_back(read_binary_value(r, columns[i]));
    if (!r.ok()) {
      return r.error();
    }
  }
  if (!r.at_end()) {
    return Errc::malformed;
  }
  return {};
}

void serialize_binary_row(std::span<const Value> row, std::span<const ValueType> columns,
                          Writer& w) {
  w.write_u8(binary_row_header);
  const std::size_t at = w.size();
  w.write_zeros(null_bitmap_size(columns.size(), row_null_offset));
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const bool is_null = i >= row.size() || std::holds_alternative<std::monostate>(row[i]) ||
                         columns[i].type == ColumnType::null;
    if (is_null) {
      const std::size_t bit = i + row_null_offset;
      w.buffer()[at + bit / 8] |= static_cast<std::uint8_t>(1u << (bit % 8));
      continue;
    }
    write_binary_value(row[i], columns[i], w);
  }
}

}  // namespace ghostgate::protocol
