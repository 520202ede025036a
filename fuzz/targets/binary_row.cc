// Binary rows: 1 byte column count n, n x (type, unsigned) bytes, then the payload.
#include "fuzz_util.h"
#include "protocol/rows.h"

using namespace ghostgate::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ghostgate::fuzz::Input in(data, size);
  const std::size_t n = static_cast<std::size_t>(in.take(1));
  std::vector<ValueType> types;
  for (std::size_t i = 0; i < n; ++i) {
    const auto t = static_cast<ColumnType>(in.take(1));
    types.push_back({t, (in.take(1) & 1) != 0});
  }
  const std::vector<std::uint8_t> payload = in.rest();
  std::vector<Value> row;
  if (parse_binary_row(payload, types, row)) {
    return 0;
  }
  FUZZ_CHECK(row.size() == types.size());
  std::vector<std::uint8_t> out;
  Writer w(out);
  serialize_binary_row(row, types, w);
  std::vector<Value> row2;
  FUZZ_CHECK(!parse_binary_row(out, types, row2));
  FUZZ_CHECK(same_values(row, row2));
  return 0;
}
