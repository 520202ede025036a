// rules/shard_group.h: a shard group read back from the backend (ShardGroup::from_json), then
// driven by a sequence of cut-overs and operator releases. Input: 1 byte of configuration (mode,
// members as a count or a list, how many), then NUL-separated parts: the stored state (JSON;
// when it does not parse, the group starts empty, as for a target with no row), then commands:
//   "\x01" m      a cut-over of member m (kMembers[m % 5]; the last is never a member) whose
//                 recorded DDLs are the parts that follow, up to the next command
//   "\x02" v      an operator releases version v
//   "\x03" bits   the target's columns and indexes change behind the group's back (a spec run
//                 before a crash but not marked done, a DBA's change): shard_fuzz_util.h
// Properties besides no crash / UB / leak:
// - from_json either fails with a message or gives a group whose to_json() reads back equal
//   (from_json(to_json(g)) == g, to_json stable), for every state reached (the proxy persists
//   each state step that way);
// - a decision: conflict has no steps and changes nothing; otherwise every state step applies
//   (apply() returns true: the header says the steps fit the state), run_spec steps name the
//   target and say spec_sql() of a spec of the state; the member ends at d.version; d.waiting
//   is the new state's waiting(); the target then runs the run_spec steps;
// - the same cut-over resent (the replicator got no answer) against the persisted state is not
//   a conflict, joins nothing, appends no version, and runs nothing when it reaches nothing;
// - a release: conflict with no steps, or state steps that apply.
#include "rules/shard_group.h"

#include <array>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "shard_fuzz_util.h"

using namespace ghostgate::rules;

namespace {

const QualifiedName kTarget{"shop", "orders"};
const std::array<QualifiedName, 5> kMembers = {
    QualifiedName{"shard_1", "orders_1"}, QualifiedName{"shard_2", "orders_2"},
    QualifiedName{"shard_3", "orders_3"}, QualifiedName{"we`ird", "a b.c"},
    QualifiedName{"shard_9", "orders_9"}};

ShardGroupConfig make_config(std::uint8_t flags) {
  ShardGroupConfig config;
  config.target = kTarget;
  const std::size_t n = 1 + ((flags >> 2) & 3);  // 1..4
  if ((flags & 2) != 0) {
    config.members.assign(kMembers.begin(), kMembers.begin() + static_cast<std::ptrdiff_t>(n));
    config.member_count = n;
  } else {
    config.member_count = n;
  }
  return config;
}

// The proxy persists the group after each state step: what it reads back must be the group.
ShardGroup persisted(const ShardGroup& g) {
  const std::string json = g.to_json();
  std::string error;
  const std::optional<ShardGroup> back = ShardGroup::from_json(json, g.config(), g.mode(), &error);
  if (!back.has_value()) {
    std::fprintf(stderr, "from_json(to_json) failed: %s\n%s\n", error.c_str(), json.c_str());
  }
  FUZZ_CHECK(back.has_value());
  if (!(*back == g)) {
    std::fprintf(stderr, "state read back differs:\n%s\n%s\n", json.c_str(),
                 back->to_json().c_str());
  }
  FUZZ_CHECK(*back == g);
  FUZZ_CHECK(back->to_json() == json);
  return *back;
}

// Runs a decision's steps as the proxy does; returns the state after them.
ShardGroup run(const ShardGroup& group, const ShardDecision& d, TargetSchema& schema) {
  if (d.verdict == ShardDecision::Verdict::conflict) {
    FUZZ_CHECK(d.steps.empty() && !d.message.empty());
    return group;
  }
  ShardGroup after = group;
  for (const ShardStep& step : d.steps) {
    if (step.kind != ShardStep::Kind::run_spec) {
      FUZZ_CHECK(after.apply(step));
      continue;
    }
    FUZZ_CHECK(step.version >= 1 && step.version <= after.versions().size());
    const ShardVersion& v = after.versions()[step.version - 1];
    FUZZ_CHECK(step.spec < v.specs.size());
    const ShardSpec& s = v.specs[step.spec];
    FUZZ_CHECK(!s.done);
    FUZZ_CHECK(step.sql == spec_sql(kTarget, s.text));
    FUZZ_CHECK(!after.apply(step));  // not a state step
    apply_to_schema(s.kind, s.subject, s.new_name, ColumnInfo{}, schema);
  }
  FUZZ_CHECK(d.waiting == after.waiting());
  if (d.verdict == ShardDecision::Verdict::wait) {
    FUZZ_CHECK(after.mode() == ShardMode::pessimistic && !d.message.empty());
  }
  return persisted(after);
}

void cut_over(ShardGroup& group, const QualifiedName& member, const std::vector<std::string>& ddls,
              TargetSchema& schema) {
  const NormalizedSet set = normalize_ddls(ddls, kTarget);
  const ShardDecision d = group.decide(member, set, schema);
  const ShardGroup before = group;
  group = run(group, d, schema);
  if (d.verdict == ShardDecision::Verdict::conflict) {
    FUZZ_CHECK(group == before);
    return;
  }
  for (const ShardMemberState& m : group.members()) {
    if (m.name == member) {
      FUZZ_CHECK(m.reached == d.version);
    }
  }
  // The replicator resends the cut-over (no OK reached it).
  const ShardDecision again = group.decide(member, set, schema);
  FUZZ_CHECK(again.verdict != ShardDecision::Verdict::conflict);
  bool reaches = false;
  bool runs = false;
  for (const ShardStep& step : again.steps) {
    FUZZ_CHECK(step.kind != ShardStep::Kind::join && step.kind != ShardStep::Kind::append_version);
    reaches = reaches || step.kind == ShardStep::Kind::reach;
    runs = runs || step.kind == ShardStep::Kind::run_spec;
  }
  FUZZ_CHECK(reaches || !runs);
  group = run(group, again, schema);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ghostgate::fuzz::Input in(data, size);
  const auto flags = static_cast<std::uint8_t>(in.take(1));
  const ShardMode mode = (flags & 1) != 0 ? ShardMode::pessimistic : ShardMode::optimistic;
  const ShardGroupConfig config = make_config(flags);
  const std::vector<std::string> parts = ghostgate::fuzz::split_nul(in.take_string(in.remaining()));

  std::string error;
  std::optional<ShardGroup> loaded = ShardGroup::from_json(parts[0], config, mode, &error);
  if (!loaded.has_value()) {
    FUZZ_CHECK(!error.empty());
    loaded.emplace(config, mode);
  }
  ShardGroup group = persisted(*loaded);
  TargetSchema schema = ghostgate::fuzz::make_schema(NormalizedSet{}, flags >> 4);

  std::size_t i = 1;
  while (i < parts.size()) {
    const std::string& cmd = parts[i++];
    const auto arg = static_cast<std::uint8_t>(cmd.size() > 1 ? cmd[1] : 0);
    if (cmd.empty()) {
      continue;
    }
    if (cmd[0] == '\x01') {
      std::vector<std::string> ddls;
      while (i < parts.size() &&
             (parts[i].empty() || static_cast<unsigned char>(parts[i][0]) > 3)) {
        ddls.push_back(parts[i++]);
      }
      cut_over(group, kMembers[arg % kMembers.size()], ddls, schema);
    } else if (cmd[0] == '\x02') {
      const ShardDecision d = group.release(arg % 8, schema);
      FUZZ_CHECK(d.verdict != ShardDecision::Verdict::wait);
      group = run(group, d, schema);
    } else if (cmd[0] == '\x03') {
      NormalizedSet subjects;
      for (const ShardVersion& v : group.versions()) {
        for (const ShardSpec& s : v.specs) {
          AlterSpec a;
          a.subject = s.subject.empty() ? s.new_name : s.subject;
          subjects.specs.push_back(std::move(a));
        }
      }
      std::uint64_t bits = 0;
      for (std::size_t k = 1; k < cmd.size() && k <= 8; ++k) {
        bits |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(cmd[k])) << (8 * (k - 1));
      }
      schema = ghostgate::fuzz::make_schema(subjects, bits);
    }
  }
  return 0;
}
