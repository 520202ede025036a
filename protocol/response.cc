#include "protocol/response.h"

#include <algorithm>

#include "protocol/frame.h"
#include "protocol/packets.h"

namespace ghostgate::protocol {

bool command_has_response(Command cmd) {
  switch (cmd) {
    case Command::quit:
    case Command::stmt_close:
    case Command::stmt_send_long_data:
      return false;
    default:
      return true;
  }
}

void ResponseTracker::start(Command cmd, Capabilities caps) {
  command_ = cmd;
  caps_ = caps;
  columns_left_ = 0;
  frame_left_ = 0;
  continuation_ = false;
  status_known_ = false;
  ended_with_error_ = false;
  error_code_ = 0;
  next_sequence_ = 1;
  results_ = 0;
  statement_id_ = 0;
  param_count_ = 0;
  prepared_columns_ = 0;
  binary_rows_ = cmd == Command::stmt_execute || cmd == Command::stmt_fetch;
  switch (cmd) {
    case Command::stmt_prepare:
      state_ = State::prepare_first;
      break;
    case Command::stmt_fetch:
      state_ = State::rows;
      break;
    case Command::field_list:
      state_ = State::field_list;
      break;
    case Command::statistics:
    case Command::ping:
    case Command::init_db:
    case Command::reset_connection:
    case Command::stmt_reset:
    case Command::set_option:
    case Command::refresh:
    case Command::process_kill:
    case Command::debug:
    case Command::shutdown:
    case Command::create_db:
    case Command::drop_db:
      state_ = State::single;
      break;
    default:
      state_ = command_has_response(cmd) ? State::first_packet : State::done;
      break;
  }
}

bool ResponseTracker::needs_whole(std::uint8_t first, std::uint32_t len) const {
  switch (state_) {
    case State::columns:
    case State::prepare_params:
    case State::prepare_columns:
      return false;
    case State::rows:
    case State::field_list:
      return first == err_header || (first == eof_header && len < max_frame_payload);
    default:
      return true;
  }
}

std::size_t ResponseTracker::consume(Bytes data, std::error_code& ec) {
  std::size_t pos = 0;
  // Keep going after the state reaches done while an opaque packet's payload is still owed:
  // it belongs to this response.
  while (pos < data.size() && (frame_left_ > 0 || continuation_ ||
                               (state_ != State::done && state_ != State::local_infile))) {
    if (frame_left_ > 0) {
      const std::size_t n = std::min<std::size_t>(frame_left_, data.size() - pos);
      pos += n;
      frame_left_ -= static_cast<std::uint32_t>(n);
      continue;
    }
    if (data.size() - pos < frame_header_size) {
      break;
    }
    const FrameHeader h = parse_frame_header(data.data() + pos);
    if (continuation_) {
      // More of a large opaque packet: pass it through.
      continuation_ = h.length == max_frame_payload;
      next_sequence_ = static_cast<std::uint8_t>(h.sequence + 1);
      pos += frame_header_size;
      frame_left_ = h.length;
      continue;
    }
    if (h.length > 0 && data.size() - pos < frame_header_size + 1) {
      break;
    }
    const std::uint8_t first = h.length > 0 ? data[pos + frame_header_size] : 0;
    if (needs_whole(first, h.length)) {
      if (h.length >= max_frame_payload) {
        // Packets ghostgate must read are small; a huge one here is a protocol violation.
        ec = Errc::unexpected_packet;
        return pos;
      }
      if (data.size() - pos < frame_header_size + h.length) {
        break;
      }
      next_sequence_ = static_cast<std::uint8_t>(h.sequence + 1);
      on_whole_packet(data.subspan(pos + frame_header_size, h.length), ec);
      pos += frame_header_size + h.length;
      if (ec) {
        return pos;
      }
      continue;
    }
    next_sequence_ = static_cast<std::uint8_t>(h.sequence + 1);
    continuation_ = h.length == max_frame_payload;
    pos += frame_header_size;
    frame_left_ = h.length;
    on_opaque_packet();
  }
  return pos;
}

void ResponseTracker::on_opaque_packet() {
  switch (state_) {
    case State::columns:
      if (--columns_left_ == 0) {
        after_columns_done();
      }
      break;
    case State::prepare_params:
      if (--columns_left_ == 0) {
        after_prepare_params();
      }
      break;
    case State::prepare_columns:
      if (--columns_left_ == 0) {
        after_prepare_columns();
      }
      break;
    default:
      break;  // a row, or a column definition of COM_FIELD_LIST
  }
}

void ResponseTracker::after_columns_done() {
  state_ = (caps_ & cap::deprecate_eof) ? State::rows : State::columns_eof;
}

void ResponseTracker::after_prepare_params() {
  if (!(caps_ & cap::deprecate_eof)) {
    state_ = State::prepare_params_eof;
  } else {
    columns_left_ = prepared_columns_;
    state_ = prepared_columns_ > 0 ? State::prepare_columns : State::done;
  }
}

void ResponseTracker::after_prepare_columns() {
  state_ = (caps_ & cap::deprecate_eof) ? State::done : State::prepare_columns_eof;
}

void ResponseTracker::on_error(Bytes payload) {
  ended_with_error_ = true;
  ErrPacket err;
  if (!parse_err(payload, caps_, err)) {
    error_code_ = err.code;
  }
  ++results_;
  state_ = State::done;
}

void ResponseTracker::on_terminator(Bytes payload, std::error_code& ec) {
  // A terminator that does not parse means the tracker lost its place in the stream; carrying
  // on with status 0 would silently drop SERVER_MORE_RESULTS_EXISTS or the transaction state.
  if (payload[0] == eof_header && payload.size() < 9 && !(caps_ & cap::deprecate_eof)) {
    EofPacket eof;
    if (parse_eof(payload, eof)) {
      ec = Errc::malformed;
      return;
    }
  } else {
    OkPacket ok;
    if (parse_ok(payload, caps_, ok)) {
      ec = Errc::malformed;
      return;
    }
  }
  status_ = terminator_status(payload, caps_);
  status_known_ = true;
  ++results_;
  state_ = (status_ & status::more_results_exists) ? State::first_packet : State::done;
}

void ResponseTracker::on_whole_packet(Bytes payload, std::error_code& ec) {
  if (payload.empty()) {
    // Only COM_STATISTICS may answer with an empty string.
    if (state_ == State::single) {
      state_ = State::done;
    } else {
      ec = Errc::malformed;
    }
    return;
  }
  const std::uint8_t first = payload[0];
  switch (state_) {
    case State::first_packet:
      if (first == err_header) {
        on_error(payload);
      } else if (first == ok_header) {
        on_terminator(payload, ec);
      } else if (first == local_infile_header) {
        state_ = State::local_infile;
      } else {
        Reader r(payload);
        columns_left_ = r.read_lenenc_int();
        if (!r.ok() || columns_left_ == 0) {
          ec = Errc::malformed;
          return;
        }
        state_ = State::columns;
      }
      return;
    case State::columns_eof:
      if (first == err_header) {
        on_error(payload);
        return;
      }
      if (first != eof_header) {
        ec = Errc::unexpected_packet;
        return;
      }
      {
        EofPacket eof;
        if (parse_eof(payload, eof)) {
          ec = Errc::malformed;
          return;
        }
        status_ = eof.status;
      }
      status_known_ = true;
      // A read-only cursor was opened: rows come later through COM_STMT_FETCH.
      state_ = (status_ & status::cursor_exists) && command_ == Command::stmt_execute ? State::done
                                                                                      : State::rows;
      if (state_ == State::done) {
        ++results_;
      }
      return;
    case State::rows:
    case State::field_list:
      if (first == err_header) {
        on_error(payload);
      } else {
        on_terminator(payload, ec);
      }
      return;
    case State::prepare_first: {
      if (first == err_header) {
        on_error(payload);
        return;
      }
      Reader r(payload);
      r.skip(1);
      statement_id_ = r.read_u32();
      prepared_columns_ = r.read_u16();
      param_count_ = r.read_u16();
      if (!r.ok() || first != ok_header) {
        ec = Errc::malformed;
        return;
      }
      ++results_;
      if (param_count_ > 0) {
        columns_left_ = param_count_;
        state_ = State::prepare_params;
      } else if (prepared_columns_ > 0) {
        columns_left_ = prepared_columns_;
        state_ = State::prepare_columns;
      } else {
        state_ = State::done;
      }
      return;
    }
    case State::prepare_params_eof:
      columns_left_ = prepared_columns_;
      state_ = prepared_columns_ > 0 ? State::prepare_columns : State::done;
      return;
    case State::prepare_columns_eof:
      state_ = State::done;
      return;
    case State::single:
      if (first == err_header) {
        on_error(payload);
      } else if (command_ != Command::statistics && (first == ok_header || first == eof_header)) {
        on_terminator(payload, ec);
        state_ = State::done;
      } else {
        ++results_;
        state_ = State::done;
      }
      return;
    default:
      ec = Errc::unexpected_packet;
      return;
  }
}

}  // namespace ghostgate::protocol
