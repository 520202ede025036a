#include "rules/table_rules.h"

#include <re2/re2.h>

#include <utility>

namespace ghostgate::rules {

struct TableRules::Compiled {
  std::unique_ptr<RE2> re;
  // Every name the rule can match lies in [min, max] (RE2::PossibleMatchRange). Checking that
  // first keeps the regex off the hot path: replicated tables rarely start with `_`.
  std::string min;
  std::string max;
  bool has_range = false;
};

namespace {

const std::vector<std::string> kDefaultShadow = {
    R"(_(.+)_gho)",   // gh-ost
    R"(_+(.+)_new)",  // pt-osc; one more leading `_` per name-collision retry
};

const std::vector<std::string> kDefaultTrash = {
    R"(_(.+)_ghc)",            // gh-ost changelog
    R"(_(.+)_ghk)",            // gh-ost checkpoint
    R"(_(.+)_[0-9]{14}_del)",  // gh-ost --timestamp-old-table (before the plain _del rule)
    R"(_(.+)_rev_del)",        // gh-ost --revert
    R"(_(.+)_del)",            // gh-ost old table, cut-over sentry
    R"(_+(.+)_old)",           // pt-osc old table
};

const std::vector<std::string> kDmShadow = {R"(^_(.+)_(?:new|gho)$)"};
const std::vector<std::string> kDmTrash = {R"(^_(.+)_(?:ghc|del|old)$)"};

bool in_range(std::string_view name, const std::string& min, const std::string& max) {
  return name.compare(min) >= 0 && name.compare(max) <= 0;
}

}  // namespace

TableRules::TableRules(TableRules&&) noexcept = default;
TableRules& TableRules::operator=(TableRules&&) noexcept = default;
TableRules::~TableRules() = default;

const std::vector<std::string>& TableRules::default_shadow_rules() { return kDefaultShadow; }
const std::vector<std::string>& TableRules::default_trash_rules() { return kDefaultTrash; }
const std::vector<std::string>& TableRules::dm_shadow_rules() { return kDmShadow; }
const std::vector<std::string>& TableRules::dm_trash_rules() { return kDmTrash; }

bool TableRules::compile(const std::vector<std::string>& src, const char* key,
                         std::vector<Compiled>& out, std::string* error) {
  for (std::size_t i = 0; i < src.size(); ++i) {
    const std::string& rule = src[i];
    RE2::Options options;
    options.set_log_errors(false);
    // Table names are bytes (utf8mb4 in practice); Latin-1 mode lets `.` match any byte so
    // a name is never rejected for its encoding.
    options.set_encoding(RE2::Options::EncodingLatin1);
    Compiled c;
    c.re = std::make_unique<RE2>("^(?:" + rule + ")$", options);
    auto fail = [&](const std::string& why) {
      if (error != nullptr) {
        *error = std::string(key) + "[" + std::to_string(i) + "] \"" + rule + "\": " + why;
      }
      return false;
    };
    if (!c.re->ok()) {
      // The rule as the user wrote it, without the `^(?:...)$` this file wraps it in.
      const RE2 bare(rule, options);
      return fail("invalid regular expression: " + (bare.ok() ? c.re->error() : bare.error()));
    }
    if (c.re->NumberOfCapturingGroups() != 1) {
      return fail("must have exactly one capture group (the real table name), has " +
                  std::to_string(c.re->NumberOfCapturingGroups()));
    }
    c.has_range = c.re->PossibleMatchRange(&c.min, &c.max, 8);
    out.push_back(std::move(c));
  }
  return true;
}

std::optional<TableRules> TableRules::create(const std::vector<std::string>& shadow,
                                             const std::vector<std::string>& trash,
                                             std::string* error) {
  TableRules rules;
  rules.shadow_src_ = shadow.empty() ? kDefaultShadow : shadow;
  rules.trash_src_ = trash.empty() ? kDefaultTrash : trash;
  if (!compile(rules.shadow_src_, "shadow-table-rules", rules.shadow_, error) ||
      !compile(rules.trash_src_, "trash-table-rules", rules.trash_, error)) {
    return std::nullopt;
  }
  for (const auto* list : {&rules.shadow_, &rules.trash_}) {
    for (const Compiled& c : *list) {
      // Without a usable range (or with an empty minimum) any first byte is possible.
      const unsigned lo =
          (c.has_range && !c.min.empty()) ? static_cast<unsigned char>(c.min[0]) : 0;
      const unsigned hi =
          (c.has_range && !c.max.empty()) ? static_cast<unsigned char>(c.max[0]) : 255;
      for (unsigned b = lo; b <= hi; ++b) {
        rules.first_byte_[b] = true;
      }
    }
  }
  return rules;
}

TableRules TableRules::defaults() {
  std::optional<TableRules> rules = create({}, {}, nullptr);
  return std::move(*rules);  // the defaults are known to compile (tested)
}

bool TableRules::may_match(std::string_view table) const {
  if (!table.empty() && !first_byte_[static_cast<unsigned char>(table[0])]) {
    return false;
  }
  for (const auto* list : {&shadow_, &trash_}) {
    for (const Compiled& c : *list) {
      if (!c.has_range || in_range(table, c.min, c.max)) {
        return true;
      }
    }
  }
  return false;
}

std::size_t TableRules::match_all(std::string_view table, NameMatch* out,
                                  std::size_t capacity) const {
  std::size_t n = 0;
  const re2::StringPiece text(table.data(), table.size());
  auto scan = [&](const std::vector<Compiled>& list, TableKind kind) {
    for (std::size_t i = 0; i < list.size() && n < capacity; ++i) {
      const Compiled& c = list[i];
      if (c.has_range && !in_range(table, c.min, c.max)) {
        continue;
      }
      // A match without submatches runs only RE2's DFA, which allocates nothing once warm;
      // extracting the capture may need its backtracker, so do that only for actual matches.
      if (!c.re->Match(text, 0, text.size(), RE2::ANCHOR_BOTH, nullptr, 0)) {
        continue;
      }
      re2::StringPiece groups[2];
      if (c.re->Match(text, 0, text.size(), RE2::ANCHOR_BOTH, groups, 2)) {
        out[n].kind = kind;
        out[n].capture = std::string_view(groups[1].data(), groups[1].size());
        out[n].rule = static_cast<int>(i);
        ++n;
      }
    }
  };
  scan(shadow_, TableKind::ghost);
  scan(trash_, TableKind::trash);
  return n;
}

bool TableRules::matches_any(std::string_view table) const {
  if (!may_match(table)) {
    return false;
  }
  const re2::StringPiece text(table.data(), table.size());
  for (const auto* list : {&shadow_, &trash_}) {
    for (const Compiled& c : *list) {
      if ((!c.has_range || in_range(table, c.min, c.max)) &&
          c.re->Match(text, 0, text.size(), RE2::ANCHOR_BOTH, nullptr, 0)) {
        return true;
      }
    }
  }
  return false;
}

NameMatch TableRules::match(std::string_view table) const {
  NameMatch m;
  match_all(table, &m, 1);
  return m;
}

std::vector<TruncationCandidate> pt_osc_truncation_candidates(std::string_view name) {
  std::vector<TruncationCandidate> out;
  if (name.size() != max_name_length || name.empty() || name[0] != '_') {
    return out;
  }
  std::size_t leading = 0;
  while (leading < name.size() && name[leading] == '_') {
    ++leading;
  }
  // name = first 64 bytes of ("_" * j) + X + suffix, for j retries' worth of `_`, so
  // rest = name[j:] is a prefix of X + suffix that was cut (len(X) + 4 + j > 64).
  // X is rest minus a cut-off piece of the suffix: "", "_", "_n", "_ne", "_o", "_ol".
  struct Piece {
    std::string_view tail;
    TableKind kind;
    bool ambiguous;
  };
  static constexpr Piece kPieces[] = {
      {"_ne", TableKind::ghost, false}, {"_n", TableKind::ghost, false},
      {"_ol", TableKind::trash, false}, {"_o", TableKind::trash, false},
      {"_", TableKind::ghost, true},    {"", TableKind::ghost, true},
  };
  for (std::size_t j = 1; j <= leading; ++j) {
    const std::string_view rest = name.substr(j);
    for (const Piece& p : kPieces) {
      if (rest.size() <= p.tail.size() || !rest.ends_with(p.tail)) {
        continue;
      }
      const std::string_view real = rest.substr(0, rest.size() - p.tail.size());
      if (real.size() + 4 + j <= max_name_length) {
        continue;  // the tool would not have cut anything: the rules cover it
      }
      out.push_back({real, p.kind, p.ambiguous});
    }
  }
  return out;
}

bool is_pt_osc_trigger_name(std::string_view trigger) {
  constexpr std::string_view prefix = "pt_osc_";
  if (trigger.size() <= prefix.size() + 4 || !trigger.starts_with(prefix)) {
    return false;
  }
  const std::string_view suffix = trigger.substr(trigger.size() - 4);
  return suffix == "_ins" || suffix == "_upd" || suffix == "_del";
}

}  // namespace ghostgate::rules
