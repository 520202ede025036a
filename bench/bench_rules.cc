// Hot-path cost of the rules library: classify() + Engine::quick_forward() on the statements a
// replicator sends, in time and heap allocations per statement. Target for a typical replicated
// DML statement: < 100 ns and 0 allocations.
//
//   build-rules/bench/ghostgate_bench --benchmark_filter=Rules
//
// Allocations are counted by the global operator new in alloc_counter.cc (a thread-local
// counter: no contention, no effect on what other benchmarks measure beyond one increment).

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "alloc_counter.h"
#include "rules/classifier.h"
#include "rules/lexer.h"
#include "rules/online_ddl.h"
#include "rules/table_rules.h"

namespace ghostgate::rules {
namespace {

// Shapes taken from /work/shared/traces (what a DM-style row applier sends).
constexpr std::string_view kInsert10 =
    "INSERT INTO `test`.`orders` (`id`,`customer_id`,`status`,`amount`,`currency`,`note`,"
    "`created`,`updated`,`region`,`flags`) VALUES (512,11265,'paid',732.48,'EUR','w6b0d54',"
    "'2026-04-03 17:27:03','2026-04-03 17:27:03','eu-west-1',3)";
constexpr std::string_view kUpdateByPk =
    "UPDATE `test`.`orders` SET `id`=188,`customer_id`=12337,`status`='shipped',`amount`=26.86,"
    "`currency`='USD',`note`='row-188',`created`='2026-01-01 03:08:00',`updated`='2026-01-02 "
    "04:00:00',`region`='us-east-1',`flags`=0 WHERE `id`=188 LIMIT 1";
constexpr std::string_view kDeleteByPk = "DELETE FROM `test`.`orders` WHERE `id`=188 LIMIT 1";
constexpr std::string_view kGhostDdl =
    "alter /* gh-ost */ table `test`.`_orders_gho` add column c varchar(10) not null default 'q', "
    "add index ix_b(b)";
constexpr std::string_view kGhostDml =
    "INSERT INTO `test`.`_orders_gho` (`id`,`customer_id`) VALUES (512,11265)";

std::string multi_row_insert(int rows) {
  std::string sql = "INSERT INTO `test`.`orders` (`id`,`customer_id`,`status`,`amount`) VALUES ";
  for (int i = 0; i < rows; ++i) {
    sql += (i > 0 ? ",(" : "(") + std::to_string(i) + "," + std::to_string(i * 7) +
           ",'paid; or not',12.50)";
  }
  return sql;
}

const Engine& engine() {
  static const Engine e(TableRules::defaults());
  return e;
}

const TableRules& engine_rules() {
  static const TableRules r = TableRules::defaults();
  return r;
}

void report(benchmark::State& state, std::uint64_t allocations) {
  state.counters["allocs/stmt"] =
      benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
  state.SetItemsProcessed(state.iterations());
}

// classify + quick_forward: what the proxy does for every statement before forwarding it.
void decide(benchmark::State& state, std::string_view sql) {
  const Engine& e = engine();
  {  // warm up RE2's lazily built DFA outside the measurement
    Statement st = classify(sql);
    benchmark::DoNotOptimize(e.quick_forward(st, "test"));
  }
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    Statement st = classify(sql);
    bool forward = e.quick_forward(st, "test");
    benchmark::DoNotOptimize(forward);
  }
  report(state, bench::allocations() - before);
}

void classify_only(benchmark::State& state, std::string_view sql) {
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    Statement st = classify(sql);
    benchmark::DoNotOptimize(st.kind);
  }
  report(state, bench::allocations() - before);
}

void BM_Rules_Decide_Insert10(benchmark::State& s) { decide(s, kInsert10); }
void BM_Rules_Decide_UpdateByPk(benchmark::State& s) { decide(s, kUpdateByPk); }
void BM_Rules_Decide_DeleteByPk(benchmark::State& s) { decide(s, kDeleteByPk); }
void BM_Rules_Decide_MultiRowInsert100(benchmark::State& s) {
  static const std::string sql = multi_row_insert(100);
  decide(s, sql);
}
void BM_Rules_Decide_GhostDml(benchmark::State& s) { decide(s, kGhostDml); }
void BM_Rules_Decide_UpdateByPkL(benchmark::State& s) {
  static const std::string sql = [] {
    std::string x(kUpdateByPk);
    return x.replace(x.find("`orders`"), 8, "`line_items`");
  }();
  decide(s, sql);
}
void BM_Rules_Decide_GhostDdl(benchmark::State& s) { decide(s, kGhostDdl); }
void BM_Rules_Classify_Insert10(benchmark::State& s) { classify_only(s, kInsert10); }
void BM_Rules_Classify_PreparedInsert(benchmark::State& s) {
  classify_only(s,
                "INSERT INTO `test`.`orders` (`id`,`customer_id`,`status`,`amount`,"
                "`currency`,`note`,`created`,`updated`,`region`,`flags`) VALUES "
                "(?,?,?,?,?,?,?,?,?,?)");
}

// The slow path for a helper-table statement: plan() under the proxy's mutex.
class KnownCatalog : public Catalog {
 public:
  std::optional<bool> table_exists(const QualifiedName& name) const override {
    return name.table == "orders";
  }
};

void BM_Rules_Plan_GhostDml(benchmark::State& state) {
  const Engine& e = engine();
  const KnownCatalog catalog;
  const Statement st = classify(kGhostDml);
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    Plan p = e.plan(st, "test", catalog);
    benchmark::DoNotOptimize(p.verdict);
  }
  report(state, bench::allocations() - before);
}

void BM_Rules_Split_Transaction(benchmark::State& state) {
  std::string text = "BEGIN;";
  for (int i = 0; i < 10; ++i) {
    text += std::string(kUpdateByPk) + ";";
  }
  text += "COMMIT";
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    StatementSplitter splitter(text);
    std::string_view s;
    int n = 0;
    while (splitter.next(s)) {
      ++n;
    }
    benchmark::DoNotOptimize(n);
  }
  report(state, bench::allocations() - before);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}

// Table-name rules alone: what every table a statement touches costs. A real name is rejected
// by the first-byte check; a name starting with `_` runs RE2's DFA; a ghost name also extracts
// the capture (may_match / matches_any / match, as the engine uses them).
void table_match(benchmark::State& state, std::string_view name) {
  const TableRules& rules = engine_rules();
  (void)rules.match(name);  // warm up RE2's lazily built DFA
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    NameMatch m = rules.match(name);
    benchmark::DoNotOptimize(m);
  }
  report(state, bench::allocations() - before);
}
// The engine's hot-path check: may_match() (first byte) then matches_any() (DFA, no capture).
void table_quick(benchmark::State& state, std::string_view name) {
  const TableRules& rules = engine_rules();
  (void)rules.matches_any(name);
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    bool helper = rules.may_match(name) && rules.matches_any(name);
    benchmark::DoNotOptimize(helper);
  }
  report(state, bench::allocations() - before);
}
void BM_Rules_TableQuick_Real(benchmark::State& s) { table_quick(s, "orders"); }
// Real names sharing a first byte with a preset (LHM `lhmn_`, DMS `tp_`): the literal prefix
// check turns them away without a regex.
void BM_Rules_TableQuick_RealL(benchmark::State& s) { table_quick(s, "line_items"); }
void BM_Rules_TableQuick_RealT(benchmark::State& s) { table_quick(s, "tickets"); }
void BM_Rules_TableQuick_RealUpper(benchmark::State& s) { table_quick(s, "Orders"); }
void BM_Rules_TableQuick_VitessShadow(benchmark::State& s) {
  table_quick(s, "_vt_vrp_6ace8bcef73211ea87e9f875a4d24e90_20260102030405_");
}
void BM_Rules_TableQuick_LhmGhost(benchmark::State& s) { table_quick(s, "lhmn_orders"); }
void BM_Rules_TableQuick_UnderscoreReal(benchmark::State& s) { table_quick(s, "_orders_archive"); }
void BM_Rules_TableQuick_GhOstGhost(benchmark::State& s) { table_quick(s, "_orders_gho"); }
void BM_Rules_TableMatch_Real(benchmark::State& s) { table_match(s, "orders"); }
void BM_Rules_TableMatch_UnderscoreReal(benchmark::State& s) { table_match(s, "_orders_archive"); }
void BM_Rules_TableMatch_GhOstGhost(benchmark::State& s) { table_match(s, "_orders_gho"); }
void BM_Rules_TableMatch_PtOscNew(benchmark::State& s) { table_match(s, "__orders_new"); }
void BM_Rules_TableMatch_TimestampDel(benchmark::State& s) {
  table_match(s, "_orders_20261122101010_del");
}

// A realistic mix, cycled in order: what a row applier sends for a stream of small
// transactions (DM-style statements on two tables), and sysbench oltp_write_only's statements
// (what bench/compare.sh sends through the proxy).
constexpr std::array<std::string_view, 10> kApplierMix = {
    "BEGIN",
    kInsert10,
    kUpdateByPk,
    "INSERT INTO `test`.`customers` (`id`,`name`,`email`,`created`) VALUES "
    "(11265,'Ada','ada@example.com','2026-04-03 17:27:03')",
    kDeleteByPk,
    "COMMIT",
    "BEGIN",
    "UPDATE `test`.`customers` SET `email`='ada@example.org' WHERE `id`=11265",
    "REPLACE INTO `test`.`orders` (`id`,`customer_id`,`status`) VALUES (513,11265,'new')",
    "COMMIT",
};
constexpr std::array<std::string_view, 7> kSysbenchWriteMix = {
    "BEGIN",
    "UPDATE sbtest3 SET k=k+1 WHERE id=5017",
    "UPDATE sbtest1 SET c='83868641912-28773972837-60736120486-75162659906-27563526494-"
    "20381887404-41576422241-93426793964-56405065102-33518432330' WHERE id=4963",
    "DELETE FROM sbtest2 WHERE id=5026",
    "INSERT INTO sbtest2 (id, k, c, pad) VALUES (5026, 4989, '67847967377-48000963322-"
    "62604785301-91415491898-96926520291-91010549185-36587263545-21398453585-70014853929-"
    "23233316436', '22195207048-70116052123-74140395089-76317954521-98694025897')",
    "COMMIT",
    "SELECT c FROM sbtest1 WHERE id=5003",
};

template <std::size_t N>
void decide_mix(benchmark::State& state, const std::array<std::string_view, N>& mix) {
  const Engine& e = engine();
  for (std::string_view sql : mix) {
    Statement st = classify(sql);
    benchmark::DoNotOptimize(e.quick_forward(st, "test"));
  }
  const std::uint64_t before = bench::allocations();
  std::size_t i = 0;
  std::int64_t bytes = 0;
  for (auto _ : state) {
    const std::string_view sql = mix[i];
    i = i + 1 == N ? 0 : i + 1;
    Statement st = classify(sql);
    bool forward = e.quick_forward(st, "test");
    benchmark::DoNotOptimize(forward);
    bytes += static_cast<std::int64_t>(sql.size());
  }
  report(state, bench::allocations() - before);
  state.SetBytesProcessed(bytes);
}
void BM_Rules_Decide_ApplierMix(benchmark::State& s) { decide_mix(s, kApplierMix); }
void BM_Rules_Decide_SysbenchWriteMix(benchmark::State& s) { decide_mix(s, kSysbenchWriteMix); }

BENCHMARK(BM_Rules_Decide_Insert10);
BENCHMARK(BM_Rules_Decide_UpdateByPk);
BENCHMARK(BM_Rules_Decide_DeleteByPk);
BENCHMARK(BM_Rules_Decide_MultiRowInsert100);
BENCHMARK(BM_Rules_Decide_GhostDml);
BENCHMARK(BM_Rules_Decide_UpdateByPkL);
BENCHMARK(BM_Rules_Decide_GhostDdl);
BENCHMARK(BM_Rules_Classify_Insert10);
BENCHMARK(BM_Rules_Classify_PreparedInsert);
BENCHMARK(BM_Rules_Plan_GhostDml);
BENCHMARK(BM_Rules_Split_Transaction);
BENCHMARK(BM_Rules_TableQuick_Real);
BENCHMARK(BM_Rules_TableQuick_RealL);
BENCHMARK(BM_Rules_TableQuick_RealT);
BENCHMARK(BM_Rules_TableQuick_RealUpper);
BENCHMARK(BM_Rules_TableQuick_VitessShadow);
BENCHMARK(BM_Rules_TableQuick_LhmGhost);
BENCHMARK(BM_Rules_TableQuick_UnderscoreReal);
BENCHMARK(BM_Rules_TableQuick_GhOstGhost);
BENCHMARK(BM_Rules_TableMatch_Real);
BENCHMARK(BM_Rules_TableMatch_UnderscoreReal);
BENCHMARK(BM_Rules_TableMatch_GhOstGhost);
BENCHMARK(BM_Rules_TableMatch_PtOscNew);
BENCHMARK(BM_Rules_TableMatch_TimestampDel);
BENCHMARK(BM_Rules_Decide_ApplierMix);
BENCHMARK(BM_Rules_Decide_SysbenchWriteMix);

}  // namespace
}  // namespace ghostgate::rules
