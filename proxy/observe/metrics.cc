#include "proxy/observe/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>

#ifndef GHOSTGATE_VERSION
#define GHOSTGATE_VERSION "unknown"
#endif

namespace ghostgate::proxy {

namespace detail {
std::size_t next_metric_shard() noexcept {
  static std::atomic<std::size_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed) & (metric_shards - 1);
}
}  // namespace detail

static_assert((metric_shards & (metric_shards - 1)) == 0, "metric_shards must be a power of two");

std::uint64_t Counter::value() const noexcept {
  std::uint64_t total = 0;
  for (const Cell& cell : cells_) {
    total += cell.value.load(std::memory_order_relaxed);
  }
  return total;
}

Histogram::Histogram(std::initializer_list<double> upper_bounds) {
  if (upper_bounds.size() > max_buckets) {
    throw std::invalid_argument("Histogram: too many buckets");
  }
  double previous = -INFINITY;
  for (double b : upper_bounds) {
    if (!std::isfinite(b) || b <= previous) {
      throw std::invalid_argument("Histogram: bounds must be finite and ascending");
    }
    bounds_[size_++] = b;
    previous = b;
  }
}

void Histogram::observe(double value) noexcept {
  if (std::isnan(value)) {
    return;
  }
  // Few buckets: a linear scan beats a binary search and stays branch-predictable for the
  // common (small) values.
  std::size_t i = 0;
  while (i < size_ && value > bounds_[i]) {
    ++i;
  }
  Shard& shard = shards_[detail::metric_shard()];
  shard.counts[i].fetch_add(1, std::memory_order_relaxed);
  shard.sum.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds.assign(bounds_.begin(), bounds_.begin() + static_cast<std::ptrdiff_t>(size_));
  s.cumulative.assign(size_ + 1, 0);
  for (const Shard& shard : shards_) {
    for (std::size_t i = 0; i <= size_; ++i) {
      s.cumulative[i] += shard.counts[i].load(std::memory_order_relaxed);
    }
    s.sum += shard.sum.load(std::memory_order_relaxed);
  }
  for (std::size_t i = 1; i <= size_; ++i) {
    s.cumulative[i] += s.cumulative[i - 1];
  }
  s.count = s.cumulative[size_];
  return s;
}

std::string_view label(Decision d) noexcept {
  static constexpr std::string_view names[] = {"forwarded", "suppressed", "recorded", "refused",
                                               "cutover"};
  static_assert(std::size(names) == static_cast<std::size_t>(Decision::count));
  const auto i = static_cast<std::size_t>(d);
  return i < std::size(names) ? names[i] : "unknown";
}

bool possible(Decision d, StatementKind k) noexcept {
  using K = StatementKind;
  switch (d) {
    case Decision::forwarded:
      return true;
    case Decision::suppressed:
    case Decision::refused:
      return k != K::execute;  // a forwarded prepared statement's execution is never judged
    case Decision::recorded:
      return k == K::alter_table || k == K::other;  // ALTER, CREATE/DROP INDEX, other DDL
    case Decision::cutover:
      return k == K::rename_table || k == K::alter_table;  // RENAME, ALTER ... RENAME
    default:
      return false;
  }
}

std::string_view label(StatementKind k) noexcept {
  static constexpr std::string_view names[] = {
      "insert",         "update",       "delete",       "replace",    "load_data",
      "create_table",   "alter_table",  "rename_table", "drop_table", "truncate",
      "create_trigger", "drop_trigger", "other",        "execute"};
  static_assert(std::size(names) == static_cast<std::size_t>(StatementKind::count));
  const auto i = static_cast<std::size_t>(k);
  return i < std::size(names) ? names[i] : "unknown";
}

namespace {

using Out = std::back_insert_iterator<std::string>;

void escape_help(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

std::string escape_label_value(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(Out(out), "# HELP {} ", name);
  escape_help(out, help);
  fmt::format_to(Out(out), "\n# TYPE {} {}\n", name, type);
}

// Prometheus floats: shortest round-trip form, +Inf/-Inf/NaN spelled its way.
std::string number(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  return fmt::format("{}", v);
}

void counter(std::string& out, std::string_view name, std::string_view help, const Counter& c) {
  family(out, name, "counter", help);
  fmt::format_to(Out(out), "{} {}\n", name, c.value());
}

void gauge(std::string& out, std::string_view name, std::string_view help, const Gauge& g) {
  family(out, name, "gauge", help);
  fmt::format_to(Out(out), "{} {}\n", name, g.value());
}

void histogram(std::string& out, std::string_view name, std::string_view help, const Histogram& h) {
  family(out, name, "histogram", help);
  const Histogram::Snapshot s = h.snapshot();
  for (std::size_t i = 0; i < s.bounds.size(); ++i) {
    fmt::format_to(Out(out), "{}_bucket{{le=\"{}\"}} {}\n", name, number(s.bounds[i]),
                   s.cumulative[i]);
  }
  fmt::format_to(Out(out), "{}_bucket{{le=\"+Inf\"}} {}\n", name, s.cumulative.back());
  fmt::format_to(Out(out), "{}_sum {}\n", name, number(s.sum));
  fmt::format_to(Out(out), "{}_count {}\n", name, s.count);
}

}  // namespace

void Metrics::add_collector(std::function<void(std::string& out)> collector) {
  std::lock_guard lock(collectors_mutex_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::render_prometheus() const {
  std::string out;
  out.reserve(16 * 1024);

  family(out, "ghostgate_build_info", "gauge", "ghostgate version; always 1.");
  fmt::format_to(Out(out), "ghostgate_build_info{{version=\"{}\"}} 1\n",
                 escape_label_value(GHOSTGATE_VERSION));

  gauge(out, "ghostgate_client_connections_active", "Client connections open now.",
        client_connections_active);
  counter(out, "ghostgate_client_connections_total", "Client connections accepted.",
          client_connections_total);
  counter(out, "ghostgate_client_connections_refused_total",
          "Client connections refused (max-connections, TLS required, failed handshake).",
          client_connections_refused);
  counter(out, "ghostgate_client_received_bytes_total", "Bytes received from clients.",
          client_bytes_in);
  counter(out, "ghostgate_client_sent_bytes_total", "Bytes sent to clients.", client_bytes_out);
  counter(out, "ghostgate_protocol_errors_total",
          "Malformed or unexpected MySQL protocol packets, from clients or the backend.",
          protocol_errors);
  counter(out, "ghostgate_session_exceptions_total",
          "Client sessions ended by an unexpected exception.", session_exceptions);

  gauge(out, "ghostgate_backend_connections_open", "Backend connections open now, busy and idle.",
        backend_pool_open);
  gauge(out, "ghostgate_backend_connections_idle", "Idle backend connections in the pool.",
        backend_pool_idle);
  gauge(out, "ghostgate_backend_pool_waiting", "Clients waiting for a backend connection.",
        backend_pool_waiting);
  counter(out, "ghostgate_backend_connect_failures_total",
          "Failed attempts to open a backend connection.", backend_connect_failures);

  family(out, "ghostgate_statements_total", "counter",
         "Statements by what ghostgate did with them and their kind.");
  for (std::size_t d = 0; d < StatementCounters::decisions; ++d) {
    for (std::size_t k = 0; k < StatementCounters::kinds; ++k) {
      const auto decision = static_cast<Decision>(d);
      const auto kind = static_cast<StatementKind>(k);
      if (!possible(decision, kind)) {
        continue;
      }
      fmt::format_to(Out(out), "ghostgate_statements_total{{decision=\"{}\",kind=\"{}\"}} {}\n",
                     label(decision), label(kind), statements.at(decision, kind).value());
    }
  }

  family(out, "ghostgate_cutovers_total", "counter",
         "Online-DDL cut-overs: recorded DDLs run on the real table.");
  fmt::format_to(Out(out), "ghostgate_cutovers_total{{result=\"ok\"}} {}\n", cutovers_done.value());
  fmt::format_to(Out(out), "ghostgate_cutovers_total{{result=\"failed\"}} {}\n",
                 cutovers_failed.value());
  gauge(out, "ghostgate_online_ddl_pending_ghosts",
        "Ghost tables with recorded state waiting for their cut-over.", online_ddl_pending);
  family(out, "ghostgate_shard_cutovers_total", "counter",
         "Shard merge: shard cut-overs decided by their group, by result.");
  fmt::format_to(Out(out), "ghostgate_shard_cutovers_total{{result=\"ok\"}} {}\n",
                 shard_cutovers_ok.value());
  fmt::format_to(Out(out), "ghostgate_shard_cutovers_total{{result=\"wait\"}} {}\n",
                 shard_cutovers_wait.value());
  fmt::format_to(Out(out), "ghostgate_shard_cutovers_total{{result=\"conflict\"}} {}\n",
                 shard_cutovers_conflict.value());
  fmt::format_to(Out(out), "ghostgate_shard_cutovers_total{{result=\"error\"}} {}\n",
                 shard_cutovers_error.value());
  gauge(out, "ghostgate_shard_changes_waiting",
        "Shard merge: changes of merge targets waiting for members (or an operator's release); "
        "see /online-ddl for which.",
        shard_changes_waiting);
  histogram(out, "ghostgate_cutover_ddl_duration_seconds",
            "Time to run one recorded DDL on the backend at a cut-over (a cut-over of N DDLs "
            "observes N times).",
            cutover_ddl_seconds);
  histogram(out, "ghostgate_cutover_duration_seconds",
            "Time of one whole cut-over: every recorded DDL and the state kept in the meta table.",
            cutover_seconds);
  histogram(out, "ghostgate_added_latency_seconds",
            "Time ghostgate itself adds to a statement, excluding the backend.",
            added_latency_seconds);

  family(out, "ghostgate_client_auth_total", "counter",
         "Logins of client-auth.users accounts, checked by ghostgate itself.");
  fmt::format_to(Out(out), "ghostgate_client_auth_total{{result=\"ok\"}} {}\n",
                 client_auth_ok.value());
  fmt::format_to(Out(out), "ghostgate_client_auth_total{{result=\"refused\"}} {}\n",
                 client_auth_refused.value());
  family(out, "ghostgate_config_reloads_total", "counter", "Configuration reloads (SIGHUP).");
  fmt::format_to(Out(out), "ghostgate_config_reloads_total{{result=\"ok\"}} {}\n",
                 config_reloads_ok.value());
  fmt::format_to(Out(out), "ghostgate_config_reloads_total{{result=\"failed\"}} {}\n",
                 config_reloads_failed.value());

  std::lock_guard lock(collectors_mutex_);
  for (const auto& collect : collectors_) {
    collect(out);
  }
  return out;
}

Metrics& metrics() {
  // Never destroyed: threads still counting during exit must not touch a dead object.
  static Metrics* const instance = new Metrics;
  return *instance;
}

std::string render_prometheus() { return metrics().render_prometheus(); }

}  // namespace ghostgate::proxy
