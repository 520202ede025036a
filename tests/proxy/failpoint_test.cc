#include "proxy/observe/failpoint.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>

namespace ghostgate::proxy::failpoint {
namespace {

using Kind = Action::Kind;

Action make(Kind kind, std::uint32_t sleep_ms = 0, std::string message = {},
            std::uint32_t count = 0, std::uint32_t skip = 0) {
  Action a;
  a.kind = kind;
  a.sleep_ms = sleep_ms;
  a.message = std::move(message);
  a.count = count;
  a.skip = skip;
  return a;
}

struct GoodCase {
  std::string_view spec;
  std::vector<Entry> want;
};

TEST(FailpointParse, AcceptsTheDocumentedForms) {
  const GoodCase cases[] = {
      {"", {}},
      {" ; ;", {}},
      {"a=crash", {{"a", make(Kind::crash)}}},
      {"a=kill", {{"a", make(Kind::crash)}}},
      {" after-record-persisted = crash ; ", {{"after-record-persisted", make(Kind::crash)}}},
      {"x=sleep(250)", {{"x", make(Kind::sleep, 250)}}},
      {"x=sleep( 7 )", {{"x", make(Kind::sleep, 7)}}},
      {"x=error", {{"x", make(Kind::error)}}},
      {"x=error(disk full)", {{"x", make(Kind::error, 0, "disk full")}}},
      {"x=return", {{"x", make(Kind::error)}}},
      {"x=off", {{"x", make(Kind::off)}}},
      {"x=1*crash", {{"x", make(Kind::crash, 0, {}, 1)}}},
      {"x=3*sleep(10)", {{"x", make(Kind::sleep, 10, {}, 3)}}},
      {"x=2*error(a*b)", {{"x", make(Kind::error, 0, "a*b", 2)}}},
      {"x=crash@1", {{"x", make(Kind::crash)}}},
      {"x=crash@3", {{"x", make(Kind::crash, 0, {}, 0, 2)}}},
      {"x=crash @ 2", {{"x", make(Kind::crash, 0, {}, 0, 1)}}},
      {"x=2*sleep(5)@4", {{"x", make(Kind::sleep, 5, {}, 2, 3)}}},
      {"x=error(a@b)", {{"x", make(Kind::error, 0, "a@b")}}},
      {"x=error(a@b)@2", {{"x", make(Kind::error, 0, "a@b", 0, 1)}}},
      {"a=crash;b=sleep(1);c.d/e_f=error",
       {{"a", make(Kind::crash)}, {"b", make(Kind::sleep, 1)}, {"c.d/e_f", make(Kind::error)}}},
  };
  for (const GoodCase& c : cases) {
    std::vector<Entry> got;
    std::string error;
    EXPECT_TRUE(parse(c.spec, got, error)) << c.spec << ": " << error;
    EXPECT_EQ(got, c.want) << c.spec;
  }
}

TEST(FailpointParse, RejectsBadSpecsWithAMessageNamingTheEntry) {
  const std::string_view cases[] = {
      "crash",                // no name
      "=crash",               // empty name
      "a b=crash",            // bad name
      "a=explode",            // unknown action
      "a=sleep",              // sleep needs a duration
      "a=sleep()",            //
      "a=sleep(-1)",          //
      "a=sleep(10ms)",        //
      "a=sleep(10",           // unbalanced
      "a=crash(1)",           // crash takes no argument
      "a=0*crash",            // a count of zero acts never: certainly a mistake
      "a=x*crash",            //
      "a=crash@0",            // hits count from 1
      "a=crash@",             //
      "a=crash@x",            //
      "a=crash@-1",           //
      "a=crash@1@2",          //
      "a=error(x)@",          //
      "a=crash;b=nope",       // one bad entry spoils the lot
      "x=error(disk; full)",  // `;` always separates entries
  };
  for (std::string_view spec : cases) {
    std::vector<Entry> got{{"keep", make(Kind::crash)}};
    std::string error;
    EXPECT_FALSE(parse(spec, got, error)) << spec;
    EXPECT_FALSE(error.empty()) << spec;
    EXPECT_NE(error.find("failpoint entry"), std::string::npos) << spec << ": " << error;
    ASSERT_EQ(got.size(), 1u) << spec << ": output changed on failure";
  }
}

class FailpointArmed : public ::testing::Test {
 protected:
  void TearDown() override { disarm_all(); }
};

TEST_F(FailpointArmed, DisarmedCostsNothingAndReturnsNothing) {
  disarm_all();
  EXPECT_FALSE(detail::g_any_armed.load());
  EXPECT_FALSE(hit("anything").has_value());
  EXPECT_EQ(hits("anything"), 0u);
  EXPECT_EQ(describe_armed(), "");
}

TEST_F(FailpointArmed, ErrorActsAndCountLimitsIt) {
  std::string error;
  ASSERT_TRUE(configure("a=2*error(boom);b=error;c=off", error)) << error;
  EXPECT_TRUE(detail::g_any_armed.load());
  auto first = hit("a");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->kind, Kind::error);
  EXPECT_EQ(first->message, "boom");
  EXPECT_TRUE(hit("a").has_value());
  EXPECT_FALSE(hit("a").has_value()) << "2*: the third hit must not act";
  EXPECT_EQ(hits("a"), 3u);
  auto b = hit("b");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->message, "failpoint b") << "a default message names the failpoint";
  EXPECT_FALSE(hit("c").has_value());
  EXPECT_FALSE(hit("unarmed").has_value());
  EXPECT_EQ(describe_armed(), "a=2*error(boom);b=error;c=off");
}

TEST_F(FailpointArmed, SkipLetsTheFirstHitsPass) {
  std::string error;
  ASSERT_TRUE(configure("a=error@3;b=2*error(twice)@2", error)) << error;
  EXPECT_EQ(describe_armed(), "a=error@3;b=2*error(twice)@2");
  EXPECT_FALSE(hit("a").has_value()) << "hit 1 of a passes";
  EXPECT_FALSE(hit("a").has_value()) << "hit 2 of a passes";
  EXPECT_TRUE(hit("a").has_value()) << "hit 3 of a acts";
  EXPECT_TRUE(hit("a").has_value()) << "and every one after it (no count)";
  EXPECT_EQ(hits("a"), 4u);
  std::vector<bool> acted;
  for (int i = 0; i < 5; ++i) {
    acted.push_back(hit("b").has_value());
  }
  EXPECT_EQ(acted, (std::vector<bool>{false, true, true, false, false}))
      << "2*...@2: hits 2 and 3 act, none other";
}

TEST_F(FailpointArmed, OnlyOffEntriesLeaveTheFastPathDisarmed) {
  std::string error;
  ASSERT_TRUE(configure("a=off", error));
  EXPECT_FALSE(detail::g_any_armed.load());
}

TEST_F(FailpointArmed, BadSpecChangesNothing) {
  std::string error;
  ASSERT_TRUE(configure("a=error", error));
  EXPECT_FALSE(configure("a=explode", error));
  EXPECT_TRUE(hit("a").has_value()) << "the previous arming stays";
}

TEST_F(FailpointArmed, SleepBlocksThenCarriesOn) {
  std::string error;
  ASSERT_TRUE(configure("s=1*sleep(30)", error));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(hit("s").has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(30));
  EXPECT_EQ(hits("s"), 1u);
}

TEST(FailpointCrash, SkippedHitsDoNotCrash) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        std::string error;
        if (configure("boom=crash@3", error)) {
          hit("boom");
          hit("boom");
          std::fprintf(stderr, "two hits passed\n");
          hit("boom");
        }
        std::_Exit(0);
      },
      ::testing::KilledBySignal(SIGKILL), "two hits passed(.|\n)*failpoint boom: crash");
}

TEST(FailpointCrash, KillsTheProcessWithSigkill) {
  // Death tests fork: the SIGKILL ends only the child.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        std::string error;
        if (configure("boom=crash", error)) {
          hit("boom");
        }
        std::_Exit(0);
      },
      ::testing::KilledBySignal(SIGKILL), "failpoint boom: crash");
}

}  // namespace
}  // namespace ghostgate::proxy::failpoint
