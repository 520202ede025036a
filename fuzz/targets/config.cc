// The config loader (proxy/config/) on arbitrary YAML. Input: YAML text, then optionally a NUL
// and NUL-separated GHOSTGATE_* environment entries (the prefix is added when missing).
// Properties: it only ever throws ConfigError (anything else escaping is a crash), with a
// non-empty message that never contains a secret given in the environment; a loaded config is
// valid (the limits the loader promises hold), its table rules either compile or are refused
// with a message, and dump_config() of it loads back to the same config.
//
// Files: the loader opens backend.password-file and the TLS files. fopen is wrapped while the
// loader runs (-Wl,--wrap=fopen) so that a few fixed names read from memory and every other path
// does not exist: arbitrary paths must not reach the real file system (/dev/zero as a password
// file would never end).
#include "proxy/config/config.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "rules/table_rules.h"

using namespace ghostgate::proxy;

namespace {

thread_local bool g_fake_files = false;

constexpr std::string_view kSecret = "Zq9-fuzz-secret-7Xk";

struct FakeFile {
  const char* path;
  const char* content;
};
constexpr FakeFile kFiles[] = {
    {"secret.txt", "s3cret\n"},       {"empty.txt", ""},
    {"ca.pem", "-----BEGIN-----\n"},  {"cert.pem", "-----BEGIN-----\n"},
    {"key.pem", "-----BEGIN-----\n"}, {"crlf.txt", "pw\r\n\r\n"},
};

bool same(const Config& a, const Config& b) {
  return a.listen.host == b.listen.host && a.listen.port == b.listen.port &&
         a.admin.host == b.admin.host && a.admin.port == b.admin.port &&
         a.admin_enabled == b.admin_enabled && a.workers == b.workers &&
         a.max_connections == b.max_connections && a.max_packet_size == b.max_packet_size &&
         a.backend.address.host == b.backend.address.host &&
         a.backend.address.port == b.backend.address.port && a.backend.user == b.backend.user &&
         a.backend.password_file == b.backend.password_file &&
         a.backend.tls_mode == b.backend.tls_mode && a.backend.tls.ca == b.backend.tls.ca &&
         a.backend.tls.cert == b.backend.tls.cert && a.backend.tls.key == b.backend.tls.key &&
         a.backend.tls_server_name == b.backend.tls_server_name &&
         a.backend.connect_timeout == b.backend.connect_timeout &&
         a.client_tls.files.ca == b.client_tls.files.ca &&
         a.client_tls.files.cert == b.client_tls.files.cert &&
         a.client_tls.files.key == b.client_tls.files.key &&
         a.client_tls.required == b.client_tls.required &&
         a.pool.max_connections == b.pool.max_connections && a.pool.max_idle == b.pool.max_idle &&
         a.pool.idle_timeout == b.pool.idle_timeout &&
         a.pool.acquire_timeout == b.pool.acquire_timeout &&
         a.timeouts.handshake == b.timeouts.handshake &&
         a.timeouts.backend_read == b.timeouts.backend_read &&
         a.timeouts.drain == b.timeouts.drain && a.log.level == b.log.level &&
         a.log.format == b.log.format && a.log.file == b.log.file &&
         a.online_ddl.enabled == b.online_ddl.enabled &&
         a.online_ddl.dry_run == b.online_ddl.dry_run && a.online_ddl.name == b.online_ddl.name &&
         a.online_ddl.id == b.online_ddl.id &&
         a.online_ddl.meta_schema == b.online_ddl.meta_schema &&
         a.online_ddl.shadow_table_rules == b.online_ddl.shadow_table_rules &&
         a.online_ddl.trash_table_rules == b.online_ddl.trash_table_rules;
}

void check_valid(const Config& c) {
  FUZZ_CHECK(c.backend.address.port >= 1 && !c.backend.address.host.empty());
  FUZZ_CHECK(c.listen.port >= 1 && !c.listen.host.empty());
  FUZZ_CHECK(!c.admin_enabled || (c.admin.port >= 1 && !c.admin.host.empty()));
  FUZZ_CHECK(c.pool.max_idle <= c.pool.max_connections && c.pool.max_connections >= 1);
  FUZZ_CHECK(c.max_connections >= 1 && c.max_packet_size >= 1024 && c.max_packet_size <= 1u << 30);
  FUZZ_CHECK(!c.online_ddl.name.empty() && c.online_ddl.name.size() <= 64 - 10);
  FUZZ_CHECK(!c.online_ddl.id.empty() && c.online_ddl.id.size() <= 32);
  FUZZ_CHECK(!c.online_ddl.meta_schema.empty() && c.online_ddl.meta_schema.size() <= 64);
  FUZZ_CHECK(!c.backend.user.empty() && !c.backend.tls_server_name.empty());
  FUZZ_CHECK(c.backend.connect_timeout.count() >= 1 && c.pool.acquire_timeout.count() >= 1 &&
             c.timeouts.handshake.count() >= 1 && c.pool.idle_timeout.count() >= 0 &&
             c.timeouts.backend_read.count() >= 0 && c.timeouts.drain.count() >= 0);
  FUZZ_CHECK(c.backend.tls.cert.empty() == c.backend.tls.key.empty());
  FUZZ_CHECK(c.client_tls.files.cert.empty() == c.client_tls.files.key.empty());
  for (const auto& rule : c.online_ddl.shadow_table_rules) {
    FUZZ_CHECK(!rule.empty());
  }
  for (const auto& rule : c.online_ddl.trash_table_rules) {
    FUZZ_CHECK(!rule.empty());
  }
}

// Runs the loader with the fake file system; ConfigError comes back as its message.
bool load(const std::string& yaml, const std::vector<const char*>& env, Config& out,
          std::string& error) {
  g_fake_files = true;
  try {
    out = load_config_text(yaml, env.data());
    g_fake_files = false;
    return true;
  } catch (const ConfigError& e) {
    g_fake_files = false;
    error = e.what();
    return false;
  }
}

}  // namespace

extern "C" std::FILE* __real_fopen(const char* path, const char* mode);

extern "C" std::FILE* __wrap_fopen(const char* path, const char* mode) {
  if (!g_fake_files) {
    return __real_fopen(path, mode);
  }
  for (const FakeFile& f : kFiles) {
    if (std::strcmp(path, f.path) == 0) {
      const std::size_t n = std::strlen(f.content);
      // fmemopen needs a non-empty buffer: empty.txt reads as a lone newline, which the loader
      // strips like any trailing newline.
      return n == 0 ? fmemopen(const_cast<char*>("\n"), 1, "r")
                    : fmemopen(const_cast<char*>(f.content), n, "r");
    }
  }
  errno = ENOENT;
  return nullptr;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string yaml = input.substr(0, nul);

  // Environment overrides after the first NUL.
  std::vector<std::string> env_strings;
  bool secret_in_input = input.find(kSecret) != std::string::npos;
  if (nul != std::string::npos) {
    std::size_t start = nul + 1;
    while (start <= input.size() && env_strings.size() < 8) {
      const std::size_t end = std::min(input.find('\0', start), input.size());
      std::string entry = input.substr(start, end - start);
      if (!entry.starts_with("GHOSTGATE_")) {
        entry = "GHOSTGATE_" + entry;
      }
      env_strings.push_back(std::move(entry));
      start = end + 1;
    }
  }
  // Half the inputs also carry a secret in the environment that must never be echoed.
  const bool with_secret = !secret_in_input && (size % 2) == 1;
  if (with_secret) {
    env_strings.push_back("GHOSTGATE_BACKEND_PASSWORD=" + std::string(kSecret));
  }
  std::vector<const char*> env;
  for (const std::string& e : env_strings) {
    env.push_back(e.c_str());
  }
  env.push_back(nullptr);

  Config config;
  std::string error;
  if (!load(yaml, env, config, error)) {
    FUZZ_CHECK(!error.empty());
    FUZZ_CHECK(!with_secret || error.find(kSecret) == std::string::npos);
    return 0;
  }
  check_valid(config);

  // The rules the proxy would compile from it.
  std::string rules_error;
  const auto rules = ghostgate::rules::TableRules::create(
      config.online_ddl.shadow_table_rules, config.online_ddl.trash_table_rules, &rules_error);
  FUZZ_CHECK(rules.has_value() || !rules_error.empty());

  // dump_config masks secrets and loads back to the same config.
  const std::string dumped = dump_config(config);
  FUZZ_CHECK(!with_secret || dumped.find(kSecret) == std::string::npos);
  // Whatever the input's bytes: the loader takes only UTF-8 strings, so the dump always loads.
  Config again;
  std::string again_error;
  const std::vector<const char*> no_env = {nullptr};
  if (!load(dumped, no_env, again, again_error)) {
    std::fprintf(stderr, "dump does not load: %s\n---\n%s---\n", again_error.c_str(),
                 dumped.c_str());
    FUZZ_CHECK(false);
  }
  if (!same(config, again)) {
    std::fprintf(stderr, "dump loads back different:\n---\n%s---\n%s---\n", dumped.c_str(),
                 dump_config(again).c_str());
    FUZZ_CHECK(false);
  }
  if (!config.backend.password_file.empty()) {
    FUZZ_CHECK(config.backend.password == again.backend.password);
  }
  return 0;
}
