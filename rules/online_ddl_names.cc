// How the engine sees a table name (online_ddl.h): classify_name, and whether a helper's name
// fits a real table (shard merge, the refusal of a RENAME to another table's helper name).

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "rules/lexer.h"
#include "rules/online_ddl.h"
#include "rules/online_ddl_internal.h"
#include "rules/shard_routes.h"

namespace ghostgate::rules {

using namespace engine_detail;

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

  // Every interpretation of the name, in rule order.
  std::vector<NameReading> candidates = name_readings(rules_, name.table);
  if (candidates.empty()) {
    for (const TruncationCandidate& t : pt_osc_truncation_candidates(name.table)) {
      candidates.push_back(
          {.kind = t.kind, .real = t.real, .verifiable = true, .ambiguous = t.ambiguous});
    }
  }
  if (rules_.is_helper_schema(name.schema)) {
    candidates.push_back({.kind = TableKind::trash, .real = {}, .verifiable = false});
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
    QualifiedName own{name.schema, std::string(candidates[i].real)};
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
    result.real_hint = std::string(candidates[*chosen].real);
    result.ambiguous = candidates[*chosen].ambiguous;
    result.drop_on_rename = candidates[*chosen].drop_on_rename;
    result.real = std::move(routed);
  } else {
    result.shaped = true;
    result.shape = candidates.front().kind;
  }
  return result;
}

std::vector<NameReading> engine_detail::name_readings(const TableRules& rules,
                                                      std::string_view table) {
  std::vector<NameReading> out;
  NameMatch matches[16];
  const std::size_t n = rules.match_all(table, matches, 16);
  for (std::size_t i = 0; i < n; ++i) {
    const NameMatch& m = matches[i];
    // A name at 64 bytes may have been cut (gh-ost, Spirit and LHM shorten X to fit): its capture
    // is only a prefix of the real name.
    const bool verifiable = table.size() != max_name_length && m.verify;
    auto add = [&](std::string_view real) {
      out.push_back({.kind = m.kind,
                     .real = real,
                     .verifiable = verifiable,
                     .drop_on_rename = m.drop_on_rename,
                     .names_table = verifiable && !m.capture.empty()});
    };
    // The capture, then - when more `_` precede it than the rule's own - the names that an
    // extra `_` per pt-osc collision retry could have come from (`___x_new`: x, _x, __x).
    add(m.capture);
    if (!verifiable || m.capture.data() == nullptr) {
      continue;  // nullptr: a user's optional group that took no part, no place in the name
    }
    std::size_t start = static_cast<std::size_t>(m.capture.data() - table.data());
    const std::size_t end = start + m.capture.size();
    while (start > 1 && table[start - 1] == '_') {
      --start;
      add(table.substr(start, end - start));
    }
  }
  return out;
}

std::vector<std::string_view> engine_detail::named_tables(const TableRules& rules,
                                                          std::string_view table, bool& unnamed) {
  const std::vector<NameReading> readings = name_readings(rules, table);
  unnamed = readings.empty();
  std::vector<std::string_view> out;
  for (const NameReading& r : readings) {
    if (r.names_table) {
      out.push_back(r.real);
    } else {
      unnamed = true;
    }
  }
  return out;
}

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

}  // namespace ghostgate::rules
