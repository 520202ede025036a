#pragma once
// Process-wide state the sessions share, and the per-thread worker that owns sessions'
// sockets. Everything here is either immutable after start, atomic, or published as an
// immutable snapshot (config), so sessions take no locks on the hot path.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "protocol/auth.h"
#include "protocol/constants.h"
#include "proxy/backend/pool.h"
#include "proxy/config/config.h"
#include "proxy/net/asio.h"

namespace ghostgate::proxy {

class OnlineDdlService;

struct Runtime {
  std::atomic<std::shared_ptr<const Config>> config;
  std::shared_ptr<asio::ssl::context> client_tls;   // nullptr: clients cannot use TLS
  std::shared_ptr<asio::ssl::context> backend_tls;  // nullptr: backend TLS disabled
  std::shared_ptr<PoolShared> pool_shared = std::make_shared<PoolShared>();
  OnlineDdlService* online_ddl = nullptr;  // nullptr: online DDL disabled at start
  // SIGHUP's kill switch (`online-ddl: false`): new statements bypass the service; the recorded
  // state and the meta table are kept for when it is turned back on.
  std::atomic<bool> online_ddl_on{true};
  std::atomic<std::uint64_t> next_session_id{1};
  std::atomic<std::uint32_t> clients{0};
  std::atomic<std::uint32_t> statements_in_flight{0};
  std::atomic<bool> draining{false};

  // The service for the next statement, or nullptr when online DDL is off.
  OnlineDdlService* online_ddl_now() const {
    return online_ddl_on.load(std::memory_order_relaxed) ? online_ddl : nullptr;
  }

  std::shared_ptr<const Config> config_snapshot() const {
    return config.load(std::memory_order_acquire);
  }

  // ghostgate's own RSA key pair (caching_sha2 full authentication of a plain-text client over a
  // TLS backend link), made on first use: nullptr if OpenSSL could not make one.
  const protocol::RsaKeyPair* rsa_key() {
    std::call_once(rsa_once_, [this] { rsa_ = protocol::RsaKeyPair::generate(); });
    return rsa_.get();
  }

 private:
  std::once_flag rsa_once_;
  std::unique_ptr<protocol::RsaKeyPair> rsa_;
};

struct Worker {
  Worker(unsigned index, std::shared_ptr<PoolShared> shared)
      : index(index),
        ctx_owner(std::make_unique<asio::io_context>(1)),
        ctx(*ctx_owner),
        pool(ctx, std::move(shared)) {}
  // The context goes first, while the pool still exists: destroying it destroys the sessions'
  // suspended coroutines, whose clean-up hands connections back to the (closed) pool.
  ~Worker() {
    pool.close();
    ctx_owner.reset();
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  unsigned index;
  std::unique_ptr<asio::io_context> ctx_owner;
  asio::io_context& ctx;
  Pool pool;
  // The capabilities of the last client that logged in here: idle connections with this key
  // are the best guess for greeting the next client before it says what it wants.
  protocol::Capabilities last_key = 0;
  std::thread thread;
};

}  // namespace ghostgate::proxy
