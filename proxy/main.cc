// ghostgate: a MySQL-protocol proxy in front of TiDB that turns online schema changes made
// upstream by gh-ost / pt-online-schema-change into the right DDL downstream.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "proxy/config/config.h"
#include "proxy/observe/log.h"
#include "proxy/server.h"

namespace {

// The file named by --check-config, else --config, else $GHOSTGATE_CONFIG.
std::string config_file(const std::string& given) {
  if (!given.empty()) {
    return given;
  }
  // Containers set the file once in the image and keep the command line free for flags.
  const char* from_env = std::getenv("GHOSTGATE_CONFIG");
  return from_env != nullptr ? from_env : "";
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
                 "validate FILE (default: --config or $GHOSTGATE_CONFIG), print the effective "
                 "configuration (secrets masked), exit")
      ->expected(0, 1);
  app.set_version_flag("--version", std::string("ghostgate ") + GHOSTGATE_VERSION);
  CLI11_PARSE(app, argc, argv);
  const bool check = app.count("--check-config") != 0;

  if (check) {
    check_path = config_file(check_path.empty() ? config_path : check_path);
    if (check_path.empty()) {
      std::cerr << "ghostgate: --check-config FILE (or --config FILE, or GHOSTGATE_CONFIG) is "
                   "required\n";
      return 2;
    }
    try {
      ghostgate::proxy::Config config = ghostgate::proxy::load_config(check_path);
      for (const std::string& n : config.notices) {
        std::cerr << "ghostgate: note: " << n << "\n";
      }
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
  config_path = config_file(config_path);
  if (config_path.empty()) {
    std::cerr << "ghostgate: --config FILE (or GHOSTGATE_CONFIG) is required (see --help)\n";
    return 2;
  }
  ghostgate::proxy::Config config;
  try {
    config = ghostgate::proxy::load_config(config_path);
  } catch (const std::exception& e) {
    std::cerr << "ghostgate: invalid configuration: " << e.what() << "\n";
    return 2;
  }
  try {
    ghostgate::proxy::init_logging(config.log);
    // The loader cannot log (logging is configured from what it returns): its findings now.
    for (const std::string& n : config.notices) {
      ghostgate::proxy::log_info(ghostgate::proxy::no_conn, "config: {}", n);
    }
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
