// Loading: the YAML file, then the environment's overrides, then every value through its
// setter (in table order, so errors come out in documentation order), then validation.

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "proxy/config/config.h"
#include "proxy/config/schema.h"

extern char** environ;

namespace ghostgate::proxy {

namespace {

using namespace config_detail;

// Walks the YAML mapping; every leaf lands in `out` by path. Unknown keys are gathered in
// `unknown` (all reported at once), DM task keys that mean nothing here in `ignored`; duplicate
// keys throw.
void collect(const YAML::Node& map, const std::string& prefix, std::map<std::string, Value>& out,
             std::vector<std::string>& unknown, std::vector<std::string>& ignored) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    // Copies: it->first / it->second live in a proxy that dies with the full expression.
    const YAML::Node key_node = it->first;
    const YAML::Node value = it->second;
    if (!key_node.IsScalar()) {
      fail(fmt::format("{}: keys must be plain strings{}", prefix.empty() ? "config" : prefix,
                       mark_suffix(key_node)));
    }
    const std::string path =
        prefix.empty() ? key_node.Scalar() : fmt::format("{}.{}", prefix, key_node.Scalar());
    if (is_section(path)) {
      const YAML::Node& child = value;
      if (child.IsNull()) {
        continue;  // "pool:" with nothing under it: all defaults
      }
      if (!child.IsMap()) {
        fail(fmt::format("{}: expected a mapping, got {}{}", path, describe_node(child),
                         mark_suffix(child)));
      }
      collect(child, path, out, unknown, ignored);
      continue;
    }
    if (is_dm_ignored(path)) {
      ignored.push_back(path);
      continue;
    }
    const Field* field = find_field(path);
    if (field == nullptr) {
      unknown.push_back(
          fmt::format("unknown key \"{}\"{}{}", path, mark_suffix(key_node), suggestion(path)));
      continue;
    }
    if (out.count(path) != 0) {
      fail(fmt::format("duplicate key \"{}\"{}", path, mark_suffix(key_node)));
    }
    if (value.IsNull()) {
      continue;  // "key:" with no value keeps the default
    }
    out.emplace(path, Value{value, path, "", field->secret});
  }
}

Config build(const YAML::Node& root, const char* const* env) {
  std::map<std::string, Value> values;
  std::vector<std::string> ignored;
  if (root.IsDefined() && !root.IsNull()) {
    if (!root.IsMap()) {
      fail(fmt::format("config: expected a mapping of keys at the top level, got {}",
                       describe_node(root)));
    }
    std::vector<std::string> unknown;
    collect(root, "", values, unknown, ignored);
    if (unknown.size() == 1) {
      fail(unknown.front());
    }
    if (!unknown.empty()) {
      std::string all = fmt::format("{} unknown keys:", unknown.size());
      for (const std::string& u : unknown) {
        all += "\n  " + u;
      }
      fail(all);
    }
  }
  Config config;
  Extra extra;
  extra.ignored = std::move(ignored);
  apply_env(env, values, config.warnings);
  // Table order, so errors come out in documentation order whatever the file's order.
  for (const Field& field : fields()) {
    const auto it = values.find(std::string(field.path));
    if (it != values.end()) {
      field.set(config, extra, it->second);
    }
  }
  validate(config, extra, config.warnings);
  return config;
}

YAML::Node parse_yaml(const std::string& text) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    fail(fmt::format("not valid YAML: {} (line {}, column {})", e.msg, e.mark.line + 1,
                     e.mark.column + 1));
  } catch (const YAML::Exception& e) {
    fail(fmt::format("not valid YAML: {}", e.msg));
  }
}

}  // namespace

Config load_config_text(const std::string& yaml_text, const char* const* env) {
  return build(parse_yaml(yaml_text), env);
}

Config load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(
        fmt::format("cannot read config file {}: {}", shown(path), std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  try {
    Config config = load_config_text(text.str(), environ);
    config.source_path = path;
    return config;
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("{}: {}", path, e.what()));
  }
}

}  // namespace ghostgate::proxy
