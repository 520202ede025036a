#include "protocol/local_infile.h"

#include <algorithm>

#include "protocol/frame.h"

namespace ghostgate::protocol {

std::error_code parse_local_infile_request(Bytes payload, LocalInfileRequest& out) {
  Reader r(payload);
  out = LocalInfileRequest{};
  const std::uint8_t header = r.read_u8();
  if (!r.ok()) {
    return r.error();
  }
  if (header != local_infile_header) {
    return Errc::malformed;
  }
  out.filename = r.read_rest();
  return r.error();
}

void serialize_local_infile_request(const LocalInfileRequest& req, Writer& w) {
  w.write_u8(local_infile_header);
  w.write_string(req.filename);
}

void append_local_infile_data(std::vector<std::uint8_t>& out, std::uint8_t& seq, Bytes data) {
  if (data.empty()) {
    return;  // an empty packet would end the upload
  }
  append_packet(out, seq, data);
}

void append_local_infile_end(std::vector<std::uint8_t>& out, std::uint8_t& seq) {
  append_packet(out, seq, Bytes{});
}

void LocalInfileUpload::start(std::uint8_t first_sequence) {
  next_sequence_ = first_sequence;
  frame_left_ = 0;
  bytes_ = 0;
  continuation_ = false;
  done_ = false;
}

std::size_t LocalInfileUpload::consume(Bytes data, std::error_code& ec) {
  std::size_t pos = 0;
  while (!done_ && pos < data.size()) {
    if (frame_left_ > 0) {
      const std::size_t n = std::min<std::size_t>(frame_left_, data.size() - pos);
      pos += n;
      frame_left_ -= static_cast<std::uint32_t>(n);
      bytes_ += n;
      continue;
    }
    if (data.size() - pos < frame_header_size) {
      break;
    }
    const FrameHeader h = parse_frame_header(data.data() + pos);
    if (h.sequence != next_sequence_) {
      ec = Errc::bad_sequence;
      return pos;
    }
    pos += frame_header_size;
    next_sequence_ = static_cast<std::uint8_t>(h.sequence + 1);
    frame_left_ = h.length;
    if (h.length == 0 && !continuation_) {
      done_ = true;
    }
    continuation_ = h.length == max_frame_payload;
  }
  return pos;
}

}  // namespace ghostgate::protocol
