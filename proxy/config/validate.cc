// Validation after every value is in: what no single key can check.

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "proxy/config/config.h"
#include "proxy/config/schema.h"
#include "rules/shard_routes.h"
#include "rules/table_rules.h"

namespace ghostgate::proxy::config_detail {

namespace {

constexpr std::size_t max_identifier = 64;   // MySQL/TiDB table and schema names
constexpr std::size_t max_instance_id = 32;  // meta table `id VARCHAR(32)`
constexpr std::string_view meta_table_suffix = "_onlineddl";

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

// A DM task file's target-database gives the backend's address and ghostgate's account; a
// ghostgate file gives backend.*. Either, not both (the environment already replaced the file's
// other spelling, see alias_groups()).
void resolve_target_database(Config& c, Extra& x) {
  if (x.address_given && (x.dm_host || x.dm_port)) {
    fail(
        "backend.address and target-database: set only one (target-database host and port are "
        "DM's way of giving backend.address)");
  }
  if (!x.address_given) {
    if (!x.dm_host) {
      fail(x.dm_port ? "target-database.host: required with target-database.port"
                     : "backend.address: required (HOST:PORT of the TiDB server; in a DM task "
                       "file, target-database host and port)");
    }
    c.backend.address = HostPort{*x.dm_host, x.dm_port.value_or(4000)};
  }
  if (x.user_given && x.dm_user) {
    fail("backend.user and target-database.user: set only one");
  }
  if (x.dm_user) {
    c.backend.user = *x.dm_user;
  }
  if (x.dm_password && (x.password || x.password_file)) {
    fail(fmt::format("{} and {}: set only one",
                     x.password ? "backend.password" : "backend.password-file",
                     "target-database.password"));
  }
  if (x.dm_password) {
    x.password = std::move(x.dm_password);
    x.password_source = x.dm_password_source;
  }
  if (x.password && looks_dm_encrypted(*x.password)) {
    fail(fmt::format(
        "{}: looks encrypted by `dmctl encrypt`, which only DM can decrypt; give the password in "
        "clear, or better in a file (backend.password-file, or GHOSTGATE_BACKEND_PASSWORD)",
        x.password_source));
  }
}

// id, else mysql-instances[].source-id, else name: the meta table rows ghostgate owns.
void resolve_ids(Config& c, Extra& x) {
  auto& o = c.online_ddl;
  if (x.ids && x.source_ids) {
    fail("id and mysql-instances: set only one (both give the meta table's id: DM's source ids)");
  }
  const char* key = x.ids ? "id" : x.source_ids ? "mysql-instances[].source-id" : "name";
  o.ids = x.ids ? *x.ids : x.source_ids ? *x.source_ids : std::vector<std::string>{o.name};
  std::set<std::string> seen;
  for (const std::string& id : o.ids) {
    if (id.size() > max_instance_id) {
      fail(fmt::format("{}: at most {} characters (meta table column id VARCHAR({})), got {}{}",
                       key, max_instance_id, max_instance_id, shown(id),
                       x.ids || x.source_ids ? "" : "; the id defaults to name"));
    }
    if (!seen.insert(id).second) {
      fail(fmt::format("{}: {} is given twice", key, shown(id)));
    }
  }
  o.id = o.ids.front();
}

void resolve_shard(Config& c, Extra& x) {
  std::string error;
  if (x.shard_mode) {
    const auto mode = rules::parse_shard_mode(*x.shard_mode, &error);
    if (!mode) {
      fail(error);
    }
    c.shard.shard.mode = *mode;
  }
  const YAML::Node& groups = x.shard_groups;
  if (groups.IsDefined() && groups.IsMap()) {
    for (auto it = groups.begin(); it != groups.end(); ++it) {
      const YAML::Node k = it->first;
      const YAML::Node body = it->second;
      const std::string where = fmt::format("shard-groups.\"{}\"", k.Scalar());
      rules::ShardGroupConfig group;
      const auto target = rules::parse_qualified_name(k.Scalar(), &error);
      if (!target) {
        fail(fmt::format("{}: {}{}", where, error, mark_suffix(k)));
      }
      group.target = *target;
      const YAML::Node members = body.IsMap() ? body["members"] : YAML::Node();
      if (!members || members.IsNull()) {
        fail(fmt::format("{}: expected {{members: COUNT or [schema.table, ...]}}{}", where,
                         mark_suffix(body)));
      }
      if (members.IsScalar()) {
        const Value count{members, where + ".members", "", false};
        group.member_count = count.uint(1, 100'000);
      } else if (members.IsSequence()) {
        for (std::size_t i = 0; i < members.size(); ++i) {
          const YAML::Node m = members[i];
          const auto name =
              m.IsScalar() ? rules::parse_qualified_name(m.Scalar(), &error) : std::nullopt;
          if (!name) {
            fail(fmt::format("{}.members[{}]: {}{}", where, i,
                             m.IsScalar() ? error : "expected schema.table", mark_suffix(m)));
          }
          group.members.push_back(*name);
        }
        group.member_count = group.members.size();
      } else {
        fail(fmt::format("{}.members: expected a count or a list{}", where, mark_suffix(members)));
      }
      c.shard.shard.groups.push_back(std::move(group));
    }
  }
  const auto router = rules::Router::create(c.shard.routes, &error, c.shard.case_sensitive);
  if (!router) {
    fail(error);
  }
  if (!rules::validate_shard_config(c.shard.shard, *router, &error)) {
    fail(error);
  }
}

}  // namespace
}  // namespace ghostgate::proxy::config_detail

namespace ghostgate::proxy {

rules::RuleConfig rule_config(const OnlineDdlConfig& o) {
  rules::RuleConfig r;
  if (!o.tools.empty()) {
    r.tools = o.tools;
  }
  r.shadow = o.shadow_table_rules;
  r.trash = o.trash_table_rules;
  return r;
}

}  // namespace ghostgate::proxy

namespace ghostgate::proxy::config_detail {
namespace {

void check_rules(const OnlineDdlConfig& o, std::vector<std::string>& warnings) {
  using rules::TableRules;
  std::string error;
  if (!TableRules::create(rule_config(o), &error)) {
    fail(error);
  }
  const std::vector<std::string> missed =
      names_missed_by(o.shadow_table_rules, o.trash_table_rules);
  if (!missed.empty()) {
    std::string names;
    for (const std::string& n : missed) {
      names += (names.empty() ? "" : ", ") + n;
    }
    warnings.push_back(fmt::format(
        "{}: your list replaces ghostgate's defaults, which also catch helper tables like {} "
        "(gh-ost checkpoint, pt-osc retry and timestamped trash names); with your rules they "
        "are replicated as ordinary tables. Add rules for them, or remove the key to use the "
        "defaults",
        !o.shadow_table_rules.empty() && !o.trash_table_rules.empty()
            ? "shadow-table-rules and trash-table-rules"
        : o.shadow_table_rules.empty() ? "trash-table-rules"
                                       : "shadow-table-rules",
        names));
  }
}

}  // namespace

bool looks_dm_encrypted(std::string_view password) {
  // `dmctl encrypt` prints base64(random IV or nonce + AES-256 ciphertext [+ GCM tag]): at least
  // 17 bytes, so 24+ characters of the base64 alphabet in a multiple of 4, mixed case and a
  // digit or symbol, decoding to bytes that are largely not printable. A password someone chose
  // is rarely all of these; if one is, backend.password-file takes it unchecked.
  if (password.size() < 24 || password.size() % 4 != 0) {
    return false;
  }
  const auto has = [&](auto pred) { return std::any_of(password.begin(), password.end(), pred); };
  if (!has([](char ch) { return ch >= 'A' && ch <= 'Z'; }) ||
      !has([](char ch) { return ch >= 'a' && ch <= 'z'; }) || !has([](char ch) {
        return (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' || ch == '=';
      })) {
    return false;
  }
  auto value = [](char ch) -> int {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
  };
  std::size_t body = password.size();
  while (body > 0 && password[body - 1] == '=' && password.size() - body < 2) {
    --body;
  }
  std::string bytes;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < body; ++i) {
    const int v = value(password[i]);
    if (v < 0) {
      return false;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  std::size_t unprintable = 0;
  for (unsigned char ch : bytes) {
    if (ch < 0x20 || ch > 0x7e) {
      ++unprintable;
    }
  }
  return bytes.size() >= 17 && unprintable * 4 >= bytes.size();
}

std::vector<std::string> names_missed_by(const std::vector<std::string>& shadow,
                                         const std::vector<std::string>& trash) {
  using rules::TableRules;
  if (shadow.empty() && trash.empty()) {
    return {};
  }
  // Helper names of table `t` that ghostgate's defaults catch (rules/table_rules.h).
  static constexpr std::string_view examples[] = {
      "_t_gho",     "_t_ghc", "_t_ghk",  "_t_del", "_t_20261122101010_del",
      "_t_rev_del", "_t_new", "__t_new", "_t_old", "__t_old"};
  const std::optional<TableRules> user =
      TableRules::create(shadow.empty() ? TableRules::default_shadow_rules() : shadow,
                         trash.empty() ? TableRules::default_trash_rules() : trash, nullptr);
  if (!user) {
    return {};
  }
  const TableRules defaults = TableRules::defaults();
  std::vector<std::string> missed;
  for (std::string_view name : examples) {
    const rules::NameMatch want = defaults.match(name);
    const rules::NameMatch got = user->match(name);
    if (got.kind != want.kind || got.capture != want.capture) {
      missed.emplace_back(name);
    }
  }
  return missed;
}

void validate(Config& c, Extra& x, std::vector<std::string>& warnings) {
  resolve_target_database(c, x);
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
  resolve_ids(c, x);
  if (o.meta_schema.size() > max_identifier) {
    fail(fmt::format("meta-schema: at most {} characters", max_identifier));
  }
  check_rules(o, warnings);
  resolve_shard(c, x);
  if (!x.ignored.empty()) {
    std::string keys;
    for (const std::string& k : x.ignored) {
      keys += (keys.empty() ? "" : ", ") + k;
      if (k == "target-database.security") {
        warnings.push_back(
            "target-database.security: not used; TLS to TiDB is backend.tls (mode verify-ca "
            "and ca, cert, key)");
      }
    }
    c.notices.push_back(
        fmt::format("DM task keys that mean nothing to a proxy, ignored: {}", keys));
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

}  // namespace ghostgate::proxy::config_detail
