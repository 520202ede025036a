// The schema: every leaf key, its kind and its setter; the typed readers of one value.

#include "proxy/config/schema.h"

#include <algorithm>
#include <charconv>
#include <string_view>

#include "protocol/auth.h"

namespace ghostgate::proxy {

namespace config_detail {

using namespace std::chrono_literals;

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

std::string Value::where() const {
  return source.empty() ? key : fmt::format("{} (from {})", key, source);
}

[[noreturn]] void Value::error(std::string_view message) const {
  fail(fmt::format("{}: {}{}", where(), message, source.empty() ? mark_suffix(node) : ""));
}

std::string Value::got() const { return secret ? "a secret value" : describe_node(node); }

const std::string& Value::scalar(std::string_view expected) const {
  if (!node.IsScalar()) {
    error(fmt::format("expected {}, got {}", expected, describe_node(node)));
  }
  const std::string& s = node.Scalar();
  if (const std::optional<std::size_t> at = invalid_utf8_at(s)) {
    error(utf8_error(s, *at, secret));
  }
  return s;
}

std::string Value::str() const { return scalar("a string"); }

std::string Value::non_empty_str() const {
  std::string s = str();
  if (s.empty()) {
    error("must not be empty");
  }
  return s;
}

bool Value::boolean() const {
  const std::string s = lower(scalar("true or false"));
  if (s == "true" || s == "yes" || s == "on" || s == "1") {
    return true;
  }
  if (s == "false" || s == "no" || s == "off" || s == "0") {
    return false;
  }
  error(fmt::format("expected true or false, got {}", got()));
}

std::uint64_t Value::uint(std::uint64_t min, std::uint64_t max) const {
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

std::chrono::milliseconds Value::duration(std::chrono::milliseconds min) const {
  auto d = parsed("a duration", [](const std::string& s) { return parse_duration(s); });
  if (d < min) {
    error(fmt::format("must be at least {}ms, got {}", min.count(), got()));
  }
  return d;
}

std::uint64_t Value::size(std::uint64_t min, std::uint64_t max) const {
  const std::uint64_t v = parsed("a size", [](const std::string& s) { return parse_size(s); });
  if (v < min || v > max) {
    error(fmt::format("must be between {} and {} bytes, got {}", min, max, got()));
  }
  return v;
}

HostPort Value::host_port() const {
  return parsed("HOST:PORT", [](const std::string& s) { return parse_host_port(s); });
}

std::vector<std::string> Value::string_list() const {
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
    if (const std::optional<std::size_t> at = invalid_utf8_at(item.Scalar())) {
      fail(fmt::format("{}: {}{}", item_key, utf8_error(item.Scalar(), *at, secret),
                       mark_suffix(item)));
    }
    out.push_back(item.Scalar());
  }
  return out;
}

namespace {

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

}  // namespace

namespace {

// DM's mysql-instances: a list of mappings; only `source-id` means something here.
void read_instances(Extra& x, const Value& v) {
  if (!v.node.IsSequence()) {
    v.error(fmt::format("expected a list of {{source-id: ...}}, got {}", describe_node(v.node)));
  }
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < v.node.size(); ++i) {
    const YAML::Node item = v.node[i];
    const std::string where = fmt::format("{}[{}]", v.where(), i);
    if (!item.IsMap()) {
      fail(fmt::format("{}: expected a mapping with source-id, got {}{}", where,
                       describe_node(item), mark_suffix(item)));
    }
    const YAML::Node id = item["source-id"];
    if (!id || !id.IsScalar() || id.Scalar().empty()) {
      fail(fmt::format("{}.source-id: required (DM's source id, the meta table's id){}", where,
                       mark_suffix(item)));
    }
    ids.push_back(id.Scalar());
    if (item.size() > 1 && i == 0) {
      x.ignored.push_back("mysql-instances[] (all but source-id)");
    }
  }
  if (ids.empty()) {
    v.error("must list at least one instance");
  }
  x.source_ids = std::move(ids);
}

// client-auth.users: a list of {user, password-hash}. The hashes are secrets: an error never
// shows one.
void read_client_auth_users(Config& c, Extra&, const Value& v) {
  if (!v.node.IsSequence()) {
    v.error(fmt::format("expected a list of {{user: NAME, password-hash: \"*HEX\"}}, got {}",
                        describe_node(v.node)));
  }
  std::vector<ClientAuthUser> users;
  for (std::size_t i = 0; i < v.node.size(); ++i) {
    const YAML::Node item = v.node[i];
    const std::string where = fmt::format("{}[{}]", v.where(), i);
    if (!item.IsMap()) {
      fail(fmt::format("{}: expected a mapping with user and password-hash, got {}{}", where,
                       describe_node(item), mark_suffix(item)));
    }
    ClientAuthUser user;
    bool hash_given = false;
    for (auto f = item.begin(); f != item.end(); ++f) {
      const std::string key = f->first.Scalar();
      const YAML::Node val = f->second;
      if (key != "user" && key != "password-hash") {
        fail(fmt::format("{}.{}: unknown key{}; an entry has user and password-hash", where, key,
                         mark_suffix(f->first)));
      }
      if (!val.IsNull() && !val.IsScalar()) {
        fail(fmt::format("{}.{}: expected a string, got {}{}", where, key, describe_node(val),
                         mark_suffix(val)));
      }
      const std::string text = val.IsNull() ? std::string() : val.Scalar();
      if (key == "user") {
        if (text.empty()) {
          fail(fmt::format("{}.user: must not be empty{}", where, mark_suffix(val)));
        }
        if (const std::optional<std::size_t> at = invalid_utf8_at(text)) {
          fail(fmt::format("{}.user: {}{}", where, utf8_error(text, *at, false), mark_suffix(val)));
        }
        user.user = text;
      } else {
        hash_given = true;
        if (protocol::parse_native_password_hash(text, user.hash)) {
          fail(fmt::format(
              "{}.password-hash: expected \"*\" and 40 hex digits (mysql.user's "
              "authentication_string of a mysql_native_password account), or \"\" for no "
              "password{}",
              where, mark_suffix(val)));
        }
      }
    }
    if (user.user.empty()) {
      fail(fmt::format("{}.user: required{}", where, mark_suffix(item)));
    }
    if (!hash_given) {
      fail(fmt::format("{}.password-hash: required (\"\" for an account without a password){}",
                       where, mark_suffix(item)));
    }
    for (const ClientAuthUser& other : users) {
      if (other.user == user.user) {
        fail(fmt::format("{}.user: {} is listed twice{}", where, shown(user.user),
                         mark_suffix(item)));
      }
    }
    users.push_back(std::move(user));
  }
  c.client_auth.users = std::move(users);
}

// DM's routes: a mapping of rule name to {schema-pattern, table-pattern, target-schema,
// target-table}, checked by rules::Router::create in validate().
void read_routes(Config& c, Extra& x, const Value& v) {
  if (!v.node.IsMap()) {
    v.error(
        fmt::format("expected a mapping of rule names to rules, got {}", describe_node(v.node)));
  }
  for (auto it = v.node.begin(); it != v.node.end(); ++it) {
    const YAML::Node name = it->first;
    const YAML::Node body = it->second;
    const std::string where = fmt::format("{}.{}", v.where(), name.Scalar());
    if (!body.IsMap()) {
      fail(fmt::format("{}: expected a mapping, got {}{}", where, describe_node(body),
                       mark_suffix(body)));
    }
    rules::RouteRule rule;
    rule.name = name.Scalar();
    for (auto f = body.begin(); f != body.end(); ++f) {
      const YAML::Node k = f->first;
      const YAML::Node val = f->second;
      const std::string key = k.Scalar();
      std::string* slot = key == "schema-pattern"  ? &rule.schema_pattern
                          : key == "table-pattern" ? &rule.table_pattern
                          : key == "target-schema" ? &rule.target_schema
                          : key == "target-table"  ? &rule.target_table
                                                   : nullptr;
      if (slot == nullptr && key.rfind("extract-", 0) == 0) {
        // DM writes the shard's source into extra columns; that is the replicator's job.
        x.ignored.push_back(fmt::format("routes.{}.{}", rule.name, key));
        continue;
      }
      if (slot == nullptr) {
        fail(
            fmt::format("{}.{}: unknown key{}; a route has schema-pattern, table-pattern, "
                        "target-schema, target-table",
                        where, key, mark_suffix(k)));
      }
      if (!val.IsNull()) {
        if (!val.IsScalar()) {
          fail(fmt::format("{}.{}: expected a string, got {}{}", where, key, describe_node(val),
                           mark_suffix(val)));
        }
        *slot = val.Scalar();
      }
    }
    c.shard.routes.push_back(std::move(rule));
  }
}

}  // namespace

std::string_view tls_mode_name(BackendTlsMode mode) {
  for (const auto& [name, value] : tls_modes) {
    if (value == mode) {
      return name;
    }
  }
  return "disabled";
}

namespace {

const Field field_table[] = {
    // DM task keys.
    {"name", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.online_ddl.name = v.non_empty_str(); }},
    {"id", Kind::list,
     [](Config&, Extra& x, const Value& v) {
       // One source id, or a list (several DM sources replicating through this ghostgate);
       // "" = not set (the default).
       if (v.node.IsScalar() && v.node.Scalar().empty()) {
         return;
       }
       x.ids = v.node.IsScalar() ? std::vector<std::string>{v.str()} : v.string_list();
       if (x.ids->empty()) {
         v.error("must name at least one id");
       }
     }},
    {"mysql-instances", Kind::node,
     [](Config&, Extra& x, const Value& v) { read_instances(x, v); }},
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
    {"online-ddl-tools", Kind::list,
     [](Config& c, Extra&, const Value& v) { c.online_ddl.tools = v.string_list(); }},
    {"shadow-table-rules", Kind::list,
     [](Config& c, Extra&, const Value& v) { c.online_ddl.shadow_table_rules = v.string_list(); }},
    {"trash-table-rules", Kind::list,
     [](Config& c, Extra&, const Value& v) { c.online_ddl.trash_table_rules = v.string_list(); }},
    {"meta-schema", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.online_ddl.meta_schema = v.non_empty_str(); }},
    {"dry-run", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.online_ddl.dry_run = v.boolean(); }},
    // Shard merge (DM's routes and shard-mode; ghostgate's shard-groups).
    {"routes", Kind::node, [](Config& c, Extra& x, const Value& v) { read_routes(c, x, v); }},
    {"shard-mode", Kind::scalar,
     [](Config&, Extra& x, const Value& v) { x.shard_mode = lower(v.str()); }},
    {"shard-groups", Kind::node,
     [](Config&, Extra& x, const Value& v) {
       if (!v.node.IsMap()) {
         v.error(
             fmt::format("expected a mapping of TARGET_SCHEMA.TABLE: {{members: N or [list]}}, "
                         "got {}",
                         describe_node(v.node)));
       }
       x.shard_groups = v.node;
       x.shard_groups_source = v.where();
     }},
    {"case-sensitive", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.shard.case_sensitive = v.boolean(); }},
    {"shard-wait-timeout", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.shard.wait_timeout = v.duration(1ms); }},
    {"online-ddl-tombstone-ttl", Kind::scalar,
     [](Config& c, Extra&, const Value& v) {
       c.online_ddl.tombstone_ttl =
           std::chrono::duration_cast<std::chrono::seconds>(v.duration(1000ms));
     }},
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
    {"admin-token-file", Kind::scalar,
     [](Config& c, Extra&, const Value& v) { c.admin_token_file = v.str(); }},
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
    // Clients ghostgate authenticates itself.
    {"client-auth.users", Kind::node, read_client_auth_users, true},
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
    // A DM task file's target-database: the backend's address and ghostgate's account.
    {"target-database.host", Kind::scalar,
     [](Config&, Extra& x, const Value& v) { x.dm_host = v.non_empty_str(); }},
    {"target-database.port", Kind::scalar,
     [](Config&, Extra& x, const Value& v) {
       x.dm_port = static_cast<std::uint16_t>(v.uint(1, 65535));
     }},
    {"target-database.user", Kind::scalar,
     [](Config&, Extra& x, const Value& v) { x.dm_user = v.non_empty_str(); }},
    {"target-database.password", Kind::scalar,
     [](Config&, Extra& x, const Value& v) {
       x.dm_password = v.str();
       x.dm_password_source = v.where();
     },
     true},
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

constexpr std::string_view sections[] = {
    "client-tls",      "client-auth", "backend",  "backend.tls",
    "target-database", "pool",        "timeouts", "log"};

// DM task keys (pingcap/tiflow dm/config/task.go, TaskConfig and DBConfig) that mean nothing
// to a proxy: accepted so a task file loads unchanged, and listed once as ignored.
constexpr std::string_view dm_ignored[] = {
    "task-mode",
    "is-sharding",
    "strict-optimistic-shard-mode",
    "ignore-checking-items",
    "enable-heartbeat",
    "heartbeat-update-interval",
    "heartbeat-report-interval",
    "timezone",
    "collation_compatible",
    "filters",
    "column-mappings",
    "expression-filter",
    "black-white-list",
    "block-allow-list",
    "mydumpers",
    "loaders",
    "syncers",
    "validators",
    "clean-dump-file",
    "ansi-quotes",
    "remove-meta",
    "experimental",
    "target-database.session",
    "target-database.max-allowed-packet",
    "target-database.security",
};

// Keys from elsewhere (DM's source config, other proxies) and what to write instead.
constexpr std::pair<std::string_view, std::string_view> hints[] = {
    {"source-id", "the meta table's id is DM's source id: write `id: SOURCE_ID`"},
    {"from",
     "that is a DM source config's upstream MySQL; ghostgate needs the downstream TiDB: "
     "`target-database` (host, port, user, password) or `backend.address`"},
    {"host", "write `backend.address: HOST:PORT` (or a DM `target-database: {host, port}`)"},
    {"port", "write `backend.address: HOST:PORT` (or a DM `target-database: {host, port}`)"},
    {"user", "ghostgate's own account is `backend.user` (or DM's `target-database.user`)"},
    {"password",
     "ghostgate's own password is `backend.password` or `backend.password-file` (or DM's "
     "`target-database.password`)"},
    {"backend.host", "write `backend.address: HOST:PORT`"},
    {"backend.port", "write `backend.address: HOST:PORT`"},
    {"enable-gtid", "a DM source config key; give ghostgate a DM task file, not a source file"},
    {"enable-relay", "a DM source config key; give ghostgate a DM task file, not a source file"},
    {"relay-dir", "a DM source config key; give ghostgate a DM task file, not a source file"},
    {"meta", "DM's binlog position (in mysql-instances) means nothing to a proxy; remove it"},
    {"tls", "TLS to TiDB is `backend.tls`, to clients `client-tls`"},
};

}  // namespace

std::span<const Field> fields() { return field_table; }

const Field* find_field(std::string_view path) {
  for (const Field& f : fields()) {
    if (f.path == path) {
      return &f;
    }
  }
  return nullptr;
}

bool is_section(std::string_view path) {
  return std::find(std::begin(sections), std::end(sections), path) != std::end(sections);
}

namespace {

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

}  // namespace

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
  for (const Field& f : fields()) {
    consider(f.path);
  }
  for (std::string_view s : sections) {
    consider(s);
  }
  for (std::string_view s : dm_ignored) {
    consider(s);
  }
  for (const auto& [key, hint] : hints) {
    if (path == key) {
      return fmt::format("; {}", hint);
    }
  }
  if (best.empty()) {
    return "; not a ghostgate key nor a DM task key (config.example.yaml lists every key)";
  }
  return fmt::format("; did you mean \"{}\"?", best);
}

bool is_dm_ignored(std::string_view path) {
  return std::find(std::begin(dm_ignored), std::end(dm_ignored), path) != std::end(dm_ignored);
}

const std::vector<AliasGroup>& alias_groups() {
  static const std::vector<AliasGroup> groups = {
      {{"backend.address"}, {"target-database.host", "target-database.port"}},
      {{"backend.user"}, {"target-database.user"}},
      {{"backend.password"}, {"backend.password-file"}, {"target-database.password"}},
      {{"id"}, {"mysql-instances"}},
      {{"online-ddl"}, {"online-ddl-scheme"}},
  };
  return groups;
}

}  // namespace config_detail

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const config_detail::Field& f : config_detail::fields()) {
    keys.emplace_back(f.path);
  }
  return keys;
}

}  // namespace ghostgate::proxy
