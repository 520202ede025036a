#!/usr/bin/env bash
# Builds every fuzzer (fuzz/CMakeLists.txt, clang-14 + libFuzzer + ASan/UBSan) into build-fuzz/
# and runs each for SECONDS (default 60), one after the other. Prints executions and crashes
# per target; exits non-zero if any target crashed.
#   scripts/fuzz.sh [SECONDS]            all targets
#   FUZZ_TARGETS="frame column" scripts/fuzz.sh 30
#   FUZZ_BUILD_DIR=... (default build-fuzz)   FUZZ_JOBS=N compile jobs (default nproc)
# Crashing inputs land in build-fuzz/artifacts/<target>/; turn each into a regression test in
# tests/protocol/fuzz_regression*_test.cc or tests/rules/fuzz_regressions_test.cc before fixing
# it. Seeds: fuzz/corpus/<target>/ (python3 fuzz/make_corpus.py); dictionaries:
# fuzz/dict/<target>.dict. New inputs found go to build-fuzz/corpus/<target>/, not to the seeds.
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"

generator=()
if command -v ninja >/dev/null; then
  generator=(-G Ninja)
fi
cmake -S "$root/fuzz" -B "$build" "${generator[@]}" -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
cmake --build "$build" -j"${FUZZ_JOBS:-$(nproc)}"

targets="${FUZZ_TARGETS:-$(cat "$build/fuzzers.txt")}"
failed=0
summary=()
for t in $targets; do
  corpus="$build/corpus/$t"
  artifacts="$build/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  seeds=()
  if [ -d "$root/fuzz/corpus/$t" ]; then
    seeds=("$root/fuzz/corpus/$t")
  fi
  dict=()
  if [ -f "$root/fuzz/dict/$t.dict" ]; then
    dict=(-dict="$root/fuzz/dict/$t.dict")
  fi
  log="$build/$t.log"
  echo "== fuzz_$t for ${seconds}s"
  touch "$build/.started_$t"
  set +e
  "$build/fuzz_$t" -max_total_time="$seconds" -max_len=65536 -timeout=20 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" "$corpus" "${seeds[@]}" \
    >"$log" 2>&1
  rc=$?
  set -e
  runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
  speed="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
  crashes="$(find "$artifacts" -type f -newer "$build/.started_$t" | wc -l)"  # this run's
  if [ "$rc" -ne 0 ]; then
    failed=1
    tail -30 "$log"
  fi
  summary+=("$(printf '%-20s exit=%-3s executions=%-12s exec/s=%-8s crash_files=%s' "$t" "$rc" \
    "${runs:-?}" "${speed:-?}" "$crashes")")
done

echo
echo "== summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
exit "$failed"
