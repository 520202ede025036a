// The effective configuration as YAML that loads back to the same Config, secrets masked.

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <optional>

#include "proxy/config/config.h"
#include "proxy/config/schema.h"

namespace ghostgate::proxy {

namespace {

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

// schema.table as shard-groups reads it back: backticks when a part has a dot, a blank or one.
std::string qualified(const rules::QualifiedName& n) {
  auto part = [](const std::string& p) {
    if (p.find_first_of(". `\t") == std::string::npos && !p.empty()) {
      return p;
    }
    std::string q = "`";
    for (char ch : p) {
      q += ch == '`' ? std::string("``") : std::string(1, ch);
    }
    return q + "`";
  };
  return part(n.schema) + "." + part(n.table);
}

}  // namespace

std::string dump_config(const Config& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  const auto& o = c.online_ddl;
  out << YAML::Key << "name" << YAML::Value << o.name;
  if (o.ids.size() == 1) {
    out << YAML::Key << "id" << YAML::Value << o.ids.front();
  } else {
    out << YAML::Key << "id" << YAML::Value << YAML::Flow << o.ids;
  }
  out << YAML::Key << "online-ddl" << YAML::Value << o.enabled;
  out << YAML::Key << "online-ddl-tools" << YAML::Value << YAML::Flow << o.tools;
  out << YAML::Key << "shadow-table-rules" << YAML::Value << YAML::Flow << o.shadow_table_rules;
  out << YAML::Key << "trash-table-rules" << YAML::Value << YAML::Flow << o.trash_table_rules;
  out << YAML::Key << "meta-schema" << YAML::Value << o.meta_schema;
  out << YAML::Key << "dry-run" << YAML::Value << o.dry_run;
  const auto& sh = c.shard;
  out << YAML::Key << "routes" << YAML::Value;
  if (sh.routes.empty()) {
    out << YAML::Flow;  // "routes: {}", not a "{}" on a line of its own
  }
  out << YAML::BeginMap;
  for (const rules::RouteRule& r : sh.routes) {
    out << YAML::Key << r.name << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "schema-pattern" << YAML::Value << r.schema_pattern;
    out << YAML::Key << "table-pattern" << YAML::Value << r.table_pattern;
    out << YAML::Key << "target-schema" << YAML::Value << r.target_schema;
    out << YAML::Key << "target-table" << YAML::Value << r.target_table;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  out << YAML::Key << "shard-mode" << YAML::Value << std::string(rules::to_string(sh.shard.mode));
  out << YAML::Key << "shard-groups" << YAML::Value;
  if (sh.shard.groups.empty()) {
    out << YAML::Flow;
  }
  out << YAML::BeginMap;
  for (const rules::ShardGroupConfig& g : sh.shard.groups) {
    out << YAML::Key << qualified(g.target) << YAML::Value << YAML::BeginMap;
    if (g.members.empty()) {
      out << YAML::Key << "members" << YAML::Value << g.member_count;
    } else {
      std::vector<std::string> names;
      for (const auto& m : g.members) {
        names.push_back(qualified(m));
      }
      out << YAML::Key << "members" << YAML::Value << YAML::Flow << names;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  out << YAML::Key << "case-sensitive" << YAML::Value << sh.case_sensitive;
  out << YAML::Key << "shard-wait-timeout" << YAML::Value << format_duration(sh.wait_timeout);
  out << YAML::Key << "online-ddl-tombstone-ttl" << YAML::Value
      << format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(o.tombstone_ttl));
  out << YAML::Key << "listen" << YAML::Value << c.listen.str();
  out << YAML::Key << "admin" << YAML::Value << (c.admin_enabled ? c.admin.str() : "off");
  out << YAML::Key << "admin-token-file" << YAML::Value << c.admin_token_file;
  out << YAML::Key << "workers" << YAML::Value << c.workers;
  out << YAML::Key << "max-connections" << YAML::Value << c.max_connections;
  out << YAML::Key << "max-packet-size" << YAML::Value << format_size(c.max_packet_size);

  out << YAML::Key << "client-tls" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "cert" << YAML::Value << c.client_tls.files.cert;
  out << YAML::Key << "key" << YAML::Value << c.client_tls.files.key;
  out << YAML::Key << "ca" << YAML::Value << c.client_tls.files.ca;
  out << YAML::Key << "required" << YAML::Value << c.client_tls.required;
  out << YAML::EndMap;

  out << YAML::Key << "client-auth" << YAML::Value << YAML::BeginMap;
  // One line, as the other lists: [{user: app, password-hash: "***"}, ...].
  out << YAML::Key << "users" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const ClientAuthUser& u : c.client_auth.users) {
    // The hash is a secret: whoever holds it and sees one login can log in as the account.
    out << YAML::BeginMap << YAML::Key << "user" << YAML::Value << u.user << YAML::Key
        << "password-hash" << YAML::Value << (u.hash.empty() ? "" : "***") << YAML::EndMap;
  }
  out << YAML::EndSeq;
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
  out << YAML::Key << "mode" << YAML::Value
      << std::string(config_detail::tls_mode_name(b.tls_mode));
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

std::vector<std::string> changed_keys(const Config& before, const Config& after) {
  const YAML::Node a = YAML::Load(dump_config(before));
  const YAML::Node b = YAML::Load(dump_config(after));
  // The node at a key path, or nullopt when the dump does not show that key.
  auto at = [](const YAML::Node& root, const std::string& path) -> std::optional<YAML::Node> {
    // reset(), not operator=: assigning a yaml-cpp node writes through to the tree it is in.
    YAML::Node node;
    node.reset(root);
    std::string::size_type start = 0;
    while (true) {
      const std::string::size_type dot = path.find('.', start);
      const std::string part = path.substr(start, dot == std::string::npos ? dot : dot - start);
      if (!node.IsMap()) {
        return std::nullopt;
      }
      const YAML::Node& parent = node;  // const []: a missing key adds nothing
      const YAML::Node child = parent[part];
      if (!child.IsDefined()) {
        return std::nullopt;
      }
      node.reset(child);
      if (dot == std::string::npos) {
        return node;
      }
      start = dot + 1;
    }
  };
  auto text = [](const YAML::Node& node) {
    YAML::Emitter out;
    out << node;
    return std::string(out.c_str());
  };
  std::vector<std::string> changed;
  for (const std::string& key : config_keys()) {
    const std::optional<YAML::Node> x = at(a, key);
    const std::optional<YAML::Node> y = at(b, key);
    if (!x && !y) {
      continue;  // not in the dump: shows as the key it feeds
    }
    if (!x || !y || text(*x) != text(*y)) {
      changed.push_back(key);
    }
  }
  // The dump masks the hashes: compare them by value.
  const auto& ua = before.client_auth.users;
  const auto& ub = after.client_auth.users;
  const bool users_differ =
      ua.size() != ub.size() ||
      !std::equal(ua.begin(), ua.end(), ub.begin(), [](const auto& x, const auto& y) {
        return x.user == y.user && x.hash == y.hash;
      });
  if (users_differ &&
      std::find(changed.begin(), changed.end(), "client-auth.users") == changed.end()) {
    changed.push_back("client-auth.users");
  }
  if (before.backend.password != after.backend.password) {
    const std::string key =
        after.backend.password_file.empty() ? "backend.password" : "backend.password-file";
    if (std::find(changed.begin(), changed.end(), key) == changed.end()) {
      changed.push_back(key);
    }
  }
  return changed;
}

}  // namespace ghostgate::proxy
