// Text rows: 1 byte column count, then the payload.
#include "fuzz_util.h"
#include "protocol/rows.h"

using namespace ghostgate::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ghostgate::fuzz::Input in(data, size);
  const std::size_t columns = static_cast<std::size_t>(in.take(1));
  const std::vector<std::uint8_t> payload = in.rest();
  TextRow row;
  if (parse_text_row(payload, columns, row)) {
    return 0;
  }
  FUZZ_CHECK(row.size() == columns);
  std::vector<std::uint8_t> out;
  Writer w(out);
  serialize_text_row(row, w);
  // lenenc lengths may be written longer than needed on the wire; re-encoding is canonical.
  TextRow row2;
  FUZZ_CHECK(!parse_text_row(out, columns, row2));
  FUZZ_CHECK(row == row2);
  return 0;
}
