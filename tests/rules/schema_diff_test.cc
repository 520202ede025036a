// rules/schema_diff.h: the ALTERs that revert a table to the definition it had before a
// migration, from two SHOW CREATE TABLE texts, or what cannot be reverted without loss. The
// texts are as MariaDB 10.11, MySQL 8.0 and TiDB print them.

#include "rules/schema_diff.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ghostgate::rules {
namespace {

const QualifiedName kT{"test", "t"};

// MariaDB 10.11 before a migration, and after `ADD COLUMN c ..., ADD INDEX ix_b (b)`.
const char* const kMariaBefore =
    "CREATE TABLE `t` (\n"
    "  `id` int(11) NOT NULL AUTO_INCREMENT,\n"
    "  `a` int(11) NOT NULL DEFAULT 0,\n"
    "  `b` int(11) DEFAULT NULL,\n"
    "  `d` varchar(32) DEFAULT NULL,\n"
    "  PRIMARY KEY (`id`),\n"
    "  KEY `ix_a` (`a`)\n"
    ") ENGINE=InnoDB AUTO_INCREMENT=201 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci";

struct Case {
  const char* name;
  std::string current;
  std::string wanted;
  std::vector<std::string> statements;
  std::vector<std::string> lossy_contains;  // one substring per lossy entry, in order
};

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const std::size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) {
    s.replace(at, from.size(), to);
  }
  return s;
}

std::vector<Case> cases() {
  const std::string before = kMariaBefore;
  const std::string added = replaced(
      replaced(before, "  PRIMARY KEY", "  `c` varchar(10) NOT NULL DEFAULT 'q',\n  PRIMARY KEY"),
      "  KEY `ix_a` (`a`)\n", "  KEY `ix_a` (`a`),\n  KEY `ix_b` (`b`)\n");
  const std::string widened =
      replaced(before, "`b` int(11) DEFAULT NULL", "`b` bigint(20) DEFAULT NULL");
  const std::string no_ix_a =
      replaced(before, "  PRIMARY KEY (`id`),\n  KEY `ix_a` (`a`)\n", "  PRIMARY KEY (`id`)\n");
  const std::string dropped_d = replaced(before, "  `d` varchar(32) DEFAULT NULL,\n", "");
  const std::string renamed_d = replaced(before, "`d` varchar(32)", "`d2` varchar(32)");
  const std::string new_pk = replaced(before, "PRIMARY KEY (`id`)", "PRIMARY KEY (`id`,`a`)");
  const std::string counter_moved = replaced(before, "AUTO_INCREMENT=201", "AUTO_INCREMENT=977");
  const std::string moved = replaced(
      replaced(before, "  `b` int(11) DEFAULT NULL,\n", ""), "  `d` varchar(32) DEFAULT NULL,\n",
      "  `d` varchar(32) DEFAULT NULL,\n  `b` int(11) DEFAULT NULL,\n");
  const std::string partitioned = before + "\n PARTITION BY HASH (`id`)\nPARTITIONS 4";
  const std::string engine = replaced(before, "ENGINE=InnoDB", "ENGINE=Aria");
  const std::string with_fk = replaced(
      before, "  KEY `ix_a` (`a`)\n",
      "  KEY `ix_a` (`a`),\n  CONSTRAINT `fk_a` FOREIGN KEY (`a`) REFERENCES `p` (`id`)\n");
  const std::string unique_a = replaced(before, "KEY `ix_a` (`a`)", "UNIQUE KEY `ix_a` (`a`)");
  const std::string tricky_names =
      replaced(replaced(before, "`d` varchar(32) DEFAULT NULL", "`d` varchar(32) DEFAULT 'x, y)'"),
               "  PRIMARY KEY",
               "  `we``ird, name` int(11) DEFAULT NULL COMMENT 'KEY `ix` (a)',\n  PRIMARY KEY");

  // MySQL 8.0 spelling (no display widths, utf8mb4_0900_ai_ci, partitioning in /*!50100 */).
  const std::string mysql_before =
      "CREATE TABLE `t` (\n"
      "  `id` int NOT NULL AUTO_INCREMENT,\n"
      "  `a` int NOT NULL DEFAULT '0',\n"
      "  `b` int DEFAULT NULL,\n"
      "  PRIMARY KEY (`id`),\n"
      "  KEY `ix_a` (`a`) /*!80000 INVISIBLE */\n"
      ") ENGINE=InnoDB AUTO_INCREMENT=12 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci\n"
      "/*!50100 PARTITION BY HASH (`id`)\nPARTITIONS 4 */";
  const std::string mysql_after =
      replaced(replaced(mysql_before, "  `b` int DEFAULT NULL,\n",
                        "  `b` bigint DEFAULT NULL,\n  `e` json DEFAULT NULL,\n"),
               "AUTO_INCREMENT=12", "AUTO_INCREMENT=40");

  // TiDB spelling (clustered index comment, auto_rand / shard bits in /*T! */ comments).
  const std::string tidb_before =
      "CREATE TABLE `t` (\n"
      "  `id` bigint(20) NOT NULL /*T![auto_rand] AUTO_RANDOM(5) */,\n"
      "  `a` int(11) NOT NULL DEFAULT '0',\n"
      "  PRIMARY KEY (`id`) /*T![clustered_index] CLUSTERED */\n"
      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin /*T! SHARD_ROW_ID_BITS=4 */";
  const std::string tidb_after = replaced(
      replaced(tidb_before, "  `a` int(11) NOT NULL DEFAULT '0',\n",
               "  `a` int(11) NOT NULL DEFAULT '0',\n  `c` varchar(10) NOT NULL DEFAULT 'q',\n"),
      "CLUSTERED */\n", "CLUSTERED */,\n  UNIQUE KEY `uk_c` (`c`,`a`)\n");

  const std::string p = "ALTER TABLE `test`.`t` ";
  return {
      {"nothing changed", before, before, {}, {}},
      {"only the counter moved", counter_moved, before, {}, {}},
      {"added column and index are dropped",
       added,
       before,
       {p + "DROP INDEX `ix_b`", p + "DROP COLUMN `c`"},
       {}},
      {"a widened type is modified back",
       widened,
       before,
       {p + "MODIFY COLUMN `b` int(11) DEFAULT NULL"},
       {}},
      {"a dropped index is added back", no_ix_a, before, {p + "ADD KEY `ix_a` (`a`)"}, {}},
      {"a changed index is dropped and added back",
       unique_a,
       before,
       {p + "DROP INDEX `ix_a`", p + "ADD KEY `ix_a` (`a`)"},
       {}},
      {"names and strings with commas, quotes and parentheses",
       tricky_names,
       before,
       {p + "DROP COLUMN `we``ird, name`", p + "MODIFY COLUMN `d` varchar(32) DEFAULT NULL"},
       {}},
      {"a revert of a revert adds back only what is lossless",
       before,
       added,
       {p + "ADD KEY `ix_b` (`b`)"},
       {"column `c` was dropped"}},
      {"a dropped column cannot come back", dropped_d, before, {}, {"column `d` was dropped"}},
      {"a renamed column cannot come back",
       renamed_d,
       before,
       {p + "DROP COLUMN `d2`"},
       {"column `d` was dropped or renamed"}},
      {"primary key", new_pk, before, {}, {"the primary key changed"}},
      {"column order", moved, before, {}, {"the column order changed"}},
      {"partitioning", partitioned, before, {}, {"partitioning changed"}},
      {"table options", engine, before, {}, {"table options changed"}},
      {"a constraint added", with_fk, before, {}, {"constraint added: CONSTRAINT `fk_a`"}},
      {"a constraint dropped", before, with_fk, {}, {"constraint changed or dropped"}},
      {"mysql: type back, added column dropped, invisible index and partitioning kept",
       mysql_after,
       mysql_before,
       {p + "DROP COLUMN `e`", p + "MODIFY COLUMN `b` int DEFAULT NULL"},
       {}},
      {"tidb: unique key and column dropped, comments kept",
       tidb_after,
       tidb_before,
       {p + "DROP INDEX `uk_c`", p + "DROP COLUMN `c`"},
       {}},
      {"not a definition", "SELECT 1", before, {}, {"current definition is not understood"}},
      {"an unknown definition line",
       replaced(before, "  PRIMARY KEY", "  PERIOD FOR p (a, b),\n  PRIMARY KEY"),
       before,
       {},
       {"current definition is not understood (a definition this parser"}},
  };
}

TEST(SchemaDiff, RevertStatements) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const RevertDiff d = revert_statements(c.current, c.wanted, kT);
    if (c.lossy_contains.empty() || !c.statements.empty()) {
      EXPECT_EQ(d.statements, c.statements);
    }
    ASSERT_EQ(d.lossy.size(), c.lossy_contains.size()) << ::testing::PrintToString(d.lossy);
    for (std::size_t i = 0; i < d.lossy.size(); ++i) {
      EXPECT_NE(d.lossy[i].find(c.lossy_contains[i]), std::string::npos) << d.lossy[i];
    }
  }
}

TEST(SchemaDiff, ParsesEveryPart) {
  std::string error;
  const auto def = parse_table_definition(kMariaBefore, &error);
  ASSERT_TRUE(def.has_value()) << error;
  ASSERT_EQ(def->columns.size(), 4u);
  EXPECT_EQ(def->columns[0].name, "id");
  EXPECT_EQ(def->columns[0].text, "`id` int(11) NOT NULL AUTO_INCREMENT");
  EXPECT_EQ(def->primary_key, "PRIMARY KEY (`id`)");
  ASSERT_EQ(def->indexes.size(), 1u);
  EXPECT_EQ(def->indexes[0].name, "ix_a");
  EXPECT_EQ(def->options, "ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_general_ci");
  EXPECT_EQ(def->partitioning, "");
}

TEST(SchemaDiff, BadInputIsAnErrorNotACrash) {
  for (const char* text : {"", "CREATE TABLE", "CREATE TABLE `t` (", "CREATE TABLE `t` ()",
                           "CREATE TABLE `t` (`a` int,,`b` int)", "CREATE TABLE `t` (KEY (`a`))",
                           "CREATE TABLE `t` (`a` int", "CREATE TABLE `t` (`a` 'unterminated"}) {
    std::string error;
    EXPECT_FALSE(parse_table_definition(text, &error).has_value()) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
}

}  // namespace
}  // namespace ghostgate::rules
