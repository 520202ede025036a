// GHOSTGATE_* environment variables: one per leaf key, overriding the file.

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <string_view>

#include "proxy/config/config.h"
#include "proxy/config/schema.h"

namespace ghostgate::proxy {

namespace {

constexpr std::string_view env_prefix = "GHOSTGATE_";
// Variables with this prefix that are not config keys but are expected: the config path (read
// by main) and test failpoints (proxy/observe/failpoint.h).
constexpr std::string_view env_not_keys[] = {"GHOSTGATE_CONFIG", "GHOSTGATE_FAILPOINTS"};

}  // namespace

namespace config_detail {

namespace {

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

YAML::Node env_value(const Field& field, const std::string& name, const std::string& text) {
  if (field.kind == Kind::scalar) {
    return YAML::Node(text);
  }
  const std::string t = trim(text);
  if (field.kind == Kind::node) {
    // A mapping or a list of mappings: YAML flow syntax, e.g. '[{source-id: a}]'.
    YAML::Node node;
    try {
      node = YAML::Load(t);
    } catch (const YAML::Exception& e) {
      fail(fmt::format("{} (from {}): not valid YAML flow syntax: {}", field.path, name, e.msg));
    }
    return node;
  }
  if (!t.empty() && t.front() == '[') {
    YAML::Node node;
    try {
      node = YAML::Load(t);
    } catch (const YAML::Exception& e) {
      fail(fmt::format("{} (from {}): not a valid YAML list: {}", field.path, name, e.msg));
    }
    if (!node.IsSequence()) {
      fail(fmt::format("{} (from {}): not a valid YAML list", field.path, name));
    }
    return node;
  }
  YAML::Node node(YAML::NodeType::Sequence);
  std::size_t start = 0;
  while (start <= t.size() && !t.empty()) {
    const std::size_t comma = std::min(t.find(',', start), t.size());
    const std::string item = trim(std::string_view(t).substr(start, comma - start));
    if (!item.empty()) {
      node.push_back(item);
    }
    start = comma + 1;
  }
  return node;
}

}  // namespace

void apply_env(const char* const* env, std::map<std::string, Value>& values,
               std::vector<std::string>& warnings) {
  if (env == nullptr) {
    return;
  }
  std::map<std::string, std::string> vars;
  for (const char* const* e = env; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.substr(0, env_prefix.size()) != env_prefix) {
      continue;
    }
    const std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    vars.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  // The environment wins whichever spelling the file used: a variable for one way of giving a
  // setting (GHOSTGATE_BACKEND_PASSWORD) drops the file's other ways (backend.password-file,
  // target-database.password), so they neither clash with it nor beat it.
  for (const AliasGroup& group : alias_groups()) {
    for (const auto& set : group) {
      const bool from_env = std::any_of(set.begin(), set.end(), [&](std::string_view key) {
        return vars.count(env_var_for(std::string(key))) != 0;
      });
      if (!from_env) {
        continue;
      }
      for (const auto& other : group) {
        if (&other == &set) {
          continue;
        }
        for (std::string_view key : other) {
          if (vars.count(env_var_for(std::string(key))) == 0) {
            values.erase(std::string(key));
          }
        }
      }
    }
  }
  for (const Field& field : fields()) {
    const std::string name = env_var_for(std::string(field.path));
    const auto it = vars.find(name);
    if (it == vars.end()) {
      continue;
    }
    values.insert_or_assign(
        std::string(field.path),
        Value{env_value(field, name, it->second), std::string(field.path), name, field.secret});
    vars.erase(it);
  }
  for (const auto& [name, value] : vars) {
    if (std::find(std::begin(env_not_keys), std::end(env_not_keys), name) ==
        std::end(env_not_keys)) {
      warnings.push_back(fmt::format("environment variable {} is not a config key; ignored", name));
    }
  }
}

}  // namespace config_detail

std::string env_var_for(const std::string& key_path) {
  std::string name(env_prefix);
  for (unsigned char ch : key_path) {
    name += (ch == '-' || ch == '.') ? '_' : static_cast<char>(std::toupper(ch));
  }
  return name;
}

}  // namespace ghostgate::proxy
