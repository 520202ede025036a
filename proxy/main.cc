// ghostgate: a MySQL-protocol proxy in front of TiDB that turns online schema changes made
// upstream by gh-ost / pt-online-schema-change into the right DDL downstream.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "proxy/config.h"
#include "proxy/log.h"
#include "proxy/server.h"
#include "rules/table_rules.h"

namespace {

// Rules are checked where they are compiled (rules/), so --check-config sees them too.
void check_rules(const ghostgate::proxy::Config& config) {
  using ghostgate::rules::TableRules;
  const auto& c = config.online_ddl;
  std::string error;
  if (!TableRules::create(
          c.shadow_table_rules.empty() ? TableRules::default_shadow_rules() : c.shadow_table_rules,
          c.trash_table_rules.empty() ? TableRules::default_trash_rules() : c.trash_table_rules,
          &error)) {
    throw ghostgate::proxy::ConfigError(error);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ghostgate: MySQL-protocol proxy for TiDB that handles gh-ost / pt-osc traffic"};
  std::string config_path;
  std::string check_path;
  app.add_option("-c,--config", config_path, "YAML configuration file");
  app.add_option("--check-config", check_path,
                 "validate FILE, print the effective configuration (secrets masked), exit");
  app.set_version_flag("--version", std::string("ghostgate ") + GHOSTGATE_VERSION);
  CLI11_PARSE(app, argc, argv);

  if (!check_path.empty()) {
    try {
      ghostgate::proxy::Config config = ghostgate::proxy::load_config(check_path);
      check_rules(config);
      std::cout << ghostgate::proxy::dump_config(config);
      std::cout << "# configuration is valid\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "ghostgate: invalid configuration " << check_path << ": " << e.what() << "\n";
      return 2;
    }
  }
  if (config_path.empty()) {
    std::cerr << "ghostgate: --config FILE is required (see --help)\n";
    return 2;
  }
  ghostgate::proxy::Config config;
  try {
    config = ghostgate::proxy::load_config(config_path);
    check_rules(config);
  } catch (const std::exception& e) {
    std::cerr << "ghostgate: invalid configuration " << config_path << ": " << e.what() << "\n";
    return 2;
  }
  try {
    ghostgate::proxy::init_logging(config.log);
    ghostgate::proxy::Server server(std::move(config));
    return server.run();
  } catch (const std::exception& e) {
    std::cerr << "ghostgate: " << e.what() << "\n";
    return 1;
  }
}
