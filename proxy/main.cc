// ghostgate: a MySQL-protocol proxy in front of TiDB that turns online schema changes made
// upstream by gh-ost / pt-online-schema-change into the right DDL downstream.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "proxy/config/config.h"
#include "proxy/observe/log.h"
#include "proxy/server.h"
#include "rules/table_rules.h"

namespace {

// Rules are checked where they are compiled (rules/), so --check-config sees them too.
void check_rules(const ghostgate::proxy::Config& config, const std::string& path) {
  using ghostgate::rules::TableRules;
  const auto& c = config.online_ddl;
  std::string error;
  if (!TableRules::create(
          c.shadow_table_rules.empty() ? TableRules::default_shadow_rules() : c.shadow_table_rules,
          c.trash_table_rules.empty() ? TableRules::default_trash_rules() : c.trash_table_rules,
          &error)) {
    // Same shape as load_config's errors: "FILE: key: problem".
    throw ghostgate::proxy::ConfigError(path + ": " + error);
  }
}

// The file as the process would run it: YAML, environment overrides, rules.
ghostgate::proxy::Config load_and_check(const std::string& path) {
  ghostgate::proxy::Config config = ghostgate::proxy::load_config(path);
  check_rules(config, path);
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ghostgate: MySQL-protocol proxy for TiDB that handles gh-ost / pt-osc traffic"};
  std::string config_path;
  std::string check_path;
  app.add_option("-c,--config", config_path,
                 "YAML configuration file (default: $GHOSTGATE_CONFIG); GHOSTGATE_* environment "
                 "variables override its keys (see config.example.yaml)");
  app.add_option("--check-config", check_path,
                 "validate FILE, print the effective configuration (secrets masked), exit");
  app.set_version_flag("--version", std::string("ghostgate ") + GHOSTGATE_VERSION);
  CLI11_PARSE(app, argc, argv);

  if (!check_path.empty()) {
    try {
      ghostgate::proxy::Config config = load_and_check(check_path);
      for (const std::string& w : config.warnings) {
        std::cerr << "ghostgate: warning: " << w << "\n";
      }
      std::cout << ghostgate::proxy::dump_config(config);
      std::cout << "# configuration is valid\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "ghostgate: invalid configuration: " << e.what() << "\n";
      return 2;
    }
  }
  if (config_path.empty()) {
    // Containers set the file once in the image and keep the command line free for flags.
    if (const char* from_env = std::getenv("GHOSTGATE_CONFIG"); from_env != nullptr) {
      config_path = from_env;
    }
  }
  if (config_path.empty()) {
    std::cerr << "ghostgate: --config FILE (or GHOSTGATE_CONFIG) is required (see --help)\n";
    return 2;
  }
  ghostgate::proxy::Config config;
  try {
    config = load_and_check(config_path);
  } catch (const std::exception& e) {
    std::cerr << "ghostgate: invalid configuration: " << e.what() << "\n";
    return 2;
  }
  try {
    ghostgate::proxy::init_logging(config.log);
    // The loader cannot log (logging is configured from what it returns): its findings now.
    for (const std::string& w : config.warnings) {
      ghostgate::proxy::log_warn(ghostgate::proxy::no_conn, "config: {}", w);
    }
    ghostgate::proxy::Server server(std::move(config));
    return server.run();
  } catch (const std::exception& e) {
    std::cerr << "ghostgate: " << e.what() << "\n";
    return 1;
  }
}
