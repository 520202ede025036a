// Rewriting recorded DDL text (online_ddl.h): onto the cut-over target, qualified, without
// ALGORITHM= / LOCK=; token-aware, every other byte kept.

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "rules/lexer.h"
#include "rules/online_ddl.h"
#include "rules/online_ddl_internal.h"

namespace ghostgate::rules {

using namespace engine_detail;

std::string quote_name(const QualifiedName& name) {
  std::string out;
  out.reserve(name.schema.size() + name.table.size() + 5);
  if (!name.schema.empty()) {
    append_quoted_identifier(out, name.schema);
    out.push_back('.');
  }
  append_quoted_identifier(out, name.table);
  return out;
}

namespace {

// Replaces the byte spans in `edits` (sorted, non-overlapping) in `text`.
struct Edit {
  std::uint32_t offset;
  std::uint32_t length;
  std::string replacement;
};

std::string apply_edits(std::string_view text, std::vector<Edit>& edits) {
  std::sort(edits.begin(), edits.end(),
            [](const Edit& a, const Edit& b) { return a.offset < b.offset; });
  std::string out;
  out.reserve(text.size() + 32 * edits.size());
  std::size_t pos = 0;
  for (const Edit& e : edits) {
    if (e.offset < pos) {
      continue;  // overlapping: cannot happen with classifier spans, but never corrupt the text
    }
    out.append(text.substr(pos, e.offset - pos));
    // Keep the replacement a token of its own: a quoted name right against another backtick
    // would merge with it (`t``x` is the one name t`x).
    if (!e.replacement.empty() && e.replacement.front() == '`' && !out.empty() &&
        out.back() == '`') {
      out.push_back(' ');
    }
    out.append(e.replacement);
    pos = e.offset + e.length;
    if (!e.replacement.empty() && e.replacement.back() == '`' && pos < text.size() &&
        text[pos] == '`') {
      out.push_back(' ');
    }
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace

std::string rewrite_ddl(std::string_view ddl, const QualifiedName& ghost,
                        std::string_view ddl_current_db, const QualifiedName& target) {
  const Statement st = classify(ddl);
  std::vector<Edit> edits;
  const std::string replacement = quote_name(target);
  for (const TableRef& r : st.tables()) {
    if (r.role == RefRole::trigger || r.role == RefRole::database) {
      continue;
    }
    const std::string_view schema =
        r.schema.empty() ? unqualified_schema(st, r, ddl_current_db) : r.schema;
    if (schema == ghost.schema && r.table == ghost.table) {
      edits.push_back({r.offset, r.length, replacement});
    }
  }
  return apply_edits(ddl, edits);
}

std::string qualify_table_refs(std::string_view sql, std::string_view current_db) {
  const Statement st = classify(sql);
  std::vector<Edit> edits;
  for (const TableRef& r : st.tables()) {
    if (!r.schema.empty() || r.role == RefRole::database || r.role == RefRole::trigger) {
      continue;
    }
    // With no database selected only a REFERENCES of a qualified subject has a known schema.
    const std::string_view schema = unqualified_schema(st, r, current_db);
    if (schema.empty()) {
      continue;
    }
    std::string q;
    append_quoted_identifier(q, schema);
    q.push_back('.');
    q.append(sql.substr(r.offset, r.length));  // the name exactly as written
    edits.push_back({r.offset, r.length, std::move(q)});
  }
  return apply_edits(sql, edits);
}

namespace {

bool one_of(const Token& t, std::initializer_list<std::string_view> keywords) {
  return std::any_of(keywords.begin(), keywords.end(), [&](std::string_view k) { return t.is(k); });
}

}  // namespace

std::string strip_algorithm_lock(std::string_view sql) {
  std::vector<Token> tokens;  // cold path (cut-over): a vector is fine
  Lexer lexer(sql);
  for (Token t = lexer.next(); t.kind != TokenKind::end; t = lexer.next()) {
    tokens.push_back(t);
  }
  std::vector<Edit> cuts;
  std::size_t consumed = 0;  // bytes before this were cut already (a comma is used once)
  int depth = 0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (t.is_punct('(')) {
      ++depth;
    } else if (t.is_punct(')')) {
      --depth;
    }
    const bool algorithm = t.is("ALGORITHM");
    if (depth != 0 || (!algorithm && !t.is("LOCK"))) {
      continue;
    }
    std::size_t j = i + 1;
    if (j < tokens.size() && tokens[j].is_punct('=')) {
      ++j;
    }
    // Only the clause's own values: a column that happens to be called `algorithm` stays.
    if (j >= tokens.size() ||
        !(algorithm ? one_of(tokens[j], {"DEFAULT", "INSTANT", "INPLACE", "COPY", "NOCOPY"})
                    : one_of(tokens[j], {"DEFAULT", "NONE", "SHARED", "EXCLUSIVE"}))) {
      continue;
    }
    std::size_t begin = t.offset_in(sql);
    std::size_t end = tokens[j].offset_in(sql) + tokens[j].text.size();
    if (i > 0 && tokens[i - 1].is_punct(',') && tokens[i - 1].offset_in(sql) >= consumed) {
      begin = tokens[i - 1].offset_in(sql);
    } else if (j + 1 < tokens.size() && tokens[j + 1].is_punct(',')) {
      end = tokens[j + 1].offset_in(sql) + 1;
    }
    cuts.push_back({static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(end - begin),
                    std::string()});
    consumed = end;
    i = j;
  }
  return apply_edits(sql, cuts);
}

std::optional<std::string> replay_ddl(std::string_view ddl, const QualifiedName& ghost,
                                      const QualifiedName& target) {
  std::string sql = strip_algorithm_lock(rewrite_ddl(ddl, ghost, ghost.schema, target));
  const Statement st = classify(sql);
  switch (st.kind) {
    case StatementKind::alter_table:
      if (!st.alter_has_other_specs && st.first(RefRole::rename_to) == nullptr) {
        return std::nullopt;  // only ALGORITHM=/LOCK= were left: nothing to change
      }
      return sql;
    case StatementKind::create_index:
    case StatementKind::drop_index:
      return sql;
    default:
      // ANALYZE (Spirit and pt-osc analyze the ghost before the swap) and TRUNCATE are never
      // recorded by this engine, but a record written by another tool may hold them: replayed
      // on the real table, TRUNCATE would delete its data and ANALYZE is no schema change.
      return std::nullopt;
  }
}

QualifiedName real_of(const GhostRecord& rec) {
  return rec.real ? *rec.real : QualifiedName{rec.ghost.schema, rec.real_hint};
}

}  // namespace ghostgate::rules
