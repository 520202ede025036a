#pragma once
// The config loader's insides, shared by its files in proxy/config/ and used nowhere else.
//
// The whole schema is one table (fields() in schema.cc): each leaf key has a path, a kind and a
// setter. Everything else — unknown-key detection, env var names, error prefixes — is derived
// from it, so a key added to the table is automatically overridable from the environment and
// reported by name when wrong.

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/config/config.h"
#include "rules/utf8.h"

namespace ghostgate::proxy::config_detail {

// Every loader error goes through here: a ConfigError with the message as it is.
[[noreturn]] void fail(const std::string& message);
std::string lower(std::string_view s);
// A value as echoed back in an error: quoted, escaped, shortened.
std::string shown(std::string_view s);
// What a YAML node is, for "expected X, got Y".
std::string describe_node(const YAML::Node& node);
// The file, the environment and the dump are UTF-8 throughout (rules/utf8.h).
using rules::invalid_utf8_at;
// "not valid UTF-8: ..." for a value that is not; the byte is not shown for a secret.
std::string utf8_error(std::string_view s, std::size_t at, bool secret);
// " (line L, column C)" where the node stands in the file; "" when it comes from elsewhere.
std::string mark_suffix(const YAML::Node& node);

// One configured value, with where it came from for error messages. The typed readers throw
// ConfigError naming the key (and the environment variable it came from).
struct Value {
  YAML::Node node;
  std::string key;      // "backend.address"
  std::string source;   // "" (file) or "GHOSTGATE_BACKEND_ADDRESS"
  bool secret = false;  // never echo the value back

  std::string where() const;
  [[noreturn]] void error(std::string_view message) const;
  std::string got() const;
  const std::string& scalar(std::string_view expected) const;
  std::string str() const;
  std::string non_empty_str() const;
  bool boolean() const;
  std::uint64_t uint(std::uint64_t min, std::uint64_t max) const;
  std::chrono::milliseconds duration(
      std::chrono::milliseconds min = std::chrono::milliseconds(0)) const;
  std::uint64_t size(std::uint64_t min, std::uint64_t max) const;
  HostPort host_port() const;
  std::vector<std::string> string_list() const;

  template <typename Parse>
  auto parsed(std::string_view expected, Parse parse) const {
    const std::string& s = scalar(expected);
    try {
      return parse(s);
    } catch (const ConfigError& e) {
      error(e.what());
    }
  }

  template <typename Enum, std::size_t N>
  Enum one_of(const std::pair<std::string_view, Enum> (&choices)[N]) const {
    const std::string s = lower(scalar("a string"));
    for (const auto& [name, value] : choices) {
      if (s == name) {
        return value;
      }
    }
    std::string names;
    for (std::size_t i = 0; i < N; ++i) {
      names += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(choices[i].first);
    }
    error(fmt::format("expected {}, got {}", names, got()));
  }
};

// scalar: one value; list: a list, or from the environment "a,b" / "[a, b]"; node: any YAML
// (a mapping or a list of mappings), from the environment in YAML flow syntax ("{a: 1}").
enum class Kind { scalar, list, node };

// What the loader collects besides Config fields, resolved after all values are in.
struct Extra {
  std::optional<std::string> password;       // backend.password
  std::optional<std::string> password_file;  // backend.password-file
  std::optional<std::string> dm_password;    // target-database.password
  std::string password_source, password_file_source, dm_password_source;
  std::string scheme;  // online-ddl-scheme
  bool online_ddl_given = false;
  bool online_ddl_value = true;
  bool user_given = false;
  bool address_given = false;
  // A DM task file's target-database and mysql-instances (validate() resolves them).
  std::optional<std::string> dm_host;
  std::optional<std::uint16_t> dm_port;
  std::optional<std::string> dm_user;
  std::optional<std::vector<std::string>> ids;         // id
  std::optional<std::vector<std::string>> source_ids;  // mysql-instances[].source-id
  std::optional<std::string> shard_mode;               // shard-mode, parsed with the groups
  YAML::Node shard_groups;                             // shard-groups
  std::string shard_groups_source;
  std::vector<std::string> ignored;  // DM keys with no meaning here, for one notice
};

// Keys that give the same setting two ways (backend.address or target-database.host/port, id or
// mysql-instances, ...): a set of the group given by the environment replaces the file's other
// sets of that group, so the environment wins whichever spelling the file used (env.cc). Both
// sets from the same source are an error (validate.cc), except online-ddl-scheme, DM's alias.
using AliasGroup = std::vector<std::vector<std::string_view>>;
const std::vector<AliasGroup>& alias_groups();

// DM task keys with no meaning here: accepted, listed once at start-up as ignored.
bool is_dm_ignored(std::string_view path);

using Setter = void (*)(Config&, Extra&, const Value&);

struct Field {
  std::string_view path;
  Kind kind;
  Setter set;
  bool secret = false;
};

// The schema, in documentation order (config.example.yaml).
std::span<const Field> fields();
const Field* find_field(std::string_view path);
// A key that holds a mapping of keys ("backend.tls").
bool is_section(std::string_view path);
// "; did you mean \"...\"?" for an unknown key close to a known one, or a hint for a key from
// DM's or another tool's configuration; else a pointer to config.example.yaml.
std::string suggestion(std::string_view path);
std::string_view tls_mode_name(BackendTlsMode mode);

// GHOSTGATE_* variables in `env` override the file's `values` (env.cc).
void apply_env(const char* const* env, std::map<std::string, Value>& values,
               std::vector<std::string>& warnings);
// What no single key can check: defaults derived from other keys, keys that exclude each other,
// files that must be readable (validate.cc).
void validate(Config& c, Extra& x, std::vector<std::string>& warnings);

// What `dmctl encrypt` prints: base64 of binary ciphertext (DM's AES-256 with its nonce), by shape.
bool looks_dm_encrypted(std::string_view password);
// The helper names ghostgate's default rules catch that `rules` (a user list replacing a default)
// miss or read differently, e.g. {"_t_ghk", "__t_new"}; empty when the defaults are in use.
std::vector<std::string> names_missed_by(const std::vector<std::string>& shadow,
                                         const std::vector<std::string>& trash);

}  // namespace ghostgate::proxy::config_detail
