#include "rules/online_ddl.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "rules/lexer.h"
#include "rules/online_ddl_internal.h"
#include "rules/shard_routes.h"

namespace ghostgate::rules {

using namespace engine_detail;

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
