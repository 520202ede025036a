#include "protocol/packet_scanner.h"

#include <algorithm>

#include "protocol/frame.h"

namespace ghostgate::protocol {

std::size_t UploadScanner::consume(Bytes data) {
  std::size_t pos = 0;
  while (pos < data.size() && !done_) {
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
    pos += frame_header_size;
    next_sequence_ = static_cast<std::uint8_t>(h.sequence + 1);
    if (h.length == 0 && !continuation_) {
      done_ = true;
      break;
    }
    continuation_ = h.length == max_frame_payload;
    frame_left_ = h.length;
  }
  return pos;
}

}  // namespace ghostgate::protocol
