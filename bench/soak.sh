#!/usr/bin/env bash
# Soak test (not run in CI): ghostgate under a write load while the backend and ghostgate itself
# are killed and restarted.
#
# For DURATION, through ghostgate:
#   - sysbench oltp_write_only (server-side prepared statements, SB_THREADS threads), restarted
#     whenever it gives up;
#   - the online-schema-change traces of ../shared/traces replayed in a loop by REPLAYERS
#     concurrent replayers, each iteration of each trace into a fresh database (the trace's
#     `test` renamed), as a replicator would: one connection, transactions with an
#     in-transaction checkpoint, re-sending what was not acknowledged after a reconnect;
# while
#   - the backend (a MariaDB stand-in) is restarted every RESTART_EVERY seconds, alternately
#     with a clean shutdown and with SIGKILL;
#   - ghostgate is SIGKILLed and restarted GG_KILLS times (evenly spread);
#   - ghostgate's VmRSS is sampled every 10 s into rss.csv.
# At the end every trace database must equal the trace's expected.txt (schema, row count,
# CHECKSUM TABLE, ordered md5; no helper table, no trigger), no migration may be left pending
# (meta table and /online-ddl), every sysbench table must still hold SB_SIZE rows, and ghostgate
# must not have died on its own. Prints a summary (also in SOAK_DIR/summary.txt), including the
# RSS trend (least-squares slope per ghostgate lifetime, first minute left out). Exit status 0
# only if every check held.
#
#   bench/soak.sh                          # 30 minutes
#   DURATION=5m RESTART_EVERY=75 bench/soak.sh
#
# Environment: DURATION (seconds, or with m/h suffix; default 30m), RESTART_EVERY (default 240),
# GG_KILLS (2), REPLAYERS (2), SB_THREADS (4), SB_TABLES (4), SB_SIZE (10000),
# GHOSTGATE_BIN (build/ghostgate),
# GHOSTGATE_TRACES (../shared/traces), SOAK_DIR (a new /tmp/ghostgate-soak-* directory; it keeps
# every log and CSV), PYTHON (/usr/bin/python3, with pymysql).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
to_seconds() {
  case $1 in
    *h) echo $((${1%h} * 3600)) ;;
    *m) echo $((${1%m} * 60)) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
  esac
}
DURATION=$(to_seconds "${DURATION:-30m}")
RESTART_EVERY=$(to_seconds "${RESTART_EVERY:-240}")
GG_KILLS=${GG_KILLS:-2}
REPLAYERS=${REPLAYERS:-2}
SB_THREADS=${SB_THREADS:-4}
SB_TABLES=${SB_TABLES:-4}
SB_SIZE=${SB_SIZE:-10000}
GHOSTGATE_BIN=$(realpath "${GHOSTGATE_BIN:-$REPO/build/ghostgate}")
TRACES=$(realpath "${GHOSTGATE_TRACES:-$REPO/../shared/traces}")
PY=${PYTHON:-/usr/bin/python3}
SOAK_DIR=${SOAK_DIR:-$(mktemp -d /tmp/ghostgate-soak-XXXXXX)}
mkdir -p "$SOAK_DIR"
SOAK_DIR=$(realpath "$SOAK_DIR")
HARNESS="$REPO/tests/harness/harness.py"

[[ -x $GHOSTGATE_BIN ]] || { echo "soak: $GHOSTGATE_BIN is not executable (build first)" >&2; exit 2; }
[[ -d $TRACES ]] || { echo "soak: no traces at $TRACES" >&2; exit 2; }
command -v sysbench >/dev/null || { echo "soak: sysbench missing (scripts/deps.sh)" >&2; exit 2; }
command -v mariadb >/dev/null || { echo "soak: mariadb client missing" >&2; exit 2; }

EVENTS=$SOAK_DIR/events.log
START=$(date +%s)
END=$((START + DURATION))
log() { echo "$(date -u +%FT%TZ) +$(($(date +%s) - START))s $*" | tee -a "$EVENTS"; }

# ---- the helper (replayer, checks, RSS fit) --------------------------------------------------
cat > "$SOAK_DIR/soak_helper.py" <<'PYEOF'
"""Helper of bench/soak.sh: replay, verify, rss-fit."""
import json
import os
import re
import subprocess
import sys
import time

REPO = os.environ["SOAK_REPO"]
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tests", "harness"))
import pymysql  # noqa: E402
from test_traces import normalize_create, parse_expected, parse_trace  # noqa: E402

SOAK = os.environ["SOAK_DIR"]
TRACES = os.environ["SOAK_TRACES"]
GATE = dict(host="127.0.0.1", port=int(os.environ["GG_PORT"]), user="root",
            password=os.environ["SOAK_ROOT_PASSWORD"])
DIRECT = dict(GATE, port=int(os.environ["STANDIN_PORT"]))
# Errors that mean "the connection or the server went away, or ghostgate cannot serve yet":
# a replicator reconnects and sends again what was not acknowledged.
RETRY = {1040, 1053, 1105, 1152, 1158, 1159, 1160, 1161, 1927, 2002, 2003, 2006, 2013, 2055}
RETRY_BUDGET = 300  # seconds per unit before it counts as failed


def log(msg):
    with open(os.path.join(SOAK, "replay.log"), "a") as f:
        f.write(f"{time.strftime('%H:%M:%S')} {msg}\n")


def rewrite(text, db):
    return text.replace("`test`", f"`{db}`").replace("pt_osc_test_", f"pt_osc_{db}_")


def connect(params, **kw):
    return pymysql.connect(connect_timeout=10, read_timeout=600, write_timeout=600,
                           autocommit=True, **params, **kw)


def retryable(e):
    if isinstance(e, (pymysql.err.InterfaceError, OSError)):
        return True
    return isinstance(e, pymysql.err.MySQLError) and bool(e.args) and e.args[0] in RETRY


def until_done(what, fn):
    """Runs fn() until it does not fail with a retryable error (the backend restarting)."""
    deadline = time.monotonic() + RETRY_BUDGET
    while True:
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - classified below
            if not retryable(e) or time.monotonic() > deadline:
                raise
            log(f"{what}: {e!r}; retrying")
            time.sleep(1)


def load_before(trace, db):
    with open(os.path.join(TRACES, trace, "before.sql")) as f:
        sql = rewrite(f.read(), db)
    env = dict(os.environ, MYSQL_PWD=DIRECT["password"])

    def run():
        r = subprocess.run(["mariadb", "-h127.0.0.1", f"-P{DIRECT['port']}", "-uroot",
                            "--skip-ssl"], input=sql.encode(), capture_output=True, env=env,
                           timeout=300)
        if r.returncode != 0:
            raise pymysql.err.OperationalError(2013, r.stderr.decode(errors="replace")[-300:])
    until_done(f"{db}: before.sql", run)


def units_of(statements):
    """[(is_transaction, [statements], database in effect)]: one BEGIN..COMMIT or one
    statement each."""
    units, txn, db = [], None, None
    for s in statements:
        head = s.lstrip().split(None, 1)[0].upper() if s.strip() else ""
        if head == "BEGIN":
            txn = [s]
            continue
        if txn is not None:
            txn.append(s)
            if head == "COMMIT":
                units.append((True, txn, db))
                txn = None
            continue
        units.append((False, [s], db))
        m = re.match(r"\s*USE\s+`?([^`;\s]+)`?", s, re.I)
        if m:
            db = m.group(1)
    return units


class Replayer:
    def __init__(self, db):
        self.db = db
        self.conn = None
        self.reconnects = 0

    def open(self, use_db):
        self.close()
        self.conn = connect(GATE)
        with self.conn.cursor() as cur:
            cur.execute("SET SESSION foreign_key_checks = 0")
            if use_db:
                cur.execute(f"USE `{use_db}`")

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - a dead connection
                pass
            self.conn = None

    def checkpoint(self):
        def read():
            c = connect(GATE)
            try:
                with c.cursor() as cur:
                    cur.execute("SELECT unit FROM soak_ckpt.pos WHERE db = %s", (self.db,))
                    row = cur.fetchone()
                    return row[0] if row else -1
            finally:
                c.close()
        return until_done(f"{self.db}: checkpoint", read)

    def run(self, units):
        """Returns the list of units that failed for good."""
        failed, k, acked = [], 0, -1
        retry_since = None
        while k < len(units):
            is_txn, stmts, use_db = units[k]
            try:
                if self.conn is None:
                    self.open(use_db)
                with self.conn.cursor() as cur:
                    if is_txn:
                        for s in stmts[:-1]:
                            cur.execute(s)
                        # committed together with the rows: tells after a reconnect whether
                        # the COMMIT whose answer was lost had happened
                        cur.execute("INSERT INTO soak_ckpt.pos VALUES (%s, %s) "
                                    "ON DUPLICATE KEY UPDATE unit = VALUES(unit)", (self.db, k))
                        cur.execute(stmts[-1])
                    else:
                        cur.execute(stmts[0])
                        while cur.nextset():
                            pass
                acked, k, retry_since = k, k + 1, None
            except Exception as e:  # noqa: BLE001 - classified below
                self.close()
                if retryable(e):
                    retry_since = retry_since or time.monotonic()
                    if time.monotonic() - retry_since < RETRY_BUDGET:
                        self.reconnects += 1
                        log(f"{self.db}: unit {k}: {e!r}; reconnecting")
                        time.sleep(0.5)
                        # Resume after what is known to be done: the last acknowledged unit, or
                        # the last committed transaction.
                        k = max(acked, self.checkpoint()) + 1
                        continue
                failed.append((k, repr(e), stmts[0][:120]))
                log(f"{self.db}: unit {k} FAILED: {e!r}: {stmts[0][:200]}")
                acked, k, retry_since = k, k + 1, None
        self.close()
        return failed


def verify(db, trace):
    """Differences between the database and the trace's expected.txt ([] = equal)."""
    with open(os.path.join(TRACES, trace, "expected.txt")) as f:
        text = rewrite(f.read(), db)
    path = os.path.join(SOAK, "work", f"{db}.expected.txt")
    with open(path, "w") as f:
        f.write(text)
    expected, session_set = parse_expected(path)
    diffs = []

    def check():
        diffs.clear()
        c = connect(DIRECT, database=db)
        try:
            with c.cursor() as cur:
                if session_set:
                    cur.execute(session_set)
                cur.execute("SHOW TABLES")
                tables = sorted(r[0] for r in cur.fetchall())
                if tables != sorted(expected):
                    diffs.append(f"tables {tables} != {sorted(expected)}")
                cur.execute("SHOW TRIGGERS")
                if cur.fetchall():
                    diffs.append("triggers left")
                for table, want in expected.items():
                    if table not in tables:
                        continue
                    cur.execute(f"SHOW CREATE TABLE `{table}`")
                    if normalize_create(cur.fetchone()[1]) != want["create"]:
                        diffs.append(f"schema of {table}")
                    cur.execute(f"SELECT COUNT(*) FROM `{table}`")
                    if str(cur.fetchone()[0]) != want["count"]:
                        diffs.append(f"rows of {table}")
                    cur.execute(f"CHECKSUM TABLE `{table}`")
                    if str(cur.fetchone()[1]) != want["checksum"]:
                        diffs.append(f"checksum of {table}")
                    cur.execute(want["md5_query"].rstrip(";"))
                    if cur.fetchone()[1] != want["md5"]:
                        diffs.append(f"md5 of {table}")
        finally:
            c.close()
    until_done(f"{db}: verify", check)
    return list(diffs)


def cmd_replay(until, replayer):
    os.makedirs(os.path.join(SOAK, "work"), exist_ok=True)
    traces = sorted(t for t in os.listdir(TRACES)
                    if os.path.isfile(os.path.join(TRACES, t, "trace.sql")))
    if replayer % 2:
        traces.reverse()  # replayers run different traces at the same time
    manifest_path = os.path.join(SOAK, f"manifest-{replayer}.json")
    manifest = []
    iteration = 0
    while time.time() < until:
        iteration += 1
        for n, trace in enumerate(traces):
            if time.time() >= until:
                break
            db = f"soak_{replayer}_{iteration:04d}_{n}"
            t0 = time.monotonic()
            load_before(trace, db)
            with open(os.path.join(TRACES, trace, "trace.sql")) as f:
                text = rewrite(f.read(), db)
            path = os.path.join(SOAK, "work", f"{db}.trace.sql")
            with open(path, "w") as f:
                f.write(text)
            r = Replayer(db)
            failed = r.run(units_of(parse_trace(path)))
            diffs = verify(db, trace)
            entry = {"db": db, "trace": trace, "iteration": iteration,
                     "seconds": round(time.monotonic() - t0, 1), "reconnects": r.reconnects,
                     "failed_units": failed, "diffs": diffs}
            manifest.append(entry)
            with open(manifest_path, "w") as f:
                json.dump(manifest, f, indent=1)
            log(f"{db} ({trace}): {'OK' if not failed and not diffs else 'MISMATCH'} "
                f"in {entry['seconds']}s, {r.reconnects} reconnects, {failed} {diffs}")


def cmd_final_check(admin_port, sb_tables, sb_size):
    """Every trace database again, the meta table, /online-ddl, sysbench's row counts."""
    import glob
    import urllib.request
    manifest = []
    for path in sorted(glob.glob(os.path.join(SOAK, "manifest-*.json"))):
        with open(path) as f:
            manifest += json.load(f)
    problems = []
    for e in manifest:
        diffs = verify(e["db"], e["trace"])
        if diffs or e["failed_units"]:
            problems.append(f"{e['db']} ({e['trace']}): {e['failed_units']} {diffs}")
    c = connect(DIRECT)
    with c.cursor() as cur:
        cur.execute("SELECT ghost_schema, ghost_table, ddls FROM dm_meta.ghostgate_soak_onlineddl")
        for row in cur.fetchall():
            problems.append(f"meta table still holds {row}")
        for i in range(1, sb_tables + 1):
            cur.execute(f"SELECT COUNT(*) FROM soak_sb.sbtest{i}")
            n = cur.fetchone()[0]
            if n != sb_size:
                problems.append(f"soak_sb.sbtest{i} has {n} rows, not {sb_size}")
    c.close()
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/online-ddl", timeout=10) as r:
        state = json.loads(r.read())
    if state["pending"]:
        problems.append(f"/online-ddl still has {state['pending']}")
    traces = {}
    for e in manifest:
        traces.setdefault(e["trace"], 0)
        traces[e["trace"]] += 1
    print(f"trace databases checked: {len(manifest)} "
          f"({', '.join(f'{t} x{n}' for t, n in sorted(traces.items()))}); "
          f"replayer reconnects: {sum(e['reconnects'] for e in manifest)} in "
          f"{sum(1 for e in manifest if e['reconnects'])} replays interrupted by a fault")
    for p in problems:
        print(f"PROBLEM: {p}")
    return 1 if problems or not manifest else 0


def cmd_rss_fit(csv_path):
    """Least-squares slope of VmRSS per ghostgate lifetime (first 60 s left out)."""
    segments = {}
    with open(csv_path) as f:
        next(f)
        for line in f:
            t, elapsed, pid, rss = line.strip().split(",")
            if rss:
                segments.setdefault(pid, []).append((float(elapsed), int(rss)))
    worst = 0.0
    for pid, pts in segments.items():
        start = pts[0][0]
        pts = [(t, r) for t, r in pts if t - start >= 60]
        if len(pts) < 4:
            print(f"ghostgate pid {pid}: {len(pts)} samples after warm-up, too few to fit")
            continue
        n = len(pts)
        mt = sum(t for t, _ in pts) / n
        mr = sum(r for _, r in pts) / n
        slope = sum((t - mt) * (r - mr) for t, r in pts) / sum((t - mt) ** 2 for t, _ in pts)
        worst = max(worst, slope)
        print(f"ghostgate pid {pid}: {n} samples over {pts[-1][0] - pts[0][0]:.0f}s, VmRSS "
              f"{min(r for _, r in pts) / 1024:.1f}..{max(r for _, r in pts) / 1024:.1f} MiB, "
              f"slope {slope * 3600 / 1024:+.2f} MiB/h")
    print(f"steepest RSS slope: {worst * 3600 / 1024:+.2f} MiB/h")
    return 0


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "replay":
        cmd_replay(float(sys.argv[2]), int(sys.argv[3]))
    elif what == "final-check":
        sys.exit(cmd_final_check(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
    elif what == "rss-fit":
        sys.exit(cmd_rss_fit(sys.argv[2]))
PYEOF

# ---- processes ------------------------------------------------------------------------------
BG_PIDS=()
GG_PID=
cleanup() {
  set +e
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [[ -n $GG_PID ]] && kill "$GG_PID" 2>/dev/null
  "$PY" "$HARNESS" standin stop --dir "$SOAK_DIR/standin" >/dev/null 2>&1
  wait 2>/dev/null
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 300); do
    if "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.5)" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

standin_start() {
  local args=(standin start --dir "$SOAK_DIR/standin")
  [[ -n ${STANDIN_PORT:-} ]] && args+=(--port "$STANDIN_PORT")
  eval "$("$PY" "$HARNESS" "${args[@]}" 2>>"$SOAK_DIR/standin.out")"
  # READ COMMITTED (TiDB's usual level): sysbench's random rows do not deadlock on gap locks.
  MYSQL_PWD=$STANDIN_PASSWORD mariadb -h127.0.0.1 -P"$STANDIN_PORT" -uroot --skip-ssl \
    -e "SET GLOBAL tx_isolation = 'READ-COMMITTED'"
}
standin_restart() {  # $1: clean | kill
  if [[ $1 == kill ]]; then
    local pid
    pid=$(cat "$SOAK_DIR/standin/mysqld.pid")
    kill -9 "$pid"
    # Gone, or a zombie its new parent has not reaped yet (it would still look alive to the
    # harness): then the stale pid file must go, or `standin start` thinks it is running.
    for _ in $(seq 1 100); do
      [[ ! -e /proc/$pid ]] || [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
      sleep 0.1
    done
    rm -f "$SOAK_DIR/standin/mysqld.pid"
  else
    "$PY" "$HARNESS" standin stop --dir "$SOAK_DIR/standin" >>"$SOAK_DIR/standin.out" 2>&1
  fi
  standin_start
}

gg_start() {
  "$GHOSTGATE_BIN" --config "$SOAK_DIR/ghostgate.yaml" >>"$SOAK_DIR/ghostgate.out" 2>&1 &
  GG_PID=$!
  echo "$GG_PID" >"$SOAK_DIR/ghostgate.pid"
  wait_port "$GG_PORT" || { log "ghostgate did not start"; exit 1; }
}

# ---- set up -----------------------------------------------------------------------------------
log "soak: ${DURATION}s, backend restart every ${RESTART_EVERY}s, $GG_KILLS ghostgate kills, $REPLAYERS replayers, dir $SOAK_DIR"
standin_start
export STANDIN_PORT
GG_PORT=$(free_port)
ADMIN_PORT=$(free_port)
cat >"$SOAK_DIR/ghostgate.yaml" <<EOF
name: ghostgate_soak
meta-schema: dm_meta
listen: "127.0.0.1:$GG_PORT"
admin: "127.0.0.1:$ADMIN_PORT"
workers: 2
backend:
  address: "127.0.0.1:$STANDIN_PORT"
  user: ggadmin
  password-file: "$SOAK_DIR/backend-password"
pool:
  max-connections: 64
  max-idle: 16
log:
  level: info
  file: "$SOAK_DIR/ghostgate.log"
EOF
# The harness's account for ghostgate (tests/harness/harness.py GATE_USER / GATE_PASSWORD).
"$PY" -c "import sys; sys.path.insert(0, '$REPO/tests/harness'); import harness; print(harness.GATE_PASSWORD)" \
  >"$SOAK_DIR/backend-password"
chmod 600 "$SOAK_DIR/backend-password"
gg_start
direct_sql() { MYSQL_PWD=$STANDIN_PASSWORD mariadb -h127.0.0.1 -P"$STANDIN_PORT" -uroot --skip-ssl -e "$1"; }
direct_sql "CREATE DATABASE IF NOT EXISTS soak_sb; CREATE DATABASE IF NOT EXISTS soak_ckpt;
  CREATE TABLE IF NOT EXISTS soak_ckpt.pos (db VARCHAR(64) PRIMARY KEY, unit INT NOT NULL)"
sb_common=(--mysql-host=127.0.0.1 --mysql-user=root --mysql-password="$STANDIN_PASSWORD"
  --mysql-db=soak_sb --tables="$SB_TABLES" --table-size="$SB_SIZE")
sysbench oltp_write_only "${sb_common[@]}" --mysql-port="$STANDIN_PORT" prepare >"$SOAK_DIR/sysbench-prepare.log" 2>&1

export SOAK_REPO=$REPO SOAK_DIR SOAK_TRACES=$TRACES GG_PORT SOAK_ROOT_PASSWORD=$STANDIN_PASSWORD

# ---- load and sampling ------------------------------------------------------------------------
(
  runs=0
  while (($(date +%s) < END - 5)); do
    runs=$((runs + 1))
    left=$((END - $(date +%s)))
    echo "=== sysbench run $runs ($left s left) $(date -u +%FT%TZ)" >>"$SOAK_DIR/sysbench.log"
    sysbench oltp_write_only "${sb_common[@]}" --mysql-port="$GG_PORT" --threads="$SB_THREADS" \
      --time="$left" --db-ps-mode=auto --mysql-ignore-errors=all --report-interval=30 \
      run >>"$SOAK_DIR/sysbench.log" 2>&1 || echo "=== sysbench exited with $?" >>"$SOAK_DIR/sysbench.log"
    sleep 1
  done
) 2>>"$SOAK_DIR/sysbench.log" &  # the shell's "Segmentation fault" notes go there too
BG_PIDS+=($!)
SB_LOOP=$!

REPLAY_PIDS=()
for r in $(seq 1 "$REPLAYERS"); do
  "$PY" "$SOAK_DIR/soak_helper.py" replay "$END" "$r" >>"$SOAK_DIR/replay.out" 2>&1 &
  BG_PIDS+=($!)
  REPLAY_PIDS+=($!)
done

echo "unix_time,elapsed_s,pid,vm_rss_kib" >"$SOAK_DIR/rss.csv"
(
  while (($(date +%s) < END)); do
    pid=$(cat "$SOAK_DIR/ghostgate.pid")
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    now=$(date +%s)
    echo "$now,$((now - START)),$pid,$rss" >>"$SOAK_DIR/rss.csv"
    sleep 10
  done
) &
BG_PIDS+=($!)

# ---- chaos --------------------------------------------------------------------------------------
next_restart=$((START + RESTART_EVERY))
restarts=0
gg_kill_times=()
for i in $(seq 1 "$GG_KILLS"); do
  t=$((START + DURATION * i / (GG_KILLS + 1)))
  # not on top of a backend restart
  if (((t - START) % RESTART_EVERY < 20 || (t - START) % RESTART_EVERY > RESTART_EVERY - 20)); then
    t=$((t + 30))
  fi
  gg_kill_times+=("$t")
done
gg_kills=0
gg_crashes=0
while (($(date +%s) < END)); do
  now=$(date +%s)
  if ! kill -0 "$GG_PID" 2>/dev/null; then
    gg_crashes=$((gg_crashes + 1))
    log "ghostgate (pid $GG_PID) DIED ON ITS OWN: $(tail -3 "$SOAK_DIR/ghostgate.out" | tr '\n' ' ')"
    gg_start
  fi
  if ((now >= next_restart && now < END - 20)); then
    restarts=$((restarts + 1))
    how=$([[ $((restarts % 2)) == 1 ]] && echo clean || echo kill)
    log "backend restart $restarts ($how)"
    standin_restart "$how"
    log "backend back"
    next_restart=$((next_restart + RESTART_EVERY))
  fi
  if ((gg_kills < GG_KILLS)) && ((now >= gg_kill_times[gg_kills])); then
    gg_kills=$((gg_kills + 1))
    log "ghostgate SIGKILL $gg_kills (pid $GG_PID)"
    kill -9 "$GG_PID"
    wait "$GG_PID" 2>/dev/null || true
    gg_start
    log "ghostgate back (pid $GG_PID)"
  fi
  sleep 1
done

log "load phase over; waiting for sysbench and the replayer to finish their current work"
wait "$SB_LOOP" || true
for p in "${REPLAY_PIDS[@]}"; do wait "$p" || true; done
kill -0 "$GG_PID" 2>/dev/null || { gg_crashes=$((gg_crashes + 1)); log "ghostgate DIED ON ITS OWN"; gg_start; }

# ---- checks -------------------------------------------------------------------------------------
status=0
{
  echo "soak summary ($(date -u +%FT%TZ)), dir $SOAK_DIR"
  echo "duration ${DURATION}s; backend restarts: $restarts (alternately clean and SIGKILL); ghostgate SIGKILLs: $gg_kills; ghostgate deaths of its own: $gg_crashes"
  # sysbench 1.0.20 often dies (SIGSEGV, also straight against MariaDB) when its server goes
  # away; the loop starts it again. Throughput from its 30 s reports, which every run prints.
  sb_tx=$(awk '/ tps: / {for (i = 1; i < NF; i++) if ($i == "tps:") s += $(i + 1) * 30} END {printf "%d", s}' "$SOAK_DIR/sysbench.log")
  sb_runs=$(grep -c '^=== sysbench run' "$SOAK_DIR/sysbench.log" || true)
  sb_segv=$(grep -c 'exited with 139' "$SOAK_DIR/sysbench.log" || true)
  echo "sysbench oltp_write_only: about $sb_tx transactions (from the 30 s reports), $sb_runs runs ($sb_segv ended by sysbench's own SIGSEGV after a lost connection)"
} | tee "$SOAK_DIR/summary.txt"
"$PY" "$SOAK_DIR/soak_helper.py" final-check "$ADMIN_PORT" "$SB_TABLES" "$SB_SIZE" | tee -a "$SOAK_DIR/summary.txt" || status=1
"$PY" "$SOAK_DIR/soak_helper.py" rss-fit "$SOAK_DIR/rss.csv" | tee -a "$SOAK_DIR/summary.txt"
((gg_crashes == 0)) || status=1
if ((status == 0)); then
  echo "soak: PASS" | tee -a "$SOAK_DIR/summary.txt"
else
  echo "soak: FAIL" | tee -a "$SOAK_DIR/summary.txt"
fi
exit $status
