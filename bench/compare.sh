#!/usr/bin/env bash
# End-to-end cost of ghostgate, measured side by side on one machine (issue 4):
#   direct     sysbench -> MariaDB stand-in
#   haproxy    sysbench -> HAProxy (TCP mode, the L4 floor for any proxy hop) -> stand-in
#   ghostgate  sysbench -> ghostgate -> stand-in
# The same sysbench workloads run against the three in alternation, round after round (the
# order rotates each round), and the medians over rounds are reported: QPS, p50/p95/p99
# latency, proxy CPU per query, and the ratios ghostgate/direct and ghostgate/HAProxy. Then:
# bulk throughput (a 256 MiB result set, a 256 MiB LOAD DATA LOCAL INFILE) and resident
# memory of ghostgate (and HAProxy) with 0 and with 2,000 idle logged-in client connections.
# Issue 14 added: 10,000 idle clients beside an 8-thread sysbench (does their presence move
# the active clients' p99?), connection churn (connect, log in, SELECT 1, quit; plain and TLS
# from the client) and a replicator's workload (bench/replay.py over a gen_trace.py trace with
# a gh-ost migration, online DDL on: one connection BEGIN..COMMIT, multi-statement batches,
# 8 connections split by table).
#
#   bench/compare.sh [--quick] [--rounds N] [--time S] [--ghostgate BIN] [--out FILE]
#
# Options:
#   --quick              smoke run: 1 round of 3 s, 200 idle connections, 32 MiB bulk, 1,000
#                        idle beside sysbench, 2 s churn runs, a 10k-row-statement trace
#   --rounds N           rounds of the sysbench comparison (default 10). Many short runs in
#                        alternation cancel other jobs' changing load better than a few long
#                        ones: ratios are taken between runs of the same round, seconds apart.
#   --time S             seconds per sysbench run (default 5)
#   --bulk-rounds N      rounds of the bulk comparison (default 3)
#   --ghostgate BIN      ghostgate binary (default build-bench/ghostgate, else build/ghostgate)
#   --proxy-threads N    HAProxy nbthread and ghostgate workers (default: nproc, both tools'
#                        own default)
#   --ps-mode MODE       sysbench --db-ps-mode: disable (text protocol, default) or auto
#   --idle N             idle client connections for the memory test (default 2000)
#   --bulk-mib N         size of the bulk result set and upload (default 256)
#   --idle-big N         idle clients held beside an 8-thread sysbench (default 10000; 0: skip)
#   --churn-time S       seconds per churn run (default 5); --churn-rounds N (default 3)
#   --trace DIR          replay this trace (trace.sql + before.sql) instead of generating one
#   --trace-rows N       row statements of the generated trace (default 120000)
#   --only LIST          comma-separated sections to run: sysbench, bulk, memory, idle-big,
#                        churn, replay (default: all)
#   --skip-deps          do not run scripts/deps.sh
#   --keep               keep the temp dir (configs, logs, raw sysbench outputs)
#   --out FILE           also write the report (markdown) to FILE
#
# Needs root on Debian 12 for installing packages (scripts/deps.sh installs sysbench and
# haproxy with the rest) and for raising the open-files limit. Everything listens on 127.0.0.1
# in a temp dir and is stopped and removed on exit.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3

rounds=10
run_time=5
bulk_rounds=3
idle=2000
bulk_mib=256
ps_mode=disable
proxy_threads=$(nproc)
gate_bin=""
skip_deps=0
keep=0
out_file=""
idle_big=10000
churn_time=5
churn_rounds=3
trace_dir=""
trace_rows=120000
only="sysbench,bulk,memory,idle-big,churn,replay"
while (($#)); do
  case $1 in
    --quick) rounds=1 run_time=3 bulk_rounds=1 idle=200 bulk_mib=32 idle_big=1000 churn_time=2
      churn_rounds=1 trace_rows=10000 ;;
    --idle-big) idle_big=$2; shift ;;
    --churn-time) churn_time=$2; shift ;;
    --churn-rounds) churn_rounds=$2; shift ;;
    --trace) trace_dir=$2; shift ;;
    --trace-rows) trace_rows=$2; shift ;;
    --only) only=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --time) run_time=$2; shift ;;
    --bulk-rounds) bulk_rounds=$2; shift ;;
    --ghostgate) gate_bin=$2; shift ;;
    --proxy-threads) proxy_threads=$2; shift ;;
    --ps-mode) ps_mode=$2; shift ;;
    --idle) idle=$2; shift ;;
    --bulk-mib) bulk_mib=$2; shift ;;
    --skip-deps) skip_deps=1 ;;
    --keep) keep=1 ;;
    --out) out_file=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

section() { [[ ",$only," == *",$1,"* ]]; }
log() { printf '%s compare: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

if ((!skip_deps)); then
  "$REPO/scripts/deps.sh" >&2
fi
for tool in sysbench haproxy mariadb mariadbd; do
  command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || die "$tool not found (scripts/deps.sh)"
done
if [[ -z $gate_bin ]]; then
  for cand in "$REPO/build-bench/ghostgate" "$REPO/build/ghostgate"; do
    if [[ -x $cand ]]; then gate_bin=$cand; break; fi
  done
fi
[[ -n $gate_bin && -x $gate_bin ]] || die "ghostgate binary not found; build it or pass --ghostgate"

# Each idle client costs ghostgate two sockets (client + pooled backend), the stand-in a thread.
most_idle=$idle
section idle-big && ((idle_big > idle)) && most_idle=$idle_big
need_fds=$((most_idle * 3 + 1024))
if (($(ulimit -n) < need_fds)); then
  ulimit -Hn "$need_fds" 2>/dev/null || true
  ulimit -n "$need_fds" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
# A proxy holds two sockets per idle client (client and backend). Where the hard limit cannot be
# raised (no CAP_SYS_RESOURCE in a container), --idle-big shrinks to what fits, and says so.
if section idle-big && (($(ulimit -n) < idle_big * 2 + 256)); then
  log "open-files limit $(ulimit -n) (hard $(ulimit -Hn)): --idle-big $idle_big lowered to" \
    "$((($(ulimit -n) - 256) / 2))"
  idle_big=$((($(ulimit -n) - 256) / 2))
fi
(($(ulimit -n) >= idle * 2 + 256)) || die "open-files limit $(ulimit -n) too low for --idle $idle"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ghostgate-compare.XXXXXX")
RES=$TMP/results
mkdir -p "$RES"
declare -a PIDS=()  # children to stop on exit, in start order
STANDIN_PID=""

stop_pid() {  # TERM, wait up to $2 s, then KILL
  local pid=$1 wait_s=${2:-10} i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait_s * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    stop_pid "${PIDS[i]}" 10
  done
  [[ -n $STANDIN_PID ]] && stop_pid "$STANDIN_PID" 60
  wait 2>/dev/null || true
  if ((keep)); then
    log "kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {  # wait_port PORT PID WHAT
  local i
  for ((i = 0; i < 300; i++)); do
    if "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2).close()" \
        2>/dev/null; then
      return 0
    fi
    kill -0 "$2" 2>/dev/null || die "$3 exited during start-up (logs in $TMP, use --keep)"
    sleep 0.1
  done
  die "$3 not listening on port $1"
}
cpu_ticks() {  # utime + stime of a process (all threads), in clock ticks
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  stat=${stat##*) }
  awk '{print $12 + $13}' <<<"$stat"
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# ---- the stand-in (tests/harness, with room for the idle clients and a BLACKHOLE sink) -----
log "starting the MariaDB stand-in in $TMP/standin"
# TLS on (for the churn runs with TLS from the client); the certificates stay in $TMP/tls.
standin_out=$("$PY" - "$TMP/standin" "$((most_idle + 300))" "$REPO" "$TMP/tls" <<'EOF'
import os, sys
sys.path.insert(0, os.path.join(sys.argv[3], "tests", "harness"))
import harness
harness._certs = harness.make_certs(sys.argv[4])
st = harness.Standin(name="bench", base_dir=sys.argv[1], detached=True, tls=True, extra_args=[
    f"--max-connections={sys.argv[2]}", "--plugin-load-add=ha_blackhole",
    "--innodb-buffer-pool-size=256M"]).start()
print(st.port, st.proc.pid)
EOF
) || die "stand-in did not start"
read -r DB_PORT STANDIN_PID <<<"$standin_out"
log "stand-in on 127.0.0.1:$DB_PORT (pid $STANDIN_PID)"
sql() { mariadb -h127.0.0.1 -P"$DB_PORT" -uroot -prootpw -N -B -e "$1"; }
sql "CREATE DATABASE sbtest; CREATE DATABASE bench;
     CREATE TABLE bench.bulk_sink (line LONGTEXT) ENGINE=BLACKHOLE;"

SB_COMMON=(--db-driver=mysql --mysql-host=127.0.0.1 --mysql-user=root --mysql-password=rootpw
  --mysql-db=sbtest --tables=4 --table-size=10000)
log "sysbench prepare (4 tables x 10,000 rows)"
sysbench oltp_point_select "${SB_COMMON[@]}" --mysql-port="$DB_PORT" prepare >"$TMP/prepare.log"

# ---- HAProxy ---------------------------------------------------------------------------------
HA_PORT=$(free_port)
sed -e "s/@PORT@/$HA_PORT/; s/@BACKEND_PORT@/$DB_PORT/; s/@THREADS@/$proxy_threads/" \
  -e "s/@MAXCONN@/$((idle + 500))/" "$REPO/bench/haproxy.cfg.in" >"$TMP/haproxy.cfg"
haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
HA_PID=$!
PIDS+=("$HA_PID")
wait_port "$HA_PORT" "$HA_PID" haproxy
log "HAProxy $(haproxy -v | awk 'NR==1{print $3}') on 127.0.0.1:$HA_PORT (pid $HA_PID)"

# ---- ghostgate -------------------------------------------------------------------------------
start_gate() {  # start_gate NAME [IDLE] -> sets GATE_PORT GATE_PID
  local name=$1 conns=${2:-$idle} admin_port
  GATE_PORT=$(free_port)
  admin_port=$(free_port)
  cat >"$TMP/$name.yaml" <<EOF
# written by bench/compare.sh
name: ghostgate_bench
listen: "127.0.0.1:$GATE_PORT"
admin: "127.0.0.1:$admin_port"
workers: $proxy_threads
max-connections: $((conns + 500))
backend:
  address: "127.0.0.1:$DB_PORT"
  user: ggadmin
  password: ggadminpw
pool:
  max-connections: $((conns + 200))
client-tls:
  cert: "$TMP/tls/server-cert.pem"
  key: "$TMP/tls/server-key.pem"
log:
  level: info
  file: "$TMP/$name.log"
${GATE_EXTRA:-}
EOF
  "$gate_bin" --config "$TMP/$name.yaml" >"$TMP/$name.out" 2>&1 &
  GATE_PID=$!
  GATE_ADMIN=$admin_port
  PIDS+=("$GATE_PID")
  wait_port "$GATE_PORT" "$GATE_PID" "ghostgate ($name)"
}
start_gate ghostgate
GG_PORT=$GATE_PORT GG_PID=$GATE_PID
log "ghostgate $gate_bin on 127.0.0.1:$GG_PORT (pid $GG_PID, $proxy_threads workers)"

declare -A PORT=([direct]=$DB_PORT [haproxy]=$HA_PORT [ghostgate]=$GG_PORT)
declare -A PROXY_PID=([direct]="" [haproxy]=$HA_PID [ghostgate]=$GG_PID)
TARGETS=(direct haproxy ghostgate)

# ---- sysbench --------------------------------------------------------------------------------
# name:script:threads
WORKLOADS=(point_select_t1:oltp_point_select:1 point_select_t8:oltp_point_select:8
  insert_t8:oltp_insert:8 write_only_t8:oltp_write_only:8)

uptime_before=$(uptime)
{
  printf '{"rounds": %d, "time": %d, "ps_mode": "%s", "proxy_threads": %d, "bulk_mib": %d,\n' \
    "$rounds" "$run_time" "$ps_mode" "$proxy_threads" "$bulk_mib"
  printf ' "workloads": ["point_select_t1", "point_select_t8", "insert_t8", "write_only_t8"],\n'
  printf ' "workload_labels": {"point_select_t1": "oltp_point_select, 1 thread",'
  printf ' "point_select_t8": "oltp_point_select, 8 threads", "insert_t8": "oltp_insert, 8 threads",'
  printf ' "write_only_t8": "oltp_write_only, 8 threads"}}\n'
} >"$RES/meta.json"

run_sysbench() {  # run_sysbench NAME SCRIPT THREADS TARGET ROUND
  local name=$1 script=$2 threads=$3 target=$4 round=$5 ppid db0 db1 p0=0 p1=0 file
  file="$RES/sb_${name}_${target}_r${round}"
  ppid=${PROXY_PID[$target]}
  db0=$(cpu_ticks "$STANDIN_PID")
  [[ -n $ppid ]] && p0=$(cpu_ticks "$ppid")
  if ! sysbench "$script" "${SB_COMMON[@]}" --mysql-port="${PORT[$target]}" \
      --threads="$threads" --time="$run_time" --report-interval=0 --histogram=on \
      --percentile=99 --db-ps-mode="$ps_mode" run >"$file.txt" 2>&1; then
    log "sysbench $script failed against $target (see $file.txt)"
  fi
  [[ -n $ppid ]] && p1=$(cpu_ticks "$ppid")
  db1=$(cpu_ticks "$STANDIN_PID")
  echo "$((p1 - p0)) $((db1 - db0))" >"$file.cpu"
  log "  $name $target: $(grep -o 'queries: .*per sec.)' "$file.txt" | tr -s ' ' || echo failed)"
}

# Warm-up, not reported: InnoDB's buffer pool, the proxies' first connections, the page cache.
if section sysbench || section idle-big; then
  for wl in "${WORKLOADS[@]}"; do
    IFS=: read -r name script threads <<<"$wl"
    for t in "${TARGETS[@]}"; do
      sysbench "$script" "${SB_COMMON[@]}" --mysql-port="${PORT[$t]}" --threads="$threads" \
        --time=2 --db-ps-mode="$ps_mode" run >"$TMP/warmup.log" 2>&1 ||
        die "warm-up: sysbench $script failed against $t: $(tail -5 "$TMP/warmup.log")"
    done
  done
  log "warm-up done"
fi

if section sysbench; then
  log "$rounds rounds of ${#WORKLOADS[@]} workloads x 3 targets x $run_time s"
  for ((r = 1; r <= rounds; r++)); do
    for wl in "${WORKLOADS[@]}"; do
      IFS=: read -r name script threads <<<"$wl"
      for ((i = 0; i < 3; i++)); do
        t=${TARGETS[(i + r - 1) % 3]}
        run_sysbench "$name" "$script" "$threads" "$t" "$r"
      done
    done
    log "round $r of $rounds done"
  done
fi

# ---- bulk ------------------------------------------------------------------------------------
if section bulk; then
  for ((r = 1; r <= bulk_rounds; r++)); do
    for ((i = 0; i < 3; i++)); do
      t=${TARGETS[(i + r - 1) % 3]}
      for kind in result load; do
        # The result set is cheap for the server: best of 3 filters out other jobs' noise. The
        # upload is bound by the server's LOAD DATA parser (a few hundred MB/s at best): 1 run.
        if [[ $kind == result ]]; then
          args=(--repeat 3 result --rows "$bulk_mib")
        else
          args=(--repeat 1 load --mib "$bulk_mib")
        fi
        "$PY" "$REPO/bench/bulk.py" --port "${PORT[$t]}" "${args[@]}" \
          >"$RES/bulk_${kind}_${t}_r${r}.json" 2>"$RES/bulk_${kind}_${t}_r${r}.err" ||
          log "bulk $kind failed against $t (see $RES/bulk_${kind}_${t}_r${r}.err)"
        log "  bulk $kind $t: $(cat "$RES/bulk_${kind}_${t}_r${r}.json")"
      done
    done
  done
fi

status_var() { sql "SHOW GLOBAL STATUS LIKE '$1'" | awk '{print $2}'; }

# ---- connection churn ------------------------------------------------------------------------
# bench/churn.c (C, OpenSSL, 8 threads): connect, log in, SELECT 1, quit, in a loop.
# Per run also: the backend logins it caused (the stand-in's Connections counter) and the most
# backend connections open at once (Max_used_connections after FLUSH STATUS). With TLS, HAProxy
# passes the client's TLS through to the stand-in; ghostgate ends it and uses its pooled
# plain-text link.
# A second ghostgate with client-auth.users (the churn client's account, root) is the fourth
# target: it checks the login itself and switches pooled connections with proofs it computes.
if section churn; then
  cc -O2 -Wno-deprecated-declarations -o "$TMP/churn" "$REPO/bench/churn.c" -lssl -lcrypto \
    -lpthread || die "cannot build bench/churn.c (needs libssl-dev)"
  root_hash=$("$PY" -c 'import hashlib; print("*" + hashlib.sha1(hashlib.sha1(b"rootpw").digest()).hexdigest().upper())')
  GATE_EXTRA="client-auth: {users: [{user: root, password-hash: \"$root_hash\"}]}" \
    start_gate ghostgate_ca
  PORT[ghostgate_ca]=$GATE_PORT
  PROXY_PID[ghostgate_ca]=$GATE_PID
  log "ghostgate with client-auth on 127.0.0.1:$GATE_PORT (pid $GATE_PID)"
  CHURN_TARGETS=(direct haproxy ghostgate ghostgate_ca)
  for ((r = 1; r <= churn_rounds; r++)); do
    for tls in plain tls; do
      for ((i = 0; i < 4; i++)); do
        t=${CHURN_TARGETS[(i + r - 1) % 4]}
        f="$RES/churn_${tls}_${t}_r${r}"
        sql "FLUSH STATUS" >/dev/null
        c0=$(status_var Connections)
        p0=0
        [[ -n ${PROXY_PID[$t]} ]] && p0=$(cpu_ticks "${PROXY_PID[$t]}")
        db0=$(cpu_ticks "$STANDIN_PID")
        targs=()
        [[ $tls == tls ]] && targs=(--tls)
        "$TMP/churn" --port "${PORT[$t]}" --threads 8 --time "$churn_time" "${targs[@]}" \
          >"$f.json" 2>"$f.err" || log "churn $tls failed against $t (see $f.err)"
        p1=0
        [[ -n ${PROXY_PID[$t]} ]] && p1=$(cpu_ticks "${PROXY_PID[$t]}")
        db1=$(cpu_ticks "$STANDIN_PID")
        # Less this query's own connection.
        printf '{"backend_logins": %d, "backend_max_used": %d, "proxy_ticks": %d, "backend_ticks": %d}\n' \
          "$(($(status_var Connections) - c0 - 1))" "$(status_var Max_used_connections)" \
          "$((p1 - p0))" "$((db1 - db0))" >"$f.backend.json"
        log "  churn $tls $t: $(cat "$f.json") $(cat "$f.backend.json")"
      done
    done
  done
fi

# ---- the replicator's workload ---------------------------------------------------------------
# bench/replay.py over a trace with a gh-ost migration (bench/gen_trace.py unless --trace).
# Each run replays into a database of its own (before.sql loaded directly first), so every run
# starts from the same tables and ghostgate sees a new migration each time.
if section replay; then
  if [[ -z $trace_dir ]]; then
    trace_dir=$TMP/trace
    "$PY" "$REPO/bench/gen_trace.py" --out "$trace_dir" --rows "$trace_rows" >&2
  fi
  REPLAY_MODES=(txn batch split)
  for mode in "${REPLAY_MODES[@]}"; do
    for ((i = 0; i < 3; i++)); do
      t=${TARGETS[i]}
      f="$RES/replay_${mode}_${t}"
      p0=0
      [[ -n ${PROXY_PID[$t]} ]] && p0=$(cpu_ticks "${PROXY_PID[$t]}")
      "$PY" "$REPO/bench/replay.py" --port "${PORT[$t]}" --setup-port "$DB_PORT" \
        --trace "$trace_dir" --mode "$mode" --db "rep_${mode}_${t}" >"$f.json" 2>"$f.err" ||
        log "replay $mode against $t had errors (see $f.json, $f.err)"
      p1=0
      [[ -n ${PROXY_PID[$t]} ]] && p1=$(cpu_ticks "${PROXY_PID[$t]}")
      echo "$((p1 - p0))" >"$f.cpu"
      log "  replay $mode $t: $(cat "$f.json")"
      sql "DROP DATABASE IF EXISTS rep_${mode}_${t}" >/dev/null
    done
  done
fi

# ---- memory with idle clients ----------------------------------------------------------------
db_threads() { sql "SELECT COUNT(*) FROM information_schema.PROCESSLIST"; }

# Opens COUNT idle clients against PORT and waits until they are all up. Sets HOLDER (the
# process) and HOLDER_FD (close it to let them go).
open_idle() {  # open_idle KEY PORT COUNT
  local key=$1 port=$2 count=$3 fifo i
  fifo=$TMP/idle_$key.fifo
  mkfifo "$fifo"
  "$PY" "$REPO/bench/idle_conns.py" --port "$port" --count "$count" <"$fifo" \
    >"$TMP/idle_$key.out" 2>&1 &
  HOLDER=$!
  PIDS+=("$HOLDER")
  exec {HOLDER_FD}>"$fifo"  # idle_conns.py holds its connections until this is closed
  for ((i = 0; i < 6000; i++)); do
    grep -q '^ready' "$TMP/idle_$key.out" && break
    kill -0 "$HOLDER" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^ready' "$TMP/idle_$key.out" ||
    die "idle_conns.py against $key failed: $(tail -3 "$TMP/idle_$key.out")"
}
close_idle() {
  exec {HOLDER_FD}>&-
  wait "$HOLDER" 2>/dev/null || true
}

measure_idle() {  # measure_idle KEY PID PORT: writes $RES/memory_KEY.part
  local key=$1 pid=$2 port=$3 rss0 rssn rss_after conns0 connsn
  rss0=$(rss_kib "$pid")
  conns0=$(db_threads)
  open_idle "$key" "$port" "$idle"
  sleep 2
  rssn=$(rss_kib "$pid")
  connsn=$(db_threads)
  close_idle
  sleep 2
  rss_after=$(rss_kib "$pid")
  printf '"%s": {"rss_kib_0": %d, "rss_kib_n": %d, "rss_kib_after": %d, "backend_conns": %d}' \
    "$key" "$rss0" "$rssn" "$rss_after" "$((connsn - conns0))" >"$RES/memory_$key.part"
  log "  idle $key: RSS ${rss0} KiB -> ${rssn} KiB with $idle clients -> ${rss_after} KiB" \
    "after they left; stand-in connections +$((connsn - conns0))"
}

# A fresh ghostgate, so the baseline is not inflated (or deflated) by the load above. The
# baseline is taken after one client connected and left, so lazily built state (the pool, the
# online-DDL registry loaded from the meta table) is in it, not in the per-connection figure.
if section memory; then
  stop_pid "$GG_PID" 30
  start_gate ghostgate_mem
  MEM_GG_PID=$GATE_PID MEM_GG_PORT=$GATE_PORT
  "$PY" "$REPO/bench/idle_conns.py" --port "$MEM_GG_PORT" --count 1 </dev/null >/dev/null
  sleep 1
  log "memory: $idle idle client connections"
  measure_idle ghostgate "$MEM_GG_PID" "$MEM_GG_PORT"
  measure_idle haproxy "$HA_PID" "$HA_PORT"
  printf '{"count": %d, %s, %s}\n' "$idle" "$(cat "$RES/memory_ghostgate.part")" \
    "$(cat "$RES/memory_haproxy.part")" >"$RES/memory.json"
  stop_pid "$MEM_GG_PID" 30
fi

# ---- many idle clients beside active ones ----------------------------------------------------
# A fresh ghostgate with max-connections raised: RSS with 0 and with --idle-big idle clients,
# and oltp_point_select at 8 threads, (rounds+1)/2 runs with no idle client, then as many with
# them all connected (opening 10,000 clients takes too long to alternate): the active clients'
# p99 should not move.
if section idle-big && ((idle_big > 0)); then
  stop_pid "$GG_PID" 30
  start_gate ghostgate_big "$idle_big"
  BIG_PID=$GATE_PID
  PORT[ghostgate]=$GATE_PORT
  PROXY_PID[ghostgate]=$GATE_PID
  "$PY" "$REPO/bench/idle_conns.py" --port "$GATE_PORT" --count 1 </dev/null >/dev/null
  sleep 1
  big_rounds=$(((rounds + 1) / 2))
  # Direct runs beside them: the idle clients' backend connections (one each) load the
  # stand-in too, and the direct ratio shows that part alone.
  for ((r = 1; r <= big_rounds; r++)); do
    run_sysbench big_noidle oltp_point_select 8 ghostgate "$r"
    run_sysbench big_noidle oltp_point_select 8 direct "$r"
  done
  rss0=$(rss_kib "$BIG_PID")
  log "idle-big: opening $idle_big idle clients"
  open_idle big "$GATE_PORT" "$idle_big"
  sleep 2
  rssn=$(rss_kib "$BIG_PID")
  log "  idle-big: RSS ${rss0} KiB -> ${rssn} KiB with $idle_big idle clients"
  for ((r = 1; r <= big_rounds; r++)); do
    run_sysbench big_idle oltp_point_select 8 ghostgate "$r"
    run_sysbench big_idle oltp_point_select 8 direct "$r"
  done
  close_idle
  printf '{"count": %d, "rss_kib_0": %d, "rss_kib_n": %d, "rounds": %d}\n' "$idle_big" \
    "$rss0" "$rssn" "$big_rounds" >"$RES/idle_big.json"
fi
uptime_after=$(uptime)

# ---- report ----------------------------------------------------------------------------------
{
  echo "Machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)," \
    "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM;" \
    "$(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "Load before: ${uptime_before#*load average: }; after: ${uptime_after#*load average: }" \
    "(1/5/15-minute load averages)"
  echo "Versions: $(mariadbd --version 2>/dev/null | awk '{print $3}'), HAProxy" \
    "$(haproxy -v | awk 'NR==1{print $3}'), $(sysbench --version), ghostgate $gate_bin"
  echo "Settings: $rounds rounds x $run_time s per sysbench run, $bulk_rounds bulk rounds," \
    "--db-ps-mode=$ps_mode," \
    "$proxy_threads proxy threads (HAProxy nbthread = ghostgate workers)," \
    "sysbench --tables=4 --table-size=10000"
  echo
  "$PY" "$REPO/bench/compare_report.py" "$RES"
} >"$TMP/report.md"
cat "$TMP/report.md"
if [[ -n $out_file ]]; then
  cp "$TMP/report.md" "$out_file"
fi
