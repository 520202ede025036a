#pragma once
// Passes a stream of packets through without reading them, and stops after the packet that ends
// the stream: the empty packet that closes a LOCAL INFILE upload. Like ResponseTracker, it
// consumes whole frames or the arrived part of a large frame, so uploads stream through.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_local_infile_request.html

#include <cstddef>
#include <cstdint>

#include "protocol/codec.h"

namespace ghostgate::protocol {

class UploadScanner {
 public:
  void start() { *this = UploadScanner{}; }
  // Consumes a forwardable prefix of `data`; stops right after the terminating empty packet.
  std::size_t consume(Bytes data);
  bool done() const { return done_; }
  std::uint8_t next_sequence() const { return next_sequence_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::uint32_t frame_left_ = 0;
  bool continuation_ = false;
  bool done_ = false;
  std::uint8_t next_sequence_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace ghostgate::protocol
