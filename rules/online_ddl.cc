#include "rules/online_ddl.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "rules/lexer.h"
#include "rules/shard_routes.h"

namespace ghostgate::rules {

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

QualifiedName resolve(const TableRef& ref, std::string_view db) {
  return {std::string(ref.schema.empty() ? db : ref.schema), std::string(ref.table)};
}

bool is_helper(TableKind k) { return k != TableKind::real; }

void add_unique(std::vector<QualifiedName>& list, const QualifiedName& name) {
  if (std::find(list.begin(), list.end(), name) == list.end()) {
    list.push_back(name);
  }
}

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

Plan refuse(std::string message, std::string_view reason) {
  Plan p;
  p.verdict = Plan::Verdict::refuse;
  p.error_code = Engine::refuse_error_code;
  p.sql_state = std::string(Engine::refuse_sql_state);
  p.error_message = "ghostgate: " + std::move(message);
  p.reason = reason;
  return p;
}

// A table name written without a database while none is selected. MySQL refuses the whole
// statement with ER_NO_DB_ERROR; so do we, rather than send a rewrite with an unresolvable name
// (`` or a bare name) to a pooled connection, whose own database could be any.
Plan no_database() {
  Plan p;
  p.verdict = Plan::Verdict::refuse;
  p.error_code = 1046;
  p.sql_state = "3D000";
  p.error_message = "No database selected";
  p.reason = "no database selected";
  return p;
}

Plan local(const Statement& s, std::string_view reason) {
  Plan p;
  p.verdict = Plan::Verdict::local;
  p.implicit_commit = s.is_ddl;
  p.reason = reason;
  return p;
}

// pt-osc's keep their historical reason (logs and dashboards key on it).
std::string_view tool_trigger_reason(std::string_view trigger) {
  return is_pt_osc_trigger_name(trigger) ? "pt-osc trigger" : "tool trigger";
}

Step backend_sql(std::string sql, QualifiedName target) {
  Step step;
  step.kind = Step::Kind::backend_sql;
  step.sql = std::move(sql);
  step.target = std::move(target);
  return step;
}

Step state_step(Step::Kind kind, QualifiedName ghost) {
  Step step;
  step.kind = kind;
  step.ghost = std::move(ghost);
  return step;
}

// Ends a migration that did not cut over. If pt-osc had dropped the real table (drop_swap) and
// we deferred that DROP, the table really is gone upstream now: drop it downstream too.
void abandon(Plan& p, const GhostRecord& rec) {
  if (rec.deferred_drop) {
    p.steps.push_back(backend_sql(rec.deferred_drop_sql, *rec.deferred_drop));
  }
  p.steps.push_back(state_step(Step::Kind::forget, rec.ghost));
}

}  // namespace

namespace {

// The schema an unqualified reference of `st` belongs to. FOREIGN KEY ... REFERENCES <t> is in
// the schema of the table being created or altered, not the session's (MySQL and MariaDB both:
// the engines always resolved it so, and the servers kept that; checked on MariaDB 10.11 with
// `USE b; ALTER TABLE a.child ADD FOREIGN KEY (p) REFERENCES parent (id)` -> a.parent).
std::string_view unqualified_schema(const Statement& st, const TableRef& r,
                                    std::string_view current_db) {
  if (r.role == RefRole::references) {
    if (const TableRef* subject = st.first(RefRole::target);
        subject != nullptr && !subject->schema.empty()) {
      return subject->schema;
    }
  }
  return current_db;
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

Engine::Engine(TableRules rules, std::shared_ptr<const ShardRouting> shards)
    : rules_(std::move(rules)), shards_(std::move(shards)) {}

std::optional<Engine> Engine::for_tools(const std::vector<std::string>& tools, std::string* error) {
  std::optional<TableRules> rules = TableRules::for_tools(tools, error);
  if (!rules) {
    return std::nullopt;
  }
  return Engine(std::move(*rules));
}

bool Engine::quick_forward(const Statement& s, std::string_view current_db) const {
  if (s.temporary) {
    return true;  // session-local tables: never a tool's helper table, never in the registry
  }
  switch (s.kind) {
    case StatementKind::drop_table:     // DROP of a real table may be a pt-osc drop_swap
    case StatementKind::drop_database:  // forgets the records in it
      return false;
    case StatementKind::create_trigger:
    case StatementKind::drop_trigger: {
      const TableRef* name = s.first(RefRole::trigger);
      if (name == nullptr || rules_.is_helper_trigger(name->table)) {
        return false;
      }
      break;  // CREATE TRIGGER: also check the ON table below
    }
    default:
      break;
  }
  for (const TableRef& r : s.tables()) {
    if (r.role == RefRole::database || r.role == RefRole::trigger) {
      continue;
    }
    // A 64-byte name starting with `_` may be a pt-osc name cut to fit (no suffix left).
    if (r.table.size() == max_name_length && r.table[0] == '_') {
      return false;
    }
    if (rules_.matches_any(r.table)) {
      return false;
    }
    // Vitess's sidecar schema: one compare of a few bytes.
    if (rules_.is_helper_schema(r.schema.empty() ? current_db : r.schema)) {
      return false;
    }
  }
  return true;
}

const GhostRecord* Engine::find(const QualifiedName& ghost) const {
  auto it = registry_.find(ghost);
  return it == registry_.end() ? nullptr : &it->second;
}

const GhostRecord* Engine::pending_for(const QualifiedName& real) const {
  for (const auto& [key, rec] : registry_) {
    if (rec.kind == TableKind::ghost && real_of(rec) == real) {
      return &rec;
    }
  }
  return nullptr;
}

std::optional<NameClass> Engine::classify_name(const QualifiedName& name, const Catalog& catalog,
                                               std::vector<QualifiedName>* lookups) const {
  NameClass result;
  if (name.table.empty()) {
    return result;
  }
  if (const GhostRecord* rec = find(name)) {
    result.kind = rec->kind;
    result.real_hint = rec->real_hint;
    result.real = rec->real;
    result.in_registry = true;
    return result;
  }

  // Every interpretation of the name, in rule order: (kind, real-name candidate, verifiable).
  struct Candidate {
    TableKind kind;
    std::string real;
    bool verifiable;  // false: the name proves nothing about a real table (cut to 64 bytes, or
                      // a shape that names no table), only the name itself must not exist
    bool ambiguous;
    bool drop_on_rename;
  };
  std::vector<Candidate> candidates;
  NameMatch matches[16];
  const std::size_t n = rules_.match_all(name.table, matches, 16);
  for (std::size_t i = 0; i < n; ++i) {
    const NameMatch& m = matches[i];
    if (name.table.size() == max_name_length || !m.verify) {
      // gh-ost, Spirit and LHM shorten X to fit: the capture is only a prefix of the real name.
      candidates.push_back({m.kind, std::string(m.capture), false, false, m.drop_on_rename});
      continue;
    }
    // The capture, then - when more `_` precede it than the rule's own - the names that an
    // extra `_` per pt-osc collision retry could have come from (`___x_new`: x, _x, __x).
    std::size_t start = static_cast<std::size_t>(m.capture.data() - name.table.data());
    const std::size_t end = start + m.capture.size();
    candidates.push_back({m.kind, std::string(m.capture), true, false, m.drop_on_rename});
    while (start > 1 && name.table[start - 1] == '_') {
      --start;
      candidates.push_back(
          {m.kind, name.table.substr(start, end - start), true, false, m.drop_on_rename});
    }
  }
  if (n == 0) {
    for (const TruncationCandidate& t : pt_osc_truncation_candidates(name.table)) {
      candidates.push_back({t.kind, std::string(t.real), true, t.ambiguous, false});
    }
  }
  if (rules_.is_helper_schema(name.schema)) {
    candidates.push_back({TableKind::trash, std::string(), false, false, false});
  }
  if (candidates.empty()) {
    return result;  // real
  }

  // A helper only if it plausibly is one: the name itself is not a real downstream table, and
  // the table it would be a helper of exists downstream (where the name tells which).
  bool unknown = false;
  auto exists = [&](const QualifiedName& q) -> std::optional<bool> {
    std::optional<bool> e = catalog.table_exists(q);
    if (!e.has_value()) {
      unknown = true;
      if (lookups != nullptr) {
        add_unique(*lookups, q);
      }
    }
    return e;
  };
  const std::optional<bool> self = exists(name);
  if (self.has_value() && *self) {
    return result;  // a real table that merely looks like a helper
  }
  std::optional<std::size_t> chosen;
  std::optional<QualifiedName> routed;  // the chosen candidate's real table, via a route
  const Router* router = shards_ && !shards_->router.empty() ? &shards_->router : nullptr;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!candidates[i].verifiable) {
      if (!chosen) {
        chosen = i;
      }
      continue;
    }
    QualifiedName own{name.schema, candidates[i].real};
    const std::optional<bool> e = exists(own);
    if (e.has_value() && *e && !chosen) {
      chosen = i;
    }
    // Shard merge: the real table upstream is `own`, downstream it lives under its route's
    // target (the replicator routed it there).
    if (router != nullptr) {
      std::optional<QualifiedName> target = router->route(own.schema, own.table);
      if (target && *target != own) {
        const std::optional<bool> te = exists(*target);
        if (te.has_value() && *te && !chosen) {
          chosen = i;
          routed = std::move(target);
        }
      }
    }
  }
  if (unknown) {
    return std::nullopt;
  }
  if (chosen) {
    result.kind = candidates[*chosen].kind;
    result.real_hint = candidates[*chosen].real;
    result.ambiguous = candidates[*chosen].ambiguous;
    result.drop_on_rename = candidates[*chosen].drop_on_rename;
    result.real = std::move(routed);
  } else {
    result.shaped = true;
    result.shape = candidates.front().kind;
  }
  return result;
}

Plan Engine::plan(const Statement& s, std::string_view current_db, const Catalog& catalog) const {
  Plan forward;
  if (quick_forward(s, current_db)) {
    return forward;
  }

  // Classify every table name the decision depends on; ask for what the catalog lacks.
  std::vector<QualifiedName> lookups;
  const auto tables = s.tables();
  std::vector<std::optional<NameClass>> classes(tables.size());
  std::vector<QualifiedName> names(tables.size());
  bool missing = false;
  std::string_view trigger_schema;
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const TableRef& r = tables[i];
    if (r.role == RefRole::trigger) {
      trigger_schema = r.schema;
    }
  }
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const TableRef& r = tables[i];
    if (r.role == RefRole::database || r.role == RefRole::trigger ||
        r.role == RefRole::like_source) {
      continue;
    }
    // A child table's constraint on a ghost (pt-osc rebuild_constraints) is decided by the
    // referenced table; elsewhere a REFERENCES changes nothing.
    if (r.role == RefRole::references && s.kind != StatementKind::alter_table) {
      continue;
    }
    // CREATE TRIGGER db.trg ... ON t: t is in the trigger's schema; REFERENCES t: the altered
    // table's.
    const std::string_view db =
        (r.role == RefRole::trigger_table && !trigger_schema.empty()) ? trigger_schema
        : r.role == RefRole::references ? unqualified_schema(s, r, current_db)
                                        : current_db;
    names[i] = resolve(r, db);
    if (names[i].schema.empty()) {
      names[i].table.clear();  // no database selected: the backend will say so
    }
    classes[i] = classify_name(names[i], catalog, &lookups);
    if (!classes[i].has_value()) {
      missing = true;
    }
  }
  if (missing) {
    Plan p;
    p.verdict = Plan::Verdict::need_lookup;
    p.lookups = std::move(lookups);
    p.reason = "catalog lookup";
    return p;
  }
  auto kind_of = [&](std::size_t i) { return classes[i] ? classes[i]->kind : TableKind::real; };

  switch (s.kind) {
    case StatementKind::insert:
    case StatementKind::replace:
    case StatementKind::update:
    case StatementKind::delete_rows:
    case StatementKind::load_data: {
      // Suppress only when every target is a helper: a write to a real table always goes on.
      bool any = false;
      for (std::size_t i = 0; i < tables.size(); ++i) {
        if (tables[i].role != RefRole::target) {
          continue;
        }
        if (!is_helper(kind_of(i))) {
          return forward;
        }
        any = true;
      }
      return any ? local(s, "dml on helper table") : forward;
    }

    case StatementKind::create_table: {
      const std::size_t i = 0;
      if (tables.empty() || tables[i].role != RefRole::target) {
        return forward;
      }
      const NameClass& cls = *classes[i];
      // CREATE TABLE h LIKE real binds h to `real` before any DDL: the evidence a rule cannot
      // give for gh-ost --force-table-names (`_F_gho LIKE t`) or a cross-schema ghost.
      std::optional<QualifiedName> like;
      if (const TableRef* ref = s.first(RefRole::like_source)) {
        like = resolve(*ref, current_db);
      }
      auto existing_like = [&]() -> std::optional<std::optional<QualifiedName>> {
        if (!like || like->schema.empty() || find(*like) != nullptr) {
          return std::optional<QualifiedName>();
        }
        const std::optional<bool> e = catalog.table_exists(*like);
        if (!e) {
          return std::nullopt;  // ask
        }
        return *e ? like : std::optional<QualifiedName>();
      };
      auto need_like = [&]() {
        Plan p;
        p.verdict = Plan::Verdict::need_lookup;
        p.lookups = {*like};
        p.reason = "catalog lookup";
        return p;
      };
      // The hint is the name's real table (a routed shard's upstream table, the member of its
      // shard group) when given, else the bound real table's name.
      auto bind = [&](Plan& p, TableKind kind, const std::optional<QualifiedName>& real,
                      std::string hint) {
        Step step = state_step(Step::Kind::bind, names[i]);
        step.bound_kind = kind;
        step.real_hint = !hint.empty() || !real ? std::move(hint) : real->table;
        if (real) {
          step.target = *real;
        }
        p.steps.push_back(std::move(step));
      };
      if (cls.kind == TableKind::real) {
        if (!cls.shaped) {
          return forward;
        }
        // A helper's shape whose real table the name does not prove: a helper only with
        // evidence from this statement.
        NameMatch m = rules_.match(names[i].table);
        const TableKind shape = m.kind == TableKind::real ? TableKind::ghost : m.kind;
        std::optional<QualifiedName> real;
        if (shape == TableKind::ghost && like) {
          const auto e = existing_like();
          if (!e) {
            return need_like();
          }
          real = *e;
        }
        if (!real && !rules_.has_tool_marker(s.text)) {
          return forward;
        }
        Plan p = local(s, shape == TableKind::ghost ? "create ghost table" : "create trash table");
        bind(p, shape, real, real ? std::string() : std::string(m.capture));
        return p;
      }
      Plan p = local(s, cls.kind == TableKind::ghost ? "create ghost table" : "create trash table");
      const GhostRecord* rec = find(names[i]);
      if (cls.kind == TableKind::ghost) {
        if (rec != nullptr) {
          // A new ghost starts a new migration: the DDLs of an older one must not leak into it.
          abandon(p, *rec);
        }
        // Bind when the LIKE source is not what the name says (another schema, a forced name)
        // or was what bound the old record.
        if (like && (like->schema != names[i].schema || like->table != cls.real_hint ||
                     (rec != nullptr && rec->real))) {
          const auto e = existing_like();
          if (!e) {
            return need_like();
          }
          if (*e) {
            bind(p, TableKind::ghost, *e, cls.real ? cls.real_hint : std::string());
          }
        }
      }
      return p;
    }

    case StatementKind::alter_table: {
      std::optional<std::size_t> target;
      std::optional<std::size_t> rename_to;
      for (std::size_t i = 0; i < tables.size(); ++i) {
        if (tables[i].role == RefRole::target && !target) {
          target = i;
        } else if (tables[i].role == RefRole::rename_to && !rename_to) {
          rename_to = i;
        }
      }
      if (!target) {
        return forward;
      }
      const TableKind from = kind_of(*target);
      const QualifiedName& from_name = names[*target];
      if (!rename_to) {
        if (from == TableKind::ghost) {
          Plan p = local(s, "record ddl on ghost table");
          Step step = state_step(Step::Kind::record, from_name);
          step.sql = qualify_table_refs(s.text, current_db);
          step.real_hint = classes[*target]->real_hint;
          step.target = classes[*target]->real.value_or(QualifiedName{});
          p.steps.push_back(std::move(step));
          return p;
        }
        if (from == TableKind::trash) {
          return local(s, "ddl on trash table");
        }
        return plan_child_constraints(s, current_db, names, classes);
      }
      const TableKind to = kind_of(*rename_to);
      const QualifiedName& to_name = names[*rename_to];
      if (from == TableKind::ghost && to == TableKind::real && s.alter_has_other_specs) {
        return refuse("ALTER TABLE " + quote_name(from_name) +
                          " both changes the ghost table "
                          "and renames it to " +
                          quote_name(to_name) + "; split the changes from the cut-over RENAME",
                      "refused alter+rename of ghost");
      }
      return plan_rename_pairs(s, {{from_name, *classes[*target], to_name, *classes[*rename_to]}},
                               "ALTER TABLE ... RENAME");
    }

    case StatementKind::create_index:
    case StatementKind::drop_index: {
      if (tables.empty() || !is_helper(kind_of(0))) {
        return forward;
      }
      if (kind_of(0) == TableKind::trash) {
        return local(s, "ddl on trash table");
      }
      Plan p = local(s, "record ddl on ghost table");
      Step step = state_step(Step::Kind::record, names[0]);
      step.sql = qualify_table_refs(s.text, current_db);
      step.real_hint = classes[0]->real_hint;
      step.target = classes[0]->real.value_or(QualifiedName{});
      p.steps.push_back(std::move(step));
      return p;
    }

    case StatementKind::truncate:
      // Never recorded: replayed on the real table it would delete its data.
      return (!tables.empty() && is_helper(kind_of(0))) ? local(s, "truncate helper table")
                                                        : forward;

    case StatementKind::table_maintenance:
    case StatementKind::lock_tables: {
      std::vector<std::size_t> reals;
      bool helpers = false;
      for (std::size_t i = 0; i < tables.size(); ++i) {
        if (names[i].schema.empty() && s.kind == StatementKind::table_maintenance) {
          return no_database();
        }
        if (is_helper(kind_of(i))) {
          helpers = true;
        } else {
          reals.push_back(i);
        }
      }
      if (!helpers) {
        return forward;
      }
      if (reals.empty()) {
        return local(s, "statement on helper tables");
      }
      if (s.kind == StatementKind::lock_tables) {
        return forward;  // LOCK TABLES cannot be split without changing what the session holds
      }
      // Keep the statement's words, list only the real tables (qualified: any connection).
      std::string sql(s.text.substr(0, tables.front().offset));
      for (std::size_t k = 0; k < reals.size(); ++k) {
        if (k > 0) {
          sql += ", ";
        }
        sql += quote_name(names[reals[k]]);
      }
      const TableRef& last = tables.back();
      sql.append(s.text.substr(last.offset + last.length));
      Plan p = local(s, "statement on helper and real tables");
      p.steps.push_back(backend_sql(std::move(sql), names[reals.front()]));
      return p;
    }

    case StatementKind::drop_table: {
      std::vector<std::size_t> reals;
      Plan p = local(s, "drop helper table");
      std::vector<Step> state;
      bool changed = false;
      for (std::size_t i = 0; i < tables.size(); ++i) {
        if (names[i].schema.empty()) {
          return no_database();
        }
        const TableKind k = kind_of(i);
        if (k == TableKind::real && s.if_exists && classes[i]->shaped) {
          // A helper-shaped name that is no table downstream: DROP IF EXISTS is a no-op there
          // (gh-ost --force-table-names drops its changelog before creating it).
          changed = true;
          continue;
        }
        if (k == TableKind::trash) {
          changed = true;
          if (find(names[i]) != nullptr) {  // a bound helper: its binding ends with it
            state.push_back(state_step(Step::Kind::forget, names[i]));
          }
          continue;
        }
        if (k == TableKind::ghost) {
          changed = true;
          if (const GhostRecord* rec = find(names[i])) {
            Plan tmp;
            abandon(tmp, *rec);
            for (Step& step : tmp.steps) {
              state.push_back(std::move(step));
            }
          }
          continue;
        }
        const GhostRecord* pending = s.temporary ? nullptr : pending_for(names[i]);
        if (pending != nullptr) {
          // pt-osc drop_swap: DROP real, then RENAME ghost TO real. Keep the real table (the
          // cut-over ALTERs it) until we know whether the ghost replaces it.
          changed = true;
          p.reason = "defer drop of real table (drop_swap)";
          Step step = state_step(Step::Kind::defer_drop, pending->ghost);
          step.target = names[i];
          step.sql = "DROP TABLE IF EXISTS " + quote_name(names[i]);
          state.push_back(std::move(step));
          continue;
        }
        reals.push_back(i);
      }
      if (!changed) {
        return forward;
      }
      if (!reals.empty()) {
        std::string sql = s.temporary ? "DROP TEMPORARY TABLE " : "DROP TABLE ";
        if (s.if_exists) {
          sql += "IF EXISTS ";
        }
        for (std::size_t k = 0; k < reals.size(); ++k) {
          if (k > 0) {
            sql += ", ";
          }
          sql += quote_name(names[reals[k]]);
        }
        p.steps.push_back(backend_sql(std::move(sql), names[reals.front()]));
      }
      for (Step& step : state) {
        p.steps.push_back(std::move(step));
      }
      return p;
    }

    case StatementKind::rename_table: {
      if (s.partial) {
        return forward;  // not understood (e.g. a pair without TO): the backend decides
      }
      std::vector<RenamePair> pairs;
      for (std::size_t i = 0; i + 1 < tables.size(); i += 2) {
        if (tables[i].role != RefRole::rename_from || tables[i + 1].role != RefRole::rename_to) {
          return forward;  // not understood: the backend decides
        }
        pairs.push_back({names[i], *classes[i], names[i + 1], *classes[i + 1]});
      }
      return plan_rename_pairs(s, pairs, "RENAME TABLE");
    }

    case StatementKind::create_trigger: {
      const TableRef* trg = s.first(RefRole::trigger);
      if (trg != nullptr && rules_.is_helper_trigger(trg->table)) {
        return local(s, tool_trigger_reason(trg->table));
      }
      for (std::size_t i = 0; i < tables.size(); ++i) {
        if (tables[i].role == RefRole::trigger_table && is_helper(kind_of(i))) {
          return local(s, "trigger on helper table");
        }
      }
      return forward;
    }

    case StatementKind::drop_trigger: {
      const TableRef* trg = s.first(RefRole::trigger);
      return (trg != nullptr && rules_.is_helper_trigger(trg->table))
                 ? local(s, tool_trigger_reason(trg->table))
                 : forward;
    }

    case StatementKind::drop_database: {
      const TableRef* db = s.first(RefRole::database);
      if (db == nullptr) {
        return forward;
      }
      Plan p = local(s, "drop database with pending migrations");
      for (const auto& [key, rec] : registry_) {
        if (key.schema == db->schema) {
          p.steps.push_back(state_step(Step::Kind::forget, key));
        }
      }
      if (p.steps.empty()) {
        return forward;
      }
      p.steps.insert(p.steps.begin(), backend_sql(std::string(s.text), {}));
      return p;
    }

    default:
      return forward;
  }
}

// pt-osc rebuild_constraints alters each child table before the swap:
//   ALTER TABLE child DROP FOREIGN KEY fk, ADD CONSTRAINT _fk FOREIGN KEY (p) REFERENCES _t_new
//   (id)
// so that after the swap the constraint follows _t_new to `t`. Downstream the ghost never exists
// and the child's constraint already points at the real table. Forwarded as is, the statement
// would fail (or, with foreign_key_checks=0, leave a constraint on a table that never appears);
// suppressed, downstream would keep the old constraint name and fail the next run's
// DROP FOREIGN KEY _fk. So it runs with each ghost reference replaced by the ghost's real table:
// the same end state as upstream. When a ghost's real table is not known (a shape that names
// none, not bound yet), the statement is suppressed: the constraint downstream already points at
// the real table, only its name may lag.
Plan Engine::plan_child_constraints(const Statement& s, std::string_view current_db,
                                    const std::vector<QualifiedName>& names,
                                    const std::vector<std::optional<NameClass>>& classes) const {
  const auto tables = s.tables();
  std::vector<std::pair<QualifiedName, QualifiedName>> onto;  // ghost -> real
  bool unknown = false;
  for (std::size_t i = 0; i < tables.size(); ++i) {
    if (tables[i].role != RefRole::references || !classes[i] ||
        classes[i]->kind != TableKind::ghost) {
      continue;
    }
    const NameClass& c = *classes[i];
    QualifiedName real = c.real ? *c.real : QualifiedName{names[i].schema, c.real_hint};
    if (const GhostRecord* rec = find(names[i])) {
      real = real_of(*rec);
    }
    if (real.table.empty()) {
      unknown = true;
    } else {
      onto.emplace_back(names[i], std::move(real));
    }
  }
  if (onto.empty() && !unknown) {
    return Plan{};  // forward
  }
  const TableRef* subject = s.first(RefRole::target);
  if (subject == nullptr || names[subject - tables.data()].schema.empty()) {
    return no_database();  // the rewrite runs on any pooled connection: every name qualified
  }
  if (unknown) {
    return local(s, "child constraint on ghost table");
  }
  std::string sql = qualify_table_refs(s.text, current_db);
  for (const auto& [ghost, real] : onto) {
    sql = rewrite_ddl(sql, ghost, "", real);
  }
  Plan p = local(s, "child constraint on ghost table rewritten onto its real table");
  p.steps.push_back(backend_sql(std::move(sql), names[subject - tables.data()]));
  return p;
}

Plan Engine::plan_rename_pairs(const Statement& s, const std::vector<RenamePair>& pairs,
                               std::string_view what) const {
  const std::string verb(what);
  // MySQL runs the pairs in order and fails the whole statement when a pair's source was already
  // renamed away by an earlier pair, or its target already created by one: such a RENAME never
  // reaches the binlog. Planned pair by pair it could, e.g., both abandon and cut over one ghost.
  std::vector<QualifiedName> gone;     // renamed away by an earlier pair
  std::vector<QualifiedName> created;  // renamed onto by an earlier pair
  for (const RenamePair& pr : pairs) {
    const bool moved = std::find(gone.begin(), gone.end(), pr.from) != gone.end();
    if (moved || std::find(created.begin(), created.end(), pr.to) != created.end()) {
      return refuse(verb + " renames " + quote_name(moved ? pr.from : pr.to) + " twice " +
                        (moved ? "from" : "onto") + "; MySQL would refuse it",
                    "refused inconsistent rename");
    }
    std::erase(gone, pr.to);
    std::erase(created, pr.from);
    gone.push_back(pr.from);
    created.push_back(pr.to);
  }

  Plan p = local(s, "rename involving helper tables");
  bool any_helper = false;
  bool cutover = false;
  // What each pair's source is to this statement. Besides its class, a cut-over is:
  // - a ghost-shaped name that no rule proves and no table downstream has, renamed onto a real
  //   table: a ghost bound earlier whose binding was forgotten with its completed cut-over (the
  //   resend of gh-ost --force-table-names' swap), or one never seen (the proxy then refuses it
  //   as a cut-over whose DDL was never seen, rather than forwarding a RENAME that must fail);
  // - Vitess's old table bound by a rotation, named again by the same rotation (the same
  //   sentry): the resend of that rotation. A REVERT rotates it back through another sentry.
  std::vector<TableKind> from_kind(pairs.size());
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const RenamePair& pr = pairs[i];
    from_kind[i] = pr.from_class.kind;
    if (pr.to_class.kind != TableKind::real || pr.to_class.shaped) {
      continue;
    }
    if (pr.from_class.kind == TableKind::real && pr.from_class.shape == TableKind::ghost) {
      from_kind[i] = TableKind::ghost;
    }
    // Likewise a trash-shaped name no table downstream has, renamed onto a real table with no
    // ghost pending: a revert whose old table's binding ended with it (a resend), or one never
    // seen; the proxy answers it from the revert's tombstone or refuses it.
    if (pr.from_class.kind == TableKind::real && pr.from_class.shaped &&
        pr.from_class.shape == TableKind::trash && pending_for(pr.to) == nullptr) {
      from_kind[i] = TableKind::trash;
    }
    const GhostRecord* rec = find(pr.from);
    if (pr.from_class.kind == TableKind::trash && rec != nullptr && !rec->bound_by.empty() &&
        rec->real == pr.to) {
      for (std::size_t j = i + 1; j < pairs.size(); ++j) {
        if (pairs[j].to == pr.from && pairs[j].from.schema == pr.from.schema &&
            pairs[j].from.table == rec->bound_by) {
          from_kind[i] = TableKind::ghost;
        }
      }
    }
  }
  // Tables a ghost lands on in this statement: a pair moving one of them away (before) is the
  // swap's old-table pair, whatever it is called.
  std::vector<QualifiedName> cutover_targets;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (from_kind[i] == TableKind::ghost && pairs[i].to_class.kind == TableKind::real) {
      cutover_targets.push_back(pairs[i].to);
    }
    // A revert (trash -> real, no ghost pending for it) swaps too: the pair moving the real table
    // away is its old-table pair (never a Vitess DROP-by-rename).
    if (from_kind[i] == TableKind::trash && pairs[i].to_class.kind == TableKind::real &&
        !pairs[i].to_class.shaped && pending_for(pairs[i].to) == nullptr) {
      cutover_targets.push_back(pairs[i].to);
    }
  }
  std::optional<RevertInfo> revert;
  std::string revert_message;
  auto contains = [](const std::vector<QualifiedName>& v, const QualifiedName& q) {
    return std::find(v.begin(), v.end(), q) != v.end();
  };
  // A real table lands on `name` from pair `after` on (a plain real rename).
  auto lands_later = [&](const QualifiedName& name, std::size_t after) {
    for (std::size_t j = after + 1; j < pairs.size(); ++j) {
      if (pairs[j].to == name && from_kind[j] == TableKind::real &&
          pairs[j].to_class.kind == TableKind::real) {
        return true;
      }
    }
    return false;
  };
  struct OldTable {
    QualifiedName name;  // where the replaced table went
    QualifiedName real;  // the table it was
  };
  std::vector<OldTable> old_tables;  // old-table pairs of this statement
  std::vector<QualifiedName> cut;    // ghosts cut over by an earlier pair of this statement
  std::vector<const RenamePair*> real_pairs;  // consecutive real -> real pairs not yet emitted
  auto flush = [&]() {
    if (real_pairs.empty()) {
      return;
    }
    std::string sql = "RENAME TABLE ";
    for (std::size_t k = 0; k < real_pairs.size(); ++k) {
      if (k > 0) {
        sql += ", ";
      }
      sql += quote_name(real_pairs[k]->from) + " TO " + quote_name(real_pairs[k]->to);
    }
    p.steps.push_back(backend_sql(std::move(sql), real_pairs.front()->to));
    real_pairs.clear();
  };
  auto bind_trash = [&](const QualifiedName& helper, const QualifiedName& real,
                        std::string bound_by) {
    flush();
    Step step = state_step(Step::Kind::bind, helper);
    step.bound_kind = TableKind::trash;
    step.sql = std::move(bound_by);
    step.target = real;
    step.real_hint = real.table;
    p.steps.push_back(std::move(step));
  };

  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const RenamePair& pr = pairs[i];
    if (pr.from.schema.empty() || pr.to.schema.empty()) {
      return no_database();
    }
    const TableKind from = from_kind[i];
    TableKind to = pr.to_class.kind;
    // pt-osc's cut-to-64 old-table name has no suffix left: renaming the real table it was
    // made from onto it is the swap, so it is the old (trash) table.
    if (from == TableKind::real && to == TableKind::ghost && pr.to_class.ambiguous &&
        pr.to_class.real_hint == pr.from.table && !pr.to_class.in_registry) {
      to = TableKind::trash;
    }
    const std::string both = quote_name(pr.from) + " TO " + quote_name(pr.to);

    if (from == TableKind::real &&
        (to == TableKind::trash || (to == TableKind::real && pr.to_class.shaped))) {
      // Never move a real table away under a helper name of another table (a shard's cut-over
      // whose route is missing): the name must fit the table, or the ghost that replaces it
      // (in this statement, or pending) must, with the old name in the same schema or naming
      // the table.
      bool fits = pr.to_class.drop_on_rename || helper_fits(pr.to, pr.from);
      for (std::size_t j = 0; !fits && j < pairs.size(); ++j) {
        // (a ghost's cut-over, or a revert swapping its old table back in)
        fits = from_kind[j] != TableKind::real && pairs[j].to == pr.from &&
               helper_fits(pairs[j].from, pr.from) && old_name_fits(pr.to, pr.from);
      }
      if (!fits) {
        if (const GhostRecord* pending = pending_for(pr.from)) {
          fits = helper_fits(pending->ghost, pr.from) && old_name_fits(pr.to, pr.from);
        }
      }
      if (!fits) {
        return refuse_foreign_helper(verb, pr.from, pr.to, false);
      }
    }
    if (from == TableKind::real && to != TableKind::ghost) {
      // The old-table pair of a swap: the ghost lands on pr.from in this statement (an atomic
      // cut-over), or a pending ghost will (the first step of a two-step one). Downstream the
      // real table stays where it is: the cut-over ALTERs it. The new name is a helper's: by
      // rule (trash), or - when it only has a helper's shape (gh-ost --force-table-names, a
      // name a rule cannot prove) - by binding it now.
      const bool swap = contains(cutover_targets, pr.from);
      const bool shaped_old = to == TableKind::real && pr.to_class.shaped;
      if ((swap || pending_for(pr.from) != nullptr) && (to == TableKind::trash || shaped_old) &&
          !lands_later(pr.from, i)) {
        any_helper = true;
        old_tables.push_back({pr.to, pr.from});
        if (shaped_old) {
          bind_trash(pr.to, pr.from, {});
        }
        continue;
      }
      if (to == TableKind::real) {
        if (swap) {
          return refuse(verb + " " + both +
                            " moves the real table away while a ghost table is "
                            "renamed onto it in the same statement; the old data would have "
                            "no downstream copy. Rename the old table to a trash name instead",
                        "refused rename of cut-over target");
        }
        real_pairs.push_back(&pr);
        continue;
      }
      // real -> trash with no ghost to replace it.
      any_helper = true;
      if (lands_later(pr.from, i)) {
        // Another real table takes its place in this statement (pt-osc with a
        // --new-table-name no rule matches: that table was replicated, so the swap is real).
        real_pairs.push_back(&pr);
        continue;
      }
      if (pr.to_class.drop_on_rename) {
        // Vitess: DROP TABLE under the vitess strategy is RENAME t TO _vt_hld_<uuid>_<ts>_ and
        // later GC renames/purges/drops of that name, all suppressed as helper statements. A
        // downstream copy under the helper name would never be cleaned up, and upstream `t` is
        // gone: drop it now. (Restoring it from HOLD upstream is a RENAME back, refused below
        // as a revert: handle it by hand.)
        flush();
        p.steps.push_back(backend_sql("DROP TABLE IF EXISTS " + quote_name(pr.from), pr.from));
        p.reason = "drop by rename to a table-gc name";
        continue;
      }
      continue;  // suppressed: the first step of a two-step cut-over, or a rolled-back one
    }
    any_helper = true;
    // Vitess's rotation: RENAME t TO sentry, vrp TO t, sentry TO vrp. The old table now lives
    // under the former shadow name; it is Vitess's to keep (for REVERT) and later rename
    // through its table GC. Bound as that table's old copy, so that its later writes, renames
    // and DROP are suppressed and renaming it back is known for a revert. A REVERT rotates the
    // same way, with the bound old table (trash) in the shadow's place.
    if (const auto old = std::find_if(old_tables.begin(), old_tables.end(),
                                      [&](const OldTable& o) { return o.name == pr.from; });
        from == TableKind::trash && contains(cut, pr.to) && old != old_tables.end()) {
      const GhostRecord* rec = find(pr.to);
      if (rec == nullptr || rec->kind != TableKind::trash || rec->real != old->real ||
          rec->bound_by != pr.from.table) {
        bind_trash(pr.to, old->real, pr.from.table);  // not when a resend finds it bound
      }
      continue;
    }
    if (to == TableKind::ghost) {
      return refuse(verb + " " + both +
                        ": the target name is reserved for ghost tables by "
                        "shadow-table-rules, and ghostgate would lose track of the migration. "
                        "Use another name or change the rules",
                    "refused rename onto ghost name");
    }
    if (from == TableKind::trash) {
      const GhostRecord* bound = find(pr.from);
      if (to == TableKind::trash) {
        if (bound != nullptr) {
          flush();
          p.steps.push_back(state_step(Step::Kind::forget, pr.from));  // e.g. into Vitess GC
        }
        continue;
      }
      // trash -> real. With a ghost for that table still pending, this undoes our own suppressed
      // first step of a two-step cut-over (the swap was rolled back): nothing to do downstream,
      // and a name that step bound is no helper any more.
      if (pending_for(pr.to) != nullptr) {
        if (bound != nullptr) {
          flush();
          p.steps.push_back(state_step(Step::Kind::forget, pr.from));
        }
        continue;
      }
      Plan r = refuse(verb + " " + both +
                          " swaps an old (trash) table back in, as gh-ost --revert "
                          "and Vitess REVERT do. Downstream " +
                          quote_name(pr.to) +
                          " already has the new schema and "
                          "keeps no old copy, so this needs manual handling: revert the schema "
                          "of " +
                          quote_name(pr.to) + " downstream by hand, then skip this statement",
                      "refused revert");
      if (revert) {
        return r;  // two reverts in one statement: not carried out
      }
      // The rest of the statement is planned as if the revert were done (RevertInfo::steps).
      revert = RevertInfo{pr.to, pr.from, {}};
      revert_message = std::move(r.error_message);
      if (bound != nullptr) {
        flush();
        p.steps.push_back(state_step(Step::Kind::forget, pr.from));
      }
      cut.push_back(pr.from);
      continue;
    }
    // from ghost
    if (to == TableKind::trash) {
      if (const GhostRecord* rec = find(pr.from)) {
        flush();
        abandon(p, *rec);
      }
      continue;
    }
    // ghost -> real: the cut-over. Run the recorded DDLs on the RENAME's target. (A ghost
    // without a record is answered by the proxy: a resend, or a cut-over never seen.)
    if (find(pr.from) != nullptr && !helper_fits(pr.from, pr.to)) {
      return refuse_foreign_helper(verb, pr.to, pr.from, true);
    }
    flush();
    cutover = true;
    p.cutovers.emplace_back(pr.from, pr.to);
    cut.push_back(pr.from);
    // A trash record here is Vitess's old table named again by its own rotation (a resend): no
    // steps, the proxy answers from the cut-over's tombstone, and the binding stays.
    if (const GhostRecord* rec = find(pr.from); rec != nullptr && rec->kind == TableKind::ghost) {
      if (rec->deferred_drop && *rec->deferred_drop != pr.to) {
        return refuse(verb + " " + both + ": the DROP of " + quote_name(*rec->deferred_drop) +
                          " was deferred for this ghost table, but it is renamed to another "
                          "table; handle this migration manually",
                      "refused cut-over onto other table");
      }
      if (const ShardGroupConfig* group = shard_group(pr.to)) {
        // A shard's cut-over onto the merged table: its group decides what runs (the proxy).
        std::optional<QualifiedName> member = shard_member(*rec, *group);
        if (!member) {
          return refuse(verb + " " + both + ": cannot tell which member of the shard group of " +
                            quote_name(pr.to) + " the ghost table belongs to (its name names " +
                            "no table that routes maps there); list the members in " +
                            "shard-groups.\"" + pr.to.schema + "." + pr.to.table + "\".members",
                        "refused shard cut-over of unknown member");
        }
        Step step = state_step(Step::Kind::shard_cutover, pr.from);
        step.target = pr.to;
        step.member = std::move(*member);
        for (const std::string& ddl : rec->ddls) {
          if (std::optional<std::string> sql = replay_ddl(ddl, rec->ghost, pr.to)) {
            step.sqls.push_back(std::move(*sql));
          }
        }
        p.steps.push_back(std::move(step));
        p.steps.push_back(state_step(Step::Kind::forget, pr.from));
        continue;
      }
      for (std::size_t k = rec->applied; k < rec->ddls.size(); ++k) {
        std::optional<std::string> sql = replay_ddl(rec->ddls[k], rec->ghost, pr.to);
        if (!sql) {
          continue;  // nothing to replay (e.g. an ANALYZE): the next progress step covers it
        }
        p.steps.push_back(backend_sql(std::move(*sql), pr.to));
        Step progress = state_step(Step::Kind::cutover_progress, pr.from);
        progress.applied = k + 1;
        p.steps.push_back(std::move(progress));
      }
      p.steps.push_back(state_step(Step::Kind::forget, pr.from));
    }
  }
  if (!any_helper) {
    return Plan{};  // forward
  }
  flush();
  if (revert) {
    Plan r = refuse({}, "refused revert");
    r.error_message = std::move(revert_message);
    r.implicit_commit = s.is_ddl;
    revert->steps = std::move(p.steps);
    r.revert = std::move(revert);
    return r;
  }
  if (cutover) {
    p.reason = "cut-over";
  }
  return p;
}

namespace {

// The real-table names a helper's name gives, rule by rule: the capture, and the names an extra
// `_` per pt-osc collision retry could have come from. `unnamed` is set when a matching rule's
// capture proves nothing (cut to 64 bytes, a shape that names no table) or no rule matches.
std::vector<std::string_view> named_tables(const TableRules& rules, std::string_view table,
                                           bool& unnamed) {
  std::vector<std::string_view> out;
  NameMatch matches[16];
  const std::size_t n = rules.match_all(table, matches, 16);
  unnamed = n == 0;
  for (std::size_t i = 0; i < n; ++i) {
    const NameMatch& m = matches[i];
    if (!m.verify || m.capture.empty() || table.size() == max_name_length) {
      unnamed = true;
      continue;
    }
    std::size_t start = static_cast<std::size_t>(m.capture.data() - table.data());
    const std::size_t end = start + m.capture.size();
    out.push_back(table.substr(start, end - start));
    while (start > 1 && table[start - 1] == '_') {
      --start;
      out.push_back(table.substr(start, end - start));
    }
  }
  return out;
}

}  // namespace

bool Engine::helper_fits(const QualifiedName& helper, const QualifiedName& real) const {
  bool unnamed = false;
  const std::vector<std::string_view> named = named_tables(rules_, helper.table, unnamed);
  if (unnamed) {
    return true;  // bound at cut-over: the RENAME's target is its table
  }
  const Router* router = shards_ && !shards_->router.empty() ? &shards_->router : nullptr;
  bool same_name = false;
  for (std::string_view t : named) {
    same_name = same_name || t == real.table;
    if ((t == real.table && helper.schema == real.schema) ||
        (router != nullptr && router->routes_to(helper.schema, t, real))) {
      return true;
    }
  }
  // Evidence beyond the name (CREATE ... LIKE, a recorded migration, a cut-over): gh-ost
  // --force-table-names names another table in the real table's schema, Bytebase's ghost the
  // real table in another schema.
  const GhostRecord* rec = find(helper);
  if (rec == nullptr) {
    return false;
  }
  return rec->real ? *rec->real == real && (helper.schema == real.schema || same_name) : same_name;
}

bool Engine::old_name_fits(const QualifiedName& old_name, const QualifiedName& real) const {
  if (old_name.schema == real.schema) {
    return true;
  }
  bool unnamed = false;
  const std::vector<std::string_view> named = named_tables(rules_, old_name.table, unnamed);
  return unnamed || std::find(named.begin(), named.end(), real.table) != named.end();
}

Plan Engine::refuse_foreign_helper(std::string_view verb, const QualifiedName& real,
                                   const QualifiedName& helper, bool onto) const {
  bool unnamed = false;
  const std::vector<std::string_view> named = named_tables(rules_, helper.table, unnamed);
  const QualifiedName upstream{helper.schema,
                               named.empty() ? std::string("?") : std::string(named.front())};
  std::string m =
      std::string(verb) + (onto ? " swaps " + quote_name(helper) + " into " + quote_name(real)
                                : " moves " + quote_name(real) + " to " + quote_name(helper));
  m += ", a helper table name of " + quote_name(upstream) + ", not of " + quote_name(real) +
       ". Run literally it would replace " + quote_name(real) +
       " by a copy of one table: nothing was changed. If " + quote_name(upstream) +
       " is a shard merged into " + quote_name(real) +
       ", set `routes` (a rule whose schema-pattern and table-pattern match it, with "
       "target-schema \"" +
       real.schema + "\" and target-table \"" + real.table +
       "\"), plus `shard-mode` and `shard-groups` for the shard merge (README, \"Shard "
       "merge\"); then resend the statement";
  return refuse(std::move(m), "refused rename of real table to another table's helper name");
}

const ShardGroupConfig* Engine::shard_group(const QualifiedName& target) const {
  if (!shards_ || shards_->config.mode == ShardMode::none) {
    return nullptr;
  }
  return find_group(shards_->config, target);
}

std::optional<QualifiedName> Engine::shard_member(const GhostRecord& rec,
                                                  const ShardGroupConfig& group) const {
  const Router& router = shards_->router;
  auto member_ok = [&](const QualifiedName& m) {
    return router.routes_to(m.schema, m.table, group.target) &&
           (group.members.empty() ||
            std::find(group.members.begin(), group.members.end(), m) != group.members.end());
  };
  if (QualifiedName m{rec.ghost.schema, rec.real_hint}; !m.table.empty() && member_ok(m)) {
    return m;
  }
  bool unnamed = false;
  for (std::string_view t : named_tables(rules_, rec.ghost.table, unnamed)) {
    if (QualifiedName m{rec.ghost.schema, std::string(t)}; member_ok(m)) {
      return m;
    }
  }
  // A name that names no table (Vitess): the one listed member in the ghost's schema.
  std::optional<QualifiedName> only;
  for (const QualifiedName& m : group.members) {
    if (m.schema == rec.ghost.schema) {
      if (only) {
        return std::nullopt;
      }
      only = m;
    }
  }
  return only;
}

std::optional<GhostRecord> Engine::apply(const Step& step) {
  switch (step.kind) {
    case Step::Kind::backend_sql:
    case Step::Kind::shard_cutover:
      break;
    case Step::Kind::record: {
      auto [it, inserted] = registry_.try_emplace(step.ghost);
      if (inserted) {
        it->second.ghost = step.ghost;
        it->second.real_hint = step.real_hint;
        if (!step.target.table.empty()) {
          it->second.real = step.target;  // a routed shard's helper: its merge target
        }
      }
      it->second.ddls.push_back(step.sql);
      return it->second;
    }
    case Step::Kind::forget:
      registry_.erase(step.ghost);
      return std::nullopt;
    case Step::Kind::defer_drop: {
      auto it = registry_.find(step.ghost);
      if (it == registry_.end()) {
        return std::nullopt;
      }
      it->second.deferred_drop = step.target;
      it->second.deferred_drop_sql = step.sql;
      return it->second;
    }
    case Step::Kind::cutover_progress: {
      auto it = registry_.find(step.ghost);
      if (it == registry_.end()) {
        return std::nullopt;
      }
      it->second.applied = step.applied;
      return it->second;
    }
    case Step::Kind::bind: {
      GhostRecord rec;
      rec.ghost = step.ghost;
      rec.real_hint = step.real_hint;
      rec.kind = step.bound_kind;
      rec.bound_by = step.sql;
      if (!step.target.table.empty()) {
        rec.real = step.target;
      }
      registry_[step.ghost] = rec;
      return rec;
    }
  }
  const GhostRecord* rec = find(step.ghost);
  return rec != nullptr ? std::optional<GhostRecord>(*rec) : std::nullopt;
}

void Engine::restore(const QualifiedName& ghost, std::optional<GhostRecord> previous) {
  if (previous) {
    registry_[ghost] = std::move(*previous);
  } else {
    registry_.erase(ghost);
  }
}

void Engine::load(std::vector<GhostRecord> records) {
  registry_.clear();
  for (GhostRecord& rec : records) {
    QualifiedName key = rec.ghost;
    registry_[std::move(key)] = std::move(rec);
  }
}

std::vector<GhostRecord> Engine::snapshot() const {
  std::vector<GhostRecord> out;
  out.reserve(registry_.size());
  for (const auto& [key, rec] : registry_) {
    out.push_back(rec);
  }
  return out;
}

}  // namespace ghostgate::rules
