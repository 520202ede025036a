// The engine with shard-merge routes (issue 9): which helper belongs to which merged table, the
// refusal of a RENAME that would replace a merged table by one shard's copy, and the shard
// cut-over step the proxy hands to the shard group.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "rules/shard_routes.h"
#include "tests/rules/engine_test_util.h"

namespace ghostgate::rules {
namespace {

using Lines = std::vector<std::string>;

std::shared_ptr<const ShardRouting> routing(std::vector<RouteRule> routes, ShardMode mode,
                                            std::vector<ShardGroupConfig> groups) {
  std::string error;
  std::optional<Router> router = Router::create(std::move(routes), &error);
  EXPECT_TRUE(router.has_value()) << error;
  ShardConfig config{mode, std::move(groups)};
  if (router && mode != ShardMode::none) {
    EXPECT_TRUE(validate_shard_config(config, *router, &error)) << error;
  }
  return std::make_shared<const ShardRouting>(ShardRouting{std::move(*router), std::move(config)});
}

RouteRule orders_route() { return {"orders", "shard_*", "orders_*", "shop", "orders"}; }

ShardGroupConfig orders_group(std::size_t count, std::vector<QualifiedName> members = {}) {
  return {qn("shop", "orders"), members.empty() ? count : members.size(), std::move(members)};
}

// Drives the engine like the proxy: plans, applies state steps; the downstream holds the merged
// table and the (empty) shard schemas' nothing.
class ShardEngine : public ::testing::Test {
 protected:
  void make(std::shared_ptr<const ShardRouting> shards) {
    engine_ = std::make_unique<Engine>(TableRules::defaults(), std::move(shards));
  }
  Plan plan(std::string_view sql, std::string_view db) {
    text_ = std::string(sql);
    const Statement st = classify(text_);
    return engine_->plan(st, db, catalog_);
  }
  Plan run(std::string_view sql, std::string_view db) {
    Plan p = plan(sql, db);
    if (p.verdict == Plan::Verdict::local) {
      for (const Step& s : p.steps) {
        if (s.kind != Step::Kind::backend_sql) {
          engine_->apply(s);
        }
      }
    }
    return p;
  }
  // "forward", "refuse: <message>", or "local <reason>" then the steps.
  Lines decide(std::string_view sql, std::string_view db) {
    const Plan p = run(sql, db);
    switch (p.verdict) {
      case Plan::Verdict::forward:
        return {"forward"};
      case Plan::Verdict::refuse:
        return {"refuse: " + p.error_message};
      case Plan::Verdict::need_lookup:
        return {"need_lookup"};
      case Plan::Verdict::local:
        break;
    }
    Lines out{"local " + std::string(p.reason)};
    for (std::string& line : steps(p)) {
      out.push_back(std::move(line));
    }
    return out;
  }

  std::unique_ptr<Engine> engine_;
  SetCatalog catalog_{qn("shop", "orders"), qn("shop", "items")};
  std::string text_;
};

const Lines kSuppressed{"local dml on helper table"};

TEST_F(ShardEngine, RoutedPtOscShardIsAHelperOfTheMergedTable) {
  make(routing({orders_route()}, ShardMode::none, {}));
  EXPECT_EQ(decide("CREATE TABLE `shard_1`.`_orders_1_new` (id int primary key)", "shard_1"),
            Lines{"local create ghost table"});
  EXPECT_EQ(decide("ALTER TABLE `shard_1`.`_orders_1_new` add column note varchar(20)", "shard_1"),
            (Lines{"local record ddl on ghost table",
                   "record shard_1._orders_1_new (orders_1): ALTER TABLE `shard_1`.`_orders_1_new` "
                   "add column note varchar(20)"}));
  const GhostRecord* rec = engine_->find(qn("shard_1", "_orders_1_new"));
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->real, qn("shop", "orders"));
  EXPECT_EQ(real_of(*rec), qn("shop", "orders"));
  EXPECT_EQ(decide("CREATE TRIGGER `pt_osc_shard_1_orders_1_ins` AFTER INSERT ON `shop`.`orders` "
                   "FOR EACH ROW REPLACE INTO `shard_1`.`_orders_1_new` (id) VALUES (NEW.id)",
                   "shard_1"),
            Lines{"local pt-osc trigger"});
  EXPECT_EQ(decide("INSERT INTO `shard_1`.`_orders_1_new` (id) VALUES (1)", "shard_1"),
            kSuppressed);
  // No shard-mode: every shard's cut-over runs its DDLs on the merged table.
  EXPECT_EQ(decide("RENAME TABLE `shop`.`orders` TO `shard_1`.`_orders_1_old`, "
                   "`shard_1`.`_orders_1_new` TO `shop`.`orders`",
                   "shard_1"),
            (Lines{"local cut-over", "sql: ALTER TABLE `shop`.`orders` add column note varchar(20)",
                   "progress shard_1._orders_1_new 1", "forget shard_1._orders_1_new"}));
  // Unqualified after USE, as the stream sends them.
  EXPECT_EQ(decide("DROP TABLE IF EXISTS `_orders_1_old`", "shard_1"),
            Lines{"local drop helper table"});
  EXPECT_TRUE(engine_->snapshot().empty());
}

TEST_F(ShardEngine, ShardCutOverGoesToTheGroup) {
  make(routing({orders_route()}, ShardMode::optimistic, {orders_group(2)}));
  run("create /* gh-ost */ table `shard_2`.`_orders_2_gho` like `shop`.`orders`", "shard_2");
  const GhostRecord* rec = engine_->find(qn("shard_2", "_orders_2_gho"));
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->real, qn("shop", "orders"));
  EXPECT_EQ(rec->real_hint, "orders_2");  // the member, not the target's name
  run("alter /* gh-ost */ table `shard_2`.`_orders_2_gho` add column note varchar(20) default "
      "null, ALGORITHM=INPLACE",
      "shard_2");
  run("alter /* gh-ost */ table `_orders_2_gho` AUTO_INCREMENT=2000593", "shard_2");
  EXPECT_EQ(decide("rename /* gh-ost */ table `shop`.`orders` to `shard_2`.`_orders_2_del`, "
                   "`shard_2`.`_orders_2_gho` to `shop`.`orders`",
                   "shard_2"),
            (Lines{"local cut-over",
                   "shard shard_2._orders_2_gho member shard_2.orders_2 onto shop.orders | "
                   "alter /* gh-ost */ table `shop`.`orders` add column note varchar(20) default "
                   "null | alter /* gh-ost */ table `shop`.`orders` AUTO_INCREMENT=2000593",
                   "forget shard_2._orders_2_gho"}));
}

TEST_F(ShardEngine, DmWildcardsAndAMemberList) {
  make(routing({{"r", "shard_?", "orders_[0-9]*", "shop", "orders"}}, ShardMode::pessimistic,
               {orders_group(0, {qn("shard_1", "orders_1"), qn("shard_2", "orders_2")})}));
  run("ALTER TABLE `_orders_1_new` ADD COLUMN c int", "shard_1");
  EXPECT_EQ(decide("RENAME TABLE `shop`.`orders` TO `_orders_1_old`, `_orders_1_new` TO "
                   "`shop`.`orders`",
                   "shard_1"),
            (Lines{"local cut-over",
                   "shard shard_1._orders_1_new member shard_1.orders_1 onto shop.orders | "
                   "ALTER TABLE `shop`.`orders` ADD COLUMN c int",
                   "forget shard_1._orders_1_new"}));
  // `shard_10` does not match `shard_?`: its helpers are nobody's, the rename is refused.
  const Lines refused = decide(
      "RENAME TABLE `shop`.`orders` TO `shard_10`.`_orders_10_old`, `shard_10`.`_orders_10_new` "
      "TO `shop`.`orders`",
      "shard_10");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_NE(refused[0].find("refuse: ghostgate: RENAME TABLE moves `shop`.`orders` to "
                            "`shard_10`.`_orders_10_old`, a helper table name of "
                            "`shard_10`.`orders_10`"),
            std::string::npos)
      << refused[0];
}

TEST_F(ShardEngine, AGhostOfAShardThatIsNoListedMemberIsRefused) {
  make(routing({orders_route()}, ShardMode::optimistic,
               {orders_group(0, {qn("shard_1", "orders_1"), qn("shard_2", "orders_2")})}));
  run("ALTER TABLE `_orders_3_new` ADD COLUMN c int", "shard_3");
  const Lines r =
      decide("RENAME TABLE `shop`.`orders` TO `_orders_3_old`, `_orders_3_new` TO `shop`.`orders`",
             "shard_3");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find("cannot tell which member of the shard group of `shop`.`orders`"),
            std::string::npos)
      << r[0];
  EXPECT_NE(r[0].find("shard-groups.\"shop.orders\".members"), std::string::npos) << r[0];
  EXPECT_NE(engine_->find(qn("shard_3", "_orders_3_new")), nullptr);  // nothing changed
}

// Without routes the same stream must not replace the merged table by one shard's copy.
TEST_F(ShardEngine, WithoutRoutesThePtOscSwapIsRefused) {
  make(nullptr);
  // The ghost is nobody's helper here (`shard_1`.`orders_1` exists nowhere downstream): created
  // as a table, then it exists.
  EXPECT_EQ(decide("CREATE TABLE `shard_1`.`_orders_1_new` (id int primary key)", "shard_1"),
            Lines{"forward"});
  catalog_.tables_.insert(qn("shard_1", "_orders_1_new"));
  const Lines r = decide(
      "RENAME TABLE `shop`.`orders` TO `shard_1`.`_orders_1_old`, `shard_1`.`_orders_1_new` TO "
      "`shop`.`orders`",
      "shard_1");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find("moves `shop`.`orders` to `shard_1`.`_orders_1_old`, a helper table name "
                      "of `shard_1`.`orders_1`, not of `shop`.`orders`"),
            std::string::npos)
      << r[0];
  EXPECT_NE(r[0].find("set `routes`"), std::string::npos) << r[0];
  EXPECT_NE(r[0].find("target-schema \"shop\" and target-table \"orders\""), std::string::npos)
      << r[0];
}

TEST_F(ShardEngine, WithoutRoutesTheGhostSwapIsRefused) {
  make(nullptr);
  // CREATE ... LIKE binds the ghost to `shop`.`orders`, but its name says `orders_1` in another
  // schema: the cut-over would run shard 1's change, then shard 2's again (duplicate column).
  run("create /* gh-ost */ table `shard_1`.`_orders_1_gho` like `shop`.`orders`", "shard_1");
  run("alter /* gh-ost */ table `shard_1`.`_orders_1_gho` add column c int", "shard_1");
  const Lines r = decide(
      "rename /* gh-ost */ table `shop`.`orders` to `shard_1`.`_orders_1_del`, "
      "`shard_1`.`_orders_1_gho` to `shop`.`orders`",
      "shard_1");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].rfind("refuse: ", 0), 0u) << r[0];
  EXPECT_NE(r[0].find("`routes`"), std::string::npos) << r[0];
  EXPECT_NE(engine_->find(qn("shard_1", "_orders_1_gho")), nullptr);
}

TEST_F(ShardEngine, ARealTableIsNeverMovedToAnotherTablesHelperName) {
  make(nullptr);
  catalog_.tables_.insert(qn("shop", "a"));
  // `_items_old` is the old-table name of `shop`.`items`, not of `shop`.`a`.
  const Lines r = decide("RENAME TABLE `shop`.`a` TO `shop`.`_items_old`", "shop");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].rfind("refuse: ", 0), 0u) << r[0];
  // Its own old-table name is fine (suppressed: pt-osc's swap with no ghost in sight).
  EXPECT_EQ(decide("RENAME TABLE `shop`.`items` TO `shop`.`_items_old`", "shop"),
            Lines{"local rename involving helper tables"});
}

}  // namespace
}  // namespace ghostgate::rules
