#include "rules/shard_ddl.h"

#include <algorithm>
#include <array>
#include <utility>

#include "rules/lexer.h"

namespace ghostgate::rules {
namespace {

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

Tokens tokenize(std::string_view text) {
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

bool is_name(const Token& t) {
  return t.kind == TokenKind::identifier || t.kind == TokenKind::quoted_identifier;
}

// The name a token spells: unquoted, doubled backticks undone.
std::string unquote(const Token& t) {
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

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 32);
    }
  }
  return out;
}

// Index of the `)` matching the `(` at `open`, or `e` when it is not closed before `e`.
std::size_t matching_paren(const Tokens& t, std::size_t open, std::size_t e) {
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

struct BaseType {
  std::string_view name;
  std::string_view canonical;
  Family family;
  int bytes;
  std::uint64_t capacity;  // text/blob capacity in bytes
};

// MySQL's type names and aliases.
constexpr BaseType kBaseTypes[] = {
    {"TINYINT", "tinyint", Family::integer, 1, 0},
    {"INT1", "tinyint", Family::integer, 1, 0},
    {"BOOL", "tinyint", Family::integer, 1, 0},
    {"BOOLEAN", "tinyint", Family::integer, 1, 0},
    {"SMALLINT", "smallint", Family::integer, 2, 0},
    {"INT2", "smallint", Family::integer, 2, 0},
    {"MEDIUMINT", "mediumint", Family::integer, 3, 0},
    {"MIDDLEINT", "mediumint", Family::integer, 3, 0},
    {"INT3", "mediumint", Family::integer, 3, 0},
    {"INT", "int", Family::integer, 4, 0},
    {"INTEGER", "int", Family::integer, 4, 0},
    {"INT4", "int", Family::integer, 4, 0},
    {"BIGINT", "bigint", Family::integer, 8, 0},
    {"INT8", "bigint", Family::integer, 8, 0},
    {"DECIMAL", "decimal", Family::decimal, 0, 0},
    {"DEC", "decimal", Family::decimal, 0, 0},
    {"NUMERIC", "decimal", Family::decimal, 0, 0},
    {"FIXED", "decimal", Family::decimal, 0, 0},
    {"FLOAT", "float", Family::floating, 4, 0},
    {"FLOAT4", "float", Family::floating, 4, 0},
    {"DOUBLE", "double", Family::floating, 8, 0},
    {"REAL", "double", Family::floating, 8, 0},
    {"FLOAT8", "double", Family::floating, 8, 0},
    {"CHAR", "char", Family::character, 0, 0},
    {"CHARACTER", "char", Family::character, 0, 0},
    {"NCHAR", "char", Family::character, 0, 0},
    {"VARCHAR", "varchar", Family::character, 0, 0},
    {"NVARCHAR", "varchar", Family::character, 0, 0},
    {"TINYTEXT", "tinytext", Family::text, 0, 255},
    {"TEXT", "text", Family::text, 0, 65535},
    {"MEDIUMTEXT", "mediumtext", Family::text, 0, 16777215},
    {"LONGTEXT", "longtext", Family::text, 0, 4294967295ULL},
    {"BINARY", "binary", Family::binary, 0, 0},
    {"VARBINARY", "varbinary", Family::binary, 0, 0},
    {"TINYBLOB", "tinyblob", Family::blob, 0, 255},
    {"BLOB", "blob", Family::blob, 0, 65535},
    {"MEDIUMBLOB", "mediumblob", Family::blob, 0, 16777215},
    {"LONGBLOB", "longblob", Family::blob, 0, 4294967295ULL},
    {"ENUM", "enum", Family::enumeration, 0, 0},
    {"SET", "set", Family::set, 0, 0},
    {"DATE", "date", Family::date, 0, 0},
    {"DATETIME", "datetime", Family::datetime, 0, 0},
    {"TIMESTAMP", "timestamp", Family::timestamp, 0, 0},
    {"TIME", "time", Family::time, 0, 0},
};

// Types not in the table above that take no part in widening: compared by text.
constexpr std::string_view kOtherTypes[] = {"YEAR",
                                            "BIT",
                                            "JSON",
                                            "GEOMETRY",
                                            "POINT",
                                            "LINESTRING",
                                            "POLYGON",
                                            "MULTIPOINT",
                                            "MULTIPOLYGON",
                                            "MULTILINESTRING",
                                            "GEOMETRYCOLLECTION",
                                            "UUID"};

std::uint64_t to_u64(std::string_view digits, bool* ok) {
  std::uint64_t v = 0;
  if (digits.empty() || digits.size() > 19) {
    *ok = false;
    return 0;
  }
  for (char c : digits) {
    if (c < '0' || c > '9') {
      *ok = false;
      return 0;
    }
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

std::string lower_copy(std::string_view s) { return lower_name(s); }

// Reads a character set name after CHARACTER SET / CHARSET / COLLATE (a name or a string).
bool read_charset_name(const Tokens& t, std::size_t& i, std::size_t e, std::string& out) {
  if (i < e && t[i].is_punct('=')) {
    ++i;
  }
  if (i >= e) {
    return false;
  }
  if (is_name(t[i])) {
    out = lower_copy(unquote(t[i]));
  } else if (t[i].kind == TokenKind::string && t[i].text.size() >= 2) {
    out = lower_copy(t[i].text.substr(1, t[i].text.size() - 2));
  } else {
    return false;
  }
  ++i;
  return true;
}

// Parses a data type at t[i] (advancing i past it, its arguments and its modifiers: UNSIGNED,
// ZEROFILL, CHARACTER SET, COLLATE, BINARY ...). False when it is not a type this understands.
bool parse_type(const Tokens& t, std::size_t& i, std::size_t e, TypeInfo& type) {
  if (i >= e || t[i].kind != TokenKind::identifier) {
    return false;
  }
  bool national = false;
  if (t[i].is("NATIONAL")) {
    national = true;
    ++i;
  }
  if (i >= e || t[i].kind != TokenKind::identifier) {
    return false;
  }
  const Token head = t[i++];
  const BaseType* base = nullptr;
  std::string other_name;
  if (head.is("LONG")) {  // LONG, LONG VARCHAR = mediumtext; LONG VARBINARY = mediumblob
    const bool varbinary = i < e && t[i].is("VARBINARY");
    if (i < e && (t[i].is("VARCHAR") || varbinary)) {
      ++i;
    }
    for (const BaseType& b : kBaseTypes) {
      if (b.name == (varbinary ? "MEDIUMBLOB" : "MEDIUMTEXT")) {
        base = &b;
      }
    }
  } else {
    for (const BaseType& b : kBaseTypes) {
      if (head.is(b.name)) {
        base = &b;
        break;
      }
    }
    if (base == nullptr) {
      for (std::string_view name : kOtherTypes) {
        if (head.is(name)) {
          other_name = lower_copy(name);
        }
      }
      if (other_name.empty()) {
        return false;
      }
    }
  }
  if (base != nullptr) {
    type.family = base->family;
    type.base = std::string(base->canonical);
    type.bytes = base->bytes;
    type.length = base->capacity;
  } else {
    type.base = other_name;
    type.family = other_name == "year"   ? Family::year
                  : other_name == "bit"  ? Family::bit
                  : other_name == "json" ? Family::json
                                         : Family::other;
  }
  // Multi-word spellings: DOUBLE PRECISION, CHAR VARYING, CHARACTER VARYING.
  if (type.base == "double" && i < e && t[i].is("PRECISION")) {
    ++i;
  }
  if (type.base == "char" && i < e && t[i].is("VARYING")) {
    type.base = "varchar";
    ++i;
  }
  if (national || head.is("NCHAR") || head.is("NVARCHAR")) {
    type.charset = "utf8mb3";
  }
  // Arguments.
  std::vector<std::string> args;
  if (i < e && t[i].is_punct('(')) {
    const std::size_t close = matching_paren(t, i, e);
    if (close == e) {
      return false;
    }
    for (std::size_t k = i + 1; k < close; ++k) {
      if (t[k].is_punct(',')) {
        continue;
      }
      if (t[k].kind != TokenKind::number && t[k].kind != TokenKind::string) {
        return false;
      }
      args.emplace_back(t[k].text);
    }
    i = close + 1;
  }
  const bool is_bool = head.is("BOOL") || head.is("BOOLEAN");
  // Modifiers.
  for (;;) {
    if (i >= e) {
      break;
    }
    if (t[i].is("UNSIGNED")) {
      type.is_unsigned = true;
      ++i;
    } else if (t[i].is("SIGNED")) {
      ++i;
    } else if (t[i].is("ZEROFILL")) {
      type.zerofill = true;
      type.is_unsigned = true;
      ++i;
    } else if (t[i].is("CHARSET") || (t[i].is("CHARACTER") && i + 1 < e && t[i + 1].is("SET")) ||
               (t[i].is("CHAR") && i + 1 < e && t[i + 1].is("SET"))) {
      i += t[i].is("CHARSET") ? 1 : 2;
      if (!read_charset_name(t, i, e, type.charset)) {
        return false;
      }
    } else if (t[i].is("COLLATE")) {
      ++i;
      if (!read_charset_name(t, i, e, type.collation)) {
        return false;
      }
    } else if (t[i].is("BINARY") &&
               (type.family == Family::character || type.family == Family::text)) {
      type.collation = "binary";
      ++i;
    } else if (t[i].is("ASCII")) {
      type.charset = "latin1";
      ++i;
    } else if (t[i].is("UNICODE")) {
      type.charset = "ucs2";
      ++i;
    } else if (t[i].is("BYTE")) {
      type.charset = "binary";
      ++i;
    } else {
      break;
    }
  }
  // Interpret the arguments.
  bool ok = true;
  switch (type.family) {
    case Family::integer:
      if (args.size() > 1) {
        return false;
      }
      break;
    case Family::decimal:
      type.precision = 10;
      if (!args.empty()) {
        type.precision = static_cast<int>(to_u64(args[0], &ok));
      }
      if (args.size() > 1) {
        type.scale = static_cast<int>(to_u64(args[1], &ok));
      }
      if (args.size() > 2) {
        return false;
      }
      break;
    case Family::floating:
      // FLOAT(p) with p > 24 is a DOUBLE; FLOAT(M,D) / DOUBLE(M,D) keep their storage.
      if (args.size() == 1 && type.base == "float" && to_u64(args[0], &ok) > 24) {
        type.base = "double";
        type.bytes = 8;
      }
      break;
    case Family::character:
    case Family::binary:
      type.fixed = type.base == "char" || type.base == "binary";
      if (args.empty()) {
        if (!type.fixed) {
          return false;  // VARCHAR needs a length
        }
        type.length = 1;
      } else if (args.size() == 1) {
        type.length = to_u64(args[0], &ok);
      } else {
        return false;
      }
      break;
    case Family::text:
    case Family::blob:
      break;  // TEXT(n) keeps its family's capacity
    case Family::enumeration:
    case Family::set:
      if (args.empty()) {
        return false;
      }
      for (const std::string& a : args) {
        if (a.size() < 2 || (a[0] != '\'' && a[0] != '"')) {
          return false;
        }
        type.values.push_back(a.substr(1, a.size() - 2));
      }
      break;
    case Family::time:
    case Family::datetime:
    case Family::timestamp:
      if (!args.empty()) {
        type.scale = static_cast<int>(to_u64(args[0], &ok));
      }
      break;
    case Family::bit:
      type.length = args.empty() ? 1 : to_u64(args[0], &ok);
      break;
    default:
      break;
  }
  if (!ok) {
    return false;
  }
  // Canonical text: information_schema's spelling, with integer display widths dropped (they do
  // not change the values) except with ZEROFILL and for tinyint(1), connectors' boolean.
  std::string text = type.base;
  bool keep_args = !args.empty();
  if (type.family == Family::integer && !type.zerofill &&
      !(type.base == "tinyint" && args.size() == 1 && args[0] == "1")) {
    keep_args = false;
  }
  if (is_bool) {
    text = "tinyint(1)";
    keep_args = false;
  }
  if (keep_args) {
    text += '(';
    for (std::size_t k = 0; k < args.size(); ++k) {
      if (k > 0) {
        text += ',';
      }
      text += args[k];
    }
    text += ')';
  }
  if (type.is_unsigned) {
    text += " unsigned";
  }
  if (type.zerofill) {
    text += " zerofill";
  }
  if (!type.charset.empty()) {
    text += " character set " + type.charset;
  }
  if (!type.collation.empty()) {
    text += " collate " + type.collation;
  }
  type.canonical = std::move(text);
  return true;
}

std::optional<TypeInfo> parse_type_text(std::string_view text) {
  const Tokens t = tokenize(text);
  std::size_t i = 0;
  TypeInfo type;
  if (t.unterminated || !parse_type(t, i, t.size(), type) || i != t.size()) {
    return std::nullopt;
  }
  return type;
}

int integer_digits(const TypeInfo& t) {
  switch (t.bytes) {
    case 1:
      return 3;
    case 2:
      return 5;
    case 3:
      return t.is_unsigned ? 8 : 7;
    case 4:
      return 10;
    default:
      return t.is_unsigned ? 20 : 19;
  }
}

int charset_rank(std::string_view cs) {
  if (cs == "ascii") {
    return 1;
  }
  if (cs == "latin1") {
    return 2;
  }
  if (cs == "utf8" || cs == "utf8mb3") {
    return 3;
  }
  if (cs == "utf8mb4") {
    return 4;
  }
  return 0;
}

// Every character of charset `b` exists in `a`. An unspecified charset (information_schema's
// COLUMN_TYPE never shows one) counts as the same.
bool charset_contains(const TypeInfo& a, const TypeInfo& b) {
  if (a.charset.empty() || b.charset.empty() || a.charset == b.charset) {
    return true;
  }
  const int ra = charset_rank(a.charset);
  const int rb = charset_rank(b.charset);
  return ra != 0 && rb != 0 && ra >= rb;
}

bool integer_contains(const TypeInfo& a, const TypeInfo& b) {
  if (a.is_unsigned == b.is_unsigned) {
    return a.bytes >= b.bytes;
  }
  return b.is_unsigned && a.bytes > b.bytes;  // a signed type holds a smaller unsigned one
}

// Every value of type `b` is a value of type `a`.
bool type_contains(const TypeInfo& a, const TypeInfo& b) {
  const bool sign_ok = !a.is_unsigned || b.is_unsigned;
  switch (a.family) {
    case Family::integer:
      return b.family == Family::integer && integer_contains(a, b);
    case Family::decimal:
      if (b.family == Family::decimal) {
        return a.precision - a.scale >= b.precision - b.scale && a.scale >= b.scale && sign_ok;
      }
      return b.family == Family::integer && a.precision - a.scale >= integer_digits(b) && sign_ok;
    case Family::floating:
      if (b.family == Family::floating) {
        return a.bytes >= b.bytes;
      }
      // Integers a float's mantissa holds exactly (24 bits; 53 for a double).
      return b.family == Family::integer &&
             b.bytes * 8 - (b.is_unsigned ? 0 : 1) <= (a.bytes == 4 ? 24 : 53);
    case Family::character:
      if (!charset_contains(a, b)) {
        return false;
      }
      if (b.family == Family::character) {
        // CHAR strips trailing spaces: a VARCHAR's values do not all survive in a CHAR.
        return a.length >= b.length && !(a.fixed && !b.fixed);
      }
      return b.family == Family::text && !a.fixed && a.length >= b.length;
    case Family::text:
      if (!charset_contains(a, b)) {
        return false;
      }
      if (b.family == Family::text) {
        return a.length >= b.length;
      }
      // A character column of n characters needs up to 4n bytes (utf8mb4).
      return b.family == Family::character && b.length * 4 <= a.length;
    case Family::binary:
      if (b.family == Family::binary) {
        // BINARY pads with zero bytes: a longer BINARY changes every value.
        return a.fixed ? (b.fixed && a.length == b.length) : a.length >= b.length;
      }
      return b.family == Family::blob && !a.fixed && a.length >= b.length;
    case Family::blob:
      return (b.family == Family::blob || b.family == Family::binary) && a.length >= b.length;
    case Family::enumeration:
    case Family::set:
      if (b.family != a.family) {
        return false;
      }
      for (const std::string& v : b.values) {
        if (std::find(a.values.begin(), a.values.end(), v) == a.values.end()) {
          return false;
        }
      }
      return true;
    case Family::date:
      return b.family == Family::date;
    case Family::datetime:
      return b.family == Family::date ||
             ((b.family == Family::datetime || b.family == Family::timestamp) &&
              a.scale >= b.scale);
    case Family::timestamp:
    case Family::time:
      return b.family == a.family && a.scale >= b.scale;
    case Family::bit:
      return b.family == Family::bit && a.length >= b.length;
    case Family::year:
    case Family::json:
      return b.family == a.family;
    case Family::other:
      return b.family == Family::other && a.canonical == b.canonical;
  }
  return false;
}

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

bool is_current_timestamp(const Token& t) {
  return t.is("CURRENT_TIMESTAMP") || t.is("NOW") || t.is("LOCALTIME") || t.is("LOCALTIMESTAMP");
}

// `CURRENT_TIMESTAMP`, `NOW()`, `CURRENT_TIMESTAMP(3)` ... at t[i]; sets the canonical text.
bool read_current_timestamp(const Tokens& t, std::size_t& i, std::size_t e, std::string& out) {
  if (i >= e || !is_current_timestamp(t[i])) {
    return false;
  }
  ++i;
  out = "CURRENT_TIMESTAMP";
  if (i < e && t[i].is_punct('(')) {
    const std::size_t close = matching_paren(t, i, e);
    if (close == e || close > i + 2) {
      return false;
    }
    if (close == i + 2) {
      if (t[i + 1].kind != TokenKind::number) {
        return false;
      }
      if (t[i + 1].text != "0") {
        out += "(" + std::string(t[i + 1].text) + ")";
      }
    }
    i = close + 1;
  }
  return true;
}

bool read_default(const Tokens& t, std::size_t& i, std::size_t e, ColumnDef& def) {
  if (i >= e) {
    return false;
  }
  const Token& v = t[i];
  if (v.is("NULL")) {
    def.null_default = true;
    def.default_kind = DefaultKind::null;
    def.default_text = "NULL";
    ++i;
    return true;
  }
  if (v.is("TRUE") || v.is("FALSE")) {
    def.default_kind = DefaultKind::literal;
    def.default_text = upper(v.text);
    ++i;
    return true;
  }
  if ((v.is_punct('-') || v.is_punct('+')) && i + 1 < e && t[i + 1].kind == TokenKind::number) {
    def.default_kind = DefaultKind::literal;
    def.default_text = (v.is_punct('-') ? "-" : "") + std::string(t[i + 1].text);
    i += 2;
    return true;
  }
  if (v.kind == TokenKind::string || v.kind == TokenKind::number ||
      v.kind == TokenKind::hex_literal || v.kind == TokenKind::bit_literal) {
    def.default_kind = DefaultKind::literal;
    def.default_text = std::string(v.text);
    ++i;
    return true;
  }
  if (is_current_timestamp(v)) {
    def.default_kind = DefaultKind::current_timestamp;
    return read_current_timestamp(t, i, e, def.default_text);
  }
  if (v.is_punct('(')) {
    const std::size_t close = matching_paren(t, i, e);
    if (close == e) {
      return false;
    }
    Emitter em;
    em.tokens(t, i, close + 1);
    def.default_kind = DefaultKind::expression;
    def.default_text = em.take();
    i = close + 1;
    return true;
  }
  return false;
}

// Parses a column definition (type and attributes) in [i, e); positions are dropped.
bool parse_column_def(const Tokens& t, std::size_t i, std::size_t e, ColumnDef& def,
                      std::string* why) {
  if (!parse_type(t, i, e, def.type)) {
    *why = "data type not understood";
    return false;
  }
  while (i < e) {
    const Token& a = t[i];
    if (a.is("NOT") && i + 1 < e && t[i + 1].is("NULL")) {
      def.not_null = true;
      i += 2;
    } else if (a.is("NULL")) {
      def.not_null = false;
      ++i;
    } else if (a.is("DEFAULT")) {
      ++i;
      if (!read_default(t, i, e, def)) {
        *why = "DEFAULT value not understood";
        return false;
      }
    } else if (a.is("ON") && i + 1 < e && t[i + 1].is("UPDATE")) {
      i += 2;
      if (!read_current_timestamp(t, i, e, def.on_update)) {
        *why = "ON UPDATE not understood";
        return false;
      }
    } else if (a.is("AUTO_INCREMENT")) {
      def.auto_increment = true;
      ++i;
    } else if (a.is("UNIQUE")) {
      def.unique = true;
      i += (i + 1 < e && t[i + 1].is("KEY")) ? 2 : 1;
    } else if (a.is("PRIMARY") || a.is("KEY")) {
      def.primary_key = true;
      i += (a.is("PRIMARY") && i + 1 < e && t[i + 1].is("KEY")) ? 2 : 1;
    } else if (a.is("COMMENT") && i + 1 < e && t[i + 1].kind == TokenKind::string) {
      def.comment = std::string(t[i + 1].text);
      i += 2;
    } else if (a.is("COLLATE")) {
      ++i;
      if (!read_charset_name(t, i, e, def.type.collation)) {
        *why = "COLLATE not understood";
        return false;
      }
      def.type.canonical += " collate " + def.type.collation;
    } else if (a.is("GENERATED") || a.is("AS")) {
      if (a.is("GENERATED")) {
        if (!(i + 2 < e && t[i + 1].is("ALWAYS") && t[i + 2].is("AS"))) {
          *why = "GENERATED not understood";
          return false;
        }
        i += 2;
      }
      ++i;  // AS
      if (i >= e || !t[i].is_punct('(')) {
        *why = "generated column expression not understood";
        return false;
      }
      const std::size_t close = matching_paren(t, i, e);
      if (close == e) {
        *why = "generated column expression not closed";
        return false;
      }
      Emitter em;
      em.append("AS", Emitter::Piece::other);  // `AS (`, not a function call `AS(`
      em.tokens(t, i, close + 1);
      i = close + 1;
      if (i < e && (t[i].is("VIRTUAL") || t[i].is("STORED") || t[i].is("PERSISTENT"))) {
        em.word(t[i].is("VIRTUAL") ? "VIRTUAL" : "STORED");
        ++i;
      }
      def.generated = em.take();
    } else if (a.is("VISIBLE") || a.is("INVISIBLE")) {
      def.extra.push_back(upper(a.text));
      ++i;
    } else if ((a.is("COLUMN_FORMAT") || a.is("STORAGE") || a.is("SRID")) && i + 1 < e) {
      Emitter em;
      em.tokens(t, i, i + 2);
      def.extra.push_back(em.take());
      i += 2;
    } else if (a.is("FIRST")) {
      ++i;  // column position: ignored
    } else if (a.is("AFTER") && i + 1 < e && is_name(t[i + 1])) {
      i += 2;
    } else if (a.is("CHECK") || a.is("CONSTRAINT")) {
      def.check = true;
      Emitter em;
      em.tokens(t, i, e);
      def.extra.push_back(em.take());
      i = e;
    } else if (a.is("REFERENCES")) {
      def.references = true;
      Emitter em;
      em.tokens(t, i, e);
      def.extra.push_back(em.take());
      i = e;
    } else {
      *why = "column attribute `" + std::string(a.text) + "` not understood";
      return false;
    }
  }
  // DEFAULT NULL on a nullable column is the same as no DEFAULT.
  if (def.null_default && !def.not_null) {
    def.default_kind = DefaultKind::none;
    def.default_text.clear();
  }
  return true;
}

void emit_column_def(Emitter& em, const ColumnDef& def) {
  em.append(def.type.canonical, Emitter::Piece::name);  // a type's own `(` follows it directly
  if (!def.generated.empty()) {
    em.append(def.generated, Emitter::Piece::other);
  }
  if (def.not_null) {
    em.word("NOT NULL");
  }
  if (!def.default_text.empty()) {
    em.word("DEFAULT");
    em.append(def.default_text, Emitter::Piece::other);
  }
  if (!def.on_update.empty()) {
    em.word("ON UPDATE");
    em.append(def.on_update, Emitter::Piece::other);
  }
  if (def.auto_increment) {
    em.word("AUTO_INCREMENT");
  }
  if (def.unique) {
    em.word("UNIQUE KEY");
  }
  if (def.primary_key) {
    em.word("PRIMARY KEY");
  }
  if (!def.comment.empty()) {
    em.word("COMMENT");
    em.append(def.comment, Emitter::Piece::other);
  }
  for (const std::string& x : def.extra) {
    em.append(x, Emitter::Piece::other);
  }
}

void fill_column_spec(AlterSpec& spec, const ColumnDef& def) {
  spec.type = def.type.canonical;
  spec.not_null = def.not_null;
  spec.default_kind = def.default_kind;
  spec.auto_increment = def.auto_increment;
  spec.generated = !def.generated.empty();
  spec.unique = def.unique;
  spec.primary_key = def.primary_key;
  spec.references = def.references;
  spec.check = def.check;
}

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
bool parse_key_parts(const Tokens& t, std::size_t& i, std::size_t e, IndexDef& index) {
  if (i >= e || !t[i].is_punct('(')) {
    return false;
  }
  const std::size_t close = matching_paren(t, i, e);
  if (close == e) {
    return false;
  }
  Emitter em;
  em.append("(", Emitter::Piece::open);
  std::size_t k = i + 1;
  bool first = true;
  while (k < close) {
    if (!first) {
      if (!t[k].is_punct(',')) {
        return false;
      }
      em.append(",", Emitter::Piece::comma);
      ++k;
    }
    first = false;
    if (k < close && is_name(t[k])) {
      const std::string column = lower_name(unquote(t[k]));
      index.columns.push_back(column);
      em.name(column);
      ++k;
      if (k + 2 < close && t[k].is_punct('(') && t[k + 1].kind == TokenKind::number &&
          t[k + 2].is_punct(')')) {
        em.append("(" + std::string(t[k + 1].text) + ")", Emitter::Piece::suffix);
        k += 3;
      }
    } else if (k < close && t[k].is_punct('(')) {  // functional key part
      const std::size_t end = matching_paren(t, k, close);
      if (end == close) {
        return false;
      }
      em.tokens(t, k, end + 1);
      k = end + 1;
    } else {
      return false;
    }
    if (k < close && t[k].is("DESC")) {
      em.word("DESC");
      ++k;
    } else if (k < close && t[k].is("ASC")) {
      ++k;
    }
  }
  em.append(")", Emitter::Piece::close);
  index.parts = em.take();
  i = close + 1;
  return true;
}

// Index options until e. ALGORITHM= and LOCK= (CREATE INDEX ... ALGORITHM=INPLACE) are dropped.
bool parse_index_options(const Tokens& t, std::size_t i, std::size_t e, IndexDef& index) {
  while (i < e) {
    const Token& o = t[i];
    if ((o.is("ALGORITHM") || o.is("LOCK"))) {
      ++i;
      if (i < e && t[i].is_punct('=')) {
        ++i;
      }
      if (i >= e) {
        return false;
      }
      ++i;
    } else if (o.is("USING") || o.is("TYPE")) {
      if (i + 1 >= e) {
        return false;
      }
      index.options.push_back("USING " + upper(t[i + 1].text));
      i += 2;
    } else if (o.is("COMMENT") && i + 1 < e && t[i + 1].kind == TokenKind::string) {
      index.options.push_back("COMMENT " + std::string(t[i + 1].text));
      i += 2;
    } else if (o.is("KEY_BLOCK_SIZE")) {
      ++i;
      if (i < e && t[i].is_punct('=')) {
        ++i;
      }
      if (i >= e || t[i].kind != TokenKind::number) {
        return false;
      }
      index.options.push_back("KEY_BLOCK_SIZE=" + std::string(t[i].text));
      ++i;
    } else if (o.is("VISIBLE") || o.is("INVISIBLE") || o.is("IGNORED")) {
      index.options.push_back(upper(o.text));
      ++i;
    } else if (o.is("NOT") && i + 1 < e && t[i + 1].is("IGNORED")) {
      i += 2;  // the default
    } else if (o.is("WITH") && i + 2 < e && t[i + 1].is("PARSER")) {
      index.options.push_back("WITH PARSER " + upper(t[i + 2].text));
      i += 3;
    } else {
      return false;
    }
  }
  return true;
}

std::string emit_add_index(const IndexDef& index) {
  Emitter em;
  em.word("ADD");
  if (!index.modifier.empty()) {
    em.word(index.modifier);
  }
  em.word("INDEX");
  if (!index.name.empty()) {
    em.name(index.name);
  }
  em.append(index.parts, Emitter::Piece::other);
  for (const std::string& o : index.options) {
    em.append(o, Emitter::Piece::other);
  }
  return em.take();
}

AlterSpec add_index_spec(const IndexDef& index) {
  AlterSpec spec;
  spec.kind = SpecKind::add_index;
  spec.subject = index.name;
  spec.named = !index.name.empty();
  spec.unique = index.modifier == "UNIQUE";
  spec.index_columns = index.columns;
  spec.text = emit_add_index(index);
  return spec;
}

AlterSpec option_spec(SpecKind kind, std::string text) {
  AlterSpec spec;
  spec.kind = kind;
  spec.text = std::move(text);
  return spec;
}

// `[IF NOT EXISTS]` / `[IF EXISTS]` (MariaDB) at t[i]: skipped.
void skip_if_exists(const Tokens& t, std::size_t& i, std::size_t e) {
  if (i < e && t[i].is("IF")) {
    if (i + 2 < e && t[i + 1].is("NOT") && t[i + 2].is("EXISTS")) {
      i += 3;
    } else if (i + 1 < e && t[i + 1].is("EXISTS")) {
      i += 2;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Alter specifications

class SpecParser {
 public:
  SpecParser(const Tokens& t, std::vector<AlterSpec>& out) : t_(t), out_(out) {}

  // One comma-separated piece [b, e) of an ALTER TABLE.
  void piece(std::size_t b, std::size_t e) {
    std::vector<AlterSpec> specs;
    std::string why;
    if (parse(b, e, specs, &why)) {
      for (AlterSpec& s : specs) {
        out_.push_back(std::move(s));
      }
      return;
    }
    unknown(b, e, why);
  }

  void unknown(std::size_t b, std::size_t e, std::string why) {
    AlterSpec spec;
    spec.kind = SpecKind::unknown;
    spec.text = std::string(t_.text(b, e));
    spec.why = why.empty() ? "not understood" : std::move(why);
    out_.push_back(std::move(spec));
  }

 private:
  bool parse(std::size_t b, std::size_t e, std::vector<AlterSpec>& specs, std::string* why) {
    const Token& head = t_[b];
    if (head.is("ADD")) {
      return parse_add(b + 1, e, specs, why);
    }
    if (head.is("DROP")) {
      return parse_drop(b + 1, e, specs, why);
    }
    if (head.is("MODIFY") || head.is("CHANGE")) {
      return parse_modify(b, e, specs, why);
    }
    if (head.is("ALTER")) {
      return parse_alter(b + 1, e, specs, why);
    }
    if (head.is("RENAME")) {
      return parse_rename(b + 1, e, specs, why);
    }
    return parse_table_options(b, e, specs, why);
  }

  bool parse_add(std::size_t i, std::size_t e, std::vector<AlterSpec>& specs, std::string* why) {
    if (i >= e) {
      return false;
    }
    std::string constraint;
    if (t_[i].is("CONSTRAINT")) {
      ++i;
      if (i < e && is_name(t_[i]) && !t_[i].is("UNIQUE") && !t_[i].is("PRIMARY") &&
          !t_[i].is("FOREIGN") && !t_[i].is("CHECK")) {
        constraint = lower_name(unquote(t_[i]));
        ++i;
      }
    }
    if (i >= e) {
      return false;
    }
    const Token& k = t_[i];
    if (k.is("PRIMARY") || k.is("FOREIGN") || k.is("CHECK") || k.is("PARTITION")) {
      *why = "ADD " + upper(k.text) + (k.is("PRIMARY") || k.is("FOREIGN") ? " KEY" : "") +
             " is not merged across shards";
      return false;
    }
    if (k.is("UNIQUE") || k.is("INDEX") || k.is("KEY") || k.is("FULLTEXT") || k.is("SPATIAL")) {
      IndexDef index;
      if (!(k.is("INDEX") || k.is("KEY"))) {
        index.modifier = upper(k.text);
        ++i;
        if (i < e && (t_[i].is("INDEX") || t_[i].is("KEY"))) {
          ++i;
        }
      } else {
        ++i;
      }
      skip_if_exists(t_, i, e);
      if (i < e && is_name(t_[i]) && !t_[i].is("USING") && !t_[i].is("TYPE")) {
        index.name = lower_name(unquote(t_[i]));
        ++i;
      } else {
        index.name = constraint;
      }
      std::size_t using_at = e;
      if (i < e && (t_[i].is("USING") || t_[i].is("TYPE"))) {
        using_at = i;
        i += 2;
      }
      if (!parse_key_parts(t_, i, e, index)) {
        *why = "key parts not understood";
        return false;
      }
      if (using_at != e) {
        index.options.push_back("USING " + upper(t_[using_at + 1].text));
      }
      if (!parse_index_options(t_, i, e, index)) {
        *why = "index option not understood";
        return false;
      }
      specs.push_back(add_index_spec(index));
      return true;
    }
    if (!constraint.empty()) {
      return false;
    }
    if (k.is("COLUMN")) {
      ++i;
    }
    skip_if_exists(t_, i, e);
    if (i < e && t_[i].is_punct('(')) {  // ADD [COLUMN] (a int, b int)
      const std::size_t close = matching_paren(t_, i, e);
      if (close + 1 != e) {
        return false;
      }
      std::size_t start = i + 1;
      int depth = 0;
      for (std::size_t p = i + 1; p <= close; ++p) {
        if (t_[p].is_punct('(')) {
          ++depth;
        } else if (t_[p].is_punct(')') && depth > 0) {
          --depth;
        } else if ((t_[p].is_punct(',') && depth == 0) || p == close) {
          if (!add_column(start, p, specs, why)) {
            return false;
          }
          start = p + 1;
        }
      }
      return true;
    }
    return add_column(i, e, specs, why);
  }

  bool add_column(std::size_t i, std::size_t e, std::vector<AlterSpec>& specs, std::string* why) {
    if (i >= e || !is_name(t_[i])) {
      return false;
    }
    AlterSpec spec;
    spec.kind = SpecKind::add_column;
    spec.subject = lower_name(unquote(t_[i]));
    ColumnDef def;
    if (!parse_column_def(t_, i + 1, e, def, why)) {
      return false;
    }
    fill_column_spec(spec, def);
    Emitter em;
    em.word("ADD COLUMN");
    em.name(spec.subject);
    emit_column_def(em, def);
    spec.text = em.take();
    specs.push_back(std::move(spec));
    return true;
  }

  bool parse_drop(std::size_t i, std::size_t e, std::vector<AlterSpec>& specs, std::string* why) {
    if (i >= e) {
      return false;
    }
    const Token& k = t_[i];
    if (k.is("PRIMARY") || k.is("FOREIGN") || k.is("CHECK") || k.is("CONSTRAINT") ||
        k.is("PARTITION") || k.is("SYSTEM")) {
      *why = "DROP " + upper(k.text) + (k.is("PRIMARY") || k.is("FOREIGN") ? " KEY" : "") +
             " is not merged across shards";
      return false;
    }
    AlterSpec spec;
    Emitter em;
    if (k.is("INDEX") || k.is("KEY")) {
      ++i;
      skip_if_exists(t_, i, e);
      spec.kind = SpecKind::drop_index;
      em.word("DROP INDEX");
    } else {
      if (k.is("COLUMN")) {
        ++i;
      }
      skip_if_exists(t_, i, e);
      spec.kind = SpecKind::drop_column;
      em.word("DROP COLUMN");
    }
    if (i >= e || !is_name(t_[i])) {
      return false;
    }
    spec.subject = lower_name(unquote(t_[i]));
    ++i;
    if (spec.kind == SpecKind::drop_column && i < e &&
        (t_[i].is("RESTRICT") || t_[i].is("CASCADE"))) {
      ++i;
    }
    if (i != e) {
      return false;
    }
    em.name(spec.subject);
    spec.text = em.take();
    specs.push_back(std::move(spec));
    return true;
  }

  // MODIFY [COLUMN] [IF EXISTS] c def | CHANGE [COLUMN] [IF EXISTS] old new def
  bool parse_modify(std::size_t b, std::size_t e, std::vector<AlterSpec>& specs, std::string* why) {
    const bool change = t_[b].is("CHANGE");
    std::size_t i = b + 1;
    if (i < e && t_[i].is("COLUMN")) {
      ++i;
    }
    skip_if_exists(t_, i, e);
    if (i >= e || !is_name(t_[i])) {
      return false;
    }
    AlterSpec spec;
    spec.subject = lower_name(unquote(t_[i++]));
    if (change) {
      if (i >= e || !is_name(t_[i])) {
        return false;
      }
      spec.new_name = lower_name(unquote(t_[i++]));
    }
    ColumnDef def;
    if (!parse_column_def(t_, i, e, def, why)) {
      return false;
    }
    fill_column_spec(spec, def);
    Emitter em;
    if (change && spec.new_name != spec.subject) {
      spec.kind = SpecKind::rename_column;
      em.word("CHANGE COLUMN");
      em.name(spec.subject);
      em.name(spec.new_name);
    } else {
      spec.kind = SpecKind::modify_column;
      spec.new_name.clear();
      em.word("MODIFY COLUMN");
      em.name(spec.subject);
    }
    emit_column_def(em, def);
    spec.text = em.take();
    specs.push_back(std::move(spec));
    return true;
  }

  // ALTER [COLUMN] c SET DEFAULT v | DROP DEFAULT | SET [IN]VISIBLE; ALTER INDEX|KEY i ...
  bool parse_alter(std::size_t i, std::size_t e, std::vector<AlterSpec>& specs, std::string* why) {
    if (i >= e) {
      return false;
    }
    if (t_[i].is("CHECK") || t_[i].is("CONSTRAINT")) {
      *why = "ALTER " + upper(t_[i].text) + " is not merged across shards";
      return false;
    }
    AlterSpec spec;
    Emitter em;
    if (t_[i].is("INDEX") || t_[i].is("KEY")) {
      ++i;
      if (i + 1 >= e || !is_name(t_[i])) {
        return false;
      }
      spec.kind = SpecKind::alter_index;
      spec.subject = lower_name(unquote(t_[i++]));
      em.word("ALTER INDEX");
      em.name(spec.subject);
      if (t_[i].is("NOT") && i + 1 < e && t_[i + 1].is("IGNORED")) {
        em.word("NOT IGNORED");
        i += 2;
      } else if (t_[i].is("VISIBLE") || t_[i].is("INVISIBLE") || t_[i].is("IGNORED")) {
        em.word(upper(t_[i].text));
        ++i;
      } else {
        return false;
      }
    } else {
      if (t_[i].is("COLUMN")) {
        ++i;
      }
      if (i + 1 >= e || !is_name(t_[i])) {
        return false;
      }
      spec.kind = SpecKind::alter_column_default;
      spec.subject = lower_name(unquote(t_[i++]));
      em.word("ALTER COLUMN");
      em.name(spec.subject);
      if (t_[i].is("DROP") && i + 1 < e && t_[i + 1].is("DEFAULT")) {
        em.word("DROP DEFAULT");
        i += 2;
      } else if (t_[i].is("SET") && i + 1 < e && t_[i + 1].is("DEFAULT")) {
        i += 2;
        ColumnDef def;
        if (!read_default(t_, i, e, def)) {
          *why = "DEFAULT value not understood";
          return false;
        }
        spec.default_kind = def.default_kind;
        em.word("SET DEFAULT");
        em.append(def.default_text, Emitter::Piece::other);
      } else if (t_[i].is("SET") && i + 1 < e &&
                 (t_[i + 1].is("VISIBLE") || t_[i + 1].is("INVISIBLE"))) {
        em.word("SET " + upper(t_[i + 1].text));
        i += 2;
      } else {
        return false;
      }
    }
    if (i != e) {
      return false;
    }
    spec.text = em.take();
    specs.push_back(std::move(spec));
    return true;
  }

  // RENAME COLUMN a TO b | RENAME INDEX|KEY a TO b (RENAME [TO] t renames the table: unknown)
  bool parse_rename(std::size_t i, std::size_t e, std::vector<AlterSpec>& specs, std::string* why) {
    if (i >= e) {
      return false;
    }
    AlterSpec spec;
    Emitter em;
    if (t_[i].is("COLUMN")) {
      spec.kind = SpecKind::rename_column;
      em.word("RENAME COLUMN");
    } else if (t_[i].is("INDEX") || t_[i].is("KEY")) {
      spec.kind = SpecKind::rename_index;
      em.word("RENAME INDEX");
    } else {
      *why = "RENAME of the table inside a recorded ALTER";
      return false;
    }
    ++i;
    if (i + 3 != e || !is_name(t_[i]) || !t_[i + 1].is("TO") || !is_name(t_[i + 2])) {
      return false;
    }
    spec.subject = lower_name(unquote(t_[i]));
    spec.new_name = lower_name(unquote(t_[i + 2]));
    em.name(spec.subject);
    em.word("TO");
    em.name(spec.new_name);
    spec.text = em.take();
    specs.push_back(std::move(spec));
    return true;
  }

  // Table options, space- or comma-separated: AUTO_INCREMENT=, ALGORITHM=, LOCK= are dropped.
  bool parse_table_options(std::size_t i, std::size_t e, std::vector<AlterSpec>& specs,
                           std::string* why) {
    static constexpr std::array<std::string_view, 15> kHarmless = {
        "ENGINE",           "ROW_FORMAT",        "KEY_BLOCK_SIZE",
        "STATS_PERSISTENT", "STATS_AUTO_RECALC", "STATS_SAMPLE_PAGES",
        "PACK_KEYS",        "CHECKSUM",          "DELAY_KEY_WRITE",
        "MAX_ROWS",         "MIN_ROWS",          "AVG_ROW_LENGTH",
        "PAGE_CHECKSUM",    "TRANSACTIONAL",     "TABLE_CHECKSUM"};
    while (i < e) {
      const Token& o = t_[i];
      auto value_after = [&](std::size_t& p) -> const Token* {
        if (p < e && t_[p].is_punct('=')) {
          ++p;
        }
        if (p >= e) {
          return nullptr;
        }
        return &t_[p++];
      };
      if (o.is("AUTO_INCREMENT") || o.is("ALGORITHM") || o.is("LOCK")) {
        ++i;
        if (value_after(i) == nullptr) {
          return false;
        }
        continue;
      }
      if (o.is("FORCE")) {
        ++i;
        specs.push_back(option_spec(SpecKind::table_option, "FORCE"));
        continue;
      }
      if (o.is("COMMENT")) {
        ++i;
        const Token* v = value_after(i);
        if (v == nullptr || v->kind != TokenKind::string) {
          return false;
        }
        specs.push_back(option_spec(SpecKind::table_comment, "COMMENT=" + std::string(v->text)));
        continue;
      }
      bool is_default = false;
      std::size_t p = i;
      if (t_[p].is("DEFAULT")) {
        is_default = true;
        ++p;
      }
      if (p < e && (t_[p].is("CHARSET") || t_[p].is("COLLATE") ||
                    (t_[p].is("CHARACTER") && p + 1 < e && t_[p + 1].is("SET")))) {
        const bool collate = t_[p].is("COLLATE");
        p += t_[p].is("CHARACTER") ? 2 : 1;
        std::string name;
        if (!read_charset_name(t_, p, e, name)) {
          return false;
        }
        specs.push_back(
            option_spec(SpecKind::table_option,
                        std::string("DEFAULT ") + (collate ? "COLLATE=" : "CHARSET=") + name));
        i = p;
        continue;
      }
      if (is_default) {
        return false;
      }
      bool harmless = false;
      for (std::string_view h : kHarmless) {
        harmless = harmless || o.is(h);
      }
      if (!harmless) {
        if (o.is("CONVERT") || o.is("PARTITION") || o.is("ORDER") || o.is("DISCARD") ||
            o.is("IMPORT") || o.is("REMOVE") || o.is("WITH") || o.is("WITHOUT")) {
          *why = upper(o.text) + " is not merged across shards";
        }
        return false;
      }
      ++i;
      const Token* v = value_after(i);
      if (v == nullptr) {
        return false;
      }
      const std::string value =
          v->kind == TokenKind::identifier ? upper(v->text) : std::string(v->text);
      specs.push_back(option_spec(SpecKind::table_option, upper(o.text) + "=" + value));
    }
    return true;
  }

  const Tokens& t_;
  std::vector<AlterSpec>& out_;
};

// Reads `[schema.]table` at t[i]; false when the tokens are not a name.
bool read_table_name(const Tokens& t, std::size_t& i, std::size_t e, QualifiedName& name) {
  if (i >= e || !is_name(t[i])) {
    return false;
  }
  name.table = unquote(t[i++]);
  name.schema.clear();
  if (i + 1 < e && t[i].is_punct('.') && is_name(t[i + 1])) {
    name.schema = std::move(name.table);
    name.table = unquote(t[i + 1]);
    i += 2;
  }
  return true;
}

bool names_target(const QualifiedName& name, const QualifiedName& target) {
  return name.table == target.table && (name.schema.empty() || name.schema == target.schema);
}

void normalize_alter(const Tokens& t, const QualifiedName& target, SpecParser& parser) {
  const std::size_t e = t.size();
  std::size_t i = 1;  // after ALTER
  while (i < e && (t[i].is("ONLINE") || t[i].is("OFFLINE") || t[i].is("IGNORE"))) {
    ++i;
  }
  if (i >= e || !t[i].is("TABLE")) {
    parser.unknown(0, e, "not an ALTER TABLE");
    return;
  }
  ++i;
  skip_if_exists(t, i, e);
  QualifiedName name;
  if (!read_table_name(t, i, e, name) || !names_target(name, target)) {
    parser.unknown(0, e, "does not name the target table " + quote_name(target));
    return;
  }
  if (i < e && t[i].is("WAIT") && i + 1 < e) {
    i += 2;
  } else if (i < e && t[i].is("NOWAIT")) {
    ++i;
  }
  // Split at top-level commas.
  std::size_t start = i;
  int depth = 0;
  for (std::size_t p = i; p <= e; ++p) {
    if (p < e && t[p].is_punct('(')) {
      ++depth;
    } else if (p < e && t[p].is_punct(')')) {
      --depth;
    } else if (p == e || (depth == 0 && t[p].is_punct(','))) {
      if (p > start) {
        parser.piece(start, p);
      } else if (p < e) {
        parser.unknown(start, p + 1, "empty alter specification");
      }
      start = p + 1;
    }
  }
}

// CREATE [OR REPLACE] [ONLINE|OFFLINE] [UNIQUE|FULLTEXT|SPATIAL] INDEX [IF NOT EXISTS] i
//   [USING x] ON t (parts) [options]
void normalize_create_index(const Tokens& t, const QualifiedName& target, SpecParser& parser,
                            std::vector<AlterSpec>& out) {
  const std::size_t e = t.size();
  std::size_t i = 1;
  if (i + 1 < e && t[i].is("OR") && t[i + 1].is("REPLACE")) {
    i += 2;
  }
  while (i < e && (t[i].is("ONLINE") || t[i].is("OFFLINE"))) {
    ++i;
  }
  IndexDef index;
  if (i < e && (t[i].is("UNIQUE") || t[i].is("FULLTEXT") || t[i].is("SPATIAL"))) {
    index.modifier = upper(t[i].text);
    ++i;
  }
  if (i >= e || !t[i].is("INDEX")) {
    parser.unknown(0, e, "not a CREATE INDEX");
    return;
  }
  ++i;
  skip_if_exists(t, i, e);
  if (i >= e || !is_name(t[i])) {
    parser.unknown(0, e, "CREATE INDEX without a name");
    return;
  }
  index.name = lower_name(unquote(t[i++]));
  std::string using_type;
  if (i + 1 < e && (t[i].is("USING") || t[i].is("TYPE"))) {
    using_type = upper(t[i + 1].text);
    i += 2;
  }
  QualifiedName name;
  if (i >= e || !t[i].is("ON") || !read_table_name(t, ++i, e, name) ||
      !names_target(name, target)) {
    parser.unknown(0, e, "does not name the target table " + quote_name(target));
    return;
  }
  if (!parse_key_parts(t, i, e, index)) {
    parser.unknown(0, e, "key parts not understood");
    return;
  }
  if (!using_type.empty()) {
    index.options.push_back("USING " + using_type);
  }
  if (!parse_index_options(t, i, e, index)) {
    parser.unknown(0, e, "index option not understood");
    return;
  }
  out.push_back(add_index_spec(index));
}

// DROP INDEX [ONLINE|OFFLINE] [IF EXISTS] i ON t [ALGORITHM=..] [LOCK=..]
void normalize_drop_index(const Tokens& t, const QualifiedName& target, SpecParser& parser,
                          std::vector<AlterSpec>& out) {
  const std::size_t e = t.size();
  std::size_t i = 2;
  while (i < e && (t[i].is("ONLINE") || t[i].is("OFFLINE"))) {
    ++i;
  }
  skip_if_exists(t, i, e);
  QualifiedName name;
  if (i >= e || !is_name(t[i])) {
    parser.unknown(0, e, "DROP INDEX without a name");
    return;
  }
  AlterSpec spec;
  spec.kind = SpecKind::drop_index;
  spec.subject = lower_name(unquote(t[i++]));
  if (i >= e || !t[i].is("ON") || !read_table_name(t, ++i, e, name) ||
      !names_target(name, target)) {
    parser.unknown(0, e, "does not name the target table " + quote_name(target));
    return;
  }
  IndexDef ignored;
  if (!parse_index_options(t, i, e, ignored) || !ignored.options.empty()) {
    parser.unknown(0, e, "DROP INDEX option not understood");
    return;
  }
  Emitter em;
  em.word("DROP INDEX");
  em.name(spec.subject);
  spec.text = em.take();
  out.push_back(std::move(spec));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public

std::string lower_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c + 32);
    }
  }
  return out;
}

NormalizedSet normalize_ddls(const std::vector<std::string>& ddls, const QualifiedName& target) {
  NormalizedSet set;
  for (const std::string& ddl : ddls) {
    const Tokens t = tokenize(ddl);
    SpecParser parser(t, set.specs);
    if (t.size() == 0) {
      continue;
    }
    if (t.unterminated) {
      parser.unknown(0, t.size(), "unterminated string or name");
    } else if (t[0].is("ALTER")) {
      normalize_alter(t, target, parser);
    } else if (t[0].is("CREATE")) {
      normalize_create_index(t, target, parser, set.specs);
    } else if (t[0].is("DROP") && t.size() > 1 && t[1].is("INDEX")) {
      normalize_drop_index(t, target, parser, set.specs);
    } else {
      parser.unknown(0, t.size(), "not an ALTER TABLE, CREATE INDEX or DROP INDEX");
    }
  }
  return set;
}

std::string spec_sql(const QualifiedName& target, std::string_view spec_text) {
  return "ALTER TABLE " + quote_name(target) + " " + std::string(spec_text);
}

std::vector<std::string> spec_texts(const NormalizedSet& set) {
  std::vector<std::string> texts;
  texts.reserve(set.specs.size());
  for (const AlterSpec& s : set.specs) {
    texts.push_back(s.text);
  }
  return texts;
}

bool same_set(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  std::vector<std::string> x = a;
  std::vector<std::string> y = b;
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  return x == y;
}

TypeChange compare_types(std::string_view from, std::string_view to) {
  const std::optional<TypeInfo> a = parse_type_text(from);
  const std::optional<TypeInfo> b = parse_type_text(to);
  if (!a.has_value() || !b.has_value()) {
    return lower_name(from) == lower_name(to) ? TypeChange::same : TypeChange::incomparable;
  }
  const bool widens = type_contains(*b, *a);
  const bool narrows = type_contains(*a, *b);
  if (widens && narrows) {
    return TypeChange::same;
  }
  if (widens) {
    return TypeChange::wider;
  }
  return narrows ? TypeChange::narrower : TypeChange::incomparable;
}

namespace {

Classification additive(std::string why = {}) {
  return Classification{SpecClass::additive, std::move(why)};
}
Classification contracting(std::string why) {
  return Classification{SpecClass::contracting, std::move(why)};
}
Classification conflicting(std::string why) {
  return Classification{SpecClass::conflicting, std::move(why)};
}

std::string quoted(std::string_view name) {
  std::string out;
  append_quoted_identifier(out, name);
  return out;
}

// Attributes no shard merge can apply safely to a column.
std::optional<Classification> unsupported_column(const AlterSpec& s) {
  if (s.primary_key) {
    return conflicting("a PRIMARY KEY on " + quoted(s.subject) + " is not merged across shards");
  }
  if (s.auto_increment) {
    return conflicting("an AUTO_INCREMENT column (" + quoted(s.subject) +
                       ") is not merged across shards");
  }
  if (s.references || s.check) {
    return conflicting("a FOREIGN KEY or CHECK on " + quoted(s.subject) +
                       " is not merged across shards");
  }
  if (s.not_null && s.default_kind == DefaultKind::null) {
    return conflicting("column " + quoted(s.subject) + " is NOT NULL with DEFAULT NULL");
  }
  return std::nullopt;
}

Classification classify_one(const AlterSpec& s, const TargetSchema& target) {
  const bool column_exists = target.columns.count(s.subject) != 0;
  const bool index_exists = target.indexes.count(s.subject) != 0;
  const std::string no_column = "there is no column " + quoted(s.subject) + " on the target";
  const std::string no_index = "there is no index " + quoted(s.subject) + " on the target";
  switch (s.kind) {
    case SpecKind::unknown:
      return conflicting("ghostgate cannot merge `" + s.text + "`: " + s.why);
    case SpecKind::add_column:
      if (column_exists) {
        return conflicting("column " + quoted(s.subject) + " already exists on the target");
      }
      if (auto c = unsupported_column(s)) {
        return *c;
      }
      if (s.unique) {
        return contracting("ADD UNIQUE: rows of shards not yet migrated could break it");
      }
      if (s.generated || !s.not_null || s.default_kind == DefaultKind::literal ||
          s.default_kind == DefaultKind::current_timestamp) {
        return additive();
      }
      return contracting("column " + quoted(s.subject) +
                         " is NOT NULL without a constant DEFAULT: rows of shards not yet "
                         "migrated could not be written");
    case SpecKind::drop_column:
      if (!column_exists) {
        return conflicting(no_column);
      }
      return contracting("DROP COLUMN: rows of shards not yet migrated still write " +
                         quoted(s.subject));
    case SpecKind::modify_column: {
      if (!column_exists) {
        return conflicting(no_column);
      }
      if (auto c = unsupported_column(s)) {
        return *c;
      }
      if (s.generated) {
        return conflicting("a generated column change is not merged across shards");
      }
      const ColumnInfo& now = target.columns.at(s.subject);
      const TypeChange change = compare_types(now.type, s.type);
      const std::string from_to = now.type + " to " + s.type;
      if (change == TypeChange::incomparable) {
        return conflicting("the type change of " + quoted(s.subject) + " from " + from_to +
                           " is neither a widening nor a narrowing");
      }
      if (change == TypeChange::narrower) {
        return contracting("narrows " + quoted(s.subject) + " from " + from_to);
      }
      if (now.nullable && s.not_null) {
        return contracting("SET NOT NULL on " + quoted(s.subject) +
                           ": rows of shards not yet migrated may hold NULL");
      }
      if (s.unique) {
        return contracting("ADD UNIQUE: rows of shards not yet migrated could break it");
      }
      return additive(change == TypeChange::wider
                          ? "widens " + quoted(s.subject) + " from " + from_to
                          : std::string());
    }
    case SpecKind::rename_column:
      return conflicting("renaming column " + quoted(s.subject) + " to " + quoted(s.new_name) +
                         ": rows of shards not yet migrated still name " + quoted(s.subject));
    case SpecKind::alter_column_default:
      return column_exists ? additive() : conflicting(no_column);
    case SpecKind::add_index:
      if (!s.named) {
        return conflicting(
            "an unnamed ADD INDEX would add one index per shard (c, c_2, ...): "
            "name it");
      }
      if (index_exists) {
        return conflicting("index " + quoted(s.subject) + " already exists on the target");
      }
      for (const std::string& c : s.index_columns) {
        if (target.columns.count(c) == 0) {
          return conflicting("index " + quoted(s.subject) + " names column " + quoted(c) +
                             ", which the target does not have");
        }
      }
      if (s.unique) {
        return contracting("ADD UNIQUE: rows of shards not yet migrated could break it");
      }
      return additive();
    case SpecKind::drop_index:
      if (!index_exists) {
        return conflicting(no_index);
      }
      return contracting("DROP INDEX " + quoted(s.subject) +
                         ": the shards not yet migrated still have it");
    case SpecKind::rename_index:
      if (!index_exists) {
        return conflicting(no_index);
      }
      if (target.indexes.count(s.new_name) != 0) {
        return conflicting("index " + quoted(s.new_name) + " already exists on the target");
      }
      return additive();
    case SpecKind::alter_index:
      return index_exists ? additive() : conflicting(no_index);
    case SpecKind::table_comment:
    case SpecKind::table_option:
      return additive();
  }
  return conflicting("not understood");
}

}  // namespace

namespace {

bool is_column_kind(SpecKind k) {
  return k == SpecKind::add_column || k == SpecKind::drop_column || k == SpecKind::modify_column ||
         k == SpecKind::rename_column || k == SpecKind::alter_column_default;
}

bool is_index_kind(SpecKind k) {
  return k == SpecKind::add_index || k == SpecKind::drop_index || k == SpecKind::rename_index ||
         k == SpecKind::alter_index;
}

}  // namespace

bool changes_column(SpecKind kind) { return is_column_kind(kind); }

std::vector<std::string> spec_keys(SpecKind kind, std::string_view subject,
                                   std::string_view new_name,
                                   const std::vector<std::string>& index_columns) {
  std::vector<std::string> keys;
  const char* prefix = is_column_kind(kind) ? "c:" : is_index_kind(kind) ? "i:" : nullptr;
  if (prefix == nullptr) {
    return keys;
  }
  if (!subject.empty()) {
    keys.push_back(prefix + std::string(subject));
  }
  if (!new_name.empty()) {
    keys.push_back(prefix + std::string(new_name));
  }
  for (const std::string& c : index_columns) {
    keys.push_back("c:" + c);
  }
  return keys;
}

void apply_to_schema(SpecKind kind, const std::string& subject, const std::string& new_name,
                     const ColumnInfo& column, TargetSchema& schema) {
  switch (kind) {
    case SpecKind::add_column:
    case SpecKind::modify_column:
      schema.columns[subject] = column;
      break;
    case SpecKind::drop_column:
      schema.columns.erase(subject);
      break;
    case SpecKind::rename_column:
      schema.columns.erase(subject);
      schema.columns[new_name] = column;
      break;
    case SpecKind::add_index:
      if (!subject.empty()) {
        schema.indexes.insert(subject);
      }
      break;
    case SpecKind::drop_index:
      schema.indexes.erase(subject);
      break;
    case SpecKind::rename_index:
      schema.indexes.erase(subject);
      schema.indexes.insert(new_name);
      break;
    default:
      break;
  }
}

bool visible_in_schema(SpecKind kind, const std::string& subject, const std::string& new_name,
                       const TargetSchema& schema) {
  switch (kind) {
    case SpecKind::add_column:
      return schema.columns.count(subject) != 0;
    case SpecKind::drop_column:
      return schema.columns.count(subject) == 0;
    case SpecKind::add_index:
      return !subject.empty() && schema.indexes.count(subject) != 0;
    case SpecKind::drop_index:
      return schema.indexes.count(subject) == 0;
    case SpecKind::rename_index:
      return schema.indexes.count(subject) == 0 && schema.indexes.count(new_name) != 0;
    default:
      return false;
  }
}

std::vector<Classification> classify_set(const NormalizedSet& set, const TargetSchema& target) {
  std::vector<Classification> out;
  TargetSchema sim = target;
  std::set<std::string> waiting;  // keys touched by contracting specs so far
  for (const AlterSpec& s : set.specs) {
    Classification c = classify_one(s, sim);
    const std::vector<std::string> keys = spec_keys(s.kind, s.subject, s.new_name, s.index_columns);
    if (c.cls == SpecClass::additive) {
      for (const std::string& k : keys) {
        if (waiting.count(k) != 0) {
          c = contracting("runs after an earlier contracting change to " + quoted(k.substr(2)) +
                          " in the same migration");
          break;
        }
      }
    }
    if (c.cls == SpecClass::contracting) {
      waiting.insert(keys.begin(), keys.end());
    }
    apply_to_schema(s.kind, s.subject, s.new_name, ColumnInfo{s.type, !s.not_null}, sim);
    out.push_back(std::move(c));
  }
  return out;
}

std::string_view to_string(SpecKind kind) {
  switch (kind) {
    case SpecKind::add_column:
      return "add_column";
    case SpecKind::drop_column:
      return "drop_column";
    case SpecKind::modify_column:
      return "modify_column";
    case SpecKind::rename_column:
      return "rename_column";
    case SpecKind::alter_column_default:
      return "alter_column_default";
    case SpecKind::add_index:
      return "add_index";
    case SpecKind::drop_index:
      return "drop_index";
    case SpecKind::rename_index:
      return "rename_index";
    case SpecKind::alter_index:
      return "alter_index";
    case SpecKind::table_comment:
      return "table_comment";
    case SpecKind::table_option:
      return "table_option";
    case SpecKind::unknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view to_string(SpecClass cls) {
  switch (cls) {
    case SpecClass::additive:
      return "additive";
    case SpecClass::contracting:
      return "contracting";
    case SpecClass::conflicting:
      return "conflicting";
  }
  return "conflicting";
}

std::optional<SpecKind> parse_spec_kind(std::string_view text) {
  for (int k = 0; k <= static_cast<int>(SpecKind::unknown); ++k) {
    const auto kind = static_cast<SpecKind>(k);
    if (to_string(kind) == text) {
      return kind;
    }
  }
  return std::nullopt;
}

std::optional<SpecClass> parse_spec_class(std::string_view text) {
  for (int k = 0; k <= static_cast<int>(SpecClass::conflicting); ++k) {
    const auto cls = static_cast<SpecClass>(k);
    if (to_string(cls) == text) {
      return cls;
    }
  }
  return std::nullopt;
}

}  // namespace ghostgate::rules
