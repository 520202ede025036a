#!/usr/bin/python3
"""Replays a replicator trace (../shared/traces/*/trace.sql, or one from gen_trace.py) against
one target as a row-based replicator would, and prints one JSON line with statements/s.

  replay.py --port P --trace DIR --mode txn|batch|split [--db NAME] [--setup-port DB_PORT]

Modes:
  txn    one connection; every statement its own COM_QUERY: BEGIN, 1-50 row statements, COMMIT
  batch  one connection with CLIENT_MULTI_STATEMENTS; a transaction is one COM_QUERY
         `BEGIN;...;COMMIT`
  split  --connections (8) connections, transactions routed by table; a DDL (or USE) waits
         until every connection is done with what came before, then runs on connection 0

--db renames the database `test` of the trace (and of before.sql), so every run starts from
fresh tables and ghostgate's online-DDL registry sees a new migration each time.
--setup-port (the backend itself) loads DIR/before.sql before the clock starts and, after the
run, checksums the trace's tables there (`checksums` in the output: runs through different
targets must agree).

Statements counted: every COM_QUERY statement (BEGIN and COMMIT included); `row_statements`
counts INSERT/UPDATE/DELETE only. `client_cpu_s` is this process's own CPU time, to see when
the client is the limit (compare with the direct run).
"""

import argparse
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mysql_raw  # noqa: E402

TABLE_RE = re.compile(r"^(?:INSERT INTO|UPDATE|DELETE FROM) `[^`]+`\.`([^`]+)`")


def parse_trace(text):
    """[('txn', [stmt, ...], table) | ('stmt', sql)] in order."""
    units = []
    current = None
    delimiter = ";"
    pending = []
    for line in text.split("\n"):
        if not pending and line.startswith("DELIMITER "):
            delimiter = line.split(None, 1)[1].strip()
            continue
        if not pending and not line.strip():
            continue
        pending.append(line)
        if not line.rstrip().endswith(delimiter):
            continue
        stmt = "\n".join(pending).rstrip()
        stmt = stmt[: len(stmt) - len(delimiter)]
        pending = []
        if stmt == "BEGIN":
            current = []
        elif stmt == "COMMIT":
            m = TABLE_RE.match(current[0]) if current else None
            units.append(("txn", current, m.group(1) if m else ""))
            current = None
        elif current is not None:
            current.append(stmt)
        else:
            units.append(("stmt", stmt))
    return units


def connect(args, db, multi=False):
    return mysql_raw.Connection(args.host, args.port, args.user, args.password, database=db,
                                multi_statements=multi, buffer_size=1 << 16)


class Runner:
    def __init__(self):
        self.statements = 0
        self.rows = 0
        self.errors = 0
        self.first_error = ""
        self.lock = threading.Lock()

    def run(self, conn, sql, count, rows):
        try:
            conn.query_all(sql)
        except mysql_raw.MySQLError as e:
            with self.lock:
                self.errors += 1
                self.first_error = self.first_error or f"{e} in: {sql[:200]}"
        with self.lock:
            self.statements += count
            self.rows += rows


def replay(args, units, db):
    r = Runner()
    if args.mode in ("txn", "batch"):
        conn = connect(args, db, multi=args.mode == "batch")
        for u in units:
            if u[0] == "stmt":
                r.run(conn, u[1], 1, 0)
            elif args.mode == "txn":
                r.run(conn, "BEGIN", 1, 0)
                for s in u[1]:
                    r.run(conn, s, 1, 1)
                r.run(conn, "COMMIT", 1, 0)
            else:
                r.run(conn, "BEGIN;\n" + ";\n".join(u[1]) + ";\nCOMMIT", len(u[1]) + 2,
                      len(u[1]))
        conn.close()
        return r
    # split: one thread per connection, each with its queue of transactions.
    conns = [connect(args, db) for _ in range(args.connections)]
    queues = [queue.Queue() for _ in conns]

    def work(conn, q):
        while True:
            u = q.get()
            if u is None:
                q.task_done()
                return
            r.run(conn, "BEGIN", 1, 0)
            for s in u[1]:
                r.run(conn, s, 1, 1)
            r.run(conn, "COMMIT", 1, 0)
            q.task_done()

    threads = [threading.Thread(target=work, args=(c, q), daemon=True)
               for c, q in zip(conns, queues)]
    for t in threads:
        t.start()
    route = {}  # table -> connection, round robin in order of first appearance
    for u in units:
        if u[0] == "stmt":
            for q in queues:
                q.join()
            r.run(conns[0], u[1], 1, 0)
        else:
            i = route.setdefault(u[2], len(route) % len(queues))
            queues[i].put(u)
    for q in queues:
        q.put(None)
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    return r


def main():
    ap = argparse.ArgumentParser()
    mysql_raw.add_connection_args(ap)
    ap.add_argument("--trace", required=True, help="folder with trace.sql (and before.sql)")
    ap.add_argument("--mode", choices=("txn", "batch", "split"), required=True)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--db", default="test")
    ap.add_argument("--setup-port", type=int, help="the backend: load before.sql, checksum after")
    args = ap.parse_args()
    rename = (lambda s: s.replace("`test`", f"`{args.db}`")) if args.db != "test" else str
    with open(os.path.join(args.trace, "trace.sql")) as f:
        units = parse_trace(rename(f.read()))
    tables = sorted({u[2] for u in units if u[0] == "txn" and not u[2].startswith("_")})
    mysql = ["mariadb", "-h", args.host, "-P", str(args.setup_port), "-u", args.user,
             f"-p{args.password}", "--max-allowed-packet=64M"]
    if args.setup_port:
        with open(os.path.join(args.trace, "before.sql")) as f:
            subprocess.run(mysql, input=rename(f.read()).encode(), check=True)
    cpu0 = os.times()
    t0 = time.monotonic()
    r = replay(args, units, args.db)
    elapsed = time.monotonic() - t0
    cpu1 = os.times()
    out = {"mode": args.mode, "statements": r.statements, "row_statements": r.rows,
           "seconds": round(elapsed, 3), "per_sec": round(r.statements / elapsed, 1),
           "rows_per_sec": round(r.rows / elapsed, 1), "errors": r.errors,
           "first_error": r.first_error,
           "client_cpu_s": round((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), 3)}
    if args.setup_port:
        q = "CHECKSUM TABLE " + ", ".join(f"`{args.db}`.`{t}`" for t in tables)
        res = subprocess.run(mysql + ["-N", "-B", "-e", q], check=True, capture_output=True)
        out["checksums"] = " ".join(line.split("\t")[1] for line in
                                    res.stdout.decode().strip().split("\n"))
    print(json.dumps(out), flush=True)
    return 0 if r.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
