// The client's login: greeted with the scramble of a real backend connection, its proof checked
// by the backend itself (a fresh connection's login relayed, or COM_CHANGE_USER on a pooled one),
// and COM_CHANGE_USER later on. Accounts in client-auth.users are checked by ghostgate instead
// (login_local.cc).

#include <openssl/crypto.h>

#include <algorithm>

#include "protocol/auth.h"
#include "protocol/handshake.h"
#include "protocol/packets.h"
#include "proxy/observe/log.h"
#include "proxy/observe/metrics.h"
#include "proxy/session/greeting_hold.h"
#include "proxy/session/session.h"

namespace ghostgate::proxy {

using namespace protocol;

namespace {

// How long a client that has not answered its greeting may keep the greeting's backend
// connection while other clients wait for one (capped by timeouts.handshake).
constexpr std::chrono::milliseconds greeting_hold{1000};

}  // namespace

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
    Refusal r{er::con_count, "08004",
              "ghostgate: all backend connections are busy (pool.max-connections reached)"};
    if (reuse_idle != nullptr) {
      refusal_ = std::move(r);
      co_return nullptr;
    }
    append_error(client_seq, r.code, r.sql_state, r.message);
    co_await write_client(out_);
    co_return nullptr;
  }
  ConnectResult r = co_await connect_backend(config_->backend);
  if (!r.conn) {
    runtime_.pool_shared->connect_failures.fetch_add(1, std::memory_order_relaxed);
    log_warn(id_, "{}", r.error.message);
    Refusal refusal{r.error.code, r.error.sql_state.empty() ? "HY000" : r.error.sql_state,
                    "ghostgate: backend unavailable: " + r.error.message};
    if (reuse_idle != nullptr) {
      refusal_ = std::move(refusal);
      co_return nullptr;
    }
    append_error(client_seq, refusal.code, refusal.sql_state, refusal.message);
    co_await write_client(out_);
    co_return nullptr;
  }
  runtime_.pool_shared->created.fetch_add(1, std::memory_order_relaxed);
  r.conn->pool_slot = std::move(slot);
  co_return std::move(r.conn);
}

awaitable<bool> Session::refuse_after_greeting() {
  HandshakeV10 greeting;
  greeting.server_version = "8.0.11-ghostgate";
  greeting.connection_id = static_cast<std::uint32_t>(id_);
  greeting.scramble = fresh_scramble();
  greeting.capabilities = cap::proxy_supported | cap::long_password;
  greeting.capabilities = runtime_.client_tls ? (greeting.capabilities | cap::ssl)
                                              : (greeting.capabilities & ~cap::ssl);
  greeting.charset = 45;     // utf8mb4_general_ci
  greeting.status = 0x0002;  // autocommit
  greeting.auth_plugin = "mysql_native_password";
  std::uint8_t seq = 0;
  {
    PacketBuilder b(out_);
    serialize_handshake_v10(greeting, b.writer());
    b.finish(seq);
  }
  if (!co_await write_client(out_)) {
    co_return false;
  }
  Packet packet;
  error_code ec =
      co_await read_packet_exact(client_, client_in_, max_auth_packet, client_scratch_, packet);
  if (ec) {
    co_return false;
  }
  if (is_ssl_request(packet.payload, peek_client_capabilities(packet.payload))) {
    client_in_.consume(packet.wire_size);
    if (!runtime_.client_tls || co_await client_.tls_accept(*runtime_.client_tls)) {
      co_return false;
    }
    ec = co_await read_packet(client_, client_in_, max_auth_packet, client_scratch_, packet);
    if (ec) {
      co_return false;
    }
  }
  seq = packet.next_sequence;
  client_in_.consume(packet.wire_size);
  append_error(seq, refusal_->code, refusal_->sql_state, refusal_->message);
  co_return co_await write_client(out_);
}

awaitable<bool> Session::handshake() {
  // Greet with the scramble of the backend connection the client will most likely get, so its
  // proof can be checked by the backend itself: on a fresh connection by relaying the login, on
  // a pooled one with COM_CHANGE_USER.
  std::unique_ptr<BackendConnection> conn = co_await open_backend(0, &worker_.last_key);
  if (!conn) {
    if (refusal_ && client_.is_open()) {
      co_await refuse_after_greeting();
    }
    co_return false;
  }
  bool fresh = !conn->authenticated;
  HandshakeV10 greeting = conn->greeting;
  // With client-auth.users, every client gets a scramble of its own: ghostgate may check the
  // proof itself, and a scramble shown twice would let a recorded proof be replayed.
  const bool local_mode = !config_->client_auth.users.empty();
  if (local_mode) {
    local_scramble_ = fresh_scramble();
    greeting.scramble = local_scramble_;
  }
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

  const ClientAuthUser* account = local_mode ? config_->client_auth.find(response.user) : nullptr;
  if (account != nullptr) {
    // Checked here; the backend connection is then logged in with proofs ghostgate computes.
    const LocalCheck checked =
        co_await check_locally(account, std::move(response.auth_response), plugin, seq);
    if (!checked.ok) {
      worker_.pool.give_back(std::move(conn));
      co_return false;  // run() wipes login_stage1_ after every handshake
    }
    seq = checked.seq;
    if (conn && !fresh && conn->pool_key() != key) {
      worker_.pool.give_back(std::move(conn));
    }
    if (!conn) {
      fresh = true;
      conn = co_await open_backend(seq);
      if (!conn) {
        co_return false;
      }
    }
    plugin = native_password_plugin;
    scramble = conn->greeting.scramble;
    response.auth_response = native_proof_from_stage1(login_stage1_, scramble);
  } else if (!conn || (!fresh && conn->pool_key() != key) || local_mode) {
    // The greeting connection went back to the pool while the client was silent, or it was
    // negotiated for other capabilities. Open one that fits and ask the client for a proof
    // over that connection's scramble (an auth switch). Never a pooled one: a server that
    // renews the scramble on COM_CHANGE_USER (MariaDB does, once the first one was used) would
    // then ask for a second auth switch, which clients do not expect (pymysql takes the second
    // request for the OK; libmysqlclient refuses it).
    if (!conn) {
      log_debug(id_, "greeting connection released while the client was silent: auth switch");
    }
    // An account the backend checks, greeted with ghostgate's own scramble (client-auth): its
    // proof must be over the backend connection's, so the client is asked again. A new
    // greeting connection serves as it is; a pooled one does not (see above).
    local_scramble_.clear();
    const bool keep = conn && fresh;
    if (!keep) {
      worker_.pool.give_back(std::move(conn));
    }
    if ((plugin != native_password_plugin && plugin != caching_sha2_plugin) ||
        !(client_caps_ & cap::plugin_auth)) {
      append_error(seq, er::handshake, "08S01",
                   local_mode ? "ghostgate: this client cannot be asked for its proof again (no "
                                "auth switch); list its account in client-auth.users"
                              : "ghostgate: cannot switch this authentication plugin; please "
                                "reconnect");
      co_await write_client(out_);
      worker_.pool.give_back(std::move(conn));
      co_return false;
    }
    fresh = true;
    if (!keep) {
      conn = co_await open_backend(seq);
      if (!conn) {
        co_return false;
      }
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
  answer_backend_ = account != nullptr;
  const bool logged_in =
      co_await relay_login(scramble, plugin, backend_seq, seq, std::move(database_after));
  answer_backend_ = false;
  if (account != nullptr) {
    (logged_in ? metrics().client_auth_ok : metrics().client_auth_refused).inc();
  }
  co_return logged_in;
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
      if (answer_backend_) {
        // A client-auth account: ghostgate answers with the proof it computes (login_local.cc).
        backend_->in.consume(p.wire_size);
        if (!co_await answer_auth_switch(plugin, scramble, backend_seq, client_seq)) {
          co_return false;
        }
        continue;
      }
      if (!local_scramble_.empty()) {
        local_scramble_ = scramble;  // what the client's next COM_CHANGE_USER proof is over
      }
    }
    if (answer_backend_ && first != ok_header && first != err_header) {
      backend_->broken = true;
      log_warn(id_, "login of {} on the backend: unexpected packet 0x{:02x}", user_, first);
      out_.clear();
      append_error(client_seq, er::handshake, "08S01",
                   "ghostgate: the backend asked for more than a mysql_native_password proof "
                   "for this client-auth.users account");
      co_await write_client(out_);
      co_return false;
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
    ErrPacket refused;
    if (first == err_header && unlisted_change_user_ &&
        !parse_err(payload, backend_->caps, refused) && refused.code == er::access_denied) {
      // The client's proof is over ghostgate's scramble (client-auth), which the backend never
      // saw; libmysqlclient and libmariadb answer the backend's auth switch with that same
      // proof. Say so: the password may well be right.
      append_error(client_seq, refused.code,
                   refused.sql_state.empty() ? "28000" : refused.sql_state,
                   std::string(refused.message) +
                       " (ghostgate: this session logged in with a client-auth.users account; "
                       "list this account there too)");
    } else {
      // Forward the backend's packet to the client.
      append_packet(out_, client_seq, payload);
    }
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
  if (!local_scramble_.empty()) {
    // This client was greeted with ghostgate's scramble (client-auth): a listed account is
    // checked here, like its login; another goes to the backend, which may ask the client again
    // over its own scramble (MariaDB, after the connection's first login; clients built on
    // libmysqlclient or libmariadb answer with the first proof again, and TiDB asks nothing):
    // list both accounts.
    if (const ClientAuthUser* account = config_->client_auth.find(change.user)) {
      co_return co_await change_user_locally(std::move(packet), std::move(change), account);
    }
    unlisted_change_user_ = true;
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
  unlisted_change_user_ = false;
  if (!ok) {
    co_return Outcome::close;
  }
  changed_user(std::move(change.database));
  co_return Outcome::ok;
}

void Session::changed_user(std::string database) {
  db_ = std::move(database);
  local_statements_.clear();
  prepared_use_.clear();
  // The exchange is complete: the connection is in a known state again.
  tracker_.start(Command::quit, backend_->caps);
}

}  // namespace ghostgate::proxy
