#pragma once
// Where does the server's response to a command end? A state machine fed the raw server byte
// stream in whatever chunks the socket delivers. It looks only at frame headers and at the
// first byte of row packets, and reads the few small packets that carry state (column counts,
// terminators, PREPARE_OK, ERR) in full, so a large result set is forwarded without per-row
// work. No I/O, no allocation.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response.html
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_stmt_prepare.html#sect_protocol_com_stmt_prepare_response

#include <cstddef>
#include <cstdint>
#include <system_error>

#include "protocol/codec.h"
#include "protocol/constants.h"

namespace ghostgate::protocol {

// Whether the server answers `cmd` at all.
bool command_has_response(Command cmd);

class ResponseTracker {
 public:
  // Begin tracking the response to `cmd` on a connection with capabilities `caps`.
  void start(Command cmd, Capabilities caps);

  // Consumes a prefix of `data` that can be forwarded now: whole frames, or the part of a
  // large opaque frame that has arrived. Stops at the end of the response (bytes after it are
  // not consumed) and before a small packet it must read whole but that is incomplete.
  // Sets `ec` on a protocol violation.
  std::size_t consume(Bytes data, std::error_code& ec);

  // The whole response has been consumed. (The packet that completes a response may be an
  // opaque one, e.g. the last parameter definition under CLIENT_DEPRECATE_EOF: the response is
  // done only when its payload has passed too.)
  bool done() const { return state_ == State::done && frame_left_ == 0 && !continuation_; }
  // The server sent a LOCAL INFILE request: the client must now send the file. After relaying
  // the client's packets up to its empty packet, call resume_after_local_infile().
  bool awaiting_local_infile() const { return state_ == State::local_infile; }
  void resume_after_local_infile() { state_ = State::first_packet; }

  // Status flags of the last OK/EOF seen (transaction state, more results...).
  std::uint16_t status() const { return status_; }
  bool status_known() const { return status_known_; }
  // The response was (or ended with) an ERR packet.
  bool ended_with_error() const { return ended_with_error_; }
  std::uint16_t error_code() const { return error_code_; }
  // Sequence id the next packet in this exchange carries.
  std::uint8_t next_sequence() const { return next_sequence_; }
  // Result sets completed so far (OK results included).
  std::uint32_t results() const { return results_; }

  // PREPARE_OK details, valid after a successful COM_STMT_PREPARE response.
  std::uint32_t statement_id() const { return statement_id_; }
  std::uint16_t param_count() const { return param_count_; }
  std::uint16_t column_count() const { return prepared_columns_; }

 private:
  enum class State {
    done,
    first_packet,    // OK / ERR / LOCAL INFILE request / column count
    columns,         // column definitions of a result set
    columns_eof,     // the EOF after column definitions (without CLIENT_DEPRECATE_EOF)
    rows,            // rows until a terminator or ERR
    prepare_first,   // PREPARE_OK or ERR
    prepare_params,  // parameter definitions
    prepare_params_eof,
    prepare_columns,
    prepare_columns_eof,
    field_list,    // COM_FIELD_LIST: column definitions until EOF
    single,        // exactly one packet, any content (OK/ERR/EOF or COM_STATISTICS text)
    local_infile,  // waiting for the client's file
  };

  // Whether the packet starting with `first` (payload length `len`) must be read whole.
  bool needs_whole(std::uint8_t first, std::uint32_t len) const;
  void on_whole_packet(Bytes payload, std::error_code& ec);
  void on_opaque_packet();
  void on_terminator(Bytes payload, std::error_code& ec);
  void on_error(Bytes payload);
  void after_columns_done();
  void after_prepare_params();
  void after_prepare_columns();

  State state_ = State::done;
  Command command_ = Command::sleep;
  Capabilities caps_ = 0;
  std::uint64_t columns_left_ = 0;
  std::uint32_t frame_left_ = 0;  // bytes of the current opaque frame not yet consumed
  bool continuation_ = false;     // the next frame continues the current packet
  bool binary_rows_ = false;
  std::uint16_t status_ = 0;
  bool status_known_ = false;
  bool ended_with_error_ = false;
  std::uint16_t error_code_ = 0;
  std::uint8_t next_sequence_ = 1;
  std::uint32_t results_ = 0;
  std::uint32_t statement_id_ = 0;
  std::uint16_t param_count_ = 0;
  std::uint16_t prepared_columns_ = 0;
};

}  // namespace ghostgate::protocol
