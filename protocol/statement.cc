#include "protocol/statement.h"

#include "protocol/frame.h"
#include "protocol/packets.h"

namespace ghostgate::protocol {
namespace {

constexpr std::uint8_t unsigned_param_flag = 0x80;

// Reads the command byte and checks it; returns false (with the error in `r`) on a mismatch.
bool read_command(Reader& r, Command cmd) {
  const std::uint8_t c = r.read_u8();
  if (r.ok() && c != static_cast<std::uint8_t>(cmd)) {
    r.fail(Errc::malformed);
  }
  return r.ok();
}

std::error_code finish_exact(const Reader& r) {
  if (!r.ok()) {
    return r.error();
  }
  return r.at_end() ? std::error_code{} : Errc::malformed;
}

std::error_code parse_id_only(Bytes payload, Command cmd, std::uint32_t& id) {
  Reader r(payload);
  id = 0;
  if (!read_command(r, cmd)) {
    return r.error();
  }
  id = r.read_u32();
  return finish_exact(r);
}

}  // namespace

bool StmtExecute::operator==(const StmtExecute& o) const {
  return statement_id == o.statement_id && flags == o.flags &&
         iteration_count == o.iteration_count && new_params_bound == o.new_params_bound &&
         (!new_params_bound || param_types == o.param_types) && same_values(params, o.params);
}

std::error_code parse_stmt_prepare(Bytes payload, StmtPrepare& out) {
  Reader r(payload);
  out = StmtPrepare{};
  if (!read_command(r, Command::stmt_prepare)) {
    return r.error();
  }
  out.query = r.read_rest();
  return r.error();
}

void serialize_stmt_prepare(const StmtPrepare& p, Writer& w) {
  w.write_u8(static_cast<std::uint8_t>(Command::stmt_prepare));
  w.write_string(p.query);
}

std::error_code parse_stmt_prepare_ok(Bytes payload, StmtPrepareOk& out) {
  Reader r(payload);
  out = StmtPrepareOk{};
  const std::uint8_t status = r.read_u8();
  if (r.ok() && status != ok_header) {
    return Errc::malformed;
  }
  out.statement_id = r.read_u32();
  out.column_count = r.read_u16();
  out.param_count = r.read_u16();
  const std::uint8_t filler = r.read_u8();
  out.warnings = r.read_u16();
  if (r.ok() && filler != 0) {
    // Reserved and always 0: anything else is not a PREPARE_OK we understand.
    return Errc::malformed;
  }
  return finish_exact(r);
}

void serialize_stmt_prepare_ok(const StmtPrepareOk& ok, Writer& w) {
  w.write_u8(ok_header);
  w.write_u32(ok.statement_id);
  w.write_u16(ok.column_count);
  w.write_u16(ok.param_count);
  w.write_u8(0);
  w.write_u16(ok.warnings);
}

std::error_code parse_stmt_execute(Bytes payload, std::uint16_t param_count,
                                   std::span<const ValueType> bound_types, StmtExecute& out,
                                   std::span<const bool> long_data) {
  Reader r(payload);
  out = StmtExecute{};
  if (!read_command(r, Command::stmt_execute)) {
    return r.error();
  }
  out.statement_id = r.read_u32();
  out.flags = r.read_u8();
  out.iteration_count = r.read_u32();
  if (param_count == 0) {
    return finish_exact(r);
  }
  const Bytes nulls = r.read_bytes(null_bitmap_size(param_count, 0));
  const std::uint8_t bound = r.read_u8();
  if (!r.ok()) {
    return r.error();
  }
  if (bound > 1) {
    return Errc::malformed;
  }
  out.new_params_bound = bound == 1;
  if (out.new_params_bound) {
    out.param_types.reserve(param_count);
    for (std::size_t i = 0; i < param_count; ++i) {
      const auto type = static_cast<ColumnType>(r.read_u8());
      const std::uint8_t flags = r.read_u8();
      out.param_types.push_back({type, (flags & unsigned_param_flag) != 0});
    }
    if (!r.ok()) {
      return r.error();
    }
  } else {
    out.param_types.assign(bound_types.begin(), bound_types.end());
  }
  out.params.reserve(param_count);
  for (std::size_t i = 0; i < param_count; ++i) {
    const bool is_null = nulls[i / 8] & (1u << (i % 8));
    if (is_null || (i < long_data.size() && long_data[i])) {
      out.params.emplace_back(std::monostate{});
      continue;
    }
    if (i >= out.param_types.size()) {
      // A value whose type was never bound: nothing says how long it is.
      return Errc::unexpected_packet;
    }
    out.params.push_back(read_binary_value(r, out.param_types[i]));
    if (!r.ok()) {
      return r.error();
    }
  }
  return finish_exact(r);
}

void serialize_stmt_execute(const StmtExecute& e, Writer& w, std::span<const bool> long_data) {
  w.write_u8(static_cast<std::uint8_t>(Command::stmt_execute));
  w.write_u32(e.statement_id);
  w.write_u8(e.flags);
  w.write_u32(e.iteration_count);
  const std::size_t n = e.params.size();
  if (n == 0) {
    return;
  }
  const std::size_t at = w.size();
  w.write_zeros(null_bitmap_size(n, 0));
  for (std::size_t i = 0; i < n; ++i) {
    const bool from_long_data = i < long_data.size() && long_data[i];
    if (std::holds_alternative<std::monostate>(e.params[i]) && !from_long_data) {
      w.buffer()[at + i / 8] |= static_cast<std::uint8_t>(1u << (i % 8));
    }
  }
  w.write_u8(e.new_params_bound ? 1 : 0);
  if (e.new_params_bound) {
    for (std::size_t i = 0; i < n; ++i) {
      const ValueType t = i < e.param_types.size() ? e.param_types[i] : ValueType{};
      w.write_u8(static_cast<std::uint8_t>(t.type));
      w.write_u8(t.is_unsigned ? unsigned_param_flag : 0);
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (std::holds_alternative<std::monostate>(e.params[i]) || i >= e.param_types.size()) {
      continue;
    }
    write_binary_value(e.params[i], e.param_types[i], w);
  }
}

std::error_code parse_stmt_close(Bytes payload, StmtClose& out) {
  return parse_id_only(payload, Command::stmt_close, out.statement_id);
}

void serialize_stmt_close(const StmtClose& c, Writer& w) {
  w.write_u8(static_cast<std::uint8_t>(Command::stmt_close));
  w.write_u32(c.statement_id);
}

std::error_code parse_stmt_reset(Bytes payload, StmtReset& out) {
  return parse_id_only(payload, Command::stmt_reset, out.statement_id);
}

void serialize_stmt_reset(const StmtReset& c, Writer& w) {
  w.write_u8(static_cast<std::uint8_t>(Command::stmt_reset));
  w.write_u32(c.statement_id);
}

std::error_code parse_stmt_fetch(Bytes payload, StmtFetch& out) {
  Reader r(payload);
  out = StmtFetch{};
  if (!read_command(r, Command::stmt_fetch)) {
    return r.error();
  }
  out.statement_id = r.read_u32();
  out.num_rows = r.read_u32();
  return finish_exact(r);
}

void serialize_stmt_fetch(const StmtFetch& c, Writer& w) {
  w.write_u8(static_cast<std::uint8_t>(Command::stmt_fetch));
  w.write_u32(c.statement_id);
  w.write_u32(c.num_rows);
}

std::error_code parse_stmt_send_long_data(Bytes payload, StmtSendLongData& out) {
  Reader r(payload);
  out = StmtSendLongData{};
  if (!read_command(r, Command::stmt_send_long_data)) {
    return r.error();
  }
  out.statement_id = r.read_u32();
  out.param_id = r.read_u16();
  out.data = r.read_rest();
  return r.error();
}

void serialize_stmt_send_long_data(const StmtSendLongData& c, Writer& w) {
  w.write_u8(static_cast<std::uint8_t>(Command::stmt_send_long_data));
  w.write_u32(c.statement_id);
  w.write_u16(c.param_id);
  w.write_string(c.data);
}

std::error_code peek_statement_id(Bytes payload, std::uint32_t& out) {
  Reader r(payload);
  out = 0;
  const auto cmd = static_cast<Command>(r.read_u8());
  if (!r.ok()) {
    return r.error();
  }
  switch (cmd) {
    case Command::stmt_execute:
    case Command::stmt_close:
    case Command::stmt_reset:
    case Command::stmt_fetch:
    case Command::stmt_send_long_data:
      break;
    default:
      return Errc::unexpected_packet;
  }
  out = r.read_u32();
  return r.error();
}

void append_stmt_prepare_response(std::vector<std::uint8_t>& out, std::uint8_t& seq,
                                  Capabilities caps, std::uint32_t statement_id,
                                  std::uint16_t param_count, std::uint16_t status) {
  {
    PacketBuilder b(out);
    serialize_stmt_prepare_ok(StmtPrepareOk{statement_id, 0, param_count, 0}, b.writer());
    b.finish(seq);
  }
  if (param_count == 0) {
    return;
  }
  for (std::uint16_t i = 0; i < param_count; ++i) {
    PacketBuilder b(out);
    serialize_param_definition(b.writer());
    b.finish(seq);
  }
  if (!(caps & cap::deprecate_eof)) {
    PacketBuilder b(out);
    serialize_eof(EofPacket{0, status}, b.writer());
    b.finish(seq);
  }
}

}  // namespace ghostgate::protocol
