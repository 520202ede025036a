// shard_ddl.h's classify_set() and what the shard-group decision needs around it: a spec's keys,
// its effect on the target's schema, comparing two shards' sets, the names of kinds and classes.

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/lexer.h"
#include "rules/shard_ddl.h"

namespace ghostgate::rules {

std::string lower_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c + 32);
    }
  }
  return out;
}

std::vector<std::string> spec_texts(const NormalizedSet& set) {
  std::vector<std::string> texts;
  texts.reserve(set.specs.size());
  for (const AlterSpec& s : set.specs) {
    texts.push_back(s.text);
  }
  return texts;
}

bool same_set(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  std::vector<std::string> x = a;
  std::vector<std::string> y = b;
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  return x == y;
}

namespace {

Classification additive(std::string why = {}) {
  return Classification{SpecClass::additive, std::move(why)};
}
Classification contracting(std::string why) {
  return Classification{SpecClass::contracting, std::move(why)};
}
Classification conflicting(std::string why) {
  return Classification{SpecClass::conflicting, std::move(why)};
}

std::string quoted(std::string_view name) {
  std::string out;
  append_quoted_identifier(out, name);
  return out;
}

// Attributes no shard merge can apply safely to a column.
std::optional<Classification> unsupported_column(const AlterSpec& s) {
  if (s.primary_key) {
    return conflicting("a PRIMARY KEY on " + quoted(s.subject) + " is not merged across shards");
  }
  if (s.auto_increment) {
    return conflicting("an AUTO_INCREMENT column (" + quoted(s.subject) +
                       ") is not merged across shards");
  }
  if (s.references || s.check) {
    return conflicting("a FOREIGN KEY or CHECK on " + quoted(s.subject) +
                       " is not merged across shards");
  }
  if (s.not_null && s.default_kind == DefaultKind::null) {
    return conflicting("column " + quoted(s.subject) + " is NOT NULL with DEFAULT NULL");
  }
  return std::nullopt;
}

Classification classify_one(const AlterSpec& s, const TargetSchema& target) {
  const bool column_exists = target.columns.count(s.subject) != 0;
  const bool index_exists = target.indexes.count(s.subject) != 0;
  const std::string no_column = "there is no column " + quoted(s.subject) + " on the target";
  const std::string no_index = "there is no index " + quoted(s.subject) + " on the target";
  switch (s.kind) {
    case SpecKind::unknown:
      return conflicting("ghostgate cannot merge `" + s.text + "`: " + s.why);
    case SpecKind::add_column:
      if (column_exists) {
        return conflicting("column " + quoted(s.subject) + " already exists on the target");
      }
      if (auto c = unsupported_column(s)) {
        return *c;
      }
      if (s.unique) {
        return contracting("ADD UNIQUE: rows of shards not yet migrated could break it");
      }
      if (s.generated || !s.not_null || s.default_kind == DefaultKind::literal ||
          s.default_kind == DefaultKind::current_timestamp) {
        return additive();
      }
      return contracting("column " + quoted(s.subject) +
                         " is NOT NULL without a constant DEFAULT: rows of shards not yet "
                         "migrated could not be written");
    case SpecKind::drop_column:
      if (!column_exists) {
        return conflicting(no_column);
      }
      return contracting("DROP COLUMN: rows of shards not yet migrated still write " +
                         quoted(s.subject));
    case SpecKind::modify_column: {
      if (!column_exists) {
        return conflicting(no_column);
      }
      if (auto c = unsupported_column(s)) {
        return *c;
      }
      if (s.generated) {
        return conflicting("a generated column change is not merged across shards");
      }
      const ColumnInfo& now = target.columns.at(s.subject);
      const TypeChange change = compare_types(now.type, s.type);
      const std::string from_to = now.type + " to " + s.type;
      if (change == TypeChange::incomparable) {
        return conflicting("the type change of " + quoted(s.subject) + " from " + from_to +
                           " is neither a widening nor a narrowing");
      }
      if (change == TypeChange::narrower) {
        return contracting("narrows " + quoted(s.subject) + " from " + from_to);
      }
      if (now.nullable && s.not_null) {
        return contracting("SET NOT NULL on " + quoted(s.subject) +
                           ": rows of shards not yet migrated may hold NULL");
      }
      if (s.unique) {
        return contracting("ADD UNIQUE: rows of shards not yet migrated could break it");
      }
      return additive(change == TypeChange::wider
                          ? "widens " + quoted(s.subject) + " from " + from_to
                          : std::string());
    }
    case SpecKind::rename_column:
      return conflicting("renaming column " + quoted(s.subject) + " to " + quoted(s.new_name) +
                         ": rows of shards not yet migrated still name " + quoted(s.subject));
    case SpecKind::alter_column_default:
      return column_exists ? additive() : conflicting(no_column);
    case SpecKind::add_index:
      if (!s.named) {
        return conflicting(
            "an unnamed ADD INDEX would add one index per shard (c, c_2, ...): "
            "name it");
      }
      if (index_exists) {
        return conflicting("index " + quoted(s.subject) + " already exists on the target");
      }
      for (const std::string& c : s.index_columns) {
        if (target.columns.count(c) == 0) {
          return conflicting("index " + quoted(s.subject) + " names column " + quoted(c) +
                             ", which the target does not have");
        }
      }
      if (s.unique) {
        return contracting("ADD UNIQUE: rows of shards not yet migrated could break it");
      }
      return additive();
    case SpecKind::drop_index:
      if (!index_exists) {
        return conflicting(no_index);
      }
      return contracting("DROP INDEX " + quoted(s.subject) +
                         ": the shards not yet migrated still have it");
    case SpecKind::rename_index:
      if (!index_exists) {
        return conflicting(no_index);
      }
      if (target.indexes.count(s.new_name) != 0) {
        return conflicting("index " + quoted(s.new_name) + " already exists on the target");
      }
      return additive();
    case SpecKind::alter_index:
      return index_exists ? additive() : conflicting(no_index);
    case SpecKind::table_comment:
    case SpecKind::table_option:
      return additive();
  }
  return conflicting("not understood");
}

}  // namespace

namespace {

bool is_column_kind(SpecKind k) {
  return k == SpecKind::add_column || k == SpecKind::drop_column || k == SpecKind::modify_column ||
         k == SpecKind::rename_column || k == SpecKind::alter_column_default;
}

bool is_index_kind(SpecKind k) {
  return k == SpecKind::add_index || k == SpecKind::drop_index || k == SpecKind::rename_index ||
         k == SpecKind::alter_index;
}

}  // namespace

bool changes_column(SpecKind kind) { return is_column_kind(kind); }

std::vector<std::string> spec_keys(SpecKind kind, std::string_view subject,
                                   std::string_view new_name,
                                   const std::vector<std::string>& index_columns) {
  std::vector<std::string> keys;
  const char* prefix = is_column_kind(kind) ? "c:" : is_index_kind(kind) ? "i:" : nullptr;
  if (prefix == nullptr) {
    return keys;
  }
  if (!subject.empty()) {
    keys.push_back(prefix + std::string(subject));
  }
  if (!new_name.empty()) {
    keys.push_back(prefix + std::string(new_name));
  }
  for (const std::string& c : index_columns) {
    keys.push_back("c:" + c);
  }
  return keys;
}

void apply_to_schema(SpecKind kind, const std::string& subject, const std::string& new_name,
                     const ColumnInfo& column, TargetSchema& schema) {
  switch (kind) {
    case SpecKind::add_column:
    case SpecKind::modify_column:
      schema.columns[subject] = column;
      break;
    case SpecKind::drop_column:
      schema.columns.erase(subject);
      break;
    case SpecKind::rename_column:
      schema.columns.erase(subject);
      schema.columns[new_name] = column;
      break;
    case SpecKind::add_index:
      if (!subject.empty()) {
        schema.indexes.insert(subject);
      }
      break;
    case SpecKind::drop_index:
      schema.indexes.erase(subject);
      break;
    case SpecKind::rename_index:
      schema.indexes.erase(subject);
      schema.indexes.insert(new_name);
      break;
    default:
      break;
  }
}

bool visible_in_schema(SpecKind kind, const std::string& subject, const std::string& new_name,
                       const TargetSchema& schema) {
  switch (kind) {
    case SpecKind::add_column:
      return schema.columns.count(subject) != 0;
    case SpecKind::drop_column:
      return schema.columns.count(subject) == 0;
    case SpecKind::add_index:
      return !subject.empty() && schema.indexes.count(subject) != 0;
    case SpecKind::drop_index:
      return schema.indexes.count(subject) == 0;
    case SpecKind::rename_index:
      return schema.indexes.count(subject) == 0 && schema.indexes.count(new_name) != 0;
    default:
      return false;
  }
}

std::vector<Classification> classify_set(const NormalizedSet& set, const TargetSchema& target) {
  std::vector<Classification> out;
  TargetSchema sim = target;
  std::set<std::string> waiting;  // keys touched by contracting specs so far
  for (const AlterSpec& s : set.specs) {
    Classification c = classify_one(s, sim);
    const std::vector<std::string> keys = spec_keys(s.kind, s.subject, s.new_name, s.index_columns);
    if (c.cls == SpecClass::additive) {
      for (const std::string& k : keys) {
        if (waiting.count(k) != 0) {
          c = contracting("runs after an earlier contracting change to " + quoted(k.substr(2)) +
                          " in the same migration");
          break;
        }
      }
    }
    if (c.cls == SpecClass::contracting) {
      waiting.insert(keys.begin(), keys.end());
    }
    apply_to_schema(s.kind, s.subject, s.new_name, ColumnInfo{s.type, !s.not_null}, sim);
    out.push_back(std::move(c));
  }
  return out;
}

std::string_view to_string(SpecKind kind) {
  switch (kind) {
    case SpecKind::add_column:
      return "add_column";
    case SpecKind::drop_column:
      return "drop_column";
    case SpecKind::modify_column:
      return "modify_column";
    case SpecKind::rename_column:
      return "rename_column";
    case SpecKind::alter_column_default:
      return "alter_column_default";
    case SpecKind::add_index:
      return "add_index";
    case SpecKind::drop_index:
      return "drop_index";
    case SpecKind::rename_index:
      return "rename_index";
    case SpecKind::alter_index:
      return "alter_index";
    case SpecKind::table_comment:
      return "table_comment";
    case SpecKind::table_option:
      return "table_option";
    case SpecKind::unknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view to_string(SpecClass cls) {
  switch (cls) {
    case SpecClass::additive:
      return "additive";
    case SpecClass::contracting:
      return "contracting";
    case SpecClass::conflicting:
      return "conflicting";
  }
  return "conflicting";
}

std::optional<SpecKind> parse_spec_kind(std::string_view text) {
  for (int k = 0; k <= static_cast<int>(SpecKind::unknown); ++k) {
    const auto kind = static_cast<SpecKind>(k);
    if (to_string(kind) == text) {
      return kind;
    }
  }
  return std::nullopt;
}

std::optional<SpecClass> parse_spec_class(std::string_view text) {
  for (int k = 0; k <= static_cast<int>(SpecClass::conflicting); ++k) {
    const auto cls = static_cast<SpecClass>(k);
    if (to_string(cls) == text) {
      return cls;
    }
  }
  return std::nullopt;
}

}  // namespace ghostgate::rules
