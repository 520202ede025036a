#!/usr/bin/python3
"""Issue 10: the hot path is unchanged by the one-truth work, and a soak over rolling restarts.

hot-path: sysbench oltp_read_write through ghostgate built before (--old BIN) and after
(--new BIN, default build/ghostgate), alternating round by round on one stand-in (the machine's
other load then hits both alike); reports median QPS and p95 per binary, and counts what the
new binary sent to the meta table and the claims during its runs (general log): must be 0.

soak: two instances (same name/id) on one stand-in; the traces of ../shared/traces replayed in
turn, each statement through whichever instance is up, while sysbench writes through both and
each instance is killed (SIGKILL) and restarted every few seconds. At the end: every trace's
downstream equals expected.txt, the meta table is empty.

    /usr/bin/python3 bench/one_truth.py hot-path --old /tmp/ghostgate_old --rounds 6 --time 5
    /usr/bin/python3 bench/one_truth.py soak --seconds 120
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "harness"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402
import pymysql  # noqa: E402

SB = ["--db-driver=mysql", "--mysql-user=root", "--mysql-password=rootpw", "--mysql-db=sbtest",
      "--tables=4", "--table-size=10000"]


def sysbench(port, workload, seconds, threads=8):
    r = subprocess.run(["sysbench", workload, *SB, "--mysql-host=127.0.0.1",
                        f"--mysql-port={port}", f"--time={seconds}", f"--threads={threads}",
                        "--report-interval=0", "--db-ps-mode=disable", "run"],
                       capture_output=True, text=True, timeout=seconds + 120)
    qps = float(re.search(r"queries:\s+\d+\s+\(([\d.]+) per sec", r.stdout).group(1))
    p95 = float(re.search(r"95th percentile:\s+([\d.]+)", r.stdout).group(1))
    return qps, p95


def prepare(standin):
    standin.query("CREATE DATABASE IF NOT EXISTS sbtest")
    subprocess.run(["sysbench", "oltp_read_write", *SB, "--mysql-host=127.0.0.1",
                    f"--mysql-port={standin.port}", "prepare"], check=True,
                   capture_output=True, timeout=600)


def units(statements):
    """Statements grouped as a replicator resends them: a transaction whole, others one by
    one."""
    out, txn = [], None
    for st in statements:
        head = st.lstrip().split(None, 1)[0].upper() if st.strip() else ""
        if head in ("BEGIN", "START"):
            txn = [st]
        elif txn is not None:
            txn.append(st)
            if head in ("COMMIT", "ROLLBACK"):
                out.append(txn)
                txn = None
        else:
            out.append([st])
    return out


def hot_path(args):
    standin = harness.Standin(name="bench").start()
    prepare(standin)
    gates = {"old": harness.Ghostgate(standin, name="old", binary=args.old, log_level="warn",
                                      pool={"max-connections": 64, "max-idle": 64}).start(),
             "new": harness.Ghostgate(standin, name="new", binary=args.new, log_level="warn",
                                      pool={"max-connections": 64, "max-idle": 64}).start()}
    results = {k: [] for k in gates}
    meta_queries = 0
    try:
        for rnd in range(args.rounds):
            order = ["old", "new"] if rnd % 2 == 0 else ["new", "old"]
            for name in order:
                # The general log costs the backend much: on for both binaries' runs alike.
                standin.query("SET GLOBAL log_output = 'TABLE'")
                standin.query("TRUNCATE mysql.general_log")
                standin.query("SET GLOBAL general_log = 1")
                results[name].append(sysbench(gates[name].port, "oltp_read_write", args.time))
                standin.query("SET GLOBAL general_log = 0")
                if name == "new":
                    meta_queries += standin.query(
                        "SELECT COUNT(*) FROM mysql.general_log WHERE argument LIKE "
                        "'%onlineddl%' OR argument LIKE '%GET_LOCK%' OR argument LIKE "
                        "'%RELEASE_LOCK%'")[0][0]
    finally:
        for g in gates.values():
            g.stop()
        standin.stop()
    print(f"rounds={args.rounds} time={args.time}s threads=8 workload=oltp_read_write")
    for name, rs in results.items():
        print(f"{name}: median qps {statistics.median(q for q, _ in rs):.0f}, "
              f"median p95 {statistics.median(p for _, p in rs):.2f} ms, "
              f"qps per round {[round(q) for q, _ in rs]}")
    old_q = statistics.median(q for q, _ in results["old"])
    new_q = statistics.median(q for q, _ in results["new"])
    print(f"new/old qps: {new_q / old_q:.3f}")
    print(f"meta-table queries and claims sent by the new binary during its runs: {meta_queries}")


def soak(args):
    import test_traces
    from test_traces import parse_trace, trace_names, traces_dir
    standin = harness.Standin(name="soak").start()
    prepare(standin)
    gates = [harness.Ghostgate(standin, name=n, binary=args.new, log_level="info",
                               pool={"max-connections": 32, "max-idle": 32}).start()
             for n in ("a", "b")]
    stop = threading.Event()
    restarts = [0]

    def roller():
        i = 0
        while not stop.wait(args.every):
            g = gates[i % 2]
            g.kill()
            time.sleep(0.3)
            g.start()
            restarts[0] += 1
            i += 1

    def load():
        while not stop.is_set():
            for g in gates:
                if stop.is_set():
                    break
                try:
                    sysbench(g.port, "oltp_write_only", 2, threads=2)
                except Exception:  # noqa: BLE001 - the instance was killed under it
                    pass

    class Checker:
        pass
    checker = Checker()
    checker.standin = standin
    checker.target = harness.Target(standin, None)
    import unittest
    tc = unittest.TestCase()
    checker.assertEqual, checker.assertNotIn = tc.assertEqual, tc.assertNotIn
    threads = [threading.Thread(target=roller), threading.Thread(target=load)]
    for t in threads:
        t.start()
    done, failures, retries = 0, [], 0
    deadline = time.monotonic() + args.seconds
    try:
        while time.monotonic() < deadline:
            for name in trace_names():
                test_traces.Traces.load_before(checker, name)
                session = ["SET SESSION foreign_key_checks=0"]
                conn = None
                for unit in units(parse_trace(os.path.join(traces_dir(), name, "trace.sql"))):
                    while True:  # at-least-once: resend the unit (a whole transaction) until
                        try:     # it gets an answer, as a replicator does
                            if conn is None:
                                g = gates[0] if gates[0].alive() else gates[1]
                                conn = g.connect(autocommit=True)
                                with conn.cursor() as cur:
                                    for st in session:
                                        cur.execute(st)
                            with conn.cursor() as cur:
                                for st in unit:
                                    cur.execute(st)
                            break
                        except pymysql.err.MySQLError as e:
                            if e.args and isinstance(e.args[0], int) and e.args[0] < 2000:
                                # a server's ERR: a real failure
                                failures.append(f"{name}: {e.args} on {st[:200]!r} "
                                                f"(via {g.name}, resends so far {retries})")
                                break
                            retries += 1
                            conn = None
                            time.sleep(0.2)
                        except (pymysql.err.InterfaceError, OSError):
                            retries += 1
                            conn = None
                            time.sleep(0.2)
                    if unit[0].lstrip().upper().startswith(("USE", "SET")):
                        session.extend(unit)
                if conn is not None:
                    conn.close()
                try:
                    test_traces.Traces.check_downstream(checker, name)
                except AssertionError as e:
                    failures.append(f"{name}: {str(e)[:300]}")
                done += 1
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    meta = standin.query("SELECT COUNT(*) FROM dm_meta.ghostgate_it_onlineddl")[0][0]
    for g in gates:
        g.stop()
    standin.stop()
    print(f"soak: {args.seconds}s, traces replayed {done}, instance restarts {restarts[0]}, "
          f"statement resends {retries}, downstream mismatches {len(failures)}, "
          f"meta rows left {meta}")
    for f in failures:
        print("  " + f)
    return 1 if failures or meta else 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("hot-path")
    h.add_argument("--old", required=True)
    h.add_argument("--new", default=os.path.join(HERE, "..", "build", "ghostgate"))
    h.add_argument("--rounds", type=int, default=6)
    h.add_argument("--time", type=int, default=5)
    s = sub.add_parser("soak")
    s.add_argument("--new", default=os.path.join(HERE, "..", "build", "ghostgate"))
    s.add_argument("--seconds", type=int, default=120)
    s.add_argument("--every", type=float, default=4.0)
    a = p.parse_args()
    sys.exit(hot_path(a) if a.cmd == "hot-path" else soak(a))


if __name__ == "__main__":
    main()
