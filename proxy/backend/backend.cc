#include "proxy/backend/backend.h"

#include <array>
#include <atomic>

#include "protocol/auth.h"
#include "protocol/frame.h"
#include "protocol/packets.h"

namespace ghostgate::proxy {
namespace {

std::atomic<std::uint64_t> next_backend_id{1};

BackendError io_error(std::string what, const error_code& ec) {
  return BackendError{protocol::er::cant_connect, "HY000", what + ": " + ec.message(), true};
}

BackendError server_error(protocol::Bytes payload, protocol::Capabilities caps) {
  protocol::ErrPacket err;
  if (protocol::parse_err(payload, caps, err)) {
    return BackendError{protocol::er::unknown_error, "HY000", "malformed error from backend", true};
  }
  return BackendError{err.code, std::string(err.sql_state), std::string(err.message), false};
}

awaitable<error_code> send_packet(BackendConnection& conn, std::vector<std::uint8_t>& out) {
  IoResult r = co_await conn.stream.write_all(asio::buffer(out));
  out.clear();
  co_return r.ec;
}

}  // namespace

std::string quote_identifier(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') {
      out += '`';
    }
    out += c;
  }
  out += '`';
  return out;
}

std::string quote_string(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    switch (c) {
      case '\'':
        out += "''";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\0':
        out += "\\0";
        break;
      default:
        out += c;
    }
  }
  out += '\'';
  return out;
}

awaitable<ConnectResult> connect_backend(const BackendConfig& config) {
  auto executor = co_await asio::this_coro::executor;
  ConnectResult result;
  tcp::resolver resolver(executor);
  error_code ec;
  auto endpoints = co_await resolver.async_resolve(
      config.address.host, std::to_string(config.address.port), redirect(ec));
  if (ec) {
    result.error = io_error("backend " + config.address.str() + " unavailable", ec);
    co_return result;
  }
  tcp::socket socket(executor);
  {
    Watchdog watchdog(socket, config.connect_timeout);
    co_await asio::async_connect(socket, endpoints, redirect(ec));
    if (watchdog.fired()) {
      ec = asio::error::timed_out;
    }
  }
  if (ec) {
    result.error = io_error("backend " + config.address.str() + " unavailable", ec);
    co_return result;
  }
  socket.set_option(tcp::no_delay(true), ec);
  auto conn = std::make_unique<BackendConnection>(std::move(socket));
  conn->id = next_backend_id.fetch_add(1, std::memory_order_relaxed);
  protocol::Packet packet;
  {
    Watchdog watchdog(conn->stream, config.connect_timeout);
    ec = co_await read_packet(conn->stream, conn->in, 1 << 20, conn->scratch, packet);
    if (watchdog.fired()) {
      ec = asio::error::timed_out;
    }
  }
  if (ec) {
    result.error = io_error("backend " + config.address.str() + " greeting", ec);
    co_return result;
  }
  if (protocol::is_err_packet(packet.payload)) {
    result.error = server_error(packet.payload, protocol::cap::protocol_41);
    result.error.io = true;
    co_return result;
  }
  if (auto pec = protocol::parse_handshake_v10(packet.payload, conn->greeting)) {
    result.error = io_error("backend greeting", to_error_code(pec));
    co_return result;
  }
  conn->in.consume(packet.wire_size);
  result.conn = std::move(conn);
  co_return result;
}

awaitable<std::optional<BackendError>> maybe_start_backend_tls(BackendConnection& conn,
                                                               const BackendConfig& config,
                                                               asio::ssl::context* ctx,
                                                               protocol::Capabilities& client_caps,
                                                               std::uint8_t& seq) {
  client_caps &= ~protocol::cap::ssl;
  if (config.tls_mode == BackendTlsMode::disabled || ctx == nullptr) {
    co_return std::nullopt;
  }
  const bool server_offers = conn.greeting.capabilities & protocol::cap::ssl;
  if (!server_offers) {
    if (config.tls_mode == BackendTlsMode::preferred) {
      co_return std::nullopt;
    }
    co_return BackendError{protocol::er::cant_connect, "HY000",
                           "backend " + config.address.str() +
                               " does not support TLS, but "
                               "backend.tls.mode requires it",
                           true};
  }
  client_caps |= protocol::cap::ssl;
  std::vector<std::uint8_t> out;
  protocol::PacketBuilder b(out);
  protocol::serialize_ssl_request(
      protocol::SslRequest{client_caps, 1u << 24, conn.greeting.charset, 0}, b.writer());
  b.finish(seq);
  if (error_code ec = co_await send_packet(conn, out)) {
    co_return io_error("backend TLS request", ec);
  }
  const std::string host =
      config.tls_server_name.empty() ? config.address.host : config.tls_server_name;
  error_code ec = co_await conn.stream.tls_connect(
      *ctx, host, config.tls_mode == BackendTlsMode::verify_identity);
  if (ec) {
    co_return io_error("backend TLS handshake", ec);
  }
  co_return std::nullopt;
}

awaitable<std::optional<BackendError>> login_internal(BackendConnection& conn,
                                                      const BackendConfig& config,
                                                      asio::ssl::context* tls_ctx,
                                                      std::string database) {
  using namespace protocol;
  // Only what this client uses: copying the server's flags would turn on modes like
  // CLIENT_NO_SCHEMA (db.table names refused) or CLIENT_IGNORE_SPACE.
  Capabilities caps = cap::long_password | cap::long_flag | cap::protocol_41 | cap::transactions |
                      cap::secure_connection | cap::multi_results | cap::plugin_auth;
  caps |= conn.greeting.capabilities & cap::plugin_auth_lenenc_data;
  if (!database.empty()) {
    caps |= cap::connect_with_db;
  } else {
    caps &= ~cap::connect_with_db;
  }
  std::uint8_t seq = 1;
  if (auto err = co_await maybe_start_backend_tls(conn, config, tls_ctx, caps, seq)) {
    co_return err;
  }
  std::string plugin = conn.greeting.auth_plugin.empty() ? std::string(native_password_plugin)
                                                         : conn.greeting.auth_plugin;
  std::string scramble = conn.greeting.scramble;
  HandshakeResponse41 resp;
  resp.capabilities = caps;
  resp.max_packet_size = 1u << 30;
  resp.charset = 45;  // utf8mb4_general_ci
  resp.user = config.user;
  resp.database = database;
  resp.auth_plugin = plugin;
  if (auth_proof(plugin, config.password, scramble, resp.auth_response)) {
    plugin = std::string(native_password_plugin);
    resp.auth_plugin = plugin;
    resp.auth_response = native_password_proof(config.password, scramble);
  }
  std::vector<std::uint8_t> out;
  {
    PacketBuilder b(out);
    serialize_handshake_response41(resp, b.writer());
    b.finish(seq);
  }
  wipe(resp.auth_response);
  if (error_code ec = co_await send_packet(conn, out)) {
    co_return io_error("backend login", ec);
  }
  for (int round = 0; round < 8; ++round) {
    Packet p;
    error_code ec = co_await read_packet(conn.stream, conn.in, 1 << 20, conn.scratch, p);
    if (ec) {
      co_return io_error("backend login", ec);
    }
    seq = p.next_sequence;
    const Bytes payload = p.payload;
    std::string reply;
    bool send = false;
    if (is_ok_packet(payload)) {
      conn.in.consume(p.wire_size);
      conn.caps = caps;
      conn.charset = resp.charset;
      conn.user = config.user;
      conn.authenticated = true;
      co_return std::nullopt;
    }
    if (is_err_packet(payload)) {
      BackendError e = server_error(payload, caps);
      conn.in.consume(p.wire_size);
      co_return e;
    }
    if (payload[0] == auth_switch_header) {
      AuthSwitchRequest sw;
      if (parse_auth_switch_request(payload, sw)) {
        conn.in.consume(p.wire_size);
        co_return BackendError{er::handshake, "08S01", "malformed auth switch", true};
      }
      plugin = sw.plugin;
      scramble = sw.data;
      if (!scramble.empty() && scramble.back() == '\0') {
        scramble.pop_back();
      }
      if (auth_proof(plugin, config.password, scramble, reply)) {
        conn.in.consume(p.wire_size);
        co_return BackendError{er::handshake, "08S01",
                               "backend asks for unsupported auth plugin " + plugin, true};
      }
      send = true;
    } else if (payload[0] == auth_more_data_header && payload.size() >= 2) {
      if (plugin == caching_sha2_plugin && payload.size() == 2 &&
          payload[1] == caching_sha2_fast_auth_ok) {
        conn.in.consume(p.wire_size);
        continue;  // the OK follows
      }
      if (plugin == caching_sha2_plugin && payload.size() == 2 &&
          payload[1] == caching_sha2_full_auth) {
        if (conn.stream.is_tls()) {
          reply = config.password;
          reply.push_back('\0');
        } else {
          reply.assign(1, static_cast<char>(caching_sha2_request_public_key));
        }
        send = true;
      } else if (plugin == caching_sha2_plugin) {
        // The server's RSA public key, after we asked for it.
        const std::string_view pem = as_string_view(payload.subspan(1));
        if (rsa_encrypt_password(config.password, scramble, pem, reply)) {
          conn.in.consume(p.wire_size);
          co_return BackendError{er::handshake, "08S01", "cannot use backend public key", true};
        }
        send = true;
      }
    }
    conn.in.consume(p.wire_size);
    if (!send) {
      co_return BackendError{er::handshake, "08S01", "unexpected packet during backend login",
                             true};
    }
    {
      PacketBuilder b(out);
      b.writer().write_string(reply);
      b.finish(seq);
    }
    wipe(reply);
    if (error_code wec = co_await send_packet(conn, out)) {
      co_return io_error("backend login", wec);
    }
  }
  co_return BackendError{er::handshake, "08S01", "backend login did not finish", true};
}

awaitable<QueryResult> run_query(BackendConnection& conn, std::string sql,
                                 std::chrono::milliseconds timeout) {
  using namespace protocol;
  QueryResult result;
  std::vector<std::uint8_t> out;
  std::uint8_t seq = 0;
  {
    PacketBuilder b(out);
    b.writer().write_u8(static_cast<std::uint8_t>(Command::query));
    b.writer().write_string(sql);
    b.finish(seq);
  }
  Watchdog watchdog(conn.stream, timeout);
  if (error_code ec = co_await send_packet(conn, out)) {
    conn.broken = true;
    result.error = io_error("backend query", ec);
    co_return result;
  }
  enum class Phase { first, columns, columns_eof, rows } phase = Phase::first;
  std::uint64_t columns_left = 0;
  for (;;) {
    Packet p;
    error_code ec = co_await read_packet(conn.stream, conn.in, 1u << 30, conn.scratch, p);
    if (ec) {
      conn.broken = true;
      result.error = io_error(watchdog.fired() ? "backend query timed out" : "backend query",
                              watchdog.fired() ? asio::error::timed_out : ec);
      co_return result;
    }
    const Bytes payload = p.payload;
    bool finished = false;
    bool more = false;
    if (phase == Phase::first || phase == Phase::rows) {
      if (is_err_packet(payload)) {
        result.error = server_error(payload, conn.caps);
        finished = true;
      } else if (phase == Phase::first && is_ok_packet(payload)) {
        OkPacket ok;
        if (!parse_ok(payload, conn.caps, ok)) {
          result.affected_rows = ok.affected_rows;
          result.status = ok.status;
        }
        more = result.status & status::more_results_exists;
        finished = true;
      } else if (phase == Phase::rows && is_eof_packet(payload)) {
        result.status = terminator_status(payload, conn.caps);
        more = result.status & status::more_results_exists;
        finished = true;
      } else if (phase == Phase::first) {
        Reader r(payload);
        columns_left = r.read_lenenc_int();
        if (!r.ok() || payload[0] == local_infile_header) {
          conn.in.consume(p.wire_size);
          conn.broken = true;
          result.error = BackendError{er::unknown_error, "HY000", "unexpected reply", true};
          co_return result;
        }
        phase = Phase::columns;
      } else {
        Reader r(payload);
        std::vector<std::optional<std::string>> row;
        while (!r.at_end() && r.ok()) {
          if (r.peek_u8() == 0xfb) {
            r.skip(1);
            row.emplace_back(std::nullopt);
          } else {
            row.emplace_back(std::string(r.read_lenenc_string()));
          }
        }
        result.rows.push_back(std::move(row));
      }
    } else if (phase == Phase::columns) {
      Reader r(payload);
      for (int i = 0; i < 4; ++i) {
        (void)r.read_lenenc_string();  // catalog, schema, table, org_table
      }
      result.columns.emplace_back(r.read_lenenc_string());
      if (--columns_left == 0) {
        phase = Phase::columns_eof;
      }
    } else {
      phase = Phase::rows;  // the EOF after the column definitions
    }
    conn.in.consume(p.wire_size);
    if (finished) {
      if (!more) {
        co_return result;
      }
      phase = Phase::first;
    }
  }
}

awaitable<void> quit_backend(BackendConnection& conn) {
  if (conn.stream.is_open() && !conn.broken) {
    std::vector<std::uint8_t> out;
    std::uint8_t seq = 0;
    protocol::PacketBuilder b(out);
    b.writer().write_u8(static_cast<std::uint8_t>(protocol::Command::quit));
    b.finish(seq);
    Watchdog watchdog(conn.stream, std::chrono::milliseconds(1000));
    IoResult w = co_await conn.stream.write_all(asio::buffer(out));
    // Wait (within the same second) for the backend to close its side: the pool slot is freed
    // with this connection, and until the backend has really let go it still counts against
    // its max_connections, so a new connection opened in its place would exceed the limit.
    std::array<std::uint8_t, 256> sink{};
    while (!w.ec && conn.stream.is_open()) {
      IoResult r = co_await conn.stream.read_some(asio::buffer(sink));
      if (r.ec) {
        break;
      }
    }
  }
  conn.stream.close();
}

}  // namespace ghostgate::proxy
