#pragma once
// Shard merge, part 2 (pure): one merge target's shard group as a state machine. No I/O, no
// clocks, no logging: the proxy persists, runs, waits and times out; this decides.
//
// State, per target (e.g. `shop`.`orders`):
//   - an ordered log of versions: version n is the change set (normalised specs, shard_ddl.h)
//     that some member brought first, with per spec its class and whether it has run;
//   - per member (upstream `shard_i`.`orders_i`), the last version it has reached (0 = none).
// Every member starts at version 0, the target's schema when the group was first used: the
// shards are assumed to share that schema.
//
// Who calls what (the engine/proxy integration):
//
//   At a cut-over of a helper whose real name routes to a target with a shard group (Router,
//   shard_routes.h), instead of running the rewritten DDLs on the target:
//     1. set  = normalize_ddls(rewritten ddls, target)                         (shard_ddl.h)
//        cols = the target's columns and indexes (information_schema.columns / .statistics,
//               read fresh: a crash may have left a spec applied but not marked done)
//     2. under the target's lock, with the group as stored in the backend:
//        d = group.decide(member, set, cols)
//     3. conflict -> ERR (Engine::refuse_error_code, HY000) with d.message; nothing changed,
//                    the ghost's record is kept (the operator resolves it).
//        ok / wait -> run d.steps in order:
//          run_spec   run `sql` on the backend (it names the target). On error stop: the client
//                     gets that error, the group keeps what was persisted before this step.
//          any other  state step: prev = group; group.apply(step); persist group.to_json() in
//                     the backend next to the meta table (one row per target); on failure
//                     group = prev and fail the statement. Persist each state step before the
//                     next run_spec and before answering.
//        ok   -> then the cut-over's usual end (forget the ghost) and OK.
//        wait -> (pessimistic) hold this cut-over; call decide() again with the same arguments
//                whenever the group changes; answer as that says. After the configured
//                timeout answer ERR with d.message (it names the missing members); the
//                arrival stays recorded, so the change still runs once when the last member
//                arrives and a resent cut-over of this member is then answered OK.
//     d.waiting lists the changes still waiting after the steps (for /online-ddl, the logs and
//     a metric: which target, which version and specs, which members are missing).
//   An operator's release of a waiting change: d = group.release(version, cols); run d.steps as
//     above. The members still missing later reach that version as usual, with nothing to run.
//   A member whose migration is aborted (its ghost dropped) never reaches decide(): the group
//   learns of a migration only at its cut-over, so it stays as it was.
//   At start-up: ShardGroup::from_json(stored text, config, mode) per stored row; a target with
//   no row starts as ShardGroup(config, mode). A suggested table, beside the DM meta table:
//     CREATE TABLE IF NOT EXISTS <meta-schema>.<name>_shard_groups (id VARCHAR(32) NOT NULL,
//       target_schema VARCHAR(128) NOT NULL, target_table VARCHAR(128) NOT NULL, state TEXT,
//       update_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
//       UNIQUE KEY uk_id_target (id, target_schema, target_table))
//   Instances sharing an `id` must read-modify-write a row atomically (SELECT ... FOR UPDATE in
//   the transaction that writes it back): two shards of one target may cut over at once.
//
// Crash safety: decide() is a pure function of (stored group, member, set, target columns).
// After a crash at any step the replicator resends the cut-over (it got no OK) and decide()
// continues from what was persisted:
//   - a member already at the version of its set (reach persisted) -> OK, plus whatever
//     runnable spec is still not done;
//   - a spec not marked done is first looked for on the target (an ADD COLUMN whose column
//     exists, a DROP INDEX whose index is gone, ...): if found it is only marked done, never run
//     twice. Specs that cannot be looked for (MODIFY, SET DEFAULT, comments, table options) are
//     idempotent: running one again changes nothing.
//   - steps are ordered so that every prefix is a state decide() continues from: [join]
//     [append_version] reach, then (run_spec, spec_done)* for each runnable spec in version order.
//
// Rules (optimistic, DM's shard-mode: optimistic):
//   - a set equal (in any order) to the next version this member has not reached: the member
//     reaches it and nothing runs, except contracting specs of that version when this member is
//     the last to reach it;
//   - a new set from a member that has reached every version: its specs are classified against
//     the target (classify_set); additive specs run now, contracting specs run once every member
//     has reached this version; the answer is OK either way;
//   - a different set from a member that is behind, or any conflicting spec, or a spec touching
//     a column or index whose earlier change still waits: a non-retryable conflict naming the
//     member, the target and both versions. Nothing is run "N times ignoring duplicate errors".
//   - an empty set (nothing but AUTO_INCREMENT=, ALGORITHM=, LOCK=) is answered OK and recorded
//     nowhere.
// Pessimistic (DM's default): the same log, but no spec runs before every member has reached its
// version; until then the decision is `wait` with the missing members, then the change runs
// once (in the decision of the last member to arrive).
//
// Members: with `members: N` a name not seen before joins (a `join` step) while fewer than N are
// known; with a list, only listed names are members. Either way the caller only asks for names
// the routes map to this target.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/online_ddl.h"  // QualifiedName
#include "rules/shard_ddl.h"
#include "rules/shard_routes.h"

namespace ghostgate::rules {

struct ShardSpec {
  SpecKind kind = SpecKind::unknown;
  SpecClass cls = SpecClass::additive;
  std::string text;      // canonical spec text (AlterSpec::text); runs as spec_sql(target, text)
  std::string subject;   // column or index, lower case
  std::string new_name;  // renames
  std::string why;       // what makes it contracting (for the waiting list)
  bool done = false;     // ran on the target (or was found there)

  friend bool operator==(const ShardSpec&, const ShardSpec&) = default;
};

struct ShardVersion {
  std::size_t number = 0;  // 1, 2, ...
  QualifiedName introduced_by;
  std::vector<ShardSpec> specs;
  bool released = false;  // an operator released its waiting specs

  friend bool operator==(const ShardVersion&, const ShardVersion&) = default;
};

struct ShardMemberState {
  QualifiedName name;
  std::size_t reached = 0;  // the last version this member has reached; 0 = none

  friend bool operator==(const ShardMemberState&, const ShardMemberState&) = default;
};

struct ShardStep {
  enum class Kind : std::uint8_t {
    join,            // state: `member` becomes a known member (reached 0)
    append_version,  // state: append version `version` = `specs` (none done), by `member`
    reach,           // state: `member` has reached `version`
    run_spec,        // backend: run `sql` (spec `spec` of version `version`) on the target
    spec_done,       // state: spec `spec` of version `version` has run / is on the target
    release,         // state: version `version` released by the operator
  };
  Kind kind = Kind::run_spec;
  QualifiedName member;
  std::size_t version = 0;
  std::size_t spec = 0;  // index into the version's specs
  std::string sql;
  std::vector<ShardSpec> specs;

  friend bool operator==(const ShardStep&, const ShardStep&) = default;
};

// A change some member still waits for.
struct WaitingChange {
  std::size_t version = 0;
  std::vector<std::string> specs;      // the texts not run yet
  std::vector<QualifiedName> missing;  // known members that have not reached `version`
  std::size_t unseen = 0;              // members of a `members: N` group not seen yet

  friend bool operator==(const WaitingChange&, const WaitingChange&) = default;
};

struct ShardDecision {
  enum class Verdict : std::uint8_t {
    ok,        // run the steps, then answer OK
    wait,      // pessimistic: run the (state) steps, then hold the cut-over (see above)
    conflict,  // answer ERR with `message`; no steps
  };
  Verdict verdict = Verdict::ok;
  std::vector<ShardStep> steps;
  std::size_t version = 0;             // the member's version after the steps
  std::vector<WaitingChange> waiting;  // changes still waiting after the steps
  std::string message;                 // conflict / wait: the text for the client and the logs
  std::string_view reason;             // short static text for logs and metrics
};

class ShardGroup {
 public:
  ShardGroup(ShardGroupConfig config, ShardMode mode);

  // The decision for `member`'s cut-over bringing `set`, against the target's current columns
  // and indexes. Does not change the group.
  [[nodiscard]] ShardDecision decide(const QualifiedName& member, const NormalizedSet& set,
                                     const TargetSchema& target) const;

  // An operator releases the waiting specs of `version` (and of older versions still waiting,
  // which must run first). Conflict verdict when nothing waits there.
  [[nodiscard]] ShardDecision release(std::size_t version, const TargetSchema& target) const;

  // Applies a state step (false for run_spec and for a step that does not fit the state).
  bool apply(const ShardStep& step);

  // Changes waiting for members (or for an operator's release).
  [[nodiscard]] std::vector<WaitingChange> waiting() const;

  [[nodiscard]] const ShardGroupConfig& config() const { return config_; }
  [[nodiscard]] const QualifiedName& target() const { return config_.target; }
  [[nodiscard]] ShardMode mode() const { return mode_; }
  [[nodiscard]] const std::vector<ShardVersion>& versions() const { return versions_; }
  [[nodiscard]] const std::vector<ShardMemberState>& members() const { return members_; }

  // The whole state as JSON text, e.g.
  //   {"format":1,"target":{"schema":"shop","table":"orders"},
  //    "versions":[{"number":1,"by":{"schema":"shard_1","table":"orders_1"},"released":false,
  //      "specs":[{"kind":"add_column","class":"additive","text":"ADD COLUMN `note` ...",
  //                "subject":"note","new_name":"","why":"","done":true}]}],
  //    "members":[{"schema":"shard_1","table":"orders_1","reached":1}]}
  // A name or text that is not valid UTF-8 (DDL bytes in another character set) is written as
  // {"hex":"<its bytes in hex>"} instead of a string, so every byte reads back.
  // `format` is bumped when the shape changes; readers refuse a format they do not know.
  [[nodiscard]] std::string to_json() const;
  // Reads to_json() text for the group configured as `config`. Errors (sets `*error`): bad JSON,
  // an unknown format, another target, a member the config no longer allows, versions out of
  // order.
  [[nodiscard]] static std::optional<ShardGroup> from_json(std::string_view json,
                                                           ShardGroupConfig config, ShardMode mode,
                                                           std::string* error);

  friend bool operator==(const ShardGroup&, const ShardGroup&) = default;

 private:
  [[nodiscard]] const ShardMemberState* find_member(const QualifiedName& name) const;
  [[nodiscard]] std::size_t member_total() const;
  [[nodiscard]] bool all_reached(std::size_t version) const;
  [[nodiscard]] bool runnable(const ShardVersion& v, const ShardSpec& s) const;
  // Appends (run_spec,) spec_done steps for every runnable spec not done, in version order.
  void append_runs(const TargetSchema& target, std::vector<ShardStep>& steps) const;
  // Fills verdict, waiting, message of `d` from the state after its steps (`after`).
  void finish(const ShardGroup& after, const QualifiedName& member, ShardDecision& d) const;
  [[nodiscard]] std::string conflict_prefix(const QualifiedName& member) const;

  ShardGroupConfig config_;
  ShardMode mode_ = ShardMode::optimistic;
  std::vector<ShardVersion> versions_;
  std::vector<ShardMemberState> members_;
};

}  // namespace ghostgate::rules
