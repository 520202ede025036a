// Column and index definitions for shard_ddl.h's normaliser: read from tokens, written as
// canonical text.

#include <string>
#include <utility>
#include <vector>

#include "rules/lexer.h"
#include "rules/shard_ddl.h"
#include "rules/shard_ddl_internal.h"

namespace ghostgate::rules::shard_ddl_internal {
namespace {

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

}  // namespace

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
      // The type's text ends with its collation, if it has one: the last COLLATE wins.
      const std::string earlier =
          def.type.collation.empty() ? "" : " collate " + def.type.collation;
      if (!read_charset_name(t, i, e, def.type.collation)) {
        *why = "COLLATE not understood";
        return false;
      }
      def.type.canonical.resize(def.type.canonical.size() - earlier.size());
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

namespace {

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

}  // namespace

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

void skip_if_exists(const Tokens& t, std::size_t& i, std::size_t e) {
  if (i < e && t[i].is("IF")) {
    if (i + 2 < e && t[i + 1].is("NOT") && t[i + 2].is("EXISTS")) {
      i += 3;
    } else if (i + 1 < e && t[i + 1].is("EXISTS")) {
      i += 2;
    }
  }
}

}  // namespace ghostgate::rules::shard_ddl_internal
