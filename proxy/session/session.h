#pragma once
// Room proxy/session/: one client connection — the login (login.cc), the command relay
// (relay.cc), statement interception (intercept.cc), and the runtime and workers the sessions
// share (runtime.h). May use proxy/online_ddl/ (it implements its ClientPort), proxy/backend/,
// proxy/net/, proxy/observe/, proxy/config/, rules/ and protocol/. (Arrows:
// tests/layering/layers.txt.)
//
// One client connection: the MySQL handshake (the client logs in with its own credentials,
// verified by the backend on a pooled connection), then the command loop. A command is either
// forwarded with its response relayed byte for byte, or answered by ghostgate itself (online
// DDL suppressions, statements prepared locally).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/constants.h"
#include "protocol/frame.h"
#include "protocol/handshake.h"
#include "protocol/response.h"
#include "proxy/backend/backend.h"
#include "proxy/net/asio.h"
#include "proxy/net/packet_io.h"
#include "proxy/net/stream.h"
#include "proxy/online_ddl/client_port.h"
#include "proxy/session/runtime.h"

namespace ghostgate::proxy {

// Runs a session to its end on the worker that owns `socket`.
awaitable<void> run_session(tcp::socket socket, Runtime& runtime, Worker& worker);

class Session final : public ClientPort {
 public:
  Session(tcp::socket socket, Runtime& runtime, Worker& worker);
  awaitable<void> run();

  // ClientPort: what the online-DDL service uses while it decides a statement of this session.
  std::uint64_t id() const override { return id_; }
  const std::string& current_db() const override { return db_; }
  void set_current_db(std::string db) override { db_ = std::move(db); }
  std::uint16_t status() const override { return status_; }
  protocol::Capabilities client_caps() const override { return client_caps_; }
  awaitable<QueryResult> backend_query(std::string sql) override;
  awaitable<Collected> collect_query(std::string sql, bool more_follow, std::uint8_t& seq,
                                     std::vector<std::uint8_t>& out) override;
  void local_ok(std::vector<std::uint8_t>& out, std::uint8_t& seq, bool more_results,
                std::uint64_t affected = 0) const override;
  void local_error(std::vector<std::uint8_t>& out, std::uint8_t& seq, std::uint16_t code,
                   std::string_view state, std::string_view message) const override;

 private:
  static constexpr std::uint16_t cr_server_lost = 2013;  // what clients report for a dropped server
  // Ids of statements prepared by ghostgate itself (the backend's count up from 1).
  static constexpr std::uint32_t local_statement_base = 0xf0000000u;

  struct LocalStatement {
    std::uint16_t params = 0;
    std::string sql;
  };
  enum class Outcome { ok, close };

  awaitable<bool> handshake();
  // For a backend read during a login: what is left of the login deadline, and at most
  // timeouts.backend-read; 0 for no limit.
  std::chrono::milliseconds login_read_timeout() const;
  void observe_added_latency();
  awaitable<bool> relay_login(std::string scramble, std::string plugin, std::uint8_t backend_seq,
                              std::uint8_t client_seq, std::string database_after = {});
  // A new backend connection (its greeting read), or with `reuse_idle` an idle pooled one if
  // there is one or one comes back while waiting for room (authenticated is then true). On
  // failure nullptr is returned and the client got the error, or, before its greeting (with
  // `reuse_idle`), the error is left in refusal_ for refuse_after_greeting().
  awaitable<std::unique_ptr<BackendConnection>> open_backend(
      std::uint8_t client_seq, const protocol::Capabilities* reuse_idle = nullptr);
  struct Refusal {
    std::uint16_t code = 0;
    std::string sql_state;
    std::string message;
  };
  // No backend greeting to pass on (backend down, pool full): greet with ghostgate's own, read
  // the login, refuse it with refusal_. An ERR in place of a greeting reads as a garbled failure
  // in clients that expect a greeting first (mariadb: "Received error packet before completion
  // of TLS handshake"); an ERR answering the login is what every client prints as it is.
  awaitable<bool> refuse_after_greeting();
  std::optional<Refusal> refusal_;
  awaitable<Outcome> command_loop();
  awaitable<Outcome> dispatch(protocol::Packet packet);
  awaitable<Outcome> forward(protocol::Packet packet, protocol::Command cmd);
  awaitable<Outcome> relay_response(protocol::Command cmd, std::size_t response_bytes_sent);
  awaitable<Outcome> relay_upload();
  awaitable<Outcome> handle_query(protocol::Packet packet);
  awaitable<Outcome> handle_prepare(protocol::Packet packet);
  awaitable<Outcome> handle_local_statement(protocol::Packet packet, protocol::Command cmd,
                                            std::uint32_t stmt_id);
  awaitable<Outcome> handle_change_user(protocol::Packet packet);
  // After a COM_CHANGE_USER the backend accepted: the new database, no prepared statements.
  void changed_user(std::string database);
  // The largest packet of a login exchange (login.cc, login_local.cc).
  static constexpr std::size_t max_auth_packet = 1 << 20;
  // client-auth.users (login_local.cc). A scramble for one greeting: random, printable, no NUL.
  static std::string fresh_scramble();
  std::string client_host() const;
  struct LocalCheck {
    bool ok = false;
    std::uint8_t seq = 0;  // the client's next sequence id
  };
  // Checks a listed account's proof over local_scramble_ (asking for a mysql_native_password
  // one first if the client used another plugin). OK: login_stage1_ holds SHA1(password).
  // Refused: the client got ERR 1045.
  awaitable<LocalCheck> check_locally(const ClientAuthUser* account, std::string proof,
                                      std::string plugin, std::uint8_t seq);
  // The backend's auth switch during a listed account's login, answered from login_stage1_.
  awaitable<bool> answer_auth_switch(std::string plugin, std::string scramble,
                                     std::uint8_t backend_seq, std::uint8_t client_seq);
  awaitable<Outcome> change_user_locally(protocol::Packet packet, protocol::ChangeUser change,
                                         const ClientAuthUser* account);
  awaitable<bool> write_client(std::vector<std::uint8_t>& bytes);
  awaitable<bool> write_client(protocol::Bytes bytes);
  awaitable<Outcome> backend_lost(bool response_started, const error_code& ec);
  void append_local_ok(std::uint8_t& seq, bool more_results) { local_ok(out_, seq, more_results); }
  void append_error(std::uint8_t& seq, std::uint16_t code, std::string_view state,
                    std::string_view message) {
    local_error(out_, seq, code, state, message);
  }
  void release_backend();
  // Between commands: gives back read blocks and large write buffers (see relay.cc).
  void release_buffers();

  Runtime& runtime_;
  Worker& worker_;
  std::shared_ptr<const Config> config_;
  std::uint64_t id_;
  Stream client_;
  InBuffer client_in_;
  // When the command being handled was read: ghostgate's own latency is measured from here to
  // the moment it is forwarded or answered locally.
  std::optional<std::chrono::steady_clock::time_point> statement_started_;
  // While the client logs in: when timeouts.handshake runs out.
  std::optional<std::chrono::steady_clock::time_point> login_deadline_;
  std::vector<std::uint8_t> client_scratch_;
  std::vector<std::uint8_t> out_;
  std::unique_ptr<BackendConnection> backend_;
  protocol::ResponseTracker tracker_;
  protocol::Capabilities client_caps_ = 0;
  std::string user_;
  std::string db_;
  std::uint16_t status_ = protocol::status::autocommit;
  std::unordered_map<std::uint32_t, LocalStatement> local_statements_;
  // Backend statement id -> database, for a forwarded prepared `USE db`: executing it changes
  // the session's database as the text form does.
  std::unordered_map<std::uint32_t, std::string> prepared_use_;
  std::uint32_t next_local_statement_ = local_statement_base;
  // client-auth: the scramble this client's proofs are over (empty when the backend's is), and
  // during a listed account's login SHA1(password), a secret wiped when the login ends.
  std::string local_scramble_;
  std::string login_stage1_;
  bool answer_backend_ = false;  // relay_login answers auth switches itself
  // A COM_CHANGE_USER to an unlisted account after a client-auth login: a refusal gets a hint.
  bool unlisted_change_user_ = false;
  bool closing_ = false;
};

}  // namespace ghostgate::proxy
