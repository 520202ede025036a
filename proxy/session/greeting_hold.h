#pragma once
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

#include <chrono>
#include <memory>

#include "proxy/backend/backend.h"
#include "proxy/backend/pool.h"
#include "proxy/net/asio.h"

namespace ghostgate::proxy {

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

}  // namespace ghostgate::proxy
