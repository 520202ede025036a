#pragma once
// Table-name rules: which names are online-schema-change helper tables.
//
// Rules are regular expressions (RE2 syntax) over the table name only, never the schema, each
// with exactly one capture group, the real table name's hint. `^` and `$` are implied. Ghost
// ("shadow") rules are tried before trash rules; the first match wins. This is DM's
// `shadow-table-rules` / `trash-table-rules`, and a user-given list replaces that default as in DM.
//
// ghostgate's defaults cover more than DM's (`^_(.+)_(?:new|gho)$` / `^_(.+)_(?:ghc|del|old)$`):
//   ghost: _X_gho (gh-ost), _X_new / __X_new ... (pt-osc, extra `_` per name collision retry)
//   trash: _X_ghc (gh-ost changelog), _X_ghk (gh-ost checkpoint), _X_<14 digits>_del
//          (gh-ost --timestamp-old-table), _X_rev_del (gh-ost --revert), _X_del, _X_old / __X_old
// so `__X_new` gives X, not `_X`, and `_X_20261122101010_del` gives X.
//
// Matching a name that no rule matches never allocates; captures are views into the name. RE2
// objects are immutable after construction, so a TableRules may be used from many threads at once.

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
};

// MySQL's identifier length limit; names at it may have been cut by a tool.
inline constexpr std::size_t max_name_length = 64;

// One way a tool could have made a 64-character helper name from a longer real name.
struct TruncationCandidate {
  std::string_view real;  // view into the helper name
  TableKind kind;         // ghost (from `_new`) or trash (from `_old`)
  bool ambiguous;         // the cut removed the whole suffix: could be either
};

class TableRules {
 public:
  // Rule sets as the config gives them. An empty list means ghostgate's default for that list.
  // On error returns nullopt and sets `*error` (if given) to a message naming the bad rule.
  [[nodiscard]] static std::optional<TableRules> create(const std::vector<std::string>& shadow,
                                                        const std::vector<std::string>& trash,
                                                        std::string* error);
  // ghostgate's defaults (never fails).
  [[nodiscard]] static TableRules defaults();

  static const std::vector<std::string>& default_shadow_rules();
  static const std::vector<std::string>& default_trash_rules();
  // DM's defaults, for users who want DM's exact behaviour.
  static const std::vector<std::string>& dm_shadow_rules();
  static const std::vector<std::string>& dm_trash_rules();

  TableRules(TableRules&&) noexcept;
  TableRules& operator=(TableRules&&) noexcept;
  ~TableRules();

  // First matching rule (ghost rules first). kind real when none matches.
  [[nodiscard]] NameMatch match(std::string_view table) const;

  // Every matching rule in order (ghost rules first), at most `capacity`; returns the count.
  // The engine uses the later matches when the first one's real table does not exist.
  std::size_t match_all(std::string_view table, NameMatch* out, std::size_t capacity) const;

  // False when no rule can match `table` (a cheap range check on the first bytes, no regex run).
  // True does not mean a rule matches.
  [[nodiscard]] bool may_match(std::string_view table) const;

  // Whether any rule matches, without extracting the capture: never allocates (RE2's DFA only).
  // match()/match_all() may allocate inside RE2 when a name does match (the rare path).
  [[nodiscard]] bool matches_any(std::string_view table) const;

  [[nodiscard]] const std::vector<std::string>& shadow_rules() const { return shadow_src_; }
  [[nodiscard]] const std::vector<std::string>& trash_rules() const { return trash_src_; }

 private:
  struct Compiled;
  TableRules() = default;
  [[nodiscard]] static bool compile(const std::vector<std::string>& src, const char* key,
                                    std::vector<Compiled>& out, std::string* error);

  std::vector<std::string> shadow_src_;
  std::vector<std::string> trash_src_;
  std::vector<Compiled> shadow_;
  std::vector<Compiled> trash_;
  // first_byte_[b]: some rule may match a name starting with byte b. One load decides for
  // nearly every replicated table.
  std::array<bool, 256> first_byte_{};
};

// pt-osc builds `_X_new` / `_X_old`, keeps the first 64 bytes, and on a name collision prepends
// another `_` (and cuts again). For a 62-character X the new table is `_X_` and the old one `__X`.
// Given a 64-character name, the (real name, role) pairs it could have come from, most likely
// first. Real names longer than what is left of the helper name cannot be recovered and are not
// listed. Empty when `name` is not exactly 64 bytes or does not start with `_`.
[[nodiscard]] std::vector<TruncationCandidate> pt_osc_truncation_candidates(std::string_view name);

// pt-osc's trigger names: `pt_osc_<db>_<table>_{ins,upd,del}` (the prefix cut to 60 bytes for
// long names, non-word bytes replaced by `_`).
[[nodiscard]] bool is_pt_osc_trigger_name(std::string_view trigger);

}  // namespace ghostgate::rules
