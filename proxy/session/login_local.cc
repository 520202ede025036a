// Logins ghostgate checks itself (client-auth.users, mysql_native_password accounts): the
// client's proof over ghostgate's own scramble is verified against the configured hash, which
// yields SHA1(password); from it ghostgate computes the proofs its backend connection needs
// (a new login, or COM_CHANGE_USER on a pooled one, and the auth switch MariaDB sends after
// it), so the client never takes part in a second exchange. The backend still checks every
// login: a password changed there refuses the login even if this list was not updated.

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "protocol/auth.h"
#include "protocol/handshake.h"
#include "protocol/packets.h"
#include "proxy/observe/log.h"
#include "proxy/observe/metrics.h"
#include "proxy/session/session.h"

namespace ghostgate::proxy {

using namespace protocol;

std::string Session::fresh_scramble() {
  unsigned char random[20];
  if (RAND_bytes(random, sizeof random) != 1) {
    // No randomness: a scramble that cannot repeat is still better than a fixed one.
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    for (std::size_t i = 0; i < sizeof random; ++i) {
      random[i] = static_cast<unsigned char>((now >> (i % 8 * 8)) ^ (i * 131));
    }
  }
  std::string scramble;
  for (unsigned char byte : random) {
    scramble.push_back(static_cast<char>('!' + byte % 90));  // printable, no NUL
  }
  OPENSSL_cleanse(random, sizeof random);
  return scramble;
}

std::string Session::client_host() const {
  error_code ec;
  const auto peer = client_.socket().remote_endpoint(ec);
  return ec ? std::string("unknown") : peer.address().to_string();
}

awaitable<Session::LocalCheck> Session::check_locally(const ClientAuthUser* account,
                                                      std::string proof, std::string plugin,
                                                      std::uint8_t seq) {
  LocalCheck result;
  if (plugin != native_password_plugin) {
    // The client answered with another plugin (the greeting named the backend's): ask for a
    // mysql_native_password proof over the same scramble.
    wipe(proof);
    if (!(client_caps_ & cap::plugin_auth)) {
      append_error(seq, er::handshake, "08S01",
                   "ghostgate: this client cannot switch to mysql_native_password");
      co_await write_client(out_);
      co_return result;
    }
    {
      PacketBuilder b(out_);
      serialize_auth_switch_request(
          AuthSwitchRequest{std::string(native_password_plugin), local_scramble_ + '\0'},
          b.writer());
      b.finish(seq);
    }
    if (!co_await write_client(out_)) {
      co_return result;
    }
    Packet packet;
    if (co_await read_packet(client_, client_in_, max_auth_packet, client_scratch_, packet)) {
      co_return result;
    }
    proof.assign(as_string_view(packet.payload));
    seq = packet.next_sequence;
    client_in_.consume(packet.wire_size);
  }
  const bool used_password = !proof.empty();
  const std::error_code ec =
      verify_native_password(proof, local_scramble_, account->hash, login_stage1_);
  wipe(proof);
  result.seq = seq;
  if (!ec) {
    result.ok = true;
    co_return result;
  }
  metrics().client_auth_refused.inc();
  log_info(id_, "login of {} refused: the password does not match client-auth.users",
           account->user);
  append_error(seq, er::access_denied, "28000",
               fmt::format("Access denied for user '{}'@'{}' (using password: {})", account->user,
                           client_host(), used_password ? "YES" : "NO"));
  co_await write_client(out_);
  co_return result;
}

awaitable<bool> Session::answer_auth_switch(std::string plugin, std::string scramble,
                                            std::uint8_t backend_seq, std::uint8_t client_seq) {
  if (plugin != native_password_plugin) {
    backend_->broken = true;
    log_warn(id_,
             "the backend authenticates {} with {}: client-auth.users holds "
             "mysql_native_password accounts only",
             user_, plugin);
    out_.clear();
    append_error(client_seq, er::access_denied, "28000",
                 fmt::format("ghostgate: the backend authenticates '{}' with {}; "
                             "client-auth.users holds mysql_native_password accounts only",
                             user_, plugin));
    co_await write_client(out_);
    co_return false;
  }
  std::string proof = native_proof_from_stage1(login_stage1_, scramble);
  {
    PacketBuilder b(out_);
    b.writer().write_string(proof);
    b.finish(backend_seq);
  }
  wipe(proof);
  IoResult w = co_await backend_->stream.write_all(asio::buffer(out_));
  OPENSSL_cleanse(out_.data(), out_.size());
  out_.clear();
  if (w.ec) {
    backend_->broken = true;
    co_await backend_lost(false, w.ec);
    co_return false;
  }
  co_return true;
}

awaitable<Session::Outcome> Session::change_user_locally(Packet packet, ChangeUser change,
                                                         const ClientAuthUser* account) {
  client_in_.consume(packet.wire_size);
  std::string plugin =
      change.auth_plugin.empty() ? std::string(native_password_plugin) : change.auth_plugin;
  const LocalCheck checked = co_await check_locally(account, std::move(change.auth_response),
                                                    std::move(plugin), packet.next_sequence);
  if (!checked.ok) {
    wipe(login_stage1_);
    co_return Outcome::close;
  }
  ChangeUser relayed = change;
  relayed.auth_plugin = native_password_plugin;
  relayed.auth_response = native_proof_from_stage1(login_stage1_, backend_->greeting.scramble);
  relayed.has_connect_attrs = (backend_->caps & cap::connect_attrs) != 0;
  std::uint8_t backend_seq = 0;
  {
    PacketBuilder b(out_);
    serialize_change_user(relayed, backend_->caps, b.writer());
    b.finish(backend_seq);
  }
  wipe(relayed.auth_response);
  IoResult w = co_await backend_->stream.write_all(asio::buffer(out_));
  OPENSSL_cleanse(out_.data(), out_.size());
  out_.clear();
  if (w.ec) {
    wipe(login_stage1_);
    backend_->broken = true;
    co_return co_await backend_lost(false, w.ec);
  }
  user_ = change.user;
  backend_->charset = static_cast<std::uint8_t>(change.charset);
  tracker_.start(Command::change_user, backend_->caps);
  answer_backend_ = true;
  const bool ok = co_await relay_login(
      backend_->greeting.scramble, std::string(native_password_plugin), backend_seq, checked.seq);
  answer_backend_ = false;
  wipe(login_stage1_);
  (ok ? metrics().client_auth_ok : metrics().client_auth_refused).inc();
  if (!ok) {
    co_return Outcome::close;
  }
  changed_user(std::move(change.database));
  co_return Outcome::ok;
}

}  // namespace ghostgate::proxy
