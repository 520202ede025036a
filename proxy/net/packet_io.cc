#include "proxy/net/packet_io.h"

#include <algorithm>
#include <cstring>

#include "protocol/error.h"
#include "proxy/observe/metrics.h"

namespace ghostgate::proxy {

namespace {

// Each worker thread's cache: its sessions take and give blocks on that thread only, so no
// lock. A block given on another thread (a connection destroyed elsewhere) joins that
// thread's cache, which is as good.
struct ThreadBlocks {
  std::vector<std::uint8_t*> free;
  std::size_t lent = 0;
  ~ThreadBlocks() {
    for (std::uint8_t* b : free) {
      delete[] b;
    }
  }
};

ThreadBlocks& thread_blocks() {
  thread_local ThreadBlocks blocks;
  return blocks;
}

}  // namespace

std::uint8_t* BlockCache::take() {
  ThreadBlocks& t = thread_blocks();
  ++t.lent;
  if (t.free.empty()) {
    return new std::uint8_t[block_size];
  }
  std::uint8_t* b = t.free.back();
  t.free.pop_back();
  return b;
}

void BlockCache::give(std::uint8_t* block) {
  ThreadBlocks& t = thread_blocks();
  if (t.lent > 0) {
    --t.lent;
  }
  if (t.free.size() < max_cached) {
    t.free.push_back(block);
  } else {
    delete[] block;
  }
}

std::size_t BlockCache::cached() { return thread_blocks().free.size(); }
std::size_t BlockCache::lent() { return thread_blocks().lent; }

void InBuffer::consume(std::size_t n) {
  begin_ += n;
  if (begin_ == end_) {
    begin_ = end_ = 0;
  }
}

void InBuffer::free_storage() {
  if (buf_ == inline_) {
    return;
  }
  if (cap_ == BlockCache::block_size) {
    BlockCache::give(buf_);
  } else {
    delete[] buf_;
  }
  buf_ = inline_;
  cap_ = inline_size;
}

void InBuffer::move_to(std::size_t cap) {
  std::uint8_t* to = cap == inline_size              ? inline_
                     : cap == BlockCache::block_size ? BlockCache::take()
                                                     : new std::uint8_t[cap];
  const std::size_t n = end_ - begin_;
  if (n > 0) {
    std::memmove(to, buf_ + begin_, n);
  }
  if (to != buf_) {
    free_storage();
  }
  buf_ = to;
  cap_ = cap;
  begin_ = 0;
  end_ = n;
}

void InBuffer::release() {
  if (buf_ != inline_ && size() <= inline_size) {
    move_to(inline_size);
  }
  last_fill_full_ = false;
}

void InBuffer::grow_if_filled(std::size_t max) {
  if (last_fill_full_ && cap_ < max) {
    // Only what is unread moves; the new room is at the end.
    move_to(std::max(BlockCache::block_size, std::min(max, cap_ * 2)));
    last_fill_full_ = false;
  }
}

awaitable<error_code> InBuffer::fill(Stream& stream, std::size_t limit) {
  // A buffer that reads into its inline array moves to a block once a read filled it: a large
  // packet or an upload, whose next reads should not come 512 bytes at a time.
  if (buf_ == inline_ && (first_ == First::block || last_fill_full_)) {
    move_to(BlockCache::block_size);
  }
  if (end_ == cap_) {
    if (begin_ > 0) {
      std::memmove(buf_, buf_ + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ == cap_) {
      move_to(std::max(BlockCache::block_size, cap_ * 2));
    }
  }
  const std::size_t room = std::min(cap_ - end_, limit);
  IoResult r = co_await stream.read_some(asio::buffer(buf_ + end_, room));
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
