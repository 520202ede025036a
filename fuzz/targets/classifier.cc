// classify() on arbitrary text (1 byte picks a database and a rewrite target, the rest is the
// statement). Properties:
// - every table reference's span lies within the text and starts and ends like a name; its
//   schema and table are views into that span, or (names with doubled backticks) owned copies
//   whose quoted form is in the span; RENAME TABLE lists from/to pairs;
// - `placeholders` is the number of `?` tokens;
// - leading whitespace changes nothing but the offsets (this also pits the replicated-DML fast
//   path against the general parser); a moved Statement keeps its references;
// - on the statements the engine records (ALTER TABLE, CREATE/DROP INDEX), qualify_table_refs()
//   and rewrite_ddl() (what it records and replays at cut-over) change only what they should:
//   classifying their output gives the same kind and references, with the unqualified ones
//   qualified, or the ghost's ones pointing at the target.
#include "rules/classifier.h"

#include <array>

#include "fuzz_util.h"
#include "rules/lexer.h"
#include "rules/online_ddl.h"

using namespace ghostgate::rules;

namespace {

bool ident_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' ||
         u == '$' || u >= 0x80;
}

bool within(std::string_view inner, std::string_view outer) {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

// A name from a reference: a view into the span, or an unescaped copy whose quoted form is there.
void check_name(std::string_view name, std::string_view span, std::string_view text) {
  if (within(name, text) && !name.empty()) {
    FUZZ_CHECK(within(name, span));
    return;
  }
  if (name.empty()) {
    return;
  }
  FUZZ_CHECK(name.find('`') != std::string_view::npos);
  std::string quoted;
  append_quoted_identifier(quoted, name);
  FUZZ_CHECK(span.find(quoted) != std::string_view::npos);
}

void check_statement(const Statement& st, std::string_view text) {
  FUZZ_CHECK(st.text.data() == text.data() && st.text.size() == text.size());
  const auto refs = st.tables();
  for (std::size_t i = 0; i < refs.size(); ++i) {
    const TableRef& r = refs[i];
    FUZZ_CHECK(r.length > 0 && std::size_t{r.offset} + r.length <= text.size());
    const std::string_view span = text.substr(r.offset, r.length);
    FUZZ_CHECK(span.front() == '`' || ident_byte(span.front()));
    FUZZ_CHECK(span.back() == '`' || ident_byte(span.back()));
    check_name(r.schema, span, text);
    check_name(r.table, span, text);
    if (r.role == RefRole::database) {
      FUZZ_CHECK(r.table.empty());
    }
    if (r.role == RefRole::rename_from && !st.partial) {
      FUZZ_CHECK(i + 1 < refs.size() && refs[i + 1].role == RefRole::rename_to);
    }
    if (r.role == RefRole::rename_to && st.kind == StatementKind::rename_table) {
      FUZZ_CHECK(i > 0 && refs[i - 1].role == RefRole::rename_from);
    }
  }
  std::uint32_t placeholders = 0;
  Lexer lexer(text);
  for (Token t = lexer.next(); t.kind != TokenKind::end; t = lexer.next()) {
    placeholders += t.kind == TokenKind::placeholder ? 1 : 0;
  }
  FUZZ_CHECK(st.placeholders == placeholders);
}

bool same_flags(const Statement& a, const Statement& b) {
  return a.kind == b.kind && a.is_ddl == b.is_ddl && a.if_exists == b.if_exists &&
         a.if_not_exists == b.if_not_exists && a.temporary == b.temporary &&
         a.alter_has_other_specs == b.alter_has_other_specs && a.partial == b.partial &&
         a.placeholders == b.placeholders;
}

bool same_refs(const Statement& a, const Statement& b, std::uint32_t shift) {
  const auto ra = a.tables();
  const auto rb = b.tables();
  if (ra.size() != rb.size()) {
    return false;
  }
  for (std::size_t i = 0; i < ra.size(); ++i) {
    if (ra[i].schema != rb[i].schema || ra[i].table != rb[i].table || ra[i].role != rb[i].role ||
        ra[i].offset + shift != rb[i].offset || ra[i].length != rb[i].length) {
      return false;
    }
  }
  return true;
}

bool names_a_table(RefRole role) { return role != RefRole::database && role != RefRole::trigger; }

constexpr std::array<std::string_view, 4> kDbs = {"test", "", "we`ird", "d b.x"};
// Cut-over targets are always qualified (the engine resolves the RENAME's target).
const std::array<QualifiedName, 4> kTargets = {
    QualifiedName{"test", "t"}, QualifiedName{"db2", "_t_gho"}, QualifiedName{"we`ird", "x`y"},
    QualifiedName{"s", "a b.c"}};

// The statements the engine records (and so qualifies, then rewrites at cut-over). On other
// kinds a rewrite can change meaning (a multi-table DELETE's aliases; garbage where a table
// factor is followed by another name) but is never made.
bool recorded_kind(const Statement& st) {
  if (st.kind != StatementKind::alter_table && st.kind != StatementKind::create_index &&
      st.kind != StatementKind::drop_index) {
    return false;
  }
  // An empty quoted name (``.`t`) reads as unqualified: MySQL rejects it ("Incorrect database
  // name"), so such a statement never reaches the engine through the binlog.
  for (const TableRef& r : st.tables()) {
    Lexer lexer(st.text.substr(r.offset, r.length));
    if (r.table.empty() || lexer.next().text == "``") {
      return false;
    }
  }
  return true;
}

// Where an unqualified reference of `st` resolves: a FOREIGN KEY ... REFERENCES table in the
// schema of the table created or altered when that one is qualified (as MySQL and MariaDB
// resolve it), anything else in `db`.
std::string_view resolves_in(const Statement& st, const TableRef& r, std::string_view db) {
  if (r.role == RefRole::references) {
    const TableRef* subject = st.first(RefRole::target);
    if (subject != nullptr && !subject->schema.empty()) {
      return subject->schema;
    }
  }
  return db;
}

// qualify_table_refs: the same statement, every unqualified table reference now qualified
// with the schema it resolves in.
void check_qualify(const Statement& st, std::string_view db) {
  if (!recorded_kind(st)) {
    return;
  }
  const std::string out = qualify_table_refs(st.text, db);
  // With no database selected only a REFERENCES of a qualified subject has a schema to take
  // (online_ddl.h); with none of those the text is unchanged.
  bool any = false;
  for (const TableRef& r : st.tables()) {
    any = any || (names_a_table(r.role) && r.schema.empty() && !resolves_in(st, r, db).empty());
  }
  if (!any) {
    FUZZ_CHECK(out == st.text);
    return;
  }
  const Statement q = classify(out);
  FUZZ_CHECK(q.kind == st.kind);
  const auto a = st.tables();
  const auto b = q.tables();
  FUZZ_CHECK(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    FUZZ_CHECK(a[i].role == b[i].role && a[i].table == b[i].table);
    const bool qualify = names_a_table(a[i].role) && a[i].schema.empty();
    FUZZ_CHECK(b[i].schema == (qualify ? resolves_in(st, a[i], db) : a[i].schema));
  }
}

// rewrite_ddl: the ghost's references (resolved against db) now name the target; nothing else
// changed.
void check_rewrite(const Statement& st, std::string_view db, const QualifiedName& target) {
  if (!recorded_kind(st)) {
    return;
  }
  const TableRef* first = nullptr;
  for (const TableRef& r : st.tables()) {
    if (names_a_table(r.role)) {
      first = &r;
      break;
    }
  }
  if (first == nullptr) {
    return;
  }
  const QualifiedName ghost{std::string(first->schema.empty() ? db : first->schema),
                            std::string(first->table)};
  const std::string out = rewrite_ddl(st.text, ghost, db, target);
  const Statement w = classify(out);
  FUZZ_CHECK(w.kind == st.kind);
  const auto a = st.tables();
  const auto b = w.tables();
  FUZZ_CHECK(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    FUZZ_CHECK(a[i].role == b[i].role);
    const std::string_view schema = a[i].schema.empty() ? resolves_in(st, a[i], db) : a[i].schema;
    if (names_a_table(a[i].role) && schema == ghost.schema && a[i].table == ghost.table) {
      FUZZ_CHECK(b[i].schema == target.schema && b[i].table == target.table);
    } else {
      FUZZ_CHECK(b[i].schema == a[i].schema && b[i].table == a[i].table);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ghostgate::fuzz::Input in(data, size);
  const auto pick = static_cast<std::size_t>(in.take(1));
  const std::string text = in.take_string(in.remaining());

  Statement st = classify(text);
  check_statement(st, text);

  // Leading whitespace: same result, offsets shifted.
  const std::string spaced = " " + text;
  const Statement sp = classify(spaced);
  FUZZ_CHECK(same_flags(st, sp) && same_refs(st, sp, 1));

  // Moving keeps the references (and the owned unescaped names) valid.
  const Statement copy_source = classify(text);
  Statement moved = std::move(st);
  FUZZ_CHECK(same_flags(moved, copy_source) && same_refs(moved, copy_source, 0));
  Statement assigned;
  assigned = std::move(moved);
  FUZZ_CHECK(same_flags(assigned, copy_source) && same_refs(assigned, copy_source, 0));
  check_statement(assigned, text);

  check_qualify(assigned, kDbs[pick % kDbs.size()]);
  check_rewrite(assigned, kDbs[pick % kDbs.size()], kTargets[(pick / 4) % kTargets.size()]);
  return 0;
}
