#include "rules/lexer.h"

#include <array>
#include <cstring>

namespace ghostgate::rules {
namespace {

enum CharClass : std::uint8_t {
  kOther = 0,
  kSpace = 1,
  kIdent = 2,  // may continue an identifier
  kDigit = 4,
  kHex = 8,
};

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    std::uint8_t v = 0;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      v |= kSpace;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c >= 0x80) {
      v |= kIdent;
    }
    if (c >= '0' && c <= '9') {
      v |= kIdent | kDigit | kHex;
    }
    if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
      v |= kHex;
    }
    t[static_cast<std::size_t>(c)] = v;
  }
  return t;
}

constexpr std::array<std::uint8_t, 256> kClasses = make_classes();

inline std::uint8_t cls(char c) { return kClasses[static_cast<unsigned char>(c)]; }
inline bool is_space(char c) { return (cls(c) & kSpace) != 0; }
inline bool is_ident(char c) { return (cls(c) & kIdent) != 0; }
inline bool is_digit(char c) { return (cls(c) & kDigit) != 0; }
inline bool is_hex(char c) { return (cls(c) & kHex) != 0; }

inline char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }

}  // namespace

void Lexer::skip_space_and_comments() {
  const std::size_t n = text_.size();
  while (pos_ < n) {
    const char c = text_[pos_];
    if (is_space(c)) {
      ++pos_;
      continue;
    }
    if (c == '#') {
      while (pos_ < n && text_[pos_] != '\n') {
        ++pos_;
      }
      continue;
    }
    // `--` starts a comment only when followed by whitespace or a control character (or the end):
    // `a--1` is a minus minus one.
    if (c == '-' && pos_ + 1 < n && text_[pos_ + 1] == '-' &&
        (pos_ + 2 >= n || static_cast<unsigned char>(text_[pos_ + 2]) <= ' ')) {
      while (pos_ < n && text_[pos_] != '\n') {
        ++pos_;
      }
      continue;
    }
    if (c == '*' && in_executable_comment_ && pos_ + 1 < n && text_[pos_ + 1] == '/') {
      in_executable_comment_ = false;
      pos_ += 2;
      continue;
    }
    if (c == '/' && pos_ + 1 < n && text_[pos_ + 1] == '*') {
      std::size_t p = pos_ + 2;
      // Executable comment markers: /*! /*M! /*T! (optionally a version, or TiDB's [feature]).
      bool executable = false;
      if (!in_executable_comment_) {
        if (p < n && text_[p] == '!') {
          executable = true;
          ++p;
        } else if (p + 1 < n && (text_[p] == 'M' || text_[p] == 'T') && text_[p + 1] == '!') {
          executable = true;
          const bool tidb = text_[p] == 'T';
          p += 2;
          if (tidb && p < n && text_[p] == '[') {
            while (p < n && text_[p] != ']' && text_[p] != '*') {
              ++p;
            }
            if (p < n && text_[p] == ']') {
              ++p;
            }
          }
        }
      }
      if (executable) {
        // A version number of five (MySQL) or six (MariaDB) digits right after the marker.
        for (int digits = 0; digits < 6 && p < n && is_digit(text_[p]); ++digits) {
          ++p;
        }
        in_executable_comment_ = true;
        pos_ = p;
        continue;
      }
      // Plain comment or optimizer hint: skip to the closing `*/` (or the end of the input).
      while (p + 1 < n && !(text_[p] == '*' && text_[p + 1] == '/')) {
        ++p;
      }
      pos_ = (p + 1 < n) ? p + 2 : n;
      continue;
    }
    break;
  }
}

Token Lexer::lex_quoted(std::size_t start, std::size_t body, char quote, TokenKind kind) {
  const std::size_t n = text_.size();
  const bool backslash = quote != '`';
  std::size_t p = body;
  if (!backslash) {
    // Quoted names: only a backtick matters, so let memchr find it.
    while (p < n) {
      const void* hit = std::memchr(text_.data() + p, '`', n - p);
      if (hit == nullptr) {
        break;
      }
      p = static_cast<std::size_t>(static_cast<const char*>(hit) - text_.data());
      if (p + 1 < n && text_[p + 1] == '`') {
        p += 2;
        continue;
      }
      pos_ = p + 1;
      return make(kind, start);
    }
    pos_ = n;
    return make(TokenKind::unterminated, start);
  }
  while (p < n) {
    const char c = text_[p];
    if (backslash && c == '\\') {
      p += 2;
      continue;
    }
    if (c == quote) {
      if (p + 1 < n && text_[p + 1] == quote) {  // doubled quote: a literal quote character
        p += 2;
        continue;
      }
      pos_ = p + 1;
      return make(kind, start);
    }
    ++p;
  }
  pos_ = n;
  return make(TokenKind::unterminated, start);
}

Token Lexer::next() {
  skip_space_and_comments();
  const std::size_t n = text_.size();
  if (pos_ >= n) {
    return Token{TokenKind::end, text_.substr(n, 0)};
  }
  const std::size_t start = pos_;
  const char c = text_[pos_];

  if (c == '`') {
    return lex_quoted(start, start + 1, '`', TokenKind::quoted_identifier);
  }
  if (c == '\'' || c == '"') {
    return lex_quoted(start, start + 1, c, TokenKind::string);
  }

  // `.5` is a number, but in `db.5t` the dot separates a qualifier from a name.
  if (is_digit(c) || (c == '.' && pos_ + 1 < n && is_digit(text_[pos_ + 1]) &&
                      !(pos_ > 0 && (is_ident(text_[pos_ - 1]) || text_[pos_ - 1] == '`')))) {
    // 0x.. and 0b.. literals, unless more identifier characters follow (then it is a name).
    if (c == '0' && pos_ + 2 < n && (text_[pos_ + 1] == 'x' || text_[pos_ + 1] == 'b')) {
      const bool hex = text_[pos_ + 1] == 'x';
      std::size_t p = pos_ + 2;
      while (p < n && (hex ? is_hex(text_[p]) : (text_[p] == '0' || text_[p] == '1'))) {
        ++p;
      }
      if (p > pos_ + 2 && (p >= n || !is_ident(text_[p]))) {
        pos_ = p;
        return make(hex ? TokenKind::hex_literal : TokenKind::bit_literal, start);
      }
    }
    std::size_t p = pos_;
    while (p < n && is_digit(text_[p])) {
      ++p;
    }
    bool fraction = false;
    if (p < n && text_[p] == '.') {
      fraction = true;
      ++p;
      while (p < n && is_digit(text_[p])) {
        ++p;
      }
    }
    bool exponent = false;
    if (p < n && (text_[p] == 'e' || text_[p] == 'E')) {
      std::size_t q = p + 1;
      if (q < n && (text_[q] == '+' || text_[q] == '-')) {
        ++q;
      }
      if (q < n && is_digit(text_[q])) {
        while (q < n && is_digit(text_[q])) {
          ++q;
        }
        p = q;
        exponent = true;
      }
    }
    // With an exponent it is a number whatever follows, as in MySQL's lexer: `1e+1x` is the
    // number 1e+1 and then x (a name never contains the `+`).
    if (!fraction && !exponent && p < n && is_ident(text_[p])) {
      // MySQL names may start with digits (`1abc`); they are names, not numbers.
      while (p < n && is_ident(text_[p])) {
        ++p;
      }
      pos_ = p;
      return make(TokenKind::identifier, start);
    }
    pos_ = p;
    return make(TokenKind::number, start);
  }

  if (is_ident(c)) {
    // X'..', B'..', N'..' literals.
    if (pos_ + 1 < n && text_[pos_ + 1] == '\'') {
      const char u = upper(c);
      if (u == 'X' || u == 'B' || u == 'N') {
        Token t = lex_quoted(start, start + 2, '\'', TokenKind::string);
        if (t.kind == TokenKind::string && u != 'N') {
          t.kind = u == 'X' ? TokenKind::hex_literal : TokenKind::bit_literal;
        }
        return t;
      }
    }
    std::size_t p = pos_ + 1;
    while (p < n && is_ident(text_[p])) {
      ++p;
    }
    // A charset introducer glued to a string (`_utf8mb4'x'`, `_binary"y"`) is one literal.
    if (c == '_' && p < n && (text_[p] == '\'' || text_[p] == '"')) {
      return lex_quoted(start, p + 1, text_[p], TokenKind::string);
    }
    pos_ = p;
    return make(TokenKind::identifier, start);
  }

  if (c == '?') {
    ++pos_;
    return make(TokenKind::placeholder, start);
  }

  if (c == '@') {
    std::size_t p = pos_ + 1;
    if (p < n && text_[p] == '@') {
      ++p;
      while (p < n && (is_ident(text_[p]) || text_[p] == '.')) {
        ++p;
      }
      if (p < n && text_[p] == '`') {  // @@`x`
        Token t = lex_quoted(start, p + 1, '`', TokenKind::system_variable);
        return t;
      }
      pos_ = p;
      return make(TokenKind::system_variable, start);
    }
    if (p < n && (text_[p] == '\'' || text_[p] == '"' || text_[p] == '`')) {
      Token t = lex_quoted(start, p + 1, text_[p], TokenKind::variable);
      return t;
    }
    while (p < n && (is_ident(text_[p]) || text_[p] == '.')) {
      ++p;
    }
    pos_ = p;
    return make(TokenKind::variable, start);
  }

  // Operators: longest match among the multi-character ones, which all start with one of these.
  if (c == '<' || c == '>' || c == '!' || c == ':' || c == '|' || c == '&' || c == '-') {
    static constexpr std::string_view kMulti[] = {
        "<=>", "->>", "<=", ">=", "<>", "!=", ":=", "||", "&&", "<<", ">>", "->"};
    const std::string_view rest = text_.substr(pos_);
    for (std::string_view op : kMulti) {
      if (rest.starts_with(op)) {
        pos_ += op.size();
        return make(TokenKind::punct, start);
      }
    }
  }
  ++pos_;
  return make(TokenKind::punct, start);
}

std::string_view identifier_body(const Token& t) {
  if (t.kind == TokenKind::quoted_identifier && t.text.size() >= 2) {
    return t.text.substr(1, t.text.size() - 2);
  }
  return t.text;
}

bool identifier_needs_unescape(const Token& t) {
  if (t.kind != TokenKind::quoted_identifier) {
    return false;
  }
  // Inside a well-formed quoted name every backtick is half of a doubled pair.
  const std::string_view body = identifier_body(t);
  return std::memchr(body.data(), '`', body.size()) != nullptr;
}

void append_quoted_identifier(std::string& out, std::string_view name) {
  out.push_back('`');
  for (char c : name) {
    if (c == '`') {
      out.push_back('`');
    }
    out.push_back(c);
  }
  out.push_back('`');
}

// ---------------------------------------------------------------------------------------------
// Splitter

namespace {

// Tokens after which a stored-program statement begins, so IF/REPEAT there start a compound
// statement rather than a function call.
bool starts_program_statement(const Token& prev) {
  if (prev.kind == TokenKind::punct) {
    return prev.is_punct(';') || prev.is_punct(':') || prev.is_punct(')');
  }
  if (prev.kind == TokenKind::string) {  // COMMENT 'x' before a routine body
    return true;
  }
  return prev.is("BEGIN") || prev.is("THEN") || prev.is("ELSE") || prev.is("DO") ||
         prev.is("LOOP") || prev.is("REPEAT") || prev.is("ROW") || prev.is("DETERMINISTIC") ||
         prev.is("SQL") || prev.is("DATA") || prev.is("DEFINER") || prev.is("INVOKER") ||
         prev.is("ATOMIC");
}

// At an IF in a stored program: true if it is an IF statement (IF cond THEN ...), false for the
// IF() function. The statement reaches THEN before anything that ends an expression in a CASE.
bool if_statement_follows(Lexer lexer) {
  int depth = 0;
  for (Token t = lexer.next(); t.kind != TokenKind::end; t = lexer.next()) {
    if (t.is_punct('(')) {
      ++depth;
    } else if (t.is_punct(')')) {
      if (--depth < 0) {
        return false;
      }
    } else if (depth == 0) {
      if (t.is("THEN")) {
        return true;
      }
      if (t.is_punct(';') || t.is_punct(',') || t.is("END") || t.is("ELSE") || t.is("WHEN") ||
          t.is("ELSEIF")) {
        return false;
      }
    }
  }
  return false;
}

bool is_block_keyword(const Token& t) {
  return t.is("IF") || t.is("CASE") || t.is("LOOP") || t.is("WHILE") || t.is("REPEAT");
}

}  // namespace

bool StatementSplitter::next(std::string_view& statement) {
  const std::size_t n = text_.size();
  while (pos_ < n) {
    // Restart the lexer where the previous statement ended.
    Lexer tail(text_.substr(pos_));
    const std::size_t base = pos_;

    bool any_token = false;
    bool create = false;    // statement starts with CREATE
    bool compound = false;  // a stored-program body may follow
    int header_tokens = 0;  // tokens looked at while deciding `compound`
    int depth = 0;          // BEGIN/CASE/IF/LOOP/WHILE/REPEAT nesting
    Token prev{};
    std::size_t end = n;     // where the statement text ends (the `;` or the input's end)
    std::size_t resume = n;  // where the next statement starts

    for (;;) {
      Token t = tail.next();
      if (t.kind == TokenKind::end) {
        break;
      }
      // A `;` inside an executable comment does not end the statement: cutting there would leave
      // an unterminated comment in both halves.
      if (t.is_punct(';') && depth == 0 && !tail.in_executable_comment()) {
        const std::size_t at = base + t.offset_in(text_.substr(base));
        end = at;
        resume = at + 1;
        break;
      }
      if (!any_token) {
        any_token = true;
        create = t.is("CREATE");
        // MariaDB runs compound statements outside stored programs too.
        if (t.is("BEGIN")) {
          Lexer peek = tail;
          Token a = peek.next();
          Token b = peek.next();
          if (a.is("NOT") && b.is("ATOMIC")) {
            compound = true;
          }
        } else if (is_block_keyword(t)) {
          compound = true;
        }
      } else if (create && !compound && header_tokens < 24) {
        ++header_tokens;
        if (t.is("TRIGGER") || t.is("PROCEDURE") || t.is("FUNCTION") || t.is("EVENT")) {
          compound = true;
        } else if (t.is("TABLE") || t.is("VIEW") || t.is("INDEX") || t.is("DATABASE") ||
                   t.is("SCHEMA") || t.is("USER") || t.is("ROLE") || t.is("SERVER") ||
                   t.is("TABLESPACE") || t.is("SEQUENCE") || t.is_punct('(')) {
          create = false;
        }
      }

      if (compound) {
        if (t.is("BEGIN") || t.is("CASE") || t.is("LOOP") || t.is("WHILE")) {
          ++depth;
        } else if (t.is("REPEAT")) {
          Lexer peek = tail;
          if (!peek.next().is_punct('(')) {
            ++depth;
          }
        } else if (t.is("IF")) {
          if (starts_program_statement(prev) && if_statement_follows(tail)) {
            ++depth;
          }
        } else if (t.is("END")) {
          if (depth > 0) {
            --depth;
          }
          // END IF / END CASE / END LOOP ...: the keyword closes, it does not open.
          Lexer peek = tail;
          Token after = peek.next();
          if (is_block_keyword(after)) {
            tail = peek;
            prev = after;
            continue;
          }
        }
      }

      prev = t;
    }

    std::size_t b = base;
    while (b < end && is_space(text_[b])) {
      ++b;
    }
    std::size_t e = end;
    while (e > b && is_space(text_[e - 1])) {
      --e;
    }
    pos_ = resume;
    if (any_token) {
      offset_ = b;
      statement = text_.substr(b, e - b);
      return true;
    }
  }
  return false;
}

std::vector<std::string_view> split_statements(std::string_view text) {
  std::vector<std::string_view> out;
  StatementSplitter splitter(text);
  std::string_view s;
  while (splitter.next(s)) {
    out.push_back(s);
  }
  return out;
}

}  // namespace ghostgate::rules
