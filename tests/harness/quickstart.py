#!/usr/bin/python3
"""The quick start (run through scripts/quickstart.sh): a MariaDB stand-in playing TiDB, ghostgate
in front of it, and a real pt-online-schema-change on an upstream server whose binlog is replayed
into ghostgate, as a replicator would.

    quickstart.py [--no-wait] [--direct] [--rows N]

--no-wait   do the demo, check the outcome, exit (0 = the downstream ended as it should)
--direct    replay straight into the stand-in, bypassing ghostgate (shows the naive result)
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

DEMO_TABLE = """CREATE TABLE demo.items (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(40) NOT NULL,
  qty INT NOT NULL DEFAULT 0
) ENGINE=InnoDB"""

HELPER = re.compile(r"_items_new|_items_old|pt_osc_demo_items", re.I)
GENERAL_LOG_ENTRY = re.compile(
    r"^(?:\d{6}\s+[\d:]+\s+)?\s*\d+\s+(Query|Execute|Prepare|Connect|Quit|Init DB|Field List"
    r"|Close stmt|Reset stmt|Ping|Statistics|Processlist|Change user)\t?(.*)$")

step_no = 0


def step(title):
    global step_no
    step_no += 1
    line = "=" * 78
    print(f"\n{line}\n== Step {step_no}: {title}\n{line}", flush=True)


def say(text=""):
    print(text, flush=True)


def indent(text, prefix="    "):
    return "\n".join(prefix + line for line in text.rstrip("\n").splitlines())


def general_log_statements(path, offset=0):
    """(command, statement) for each Query/Execute entry in a general log, from byte offset on."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []
    entries = []
    for line in lines:
        m = GENERAL_LOG_ENTRY.match(line)
        if m:
            entries.append([m.group(1), m.group(2)])
        elif entries:
            entries[-1][1] += "\n" + line  # a statement that spans lines
    return [(c, s.strip()) for c, s in entries if c in ("Query", "Execute")]


def helper_traffic(statements):
    """Statements about pt-osc's helper table or triggers; ghostgate's own meta table excluded."""
    return [s for _, s in statements if HELPER.search(s) and "dm_meta" not in s]


def setup_demo(server, rows):
    server.query("CREATE DATABASE IF NOT EXISTS demo")
    server.query(DEMO_TABLE)
    server.query("INSERT INTO demo.items (name, qty) SELECT CONCAT('item-', seq), seq % 97 "
                 f"FROM seq_1_to_{rows}", database="demo")


def replay(binlogs, params, label):
    """mariadb-binlog FILES | mariadb -h.. -P.. : what a statement-based replicator does."""
    binlog_tool = harness.which_or_fail("mariadb-binlog", "install mariadb-client")
    cli = harness.which_or_fail("mariadb", "install mariadb-client")
    dump = subprocess.Popen([binlog_tool, "--no-defaults", "--base64-output=never", *binlogs],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    client = subprocess.run(
        [cli, "--no-defaults", f"-h{params['host']}", f"-P{params['port']}",
         f"-u{params['user']}", f"-p{params['password']}", "--protocol=TCP",
         "--init-command=SET SESSION foreign_key_checks=0"],
        stdin=dump.stdout, capture_output=True, text=True, timeout=300)
    dump.stdout.close()
    dump_err = dump.stderr.read().decode()
    dump.wait(60)
    ok = dump.returncode == 0 and client.returncode == 0
    say(f"  replay into {label}: mariadb-binlog exit {dump.returncode}, mariadb exit "
        f"{client.returncode}")
    if dump_err.strip() or client.stderr.strip():
        say(indent((dump_err + client.stderr).strip()))
    return ok


def describe(server):
    create = server.query("SHOW CREATE TABLE demo.items")[0][1]
    tables = [r[0] for r in server.query(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'demo' "
        "ORDER BY TABLE_NAME")]
    triggers = [r[0] for r in server.query(
        "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'demo'")]
    count = server.query("SELECT COUNT(*) FROM demo.items")[0][0]
    return create, tables, triggers, count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-wait", action="store_true", help="run the demo, check it and exit")
    ap.add_argument("--direct", action="store_true",
                    help="replay straight into the stand-in (no ghostgate): the naive result")
    ap.add_argument("--rows", type=int, default=5000)
    args = ap.parse_args()
    failures = []

    step("MariaDB stand-in for TiDB (the downstream)")
    downstream = harness.Standin(name="downstream", general_log=True).start()
    say(f"  downstream: 127.0.0.1:{downstream.port} (datadir {downstream.datadir})")

    gate = None
    if args.direct:
        step("ghostgate: skipped (--direct)")
        entry = downstream
    else:
        step("ghostgate in front of the downstream")
        gate = harness.Ghostgate(downstream, name="ghostgate", log_level="info",
                                 pool={"max-connections": 16, "max-idle": 8}).start()
        entry = gate
        say(f"  ghostgate: 127.0.0.1:{gate.port} (admin 127.0.0.1:{gate.admin_port})")
        say(f"  config:    {gate.config_path}")
        say(f"  log:       {gate.log_file}")
    connect = (f"mariadb -h127.0.0.1 -P{entry.port} -u{harness.ROOT_USER} "
               f"-p{harness.ROOT_PASSWORD}")
    say(f"\n  Connect:   {connect}")

    step("upstream MariaDB with a statement-based binlog, demo table on both sides")
    upstream = harness.Standin(name="upstream", log_bin=True, binlog_format="STATEMENT").start()
    say(f"  upstream:  127.0.0.1:{upstream.port} (log-bin, binlog_format=STATEMENT)")
    setup_demo(upstream, args.rows)
    setup_demo(downstream, args.rows)
    upstream.query("FLUSH BINARY LOGS")  # replay only what happens from here on
    first_new = upstream.binlog_files()[-1]
    say(f"  demo.items: {args.rows} rows on both sides; upstream binlog now at "
        f"{os.path.basename(first_new)}")
    log_offset = os.path.getsize(downstream.general_log_file)

    step("pt-online-schema-change --alter 'add column note varchar(20)' on the upstream")
    ptosc = harness.which_or_fail("pt-online-schema-change", "install percona-toolkit")
    dsn = (f"D=demo,t=items,h=127.0.0.1,P={upstream.port},u={harness.ROOT_USER},"
           f"p={harness.ROOT_PASSWORD}")
    say(f"  pt-online-schema-change --alter 'add column note varchar(20)' "
        f"--recursion-method=none --execute {dsn.replace(harness.ROOT_PASSWORD, '***')}")
    r = subprocess.run([ptosc, "--alter", "add column note varchar(20)", dsn,
                        "--recursion-method=none", "--execute"],
                       capture_output=True, text=True, timeout=300)
    say(indent(r.stdout + r.stderr))
    if r.returncode != 0:
        failures.append(f"pt-online-schema-change exited with {r.returncode}")
    binlogs = [f for f in upstream.binlog_files() if f >= first_new]
    upstream.query("FLUSH BINARY LOGS")

    target_label = "the downstream directly (--direct)" if args.direct else "ghostgate"
    step(f"replay the upstream binlog into {target_label}")
    say(f"  mariadb-binlog {' '.join(os.path.basename(b) for b in binlogs)} | "
        f"mariadb -h127.0.0.1 -P{entry.port} ...")
    if not replay(binlogs, entry.params(), target_label):
        failures.append(f"replay into {target_label} failed")

    step("for contrast: the same binlog replayed straight into a second stand-in")
    naive = harness.Standin(name="naive", general_log=True).start()
    setup_demo(naive, args.rows)
    naive_offset = os.path.getsize(naive.general_log_file)
    replay(binlogs, naive.params(), "a plain MariaDB (no proxy)")
    naive_helpers = helper_traffic(general_log_statements(naive.general_log_file, naive_offset))
    say(f"  A plain downstream executed {len(naive_helpers)} statements for pt-osc's helpers:")
    for s in naive_helpers:
        say(indent(s[:160].replace("\n", " "), "    - "))
    say("  That is a second full copy of demo.items (INSERT ... SELECT into _items_new), three\n"
        "  CREATE TRIGGER statements (TiDB has no triggers: the replicator stops at the first),\n"
        "  and the cut-over RENAME executed literally.")

    step("result on the downstream" + (" (direct)" if args.direct else " behind ghostgate"))
    create, tables, triggers, count = describe(downstream)
    say("  SHOW CREATE TABLE demo.items:")
    say(indent(create, "    "))
    say(f"  tables in demo: {', '.join(tables)}")
    say(f"  triggers in demo: {', '.join(triggers) if triggers else '(none)'}")
    say(f"  rows in demo.items: {count}")
    received = general_log_statements(downstream.general_log_file, log_offset)
    helpers = helper_traffic(received)
    say(f"  statements about pt-osc helpers that reached the downstream: {len(helpers)}")
    for s in helpers[:20]:
        say(indent(s[:160].replace("\n", " "), "    - "))
    ddl = [s for _, s in received if re.match(r"(?is)^\s*(/\*.*?\*/\s*)*ALTER\s+TABLE", s)]
    say("  ALTER TABLE statements the downstream executed:")
    for s in ddl:
        say(indent(s[:200].replace("\n", " "), "    - "))

    if not re.search(r"`note` varchar\(20\)", create):
        failures.append("demo.items has no `note` column downstream")
    if [t for t in tables if t != "items"]:
        failures.append(f"helper tables left downstream: {tables}")
    if triggers:
        failures.append(f"triggers left downstream: {triggers}")
    if count != args.rows:
        failures.append(f"demo.items has {count} rows downstream, expected {args.rows}")
    if gate is not None:
        if helpers:
            failures.append(f"{len(helpers)} helper statements reached the downstream through "
                            "ghostgate")
        if not gate.alive():
            failures.append("ghostgate is not running any more")

    step("summary")
    if failures:
        for f in failures:
            say(f"  FAILED: {f}")
    else:
        say("  OK: the downstream has the new column, no helper tables, no triggers, "
            f"{count} rows" + ("" if args.direct else
                               ", and never saw pt-osc's helper traffic"))
    if args.no_wait:
        say("QUICKSTART " + ("FAILED" if failures else "OK"))
        return 1 if failures else 0

    say(f"\n  Connect:  {connect}")
    if gate is not None:
        say(f"  Backend:  mariadb -h127.0.0.1 -P{downstream.port} -u{harness.ROOT_USER} "
            f"-p{harness.ROOT_PASSWORD}   (the stand-in itself)")
    say("  Press Ctrl-C to stop everything.")
    try:
        while True:
            if gate is not None and not gate.alive():
                say(f"ghostgate exited with {gate.proc.returncode}; see {gate.log_file}")
                return 1
            time.sleep(1)
    except KeyboardInterrupt:
        say("\nstopping ...")
    finally:
        if gate is not None:
            gate.stop()
        for s in (naive, upstream, downstream):
            s.stop()
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        sys.exit(main())
    except harness.HarnessError as e:
        print(f"\nQUICKSTART FAILED: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
