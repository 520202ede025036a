#include "rules/shard_group.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

namespace ghostgate::rules {
namespace {

// ---------------------------------------------------------------------------------------------
// A small JSON reader and writer for the group's own state (objects, arrays, strings,
// non-negative integers, booleans). The rules layer has no JSON library, and this state needs
// no more.

struct Json {
  enum class Type : std::uint8_t { null, boolean, number, string, array, object };
  Type type = Type::null;
  bool boolean = false;
  std::uint64_t number = 0;
  std::string string;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> fields;

  [[nodiscard]] const Json* get(std::string_view key) const {
    for (const auto& [k, v] : fields) {
      if (k == key) {
        return &v;
      }
    }
    return nullptr;
  }
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : s_(text) {}

  bool read_document(Json& out, std::string* error) {
    if (!value(out, 0)) {
      *error = "invalid JSON at byte " + std::to_string(pos_) + ": " + why_;
      return false;
    }
    space();
    if (pos_ != s_.size()) {
      *error = "invalid JSON at byte " + std::to_string(pos_) + ": text after the value";
      return false;
    }
    return true;
  }

 private:
  static constexpr int max_depth = 32;

  void space() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool fail(const char* why) {
    why_ = why;
    return false;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) {
      return fail("unexpected word");
    }
    pos_ += word.size();
    return true;
  }

  bool value(Json& out, int depth) {
    if (depth > max_depth) {
      return fail("nested too deeply");
    }
    space();
    if (pos_ >= s_.size()) {
      return fail("unexpected end");
    }
    const char c = s_[pos_];
    if (c == '{') {
      return object(out, depth);
    }
    if (c == '[') {
      return array(out, depth);
    }
    if (c == '"') {
      out.type = Json::Type::string;
      return string(out.string);
    }
    if (c == 't' || c == 'f') {
      out.type = Json::Type::boolean;
      out.boolean = c == 't';
      return literal(c == 't' ? "true" : "false");
    }
    if (c == 'n') {
      out.type = Json::Type::null;
      return literal("null");
    }
    if (c >= '0' && c <= '9') {
      out.type = Json::Type::number;
      std::uint64_t v = 0;
      const std::size_t start = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        if (pos_ - start >= 19) {
          return fail("number too large");
        }
        v = v * 10 + static_cast<std::uint64_t>(s_[pos_++] - '0');
      }
      if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E')) {
        return fail("expected an integer");
      }
      out.number = v;
      return true;
    }
    return fail("unexpected character");
  }

  bool object(Json& out, int depth) {
    out.type = Json::Type::object;
    ++pos_;
    space();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      space();
      std::string key;
      if (pos_ >= s_.size() || s_[pos_] != '"' || !string(key)) {
        return fail("expected a key");
      }
      space();
      if (pos_ >= s_.size() || s_[pos_] != ':') {
        return fail("expected ':'");
      }
      ++pos_;
      Json v;
      if (!value(v, depth + 1)) {
        return false;
      }
      out.fields.emplace_back(std::move(key), std::move(v));
      space();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool array(Json& out, int depth) {
    out.type = Json::Type::array;
    ++pos_;
    space();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      Json v;
      if (!value(v, depth + 1)) {
        return false;
      }
      out.items.push_back(std::move(v));
      space();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool hex4(std::uint32_t& v) {
    if (pos_ + 4 > s_.size()) {
      return fail("short \\u escape");
    }
    v = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9') {
        v |= static_cast<std::uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        v |= static_cast<std::uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        v |= static_cast<std::uint32_t>(h - 'A' + 10);
      } else {
        return fail("bad \\u escape");
      }
    }
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool string(std::string& out) {
    ++pos_;  // the opening quote
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') {
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return fail("control character in a string");
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) {
        break;
      }
      const char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) {
            return false;
          }
          if (cp >= 0xD800 && cp < 0xDC00 && pos_ + 1 < s_.size() && s_[pos_] == '\\' &&
              s_[pos_ + 1] == 'u') {
            pos_ += 2;
            std::uint32_t low = 0;
            if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) {
              return fail("bad surrogate pair");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          return fail("bad escape");
      }
    }
    return fail("unterminated string");
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  const char* why_ = "";
};

void write_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xF];
    } else {
      out += c;  // bytes >= 0x80 as they are (names are utf8mb4 in practice)
    }
  }
  out += '"';
}

void write_key(std::string& out, std::string_view key) {
  write_string(out, key);
  out += ':';
}

void write_name_fields(std::string& out, const QualifiedName& name) {
  write_key(out, "schema");
  write_string(out, name.schema);
  out += ',';
  write_key(out, "table");
  write_string(out, name.table);
}

// ---------------------------------------------------------------------------------------------
// Reading the state back

struct Fields {
  const Json& object;
  std::string* error;
  std::string where;

  bool fail(const std::string& what) const {
    *error = where + what;
    return false;
  }
  bool string(std::string_view key, std::string& out) const {
    const Json* v = object.get(key);
    if (v == nullptr || v->type != Json::Type::string) {
      return fail("\"" + std::string(key) + "\" must be a string");
    }
    out = v->string;
    return true;
  }
  bool number(std::string_view key, std::size_t& out) const {
    const Json* v = object.get(key);
    if (v == nullptr || v->type != Json::Type::number) {
      return fail("\"" + std::string(key) + "\" must be a non-negative integer");
    }
    out = static_cast<std::size_t>(v->number);
    return true;
  }
  bool boolean(std::string_view key, bool& out) const {
    const Json* v = object.get(key);
    if (v == nullptr || v->type != Json::Type::boolean) {
      return fail("\"" + std::string(key) + "\" must be true or false");
    }
    out = v->boolean;
    return true;
  }
  const Json* list(std::string_view key) const {
    const Json* v = object.get(key);
    if (v == nullptr || v->type != Json::Type::array) {
      fail("\"" + std::string(key) + "\" must be an array");
      return nullptr;
    }
    return v;
  }
  bool name(const Json& v, QualifiedName& out) const {
    if (v.type != Json::Type::object) {
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
  std::string out = "{";
  write_key(out, "format");
  out += std::to_string(json_format) + ",";
  write_key(out, "target");
  out += '{';
  write_name_fields(out, config_.target);
  out += "},";
  write_key(out, "versions");
  out += '[';
  for (std::size_t i = 0; i < versions_.size(); ++i) {
    const ShardVersion& v = versions_[i];
    out += i > 0 ? ",{" : "{";
    write_key(out, "number");
    out += std::to_string(v.number) + ",";
    write_key(out, "by");
    out += '{';
    write_name_fields(out, v.introduced_by);
    out += "},";
    write_key(out, "released");
    out += v.released ? "true," : "false,";
    write_key(out, "specs");
    out += '[';
    for (std::size_t k = 0; k < v.specs.size(); ++k) {
      const ShardSpec& s = v.specs[k];
      out += k > 0 ? ",{" : "{";
      write_key(out, "kind");
      write_string(out, to_string(s.kind));
      out += ',';
      write_key(out, "class");
      write_string(out, to_string(s.cls));
      out += ',';
      write_key(out, "text");
      write_string(out, s.text);
      out += ',';
      write_key(out, "subject");
      write_string(out, s.subject);
      out += ',';
      write_key(out, "new_name");
      write_string(out, s.new_name);
      out += ',';
      write_key(out, "why");
      write_string(out, s.why);
      out += ',';
      write_key(out, "done");
      out += s.done ? "true}" : "false}";
    }
    out += "]}";
  }
  out += "],";
  write_key(out, "members");
  out += '[';
  for (std::size_t i = 0; i < members_.size(); ++i) {
    out += i > 0 ? ",{" : "{";
    write_name_fields(out, members_[i].name);
    out += ',';
    write_key(out, "reached");
    out += std::to_string(members_[i].reached) + "}";
  }
  out += "]}";
  return out;
}

std::optional<ShardGroup> ShardGroup::from_json(std::string_view json, ShardGroupConfig config,
                                                ShardMode mode, std::string* error) {
  std::string ignored;
  std::string& err = error != nullptr ? *error : ignored;
  const std::string where = "shard group state of " + quote_name(config.target) + ": ";
  Json doc;
  std::string parse_error;
  if (!JsonReader(json).read_document(doc, &parse_error)) {
    err = where + parse_error;
    return std::nullopt;
  }
  if (doc.type != Json::Type::object) {
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
  const Json* target_json = doc.get("target");
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
  for (const Json& vj : versions->items) {
    const Fields f{vj, &err,
                   where + "version " + std::to_string(group.versions_.size() + 1) + ": "};
    if (vj.type != Json::Type::object) {
      f.fail("not an object");
      return std::nullopt;
    }
    ShardVersion v;
    const Json* by = vj.get("by");
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
    for (const Json& sj : specs->items) {
      const Fields g{sj, &err, f.where + "spec " + std::to_string(v.specs.size()) + ": "};
      if (sj.type != Json::Type::object) {
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
  for (const Json& mj : members->items) {
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
