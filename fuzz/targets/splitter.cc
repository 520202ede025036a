// The statement splitter on arbitrary COM_QUERY text. Properties: statements are non-empty views
// into the input, in order, without overlapping, trimmed of whitespace, and offset() points at
// each; what lies outside them is only whitespace, `;` and comments (a fresh splitter finds no
// statement there), so the pieces cover every statement byte of the input; split_statements()
// gives the same list; each statement split again on its own is that one statement. Each
// statement is also classified (must not crash).
#include "fuzz_util.h"
#include "rules/classifier.h"
#include "rules/lexer.h"

using namespace ghostgate::rules;

namespace {

bool space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool no_statement_in(std::string_view gap) {
  StatementSplitter s(gap);
  std::string_view st;
  return !s.next(st);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string owned(reinterpret_cast<const char*>(data), size);
  const std::string_view text(owned);
  StatementSplitter splitter(text);
  std::vector<std::string_view> statements;
  std::string_view st;
  std::size_t prev_end = 0;
  while (splitter.next(st)) {
    FUZZ_CHECK(statements.size() < size);
    FUZZ_CHECK(!st.empty());
    FUZZ_CHECK(st.data() >= text.data() && st.data() + st.size() <= text.data() + text.size());
    const std::size_t offset = static_cast<std::size_t>(st.data() - text.data());
    FUZZ_CHECK(splitter.offset() == offset);
    FUZZ_CHECK(offset >= prev_end);
    FUZZ_CHECK(!space(st.front()) && !space(st.back()));
    FUZZ_CHECK(no_statement_in(text.substr(prev_end, offset - prev_end)));
    prev_end = offset + st.size();
    statements.push_back(st);
  }
  FUZZ_CHECK(no_statement_in(text.substr(prev_end)));
  FUZZ_CHECK(split_statements(text) == statements);

  for (std::string_view s : statements) {
    // Split alone, it is itself (a copy, so ASan sees its exact bounds). Except a statement
    // ending in `--`: before its `;` that was two minus signs, at the end of the text it starts
    // a comment.
    const std::string copy(s);
    const std::vector<std::string_view> again = split_statements(copy);
    if (!copy.ends_with("--")) {
      FUZZ_CHECK(again.size() == 1 && again[0] == copy);
    }
    const Statement c = classify(copy);
    FUZZ_CHECK(c.text.data() == copy.data());
  }
  return 0;
}
