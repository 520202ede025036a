#include "proxy/net/tls.h"

#include <string>

namespace ghostgate::proxy {
namespace {

void use_file(const std::string& what, const std::string& key, auto&& load) {
  error_code ec;
  load(ec);
  if (ec) {
    throw ConfigError(key + ": cannot load " + what + ": " + ec.message());
  }
}

}  // namespace

std::shared_ptr<asio::ssl::context> make_client_tls_context(const ClientTlsConfig& config) {
  if (config.files.cert.empty()) {
    return nullptr;
  }
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  use_file("certificate", "client-tls.cert",
           [&](error_code& ec) { ctx->use_certificate_chain_file(config.files.cert, ec); });
  use_file("private key", "client-tls.key", [&](error_code& ec) {
    ctx->use_private_key_file(config.files.key, asio::ssl::context::pem, ec);
  });
  if (!config.files.ca.empty()) {
    use_file("CA", "client-tls.ca",
             [&](error_code& ec) { ctx->load_verify_file(config.files.ca, ec); });
    ctx->set_verify_mode(asio::ssl::verify_peer);
  }
  return ctx;
}

std::shared_ptr<asio::ssl::context> make_backend_tls_context(const BackendConfig& config) {
  if (config.tls_mode == BackendTlsMode::disabled) {
    return nullptr;
  }
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3);
  const bool verify = config.tls_mode == BackendTlsMode::verify_ca ||
                      config.tls_mode == BackendTlsMode::verify_identity;
  if (verify) {
    if (!config.tls.ca.empty()) {
      use_file("CA", "backend.tls.ca",
               [&](error_code& ec) { ctx->load_verify_file(config.tls.ca, ec); });
    } else {
      ctx->set_default_verify_paths();
    }
    ctx->set_verify_mode(asio::ssl::verify_peer);
  } else {
    ctx->set_verify_mode(asio::ssl::verify_none);
  }
  if (!config.tls.cert.empty()) {
    use_file("certificate", "backend.tls.cert",
             [&](error_code& ec) { ctx->use_certificate_chain_file(config.tls.cert, ec); });
    use_file("private key", "backend.tls.key", [&](error_code& ec) {
      ctx->use_private_key_file(config.tls.key, asio::ssl::context::pem, ec);
    });
  }
  return ctx;
}

}  // namespace ghostgate::proxy
