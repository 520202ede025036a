#!/usr/bin/env bash
# Runs every fuzzer of an already-built fuzz build briefly, for the test command: each target
# replays its seed corpus (fuzz/corpus/<target>/, every seed must pass), then fuzzes for
# FUZZ_SMOKE_SECONDS (default 3) from those seeds. Fails on any crash, leak, timeout or
# FUZZ_CHECK. Writes nothing into the source tree: new inputs go to a temporary directory,
# crashing ones to <build>/smoke-artifacts/<target>/. Exit 0: all passed; 1: a target failed, or
# there is no fuzz build (nothing run is a failure, never a skip).
#   scripts/fuzz_smoke.sh [BUILD_DIR]        (default build-fuzz; build it with
#     cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 && cmake --build build-fuzz)
#   FUZZ_SMOKE_SECONDS=10 FUZZ_TARGETS="lexer config" scripts/fuzz_smoke.sh
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-fuzz}"
seconds="${FUZZ_SMOKE_SECONDS:-3}"
if [ ! -f "$build/fuzzers.txt" ]; then
  echo "fuzz_smoke: $build/fuzzers.txt missing; build the fuzz project first" >&2
  exit 1
fi
build="$(cd "$build" && pwd)"
targets="${FUZZ_TARGETS:-$(cat "$build/fuzzers.txt")}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

failed=()
for t in $targets; do
  bin="$build/fuzz_$t"
  if [ ! -x "$bin" ]; then
    echo "fuzz_smoke: $bin missing" >&2
    failed+=("$t(missing)")
    continue
  fi
  seeds="$root/fuzz/corpus/$t"
  artifacts="$build/smoke-artifacts/$t"
  mkdir -p "$work/$t" "$artifacts"
  dict=()
  if [ -f "$root/fuzz/dict/$t.dict" ]; then
    dict=(-dict="$root/fuzz/dict/$t.dict")
  fi
  log="$work/$t.log"
  rc=0
  # Replays every seed (a seed whose properties no longer hold fails here, deterministically),
  # then fuzzes from them for a few seconds. New inputs go to the first (temporary) directory.
  seed_dirs=()
  if [ -d "$seeds" ]; then
    seed_dirs=("$seeds")
  fi
  "$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${dict[@]}" "$work/$t" "${seed_dirs[@]}" >"$log" 2>&1 ||
    rc=$?
  runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
  if [ "$rc" -ne 0 ]; then
    echo "FAIL fuzz_$t (exit $rc); crashing input in $artifacts/"
    grep -E 'FUZZ_CHECK|ERROR|SUMMARY|Test unit written' "$log" | head -8
    failed+=("$t")
  else
    printf 'ok   fuzz_%-20s %s executions\n' "$t" "${runs:-?}"
  fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz_smoke: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz_smoke: all $(echo $targets | wc -w) targets passed"
