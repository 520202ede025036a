#include "proxy/observe/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace ghostgate::proxy {
namespace {

// A minimal reader of the Prometheus text format, enough to check what we render: samples keyed
// by `name{labels}` exactly as written, plus the TYPE of every family.
struct Exposition {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;  // family -> counter/gauge/histogram
  std::set<std::string> helps;
  std::vector<std::string> errors;
};

Exposition parse(const std::string& text) {
  Exposition e;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) {
      e.errors.push_back("empty line");
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) {
      e.helps.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      if (e.types.count(name) != 0) {
        e.errors.push_back("duplicate TYPE " + name);
      }
      e.types[name] = type;
      continue;
    }
    const auto space = line.rfind(' ');
    if (space == std::string::npos) {
      e.errors.push_back("no value: " + line);
      continue;
    }
    const std::string key = line.substr(0, space);
    const std::string value = line.substr(space + 1);
    double v = 0;
    if (value == "+Inf") {
      v = INFINITY;
    } else {
      std::size_t used = 0;
      v = std::stod(value, &used);
      if (used != value.size()) {
        e.errors.push_back("bad value: " + line);
      }
    }
    if (!e.samples.emplace(key, v).second) {
      e.errors.push_back("duplicate sample " + key);
    }
    // Every sample belongs to a declared family.
    std::string name = key.substr(0, key.find('{'));
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s(suffix);
      if (e.types.count(name) == 0 && name.size() > s.size() &&
          name.compare(name.size() - s.size(), s.size(), s) == 0) {
        name = name.substr(0, name.size() - s.size());
      }
    }
    if (e.types.count(name) == 0) {
      e.errors.push_back("sample without TYPE: " + key);
    }
  }
  return e;
}

TEST(Metrics, CountersMoveByExactlyWhatWasAdded) {
  Metrics m;
  EXPECT_EQ(m.client_connections_total.value(), 0u);
  m.client_connections_total.inc();
  m.client_connections_total.inc(41);
  EXPECT_EQ(m.client_connections_total.value(), 42u);
  EXPECT_EQ(m.client_connections_refused.value(), 0u);  // nothing else moved

  m.client_connections_active.inc();
  m.client_connections_active.inc(2);
  m.client_connections_active.dec();
  EXPECT_EQ(m.client_connections_active.value(), 2);
  m.backend_pool_idle.set(-3);
  EXPECT_EQ(m.backend_pool_idle.value(), -3);
}

TEST(Metrics, CountersFromManyThreadsSumExactly) {
  Metrics m;
  constexpr int threads = 12;  // more than metric_shards: shards are shared
  constexpr int per_thread = 20000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&m] {
      for (int i = 0; i < per_thread; ++i) {
        m.client_bytes_in.inc(3);
        m.statements.inc(Decision::forwarded, StatementKind::insert);
        m.added_latency_seconds.observe(0.0002);
      }
    });
  }
  for (auto& t : pool) {
    t.join();
  }
  EXPECT_EQ(m.client_bytes_in.value(), 3u * threads * per_thread);
  EXPECT_EQ(m.statements.at(Decision::forwarded, StatementKind::insert).value(),
            std::uint64_t{threads} * per_thread);
  const auto s = m.added_latency_seconds.snapshot();
  EXPECT_EQ(s.count, std::uint64_t{threads} * per_thread);
  EXPECT_NEAR(s.sum, 0.0002 * threads * per_thread, 1e-6);
}

TEST(Metrics, StatementCountersAreIndependentPerLabelPair) {
  Metrics m;
  m.statements.inc(Decision::suppressed, StatementKind::insert, 5);
  m.statements.inc(Decision::recorded, StatementKind::alter_table);
  m.statements.inc(Decision::cutover, StatementKind::rename_table, 2);
  for (std::size_t d = 0; d < StatementCounters::decisions; ++d) {
    for (std::size_t k = 0; k < StatementCounters::kinds; ++k) {
      const auto decision = static_cast<Decision>(d);
      const auto kind = static_cast<StatementKind>(k);
      std::uint64_t expected = 0;
      if (decision == Decision::suppressed && kind == StatementKind::insert) {
        expected = 5;
      } else if (decision == Decision::recorded && kind == StatementKind::alter_table) {
        expected = 1;
      } else if (decision == Decision::cutover && kind == StatementKind::rename_table) {
        expected = 2;
      }
      EXPECT_EQ(m.statements.at(decision, kind).value(), expected)
          << label(decision) << "/" << label(kind);
    }
  }
}

TEST(Metrics, HistogramBucketsAreCumulativeWithLeSemantics) {
  Histogram h{0.001, 0.01, 0.1};
  h.observe(0.0005);  // <= 0.001
  h.observe(0.001);   // exactly on a bound: counts in that bucket (le)
  h.observe(0.005);
  h.observe(0.5);  // +Inf only
  h.observe(std::chrono::milliseconds(50));
  h.observe(NAN);  // ignored
  const auto s = h.snapshot();
  ASSERT_EQ(s.cumulative.size(), 4u);
  EXPECT_EQ(s.cumulative[0], 2u);
  EXPECT_EQ(s.cumulative[1], 3u);
  EXPECT_EQ(s.cumulative[2], 4u);
  EXPECT_EQ(s.cumulative[3], 5u);
  EXPECT_EQ(s.count, 5u);
  EXPECT_NEAR(s.sum, 0.0005 + 0.001 + 0.005 + 0.5 + 0.05, 1e-12);
}

TEST(Metrics, BadHistogramBoundsThrow) {
  EXPECT_THROW((Histogram{1.0, 0.5}), std::invalid_argument);
  EXPECT_THROW((Histogram{1.0, INFINITY}), std::invalid_argument);
}

TEST(Metrics, RenderingParsesBack) {
  Metrics m;
  m.client_connections_active.set(7);
  m.client_connections_total.inc(9);
  m.client_connections_refused.inc(1);
  m.backend_pool_open.set(4);
  m.backend_pool_idle.set(2);
  m.backend_pool_waiting.set(1);
  m.backend_connect_failures.inc(3);
  m.statements.inc(Decision::suppressed, StatementKind::delete_, 11);
  m.statements.inc(Decision::refused, StatementKind::load_data);
  m.cutovers_done.inc(2);
  m.cutovers_failed.inc();
  m.cutover_ddl_seconds.observe(0.3);
  m.cutover_ddl_seconds.observe(4000.0);
  m.client_bytes_in.inc(100);
  m.client_bytes_out.inc(200);
  m.protocol_errors.inc(5);
  m.added_latency_seconds.observe(3e-6);
  m.added_latency_seconds.observe(0.02);
  m.added_latency_seconds.observe(1.0);
  m.session_exceptions.inc();
  m.config_reloads_ok.inc(2);
  m.config_reloads_failed.inc(1);
  m.online_ddl_pending.set(3);
  m.add_collector([](std::string& out) {
    out += "# HELP ghostgate_extra_total Extra.\n# TYPE ghostgate_extra_total counter\n";
    out += "ghostgate_extra_total 12\n";
  });

  const std::string text = m.render_prometheus();
  const Exposition e = parse(text);
  EXPECT_TRUE(e.errors.empty()) << e.errors.front() << "\n" << text;
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  for (const auto& [family, type] : e.types) {
    EXPECT_EQ(e.helps.count(family), 1u) << family;
  }

  const auto at = [&](const std::string& key) {
    const auto it = e.samples.find(key);
    EXPECT_NE(it, e.samples.end()) << key;
    return it == e.samples.end() ? -1.0 : it->second;
  };
  EXPECT_EQ(e.types.at("ghostgate_client_connections_active"), "gauge");
  EXPECT_EQ(at("ghostgate_client_connections_active"), 7);
  EXPECT_EQ(e.types.at("ghostgate_client_connections_total"), "counter");
  EXPECT_EQ(at("ghostgate_client_connections_total"), 9);
  EXPECT_EQ(at("ghostgate_client_connections_refused_total"), 1);
  EXPECT_EQ(at("ghostgate_backend_connections_open"), 4);
  EXPECT_EQ(at("ghostgate_backend_connections_idle"), 2);
  EXPECT_EQ(at("ghostgate_backend_pool_waiting"), 1);
  EXPECT_EQ(at("ghostgate_backend_connect_failures_total"), 3);
  EXPECT_EQ(at("ghostgate_client_received_bytes_total"), 100);
  EXPECT_EQ(at("ghostgate_client_sent_bytes_total"), 200);
  EXPECT_EQ(at("ghostgate_protocol_errors_total"), 5);
  EXPECT_EQ(at("ghostgate_session_exceptions_total"), 1);
  EXPECT_EQ(at("ghostgate_online_ddl_pending_ghosts"), 3);
  EXPECT_EQ(at("ghostgate_cutovers_total{result=\"ok\"}"), 2);
  EXPECT_EQ(at("ghostgate_cutovers_total{result=\"failed\"}"), 1);
  EXPECT_EQ(at("ghostgate_config_reloads_total{result=\"ok\"}"), 2);
  EXPECT_EQ(at("ghostgate_config_reloads_total{result=\"failed\"}"), 1);
  EXPECT_EQ(at("ghostgate_extra_total"), 12);
  EXPECT_EQ(e.samples.count("ghostgate_build_info{version=\"" GHOSTGATE_VERSION "\"}"), 1u);

  // Every possible decision x kind pair is present, with its own value; impossible ones (a
  // recorded INSERT) are not exported.
  int statement_series = 0;
  for (const auto& [key, value] : e.samples) {
    if (key.rfind("ghostgate_statements_total{", 0) == 0) {
      ++statement_series;
    }
  }
  EXPECT_EQ(statement_series, 14 + 13 + 13 + 2 + 2);  // forwarded, suppressed, refused, ...
  EXPECT_EQ(e.samples.count("ghostgate_statements_total{decision=\"recorded\",kind=\"insert\"}"),
            0u);
  EXPECT_EQ(e.samples.count("ghostgate_statements_total{decision=\"cutover\",kind=\"other\"}"), 0u);
  EXPECT_EQ(at("ghostgate_statements_total{decision=\"suppressed\",kind=\"delete\"}"), 11);
  EXPECT_EQ(at("ghostgate_statements_total{decision=\"refused\",kind=\"load_data\"}"), 1);
  EXPECT_EQ(at("ghostgate_statements_total{decision=\"forwarded\",kind=\"create_trigger\"}"), 0);
  EXPECT_EQ(at("ghostgate_statements_total{decision=\"cutover\",kind=\"rename_table\"}"), 0);

  // Histograms: buckets cumulative, ending in +Inf == _count.
  EXPECT_EQ(e.types.at("ghostgate_added_latency_seconds"), "histogram");
  EXPECT_EQ(at("ghostgate_added_latency_seconds_bucket{le=\"1e-06\"}"), 0);
  EXPECT_EQ(at("ghostgate_added_latency_seconds_bucket{le=\"5e-06\"}"), 1);
  EXPECT_EQ(at("ghostgate_added_latency_seconds_bucket{le=\"0.025\"}"), 2);
  EXPECT_EQ(at("ghostgate_added_latency_seconds_bucket{le=\"0.1\"}"), 2);
  EXPECT_EQ(at("ghostgate_added_latency_seconds_bucket{le=\"+Inf\"}"), 3);
  EXPECT_EQ(at("ghostgate_added_latency_seconds_count"), 3);
  EXPECT_NEAR(at("ghostgate_added_latency_seconds_sum"), 1.020003, 1e-9);
  EXPECT_EQ(at("ghostgate_cutover_ddl_duration_seconds_bucket{le=\"0.5\"}"), 1);
  EXPECT_EQ(at("ghostgate_cutover_ddl_duration_seconds_bucket{le=\"+Inf\"}"), 2);

  for (const char* hist :
       {"ghostgate_added_latency_seconds", "ghostgate_cutover_ddl_duration_seconds"}) {
    double previous = 0;
    double previous_le = -1;
    int buckets = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      const std::string prefix = std::string(hist) + "_bucket{le=\"";
      if (line.rfind(prefix, 0) != 0) {
        continue;
      }
      const std::string le =
          line.substr(prefix.size(), line.find('"', prefix.size()) - prefix.size());
      const double bound = le == "+Inf" ? INFINITY : std::stod(le);
      const double value = std::stod(line.substr(line.rfind(' ') + 1));
      EXPECT_GT(bound, previous_le) << line;
      EXPECT_GE(value, previous) << line;
      previous_le = bound;
      previous = value;
      ++buckets;
    }
    EXPECT_TRUE(std::isinf(previous_le)) << hist;
    EXPECT_GE(buckets, 10) << hist;
  }
  // The latency histogram spans 1µs .. 100ms.
  EXPECT_EQ(e.samples.count("ghostgate_added_latency_seconds_bucket{le=\"1e-06\"}"), 1u);
  EXPECT_EQ(e.samples.count("ghostgate_added_latency_seconds_bucket{le=\"0.1\"}"), 1u);
}

TEST(Metrics, ProcessWideRegistry) {
  const std::uint64_t before = metrics().protocol_errors.value();
  metrics().protocol_errors.inc();
  EXPECT_EQ(metrics().protocol_errors.value(), before + 1);
  EXPECT_NE(
      render_prometheus().find("ghostgate_protocol_errors_total " + std::to_string(before + 1)),
      std::string::npos);
}

TEST(Metrics, Labels) {
  EXPECT_EQ(label(StatementKind::delete_), "delete");
  EXPECT_EQ(label(StatementKind::drop_trigger), "drop_trigger");
  EXPECT_EQ(label(Decision::cutover), "cutover");
}

}  // namespace
}  // namespace ghostgate::proxy
