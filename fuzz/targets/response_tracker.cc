// ResponseTracker on an arbitrary server stream: 1 byte command, 4 bytes capabilities, 1 byte
// n, n x 2-byte chunk sizes, then the stream. Feeding it whole and in those chunks must give
// the same result; nothing past the end of the response is consumed; a LOCAL INFILE pause is
// resumed so the rest of the stream is explored too.
#include "fuzz_util.h"
#include "protocol/response.h"

using namespace ghostgate::protocol;

namespace {

struct Result {
  std::size_t consumed = 0;
  std::error_code ec;
  bool done = false;
  std::uint32_t results = 0;
  std::uint16_t status = 0;
  bool error = false;
  std::uint8_t next_sequence = 0;
  int pauses = 0;
};

Result run(Command cmd, Capabilities caps, const std::vector<std::uint8_t>& s,
           const std::vector<std::size_t>& chunks) {
  ResponseTracker t;
  t.start(cmd, caps);
  Result r;
  std::size_t avail = 0;
  std::size_t next_chunk = 0;
  for (;;) {
    if (t.awaiting_local_infile()) {
      // The client's upload is not in this stream; continue with the server's answer.
      t.resume_after_local_infile();
      ++r.pauses;
    }
    const std::size_t before = r.consumed;
    std::size_t used = t.consume(Bytes(s.data() + r.consumed, avail - r.consumed), r.ec);
    FUZZ_CHECK(used <= avail - before);
    r.consumed += used;
    if (r.ec || t.done()) {
      break;
    }
    if (t.awaiting_local_infile()) {
      continue;
    }
    if (avail == s.size()) {
      break;
    }
    const std::size_t step = next_chunk < chunks.size() ? chunks[next_chunk++] : s.size();
    avail = std::min(s.size(), avail + std::max<std::size_t>(step, 1));
  }
  r.done = t.done();
  r.results = t.results();
  r.status = t.status();
  r.error = t.ended_with_error();
  r.next_sequence = t.next_sequence();
  if (r.done) {
    std::error_code ec;
    FUZZ_CHECK(t.consume(Bytes(s.data() + r.consumed, s.size() - r.consumed), ec) == 0);
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ghostgate::fuzz::Input in(data, size);
  const auto cmd = static_cast<Command>(in.take(1));
  const auto caps = static_cast<Capabilities>(in.take(4));
  const std::size_t n = static_cast<std::size_t>(in.take(1) % 16);
  std::vector<std::size_t> chunks;
  for (std::size_t i = 0; i < n; ++i) {
    chunks.push_back(static_cast<std::size_t>(in.take(2)));
  }
  const std::vector<std::uint8_t> stream = in.rest();
  const Result whole = run(cmd, caps, stream, {stream.size()});
  const Result split = run(cmd, caps, stream, chunks);
  FUZZ_CHECK(whole.consumed == split.consumed);
  FUZZ_CHECK(whole.ec == split.ec);
  FUZZ_CHECK(whole.done == split.done);
  FUZZ_CHECK(whole.results == split.results && whole.status == split.status);
  FUZZ_CHECK(whole.error == split.error && whole.pauses == split.pauses);
  if (whole.done) {
    FUZZ_CHECK(whole.next_sequence == split.next_sequence);
  }
  return 0;
}
