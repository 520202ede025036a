// The SQL lexer on arbitrary text. Properties: every token is a non-empty view into the input,
// tokens come in order without overlapping, position() is the end of the last token, each kind
// has its shape (a quoted name starts and ends with a backtick and every backtick inside it is
// doubled; an unterminated token runs to the end; ...), a token lexed again on its own is the
// same single token, and what lies between two tokens outside executable comments lexes to
// nothing (it was whitespace or comments). Also count_placeholders() agrees with the tokens.
#include "rules/lexer.h"

#include "fuzz_util.h"
#include "rules/classifier.h"

using namespace ghostgate::rules;

namespace {

bool ident_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' ||
         u == '$' || u >= 0x80;
}

bool opens_executable_comment(std::string_view gap) {
  return gap.find("/*!") != std::string_view::npos || gap.find("/*M!") != std::string_view::npos ||
         gap.find("/*T!") != std::string_view::npos;
}

void check_shape(const Token& t, std::string_view text) {
  const std::string_view s = t.text;
  FUZZ_CHECK(!s.empty());
  switch (t.kind) {
    case TokenKind::identifier:
      for (char c : s) {
        FUZZ_CHECK(ident_byte(c));
      }
      break;
    case TokenKind::quoted_identifier: {
      FUZZ_CHECK(s.size() >= 2 && s.front() == '`' && s.back() == '`');
      const std::string_view body = identifier_body(t);
      for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '`') {
          FUZZ_CHECK(i + 1 < body.size() && body[i + 1] == '`');
          ++i;
        }
      }
      FUZZ_CHECK(identifier_needs_unescape(t) == (body.find('`') != std::string_view::npos));
      break;
    }
    case TokenKind::string:
      FUZZ_CHECK(s.size() >= 2 && (s.back() == '\'' || s.back() == '"'));
      break;
    case TokenKind::hex_literal:
    case TokenKind::bit_literal:
      FUZZ_CHECK(s.size() >= 3);
      break;
    case TokenKind::number:
      FUZZ_CHECK((s[0] >= '0' && s[0] <= '9') || s[0] == '.');
      break;
    case TokenKind::placeholder:
      FUZZ_CHECK(s == "?");
      break;
    case TokenKind::variable:
      FUZZ_CHECK(s[0] == '@' && (s.size() < 2 || s[1] != '@'));
      break;
    case TokenKind::system_variable:
      FUZZ_CHECK(s.size() >= 2 && s[0] == '@' && s[1] == '@');
      break;
    case TokenKind::punct:
      FUZZ_CHECK(s.size() <= 3);
      break;
    case TokenKind::unterminated:
      FUZZ_CHECK(s.data() + s.size() == text.data() + text.size());
      break;
    case TokenKind::end:
      FUZZ_CHECK(false);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string owned(reinterpret_cast<const char*>(data), size);
  const std::string_view text(owned);
  Lexer lexer(text);
  std::size_t prev_end = 0;
  bool prev_exec = false;
  std::size_t count = 0;
  std::uint32_t placeholders = 0;
  for (;;) {
    const std::size_t before = lexer.position();
    const Token t = lexer.next();
    FUZZ_CHECK(lexer.position() >= before);
    FUZZ_CHECK(t.text.data() >= text.data() &&
               t.text.data() + t.text.size() <= text.data() + text.size());
    if (t.kind == TokenKind::end) {
      FUZZ_CHECK(t.text.empty() && lexer.position() == text.size());
      FUZZ_CHECK(lexer.next().kind == TokenKind::end);
      break;
    }
    FUZZ_CHECK(++count <= size);
    check_shape(t, text);
    const std::size_t offset = t.offset_in(text);
    FUZZ_CHECK(offset >= prev_end);
    FUZZ_CHECK(lexer.position() == offset + t.text.size());
    if (t.kind == TokenKind::placeholder) {
      ++placeholders;
    }
    // What was skipped before this token, outside executable comments, is only comments.
    const std::string_view gap = text.substr(prev_end, offset - prev_end);
    if (!prev_exec && !lexer.in_executable_comment() && !opens_executable_comment(gap)) {
      Lexer gap_lexer(gap);
      FUZZ_CHECK(gap_lexer.next().kind == TokenKind::end);
    }
    // A token lexed on its own is that token again (nothing depends on what follows it, except
    // a `.` after a name, which the lexer looks back for).
    if (offset == 0 || text[offset] != '.') {
      Lexer alone(t.text);
      const Token again = alone.next();
      FUZZ_CHECK(again.kind == t.kind && again.text == t.text);
      FUZZ_CHECK(alone.next().kind == TokenKind::end);
    }
    prev_end = offset + t.text.size();
    prev_exec = lexer.in_executable_comment();
  }
  FUZZ_CHECK(count_placeholders(text) == placeholders);
  return 0;
}
