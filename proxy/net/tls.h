#pragma once
// OpenSSL contexts for both sides of the proxy.

#include <memory>

#include "proxy/config/config.h"
#include "proxy/net/asio.h"

namespace ghostgate::proxy {

// Server-side context for clients that send an SSLRequest; nullptr when no cert is configured.
// Throws ConfigError on unreadable files.
std::shared_ptr<asio::ssl::context> make_client_tls_context(const ClientTlsConfig& config);

// Client-side context for the backend per the TLS mode; nullptr when mode is disabled.
std::shared_ptr<asio::ssl::context> make_backend_tls_context(const BackendConfig& config);

}  // namespace ghostgate::proxy
