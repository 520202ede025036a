// The LOCAL INFILE request, and the upload followers (LocalInfileUpload, UploadScanner) on a
// client stream, whole and split in two.
#include "protocol/local_infile.h"

#include "fuzz_util.h"
#include "protocol/packet_scanner.h"

using namespace ghostgate::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ghostgate::fuzz::Input in(data, size);
  const auto first_seq = static_cast<std::uint8_t>(in.take(1));
  const auto split = static_cast<std::size_t>(in.take(2));
  const std::vector<std::uint8_t> payload = in.rest();
  LocalInfileRequest req;
  if (!parse_local_infile_request(payload, req)) {
    std::vector<std::uint8_t> out;
    Writer w(out);
    serialize_local_infile_request(req, w);
    FUZZ_CHECK(out == payload);
  }
  // Whole versus two chunks: same bytes consumed, same outcome.
  LocalInfileUpload a;
  a.start(first_seq);
  std::error_code ea;
  const std::size_t ua = a.consume(payload, ea);
  LocalInfileUpload b;
  b.start(first_seq);
  std::error_code eb;
  const std::size_t cut = payload.empty() ? 0 : split % (payload.size() + 1);
  std::size_t ub = b.consume(Bytes(payload.data(), cut), eb);
  if (!eb) {
    ub += b.consume(Bytes(payload.data() + ub, payload.size() - ub), eb);
  }
  FUZZ_CHECK(ua <= payload.size());
  FUZZ_CHECK(ua == ub && ea == eb && a.done() == b.done());
  FUZZ_CHECK(a.bytes() == b.bytes() && a.next_sequence() == b.next_sequence());
  // UploadScanner (no sequence checks) must agree wherever the sequence ids were right.
  if (!ea) {
    UploadScanner c;
    c.start();
    const std::size_t uc = c.consume(payload);
    FUZZ_CHECK(uc == ua && c.done() == a.done() && c.bytes() == a.bytes());
    if (c.done()) {
      FUZZ_CHECK(c.next_sequence() == a.next_sequence());
    }
  }
  return 0;
}
