// rules/schema_diff.h: revert_statements() on two SHOW CREATE TABLE texts (what the server
// prints before and after a migration). Input: 1 byte picks the table, then the current and the
// wanted definition separated by a NUL.
// Properties besides no crash / UB / leak:
// - a definition against itself needs nothing run (no statements), and nothing is lossy when
//   parse_table_definition() understands it;
// - an answer for two definitions either names what is lossy or not understood, or only has
//   statements (never an empty reason); every statement is an ALTER TABLE of the table;
// - what parse_table_definition() understands has no column or index with an empty text.
#include "rules/schema_diff.h"

#include <array>
#include <string>

#include "fuzz_util.h"
#include "shard_fuzz_util.h"

using namespace ghostgate::rules;

namespace {

const std::array<QualifiedName, 2> kTables = {QualifiedName{"test", "t"},
                                              QualifiedName{"we`ird", "a b.c"}};

void check_same(const std::string& text, const QualifiedName& table) {
  const RevertDiff same = revert_statements(text, text, table);
  if (!same.statements.empty()) {
    std::fprintf(stderr, "against itself: %s\n", same.statements[0].c_str());
  }
  FUZZ_CHECK(same.statements.empty());
  std::string error;
  const std::optional<TableDefinition> def = parse_table_definition(text, &error);
  FUZZ_CHECK(def.has_value() || !error.empty());
  if (def.has_value()) {
    FUZZ_CHECK(same.lossy.empty());
    for (const TableDefinition::Part& c : def->columns) {
      FUZZ_CHECK(!c.text.empty());
    }
    for (const TableDefinition::Part& i : def->indexes) {
      FUZZ_CHECK(!i.text.empty());
    }
  } else {
    FUZZ_CHECK(!same.lossy.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ghostgate::fuzz::Input in(data, size);
  const QualifiedName& table = kTables[in.take(1) % kTables.size()];
  std::vector<std::string> parts = ghostgate::fuzz::split_nul(in.take_string(in.remaining()));
  parts.resize(2);
  const std::string& current = parts[0];
  const std::string& wanted = parts[1];

  check_same(current, table);
  check_same(wanted, table);
  const RevertDiff diff = revert_statements(current, wanted, table);
  const std::string prefix = "ALTER TABLE " + quote_name(table) + " ";
  for (const std::string& st : diff.statements) {
    FUZZ_CHECK(st.starts_with(prefix) && st.size() > prefix.size());
  }
  for (const std::string& why : diff.lossy) {
    FUZZ_CHECK(!why.empty());
  }
  return 0;
}
