#include "protocol/column.h"

namespace ghostgate::protocol {
namespace {

// Length of the fixed-size block after org_name: charset(2) length(4) type(1) flags(2)
// decimals(1) filler(2).
constexpr std::uint64_t fixed_fields_length = 0x0c;
constexpr std::uint8_t null_default = 0xfb;

}  // namespace

std::error_code parse_column_definition(Bytes payload, ColumnDefinition41& out) {
  Reader r(payload);
  out = ColumnDefinition41{};
  out.catalog = r.read_lenenc_string();
  out.schema = r.read_lenenc_string();
  out.table = r.read_lenenc_string();
  out.org_table = r.read_lenenc_string();
  out.name = r.read_lenenc_string();
  out.org_name = r.read_lenenc_string();
  const std::uint64_t fixed = r.read_lenenc_int();
  if (r.ok() && fixed != fixed_fields_length) {
    // Every server sends 12; anything else means we are not looking at a column definition.
    return Errc::malformed;
  }
  out.charset = r.read_u16();
  out.column_length = r.read_u32();
  out.type = static_cast<ColumnType>(r.read_u8());
  out.flags = r.read_u16();
  out.decimals = r.read_u8();
  r.skip(2);
  if (!r.ok()) {
    return r.error();
  }
  if (!r.at_end()) {
    out.has_default_value = true;
    if (r.peek_u8() == null_default) {
      r.skip(1);
    } else {
      out.default_value = r.read_lenenc_string();
    }
    if (r.ok() && !r.at_end()) {
      return Errc::malformed;
    }
  }
  return r.error();
}

void serialize_column_definition(const ColumnDefinition41& col, Writer& w) {
  w.write_lenenc_string(col.catalog);
  w.write_lenenc_string(col.schema);
  w.write_lenenc_string(col.table);
  w.write_lenenc_string(col.org_table);
  w.write_lenenc_string(col.name);
  w.write_lenenc_string(col.org_name);
  w.write_lenenc_int(fixed_fields_length);
  w.write_u16(col.charset);
  w.write_u32(col.column_length);
  w.write_u8(static_cast<std::uint8_t>(col.type));
  w.write_u16(col.flags);
  w.write_u8(col.decimals);
  w.write_zeros(2);
  if (col.has_default_value) {
    if (col.default_value) {
      w.write_lenenc_string(*col.default_value);
    } else {
      w.write_u8(null_default);
    }
  }
}

ColumnDefinition41 generic_param_definition() {
  ColumnDefinition41 col;
  col.name = "?";
  col.charset = binary_charset;
  col.type = ColumnType::var_string;
  col.flags = column_flag::binary;
  return col;
}

void serialize_param_definition(Writer& w) {
  serialize_column_definition(generic_param_definition(), w);
}

}  // namespace ghostgate::protocol
