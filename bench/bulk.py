#!/usr/bin/python3
"""Bulk throughput through one target, for bench/compare.sh. Prints one JSON line.

  bulk.py --port P result [--rows 256] [--row-bytes 1048576]
      SELECT REPEAT(REPEAT('x', 4096), row-bytes/4096) FROM seq_1_to_<rows> (MariaDB's SEQUENCE
      engine): the server streams rows x row-bytes of result; the client counts the rows
      without copying them.
  bulk.py --port P load [--mib 256] [--line-bytes 4096] [--packet-bytes 1048576]
      LOAD DATA LOCAL INFILE of mib MiB of lines into a BLACKHOLE table (the server parses
      every line and stores nothing): the upload path. The file's content is generated in
      memory before the clock starts and sent in packet-bytes packets.

Only the statement itself is timed (connect and login are not). Throughput is in MB/s
(10^6 bytes per second) of row or file payload.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mysql_raw  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    mysql_raw.add_connection_args(ap)
    ap.add_argument("--database", default="bench")
    ap.add_argument("--repeat", type=int, default=1, help="runs; the best one is reported")
    sub = ap.add_subparsers(dest="what", required=True)
    r = sub.add_parser("result")
    r.add_argument("--rows", type=int, default=256)
    r.add_argument("--row-bytes", type=int, default=1 << 20)
    ld = sub.add_parser("load")
    ld.add_argument("--mib", type=int, default=256)
    ld.add_argument("--line-bytes", type=int, default=4096)
    ld.add_argument("--packet-bytes", type=int, default=1 << 20)
    ld.add_argument("--table", default="bulk_sink")
    args = ap.parse_args()

    conn = mysql_raw.Connection(args.host, args.port, args.user, args.password, args.database)
    best = None
    if args.what == "result":
        # REPEAT of a 1-byte string is a per-byte loop in MariaDB (about 250 MB/s, it would
        # be the bottleneck); repeating a 4 KiB string costs the server one memcpy per 4 KiB.
        inner = min(4096, args.row_bytes)
        sql = (f"SELECT REPEAT(REPEAT('x', {inner}), {args.row_bytes // inner}) "
               f"FROM seq_1_to_{args.rows}")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            rows, nbytes = conn.query(sql)
            dt = time.perf_counter() - t0
            if rows != args.rows or nbytes < args.rows * (args.row_bytes // inner) * inner:
                raise SystemExit(f"bulk: expected {args.rows} rows, got {rows}")
            if best is None or dt < best[1]:
                best = (nbytes, dt)
    else:
        line = b"y" * (args.line_bytes - 1) + b"\n"
        data = line * ((args.mib << 20) // len(line))
        sql = (f"LOAD DATA LOCAL INFILE 'bulk.txt' INTO TABLE {args.table} "
               "FIELDS TERMINATED BY '\\t' ESCAPED BY '' LINES TERMINATED BY '\\n' (line)")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            affected = conn.load_data_local(sql, data, args.packet_bytes)
            dt = time.perf_counter() - t0
            expected = len(data) // len(line)
            if affected != expected:
                raise SystemExit(f"bulk: expected {expected} rows loaded, got {affected}")
            if best is None or dt < best[1]:
                best = (len(data), dt)
    conn.close()
    nbytes, dt = best
    print(json.dumps({"what": args.what, "bytes": nbytes, "seconds": round(dt, 4),
                      "mb_per_s": round(nbytes / dt / 1e6, 1)}))


if __name__ == "__main__":
    main()
