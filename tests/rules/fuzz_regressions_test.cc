// Inputs found by the rules fuzzers (fuzz/targets/{lexer,splitter,classifier,online_ddl}.cc,
// scripts/fuzz.sh), kept as regression tests. Each names the target that found it, what was
// wrong, and the fix.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "rules/classifier.h"
#include "rules/lexer.h"
#include "rules/online_ddl.h"

namespace ghostgate::rules {
namespace {

std::vector<std::string> lex(std::string_view text) {
  std::vector<std::string> out;
  Lexer lexer(text);
  for (Token t = lexer.next(); t.kind != TokenKind::end; t = lexer.next()) {
    const char* kind = t.kind == TokenKind::number       ? "num:"
                       : t.kind == TokenKind::identifier ? "id:"
                                                         : "other:";
    out.push_back(kind + std::string(t.text));
  }
  return out;
}

// fuzz_lexer: after a number with an exponent, identifier bytes turned the whole thing into one
// identifier, `+` included (`1e+1\xed` was a name). MySQL's lexer ends the number after its
// exponent digits; so does ours now.
TEST(FuzzRegression, NumberWithExponentEndsBeforeIdentifierBytes) {
  EXPECT_EQ(lex("1e+1x"), (std::vector<std::string>{"num:1e+1", "id:x"}));
  EXPECT_EQ(lex("1e1abc"), (std::vector<std::string>{"num:1e1", "id:abc"}));
  EXPECT_EQ(lex("2E-3\xed"), (std::vector<std::string>{"num:2E-3", "id:\xed"}));
  // Without an exponent a name may still start with digits, and `1e` alone is a name.
  EXPECT_EQ(lex("1abc 1e 1ex"), (std::vector<std::string>{"id:1abc", "id:1e", "id:1ex"}));
  // The input the fuzzer found: no identifier may contain a `+`.
  const std::string found(
      "\xff\xff\xff\xff\xff"
      "0e1\x19\0\0\0!e\xb3"
      "1!1e+1\xed!1\x9c"
      "e+#?''-",
      33);
  for (const std::string& t : lex(found)) {
    if (t.starts_with("id:")) {
      EXPECT_EQ(t.find('+'), std::string::npos) << t;
    }
  }
}

// fuzz_classifier: a RENAME TABLE cut short after its first name (an unterminated quoted name)
// gives a rename_from with no rename_to. That is allowed only with `partial` set (the header
// now says so), and the engine forwards such a statement instead of planning its pairs.
TEST(FuzzRegression, RenameCutShortIsPartial) {
  const Statement st = classify("RENAME TABLE `test`.`");
  EXPECT_EQ(st.kind, StatementKind::rename_table);
  ASSERT_EQ(st.tables().size(), 1u);
  EXPECT_EQ(st.tables()[0].role, RefRole::rename_from);
  EXPECT_TRUE(st.partial);
}

// fuzz_classifier: rewrite_ddl / qualify_table_refs put a quoted name where the text had a name
// followed directly by a backtick (`ON \xe0_t_.5gho\``), so the two merged into one quoted name
// with a doubled backtick (`t``...`): the rewritten DDL named another table. The replacement is
// now kept apart by a space when a backtick touches it.
TEST(FuzzRegression, RewriteKeepsTheNewNameAToken) {
  const std::string out =
      rewrite_ddl("CREATE INDEX i ON x.y`z` (a)", {"x", "y"}, "test", {"test", "t"});
  EXPECT_EQ(out, "CREATE INDEX i ON `test`.`t` `z` (a)");
  const Statement st = classify(out);
  ASSERT_FALSE(st.tables().empty());
  EXPECT_EQ(st.tables()[0].schema, "test");
  EXPECT_EQ(st.tables()[0].table, "t");
  // The input the fuzzer found (a ghost named `5gho` in schema `\xe0_t_`).
  const std::string found = "CREATE UNIQUE INDEX _t_gho ON \xe0_t_.5gho` (_t_gho)";
  const std::string rewritten = rewrite_ddl(found, {"\xe0_t_", "5gho"}, "test", {"test", "t"});
  const Statement w = classify(rewritten);  // views into `rewritten`: keep it alive
  ASSERT_FALSE(w.tables().empty());
  EXPECT_EQ(w.tables()[0].table, "t");
  // No space where none is needed.
  EXPECT_EQ(rewrite_ddl("DROP INDEX i ON`x`.`y`", {"x", "y"}, "", {"test", "t"}),
            "DROP INDEX i ON`test`.`t`");
}

// ---------------------------------------------------------------------------------------------
// fuzz_online_ddl

class SetCatalog : public Catalog {
 public:
  std::optional<bool> table_exists(const QualifiedName& name) const override {
    return tables.count(name) > 0;
  }
  std::set<QualifiedName> tables{{"test", "t"}, {"test", "u"}, {"test", "a b"}};
};

class FuzzRegressionEngine : public ::testing::Test {
 protected:
  FuzzRegressionEngine() : engine_(TableRules::defaults()) {}

  Plan plan(const std::string& sql, std::string_view db = "test") {
    const Statement st = classify(sql);
    return engine_.plan(st, db, catalog_);
  }
  Plan run(const std::string& sql, std::string_view db = "test") {
    Plan p = plan(sql, db);
    for (const Step& s : p.steps) {
      if (s.kind != Step::Kind::backend_sql) {
        engine_.apply(s);
      }
    }
    return p;
  }
  static std::vector<std::string> backend_sql(const Plan& p) {
    std::vector<std::string> out;
    for (const Step& s : p.steps) {
      if (s.kind == Step::Kind::backend_sql) {
        out.push_back(s.sql);
      }
    }
    return out;
  }

  Engine engine_;
  SetCatalog catalog_;
};

// With no database selected, a helper table written qualified next to a real one written
// unqualified was rewritten to `OPTIMIZE TABLE ``` (the unresolvable name quoted as empty), and
// the same for DROP TABLE and RENAME TABLE: a backend statement with a name that is not
// qualified, contrary to "every name in it is qualified". MySQL answers such a statement with
// ER_NO_DB_ERROR; the engine now does too, and sends nothing.
TEST_F(FuzzRegressionEngine, NoDatabaseSelectedIsRefusedLikeMySql) {
  // The input the fuzzer found.
  Plan p = plan("optimize table test.`_a b_gho`, t", "");
  EXPECT_EQ(p.verdict, Plan::Verdict::refuse);
  EXPECT_EQ(p.error_code, 1046);
  EXPECT_EQ(p.sql_state, "3D000");
  EXPECT_TRUE(p.steps.empty());
  for (const char* sql : {"DROP TABLE test._t_gho, t", "DROP TABLE IF EXISTS `test`.`_t_del`, u",
                          "RENAME TABLE test.t TO test._t_del, test._t_gho TO t",
                          "ALTER TABLE test._t_gho RENAME TO t", "ANALYZE TABLE test._t_new, u"}) {
    p = plan(sql, "");
    EXPECT_EQ(p.verdict, Plan::Verdict::refuse) << sql;
    EXPECT_EQ(p.error_code, 1046) << sql;
  }
  // With a database, or fully qualified, they are planned as before.
  p = plan("optimize table test.`_a b_gho`, t", "test");
  EXPECT_EQ(backend_sql(p), std::vector<std::string>{"optimize table `test`.`t`"});
  p = plan("DROP TABLE test._t_gho, test.t", "");
  EXPECT_EQ(backend_sql(p), std::vector<std::string>{"DROP TABLE `test`.`t`"});
}

// A RENAME that renamed one ghost twice (`_T_new TO <trash>, _T_new TO <real>`) was planned pair
// by pair against the registry as it was before the statement: the plan forgot the ghost
// (abandoned, first pair), then ran its recorded DDL on the real table and forgot it again (cut
// over, second pair). MySQL fails such a RENAME (the second source no longer exists), so it
// never reaches the binlog; the engine now refuses it, and likewise two pairs onto one name.
TEST_F(FuzzRegressionEngine, RenameOfOneTableTwiceIsRefused) {
  run("ALTER TABLE _t_gho ADD c INT");
  Plan p = plan("RENAME TABLE _t_gho TO _t_del, `_t_gho` TO t");
  EXPECT_EQ(p.verdict, Plan::Verdict::refuse);
  EXPECT_TRUE(p.steps.empty());
  EXPECT_NE(p.error_message.find("twice from"), std::string::npos) << p.error_message;
  p = plan("RENAME TABLE _t_gho TO t, u TO t");
  EXPECT_EQ(p.verdict, Plan::Verdict::refuse);
  EXPECT_NE(p.error_message.find("twice onto"), std::string::npos) << p.error_message;
  EXPECT_NE(engine_.find({"test", "_t_gho"}), nullptr);
  // Chains stay valid: the real table moves away, then the ghost takes its name.
  p = run("RENAME TABLE t TO _t_del, _t_gho TO t");
  EXPECT_EQ(p.verdict, Plan::Verdict::local);
  EXPECT_EQ(backend_sql(p), std::vector<std::string>{"ALTER TABLE `test`.`t` ADD c INT"});
  EXPECT_EQ(engine_.find({"test", "_t_gho"}), nullptr);
}

// A RENAME with a dangling pair (`_t_gho TO t, x`, a syntax error) ran the cut-over of its
// complete pair and answered OK. Not understood: it is forwarded now and the backend decides.
TEST_F(FuzzRegressionEngine, PartialRenameIsForwarded) {
  run("ALTER TABLE _t_gho ADD c INT");
  const Plan p = plan("RENAME TABLE _t_gho TO t, x");
  EXPECT_EQ(p.verdict, Plan::Verdict::forward);
  EXPECT_NE(engine_.find({"test", "_t_gho"}), nullptr);
}

// A child table's ALTER with a FOREIGN KEY on a ghost, the child unqualified and no database
// selected, was rewritten onto the ghost's real table and sent with the child still unqualified
// (`alter table `_we``ird_gho` add foreign key (a) references `_vt`.<ghost>`): a backend statement
// for any pooled connection with a name that is not qualified. Refused like MySQL now.
TEST_F(FuzzRegressionEngine, ChildConstraintWithNoDatabaseIsRefused) {
  run("ALTER TABLE test._t_gho ADD c INT");
  Plan p = plan("alter table u add foreign key (a) references test._t_gho (id)", "");
  EXPECT_EQ(p.verdict, Plan::Verdict::refuse);
  EXPECT_EQ(p.error_code, 1046);
  EXPECT_TRUE(p.steps.empty());
  p = plan("alter table test.u add foreign key (a) references test._t_gho (id)", "");
  EXPECT_EQ(backend_sql(p), std::vector<std::string>{"alter table test.u add foreign key (a) "
                                                     "references `test`.`t` (id)"});
}

// With no database selected, `ALTER TABLE db2._t_gho ADD FOREIGN KEY (a) REFERENCES p (id)` was
// recorded as written (qualify_table_refs did nothing without a current database), so its
// cut-over sent `REFERENCES p` unqualified to a pooled connection. The REFERENCES table is in
// the altered table's schema: it is qualified with it now, whatever the session's database.
TEST_F(FuzzRegressionEngine, ReferencesOfAQualifiedGhostAreQualifiedWithoutADatabase) {
  EXPECT_EQ(qualify_table_refs("ALTER TABLE test._t_gho ADD FOREIGN KEY (a) REFERENCES u (id)", ""),
            "ALTER TABLE test._t_gho ADD FOREIGN KEY (a) REFERENCES `test`.u (id)");
  run("alter /* gh-ost */ table test._t_gho add foreign key (a) references `u`(id)", "");
  const Plan p = plan("rename table test._t_gho to test.t", "");
  EXPECT_EQ(backend_sql(p), std::vector<std::string>{"alter /* gh-ost */ table `test`.`t` add "
                                                     "foreign key (a) references `test`.`u`(id)"});
}

}  // namespace
}  // namespace ghostgate::rules
