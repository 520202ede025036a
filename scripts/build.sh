#!/usr/bin/env bash
# Configures (Ninja, RelWithDebInfo) and builds everything: ghostgate, tests, tools, benchmarks.
#   BUILD_DIR=build (default)   JOBS=<n> (default: nproc)   extra args go to cmake configure
#   TARGETS="ghostgate" builds only those targets (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
targets=()
if [[ -n ${TARGETS:-} ]]; then
  read -ra names <<<"$TARGETS"
  targets=(--target "${names[@]}")
fi
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" "${targets[@]}"
