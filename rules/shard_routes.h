#pragma once
// Shard merge configuration, pure: DM's table routes (`routes`), `shard-mode`, and ghostgate's
// `shard-groups`. No I/O: the config loader (proxy/) fills these structs from YAML and calls
// Router::create() and validate_shard_config(); the engine asks the Router questions.
//
// ghostgate does not route statements: the replicator does. The routes only tell ghostgate that
// upstream `shard_i`.`orders_i` lives downstream as `shop`.`orders`, so that a helper of shard i
// (`shard_i`.`_orders_i_gho`, whose rule capture is `orders_i`) belongs to the shard group of
// `shop`.`orders`. The engine's questions, all with names already resolved against the session's
// database (the caller resolves an unqualified name after USE before asking):
//
//   route(schema, table)           upstream name -> downstream target, e.g. for the real name a
//                                  helper's capture gives: route("shard_1", "orders_1") is
//                                  `shop`.`orders`. nullopt = no rule routes it (or two do).
//   routes_to(schema, table, t)    does this upstream name land on target t? (no allocation)
//                                  E.g. is `shard_1`.`_orders_1_old` a helper of `shop`.`orders`
//                                  (so `RENAME shop.orders TO shard_1._orders_1_old` is the
//                                  first half of that shard's cut-over, not a table to move)?
//                                  routes_to("shard_1", "orders_1", {"shop", "orders"}).
//   can_route_to(t)                could any upstream name land on t (is t a merge target)?
//   match(schema, table)           the raw answer (rule index, ambiguity), no allocation.
//
// Matching follows DM (verified in pingcap/tidb-tools pkg/table-router/router.go,
// pkg/table-rule-selector/trie_selector.go and selector_test.go, pkg/filter/filter.go, and
// pingcap/tiflow dm/pkg/router/router.go and router_test.go):
//   - A pattern is a wildcard: `*` matches any run of bytes (also none) and may only be the last
//     character (DM rejects `a*b` and `a**`); `?` matches exactly one byte; `[abc]`, `[a-z]`,
//     `[!a-c]` match one byte in (or, with `!`, not in) the set; a `-` that cannot form a range is
//     literal (`[a-]`); `[!]` matches `!`; `[]` matches nothing; a `[` without a closing `]` is a
//     literal `[`. There is no escape character. Bytes, not UTF-8 characters, as DM's trie does.
//   - A pattern that starts with `~` is a regular expression (DM v6+ `dm/pkg/router`), searched
//     unanchored as Go's MatchString does (RE2 syntax, the same as Go's).
//   - `schema-pattern` and `target-schema` are required. A rule without `table-pattern` is a
//     schema-level rule; a table-level rule beats schema-level rules. Two matching rules at the
//     same level are an error in DM (ErrWorkerRouteTableDupMatch): there is no "exact beats
//     wildcard" precedence. Here that is RouteStatus::ambiguous, and route() says which two rules.
//   - An empty `target-table` keeps the upstream table name.
//   - Case: DM's `case-sensitive` defaults to false: patterns and names are compared lower-cased
//     (ASCII here; DM folds Unicode), targets are returned as written.
//   - Two rules with the same schema-pattern and table-pattern: DM's trie rejected the second;
//     ghostgate rejects it at start-up too (DM v6 would fail at the first routed statement).
//
// Threading: a Router is immutable after create(); any number of threads may query it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/online_ddl.h"  // QualifiedName

namespace ghostgate::rules {

// One entry of DM's `routes:` map, as the config gives it.
struct RouteRule {
  std::string name;            // the rule's key under `routes:` (named in messages)
  std::string schema_pattern;  // required
  std::string table_pattern;   // empty: a schema-level rule
  std::string target_schema;   // required
  std::string target_table;    // empty: the upstream table name is kept

  friend bool operator==(const RouteRule&, const RouteRule&) = default;
};

enum class RouteStatus : std::uint8_t {
  none,       // no rule matches: the name is not routed (it lands under its own name)
  routed,     // exactly one rule decides
  ambiguous,  // two rules at the deciding level match (DM refuses to route)
};

struct RouteMatch {
  RouteStatus status = RouteStatus::none;
  int rule = -1;        // routed: the deciding rule; ambiguous: the first matching rule
  int other_rule = -1;  // ambiguous: the second matching rule
};

class Router {
 public:
  // Validates and compiles `rules` (in config order). On error returns nullopt and sets `*error`
  // (if given) to one message naming the rule and key, e.g.
  //   routes.orders.schema-pattern "shard_*x": a `*` may only end a pattern
  // `case_sensitive` is DM's `case-sensitive` task key (default false).
  [[nodiscard]] static std::optional<Router> create(std::vector<RouteRule> rules,
                                                    std::string* error,
                                                    bool case_sensitive = false);

  Router(const Router&);
  Router& operator=(const Router&);
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;
  ~Router();

  // Which rule routes upstream `schema`.`table` (table empty: the schema itself). Never
  // allocates for wildcard rules (`~` regex rules run RE2, which may grow its cache).
  [[nodiscard]] RouteMatch match(std::string_view schema, std::string_view table) const;

  // The downstream name of upstream `schema`.`table`; nullopt when no rule routes it, or when
  // two rules do (then `*error`, if given, names both rules).
  [[nodiscard]] std::optional<QualifiedName> route(std::string_view schema, std::string_view table,
                                                   std::string* error = nullptr) const;

  // True when upstream `schema`.`table` is routed to exactly `target` (byte-for-byte: downstream
  // names). No allocation.
  [[nodiscard]] bool routes_to(std::string_view schema, std::string_view table,
                               const QualifiedName& target) const;

  // True when some rule can produce `target`: its target-schema is target.schema and its
  // target-table is target.table or empty (keeps the upstream name).
  [[nodiscard]] bool can_route_to(const QualifiedName& target) const;

  [[nodiscard]] bool empty() const { return rules_.empty(); }
  [[nodiscard]] bool case_sensitive() const { return case_sensitive_; }
  [[nodiscard]] const std::vector<RouteRule>& rules() const { return rules_; }

 private:
  struct Pattern;
  struct Compiled;
  Router() = default;
  [[nodiscard]] bool rule_matches(std::size_t i, std::string_view schema,
                                  std::string_view table) const;

  std::vector<RouteRule> rules_;
  std::vector<Compiled> compiled_;
  bool case_sensitive_ = false;
};

// Whether a wildcard pattern (no `~`) is valid DM syntax; on error sets `*why`.
[[nodiscard]] bool valid_wildcard(std::string_view pattern, std::string* why);

// DM's `shard-mode`: "" (no coordination), "optimistic" or "pessimistic".
enum class ShardMode : std::uint8_t { none, optimistic, pessimistic };

[[nodiscard]] std::optional<ShardMode> parse_shard_mode(std::string_view text, std::string* error);
[[nodiscard]] std::string_view to_string(ShardMode mode);

// One entry of ghostgate's `shard-groups:` map:
//   shard-groups:
//     shop.orders: { members: 2 }                                   # a count
//     shop.items:  { members: ["shard_1.items_1", "shard_2.items_2"] }  # or the list
// With a count, members are identified as they first cut over (any upstream name that routes to
// the target), up to the count; with a list, exactly the listed names are members.
struct ShardGroupConfig {
  QualifiedName target;
  std::size_t member_count = 0;        // the count; for a list, the list's size
  std::vector<QualifiedName> members;  // the list; empty when a count was given

  friend bool operator==(const ShardGroupConfig&, const ShardGroupConfig&) = default;
};

struct ShardConfig {
  ShardMode mode = ShardMode::none;
  std::vector<ShardGroupConfig> groups;
};

// A `schema.table` as written in shard-groups keys and member lists: `shop.orders`,
// `` `shop`.`orders` `` (backticks allow dots and spaces in names). Both parts are required.
[[nodiscard]] std::optional<QualifiedName> parse_qualified_name(std::string_view text,
                                                                std::string* error);

// Checks a shard configuration against the routes: a mode needs groups and groups need a mode;
// each target appears once and some route can produce it; a count is at least 1; a list has no
// duplicates and each listed member routes to its target. On error sets `*error` to one message
// naming the key, e.g. `shard-groups."shop.orders".members[1] "shard_2.orders_x": ...`.
[[nodiscard]] bool validate_shard_config(const ShardConfig& config, const Router& router,
                                         std::string* error);

// What the online-DDL engine needs for shard merge (Engine's constructor): the routes and the
// shard mode and groups, validated. Immutable, shared by every engine built from one config.
struct ShardRouting {
  Router router;
  ShardConfig config;
};

// The group of `target`, or nullptr.
[[nodiscard]] const ShardGroupConfig* find_group(const ShardConfig& config,
                                                 const QualifiedName& target);

}  // namespace ghostgate::rules
