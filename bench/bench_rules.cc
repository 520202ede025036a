// Hot-path cost of the rules library: classify() + Engine::quick_forward() on the statements a
// replicator sends, in time and heap allocations per statement. Target for a typical replicated
// DML statement: < 100 ns and 0 allocations.
//
//   build-rules/bench/ghostgate_bench --benchmark_filter=Rules
//
// Allocations are counted by replacing the global operator new in this binary (a thread-local
// counter: no contention, no effect on what other benchmarks measure beyond one increment).

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>

#include "rules/classifier.h"
#include "rules/lexer.h"
#include "rules/online_ddl.h"

// Our operator new is malloc and our operator delete is free; GCC cannot see that they pair up
// once it inlines std::string's allocations into this file.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
thread_local std::uint64_t g_allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

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
  const std::uint64_t before = g_allocations;
  for (auto _ : state) {
    Statement st = classify(sql);
    bool forward = e.quick_forward(st, "test");
    benchmark::DoNotOptimize(forward);
  }
  report(state, g_allocations - before);
}

void classify_only(benchmark::State& state, std::string_view sql) {
  const std::uint64_t before = g_allocations;
  for (auto _ : state) {
    Statement st = classify(sql);
    benchmark::DoNotOptimize(st.kind);
  }
  report(state, g_allocations - before);
}

void BM_Rules_Decide_Insert10(benchmark::State& s) { decide(s, kInsert10); }
void BM_Rules_Decide_UpdateByPk(benchmark::State& s) { decide(s, kUpdateByPk); }
void BM_Rules_Decide_DeleteByPk(benchmark::State& s) { decide(s, kDeleteByPk); }
void BM_Rules_Decide_MultiRowInsert100(benchmark::State& s) {
  static const std::string sql = multi_row_insert(100);
  decide(s, sql);
}
void BM_Rules_Decide_GhostDml(benchmark::State& s) { decide(s, kGhostDml); }
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
  const std::uint64_t before = g_allocations;
  for (auto _ : state) {
    Plan p = e.plan(st, "test", catalog);
    benchmark::DoNotOptimize(p.verdict);
  }
  report(state, g_allocations - before);
}

void BM_Rules_Split_Transaction(benchmark::State& state) {
  std::string text = "BEGIN;";
  for (int i = 0; i < 10; ++i) {
    text += std::string(kUpdateByPk) + ";";
  }
  text += "COMMIT";
  const std::uint64_t before = g_allocations;
  for (auto _ : state) {
    StatementSplitter splitter(text);
    std::string_view s;
    int n = 0;
    while (splitter.next(s)) {
      ++n;
    }
    benchmark::DoNotOptimize(n);
  }
  report(state, g_allocations - before);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}

BENCHMARK(BM_Rules_Decide_Insert10);
BENCHMARK(BM_Rules_Decide_UpdateByPk);
BENCHMARK(BM_Rules_Decide_DeleteByPk);
BENCHMARK(BM_Rules_Decide_MultiRowInsert100);
BENCHMARK(BM_Rules_Decide_GhostDml);
BENCHMARK(BM_Rules_Decide_GhostDdl);
BENCHMARK(BM_Rules_Classify_Insert10);
BENCHMARK(BM_Rules_Classify_PreparedInsert);
BENCHMARK(BM_Rules_Plan_GhostDml);
BENCHMARK(BM_Rules_Split_Transaction);

}  // namespace
}  // namespace ghostgate::rules
