#include "rules/table_rules.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <initializer_list>
#include <utility>

namespace ghostgate::rules {

struct TableRules::Compiled {
  std::unique_ptr<RE2> re;
  // Every name the rule can match starts with filter.prefix (the common prefix of
  // RE2::PossibleMatchRange's bounds) and ends with filter.suffix (given by the presets), and its
  // first byte lies in [lo, hi]. Checking that first keeps the regex off the hot path.
  Filter filter;
  unsigned lo = 0;
  unsigned hi = 255;
  bool verify = true;
  bool drop_on_rename = false;
};

struct TableRules::AllRules {
  explicit AllRules(const RE2::Options& options) : set(options, RE2::ANCHOR_BOTH) {}
  RE2::Set set;
};

namespace {

constexpr std::uint32_t bit(Tool t) { return 1u << static_cast<unsigned>(t); }
constexpr std::uint32_t kGhOst = bit(Tool::gh_ost);
constexpr std::uint32_t kPtOsc = bit(Tool::pt_osc);
constexpr std::uint32_t kSpirit = bit(Tool::spirit);
constexpr std::uint32_t kLhm = bit(Tool::lhm);
constexpr std::uint32_t kVitess = bit(Tool::vitess);
constexpr std::uint32_t kBytebase = bit(Tool::bytebase);
constexpr std::uint32_t kDms = bit(Tool::dms);
constexpr std::uint32_t kOak = bit(Tool::oak);

constexpr std::array<std::string_view, tool_count> kToolNames = {
    "gh-ost", "pt-osc", "spirit", "lhm", "vitess", "bytebase", "dms", "oak"};

// One built-in rule. Verified against each tool's source (rules/TOOLS.md says where).
struct Preset {
  std::uint32_t tools;
  TableKind kind;
  std::string_view regex;
  std::string_view suffix;  // a literal every match ends with ("" = none)
  bool verify;              // the capture must be an existing real table
  bool drop_on_rename;
};

constexpr bool kVerify = true;
constexpr bool kShape = false;  // the shape alone identifies the tool
constexpr bool kDrop = true;

// In match order per kind. The first ghost and six trash rules are the historical defaults and
// keep their places (first match wins, and the engine tries later matches in this order).
constexpr Preset kPresets[] = {
    // ghost
    {kGhOst, TableKind::ghost, R"(_(.+)_gho)", "_gho", kVerify, false},
    // pt-osc: one more leading `_` per name-collision retry. Spirit's ghost has the same shape.
    {kPtOsc | kSpirit, TableKind::ghost, R"(_+(.+)_new)", "_new", kVerify, false},
    {kLhm, TableKind::ghost, R"(lhmn_(.+))", "", kVerify, false},
    {kVitess, TableKind::ghost, R"(_vt_vrp_[0-9a-f]{32}_[0-9]{14}_())", "_", kShape, false},
    // Vitess before v20: _<uuid with `_`>_<ts>_vrepl.
    {kVitess, TableKind::ghost,
     R"(_[0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12}_[0-9]{14}_vrepl())", "_vrepl",
     kShape, false},
    // Bytebase's gh-ost fork: `~` instead of `_`, the helpers possibly in another schema (its
    // backup database bbdataarchive), so the capture cannot be checked in the helper's schema.
    {kBytebase, TableKind::ghost, R"(~(.+)_gho)", "_gho", kShape, false},
    {kDms, TableKind::ghost, R"(tp_[0-9]+_ogt_(.+))", "", kVerify, false},
    {kOak, TableKind::ghost, R"(__oak_(.+))", "", kVerify, false},

    // trash
    {kGhOst, TableKind::trash, R"(_(.+)_ghc)", "_ghc", kVerify, false},  // changelog
    {kGhOst, TableKind::trash, R"(_(.+)_ghk)", "_ghk", kVerify, false},  // checkpoint (1.1.8+)
    // --timestamp-old-table, before the plain rules so that the capture is X.
    {kGhOst, TableKind::trash, R"(_(.+)_[0-9]{14}_del)", "_del", kVerify, false},
    {kGhOst, TableKind::trash, R"(_(.+)_[0-9]{14}_rev_del)", "_rev_del", kVerify, false},
    {kGhOst, TableKind::trash, R"(_(.+)_rev_del)", "_rev_del", kVerify, false},  // --revert
    {kGhOst, TableKind::trash, R"(_(.+)_del)", "_del", kVerify, false},  // old table, sentry
    {kPtOsc | kSpirit, TableKind::trash, R"(_+(.+)_old)", "_old", kVerify, false},
    // pt-osc's old table after ten `_` retries: six random [A-Z0-9] and `_` in front.
    {kPtOsc, TableKind::trash, R"([A-Z0-9]{6}_+(.+)_old)", "_old", kVerify, false},
    {kPtOsc, TableKind::trash, R"(pt_osc_history())", "", kShape, false},  // 3.6 --history
    {kSpirit, TableKind::trash, R"(_(.+)_old_[0-9]{8}_[0-9]{6})", "", kVerify, false},
    {kSpirit, TableKind::trash, R"(_(.+)_chkpnt)", "_chkpnt", kVerify, false},
    {kSpirit, TableKind::trash, R"(_spirit_(?:checkpoint|sentinel)())", "", kShape, false},
    {kSpirit, TableKind::trash, R"(_(.+)_sentinel)", "_sentinel", kVerify, false},  // < v0.10
    {kLhm, TableKind::trash, R"(lhma_[0-9]{4}(?:_[0-9]{2}){5}_[0-9]{3}_(.+)_failed)", "_failed",
     kVerify, false},
    {kLhm, TableKind::trash, R"(lhma_[0-9]{4}(?:_[0-9]{2}){5}_[0-9]{3}_(.+))", "", kVerify, false},
    // Vitess table GC (and the cut-over sentry): a real table renamed here is being dropped.
    {kVitess, TableKind::trash, R"(_vt_(?:hld|prg|evc|drp)_[0-9a-f]{32}_[0-9]{14}_())", "_", kShape,
     kDrop},
    {kVitess, TableKind::trash, R"(_vt_(?:HOLD|PURGE|EVAC|DROP)_[0-9a-f]{32}_[0-9]{14}())", "",
     kShape, kDrop},
    {kBytebase, TableKind::trash, R"(~(.+)_(?:ghc|ghk|del))", "", kShape, false},
    {kDms, TableKind::trash, R"(tp_[0-9]+_(?:ogl|del)_(.+))", "", kVerify, false},
    {kOak, TableKind::trash, R"(__arc_(.+))", "", kVerify, false},
};

std::vector<std::string> preset_rules(std::uint32_t tools, TableKind kind) {
  std::vector<std::string> out;
  for (const Preset& p : kPresets) {
    if ((p.tools & tools) != 0 && p.kind == kind) {
      out.emplace_back(p.regex);
    }
  }
  return out;
}

std::uint32_t all_tools() { return (1u << tool_count) - 1; }

std::uint32_t tool_bits(ToolSet tools) {
  std::uint32_t bits = 0;
  for (std::size_t i = 0; i < tool_count; ++i) {
    bits |= tools.has(static_cast<Tool>(i)) ? bit(static_cast<Tool>(i)) : 0;
  }
  return bits;
}

const std::vector<std::string> kDefaultShadow = preset_rules(all_tools(), TableKind::ghost);
const std::vector<std::string> kDefaultTrash = preset_rules(all_tools(), TableKind::trash);
const std::vector<std::string> kDmShadow = {R"(^_(.+)_(?:new|gho)$)"};
const std::vector<std::string> kDmTrash = {R"(^_(.+)_(?:ghc|del|old)$)"};

const Preset* find_preset(std::string_view regex, TableKind kind) {
  for (const Preset& p : kPresets) {
    if (p.kind == kind && p.regex == regex) {
      return &p;
    }
  }
  return nullptr;
}

RE2::Options rule_options() {
  RE2::Options options;
  options.set_log_errors(false);
  // Table names are bytes (utf8mb4 in practice); Latin-1 mode lets `.` match any byte so
  // a name is never rejected for its encoding.
  options.set_encoding(RE2::Options::EncodingLatin1);
  return options;
}

std::string anchored(const std::string& rule) { return "^(?:" + rule + ")$"; }

std::string_view common_prefix(std::string_view a, std::string_view b) {
  std::size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) {
    ++n;
  }
  return a.substr(0, n);
}

bool ends_with_any(std::string_view s, std::initializer_list<std::string_view> suffixes) {
  return std::any_of(suffixes.begin(), suffixes.end(),
                     [&](std::string_view x) { return s.size() > x.size() && s.ends_with(x); });
}

}  // namespace

std::string_view tool_name(Tool tool) { return kToolNames[static_cast<std::size_t>(tool)]; }

std::optional<Tool> parse_tool(std::string_view name) {
  for (std::size_t i = 0; i < tool_count; ++i) {
    if (kToolNames[i] == name) {
      return static_cast<Tool>(i);
    }
  }
  return std::nullopt;
}

TableRules::TableRules() = default;
TableRules::TableRules(TableRules&&) noexcept = default;
TableRules& TableRules::operator=(TableRules&&) noexcept = default;
TableRules::~TableRules() = default;

const std::vector<std::string>& TableRules::default_shadow_rules() { return kDefaultShadow; }
const std::vector<std::string>& TableRules::default_trash_rules() { return kDefaultTrash; }
const std::vector<std::string>& TableRules::dm_shadow_rules() { return kDmShadow; }
const std::vector<std::string>& TableRules::dm_trash_rules() { return kDmTrash; }

std::vector<std::string> TableRules::tool_shadow_rules(ToolSet tools) {
  return preset_rules(tool_bits(tools), TableKind::ghost);
}

std::vector<std::string> TableRules::tool_trash_rules(ToolSet tools) {
  return preset_rules(tool_bits(tools), TableKind::trash);
}

std::vector<std::string> TableRules::known_tools() {
  return std::vector<std::string>(kToolNames.begin(), kToolNames.end());
}

bool TableRules::compile(const std::vector<std::string>& src, const char* key, TableKind kind,
                         std::vector<Compiled>& out, std::string* error) {
  for (std::size_t i = 0; i < src.size(); ++i) {
    const std::string& rule = src[i];
    Compiled c;
    c.re = std::make_unique<RE2>(anchored(rule), rule_options());
    auto fail = [&](const std::string& why) {
      if (error != nullptr) {
        *error = std::string(key) + "[" + std::to_string(i) + "] \"" + rule + "\": " + why;
      }
      return false;
    };
    if (!c.re->ok()) {
      // The rule as the user wrote it, without the `^(?:...)$` this file wraps it in.
      const RE2 bare(rule, rule_options());
      return fail("invalid regular expression: " + (bare.ok() ? c.re->error() : bare.error()));
    }
    if (c.re->NumberOfCapturingGroups() != 1) {
      return fail("must have exactly one capture group (the real table name), has " +
                  std::to_string(c.re->NumberOfCapturingGroups()));
    }
    std::string min;
    std::string max;
    if (c.re->PossibleMatchRange(&min, &max, 8)) {
      // Every match lies in [min, max], so it starts with their common prefix.
      c.filter.prefix = std::string(common_prefix(min, max));
      c.lo = min.empty() ? 0 : static_cast<unsigned char>(min[0]);
      c.hi = max.empty() ? 255 : static_cast<unsigned char>(max[0]);
    }
    // A user's rule always verifies its capture; a built-in one as its tool's names need.
    if (const Preset* p = find_preset(rule, kind)) {
      c.filter.suffix = std::string(p->suffix);
      c.verify = p->verify;
      c.drop_on_rename = p->drop_on_rename;
    }
    out.push_back(std::move(c));
  }
  return true;
}

std::optional<TableRules> TableRules::create(const RuleConfig& config, std::string* error) {
  TableRules rules;
  if (config.tools) {
    rules.tools_ = ToolSet::none();
    for (std::size_t i = 0; i < config.tools->size(); ++i) {
      const std::string& name = (*config.tools)[i];
      const std::optional<Tool> tool = parse_tool(name);
      if (!tool) {
        if (error != nullptr) {
          std::string known;
          for (std::string_view k : kToolNames) {
            known += (known.empty() ? "" : ", ") + std::string(k);
          }
          *error = "online-ddl-tools[" + std::to_string(i) + "] \"" + name +
                   "\": unknown tool; known tools: " + known;
        }
        return std::nullopt;
      }
      rules.tools_.add(*tool);
    }
  }
  rules.shadow_src_ = config.shadow.empty() ? tool_shadow_rules(rules.tools_) : config.shadow;
  rules.trash_src_ = config.trash.empty() ? tool_trash_rules(rules.tools_) : config.trash;
  if (!compile(rules.shadow_src_, "shadow-table-rules", TableKind::ghost, rules.shadow_, error) ||
      !compile(rules.trash_src_, "trash-table-rules", TableKind::trash, rules.trash_, error)) {
    return std::nullopt;
  }
  for (const auto* list : {&rules.shadow_, &rules.trash_}) {
    for (const Compiled& c : *list) {
      for (unsigned b = c.lo; b <= c.hi; ++b) {
        rules.first_byte_[b] = true;
        // Keep only the weakest filters: (`_`, "") makes (`_`, `_gho`) redundant. Fewer
        // compares for a real name that shares a first byte with a tool's helpers.
        std::vector<Filter>& filters = rules.filters_[b];
        auto weaker = [](const Filter& a, const Filter& than) {
          return than.prefix.starts_with(a.prefix) && than.suffix.ends_with(a.suffix);
        };
        if (std::none_of(filters.begin(), filters.end(),
                         [&](const Filter& f) { return weaker(f, c.filter); })) {
          std::erase_if(filters, [&](const Filter& f) { return weaker(c.filter, f); });
          filters.push_back(c.filter);
        }
      }
    }
  }
  if (!rules.shadow_src_.empty() || !rules.trash_src_.empty()) {
    rules.all_ = std::make_unique<AllRules>(rule_options());
    for (const auto* list : {&rules.shadow_src_, &rules.trash_src_}) {
      for (const std::string& rule : *list) {
        if (rules.all_->set.Add(anchored(rule), nullptr) < 0) {
          if (error != nullptr) {
            *error = "rule \"" + rule + "\" cannot be combined with the others";
          }
          return std::nullopt;
        }
      }
    }
    if (!rules.all_->set.Compile()) {
      if (error != nullptr) {
        *error = "the table rules are too large to combine";
      }
      return std::nullopt;
    }
  }
  return rules;
}

std::optional<TableRules> TableRules::create(const std::vector<std::string>& shadow,
                                             const std::vector<std::string>& trash,
                                             std::string* error) {
  return create(RuleConfig{std::nullopt, shadow, trash}, error);
}

std::optional<TableRules> TableRules::for_tools(const std::vector<std::string>& tools,
                                                std::string* error) {
  return create(RuleConfig{tools, {}, {}}, error);
}

TableRules TableRules::defaults() {
  std::optional<TableRules> rules = create(RuleConfig{}, nullptr);
  return std::move(*rules);  // the defaults are known to compile (tested)
}

bool TableRules::may_match(std::string_view table) const {
  if (table.empty()) {
    return true;  // only a user's rule could match it: let the regex decide
  }
  const auto b = static_cast<unsigned char>(table[0]);
  if (!first_byte_[b]) {
    return false;
  }
  for (const Filter& f : filters_[b]) {
    if (passes(table, f)) {
      return true;
    }
  }
  return false;
}

std::size_t TableRules::match_all(std::string_view table, NameMatch* out,
                                  std::size_t capacity) const {
  std::size_t n = 0;
  const re2::StringPiece text(table.data(), table.size());
  const unsigned first = table.empty() ? 0 : static_cast<unsigned char>(table[0]);
  auto scan = [&](const std::vector<Compiled>& list, TableKind kind) {
    for (std::size_t i = 0; i < list.size() && n < capacity; ++i) {
      const Compiled& c = list[i];
      if (!table.empty() && (first < c.lo || first > c.hi || !passes(table, c.filter))) {
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
        out[n].verify = c.verify;
        out[n].drop_on_rename = c.drop_on_rename;
        ++n;
      }
    }
  };
  scan(shadow_, TableKind::ghost);
  scan(trash_, TableKind::trash);
  return n;
}

bool TableRules::matches_any(std::string_view table) const {
  if (!may_match(table) || all_ == nullptr) {
    return false;
  }
  return all_->set.Match(re2::StringPiece(table.data(), table.size()), nullptr);
}

NameMatch TableRules::match(std::string_view table) const {
  NameMatch m;
  match_all(table, &m, 1);
  return m;
}

bool TableRules::is_helper_schema(std::string_view schema) const {
  return tools_.has(Tool::vitess) && schema == "_vt";
}

bool TableRules::is_helper_trigger(std::string_view trigger) const {
  if (tools_.has(Tool::pt_osc) && is_pt_osc_trigger_name(trigger)) {
    return true;
  }
  // LHM: "lhmt_#{type}_#{origin}"[0...64] (lib/lhm/entangler.rb).
  if (tools_.has(Tool::lhm) && trigger.size() > 9 &&
      (trigger.starts_with("lhmt_ins_") || trigger.starts_with("lhmt_upd_") ||
       trigger.starts_with("lhmt_del_"))) {
    return true;
  }
  // oak-online-alter-table: <table>_AI_oak / _AU_oak / _AD_oak.
  return tools_.has(Tool::oak) && ends_with_any(trigger, {"_AI_oak", "_AU_oak", "_AD_oak"});
}

bool TableRules::has_tool_marker(std::string_view text) const {
  auto has = [&](std::string_view x) { return text.find(x) != std::string_view::npos; };
  // gh-ost (and Bytebase's fork) write `/* gh-ost */` into every DDL of theirs, LHM tags every
  // statement with `/* large hadron migration */`; DROPs come back rewritten by the server
  // without it, DML as row events. A client that strips comments (`mysqlbinlog | mysql`) loses
  // them, so gh-ost's helpers are also known by what survives: the changelog's and the
  // sentry's table comments and the checkpoint table's first column (go/logic/applier.go).
  if (tools_.has(Tool::gh_ost) || tools_.has(Tool::bytebase)) {
    if (has("/* gh-ost */") || has("'gh-ost changelog'") || has("'ghost-cut-over-sentry'") ||
        has("`gh_ost_chk_id`")) {
      return true;
    }
  }
  return tools_.has(Tool::lhm) && has("/* large hadron migration */");
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
  // --reverse-triggers names them rt_pt_osc_... (bin/pt-online-schema-change, create_triggers).
  if (trigger.starts_with("rt_")) {
    trigger.remove_prefix(3);
  }
  constexpr std::string_view prefix = "pt_osc_";
  if (trigger.size() <= prefix.size() + 4 || !trigger.starts_with(prefix)) {
    return false;
  }
  const std::string_view suffix = trigger.substr(trigger.size() - 4);
  return suffix == "_ins" || suffix == "_upd" || suffix == "_del";
}

}  // namespace ghostgate::rules
