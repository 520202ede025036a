// rules/shard_ddl.h on a shard's recorded DDLs (the text the replicator sent, recorded from the
// shard's ghost and rewritten onto the merge target). Input: 1 byte picks the target, 8 bytes
// pick the target's columns and indexes (shard_fuzz_util.h), then NUL-separated parts: DDLs of
// shard A, a part "\x02", DDLs of shard B, and parts "\x01<type text>" for compare_types().
// Properties besides no crash / UB / leak:
// - canonical texts are a fixed point: normalize_ddls({spec_sql(target, s.text)}) of every
//   non-`unknown` spec gives that one spec again (kind, text, subject, type, flags: all equal);
//   an `unknown` spec says why;
// - same_set() is symmetric, reflexive and blind to order (the DDLs normalised in reverse order
//   give the same set);
// - classify_set() gives one classification per spec; `unknown` is conflicting; every
//   contracting or conflicting one says why;
// - compare_types(): a is wider than b exactly when b is narrower than a (same and incomparable
//   are symmetric); a type is the same as itself; every spec's canonical type is a type it
//   understands; a type text it understands, added as a column, gets a canonical type that is
//   the same type;
// - apply_to_schema() makes visible_in_schema() true for the kinds it can look for; kind and
//   class names parse back.
#include "rules/shard_ddl.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "shard_fuzz_util.h"

using namespace ghostgate::rules;

namespace {

const std::array<QualifiedName, 3> kTargets = {
    QualifiedName{"shop", "orders"}, QualifiedName{"test", "t"}, QualifiedName{"we`ird", "a b.c"}};

constexpr std::size_t kMaxTypes = 12;

bool understood_type(const std::string& type) {
  // Unparsed texts compare by their lower-cased text (so a trailing space differs); parsed ones by
  // their values (a trailing space changes nothing).
  return compare_types(type, type + " ") == TypeChange::same;
}

TypeChange reverse(TypeChange c) {
  switch (c) {
    case TypeChange::wider:
      return TypeChange::narrower;
    case TypeChange::narrower:
      return TypeChange::wider;
    default:
      return c;
  }
}

void check_idempotent(const AlterSpec& s, const QualifiedName& target) {
  if (s.kind == SpecKind::unknown) {
    FUZZ_CHECK(!s.why.empty());
    return;
  }
  FUZZ_CHECK(!s.text.empty() && s.why.empty());
  const NormalizedSet again = normalize_ddls({spec_sql(target, s.text)}, target);
  FUZZ_CHECK(again.specs.size() == 1);
  if (again.specs[0] != s) {
    std::fprintf(stderr, "spec:  %s\nagain: %s (%s)\n", s.text.c_str(), again.specs[0].text.c_str(),
                 std::string(to_string(again.specs[0].kind)).c_str());
  }
  FUZZ_CHECK(again.specs[0] == s);
}

void check_schema_steps(const AlterSpec& s, const TargetSchema& schema) {
  FUZZ_CHECK(parse_spec_kind(to_string(s.kind)) == s.kind);
  (void)spec_keys(s.kind, s.subject, s.new_name, s.index_columns);
  TargetSchema after = schema;
  apply_to_schema(s.kind, s.subject, s.new_name, ColumnInfo{s.type, !s.not_null}, after);
  const bool looked_for = s.kind == SpecKind::add_column || s.kind == SpecKind::drop_column ||
                          s.kind == SpecKind::drop_index ||
                          (s.kind == SpecKind::add_index && !s.subject.empty()) ||
                          (s.kind == SpecKind::rename_index && s.subject != s.new_name);
  if (looked_for) {
    FUZZ_CHECK(visible_in_schema(s.kind, s.subject, s.new_name, after));
  }
}

void check_types(std::vector<std::string> types, const QualifiedName& target) {
  for (const std::string& t : types) {
    FUZZ_CHECK(compare_types(t, t) == TypeChange::same);
  }
  if (types.size() > kMaxTypes) {
    types.resize(kMaxTypes);
  }
  for (const std::string& a : types) {
    for (const std::string& b : types) {
      FUZZ_CHECK(compare_types(a, b) == reverse(compare_types(b, a)));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ghostgate::fuzz::Input in(data, size);
  const QualifiedName& target = kTargets[in.take(1) % kTargets.size()];
  const std::uint64_t schema_bits = in.take(8);
  std::vector<std::string> shard_a;
  std::vector<std::string> shard_b;
  std::vector<std::string> raw_types;
  bool second = false;
  for (std::string& part : ghostgate::fuzz::split_nul(in.take_string(in.remaining()))) {
    if (part == "\x02") {
      second = true;
    } else if (!part.empty() && part[0] == '\x01') {
      raw_types.push_back(part.substr(1));
    } else {
      (second ? shard_b : shard_a).push_back(std::move(part));
    }
  }

  const NormalizedSet a = normalize_ddls(shard_a, target);
  const NormalizedSet b = normalize_ddls(shard_b, target);
  const std::vector<std::string> ta = spec_texts(a);
  const std::vector<std::string> tb = spec_texts(b);
  FUZZ_CHECK(ta.size() == a.specs.size());

  // same_set: symmetric, reflexive, order-blind.
  FUZZ_CHECK(same_set(ta, tb) == same_set(tb, ta));
  FUZZ_CHECK(same_set(ta, ta));
  std::vector<std::string> reversed_ddls(shard_a.rbegin(), shard_a.rend());
  FUZZ_CHECK(same_set(ta, spec_texts(normalize_ddls(reversed_ddls, target))));

  const TargetSchema schema = ghostgate::fuzz::make_schema(a, schema_bits);
  const std::vector<Classification> classes = classify_set(a, schema);
  FUZZ_CHECK(classes.size() == a.specs.size());
  for (std::size_t i = 0; i < classes.size(); ++i) {
    FUZZ_CHECK(parse_spec_class(to_string(classes[i].cls)) == classes[i].cls);
    if (a.specs[i].kind == SpecKind::unknown) {
      FUZZ_CHECK(classes[i].cls == SpecClass::conflicting);
    }
    if (classes[i].cls != SpecClass::additive) {
      FUZZ_CHECK(!classes[i].why.empty());
    }
  }
  (void)classify_set(b, ghostgate::fuzz::make_schema(b, ~schema_bits));

  std::vector<std::string> types = {"int(11)", "varchar(20)"};
  for (const NormalizedSet* set : {&a, &b}) {
    for (const AlterSpec& s : set->specs) {
      check_idempotent(s, target);
      check_schema_steps(s, schema);
      if (s.kind == SpecKind::add_column || s.kind == SpecKind::modify_column ||
          (s.kind == SpecKind::rename_column && !s.type.empty())) {
        FUZZ_CHECK(understood_type(s.type));
        types.push_back(s.type);
      }
    }
  }
  // A type text it understands keeps its meaning when added as a column.
  for (const std::string& t : raw_types) {
    if (!understood_type(t)) {
      continue;
    }
    const NormalizedSet col = normalize_ddls({spec_sql(target, "ADD COLUMN `c` " + t)}, target);
    FUZZ_CHECK(col.specs.size() == 1 && col.specs[0].kind == SpecKind::add_column);
    FUZZ_CHECK(compare_types(t, col.specs[0].type) == TypeChange::same);
  }
  types.insert(types.begin(), raw_types.begin(), raw_types.end());
  check_types(std::move(types), target);
  return 0;
}
