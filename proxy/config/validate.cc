// Validation after every value is in: what no single key can check.

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "proxy/config/config.h"
#include "proxy/config/schema.h"

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

}  // namespace

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

}  // namespace ghostgate::proxy::config_detail
