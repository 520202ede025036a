#include "rules/shard_ddl.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "rules/online_ddl.h"

namespace ghostgate::rules {
namespace {

const QualifiedName kTarget{"shop", "orders"};

// The specs' texts joined by " | "; an unknown spec is marked "?".
std::string describe(const NormalizedSet& set) {
  std::string out;
  for (const AlterSpec& s : set.specs) {
    out += out.empty() ? "" : " | ";
    out += (s.kind == SpecKind::unknown ? "?" : "") + s.text;
  }
  return out;
}

std::string normalized(std::vector<std::string> ddls) {
  return describe(normalize_ddls(ddls, kTarget));
}

// A shard's recorded DDL as the engine hands it over: rewritten from its ghost onto the target.
std::string from_ghost(std::string_view ddl, std::string_view shard, std::string_view ghost) {
  return rewrite_ddl(ddl, QualifiedName{std::string(shard), std::string(ghost)}, shard, kTarget);
}

// The DDLs the two shard traces record (shared/shard-traces/*/trace.sql).
std::vector<std::string> ghost_trace_shard(int shard, std::string_view auto_increment) {
  const std::string s = "shard_" + std::to_string(shard);
  const std::string g = "_orders_" + std::to_string(shard) + "_gho";
  return {from_ghost("alter /* gh-ost */ table `" + s + "`.`" + g +
                         "` add column note varchar(20) default null, add index ix_a(a)",
                     s, g),
          from_ghost("alter /* gh-ost */ table `" + s + "`.`" + g +
                         "` AUTO_INCREMENT=" + std::string(auto_increment),
                     s, g)};
}

std::vector<std::string> ptosc_trace_shard(int shard) {
  const std::string s = "shard_" + std::to_string(shard);
  const std::string g = "_orders_" + std::to_string(shard) + "_new";
  return {from_ghost("ALTER TABLE `" + s + "`.`" + g +
                         "` add column note varchar(20) default null, add index ix_a(a)",
                     s, g)};
}

TEST(ShardNormalize, TheTracesDdls) {
  const std::vector<std::string> ghost1 = ghost_trace_shard(1, "1000526");
  EXPECT_EQ(ghost1[0],
            "alter /* gh-ost */ table `shop`.`orders` add column note varchar(20) default null, "
            "add index ix_a(a)");
  EXPECT_EQ(describe(normalize_ddls(ghost1, kTarget)),
            "ADD COLUMN `note` varchar(20) | ADD INDEX `ix_a` (`a`)");
  EXPECT_EQ(describe(normalize_ddls(ptosc_trace_shard(3), kTarget)),
            "ADD COLUMN `note` varchar(20) | ADD INDEX `ix_a` (`a`)");
}

struct NormalizeCase {
  std::string_view ddl;
  std::string_view expected;
};

class ShardNormalizeTable : public ::testing::TestWithParam<NormalizeCase> {};

TEST_P(ShardNormalizeTable, Specs) {
  EXPECT_EQ(normalized({std::string(GetParam().ddl)}), GetParam().expected) << GetParam().ddl;
}

INSTANTIATE_TEST_SUITE_P(
    Ddls, ShardNormalizeTable,
    ::testing::Values(
        // Comments, positions, quoting, case, NULL / DEFAULT NULL on a nullable column.
        NormalizeCase{"ALTER /* a */ TABLE /* b */ `shop`.`orders` /* c */ ADD /* d */ COLUMN "
                      "`Note` VARCHAR(20) NULL DEFAULT NULL AFTER `a` -- e\n",
                      "ADD COLUMN `note` varchar(20)"},
        NormalizeCase{"alter table shop.orders add note varchar(20) first",
                      "ADD COLUMN `note` varchar(20)"},
        NormalizeCase{"ALTER TABLE orders ADD COLUMN note varchar(20)",  // qualified earlier
                      "ADD COLUMN `note` varchar(20)"},
        NormalizeCase{"ALTER TABLE shop.orders ADD COLUMN x int(11) DEFAULT '0' NOT NULL "
                      "COMMENT 'the x'",
                      "ADD COLUMN `x` int NOT NULL DEFAULT '0' COMMENT 'the x'"},
        NormalizeCase{"ALTER TABLE shop.orders ADD COLUMN x INTEGER NOT NULL DEFAULT -1, "
                      "ALGORITHM=INPLACE, LOCK=NONE",
                      "ADD COLUMN `x` int NOT NULL DEFAULT -1"},
        NormalizeCase{"ALTER TABLE shop.orders ADD COLUMN `NOTE` VARCHAR(20) CHARSET utf8mb4 "
                      "COLLATE utf8mb4_bin",
                      "ADD COLUMN `note` varchar(20) character set utf8mb4 collate utf8mb4_bin"},
        NormalizeCase{"ALTER TABLE shop.orders ADD COLUMN t timestamp(3) NOT NULL DEFAULT "
                      "CURRENT_TIMESTAMP(3) ON UPDATE now(3)",
                      "ADD COLUMN `t` timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE "
                      "CURRENT_TIMESTAMP(3)"},
        NormalizeCase{"ALTER TABLE shop.orders ADD COLUMN u varchar(36) NOT NULL DEFAULT "
                      "(uuid())",
                      "ADD COLUMN `u` varchar(36) NOT NULL DEFAULT (UUID())"},
        NormalizeCase{"ALTER TABLE shop.orders ADD COLUMN s int GENERATED ALWAYS AS (a + `B`) "
                      "STORED",
                      "ADD COLUMN `s` int AS (A + `b`) STORED"},
        NormalizeCase{"ALTER TABLE shop.orders ADD COLUMN f tinyint(1) unsigned zerofill, ADD "
                      "COLUMN g bool, ADD COLUMN h DOUBLE PRECISION",
                      "ADD COLUMN `f` tinyint(1) unsigned zerofill | ADD COLUMN `g` tinyint(1) | "
                      "ADD COLUMN `h` double"},
        NormalizeCase{"ALTER TABLE shop.orders ADD COLUMN x int /*!80023 INVISIBLE */",
                      "ADD COLUMN `x` int INVISIBLE"},
        NormalizeCase{"ALTER TABLE shop.orders ADD COLUMN IF NOT EXISTS x int",  // MariaDB
                      "ADD COLUMN `x` int"},
        NormalizeCase{"ALTER TABLE shop.orders ADD COLUMN (x int, y varchar(5) NOT NULL)",
                      "ADD COLUMN `x` int | ADD COLUMN `y` varchar(5) NOT NULL"},
        // gh-ost's AUTO_INCREMENT, ALGORITHM and LOCK are dropped; other table options kept.
        NormalizeCase{"ALTER TABLE `shop`.`orders` AUTO_INCREMENT=1000526", ""},
        NormalizeCase{"ALTER TABLE shop.orders ALGORITHM = INPLACE, LOCK = SHARED", ""},
        NormalizeCase{"ALTER TABLE shop.orders engine = innodb AUTO_INCREMENT 5, COMMENT 'o''k'",
                      "ENGINE=INNODB | COMMENT='o''k'"},
        NormalizeCase{"ALTER TABLE shop.orders DEFAULT CHARACTER SET = UTF8MB4, FORCE",
                      "DEFAULT CHARSET=utf8mb4 | FORCE"},
        // One spec each.
        NormalizeCase{"ALTER TABLE shop.orders DROP COLUMN b, DROP `d` RESTRICT, DROP KEY ix_b, "
                      "DROP INDEX IF EXISTS Ix_C",
                      "DROP COLUMN `b` | DROP COLUMN `d` | DROP INDEX `ix_b` | DROP INDEX `ix_c`"},
        NormalizeCase{"ALTER TABLE shop.orders MODIFY d varchar(64) after a, MODIFY COLUMN e "
                      "DECIMAL(10,2) FIRST, CHANGE b b bigint, CHANGE COLUMN b c int",
                      "MODIFY COLUMN `d` varchar(64) | MODIFY COLUMN `e` decimal(10,2) | MODIFY "
                      "COLUMN `b` bigint | CHANGE COLUMN `b` `c` int"},
        NormalizeCase{"ALTER TABLE shop.orders ALTER COLUMN a SET DEFAULT 5, ALTER b DROP "
                      "DEFAULT, ALTER COLUMN d SET INVISIBLE",
                      "ALTER COLUMN `a` SET DEFAULT 5 | ALTER COLUMN `b` DROP DEFAULT | ALTER "
                      "COLUMN `d` SET INVISIBLE"},
        NormalizeCase{"ALTER TABLE shop.orders RENAME COLUMN b TO c, RENAME KEY ix_b TO ix_c, "
                      "ALTER INDEX ix_c INVISIBLE",
                      "RENAME COLUMN `b` TO `c` | RENAME INDEX `ix_b` TO `ix_c` | ALTER INDEX "
                      "`ix_c` INVISIBLE"},
        // Indexes: KEY = INDEX, ASC dropped, USING moved after the key parts, CONSTRAINT names.
        NormalizeCase{"ALTER TABLE shop.orders ADD KEY `IX_A` (`A` ASC, b(10) DESC)",
                      "ADD INDEX `ix_a` (`a`, `b`(10) DESC)"},
        NormalizeCase{"ALTER TABLE shop.orders ADD UNIQUE KEY ux USING BTREE (a) COMMENT 'u'",
                      "ADD UNIQUE INDEX `ux` (`a`) USING BTREE COMMENT 'u'"},
        NormalizeCase{"ALTER TABLE shop.orders ADD CONSTRAINT uq UNIQUE (a)",
                      "ADD UNIQUE INDEX `uq` (`a`)"},
        NormalizeCase{"ALTER TABLE shop.orders ADD INDEX (a), ADD FULLTEXT ft (d)",
                      "ADD INDEX (`a`) | ADD FULLTEXT INDEX `ft` (`d`)"},
        NormalizeCase{"ALTER TABLE shop.orders ADD INDEX ix_f ((a + 1))",
                      "ADD INDEX `ix_f` ((A + 1))"},
        NormalizeCase{"CREATE INDEX ix_a ON `shop`.`orders` (a)", "ADD INDEX `ix_a` (`a`)"},
        NormalizeCase{"CREATE UNIQUE INDEX ux USING BTREE ON shop.orders (a, b(10) DESC) "
                      "ALGORITHM=INPLACE LOCK=NONE",
                      "ADD UNIQUE INDEX `ux` (`a`, `b`(10) DESC) USING BTREE"},
        NormalizeCase{"DROP INDEX ix_a ON shop.orders ALGORITHM=INPLACE", "DROP INDEX `ix_a`"},
        NormalizeCase{"ALTER ONLINE IGNORE TABLE IF EXISTS shop.orders NOWAIT ADD COLUMN x int",
                      "ADD COLUMN `x` int"},
        // Kept verbatim, as unknown.
        NormalizeCase{"ALTER TABLE shop.orders ADD PRIMARY KEY (id), ADD COLUMN x int",
                      "?ADD PRIMARY KEY (id) | ADD COLUMN `x` int"},
        NormalizeCase{"ALTER TABLE shop.orders PARTITION BY HASH(id) PARTITIONS 4",
                      "?PARTITION BY HASH(id) PARTITIONS 4"},
        NormalizeCase{"ALTER TABLE shop.orders CONVERT TO CHARACTER SET utf8mb4",
                      "?CONVERT TO CHARACTER SET utf8mb4"},
        NormalizeCase{"ALTER TABLE shop.orders ADD COLUMN x int FOO", "?ADD COLUMN x int FOO"},
        NormalizeCase{"ALTER TABLE shop.orders ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES "
                      "t (id)",
                      "?ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES t (id)"},
        NormalizeCase{"ALTER TABLE shop.orders RENAME TO shop.orders_old",
                      "?RENAME TO shop.orders_old"},
        NormalizeCase{"ALTER TABLE shop.orders ADD COLUMN x int,, DROP COLUMN y",
                      "ADD COLUMN `x` int | ?, | DROP COLUMN `y`"},
        NormalizeCase{"ALTER TABLE shop.items ADD COLUMN x int",
                      "?ALTER TABLE shop.items ADD COLUMN x int"},
        NormalizeCase{"ALTER TABLE other.orders ADD COLUMN x int",
                      "?ALTER TABLE other.orders ADD COLUMN x int"},
        NormalizeCase{"TRUNCATE shop.orders", "?TRUNCATE shop.orders"},
        NormalizeCase{"ALTER TABLE shop.orders ADD COLUMN x varchar(5) DEFAULT 'x",
                      "?ALTER TABLE shop.orders ADD COLUMN x varchar(5) DEFAULT 'x"}));

TEST(ShardNormalize, EqualChangesCompareEqual) {
  auto texts = [](const std::vector<std::string>& ddls) {
    return spec_texts(normalize_ddls(ddls, kTarget));
  };
  // gh-ost and pt-osc on different shards; gh-ost's AUTO_INCREMENT differs per shard.
  EXPECT_TRUE(same_set(texts(ghost_trace_shard(1, "1000526")), texts(ptosc_trace_shard(2))));
  EXPECT_TRUE(
      same_set(texts(ghost_trace_shard(1, "1000526")), texts(ghost_trace_shard(2, "2000593"))));
  // Other order, other spelling.
  EXPECT_TRUE(same_set(texts({"ALTER TABLE shop.orders add column note varchar(20) default "
                              "null, add index ix_a(a)"}),
                       texts({"ALTER TABLE `shop`.`orders` ADD INDEX `IX_A`(`a`)",
                              "ALTER TABLE `shop`.`orders` ADD `note` VARCHAR(20)"})));
  EXPECT_TRUE(same_set(texts({"CREATE INDEX ix ON shop.orders (a)"}),
                       texts({"ALTER TABLE shop.orders ADD KEY ix (a)"})));
  EXPECT_FALSE(same_set(texts({"ALTER TABLE shop.orders ADD COLUMN note varchar(20)"}),
                        texts({"ALTER TABLE shop.orders ADD COLUMN note varchar(30)"})));
  EXPECT_FALSE(same_set(texts({"ALTER TABLE shop.orders ADD COLUMN a int, ADD COLUMN a int"}),
                        texts({"ALTER TABLE shop.orders ADD COLUMN a int"})));
}

TEST(ShardNormalize, SpecFields) {
  const NormalizedSet set = normalize_ddls(
      {"ALTER TABLE shop.orders ADD COLUMN n int NOT NULL DEFAULT 0, ADD UNIQUE ux (A, b), "
       "CHANGE b c int, ADD COLUMN t datetime DEFAULT now()"},
      kTarget);
  ASSERT_EQ(set.specs.size(), 4U);
  EXPECT_EQ(set.specs[0].kind, SpecKind::add_column);
  EXPECT_EQ(set.specs[0].subject, "n");
  EXPECT_EQ(set.specs[0].type, "int");
  EXPECT_TRUE(set.specs[0].not_null);
  EXPECT_EQ(set.specs[0].default_kind, DefaultKind::literal);
  EXPECT_EQ(set.specs[1].kind, SpecKind::add_index);
  EXPECT_TRUE(set.specs[1].unique);
  EXPECT_EQ(set.specs[1].index_columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(set.specs[2].kind, SpecKind::rename_column);
  EXPECT_EQ(set.specs[2].new_name, "c");
  EXPECT_EQ(set.specs[3].default_kind, DefaultKind::current_timestamp);
  EXPECT_EQ(spec_sql(kTarget, set.specs[0].text),
            "ALTER TABLE `shop`.`orders` ADD COLUMN `n` int NOT NULL DEFAULT 0");
}

// Every prefix of statements full of clauses: no crash, and every spec has a text (an unknown
// spec keeps its source).
TEST(ShardNormalize, EveryPrefixIsSafe) {
  const std::vector<std::string> statements = {
      "ALTER /*!50100 ONLINE */ TABLE `shop`.`orders` ADD COLUMN (x int NOT NULL DEFAULT -1 "
      "COMMENT 'c', y varchar(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin), ADD UNIQUE KEY "
      "ux USING BTREE (a(10) DESC, (b + 1)) COMMENT 'u' KEY_BLOCK_SIZE=8, MODIFY d enum('a','b') "
      "NULL DEFAULT 'a' AFTER a, CHANGE COLUMN e e decimal(10,2) unsigned zerofill FIRST, ALTER "
      "COLUMN a SET DEFAULT (rand()), RENAME INDEX i TO j, ALTER INDEX j NOT IGNORED, ENGINE = "
      "InnoDB DEFAULT CHARSET=utf8mb4 AUTO_INCREMENT=5, ALGORITHM=INPLACE, LOCK=NONE",
      "CREATE OR REPLACE UNIQUE INDEX IF NOT EXISTS ux USING HASH ON shop.orders (a, b(3)) "
      "WITH PARSER ngram VISIBLE ALGORITHM=COPY",
      "DROP INDEX ONLINE IF EXISTS ix ON `shop`.`orders` LOCK = SHARED",
      "ALTER TABLE shop.orders ADD COLUMN t timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) "
      "ON UPDATE CURRENT_TIMESTAMP(6) GENERATED ALWAYS AS (a) STORED REFERENCES x (y)"};
  for (const std::string& statement : statements) {
    for (std::size_t n = 0; n <= statement.size(); ++n) {
      const NormalizedSet set = normalize_ddls({statement.substr(0, n)}, kTarget);
      for (const AlterSpec& s : set.specs) {
        EXPECT_FALSE(s.text.empty()) << statement.substr(0, n);
      }
      (void)classify_set(set, TargetSchema{});
    }
  }
}

struct TypeCase {
  std::string_view from;
  std::string_view to;
  TypeChange expected;
};

class ShardTypeWidening : public ::testing::TestWithParam<TypeCase> {};

TEST_P(ShardTypeWidening, Compare) {
  EXPECT_EQ(compare_types(GetParam().from, GetParam().to), GetParam().expected)
      << GetParam().from << " -> " << GetParam().to;
}

constexpr TypeChange kSame = TypeChange::same;
constexpr TypeChange kWider = TypeChange::wider;
constexpr TypeChange kNarrower = TypeChange::narrower;
constexpr TypeChange kNeither = TypeChange::incomparable;

INSTANTIATE_TEST_SUITE_P(
    Types, ShardTypeWidening,
    ::testing::Values(
        // Integers by size and signedness (information_schema spells display widths).
        TypeCase{"int(11)", "int", kSame}, TypeCase{"integer", "int(10)", kSame},
        TypeCase{"int(11)", "bigint", kWider}, TypeCase{"bigint(20)", "int(11)", kNarrower},
        TypeCase{"tinyint(4)", "smallint", kWider}, TypeCase{"bool", "tinyint(1)", kSame},
        TypeCase{"int(10) unsigned", "bigint", kWider},
        TypeCase{"int unsigned", "bigint unsigned", kWider},
        TypeCase{"int", "int unsigned", kNeither},
        TypeCase{"smallint unsigned", "smallint", kNeither},
        TypeCase{"int", "bigint unsigned", kNeither}, TypeCase{"mediumint unsigned", "int", kWider},
        // Decimals: integer digits and scale.
        TypeCase{"decimal(8,2)", "decimal(10,2)", kWider},
        TypeCase{"decimal(10,2)", "decimal(8,2)", kNarrower},
        TypeCase{"decimal(8,2)", "decimal(9,3)", kWider},
        TypeCase{"decimal(8,2)", "decimal(8,3)", kNeither},
        TypeCase{"decimal", "decimal(10,0)", kSame}, TypeCase{"numeric(5)", "decimal(5,0)", kSame},
        TypeCase{"int(11)", "decimal(12,2)", kWider}, TypeCase{"int", "decimal(10,2)", kNeither},
        TypeCase{"decimal(8,2) unsigned", "decimal(8,2)", kWider},
        // Floating point.
        TypeCase{"float", "double", kWider}, TypeCase{"double", "float", kNarrower},
        TypeCase{"float(30)", "double", kSame}, TypeCase{"int", "double", kWider},
        TypeCase{"bigint", "double", kNeither}, TypeCase{"smallint", "float", kWider},
        // Strings.
        TypeCase{"varchar(20)", "varchar(40)", kWider},
        TypeCase{"varchar(40)", "varchar(20)", kNarrower},
        TypeCase{"char(10)", "varchar(10)", kWider}, TypeCase{"varchar(10)", "char(10)", kNarrower},
        TypeCase{"char(10)", "char(20)", kWider}, TypeCase{"char", "char(1)", kSame},
        TypeCase{"varchar(100)", "text", kWider}, TypeCase{"text", "varchar(100)", kNarrower},
        TypeCase{"varchar(20000)", "text", kNeither}, TypeCase{"text", "mediumtext", kWider},
        TypeCase{"longtext", "text", kNarrower},
        TypeCase{"varchar(20) character set latin1", "varchar(20) character set utf8mb4", kWider},
        TypeCase{"varchar(20) charset utf8mb4", "varchar(20) charset latin1", kNarrower},
        TypeCase{"varchar(20) character set utf8mb4", "varchar(20) character set ucs2", kNeither},
        TypeCase{"varchar(20)", "varbinary(20)", kNeither},
        TypeCase{"binary(4)", "binary(8)", kNeither},  // zero padding changes every value
        TypeCase{"binary(4)", "varbinary(8)", kWider}, TypeCase{"varbinary(8)", "blob", kWider},
        TypeCase{"blob", "text", kNeither},
        // Enums and sets: members appended or removed.
        TypeCase{"enum('a','b')", "enum('a','b','c')", kWider},
        TypeCase{"enum('a','b','c')", "enum('a','b')", kNarrower},
        TypeCase{"enum('a','b')", "enum('b','c')", kNeither},
        TypeCase{"set('x')", "set('x','y')", kWider}, TypeCase{"enum('x')", "set('x')", kNeither},
        // Dates and times.
        TypeCase{"datetime", "datetime(3)", kWider}, TypeCase{"date", "datetime", kWider},
        TypeCase{"timestamp", "datetime", kWider}, TypeCase{"datetime", "timestamp", kNarrower},
        TypeCase{"time(3)", "time", kNarrower}, TypeCase{"date", "timestamp", kNeither},
        TypeCase{"year(4)", "year", kSame},
        // The rest: equal or not.
        TypeCase{"bit(1)", "bit(8)", kWider}, TypeCase{"json", "json", kSame},
        TypeCase{"json", "text", kNeither}, TypeCase{"geometry", "point", kNeither},
        TypeCase{"point", "POINT", kSame}, TypeCase{"int", "varchar(10)", kNeither},
        TypeCase{"mystery(1)", "mystery(1)", kSame},
        TypeCase{"mystery(1)", "mystery(2)", kNeither}));

// The trace's merged table, plus an enum column and a secondary index.
TargetSchema trace_target() {
  TargetSchema t;
  t.columns = {{"id", {"bigint(20)", false}}, {"a", {"int(11)", false}},
               {"b", {"int(11)", true}},      {"d", {"varchar(32)", true}},
               {"e", {"decimal(8,2)", true}}, {"created", {"datetime", false}},
               {"s", {"enum('x','y')", true}}};
  t.indexes = {"primary", "ix_b"};
  return t;
}

struct ClassifyCase {
  std::string_view ddl;  // on shop.orders
  std::string_view expected;
};

class ShardClassify : public ::testing::TestWithParam<ClassifyCase> {};

TEST_P(ShardClassify, Classes) {
  const NormalizedSet set = normalize_ddls({std::string(GetParam().ddl)}, kTarget);
  std::string got;
  for (const Classification& c : classify_set(set, trace_target())) {
    got += (got.empty() ? "" : ", ") + std::string(to_string(c.cls));
  }
  EXPECT_EQ(got, GetParam().expected) << GetParam().ddl;
}

INSTANTIATE_TEST_SUITE_P(
    Specs, ShardClassify,
    ::testing::Values(
        // The traces' change.
        ClassifyCase{"ALTER TABLE shop.orders add column note varchar(20) default null, add "
                     "index ix_a(a)",
                     "additive, additive"},
        // ADD COLUMN: nullable or a constant default is additive.
        ClassifyCase{"ALTER TABLE shop.orders ADD COLUMN n int NOT NULL DEFAULT 0", "additive"},
        ClassifyCase{"ALTER TABLE shop.orders ADD COLUMN n varchar(36) DEFAULT (uuid())",
                     "additive"},
        ClassifyCase{"ALTER TABLE shop.orders ADD COLUMN t timestamp NOT NULL DEFAULT "
                     "CURRENT_TIMESTAMP",
                     "additive"},
        ClassifyCase{"ALTER TABLE shop.orders ADD COLUMN g int AS (a + 1) VIRTUAL", "additive"},
        ClassifyCase{"ALTER TABLE shop.orders ADD COLUMN n int NOT NULL", "contracting"},
        ClassifyCase{"ALTER TABLE shop.orders ADD COLUMN n int NOT NULL DEFAULT (rand())",
                     "contracting"},
        ClassifyCase{"ALTER TABLE shop.orders ADD COLUMN u int UNIQUE", "contracting"},
        ClassifyCase{"ALTER TABLE shop.orders ADD COLUMN k int AUTO_INCREMENT", "conflicting"},
        ClassifyCase{"ALTER TABLE shop.orders ADD COLUMN k int PRIMARY KEY", "conflicting"},
        ClassifyCase{"ALTER TABLE shop.orders ADD COLUMN k int NOT NULL DEFAULT NULL",
                     "conflicting"},
        ClassifyCase{"ALTER TABLE shop.orders ADD COLUMN B int", "conflicting"},  // exists
        // Indexes.
        ClassifyCase{"CREATE INDEX ix_a ON shop.orders (a)", "additive"},
        ClassifyCase{"ALTER TABLE shop.orders ADD INDEX (a)", "conflicting"},  // unnamed
        ClassifyCase{"ALTER TABLE shop.orders ADD UNIQUE KEY ux (a)", "contracting"},
        ClassifyCase{"ALTER TABLE shop.orders ADD INDEX ix_b (b)", "conflicting"},  // exists
        ClassifyCase{"ALTER TABLE shop.orders ADD INDEX ix_z (zz)", "conflicting"},
        ClassifyCase{"ALTER TABLE shop.orders DROP INDEX ix_b", "contracting"},
        ClassifyCase{"DROP INDEX ix_b ON shop.orders", "contracting"},
        ClassifyCase{"ALTER TABLE shop.orders DROP INDEX nope", "conflicting"},
        ClassifyCase{"ALTER TABLE shop.orders RENAME INDEX ix_b TO ix_c", "additive"},
        ClassifyCase{"ALTER TABLE shop.orders RENAME INDEX ix_b TO primary", "conflicting"},
        ClassifyCase{"ALTER TABLE shop.orders ALTER INDEX ix_b INVISIBLE", "additive"},
        // Columns changed or removed.
        ClassifyCase{"ALTER TABLE shop.orders DROP COLUMN b", "contracting"},
        ClassifyCase{"ALTER TABLE shop.orders DROP COLUMN zz", "conflicting"},
        ClassifyCase{"ALTER TABLE shop.orders MODIFY b bigint", "additive"},
        ClassifyCase{"ALTER TABLE shop.orders MODIFY b smallint", "contracting"},
        ClassifyCase{"ALTER TABLE shop.orders MODIFY b varchar(10)", "conflicting"},
        ClassifyCase{"ALTER TABLE shop.orders MODIFY b int unsigned", "conflicting"},
        ClassifyCase{"ALTER TABLE shop.orders MODIFY b int NOT NULL", "contracting"},
        ClassifyCase{"ALTER TABLE shop.orders MODIFY a int NULL", "additive"},
        ClassifyCase{"ALTER TABLE shop.orders MODIFY a bigint NOT NULL DEFAULT 1", "additive"},
        ClassifyCase{"ALTER TABLE shop.orders MODIFY b bigint NOT NULL", "contracting"},
        ClassifyCase{"ALTER TABLE shop.orders MODIFY d varchar(64)", "additive"},
        ClassifyCase{"ALTER TABLE shop.orders MODIFY d varchar(16)", "contracting"},
        ClassifyCase{"ALTER TABLE shop.orders MODIFY e decimal(10,2)", "additive"},
        ClassifyCase{"ALTER TABLE shop.orders MODIFY e decimal(8,3)", "conflicting"},
        ClassifyCase{"ALTER TABLE shop.orders MODIFY s enum('x','y','z')", "additive"},
        ClassifyCase{"ALTER TABLE shop.orders MODIFY zz int", "conflicting"},
        ClassifyCase{"ALTER TABLE shop.orders CHANGE b b bigint", "additive"},
        ClassifyCase{"ALTER TABLE shop.orders CHANGE b c int", "conflicting"},
        ClassifyCase{"ALTER TABLE shop.orders RENAME COLUMN b TO c", "conflicting"},
        ClassifyCase{"ALTER TABLE shop.orders ALTER COLUMN a SET DEFAULT 5", "additive"},
        ClassifyCase{"ALTER TABLE shop.orders ALTER COLUMN zz DROP DEFAULT", "conflicting"},
        // Table options, comments, what is not merged.
        ClassifyCase{"ALTER TABLE shop.orders COMMENT 'orders', ENGINE=InnoDB",
                     "additive, additive"},
        ClassifyCase{"ALTER TABLE shop.orders ADD PRIMARY KEY (id)", "conflicting"},
        ClassifyCase{"ALTER TABLE shop.orders PARTITION BY HASH(id)", "conflicting"},
        // Specs that depend on an earlier contracting spec of the same set wait with it.
        ClassifyCase{"ALTER TABLE shop.orders DROP INDEX ix_b, ADD INDEX ix_b (a, b)",
                     "contracting, contracting"},
        ClassifyCase{"ALTER TABLE shop.orders ADD COLUMN c int NOT NULL, ADD INDEX ix_c (c)",
                     "contracting, contracting"},
        ClassifyCase{"ALTER TABLE shop.orders ADD COLUMN c int, ADD INDEX ix_c (c)",
                     "additive, additive"},
        ClassifyCase{"ALTER TABLE shop.orders DROP COLUMN b, ADD COLUMN b bigint",
                     "contracting, contracting"},
        ClassifyCase{"ALTER TABLE shop.orders ADD COLUMN c int, ADD COLUMN c int",
                     "additive, conflicting"}));

TEST(ShardClassify, Reasons) {
  auto why = [](std::string_view ddl) {
    const std::vector<Classification> c =
        classify_set(normalize_ddls({std::string(ddl)}, kTarget), trace_target());
    return c.empty() ? std::string() : c[0].why;
  };
  EXPECT_EQ(why("ALTER TABLE shop.orders MODIFY b varchar(10)"),
            "the type change of `b` from int(11) to varchar(10) is neither a widening nor a "
            "narrowing");
  EXPECT_EQ(why("ALTER TABLE shop.orders MODIFY d varchar(16)"),
            "narrows `d` from varchar(32) to varchar(16)");
  EXPECT_EQ(why("ALTER TABLE shop.orders RENAME COLUMN b TO c"),
            "renaming column `b` to `c`: rows of shards not yet migrated still name `b`");
  EXPECT_EQ(why("ALTER TABLE shop.orders ADD INDEX (a)"),
            "an unnamed ADD INDEX would add one index per shard (c, c_2, ...): name it");
  EXPECT_EQ(why("ALTER TABLE shop.orders DROP COLUMN b"),
            "DROP COLUMN: rows of shards not yet migrated still write `b`");
  EXPECT_EQ(why("ALTER TABLE shop.orders ADD PRIMARY KEY (id)"),
            "ghostgate cannot merge `ADD PRIMARY KEY (id)`: ADD PRIMARY KEY is not merged across "
            "shards");
}

TEST(ShardSchema, VisibleAndApplied) {
  TargetSchema t = trace_target();
  EXPECT_FALSE(visible_in_schema(SpecKind::add_column, "note", "", t));
  EXPECT_TRUE(visible_in_schema(SpecKind::drop_column, "zz", "", t));
  EXPECT_FALSE(visible_in_schema(SpecKind::modify_column, "b", "", t));  // idempotent instead
  apply_to_schema(SpecKind::add_column, "note", "", ColumnInfo{"varchar(20)", true}, t);
  apply_to_schema(SpecKind::rename_index, "ix_b", "ix_c", ColumnInfo{}, t);
  EXPECT_TRUE(visible_in_schema(SpecKind::add_column, "note", "", t));
  EXPECT_TRUE(visible_in_schema(SpecKind::rename_index, "ix_b", "ix_c", t));
  EXPECT_TRUE(visible_in_schema(SpecKind::drop_index, "ix_b", "", t));
  EXPECT_EQ(spec_keys(SpecKind::add_index, "ix", "", {"a", "b"}),
            (std::vector<std::string>{"i:ix", "c:a", "c:b"}));
  EXPECT_EQ(spec_keys(SpecKind::table_option, "", "", {}), std::vector<std::string>{});
}

TEST(ShardNames, KindAndClassText) {
  for (int k = 0; k <= static_cast<int>(SpecKind::unknown); ++k) {
    const auto kind = static_cast<SpecKind>(k);
    EXPECT_EQ(parse_spec_kind(to_string(kind)), kind);
  }
  for (SpecClass c : {SpecClass::additive, SpecClass::contracting, SpecClass::conflicting}) {
    EXPECT_EQ(parse_spec_class(to_string(c)), c);
  }
  EXPECT_FALSE(parse_spec_kind("add").has_value());
}

}  // namespace
}  // namespace ghostgate::rules
