// shard_ddl.h's compare_types(): MySQL's data types, parsed, and which holds the other's values.

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/shard_ddl.h"
#include "rules/shard_ddl_internal.h"

namespace ghostgate::rules::shard_ddl_internal {
namespace {

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

// MySQL's DECIMAL(M,D) and fractional-seconds limits.
constexpr int kMaxDecimalPrecision = 65;
constexpr int kMaxDecimalScale = 30;
constexpr int kMaxFsp = 6;

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

}  // namespace

bool read_charset_name(const Tokens& t, std::size_t& i, std::size_t e, std::string& out) {
  if (i < e && t[i].is_punct('=')) {
    ++i;
  }
  if (i >= e) {
    return false;
  }
  std::string name;
  if (is_name(t[i])) {
    name = lower_copy(unquote(t[i]));
  } else if (t[i].kind == TokenKind::string && t[i].text.size() >= 2) {
    name = lower_copy(t[i].text.substr(1, t[i].text.size() - 2));
  } else {
    return false;
  }
  // Every character set and collation name is a plain word; the canonical text writes it bare,
  // so anything else (`my cs`) would not read back.
  if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      })) {
    return false;
  }
  out = std::move(name);
  ++i;
  return true;
}

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
        type.precision = static_cast<int>(std::min<std::uint64_t>(to_u64(args[0], &ok), 66));
      }
      if (args.size() > 1) {
        type.scale = static_cast<int>(std::min<std::uint64_t>(to_u64(args[1], &ok), 31));
      }
      // MySQL's limits: what lies beyond is no type the server accepts.
      if (args.size() > 2 || type.precision > kMaxDecimalPrecision ||
          type.scale > kMaxDecimalScale) {
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
        type.scale = static_cast<int>(std::min<std::uint64_t>(to_u64(args[0], &ok), 7));
      }
      if (type.scale > kMaxFsp) {
        return false;
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

namespace {

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
      return b.family == Family::character && b.length <= a.length / 4;
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

}  // namespace
}  // namespace ghostgate::rules::shard_ddl_internal

namespace ghostgate::rules {

using shard_ddl_internal::parse_type_text;
using shard_ddl_internal::type_contains;
using shard_ddl_internal::TypeInfo;

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

}  // namespace ghostgate::rules
