// Config loader: YAML file -> GHOSTGATE_* environment overrides -> typed Config -> validation.
//
// The whole schema is one table (`fields` below): each leaf key has a path, a kind and a setter.
// Everything else — unknown-key detection, env var names, error prefixes — is derived from it, so
// a key added to the table is automatically overridable from the environment and reported by
// name when wrong.

#include "proxy/config/config.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>

extern char** environ;

namespace ghostgate::proxy {

namespace {

using namespace std::chrono_literals;

constexpr std::string_view env_prefix = "GHOSTGATE_";
// Variables with this prefix that are not config keys but are expected: the config path (read
// by main) and test failpoints (proxy/failpoint.h).
constexpr std::string_view env_not_keys[] = {"GHOSTGATE_CONFIG", "GHOSTGATE_FAILPOINTS"};

constexpr std::size_t max_identifier = 64;   // MySQL/TiDB table and schema names
constexpr std::size_t max_instance_id = 32;  // meta table `id VARCHAR(32)`
constexpr std::string_view meta_table_suffix = "_onlineddl";

[[noreturn]] void fail(const std::string& message) { throw ConfigError(message); }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A value as echoed back in an error: quoted, escaped, shortened.
std::string shown(std::string_view s) {
  constexpr std::size_t limit = 80;
  if (s.size() > limit) {
    return fmt::format("{:?}...", s.substr(0, limit));
  }
  return fmt::format("{:?}", s);
}

std::string describe_node(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return shown(node.Scalar());
    default:
      return "an undefined value";
  }
}

std::string mark_suffix(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) {
    return {};
  }
  return fmt::format(" (line {}, column {})", mark.line + 1, mark.column + 1);
}

// ---------------------------------------------------------------------------------------------
// One configured value, with where it came from for error messages.

struct Value {
  YAML::Node node;
  std::string key;      // "backend.address"
  std::string source;   // "" (file) or "GHOSTGATE_BACKEND_ADDRESS"
  bool secret = false;  // never echo the value back

  std::string where() const {
    return source.empty() ? key : fmt::format("{} (from {})", key, source);
  }

  [[noreturn]] void error(std::string_view message) const {
    fail(fmt::format("{}: {}{}", where(), message, source.empty() ? mark_suffix(node) : ""));
  }

  std::string got() const { return secret ? "a secret value" : describe_node(node); }

  const std::string& scalar(std::string_view expected) const {
    if (!node.IsScalar()) {
      error(fmt::format("expected {}, got {}", expected, describe_node(node)));
    }
    return node.Scalar();
  }

  std::string str() const { return scalar("a string"); }

  std::string non_empty_str() const {
    std::string s = str();
    if (s.empty()) {
      error("must not be empty");
    }
    return s;
  }

  bool boolean() const {
    const std::string s = lower(scalar("true or false"));
    if (s == "true" || s == "yes" || s == "on" || s == "1") {
      return true;
    }
    if (s == "false" || s == "no" || s == "off" || s == "0") {
      return false;
    }
    error(fmt::format("expected true or false, got {}", got()));
  }

  std::uint64_t uint(std::uint64_t min, std::uint64_t max) const {
    const std::string& s = scalar("a whole number");
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) {
      error(fmt::format("expected a whole number, got {}", got()));
    }
    if (v < min || v > max) {
      error(fmt::format("must be between {} and {}, got {}", min, max, v));
    }
    return v;
  }

  template <typename Parse>
  auto parsed(std::string_view expected, Parse parse) const {
    const std::string& s = scalar(expected);
    try {
      return parse(s);
    } catch (const ConfigError& e) {
      error(e.what());
    }
  }

  std::chrono::milliseconds duration(std::chrono::milliseconds min = 0ms) const {
    auto d = parsed("a duration", [](const std::string& s) { return parse_duration(s); });
    if (d < min) {
      error(fmt::format("must be at least {}ms, got {}", min.count(), got()));
    }
    return d;
  }

  std::uint64_t size(std::uint64_t min, std::uint64_t max) const {
    const std::uint64_t v = parsed("a size", [](const std::string& s) { return parse_size(s); });
    if (v < min || v > max) {
      error(fmt::format("must be between {} and {} bytes, got {}", min, max, got()));
    }
    return v;
  }

  HostPort host_port() const {
    return parsed("HOST:PORT", [](const std::string& s) { return parse_host_port(s); });
  }

  std::vector<std::string> string_list() const {
    if (!node.IsSequence()) {
      error(fmt::format("expected a list of strings, got {}", describe_node(node)));
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const YAML::Node item = node[i];
      const std::string item_key = fmt::format("{}[{}]", where(), i);
      if (!item.IsScalar()) {
        fail(fmt::format("{}: expected a string, got {}{}", item_key, describe_node(item),
                         mark_suffix(item)));
      }
      if (item.Scalar().empty()) {
        fail(fmt::format("{}: must not be empty{}", item_key, mark_suffix(item)));
      }
      out.push_back(item.Scalar());
    }
    return out;
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

// ---------------------------------------------------------------------------------------------
// The schema.

enum class Kind { scalar, list };

// What the loader collects besides Config fields, resolved after all values are in.
struct Extra {
  std::optional<std::string> password;       // backend.password
  std::optional<std::string> password_file;  // backend.password-file
  std::string password_source, password_file_source;
  std::string scheme;  // online-ddl-scheme
  bool online_ddl_given = false;
  bool online_ddl_value = true;
  bool user_given = false;
  bool address_given = false;
};

using Setter = void (*)(Config&, Extra&, const Value&);

struct Field {
  std::string_view path;
  Kind kind;
  Setter set;
  bool secret = false;
};

constexpr std::pair<std::string_view, BackendTlsMode> tls_modes[] = {
    {"disabled", BackendTlsMode::disabled},
    {"preferred", BackendTlsMode::preferred},
    {"required", BackendTlsMode::required},
    {"verify-ca", BackendTlsMode::verify_ca},
    {"verify-identity", BackendTlsMode::verify_identity},
};

constexpr std::pair<std::string_view, LogFormat> log_formats[] = {
    {"text", LogFormat::text},
    {"json", LogFormat::json},
};

constexpr std::pair<std::string_view, std::string_view> log_levels[] = {
    {"trace", "trace"},  {"debug", "debug"}, {"info", "info"},         {"warn", "warn"},
    {"warning", "warn"}, {"error", "error"}, {"critical", "critical"}, {"off", "off"},
};

std::string_view tls_mode_name(BackendTlsMode mode) {
  for (const auto& [name, value] : tls_modes) {
    if (value == mode) {
      return name;
    }
  }
  return "disabled";
}

constexpr std::uint64_t max_u32 = 0xffffffffu;

const Field fields[] = {
    // DM task keys.
    {"name", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.online_ddl.name = v.non_empty_str(); }},
    {"id", Kind::scalar, [](Config& c, Extra&, const Value& v) { c.online_ddl.id = v.str(); }},
    {"online-ddl", Kind::scalar,
     [](Config& c, Extra& x, const Value& v) {
       c.online_ddl.enabled = v.boolean();
       x.online_ddl_given = true;
       x.online_ddl_value = c.online_ddl.enabled;
     }},
    {"online-ddl-scheme", Kind::scalar,
     [](Config&, Extra& x, const Value& v) {
       const std::string s = lower(v.str());
       if (!s.empty() && s != "gh-ost" && s != "pt") {
         v.error(
             fmt::format("expected \"gh-ost\" or \"pt\" (deprecated; use online-ddl: true), "
                         "got {}",
                         v.got()));
       }
       x.scheme = s;
     }},
    {"shadow-table-rules", Kind::list,
     [](Config& c, Extra&, const Value& v) { c.online_ddl.shadow_table_rules = v.string_list(); }},
    {"trash-table-rules", Kind::list,
     [](Config& c, Extra&, const Value& v) { c.online_ddl.trash_table_rules = v.string_list(); }},
    {"meta-schema", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.online_ddl.meta_schema = v.non_empty_str(); }},
    {"dry-run", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.online_ddl.dry_run = v.boolean(); }},
    // Listeners and limits.
    {"listen", Kind::scalar, [](Config& c, Extra&, const Value& v) { c.listen = v.host_port(); }},
    {"admin", Kind::scalar,
     [](Config& c, Extra&, const Value& v) {
       const std::string s = lower(v.scalar("HOST:PORT or \"off\""));
       if (s.empty() || s == "off" || s == "false") {
         c.admin_enabled = false;
         return;
       }
       c.admin = v.host_port();
       c.admin_enabled = true;
     }},
    {"workers", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.workers = static_cast<unsigned>(v.uint(0, 1024)); }},
    {"max-connections", Kind::scalar,
     [](Config& c, Extra&, const Value& v) {
       c.max_connections = static_cast<std::uint32_t>(v.uint(1, 1'000'000));
     }},
    {"max-packet-size", Kind::scalar,
     [](Config& c, Extra&, const Value& v) {
       c.max_packet_size = static_cast<std::uint32_t>(v.size(1024, 1u << 30));
     }},
    // Client-side TLS.
    {"client-tls.cert", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.client_tls.files.cert = v.str(); }},
    {"client-tls.key", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.client_tls.files.key = v.str(); }},
    {"client-tls.ca", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.client_tls.files.ca = v.str(); }},
    {"client-tls.required", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.client_tls.required = v.boolean(); }},
    // Backend.
    {"backend.address", Kind::scalar,
     [](Config& c, Extra& x, const Value& v) {
       c.backend.address = v.host_port();
       x.address_given = true;
     }},
    {"backend.user", Kind::scalar,
     [](Config& c, Extra& x, const Value& v) {
       c.backend.user = v.non_empty_str();
       x.user_given = true;
     }},
    {"backend.password", Kind::scalar,
     [](Config&, Extra& x, const Value& v) {
       x.password = v.str();
       x.password_source = v.where();
     },
     true},
    {"backend.password-file", Kind::scalar,
     [](Config&, Extra& x, const Value& v) {
       x.password_file = v.str();
       x.password_file_source = v.where();
     }},
    {"backend.connect-timeout", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.backend.connect_timeout = v.duration(1ms); }},
    {"backend.tls.mode", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.backend.tls_mode = v.one_of(tls_modes); }},
    {"backend.tls.ca", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.backend.tls.ca = v.str(); }},
    {"backend.tls.cert", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.backend.tls.cert = v.str(); }},
    {"backend.tls.key", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.backend.tls.key = v.str(); }},
    {"backend.tls.server-name", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.backend.tls_server_name = v.str(); }},
    // Backend pool.
    {"pool.max-connections", Kind::scalar,
     [](Config& c, Extra&, const Value& v) {
       c.pool.max_connections = static_cast<std::uint32_t>(v.uint(1, 100'000));
     }},
    {"pool.max-idle", Kind::scalar,
     [](Config& c, Extra&, const Value& v) {
       c.pool.max_idle = static_cast<std::uint32_t>(v.uint(0, 100'000));
     }},
    {"pool.idle-timeout", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.pool.idle_timeout = v.duration(); }},
    {"pool.acquire-timeout", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.pool.acquire_timeout = v.duration(1ms); }},
    // Timeouts.
    {"timeouts.handshake", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.timeouts.handshake = v.duration(1ms); }},
    {"timeouts.backend-read", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.timeouts.backend_read = v.duration(); }},
    {"timeouts.drain", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.timeouts.drain = v.duration(); }},
    // Logging.
    {"log.level", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.log.level = std::string(v.one_of(log_levels)); }},
    {"log.format", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.log.format = v.one_of(log_formats); }},
    {"log.file", Kind::scalar, [](Config& c, Extra&, const Value& v) { c.log.file = v.str(); }},
};

constexpr std::string_view sections[] = {"client-tls", "backend",  "backend.tls",
                                         "pool",       "timeouts", "log"};

const Field* find_field(std::string_view path) {
  for (const Field& f : fields) {
    if (f.path == path) {
      return &f;
    }
  }
  return nullptr;
}

bool is_section(std::string_view path) {
  return std::find(std::begin(sections), std::end(sections), path) != std::end(sections);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string suggestion(std::string_view path) {
  std::string_view best;
  std::size_t best_distance = 4;  // only close matches are worth suggesting
  auto consider = [&](std::string_view candidate) {
    // A key cut short ("pool.max-conn") is as good as a typo-free match.
    const bool prefix = path.size() >= 4 && candidate.substr(0, path.size()) == path;
    const std::size_t d = prefix ? 1 : edit_distance(path, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  };
  for (const Field& f : fields) {
    consider(f.path);
  }
  for (std::string_view s : sections) {
    consider(s);
  }
  return best.empty() ? std::string() : fmt::format("; did you mean \"{}\"?", best);
}

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
  // An override of either secret source replaces both sources from the file, so a password
  // injected by the environment does not clash with the other key left in the YAML.
  const std::string pw_var = env_var_for("backend.password");
  const std::string pw_file_var = env_var_for("backend.password-file");
  if (vars.count(pw_var) != 0 || vars.count(pw_file_var) != 0) {
    values.erase("backend.password");
    values.erase("backend.password-file");
  }
  for (const Field& field : fields) {
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

std::string read_password_file(const std::string& path, const std::string& where,
                               std::vector<std::string>& warnings) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    fail(fmt::format("{}: cannot read {}: {}", where, shown(path), std::strerror(errno)));
  }
  std::string data;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    data.append(buf, n);
  }
  const bool read_error = std::ferror(f) != 0;
  struct stat st {};
  const bool have_stat = ::fstat(fileno(f), &st) == 0;
  std::fclose(f);
  if (read_error) {
    fail(fmt::format("{}: cannot read {}", where, shown(path)));
  }
  while (!data.empty() && (data.back() == '\n' || data.back() == '\r')) {
    data.pop_back();
  }
  if (have_stat && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    warnings.push_back(
        fmt::format("{}: {} is readable by group or others; chmod 600 it", where, shown(path)));
  }
  return data;
}

void require_readable(const std::string& key, const std::string& path) {
  if (path.empty()) {
    return;
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    fail(fmt::format("{}: cannot read {}: {}", key, shown(path), std::strerror(errno)));
  }
  std::fclose(f);
}

void validate(Config& c, Extra& x, std::vector<std::string>& warnings) {
  if (!x.address_given) {
    fail("backend.address: required (HOST:PORT of the TiDB server)");
  }
  // DM: online-ddl-scheme "gh-ost"/"pt" turns online DDL on; the scheme no longer matters.
  if (!x.scheme.empty()) {
    warnings.push_back(fmt::format(
        "online-ddl-scheme: deprecated (as in DM); use online-ddl: true. Treating \"{}\" as "
        "online-ddl: true",
        x.scheme));
    if (x.online_ddl_given && !x.online_ddl_value) {
      warnings.push_back("online-ddl-scheme overrides online-ddl: false");
    }
    c.online_ddl.enabled = true;
  }
  auto& o = c.online_ddl;
  if (o.name.size() + meta_table_suffix.size() > max_identifier) {
    fail(fmt::format("name: at most {} characters (the meta table is <name>{}), got {}",
                     max_identifier - meta_table_suffix.size(), meta_table_suffix, o.name.size()));
  }
  if (o.id.empty()) {
    o.id = o.name;
  }
  if (o.id.size() > max_instance_id) {
    fail(fmt::format("id: at most {} characters (meta table column id VARCHAR({})){}",
                     max_instance_id, max_instance_id,
                     c.online_ddl.id == c.online_ddl.name ? "; it defaults to name" : ""));
  }
  if (o.meta_schema.size() > max_identifier) {
    fail(fmt::format("meta-schema: at most {} characters", max_identifier));
  }

  if (c.admin_enabled && c.admin.host == c.listen.host && c.admin.port == c.listen.port) {
    fail(fmt::format("admin: same address as listen ({})", c.listen.str()));
  }
  if (c.pool.max_idle > c.pool.max_connections) {
    fail(fmt::format("pool.max-idle: must not exceed pool.max-connections ({}), got {}",
                     c.pool.max_connections, c.pool.max_idle));
  }

  // Backend password.
  if (x.password && x.password_file) {
    fail(
        fmt::format("backend.password and backend.password-file: set only one (password from "
                    "{}, password-file from {})",
                    x.password_source, x.password_file_source));
  }
  if (x.password) {
    c.backend.password = *x.password;
  }
  if (x.password_file) {
    if (x.password_file->empty()) {
      fail(fmt::format("{}: must not be empty", x.password_file_source));
    }
    c.backend.password_file = *x.password_file;
    c.backend.password = read_password_file(*x.password_file, x.password_file_source, warnings);
  }

  // Backend TLS.
  auto& b = c.backend;
  if (b.tls.cert.empty() != b.tls.key.empty()) {
    fail(b.tls.cert.empty() ? "backend.tls.key: set without backend.tls.cert"
                            : "backend.tls.cert: set without backend.tls.key");
  }
  if ((b.tls_mode == BackendTlsMode::verify_ca || b.tls_mode == BackendTlsMode::verify_identity) &&
      b.tls.ca.empty()) {
    fail(fmt::format("backend.tls.ca: required by backend.tls.mode {}", tls_mode_name(b.tls_mode)));
  }
  if (b.tls_mode == BackendTlsMode::disabled && !(b.tls.ca.empty() && b.tls.cert.empty())) {
    warnings.push_back(
        "backend.tls: ca/cert/key are set but backend.tls.mode is disabled; they are not used");
  }
  require_readable("backend.tls.ca", b.tls.ca);
  require_readable("backend.tls.cert", b.tls.cert);
  require_readable("backend.tls.key", b.tls.key);
  if (b.tls_server_name.empty()) {
    b.tls_server_name = b.address.host;
  }

  // Client TLS.
  auto& t = c.client_tls;
  if (t.files.cert.empty() != t.files.key.empty()) {
    fail(t.files.cert.empty() ? "client-tls.key: set without client-tls.cert"
                              : "client-tls.cert: set without client-tls.key");
  }
  if (!t.files.ca.empty() && t.files.cert.empty()) {
    fail("client-tls.ca: needs client-tls.cert and client-tls.key (TLS for clients)");
  }
  if (t.required && t.files.cert.empty()) {
    fail("client-tls.required: needs client-tls.cert and client-tls.key");
  }
  require_readable("client-tls.cert", t.files.cert);
  require_readable("client-tls.key", t.files.key);
  require_readable("client-tls.ca", t.files.ca);
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
  for (const Field& field : fields) {
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

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms == 0) {
    return "0";
  }
  if (ms % 3'600'000 == 0) {
    return fmt::format("{}h", ms / 3'600'000);
  }
  if (ms % 60'000 == 0) {
    return fmt::format("{}m", ms / 60'000);
  }
  if (ms % 1000 == 0) {
    return fmt::format("{}s", ms / 1000);
  }
  return fmt::format("{}ms", ms);
}

std::string format_size(std::uint64_t bytes) {
  if (bytes != 0 && bytes % (1u << 30) == 0) {
    return fmt::format("{}GiB", bytes >> 30);
  }
  if (bytes != 0 && bytes % (1u << 20) == 0) {
    return fmt::format("{}MiB", bytes >> 20);
  }
  if (bytes != 0 && bytes % (1u << 10) == 0) {
    return fmt::format("{}KiB", bytes >> 10);
  }
  return fmt::format("{}", bytes);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string HostPort::str() const {
  if (host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", host, port);
  }
  return fmt::format("{}:{}", host, port);
}

HostPort parse_host_port(const std::string& text) {
  const auto bad = [&](std::string_view why) -> ConfigError {
    return ConfigError(
        fmt::format("expected HOST:PORT, got {}{}{}", shown(text), why.empty() ? "" : ": ", why));
  };
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw bad("an IPv6 address is written [ADDR]:PORT");
    }
    host = text.substr(1, close - 1);
    port_text = std::string_view(text).substr(close + 2);
    in6_addr addr{};
    const std::string without_zone = host.substr(0, host.find('%'));
    if (::inet_pton(AF_INET6, without_zone.c_str(), &addr) != 1) {
      throw bad("not an IPv6 address between the brackets");
    }
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
      throw bad("no port");
    }
    host = text.substr(0, colon);
    port_text = std::string_view(text).substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      throw bad("an IPv6 address is written [ADDR]:PORT");
    }
    if (host.empty()) {
      throw bad("no host (use 0.0.0.0 or [::] for every interface)");
    }
    for (unsigned char ch : host) {
      if (!(std::isalnum(ch) || ch == '.' || ch == '-' || ch == '_')) {
        throw bad("the host has characters a host name or IPv4 address cannot have");
      }
    }
  }
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size()) {
    throw bad("the port is not a number");
  }
  if (port < 1 || port > 65535) {
    throw bad("the port must be between 1 and 65535");
  }
  return HostPort{std::move(host), static_cast<std::uint16_t>(port)};
}

std::chrono::milliseconds parse_duration(const std::string& text) {
  const auto bad = [&](std::string_view why) -> ConfigError {
    return ConfigError(fmt::format(
        "expected a duration like \"500ms\", \"5s\", \"2m\", \"1h\" or a number of seconds, got "
        "{}{}{}",
        shown(text), why.empty() ? "" : ": ", why));
  };
  constexpr double max_ms = 365.0 * 24 * 3600 * 1000;
  const std::string_view s(text);
  if (s.empty()) {
    throw bad("");
  }
  // A bare integer is a number of seconds (the YAML `connect-timeout: 5` case).
  if (std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) {
    std::uint64_t seconds = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), seconds);
    if (ec != std::errc{} || seconds * 1000.0 > max_ms) {
      throw bad("too long");
    }
    return std::chrono::milliseconds(seconds * 1000);
  }
  double total_ms = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t number_start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) {
      ++i;
    }
    double number = 0;
    const auto [end, ec] = std::from_chars(s.data() + number_start, s.data() + i, number);
    if (i == number_start || ec != std::errc{} || end != s.data() + i) {
      throw bad("");
    }
    const std::size_t unit_start = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) {
      ++i;
    }
    const std::string_view unit = s.substr(unit_start, i - unit_start);
    double unit_ms = 0;
    if (unit == "ms") {
      unit_ms = 1;
    } else if (unit == "s") {
      unit_ms = 1000;
    } else if (unit == "m") {
      unit_ms = 60'000;
    } else if (unit == "h") {
      unit_ms = 3'600'000;
    } else {
      throw bad(unit.empty() ? "a unit (ms, s, m, h) is missing"
                             : "the unit must be ms, s, m or h");
    }
    total_ms += number * unit_ms;
  }
  if (total_ms > max_ms) {
    throw bad("too long");
  }
  const double rounded = std::round(total_ms);
  if (std::abs(total_ms - rounded) > 1e-6) {
    throw bad("the resolution is 1ms");
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(rounded));
}

std::uint64_t parse_size(const std::string& text) {
  const auto bad = [&](std::string_view why) -> ConfigError {
    return ConfigError(
        fmt::format("expected a size like \"1048576\", \"64KiB\", \"16MiB\" or "
                    "\"1GiB\", got {}{}{}",
                    shown(text), why.empty() ? "" : ": ", why));
  };
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (end == text.data() || ec != std::errc{}) {
    throw bad("");
  }
  const std::string unit = lower(std::string_view(end, text.data() + text.size() - end));
  std::uint64_t multiplier = 0;
  if (unit.empty() || unit == "b") {
    multiplier = 1;
  } else if (unit == "k" || unit == "kib") {
    multiplier = 1ull << 10;
  } else if (unit == "m" || unit == "mib") {
    multiplier = 1ull << 20;
  } else if (unit == "g" || unit == "gib") {
    multiplier = 1ull << 30;
  } else {
    throw bad("the unit must be KiB, MiB or GiB");
  }
  if (number > (std::uint64_t{1} << 40) / multiplier) {
    throw bad("too large");
  }
  return number * multiplier;
}

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const Field& f : fields) {
    keys.emplace_back(f.path);
  }
  return keys;
}

std::string env_var_for(const std::string& key_path) {
  std::string name(env_prefix);
  for (unsigned char ch : key_path) {
    name += (ch == '-' || ch == '.') ? '_' : static_cast<char>(std::toupper(ch));
  }
  return name;
}

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

std::string dump_config(const Config& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  const auto& o = c.online_ddl;
  out << YAML::Key << "name" << YAML::Value << o.name;
  out << YAML::Key << "id" << YAML::Value << o.id;
  out << YAML::Key << "online-ddl" << YAML::Value << o.enabled;
  out << YAML::Key << "shadow-table-rules" << YAML::Value << YAML::Flow << o.shadow_table_rules;
  out << YAML::Key << "trash-table-rules" << YAML::Value << YAML::Flow << o.trash_table_rules;
  out << YAML::Key << "meta-schema" << YAML::Value << o.meta_schema;
  out << YAML::Key << "dry-run" << YAML::Value << o.dry_run;
  out << YAML::Key << "listen" << YAML::Value << c.listen.str();
  out << YAML::Key << "admin" << YAML::Value << (c.admin_enabled ? c.admin.str() : "off");
  out << YAML::Key << "workers" << YAML::Value << c.workers;
  out << YAML::Key << "max-connections" << YAML::Value << c.max_connections;
  out << YAML::Key << "max-packet-size" << YAML::Value << format_size(c.max_packet_size);

  out << YAML::Key << "client-tls" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "cert" << YAML::Value << c.client_tls.files.cert;
  out << YAML::Key << "key" << YAML::Value << c.client_tls.files.key;
  out << YAML::Key << "ca" << YAML::Value << c.client_tls.files.ca;
  out << YAML::Key << "required" << YAML::Value << c.client_tls.required;
  out << YAML::EndMap;

  const auto& b = c.backend;
  out << YAML::Key << "backend" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "address" << YAML::Value << b.address.str();
  out << YAML::Key << "user" << YAML::Value << b.user;
  if (!b.password_file.empty()) {
    out << YAML::Key << "password-file" << YAML::Value << b.password_file;
  } else {
    out << YAML::Key << "password" << YAML::Value << (b.password.empty() ? "" : "***");
  }
  out << YAML::Key << "connect-timeout" << YAML::Value << format_duration(b.connect_timeout);
  out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "mode" << YAML::Value << std::string(tls_mode_name(b.tls_mode));
  out << YAML::Key << "ca" << YAML::Value << b.tls.ca;
  out << YAML::Key << "cert" << YAML::Value << b.tls.cert;
  out << YAML::Key << "key" << YAML::Value << b.tls.key;
  out << YAML::Key << "server-name" << YAML::Value << b.tls_server_name;
  out << YAML::EndMap;
  out << YAML::EndMap;

  out << YAML::Key << "pool" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "max-connections" << YAML::Value << c.pool.max_connections;
  out << YAML::Key << "max-idle" << YAML::Value << c.pool.max_idle;
  out << YAML::Key << "idle-timeout" << YAML::Value << format_duration(c.pool.idle_timeout);
  out << YAML::Key << "acquire-timeout" << YAML::Value << format_duration(c.pool.acquire_timeout);
  out << YAML::EndMap;

  out << YAML::Key << "timeouts" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "handshake" << YAML::Value << format_duration(c.timeouts.handshake);
  out << YAML::Key << "backend-read" << YAML::Value << format_duration(c.timeouts.backend_read);
  out << YAML::Key << "drain" << YAML::Value << format_duration(c.timeouts.drain);
  out << YAML::EndMap;

  out << YAML::Key << "log" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "level" << YAML::Value << c.log.level;
  out << YAML::Key << "format" << YAML::Value
      << (c.log.format == LogFormat::json ? "json" : "text");
  out << YAML::Key << "file" << YAML::Value << c.log.file;
  out << YAML::EndMap;

  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace ghostgate::proxy
