#include "rules/online_ddl.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "rules/engine_test_util.h"

namespace ghostgate::rules {
namespace {

class EngineTest : public EngineFixture {
 protected:
  EngineTest()
      : EngineFixture({qn("test", "t"), qn("test", "t1"), qn("test", "t2"), qn("test", "parent"),
                       qn("test", "a"), qn("other", "t")}) {}
};

TEST_F(EngineTest, DmlOnRealTablesIsForwardedQuickly) {
  for (std::string_view sql :
       {"INSERT INTO `test`.`t` (`id`) VALUES (1)", "UPDATE t SET a=1 WHERE id=2",
        "DELETE FROM test.t WHERE id=1", "SELECT * FROM _t_gho", "BEGIN", "COMMIT",
        "ALTER TABLE t ADD COLUMN x INT", "RENAME TABLE a TO b", "SET NAMES utf8mb4",
        "CREATE TRIGGER x AFTER INSERT ON t FOR EACH ROW SET @a=1", "DROP TRIGGER x"}) {
    const Statement st = classify(sql);
    EXPECT_TRUE(engine_.quick_forward(st, "test")) << sql;
    EXPECT_EQ(engine_.plan(st, "test", catalog_).verdict, Plan::Verdict::forward) << sql;
  }
  for (std::string_view sql :
       {"INSERT INTO _t_gho VALUES (1)", "DROP TABLE t", "DROP DATABASE x",
        "RENAME TABLE t TO _t_del", "DROP TRIGGER pt_osc_test_t_ins",
        "CREATE TRIGGER pt_osc_test_t_ins AFTER INSERT ON t FOR EACH ROW SET @a=1"}) {
    EXPECT_FALSE(engine_.quick_forward(classify(sql), "test")) << sql;
  }
}

TEST_F(EngineTest, DmlOnHelperTablesIsSuppressed) {
  for (std::string_view sql :
       {"INSERT INTO `test`.`_t_gho` (`id`) VALUES (1)", "REPLACE INTO _t_new VALUES (1)",
        "UPDATE `test`.`_t_ghc` SET a = 1", "DELETE FROM _t_del WHERE id = 1",
        "LOAD DATA INFILE 'x' INTO TABLE _t_gho",
        "INSERT LOW_PRIORITY IGNORE INTO _t_new "
        "SELECT * FROM t",
        "INSERT INTO `test`.`_t_gho` VALUES (1) ON DUPLICATE KEY UPDATE a=1"}) {
    const Plan p = plan(sql);
    EXPECT_EQ(verdict_name(p.verdict), std::string("local")) << sql;
    EXPECT_TRUE(p.steps.empty()) << sql;
    EXPECT_FALSE(p.implicit_commit) << sql;
  }
  // A write to a real table is never suppressed, even when it reads a helper table or one of
  // several targets is one.
  EXPECT_EQ(plan("INSERT INTO t SELECT * FROM _t_gho").verdict, Plan::Verdict::forward);
  EXPECT_EQ(plan("UPDATE t JOIN _t_gho g ON g.id = t.id SET t.a = g.a").verdict,
            Plan::Verdict::forward);
  EXPECT_EQ(plan("DELETE t, g FROM t JOIN _t_gho g ON g.id = t.id").verdict,
            Plan::Verdict::forward);
}

TEST_F(EngineTest, LookAlikeRealTablesAreReal) {
  // No table `x` downstream: `_x_new` is just a table with an odd name.
  EXPECT_EQ(plan("INSERT INTO _x_new VALUES (1)").verdict, Plan::Verdict::forward);
  EXPECT_EQ(plan("CREATE TABLE _x_new (a INT)").verdict, Plan::Verdict::forward);
  // `_t_new` exists downstream as a real table: real, even though `t` exists too.
  catalog_.tables_.insert(qn("test", "_t_new"));
  EXPECT_EQ(plan("INSERT INTO _t_new VALUES (1)").verdict, Plan::Verdict::forward);
  EXPECT_EQ(plan("ALTER TABLE _t_new ADD COLUMN x INT").verdict, Plan::Verdict::forward);
  EXPECT_EQ(plan("RENAME TABLE _t_new TO t").verdict, Plan::Verdict::forward);
}

TEST_F(EngineTest, UnknownNamesAskTheCatalog) {
  UnknownCatalog unknown;
  const Statement st = classify("INSERT INTO `test`.`_t_gho` VALUES (1)");
  const Plan p = engine_.plan(st, "test", unknown);
  ASSERT_EQ(p.verdict, Plan::Verdict::need_lookup);
  EXPECT_EQ(p.lookups, (std::vector<QualifiedName>{qn("test", "_t_gho"), qn("test", "t")}));
  // Names in the registry need no lookup.
  engine_.apply([] {
    Step s;
    s.kind = Step::Kind::record;
    s.ghost = qn("test", "_t_gho");
    s.real_hint = "t";
    s.sql = "ALTER TABLE `test`.`_t_gho` ADD x INT";
    return s;
  }());
  EXPECT_EQ(engine_.plan(st, "test", unknown).verdict, Plan::Verdict::local);
}

TEST_F(EngineTest, PtOscCollisionNamesLookForEveryCandidate) {
  // `___x_new`: pt-osc on `x` (two retries), `_x` (one) or `__x` (none).
  catalog_.tables_.insert(qn("test", "__x"));
  const Plan p = plan("INSERT INTO ___x_new VALUES (1)");
  EXPECT_EQ(p.verdict, Plan::Verdict::local);
  const auto cls = engine_.classify_name(qn("test", "___x_new"), catalog_);
  ASSERT_TRUE(cls.has_value());
  EXPECT_EQ(cls->kind, TableKind::ghost);
  EXPECT_EQ(cls->real_hint, "__x");
  EXPECT_EQ(engine_.classify_name(qn("test", "__t_new"), catalog_)->real_hint, "t");
}

TEST_F(EngineTest, GhostLifecycleRecordsAndCutsOver) {
  EXPECT_EQ(steps(run("create /* gh-ost */ table `test`.`_t_gho` like `test`.`t`")),
            std::vector<std::string>{});
  Plan p = run("alter /* gh-ost */ table `test`.`_t_gho` add column c int");
  EXPECT_EQ(p.verdict, Plan::Verdict::local);
  EXPECT_TRUE(p.implicit_commit);
  EXPECT_EQ(steps(p), std::vector<std::string>{
                          "record test._t_gho (t): alter /* gh-ost */ table `test`.`_t_gho` add "
                          "column c int"});
  // Unqualified: recorded qualified, so the cut-over may come with another current db.
  p = run("ALTER TABLE _t_gho AUTO_INCREMENT=535");
  EXPECT_EQ(steps(p), std::vector<std::string>{
                          "record test._t_gho (t): ALTER TABLE `test`._t_gho AUTO_INCREMENT=535"});
  p = run("CREATE INDEX ix ON _t_gho (c)");
  p = run("DROP INDEX ix ON _t_gho");
  p = run("TRUNCATE _t_gho");  // never recorded
  EXPECT_TRUE(p.steps.empty());
  EXPECT_EQ(p.verdict, Plan::Verdict::local);
  p = run("ANALYZE TABLE _t_gho");
  EXPECT_EQ(p.verdict, Plan::Verdict::local);
  ASSERT_NE(engine_.find(qn("test", "_t_gho")), nullptr);
  EXPECT_EQ(engine_.find(qn("test", "_t_gho"))->ddls.size(), 4u);

  p = run("rename table `test`.`t` to `test`.`_t_del`, `test`.`_t_gho` to `test`.`t`", "other");
  EXPECT_EQ(p.reason, "cut-over");
  EXPECT_EQ(steps(p), (std::vector<std::string>{
                          "sql: alter /* gh-ost */ table `test`.`t` add column c int",
                          "progress test._t_gho 1",
                          "sql: ALTER TABLE `test`.`t` AUTO_INCREMENT=535",
                          "progress test._t_gho 2",
                          "sql: CREATE INDEX ix ON `test`.`t` (c)",
                          "progress test._t_gho 3",
                          "sql: DROP INDEX ix ON `test`.`t`",
                          "progress test._t_gho 4",
                          "forget test._t_gho",
                      }));
  EXPECT_EQ(engine_.find(qn("test", "_t_gho")), nullptr);
  EXPECT_TRUE(engine_.snapshot().empty());
}

TEST_F(EngineTest, CreateTableOfAKnownGhostForgetsTheOldMigration) {
  run("ALTER TABLE _t_gho ADD x INT");
  ASSERT_NE(engine_.find(qn("test", "_t_gho")), nullptr);
  EXPECT_EQ(steps(run("CREATE TABLE _t_gho LIKE t")),
            std::vector<std::string>{"forget test._t_gho"});
  EXPECT_EQ(engine_.find(qn("test", "_t_gho")), nullptr);
}

TEST_F(EngineTest, TwoStepCutOver) {
  run("alter /* gh-ost */ table `test`.`_t_gho` add column c int");
  Plan p = run("alter /* gh-ost */ table `test`.`t` rename `_t_del`");
  EXPECT_EQ(p.verdict, Plan::Verdict::local);
  EXPECT_TRUE(p.steps.empty());
  EXPECT_TRUE(p.implicit_commit);
  p = run("alter /* gh-ost */ table `test`.`_t_gho` rename `t`");
  EXPECT_EQ(steps(p),
            (std::vector<std::string>{"sql: alter /* gh-ost */ table `test`.`t` add column c int",
                                      "progress test._t_gho 1", "forget test._t_gho"}));
}

TEST_F(EngineTest, TwoStepRollbackIsSuppressedButARevertIsRefused) {
  run("ALTER TABLE _t_gho ADD c INT");
  run("ALTER TABLE t RENAME _t_del");
  // gh-ost could not finish the swap and renames the old table back: our suppressed first step
  // means downstream already has `t`.
  EXPECT_EQ(plan("RENAME TABLE _t_del TO t").verdict, Plan::Verdict::local);
  // After the cut-over, swapping the old table back is gh-ost --revert.
  run("ALTER TABLE _t_gho RENAME t");
  const Plan p =
      plan("rename table `test`.`t` to `test`.`_t_rev_del`, `test`.`_t_del` to `test`.`t`");
  ASSERT_EQ(p.verdict, Plan::Verdict::refuse);
  EXPECT_EQ(p.error_code, 1105);
  EXPECT_EQ(p.sql_state, "HY000");
  EXPECT_NE(p.error_message.find("`test`.`_t_del` TO `test`.`t`"), std::string::npos);
  EXPECT_NE(p.error_message.find("--revert"), std::string::npos);
  EXPECT_NE(p.error_message.find("manual"), std::string::npos);
}

TEST_F(EngineTest, RefusedRenames) {
  run("ALTER TABLE _t_gho ADD c INT");
  struct Case {
    std::string_view sql;
    std::string_view names;
  };
  for (const Case& c :
       {Case{"RENAME TABLE t TO _t_gho", "`test`.`t` TO `test`.`_t_gho`"},
        Case{"RENAME TABLE _t_gho TO __t_new", "`test`.`_t_gho` TO `test`.`__t_new`"},
        Case{"RENAME TABLE _t_del TO _t_gho", "`test`.`_t_del` TO `test`.`_t_gho`"},
        Case{"ALTER TABLE t RENAME TO _t_gho", "`test`.`t` TO `test`.`_t_gho`"}}) {
    const Plan p = plan(c.sql);
    ASSERT_EQ(p.verdict, Plan::Verdict::refuse) << c.sql;
    EXPECT_NE(p.error_message.find(c.names), std::string::npos) << p.error_message;
  }
  const Plan p = plan("ALTER TABLE _t_gho ADD d INT, RENAME TO t");
  EXPECT_EQ(p.verdict, Plan::Verdict::refuse);
  EXPECT_NE(p.error_message.find("`test`.`_t_gho`"), std::string::npos);
  // Nothing was changed by the refusals.
  EXPECT_EQ(engine_.find(qn("test", "_t_gho"))->ddls.size(), 1u);
}

TEST_F(EngineTest, GhostRenamedToTrashIsForgotten) {
  run("ALTER TABLE _t_gho ADD c INT");
  EXPECT_EQ(steps(run("RENAME TABLE _t_gho TO _t_del")),
            std::vector<std::string>{"forget test._t_gho"});
  EXPECT_TRUE(engine_.snapshot().empty());
}

TEST_F(EngineTest, SeveralCutOversAndRealPairsInOneRename) {
  run("ALTER TABLE _t1_new ADD c1 INT");
  run("ALTER TABLE _t2_new ADD c2 INT");
  const Plan p = run(
      "RENAME TABLE a TO b, t1 TO _t1_old, _t1_new TO t1, b TO c, t2 TO _t2_old, _t2_new TO t2, "
      "x TO y");
  EXPECT_EQ(steps(p), (std::vector<std::string>{
                          "sql: RENAME TABLE `test`.`a` TO `test`.`b`",
                          "sql: ALTER TABLE `test`.`t1` ADD c1 INT",
                          "progress test._t1_new 1",
                          "forget test._t1_new",
                          "sql: RENAME TABLE `test`.`b` TO `test`.`c`",
                          "sql: ALTER TABLE `test`.`t2` ADD c2 INT",
                          "progress test._t2_new 1",
                          "forget test._t2_new",
                          "sql: RENAME TABLE `test`.`x` TO `test`.`y`",
                      }));
  EXPECT_TRUE(engine_.snapshot().empty());
}

TEST_F(EngineTest, CutOverTargetIsTheRenameTargetNotTheCapture) {
  run("ALTER TABLE _t_gho ADD c INT");
  EXPECT_EQ(steps(run("RENAME TABLE _t_gho TO `other`.`t`")),
            (std::vector<std::string>{"sql: ALTER TABLE `other`.`t` ADD c INT",
                                      "progress test._t_gho 1", "forget test._t_gho"}));
}

TEST_F(EngineTest, RenamingTheCutOverTargetAwayIsRefused) {
  run("ALTER TABLE _t_gho ADD c INT");
  EXPECT_EQ(plan("RENAME TABLE t TO t_backup, _t_gho TO t").verdict, Plan::Verdict::refuse);
}

TEST_F(EngineTest, CutOverResumesAfterACrash) {
  run("ALTER TABLE _t_gho ADD c1 INT");
  run("ALTER TABLE _t_gho ADD c2 INT");
  Plan p = plan("RENAME TABLE t TO _t_del, _t_gho TO t");
  ASSERT_EQ(p.steps.size(), 5u);
  // The first DDL ran and its progress was persisted; then the proxy died.
  engine_.apply(p.steps[1]);
  p = plan("RENAME TABLE t TO _t_del, _t_gho TO t");
  EXPECT_EQ(steps(p), (std::vector<std::string>{"sql: ALTER TABLE `test`.`t` ADD c2 INT",
                                                "progress test._t_gho 2", "forget test._t_gho"}));
  run("RENAME TABLE t TO _t_del, _t_gho TO t");
  // The replicator resends the RENAME once more: OK, nothing to run, no "metadata not found".
  p = plan("RENAME TABLE t TO _t_del, _t_gho TO t");
  EXPECT_EQ(p.verdict, Plan::Verdict::local);
  EXPECT_TRUE(p.steps.empty());
}

TEST_F(EngineTest, RestoreUndoesAnApplyWhosePersistenceFailed) {
  run("ALTER TABLE _t_gho ADD c1 INT");
  const Plan p = plan("ALTER TABLE _t_gho ADD c2 INT");
  ASSERT_EQ(p.steps.size(), 1u);
  const QualifiedName ghost = p.steps[0].ghost;
  std::optional<GhostRecord> before = *engine_.find(ghost);
  const std::optional<GhostRecord> after = engine_.apply(p.steps[0]);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->ddls.size(), 2u);
  engine_.restore(ghost, before);
  EXPECT_EQ(engine_.find(ghost)->ddls.size(), 1u);
  // A record that did not exist before is removed again.
  const Plan q = plan("ALTER TABLE _t2_gho ADD c INT");
  engine_.apply(q.steps[0]);
  engine_.restore(q.steps[0].ghost, std::nullopt);
  EXPECT_EQ(engine_.find(q.steps[0].ghost), nullptr);
}

TEST_F(EngineTest, DropSwapDefersTheDropUntilTheCutOver) {
  run("CREATE TABLE `test`.`_parent_new` (id INT)");
  run("ALTER TABLE `test`.`_parent_new` add column note varchar(20) not null default 'n'");
  Plan p = run("DROP TABLE IF EXISTS `parent` /* generated by server */");
  EXPECT_EQ(p.verdict, Plan::Verdict::local);
  EXPECT_TRUE(p.implicit_commit);
  EXPECT_EQ(steps(p),
            std::vector<std::string>{"defer test._parent_new: test.parent: DROP TABLE IF EXISTS "
                                     "`test`.`parent`"});
  ASSERT_TRUE(engine_.find(qn("test", "_parent_new"))->deferred_drop.has_value());
  p = run("RENAME TABLE `test`.`_parent_new` TO `test`.`parent`");
  EXPECT_EQ(steps(p), (std::vector<std::string>{
                          "sql: ALTER TABLE `test`.`parent` add column note varchar(20) not null "
                          "default 'n'",
                          "progress test._parent_new 1", "forget test._parent_new"}));
}

TEST_F(EngineTest, DropSwapThenGhostDroppedRunsTheDeferredDrop) {
  run("ALTER TABLE _parent_new ADD note INT");
  run("DROP TABLE parent");
  EXPECT_EQ(steps(run("DROP TABLE IF EXISTS `_parent_new`")),
            (std::vector<std::string>{"sql: DROP TABLE IF EXISTS `test`.`parent`",
                                      "forget test._parent_new"}));
}

TEST_F(EngineTest, MultiTableDropIsSplit) {
  run("ALTER TABLE _t_gho ADD c INT");
  Plan p = run("DROP TABLE IF EXISTS a, `_t_gho`, other.x, _t_del /* generated by server */");
  EXPECT_EQ(steps(p), (std::vector<std::string>{"sql: DROP TABLE IF EXISTS `test`.`a`, `other`.`x`",
                                                "forget test._t_gho"}));
  EXPECT_EQ(plan("DROP TABLE a, b").verdict, Plan::Verdict::forward);
  // Dropping a trash or never-recorded ghost table: suppressed, nothing to persist.
  p = plan("DROP TABLE IF EXISTS `_t_ghc` /* generated by server */");
  EXPECT_EQ(p.verdict, Plan::Verdict::local);
  EXPECT_TRUE(p.steps.empty());
}

TEST_F(EngineTest, MaintenanceOnMixedTablesKeepsTheRealOnes) {
  const Plan p = plan("ANALYZE NO_WRITE_TO_BINLOG TABLE t, `_t_new`, t2 /* x */");
  EXPECT_EQ(steps(p), std::vector<std::string>{
                          "sql: ANALYZE NO_WRITE_TO_BINLOG TABLE `test`.`t`, `test`.`t2` /* x */"});
  EXPECT_EQ(plan("OPTIMIZE TABLE _t_new").verdict, Plan::Verdict::local);
  EXPECT_EQ(plan("LOCK TABLES _t_new WRITE").verdict, Plan::Verdict::local);
}

TEST_F(EngineTest, Triggers) {
  EXPECT_EQ(plan("CREATE DEFINER=`gh`@`localhost` TRIGGER `pt_osc_test_t_del` AFTER DELETE ON "
                 "`test`.`t` FOR EACH ROW DELETE IGNORE FROM `test`.`_t_new` WHERE 1")
                .verdict,
            Plan::Verdict::local);
  EXPECT_EQ(plan("DROP TRIGGER IF EXISTS `test`.`pt_osc_test_t_del`").verdict,
            Plan::Verdict::local);
  EXPECT_EQ(plan("CREATE TRIGGER trg AFTER INSERT ON _t_gho FOR EACH ROW SET @a=1").verdict,
            Plan::Verdict::local);
  // ON table resolved in the trigger's schema.
  EXPECT_EQ(plan("CREATE TRIGGER other.trg AFTER INSERT ON _t_gho FOR EACH ROW SET @a=1").verdict,
            Plan::Verdict::local);
  EXPECT_EQ(plan("CREATE TRIGGER trg AFTER INSERT ON t FOR EACH ROW SET @a=1").verdict,
            Plan::Verdict::forward);
}

TEST_F(EngineTest, UnqualifiedNamesResolveAgainstTheCurrentDb) {
  run("ALTER TABLE `test`.`_t_gho` ADD c INT");
  // In `other`, `_t_gho` is another table (and `other`.`t` exists, `other`.`_t_gho` does not).
  Plan p = plan("DROP TABLE _t_gho", "other");
  EXPECT_TRUE(steps(p).empty());
  EXPECT_NE(engine_.find(qn("test", "_t_gho")), nullptr);
  p = plan("DROP TABLE _t_gho", "test");
  EXPECT_EQ(steps(p), std::vector<std::string>{"forget test._t_gho"});
  // No database selected: the backend reports the error.
  EXPECT_EQ(plan("INSERT INTO _t_gho VALUES (1)", "").verdict, Plan::Verdict::forward);
}

TEST_F(EngineTest, DropDatabaseForgetsItsMigrations) {
  run("ALTER TABLE _t_gho ADD c INT");
  const Plan p = run("DROP DATABASE test");
  EXPECT_EQ(steps(p), (std::vector<std::string>{"sql: DROP DATABASE test", "forget test._t_gho"}));
  EXPECT_EQ(plan("DROP DATABASE x").verdict, Plan::Verdict::forward);
}

TEST_F(EngineTest, LongPtOscNamesAreRecognisedThroughTheCatalog) {
  const std::string x(62, 'x');
  catalog_.tables_.insert(qn("test", x));
  const std::string new_table = "_" + x + "_";
  const std::string old_table = "__" + x;
  EXPECT_EQ(plan("CREATE TABLE `" + new_table + "` (id INT)").verdict, Plan::Verdict::local);
  EXPECT_EQ(plan("INSERT INTO `test`.`" + new_table + "` VALUES (1)").verdict,
            Plan::Verdict::local);
  run("ALTER TABLE `test`.`" + new_table + "` ADD c INT");
  const Plan p = run("RENAME TABLE `test`.`" + x + "` TO `test`.`" + old_table + "`, `test`.`" +
                     new_table + "` TO `test`.`" + x + "`");
  EXPECT_EQ(steps(p), (std::vector<std::string>{"sql: ALTER TABLE `test`.`" + x + "` ADD c INT",
                                                "progress test." + new_table + " 1",
                                                "forget test." + new_table}));
  EXPECT_EQ(plan("DROP TABLE IF EXISTS `" + old_table + "`").verdict, Plan::Verdict::local);
  // Unrelated 64-character names stay real.
  const std::string other = "_" + std::string(63, 'q');
  EXPECT_EQ(plan("INSERT INTO `" + other + "` VALUES (1)").verdict, Plan::Verdict::forward);
}

TEST_F(EngineTest, LongGhOstNamesKeepTheirSuffix) {
  // gh-ost cuts X so that `_<X cut>_gho` is 64 bytes: the capture is only a prefix of X.
  const std::string x(70, 'y');  // hypothetical; MySQL allows 64, but the cut is what counts
  const std::string ghost = "_" + x.substr(0, 59) + "_gho";
  ASSERT_EQ(ghost.size(), 64u);
  EXPECT_EQ(plan("ALTER TABLE `" + ghost + "` ADD c INT").verdict, Plan::Verdict::local);
  catalog_.tables_.insert(qn("test", ghost));  // now a real table by that name exists
  EXPECT_EQ(plan("ALTER TABLE `" + ghost + "` ADD c INT").verdict, Plan::Verdict::forward);
}

TEST_F(EngineTest, LoadReplacesTheRegistry) {
  GhostRecord rec;
  rec.ghost = qn("test", "_t_gho");
  rec.real_hint = "t";
  rec.ddls = {"ALTER TABLE _t_gho ADD c INT"};  // DM stores what it got; may be unqualified
  engine_.load({rec});
  ASSERT_EQ(engine_.snapshot().size(), 1u);
  EXPECT_EQ(engine_.snapshot()[0], rec);
  EXPECT_EQ(steps(plan("ALTER TABLE test._t_gho RENAME test.t", "elsewhere")),
            (std::vector<std::string>{"sql: ALTER TABLE `test`.`t` ADD c INT",
                                      "progress test._t_gho 1", "forget test._t_gho"}));
}

TEST_F(EngineTest, TemporaryTablesAreNeverHelpers) {
  EXPECT_EQ(plan("CREATE TEMPORARY TABLE _t_gho (a INT)").verdict, Plan::Verdict::forward);
  EXPECT_EQ(plan("DROP TEMPORARY TABLE IF EXISTS _t_gho, t").verdict, Plan::Verdict::forward);
}

TEST_F(EngineTest, AbandoningADropSwapMigrationRunsTheDeferredDrop) {
  run("ALTER TABLE _parent_new ADD note INT");
  run("DROP TABLE parent");
  // pt-osc starts over: the old migration ends, and upstream `parent` is gone for good.
  EXPECT_EQ(steps(run("CREATE TABLE _parent_new (id INT)")),
            (std::vector<std::string>{"sql: DROP TABLE IF EXISTS `test`.`parent`",
                                      "forget test._parent_new"}));
  run("ALTER TABLE _t_gho ADD note INT");
  run("DROP TABLE t");
  EXPECT_EQ(
      steps(run("ALTER TABLE _t_gho RENAME TO _t_del")),
      (std::vector<std::string>{"sql: DROP TABLE IF EXISTS `test`.`t`", "forget test._t_gho"}));
}

TEST_F(EngineTest, DropDatabaseCommitsLikeAnyDdl) {
  run("ALTER TABLE _t_gho ADD c INT");
  EXPECT_TRUE(plan("DROP DATABASE test").implicit_commit);
}

TEST_F(EngineTest, AnyPrefixOfAStatementIsHandled) {
  // Truncated or odd input must give some decision, never a crash (run under ASan in CI).
  run("ALTER TABLE _t_gho ADD c INT");
  for (std::string_view sql :
       {"rename /* gh-ost */ table `test`.`t` to `test`.`_t_del`, `test`.`_t_gho` to `test`.`t`",
        "CREATE DEFINER=`gh`@`localhost` TRIGGER `pt_osc_test_t_upd` AFTER UPDATE ON `test`.`t` "
        "FOR EACH ROW BEGIN DELETE IGNORE FROM `test`.`_t_new`;END",
        "DELETE a, b.* FROM t1 AS a INNER JOIN db.t2 b ON a.id = b.id WHERE a.id = 1",
        "ALTER TABLE `we``ird` ADD FOREIGN KEY (a) REFERENCES `x`.`y` (id), RENAME AS `z`",
        "DROP TABLE IF EXISTS a, `_t_gho`, other.x, _t_del /* generated by server */",
        "LOAD DATA LOCAL INFILE 'f' REPLACE INTO TABLE `db`.`t`"}) {
    for (std::size_t n = 0; n <= sql.size(); ++n) {
      const std::string prefix(sql.substr(0, n));
      Statement st = classify(prefix);
      const Plan p = engine_.plan(st, "test", catalog_);
      EXPECT_NE(p.verdict, Plan::Verdict::need_lookup) << prefix;
      (void)rewrite_ddl(prefix, qn("test", "_t_gho"), "test", qn("test", "t"));
      (void)qualify_table_refs(prefix, "test");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// rewrite_ddl / qualify_table_refs

struct RewriteCase {
  std::string_view ddl;
  std::string_view db;
  std::string_view expected;
};

class Rewrite : public ::testing::TestWithParam<RewriteCase> {};

TEST_P(Rewrite, OnlyTheTableReferenceChanges) {
  EXPECT_EQ(rewrite_ddl(GetParam().ddl, qn("test", "_t_gho"), GetParam().db, qn("test", "t")),
            GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Ddls, Rewrite,
    ::testing::Values(
        RewriteCase{"alter /* gh-ost */ table `test`.`_t_gho` add column c int", "",
                    "alter /* gh-ost */ table `test`.`t` add column c int"},
        RewriteCase{"ALTER TABLE _t_gho ADD COLUMN _t_gho INT COMMENT '_t_gho _t_gho', ADD INDEX "
                    "_t_gho (_t_gho) /* _t_gho */",
                    "test",
                    "ALTER TABLE `test`.`t` ADD COLUMN _t_gho INT COMMENT '_t_gho _t_gho', ADD "
                    "INDEX _t_gho (_t_gho) /* _t_gho */"},
        RewriteCase{"ALTER TABLE test._t_gho ADD x INT DEFAULT \"_t_gho\"", "",
                    "ALTER TABLE `test`.`t` ADD x INT DEFAULT \"_t_gho\""},
        RewriteCase{"ALTER TABLE `test` . `_t_gho` ADD x INT", "",
                    "ALTER TABLE `test`.`t` ADD x INT"},
        RewriteCase{"ALTER TABLE _t_gho ADD x INT", "other", "ALTER TABLE _t_gho ADD x INT"},
        RewriteCase{"ALTER TABLE other._t_gho ADD x INT", "test",
                    "ALTER TABLE other._t_gho ADD x INT"},
        RewriteCase{"ALTER TABLE _t_gho ADD FOREIGN KEY (p) REFERENCES _t_gho (id), ADD FOREIGN "
                    "KEY (q) REFERENCES parent (id)",
                    "test",
                    "ALTER TABLE `test`.`t` ADD FOREIGN KEY (p) REFERENCES `test`.`t` (id), ADD "
                    "FOREIGN KEY (q) REFERENCES parent (id)"},
        RewriteCase{"CREATE UNIQUE INDEX _t_gho ON `_t_gho` (_t_gho)", "test",
                    "CREATE UNIQUE INDEX _t_gho ON `test`.`t` (_t_gho)"},
        RewriteCase{"DROP INDEX `_t_gho` ON `test`.`_t_gho`", "",
                    "DROP INDEX `_t_gho` ON `test`.`t`"},
        RewriteCase{"/*!50100 ALTER TABLE _t_gho ADD x INT */", "test",
                    "/*!50100 ALTER TABLE `test`.`t` ADD x INT */"}));

TEST(RewriteDdl, QuotesBackticksInTheTarget) {
  EXPECT_EQ(rewrite_ddl("ALTER TABLE `we``ird_gho` ADD c INT", qn("d b", "we`ird_gho"), "d b",
                        qn("d b", "we`ird")),
            "ALTER TABLE `d b`.`we``ird` ADD c INT");
}

TEST(QualifyTableRefs, QualifiesOnlyUnqualifiedTableNames) {
  EXPECT_EQ(qualify_table_refs("ALTER TABLE _t_gho ADD c INT, ADD FOREIGN KEY (c) REFERENCES "
                               "p(id), ADD FOREIGN KEY (d) REFERENCES x.q(id)",
                               "te`st"),
            "ALTER TABLE `te``st`._t_gho ADD c INT, ADD FOREIGN KEY (c) REFERENCES `te``st`.p(id), "
            "ADD FOREIGN KEY (d) REFERENCES x.q(id)");
  EXPECT_EQ(qualify_table_refs("CREATE INDEX i ON `t` (a)", "db"),
            "CREATE INDEX i ON `db`.`t` (a)");
  EXPECT_EQ(qualify_table_refs("ALTER TABLE t ADD c INT", ""), "ALTER TABLE t ADD c INT");
}

// An unqualified FOREIGN KEY ... REFERENCES table is in the schema of the table created or
// altered, not the session's (MariaDB 10.11: `USE b; ALTER TABLE a.child ADD FOREIGN KEY (p)
// REFERENCES parent (id)` references a.parent; MySQL resolves it the same way).
TEST(QualifyTableRefs, AReferencedTableIsInTheAlteredTablesSchema) {
  EXPECT_EQ(
      qualify_table_refs("ALTER TABLE a._t_gho ADD FOREIGN KEY (p) REFERENCES parent (id)", "b"),
      "ALTER TABLE a._t_gho ADD FOREIGN KEY (p) REFERENCES `a`.parent (id)");
  EXPECT_EQ(qualify_table_refs("CREATE TABLE `a`.`_t_new` (id INT PRIMARY KEY, p INT, FOREIGN KEY "
                               "(p) REFERENCES parent (id))",
                               "b"),
            "CREATE TABLE `a`.`_t_new` (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES "
            "`a`.parent (id))");
  // An unqualified subject: both are in the session's database.
  EXPECT_EQ(
      qualify_table_refs("ALTER TABLE _t_gho ADD FOREIGN KEY (p) REFERENCES parent (id)", "b"),
      "ALTER TABLE `b`._t_gho ADD FOREIGN KEY (p) REFERENCES `b`.parent (id)");
  // The rewrite at cut-over resolves a self-reference the same way.
  EXPECT_EQ(rewrite_ddl("ALTER TABLE test._t_gho ADD FOREIGN KEY (p) REFERENCES _t_gho (id)",
                        qn("test", "_t_gho"), "other", qn("test", "t")),
            "ALTER TABLE `test`.`t` ADD FOREIGN KEY (p) REFERENCES `test`.`t` (id)");
}

TEST(QuoteName, DoublesBackticks) {
  EXPECT_EQ(quote_name(qn("a`b", "c")), "`a``b`.`c`");
  EXPECT_EQ(quote_name(qn("", "c")), "`c`");
}

}  // namespace
}  // namespace ghostgate::rules
