#pragma once
// The online-DDL state machine: what ghostgate does with each statement (design.md, "What happens
// to each statement"). Pure: no I/O, no clocks, no logging. The proxy owns the I/O and drives it:
//
//   Statement s = classify(text);
//   if (engine.quick_forward(s, db)) -> forward the original bytes (lock-free, no allocation)
//   else, under the registry mutex:
//     Plan p = engine.plan(s, db, catalog);
//     need_lookup -> answer p.lookups (e.g. one information_schema query), cache them, plan again
//     forward     -> forward the original bytes
//     refuse      -> send ERR p.error_code / p.sql_state / p.error_message
//     local       -> if p.implicit_commit and the client is in a transaction: COMMIT it first;
//                    then run p.steps in order (below); answer OK (0 rows) when all succeeded,
//                    or the failing backend statement's ERR.
//
// Steps, in order:
//   backend_sql       run `sql` on the backend. Every name in it is qualified, so any pooled
//                     connection will do. On error stop: the client gets that error and the
//                     registry keeps the state before this step (the statement can be retried).
//   record / forget / defer_drop / cutover_progress / bind
//                     state changes: prev = find(ghost) copy; rec = apply(step); persist rec
//                     (upsert, or delete when nullopt) in the meta table; if persisting fails,
//                     restore(ghost, prev) and fail the statement. Persist before answering OK.
//
// A cut-over is [backend_sql(ddl[i]), cutover_progress(i+1)]... forget. A recorded statement that
// is not a schema change (an ANALYZE or TRUNCATE in a record written by another tool) is skipped,
// and ALGORITHM= / LOCK= clauses are stripped before a DDL runs on the real table (they name how
// MySQL should copy the ghost, e.g. Spirit's `, ALGORITHM=COPY`; TiDB rejects some of them).
// After a crash the
// replicator resends the RENAME (it never got OK); plan() then only emits the DDLs not yet marked
// applied, and a RENAME of a ghost with no record left is answered OK: no DDL runs twice (except
// one that ran but whose progress was not persisted - the proxy may narrow that window), none is
// lost, no "metadata not found".
//
// Names: schema and table are compared byte-for-byte (case-sensitive), as MySQL does on Linux
// with lower_case_table_names=0; tools always spell their helper names the same way.
//
// A helper is bound to its real table at the latest at cut-over: the RENAME's target is where the
// recorded DDLs run, whatever the ghost's name says (Vitess's names hold no table name at all,
// gh-ost --force-table-names and Bytebase's cross-schema ghosts hold another). Earlier evidence
// is kept as a `bind` record: `CREATE TABLE <ghost-shaped> LIKE <real>` (the real table is known
// before any rule could tell), a tool's marker comment on the CREATE of a helper-shaped name
// (`create /* gh-ost */ table _F_ghc`), and the names a cut-over leaves behind (the old table
// under a helper-shaped name that no rule proves, Vitess's old table under the former shadow
// name). Cut-over shapes: two-pair, N-pair, two-step (ALTER t RENAME old; ALTER ghost RENAME t),
// Vitess's three-pair rotation (RENAME t TO sentry, ghost TO t, sentry TO ghost), cross-schema,
// DROP + RENAME (pt-osc drop_swap), sentries created and dropped just before. None of them
// makes a downstream copy. After the cut-over, writes to the helpers it leaves behind and their
// DROPs are suppressed. A revert (an old table renamed back onto its real table with no ghost
// pending) is refused with Plan::revert, which the proxy carries out when it can (RevertInfo).
// Under Vitess, `RENAME TABLE t TO _vt_hld_...` alone is a DROP TABLE t: downstream drops `t`
// (the helper name is never replicated, so a copy kept under it would be an orphan nothing ever
// removes).
//
// Triggers of the tools (pt-osc, LHM, oak) and triggers on helpers are suppressed: TiDB has none
// and their effects arrive as row events. A child table's ALTER whose FOREIGN KEY ... REFERENCES
// names a ghost (pt-osc rebuild_constraints, run before the swap) runs with the ghost replaced by
// its real table: downstream the constraint already points at the real table, the ghost never
// exists, and keeping the statement (rewritten) keeps the constraint's new name in step with
// upstream for the next run's DROP FOREIGN KEY. With the ghost's real table unknown it is
// suppressed.
//
// Shard merge (shard_routes.h, shard_group.h): with routes, a helper whose name's real table is
// an upstream table that a route maps to an existing downstream table is that table's helper
// (`shard_1`.`_orders_1_new` of `shop`.`orders` when `shard_1`.`orders_1` routes there), and its
// record is bound to the target. The cut-over of such a ghost onto a target with a shard group
// (shard-mode set) is one shard_cutover step instead of the DDLs: the group decides what runs.
// Whatever the configuration, a RENAME that moves a real table to a helper name of another
// table, or swaps such a helper into it, is refused (helper_fits): it is a shard's cut-over
// whose route is missing, and run literally it would replace the merged table by one shard's
// copy.
//
// Known limits (documented, not silent): SELECTs are forwarded even when they read a helper
// table (only writes are suppressed); a LOCK TABLES naming real and helper tables is forwarded
// whole; DROP TRIGGER of a trigger that is not pt-osc's cannot be tied to its table and is
// forwarded unless its name is a tool's; temporary tables are never helpers; a gh-ost name cut to
// 64 bytes is a helper when no real table by that name exists downstream (its capture is only a
// prefix of the real name); a ghost whose name no rule matches (pt-osc --new-table-name=t_tmp) is
// replicated as a real table, a downstream copy, and its swap runs as a plain RENAME (the end
// state is right; add a rule to avoid the copy).
//
// Threading: quick_forward() reads only the immutable rules and may run concurrently with
// anything. plan(), apply(), restore(), load(), snapshot() and find() need the caller's mutex.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/classifier.h"
#include "rules/table_rules.h"

namespace ghostgate::rules {

struct ShardRouting;      // shard_routes.h
struct ShardGroupConfig;  // shard_routes.h

// A table name, unquoted. Empty schema only where documented.
struct QualifiedName {
  std::string schema;
  std::string table;

  friend auto operator<=>(const QualifiedName&, const QualifiedName&) = default;
  friend bool operator==(const QualifiedName&, const QualifiedName&) = default;
};

// `schema`.`table` with backticks doubled (just `table` when schema is empty).
[[nodiscard]] std::string quote_name(const QualifiedName& name);

// One pending migration, keyed by its ghost table. The proxy persists it as DM-compatible JSON
// (`schema` = ghost.schema, `table` = real_hint, `ddls`), the other fields as extra JSON fields.
struct GhostRecord {
  QualifiedName ghost;
  std::string real_hint;          // capture of the matching rule (the cut-over uses the RENAME's
                                  // target instead; the hint links a drop_swap DROP to the ghost)
  std::vector<std::string> ddls;  // recorded DDLs as received, with every unqualified table name
                                  // qualified by the session's db at the time (so a cut-over on
                                  // another connection, with another db, rewrites them right)
  std::size_t applied = 0;        // ddls already run by an interrupted cut-over
  std::optional<QualifiedName> deferred_drop;  // pt-osc drop_swap: the real table whose DROP
  std::string deferred_drop_sql;               // was suppressed, and the DROP to run if the
                                               // ghost is dropped instead of renamed
  // ghost: a pending migration (the usual record). trash: a helper bound by evidence rather than
  // by a rule (a tool's marker, a name a cut-over left behind); it holds no DDLs, its writes,
  // DDL and DROP are suppressed, and renaming it onto its real table is a revert.
  TableKind kind = TableKind::ghost;
  // The real table this helper belongs to, when known before the cut-over (CREATE ... LIKE, the
  // table a cut-over replaced); may be in another schema (Bytebase). Unset: {ghost.schema,
  // real_hint} as far as the name tells.
  std::optional<QualifiedName> real;
  // Vitess's old table bound by its rotation: the rotation's sentry (a resend of the rotation
  // names the same one, a REVERT another). Empty otherwise.
  std::string bound_by;

  friend bool operator==(const GhostRecord&, const GhostRecord&) = default;
};

// What exists downstream. nullopt = not known yet: plan() then asks via need_lookup.
class Catalog {
 public:
  virtual ~Catalog() = default;
  [[nodiscard]] virtual std::optional<bool> table_exists(const QualifiedName& name) const = 0;
};

struct Step {
  enum class Kind : std::uint8_t {
    backend_sql,       // run `sql`; `target` = the table it changes (catalog invalidation)
    record,            // append `sql` to ghost's DDLs; create the record with real_hint if absent
    forget,            // drop ghost's record
    defer_drop,        // remember on ghost's record: DROP of `target` deferred, `sql` runs it
    cutover_progress,  // ghost's first `applied` DDLs have run on the backend
    bind,              // (re)create ghost's record with kind `bound_kind`, `real_hint`,
                       // `target` as its real table when not empty and `sql` as its bound_by;
                       // keeps no earlier DDLs
    shard_cutover,     // backend + state, decided by the proxy: the cut-over of shard `member`
                       // onto merge target `target`, whose group (shard_group.h) decides what of
                       // `sqls` (the ghost's DDLs rewritten onto `target`) runs and when. Changes
                       // nothing in the engine; the `forget` that follows ends the ghost.
  };
  Kind kind = Kind::backend_sql;
  QualifiedName ghost;
  QualifiedName target;
  std::string sql;
  std::string real_hint;
  std::size_t applied = 0;
  TableKind bound_kind = TableKind::ghost;
  QualifiedName member;           // shard_cutover: the upstream table the ghost belongs to
  std::vector<std::string> sqls;  // shard_cutover: the DDLs to decide on
};

// A refused revert (gh-ost --revert, Vitess REVERT): `old_table` is being swapped back in as
// `table`. Downstream `table` already has the migration's schema and no old copy. The proxy, with
// the definition `table` had before its last cut-over kept, turns this refusal into the ALTERs
// that restore it (rules/schema_diff.h), then carries out `steps`: what the rest of the statement
// does once the revert is done (the helpers it leaves behind bound, the old table's binding
// forgotten), as a local plan's steps.
struct RevertInfo {
  QualifiedName table;
  QualifiedName old_table;
  std::vector<Step> steps;
};

struct Plan {
  enum class Verdict : std::uint8_t {
    forward,      // send the statement unchanged
    local,        // answer it here after running `steps` (may be empty: plain suppression)
    refuse,       // send ERR
    need_lookup,  // ask the Catalog about `lookups`, then plan again
  };
  Verdict verdict = Verdict::forward;
  std::vector<Step> steps;
  std::vector<QualifiedName> lookups;
  std::uint16_t error_code = 0;
  std::string sql_state;
  std::string error_message;
  // A suppressed statement that MySQL would commit an open transaction for (DDL).
  bool implicit_commit = false;
  // Short static text for logs and metrics, e.g. "dml on ghost table", "cut-over".
  std::string_view reason;
  // Every ghost -> real pair of a cut-over, {ghost, target}, whether the ghost has a record or
  // not (without one the plan has no steps for it: the proxy decides whether that is a resend
  // of a completed cut-over or a cut-over whose DDL was never seen).
  std::vector<std::pair<QualifiedName, QualifiedName>> cutovers;
  // Set on a refused revert.
  std::optional<RevertInfo> revert;
};

// How plan() saw one table name (exposed for the admin endpoint and tests).
struct NameClass {
  TableKind kind = TableKind::real;
  std::string real_hint;
  bool in_registry = false;
  // A pt-osc name cut to 64 bytes that lost its whole suffix: ghost or trash by context.
  bool ambiguous = false;
  // real, but a rule matches the name (the plausibility check failed and the name itself is not
  // a table downstream): evidence from the statement (CREATE ... LIKE, a tool marker, a cut-over)
  // may still make it a helper.
  bool shaped = false;
  TableKind shape = TableKind::real;  // when shaped: the kind the rule gives the name
  // A real table renamed onto this name is dropped (Vitess table GC).
  bool drop_on_rename = false;
  // The real table, when a record binds it or a route (shard merge) maps the name's real table
  // to it: `shard_1`.`_orders_1_gho` is a helper of `shop`.`orders` when `shard_1`.`orders_1`
  // routes there.
  std::optional<QualifiedName> real;
};

class Engine {
 public:
  // ER_UNKNOWN_ERROR: clients show the message; the text says what to do.
  static constexpr std::uint16_t refuse_error_code = 1105;
  static constexpr std::string_view refuse_sql_state = "HY000";

  // `shards`: the routes and shard groups (shard merge); nullptr = none.
  explicit Engine(TableRules rules, std::shared_ptr<const ShardRouting> shards = nullptr);
  // The presets of the named tools (`online-ddl-tools`); nullopt and `*error` for an unknown one.
  [[nodiscard]] static std::optional<Engine> for_tools(const std::vector<std::string>& tools,
                                                       std::string* error);

  // True when `s` certainly touches no helper table and needs no registry: DML/SELECT/SET/... and
  // DDL on names no rule can match. Lock-free, allocation-free, reads only the immutable rules.
  // Records load()ed from the meta table are assumed to match the current rules.
  [[nodiscard]] bool quick_forward(const Statement& s, std::string_view current_db) const;

  // The decision for `s` (classified from the text it views). `current_db` resolves unqualified
  // names (empty = no database selected). Does not change the registry.
  [[nodiscard]] Plan plan(const Statement& s, std::string_view current_db,
                          const Catalog& catalog) const;

  // Applies a state step (not backend_sql: returns find() unchanged for it) and returns the
  // ghost's record as now stored (nullopt = no record: persist a delete).
  std::optional<GhostRecord> apply(const Step& step);
  // Puts back what find(ghost) was before apply() (nullopt = remove).
  void restore(const QualifiedName& ghost, std::optional<GhostRecord> previous);

  void load(std::vector<GhostRecord> records);  // replaces the registry (start-up)
  [[nodiscard]] std::vector<GhostRecord> snapshot() const;
  [[nodiscard]] const GhostRecord* find(const QualifiedName& ghost) const;
  [[nodiscard]] const TableRules& rules() const { return rules_; }
  [[nodiscard]] const std::shared_ptr<const ShardRouting>& shards() const { return shards_; }

  // How `name` is classified now; nullopt when the catalog does not know enough (the names to
  // ask about are appended to `lookups` when given).
  [[nodiscard]] std::optional<NameClass> classify_name(
      const QualifiedName& name, const Catalog& catalog,
      std::vector<QualifiedName>* lookups = nullptr) const;

 private:
  struct RenamePair {
    QualifiedName from;
    NameClass from_class;
    QualifiedName to;
    NameClass to_class;
  };
  // RENAME TABLE pairs, or the one pair of ALTER TABLE ... RENAME, decided pair by pair.
  [[nodiscard]] Plan plan_rename_pairs(const Statement& s, const std::vector<RenamePair>& pairs,
                                       std::string_view what) const;
  // ALTER TABLE of a real table whose FOREIGN KEY ... REFERENCES names a ghost.
  [[nodiscard]] Plan plan_child_constraints(
      const Statement& s, std::string_view current_db, const std::vector<QualifiedName>& names,
      const std::vector<std::optional<NameClass>>& classes) const;
  // The pending migration (a ghost record) whose real table is `real`, if any.
  [[nodiscard]] const GhostRecord* pending_for(const QualifiedName& real) const;
  // Whether helper name `helper` may belong to real table `real`: its rule's capture names
  // `real` (or a table a route maps to it), or names no table at all; or a record binds it to
  // `real` in `real`'s own schema (gh-ost --force-table-names). A helper in another schema
  // named after another table is a shard's (`shard_1`.`_orders_1_old` of `shard_1`.`orders_1`):
  // without a route to `real` it is not `real`'s.
  [[nodiscard]] bool helper_fits(const QualifiedName& helper, const QualifiedName& real) const;
  // Whether `old_name`, where a swap moves `real`, may be that swap's old-table name: in
  // `real`'s schema, or (in another schema) named after it (Bytebase's `~t_del`).
  [[nodiscard]] bool old_name_fits(const QualifiedName& old_name, const QualifiedName& real) const;
  // The refusal of a RENAME that would move `real` away to (or swap into it) helper `helper`
  // of another table.
  [[nodiscard]] Plan refuse_foreign_helper(std::string_view verb, const QualifiedName& real,
                                           const QualifiedName& helper, bool onto) const;
  // The shard group of merge target `target` when shard-mode is set, else nullptr.
  [[nodiscard]] const ShardGroupConfig* shard_group(const QualifiedName& target) const;
  // The member (upstream table) of `group` a ghost's record belongs to; nullopt when neither its
  // name nor the member list tells.
  [[nodiscard]] std::optional<QualifiedName> shard_member(const GhostRecord& rec,
                                                          const ShardGroupConfig& group) const;

  TableRules rules_;
  std::shared_ptr<const ShardRouting> shards_;
  std::map<QualifiedName, GhostRecord> registry_;
};

// Token-aware rewrite of a recorded DDL onto the cut-over target: every table reference in it
// (the statement's target, CREATE INDEX ... ON, FOREIGN KEY ... REFERENCES) that resolves to
// `ghost` - quoted or not, qualified or not, unqualified ones resolved against `ddl_current_db` -
// becomes `target.schema`.`target.table` (always quoted and qualified). Columns, indexes,
// strings and comments that contain the ghost's name are untouched.
[[nodiscard]] std::string rewrite_ddl(std::string_view ddl, const QualifiedName& ghost,
                                      std::string_view ddl_current_db, const QualifiedName& target);

// The statement a recorded DDL becomes at cut-over: rewrite_ddl() onto `target`, then without
// its ALGORITHM= / LOCK= clauses (token-aware: only `ALGORITHM [=] {DEFAULT|INSTANT|INPLACE|
// COPY|NOCOPY}` and `LOCK [=] {DEFAULT|NONE|SHARED|EXCLUSIVE}` outside parentheses, strings and
// comments, with one adjacent comma). nullopt when there is nothing to replay: the statement is
// not an ALTER TABLE / CREATE INDEX / DROP INDEX (ANALYZE, TRUNCATE, ...), or no ALTER spec is
// left.
[[nodiscard]] std::optional<std::string> replay_ddl(std::string_view ddl,
                                                    const QualifiedName& ghost,
                                                    const QualifiedName& target);

// Removes ALGORITHM= and LOCK= clauses as replay_ddl() does.
[[nodiscard]] std::string strip_algorithm_lock(std::string_view sql);

// The real table a record belongs to: `real` when bound, else {ghost.schema, real_hint}.
[[nodiscard]] QualifiedName real_of(const GhostRecord& rec);

// Qualifies every unqualified table reference the classifier finds in `sql` with `current_db`
// (a FOREIGN KEY ... REFERENCES with the altered table's schema when that is written), leaving
// all other bytes as they were. With current_db empty only such REFERENCES are qualified.
[[nodiscard]] std::string qualify_table_refs(std::string_view sql, std::string_view current_db);

}  // namespace ghostgate::rules
