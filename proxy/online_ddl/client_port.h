#pragma once
// What the online-DDL service needs from the client session whose statement it is deciding,
// and nothing more. The session (proxy/session/) implements it; the service never includes
// session headers, so the arrow points one way: session -> online_ddl.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/constants.h"
#include "proxy/backend/backend.h"
#include "proxy/net/asio.h"

namespace ghostgate::proxy {

class ClientPort {
 public:
  // The session's id, for every log line about its statements.
  virtual std::uint64_t id() const = 0;
  // The session's database (unqualified names resolve in it) and what a statement moved it to.
  virtual const std::string& current_db() const = 0;
  virtual void set_current_db(std::string db) = 0;
  // The session's status flags (SERVER_STATUS_IN_TRANS, ...) as the backend last reported them.
  virtual std::uint16_t status() const = 0;
  // What the client negotiated at login (CLIENT_MULTI_STATEMENTS, ...).
  virtual protocol::Capabilities client_caps() const = 0;

  // Runs a statement on the session's backend connection (the replicator's own: its sql_mode
  // and character set); the result comes back, the client sees nothing of it.
  virtual awaitable<QueryResult> backend_query(std::string sql) = 0;
  // Runs a COM_QUERY on the backend and collects its whole response as client frames (sequence
  // ids continuing from `seq`); the final terminator gets SERVER_MORE_RESULTS_EXISTS when
  // `more_follow`. When the connection failed, `out` holds an ERR instead.
  struct Collected {
    bool ok = false;     // the connection survived
    bool error = false;  // the response ended with an ERR
  };
  virtual awaitable<Collected> collect_query(std::string sql, bool more_follow, std::uint8_t& seq,
                                             std::vector<std::uint8_t>& out) = 0;
  // An OK for a statement ghostgate answered itself, with the session's status flags.
  virtual void local_ok(std::vector<std::uint8_t>& out, std::uint8_t& seq, bool more_results,
                        std::uint64_t affected = 0) const = 0;
  // An ERR in the format the client negotiated.
  virtual void local_error(std::vector<std::uint8_t>& out, std::uint8_t& seq, std::uint16_t code,
                           std::string_view state, std::string_view message) const = 0;

 protected:
  ~ClientPort() = default;
};

}  // namespace ghostgate::proxy
