#include "rules/shard_group.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "rules/utf8.h"

namespace ghostgate::rules {
namespace {

// ---------------------------------------------------------------------------------------------
// The state as JSON (nlohmann's ordered_json: fields in the order written, so the text is
// stable). Reading never throws: a missing or mistyped field is an error naming it.

using Json = nlohmann::ordered_json;

constexpr char hex_digits[] = "0123456789abcdef";

// A string of the state. Names and DDL texts are bytes in the binlog's character set, not always
// UTF-8 (a latin1 column name or COMMENT); JSON strings cannot hold such bytes, and replacing
// them would make the state read back name another column. Those are written as
// {"hex":"<bytes>"}; everything else as a plain string.
Json text_json(std::string_view s) {
  if (!invalid_utf8_at(s).has_value()) {
    return Json(std::string(s));
  }
  std::string hex;
  hex.reserve(2 * s.size());
  for (const char c : s) {
    hex += hex_digits[static_cast<unsigned char>(c) >> 4];
    hex += hex_digits[static_cast<unsigned char>(c) & 0xf];
  }
  return Json{{"hex", std::move(hex)}};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

// Reads text_json(); false for anything else.
bool read_text(const Json& v, std::string& out) {
  if (v.is_string()) {
    out = v.get<std::string>();
    return true;
  }
  if (!v.is_object() || v.size() != 1 || !v.contains("hex") || !v["hex"].is_string()) {
    return false;
  }
  const std::string& hex = v["hex"].get_ref<const std::string&>();
  if (hex.size() % 2 != 0) {
    return false;
  }
  out.clear();
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = hex_value(hex[i]);
    const int low = hex_value(hex[i + 1]);
    if (high < 0 || low < 0) {
      return false;
    }
    out += static_cast<char>(high * 16 + low);
  }
  return true;
}

Json name_json(const QualifiedName& name) {
  return Json{{"schema", text_json(name.schema)}, {"table", text_json(name.table)}};
}

struct Fields {
  const Json& object;
  std::string* error;
  std::string where;

  bool fail(const std::string& what) const {
    *error = where + what;
    return false;
  }
  const Json* get(std::string_view key) const {
    if (!object.is_object()) {
      return nullptr;
    }
    auto it = object.find(std::string(key));
    return it == object.end() ? nullptr : &*it;
  }
  bool string(std::string_view key, std::string& out) const {
    const Json* v = get(key);
    if (v == nullptr || !read_text(*v, out)) {
      return fail("\"" + std::string(key) + "\" must be a string");
    }
    return true;
  }
  bool number(std::string_view key, std::size_t& out) const {
    const Json* v = get(key);
    if (v == nullptr || !v->is_number_unsigned()) {
      return fail("\"" + std::string(key) + "\" must be a non-negative integer");
    }
    out = v->get<std::size_t>();
    return true;
  }
  bool boolean(std::string_view key, bool& out) const {
    const Json* v = get(key);
    if (v == nullptr || !v->is_boolean()) {
      return fail("\"" + std::string(key) + "\" must be true or false");
    }
    out = v->get<bool>();
    return true;
  }
  const Json* list(std::string_view key) const {
    const Json* v = get(key);
    if (v == nullptr || !v->is_array()) {
      fail("\"" + std::string(key) + "\" must be an array");
      return nullptr;
    }
    return v;
  }
  bool name(const Json& v, QualifiedName& out) const {
    if (!v.is_object()) {
      return fail("a name must be an object");
    }
    const Fields f{v, error, where};
    return f.string("schema", out.schema) && f.string("table", out.table);
  }
};

// ---------------------------------------------------------------------------------------------
// Decisions

constexpr std::size_t json_format = 1;

std::string join_texts(const std::vector<std::string>& texts) {
  std::string out = "[";
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (i > 0) {
      out += "; ";
    }
    out += texts[i];
  }
  return out + "]";
}

std::vector<std::string> version_texts(const ShardVersion& v) {
  std::vector<std::string> texts;
  for (const ShardSpec& s : v.specs) {
    texts.push_back(s.text);
  }
  return texts;
}

std::string members_text(const std::vector<QualifiedName>& names, std::size_t unseen) {
  std::string out;
  for (const QualifiedName& n : names) {
    out += (out.empty() ? "" : ", ") + quote_name(n);
  }
  if (unseen > 0) {
    out += (out.empty() ? "" : ", and ") + std::to_string(unseen) +
           (unseen == 1 ? " member" : " members") + " not seen yet";
  }
  return out;
}

constexpr std::string_view conflict_hint =
    " Nothing was changed and retrying will not help: make the shards run the same change, or "
    "bring the target in line by hand and resolve this migration through the admin endpoint.";

}  // namespace

ShardGroup::ShardGroup(ShardGroupConfig config, ShardMode mode)
    : config_(std::move(config)), mode_(mode) {
  for (const QualifiedName& m : config_.members) {
    members_.push_back(ShardMemberState{m, 0});
  }
}

const ShardMemberState* ShardGroup::find_member(const QualifiedName& name) const {
  for (const ShardMemberState& m : members_) {
    if (m.name == name) {
      return &m;
    }
  }
  return nullptr;
}

std::size_t ShardGroup::member_total() const {
  return config_.members.empty() ? config_.member_count : config_.members.size();
}

bool ShardGroup::all_reached(std::size_t version) const {
  std::size_t n = 0;
  for (const ShardMemberState& m : members_) {
    n += m.reached >= version ? 1 : 0;
  }
  return n >= member_total();
}

bool ShardGroup::runnable(const ShardVersion& v, const ShardSpec& s) const {
  return v.released || all_reached(v.number) ||
         (mode_ == ShardMode::optimistic && s.cls == SpecClass::additive);
}

void ShardGroup::append_runs(const TargetSchema& target, std::vector<ShardStep>& steps) const {
  TargetSchema probe = target;
  for (const ShardVersion& v : versions_) {
    for (std::size_t k = 0; k < v.specs.size(); ++k) {
      const ShardSpec& s = v.specs[k];
      if (s.done || !runnable(v, s)) {
        continue;
      }
      if (!visible_in_schema(s.kind, s.subject, s.new_name, probe)) {
        ShardStep run;
        run.kind = ShardStep::Kind::run_spec;
        run.version = v.number;
        run.spec = k;
        run.sql = spec_sql(config_.target, s.text);
        steps.push_back(std::move(run));
      }
      ShardStep done;
      done.kind = ShardStep::Kind::spec_done;
      done.version = v.number;
      done.spec = k;
      steps.push_back(std::move(done));
      apply_to_schema(s.kind, s.subject, s.new_name, ColumnInfo{}, probe);
    }
  }
}

std::vector<WaitingChange> ShardGroup::waiting() const {
  std::vector<WaitingChange> out;
  std::size_t known = members_.size();
  for (const ShardVersion& v : versions_) {
    WaitingChange w;
    w.version = v.number;
    for (const ShardSpec& s : v.specs) {
      if (!s.done) {
        w.specs.push_back(s.text);
      }
    }
    if (w.specs.empty()) {
      continue;
    }
    for (const ShardMemberState& m : members_) {
      if (m.reached < v.number) {
        w.missing.push_back(m.name);
      }
    }
    w.unseen = member_total() > known ? member_total() - known : 0;
    out.push_back(std::move(w));
  }
  return out;
}

std::string ShardGroup::conflict_prefix(const QualifiedName& member) const {
  return "shard merge conflict on " + quote_name(config_.target) + ": " + quote_name(member);
}

void ShardGroup::finish(const ShardGroup& after, const QualifiedName& member,
                        ShardDecision& d) const {
  const ShardMemberState* m = after.find_member(member);
  d.version = m != nullptr ? m->reached : 0;
  d.waiting = after.waiting();
  d.verdict = ShardDecision::Verdict::ok;
  for (const WaitingChange& w : d.waiting) {
    if (w.version != d.version) {
      continue;
    }
    const std::string who = members_text(w.missing, w.unseen);
    if (mode_ == ShardMode::pessimistic) {
      d.verdict = ShardDecision::Verdict::wait;
      d.reason = "waits for every member (pessimistic)";
      d.message = "shard-mode pessimistic: the change of " + quote_name(config_.target) +
                  " at version " + std::to_string(w.version) + " " + join_texts(w.specs) +
                  " runs once every member has reached it; missing: " +
                  (who.empty() ? "none (an operator release is pending)" : who) +
                  ". One connection that carries several shards can never complete this: use "
                  "shard-mode optimistic there.";
    } else {
      d.message = "contracting change of " + quote_name(config_.target) + " at version " +
                  std::to_string(w.version) + " " + join_texts(w.specs) +
                  " runs once every member has reached it; missing: " + who;
    }
  }
}

ShardDecision ShardGroup::decide(const QualifiedName& member, const NormalizedSet& set,
                                 const TargetSchema& target) const {
  ShardDecision d;
  auto conflict = [&](std::string message, std::string_view reason) {
    ShardDecision c;
    c.verdict = ShardDecision::Verdict::conflict;
    c.message = std::move(message);
    c.reason = reason;
    const ShardMemberState* m = find_member(member);
    c.version = m != nullptr ? m->reached : 0;
    c.waiting = waiting();
    return c;
  };
  const std::vector<std::string> texts = spec_texts(set);
  ShardGroup after = *this;
  auto add_step = [&](ShardStep step) {
    after.apply(step);
    d.steps.push_back(std::move(step));
  };

  if (find_member(member) == nullptr) {
    const std::string key =
        "shard-groups.\"" + config_.target.schema + "." + config_.target.table + "\".members";
    if (!config_.members.empty()) {
      return conflict(
          conflict_prefix(member) + " is not listed in " + key + "." + std::string(conflict_hint),
          "not a member");
    }
    if (members_.size() >= member_total()) {
      std::vector<QualifiedName> known;
      for (const ShardMemberState& m : members_) {
        known.push_back(m.name);
      }
      return conflict(conflict_prefix(member) + " would be member " +
                          std::to_string(members_.size() + 1) + " but " + key + " is " +
                          std::to_string(member_total()) + " and these have cut over already: " +
                          members_text(known, 0) + ". Raise the count or list the members.",
                      "too many members");
    }
    if (texts.empty()) {
      d.reason = "nothing to change";
      d.waiting = waiting();
      return d;
    }
    ShardStep join;
    join.kind = ShardStep::Kind::join;
    join.member = member;
    add_step(std::move(join));
  }
  if (texts.empty()) {
    finish(after, member, d);
    d.verdict = ShardDecision::Verdict::ok;
    d.reason = "nothing to change";
    d.message.clear();
    return d;
  }

  const std::size_t reached = after.find_member(member)->reached;
  const std::size_t n = versions_.size();
  if (reached < n && same_set(texts, version_texts(versions_[reached]))) {
    ShardStep reach;
    reach.kind = ShardStep::Kind::reach;
    reach.member = member;
    reach.version = reached + 1;
    add_step(std::move(reach));
    d.reason = "same change as an earlier member";
  } else if (reached >= 1 && same_set(texts, version_texts(versions_[reached - 1]))) {
    d.reason = "cut-over resent: the member has reached this version";
  } else if (reached < n) {
    const ShardVersion& next = versions_[reached];
    // Explain the difference: the same column or index with another definition, if any.
    std::string detail;
    const std::vector<std::string> theirs = version_texts(next);
    for (const AlterSpec& mine : set.specs) {
      if (std::find(theirs.begin(), theirs.end(), mine.text) != theirs.end()) {
        continue;
      }
      for (const ShardSpec& other : next.specs) {
        if (other.subject == mine.subject && !mine.subject.empty() &&
            changes_column(other.kind) == changes_column(mine.kind) &&
            std::find(texts.begin(), texts.end(), other.text) == texts.end()) {
          detail = std::string(changes_column(mine.kind) ? "the same column " : "the same index ") +
                   quote_name(QualifiedName{"", mine.subject}) + " with another definition: `" +
                   mine.text + "` here, `" + other.text + "` in version " +
                   std::to_string(next.number);
          break;
        }
      }
      if (!detail.empty()) {
        break;
      }
    }
    if (detail.empty()) {
      detail = "a member that is behind must bring the next version's change exactly";
    }
    return conflict(conflict_prefix(member) + " has reached version " + std::to_string(reached) +
                        " and brings " + join_texts(texts) + ", but the next version, " +
                        std::to_string(next.number) + " (first brought by " +
                        quote_name(next.introduced_by) + "), is " + join_texts(theirs) + ": " +
                        detail + "." + std::string(conflict_hint),
                    "differs from the next version");
  } else {
    const std::string versions_text = n == 0 ? "as version 1 (the first change)"
                                             : "as version " + std::to_string(n + 1) +
                                                   " after version " + std::to_string(n) + " " +
                                                   join_texts(version_texts(versions_[n - 1]));
    const std::vector<Classification> classes = classify_set(set, target);
    std::string why;
    for (std::size_t i = 0; i < classes.size(); ++i) {
      if (classes[i].cls == SpecClass::conflicting) {
        why += (why.empty() ? "" : "; ") + classes[i].why;
      }
    }
    // A column or index whose earlier change still waits cannot change again before it ran.
    std::set<std::string> pending;
    std::map<std::string, std::string> pending_where;
    for (const ShardVersion& v : versions_) {
      for (const ShardSpec& s : v.specs) {
        if (s.done) {
          continue;
        }
        for (std::string& k : spec_keys(s.kind, s.subject, s.new_name)) {
          pending_where.emplace(k, "version " + std::to_string(v.number) + " `" + s.text + "`");
          pending.insert(std::move(k));
        }
      }
    }
    for (const AlterSpec& s : set.specs) {
      const std::vector<std::string> keys =
          spec_keys(s.kind, s.subject, s.new_name, s.index_columns);
      for (const std::string& k : keys) {
        if (pending.count(k) != 0) {
          why += (why.empty() ? "" : "; ") + std::string("`") + s.text + "` changes " +
                 quote_name(QualifiedName{"", k.substr(2)}) + ", whose change in " +
                 pending_where[k] + " still waits";
          break;
        }
      }
    }
    if (!why.empty()) {
      return conflict(conflict_prefix(member) + " brings " + join_texts(texts) + " " +
                          versions_text + ": " + why + "." + std::string(conflict_hint),
                      "conflicting change");
    }
    ShardStep append;
    append.kind = ShardStep::Kind::append_version;
    append.member = member;
    append.version = n + 1;
    for (std::size_t i = 0; i < set.specs.size(); ++i) {
      const AlterSpec& a = set.specs[i];
      ShardSpec s;
      s.kind = a.kind;
      s.cls = classes[i].cls;
      s.text = a.text;
      s.subject = a.subject;
      s.new_name = a.new_name;
      s.why = classes[i].why;
      append.specs.push_back(std::move(s));
    }
    add_step(std::move(append));
    ShardStep reach;
    reach.kind = ShardStep::Kind::reach;
    reach.member = member;
    reach.version = n + 1;
    add_step(std::move(reach));
    d.reason = "new change";
  }

  const std::size_t first_run = d.steps.size();
  after.append_runs(target, d.steps);
  for (std::size_t i = first_run; i < d.steps.size(); ++i) {
    after.apply(d.steps[i]);
  }
  finish(after, member, d);
  return d;
}

ShardDecision ShardGroup::release(std::size_t version, const TargetSchema& target) const {
  ShardDecision d;
  d.version = version;
  ShardGroup after = *this;
  for (std::size_t v = 1; v <= version && v <= versions_.size(); ++v) {
    const ShardVersion& ver = versions_[v - 1];
    const bool waits =
        std::any_of(ver.specs.begin(), ver.specs.end(), [](const ShardSpec& s) { return !s.done; });
    if (waits && !ver.released) {
      ShardStep step;
      step.kind = ShardStep::Kind::release;
      step.version = v;
      after.apply(step);
      d.steps.push_back(std::move(step));
    }
  }
  if (version == 0 || version > versions_.size() || d.steps.empty()) {
    d.steps.clear();
    d.verdict = ShardDecision::Verdict::conflict;
    d.reason = "nothing to release";
    d.message = "nothing waits at version " + std::to_string(version) + " of " +
                quote_name(config_.target) + " (it has " + std::to_string(versions_.size()) +
                " versions)";
    d.waiting = waiting();
    return d;
  }
  const std::size_t first_run = d.steps.size();
  after.append_runs(target, d.steps);
  for (std::size_t i = first_run; i < d.steps.size(); ++i) {
    after.apply(d.steps[i]);
  }
  d.waiting = after.waiting();
  d.reason = "released by the operator";
  return d;
}

bool ShardGroup::apply(const ShardStep& step) {
  const std::size_t n = versions_.size();
  auto member = [&]() -> ShardMemberState* {
    for (ShardMemberState& m : members_) {
      if (m.name == step.member) {
        return &m;
      }
    }
    return nullptr;
  };
  switch (step.kind) {
    case ShardStep::Kind::join:
      if (member() != nullptr) {
        return false;
      }
      members_.push_back(ShardMemberState{step.member, 0});
      return true;
    case ShardStep::Kind::append_version: {
      if (step.version != n + 1) {
        return false;
      }
      ShardVersion v;
      v.number = step.version;
      v.introduced_by = step.member;
      v.specs = step.specs;
      for (ShardSpec& s : v.specs) {
        s.done = false;
      }
      versions_.push_back(std::move(v));
      return true;
    }
    case ShardStep::Kind::reach: {
      ShardMemberState* m = member();
      if (m == nullptr || step.version > n || step.version < m->reached) {
        return false;
      }
      m->reached = step.version;
      return true;
    }
    case ShardStep::Kind::spec_done:
      if (step.version == 0 || step.version > n ||
          step.spec >= versions_[step.version - 1].specs.size()) {
        return false;
      }
      versions_[step.version - 1].specs[step.spec].done = true;
      return true;
    case ShardStep::Kind::release:
      if (step.version == 0 || step.version > n) {
        return false;
      }
      versions_[step.version - 1].released = true;
      return true;
    case ShardStep::Kind::run_spec:
      return false;
  }
  return false;
}

std::string ShardGroup::to_json() const {
  Json versions = Json::array();
  for (const ShardVersion& v : versions_) {
    Json specs = Json::array();
    for (const ShardSpec& s : v.specs) {
      specs.push_back(Json{{"kind", std::string(to_string(s.kind))},
                           {"class", std::string(to_string(s.cls))},
                           {"text", text_json(s.text)},
                           {"subject", text_json(s.subject)},
                           {"new_name", text_json(s.new_name)},
                           {"why", text_json(s.why)},
                           {"done", s.done}});
    }
    versions.push_back(Json{{"number", v.number},
                            {"by", name_json(v.introduced_by)},
                            {"released", v.released},
                            {"specs", std::move(specs)}});
  }
  Json members = Json::array();
  for (const ShardMemberState& m : members_) {
    Json member = name_json(m.name);
    member["reached"] = m.reached;
    members.push_back(std::move(member));
  }
  const Json doc{{"format", json_format},
                 {"target", name_json(config_.target)},
                 {"versions", std::move(versions)},
                 {"members", std::move(members)}};
  // Every string is valid UTF-8 (text_json), so nothing is replaced; `replace` only keeps dump()
  // from ever throwing.
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<ShardGroup> ShardGroup::from_json(std::string_view json, ShardGroupConfig config,
                                                ShardMode mode, std::string* error) {
  std::string ignored;
  std::string& err = error != nullptr ? *error : ignored;
  const std::string where = "shard group state of " + quote_name(config.target) + ": ";
  const Json doc = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    err = where + "not valid JSON";
    return std::nullopt;
  }
  if (!doc.is_object()) {
    err = where + "not a JSON object";
    return std::nullopt;
  }
  const Fields top{doc, &err, where};
  std::size_t format = 0;
  if (!top.number("format", format)) {
    return std::nullopt;
  }
  if (format != json_format) {
    err = where + "format " + std::to_string(format) + " is not known to this version (" +
          std::to_string(json_format) + ")";
    return std::nullopt;
  }
  QualifiedName target;
  const Json* target_json = top.get("target");
  if (target_json == nullptr || !top.name(*target_json, target)) {
    if (target_json == nullptr) {
      err = where + "\"target\" is missing";
    }
    return std::nullopt;
  }
  if (target != config.target) {
    err = where + "it is the state of " + quote_name(target);
    return std::nullopt;
  }
  ShardGroup group(std::move(config), mode);
  const Json* versions = top.list("versions");
  if (versions == nullptr) {
    return std::nullopt;
  }
  for (const Json& vj : *versions) {
    const Fields f{vj, &err,
                   where + "version " + std::to_string(group.versions_.size() + 1) + ": "};
    if (!vj.is_object()) {
      f.fail("not an object");
      return std::nullopt;
    }
    ShardVersion v;
    const Json* by = f.get("by");
    if (by == nullptr) {
      f.fail("\"by\" is missing");
      return std::nullopt;
    }
    if (!f.number("number", v.number) || !f.boolean("released", v.released) ||
        !f.name(*by, v.introduced_by)) {
      return std::nullopt;
    }
    if (v.number != group.versions_.size() + 1) {
      f.fail("numbered " + std::to_string(v.number));
      return std::nullopt;
    }
    const Json* specs = f.list("specs");
    if (specs == nullptr) {
      return std::nullopt;
    }
    for (const Json& sj : *specs) {
      const Fields g{sj, &err, f.where + "spec " + std::to_string(v.specs.size()) + ": "};
      if (!sj.is_object()) {
        g.fail("not an object");
        return std::nullopt;
      }
      ShardSpec s;
      std::string kind;
      std::string cls;
      if (!g.string("kind", kind) || !g.string("class", cls) || !g.string("text", s.text) ||
          !g.string("subject", s.subject) || !g.string("new_name", s.new_name) ||
          !g.string("why", s.why) || !g.boolean("done", s.done)) {
        return std::nullopt;
      }
      const std::optional<SpecKind> k = parse_spec_kind(kind);
      const std::optional<SpecClass> c = parse_spec_class(cls);
      if (!k.has_value() || !c.has_value()) {
        g.fail("unknown kind \"" + kind + "\" or class \"" + cls + "\"");
        return std::nullopt;
      }
      s.kind = *k;
      s.cls = *c;
      v.specs.push_back(std::move(s));
    }
    group.versions_.push_back(std::move(v));
  }
  const Json* members = top.list("members");
  if (members == nullptr) {
    return std::nullopt;
  }
  for (const Json& mj : *members) {
    const Fields f{mj, &err, where};
    ShardMemberState m;
    if (!f.name(mj, m.name) || !f.number("reached", m.reached)) {
      return std::nullopt;
    }
    if (m.reached > group.versions_.size()) {
      f.fail(quote_name(m.name) + " reached version " + std::to_string(m.reached) +
             ", which does not exist");
      return std::nullopt;
    }
    ShardMemberState* existing = nullptr;
    for (ShardMemberState& e : group.members_) {
      if (e.name == m.name) {
        existing = &e;
      }
    }
    if (existing != nullptr) {
      existing->reached = m.reached;  // a listed member
      continue;
    }
    if (!group.config_.members.empty()) {
      f.fail(quote_name(m.name) + " is no longer listed in shard-groups.\"" + target.schema + "." +
             target.table + "\".members");
      return std::nullopt;
    }
    if (group.members_.size() >= group.member_total()) {
      f.fail("it knows more members than shard-groups.\"" + target.schema + "." + target.table +
             "\".members allows (" + std::to_string(group.member_total()) + ")");
      return std::nullopt;
    }
    group.members_.push_back(std::move(m));
  }
  return group;
}

}  // namespace ghostgate::rules
