// The small COM_STMT_* messages and PREPARE_OK: whatever decodes re-encodes to the same bytes
// (all of them are fixed layouts or end in string<EOF>).
#include "fuzz_util.h"
#include "protocol/statement.h"

using namespace ghostgate::protocol;

template <typename T, typename P, typename S>
static void roundtrip(const std::vector<std::uint8_t>& payload, P parse, S serialize) {
  T v;
  if (parse(payload, v)) {
    return;
  }
  std::vector<std::uint8_t> out;
  Writer w(out);
  serialize(v, w);
  FUZZ_CHECK(out == payload);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> payload(data, data + size);
  roundtrip<StmtPrepare>(payload, parse_stmt_prepare, serialize_stmt_prepare);
  roundtrip<StmtPrepareOk>(payload, parse_stmt_prepare_ok, serialize_stmt_prepare_ok);
  roundtrip<StmtClose>(payload, parse_stmt_close, serialize_stmt_close);
  roundtrip<StmtReset>(payload, parse_stmt_reset, serialize_stmt_reset);
  roundtrip<StmtFetch>(payload, parse_stmt_fetch, serialize_stmt_fetch);
  roundtrip<StmtSendLongData>(payload, parse_stmt_send_long_data, serialize_stmt_send_long_data);
  std::uint32_t id = 0;
  if (!peek_statement_id(payload, id)) {
    FUZZ_CHECK(payload.size() >= 5);
  }
  return 0;
}
