// The meta table's JSON (proxy/online_ddl/meta_store.h): every GhostRecord field survives a
// write and a read (a restart loads what was written), DM's own fields stay as DM reads them, and
// rows written by DM or an older ghostgate load with the defaults.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "proxy/online_ddl/meta_store.h"

namespace ghostgate::proxy {
namespace {

StoredRecord round_trip(const StoredRecord& in) {
  return record_from_json(in.record.ghost.schema, in.record.ghost.table, record_to_json(in));
}

TEST(MetaRecordJson, APendingGhostKeepsEveryField) {
  StoredRecord s;
  s.record.ghost = {"shop", "_orders_gho"};
  s.record.real_hint = "orders";
  s.record.ddls = {"ALTER TABLE `shop`.`_orders_gho` ADD COLUMN c INT", "ALTER TABLE x"};
  s.record.applied = 1;
  s.record.deferred_drop = rules::QualifiedName{"shop", "orders"};
  s.record.deferred_drop_sql = "DROP TABLE IF EXISTS `shop`.`orders`";
  s.mark = CutoverMark{1, "0123abcd"};
  s.definition = "CREATE TABLE `orders` (\n  `id` int(11) NOT NULL\n)";
  const StoredRecord back = round_trip(s);
  EXPECT_EQ(back.record, s.record);
  EXPECT_EQ(back.mark, s.mark);
  EXPECT_EQ(back.definition, s.definition);
}

// gh-ost --force-table-names: `CREATE TABLE _F_gho LIKE t` binds the ghost to `t`; a name that
// says nothing about `t` must still point there after a restart.
TEST(MetaRecordJson, ABoundGhostKeepsItsRealTable) {
  StoredRecord s;
  s.record.ghost = {"test", "_F_gho"};
  s.record.real_hint = "t";
  s.record.real = rules::QualifiedName{"test", "t"};
  s.record.ddls = {"alter table `test`.`_F_gho` add column c int"};
  const StoredRecord back = round_trip(s);
  EXPECT_EQ(back.record, s.record);
  EXPECT_EQ(back.record.kind, rules::TableKind::ghost);
  ASSERT_TRUE(back.record.real.has_value());
  EXPECT_EQ(*back.record.real, (rules::QualifiedName{"test", "t"}));
}

// Vitess: the old table under the former shadow name, bound by its rotation's sentry, in
// another schema than the ghost's (Bytebase binds across schemas the same way).
TEST(MetaRecordJson, ABoundTrashHelperKeepsKindRealAndSentry) {
  StoredRecord s;
  s.record.ghost = {"bbdataarchive", "_vt_vrp_9c2b_20260301102000_"};
  s.record.real_hint = "t";
  s.record.kind = rules::TableKind::trash;
  s.record.real = rules::QualifiedName{"test", "t"};
  s.record.bound_by = "_vt_hld_4e6d_20260302102131_";
  const StoredRecord back = round_trip(s);
  EXPECT_EQ(back.record, s.record);
  EXPECT_EQ(back.record.kind, rules::TableKind::trash);
  EXPECT_EQ(back.record.bound_by, "_vt_hld_4e6d_20260302102131_");
  EXPECT_FALSE(back.mark.has_value());
}

// DM reads `schema`, `table` and `ddls`: the binding is extra fields beside them.
TEST(MetaRecordJson, DmFieldsStayAsDmWritesThem) {
  StoredRecord s;
  s.record.ghost = {"test", "_F_del"};
  s.record.real_hint = "t";
  s.record.kind = rules::TableKind::trash;
  s.record.real = rules::QualifiedName{"test", "t"};
  const nlohmann::json j = nlohmann::json::parse(record_to_json(s));
  EXPECT_EQ(j["schema"], "test");
  EXPECT_EQ(j["table"], "t");
  EXPECT_TRUE(j["ddls"].is_array());
  EXPECT_EQ(j["kind"], "trash");
  EXPECT_EQ(j["real"]["schema"], "test");
  EXPECT_EQ(j["real"]["table"], "t");
  EXPECT_FALSE(j.contains("bound_by"));  // empty: not written
}

TEST(MetaRecordJson, RowsWithoutTheNewFieldsLoadWithTheDefaults) {
  // As DM writes it, and as ghostgate wrote it before the binding was persisted.
  const StoredRecord dm = record_from_json(
      "shop", "_orders_gho", R"({"schema":"shop","table":"orders","ddls":["ALTER TABLE x"]})");
  EXPECT_EQ(dm.record.kind, rules::TableKind::ghost);
  EXPECT_FALSE(dm.record.real.has_value());
  EXPECT_EQ(dm.record.bound_by, "");
  EXPECT_EQ(dm.record.real_hint, "orders");
  const StoredRecord old =
      record_from_json("shop", "_orders_gho",
                       R"({"schema":"shop","table":"orders","ddls":[],"applied":0,)"
                       R"("cutover_mark":{"index":0,"before":"ab"}})");
  ASSERT_TRUE(old.mark.has_value());
  EXPECT_EQ(old.definition, "");
}

TEST(MetaRecordJson, BadBindingsAreErrorsNotGuesses) {
  EXPECT_THROW(record_from_json("s", "g", R"({"table":"t","kind":"sideways"})"), std::exception);
  EXPECT_THROW(record_from_json("s", "g", R"({"table":"t","real":{"schema":"s"}})"),
               std::exception);
  EXPECT_THROW(record_from_json("s", "g", "{not json"), std::exception);
}

}  // namespace
}  // namespace ghostgate::proxy
