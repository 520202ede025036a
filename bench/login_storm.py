#!/usr/bin/python3
"""How fast ghostgate turns away a storm of wrong passwords while serving everyone else: the
figures tests/integration/test_hostile.py's test_wrong_password_storm only checks functionally.

  GHOSTGATE_BIN=build/ghostgate /usr/bin/python3 bench/login_storm.py [--seconds 8]
      [--attackers 12] [--pool 8] [--newcomer-pause 0.2]

Starts its own MariaDB stand-in and ghostgate (tests/harness; pool.max-connections = --pool,
as the test) and, for --seconds: --attackers threads logging in with wrong passwords on fresh
connections (half as root, half as tester), one logged-in client running a query in a loop,
and one newcomer logging in (and running one query) over and over, --newcomer-pause seconds
apart. Prints, for the storm:
wrong-password attempts per second and how they were answered, the logged-in client's queries
per second, the newcomers' logins per second with their latency (p50 / p99 / max), a login's
latency after the storm, the most backend connections open at once, and ghostgate's VmRSS
before and after. Exits 1 if anything but a wrong password got an error.
"""

import argparse
import os
import statistics
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "harness"))
import harness  # noqa: E402
import mysql_raw  # noqa: E402


def vm_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def open_backend_connections(gate):
    url = f"http://{gate.host}:{gate.admin_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("ghostgate_backend_connections_open "):
                return float(line.split()[1])
    return float("nan")


def login(gate, user, password):
    """Seconds to log in and run SELECT 1; raises mysql_raw.MySQLError if refused."""
    t0 = time.monotonic()
    c = mysql_raw.Connection(gate.host, gate.port, user, password, buffer_size=4096, timeout=30)
    c.query("SELECT 1")
    c.close()
    return time.monotonic() - t0


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--attackers", type=int, default=12)
    ap.add_argument("--pool", type=int, default=8)
    ap.add_argument("--newcomer-pause", type=float, default=0.2)
    args = ap.parse_args()

    standin = harness.Standin(name="storm-standin").start()
    gate = harness.Ghostgate(standin, name="storm", log_level="warn",
                             pool={"max-connections": args.pool, "max-idle": args.pool}).start()
    pid = gate.proc.pid
    stop = threading.Event()
    lock = threading.Lock()
    answers, errors, latencies = {}, [], []
    counts = {"queries": 0, "max_open": 0.0}

    def attacker(n):
        user = harness.ROOT_USER if n % 2 else harness.TEST_USER
        while not stop.is_set():
            try:
                login(gate, user, f"wrong-{n}")
                key = "logged in!"
            except mysql_raw.MySQLError as e:
                key = str(e).split(":", 1)[0]  # "ERROR 1045"
            except OSError as e:
                key = type(e).__name__
            with lock:
                answers[key] = answers.get(key, 0) + 1

    def legit():
        c = mysql_raw.Connection(gate.host, gate.port, harness.ROOT_USER, harness.ROOT_PASSWORD,
                                 buffer_size=4096, timeout=30)
        while not stop.is_set():
            c.query("SELECT 1")
            counts["queries"] += 1
        c.close()

    def newcomer():
        while not stop.is_set():
            try:
                latencies.append(login(gate, harness.TEST_USER, harness.TEST_PASSWORD))
            except (mysql_raw.MySQLError, OSError) as e:
                errors.append(f"newcomer: {e}")
            time.sleep(args.newcomer_pause)

    def sampler():
        while not stop.is_set():
            counts["max_open"] = max(counts["max_open"], open_backend_connections(gate))
            time.sleep(0.1)

    def guarded(fn, *a):
        try:
            fn(*a)
        except Exception as e:  # reported below
            errors.append(f"{fn.__name__}: {e!r}")

    rss_before = vm_rss_mib(pid)
    threads = [threading.Thread(target=guarded, args=(f,)) for f in (legit, newcomer, sampler)]
    threads += [threading.Thread(target=guarded, args=(attacker, n))
                for n in range(args.attackers)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(args.seconds)
    stop.set()
    for t in threads:
        t.join(60)
    elapsed = time.monotonic() - t0
    after_storm = login(gate, harness.TEST_USER, harness.TEST_PASSWORD)
    rss_after = vm_rss_mib(pid)
    gate.stop()
    standin.stop()

    attempts = sum(answers.values())
    load = os.getloadavg()
    print(f"login storm: {args.attackers} attackers, pool {args.pool}, newcomer pause "
          f"{args.newcomer_pause} s, {elapsed:.1f} s, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"  wrong-password attempts: {attempts} ({attempts / elapsed:.0f}/s), answered "
          + ", ".join(f"{k}: {v}" for k, v in sorted(answers.items())))
    print(f"  logged-in client: {counts['queries']} queries ({counts['queries'] / elapsed:.0f}/s)")
    print(f"  newcomers: {len(latencies)} logins ({len(latencies) / elapsed:.1f}/s), latency "
          f"p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 "
          f"{percentile(latencies, 99) * 1000:.1f} ms, max "
          f"{max(latencies, default=float('nan')) * 1000:.1f} ms"
          + (f", mean {statistics.mean(latencies) * 1000:.1f} ms" if latencies else ""))
    print(f"  a login after the storm: {after_storm * 1000:.1f} ms")
    print(f"  backend connections open, at most: {counts['max_open']:.0f} (pool {args.pool})")
    print(f"  ghostgate VmRSS: {rss_before:.1f} MiB before, {rss_after:.1f} MiB after")
    bad = {k: v for k, v in answers.items() if k != "ERROR 1045"}
    for e in errors[:10]:
        print(f"  ERROR {e}")
    if bad or errors:
        print(f"login storm: FAILED ({bad or ''} {len(errors)} errors)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
