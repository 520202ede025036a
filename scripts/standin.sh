#!/usr/bin/env bash
# A private MariaDB stand-in for humans (the tests start their own through tests/harness).
#   eval "$(scripts/standin.sh start [--tls] [--log-bin] [--port P] [--dir DIR])"
#   mariadb -h127.0.0.1 -P"$STANDIN_PORT" -uroot -prootpw
#   scripts/standin.sh status|stop [--dir DIR]
# Default DIR: /tmp/ghostgate-standin. Users: root/rootpw, tester/testpw (all on `test%`.*).
set -euo pipefail
if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
exec /usr/bin/python3 "$(dirname "$0")/../tests/harness/harness.py" standin "$@"
