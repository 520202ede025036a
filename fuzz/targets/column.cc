// Column definitions round trip exactly (the encoding is canonical).
#include "protocol/column.h"

#include "fuzz_util.h"

using namespace ghostgate::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> payload(data, data + size);
  ColumnDefinition41 c;
  if (parse_column_definition(payload, c)) {
    return 0;
  }
  std::vector<std::uint8_t> out;
  Writer w(out);
  serialize_column_definition(c, w);
  ColumnDefinition41 c2;
  FUZZ_CHECK(!parse_column_definition(out, c2));
  FUZZ_CHECK(c == c2);
  return 0;
}
