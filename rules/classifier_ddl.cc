// The statements that commit implicitly, for classify(): CREATE, ALTER, DROP, RENAME, ANALYZE and
// the other table maintenance, LOCK TABLES. Not on the hot path.

#include <cstdint>
#include <string_view>

#include "rules/classifier.h"
#include "rules/classifier_internal.h"
#include "rules/lexer.h"

namespace ghostgate::rules::classifier_internal {
namespace {

// Skips a DEFINER = user clause's value: 'u'@'h', `u`@`h`, u@h, CURRENT_USER[()].
void skip_user(Cursor& c) {
  if (c.cur().is("CURRENT_USER")) {
    c.advance();
    if (c.cur().is_punct('(')) {
      c.skip_group();
    }
    return;
  }
  if (!c.at_end()) {
    c.advance();
  }
  if (c.cur().kind == TokenKind::variable) {  // @'host' lexes as one variable token
    c.advance();
  } else if (c.cur().is_punct('@')) {
    c.advance();
    if (!c.at_end()) {
      c.advance();
    }
  }
}

// Finds FOREIGN KEY ... REFERENCES <table> in the rest of a CREATE/ALTER TABLE.
void read_references(Cursor& c, Statement& st) {
  while (!c.at_end()) {
    if (c.cur().is("REFERENCES")) {
      c.advance();
      read_table(c, st, RefRole::references);
      continue;
    }
    c.advance();
  }
}

void parse_create_table(Cursor& c, Statement& st) {
  st.kind = StatementKind::create_table;
  st.is_ddl = !st.temporary;
  if (c.accept("IF")) {
    c.accept("NOT");
    c.accept("EXISTS");
    st.if_not_exists = true;
  }
  if (!read_table(c, st, RefRole::target)) {
    return;
  }
  if (c.accept("LIKE")) {
    read_table(c, st, RefRole::like_source);
    return;
  }
  if (c.cur().is_punct('(') && c.peek().is("LIKE")) {
    c.advance();
    c.advance();
    read_table(c, st, RefRole::like_source);
    return;
  }
  read_references(c, st);
}

void parse_create_index(Cursor& c, Statement& st) {
  st.kind = StatementKind::create_index;
  st.is_ddl = true;
  if (c.accept("IF")) {
    c.accept("NOT");
    c.accept("EXISTS");
    st.if_not_exists = true;
  }
  while (!c.at_end() && !c.cur().is("ON")) {
    c.advance();  // index name, USING type
  }
  if (c.accept("ON")) {
    read_table(c, st, RefRole::target);
  } else {
    st.partial = true;
  }
}

void parse_create_trigger(Cursor& c, Statement& st) {
  st.kind = StatementKind::create_trigger;
  st.is_ddl = true;
  if (c.accept("IF")) {
    c.accept("NOT");
    c.accept("EXISTS");
    st.if_not_exists = true;
  }
  if (!read_table(c, st, RefRole::trigger)) {
    return;
  }
  while (!c.at_end() && !c.cur().is("ON")) {
    c.advance();  // BEFORE|AFTER INSERT|UPDATE|DELETE
  }
  if (c.accept("ON")) {
    read_table(c, st, RefRole::trigger_table);
  } else {
    st.partial = true;
  }
}

void read_table_list(Cursor& c, Statement& st, RefRole role) {
  while (!c.at_end()) {
    if (!read_table(c, st, role)) {
      return;
    }
    if (!c.accept_punct(',')) {
      return;
    }
  }
}

}  // namespace

void parse_create(Cursor& c, Statement& st) {
  c.advance();  // CREATE
  bool index_modifier = false;
  for (;;) {
    if (c.accept("OR")) {
      c.accept("REPLACE");
    } else if (c.accept("TEMPORARY")) {
      st.temporary = true;
    } else if (c.cur().is("DEFINER") && c.peek().is_punct('=')) {
      c.advance();
      c.advance();
      skip_user(c);
    } else if (c.cur().is("ALGORITHM") && c.peek().is_punct('=')) {
      c.advance();
      c.advance();
      c.advance();
    } else if (c.cur().is("SQL") && c.peek().is("SECURITY")) {
      c.advance();
      c.advance();
      c.advance();
    } else if (c.cur().is("UNIQUE") || c.cur().is("FULLTEXT") || c.cur().is("SPATIAL") ||
               c.cur().is("ONLINE") || c.cur().is("OFFLINE")) {
      index_modifier = true;
      c.advance();
    } else if (c.accept("AGGREGATE")) {
    } else {
      break;
    }
  }
  if (c.accept("TABLE")) {
    parse_create_table(c, st);
  } else if (c.accept("INDEX") || (index_modifier && (c.accept("KEY")))) {
    parse_create_index(c, st);
  } else if (c.accept("TRIGGER")) {
    parse_create_trigger(c, st);
  } else {
    st.kind = StatementKind::other_ddl;
    st.is_ddl = !st.temporary;
  }
}

void parse_alter(Cursor& c, Statement& st) {
  c.advance();  // ALTER
  while (c.cur().is("ONLINE") || c.cur().is("OFFLINE") || c.cur().is("IGNORE")) {
    c.advance();
  }
  st.is_ddl = true;
  if (!c.accept("TABLE")) {
    st.kind = StatementKind::other_ddl;
    return;
  }
  st.kind = StatementKind::alter_table;
  if (c.accept("IF")) {
    c.accept("EXISTS");
    st.if_exists = true;
  }
  if (!read_table(c, st, RefRole::target)) {
    return;
  }
  if (c.accept("WAIT")) {
    c.advance();
  } else {
    c.accept("NOWAIT");
  }
  // Specs, comma-separated at depth 0.
  while (!c.at_end()) {
    if (c.cur().is("RENAME") && !(c.peek().is("COLUMN") || c.peek().is("INDEX") ||
                                  c.peek().is("KEY") || c.peek().is("CONSTRAINT"))) {
      c.advance();
      if (!c.accept("TO")) {
        c.accept("AS");
      }
      read_table(c, st, RefRole::rename_to);
    } else {
      st.alter_has_other_specs = true;
      int depth = 0;
      while (!c.at_end()) {
        const Token& t = c.cur();
        if (t.is_punct('(')) {
          ++depth;
        } else if (t.is_punct(')')) {
          --depth;
        } else if (depth == 0 && t.is_punct(',')) {
          break;
        } else if (t.is("REFERENCES")) {
          c.advance();
          read_table(c, st, RefRole::references);
          continue;
        }
        c.advance();
      }
    }
    if (!c.accept_punct(',')) {
      break;
    }
  }
}

void parse_drop(Cursor& c, Statement& st) {
  c.advance();  // DROP
  st.is_ddl = true;
  if (c.accept("TEMPORARY")) {
    st.temporary = true;
    st.is_ddl = false;
  }
  auto if_exists = [&]() {
    if (c.cur().is("IF") && c.peek().is("EXISTS")) {
      c.advance();
      c.advance();
      st.if_exists = true;
    }
  };
  if (c.accept("TABLE") || c.accept("TABLES")) {
    st.kind = StatementKind::drop_table;
    if_exists();
    read_table_list(c, st, RefRole::target);
    return;
  }
  if (c.accept("INDEX")) {
    st.kind = StatementKind::drop_index;
    while (c.cur().is("ONLINE") || c.cur().is("OFFLINE")) {
      c.advance();
    }
    if_exists();
    if (is_name(c.cur())) {
      c.advance();  // the index name
    }
    if (c.accept("ON")) {
      read_table(c, st, RefRole::target);
    } else {
      st.partial = true;
    }
    return;
  }
  if (c.accept("TRIGGER")) {
    st.kind = StatementKind::drop_trigger;
    if_exists();
    read_table(c, st, RefRole::trigger);
    return;
  }
  if (c.accept("DATABASE") || c.accept("SCHEMA")) {
    st.kind = StatementKind::drop_database;
    if_exists();
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
    return;
  }
  st.kind = StatementKind::other_ddl;
}

void parse_rename(Cursor& c, Statement& st) {
  c.advance();  // RENAME
  st.is_ddl = true;
  if (!(c.accept("TABLE") || c.accept("TABLES"))) {
    st.kind = StatementKind::other_ddl;  // RENAME USER
    return;
  }
  st.kind = StatementKind::rename_table;
  if (c.cur().is("IF") && c.peek().is("EXISTS")) {  // MariaDB
    c.advance();
    c.advance();
    st.if_exists = true;
  }
  while (!c.at_end()) {
    if (!read_table(c, st, RefRole::rename_from)) {
      return;
    }
    if (c.accept("WAIT")) {  // MariaDB: RENAME TABLE a WAIT n TO b
      c.advance();
    } else {
      c.accept("NOWAIT");
    }
    if (!c.accept("TO")) {
      st.partial = true;
      return;
    }
    if (!read_table(c, st, RefRole::rename_to)) {
      return;
    }
    if (!c.accept_punct(',')) {
      return;
    }
  }
}

void parse_maintenance(Cursor& c, Statement& st) {
  const bool checksum = c.cur().is("CHECKSUM");
  c.advance();  // ANALYZE / OPTIMIZE / CHECK / REPAIR / CHECKSUM
  while (c.cur().is("NO_WRITE_TO_BINLOG") || c.cur().is("LOCAL")) {
    c.advance();
  }
  if (!(c.accept("TABLE") || c.accept("TABLES"))) {
    st.kind = StatementKind::other;  // e.g. MariaDB ANALYZE SELECT, CHECK VIEW
    return;
  }
  st.kind = StatementKind::table_maintenance;
  // MySQL lists ANALYZE/CHECK/OPTIMIZE/REPAIR TABLE among the statements with an implicit commit.
  st.is_ddl = !checksum;
  read_table_list(c, st, RefRole::target);
}

void parse_lock(Cursor& c, Statement& st) {
  c.advance();  // LOCK
  if (!(c.accept("TABLES") || c.accept("TABLE"))) {
    st.kind = StatementKind::other;
    return;
  }
  st.kind = StatementKind::lock_tables;
  st.is_ddl = true;
  while (!c.at_end()) {
    if (!read_table(c, st, RefRole::target)) {
      return;
    }
    while (!c.at_end() && !c.cur().is_punct(',')) {
      c.advance();  // [AS] alias, READ [LOCAL], [LOW_PRIORITY] WRITE
    }
    if (!c.accept_punct(',')) {
      return;
    }
  }
}

}  // namespace ghostgate::rules::classifier_internal
