// Inputs found by the rules fuzzers (fuzz/targets/{lexer,splitter,classifier,online_ddl,
// shard_ddl,shard_group,shard_routes,schema_diff}.cc, scripts/fuzz.sh), kept as regression tests.
// Each names the target that found it, what was wrong, and the fix.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "rules/classifier.h"
#include "rules/lexer.h"
#include "rules/online_ddl.h"
#include "rules/schema_diff.h"
#include "rules/shard_ddl.h"
#include "rules/shard_group.h"

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

// ---------------------------------------------------------------------------------------------
// fuzz_shard_ddl

// The canonical text of every understood spec normalises to itself (two shards' equal changes
// must have equal texts, and the group stores and re-runs that text).
std::string normalized_again(const std::string& ddl) {
  const QualifiedName target{"shop", "orders"};
  const NormalizedSet set = normalize_ddls({ddl}, target);
  if (set.specs.size() != 1) {
    return "specs: " + std::to_string(set.specs.size());
  }
  const NormalizedSet again = normalize_ddls({spec_sql(target, set.specs[0].text)}, target);
  if (again.specs.size() != 1 || again.specs[0] != set.specs[0]) {
    return "not a fixed point: " + set.specs[0].text;
  }
  return std::string(to_string(set.specs[0].kind)) + ": " + set.specs[0].text;
}

// A COLLATE after the column's attributes was appended to a type that already had one:
// `varchar(1) collate a collate b`, which reads back as `varchar(1) collate b`. The last one
// wins (as it did when read back) and the type says it once.
TEST(FuzzRegression, ShardSpecSecondCollateReplacesTheFirst) {
  EXPECT_EQ(normalized_again("ALTER TABLE shop.orders ADD COLUMN c varchar(1) COLLATE a NOT NULL "
                             "COLLATE b"),
            "add_column: ADD COLUMN `c` varchar(1) collate b NOT NULL");
  EXPECT_EQ(normalized_again("ALTER TABLE shop.orders MODIFY c varchar(1) NOT NULL COLLATE b"),
            "modify_column: MODIFY COLUMN `c` varchar(1) collate b NOT NULL");
}

// A character set or collation name written quoted with a space (`my cs`) was written back bare
// (`character set my cs`), which does not read back. No character set or collation has such a
// name: it is now not understood (an `unknown` spec, a conflict), as any other unknown name
// would be on the server.
TEST(FuzzRegression, ShardSpecCharsetNameMustBeAName) {
  EXPECT_EQ(normalized_again("ALTER TABLE shop.orders ADD COLUMN c varchar(1) CHARSET `my cs`"),
            "unknown: ADD COLUMN c varchar(1) CHARSET `my cs`");
  EXPECT_EQ(normalized_again("ALTER TABLE shop.orders DEFAULT CHARSET='a b'"),
            "unknown: DEFAULT CHARSET='a b'");
  EXPECT_EQ(normalized_again("ALTER TABLE shop.orders ADD COLUMN c varchar(1) CHARSET "
                             "'UTF8MB4' COLLATE `utf8mb4_bin`"),
            "add_column: ADD COLUMN `c` varchar(1) character set utf8mb4 collate utf8mb4_bin");
}

// DECIMAL(2147483648,1) made the precision INT_MIN and `precision - scale` overflowed (UB).
// Precision, scale and fractional seconds beyond MySQL's limits (65, 30, 6) are not a type the
// server accepts: not understood now. A VARCHAR so long that 4 bytes per character wrapped
// around compared as the same as a TEXT.
TEST(FuzzRegression, ShardTypeArgumentsBeyondMySqlLimits) {
  EXPECT_EQ(compare_types("decimal(2147483648,1)", "decimal(10,2)"), TypeChange::incomparable);
  EXPECT_EQ(compare_types("decimal(10,2)", "decimal(66,2)"), TypeChange::incomparable);
  EXPECT_EQ(compare_types("decimal(40,31)", "decimal(40,30)"), TypeChange::incomparable);
  EXPECT_EQ(compare_types("datetime(7)", "datetime(6)"), TypeChange::incomparable);
  EXPECT_EQ(compare_types("decimal(65,30)", "decimal(60,30)"), TypeChange::narrower);
  EXPECT_EQ(compare_types("datetime(3)", "datetime(6)"), TypeChange::wider);
  // 4 * 2^62 wrapped to 0, so TEXT "held" it too: `same`.
  EXPECT_EQ(compare_types("varchar(4611686018427387904)", "text"), TypeChange::narrower);
  EXPECT_EQ(compare_types("varchar(100)", "text"), TypeChange::wider);
  EXPECT_EQ(normalized_again("ALTER TABLE shop.orders ADD COLUMN c decimal(2147483648,1)"),
            "unknown: ADD COLUMN c decimal(2147483648,1)");
}

// ---------------------------------------------------------------------------------------------
// fuzz_shard_group

// A recorded DDL is bytes in the binlog's character set, not always UTF-8 (a latin1 column name
// or COMMENT). to_json() replaced such bytes with U+FFFD, so the state read back after a restart
// named another column: the member's resent cut-over, or another shard bringing the same change,
// no longer matched its version and was refused as a conflict. The state now keeps every byte.
TEST(FuzzRegression, ShardGroupStateKeepsBytesThatAreNotUtf8) {
  const QualifiedName target{"shop", "orders"};
  const ShardGroupConfig config{target, 2, {}};
  const QualifiedName shard_1{"shard_1", "orders_1"};
  const QualifiedName shard_2{"shard_2", "orders_2"};
  const NormalizedSet set = normalize_ddls(
      {"ALTER TABLE `shop`.`orders` ADD COLUMN `caf\xe9` int COMMENT 'd\xe9j\xe0 vu'"}, target);
  ASSERT_EQ(set.specs.size(), 1u);
  ASSERT_EQ(set.specs[0].kind, SpecKind::add_column);
  TargetSchema schema;
  schema.indexes.insert("primary");

  ShardGroup group(config, ShardMode::optimistic);
  const ShardDecision first = group.decide(shard_1, set, schema);
  ASSERT_EQ(first.verdict, ShardDecision::Verdict::ok);
  for (const ShardStep& step : first.steps) {
    if (step.kind == ShardStep::Kind::run_spec) {
      schema.columns["caf\xe9"] = ColumnInfo{"int", true};
    } else {
      ASSERT_TRUE(group.apply(step));
    }
  }
  std::string error;
  const std::optional<ShardGroup> back =
      ShardGroup::from_json(group.to_json(), config, ShardMode::optimistic, &error);
  ASSERT_TRUE(back.has_value()) << error;
  EXPECT_EQ(*back, group);
  EXPECT_EQ(back->to_json(), group.to_json());
  // After the restart the second shard's same change is recognised.
  const ShardDecision second = back->decide(shard_2, set, schema);
  EXPECT_EQ(second.verdict, ShardDecision::Verdict::ok) << second.message;
  // Valid UTF-8 is written as it is.
  EXPECT_NE(ShardGroup(ShardGroupConfig{{"caf\xc3\xa9", "t"}, 1, {}}, ShardMode::optimistic)
                .to_json()
                .find("\"caf\xc3\xa9\""),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// fuzz_schema_diff

// A definition naming one column (or index) twice, `b` and `B`, compared with itself asked for
// `MODIFY COLUMN `b` ...`: parts were paired by name, and the second `b` met the first. No server
// prints such a table; it is now a definition the parser does not understand, so nothing runs.
TEST(FuzzRegression, RevertRefusesADefinitionWithADuplicateName) {
  const std::string columns =
      "CREATE TABLE `t` (\n"
      "  `id` int(11) NOT NULL,\n"
      "  `b` int(11) DEFAULT NULL,\n"
      "  `B` int(10) DEFAULT NULL,\n"
      "  PRIMARY KEY (`id`)\n"
      ") ENGINE=InnoDB";
  const std::string indexes =
      "CREATE TABLE `t` (\n"
      "  `id` int(11) NOT NULL,\n"
      "  `a` int(11) DEFAULT NULL,\n"
      "  PRIMARY KEY (`id`),\n"
      "  KEY `ix` (`a`),\n"
      "  UNIQUE KEY `IX` (`id`,`a`)\n"
      ") ENGINE=InnoDB";
  for (const std::string& text : {columns, indexes}) {
    std::string error;
    EXPECT_FALSE(parse_table_definition(text, &error).has_value()) << text;
    EXPECT_NE(error.find("twice"), std::string::npos) << error;
    const RevertDiff same = revert_statements(text, text, {"test", "t"});
    EXPECT_TRUE(same.statements.empty()) << same.statements[0];
    EXPECT_FALSE(same.lossy.empty());
  }
}

}  // namespace
}  // namespace ghostgate::rules
