#include "rules/online_ddl.h"

#include <algorithm>
#include <utility>

#include "rules/lexer.h"

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
  if (current_db.empty()) {
    return std::string(sql);
  }
  const Statement st = classify(sql);
  std::vector<Edit> edits;
  for (const TableRef& r : st.tables()) {
    if (!r.schema.empty() || r.role == RefRole::database || r.role == RefRole::trigger) {
      continue;
    }
    std::string q;
    append_quoted_identifier(q, unqualified_schema(st, r, current_db));
    q.push_back('.');
    q.append(sql.substr(r.offset, r.length));  // the name exactly as written
    edits.push_back({r.offset, r.length, std::move(q)});
  }
  return apply_edits(sql, edits);
}

Engine::Engine(TableRules rules) : rules_(std::move(rules)) {}

bool Engine::quick_forward(const Statement& s, std::string_view /*current_db*/) const {
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
      if (name == nullptr || is_pt_osc_trigger_name(name->table)) {
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
  }
  return true;
}

const GhostRecord* Engine::find(const QualifiedName& ghost) const {
  auto it = registry_.find(ghost);
  return it == registry_.end() ? nullptr : &it->second;
}

std::optional<NameClass> Engine::classify_name(const QualifiedName& name, const Catalog& catalog,
                                               std::vector<QualifiedName>* lookups) const {
  NameClass result;
  if (name.table.empty()) {
    return result;
  }
  if (const GhostRecord* rec = find(name)) {
    result.kind = TableKind::ghost;
    result.real_hint = rec->real_hint;
    result.in_registry = true;
    return result;
  }

  // Every interpretation of the name, in rule order: (kind, real-name candidate, verifiable).
  struct Candidate {
    TableKind kind;
    std::string real;
    bool verifiable;  // false: the tool may have cut the real name, its existence proves nothing
    bool ambiguous;
  };
  std::vector<Candidate> candidates;
  NameMatch matches[8];
  const std::size_t n = rules_.match_all(name.table, matches, 8);
  for (std::size_t i = 0; i < n; ++i) {
    const NameMatch& m = matches[i];
    if (name.table.size() == max_name_length) {
      // gh-ost shortens X to keep its suffix: the capture is only a prefix of the real name.
      candidates.push_back({m.kind, std::string(m.capture), false, false});
      continue;
    }
    // The capture, then - when more `_` precede it than the rule's own - the names that an
    // extra `_` per pt-osc collision retry could have come from (`___x_new`: x, _x, __x).
    std::size_t start = static_cast<std::size_t>(m.capture.data() - name.table.data());
    const std::size_t end = start + m.capture.size();
    candidates.push_back({m.kind, std::string(m.capture), true, false});
    while (start > 1 && name.table[start - 1] == '_') {
      --start;
      candidates.push_back({m.kind, name.table.substr(start, end - start), true, false});
    }
  }
  if (n == 0) {
    for (const TruncationCandidate& t : pt_osc_truncation_candidates(name.table)) {
      candidates.push_back({t.kind, std::string(t.real), true, t.ambiguous});
    }
  }
  if (candidates.empty()) {
    return result;  // real
  }

  // A helper only if it plausibly is one: the name itself is not a real downstream table, and
  // the table it would be a helper of exists downstream.
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
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!candidates[i].verifiable) {
      if (!chosen) {
        chosen = i;
      }
      continue;
    }
    const std::optional<bool> e = exists({name.schema, candidates[i].real});
    if (e.has_value() && *e && !chosen) {
      chosen = i;
    }
  }
  if (unknown) {
    return std::nullopt;
  }
  if (chosen) {
    result.kind = candidates[*chosen].kind;
    result.real_hint = candidates[*chosen].real;
    result.ambiguous = candidates[*chosen].ambiguous;
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
        r.role == RefRole::references || r.role == RefRole::like_source) {
      continue;
    }
    // CREATE TRIGGER db.trg ... ON t: t is in the trigger's schema.
    const std::string_view db =
        (r.role == RefRole::trigger_table && !trigger_schema.empty()) ? trigger_schema : current_db;
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

  // A ghost pending for real table `real`, if any (pt-osc drop_swap, gh-ost two-step rollback).
  auto pending_for = [&](const QualifiedName& real) -> const GhostRecord* {
    for (const auto& [key, rec] : registry_) {
      if (key.schema == real.schema && rec.real_hint == real.table) {
        return &rec;
      }
    }
    return nullptr;
  };

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
      if (tables.empty() || tables[i].role != RefRole::target || !is_helper(kind_of(i))) {
        return forward;
      }
      Plan p =
          local(s, kind_of(i) == TableKind::ghost ? "create ghost table" : "create trash table");
      if (const GhostRecord* rec = kind_of(i) == TableKind::ghost ? find(names[i]) : nullptr) {
        // A new ghost starts a new migration: the DDLs of an older one must not leak into it.
        abandon(p, *rec);
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
          p.steps.push_back(std::move(step));
          return p;
        }
        return from == TableKind::trash ? local(s, "ddl on trash table") : forward;
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
        if (k == TableKind::trash) {
          changed = true;
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
      if (trg != nullptr && is_pt_osc_trigger_name(trg->table)) {
        return local(s, "pt-osc trigger");
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
      return (trg != nullptr && is_pt_osc_trigger_name(trg->table)) ? local(s, "pt-osc trigger")
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
  std::vector<QualifiedName> cutover_targets;
  for (const RenamePair& pr : pairs) {
    if (pr.from_class.kind == TableKind::ghost && pr.to_class.kind == TableKind::real) {
      cutover_targets.push_back(pr.to);
    }
  }
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

  for (const RenamePair& pr : pairs) {
    if (pr.from.schema.empty() || pr.to.schema.empty()) {
      return no_database();
    }
    const TableKind from = pr.from_class.kind;
    TableKind to = pr.to_class.kind;
    // pt-osc's cut-to-64 old-table name has no suffix left: renaming the real table it was
    // made from onto it is the swap, so it is the old (trash) table.
    if (from == TableKind::real && to == TableKind::ghost && pr.to_class.ambiguous &&
        pr.to_class.real_hint == pr.from.table && !pr.to_class.in_registry) {
      to = TableKind::trash;
    }
    const std::string both = quote_name(pr.from) + " TO " + quote_name(pr.to);

    if (from == TableKind::real && to == TableKind::real) {
      if (std::find(cutover_targets.begin(), cutover_targets.end(), pr.from) !=
          cutover_targets.end()) {
        return refuse(verb + " " + both +
                          " moves the real table away while a ghost table is "
                          "renamed onto it in the same statement; the old data would have no "
                          "downstream copy. Rename the old table to a trash name instead",
                      "refused rename of cut-over target");
      }
      real_pairs.push_back(&pr);
      continue;
    }
    any_helper = true;
    if (to == TableKind::ghost) {
      return refuse(verb + " " + both +
                        ": the target name is reserved for ghost tables by "
                        "shadow-table-rules, and ghostgate would lose track of the migration. "
                        "Use another name or change the rules",
                    "refused rename onto ghost name");
    }
    if (from == TableKind::real) {  // real -> trash: the old table is no longer needed downstream
      continue;
    }
    if (from == TableKind::trash) {
      if (to == TableKind::trash) {
        continue;
      }
      // trash -> real. With a ghost for that table still pending, this undoes our own suppressed
      // first step of a gh-ost two-step cut-over (the swap was rolled back): nothing to do.
      bool rollback = false;
      for (const auto& [key, rec] : registry_) {
        if (key.schema == pr.to.schema && rec.real_hint == pr.to.table) {
          rollback = true;
        }
      }
      if (rollback) {
        continue;
      }
      return refuse(verb + " " + both +
                        " swaps an old (trash) table back in, as gh-ost --revert "
                        "does. Downstream " +
                        quote_name(pr.to) +
                        " already has the new schema and "
                        "keeps no old copy, so this needs manual handling: revert the schema of " +
                        quote_name(pr.to) + " downstream by hand, then skip this statement",
                    "refused revert");
    }
    // from ghost
    if (to == TableKind::trash) {
      if (const GhostRecord* rec = find(pr.from)) {
        flush();
        abandon(p, *rec);
      }
      continue;
    }
    // ghost -> real: the cut-over. Run the recorded DDLs on the RENAME's target.
    flush();
    cutover = true;
    p.cutovers.emplace_back(pr.from, pr.to);
    if (const GhostRecord* rec = find(pr.from)) {
      if (rec->deferred_drop && *rec->deferred_drop != pr.to) {
        return refuse(verb + " " + both + ": the DROP of " + quote_name(*rec->deferred_drop) +
                          " was deferred for this ghost table, but it is renamed to another "
                          "table; handle this migration manually",
                      "refused cut-over onto other table");
      }
      for (std::size_t i = rec->applied; i < rec->ddls.size(); ++i) {
        p.steps.push_back(
            backend_sql(rewrite_ddl(rec->ddls[i], rec->ghost, rec->ghost.schema, pr.to), pr.to));
        Step progress = state_step(Step::Kind::cutover_progress, pr.from);
        progress.applied = i + 1;
        p.steps.push_back(std::move(progress));
      }
      p.steps.push_back(state_step(Step::Kind::forget, pr.from));
    }
  }
  if (!any_helper) {
    return Plan{};  // forward
  }
  flush();
  if (cutover) {
    p.reason = "cut-over";
  }
  return p;
}

std::optional<GhostRecord> Engine::apply(const Step& step) {
  switch (step.kind) {
    case Step::Kind::backend_sql:
      break;
    case Step::Kind::record: {
      auto [it, inserted] = registry_.try_emplace(step.ghost);
      if (inserted) {
        it->second.ghost = step.ghost;
        it->second.real_hint = step.real_hint;
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
