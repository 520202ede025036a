#include "protocol/packets.h"

#include "protocol/frame.h"

namespace ghostgate::protocol {

std::error_code parse_ok(Bytes payload, Capabilities caps, OkPacket& out) {
  Reader r(payload);
  out = OkPacket{};
  out.header = r.read_u8();
  if (r.ok() && out.header != ok_header && out.header != eof_header) {
    return Errc::malformed;
  }
  out.affected_rows = r.read_lenenc_int();
  out.last_insert_id = r.read_lenenc_int();
  if (caps & cap::protocol_41) {
    out.status = r.read_u16();
    out.warnings = r.read_u16();
  } else if (caps & cap::transactions) {
    out.status = r.read_u16();
  }
  if (!r.ok()) {
    return r.error();
  }
  if (r.at_end()) {
    return {};
  }
  if (caps & cap::session_track) {
    out.info = r.read_lenenc_string();
    if (r.ok() && (out.status & status::session_state_changed) && !r.at_end()) {
      out.session_state = r.read_lenenc_string();
    }
  } else {
    out.info = r.read_rest();
  }
  return r.error();
}

std::error_code parse_err(Bytes payload, Capabilities caps, ErrPacket& out) {
  Reader r(payload);
  out = ErrPacket{};
  if (r.read_u8() != err_header) {
    return r.ok() ? Errc::malformed : r.error();
  }
  out.code = r.read_u16();
  if ((caps & cap::protocol_41) && r.peek_u8() == '#') {
    r.skip(1);
    out.sql_state = r.read_string(5);
  }
  out.message = r.read_rest();
  return r.error();
}

std::error_code parse_eof(Bytes payload, EofPacket& out) {
  Reader r(payload);
  out = EofPacket{};
  if (r.read_u8() != eof_header) {
    return r.ok() ? Errc::malformed : r.error();
  }
  // A protocol 4.1 EOF is exactly 5 bytes. Fewer is a cut packet (the pre-4.1 1-byte EOF is
  // never sent to a CLIENT_PROTOCOL_41 connection); more is an OK-as-EOF or a row, not an EOF.
  out.warnings = r.read_u16();
  out.status = r.read_u16();
  if (!r.ok()) {
    out = EofPacket{};
    return r.error();
  }
  return r.at_end() ? std::error_code{} : Errc::malformed;
}

void serialize_ok(const OkPacket& ok, Capabilities caps, Writer& w) {
  w.write_u8(ok.header);
  w.write_lenenc_int(ok.affected_rows);
  w.write_lenenc_int(ok.last_insert_id);
  if (caps & cap::protocol_41) {
    w.write_u16(ok.status);
    w.write_u16(ok.warnings);
  } else if (caps & cap::transactions) {
    w.write_u16(ok.status);
  }
  if (caps & cap::session_track) {
    if (!ok.info.empty() ||
        ((ok.status & status::session_state_changed) && !ok.session_state.empty())) {
      w.write_lenenc_string(ok.info);
      if (ok.status & status::session_state_changed) {
        w.write_lenenc_string(ok.session_state);
      }
    }
  } else {
    w.write_string(ok.info);
  }
}

void serialize_err(const ErrPacket& err, Capabilities caps, Writer& w) {
  w.write_u8(err_header);
  w.write_u16(err.code);
  if (caps & cap::protocol_41) {
    w.write_u8('#');
    std::string_view state = err.sql_state.size() == 5 ? err.sql_state : "HY000";
    w.write_string(state);
  }
  w.write_string(err.message);
}

void serialize_eof(const EofPacket& eof, Writer& w) {
  w.write_u8(eof_header);
  w.write_u16(eof.warnings);
  w.write_u16(eof.status);
}

void append_err(std::vector<std::uint8_t>& out, std::uint8_t& seq, Capabilities caps,
                std::uint16_t code, std::string_view sql_state, std::string_view message) {
  PacketBuilder b(out);
  serialize_err(ErrPacket{code, sql_state, message}, caps, b.writer());
  b.finish(seq);
}

void append_ok(std::vector<std::uint8_t>& out, std::uint8_t& seq, Capabilities caps,
               const OkPacket& ok) {
  PacketBuilder b(out);
  serialize_ok(ok, caps, b.writer());
  b.finish(seq);
}

std::uint16_t terminator_status(Bytes payload, Capabilities caps) {
  if (payload.empty()) {
    return 0;
  }
  if (payload[0] == eof_header && payload.size() < 9 && !(caps & cap::deprecate_eof)) {
    EofPacket eof;
    return parse_eof(payload, eof) ? 0 : eof.status;
  }
  if (payload[0] == ok_header || payload[0] == eof_header) {
    OkPacket ok;
    return parse_ok(payload, caps, ok) ? 0 : ok.status;
  }
  return 0;
}

}  // namespace ghostgate::protocol

namespace ghostgate::protocol {

bool set_more_results(std::uint8_t* payload, std::size_t length, Capabilities caps) {
  if (length == 0 || !(caps & cap::protocol_41)) {
    return false;
  }
  std::size_t status_at = 0;
  if (payload[0] == eof_header && length < 9 && !(caps & cap::deprecate_eof)) {
    status_at = 3;  // header, warnings(2), status(2)
  } else if (payload[0] == ok_header || payload[0] == eof_header) {
    Reader r(Bytes(payload, length));
    r.skip(1);
    (void)r.read_lenenc_int();
    (void)r.read_lenenc_int();
    if (!r.ok() || r.remaining() < 2) {
      return false;
    }
    status_at = r.position();
  } else {
    return false;
  }
  if (status_at + 2 > length) {
    return false;
  }
  payload[status_at] |= static_cast<std::uint8_t>(status::more_results_exists);
  return true;
}

}  // namespace ghostgate::protocol
