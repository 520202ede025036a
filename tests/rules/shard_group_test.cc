#include "rules/shard_group.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "rules/online_ddl.h"

namespace ghostgate::rules {
namespace {

const QualifiedName kTarget{"shop", "orders"};
const QualifiedName kShard1{"shard_1", "orders_1"};
const QualifiedName kShard2{"shard_2", "orders_2"};
const QualifiedName kShard3{"shard_3", "orders_3"};

// The traces' merged table before any migration, plus a secondary index.
TargetSchema trace_target() {
  TargetSchema t;
  t.columns = {{"id", {"bigint(20)", false}}, {"a", {"int(11)", false}},
               {"b", {"int(11)", true}},      {"d", {"varchar(32)", true}},
               {"e", {"decimal(8,2)", true}}, {"created", {"datetime", false}}};
  t.indexes = {"primary", "ix_d"};
  return t;
}

// The recorded DDLs of one shard's cut-over, rewritten from its ghost as the engine does.
std::vector<std::string> ghost_ddls(const QualifiedName& shard, std::vector<std::string> ddls) {
  const QualifiedName ghost{shard.schema, "_" + shard.table + "_gho"};
  std::vector<std::string> out;
  for (const std::string& d : ddls) {
    out.push_back(
        rewrite_ddl("ALTER TABLE " + quote_name(ghost) + " " + d, ghost, shard.schema, kTarget));
  }
  return out;
}

// shard-ghost-2 / shard-ptosc-3: the same ALTER on every shard, gh-ost adding its own
// AUTO_INCREMENT with another value per shard.
std::vector<std::string> trace_change(const QualifiedName& shard, std::string auto_increment) {
  std::vector<std::string> ddls = {"add column note varchar(20) default null, add index ix_a(a)"};
  if (!auto_increment.empty()) {
    ddls.push_back("AUTO_INCREMENT=" + auto_increment);
  }
  return ghost_ddls(shard, ddls);
}

std::string verdict(ShardDecision::Verdict v) {
  switch (v) {
    case ShardDecision::Verdict::ok:
      return "ok";
    case ShardDecision::Verdict::wait:
      return "wait";
    case ShardDecision::Verdict::conflict:
      return "conflict";
  }
  return "?";
}

// Plays the proxy: runs a decision's steps against a simulated target, persisting the group as
// JSON after every state step (and reading it back, as after a restart).
class Proxy {
 public:
  explicit Proxy(ShardGroupConfig config, ShardMode mode = ShardMode::optimistic)
      : group_(std::move(config), mode), target_(trace_target()) {}

  // A cut-over: decide, then run every step. Returns "verdict vN [statements run]".
  std::string cut_over(const QualifiedName& member, const std::vector<std::string>& ddls) {
    const ShardDecision d = decide(member, ddls);
    run(d, d.steps.size());
    return describe(d);
  }

  ShardDecision decide(const QualifiedName& member, const std::vector<std::string>& ddls) const {
    return group_.decide(member, normalize_ddls(ddls, kTarget), target_);
  }

  // Runs the first `count` steps of `d` (the rest are lost in a crash).
  void run(const ShardDecision& d, std::size_t count) {
    last_ran_.clear();
    for (std::size_t i = 0; i < count && i < d.steps.size(); ++i) {
      const ShardStep& step = d.steps[i];
      if (step.kind == ShardStep::Kind::run_spec) {
        ran_.push_back(step.sql);
        last_ran_.push_back(step.sql);
        const NormalizedSet set = normalize_ddls({step.sql}, kTarget);
        ASSERT_EQ(set.specs.size(), 1U) << step.sql;
        const AlterSpec& s = set.specs[0];
        apply_to_schema(s.kind, s.subject, s.new_name, ColumnInfo{s.type, !s.not_null}, target_);
        continue;
      }
      ASSERT_TRUE(group_.apply(step)) << static_cast<int>(step.kind);
      persist_and_reload();
    }
  }

  void persist_and_reload() {
    const std::string json = group_.to_json();
    std::string error;
    std::optional<ShardGroup> back =
        ShardGroup::from_json(json, group_.config(), group_.mode(), &error);
    ASSERT_TRUE(back.has_value()) << error << "\n" << json;
    ASSERT_EQ(*back, group_) << json;
    ASSERT_EQ(back->to_json(), json);
    group_ = std::move(*back);
  }

  std::string describe(const ShardDecision& d) const {
    std::string out = verdict(d.verdict) + " v" + std::to_string(d.version) + " [";
    for (std::size_t i = 0; i < last_ran_.size(); ++i) {
      out += (i > 0 ? "; " : "") + last_ran_[i];
    }
    return out + "]";
  }

  ShardGroup& group() { return group_; }
  TargetSchema& target() { return target_; }
  const std::vector<std::string>& ran() const { return ran_; }

 private:
  ShardGroup group_;
  TargetSchema target_;
  std::vector<std::string> ran_;       // every statement run on the target
  std::vector<std::string> last_ran_;  // by the last run()
};

const std::string kAddNote = "ALTER TABLE `shop`.`orders` ADD COLUMN `note` varchar(20)";
const std::string kAddIx = "ALTER TABLE `shop`.`orders` ADD INDEX `ix_a` (`a`)";
const std::string kDropB = "ALTER TABLE `shop`.`orders` DROP COLUMN `b`";

ShardGroupConfig count_of(std::size_t n) { return ShardGroupConfig{kTarget, n, {}}; }
ShardGroupConfig listed(std::vector<QualifiedName> members) {
  const std::size_t n = members.size();
  return ShardGroupConfig{kTarget, n, std::move(members)};
}

TEST(ShardGroupTraces, GhostTwoShardsRunTheAlterOnce) {
  Proxy p(count_of(2));
  EXPECT_EQ(p.cut_over(kShard1, trace_change(kShard1, "1000526")),
            "ok v1 [" + kAddNote + "; " + kAddIx + "]");
  // gh-ost's AUTO_INCREMENT differs per shard: still the same change.
  EXPECT_EQ(p.cut_over(kShard2, trace_change(kShard2, "2000593")), "ok v1 []");
  EXPECT_EQ(p.ran(), (std::vector<std::string>{kAddNote, kAddIx}));
  EXPECT_TRUE(p.group().waiting().empty());
  ASSERT_EQ(p.group().members().size(), 2U);
  EXPECT_EQ(p.group().members()[1], (ShardMemberState{kShard2, 1}));
}

TEST(ShardGroupTraces, PtOscThreeShardsAndMixedTools) {
  Proxy p(count_of(3));
  EXPECT_EQ(p.cut_over(kShard1, trace_change(kShard1, "")),
            "ok v1 [" + kAddNote + "; " + kAddIx + "]");
  EXPECT_EQ(p.cut_over(kShard2, trace_change(kShard2, "")), "ok v1 []");
  // Shard 3 migrated with gh-ost instead, spelling the ALTER its own way.
  EXPECT_EQ(p.cut_over(kShard3,
                       ghost_ddls(kShard3, {"ADD INDEX `IX_A` (`a`)", "ADD `note` VARCHAR(20) NULL",
                                            "AUTO_INCREMENT=3000576"})),
            "ok v1 []");
  EXPECT_EQ(p.ran().size(), 2U);
}

TEST(ShardGroupDecide, ContractingWaitsForTheLastMember) {
  Proxy p(listed({kShard1, kShard2, kShard3}));
  const std::vector<std::string> change = {
      "ALTER TABLE shop.orders DROP COLUMN b, ADD COLUMN "
      "x int"};
  ShardDecision d = p.decide(kShard1, change);
  EXPECT_EQ(d.verdict, ShardDecision::Verdict::ok);
  EXPECT_EQ(d.message,
            "contracting change of `shop`.`orders` at version 1 [DROP COLUMN `b`] runs once "
            "every member has reached it; missing: `shard_2`.`orders_2`, `shard_3`.`orders_3`");
  p.run(d, d.steps.size());
  EXPECT_EQ(p.describe(d), "ok v1 [ALTER TABLE `shop`.`orders` ADD COLUMN `x` int]");
  EXPECT_EQ(p.group().waiting(),
            (std::vector<WaitingChange>{{1, {"DROP COLUMN `b`"}, {kShard2, kShard3}, 0}}));
  EXPECT_EQ(p.cut_over(kShard2, change), "ok v1 []");
  EXPECT_EQ(p.group().waiting(),
            (std::vector<WaitingChange>{{1, {"DROP COLUMN `b`"}, {kShard3}, 0}}));
  EXPECT_EQ(p.cut_over(kShard3, change), "ok v1 [" + kDropB + "]");
  EXPECT_TRUE(p.group().waiting().empty());
}

TEST(ShardGroupDecide, UnseenMembersOfACountAreWaitedFor) {
  Proxy p(count_of(3));
  const std::vector<std::string> drop = {"ALTER TABLE shop.orders DROP COLUMN b"};
  EXPECT_EQ(p.cut_over(kShard2, drop), "ok v1 []");
  EXPECT_EQ(p.group().waiting(), (std::vector<WaitingChange>{{1, {"DROP COLUMN `b`"}, {}, 2}}));
  EXPECT_EQ(p.decide(kShard1, drop).message,
            "contracting change of `shop`.`orders` at version 1 [DROP COLUMN `b`] runs once "
            "every member has reached it; missing: 1 member not seen yet");
  EXPECT_EQ(p.cut_over(kShard1, drop), "ok v1 []");
  EXPECT_EQ(p.cut_over(kShard3, drop), "ok v1 [" + kDropB + "]");
}

TEST(ShardGroupDecide, MemberBehindByTwoVersionsCatchesUp) {
  Proxy p(count_of(2));
  const std::vector<std::string> v1 = trace_change(kShard1, "1000526");
  const std::vector<std::string> v2 = {"ALTER TABLE shop.orders DROP COLUMN b",
                                       "ALTER TABLE shop.orders MODIFY d varchar(64)"};
  EXPECT_EQ(p.cut_over(kShard1, v1), "ok v1 [" + kAddNote + "; " + kAddIx + "]");
  EXPECT_EQ(p.cut_over(kShard1, v2),
            "ok v2 [ALTER TABLE `shop`.`orders` MODIFY COLUMN `d` varchar(64)]");
  // Shard 2 is two versions behind: bringing version 2's change first is a conflict.
  const ShardDecision early = p.decide(kShard2, v2);
  EXPECT_EQ(early.verdict, ShardDecision::Verdict::conflict);
  EXPECT_EQ(early.message,
            "shard merge conflict on `shop`.`orders`: `shard_2`.`orders_2` has reached version "
            "0 and brings [DROP COLUMN `b`; MODIFY COLUMN `d` varchar(64)], but the next version, "
            "1 (first brought by `shard_1`.`orders_1`), is [ADD COLUMN `note` varchar(20); ADD "
            "INDEX `ix_a` (`a`)]: a member that is behind must bring the next version's change "
            "exactly. Nothing was changed and retrying will not help: make the shards run the "
            "same change, or bring the target in line by hand and resolve this migration "
            "through the admin endpoint.");
  EXPECT_TRUE(early.steps.empty());
  EXPECT_EQ(p.cut_over(kShard2, trace_change(kShard2, "2000593")), "ok v1 []");
  EXPECT_EQ(p.cut_over(kShard2, v2), "ok v2 [" + kDropB + "]");  // the last to reach v2
  EXPECT_TRUE(p.group().waiting().empty());
  EXPECT_EQ(p.ran().size(), 4U);
}

TEST(ShardGroupDecide, ResentCutOverOfAMemberThatReachedItsVersionIsOk) {
  Proxy p(count_of(2));
  EXPECT_EQ(p.cut_over(kShard1, trace_change(kShard1, "1")),
            "ok v1 [" + kAddNote + "; " + kAddIx + "]");
  const ShardDecision again = p.decide(kShard1, trace_change(kShard1, "1"));
  EXPECT_EQ(again.verdict, ShardDecision::Verdict::ok);
  EXPECT_TRUE(again.steps.empty());
  EXPECT_EQ(again.reason, "cut-over resent: the member has reached this version");
}

TEST(ShardGroupDecide, NothingButAutoIncrementIsNoChange) {
  Proxy p(count_of(2));
  const ShardDecision d = p.decide(kShard1, ghost_ddls(kShard1, {"AUTO_INCREMENT=5"}));
  EXPECT_EQ(d.verdict, ShardDecision::Verdict::ok);
  EXPECT_TRUE(d.steps.empty());
  EXPECT_EQ(d.reason, "nothing to change");
  EXPECT_TRUE(p.group().versions().empty());
}

struct ConflictCase {
  std::string_view name;
  std::vector<std::string> first;   // shard 1's change (may be empty)
  std::vector<std::string> second;  // then shard 1's (empty first) or shard 2's change
  std::string_view message;
};

class ShardGroupConflicts : public ::testing::TestWithParam<ConflictCase> {};

TEST_P(ShardGroupConflicts, ClearNonRetryableError) {
  const ConflictCase& c = GetParam();
  Proxy p(count_of(2));
  const QualifiedName* second = &kShard1;
  if (!c.first.empty()) {
    ASSERT_EQ(p.cut_over(kShard1, c.first).substr(0, 2), "ok");
    second = &kShard2;
  }
  const std::string before = p.group().to_json();
  const ShardDecision d = p.decide(*second, c.second);
  EXPECT_EQ(d.verdict, ShardDecision::Verdict::conflict);
  EXPECT_TRUE(d.steps.empty());
  EXPECT_EQ(p.group().to_json(), before);
  const std::string hint =
      " Nothing was changed and retrying will not help: make the shards run the same change, "
      "or bring the target in line by hand and resolve this migration through the admin "
      "endpoint.";
  EXPECT_EQ(d.message, std::string(c.message) + hint);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ShardGroupConflicts,
    ::testing::Values(
        ConflictCase{"same_column_other_definition",
                     {"ALTER TABLE shop.orders ADD COLUMN note varchar(20)"},
                     {"ALTER TABLE shop.orders ADD COLUMN note varchar(30)"},
                     "shard merge conflict on `shop`.`orders`: `shard_2`.`orders_2` has reached "
                     "version 0 and brings [ADD COLUMN `note` varchar(30)], but the next "
                     "version, 1 (first brought by `shard_1`.`orders_1`), is [ADD COLUMN `note` "
                     "varchar(20)]: the same column `note` with another definition: `ADD COLUMN "
                     "`note` varchar(30)` here, `ADD COLUMN `note` varchar(20)` in version 1."},
        ConflictCase{"rename_column",
                     {},
                     {"ALTER TABLE shop.orders RENAME COLUMN b TO bb"},
                     "shard merge conflict on `shop`.`orders`: `shard_1`.`orders_1` brings "
                     "[RENAME COLUMN `b` TO `bb`] as version 1 (the first change): renaming "
                     "column `b` to `bb`: rows of shards not yet migrated still name `b`."},
        ConflictCase{"unnamed_index",
                     {},
                     {"ALTER TABLE shop.orders ADD INDEX (a)"},
                     "shard merge conflict on `shop`.`orders`: `shard_1`.`orders_1` brings [ADD "
                     "INDEX (`a`)] as version 1 (the first change): an unnamed ADD INDEX would "
                     "add one index per shard (c, c_2, ...): name it."},
        ConflictCase{"unknown_spec",
                     {},
                     {"ALTER TABLE shop.orders ADD COLUMN x int, ADD PRIMARY KEY (id, a)"},
                     "shard merge conflict on `shop`.`orders`: `shard_1`.`orders_1` brings [ADD "
                     "COLUMN `x` int; ADD PRIMARY KEY (id, a)] as version 1 (the first change): "
                     "ghostgate cannot merge `ADD PRIMARY KEY (id, a)`: ADD PRIMARY KEY is not "
                     "merged across shards."},
        ConflictCase{"different_set_from_a_member_behind",
                     {"ALTER TABLE shop.orders ADD COLUMN note varchar(20)"},
                     {"ALTER TABLE shop.orders ADD COLUMN other int"},
                     "shard merge conflict on `shop`.`orders`: `shard_2`.`orders_2` has reached "
                     "version 0 and brings [ADD COLUMN `other` int], but the next version, 1 "
                     "(first brought by `shard_1`.`orders_1`), is [ADD COLUMN `note` "
                     "varchar(20)]: a member that is behind must bring the next version's "
                     "change exactly."},
        ConflictCase{"superset_from_a_member_behind",
                     {"ALTER TABLE shop.orders ADD COLUMN note varchar(20)"},
                     {"ALTER TABLE shop.orders ADD COLUMN note varchar(20), ADD COLUMN x int"},
                     "shard merge conflict on `shop`.`orders`: `shard_2`.`orders_2` has reached "
                     "version 0 and brings [ADD COLUMN `note` varchar(20); ADD COLUMN `x` int], "
                     "but the next version, 1 (first brought by `shard_1`.`orders_1`), is [ADD "
                     "COLUMN `note` varchar(20)]: a member that is behind must bring the next "
                     "version's change exactly."}),
    [](const ::testing::TestParamInfo<ConflictCase>& info) {
      return std::string(info.param.name);
    });

TEST(ShardGroupConflictsMore, NonWideningTypeChangeNamesBothVersions) {
  Proxy p(count_of(2));
  ASSERT_EQ(p.cut_over(kShard1, {"ALTER TABLE shop.orders ADD COLUMN note varchar(20)"}),
            "ok v1 [" + kAddNote + "]");
  const ShardDecision d = p.decide(kShard1, {"ALTER TABLE shop.orders MODIFY b varchar(10)"});
  EXPECT_EQ(d.verdict, ShardDecision::Verdict::conflict);
  EXPECT_EQ(d.message.substr(0, d.message.find(" Nothing was changed")),
            "shard merge conflict on `shop`.`orders`: `shard_1`.`orders_1` brings [MODIFY "
            "COLUMN `b` varchar(10)] as version 2 after version 1 [ADD COLUMN `note` "
            "varchar(20)]: the type change of `b` from int(11) to varchar(10) is neither a "
            "widening nor a narrowing.");
}

TEST(ShardGroupConflictsMore, AColumnWhoseChangeStillWaits) {
  Proxy p(count_of(2));
  ASSERT_EQ(p.cut_over(kShard1, {"ALTER TABLE shop.orders DROP COLUMN b"}), "ok v1 []");
  for (const std::string& ddl : {std::string("ALTER TABLE shop.orders MODIFY b bigint"),
                                 std::string("ALTER TABLE shop.orders ADD INDEX ix_b (b)")}) {
    const ShardDecision d = p.decide(kShard1, {ddl});
    EXPECT_EQ(d.verdict, ShardDecision::Verdict::conflict) << ddl;
    EXPECT_NE(d.message.find("whose change in version 1 `DROP COLUMN `b`` still waits"),
              std::string::npos)
        << d.message;
  }
}

TEST(ShardGroupMembers, CountAndList) {
  Proxy counted(count_of(2));
  const std::vector<std::string> change = trace_change(kShard1, "");
  ASSERT_EQ(counted.cut_over(kShard1, change).substr(0, 2), "ok");
  ASSERT_EQ(counted.cut_over(kShard2, trace_change(kShard2, "")), "ok v1 []");
  ShardDecision d = counted.decide(kShard3, trace_change(kShard3, ""));
  EXPECT_EQ(d.verdict, ShardDecision::Verdict::conflict);
  EXPECT_EQ(d.message,
            "shard merge conflict on `shop`.`orders`: `shard_3`.`orders_3` would be member 3 but "
            "shard-groups.\"shop.orders\".members is 2 and these have cut over already: "
            "`shard_1`.`orders_1`, `shard_2`.`orders_2`. Raise the count or list the members.");

  Proxy list(listed({kShard1, kShard2}));
  d = list.decide(kShard3, trace_change(kShard3, ""));
  EXPECT_EQ(d.verdict, ShardDecision::Verdict::conflict);
  EXPECT_EQ(d.message.substr(0, d.message.find(" Nothing")),
            "shard merge conflict on `shop`.`orders`: `shard_3`.`orders_3` is not listed in "
            "shard-groups.\"shop.orders\".members.");
  // A listed member needs no join step; a counted one joins at its first cut-over.
  EXPECT_EQ(list.decide(kShard1, change).steps[0].kind, ShardStep::Kind::append_version);
  EXPECT_EQ(Proxy(count_of(2)).decide(kShard1, change).steps[0].kind, ShardStep::Kind::join);
}

TEST(ShardGroupAbort, AnAbortedMigrationLeavesTheGroupAsItWas) {
  // Shard 1's migration is aborted (its ghost dropped): the engine forgets it and never asks
  // the group, which therefore still has no version when shard 2 cuts over.
  Proxy p(count_of(2));
  EXPECT_EQ(p.cut_over(kShard2, trace_change(kShard2, "7")),
            "ok v1 [" + kAddNote + "; " + kAddIx + "]");
  EXPECT_EQ(p.group().versions()[0].introduced_by, kShard2);
  // Shard 1 runs the migration again later: the same change, nothing runs.
  EXPECT_EQ(p.cut_over(kShard1, trace_change(kShard1, "9")), "ok v1 []");

  // A decision whose steps never ran (the backend failed at the first run_spec) changes
  // nothing either: the same cut-over decides the same again.
  Proxy q(count_of(2));
  const ShardDecision d = q.decide(kShard1, trace_change(kShard1, ""));
  const std::string before = q.group().to_json();
  EXPECT_EQ(q.decide(kShard1, trace_change(kShard1, "")).steps, d.steps);
  EXPECT_EQ(q.group().to_json(), before);
}

// Kill -9 after every step of a cut-over, restart from the persisted JSON, resend the cut-over:
// the end state equals one clean run, and no statement ran twice.
struct CrashScenario {
  std::string_view name;
  ShardMode mode;
  std::size_t members;
  // Cut-overs before the one that crashes, then the one that crashes.
  std::vector<std::pair<QualifiedName, std::vector<std::string>>> before;
  std::pair<QualifiedName, std::vector<std::string>> crashing;
};

class ShardGroupCrash : public ::testing::TestWithParam<CrashScenario> {};

TEST_P(ShardGroupCrash, ResendAfterEveryStep) {
  const CrashScenario& s = GetParam();
  auto prepare = [&]() {
    Proxy p(count_of(s.members), s.mode);
    for (const auto& [member, ddls] : s.before) {
      p.cut_over(member, ddls);
    }
    return p;
  };
  Proxy clean = prepare();
  const ShardDecision full = clean.decide(s.crashing.first, s.crashing.second);
  clean.run(full, full.steps.size());
  ASSERT_GT(full.steps.size(), 1U);
  for (std::size_t cut = 0; cut <= full.steps.size(); ++cut) {
    Proxy p = prepare();
    const ShardDecision d = p.decide(s.crashing.first, s.crashing.second);
    ASSERT_EQ(d.steps, full.steps);
    p.run(d, cut);
    p.persist_and_reload();  // the restart
    const ShardDecision resent = p.decide(s.crashing.first, s.crashing.second);
    EXPECT_EQ(resent.verdict, full.verdict) << "cut after " << cut << ": " << resent.message;
    p.run(resent, resent.steps.size());
    EXPECT_EQ(p.ran(), clean.ran()) << "cut after " << cut;
    EXPECT_EQ(p.group(), clean.group()) << "cut after " << cut;
    EXPECT_EQ(p.target().columns, clean.target().columns) << "cut after " << cut;
    EXPECT_EQ(p.target().indexes, clean.target().indexes) << "cut after " << cut;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Steps, ShardGroupCrash,
    ::testing::Values(CrashScenario{"first_shard_additive",
                                    ShardMode::optimistic,
                                    2,
                                    {},
                                    {kShard1, trace_change(kShard1, "1000526")}},
                      CrashScenario{
                          "last_shard_contracting",
                          ShardMode::optimistic,
                          2,
                          {{kShard1,
                            {"ALTER TABLE shop.orders DROP INDEX ix_d, ADD INDEX ix_d (a, "
                             "b), DROP COLUMN d, ADD COLUMN y int"}}},
                          {kShard2,
                           {"ALTER TABLE shop.orders DROP INDEX ix_d, ADD INDEX ix_d (a, "
                            "b), DROP COLUMN d, ADD COLUMN y int"}}},
                      CrashScenario{"pessimistic_last_arrival",
                                    ShardMode::pessimistic,
                                    2,
                                    {{kShard1, trace_change(kShard1, "5")}},
                                    {kShard2, trace_change(kShard2, "6")}}),
    [](const ::testing::TestParamInfo<CrashScenario>& info) {
      return std::string(info.param.name);
    });

TEST(ShardGroupPessimistic, WaitsUntilEveryMemberArrivedThenRunsOnce) {
  Proxy p(listed({kShard1, kShard2}), ShardMode::pessimistic);
  ShardDecision d = p.decide(kShard1, trace_change(kShard1, "1"));
  EXPECT_EQ(d.verdict, ShardDecision::Verdict::wait);
  EXPECT_EQ(d.message,
            "shard-mode pessimistic: the change of `shop`.`orders` at version 1 [ADD COLUMN "
            "`note` varchar(20); ADD INDEX `ix_a` (`a`)] runs once every member has reached it; "
            "missing: `shard_2`.`orders_2`. One connection that carries several shards can "
            "never complete this: use shard-mode optimistic there.");
  p.run(d, d.steps.size());
  EXPECT_EQ(p.describe(d), "wait v1 []");  // the arrival is recorded, nothing ran
  // The waiting connection decides again when the group changes (or times out with the ERR).
  d = p.decide(kShard1, trace_change(kShard1, "1"));
  EXPECT_EQ(d.verdict, ShardDecision::Verdict::wait);
  EXPECT_TRUE(d.steps.empty());
  EXPECT_EQ(p.cut_over(kShard2, trace_change(kShard2, "2")),
            "ok v1 [" + kAddNote + "; " + kAddIx + "]");
  d = p.decide(kShard1, trace_change(kShard1, "1"));
  EXPECT_EQ(d.verdict, ShardDecision::Verdict::ok);
  EXPECT_TRUE(d.steps.empty());
  EXPECT_EQ(p.ran().size(), 2U);
}

TEST(ShardGroupPessimistic, AnotherChangeWhileOneWaitsIsAConflict) {
  Proxy p(count_of(2), ShardMode::pessimistic);
  EXPECT_EQ(p.cut_over(kShard1, trace_change(kShard1, "")), "wait v1 []");
  EXPECT_EQ(p.decide(kShard2, {"ALTER TABLE shop.orders ADD COLUMN z int"}).verdict,
            ShardDecision::Verdict::conflict);
}

TEST(ShardGroupRelease, OperatorReleasesAWaitingChange) {
  Proxy p(count_of(3));
  const std::vector<std::string> drop = {"ALTER TABLE shop.orders DROP COLUMN b"};
  EXPECT_EQ(p.cut_over(kShard1, drop), "ok v1 []");
  ShardDecision d = p.group().release(1, p.target());
  EXPECT_EQ(d.verdict, ShardDecision::Verdict::ok);
  p.run(d, d.steps.size());
  EXPECT_EQ(p.describe(d), "ok v1 [" + kDropB + "]");
  EXPECT_TRUE(p.group().waiting().empty());
  EXPECT_TRUE(p.group().versions()[0].released);
  // The missing members reach the version later, with nothing to run.
  EXPECT_EQ(p.cut_over(kShard2, drop), "ok v1 []");
  EXPECT_EQ(p.cut_over(kShard3, drop), "ok v1 []");
  EXPECT_EQ(p.ran(), std::vector<std::string>{kDropB});

  d = p.group().release(1, p.target());
  EXPECT_EQ(d.verdict, ShardDecision::Verdict::conflict);
  EXPECT_EQ(d.message, "nothing waits at version 1 of `shop`.`orders` (it has 1 versions)");
  EXPECT_EQ(p.group().release(7, p.target()).verdict, ShardDecision::Verdict::conflict);
}

TEST(ShardGroupRelease, ReleasingAVersionReleasesOlderWaitingOnesFirst) {
  Proxy p(count_of(2), ShardMode::pessimistic);
  EXPECT_EQ(p.cut_over(kShard1, {"ALTER TABLE shop.orders ADD COLUMN x int"}), "wait v1 []");
  EXPECT_EQ(p.cut_over(kShard1, {"ALTER TABLE shop.orders ADD COLUMN y int"}), "wait v2 []");
  const ShardDecision d = p.group().release(2, p.target());
  p.run(d, d.steps.size());
  EXPECT_EQ(p.describe(d),
            "ok v2 [ALTER TABLE `shop`.`orders` ADD COLUMN `x` int; ALTER TABLE `shop`.`orders` "
            "ADD COLUMN `y` int]");
  EXPECT_EQ(p.decide(kShard1, {"ALTER TABLE shop.orders ADD COLUMN y int"}).verdict,
            ShardDecision::Verdict::ok);
}

TEST(ShardGroupJson, RoundTrip) {
  Proxy p(count_of(3));
  p.cut_over(kShard1, trace_change(kShard1, "1"));
  p.cut_over(kShard1, {"ALTER TABLE shop.orders DROP COLUMN b, COMMENT 'tab\t\"q\" \\ é'"});
  p.cut_over(kShard2, trace_change(kShard2, "2"));
  const ShardDecision r = p.group().release(2, p.target());
  p.run(r, 1);  // released, not run yet
  const std::string json = p.group().to_json();
  std::string error;
  const std::optional<ShardGroup> back =
      ShardGroup::from_json(json, count_of(3), ShardMode::optimistic, &error);
  ASSERT_TRUE(back.has_value()) << error;
  EXPECT_EQ(*back, p.group());
  EXPECT_EQ(back->to_json(), json);
  EXPECT_NE(json.find(R"("text":"COMMENT='tab\t\"q\" \\ é'")"), std::string::npos) << json;
}

TEST(ShardGroupJson, Golden) {
  Proxy p(count_of(2));
  p.cut_over(kShard1, {"ALTER TABLE shop.orders ADD COLUMN note varchar(20), DROP INDEX ix_d"});
  EXPECT_EQ(p.group().to_json(),
            R"j({"format":1,"target":{"schema":"shop","table":"orders"},"versions":[{"number":1,)j"
            R"j("by":{"schema":"shard_1","table":"orders_1"},"released":false,"specs":[{"kind":)j"
            R"j("add_column","class":"additive","text":"ADD COLUMN `note` varchar(20)","subject":)j"
            R"j("note","new_name":"","why":"","done":true},{"kind":"drop_index","class":)j"
            R"j("contracting","text":"DROP INDEX `ix_d`","subject":"ix_d","new_name":"","why":)j"
            R"j("DROP INDEX `ix_d`: the shards not yet migrated still have it","done":false}]}],)j"
            R"j("members":[{"schema":"shard_1","table":"orders_1","reached":1}]})j");
}

struct BadJson {
  std::string_view name;
  std::string json;
  std::string_view error;
};

class ShardGroupBadJson : public ::testing::TestWithParam<BadJson> {};

TEST_P(ShardGroupBadJson, Refused) {
  std::string error;
  EXPECT_FALSE(ShardGroup::from_json(GetParam().json, listed({kShard1, kShard2}),
                                     ShardMode::optimistic, &error)
                   .has_value());
  EXPECT_EQ(error, GetParam().error);
}

const std::string kTargetJson = R"("target":{"schema":"shop","table":"orders"})";

INSTANTIATE_TEST_SUITE_P(
    Cases, ShardGroupBadJson,
    ::testing::Values(
        BadJson{"not_json", "{\"format\":1,",
                "shard group state of `shop`.`orders`: not valid JSON"},
        BadJson{"format", "{\"format\":2," + kTargetJson + ",\"versions\":[],\"members\":[]}",
                "shard group state of `shop`.`orders`: format 2 is not known to this version "
                "(1)"},
        BadJson{"other_target",
                R"({"format":1,"target":{"schema":"shop","table":"items"},"versions":[],)"
                R"("members":[]})",
                "shard group state of `shop`.`orders`: it is the state of `shop`.`items`"},
        BadJson{"unlisted_member",
                "{\"format\":1," + kTargetJson +
                    R"(,"versions":[],"members":[{"schema":"shard_9","table":"orders_9",)"
                    R"("reached":0}]})",
                "shard group state of `shop`.`orders`: `shard_9`.`orders_9` is no longer listed "
                "in shard-groups.\"shop.orders\".members"},
        BadJson{"reached_beyond",
                "{\"format\":1," + kTargetJson +
                    R"(,"versions":[],"members":[{"schema":"shard_1","table":"orders_1",)"
                    R"("reached":1}]})",
                "shard group state of `shop`.`orders`: `shard_1`.`orders_1` reached version 1, "
                "which does not exist"},
        BadJson{"numbering",
                "{\"format\":1," + kTargetJson +
                    R"(,"versions":[{"number":2,"by":{"schema":"a","table":"b"},)"
                    R"("released":false,"specs":[]}],"members":[]})",
                "shard group state of `shop`.`orders`: version 1: numbered 2"},
        BadJson{"spec_kind",
                "{\"format\":1," + kTargetJson +
                    R"(,"versions":[{"number":1,"by":{"schema":"a","table":"b"},)"
                    R"("released":false,"specs":[{"kind":"add","class":"additive","text":"",)"
                    R"("subject":"","new_name":"","why":"","done":false}]}],"members":[]})",
                "shard group state of `shop`.`orders`: version 1: spec 0: unknown kind \"add\" or "
                "class \"additive\""},
        BadJson{"missing_field", "{\"format\":1," + kTargetJson + "}",
                "shard group state of `shop`.`orders`: \"versions\" must be an array"},
        BadJson{"trailing", "{\"format\":1} x",
                "shard group state of `shop`.`orders`: not valid JSON"}),
    [](const ::testing::TestParamInfo<BadJson>& info) { return std::string(info.param.name); });

TEST(ShardGroupJson, CountedMembersBeyondTheCountAreRefused) {
  Proxy p(count_of(2));
  p.cut_over(kShard1, trace_change(kShard1, ""));
  p.cut_over(kShard2, trace_change(kShard2, ""));
  std::string error;
  EXPECT_FALSE(
      ShardGroup::from_json(p.group().to_json(), count_of(1), ShardMode::optimistic, &error));
  EXPECT_EQ(error,
            "shard group state of `shop`.`orders`: it knows more members than "
            "shard-groups.\"shop.orders\".members allows (1)");
  // Raising the count is fine; so is a list that names the known members.
  EXPECT_TRUE(
      ShardGroup::from_json(p.group().to_json(), count_of(3), ShardMode::optimistic, &error));
  EXPECT_TRUE(ShardGroup::from_json(p.group().to_json(), listed({kShard2, kShard1, kShard3}),
                                    ShardMode::optimistic, &error));
}

}  // namespace
}  // namespace ghostgate::rules
