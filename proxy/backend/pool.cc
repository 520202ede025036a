#include "proxy/backend/pool.h"

#include <algorithm>

namespace ghostgate::proxy {

void PoolShared::apply(const PoolConfig& config) {
  max_connections.store(config.max_connections, std::memory_order_relaxed);
  max_idle.store(config.max_idle, std::memory_order_relaxed);
  idle_timeout_ms.store(config.idle_timeout.count(), std::memory_order_relaxed);
  acquire_timeout_ms.store(config.acquire_timeout.count(), std::memory_order_relaxed);
}

Pool::Pool(asio::io_context& ctx, std::shared_ptr<PoolShared> shared)
    : ctx_(ctx), shared_(std::move(shared)) {}

std::unique_ptr<BackendConnection> Pool::take_idle(protocol::Capabilities key) {
  for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
    if ((*it)->pool_key() != key) {
      continue;
    }
    std::unique_ptr<BackendConnection> conn = std::move(*it);
    idle_.erase(std::next(it).base());
    shared_->idle.fetch_sub(1, std::memory_order_relaxed);
    if (conn->stream.peer_closed_or_unexpected()) {
      // The backend went away while it sat idle (restart, wait_timeout).
      conn->broken = true;
      discard(std::move(conn));
      return take_idle(key);
    }
    shared_->reused.fetch_add(1, std::memory_order_relaxed);
    return conn;
  }
  return nullptr;
}

std::unique_ptr<BackendConnection> Pool::take_greeting_candidate(protocol::Capabilities preferred) {
  if (auto conn = take_idle(preferred)) {
    return conn;
  }
  while (!idle_.empty()) {
    const protocol::Capabilities key = idle_.back()->pool_key();
    if (auto conn = take_idle(key)) {
      return conn;
    }
  }
  return nullptr;
}

std::shared_ptr<void> Pool::try_reserve() {
  std::uint32_t open = shared_->open.load(std::memory_order_relaxed);
  for (;;) {
    if (open >= shared_->max_connections.load(std::memory_order_relaxed)) {
      return nullptr;
    }
    if (shared_->open.compare_exchange_weak(open, open + 1, std::memory_order_relaxed)) {
      break;
    }
  }
  std::shared_ptr<PoolShared> shared = shared_;
  // The slot is released when the last holder (the connection) goes away.
  return std::shared_ptr<void>(static_cast<void*>(shared.get()), [shared](void*) {
    shared->open.fetch_sub(1, std::memory_order_relaxed);
  });
}

bool Pool::under_pressure() const {
  return shared_->waiting.load(std::memory_order_relaxed) > 0 ||
         shared_->open.load(std::memory_order_relaxed) >=
             shared_->max_connections.load(std::memory_order_relaxed);
}

awaitable<std::shared_ptr<void>> Pool::reserve_slot(
    std::chrono::steady_clock::time_point not_after) {
  if (auto slot = try_reserve()) {
    co_return slot;
  }
  GreetingSource got = co_await wait_for_room(not_after, nullptr);
  co_return std::move(got.slot);
}

awaitable<Pool::GreetingSource> Pool::acquire_for_greeting(
    protocol::Capabilities preferred, std::chrono::steady_clock::time_point not_after) {
  GreetingSource got;
  if ((got.idle = take_greeting_candidate(preferred))) {
    co_return got;
  }
  if ((got.slot = try_reserve())) {
    co_return got;
  }
  got = co_await wait_for_room(not_after, &preferred);
  co_return got;
}

awaitable<Pool::GreetingSource> Pool::wait_for_room(std::chrono::steady_clock::time_point not_after,
                                                    const protocol::Capabilities* reuse) {
  shared_->waiting.fetch_add(1, std::memory_order_relaxed);
  const auto deadline = std::min(
      not_after,
      std::chrono::steady_clock::now() +
          std::chrono::milliseconds(shared_->acquire_timeout_ms.load(std::memory_order_relaxed)));
  const auto ask_peers_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
  asio::steady_timer timer(ctx_);
  GreetingSource got;
  for (;;) {
    if (reuse != nullptr && (got.idle = take_greeting_candidate(*reuse))) {
      break;
    }
    // Make room: our own idle connections first, then ask the other workers for one. A
    // greeting waits a little first for a connection of this worker to come back: closing a
    // peer's idle one to open a new one here is churn when both are busy.
    if (!idle_.empty()) {
      close_idle(1);
    } else if (reuse == nullptr || std::chrono::steady_clock::now() >= ask_peers_at) {
      for (Pool* peer : peers_) {
        asio::post(peer->ctx_, [peer] { peer->close_idle(1); });
      }
    }
    if ((got.slot = try_reserve())) {
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    // Rare path (pool exhausted): polling keeps waiting simple and bounded.
    timer.expires_after(std::chrono::milliseconds(5));
    error_code ec;
    co_await timer.async_wait(redirect(ec));
  }
  shared_->waiting.fetch_sub(1, std::memory_order_relaxed);
  co_return got;
}

void Pool::close() {
  closed_ = true;
  while (!idle_.empty()) {
    idle_.front()->stream.close();
    idle_.pop_front();
    shared_->idle.fetch_sub(1, std::memory_order_relaxed);
  }
}

void Pool::give_back(std::unique_ptr<BackendConnection> conn) {
  if (!conn) {
    return;
  }
  if (closed_) {
    conn->stream.close();
    return;
  }
  if (conn->broken || conn->not_reusable || !conn->authenticated || !conn->stream.is_open() ||
      !conn->in.empty() ||
      shared_->idle.load(std::memory_order_relaxed) >=
          shared_->max_idle.load(std::memory_order_relaxed)) {
    discard(std::move(conn));
    return;
  }
  conn->in.release();
  std::vector<std::uint8_t>().swap(conn->scratch);
  conn->idle_since = std::chrono::steady_clock::now();
  idle_.push_back(std::move(conn));
  shared_->idle.fetch_add(1, std::memory_order_relaxed);
}

void Pool::discard(std::unique_ptr<BackendConnection> conn) {
  if (!conn) {
    return;
  }
  if (closed_ || conn->broken || !conn->authenticated) {
    conn->stream.close();
    return;  // the slot is released with the connection
  }
  // Say goodbye politely so the backend does not log an aborted connection.
  asio::co_spawn(
      ctx_,
      [](std::unique_ptr<BackendConnection> c) -> awaitable<void> {
        co_await quit_backend(*c);
      }(std::move(conn)),
      asio::detached);
}

void Pool::close_idle(std::size_t max_count) {
  while (max_count-- > 0 && !idle_.empty()) {
    std::unique_ptr<BackendConnection> conn = std::move(idle_.front());
    idle_.pop_front();
    shared_->idle.fetch_sub(1, std::memory_order_relaxed);
    discard(std::move(conn));
  }
}

void Pool::start() { asio::co_spawn(ctx_, sweep_loop(), asio::detached); }

void Pool::sweep() {
  const auto timeout =
      std::chrono::milliseconds(shared_->idle_timeout_ms.load(std::memory_order_relaxed));
  const auto now = std::chrono::steady_clock::now();
  while (!idle_.empty() && now - idle_.front()->idle_since >= timeout) {
    close_idle(1);
  }
  // Surplus after a SIGHUP lowered max-idle.
  while (!idle_.empty() && shared_->idle.load(std::memory_order_relaxed) >
                               shared_->max_idle.load(std::memory_order_relaxed)) {
    close_idle(1);
  }
}

awaitable<void> Pool::sweep_loop() {
  asio::steady_timer timer(ctx_);
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    error_code ec;
    co_await timer.async_wait(redirect(ec));
    if (ec) {
      co_return;
    }
    sweep();
  }
}

}  // namespace ghostgate::proxy
