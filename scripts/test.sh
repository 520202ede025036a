#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit + integration) with ctest.
# Exits non-zero on any failure; the last lines printed are ctest's summary.
#   --skip-deps  --skip-build   CTEST_JOBS=2 (default)   extra args go to ctest (e.g. -L integration)
set -euo pipefail
cd "$(dirname "$0")/.."
skip_deps=0
skip_build=0
ctest_args=()
for a in "$@"; do
  case $a in
    --skip-deps) skip_deps=1 ;;
    --skip-build) skip_build=1 ;;
    *) ctest_args+=("$a") ;;
  esac
done
BUILD_DIR=${BUILD_DIR:-build}
((skip_deps)) || bash scripts/deps.sh
((skip_build)) || BUILD_DIR=$BUILD_DIR bash scripts/build.sh
exec ctest --test-dir "$BUILD_DIR" --output-on-failure -j "${CTEST_JOBS:-2}" "${ctest_args[@]}"
