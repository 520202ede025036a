#include "proxy/net/packet_io.h"

#include <algorithm>
#include <cstring>

#include "protocol/error.h"
#include "proxy/observe/metrics.h"

namespace ghostgate::proxy {

void InBuffer::consume(std::size_t n) {
  begin_ += n;
  if (begin_ == end_) {
    begin_ = end_ = 0;
  }
}

void InBuffer::shrink() {
  if (empty() && buf_.size() > initial_) {
    std::vector<std::uint8_t>().swap(buf_);
    begin_ = end_ = 0;
  }
}

void InBuffer::grow_if_filled(std::size_t max) {
  if (last_fill_full_ && buf_.size() < max) {
    // Only what is unread moves; the new room is at the end.
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    buf_.resize(std::min(max, buf_.size() * 2));
    last_fill_full_ = false;
  }
}

awaitable<error_code> InBuffer::fill(Stream& stream, std::size_t limit) {
  if (buf_.empty()) {
    buf_.resize(initial_);
  }
  if (end_ == buf_.size()) {
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ == buf_.size()) {
      buf_.resize(buf_.size() * 2);
    }
  }
  const std::size_t room = std::min(buf_.size() - end_, limit);
  IoResult r = co_await stream.read_some(asio::buffer(buf_.data() + end_, room));
  end_ += r.bytes;
  last_fill_full_ = r.bytes == room;
  if (counter_ != nullptr) {
    counter_->inc(r.bytes);
  }
  co_return r.ec;
}

awaitable<error_code> read_packet(Stream& stream, InBuffer& in, std::size_t max_payload,
                                  std::vector<std::uint8_t>& scratch, protocol::Packet& out) {
  for (;;) {
    const std::error_code pec = protocol::next_packet(in.data(), max_payload, scratch, out);
    if (!pec) {
      co_return error_code{};
    }
    if (pec != protocol::Errc::incomplete) {
      co_return to_error_code(pec);
    }
    if (error_code ec = co_await in.fill(stream)) {
      co_return ec;
    }
  }
}

awaitable<error_code> read_packet_exact(Stream& stream, InBuffer& in, std::size_t max_payload,
                                        std::vector<std::uint8_t>& scratch, protocol::Packet& out) {
  for (;;) {
    const std::error_code pec = protocol::next_packet(in.data(), max_payload, scratch, out);
    if (!pec) {
      co_return error_code{};
    }
    if (pec != protocol::Errc::incomplete) {
      co_return to_error_code(pec);
    }
    // Wanted: the 4-byte header, then exactly the payload its length announces.
    constexpr std::size_t header = 4;
    std::size_t wanted = header - std::min(in.size(), header);
    if (wanted == 0) {
      const protocol::FrameHeader h = protocol::parse_frame_header(in.data().data());
      wanted = header + h.length - in.size();
    }
    if (error_code ec = co_await in.fill(stream, wanted)) {
      co_return ec;
    }
  }
}

namespace {

// Bridges protocol::Errc (std::error_code) into boost::system::error_code.
class BridgeCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "ghostgate.protocol"; }
  std::string message(int ev) const override {
    return protocol::make_error_code(static_cast<protocol::Errc>(ev)).message();
  }
};

}  // namespace

error_code to_error_code(std::error_code ec) {
  static const BridgeCategory category;
  if (!ec) {
    return {};
  }
  return error_code(ec.value(), category);
}

}  // namespace ghostgate::proxy
