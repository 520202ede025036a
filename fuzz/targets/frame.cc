// next_packet on arbitrary streams, with a limit taken from the input; every packet found is
// re-framed with append_packet and must read back identically; renumber_frames must number the
// frames on from its start value, one by one, and change no other byte.
#include "protocol/frame.h"

#include "fuzz_util.h"

using namespace ghostgate::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ghostgate::fuzz::Input in(data, size);
  const std::size_t limit = static_cast<std::size_t>(in.take(4)) & 0x3ffffff;
  std::vector<std::uint8_t> stream = in.rest();
  std::vector<std::uint8_t> scratch;
  std::vector<std::uint8_t> scratch2;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    Packet p;
    const auto ec = next_packet(Bytes(stream.data() + pos, stream.size() - pos), limit, scratch, p);
    if (ec) {
      FUZZ_CHECK(ec == Errc::incomplete || ec == Errc::bad_sequence ||
                 ec == Errc::packet_too_large);
      break;
    }
    FUZZ_CHECK(p.wire_size >= frame_header_size && p.wire_size <= stream.size() - pos);
    FUZZ_CHECK(p.payload.size() <= limit);
    std::vector<std::uint8_t> reframed;
    std::uint8_t seq = p.first_sequence;
    append_packet(reframed, seq, p.payload);
    FUZZ_CHECK(seq == p.next_sequence);
    FUZZ_CHECK(reframed.size() == p.wire_size);
    Packet q;
    FUZZ_CHECK(!next_packet(reframed, limit, scratch2, q));
    FUZZ_CHECK(q.payload.size() == p.payload.size() &&
               std::equal(q.payload.begin(), q.payload.end(), p.payload.begin()));
    pos += p.wire_size;
  }
  const std::uint8_t start = static_cast<std::uint8_t>(limit);  // any value, wrap included
  std::uint8_t seq = start;
  std::vector<std::uint8_t> copy(stream.begin(), stream.begin() + pos);
  renumber_frames(copy.data(), copy.size(), seq);
  std::uint8_t want = start;
  std::size_t frames = 0;
  for (std::size_t i = 0; i + 4 <= copy.size(); ++frames, ++want) {
    const FrameHeader h = parse_frame_header(copy.data() + i);
    FUZZ_CHECK(h.length == parse_frame_header(stream.data() + i).length);
    FUZZ_CHECK(h.sequence == want);
    // The sequence id is the one byte that may change.
    FUZZ_CHECK(std::equal(copy.begin() + i, copy.begin() + i + 3, stream.begin() + i));
    const std::size_t end = i + 4 + h.length;
    FUZZ_CHECK(end <= copy.size());
    FUZZ_CHECK(std::equal(copy.begin() + i + 4, copy.begin() + end, stream.begin() + i + 4));
    i = end;
  }
  FUZZ_CHECK(seq == static_cast<std::uint8_t>(start + frames));
  return 0;
}
