#pragma once
// Process-wide metrics, rendered in the Prometheus text exposition format (version 0.0.4) by the
// admin server's /metrics.
//
// Hot-path cost: Counter::inc and Histogram::observe are a relaxed atomic add on a cache line
// owned by (a small group of) the calling thread — metric_shards per-thread cells, summed when
// rendered — so I/O workers never contend or lock. Gauges are one shared relaxed atomic (they
// move per connection, not per statement). Nothing allocates or looks anything up by name after
// start-up: labelled series (statements by decision and kind) are indexed by enum.
//
//   metrics().client_connections_active.inc();
//   metrics().statements.inc(Decision::suppressed, StatementKind::insert);
//   metrics().added_latency_seconds.observe(std::chrono::steady_clock::now() - t0);

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ghostgate::proxy {

inline constexpr std::size_t metric_shards = 8;  // power of two

namespace detail {
std::size_t next_metric_shard() noexcept;
// The calling thread's cell: threads are handed shards round-robin on first use.
inline std::size_t metric_shard() noexcept {
  thread_local const std::size_t shard = next_metric_shard();
  return shard;
}
}  // namespace detail

// Monotonic counter.
class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept {
    cells_[detail::metric_shard()].value.fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t value() const noexcept;

 private:
  struct alignas(64) Cell {
    std::atomic<std::uint64_t> value{0};
  };
  std::array<Cell, metric_shards> cells_{};
};

// A value that goes up and down (connections open, clients waiting).
class Gauge {
 public:
  void inc(std::int64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  void dec(std::int64_t n = 1) noexcept { value_.fetch_sub(n, std::memory_order_relaxed); }
  void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  alignas(64) std::atomic<std::int64_t> value_{0};
};

// Fixed-bucket histogram. Bounds are upper bounds (Prometheus `le`), ascending and finite; +Inf is
// implicit. At most max_buckets bounds.
class Histogram {
 public:
  static constexpr std::size_t max_buckets = 24;

  explicit Histogram(std::initializer_list<double> upper_bounds);

  void observe(double value) noexcept;
  // Durations are observed in seconds.
  template <typename Rep, typename Period>
  void observe(std::chrono::duration<Rep, Period> d) noexcept {
    observe(std::chrono::duration<double>(d).count());
  }

  struct Snapshot {
    std::vector<double> bounds;             // without +Inf
    std::vector<std::uint64_t> cumulative;  // bounds.size() + 1 entries; the last is +Inf
    std::uint64_t count = 0;
    double sum = 0;
  };
  Snapshot snapshot() const;

 private:
  struct alignas(64) Shard {
    std::array<std::atomic<std::uint64_t>, max_buckets + 1> counts{};
    std::atomic<double> sum{0};
  };
  std::array<double, max_buckets> bounds_{};
  std::size_t size_ = 0;
  std::array<Shard, metric_shards> shards_{};
};

// What ghostgate did with a statement (the `decision` label).
enum class Decision : std::uint8_t { forwarded, suppressed, recorded, refused, cutover, count };

// The statement's kind (the `kind` label). `other` covers everything not listed, incl. SELECT.
enum class StatementKind : std::uint8_t {
  insert,
  update,
  delete_,
  replace,
  load_data,
  create_table,
  alter_table,
  rename_table,
  drop_table,
  truncate,
  create_trigger,
  drop_trigger,
  other,
  execute,  // COM_STMT_EXECUTE of a statement prepared on the backend (its PREPARE has the kind)
  count
};

std::string_view label(Decision d) noexcept;
// Whether ghostgate can ever count `d` for a statement of kind `k` (only those series are
// exported: no "recorded,insert").
bool possible(Decision d, StatementKind k) noexcept;  // "forwarded", ...
std::string_view label(StatementKind k) noexcept;     // "insert", "delete", "load_data", ...

// ghostgate_statements_total{decision, kind}: one counter per pair, all pairs always rendered.
class StatementCounters {
 public:
  static constexpr std::size_t decisions = static_cast<std::size_t>(Decision::count);
  static constexpr std::size_t kinds = static_cast<std::size_t>(StatementKind::count);

  Counter& at(Decision d, StatementKind k) noexcept {
    return counters_[static_cast<std::size_t>(d) * kinds + static_cast<std::size_t>(k)];
  }
  const Counter& at(Decision d, StatementKind k) const noexcept {
    return counters_[static_cast<std::size_t>(d) * kinds + static_cast<std::size_t>(k)];
  }
  void inc(Decision d, StatementKind k, std::uint64_t n = 1) noexcept { at(d, k).inc(n); }

 private:
  std::array<Counter, decisions * kinds> counters_{};
};

class Metrics {
 public:
  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Clients.
  Gauge client_connections_active;     // ghostgate_client_connections_active
  Counter client_connections_total;    // ghostgate_client_connections_total (accepted)
  Counter client_connections_refused;  // ghostgate_client_connections_refused_total
  Counter client_bytes_in;             // ghostgate_client_received_bytes_total
  Counter client_bytes_out;            // ghostgate_client_sent_bytes_total
  Counter protocol_errors;             // ghostgate_protocol_errors_total (malformed packets)
  Counter session_exceptions;          // ghostgate_session_exceptions_total

  // Backend pool.
  Gauge backend_pool_open;           // ghostgate_backend_connections_open (busy + idle)
  Gauge backend_pool_idle;           // ghostgate_backend_connections_idle
  Gauge backend_pool_waiting;        // ghostgate_backend_pool_waiting (clients queued)
  Counter backend_connect_failures;  // ghostgate_backend_connect_failures_total

  // Statements and online DDL.
  StatementCounters statements;  // ghostgate_statements_total{decision,kind}
  Counter cutovers_done;         // ghostgate_cutovers_total{result="ok"}
  Counter cutovers_failed;       // ghostgate_cutovers_total{result="failed"}
  Gauge online_ddl_pending;      // ghostgate_online_ddl_pending_ghosts (ghosts with state)
  // Shard merge: ghostgate_shard_cutovers_total{result="ok|wait|conflict|error"} (a shard's
  // cut-over decided by its group: answered OK, held or timed out waiting for other members,
  // refused as a conflict, failed), and ghostgate_shard_changes_waiting (changes of all merge
  // targets that wait for members, or for an operator's release).
  Counter shard_cutovers_ok, shard_cutovers_wait, shard_cutovers_conflict, shard_cutovers_error;
  Gauge shard_changes_waiting;
  // ghostgate_cutover_ddl_duration_seconds: one recorded DDL run at a cut-over.
  Histogram cutover_ddl_seconds{0.01, 0.05, 0.1, 0.25, 0.5, 1,    2.5,  5,    10,
                                30,   60,   120, 300,  600, 1800, 3600, 7200, 21600};
  // ghostgate_cutover_duration_seconds: one whole cut-over (all its DDLs).
  Histogram cutover_seconds{0.01, 0.05, 0.1, 0.25, 0.5, 1,    2.5,  5,    10,
                            30,   60,   120, 300,  600, 1800, 3600, 7200, 21600};
  // ghostgate_added_latency_seconds: time ghostgate itself adds to a statement (parse, decide,
  // rewrite, queueing), not the backend's time. 1µs .. 100ms.
  Histogram added_latency_seconds{1e-6, 2.5e-6, 5e-6,   1e-5, 2.5e-5, 5e-5,   1e-4, 2.5e-4,
                                  5e-4, 1e-3,   2.5e-3, 5e-3, 1e-2,   2.5e-2, 5e-2, 0.1};

  // Config reloads (SIGHUP).
  // Logins of client-auth.users accounts, checked by ghostgate itself.
  Counter client_auth_ok;         // ghostgate_client_auth_total{result="ok"}
  Counter client_auth_refused;    // ghostgate_client_auth_total{result="refused"}
  Counter config_reloads_ok;      // ghostgate_config_reloads_total{result="ok"}
  Counter config_reloads_failed;  // ghostgate_config_reloads_total{result="failed"}

  // Extra text appended to the rendering, for series that have no member here. The function must
  // append complete families (HELP, TYPE, samples) and be safe to call from the admin thread.
  void add_collector(std::function<void(std::string& out)> collector);

  std::string render_prometheus() const;

 private:
  mutable std::mutex collectors_mutex_;
  std::vector<std::function<void(std::string&)>> collectors_;
};

// The process-wide registry.
Metrics& metrics();
// metrics().render_prometheus().
std::string render_prometheus();

}  // namespace ghostgate::proxy
