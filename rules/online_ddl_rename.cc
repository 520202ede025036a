// RENAME planning (online_ddl.h): every cut-over shape, the old-table pairs, reverts, shard
// cut-overs; and child tables' constraints on a ghost.

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "rules/lexer.h"
#include "rules/online_ddl.h"
#include "rules/online_ddl_internal.h"
#include "rules/shard_routes.h"

namespace ghostgate::rules {

using namespace engine_detail;

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

}  // namespace ghostgate::rules
