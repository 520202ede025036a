// COM_STMT_EXECUTE: 2 bytes param count (< 512), 1 byte k, k x (type, unsigned) previously
// bound types, then the payload.
#include "fuzz_util.h"
#include "protocol/statement.h"

using namespace ghostgate::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ghostgate::fuzz::Input in(data, size);
  const auto params = static_cast<std::uint16_t>(in.take(2) & 0x1ff);
  const std::size_t k = static_cast<std::size_t>(in.take(1));
  std::vector<ValueType> bound;
  for (std::size_t i = 0; i < k; ++i) {
    const auto t = static_cast<ColumnType>(in.take(1));
    bound.push_back({t, (in.take(1) & 1) != 0});
  }
  const std::vector<std::uint8_t> payload = in.rest();
  StmtExecute e;
  if (parse_stmt_execute(payload, params, bound, e)) {
    return 0;
  }
  FUZZ_CHECK(e.params.size() == params);
  std::vector<std::uint8_t> out;
  Writer w(out);
  serialize_stmt_execute(e, w);
  StmtExecute e2;
  FUZZ_CHECK(!parse_stmt_execute(out, params, bound, e2));
  FUZZ_CHECK(e == e2);
  return 0;
}
