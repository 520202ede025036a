#pragma once
// Room proxy/config/: the configuration — its types (this file), YAML loading, GHOSTGATE_*
// environment overrides, validation and the effective-config dump, one file each. May use
// nothing else of proxy/ (it is read before logging exists); rules/ and protocol/ if it needs.
// Every room above reads it. (Arrows: tests/layering/layers.txt; README, "Code map".)
//
// The effective configuration of one ghostgate process. Loaded from one YAML file (see
// config.example.yaml for every key), then overridden by GHOSTGATE_* environment variables.
// Start-up and SIGHUP reload go through load_config(); it throws ConfigError naming the key.

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "rules/shard_routes.h"
#include "rules/table_rules.h"

namespace ghostgate::proxy {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  std::string str() const;  // "host:port", IPv6 hosts in brackets
};

enum class BackendTlsMode { disabled, preferred, required, verify_ca, verify_identity };

struct TlsFiles {
  std::string ca;    // CA bundle file
  std::string cert;  // certificate chain file
  std::string key;   // private key file
};

struct BackendConfig {
  HostPort address;
  // ghostgate's own account (meta table, health checks), not the clients'
  std::string user = "root";
  std::string password;       // from `password` or `password-file`; never logged
  std::string password_file;  // where `password` came from, if from a file (for dump_config)
  BackendTlsMode tls_mode = BackendTlsMode::disabled;
  TlsFiles tls;
  std::string tls_server_name;  // for verify-identity; defaults to address.host
  std::chrono::milliseconds connect_timeout{5000};
};

struct ClientTlsConfig {
  TlsFiles files;         // cert + key enable TLS for clients; ca enables client-cert checks
  bool required = false;  // refuse clients that do not switch to TLS
};

// Accounts ghostgate authenticates itself (ProxySQL's mysql_users, for mysql_native_password
// accounts): a listed client is greeted with a scramble of its own and its proof checked here,
// which yields SHA1(password); ghostgate then logs its backend connection in with proofs it
// computes (a new login, or COM_CHANGE_USER on a pooled one), so the client never answers a
// second exchange. The backend still checks every login. Other accounts are relayed as before.
struct ClientAuthUser {
  std::string user;
  // SHA1(SHA1(password)), 20 bytes: mysql.user's authentication_string ("*" + 40 hex digits)
  // decoded by protocol::parse_native_password_hash. Empty: the account has no password.
  std::string hash;
};

struct ClientAuthConfig {
  std::vector<ClientAuthUser> users;

  const ClientAuthUser* find(std::string_view user) const {
    for (const ClientAuthUser& u : users) {
      if (u.user == user) {
        return &u;
      }
    }
    return nullptr;
  }
};

struct PoolConfig {
  std::uint32_t max_connections = 256;  // backend connections in total (busy + idle)
  std::uint32_t max_idle = 64;          // idle connections kept for reuse
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds acquire_timeout{5000};  // a client waiting for a connection
};

struct TimeoutConfig {
  std::chrono::milliseconds handshake{10000};  // client must finish login within this
  std::chrono::milliseconds backend_read{0};   // 0 = none; a backend silent this long is failed
  std::chrono::milliseconds drain{30000};      // SIGTERM: wait this long for statements in flight
};

enum class LogFormat { text, json };

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error, off
  LogFormat format = LogFormat::text;
  std::string file;  // empty = stderr
};

struct OnlineDdlConfig {
  bool enabled = true;             // DM `online-ddl`
  bool dry_run = false;            // forward everything, only log what would have been done
  std::string name = "ghostgate";  // DM task `name`: meta table is <meta_schema>.<name>_onlineddl
  // The meta table's `id` column is DM's source id (the upstream MySQL a DM worker replicates).
  // `id` (a string or a list), else a DM task file's `mysql-instances[].source-id`, else
  // [name]. Rows under every id are loaded; new rows go under ids.front(). Never empty.
  std::vector<std::string> ids;
  std::string id;  // ids.front(), for code that knows one id only
  std::string meta_schema = "dm_meta";
  // How long a completed cut-over's tombstone answers a resent RENAME (<name>_onlineddl_done).
  std::chrono::seconds tombstone_ttl{24 * 3600};
  // `online-ddl-tools`: the tools whose built-in rules apply (rules/TOOLS.md). Empty = every
  // built-in tool.
  std::vector<std::string> tools;
  // Empty = the selected tools' rules. A user list replaces them, as in DM.
  std::vector<std::string> shadow_table_rules;
  std::vector<std::string> trash_table_rules;
};

// The table rules these settings select (rules::TableRules::create turns it into rules).
rules::RuleConfig rule_config(const OnlineDdlConfig& o);

// Shard merge (rules/shard_routes.h): DM's `routes` and `shard-mode`, ghostgate's
// `shard-groups`, validated with the Router they build (Router::create, validate_shard_config).
struct ShardMergeConfig {
  std::vector<rules::RouteRule> routes;  // in the file's order
  rules::ShardConfig shard;              // shard-mode and shard-groups
  bool case_sensitive = false;           // DM `case-sensitive`: how route patterns compare names
  // shard-mode pessimistic: how long a shard's cut-over waits for the other members before it
  // is answered with an ERR naming them (its arrival stays recorded).
  std::chrono::milliseconds wait_timeout{60'000};
};

struct Config {
  HostPort listen{"127.0.0.1", 6033};
  HostPort admin{"127.0.0.1", 9033};
  bool admin_enabled = true;
  // File holding the bearer token for mutating admin calls; empty = they are refused.
  std::string admin_token_file;
  unsigned workers = 0;                      // 0 = hardware concurrency
  std::uint32_t max_connections = 4096;      // client connections; beyond: ERR 1040
  std::uint32_t max_packet_size = 1u << 30;  // bytes of one client command (joined frames)
  BackendConfig backend;
  ClientTlsConfig client_tls;
  ClientAuthConfig client_auth;
  PoolConfig pool;
  TimeoutConfig timeouts;
  LogConfig log;
  OnlineDdlConfig online_ddl;
  ShardMergeConfig shard;
  std::string source_path;  // the file it was loaded from, for SIGHUP
  // Non-fatal findings (deprecated keys, loose file permissions, ignored GHOSTGATE_* variables).
  // The loader cannot log (logging is configured from this very struct): main logs these after
  // init_logging().
  std::vector<std::string> warnings;
  // Findings worth one info line at start-up (the DM task keys ghostgate does not use).
  std::vector<std::string> notices;
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads the YAML file, applies environment overrides, validates. Throws ConfigError with a
// message that names the offending key (e.g. "backend.address: expected HOST:PORT").
Config load_config(const std::string& path);

// Same, from YAML text (tests). `env` is consulted for overrides; pass nullptr to ignore the
// process environment.
Config load_config_text(const std::string& yaml_text, const char* const* env = nullptr);

// The effective configuration as YAML with secrets masked, for --check-config and logs.
std::string dump_config(const Config& config);

// The keys (config_keys() paths, in that order) whose effective value differs between two
// configurations, for SIGHUP. The password is compared by value (a rotated password-file shows
// as "backend.password-file"); keys that only feed others (target-database.*, mysql-instances)
// show as the keys they feed (backend.*, id).
std::vector<std::string> changed_keys(const Config& before, const Config& after);

HostPort parse_host_port(const std::string& text);  // throws ConfigError

// Value syntax shared by the file and the environment; throw ConfigError without a key prefix.
// Durations: "500ms", "5s", "2m", "1h", "1m30s", "1.5s", or an integer number of seconds.
std::chrono::milliseconds parse_duration(const std::string& text);
// Sizes: bytes, or an integer with K/KiB, M/MiB, G/GiB (binary multiples).
std::uint64_t parse_size(const std::string& text);

// Every leaf key path ("backend.tls.mode", ...), in documentation order.
std::vector<std::string> config_keys();
// The environment variable that overrides a key: "pool.max-idle" -> "GHOSTGATE_POOL_MAX_IDLE".
std::string env_var_for(const std::string& key_path);

}  // namespace ghostgate::proxy
