#include "proxy/session/session.h"

#include "protocol/auth.h"
#include "protocol/handshake.h"
#include "protocol/packet_scanner.h"
#include "protocol/packets.h"
#include "protocol/statement.h"
#include "proxy/observe/log.h"
#include "proxy/observe/metrics.h"
#include "proxy/online_ddl/service.h"

namespace ghostgate::proxy {

using namespace protocol;

namespace {

constexpr std::uint16_t cr_server_lost = 2013;  // what clients report for a dropped server
constexpr std::size_t max_auth_packet = 1 << 20;
constexpr std::uint32_t local_statement_base = 0xf0000000u;
// How long a client that has not answered its greeting may keep the greeting's backend
// connection while other clients wait for one (capped by timeouts.handshake).
constexpr std::chrono::milliseconds greeting_hold{1000};
// How far the backend read buffer may grow while a large response streams through.
constexpr std::size_t max_relay_buffer = 256 * 1024;

// The backend connection whose scramble a client was greeted with, while the client composes
// its answer.
//
// Why: the greeting must carry the scramble of a real backend connection (the backend checks
// the client's proof), so each greeted client holds one. A socket that never answers would keep
// it for all of timeouts.handshake, and pool.max-connections such sockets would lock every
// newcomer out. So while the client is silent and the pool is under pressure (someone waits for
// a slot, or the limit is reached), the connection goes back after `period`: a pooled one to the
// idle list (only its greeting was read, nothing was sent on it), a fresh one, half-way through
// its login, is closed and its slot freed. A client that answers afterwards gets a fresh
// connection and an auth switch to its scramble (Session::handshake). Without pressure nothing
// changes, and a client answering within `period` (all but the slowest) never notices: the cost
// is one timer per login.
//
// All on the session's worker thread: the timer handler and the session never run at once.
class GreetingHold {
 public:
  GreetingHold(Pool& pool, const asio::any_io_executor& ex, std::unique_ptr<BackendConnection> conn,
               std::chrono::milliseconds period)
      : state_(std::make_shared<State>(pool, ex, std::move(conn), period)) {
    wait(state_);
  }
  GreetingHold(const GreetingHold&) = delete;
  GreetingHold& operator=(const GreetingHold&) = delete;
  // Nothing taken on the way out (an error path, the coroutine destroyed): back to the pool.
  ~GreetingHold() { state_->pool.give_back(take()); }

  // The connection, or nullptr if it went back to the pool; stops the hold.
  std::unique_ptr<BackendConnection> take() {
    state_->armed = false;
    state_->timer.cancel();
    return std::move(state_->conn);
  }

 private:
  struct State {
    State(Pool& p, const asio::any_io_executor& ex, std::unique_ptr<BackendConnection> c,
          std::chrono::milliseconds d)
        : pool(p), timer(ex), conn(std::move(c)), period(d) {}
    Pool& pool;
    asio::steady_timer timer;
    std::unique_ptr<BackendConnection> conn;
    std::chrono::milliseconds period;
    bool armed = true;  // false once taken: a handler already queued must do nothing
  };

  static void wait(const std::shared_ptr<State>& state) {
    state->timer.expires_after(state->period);
    state->timer.async_wait([state](const error_code& ec) {
      if (ec || !state->armed || !state->conn) {
        return;
      }
      if (!state->pool.under_pressure()) {
        wait(state);  // nobody needs it (yet)
        return;
      }
      state->armed = false;
      state->pool.give_back(std::move(state->conn));
    });
  }

  std::shared_ptr<State> state_;
};

}  // namespace

awaitable<void> run_session(tcp::socket socket, Runtime& runtime, Worker& worker) {
  Session session(std::move(socket), runtime, worker);
  try {
    co_await session.run();
  } catch (const std::exception& e) {
    // An escaped exception ends only this session.
    metrics().session_exceptions.inc();
    log_error(session.id(), "session ended by exception: {}", e.what());
  }
}

Session::Session(tcp::socket socket, Runtime& runtime, Worker& worker)
    : runtime_(runtime),
      worker_(worker),
      config_(runtime.config_snapshot()),
      id_(runtime.next_session_id.fetch_add(1, std::memory_order_relaxed)),
      client_(std::move(socket)),
      client_in_(4096) {
  client_in_.count_into(&metrics().client_bytes_in);
}

awaitable<void> Session::run() {
  error_code ignored;
  client_.socket().set_option(tcp::no_delay(true), ignored);
  bool logged_in = false;
  {
    // The whole login, whatever it waits for (a pool slot, the backend, the client): the client
    // socket is closed at the deadline, and the waits on the backend end by it too.
    const auto timeout = config_->timeouts.handshake;
    if (timeout.count() > 0) {
      login_deadline_ = std::chrono::steady_clock::now() + timeout;
    }
    Watchdog watchdog(client_, timeout);
    logged_in = co_await handshake();
    if (watchdog.fired()) {
      log_info(id_, "handshake timed out");
      logged_in = false;
    }
    login_deadline_.reset();
  }
  if (logged_in) {
    co_await command_loop();
  }
  release_backend();
  client_.close();
}

void Session::release_backend() {
  if (!backend_) {
    return;
  }
  // A client that left inside a transaction leaves its row locks behind until the connection
  // is reset: close it instead (the backend rolls back) so nothing waits for the next client.
  const bool in_transaction = (status_ & status::in_trans) != 0;
  if (tracker_.done() && !backend_->broken && !in_transaction) {
    worker_.pool.give_back(std::move(backend_));
  } else {
    backend_->broken = true;
    worker_.pool.discard(std::move(backend_));
  }
}

awaitable<bool> Session::write_client(std::vector<std::uint8_t>& bytes) {
  IoResult r = co_await client_.write_all(asio::buffer(bytes));
  bytes.clear();
  metrics().client_bytes_out.inc(r.bytes);
  co_return !r.ec;
}

awaitable<bool> Session::write_client(Bytes bytes) {
  IoResult r = co_await client_.write_all(asio::buffer(bytes.data(), bytes.size()));
  metrics().client_bytes_out.inc(r.bytes);
  co_return !r.ec;
}

void Session::observe_added_latency() {
  if (statement_started_) {
    metrics().added_latency_seconds.observe(std::chrono::steady_clock::now() - *statement_started_);
    statement_started_.reset();
  }
}

void Session::local_ok(std::vector<std::uint8_t>& out, std::uint8_t& seq, bool more_results,
                       std::uint64_t affected) const {
  OkPacket ok;
  ok.affected_rows = affected;
  ok.status = static_cast<std::uint16_t>(status_ & ~status::more_results_exists);
  if (more_results) {
    ok.status |= status::more_results_exists;
  }
  append_ok(out, seq, client_caps_, ok);
}

void Session::local_error(std::vector<std::uint8_t>& out, std::uint8_t& seq, std::uint16_t code,
                          std::string_view state, std::string_view message) const {
  // Before the client has said what it supports (a refusal before or instead of the greeting),
  // answer in the 4.1 format every client ghostgate accepts reads.
  const Capabilities caps = client_caps_ != 0 ? client_caps_ : cap::protocol_41;
  // 2000-2999 are client-side codes (2003 can't connect, 2013 lost connection): a client builds
  // them itself, and libmariadb rejects one arriving from a server as a malformed packet, which
  // would hide the reason. Sent by ghostgate they become 1105 with SQLSTATE 08S01
  // (communication link failure, the class connectors treat as a lost connection).
  if (code >= 2000 && code < 3000) {
    protocol::append_err(out, seq, caps, er::unknown_error, "08S01", message);
    return;
  }
  protocol::append_err(out, seq, caps, code, state, message);
}

// ---------------------------------------------------------------------------------------------
// Handshake

awaitable<std::unique_ptr<BackendConnection>> Session::open_backend(
    std::uint8_t client_seq, const protocol::Capabilities* reuse_idle) {
  const auto not_after = login_deadline_.value_or(std::chrono::steady_clock::time_point::max());
  std::shared_ptr<void> slot;
  if (reuse_idle != nullptr) {
    Pool::GreetingSource got = co_await worker_.pool.acquire_for_greeting(*reuse_idle, not_after);
    if (got.idle) {
      co_return std::move(got.idle);
    }
    slot = std::move(got.slot);
  } else {
    slot = co_await worker_.pool.reserve_slot(not_after);
  }
  if (!slot) {
    if (!client_.is_open()) {
      co_return nullptr;  // the handshake timed out meanwhile
    }
    log_warn(id_, "no backend connection free within the acquire timeout");
    append_error(client_seq, er::con_count, "08004",
                 "ghostgate: all backend connections are busy (pool.max-connections reached)");
    co_await write_client(out_);
    co_return nullptr;
  }
  ConnectResult r = co_await connect_backend(config_->backend);
  if (!r.conn) {
    runtime_.pool_shared->connect_failures.fetch_add(1, std::memory_order_relaxed);
    log_warn(id_, "{}", r.error.message);
    append_error(client_seq, r.error.code, r.error.sql_state.empty() ? "HY000" : r.error.sql_state,
                 "ghostgate: " + r.error.message);
    co_await write_client(out_);
    co_return nullptr;
  }
  runtime_.pool_shared->created.fetch_add(1, std::memory_order_relaxed);
  r.conn->pool_slot = std::move(slot);
  co_return std::move(r.conn);
}

awaitable<bool> Session::handshake() {
  // Greet with the scramble of the backend connection the client will most likely get, so its
  // proof can be checked by the backend itself: on a fresh connection by relaying the login, on
  // a pooled one with COM_CHANGE_USER.
  std::unique_ptr<BackendConnection> conn = co_await open_backend(0, &worker_.last_key);
  if (!conn) {
    co_return false;
  }
  bool fresh = !conn->authenticated;
  HandshakeV10 greeting = conn->greeting;
  greeting.capabilities = (greeting.capabilities & cap::proxy_supported) | cap::long_password;
  if (runtime_.client_tls) {
    greeting.capabilities |= cap::ssl;
  } else {
    greeting.capabilities &= ~cap::ssl;
  }
  greeting.mariadb_capabilities = 0;
  std::uint8_t seq = 0;
  {
    PacketBuilder b(out_);
    serialize_handshake_v10(greeting, b.writer());
    b.finish(seq);
  }
  if (!co_await write_client(out_)) {
    worker_.pool.give_back(std::move(conn));
    co_return false;
  }

  Packet packet;
  error_code ec;
  {
    // Until the client has answered, the connection may go back to the pool (GreetingHold).
    auto period = greeting_hold;
    if (config_->timeouts.handshake.count() > 0) {
      period = std::min(period, config_->timeouts.handshake);
    }
    GreetingHold hold(worker_.pool, client_.socket().get_executor(), std::move(conn), period);
    ec = co_await read_packet_exact(client_, client_in_, max_auth_packet, client_scratch_, packet);
    if (ec) {
      co_return false;
    }
    Capabilities caps = peek_client_capabilities(packet.payload);
    if (is_ssl_request(packet.payload, caps)) {
      client_in_.consume(packet.wire_size);
      if (!runtime_.client_tls) {
        co_return false;
      }
      if (error_code tls_ec = co_await client_.tls_accept(*runtime_.client_tls)) {
        log_info(id_, "client TLS handshake failed: {}", tls_ec.message());
        co_return false;
      }
      ec = co_await read_packet(client_, client_in_, max_auth_packet, client_scratch_, packet);
      if (ec) {
        co_return false;
      }
    }
    conn = hold.take();
  }
  seq = packet.next_sequence;
  HandshakeResponse41 response;
  const std::error_code parse_ec = parse_handshake_response41(packet.payload, response);
  client_in_.consume(packet.wire_size);
  if (parse_ec) {
    metrics().protocol_errors.inc();
    append_error(seq, er::handshake, "08S01", "ghostgate: bad handshake");
    co_await write_client(out_);
    worker_.pool.give_back(std::move(conn));
    co_return false;
  }
  if (config_->client_tls.required && !client_.is_tls()) {
    append_error(seq, er::access_denied, "28000",
                 "ghostgate: connections without TLS are refused (client-tls.required)");
    co_await write_client(out_);
    worker_.pool.give_back(std::move(conn));
    wipe(response.auth_response);
    co_return false;
  }
  client_caps_ = response.capabilities & greeting.capabilities;
  const Capabilities key = client_caps_ & cap::session_shaping;
  std::string plugin = (client_caps_ & cap::plugin_auth) && !response.auth_plugin.empty()
                           ? response.auth_plugin
                           : std::string(native_password_plugin);
  std::string scramble = conn ? conn->greeting.scramble : std::string();

  if (!conn || (!fresh && conn->pool_key() != key)) {
    // The greeting connection went back to the pool while the client was silent, or it was
    // negotiated for other capabilities. Open one that fits and ask the client for a proof
    // over that connection's scramble (an auth switch). Never a pooled one: a server that
    // renews the scramble on COM_CHANGE_USER (MariaDB does, once the first one was used) would
    // then ask for a second auth switch, which clients do not expect (pymysql takes the second
    // request for the OK; libmysqlclient refuses it).
    if (!conn) {
      log_debug(id_, "greeting connection released while the client was silent: auth switch");
    }
    worker_.pool.give_back(std::move(conn));
    if ((plugin != native_password_plugin && plugin != caching_sha2_plugin) ||
        !(client_caps_ & cap::plugin_auth)) {
      append_error(seq, er::handshake, "08S01",
                   "ghostgate: cannot switch this authentication plugin; please reconnect");
      co_await write_client(out_);
      co_return false;
    }
    fresh = true;
    conn = co_await open_backend(seq);
    if (!conn) {
      co_return false;
    }
    scramble = conn->greeting.scramble;
    {
      PacketBuilder b(out_);
      serialize_auth_switch_request(AuthSwitchRequest{plugin, scramble + '\0'}, b.writer());
      b.finish(seq);
    }
    if (!co_await write_client(out_)) {
      worker_.pool.give_back(std::move(conn));
      co_return false;
    }
    ec = co_await read_packet(client_, client_in_, max_auth_packet, client_scratch_, packet);
    if (ec) {
      worker_.pool.give_back(std::move(conn));
      co_return false;
    }
    wipe(response.auth_response);
    response.auth_response.assign(as_string_view(packet.payload));
    seq = packet.next_sequence;
    client_in_.consume(packet.wire_size);
  }
  worker_.last_key = key;
  backend_ = std::move(conn);
  user_ = response.user;
  db_ = response.database;

  std::uint8_t backend_seq = 0;
  if (fresh) {
    // Relay the login: the client's response with capabilities the backend and ghostgate share.
    Capabilities backend_caps =
        (client_caps_ & backend_->greeting.capabilities & cap::proxy_supported) |
        (response.capabilities & cap::long_password);
    backend_seq = 1;
    std::optional<BackendError> tls_error;
    {
      Watchdog watchdog(backend_->stream, login_read_timeout());
      tls_error = co_await maybe_start_backend_tls(
          *backend_, config_->backend, runtime_.backend_tls.get(), backend_caps, backend_seq);
    }
    if (tls_error) {
      log_warn(id_, "{}", tls_error->message);
      append_error(seq, tls_error->code, "HY000", "ghostgate: " + tls_error->message);
      co_await write_client(out_);
      backend_->broken = true;
      wipe(response.auth_response);
      co_return false;
    }
    HandshakeResponse41 relayed = response;
    relayed.capabilities = backend_caps;
    relayed.mariadb_capabilities = 0;
    relayed.auth_plugin = plugin;
    if (!(backend_caps & cap::connect_attrs)) {
      relayed.has_connect_attrs = false;
    }
    {
      PacketBuilder b(out_);
      serialize_handshake_response41(relayed, b.writer());
      b.finish(backend_seq);
    }
    wipe(relayed.auth_response);
    backend_->caps = backend_caps;
    backend_->charset = response.charset;
  } else {
    // A pooled connection: COM_CHANGE_USER logs the client in and resets the session.
    ChangeUser change;
    change.user = response.user;
    change.auth_response = response.auth_response;
    change.charset = response.charset;
    change.auth_plugin = plugin;
    change.connect_attrs = response.connect_attrs;
    // The server parses COM_CHANGE_USER by the capabilities the connection was opened with: if
    // those include attributes, the block must be there, if only empty.
    change.has_connect_attrs = (backend_->caps & cap::connect_attrs) != 0;
    {
      PacketBuilder b(out_);
      serialize_change_user(change, backend_->caps, b.writer());
      b.finish(backend_seq);
    }
    wipe(change.auth_response);
    backend_->charset = response.charset;
  }
  wipe(response.auth_response);
  IoResult w = co_await backend_->stream.write_all(asio::buffer(out_));
  out_.clear();
  if (w.ec) {
    backend_->broken = true;
    co_await backend_lost(false, w.ec);
    co_return false;
  }
  std::string database_after = fresh ? std::string() : response.database;
  co_return co_await relay_login(scramble, plugin, backend_seq, seq, std::move(database_after));
}

std::chrono::milliseconds Session::login_read_timeout() const {
  using std::chrono::milliseconds;
  milliseconds timeout = config_->timeouts.backend_read;  // 0: none
  if (login_deadline_) {
    const auto left = std::chrono::duration_cast<milliseconds>(*login_deadline_ -
                                                               std::chrono::steady_clock::now());
    const milliseconds bounded = std::max(left, milliseconds(1));  // 0 would mean "none"
    timeout = timeout.count() > 0 ? std::min(timeout, bounded) : bounded;
  }
  return timeout;
}

// Relays the authentication exchange between client and backend until the backend says OK or
// ERR, renumbering sequence ids (the two sides count from different starts). Backend reads are
// bounded by timeouts.backend-read and, during the client's login, by timeouts.handshake: the
// stream is closed when they run out (the connection is broken then anyway).
awaitable<bool> Session::relay_login(std::string scramble, std::string plugin,
                                     std::uint8_t backend_seq, std::uint8_t client_seq,
                                     std::string database_after) {
  bool cleartext_pending = false;  // caching_sha2 full auth: client TLS, backend plaintext
  for (int round = 0; round < 16; ++round) {
    Packet p;
    error_code ec;
    {
      Watchdog watchdog(backend_->stream, login_read_timeout());
      ec = co_await read_packet(backend_->stream, backend_->in, max_auth_packet, backend_->scratch,
                                p);
      if (watchdog.fired()) {
        ec = asio::error::timed_out;
      }
    }
    if (ec) {
      // In the client's numbering (backend_lost would use the command tracker's).
      backend_->broken = true;
      log_warn(id_, "backend connection lost during login: {}", ec.message());
      out_.clear();
      append_error(client_seq, cr_server_lost, "HY000",
                   "ghostgate: lost connection to backend (" + ec.message() + ")");
      co_await write_client(out_);
      co_return false;
    }
    backend_seq = p.next_sequence;
    const Bytes payload = p.payload;
    if (payload.empty()) {
      backend_->broken = true;
      co_return false;
    }
    const std::uint8_t first = payload[0];
    if (first == auth_switch_header) {
      AuthSwitchRequest sw;
      if (!parse_auth_switch_request(payload, sw)) {
        plugin = sw.plugin;
        scramble = sw.data;
        if (!scramble.empty() && scramble.back() == '\0') {
          scramble.pop_back();
        }
        // The server renewed the scramble (MariaDB does on COM_CHANGE_USER once the first was
        // used): the next client of this pooled connection is greeted with the new one.
        backend_->greeting.scramble = scramble;
      }
    }
    if (cleartext_pending && first == auth_more_data_header) {
      // The backend's RSA key arrived: encrypt the password the client sent over TLS.
      cleartext_pending = false;
      backend_->in.consume(p.wire_size);
      std::string password;  // held only for this exchange
      // The client's cleartext reply was stashed in client_scratch_.
      password.assign(reinterpret_cast<const char*>(client_scratch_.data()),
                      client_scratch_.size());
      OPENSSL_cleanse(client_scratch_.data(), client_scratch_.size());
      client_scratch_.clear();
      if (!password.empty() && password.back() == '\0') {
        password.pop_back();
      }
      std::string encrypted;
      const auto rsa_ec =
          rsa_encrypt_password(password, scramble, as_string_view(payload.subspan(1)), encrypted);
      wipe(password);
      if (rsa_ec) {
        backend_->broken = true;
        append_error(client_seq, er::handshake, "08S01", "ghostgate: bad backend public key");
        co_await write_client(out_);
        co_return false;
      }
      PacketBuilder b(out_);
      b.writer().write_string(encrypted);
      b.finish(backend_seq);
      IoResult w = co_await backend_->stream.write_all(asio::buffer(out_));
      out_.clear();
      if (w.ec) {
        backend_->broken = true;
        co_await backend_lost(false, w.ec);
        co_return false;
      }
      continue;
    }
    if (first == ok_header && !database_after.empty()) {
      // Logged in; now select the database the client asked for, so a refusal comes back with
      // the same error a direct login gets (COM_CHANGE_USER reports it as a bad handshake).
      std::vector<std::uint8_t> held(payload.begin(), payload.end());
      backend_->in.consume(p.wire_size);
      std::uint8_t iseq = 0;
      {
        PacketBuilder b(out_);
        b.writer().write_u8(static_cast<std::uint8_t>(Command::init_db));
        b.writer().write_string(database_after);
        b.finish(iseq);
      }
      IoResult w = co_await backend_->stream.write_all(asio::buffer(out_));
      out_.clear();
      Packet reply;
      error_code rec = w.ec;
      if (!rec) {
        Watchdog watchdog(backend_->stream, login_read_timeout());
        rec = co_await read_packet(backend_->stream, backend_->in, max_auth_packet,
                                   backend_->scratch, reply);
        if (watchdog.fired()) {
          rec = asio::error::timed_out;
        }
      }
      if (rec) {
        backend_->broken = true;
        co_await backend_lost(false, rec);
        co_return false;
      }
      const bool db_ok = is_ok_packet(reply.payload);
      append_packet(out_, client_seq, db_ok ? Bytes(held) : reply.payload);
      backend_->in.consume(reply.wire_size);
      if (!co_await write_client(out_) || !db_ok) {
        backend_->broken = !db_ok || backend_->broken;
        co_return false;
      }
      OkPacket ok;
      if (!parse_ok(Bytes(held), backend_->caps, ok)) {
        status_ = ok.status;
      }
      backend_->authenticated = true;
      backend_->user = user_;
      co_return true;
    }
    // Forward the backend's packet to the client.
    append_packet(out_, client_seq, payload);
    backend_->in.consume(p.wire_size);
    if (!co_await write_client(out_)) {
      backend_->broken = true;
      co_return false;
    }
    if (first == ok_header) {
      OkPacket ok;
      if (!parse_ok(payload, backend_->caps, ok)) {
        status_ = ok.status;
      }
      backend_->authenticated = true;
      backend_->user = user_;
      log_debug(id_, "logged in as {} on backend connection {}", user_, backend_->id);
      co_return true;
    }
    if (first == err_header) {
      ErrPacket err;
      if (!parse_err(payload, backend_->caps, err)) {
        log_info(id_, "login refused by backend: {}", err.message);
      }
      // The backend closes a connection whose login failed; after a failed COM_CHANGE_USER
      // its state is not worth trusting either.
      backend_->broken = true;
      co_return false;
    }
    const bool fast_auth_ok = plugin == caching_sha2_plugin && payload.size() == 2 &&
                              first == auth_more_data_header &&
                              payload[1] == caching_sha2_fast_auth_ok;
    if (fast_auth_ok) {
      continue;  // the OK follows without a client reply
    }
    const bool full_auth = plugin == caching_sha2_plugin && payload.size() == 2 &&
                           first == auth_more_data_header && payload[1] == caching_sha2_full_auth;
    // The client's reply goes to the backend.
    Packet reply;
    ec = co_await read_packet(client_, client_in_, max_auth_packet, client_scratch_, reply);
    if (ec) {
      backend_->broken = true;
      co_return false;
    }
    client_seq = reply.next_sequence;
    if (full_auth && !client_.is_tls() && backend_->stream.is_tls() && reply.payload.size() == 1 &&
        reply.payload[0] == caching_sha2_request_public_key) {
      // A plain-text client asks for the server's public key; the backend link is TLS, where a
      // key request is not allowed (TiDB has none at all). Give the client ghostgate's own key,
      // decrypt its password, and send it in clear over the TLS link, as a TLS client would.
      client_in_.consume(reply.wire_size);
      const RsaKeyPair* key = runtime_.rsa_key();
      if (key == nullptr) {
        backend_->broken = true;
        append_error(client_seq, er::handshake, "08S01", "ghostgate: no RSA key available");
        co_await write_client(out_);
        co_return false;
      }
      {
        PacketBuilder b(out_);
        b.writer().write_u8(auth_more_data_header);
        b.writer().write_string(key->public_pem());
        b.finish(client_seq);
      }
      Packet encrypted;
      error_code rec = co_await write_client(out_) ? error_code{} : asio::error::broken_pipe;
      if (!rec) {
        rec =
            co_await read_packet(client_, client_in_, max_auth_packet, client_scratch_, encrypted);
      }
      if (rec) {
        backend_->broken = true;
        co_return false;
      }
      client_seq = encrypted.next_sequence;
      std::string password;  // held only for this exchange
      const std::error_code dec_ec =
          key->decrypt_password(as_string_view(encrypted.payload), scramble, password);
      client_in_.consume(encrypted.wire_size);
      if (dec_ec) {
        backend_->broken = true;
        append_error(client_seq, er::handshake, "08S01",
                     "ghostgate: the password was not encrypted with the key ghostgate sent");
        co_await write_client(out_);
        co_return false;
      }
      password.push_back('\0');
      {
        PacketBuilder b(out_);
        b.writer().write_string(password);
        b.finish(backend_seq);
      }
      wipe(password);
    } else if (full_auth && client_.is_tls() && !backend_->stream.is_tls() &&
               !(reply.payload.size() == 1 &&
                 reply.payload[0] == caching_sha2_request_public_key)) {
      // The client sent its password in clear (safe on its TLS link); the backend link is not
      // encrypted, so fetch the backend's public key and send it RSA-encrypted instead.
      client_scratch_.assign(reply.payload.begin(), reply.payload.end());
      client_in_.consume(reply.wire_size);
      cleartext_pending = true;
      const std::uint8_t ask = caching_sha2_request_public_key;
      PacketBuilder b(out_);
      b.writer().write_u8(ask);
      b.finish(backend_seq);
    } else {
      append_packet(out_, backend_seq, reply.payload);
      client_in_.consume(reply.wire_size);
    }
    IoResult w = co_await backend_->stream.write_all(asio::buffer(out_));
    OPENSSL_cleanse(out_.data(), out_.size());  // may hold a password or a proof
    out_.clear();
    if (w.ec) {
      backend_->broken = true;
      co_await backend_lost(false, w.ec);
      co_return false;
    }
  }
  backend_->broken = true;
  co_return false;
}

// ---------------------------------------------------------------------------------------------
// Commands

awaitable<Session::Outcome> Session::command_loop() {
  for (;;) {
    if (runtime_.draining.load(std::memory_order_relaxed)) {
      co_return Outcome::close;
    }
    client_in_.shrink();
    Packet packet;
    error_code ec = co_await read_packet(client_, client_in_, config_->max_packet_size,
                                         client_scratch_, packet);
    if (ec) {
      if (ec.category() != asio::error::get_misc_category() &&
          ec != asio::error::connection_reset && ec != asio::error::operation_aborted) {
        // Oversized or malformed: say why, then close.
        metrics().protocol_errors.inc();
        std::uint8_t seq = 1;
        if (ec.message() == "packet too large") {
          append_error(seq, er::net_packet_too_large, "08S01",
                       "ghostgate: packet bigger than max-packet-size");
          co_await write_client(out_);
        }
      }
      co_return Outcome::close;
    }
    if (packet.payload.empty()) {
      co_return Outcome::close;
    }
    // In flight from here, unless a drain began meanwhile: the drain stores `draining` and then
    // waits for the count to reach 0, we count and then look at `draining` (both seq_cst), so
    // either it waits for this statement or the statement is not started and never answered.
    runtime_.statements_in_flight.fetch_add(1);
    if (runtime_.draining.load()) {
      runtime_.statements_in_flight.fetch_sub(1);
      co_return Outcome::close;
    }
    statement_started_ = std::chrono::steady_clock::now();
    Outcome outcome = co_await dispatch(packet);
    statement_started_.reset();
    runtime_.statements_in_flight.fetch_sub(1);
    if (outcome == Outcome::close) {
      co_return outcome;
    }
  }
}

awaitable<Session::Outcome> Session::dispatch(Packet packet) {
  const auto cmd = static_cast<Command>(packet.payload[0]);
  switch (cmd) {
    case Command::quit:
      client_in_.consume(packet.wire_size);
      co_return Outcome::close;
    case Command::query:
      co_return co_await handle_query(packet);
    case Command::stmt_prepare:
      co_return co_await handle_prepare(packet);
    case Command::stmt_execute:
    case Command::stmt_close:
    case Command::stmt_reset:
    case Command::stmt_fetch:
    case Command::stmt_send_long_data: {
      std::uint32_t stmt_id = 0;
      if (packet.payload.size() >= 5) {
        stmt_id = Reader(packet.payload.subspan(1)).read_u32();
        if (stmt_id >= local_statement_base && local_statements_.count(stmt_id) != 0) {
          co_return co_await handle_local_statement(packet, cmd, stmt_id);
        }
      }
      if (cmd == Command::stmt_execute) {
        metrics().statements.inc(proxy::Decision::forwarded, StatementKind::execute);
      }
      const Outcome o = co_await forward(packet, cmd);
      if (!prepared_use_.empty() && o == Outcome::ok) {
        if (const auto it = prepared_use_.find(stmt_id); it != prepared_use_.end()) {
          if (cmd == Command::stmt_close) {
            prepared_use_.erase(it);
          } else if (cmd == Command::stmt_execute && !tracker_.ended_with_error()) {
            db_ = it->second;
          }
        }
      }
      co_return o;
    }
    case Command::change_user:
      co_return co_await handle_change_user(packet);
    case Command::binlog_dump:
    case Command::binlog_dump_gtid:
    case Command::register_slave:
    case Command::table_dump:
    case Command::connect_out:
    case Command::clone:
    case Command::subscribe_group_replication_stream: {
      client_in_.consume(packet.wire_size);
      std::uint8_t seq = 1;
      append_error(seq, er::not_supported_yet, "42000",
                   "ghostgate: replication commands are not supported through the proxy");
      co_return co_await write_client(out_) ? Outcome::ok : Outcome::close;
    }
    case Command::init_db: {
      std::string db(as_string_view(packet.payload.subspan(1)));
      Outcome o = co_await forward(packet, cmd);
      if (o == Outcome::ok && !tracker_.ended_with_error()) {
        db_ = std::move(db);
      }
      co_return o;
    }
    case Command::reset_connection: {
      Outcome o = co_await forward(packet, cmd);
      if (o == Outcome::ok && !tracker_.ended_with_error()) {
        local_statements_.clear();
        prepared_use_.clear();
      }
      co_return o;
    }
    case Command::set_option: {
      Reader r(packet.payload.subspan(1));
      const std::uint16_t option = r.read_u16();
      Outcome o = co_await forward(packet, cmd);
      if (o == Outcome::ok && !tracker_.ended_with_error() && r.ok() && backend_) {
        // The connection's multi-statement mode no longer matches its pool key.
        const Capabilities flag = cap::multi_statements;
        client_caps_ = option == 0 ? (client_caps_ | flag) : (client_caps_ & ~flag);
        backend_->caps = option == 0 ? (backend_->caps | flag) : (backend_->caps & ~flag);
        backend_->not_reusable = true;
      }
      co_return o;
    }
    default:
      co_return co_await forward(packet, cmd);
  }
}

awaitable<Session::Outcome> Session::forward(Packet packet, Command cmd) {
  if (!backend_) {
    client_in_.consume(packet.wire_size);
    std::uint8_t seq = 1;
    append_error(seq, cr_server_lost, "HY000", "ghostgate: lost connection to backend");
    co_await write_client(out_);
    co_return Outcome::close;
  }
  observe_added_latency();
  // The original bytes, unchanged (continuation frames included).
  IoResult w =
      co_await backend_->stream.write_all(asio::buffer(client_in_.data().data(), packet.wire_size));
  client_in_.consume(packet.wire_size);
  if (w.ec) {
    backend_->broken = true;
    co_return co_await backend_lost(false, w.ec);
  }
  if (!command_has_response(cmd)) {
    co_return Outcome::ok;
  }
  co_return co_await relay_response(cmd, 0);
}

awaitable<Session::Outcome> Session::relay_response(Command cmd, std::size_t already_sent) {
  tracker_.start(cmd, backend_->caps);
  std::size_t sent = already_sent;
  const auto read_timeout = config_->timeouts.backend_read;
  for (;;) {
    if (!backend_->in.empty()) {
      std::error_code pec;
      const std::size_t n = tracker_.consume(backend_->in.data(), pec);
      if (n > 0) {
        if (!co_await write_client(backend_->in.data().first(n))) {
          // The client vanished mid-result: the backend is mid-response, never pool it.
          backend_->broken = true;
          co_return Outcome::close;
        }
        backend_->in.consume(n);
        sent += n;
      }
      if (pec) {
        metrics().protocol_errors.inc();
        log_warn(id_, "protocol error in backend response: {}", pec.message());
        backend_->broken = true;
        co_return co_await backend_lost(sent > 0, to_error_code(pec));
      }
      if (tracker_.done()) {
        break;
      }
      if (tracker_.awaiting_local_infile()) {
        if (co_await relay_upload() == Outcome::close) {
          co_return Outcome::close;
        }
        tracker_.resume_after_local_infile();
        continue;
      }
    }
    error_code ec;
    // A response larger than the buffer moves in bigger reads (fewer read/write turns per byte).
    backend_->in.grow_if_filled(max_relay_buffer);
    if (read_timeout.count() > 0) {
      // Closes the backend stream when it fires: the connection is lost either way.
      Watchdog watchdog(backend_->stream, read_timeout);
      ec = co_await backend_->in.fill(backend_->stream);
      if (watchdog.fired()) {
        ec = asio::error::timed_out;
      }
    } else {
      ec = co_await backend_->in.fill(backend_->stream);
    }
    if (ec) {
      backend_->broken = true;
      co_return co_await backend_lost(sent > 0, ec);
    }
  }
  if (tracker_.status_known()) {
    status_ = tracker_.status();
  }
  backend_->in.shrink();  // a buffer grown for a large response goes back to its initial size
  co_return Outcome::ok;
}

awaitable<Session::Outcome> Session::relay_upload() {
  UploadScanner scanner;
  for (;;) {
    if (!client_in_.empty()) {
      const std::size_t n = scanner.consume(client_in_.data());
      if (n > 0) {
        IoResult w = co_await backend_->stream.write_all(asio::buffer(client_in_.data().data(), n));
        client_in_.consume(n);
        if (w.ec) {
          backend_->broken = true;
          co_return co_await backend_lost(true, w.ec);
        }
      }
      if (scanner.done()) {
        co_return Outcome::ok;
      }
    }
    if (error_code ec = co_await client_in_.fill(client_)) {
      // The client vanished mid-upload: the backend waits for data it will never get.
      backend_->broken = true;
      co_return Outcome::close;
    }
  }
}

awaitable<Session::Outcome> Session::backend_lost(bool response_started, const error_code& ec) {
  log_warn(id_, "backend connection lost: {}", ec.message());
  if (!response_started) {
    std::uint8_t seq = tracker_.next_sequence();
    out_.clear();
    append_error(seq, cr_server_lost, "HY000",
                 "ghostgate: lost connection to backend (" + ec.message() + ")");
    co_await write_client(out_);
  }
  co_return Outcome::close;
}

awaitable<Session::Outcome> Session::handle_change_user(Packet packet) {
  ChangeUser change;
  const std::error_code pec = parse_change_user(packet.payload, client_caps_, change);
  if (pec || !backend_) {
    client_in_.consume(packet.wire_size);
    std::uint8_t seq = 1;
    append_error(seq, er::handshake, "08S01", "ghostgate: bad COM_CHANGE_USER");
    co_await write_client(out_);
    co_return Outcome::close;
  }
  wipe(change.auth_response);
  IoResult w =
      co_await backend_->stream.write_all(asio::buffer(client_in_.data().data(), packet.wire_size));
  client_in_.consume(packet.wire_size);
  if (w.ec) {
    backend_->broken = true;
    co_return co_await backend_lost(false, w.ec);
  }
  const std::string previous_user = user_;
  user_ = change.user;
  std::string plugin =
      change.auth_plugin.empty() ? std::string(native_password_plugin) : change.auth_plugin;
  tracker_.start(Command::change_user, backend_->caps);
  const std::string scramble = backend_->greeting.scramble;
  const bool ok =
      co_await relay_login(scramble, plugin, packet.next_sequence, packet.next_sequence);
  if (!ok) {
    co_return Outcome::close;
  }
  db_ = change.database;
  local_statements_.clear();
  prepared_use_.clear();
  // The exchange is complete: the connection is in a known state again.
  tracker_.start(Command::quit, backend_->caps);
  co_return Outcome::ok;
}

// ---------------------------------------------------------------------------------------------
// Statements: the online-DDL layer decides; everything it does not claim is forwarded.

awaitable<Session::Outcome> Session::handle_query(Packet packet) {
  const std::string_view sql = as_string_view(packet.payload.subspan(1));
  std::optional<std::string> use_db;
  OnlineDdlService* service = runtime_.online_ddl;
  if (service != nullptr &&
      !service->quick_forward(sql, db_, (client_caps_ & cap::multi_statements) != 0)) {
    std::string text(sql);  // named: gcc 12 mishandles temporaries inside co_await
    OnlineDdlService::Decision decision = co_await service->on_query(*this, std::move(text));
    if (!decision.forward) {
      client_in_.consume(packet.wire_size);
      observe_added_latency();
      out_.insert(out_.end(), decision.packets.begin(), decision.packets.end());
      const bool written = co_await write_client(out_);
      co_return written && !decision.close ? Outcome::ok : Outcome::close;
    }
    use_db = std::move(decision.use_db);
  } else if (service == nullptr) {
    use_db = OnlineDdlService::forwarded_without_engine(sql);
  }
  Outcome o = co_await forward(packet, Command::query);
  if (o == Outcome::ok && use_db && !tracker_.ended_with_error()) {
    db_ = std::move(*use_db);
  }
  co_return o;
}

awaitable<Session::Outcome> Session::handle_prepare(Packet packet) {
  if (runtime_.online_ddl != nullptr) {
    const std::string_view sql = as_string_view(packet.payload.subspan(1));
    std::optional<std::uint16_t> params;
    if (!runtime_.online_ddl->quick_forward(sql, db_, false)) {
      std::string text(sql);
      params = co_await runtime_.online_ddl->on_prepare(*this, std::move(text));
    }
    if (params) {
      // Suppressed: prepare it here so its executions never reach the backend.
      const std::uint32_t stmt_id = next_local_statement_++;
      if (next_local_statement_ == 0xffffffffu) {
        next_local_statement_ = local_statement_base;  // 0xffffffff means "last" to MariaDB
      }
      local_statements_[stmt_id] = LocalStatement{*params, std::string(sql)};
      client_in_.consume(packet.wire_size);
      std::uint8_t seq = 1;
      append_stmt_prepare_response(out_, seq, client_caps_, stmt_id, *params, status_);
      co_return co_await write_client(out_) ? Outcome::ok : Outcome::close;
    }
  }
  std::optional<std::string> use_db =
      OnlineDdlService::use_target(as_string_view(packet.payload.subspan(1)));
  const Outcome o = co_await forward(packet, Command::stmt_prepare);
  if (use_db && o == Outcome::ok && !tracker_.ended_with_error()) {
    prepared_use_[tracker_.statement_id()] = std::move(*use_db);
  }
  co_return o;
}

awaitable<Session::Outcome> Session::handle_local_statement(Packet packet, Command cmd,
                                                            std::uint32_t stmt_id) {
  client_in_.consume(packet.wire_size);
  std::uint8_t seq = 1;
  switch (cmd) {
    case Command::stmt_close:
      local_statements_.erase(stmt_id);
      co_return Outcome::ok;  // no response
    case Command::stmt_send_long_data:
      co_return Outcome::ok;  // no response
    case Command::stmt_reset:
      append_local_ok(seq, false);
      break;
    case Command::stmt_execute: {
      // Suppressed DML executes as "0 rows affected". A suppressed DDL still commits an open
      // transaction, as the real statement would have.
      if (runtime_.online_ddl != nullptr) {
        std::string text = local_statements_[stmt_id].sql;
        OnlineDdlService::Decision decision =
            co_await runtime_.online_ddl->on_query(*this, std::move(text));
        if (!decision.forward) {
          out_.insert(out_.end(), decision.packets.begin(), decision.packets.end());
          co_return co_await write_client(out_) ? Outcome::ok : Outcome::close;
        }
        // The state changed since PREPARE and the statement must now reach the backend, which
        // never saw it prepared: run its text there.
        std::string sql_text = local_statements_[stmt_id].sql;
        QueryResult r = co_await backend_query(std::move(sql_text));
        if (r.error) {
          append_error(seq, r.error->code, r.error->sql_state, r.error->message);
        } else {
          local_ok(out_, seq, false, r.affected_rows);
        }
        co_return co_await write_client(out_) ? Outcome::ok : Outcome::close;
      }
      append_local_ok(seq, false);
      break;
    }
    case Command::stmt_fetch:
      append_error(seq, er::unknown_stmt_handler, "HY000",
                   "ghostgate: statement has no open cursor");
      break;
    default:
      break;
  }
  co_return co_await write_client(out_) ? Outcome::ok : Outcome::close;
}

awaitable<Session::Collected> Session::collect_query(std::string sql, bool more_follow,
                                                     std::uint8_t& seq,
                                                     std::vector<std::uint8_t>& out) {
  Collected result;
  if (!backend_) {
    local_error(out, seq, cr_server_lost, "HY000", "ghostgate: no backend connection");
    result.error = true;
    co_return result;
  }
  std::vector<std::uint8_t> request;
  {
    std::uint8_t rseq = 0;
    PacketBuilder b(request);
    b.writer().write_u8(static_cast<std::uint8_t>(Command::query));
    b.writer().write_string(sql);
    b.finish(rseq);
  }
  IoResult w = co_await backend_->stream.write_all(asio::buffer(request));
  if (w.ec) {
    backend_->broken = true;
    local_error(out, seq, cr_server_lost, "HY000", "ghostgate: lost connection to backend");
    result.error = true;
    co_return result;
  }
  tracker_.start(Command::query, backend_->caps);
  const std::size_t start = out.size();
  while (!tracker_.done()) {
    if (!backend_->in.empty()) {
      std::error_code pec;
      const std::size_t n = tracker_.consume(backend_->in.data(), pec);
      out.insert(out.end(), backend_->in.data().begin(), backend_->in.data().begin() + n);
      backend_->in.consume(n);
      if (pec || tracker_.awaiting_local_infile()) {
        // LOAD DATA LOCAL inside a batch that ghostgate had to split is not supported.
        backend_->broken = true;
        out.resize(start);
        local_error(out, seq, er::not_supported_yet, "42000",
                    "ghostgate: LOAD DATA LOCAL cannot share a batch with suppressed statements");
        result.error = true;
        co_return result;
      }
      if (tracker_.done()) {
        break;
      }
    }
    error_code ec = co_await backend_->in.fill(backend_->stream);
    if (ec) {
      backend_->broken = true;
      out.resize(start);
      local_error(out, seq, cr_server_lost, "HY000", "ghostgate: lost connection to backend");
      result.error = true;
      co_return result;
    }
  }
  if (tracker_.status_known()) {
    status_ = tracker_.status();
  }
  result.ok = true;
  result.error = tracker_.ended_with_error();
  // Renumber into the client's exchange and flag the last terminator when more results follow.
  std::size_t last = start;
  for (std::size_t pos = start; pos + frame_header_size <= out.size();) {
    last = pos;
    pos += frame_header_size + parse_frame_header(out.data() + pos).length;
  }
  renumber_frames(out.data() + start, out.size() - start, seq);
  if (more_follow && !result.error && last + frame_header_size < out.size()) {
    const FrameHeader h = parse_frame_header(out.data() + last);
    set_more_results(out.data() + last + frame_header_size, h.length, backend_->caps);
  }
  co_return result;
}

awaitable<QueryResult> Session::backend_query(std::string sql) {
  if (!backend_) {
    QueryResult r;
    r.error = BackendError{cr_server_lost, "HY000", "ghostgate: no backend connection", true};
    co_return r;
  }
  QueryResult r = co_await run_query(*backend_, std::move(sql), config_->timeouts.backend_read);
  if (r.error && r.error->io) {
    backend_->broken = true;
  } else {
    status_ = r.status;
  }
  co_return r;
}

}  // namespace ghostgate::proxy
