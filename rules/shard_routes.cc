#include "rules/shard_routes.h"

#include <re2/re2.h>

#include <bitset>
#include <utility>

namespace ghostgate::rules {

// One compiled `schema-pattern` or `table-pattern`.
struct Router::Pattern {
  // Wildcard: the bytes allowed at each position (a literal, `?` or `[...]`), then an optional
  // trailing `*`. Case-insensitive routers store lower-case sets and lower-case the name.
  std::vector<std::bitset<256>> positions;
  bool trailing_star = false;
  // `~` patterns. Shared so that a Router can be copied; RE2 is thread-safe once built.
  std::shared_ptr<const RE2> re;
};

struct Router::Compiled {
  Pattern schema;
  Pattern table;
  bool table_level = false;
};

namespace {

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = ascii_lower(c);
  }
  return out;
}

// DM's range item (trie_selector.go getRangeItem): `pattern[open]` is `[`; `close` its first `]`.
std::bitset<256> range_set(std::string_view pattern, std::size_t open, std::size_t close) {
  bool negate = false;
  std::size_t k = open + 1;
  if (k < close && pattern[k] == '!') {
    negate = true;
    ++k;
  }
  std::bitset<256> set;
  bool any = false;
  for (; k < close; ++k) {
    unsigned lo = static_cast<unsigned char>(pattern[k]);
    unsigned hi = lo;
    if (pattern[k + 1] == '-' && k + 2 < close) {
      hi = static_cast<unsigned char>(pattern[k + 2]);
      k += 2;
    }
    for (unsigned b = lo; b <= hi; ++b) {
      set.set(b);
    }
    any = true;
  }
  if (!any && negate) {  // `[!]` is a literal `!`
    set.set('!');
    negate = false;
  }
  return negate ? ~set : set;
}

// Compiles a wildcard; false (with `*why`) when DM would reject it.
bool compile_wildcard(std::string_view pattern, std::vector<std::bitset<256>>& positions,
                      bool& trailing_star, std::string* why) {
  positions.clear();
  trailing_star = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (trailing_star) {
      if (why != nullptr) {
        *why = "a `*` may only end a pattern (DM rejects it anywhere else)";
      }
      return false;
    }
    const char c = pattern[i];
    if (c == '*') {
      trailing_star = true;
      continue;
    }
    std::bitset<256> set;
    if (c == '?') {
      set.set();
    } else if (c == '[' && pattern.find(']', i + 1) != std::string_view::npos) {
      const std::size_t close = pattern.find(']', i + 1);
      set = range_set(pattern, i, close);
      i = close;
    } else {
      set.set(static_cast<unsigned char>(c));
    }
    positions.push_back(set);
  }
  return true;
}

bool wildcard_matches(const std::vector<std::bitset<256>>& positions, bool trailing_star,
                      bool case_sensitive, std::string_view name) {
  const std::size_t n = positions.size();
  if (trailing_star ? name.size() < n : name.size() != n) {
    return false;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const char c = case_sensitive ? name[i] : ascii_lower(name[i]);
    if (!positions[i].test(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

std::string rule_key(const RouteRule& rule, std::size_t index) {
  if (rule.name.empty()) {
    return "routes[" + std::to_string(index) + "]";
  }
  return "routes." + rule.name;
}

std::string display(std::string_view schema, std::string_view table) {
  QualifiedName name{std::string(schema), std::string(table)};
  return quote_name(name);
}

}  // namespace

bool valid_wildcard(std::string_view pattern, std::string* why) {
  std::vector<std::bitset<256>> positions;
  bool star = false;
  return compile_wildcard(pattern, positions, star, why);
}

Router::Router(const Router&) = default;
Router& Router::operator=(const Router&) = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;
Router::~Router() = default;

std::optional<Router> Router::create(std::vector<RouteRule> rules, std::string* error,
                                     bool case_sensitive) {
  Router router;
  router.case_sensitive_ = case_sensitive;
  auto fail = [&](std::size_t i, std::string_view key, std::string_view value,
                  const std::string& why) {
    if (error != nullptr) {
      *error = rule_key(rules[i], i) + "." + std::string(key);
      if (!value.empty()) {
        *error += " \"" + std::string(value) + "\"";
      }
      *error += ": " + why;
    }
    return std::nullopt;
  };
  auto compile = [&](std::string_view source, Pattern& out, std::string* why) {
    const std::string text = case_sensitive ? std::string(source) : lower(source);
    if (!text.empty() && text[0] == '~') {
      RE2::Options options;
      options.set_log_errors(false);
      // DM lower-cases a `~` pattern too, which changes `\D` into `\d`; ignoring case instead
      // keeps the expression's meaning.
      options.set_case_sensitive(case_sensitive);
      auto re = std::make_shared<const RE2>(std::string(source.substr(1)), options);
      if (!re->ok()) {
        *why = "invalid regular expression: " + re->error();
        return false;
      }
      out.re = std::move(re);
      return true;
    }
    return compile_wildcard(text, out.positions, out.trailing_star, why);
  };
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const RouteRule& rule = rules[i];
    if (rule.schema_pattern.empty()) {
      return fail(i, "schema-pattern", "", "must not be empty");
    }
    if (rule.target_schema.empty()) {
      return fail(i, "target-schema", "", "must not be empty");
    }
    Compiled c;
    c.table_level = !rule.table_pattern.empty();
    std::string why;
    if (!compile(rule.schema_pattern, c.schema, &why)) {
      return fail(i, "schema-pattern", rule.schema_pattern, why);
    }
    if (c.table_level && !compile(rule.table_pattern, c.table, &why)) {
      return fail(i, "table-pattern", rule.table_pattern, why);
    }
    for (std::size_t j = 0; j < i; ++j) {
      auto same = [&](const std::string& a, const std::string& b) {
        return case_sensitive ? a == b : lower(a) == lower(b);
      };
      if (same(rules[j].schema_pattern, rule.schema_pattern) &&
          same(rules[j].table_pattern, rule.table_pattern)) {
        return fail(i, "schema-pattern", rule.schema_pattern,
                    "the same schema-pattern and table-pattern as " + rule_key(rules[j], j) +
                        " (DM rejects a second rule for the same patterns)");
      }
    }
    router.compiled_.push_back(std::move(c));
  }
  router.rules_ = std::move(rules);
  return router;
}

bool Router::rule_matches(std::size_t i, std::string_view schema, std::string_view table) const {
  const Compiled& c = compiled_[i];
  auto matches = [&](const Pattern& p, std::string_view name) {
    if (p.re != nullptr) {
      return RE2::PartialMatch(name, *p.re);
    }
    return wildcard_matches(p.positions, p.trailing_star, case_sensitive_, name);
  };
  return matches(c.schema, schema) && (!c.table_level || matches(c.table, table));
}

RouteMatch Router::match(std::string_view schema, std::string_view table) const {
  RouteMatch table_level;
  RouteMatch schema_level;
  for (std::size_t i = 0; i < compiled_.size(); ++i) {
    const bool is_table_rule = compiled_[i].table_level;
    if (is_table_rule && table.empty()) {
      continue;  // DM: a schema alone is routed by schema-level rules only
    }
    if (!rule_matches(i, schema, table)) {
      continue;
    }
    RouteMatch& m = is_table_rule ? table_level : schema_level;
    if (m.status == RouteStatus::none) {
      m = RouteMatch{RouteStatus::routed, static_cast<int>(i), -1};
    } else if (m.status == RouteStatus::routed) {
      m.status = RouteStatus::ambiguous;
      m.other_rule = static_cast<int>(i);
    }
  }
  // Table-level rules have the highest priority (DM router.go).
  return table_level.status != RouteStatus::none ? table_level : schema_level;
}

std::optional<QualifiedName> Router::route(std::string_view schema, std::string_view table,
                                           std::string* error) const {
  const RouteMatch m = match(schema, table);
  if (m.status == RouteStatus::none) {
    return std::nullopt;
  }
  if (m.status == RouteStatus::ambiguous) {
    if (error != nullptr) {
      const auto a = static_cast<std::size_t>(m.rule);
      const auto b = static_cast<std::size_t>(m.other_rule);
      *error = display(schema, table) + " matches two route rules, " + rule_key(rules_[a], a) +
               " and " + rule_key(rules_[b], b) +
               "; DM refuses to route it too: make their patterns disjoint";
    }
    return std::nullopt;
  }
  const RouteRule& rule = rules_[static_cast<std::size_t>(m.rule)];
  return QualifiedName{rule.target_schema,
                       rule.target_table.empty() ? std::string(table) : rule.target_table};
}

bool Router::routes_to(std::string_view schema, std::string_view table,
                       const QualifiedName& target) const {
  const RouteMatch m = match(schema, table);
  if (m.status != RouteStatus::routed) {
    return false;
  }
  const RouteRule& rule = rules_[static_cast<std::size_t>(m.rule)];
  const std::string_view target_table =
      rule.target_table.empty() ? table : std::string_view(rule.target_table);
  return rule.target_schema == target.schema && target_table == target.table;
}

bool Router::can_route_to(const QualifiedName& target) const {
  for (const RouteRule& rule : rules_) {
    if (rule.target_schema == target.schema &&
        (rule.target_table.empty() || rule.target_table == target.table)) {
      return true;
    }
  }
  return false;
}

std::optional<ShardMode> parse_shard_mode(std::string_view text, std::string* error) {
  if (text.empty()) {
    return ShardMode::none;
  }
  if (text == "optimistic") {
    return ShardMode::optimistic;
  }
  if (text == "pessimistic") {
    return ShardMode::pessimistic;
  }
  if (error != nullptr) {
    *error = "shard-mode \"" + std::string(text) +
             "\": must be \"\", \"optimistic\" or \"pessimistic\" (DM's values)";
  }
  return std::nullopt;
}

std::string_view to_string(ShardMode mode) {
  switch (mode) {
    case ShardMode::none:
      return "";
    case ShardMode::optimistic:
      return "optimistic";
    case ShardMode::pessimistic:
      return "pessimistic";
  }
  return "";
}

namespace {

// One part of a `schema.table`: a backtick-quoted name (doubled backticks inside) or bare text up
// to the next dot. Advances `pos`; false on an unterminated quote.
bool read_name_part(std::string_view text, std::size_t& pos, std::string& out) {
  out.clear();
  if (pos < text.size() && text[pos] == '`') {
    ++pos;
    while (pos < text.size()) {
      if (text[pos] == '`') {
        if (pos + 1 < text.size() && text[pos + 1] == '`') {
          out += '`';
          pos += 2;
          continue;
        }
        ++pos;
        return true;
      }
      out += text[pos++];
    }
    return false;
  }
  while (pos < text.size() && text[pos] != '.') {
    out += text[pos++];
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) {
    out.pop_back();
  }
  return true;
}

void skip_blanks(std::string_view text, std::size_t& pos) {
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) {
    ++pos;
  }
}

std::string group_key(const QualifiedName& target) {
  return "shard-groups.\"" + target.schema + "." + target.table + "\"";
}

}  // namespace

std::optional<QualifiedName> parse_qualified_name(std::string_view text, std::string* error) {
  QualifiedName name;
  std::size_t pos = 0;
  skip_blanks(text, pos);
  bool ok = read_name_part(text, pos, name.schema);
  skip_blanks(text, pos);
  ok = ok && pos < text.size() && text[pos] == '.';
  if (ok) {
    ++pos;
    skip_blanks(text, pos);
    ok = read_name_part(text, pos, name.table);
    skip_blanks(text, pos);
  }
  if (!ok || pos != text.size() || name.schema.empty() || name.table.empty()) {
    if (error != nullptr) {
      *error = "\"" + std::string(text) +
               "\": expected schema.table (quote a name that holds a dot with backticks)";
    }
    return std::nullopt;
  }
  return name;
}

bool validate_shard_config(const ShardConfig& config, const Router& router, std::string* error) {
  auto fail = [&](std::string message) {
    if (error != nullptr) {
      *error = std::move(message);
    }
    return false;
  };
  if (config.mode != ShardMode::none && config.groups.empty()) {
    return fail("shard-mode: " + std::string(to_string(config.mode)) +
                " needs shard-groups: ghostgate cannot list the shards upstream, so give each "
                "merged target's members (a count or a list)");
  }
  if (config.mode == ShardMode::none && !config.groups.empty()) {
    return fail(
        "shard-groups is set but shard-mode is empty: set shard-mode to optimistic or "
        "pessimistic");
  }
  for (std::size_t g = 0; g < config.groups.size(); ++g) {
    const ShardGroupConfig& group = config.groups[g];
    const std::string key = group_key(group.target);
    if (group.target.schema.empty() || group.target.table.empty()) {
      return fail(key + ": expected schema.table");
    }
    for (std::size_t h = 0; h < g; ++h) {
      if (config.groups[h].target == group.target) {
        return fail(key + ": the same target is given twice");
      }
    }
    if (!router.can_route_to(group.target)) {
      return fail(key + ": no rule in routes has this target (target-schema \"" +
                  group.target.schema + "\", target-table \"" + group.target.table +
                  "\" or empty)");
    }
    if (group.members.empty()) {
      if (group.member_count == 0) {
        return fail(key +
                    ".members: must be a count of at least 1 or a list of upstream "
                    "schema.table names");
      }
      continue;
    }
    if (group.member_count != 0 && group.member_count != group.members.size()) {
      return fail(key + ".members: the list has " + std::to_string(group.members.size()) +
                  " names but the count says " + std::to_string(group.member_count));
    }
    for (std::size_t m = 0; m < group.members.size(); ++m) {
      const QualifiedName& member = group.members[m];
      const std::string member_key = key + ".members[" + std::to_string(m) + "] \"" +
                                     member.schema + "." + member.table + "\"";
      for (std::size_t n = 0; n < m; ++n) {
        if (group.members[n] == member) {
          return fail(member_key + ": listed twice");
        }
      }
      std::string why;
      const std::optional<QualifiedName> routed = router.route(member.schema, member.table, &why);
      if (!routed.has_value()) {
        return fail(member_key + ": " + (why.empty() ? "no rule in routes matches it" : why));
      }
      if (*routed != group.target) {
        return fail(member_key + ": routes to " + quote_name(*routed) + ", not to " +
                    quote_name(group.target));
      }
    }
  }
  return true;
}

const ShardGroupConfig* find_group(const ShardConfig& config, const QualifiedName& target) {
  for (const ShardGroupConfig& group : config.groups) {
    if (group.target == target) {
      return &group;
    }
  }
  return nullptr;
}

}  // namespace ghostgate::rules
