#include "rules/classifier.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "rules/classifier_internal.h"
#include "rules/lexer.h"

namespace ghostgate::rules {

Statement::Statement(Statement&& o) noexcept
    : text(o.text),
      kind(o.kind),
      is_ddl(o.is_ddl),
      if_exists(o.if_exists),
      if_not_exists(o.if_not_exists),
      temporary(o.temporary),
      alter_has_other_specs(o.alter_has_other_specs),
      partial(o.partial),
      placeholders(o.placeholders),
      size_(o.size_),
      overflow_(std::move(o.overflow_)),
      owned_(std::move(o.owned_)) {
  std::memcpy(inline_, o.inline_, sizeof(TableRef) * std::min<std::size_t>(size_, inline_refs));
}

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    text = o.text;
    kind = o.kind;
    is_ddl = o.is_ddl;
    if_exists = o.if_exists;
    if_not_exists = o.if_not_exists;
    temporary = o.temporary;
    alter_has_other_specs = o.alter_has_other_specs;
    partial = o.partial;
    placeholders = o.placeholders;
    size_ = o.size_;
    std::memcpy(inline_, o.inline_, sizeof(TableRef) * std::min<std::size_t>(size_, inline_refs));
    overflow_ = std::move(o.overflow_);
    owned_ = std::move(o.owned_);
  }
  return *this;
}

const TableRef* Statement::first(RefRole role) const {
  for (const TableRef& r : tables()) {
    if (r.role == role) {
      return &r;
    }
  }
  return nullptr;
}

void Statement::add(const TableRef& ref) {
  if (overflow_.empty() && size_ < inline_refs) {
    inline_refs_ptr()[size_++] = ref;
    return;
  }
  if (overflow_.empty()) {
    overflow_.assign(inline_refs_ptr(), inline_refs_ptr() + size_);
  }
  overflow_.push_back(ref);
  size_ = static_cast<std::uint32_t>(overflow_.size());
}

std::string_view Statement::own(std::string s) {
  owned_.push_front(std::move(s));
  return owned_.front();
}

std::uint32_t count_placeholders(std::string_view text) {
  // Replicated statements carry literal values: most have no `?` at all, and memchr says so
  // much faster than lexing.
  if (std::memchr(text.data(), '?', text.size()) == nullptr) {
    return 0;
  }
  std::uint32_t count = 0;
  Lexer lexer(text);
  for (Token t = lexer.next(); t.kind != TokenKind::end; t = lexer.next()) {
    if (t.kind == TokenKind::placeholder) {
      ++count;
    }
  }
  return count;
}

namespace {

using classifier_internal::Cursor;
using classifier_internal::is_name;
using classifier_internal::name_of;
using classifier_internal::parse_alter;
using classifier_internal::parse_create;
using classifier_internal::parse_drop;
using classifier_internal::parse_lock;
using classifier_internal::parse_maintenance;
using classifier_internal::parse_rename;
using classifier_internal::read_name;
using classifier_internal::read_table;

bool is_join_word(const Token& t) {
  return t.is("JOIN") || t.is("INNER") || t.is("CROSS") || t.is("LEFT") || t.is("RIGHT") ||
         t.is("OUTER") || t.is("NATURAL") || t.is("STRAIGHT_JOIN") || t.is("FULL");
}

// Words that may follow a table factor and so are never its alias.
bool is_factor_follower(const Token& t) {
  static constexpr std::string_view kWords[] = {
      "SET",       "WHERE",        "ON",     "USING",     "USE",    "IGNORE",    "FORCE",
      "PARTITION", "ORDER",        "LIMIT",  "GROUP",     "HAVING", "WINDOW",    "FOR",
      "LOCK",      "UNION",        "EXCEPT", "INTERSECT", "INTO",   "RETURNING", "READ",
      "WRITE",     "LOW_PRIORITY", "AS",     "VALUES",    "SELECT", "FROM"};
  if (t.kind != TokenKind::identifier) {
    return false;
  }
  if (is_join_word(t)) {
    return true;
  }
  for (std::string_view w : kWords) {
    if (t.is(w)) {
      return true;
    }
  }
  return false;
}

struct Factor {
  TableRef ref;
  std::string_view alias;
};

// Skips [AS] alias after a table factor; returns the alias.
std::string_view read_alias(Cursor& c, Statement& st) {
  if (c.accept("AS")) {
    if (is_name(c.cur()) || c.cur().kind == TokenKind::string) {
      std::string_view a = name_of(c.cur(), st);
      c.advance();
      return a;
    }
    return {};
  }
  if (is_name(c.cur()) && !is_factor_follower(c.cur())) {
    std::string_view a = name_of(c.cur(), st);
    c.advance();
    return a;
  }
  return {};
}

// Skips index hints: {USE|IGNORE|FORCE} {INDEX|KEY} [FOR ...] (list), repeated.
void skip_index_hints(Cursor& c) {
  while ((c.cur().is("USE") || c.cur().is("IGNORE") || c.cur().is("FORCE")) &&
         (c.peek().is("INDEX") || c.peek().is("KEY"))) {
    c.advance();
    c.advance();
    if (c.accept("FOR")) {
      while (!c.at_end() && !c.cur().is_punct('(')) {
        c.advance();
      }
    }
    if (c.cur().is_punct('(')) {
      c.skip_group();
    }
  }
}

// Parses table_references (the FROM of a multi-table DELETE, the tables of an UPDATE) up to a
// word for which `stop` is true at nesting depth 0. Factors go to `factors` (up to `cap`);
// derived tables and join conditions are skipped.
template <typename Stop>
std::size_t read_table_references(Cursor& c, Statement& st, Stop stop, Factor* factors,
                                  std::size_t cap) {
  std::size_t count = 0;
  int depth = 0;
  while (!c.at_end()) {
    const Token& t = c.cur();
    if (depth == 0 && t.kind == TokenKind::identifier && stop(t)) {
      break;
    }
    if (t.is_punct('(')) {
      const Token next = c.peek();
      if (next.is("SELECT") || next.is("WITH") || next.is("VALUES") || next.is("TABLE")) {
        c.skip_group();  // derived table
        read_alias(c, st);
        if (c.cur().is_punct('(')) {  // column list of the derived table
          c.skip_group();
        }
        continue;
      }
      ++depth;
      c.advance();
      continue;
    }
    if (t.is_punct(')')) {
      if (--depth < 0) {
        break;
      }
      c.advance();
      continue;
    }
    if (t.is_punct(',') || is_join_word(t) || t.is("LATERAL")) {
      c.advance();
      continue;
    }
    if (t.is("ON")) {
      // Join condition: up to the next join word, comma or stop word at this depth.
      c.advance();
      int d = 0;
      while (!c.at_end()) {
        const Token& u = c.cur();
        if (u.is_punct('(')) {
          ++d;
        } else if (u.is_punct(')')) {
          if (d == 0) {
            break;
          }
          --d;
        } else if (d == 0 && (u.is_punct(',') || is_join_word(u) ||
                              (depth == 0 && u.kind == TokenKind::identifier && stop(u)))) {
          break;
        }
        c.advance();
      }
      continue;
    }
    if (t.is("USING")) {
      c.advance();
      if (c.cur().is_punct('(')) {
        c.skip_group();
      }
      continue;
    }
    if (is_name(t)) {
      Factor f;
      f.ref.role = RefRole::target;
      if (!read_name(c, st, f.ref)) {
        break;
      }
      if (c.cur().is("PARTITION") && c.peek().is_punct('(')) {
        c.advance();
        c.skip_group();
      }
      f.alias = read_alias(c, st);
      skip_index_hints(c);
      if (count < cap) {
        factors[count] = f;
      }
      ++count;
      continue;
    }
    st.partial = true;
    break;
  }
  return count < cap ? count : cap;
}

void skip_priority_words(Cursor& c) {
  while (c.cur().is("LOW_PRIORITY") || c.cur().is("DELAYED") || c.cur().is("HIGH_PRIORITY") ||
         c.cur().is("IGNORE") || c.cur().is("QUICK") || c.cur().is("CONCURRENT")) {
    c.advance();
  }
}

void parse_insert(Cursor& c, Statement& st) {
  c.advance();  // INSERT / REPLACE
  skip_priority_words(c);
  c.accept("INTO");
  read_table(c, st, RefRole::target);
}

void parse_update(Cursor& c, Statement& st) {
  c.advance();  // UPDATE
  skip_priority_words(c);
  // Fast path for what replicators send: UPDATE t SET ...
  {
    Cursor probe = c;
    TableRef ref;
    if (read_name(probe, st, ref) && probe.cur().is("SET")) {
      st.add(ref);
      return;
    }
  }
  constexpr std::size_t kCap = 16;
  Factor factors[kCap];
  const std::size_t n = read_table_references(
      c, st, [](const Token& t) { return t.is("SET"); }, factors, kCap);
  for (std::size_t i = 0; i < n; ++i) {
    st.add(factors[i].ref);
  }
  if (n == 0) {
    st.partial = true;
  }
}

bool same_name(std::string_view a, std::string_view b) { return a == b; }

void parse_delete(Cursor& c, Statement& st) {
  c.advance();  // DELETE
  skip_priority_words(c);
  // Fast path for what replicators send: DELETE FROM t [WHERE ...]
  if (c.cur().is("FROM")) {
    Cursor probe = c;
    probe.advance();
    TableRef ref;
    if (read_name(probe, st, ref) && (probe.at_end() || probe.cur().is("WHERE") ||
                                      probe.cur().is("ORDER") || probe.cur().is("LIMIT"))) {
      st.add(ref);
      return;
    }
  }
  // The tables listed for deletion: names or aliases, each optionally followed by `.*`.
  constexpr std::size_t kCap = 16;
  TableRef listed[kCap];
  std::size_t nlisted = 0;
  auto read_list = [&]() {
    while (!c.at_end()) {
      TableRef ref;
      if (!read_name(c, st, ref)) {
        break;
      }
      if (c.cur().is_punct('.') && c.peek().is_punct('*')) {
        c.advance();
        c.advance();
      }
      if (nlisted < kCap) {
        listed[nlisted++] = ref;
      } else {
        st.partial = true;
      }
      if (!c.accept_punct(',')) {
        break;
      }
    }
  };
  auto resolve = [&](const Factor* factors, std::size_t nf) {
    for (std::size_t i = 0; i < nlisted; ++i) {
      const TableRef& l = listed[i];
      const TableRef* found = nullptr;
      for (std::size_t j = 0; j < nf && found == nullptr; ++j) {
        if (l.schema.empty() && !factors[j].alias.empty() && same_name(factors[j].alias, l.table)) {
          found = &factors[j].ref;
        }
      }
      for (std::size_t j = 0; j < nf && found == nullptr; ++j) {
        if (factors[j].alias.empty() && same_name(factors[j].ref.table, l.table) &&
            (l.schema.empty() || same_name(factors[j].ref.schema, l.schema))) {
          found = &factors[j].ref;
        }
      }
      TableRef out = found != nullptr ? *found : l;
      out.role = RefRole::target;
      st.add(out);
    }
  };
  auto is_where_like = [](const Token& t) {
    return t.is("WHERE") || t.is("ORDER") || t.is("LIMIT") || t.is("RETURNING");
  };

  Factor factors[kCap];
  if (c.accept("FROM")) {
    // Either DELETE FROM t [AS a] [PARTITION ..] [WHERE ..]
    // or     DELETE FROM t1[.*], t2[.*] USING table_references [WHERE ..].
    read_list();
    if (c.accept("USING")) {
      const std::size_t nf = read_table_references(c, st, is_where_like, factors, kCap);
      resolve(factors, nf);
      return;
    }
    for (std::size_t i = 0; i < nlisted; ++i) {
      listed[i].role = RefRole::target;
      st.add(listed[i]);
    }
    if (nlisted == 0) {
      st.partial = true;
    }
    return;
  }
  // DELETE t1[.*], t2[.*] FROM table_references [WHERE ..]
  read_list();
  if (!c.accept("FROM")) {
    st.partial = true;
    return;
  }
  const std::size_t nf = read_table_references(c, st, is_where_like, factors, kCap);
  resolve(factors, nf);
}

void parse_load(Cursor& c, Statement& st) {
  c.advance();  // LOAD
  if (!(c.accept("DATA") || c.accept("XML"))) {
    st.kind = StatementKind::other;
    st.is_ddl = c.cur().is("INDEX");  // LOAD INDEX INTO CACHE commits implicitly
    return;
  }
  st.kind = StatementKind::load_data;
  while (!c.at_end() && !c.cur().is("INTO")) {
    c.advance();  // LOW_PRIORITY, CONCURRENT, LOCAL, INFILE 'file', REPLACE, IGNORE
  }
  if (c.accept("INTO") && c.accept("TABLE")) {
    read_table(c, st, RefRole::target);
  } else {
    st.partial = true;
  }
}

void dispatch(Cursor& c, Statement& st);

void parse_with(Cursor& c, Statement& st) {
  // WITH [RECURSIVE] cte AS (...), ... then the main statement at depth 0.
  c.advance();
  while (!c.at_end()) {
    const Token& t = c.cur();
    if (t.is_punct('(')) {
      c.skip_group();
      continue;
    }
    if (t.is("SELECT") || t.is("UPDATE") || t.is("DELETE") || t.is("INSERT") || t.is("REPLACE") ||
        t.is("TABLE") || t.is("VALUES")) {
      dispatch(c, st);
      return;
    }
    c.advance();
  }
  st.kind = StatementKind::select;
}

void dispatch(Cursor& c, Statement& st) {
  const Token& t = c.cur();
  if (t.is_punct('(')) {
    st.kind = StatementKind::select;
    return;
  }
  if (t.kind != TokenKind::identifier) {
    return;
  }
  // Ordered by how often replicators send them.
  if (t.is("INSERT")) {
    st.kind = StatementKind::insert;
    parse_insert(c, st);
  } else if (t.is("UPDATE")) {
    st.kind = StatementKind::update;
    parse_update(c, st);
  } else if (t.is("DELETE")) {
    st.kind = StatementKind::delete_rows;
    parse_delete(c, st);
  } else if (t.is("REPLACE")) {
    st.kind = StatementKind::replace;
    parse_insert(c, st);
  } else if (t.is("BEGIN")) {
    const Token next = c.peek();
    st.kind = next.is("NOT") ? StatementKind::other : StatementKind::begin;
  } else if (t.is("COMMIT")) {
    st.kind = StatementKind::commit;
  } else if (t.is("SELECT") || t.is("TABLE") || t.is("VALUES")) {
    st.kind = StatementKind::select;
  } else if (t.is("SET")) {
    st.kind = StatementKind::set;
  } else if (t.is("ROLLBACK")) {
    c.advance();
    c.accept("WORK");
    st.kind = c.cur().is("TO") ? StatementKind::other : StatementKind::rollback;
  } else if (t.is("START")) {
    st.kind = c.peek().is("TRANSACTION") ? StatementKind::begin : StatementKind::other;
  } else if (t.is("USE")) {
    c.advance();
    st.kind = StatementKind::use;
    if (is_name(c.cur())) {
      TableRef ref;
      ref.role = RefRole::database;
      ref.schema = name_of(c.cur(), st);
      ref.offset = c.offset(c.cur());
      ref.length = static_cast<std::uint32_t>(c.cur().text.size());
      st.add(ref);
    } else {
      st.partial = true;
    }
  } else if (t.is("LOAD")) {
    parse_load(c, st);
  } else if (t.is("CREATE")) {
    parse_create(c, st);
  } else if (t.is("ALTER")) {
    parse_alter(c, st);
  } else if (t.is("DROP")) {
    parse_drop(c, st);
  } else if (t.is("RENAME")) {
    parse_rename(c, st);
  } else if (t.is("TRUNCATE")) {
    c.advance();
    c.accept("TABLE");
    st.kind = StatementKind::truncate;
    st.is_ddl = true;
    read_table(c, st, RefRole::target);
  } else if (t.is("ANALYZE") || t.is("OPTIMIZE") || t.is("CHECK") || t.is("REPAIR") ||
             t.is("CHECKSUM")) {
    parse_maintenance(c, st);
  } else if (t.is("LOCK")) {
    parse_lock(c, st);
  } else if (t.is("UNLOCK")) {
    c.advance();
    st.kind = (c.cur().is("TABLES") || c.cur().is("TABLE")) ? StatementKind::unlock_tables
                                                            : StatementKind::other;
  } else if (t.is("WITH")) {
    parse_with(c, st);
  } else if (t.is("GRANT") || t.is("REVOKE") || t.is("FLUSH")) {
    st.kind = StatementKind::other_ddl;
    st.is_ddl = true;
  }
}

// `text` at `pos` starts with `upper_word` (ASCII case-insensitive).
bool has_word_at(std::string_view text, std::size_t pos, std::string_view upper_word) {
  return pos + upper_word.size() <= text.size() &&
         equals_keyword(text.substr(pos, upper_word.size()), upper_word);
}

bool ident_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' ||
         u == '$' || u >= 0x80;
}

// Reads `name` (no doubled backtick) at `pos`; returns the position after it, or npos.
std::size_t quoted_name_at(std::string_view text, std::size_t pos, std::string_view& name) {
  if (pos >= text.size() || text[pos] != '`') {
    return std::string_view::npos;
  }
  const void* close = std::memchr(text.data() + pos + 1, '`', text.size() - pos - 1);
  if (close == nullptr) {
    return std::string_view::npos;
  }
  const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(close) - text.data());
  if (end + 1 < text.size() && text[end + 1] == '`') {
    return std::string_view::npos;  // doubled backtick: needs unescaping, general path
  }
  name = text.substr(pos + 1, end - pos - 1);
  return end + 1;
}

// The statements replicators send by the million have one exact shape:
//   INSERT INTO `db`.`t` ...   REPLACE INTO `db`.`t` ...
//   UPDATE `db`.`t` SET ...    DELETE FROM `db`.`t` [WHERE|ORDER|LIMIT ...]
// Recognising that shape with a few byte compares gives exactly what the general parser would
// (tested), at a fraction of the cost. Anything else - comments, modifiers, aliases, escapes,
// unqualified names - returns false and takes the general path.
bool classify_replicated_dml(std::string_view text, Statement& st) {
  StatementKind kind;
  std::size_t pos;
  if (has_word_at(text, 0, "INSERT INTO `")) {
    kind = StatementKind::insert;
    pos = 12;
  } else if (has_word_at(text, 0, "REPLACE INTO `")) {
    kind = StatementKind::replace;
    pos = 13;
  } else if (has_word_at(text, 0, "UPDATE `")) {
    kind = StatementKind::update;
    pos = 7;
  } else if (has_word_at(text, 0, "DELETE FROM `")) {
    kind = StatementKind::delete_rows;
    pos = 12;
  } else {
    return false;
  }
  TableRef ref;
  const std::size_t start = pos;
  pos = quoted_name_at(text, pos, ref.schema);
  if (pos == std::string_view::npos || pos >= text.size() || text[pos] != '.') {
    return false;
  }
  pos = quoted_name_at(text, pos + 1, ref.table);
  if (pos == std::string_view::npos) {
    return false;
  }
  // What follows must end the reference the way the general parser would see it.
  auto word_follows = [&](std::string_view upper_word) {
    return pos + 1 + upper_word.size() <= text.size() && text[pos] == ' ' &&
           has_word_at(text, pos + 1, upper_word) &&
           (pos + 1 + upper_word.size() == text.size() ||
            !ident_byte(text[pos + 1 + upper_word.size()]));
  };
  switch (kind) {
    case StatementKind::update:
      if (!word_follows("SET")) {
        return false;
      }
      break;
    case StatementKind::delete_rows:
      if (!(pos == text.size() || word_follows("WHERE") || word_follows("ORDER") ||
            word_follows("LIMIT"))) {
        return false;
      }
      break;
    default:
      // INSERT/REPLACE: the parser stops after the target, but a `.` would make it a
      // three-part name the general path should judge.
      if (pos < text.size() && text[pos] == '.') {
        return false;
      }
      break;
  }
  ref.offset = static_cast<std::uint32_t>(start);
  ref.length = static_cast<std::uint32_t>(pos - start);
  ref.role = RefRole::target;
  st.kind = kind;
  st.add(ref);
  return true;
}

}  // namespace

Statement classify(std::string_view text) {
  Statement st;
  st.text = text;
  st.placeholders = count_placeholders(text);
  if (classify_replicated_dml(text, st)) {
    return st;
  }
  Cursor c(text);
  dispatch(c, st);
  return st;
}

}  // namespace ghostgate::rules
