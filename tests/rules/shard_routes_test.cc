#include "rules/shard_routes.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "rules/table_rules.h"

namespace ghostgate::rules {
namespace {

// "schema.table", "none" or "ambiguous".
std::string describe(const Router& router, std::string_view schema, std::string_view table) {
  const RouteMatch m = router.match(schema, table);
  if (m.status == RouteStatus::ambiguous) {
    return "ambiguous";
  }
  const std::optional<QualifiedName> target = router.route(schema, table);
  if (!target.has_value()) {
    return "none";
  }
  return target->schema + "." + target->table;
}

Router make(std::vector<RouteRule> rules, bool case_sensitive = false) {
  std::string error;
  std::optional<Router> router = Router::create(std::move(rules), &error, case_sensitive);
  EXPECT_TRUE(router.has_value()) << error;
  return router.has_value() ? std::move(*router) : *Router::create({}, nullptr);
}

// The routes of both shard traces plus rules exercising each wildcard form.
const Router& fixture_router() {
  static const Router router = make({
      {"orders", "shard_*", "orders_*", "shop", "orders"},  // the traces' routes.yaml
      {"items", "shard_?", "items_[0-9]", "shop", "items"},
      {"neg", "db[!a-c]", "t", "x", "t_neg"},
      {"legacy", "legacy_*", "", "merged", ""},  // schema-level rule: table names kept
      {"crm", "~^tenant_[0-9]+$", "~^users$", "crm", "users"},
  });
  return router;
}

struct RouteCase {
  std::string_view schema;
  std::string_view table;
  std::string_view expected;
};

class RoutePatterns : public ::testing::TestWithParam<RouteCase> {};

TEST_P(RoutePatterns, Match) {
  const RouteCase& c = GetParam();
  EXPECT_EQ(describe(fixture_router(), c.schema, c.table), c.expected)
      << c.schema << "." << c.table;
}

INSTANTIATE_TEST_SUITE_P(
    Wildcards, RoutePatterns,
    ::testing::Values(
        RouteCase{"shard_1", "orders_1", "shop.orders"},
        RouteCase{"shard_12", "orders_12", "shop.orders"},
        RouteCase{"shard_", "orders_", "shop.orders"},    // `*` matches nothing too
        RouteCase{"SHARD_1", "Orders_1", "shop.orders"},  // DM's default: case-insensitive
        RouteCase{"shard_1", "_orders_1_gho", "none"},    // helpers keep their names
        RouteCase{"shard_1", "_orders_1_new", "none"},
        RouteCase{"shard_1", "orders", "none"},  // `orders_*` needs the `_`
        RouteCase{"shard", "orders_1", "none"}, RouteCase{"shard_1", "items_1", "shop.items"},
        RouteCase{"shard_10", "items_1", "none"},  // `?` is exactly one character
        RouteCase{"shard_", "items_1", "none"}, RouteCase{"shard_1", "items_x", "none"},  // [0-9]
        RouteCase{"shard_1", "items_10", "none"},  // no trailing `*`
        RouteCase{"dbd", "t", "x.t_neg"},          // [!a-c]
        RouteCase{"dba", "t", "none"},
        RouteCase{"dbC", "t", "none"},  // lower-cased before the set is tried
        RouteCase{"db!", "t", "x.t_neg"},
        RouteCase{"legacy_eu", "customers", "merged.customers"},  // schema-level rule
        RouteCase{"legacy_eu", "", "merged."},                    // the schema itself
        RouteCase{"shard_1", "", "none"},  // table-level rules never route a schema alone
        RouteCase{"tenant_42", "users", "crm.users"},  // `~` regular expressions
        RouteCase{"tenant_42x", "users", "none"}, RouteCase{"tenant_42", "users_old", "none"},
        RouteCase{"other", "orders_1", "none"}));

struct SelectorCase {
  std::string_view pattern;
  std::string_view name;
  bool matches;
};

class RouteDmSelector : public ::testing::TestWithParam<SelectorCase> {};

// The range cases of DM's pkg/table-rule-selector/selector_test.go, as schema-level rules.
TEST_P(RouteDmSelector, Match) {
  const SelectorCase& c = GetParam();
  const Router router = make({{"r", std::string(c.pattern), "", "t", ""}}, true);
  EXPECT_EQ(router.match(c.name, "").status == RouteStatus::routed, c.matches)
      << c.pattern << " ~ " << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Ranges, RouteDmSelector,
    ::testing::Values(
        SelectorCase{"ik[hjkl]", "ikj", true}, SelectorCase{"ik[hjkl]", "ikb", false},
        SelectorCase{"ik[!zxc]", "ikb", true}, SelectorCase{"ik[!zxc]", "ikz", false},
        SelectorCase{"ik[!a-ce-g]", "iky", true}, SelectorCase{"ik[!a-ce-g]", "ikf", false},
        SelectorCase{"i[x-z][1-3]", "iz3", true}, SelectorCase{"i[x-z][1-3]", "iz4", false},
        SelectorCase{"i?[x-z]", "ixz", true}, SelectorCase{"ix*", "ixz", true},
        SelectorCase{"[!]", "!", true},  // `[!]` is a literal `!`
        SelectorCase{"[!]", "a", false}, SelectorCase{"[a-]", "-", true},
        SelectorCase{"[a-]", "a", true},  // a `-` that forms no range is literal
        SelectorCase{"[a-c-f]", "-", true}, SelectorCase{"[a-c-f]", "c", true},
        SelectorCase{"[a-c-f]", "f", true}, SelectorCase{"[a-c-f]", "e", false},
        SelectorCase{"[!a-c!f-g]", "d", true}, SelectorCase{"[!a-c!f-g]", "!", false},
        SelectorCase{"[]*", "x", false},                                   // `[]` matches nothing
        SelectorCase{"[]*", "", false}, SelectorCase{"a[b", "a[b", true},  // no `]`: a literal `[`
        SelectorCase{"*", "", true}, SelectorCase{"*", "anything", true},
        SelectorCase{"ab?", "ab", false}, SelectorCase{"ab", "AB", false}));

TEST(ShardRouter, CaseSensitiveWhenAsked) {
  const Router router = make({{"orders", "shard_*", "orders_*", "Shop", "Orders"}}, true);
  EXPECT_EQ(describe(router, "shard_1", "orders_1"), "Shop.Orders");  // targets as written
  EXPECT_EQ(describe(router, "SHARD_1", "orders_1"), "none");
  const Router insensitive = make({{"orders", "SHARD_*", "Orders_[A-C]", "Shop", ""}});
  EXPECT_EQ(describe(insensitive, "shard_1", "orders_b"), "Shop.orders_b");  // name as given
  EXPECT_EQ(describe(insensitive, "Shard_1", "ORDERS_B"), "Shop.ORDERS_B");
}

TEST(ShardRouter, TableLevelRulesBeatSchemaLevelRules) {
  const Router router = make({
      {"all", "shard_*", "", "shop", ""},
      {"orders", "shard_*", "orders_*", "shop", "orders"},
  });
  EXPECT_EQ(describe(router, "shard_1", "orders_1"), "shop.orders");
  EXPECT_EQ(describe(router, "shard_1", "users"), "shop.users");
  EXPECT_EQ(describe(router, "shard_1", ""), "shop.");
}

TEST(ShardRouter, TwoMatchingRulesAreAmbiguousAsInDm) {
  // DM has no "exact beats wildcard": two table-level matches are ErrWorkerRouteTableDupMatch.
  const Router router = make({
      {"wild", "shard_*", "orders_*", "shop", "orders"},
      {"exact", "shard_1", "orders_1", "shop", "orders_one"},
      {"s1", "legacy_*", "", "merged", ""},
      {"s2", "legacy_?", "", "other", ""},
  });
  std::string error;
  EXPECT_FALSE(router.route("shard_1", "orders_1", &error).has_value());
  EXPECT_EQ(error,
            "`shard_1`.`orders_1` matches two route rules, routes.wild and routes.exact; DM "
            "refuses to route it too: make their patterns disjoint");
  const RouteMatch m = router.match("shard_1", "orders_1");
  EXPECT_EQ(m.status, RouteStatus::ambiguous);
  EXPECT_EQ(m.rule, 0);
  EXPECT_EQ(m.other_rule, 1);
  EXPECT_EQ(describe(router, "shard_2", "orders_2"), "shop.orders");
  EXPECT_EQ(describe(router, "legacy_a", "t"), "ambiguous");
  EXPECT_EQ(describe(router, "legacy_ab", "t"), "merged.t");
  EXPECT_FALSE(router.routes_to("shard_1", "orders_1", {"shop", "orders"}));
}

TEST(ShardRouter, ReverseQuestionsOfTheEngine) {
  const Router& router = fixture_router();
  // A helper's capture gives the upstream real name; its shard schema comes with the helper.
  const TableRules rules = TableRules::defaults();
  for (std::string_view helper :
       {"_orders_1_gho", "_orders_1_new", "__orders_1_old", "_orders_1_del", "_orders_1_ghc"}) {
    const NameMatch m = rules.match(helper);
    ASSERT_NE(m.kind, TableKind::real) << helper;
    EXPECT_EQ(router.route("shard_1", m.capture), (QualifiedName{"shop", "orders"})) << helper;
    EXPECT_TRUE(router.routes_to("shard_1", m.capture, {"shop", "orders"})) << helper;
  }
  EXPECT_FALSE(router.routes_to("shard_1", "orders_1", {"shop", "items"}));
  EXPECT_FALSE(router.routes_to("shard_1", "users", {"shop", "users"}));
  EXPECT_TRUE(router.routes_to("legacy_x", "users", {"merged", "users"}));  // name kept
  EXPECT_FALSE(router.routes_to("legacy_x", "users", {"merged", "orders"}));

  EXPECT_TRUE(router.can_route_to({"shop", "orders"}));
  EXPECT_TRUE(router.can_route_to({"merged", "anything"}));  // target-table empty
  EXPECT_FALSE(router.can_route_to({"shop", "users"}));
  EXPECT_FALSE(router.can_route_to({"shard_1", "orders_1"}));
}

TEST(ShardRouter, UnqualifiedNamesAfterUseAreResolvedByTheCaller) {
  // `USE shard_2; RENAME TABLE _orders_2_new TO ...`: the engine resolves the unqualified name
  // against the session's database first, then asks with the pair.
  const std::string current_db = "shard_2";
  const NameMatch m = TableRules::defaults().match("_orders_2_new");
  EXPECT_EQ(fixture_router().route(current_db, m.capture), (QualifiedName{"shop", "orders"}));
  EXPECT_FALSE(fixture_router().route("", m.capture).has_value());  // no database selected
}

struct BadRule {
  RouteRule rule;
  std::string_view error;
};

class RouteBadRules : public ::testing::TestWithParam<BadRule> {};

TEST_P(RouteBadRules, OneClearMessage) {
  std::string error;
  EXPECT_FALSE(Router::create({{"ok", "s", "t", "d", ""}, GetParam().rule}, &error));
  EXPECT_EQ(error, GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Validation, RouteBadRules,
    ::testing::Values(
        BadRule{{"r", "", "t", "shop", "t"}, "routes.r.schema-pattern: must not be empty"},
        BadRule{{"r", "s_*", "t", "", "t"}, "routes.r.target-schema: must not be empty"},
        BadRule{{"r", "shard_*_eu", "t", "shop", ""},
                "routes.r.schema-pattern \"shard_*_eu\": a `*` may only end a pattern (DM "
                "rejects it anywhere else)"},
        BadRule{{"r", "s", "orders_**", "shop", ""},
                "routes.r.table-pattern \"orders_**\": a `*` may only end a pattern (DM rejects "
                "it anywhere else)"},
        BadRule{{"r", "s", "~orders_(", "shop", ""},
                "routes.r.table-pattern \"~orders_(\": invalid regular expression: missing ): "
                "orders_("},
        BadRule{{"r", "S", "T", "other", ""},
                "routes.r.schema-pattern \"S\": the same schema-pattern and table-pattern as "
                "routes.ok (DM rejects a second rule for the same patterns)"},
        BadRule{{"", "", "t", "shop", ""}, "routes[1].schema-pattern: must not be empty"}));

TEST(ShardRouter, WildcardValidation) {
  for (std::string_view ok : {"a", "a*", "*", "a?b*", "[a-z]*", "[*]x", "a[b", "[]"}) {
    std::string why;
    EXPECT_TRUE(valid_wildcard(ok, &why)) << ok << ": " << why;
  }
  for (std::string_view bad : {"a*b", "**", "*a", "a*?"}) {
    std::string why;
    EXPECT_FALSE(valid_wildcard(bad, &why)) << bad;
    EXPECT_FALSE(why.empty());
  }
}

TEST(ShardModeParse, DmValues) {
  std::string error;
  EXPECT_EQ(parse_shard_mode("", &error), ShardMode::none);
  EXPECT_EQ(parse_shard_mode("optimistic", &error), ShardMode::optimistic);
  EXPECT_EQ(parse_shard_mode("pessimistic", &error), ShardMode::pessimistic);
  EXPECT_FALSE(parse_shard_mode("Optimistic", &error).has_value());
  EXPECT_EQ(error,
            "shard-mode \"Optimistic\": must be \"\", \"optimistic\" or \"pessimistic\" (DM's "
            "values)");
  EXPECT_EQ(to_string(ShardMode::pessimistic), "pessimistic");
}

TEST(ShardQualifiedNames, AsWrittenInShardGroups) {
  std::string error;
  EXPECT_EQ(parse_qualified_name("shop.orders", &error), (QualifiedName{"shop", "orders"}));
  EXPECT_EQ(parse_qualified_name(" shop . orders ", &error), (QualifiedName{"shop", "orders"}));
  EXPECT_EQ(parse_qualified_name("`my.db`.`odd``name`", &error),
            (QualifiedName{"my.db", "odd`name"}));
  EXPECT_EQ(parse_qualified_name("shard-1.orders", &error), (QualifiedName{"shard-1", "orders"}));
  for (std::string_view bad : {"orders", "shop.", ".orders", "a.b.c", "`shop.orders", ""}) {
    EXPECT_FALSE(parse_qualified_name(bad, &error).has_value()) << bad;
    EXPECT_NE(error.find("expected schema.table"), std::string::npos) << error;
  }
}

struct ConfigCase {
  std::string_view name;
  ShardConfig config;
  std::string_view error;  // empty: valid
};

class ShardConfigValidation : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(ShardConfigValidation, Validate) {
  const Router router = make({{"orders", "shard_*", "orders_*", "shop", "orders"},
                              {"rest", "legacy_*", "", "merged", ""}});
  std::string error;
  const bool ok = validate_shard_config(GetParam().config, router, &error);
  EXPECT_EQ(ok, GetParam().error.empty()) << error;
  EXPECT_EQ(error, GetParam().error);
}

const QualifiedName kOrders{"shop", "orders"};

INSTANTIATE_TEST_SUITE_P(
    Config, ShardConfigValidation,
    ::testing::Values(
        ConfigCase{"trace_shape", {ShardMode::optimistic, {{kOrders, 2, {}}}}, ""},
        ConfigCase{"list",
                   {ShardMode::pessimistic,
                    {{kOrders, 0, {{"shard_1", "orders_1"}, {"shard_2", "orders_2"}}}}},
                   ""},
        ConfigCase{"no_mode_no_groups", {ShardMode::none, {}}, ""},
        ConfigCase{"schema_level_target", {ShardMode::optimistic, {{{"merged", "t"}, 3, {}}}}, ""},
        ConfigCase{"mode_without_groups",
                   {ShardMode::optimistic, {}},
                   "shard-mode: optimistic needs shard-groups: ghostgate cannot list the shards "
                   "upstream, so give each merged target's members (a count or a list)"},
        ConfigCase{"groups_without_mode",
                   {ShardMode::none, {{kOrders, 2, {}}}},
                   "shard-groups is set but shard-mode is empty: set shard-mode to optimistic or "
                   "pessimistic"},
        ConfigCase{"zero_members",
                   {ShardMode::optimistic, {{kOrders, 0, {}}}},
                   "shard-groups.\"shop.orders\".members: must be a count of at least 1 or a "
                   "list of upstream schema.table names"},
        ConfigCase{"unrouted_target",
                   {ShardMode::optimistic, {{{"shop", "items"}, 2, {}}}},
                   "shard-groups.\"shop.items\": no rule in routes has this target "
                   "(target-schema \"shop\", target-table \"items\" or empty)"},
        ConfigCase{"twice",
                   {ShardMode::optimistic, {{kOrders, 2, {}}, {kOrders, 3, {}}}},
                   "shard-groups.\"shop.orders\": the same target is given twice"},
        ConfigCase{"member_routes_elsewhere",
                   {ShardMode::optimistic,
                    {{kOrders, 0, {{"shard_1", "orders_1"}, {"shard_2", "items_2"}}}}},
                   "shard-groups.\"shop.orders\".members[1] \"shard_2.items_2\": no rule in "
                   "routes matches it"},
        ConfigCase{"member_other_target",
                   {ShardMode::optimistic, {{kOrders, 0, {{"legacy_1", "orders"}}}}},
                   "shard-groups.\"shop.orders\".members[0] \"legacy_1.orders\": routes to "
                   "`merged`.`orders`, not to `shop`.`orders`"},
        ConfigCase{"member_twice",
                   {ShardMode::optimistic,
                    {{kOrders, 0, {{"shard_1", "orders_1"}, {"shard_1", "orders_1"}}}}},
                   "shard-groups.\"shop.orders\".members[1] \"shard_1.orders_1\": listed twice"},
        ConfigCase{"count_disagrees",
                   {ShardMode::optimistic, {{kOrders, 3, {{"shard_1", "orders_1"}}}}},
                   "shard-groups.\"shop.orders\".members: the list has 1 names but the count "
                   "says 3"}),
    [](const ::testing::TestParamInfo<ConfigCase>& info) { return std::string(info.param.name); });

TEST(ShardConfigFind, FindGroup) {
  const ShardConfig config{ShardMode::optimistic, {{kOrders, 2, {}}}};
  ASSERT_NE(find_group(config, kOrders), nullptr);
  EXPECT_EQ(find_group(config, kOrders)->member_count, 2U);
  EXPECT_EQ(find_group(config, {"shop", "items"}), nullptr);
}

}  // namespace
}  // namespace ghostgate::rules
