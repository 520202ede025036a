#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test. Three stages, each must pass:
#   1. the normal build (build/): unit + integration tests with ctest
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build (build-asan/): the same tests under
#      the sanitizers; any report (leaks at exit included) fails the run
#   3. the libFuzzer targets (clang-14, build-fuzz/): each run briefly over its seed corpus
# Exits non-zero if any stage fails; the last lines printed say which.
#   --skip-deps  --skip-build  --no-sanitize  --no-fuzz   CTEST_JOBS=2 (default)
#   extra args go to ctest (e.g. -L integration)
set -euo pipefail
cd "$(dirname "$0")/.."
skip_deps=0
skip_build=0
sanitize=1
fuzz=1
ctest_args=()
for a in "$@"; do
  case $a in
    --skip-deps) skip_deps=1 ;;
    --skip-build) skip_build=1 ;;
    --no-sanitize) sanitize=0 ;;
    --no-fuzz) fuzz=0 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) ctest_args+=("$a") ;;
  esac
done
BUILD_DIR=${BUILD_DIR:-build}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${CTEST_JOBS:-2}

((skip_deps)) || bash scripts/deps.sh

failed=()
stage() {  # stage NAME COMMAND...: runs it, records a failure, carries on
  local name=$1
  shift
  echo "=== test.sh: $name"
  local start=$SECONDS
  if "$@"; then
    echo "=== test.sh: $name passed ($((SECONDS - start)) s)"
  else
    echo "=== test.sh: $name FAILED ($((SECONDS - start)) s)"
    failed+=("$name")
  fi
}

summaries=()
run_ctest() {  # run_ctest BUILD_DIR: the output is also kept for the closing summary
  local log="$1/ctest-output.log"
  ctest --test-dir "$1" --output-on-failure --no-tests=error -j "$JOBS" "${ctest_args[@]}" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  ((rc == 0)) || summaries+=("$log")
  return "$rc"
}

# A CI log often shows only its end: repeat what failed, and why, after everything ran.
print_failure_summary() {
  local log
  for log in "${summaries[@]}"; do
    echo "--- failures in $log"
    sed -n '/The following tests FAILED/,$p' "$log"
    grep -E '^(FAIL|ERROR): |^[A-Za-z.]*(Error|Exception): |Failure$|^sanitizer report' "$log" | head -40
  done
}

timed() {  # timed WHAT COMMAND...: runs it and says how long it took (the budget is 20 min)
  local what=$1 start=$SECONDS
  shift
  "$@"
  local rc=$?
  echo "=== test.sh: $what took $((SECONDS - start)) s (exit $rc)"
  return "$rc"
}

if ((!skip_build)); then
  timed "build" env BUILD_DIR="$BUILD_DIR" bash scripts/build.sh
fi
stage "tests" run_ctest "$BUILD_DIR"

if ((sanitize)); then
  # Leaks are checked when each process exits; the harness fails a test whose ghostgate printed
  # a report. Benchmarks are not built here.
  export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # -O1 -g1 (line tables: reports keep file:line): half the compile time of -O2 -g, which
  # keeps the whole test command within its 20-minute budget on 2 cores.
  asan_build() {
    BUILD_DIR=$ASAN_BUILD_DIR bash scripts/build.sh -DGHOSTGATE_SANITIZE=ON -DGHOSTGATE_BENCH=OFF \
      "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
  }
  if ((skip_build)) || timed "sanitizer build" asan_build; then
    stage "tests under ASan+UBSan" run_ctest "$ASAN_BUILD_DIR"
  else
    failed+=("sanitizer build")
  fi
  unset ASAN_OPTIONS UBSAN_OPTIONS
fi

if ((fuzz)); then
  # A standalone clang-14 + libFuzzer project (fuzz/): every target replays its seed corpus,
  # then fuzzes a few seconds from it (scripts/fuzz.sh SECONDS runs them for longer).
  fuzz_build() {
    cmake -S fuzz -B "$FUZZ_BUILD_DIR" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null &&
      cmake --build "$FUZZ_BUILD_DIR" -j "${JOBS_BUILD:-$(nproc)}"
  }
  if ((skip_build)) || timed "fuzz build" fuzz_build; then
    stage "fuzz smoke" bash scripts/fuzz_smoke.sh "$FUZZ_BUILD_DIR"
  else
    failed+=("fuzz build")
  fi
fi

if ((${#failed[@]})); then
  print_failure_summary
  echo "test.sh: FAILED: ${failed[*]}"
  exit 1
fi
echo "test.sh: all stages passed"
