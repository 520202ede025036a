#!/usr/bin/python3
"""Holds N logged-in, idle client connections to one target, for bench/compare.sh.

  idle_conns.py --port P --count 2000 [--threads 16]

Each connection logs in (mysql_native_password), runs `SELECT 1` once (as connectors do on
connect) and then stays idle. When all are up it prints `ready N` and waits until stdin is
closed or it gets SIGTERM/SIGINT; then it closes them (COM_QUIT) and exits.
"""

import argparse
import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mysql_raw  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    mysql_raw.add_connection_args(ap)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=16)
    args = ap.parse_args()

    def open_one(_):
        c = mysql_raw.Connection(args.host, args.port, args.user, args.password,
                                 buffer_size=4096, timeout=60)
        rows, _ = c.query("SELECT 1")
        if rows != 1:
            raise mysql_raw.MySQLError("SELECT 1 returned no row")
        return c

    with ThreadPoolExecutor(args.threads) as pool:
        conns = list(pool.map(open_one, range(args.count)))
    print(f"ready {len(conns)}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    for c in conns:
        c.close()


if __name__ == "__main__":
    main()
