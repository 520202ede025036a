#pragma once
// Internal to shard_ddl.h's normaliser and type comparison (rules/shard_normalize.cc,
// rules/shard_definitions.cc, rules/shard_types.cc); include it nowhere else. What they share: a
// statement's tokens, the canonical-text emitter, a parsed data type and the column and index
// definitions the ALTER specification parser builds.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/lexer.h"
#include "rules/shard_ddl.h"

namespace ghostgate::rules::shard_ddl_internal {

// ---------------------------------------------------------------------------------------------
// Tokens

// A statement's tokens and its text (for verbatim pieces). Cold path: one vector per DDL.
struct Tokens {
  std::string_view source;
  std::vector<Token> list;
  bool unterminated = false;

  [[nodiscard]] std::size_t size() const { return list.size(); }
  [[nodiscard]] const Token& operator[](std::size_t i) const { return list[i]; }
  // The source text from token `b` to the end of token `e - 1`.
  [[nodiscard]] std::string_view text(std::size_t b, std::size_t e) const {
    if (b >= e) {
      return {};
    }
    const std::size_t start = list[b].offset_in(source);
    const std::size_t end = list[e - 1].offset_in(source) + list[e - 1].text.size();
    return source.substr(start, end - start);
  }
};

inline Tokens tokenize(std::string_view text) {
  Tokens t;
  t.source = text;
  Lexer lexer(text);
  for (Token tok = lexer.next(); tok.kind != TokenKind::end; tok = lexer.next()) {
    if (tok.kind == TokenKind::unterminated) {
      t.unterminated = true;
    }
    t.list.push_back(tok);
  }
  // A trailing `;` is not part of the statement.
  while (!t.list.empty() && t.list.back().is_punct(';')) {
    t.list.pop_back();
  }
  return t;
}

inline bool is_name(const Token& t) {
  return t.kind == TokenKind::identifier || t.kind == TokenKind::quoted_identifier;
}

// The name a token spells: unquoted, doubled backticks undone.
inline std::string unquote(const Token& t) {
  const std::string_view body = identifier_body(t);
  if (!identifier_needs_unescape(t)) {
    return std::string(body);
  }
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    out += body[i];
    if (body[i] == '`' && i + 1 < body.size() && body[i + 1] == '`') {
      ++i;
    }
  }
  return out;
}

inline std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 32);
    }
  }
  return out;
}

// Index of the `)` matching the `(` at `open`, or `e` when it is not closed before `e`.
inline std::size_t matching_paren(const Tokens& t, std::size_t open, std::size_t e) {
  int depth = 0;
  for (std::size_t i = open; i < e; ++i) {
    if (t[i].is_punct('(')) {
      ++depth;
    } else if (t[i].is_punct(')')) {
      if (--depth == 0) {
        return i;
      }
    }
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// Canonical text

// Appends pieces with the house spacing: one space between pieces, none after `(` or around
// `.`, none before `)` or `,`, none between a word and its `(` (a type's or function's
// arguments).
class Emitter {
 public:
  // `suffix` is glued to what precedes it (a key part's prefix length: `b`(10)).
  enum class Piece : std::uint8_t { word, name, open, close, comma, dot, suffix, other };

  void append(std::string_view text, Piece piece) {
    if (!out_.empty()) {
      const bool no_space = last_ == Piece::open || last_ == Piece::dot || piece == Piece::close ||
                            piece == Piece::comma || piece == Piece::dot ||
                            piece == Piece::suffix ||
                            (piece == Piece::open && last_ == Piece::word);
      if (!no_space) {
        out_ += ' ';
      }
    }
    out_ += text;
    last_ = piece;
  }
  void word(std::string_view upper_word) { append(upper_word, Piece::word); }
  void name(std::string_view lower) {
    std::string quoted;
    append_quoted_identifier(quoted, lower);
    append(quoted, Piece::name);
  }
  // A token of an expression or option: bare words upper case (keywords, functions, types,
  // collations are case-insensitive), quoted names lower-cased and quoted, the rest verbatim.
  void token(const Token& t) {
    switch (t.kind) {
      case TokenKind::identifier:
        append(upper(t.text), Piece::word);
        return;
      case TokenKind::quoted_identifier:
        name(lower_name(unquote(t)));
        return;
      case TokenKind::punct:
        if (t.is_punct('(')) {
          append("(", Piece::open);
        } else if (t.is_punct(')')) {
          append(")", Piece::close);
        } else if (t.is_punct(',')) {
          append(",", Piece::comma);
        } else if (t.is_punct('.')) {
          append(".", Piece::dot);
        } else {
          append(t.text, Piece::other);
        }
        return;
      default:
        append(t.text, Piece::other);
        return;
    }
  }
  void tokens(const Tokens& t, std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      token(t[i]);
    }
  }
  [[nodiscard]] const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  Piece last_ = Piece::other;
};

// ---------------------------------------------------------------------------------------------
// Types

enum class Family : std::uint8_t {
  integer,
  decimal,
  floating,
  character,
  text,
  binary,
  blob,
  enumeration,
  set,
  date,
  datetime,
  timestamp,
  time,
  year,
  bit,
  json,
  other,
};

struct TypeInfo {
  Family family = Family::other;
  std::string base;  // canonical base name
  int bytes = 0;     // integer: 1, 2, 3, 4, 8; floating: 4 or 8
  bool is_unsigned = false;
  bool zerofill = false;
  bool fixed = false;               // char / binary: padded to the length
  std::uint64_t length = 0;         // char/binary: declared length; text/blob: bytes; bit: bits
  int precision = 0;                // decimal
  int scale = 0;                    // decimal; fsp for time, datetime, timestamp
  std::vector<std::string> values;  // enum / set members (their literal text)
  std::string charset;
  std::string collation;
  std::string canonical;  // the canonical type text
};

// Reads a character set name after CHARACTER SET / CHARSET / COLLATE (a name or a string).
bool read_charset_name(const Tokens& t, std::size_t& i, std::size_t e, std::string& out);

// Parses a data type at t[i] (advancing i past it, its arguments and its modifiers: UNSIGNED,
// ZEROFILL, CHARACTER SET, COLLATE, BINARY ...). False when it is not a type this understands.
bool parse_type(const Tokens& t, std::size_t& i, std::size_t e, TypeInfo& type);

// ---------------------------------------------------------------------------------------------
// Column definitions

struct ColumnDef {
  TypeInfo type;
  bool not_null = false;
  bool null_default = false;  // DEFAULT NULL
  DefaultKind default_kind = DefaultKind::none;
  std::string default_text;
  std::string on_update;
  std::string generated;  // "AS (expr) STORED"
  std::string comment;
  std::vector<std::string> extra;  // other attributes, canonical
  bool auto_increment = false;
  bool unique = false;
  bool primary_key = false;
  bool references = false;
  bool check = false;
};

bool read_default(const Tokens& t, std::size_t& i, std::size_t e, ColumnDef& def);

// Parses a column definition (type and attributes) in [i, e); positions are dropped.
bool parse_column_def(const Tokens& t, std::size_t i, std::size_t e, ColumnDef& def,
                      std::string* why);
void emit_column_def(Emitter& em, const ColumnDef& def);
void fill_column_spec(AlterSpec& spec, const ColumnDef& def);

// ---------------------------------------------------------------------------------------------
// Indexes

struct IndexDef {
  std::string modifier;  // "UNIQUE", "FULLTEXT", "SPATIAL" or empty
  std::string name;      // lower case; empty = unnamed
  std::string parts;     // canonical "(`a`, `b`(10) DESC)"
  std::vector<std::string> columns;
  std::vector<std::string> options;  // canonical, in order
};

// Key parts at t[i] == `(`; advances i past the `)`.
bool parse_key_parts(const Tokens& t, std::size_t& i, std::size_t e, IndexDef& index);
// Index options until e. ALGORITHM= and LOCK= (CREATE INDEX ... ALGORITHM=INPLACE) are dropped.
bool parse_index_options(const Tokens& t, std::size_t i, std::size_t e, IndexDef& index);
AlterSpec add_index_spec(const IndexDef& index);
AlterSpec option_spec(SpecKind kind, std::string text);
// `[IF NOT EXISTS]` / `[IF EXISTS]` (MariaDB) at t[i]: skipped.
void skip_if_exists(const Tokens& t, std::size_t& i, std::size_t e);

}  // namespace ghostgate::rules::shard_ddl_internal
