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

// ---------------------------------------------------------------------------------------------
// Every tool's names (rules/TOOLS.md). "shape" marks a rule whose capture is not checked against
// the catalog (the shape alone identifies the tool); the engine's plausibility tests are in
// online_ddl_test.cc.

struct PresetCase {
  std::string name;
  std::string expected;
  bool shape = false;
};

std::string describe_preset(const TableRules& rules, std::string_view name) {
  const NameMatch m = rules.match(name);
  std::string out = describe(rules, name);
  if (m.kind != TableKind::real && !m.verify) {
    out += " shape";
  }
  if (m.drop_on_rename) {
    out += " drop";
  }
  return out;
}

class Presets : public ::testing::TestWithParam<PresetCase> {};

TEST_P(Presets, Match) {
  static const TableRules rules = TableRules::defaults();
  const PresetCase& c = GetParam();
  EXPECT_EQ(describe_preset(rules, c.name), c.expected) << c.name;
  EXPECT_EQ(rules.matches_any(c.name), c.expected != "real") << c.name;
  if (c.expected != "real") {
    EXPECT_TRUE(rules.may_match(c.name)) << c.name;
  }
}

const std::string kUuid = "6ace8bcef73211ea87e9f875a4d24e90";
const std::string kLong = "orders_" + std::string(57, 'x');  // 64 characters

INSTANTIATE_TEST_SUITE_P(
    Names, Presets,
    ::testing::Values(
        // gh-ost 1.1.8+
        PresetCase{"_t_ghk", "trash:t"}, PresetCase{"_t_20260102030405_rev_del", "trash:t"},
        PresetCase{"_F_gho", "ghost:F"},  // --force-table-names=F: bound by CREATE ... LIKE
        // gh-ost cut to 64: `_<X cut>_gho`, the capture only a prefix of X
        PresetCase{"_" + kLong.substr(0, 59) + "_gho", "ghost:" + kLong.substr(0, 59)},
        // pt-osc 3.5/3.6
        PresetCase{"___t_new", "ghost:t"}, PresetCase{"A1B2C3___________t_old", "trash:t"},
        PresetCase{"pt_osc_history", "trash: shape"}, PresetCase{"a1b2c3___t_old", "real"},
        // Spirit
        PresetCase{"_t_chkpnt", "trash:t"}, PresetCase{"_t_old_20260102_030405", "trash:t"},
        PresetCase{"_t_sentinel", "trash:t"}, PresetCase{"_spirit_sentinel", "trash: shape"},
        PresetCase{"_spirit_checkpoint", "trash: shape"},
        PresetCase{"_" + kLong.substr(0, 56) + "_chkpnt", "trash:" + kLong.substr(0, 56)},
        PresetCase{"_t_old_2026010_030405", "real"},  // not a timestamp
        // LHM
        PresetCase{"lhmn_t", "ghost:t"}, PresetCase{"lhma_2026_01_02_03_04_05_678_t", "trash:t"},
        PresetCase{"lhma_2026_01_02_03_04_05_678_t_failed", "trash:t"},
        PresetCase{("lhmn_" + kLong).substr(0, 64), "ghost:" + kLong.substr(0, 59)},
        PresetCase{("lhma_2026_01_02_03_04_05_678_" + kLong).substr(0, 57) + "_failed",
                   "trash:" + kLong.substr(0, 28)},
        PresetCase{"lhma_2026_01_02_t", "real"}, PresetCase{"lhmnt", "real"},
        PresetCase{"logs", "real"},
        // Vitess
        PresetCase{"_vt_vrp_" + kUuid + "_20260102030405_", "ghost: shape"},
        PresetCase{"_6ace8bce_f732_11ea_87e9_f875a4d24e90_20260102030405_vrepl", "ghost: shape"},
        PresetCase{"_vt_hld_" + kUuid + "_20260102030405_", "trash: shape drop"},
        PresetCase{"_vt_prg_" + kUuid + "_20260102030405_", "trash: shape drop"},
        PresetCase{"_vt_evc_" + kUuid + "_20260102030405_", "trash: shape drop"},
        PresetCase{"_vt_drp_" + kUuid + "_20260102030405_", "trash: shape drop"},
        PresetCase{"_vt_HOLD_" + kUuid + "_20260102030405", "trash: shape drop"},
        PresetCase{"_vt_vrp_" + kUuid + "_2026010203040_", "real"},  // 13 digits
        PresetCase{"_vt_xyz_" + kUuid + "_20260102030405_", "real"},
        PresetCase{"_vt_vrp_" + kUuid.substr(1) + "g_20260102030405_", "real"},
        // Bytebase
        PresetCase{"~t_gho", "ghost:t shape"}, PresetCase{"~t_ghc", "trash:t shape"},
        PresetCase{"~t_del", "trash:t shape"}, PresetCase{"~t_ghk", "trash:t shape"},
        PresetCase{"~t_20260102030405_del", "trash:t_20260102030405 shape"},
        PresetCase{"~t", "real"},
        // Alibaba DMS
        PresetCase{"tp_1234_ogt_t", "ghost:t"}, PresetCase{"tp_1234_ogl_t", "trash:t"},
        PresetCase{"tp_1234_del_t", "trash:t"}, PresetCase{"tp_x_ogt_t", "real"},
        PresetCase{"tp_1_ogx_t", "real"}, PresetCase{"tickets", "real"},
        // oak-online-alter-table
        PresetCase{"__oak_t", "ghost:t"}, PresetCase{"__arc_t", "trash:t"},
        PresetCase{"_oak_t", "real"}));

TEST(TableRules, ToolsSelectTheirPresets) {
  std::string error;
  auto rules = TableRules::for_tools({"gh-ost", "lhm"}, &error);
  ASSERT_TRUE(rules.has_value()) << error;
  EXPECT_EQ(describe(*rules, "_t_gho"), "ghost:t");
  EXPECT_EQ(describe(*rules, "lhmn_t"), "ghost:t");
  EXPECT_EQ(describe(*rules, "_t_new"), "real");  // pt-osc / Spirit not selected
  EXPECT_EQ(describe(*rules, "__oak_t"), "real");
  EXPECT_FALSE(rules->may_match("tp_1_ogt_t"));
  EXPECT_TRUE(rules->is_helper_trigger("lhmt_ins_t"));
  EXPECT_FALSE(rules->is_helper_trigger("pt_osc_test_t_ins"));
  EXPECT_FALSE(rules->is_helper_schema("_vt"));
  EXPECT_TRUE(rules->has_tool_marker("create /* gh-ost */ table `_F_ghc` (id int)"));

  rules = TableRules::for_tools({}, &error);  // an empty list: no presets at all
  ASSERT_TRUE(rules.has_value()) << error;
  EXPECT_FALSE(rules->matches_any("_t_gho"));
  EXPECT_FALSE(rules->may_match("_t_gho"));
  EXPECT_TRUE(rules->tools().empty());

  // A user list replaces the tools' rules of its kind only; triggers and schemas stay.
  rules = TableRules::create(RuleConfig{std::vector<std::string>{"vitess"}, {"(.+)_shadow"}, {}},
                             &error);
  ASSERT_TRUE(rules.has_value()) << error;
  EXPECT_EQ(describe(*rules, "orders_shadow"), "ghost:orders");
  EXPECT_EQ(describe(*rules, "_vt_hld_" + kUuid + "_20260102030405_"), "trash:");
  EXPECT_TRUE(rules->is_helper_schema("_vt"));
  EXPECT_EQ(rules->trash_rules(), TableRules::tool_trash_rules([] {
              ToolSet t = ToolSet::none();
              t.add(Tool::vitess);
              return t;
            }()));
}

TEST(TableRules, UnknownToolIsAnErrorNamingItAndTheKnownOnes) {
  std::string error;
  EXPECT_FALSE(TableRules::for_tools({"gh-ost", "ghost"}, &error).has_value());
  EXPECT_EQ(error,
            "online-ddl-tools[1] \"ghost\": unknown tool; known tools: gh-ost, pt-osc, spirit, "
            "lhm, vitess, bytebase, dms, oak");
  for (const std::string& name : TableRules::known_tools()) {
    ASSERT_TRUE(parse_tool(name).has_value()) << name;
    EXPECT_EQ(tool_name(*parse_tool(name)), name);
  }
}

TEST(TableRules, TheDefaultsAreEveryTool) {
  const TableRules rules = TableRules::defaults();
  EXPECT_EQ(rules.tools(), ToolSet::all());
  EXPECT_EQ(rules.shadow_rules(), TableRules::tool_shadow_rules(ToolSet::all()));
  // The historical defaults keep their places at the front.
  EXPECT_EQ(rules.shadow_rules()[0], "_(.+)_gho");
  EXPECT_EQ(rules.shadow_rules()[1], "_+(.+)_new");
  // Passing the default lists explicitly (as the proxy does) is the same as passing none.
  std::string error;
  auto again = TableRules::create(TableRules::default_shadow_rules(),
                                  TableRules::default_trash_rules(), &error);
  ASSERT_TRUE(again.has_value()) << error;
  EXPECT_EQ(describe_preset(*again, "_vt_vrp_" + kUuid + "_20260102030405_"), "ghost: shape");
}

TEST(TableRules, HelperTriggers) {
  const TableRules rules = TableRules::defaults();
  for (std::string_view t :
       {"pt_osc_test_t_ins", "rt_pt_osc_test__t_new_del", "lhmt_ins_t", "lhmt_upd_orders",
        "lhmt_del_x", "t_AI_oak", "orders_AU_oak", "orders_AD_oak"}) {
    EXPECT_TRUE(rules.is_helper_trigger(t)) << t;
  }
  for (std::string_view t : {"trg", "lhmt_ins_", "lhmt_foo_t", "_AI_oak", "t_AI_oakx", "t_ai_oak",
                             "rt_pt_osc_ins", "pt_osc_test_t_foo"}) {
    EXPECT_FALSE(rules.is_helper_trigger(t)) << t;
  }
}

// The hot path's pre-filter: real names that share a first byte with some tool's helper names
// are still turned away without running a regex.
TEST(TableRules, ThePrefilterRejectsCommonRealNames) {
  const TableRules rules = TableRules::defaults();
  for (std::string_view name : {"logs", "line_items", "lhm", "tickets", "Orders", "ABCDEF_x",
                                "pt_osc", "users", "percona"}) {
    EXPECT_FALSE(rules.may_match(name)) << name;
  }
  // A name with a tool's literal prefix runs the DFA, which says no.
  for (std::string_view name : {"tp_orders", "~", "lhmn_", "__oak_"}) {
    EXPECT_FALSE(rules.matches_any(name)) << name;
  }
  // `_` names and the random-prefix pt-osc shape still go to the DFA.
  EXPECT_TRUE(rules.may_match("_orders_archive"));
  EXPECT_FALSE(rules.matches_any("_orders_archive"));
}

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
