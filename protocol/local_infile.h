#pragma once
// LOAD DATA LOCAL INFILE: the server answers the query with 0xfb + file name, the client sends
// the file's content as packets and ends it with an empty packet, then the server sends OK/ERR.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_local_infile_request.html

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <vector>

#include "protocol/codec.h"
#include "protocol/constants.h"

namespace ghostgate::protocol {

// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_local_infile_request.html
struct LocalInfileRequest {
  std::string_view filename;  // string<EOF>: a view into the payload

  bool operator==(const LocalInfileRequest&) const = default;
};

inline bool is_local_infile_request(Bytes payload) {
  return !payload.empty() && payload[0] == local_infile_header;
}

[[nodiscard]] std::error_code parse_local_infile_request(Bytes payload, LocalInfileRequest& out);
void serialize_local_infile_request(const LocalInfileRequest& req, Writer& w);

// Client side, for when ghostgate itself sends a file: `data` as one or more packets (large
// data is split into 16 MiB frames), then the empty packet that ends the upload.
void append_local_infile_data(std::vector<std::uint8_t>& out, std::uint8_t& seq, Bytes data);
void append_local_infile_end(std::vector<std::uint8_t>& out, std::uint8_t& seq);

// Follows the client's upload in the raw byte stream, in any chunking, without copying: it
// consumes whole and partial frames up to and including the empty packet that ends the file,
// and never a byte after it. A 0xffffff-byte frame continues its packet, so the empty frame
// that closes such a packet is not the end of the upload.
class LocalInfileUpload {
 public:
  // `first_sequence`: the sequence id the client's first packet must carry (the request's + 1).
  void start(std::uint8_t first_sequence);
  // Returns how many bytes of `data` belong to the upload. Sets `ec` (Errc::bad_sequence) when a
  // frame carries the wrong sequence id; nothing after that frame's header is consumed.
  std::size_t consume(Bytes data, std::error_code& ec);
  bool done() const { return done_; }
  // Sequence id of the server's answer that follows.
  std::uint8_t next_sequence() const { return next_sequence_; }
  // File bytes seen so far (payload only, headers excluded).
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::uint8_t next_sequence_ = 0;
  std::uint32_t frame_left_ = 0;
  std::uint64_t bytes_ = 0;
  bool continuation_ = false;
  bool done_ = true;
};

}  // namespace ghostgate::protocol
