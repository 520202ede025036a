#pragma once
// Internal to the statement classifier (rules/classifier.cc, rules/classifier_ddl.cc); include it
// nowhere else. The public interface is rules/classifier.h. What both parsers share: the token
// cursor and reading a table name. These are on the hot path (every replicated statement the fast
// path does not take): they stay inline, as when they were local to classifier.cc.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "rules/classifier.h"
#include "rules/lexer.h"

namespace ghostgate::rules::classifier_internal {

class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text), lexer_(text) { cur_ = lexer_.next(); }

  [[nodiscard]] const Token& cur() const { return cur_; }
  [[nodiscard]] Token peek() const {
    Lexer copy = lexer_;
    return copy.next();
  }
  void advance() { cur_ = lexer_.next(); }
  bool accept(std::string_view keyword) {
    if (cur_.is(keyword)) {
      advance();
      return true;
    }
    return false;
  }
  bool accept_punct(char c) {
    if (cur_.is_punct(c)) {
      advance();
      return true;
    }
    return false;
  }
  // End of the statement: the input's end or a `;` (classify() gets single statements, but a
  // trailing `;` is harmless).
  [[nodiscard]] bool at_end() const {
    return cur_.kind == TokenKind::end || cur_.kind == TokenKind::unterminated ||
           cur_.is_punct(';');
  }
  [[nodiscard]] std::uint32_t offset(const Token& t) const {
    return static_cast<std::uint32_t>(t.offset_in(text_));
  }
  // Skips a balanced ( ... ) group; cur() must be the `(`.
  void skip_group() {
    int depth = 0;
    while (!at_end()) {
      if (cur_.is_punct('(')) {
        ++depth;
      } else if (cur_.is_punct(')')) {
        if (--depth == 0) {
          advance();
          return;
        }
      }
      advance();
    }
  }

 private:
  std::string_view text_;
  Lexer lexer_;
  Token cur_;
};

inline bool is_name(const Token& t) {
  return t.kind == TokenKind::identifier || t.kind == TokenKind::quoted_identifier;
}

inline std::string_view name_of(const Token& t, Statement& st) {
  std::string_view body = identifier_body(t);
  if (!identifier_needs_unescape(t)) {
    return body;
  }
  std::string unescaped;
  unescaped.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    unescaped.push_back(body[i]);
    if (body[i] == '`' && i + 1 < body.size() && body[i + 1] == '`') {
      ++i;
    }
  }
  return st.own(std::move(unescaped));
}

// Reads `[schema.]name` at the cursor. False (cursor unmoved) when there is no name.
inline bool read_name(Cursor& c, Statement& st, TableRef& ref) {
  if (!is_name(c.cur())) {
    return false;
  }
  const Token first = c.cur();
  c.advance();
  Token last = first;
  bool qualified = false;
  if (c.cur().is_punct('.')) {
    // Copying the cursor is cheaper than lexing the next token twice (peek, then advance).
    Cursor after_dot = c;
    after_dot.advance();
    if (is_name(after_dot.cur())) {
      last = after_dot.cur();
      after_dot.advance();
      c = after_dot;
      qualified = true;
    }
  }
  if (qualified) {
    ref.schema = name_of(first, st);
    ref.table = name_of(last, st);
  } else {
    ref.schema = {};
    ref.table = name_of(first, st);
  }
  ref.offset = c.offset(first);
  ref.length = c.offset(last) + static_cast<std::uint32_t>(last.text.size()) - ref.offset;
  return true;
}

inline bool read_table(Cursor& c, Statement& st, RefRole role) {
  TableRef ref;
  ref.role = role;
  if (!read_name(c, st, ref)) {
    st.partial = true;
    return false;
  }
  st.add(ref);
  return true;
}

// The statements that commit implicitly (DDL, LOCK TABLES, table maintenance), in
// classifier_ddl.cc. Each is called with the cursor on the statement's first word.
void parse_create(Cursor& c, Statement& st);
void parse_alter(Cursor& c, Statement& st);
void parse_drop(Cursor& c, Statement& st);
void parse_rename(Cursor& c, Statement& st);
void parse_maintenance(Cursor& c, Statement& st);
void parse_lock(Cursor& c, Statement& st);

}  // namespace ghostgate::rules::classifier_internal
