#include "rules/table_rules.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace ghostgate::rules {
namespace {

std::string describe(const TableRules& rules, std::string_view name) {
  const NameMatch m = rules.match(name);
  switch (m.kind) {
    case TableKind::real:
      return "real";
    case TableKind::ghost:
      return "ghost:" + std::string(m.capture);
    case TableKind::trash:
      return "trash:" + std::string(m.capture);
  }
  return "?";
}

struct Case {
  std::string_view name;
  std::string_view expected;
};

class DefaultRules : public ::testing::TestWithParam<Case> {};

TEST_P(DefaultRules, Match) {
  static const TableRules rules = TableRules::defaults();
  EXPECT_EQ(describe(rules, GetParam().name), GetParam().expected) << GetParam().name;
  if (GetParam().expected != "real") {
    EXPECT_TRUE(rules.may_match(GetParam().name));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Names, DefaultRules,
    ::testing::Values(Case{"t", "real"}, Case{"orders", "real"}, Case{"Orders_gho", "real"},
                      Case{"_t_gho", "ghost:t"}, Case{"_my_table_gho", "ghost:my_table"},
                      Case{"__t_gho", "ghost:_t"},  // gh-ost on `_t`
                      Case{"_t_new", "ghost:t"}, Case{"__t_new", "ghost:t"},
                      Case{"___t_new", "ghost:t"}, Case{"_t_ghc", "trash:t"},
                      Case{"_t_ghk", "trash:t"}, Case{"_t_del", "trash:t"},
                      Case{"_t_20261122101010_del", "trash:t"},
                      Case{"_t_2026112210101_del", "trash:t_2026112210101"},  // 13 digits
                      Case{"_t_rev_del", "trash:t"}, Case{"_t_old", "trash:t"},
                      Case{"__t_old", "trash:t"}, Case{"_t_gho_x", "real"}, Case{"_gho", "real"},
                      Case{"__gho", "real"}, Case{"_表_gho", "ghost:表"},
                      Case{"_t_GHO", "real"},  // names are case-sensitive
                      Case{"x_t_gho", "real"}));

TEST(TableRules, DmListReplacesTheDefault) {
  std::string error;
  auto rules =
      TableRules::create(TableRules::dm_shadow_rules(), TableRules::dm_trash_rules(), &error);
  ASSERT_TRUE(rules.has_value()) << error;
  EXPECT_EQ(describe(*rules, "__t_new"), "ghost:_t");  // DM's known gap
  EXPECT_EQ(describe(*rules, "_t_ghk"), "real");       // DM's known gap
  EXPECT_EQ(describe(*rules, "_t_gho"), "ghost:t");
  EXPECT_EQ(describe(*rules, "_t_old"), "trash:t");

  // A user list replaces only its own default.
  rules = TableRules::create({"(.+)_shadow"}, {}, &error);
  ASSERT_TRUE(rules.has_value()) << error;
  EXPECT_EQ(describe(*rules, "orders_shadow"), "ghost:orders");
  EXPECT_EQ(describe(*rules, "_orders_gho"), "real");
  EXPECT_EQ(describe(*rules, "_orders_del"), "trash:orders");
  EXPECT_TRUE(rules->may_match("anything"));  // no range to check: the regex decides
  EXPECT_EQ(rules->shadow_rules(), std::vector<std::string>{"(.+)_shadow"});
  EXPECT_EQ(rules->trash_rules(), TableRules::default_trash_rules());
}

TEST(TableRules, AnchorsAreImplied) {
  std::string error;
  auto rules = TableRules::create({"gh_(.+)"}, {"(.+)_trash"}, &error);
  ASSERT_TRUE(rules.has_value()) << error;
  EXPECT_EQ(describe(*rules, "gh_x"), "ghost:x");
  EXPECT_EQ(describe(*rules, "a_gh_x"), "real");
  EXPECT_EQ(describe(*rules, "x_trash_y"), "real");
}

TEST(TableRules, GhostRulesWinOverTrashRules) {
  std::string error;
  auto rules = TableRules::create({"_(.+)_x"}, {"_(.+)"}, &error);
  ASSERT_TRUE(rules.has_value()) << error;
  EXPECT_EQ(describe(*rules, "_a_x"), "ghost:a");
  NameMatch all[4];
  ASSERT_EQ(rules->match_all("_a_x", all, 4), 2u);
  EXPECT_EQ(all[1].kind, TableKind::trash);
  EXPECT_EQ(all[1].capture, "a_x");
}

struct BadCase {
  std::vector<std::string> shadow;
  std::vector<std::string> trash;
  std::string_view message_part;
};

class BadRules : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadRules, AreRejectedNamingTheRule) {
  std::string error;
  auto rules = TableRules::create(GetParam().shadow, GetParam().trash, &error);
  EXPECT_FALSE(rules.has_value());
  EXPECT_NE(error.find(GetParam().message_part), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, BadRules,
    ::testing::Values(
        BadCase{{"_(.+)_gho", "_(.+"}, {}, "shadow-table-rules[1] \"_(.+\": invalid regular"},
        BadCase{{"_.+_gho"}, {}, "shadow-table-rules[0] \"_.+_gho\": must have exactly one"},
        BadCase{{}, {"_(.+)_(del|old)"}, "trash-table-rules[0] \"_(.+)_(del|old)\": must have"},
        BadCase{{}, {"(?P<x>a)(b)"}, "has 2"}, BadCase{{"[z-a](.)"}, {}, "invalid"}));

TEST(TableRules, MatchingDoesNotCopyTheName) {
  const TableRules rules = TableRules::defaults();
  const std::string name = "_orders_gho";
  const NameMatch m = rules.match(name);
  EXPECT_EQ(m.capture.data(), name.data() + 1);
}

// ---------------------------------------------------------------------------------------------
// 64-character names.

std::string repeat(char c, std::size_t n) { return std::string(n, c); }

bool has(const std::vector<TruncationCandidate>& list, std::string_view real, TableKind kind,
         bool ambiguous) {
  for (const auto& c : list) {
    if (c.real == real && c.kind == kind && c.ambiguous == ambiguous) {
      return true;
    }
  }
  return false;
}

TEST(Truncation, PtOscNewAndOldTablesOfA62CharacterName) {
  const std::string x = "o" + repeat('r', 60) + "s";  // 62 characters
  ASSERT_EQ(x.size(), 62u);
  // pt-osc: "_" + x + "_new" = 67 bytes, cut to 64 = "_" + x + "_".
  const std::string new_table = ("_" + x + "_new").substr(0, 64);
  ASSERT_EQ(new_table, "_" + x + "_");
  // The old table "_" + x + "_old" cuts to the same name, so pt-osc retries with "__".
  const std::string old_table = ("__" + x + "_old").substr(0, 64);
  ASSERT_EQ(old_table, "__" + x);

  const auto n = pt_osc_truncation_candidates(new_table);
  EXPECT_TRUE(has(n, x, TableKind::ghost, true)) << "x from _x_";
  const auto o = pt_osc_truncation_candidates(old_table);
  EXPECT_TRUE(has(o, x, TableKind::ghost, true)) << "x from __x";
}

TEST(Truncation, PartialSuffixGivesTheRole) {
  const std::string x = repeat('a', 60);
  EXPECT_TRUE(has(pt_osc_truncation_candidates(("_" + x + "_new").substr(0, 64)), x,
                  TableKind::ghost, false));  // "_" + x + "_ne"
  EXPECT_TRUE(has(pt_osc_truncation_candidates(("_" + x + "_old").substr(0, 64)), x,
                  TableKind::trash, false));  // "_" + x + "_ol"
  const std::string y = repeat('b', 61);
  EXPECT_TRUE(has(pt_osc_truncation_candidates(("_" + y + "_new").substr(0, 64)), y,
                  TableKind::ghost, false));  // "_" + y + "_n"
}

TEST(Truncation, OnlyForCutNames) {
  EXPECT_TRUE(pt_osc_truncation_candidates("_t_").empty());
  EXPECT_TRUE(pt_osc_truncation_candidates(repeat('a', 64)).empty());  // no leading `_`
  // "_" + 59 chars + "_new" is exactly 64: nothing was cut, the rules match it.
  const std::string exact = "_" + repeat('c', 59) + "_new";
  ASSERT_EQ(exact.size(), 64u);
  for (const auto& c : pt_osc_truncation_candidates(exact)) {
    EXPECT_GT(c.real.size() + 4 + 1, 64u) << c.real;
  }
}

TEST(PtOscTriggers, Names) {
  EXPECT_TRUE(is_pt_osc_trigger_name("pt_osc_test_t_ins"));
  EXPECT_TRUE(is_pt_osc_trigger_name("pt_osc_test_t_upd"));
  EXPECT_TRUE(is_pt_osc_trigger_name("pt_osc_test_t_del"));
  EXPECT_TRUE(is_pt_osc_trigger_name("pt_osc_" + repeat('d', 53) + "_ins"));  // cut to 60 + 4
  EXPECT_FALSE(is_pt_osc_trigger_name("pt_osc_test_t_foo"));
  EXPECT_FALSE(is_pt_osc_trigger_name("my_trigger_ins"));
  EXPECT_FALSE(is_pt_osc_trigger_name("pt_osc_ins"));
}

}  // namespace
}  // namespace ghostgate::rules
