// shard_ddl.h's normalize_ddls(): a shard's recorded DDLs read into single, canonical alter
// specifications.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/lexer.h"
#include "rules/shard_ddl.h"
#include "rules/shard_ddl_internal.h"

namespace ghostgate::rules::shard_ddl_internal {
namespace {

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
}  // namespace ghostgate::rules::shard_ddl_internal

namespace ghostgate::rules {

using shard_ddl_internal::normalize_alter;
using shard_ddl_internal::normalize_create_index;
using shard_ddl_internal::normalize_drop_index;
using shard_ddl_internal::SpecParser;
using shard_ddl_internal::tokenize;
using shard_ddl_internal::Tokens;

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

}  // namespace ghostgate::rules
