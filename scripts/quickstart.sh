#!/usr/bin/env bash
# Installs what is missing, builds, starts a MariaDB stand-in with ghostgate in front of it,
# shows a real pt-online-schema-change passing through ghostgate, then stays in the foreground
# printing where to connect. Ctrl-C stops everything.
#   --no-wait     do the demo, check its outcome and exit (for tests)
#   --skip-deps   --skip-build
#   --direct      replay into the stand-in itself, bypassing ghostgate (the naive result)
set -euo pipefail
cd "$(dirname "$0")/.."
skip_deps=0
skip_build=0
args=()
for a in "$@"; do
  case $a in
    --skip-deps) skip_deps=1 ;;
    --skip-build) skip_build=1 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$a") ;;
  esac
done
((skip_deps)) || bash scripts/deps.sh
((skip_build)) || bash scripts/build.sh
exec /usr/bin/python3 tests/harness/quickstart.py "${args[@]}"
