#pragma once
// Room proxy/backend/: connections to the backend — connecting, TLS, ghostgate's own login and
// queries (this file), and the pool that hands them to sessions (pool.h). May use proxy/net/,
// proxy/observe/, proxy/config/ and protocol/. (Arrows: tests/layering/layers.txt.)
//
// One connection to the backend (TiDB, or the MariaDB stand-in). Client sessions log in on it by
// relaying the client's own credentials; ghostgate's own work (meta table, health checks) logs
// in with backend.user. Connections outlive sessions: see pool.h.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/constants.h"
#include "protocol/handshake.h"
#include "proxy/config/config.h"
#include "proxy/net/asio.h"
#include "proxy/net/packet_io.h"
#include "proxy/net/stream.h"

namespace ghostgate::proxy {

struct BackendError {
  std::uint16_t code = 0;
  std::string sql_state;
  std::string message;
  bool io = false;  // the connection failed (not a server ERR): it is unusable
};

class BackendConnection {
 public:
  explicit BackendConnection(tcp::socket socket) : stream(std::move(socket)) {}

  Stream stream;
  InBuffer in;
  std::vector<std::uint8_t> scratch;
  protocol::HandshakeV10 greeting;  // as the server sent it when we connected
  protocol::Capabilities caps = 0;  // negotiated with the server at login
  std::uint8_t charset = 0;
  std::uint64_t id = 0;  // ghostgate's own id, for logs
  std::string user;      // who it is logged in as now
  std::chrono::steady_clock::time_point idle_since;
  bool authenticated = false;
  // Set when the connection's state is not known to be clean (a response was cut short, a
  // client vanished mid-result): it must be closed, never pooled.
  bool broken = false;
  // COM_SET_OPTION changed multi-statement mode, or an auth switch during COM_CHANGE_USER
  // gave it a scramble we are not sure of: it must not be handed to another client.
  bool not_reusable = false;
  // Holds a slot of the pool's global connection limit; released when the connection dies.
  std::shared_ptr<void> pool_slot;

  protocol::Capabilities pool_key() const { return caps & protocol::cap::session_shaping; }
};

struct ConnectResult {
  std::unique_ptr<BackendConnection> conn;
  BackendError error;  // when conn is null
};

// TCP connect (bounded by backend.connect-timeout) and read the server's greeting. TLS and
// login come after, because TLS needs the client's capabilities in the SSLRequest.
awaitable<ConnectResult> connect_backend(const BackendConfig& config);

// Upgrades to TLS if the mode asks for it and the server offers it (`client_caps` go into the
// SSLRequest, sequence id `seq`, advanced). Sets cap::ssl in `client_caps` when TLS is on.
awaitable<std::optional<BackendError>> maybe_start_backend_tls(BackendConnection& conn,
                                                               const BackendConfig& config,
                                                               asio::ssl::context* ctx,
                                                               protocol::Capabilities& client_caps,
                                                               std::uint8_t& seq);

// Logs in with ghostgate's own account (backend.user / backend.password).
awaitable<std::optional<BackendError>> login_internal(BackendConnection& conn,
                                                      const BackendConfig& config,
                                                      asio::ssl::context* tls_ctx,
                                                      std::string database);

// Result of a text-protocol query run by ghostgate itself.
struct QueryResult {
  std::optional<BackendError> error;
  std::uint64_t affected_rows = 0;
  std::uint16_t status = 0;
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

// Runs one statement on an authenticated connection and reads its whole result.
awaitable<QueryResult> run_query(BackendConnection& conn, std::string sql,
                                 std::chrono::milliseconds timeout);

// Sends COM_QUIT, waits (at most a second) for the backend to close its side, and closes.
awaitable<void> quit_backend(BackendConnection& conn);

// Quotes a MySQL identifier with backticks.
std::string quote_identifier(std::string_view name);
// Quotes a string literal (for statements ghostgate writes itself).
std::string quote_string(std::string_view value);

}  // namespace ghostgate::proxy
