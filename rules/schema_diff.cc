#include "rules/schema_diff.h"

#include <algorithm>
#include <set>

#include "rules/lexer.h"

namespace ghostgate::rules {

namespace {

std::vector<Token> tokens_of(std::string_view text) {
  std::vector<Token> out;
  Lexer lexer(text);
  for (Token t = lexer.next(); t.kind != TokenKind::end; t = lexer.next()) {
    out.push_back(t);
  }
  return out;
}

bool is_name(const Token& t) {
  return t.kind == TokenKind::quoted_identifier || t.kind == TokenKind::identifier;
}

std::string name_of(const Token& t) {
  std::string out(identifier_body(t));
  if (identifier_needs_unescape(t)) {
    std::string plain;
    for (std::size_t i = 0; i < out.size(); ++i) {
      plain += out[i];
      if (out[i] == '`' && i + 1 < out.size() && out[i + 1] == '`') {
        ++i;
      }
    }
    out = std::move(plain);
  }
  return out;
}

// Column and index names are case-insensitive in MySQL.
std::string folded(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string trimmed(std::string_view s) {
  const std::size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) {
    return {};
  }
  return std::string(s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1));
}

std::string joined(const std::vector<Token>& v, std::size_t begin, std::size_t end) {
  std::string out;
  for (std::size_t i = begin; i < end; ++i) {
    if (!out.empty()) {
      out += ' ';
    }
    out.append(v[i].text);
  }
  return out;
}

std::string quoted(std::string_view name) {
  std::string out;
  append_quoted_identifier(out, name);
  return out;
}

// One definition of the body, tokens [begin, end), its printed text `text`.
bool add_part(TableDefinition& def, const std::vector<Token>& v, std::size_t begin, std::size_t end,
              std::string text, std::string* error) {
  const Token& first = v[begin];
  auto name_at = [&](std::size_t k) { return k < end && is_name(v[k]) ? name_of(v[k]) : ""; };
  if (first.is("PRIMARY")) {
    def.primary_key = std::move(text);
    return true;
  }
  if (first.is("UNIQUE") || first.is("KEY") || first.is("INDEX") || first.is("FULLTEXT") ||
      first.is("SPATIAL") || first.is("VECTOR")) {
    std::size_t k = begin + 1;
    if (!first.is("KEY") && !first.is("INDEX") && k < end && (v[k].is("KEY") || v[k].is("INDEX"))) {
      ++k;
    }
    if (k >= end || v[k].kind != TokenKind::quoted_identifier) {
      *error = "an index without a name: " + text;
      return false;
    }
    def.indexes.push_back({name_of(v[k]), std::move(text)});
    return true;
  }
  if (first.is("CONSTRAINT")) {
    def.constraints.push_back({name_at(begin + 1), std::move(text)});
    return true;
  }
  if (first.is("FOREIGN") || first.is("CHECK")) {
    def.constraints.push_back({"", std::move(text)});
    return true;
  }
  if (first.kind == TokenKind::quoted_identifier && begin + 1 < end) {
    def.columns.push_back({name_of(first), std::move(text)});
    return true;
  }
  *error = "a definition this parser does not know: " + text;
  return false;
}

}  // namespace

std::optional<TableDefinition> parse_table_definition(std::string_view create, std::string* error) {
  const std::vector<Token> v = tokens_of(create);
  std::string ignored;
  std::string& err = error != nullptr ? *error : ignored;
  if (v.size() < 4 || !v[0].is("CREATE") || !v[1].is("TABLE")) {
    err = "not a CREATE TABLE statement";
    return std::nullopt;
  }
  std::size_t open = 2;
  while (open < v.size() && !v[open].is_punct('(')) {
    ++open;
  }
  if (open == v.size()) {
    err = "CREATE TABLE without a column list";
    return std::nullopt;
  }
  TableDefinition def;
  int depth = 0;
  std::size_t start = open + 1;
  std::size_t close = v.size();
  for (std::size_t i = open; i < v.size(); ++i) {
    if (v[i].is_punct('(')) {
      ++depth;
      continue;
    }
    const bool closing = v[i].is_punct(')');
    if (closing) {
      --depth;
    }
    if ((closing && depth == 0) || (depth == 1 && v[i].is_punct(','))) {
      if (start == i) {
        err = "an empty definition";
        return std::nullopt;
      }
      // The printed text up to the separator: a trailing executable comment's `*/` included.
      const std::size_t from = v[start].offset_in(create);
      if (!add_part(def, v, start, i, trimmed(create.substr(from, v[i].offset_in(create) - from)),
                    &err)) {
        return std::nullopt;
      }
      start = i + 1;
      if (closing) {
        close = i;
        break;
      }
    }
  }
  if (close == v.size()) {
    err = "unbalanced parentheses";
    return std::nullopt;
  }
  // Table options, then partitioning (MySQL prints it in `/*!50100 ... */`, which the lexer
  // reads as code). AUTO_INCREMENT=N moves with every insert: not part of the definition.
  std::vector<Token> options;
  std::size_t i = close + 1;
  for (; i < v.size() && !v[i].is("PARTITION"); ++i) {
    if (v[i].is("AUTO_INCREMENT") && i + 2 < v.size() && v[i + 1].is_punct('=') &&
        v[i + 2].kind == TokenKind::number) {
      i += 2;
      continue;
    }
    if (!v[i].is_punct(';')) {
      options.push_back(v[i]);
    }
  }
  def.options = joined(options, 0, options.size());
  def.partitioning = joined(v, i, v.size());
  // Parts are paired by name: a name printed twice (no server does) would pair the wrong ones.
  for (const auto* parts : {&def.columns, &def.indexes}) {
    std::set<std::string> seen;
    for (const TableDefinition::Part& p : *parts) {
      if (!seen.insert(folded(p.name)).second) {
        err = std::string(parts == &def.columns ? "column " : "index ") + quoted(p.name) +
              " is defined twice";
        return std::nullopt;
      }
    }
  }
  return def;
}

namespace {

const TableDefinition::Part* find_part(const std::vector<TableDefinition::Part>& parts,
                                       std::string_view name) {
  const std::string key = folded(name);
  for (const TableDefinition::Part& p : parts) {
    if (folded(p.name) == key) {
      return &p;
    }
  }
  return nullptr;
}

}  // namespace

RevertDiff revert_statements(std::string_view current, std::string_view wanted,
                             const QualifiedName& table) {
  RevertDiff diff;
  std::string error;
  const std::optional<TableDefinition> now = parse_table_definition(current, &error);
  if (!now) {
    diff.lossy.push_back("the current definition is not understood (" + error + ")");
    return diff;
  }
  const std::optional<TableDefinition> then = parse_table_definition(wanted, &error);
  if (!then) {
    diff.lossy.push_back("the kept definition is not understood (" + error + ")");
    return diff;
  }

  // Lossy or not understood: named one by one.
  for (const TableDefinition::Part& c : then->columns) {
    if (find_part(now->columns, c.name) == nullptr) {
      diff.lossy.push_back("column " + quoted(c.name) +
                           " was dropped or renamed by the migration: its values are gone "
                           "downstream");
    }
  }
  if (now->primary_key != then->primary_key) {
    diff.lossy.push_back("the primary key changed (" +
                         (then->primary_key.empty() ? "none" : then->primary_key) + " -> " +
                         (now->primary_key.empty() ? "none" : now->primary_key) + ")");
  }
  for (const TableDefinition::Part& c : then->constraints) {
    if (std::none_of(now->constraints.begin(), now->constraints.end(),
                     [&](const TableDefinition::Part& n) { return n.text == c.text; })) {
      diff.lossy.push_back("constraint changed or dropped: " + c.text);
    }
  }
  for (const TableDefinition::Part& c : now->constraints) {
    if (std::none_of(then->constraints.begin(), then->constraints.end(),
                     [&](const TableDefinition::Part& n) { return n.text == c.text; })) {
      diff.lossy.push_back("constraint added: " + c.text);
    }
  }
  if (now->options != then->options) {
    diff.lossy.push_back("table options changed (" + then->options + " -> " + now->options + ")");
  }
  if (now->partitioning != then->partitioning) {
    diff.lossy.push_back("partitioning changed (" +
                         (then->partitioning.empty() ? "none" : then->partitioning) + " -> " +
                         (now->partitioning.empty() ? "none" : now->partitioning) + ")");
  }
  // The columns both have must be in the same order: MODIFY back does not move them.
  std::vector<std::string> order_now;
  std::vector<std::string> order_then;
  for (const TableDefinition::Part& c : now->columns) {
    if (find_part(then->columns, c.name) != nullptr) {
      order_now.push_back(folded(c.name));
    }
  }
  for (const TableDefinition::Part& c : then->columns) {
    if (find_part(now->columns, c.name) != nullptr) {
      order_then.push_back(folded(c.name));
    }
  }
  if (order_now != order_then) {
    diff.lossy.push_back("the column order changed");
  }

  const std::string prefix = "ALTER TABLE " + quote_name(table) + " ";
  for (const TableDefinition::Part& i : now->indexes) {
    const TableDefinition::Part* old = find_part(then->indexes, i.name);
    if (old == nullptr || old->text != i.text) {
      diff.statements.push_back(prefix + "DROP INDEX " + quoted(i.name));
    }
  }
  for (const TableDefinition::Part& c : now->columns) {
    if (find_part(then->columns, c.name) == nullptr) {
      diff.statements.push_back(prefix + "DROP COLUMN " + quoted(c.name));
    }
  }
  for (const TableDefinition::Part& c : then->columns) {
    const TableDefinition::Part* cur = find_part(now->columns, c.name);
    if (cur != nullptr && cur->text != c.text) {
      diff.statements.push_back(prefix + "MODIFY COLUMN " + c.text);
    }
  }
  for (const TableDefinition::Part& i : then->indexes) {
    const TableDefinition::Part* cur = find_part(now->indexes, i.name);
    if (cur == nullptr || cur->text != i.text) {
      diff.statements.push_back(prefix + "ADD " + i.text);
    }
  }
  return diff;
}

}  // namespace ghostgate::rules
