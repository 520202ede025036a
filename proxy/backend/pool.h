#pragma once
// Pooled backend connections. Each worker thread owns one Pool (its connections live on the
// worker's io_context, so the hot path takes no locks); the limit on open connections is global
// across workers. A connection goes back to its pool when its client leaves with the connection
// in a known-clean state, and the next client logs in on it with COM_CHANGE_USER, which resets
// the session. Connections in an unknown state are closed, never pooled.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "protocol/constants.h"
#include "proxy/backend/backend.h"
#include "proxy/config/config.h"
#include "proxy/net/asio.h"

namespace ghostgate::proxy {

// Limits and counts shared by all workers' pools.
struct PoolShared {
  std::atomic<std::uint32_t> max_connections{256};
  std::atomic<std::uint32_t> max_idle{64};  // across all workers
  std::atomic<std::int64_t> idle_timeout_ms{60000};
  std::atomic<std::int64_t> acquire_timeout_ms{5000};
  std::atomic<std::uint32_t> open{0};
  std::atomic<std::uint32_t> idle{0};
  std::atomic<std::uint32_t> waiting{0};
  std::atomic<std::uint64_t> connect_failures{0};
  std::atomic<std::uint64_t> reused{0};
  std::atomic<std::uint64_t> created{0};

  void apply(const PoolConfig& config);
};

class Pool {
 public:
  Pool(asio::io_context& ctx, std::shared_ptr<PoolShared> shared);

  // An idle connection with this key (liveness-checked), or nullptr.
  std::unique_ptr<BackendConnection> take_idle(protocol::Capabilities key);
  // Any idle connection whose key is `preferred` first, else nullptr: used to greet a client
  // before its capabilities are known.
  std::unique_ptr<BackendConnection> take_greeting_candidate(protocol::Capabilities preferred);
  // Reserves a slot for a new connection under the global limit, waiting up to the acquire
  // timeout (closing idle connections here or on other workers to make room). Returns the slot
  // holder to store in the new connection's pool_slot, or nullptr on timeout. Never waits past
  // `not_after` (a login's deadline).
  awaitable<std::shared_ptr<void>> reserve_slot(std::chrono::steady_clock::time_point not_after =
                                                    std::chrono::steady_clock::time_point::max());
  // What a client is greeted over: an idle connection (preferring key `preferred`), or else a
  // slot for a new one, waiting like reserve_slot. While it waits, an idle connection that
  // comes back here is taken rather than closed to make room, so a burst of clients larger
  // than the pool reuses the pooled connections instead of churning through new ones. Both
  // members empty on timeout.
  struct GreetingSource {
    std::unique_ptr<BackendConnection> idle;
    std::shared_ptr<void> slot;
  };
  awaitable<GreetingSource> acquire_for_greeting(protocol::Capabilities preferred,
                                                 std::chrono::steady_clock::time_point not_after);
  // True when a newcomer would have to wait for a connection: someone is waiting already, or
  // the global limit is reached.
  bool under_pressure() const;
  // Returns a connection after its client left. Broken or surplus connections are closed.
  void give_back(std::unique_ptr<BackendConnection> conn);
  // Closes a connection (COM_QUIT in the background).
  void discard(std::unique_ptr<BackendConnection> conn);

  // Other workers' pools, for eviction when at the limit. Set once before start.
  void set_peers(std::vector<Pool*> peers) { peers_ = std::move(peers); }
  // Starts the idle-timeout sweep on this worker.
  void start();
  // Closes every idle connection (shutdown, or a peer asking for room).
  void close_idle(std::size_t max_count = SIZE_MAX);
  // Shutdown: closes the idle connections at once; from now on every connection handed back
  // is closed on the spot (nothing is queued on the worker's context, which is going away).
  void close();
  std::size_t idle_count() const { return idle_.size(); }
  PoolShared& shared() { return *shared_; }

 private:
  std::shared_ptr<void> try_reserve();
  // reserve_slot's wait; with `reuse` set, an idle connection ends it as well (see above).
  awaitable<GreetingSource> wait_for_room(std::chrono::steady_clock::time_point not_after,
                                          const protocol::Capabilities* reuse);
  awaitable<void> sweep_loop();
  void sweep();

  asio::io_context& ctx_;
  std::shared_ptr<PoolShared> shared_;
  std::deque<std::unique_ptr<BackendConnection>> idle_;  // most recently returned at the back
  std::vector<Pool*> peers_;
  bool closed_ = false;
};

}  // namespace ghostgate::proxy
