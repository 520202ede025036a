#pragma once
// Table-name rules: which names are online-schema-change helper tables.
//
// Rules are regular expressions (RE2 syntax) over the table name only, never the schema, each
// with exactly one capture group, the real table name's hint. `^` and `$` are implied. Ghost
// ("shadow") rules are tried before trash rules; the first match wins. This is DM's
// `shadow-table-rules` / `trash-table-rules`, and a user-given list replaces that default as in DM.
//
// The defaults are the presets of every tool ghostgate knows (rules/TOOLS.md has the table):
//   gh-ost    ghost _X_gho; trash _X_ghc, _X_ghk, _X_del, _X_<14 digits>_del, _X_rev_del,
//             _X_<14 digits>_rev_del
//   pt-osc    ghost _X_new / __X_new ... (one more `_` per name-collision retry); trash _X_old /
//             __X_old, <6 random [A-Z0-9]>___X_old (after ten retries), pt_osc_history
//   Spirit    ghost _X_new; trash _X_old, _X_old_YYYYMMDD_HHMMSS, _X_chkpnt, _X_sentinel,
//             _spirit_checkpoint, _spirit_sentinel
//   LHM       ghost lhmn_X; trash lhma_<YYYY_MM_DD_HH_MM_SS_mmm>_X, ..._X_failed
//   Vitess    ghost _vt_vrp_<32 hex>_<14 digits>_, _<uuid, `_` for `-`>_<14 digits>_vrepl (before
//             v20); trash _vt_{hld,prg,evc,drp}_<32 hex>_<14 digits>_,
//             _vt_{HOLD,PURGE,EVAC,DROP}_<32 hex>_<14 digits>; every table of the schema `_vt`
//   Bytebase  ghost ~X_gho; trash ~X_ghc, ~X_ghk, ~X_del (any schema, e.g. bbdataarchive)
//   DMS       ghost tp_<id>_ogt_X; trash tp_<id>_ogl_X, tp_<id>_del_X
//   oak       ghost __oak_X; trash __arc_X
// so `__X_new` gives X, not `_X`, and `_X_20261122101010_del` gives X.
//
// Each rule says how a match is checked against the downstream catalog (the engine does it): most
// need the captured real table to exist (`verify`); shapes specific enough on their own (Vitess's
// UUID names, Bytebase's `~`, Spirit's fixed names) need only that the name itself is not a real
// table downstream. A user's rule always verifies.
//
// Tools also bring what is not a table-name rule: trigger names (pt-osc `pt_osc_*`, LHM `lhmt_*`,
// oak `*_A[IUD]_oak`), the marker comment a tool writes into its own DDL (`/* gh-ost */`,
// `/* large hadron migration */`), and helper schemas (Vitess's sidecar `_vt`).
// `online-ddl-tools` picks the tools (default: all); shadow-/trash-table-rules replace the
// tools' rules of that kind, as in DM, and leave the rest of the tools' knowledge on.
//
// Matching a name that no rule matches never allocates, and for nearly every replicated name costs
// one table load plus a prefix compare: each rule has a literal prefix (and, for the presets, a
// literal suffix) that a name must have, indexed by its first byte. A name that passes runs one
// DFA over all rules at once (RE2::Set). Captures are views into the name. RE2 objects are
// immutable after construction, so a TableRules may be used from many threads at once.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

namespace ghostgate::rules {

enum class TableKind : std::uint8_t { real, ghost, trash };

struct NameMatch {
  TableKind kind = TableKind::real;  // real = no rule matched
  std::string_view capture;          // the real-name hint (view into the matched name)
  int rule = -1;                     // index into ghost rules, or into trash rules
  // The name is a helper only if the captured real table exists downstream. False for shapes
  // that identify a tool on their own: then only the name itself must not be a real table.
  bool verify = true;
  // A real table renamed onto this name is being dropped, not swapped out (Vitess: a DROP TABLE
  // under the `vitess` strategy arrives as RENAME TABLE t TO _vt_hld_<uuid>_<ts>_).
  bool drop_on_rename = false;
};

// MySQL's identifier length limit; names at it may have been cut by a tool.
inline constexpr std::size_t max_name_length = 64;

// One way a tool could have made a 64-character helper name from a longer real name.
struct TruncationCandidate {
  std::string_view real;  // view into the helper name
  TableKind kind;         // ghost (from `_new`) or trash (from `_old`)
  bool ambiguous;         // the cut removed the whole suffix: could be either
};

// The online-schema-change tools with built-in presets (`online-ddl-tools`).
enum class Tool : std::uint8_t { gh_ost, pt_osc, spirit, lhm, vitess, bytebase, dms, oak };
inline constexpr std::size_t tool_count = 8;

// Config names: "gh-ost", "pt-osc", "spirit", "lhm", "vitess", "bytebase", "dms", "oak".
[[nodiscard]] std::string_view tool_name(Tool tool);
[[nodiscard]] std::optional<Tool> parse_tool(std::string_view name);

class ToolSet {
 public:
  static ToolSet all() { return ToolSet((1u << tool_count) - 1); }
  static ToolSet none() { return ToolSet(0); }
  void add(Tool t) { bits_ |= bit(t); }
  [[nodiscard]] bool has(Tool t) const { return (bits_ & bit(t)) != 0; }
  [[nodiscard]] bool empty() const { return bits_ == 0; }
  friend bool operator==(ToolSet, ToolSet) = default;

 private:
  explicit ToolSet(std::uint32_t bits) : bits_(bits) {}
  static std::uint32_t bit(Tool t) { return 1u << static_cast<unsigned>(t); }
  std::uint32_t bits_;
};

// What the config says about helper-table names.
struct RuleConfig {
  // `online-ddl-tools`: the tools whose presets apply. nullopt = every built-in tool.
  std::optional<std::vector<std::string>> tools;
  // `shadow-table-rules` / `trash-table-rules`: a non-empty list replaces the selected tools'
  // rules of that kind (DM's semantics); the tools' triggers, markers and schemas stay.
  std::vector<std::string> shadow;
  std::vector<std::string> trash;
};

class TableRules {
 public:
  // On error returns nullopt and sets `*error` (if given) to a message naming the bad rule or
  // the unknown tool (with the list of known ones).
  [[nodiscard]] static std::optional<TableRules> create(const RuleConfig& config,
                                                        std::string* error);
  // Rule sets as the config gives them, every tool on. An empty list means the default (every
  // tool's rules of that kind).
  [[nodiscard]] static std::optional<TableRules> create(const std::vector<std::string>& shadow,
                                                        const std::vector<std::string>& trash,
                                                        std::string* error);
  // The presets of the named tools only (`online-ddl-tools: [gh-ost, spirit]`).
  [[nodiscard]] static std::optional<TableRules> for_tools(const std::vector<std::string>& tools,
                                                           std::string* error);
  // ghostgate's defaults: every tool (never fails).
  [[nodiscard]] static TableRules defaults();

  // Every tool's rules, in match order.
  static const std::vector<std::string>& default_shadow_rules();
  static const std::vector<std::string>& default_trash_rules();
  // The rules one set of tools brings.
  static std::vector<std::string> tool_shadow_rules(ToolSet tools);
  static std::vector<std::string> tool_trash_rules(ToolSet tools);
  // DM's defaults, for users who want DM's exact behaviour.
  static const std::vector<std::string>& dm_shadow_rules();
  static const std::vector<std::string>& dm_trash_rules();
  // The names online-ddl-tools accepts, in the order of the Tool enum.
  static std::vector<std::string> known_tools();

  TableRules(TableRules&&) noexcept;
  TableRules& operator=(TableRules&&) noexcept;
  ~TableRules();

  // First matching rule (ghost rules first). kind real when none matches.
  [[nodiscard]] NameMatch match(std::string_view table) const;

  // Every matching rule in order (ghost rules first), at most `capacity`; returns the count.
  // The engine uses the later matches when the first one's real table does not exist.
  std::size_t match_all(std::string_view table, NameMatch* out, std::size_t capacity) const;

  // False when no rule can match `table`: the first byte and the rules' literal prefixes and
  // suffixes rule it out (no regex run). True does not mean a rule matches.
  [[nodiscard]] bool may_match(std::string_view table) const;

  // Whether any rule matches, without extracting the capture: never allocates (one RE2::Set
  // DFA pass once warm). match()/match_all() may allocate inside RE2 when a name does match.
  [[nodiscard]] bool matches_any(std::string_view table) const;

  // Every table in this schema is a tool's own (Vitess's sidecar `_vt`).
  [[nodiscard]] bool is_helper_schema(std::string_view schema) const;
  // A trigger a tool creates to copy rows (pt-osc, LHM, oak): TiDB has no triggers, and the
  // rows they write arrive as row events anyway.
  [[nodiscard]] bool is_helper_trigger(std::string_view trigger) const;
  // The statement text carries a tool's mark: its marker comment (`/* gh-ost */`, LHM's
  // `/* large hadron migration */`) or, for gh-ost's helpers, what survives a client that strips
  // comments (comment='gh-ost changelog', 'ghost-cut-over-sentry', the `gh_ost_chk_id` column).
  // A table it creates with a helper's shape is that tool's.
  [[nodiscard]] bool has_tool_marker(std::string_view text) const;

  [[nodiscard]] const std::vector<std::string>& shadow_rules() const { return shadow_src_; }
  [[nodiscard]] const std::vector<std::string>& trash_rules() const { return trash_src_; }
  [[nodiscard]] ToolSet tools() const { return tools_; }

 private:
  struct Compiled;
  struct AllRules;
  struct Filter {
    std::string prefix;
    std::string suffix;
  };
  TableRules();
  [[nodiscard]] static bool compile(const std::vector<std::string>& src, const char* key,
                                    TableKind kind, std::vector<Compiled>& out, std::string* error);
  [[nodiscard]] static bool passes(std::string_view table, const Filter& f) {
    return table.size() >= f.prefix.size() + f.suffix.size() && table.starts_with(f.prefix) &&
           table.ends_with(f.suffix);
  }

  std::vector<std::string> shadow_src_;
  std::vector<std::string> trash_src_;
  std::vector<Compiled> shadow_;
  std::vector<Compiled> trash_;
  ToolSet tools_ = ToolSet::all();
  // first_byte_[b]: some rule may match a name starting with byte b. One load decides for
  // nearly every replicated table; filters_[b] then lists the (prefix, suffix) pairs to check.
  std::array<bool, 256> first_byte_{};
  std::array<std::vector<Filter>, 256> filters_;
  // Every rule at once, for matches_any(): one DFA pass however many rules there are.
  std::unique_ptr<AllRules> all_;
};

// pt-osc builds `_X_new` / `_X_old`, keeps the first 64 bytes, and on a name collision prepends
// another `_` (and cuts again). For a 62-character X the new table is `_X_` and the old one `__X`.
// Given a 64-character name, the (real name, role) pairs it could have come from, most likely
// first. Real names longer than what is left of the helper name cannot be recovered and are not
// listed. Empty when `name` is not exactly 64 bytes or does not start with `_`.
[[nodiscard]] std::vector<TruncationCandidate> pt_osc_truncation_candidates(std::string_view name);

// pt-osc's trigger names: `pt_osc_<db>_<table>_{ins,upd,del}` (the prefix cut to 60 bytes for
// long names, non-word bytes replaced by `_`), and `rt_pt_osc_...` for --reverse-triggers.
[[nodiscard]] bool is_pt_osc_trigger_name(std::string_view trigger);

}  // namespace ghostgate::rules
