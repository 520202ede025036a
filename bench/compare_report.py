#!/usr/bin/python3
"""Turns the raw outputs of bench/compare.sh (one directory) into markdown tables.

  compare_report.py DIR

DIR holds, per round r:
  sb_<workload>_<target>_r<r>.txt   sysbench's output (with --histogram=on)
  sb_<workload>_<target>_r<r>.cpu   "<proxy cpu ticks> <mariadbd cpu ticks>" spent in the run
  bulk_<kind>_<target>_r<r>.json    bench/bulk.py's output line
and once:
  memory.json                       written by compare.sh (RSS figures)
  idle_big.json, sb_big_{noidle,idle}_{ghostgate,direct}_r<r>.txt
                                    RSS with --idle-big idle clients; sysbench without/with them
  churn_<plain|tls>_<target>_r<r>.json (+ .backend.json)
                                    bench/churn.c's output; stand-in logins and peak connections
  replay_<mode>_<target>.json (+ .cpu)
                                    bench/replay.py's output; proxy CPU ticks over the run
  meta.json                         options and machine description

Percentiles: sysbench 1.0 computes its one --percentile from a fixed latency histogram
(1024 logarithmic buckets from 1 us to 100 s, about 1.8% wide). With --histogram=on it prints
that histogram (non-empty buckets, each with its representative value), so every percentile
is computed here from one run exactly as sysbench computes its own: the first bucket at which
the cumulative count reaches the rounded p% of all events.

Per target, the table shows medians over rounds. The ratio rows are medians over rounds of the
ratio between two runs of the same round (seconds apart), which cancels load from other jobs
that changes on a scale longer than a round better than a ratio of medians would.
"""

import json
import math
import os
import re
import statistics
import sys

TARGETS = ["direct", "haproxy", "ghostgate"]
TARGET_NAMES = {"direct": "direct", "haproxy": "HAProxy", "ghostgate": "ghostgate",
                "ghostgate_ca": "ghostgate, client-auth"}
CLK_TCK = os.sysconf("SC_CLK_TCK")

HIST_LINE = re.compile(r"^\s*([0-9.]+)\s+\|[ *]*\s(\d+)\s*$")
QUERIES = re.compile(r"^\s*queries:\s+(\d+)\s+\(([0-9.]+) per sec\.\)")
TRANSACTIONS = re.compile(r"^\s*transactions:\s+(\d+)\s+\(([0-9.]+) per sec\.\)")
IGNORED = re.compile(r"^\s*ignored errors:\s+(\d+)")


def parse_sysbench(path):
    hist = []
    qps = tps = None
    queries = 0
    ignored = 0
    in_hist = False
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("Latency histogram"):
                in_hist = True
                continue
            if in_hist:
                m = HIST_LINE.match(line)
                if m:
                    hist.append((float(m.group(1)), int(m.group(2))))
                    continue
                if "distribution" in line:
                    continue
                if line.strip() == "" and not hist:
                    continue
                in_hist = False
            m = QUERIES.match(line)
            if m:
                queries, qps = int(m.group(1)), float(m.group(2))
            m = TRANSACTIONS.match(line)
            if m:
                tps = float(m.group(2))
            m = IGNORED.match(line)
            if m:
                ignored = int(m.group(1))
    if qps is None or not hist:
        return None
    total = sum(c for _, c in hist)

    def pct(p):
        nth = max(1, math.floor(total * p / 100.0 + 0.5))
        cum = 0
        for value, count in hist:
            cum += count
            if cum >= nth:
                return value
        return hist[-1][0]

    return {"qps": qps, "tps": tps, "queries": queries, "ignored": ignored,
            "p50": pct(50), "p95": pct(95), "p99": pct(99)}


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_num(x, digits=0):
    if x is None:
        return "–"
    return f"{x:,.{digits}f}"


def fmt_ms(x):
    if x is None:
        return "–"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main():
    d = sys.argv[1]
    meta = load_json(os.path.join(d, "meta.json")) or {}
    workloads = meta.get("workloads", [])
    runs = {}  # (workload, target) -> {round: parsed run}
    for name in sorted(os.listdir(d)):
        m = re.match(r"sb_(.+)_(direct|haproxy|ghostgate)_r(\d+)\.txt$", name)
        if not m:
            continue
        wl, target, rnd = m.group(1), m.group(2), int(m.group(3))
        parsed = parse_sysbench(os.path.join(d, name))
        if parsed is None:
            parsed = {"failed": True}
        cpu_path = os.path.join(d, name[:-4] + ".cpu")
        try:
            proxy_ticks, db_ticks = (int(x) for x in open(cpu_path).read().split())
        except (OSError, ValueError):
            proxy_ticks = db_ticks = None
        if not parsed.get("failed") and parsed["queries"]:
            q = parsed["queries"]
            parsed["proxy_us_q"] = (proxy_ticks / CLK_TCK * 1e6 / q
                                    if proxy_ticks is not None and target != "direct" else None)
            parsed["db_us_q"] = db_ticks / CLK_TCK * 1e6 / q if db_ticks is not None else None
        runs.setdefault((wl, target), {})[rnd] = parsed
        if wl not in workloads and not wl.startswith("big_"):  # idle-big has its own table
            workloads.append(wl)

    def paired_ratio(wl, key, base):
        """Median over rounds of ghostgate's value / base's value in the same round."""
        g_runs, b_runs = runs.get((wl, "ghostgate"), {}), runs.get((wl, base), {})
        ratios = []
        for rnd, g in g_runs.items():
            b = b_runs.get(rnd)
            if g.get("failed") or not b or b.get("failed"):
                continue
            if g.get(key) is not None and b.get(key):
                ratios.append(g[key] / b[key])
        return median(ratios)

    out = []
    out.append("| workload | target | QPS | p50 ms | p95 ms | p99 ms | proxy CPU µs/query "
               "| QPS per round |")
    out.append("|---|---|---:|---:|---:|---:|---:|---|")
    for wl in workloads:
        label = meta.get("workload_labels", {}).get(wl, wl)
        first = True
        for t in TARGETS:
            all_runs = [runs.get((wl, t), {})[k] for k in sorted(runs.get((wl, t), {}))]
            rs = [r for r in all_runs if not r.get("failed")]
            failed = len(all_runs) - len(rs)
            m = {k: median([r.get(k) for r in rs]) for k in
                 ("qps", "p50", "p95", "p99", "proxy_us_q")}
            per_round = ", ".join(fmt_num(r["qps"]) for r in rs)
            if failed:
                per_round += f" ({failed} failed)"
            out.append(f"| {label if first else ''} | {TARGET_NAMES[t]} | {fmt_num(m['qps'])} | "
                       f"{fmt_ms(m['p50'])} | {fmt_ms(m['p95'])} | {fmt_ms(m['p99'])} | "
                       f"{fmt_num(m['proxy_us_q'], 1) if t != 'direct' else '–'} | "
                       f"{per_round} |")
            first = False
        for base, name in (("direct", "ghostgate / direct"), ("haproxy", "ghostgate / HAProxy")):
            cells = [paired_ratio(wl, k, base) for k in ("qps", "p50", "p95", "p99")]
            cpu = paired_ratio(wl, "proxy_us_q", base) if base == "haproxy" else None
            out.append(f"| | *{name}* | " + " | ".join(
                "–" if c is None else f"{c:.3f}×" for c in cells + [cpu]) + " | |")
    print("\n".join(out))

    # At 1 thread the tail is dominated by other jobs preempting one of the four processes on
    # the path for a scheduler tick or more (a p99 of several ms). Rounds in which no run was
    # hit that way show the proxies' own latency; the criterion is fixed in advance.
    wl = "point_select_t1"
    quiet = [rnd for rnd in sorted(runs.get((wl, "ghostgate"), {}))
             if all((runs.get((wl, t), {}).get(rnd) or {}).get("p99", 99) < 1.0
                    for t in ("haproxy", "ghostgate"))]
    if runs.get((wl, "ghostgate")):
        line = (f"\nUndisturbed rounds of oltp_point_select at 1 thread (the HAProxy and the "
                f"ghostgate run both with p99 < 1 ms): {len(quiet)} of {len(runs[(wl, 'ghostgate')])}")
        if quiet:
            def q_ratio(key, base):
                return median([runs[(wl, "ghostgate")][r][key] / runs[(wl, base)][r][key]
                               for r in quiet])

            def q_med(t, key):
                return median([runs[(wl, t)][r][key] for r in quiet])

            line += (". In them, median p50 direct / HAProxy / ghostgate = "
                     f"{fmt_ms(q_med('direct', 'p50'))} / {fmt_ms(q_med('haproxy', 'p50'))} / "
                     f"{fmt_ms(q_med('ghostgate', 'p50'))} ms, p99 = "
                     f"{fmt_ms(q_med('direct', 'p99'))} / {fmt_ms(q_med('haproxy', 'p99'))} / "
                     f"{fmt_ms(q_med('ghostgate', 'p99'))} ms; ghostgate / HAProxy: QPS "
                     f"{q_ratio('qps', 'haproxy'):.3f}×, p50 {q_ratio('p50', 'haproxy'):.3f}×, "
                     f"p99 {q_ratio('p99', 'haproxy'):.3f}×")
        print(line + ".")

    # Bulk: best of --repeat runs per round (bulk.py), median over rounds, paired ratios.
    bulk = {}  # (kind, target) -> {round: MB/s}
    for name in sorted(os.listdir(d)):
        m = re.match(r"bulk_(result|load)_(direct|haproxy|ghostgate)_r(\d+)\.json$", name)
        if m:
            j = load_json(os.path.join(d, name))
            if j:
                bulk.setdefault((m.group(1), m.group(2)), {})[int(m.group(3))] = j["mb_per_s"]
    if bulk:
        mib = meta.get("bulk_mib", 256)
        print()
        print("| bulk transfer | direct MB/s | HAProxy MB/s | ghostgate MB/s | ghostgate / direct "
              "| ghostgate / HAProxy | ghostgate per round |")
        print("|---|---:|---:|---:|---:|---:|---|")
        labels = {"result": f"{mib} MiB result set (1 MiB rows)",
                  "load": f"{mib} MiB LOAD DATA LOCAL INFILE"}

        def bulk_ratio(kind, base):
            g, b = bulk.get((kind, "ghostgate"), {}), bulk.get((kind, base), {})
            return median([g[r] / b[r] for r in g if b.get(r)])

        for kind in ("result", "load"):
            v = {t: median(list(bulk.get((kind, t), {}).values())) for t in TARGETS}
            g_rounds = bulk.get((kind, "ghostgate"), {})
            rounds = ", ".join(fmt_num(g_rounds[r]) for r in sorted(g_rounds))
            rd, rh = bulk_ratio(kind, "direct"), bulk_ratio(kind, "haproxy")
            print(f"| {labels[kind]} | {fmt_num(v['direct'])} | {fmt_num(v['haproxy'])} | "
                  f"{fmt_num(v['ghostgate'])} | {'–' if rd is None else f'{rd:.3f}×'} | "
                  f"{'–' if rh is None else f'{rh:.3f}×'} | {rounds} |")

    mem = load_json(os.path.join(d, "memory.json"))
    if mem:
        n = mem["count"]
        print()
        print(f"| idle client connections (logged in, one `SELECT 1` each) | RSS with 0 | "
              f"RSS with {n:,} | per connection | backend connections held | RSS after "
              f"they left |")
        print("|---|---:|---:|---:|---:|---:|")
        for key, label in (("ghostgate", "ghostgate"), ("haproxy", "HAProxy")):
            m = mem.get(key)
            if not m:
                continue
            per = (m["rss_kib_n"] - m["rss_kib_0"]) / n
            print(f"| {label} | {m['rss_kib_0']:,} KiB | {m['rss_kib_n']:,} KiB | "
                  f"{per:.1f} KiB | {m.get('backend_conns', '–')} | "
                  f"{m.get('rss_kib_after', 0):,} KiB |")

    report_idle_big(d)
    report_churn(d)
    report_replay(d)


def ratio_txt(x):
    return "–" if x is None else f"{x:.3f}×"


def report_idle_big(d):
    big = load_json(os.path.join(d, "idle_big.json"))
    if not big:
        return
    n = big["count"]
    print()
    print(f"| oltp_point_select, 8 threads, beside {n:,} idle clients of ghostgate | ghostgate RSS "
          f"| QPS | p50 ms | p99 ms | runs |")
    print("|---|---:|---:|---:|---:|---:|")
    med = {}
    for t in ("ghostgate", "direct"):
        for kind in ("noidle", "idle"):
            rs = []
            for r in range(1, big["rounds"] + 1):
                path = os.path.join(d, f"sb_big_{kind}_{t}_r{r}.txt")
                if os.path.exists(path):
                    rs.append(parse_sysbench(path))
            rs = [x for x in rs if x]
            m = med[(t, kind)] = {k: median([x[k] for x in rs if x.get(k) is not None])
                                  for k in ("qps", "p50", "p99")}
            rss = "–"
            if t == "ghostgate":
                rss = f"{big['rss_kib_0' if kind == 'noidle' else 'rss_kib_n']:,} KiB"
            label = f"{TARGET_NAMES[t]}, {'no idle client' if kind == 'noidle' else 'idle clients held'}"
            print(f"| {label} | {rss} | {fmt_num(m['qps'])} | {fmt_ms(m['p50'])} | "
                  f"{fmt_ms(m['p99'])} | {len(rs)} |")
        a, b = med[(t, "idle")], med[(t, "noidle")]
        if a.get("p99") and b.get("p99"):
            per = ""
            if t == "ghostgate":
                per = f"{(big['rss_kib_n'] - big['rss_kib_0']) / n:.1f} KiB per idle client"
            print(f"| *{TARGET_NAMES[t]}: with / without idle clients* | {per} | "
                  f"{a['qps'] / b['qps']:.3f}× | {a['p50'] / b['p50']:.3f}× | "
                  f"{a['p99'] / b['p99']:.3f}× | |")


def report_churn(d):
    got = {}
    for name in os.listdir(d):
        m = re.match(r"churn_(plain|tls)_(\w+?)_r(\d+)\.json$", name)
        if m:
            j = load_json(os.path.join(d, name))
            if j:
                j.update(load_json(os.path.join(d, name[:-5] + ".backend.json")) or {})
                got.setdefault((m.group(1), m.group(2)), {})[int(m.group(3))] = j
    if not got:
        return
    print()
    print("| connection churn, 8 threads (connect, log in, SELECT 1, quit) | connections/s | "
          "p50 ms | p99 ms | client CPU µs/conn | proxy CPU µs/conn | backend CPU µs/conn | "
          "backend logins per client conn | peak backend conns | per round |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for tls in ("plain", "tls"):
        for t in TARGETS + ["ghostgate_ca"]:
            runs = got.get((tls, t), {})
            if not runs:
                continue
            rs = [runs[r] for r in sorted(runs)]

            def med(key, rs=rs):
                return median([x[key] for x in rs if key in x])

            per_conn = median([x["client_cpu_s"] / x["connections"] * 1e6 for x in rs
                               if x.get("connections")])
            proxy = median([x["proxy_ticks"] / CLK_TCK / x["connections"] * 1e6 for x in rs
                            if x.get("connections") and t != "direct"])
            logins = median([x["backend_logins"] / x["connections"] for x in rs
                             if x.get("connections")])
            backend = median([x["backend_ticks"] / CLK_TCK / x["connections"] * 1e6 for x in rs
                              if x.get("connections") and "backend_ticks" in x])
            label = f"{'TLS from the client' if tls == 'tls' else 'plain'}: {TARGET_NAMES[t]}"
            print(f"| {label} | {fmt_num(med('per_sec'))} | {med('p50_ms'):.2f} | "
                  f"{med('p99_ms'):.2f} | {fmt_num(per_conn)} | "
                  f"{'–' if proxy is None else fmt_num(proxy)} | "
                  f"{'–' if backend is None else fmt_num(backend)} | {logins:.3f} | "
                  f"{fmt_num(med('backend_max_used'))} | "
                  f"{', '.join(fmt_num(x['per_sec']) for x in rs)} |")
        for gate in ("ghostgate", "ghostgate_ca"):
            for base in ("direct", "haproxy"):
                g, b = got.get((tls, gate), {}), got.get((tls, base), {})
                if not g:
                    continue
                rr = median([g[r]["per_sec"] / b[r]["per_sec"] for r in g
                             if r in b and b[r].get("per_sec")])
                print(f"| *{tls}: {TARGET_NAMES[gate]} / {TARGET_NAMES[base]}* | "
                      f"{ratio_txt(rr)} | | | | | | | | |")


def report_replay(d):
    got = {}
    for name in os.listdir(d):
        m = re.match(r"replay_(txn|batch|split)_(\w+)\.json$", name)
        if m:
            j = load_json(os.path.join(d, name))
            if j:
                try:
                    with open(os.path.join(d, name[:-5] + ".cpu")) as f:
                        j["proxy_ticks"] = int(f.read().split()[0])
                except (OSError, ValueError, IndexError):
                    pass
                got[(m.group(1), m.group(2))] = j
    if not got:
        return
    labels = {"txn": "1 connection, BEGIN … COMMIT",
              "batch": "1 connection, multi-statement batches",
              "split": "8 connections split by table"}
    print()
    print("| replicator replay | target | statements/s | row statements/s | seconds | errors | "
          "client CPU s | proxy CPU µs/statement | table checksums |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for mode in ("txn", "batch", "split"):
        for t in TARGETS:
            j = got.get((mode, t))
            if not j:
                continue
            proxy = "–"
            if t != "direct" and "proxy_ticks" in j and j.get("statements"):
                proxy = fmt_num(j["proxy_ticks"] / CLK_TCK / j["statements"] * 1e6, 1)
            same = ""
            if "checksums" in j and (mode, "direct") in got:
                same = "= direct" if j["checksums"] == got[(mode, "direct")].get("checksums") \
                    else "DIFFER from direct"
            print(f"| {labels[mode]} | {TARGET_NAMES[t]} | {fmt_num(j['per_sec'])} | "
                  f"{fmt_num(j['rows_per_sec'])} | {j['seconds']:.1f} | {j['errors']} | "
                  f"{j['client_cpu_s']:.1f} | {proxy} | {same if t != 'direct' else ''} |")
        g, h, dd = got.get((mode, "ghostgate")), got.get((mode, "haproxy")), got.get((mode, "direct"))
        if g and h:
            print(f"| | *ghostgate / HAProxy* | {g['per_sec'] / h['per_sec']:.3f}× | | | | | | |")
        if g and dd:
            print(f"| | *ghostgate / direct* | {g['per_sec'] / dd['per_sec']:.3f}× | | | | | | |")


if __name__ == "__main__":
    main()
