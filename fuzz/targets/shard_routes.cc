// rules/shard_routes.h: DM table routes with fuzzed patterns (wildcards and `~regex`) asked about
// fuzzed names. Input: 1 byte (bit 0: case-sensitive), then NUL-separated parts: route rules
// ("schema-pattern\x01table-pattern\x01target-schema\x01target-table") up to an empty part, then
// names ("schema\x01table"). Every rule's patterns and targets are asked about too.
// Properties besides no crash / UB / leak:
// - Router::create() succeeds exactly when a model of the header's rules says the config is
//   valid (schema-pattern and target-schema set, `*` only last, regexes RE2 accepts, no two rules
//   with the same patterns); on failure it says why and names the rule;
// - match() equals a model written from the header (its own wildcard matcher: `?`, `[...]`,
//   `[!...]`, ranges, literal `-`, `[!]`, `[]`, unclosed `[`; RE2 searched unanchored; table
//   rules beat schema rules, two at one level are ambiguous, table rules need a table);
// - route() has a value exactly when match() says routed, and then routes_to(s, t, route(s, t))
//   and can_route_to() hold, and routes_to() of another target does not; when ambiguous the error
//   names both rules; a copied router answers the same.
#include "rules/shard_routes.h"

#include <re2/re2.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_util.h"
#include "shard_fuzz_util.h"

using namespace ghostgate::rules;

namespace {

constexpr std::size_t kMaxRules = 8;
constexpr std::size_t kMaxNames = 40;

std::vector<std::string> split_soh(const std::string& text) {
  std::vector<std::string> out(1);
  for (char c : text) {
    if (c == '\x01') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

std::string folded(std::string s, bool case_sensitive) {
  if (!case_sensitive) {
    for (char& c : s) {
      if (c >= 'A' && c <= 'Z') {
        c = static_cast<char>(c - 'A' + 'a');
      }
    }
  }
  return s;
}

// A `[...]` body (between the brackets) against one byte.
bool in_set(std::string_view body, unsigned char b) {
  const bool negate = !body.empty() && body[0] == '!';
  if (negate) {
    body.remove_prefix(1);
    if (body.empty()) {
      return b == '!';
    }
  }
  bool in = false;
  std::size_t k = 0;
  while (k < body.size()) {
    unsigned char lo = static_cast<unsigned char>(body[k]);
    unsigned char hi = lo;
    if (k + 2 < body.size() && body[k + 1] == '-') {
      hi = static_cast<unsigned char>(body[k + 2]);
      k += 3;
    } else {
      k += 1;
    }
    in = in || (lo <= b && b <= hi);
  }
  return negate ? !in : in;
}

bool model_valid_wildcard(std::string_view p) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '*') {
      return i + 1 == p.size();
    }
    if (p[i] == '[') {
      const std::size_t close = p.find(']', i + 1);
      if (close != std::string_view::npos) {
        i = close;
      }
    }
  }
  return true;
}

bool model_wildcard(const std::string& pattern, const std::string& name_in, bool cs) {
  const std::string p = folded(pattern, cs);
  const std::string name = folded(name_in, cs);
  std::size_t j = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '*') {
      return true;  // valid patterns have it last
    }
    if (j >= name.size()) {
      return false;
    }
    const auto b = static_cast<unsigned char>(name[j++]);
    if (p[i] == '?') {
      continue;
    }
    if (p[i] == '[') {
      const std::size_t close = p.find(']', i + 1);
      if (close != std::string::npos) {
        const bool ok = in_set(std::string_view(p).substr(i + 1, close - i - 1), b);
        i = close;
        if (!ok) {
          return false;
        }
        continue;
      }
    }
    if (static_cast<unsigned char>(p[i]) != b) {
      return false;
    }
  }
  return j == name.size();
}

std::unique_ptr<RE2> model_regex(const std::string& pattern, bool cs) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_case_sensitive(cs);
  return std::make_unique<RE2>(pattern.substr(1), options);
}

bool model_pattern_valid(const std::string& p, bool cs) {
  if (!p.empty() && p[0] == '~') {
    return model_regex(p, cs)->ok();
  }
  return model_valid_wildcard(folded(p, cs));
}

bool model_matches(const std::string& pattern, const std::string& name, bool cs) {
  if (!pattern.empty() && pattern[0] == '~') {
    return RE2::PartialMatch(name, *model_regex(pattern, cs));
  }
  return model_wildcard(pattern, name, cs);
}

bool model_create(const std::vector<RouteRule>& rules, bool cs) {
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const RouteRule& r = rules[i];
    if (r.schema_pattern.empty() || r.target_schema.empty() ||
        !model_pattern_valid(r.schema_pattern, cs) ||
        (!r.table_pattern.empty() && !model_pattern_valid(r.table_pattern, cs))) {
      return false;
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (folded(rules[j].schema_pattern, cs) == folded(r.schema_pattern, cs) &&
          folded(rules[j].table_pattern, cs) == folded(r.table_pattern, cs)) {
        return false;
      }
    }
  }
  return true;
}

RouteMatch model_match(const std::vector<RouteRule>& rules, bool cs, const std::string& schema,
                       const std::string& table) {
  RouteMatch levels[2];  // [0] schema-level, [1] table-level
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const RouteRule& r = rules[i];
    const bool table_rule = !r.table_pattern.empty();
    if (table_rule && table.empty()) {
      continue;
    }
    if (!model_matches(r.schema_pattern, schema, cs) ||
        (table_rule && !model_matches(r.table_pattern, table, cs))) {
      continue;
    }
    RouteMatch& m = levels[table_rule ? 1 : 0];
    if (m.status == RouteStatus::none) {
      m = RouteMatch{RouteStatus::routed, static_cast<int>(i), -1};
    } else if (m.status == RouteStatus::routed) {
      m.status = RouteStatus::ambiguous;
      m.other_rule = static_cast<int>(i);
    }
  }
  return levels[1].status != RouteStatus::none ? levels[1] : levels[0];
}

void check_name(const Router& router, const Router& copy, const std::vector<RouteRule>& rules,
                bool cs, const std::string& schema, const std::string& table) {
  const RouteMatch m = router.match(schema, table);
  const RouteMatch want = model_match(rules, cs, schema, table);
  FUZZ_CHECK(m.status == want.status && m.rule == want.rule && m.other_rule == want.other_rule);
  const RouteMatch c = copy.match(schema, table);
  FUZZ_CHECK(c.status == m.status && c.rule == m.rule && c.other_rule == m.other_rule);

  std::string error;
  const std::optional<QualifiedName> routed = router.route(schema, table, &error);
  FUZZ_CHECK(routed.has_value() == (m.status == RouteStatus::routed));
  if (m.status == RouteStatus::ambiguous) {
    const auto key = [&](int i) { return "routes." + rules[static_cast<std::size_t>(i)].name; };
    FUZZ_CHECK(error.find(key(m.rule)) != std::string::npos &&
               error.find(key(m.other_rule)) != std::string::npos);
  }
  if (!routed.has_value()) {
    FUZZ_CHECK(!router.routes_to(schema, table, QualifiedName{"shop", "orders"}));
    return;
  }
  FUZZ_CHECK(router.routes_to(schema, table, *routed));
  FUZZ_CHECK(router.can_route_to(*routed));
  FUZZ_CHECK(!router.routes_to(schema, table, QualifiedName{routed->schema, routed->table + "x"}));
  FUZZ_CHECK(!router.routes_to(schema, table, QualifiedName{routed->schema + "x", routed->table}));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ghostgate::fuzz::Input in(data, size);
  const bool cs = (in.take(1) & 1) != 0;
  const std::vector<std::string> parts = ghostgate::fuzz::split_nul(in.take_string(in.remaining()));
  std::vector<RouteRule> rules;
  std::vector<std::pair<std::string, std::string>> names;
  bool in_names = false;
  for (const std::string& part : parts) {
    if (part.empty()) {
      in_names = true;
      continue;
    }
    std::vector<std::string> f = split_soh(part);
    f.resize(4);
    if (!in_names && rules.size() < kMaxRules) {
      rules.push_back(RouteRule{"r" + std::to_string(rules.size()), f[0], f[1], f[2], f[3]});
    } else if (in_names && names.size() < kMaxNames) {
      names.emplace_back(f[0], f[1]);
    }
  }
  for (const RouteRule& r : rules) {
    names.emplace_back(r.schema_pattern, r.table_pattern);
    names.emplace_back(r.target_schema, r.target_table);
    names.emplace_back(r.schema_pattern, "");
  }

  std::string error;
  const std::optional<Router> router = Router::create(rules, &error, cs);
  FUZZ_CHECK(router.has_value() == model_create(rules, cs));
  if (!router.has_value()) {
    FUZZ_CHECK(error.starts_with("routes.r"));
    return 0;
  }
  FUZZ_CHECK(router->rules() == rules && router->case_sensitive() == cs);
  for (const RouteRule& r : rules) {
    FUZZ_CHECK(router->can_route_to(QualifiedName{r.target_schema, r.target_table}));
  }
  const Router copy = *router;  // NOLINT(performance-unnecessary-copy-initialization)
  for (const auto& [schema, table] : names) {
    check_name(*router, copy, rules, cs, schema, table);
  }
  return 0;
}
