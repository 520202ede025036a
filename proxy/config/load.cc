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

// Walks the YAML mapping; every leaf lands in `out` by path. Unknown and duplicate keys throw.
void collect(const YAML::Node& map, const std::string& prefix, std::map<std::string, Value>& out) {
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
      collect(child, path, out);
      continue;
    }
    const Field* field = find_field(path);
    if (field == nullptr) {
      fail(fmt::format("unknown key \"{}\"{}{}", path, mark_suffix(key_node), suggestion(path)));
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
  if (root.IsDefined() && !root.IsNull()) {
    if (!root.IsMap()) {
      fail(fmt::format("config: expected a mapping of keys at the top level, got {}",
                       describe_node(root)));
    }
    collect(root, "", values);
  }
  Config config;
  Extra extra;
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
