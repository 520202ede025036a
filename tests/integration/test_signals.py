#!/usr/bin/python3
"""Operations, part 2: signals. SIGTERM / SIGINT drain and exit 0; SIGHUP reloads rules, log
level and limits without dropping connections, and refuses a broken file.

Drain (SIGTERM while clients work)
  What "no half-answered statement" means here, and how it is checked:
  * A client must see, for every command it sent, either the complete answer or a clean end:
    an ERR packet, or the connection closed before the first byte of the answer. pymysql
    reports a close as error 2013 whether or not part of the answer had arrived, so the checking
    clients (test_admin.WireConnection) count the bytes received since each command: a 2013
    with bytes > 0 is a half-answered statement and fails the test; any other exception
    (malformed packet, wrong sequence id) fails it too.
  * Nothing is done that was not answered, and nothing answered is lost: ledger writers
    INSERT (client, n) rows in autocommit mode and note which INSERTs got their OK. After
    ghostgate has exited, the table must hold exactly the acknowledged rows. (A statement that
    arrives after the drain began must not reach the backend; one already in flight must be
    finished and answered.)
  * Big-result readers fetch a ~300 KB result set over and over and check every result they
    get is whole: the answers most likely to be cut mid-way are the long ones.
  * sysbench oltp_write_only (4 threads, transactions) runs through ghostgate at the same time.
    It may only end with connection-level errors (2013 lost connection, 2006 gone away), never
    "malformed packet" / "commands out of sync" or a server error; and every sbtest table
    keeps its row count (each transaction deletes and re-inserts one row: a half-applied
    transaction would lose a row).
  * ghostgate exits 0, within the drain timeout, and refuses new connections while draining
    (/readyz says "shutting down", /healthz stays 200).
  Also: a `SELECT SLEEP(2)` in flight at SIGTERM gets its whole result, then the connection
  closes; a cut-over blocked on a metadata lock at SIGTERM still completes (and its state is
  gone from the meta table) before ghostgate exits; a statement longer than timeouts.drain is
  cut at the drain timeout with a clean close, and ghostgate still exits 0; SIGINT drains too.

Reload (SIGHUP on one long-lived ghostgate, same client connection and backend session before
and after): a new shadow-table rule suppresses and records the very next statement, and its
cut-over works; a bad regex, a rule without a capture group and an unknown key are each refused
with an error log line naming the key and ghostgate_config_reloads_total{result="failed"}, the
running rules staying in force; log.level goes info -> debug -> info; max-connections and the
pool limits change for the next connection.

Key by key (issue 15): every key that can change live is applied and named in one "reload:
applied ..." line: dry-run (on, then off: the meta table is read again), online-ddl (the kill
switch: the next statement on the same connection is forwarded; back on, suppressed again),
log.format (text -> json -> text), a rotated backend.password-file (/readyz goes from 1045 to
ready without a restart). A key that cannot (listen, workers) gets one warning each that it needs
a restart, keeps its running value, and is never called reloaded; so does online-ddl turned on
when ghostgate started with it off (there is no service to turn on).

    GHOSTGATE_BIN=build/ghostgate /usr/bin/python3 tests/integration/test_signals.py
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import pymysql  # noqa: E402
from test_admin import (GateTarget, OpsTestCase, admin, read_log, scrape, start_gate,  # noqa: E402
                        wait_log, wire_connect)

CLEAN_CLOSE = (2013, 2006)  # lost connection / server has gone away
SB_TABLES, SB_ROWS = 4, 10000
# Deadlocks between sysbench's own threads are the backend's business, not the drain's: sysbench
# retries those transactions; any other error ends its thread.
SB_RETRIED = (1213, 1205)


def send(gate, sig):
    os.kill(gate.proc.pid, sig)


def wait_exit(gate, timeout):
    """(exit code, seconds until exit) of a gate that was sent a signal."""
    t0 = time.monotonic()
    try:
        rc = gate.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{gate} still running {timeout}s after the signal:\n{gate.logs()}")
    elapsed = time.monotonic() - t0
    gate.stop()  # bookkeeping only: it has exited
    return rc, elapsed


def is_clean_close(exc, conn):
    """A connection-level end with no byte of the answer received."""
    return (isinstance(exc, pymysql.err.OperationalError) and exc.args[0] in CLEAN_CLOSE
            and conn.bytes_since_command == 0)


def in_flight(standin, pattern):
    rows = standin.query("SELECT INFO FROM information_schema.PROCESSLIST "
                         f"WHERE INFO LIKE '{pattern}'")
    return len(rows) > 0


class Client(threading.Thread):
    """Runs `step(conn, i)` until the connection ends; records how it ended."""

    def __init__(self, gate, step, database, number):
        super().__init__(daemon=True)
        self.gate, self.step, self.database, self.number = gate, step, database, number
        self.done = 0
        self.acked = []
        self.end = None   # the exception that ended it
        self.conn = None
        self.stop = threading.Event()

    def run(self):
        try:
            self.conn = wire_connect(self.gate, database=self.database, autocommit=True)
            i = 0
            while not self.stop.is_set():
                self.step(self, i)
                self.done += 1
                i += 1
        except Exception as e:  # noqa: BLE001 - every ending is judged by the test
            self.end = e


def ledger_step(client, i):
    with client.conn.cursor() as cur:
        cur.execute("INSERT INTO ledger (client, n) VALUES (%s, %s)", (client.number, i))
    client.acked.append((client.number, i))


def big_step(client, i):
    with client.conn.cursor() as cur:
        cur.execute("SELECT id, pad FROM big ORDER BY id")
        rows = cur.fetchall()
    if len(rows) != 300 or any(r[1] != f"{r[0]:04d}" * 250 for r in rows):
        raise AssertionError(f"a result set came back incomplete or wrong: {len(rows)} rows")


def sysbench(params, *args, timeout=300, popen=False):
    exe = harness.which_or_fail("sysbench", "install sysbench (scripts/deps.sh)")
    cmd = [exe, "oltp_write_only", f"--mysql-host={params['host']}",
           f"--mysql-port={params['port']}", f"--mysql-user={params['user']}",
           f"--mysql-password={params['password']}", "--mysql-db=test_drain",
           f"--tables={SB_TABLES}", f"--table-size={SB_ROWS}", "--db-ps-mode=auto", *args]
    if popen:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


class Drain(OpsTestCase):
    @classmethod
    def setUpClass(cls):
        # READ COMMITTED (TiDB's usual level) keeps sysbench threads from deadlocking.
        cls.standin = harness.Standin(
            name="drain", extra_args=["--transaction-isolation=READ-COMMITTED"]).start()
        cls.target = GateTarget(cls.standin, None)
        cls.standin.query("CREATE DATABASE IF NOT EXISTS test_drain")

    def gate(self, drain="20s", **extra):
        gate = start_gate(self.standin, name="gate-drain", timeouts={"drain": drain},
                          pool={"max-connections": 32, "max-idle": 32}, **extra)
        self.show_logs_of(gate)
        self.addCleanup(gate.stop)
        harness.wait_until(lambda: admin(gate, "/readyz")[0] == 200, 20, what="ready")
        return gate

    def test_statement_in_flight_finishes(self):
        gate = self.gate()
        busy = wire_connect(gate, autocommit=True)
        idle = wire_connect(gate, autocommit=True)
        result = {}

        def slow():
            t0 = time.monotonic()
            try:
                with busy.cursor() as cur:
                    cur.execute("SELECT SLEEP(2), 'whole answer'")
                    result["row"] = cur.fetchone()
            except Exception as e:  # noqa: BLE001
                result["error"] = e
            result["seconds"] = time.monotonic() - t0

        t = threading.Thread(target=slow)
        t.start()
        harness.wait_until(lambda: in_flight(self.standin, "SELECT SLEEP(2)%"), 10,
                           interval=0.02, what="the statement running on the backend")
        send(gate, signal.SIGTERM)
        # While draining: new clients are refused, /readyz says why, /healthz stays up.
        harness.wait_until(lambda: admin(gate, "/readyz")[0] == 503, 5, interval=0.02,
                           what="/readyz 503 while draining")
        self.assertEqual(admin(gate, "/readyz")[2], "not ready: shutting down\n")
        self.assertEqual(admin(gate, "/healthz")[0], 200)
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            gate.connect(connect_timeout=5)
        self.assertEqual(cm.exception.args[0], 2003, cm.exception)  # connection refused
        self.assertTrue(gate.alive(), "exited with a statement in flight")
        t.join(30)
        self.assertNotIn("error", result)
        self.assertEqual(result["row"], (0, "whole answer"))
        self.assertGreaterEqual(result["seconds"], 1.9)
        rc, _ = wait_exit(gate, 10)
        self.assertEqual(rc, 0, gate.logs())
        # Both connections end cleanly: no byte of an answer, then the close.
        for conn in (busy, idle):
            with self.assertRaises(pymysql.err.OperationalError) as cm:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
            self.assertTrue(is_clean_close(cm.exception, conn),
                            f"{cm.exception!r}, {conn.bytes_since_command} bytes of an answer")
        self.assertRegex(read_log(gate), r"(?m) info signal 15: draining$")
        self.assertRegex(read_log(gate), r"(?m) info ghostgate stopped$")

    def test_drain_timeout_bounds_the_wait(self):
        gate = self.gate(drain="1500ms")
        conn = wire_connect(gate, autocommit=True)
        ended = {}

        def slow():
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT SLEEP(30)")
                    ended["row"] = cur.fetchone()
            except Exception as e:  # noqa: BLE001
                ended["error"] = e

        t = threading.Thread(target=slow)
        t.start()
        harness.wait_until(lambda: in_flight(self.standin, "SELECT SLEEP(30)%"), 10,
                           interval=0.02, what="the statement running on the backend")
        send(gate, signal.SIGTERM)
        rc, elapsed = wait_exit(gate, 15)
        self.assertEqual(rc, 0)
        self.assertGreaterEqual(elapsed, 1.2)   # it did wait for the statement ...
        self.assertLess(elapsed, 1.5 + 4)        # ... but no longer than the drain timeout
        t.join(10)
        self.assertFalse(t.is_alive())
        self.assertIn("error", ended, ended)
        self.assertTrue(is_clean_close(ended["error"], conn),
                        f"{ended['error']!r} after {conn.bytes_since_command} bytes")
        self.assertRegex(read_log(gate), r"drain timeout: 1 statement\(s\) still in flight")

    def test_cutover_in_flight_completes(self):
        """A cut-over that is running when SIGTERM arrives is finished, not cut in half."""
        gate = self.gate(drain="20s")
        s = self.standin
        s.query("DROP TABLE IF EXISTS test_drain.co, test_drain._co_del")
        s.query("CREATE TABLE test_drain.co (id INT PRIMARY KEY, a INT)")
        s.query("INSERT INTO test_drain.co VALUES (1, 1), (2, 2)")
        conn = wire_connect(gate, database="test_drain", autocommit=True)
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE _co_gho LIKE co")
            cur.execute("ALTER TABLE _co_gho ADD COLUMN b INT NOT NULL DEFAULT 5")
        # A reader's open transaction holds the table's metadata lock: the cut-over's ALTER waits.
        blocker = s.connect(database="test_drain")
        with blocker.cursor() as cur:
            cur.execute("START TRANSACTION")
            cur.execute("SELECT COUNT(*) FROM co")
        ended = {}

        def cutover():
            try:
                with conn.cursor() as cur:
                    cur.execute("RENAME TABLE co TO _co_del, _co_gho TO co")
                ended["ok"] = True
            except Exception as e:  # noqa: BLE001
                ended["error"] = e

        t = threading.Thread(target=cutover)
        t.start()
        harness.wait_until(lambda: s.query(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE "
            "'Waiting for table metadata lock' AND INFO LIKE 'ALTER TABLE%'")[0][0] == 1, 10,
            interval=0.02, what="the cut-over's ALTER waiting for the lock")
        send(gate, signal.SIGTERM)
        time.sleep(1)
        self.assertTrue(gate.alive(), "exited in the middle of a cut-over")
        blocker.commit()
        blocker.close()
        t.join(20)
        self.assertEqual(ended, {"ok": True})
        rc, _ = wait_exit(gate, 20)
        self.assertEqual(rc, 0)
        self.assertEqual([r[0] for r in s.query("SHOW COLUMNS FROM test_drain.co")],
                         ["id", "a", "b"])
        self.assertEqual(s.query("SELECT SUM(b) FROM test_drain.co")[0][0], 10)
        # The state is gone from the meta table too: a restart will not replay it.
        self.assertEqual(s.query("SELECT COUNT(*) FROM dm_meta.ghostgate_it_onlineddl "
                                 "WHERE ghost_table = '_co_gho'")[0][0], 0)

    def test_sigint_drains_too(self):
        gate = self.gate()
        conns = [gate.connect(autocommit=True) for _ in range(3)]
        send(gate, signal.SIGINT)
        rc, elapsed = wait_exit(gate, 10)
        self.assertEqual(rc, 0)
        self.assertLess(elapsed, 5, "idle connections held up the exit")
        self.assertRegex(read_log(gate), r"(?m) info signal 2: draining$")
        for c in conns:
            c.close()

    def test_sigterm_during_sysbench(self):
        s = self.standin
        s.query("DROP TABLE IF EXISTS test_drain.ledger")
        s.query("CREATE TABLE test_drain.ledger (client INT, n INT, PRIMARY KEY (client, n))")
        s.query("DROP TABLE IF EXISTS test_drain.big")
        s.query("CREATE TABLE test_drain.big (id INT PRIMARY KEY, pad VARCHAR(1000))")
        s.query("INSERT INTO big SELECT seq, REPEAT(LPAD(seq, 4, '0'), 250) FROM seq_1_to_300",
                database="test_drain")
        r = sysbench(s.params(), "cleanup")
        r = sysbench(s.params(), "prepare")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        gate = self.gate(drain="20s")
        # Only this run's lines: an earlier gate may have had the same directory.
        log_start = len(read_log(gate))
        sb = sysbench(gate.params(), "--threads=4", "--time=120", "--report-interval=1",
                      "--mysql-ignore-errors=" + ",".join(map(str, SB_RETRIED)), "run", popen=True)
        self.addCleanup(lambda: sb.poll() is None and sb.kill())
        out = []
        reader = threading.Thread(target=lambda: out.extend(sb.stdout), daemon=True)
        reader.start()
        clients = [Client(gate, ledger_step, "test_drain", n) for n in range(3)] + \
                  [Client(gate, big_step, "test_drain", n) for n in range(3, 5)]
        for c in clients:
            c.start()
        harness.wait_until(lambda: all(c.done >= 5 for c in clients) or
                           any(c.end for c in clients), 30, what="clients running")
        harness.wait_until(lambda: any(re.search(r"tps: [1-9]", line) for line in out) or
                           sb.poll() is not None, 30, what="sysbench running")
        self.assertIsNone(sb.poll(), "".join(out))
        self.assertEqual([c.end for c in clients if c.end], [], "error before the SIGTERM")
        time.sleep(1)

        send(gate, signal.SIGTERM)
        rc, elapsed = wait_exit(gate, 30)
        self.assertEqual(rc, 0, gate.logs())
        self.assertLess(elapsed, 20)
        self.assertNotRegex(read_log(gate)[log_start:], r"drain timeout",
                            "statements were cut off")

        # Every client ended cleanly: a whole answer or a close before any byte of one.
        for c in clients:
            c.join(30)
            self.assertFalse(c.is_alive(), "a client hung after ghostgate exited")
            self.assertIsNotNone(c.end, "a client never noticed the close")
            self.assertTrue(is_clean_close(c.end, c.conn),
                            f"{c.step.__name__}: {c.end!r} after {c.conn.bytes_since_command} "
                            "bytes of an answer")
            self.assertGreater(c.done, 0)
        # Exactly the acknowledged rows: nothing done without an answer, nothing answered lost.
        acked = sorted(row for c in clients for row in c.acked)
        rows = sorted(tuple(r) for r in s.query("SELECT client, n FROM test_drain.ledger"))
        self.assertGreater(len(acked), 0)
        self.assertEqual(rows, acked)

        sb.wait(60)
        reader.join(10)
        sb.stdout.close()
        text = "".join(out)
        self.assertNotEqual(sb.returncode, 0, "sysbench did not notice the shutdown:\n" + text)
        codes = {int(c) for c in re.findall(r"error (\d+)", text)} - set(SB_RETRIED)
        self.assertTrue(codes, "sysbench ended without an error code:\n" + text[-3000:])
        self.assertLessEqual(codes, set(CLEAN_CLOSE), text[-3000:])
        self.assertNotRegex(text, r"(?i)malformed|out of sync|packets out of order", text[-3000:])
        # Transactions are all or nothing: every row deleted was re-inserted in the same one.
        for i in range(1, SB_TABLES + 1):
            self.assertEqual(s.query(f"SELECT COUNT(*) FROM test_drain.sbtest{i}")[0][0], SB_ROWS)
        # ghostgate left nothing open on the backend.
        harness.wait_until(lambda: s.query(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER IN ('root', %r) "
            "AND ID <> CONNECTION_ID() AND DB = 'test_drain'" % harness.GATE_USER)[0][0] == 0,
            10, what="backend connections closed")


class Reload(OpsTestCase):
    """SIGHUP on one long-lived ghostgate; each test restores the file it changed."""

    @classmethod
    def setUpClass(cls):
        cls.standin = harness.Standin(name="reload").start()
        cls.gate = start_gate(cls.standin, name="gate-reload", log_level="info")
        cls.target = GateTarget(cls.standin, cls.gate)
        cls.standin.query("CREATE DATABASE IF NOT EXISTS test_rl")
        cls.standin.query("CREATE TABLE IF NOT EXISTS test_rl.u (id INT PRIMARY KEY)")
        harness.wait_until(lambda: admin(cls.gate, "/readyz")[0] == 200, 20, what="ready")

    def setUp(self):
        self.show_logs_of(self.gate)
        self.saved = (dict(self.gate.extra), dict(self.gate.pool), self.gate.log_level)
        self.addCleanup(self.restore)

    def restore(self):
        self.gate.extra, self.gate.pool, self.gate.log_level = self.saved
        self.reload(expect="ok")

    def reload(self, expect="ok", **changes):
        """Rewrites the config with `changes`, sends SIGHUP, waits for the reload's outcome."""
        for k, v in changes.items():
            if k == "pool":
                self.gate.pool = {**self.gate.pool, **v}
            elif k == "log_level":
                self.gate.log_level = v
            else:
                self.gate.extra[k] = v
        self.gate.write_config()
        before = scrape(self.gate).value("ghostgate_config_reloads_total", result=expect)
        send(self.gate, signal.SIGHUP)
        harness.wait_until(lambda: scrape(self.gate).value(
            "ghostgate_config_reloads_total", result=expect) == before + 1, 10,
            what=f"a reload with result {expect}")
        self.assertTrue(self.gate.alive())

    def exists(self, table):
        return bool(self.standin.query(f"SHOW TABLES FROM test_rl LIKE '{table}'"))

    def test_rule_change_applies_to_the_next_statement(self):
        conn = self.gate.connect(database="test_rl", autocommit=True)
        self.addCleanup(conn.close)
        cur = conn.cursor()
        cur.execute("SELECT CONNECTION_ID()")
        backend_id = cur.fetchone()[0]
        accepted = scrape(self.gate).value("ghostgate_client_connections_total")
        # With the default rules u_shadow is a real table: forwarded.
        cur.execute("CREATE TABLE u_shadow LIKE u")
        self.assertTrue(self.exists("u_shadow"))
        cur.execute("DROP TABLE u_shadow")

        self.reload(**{"shadow-table-rules": ["^(.+)_shadow$"]})
        wait_log(self.gate, r"reload: applied shadow-table-rules from ")
        # Same client connection, same backend session.
        cur.execute("SELECT CONNECTION_ID()")
        self.assertEqual(cur.fetchone()[0], backend_id)
        cur.execute("CREATE TABLE u_shadow LIKE u")
        self.assertFalse(self.exists("u_shadow"), "the new rule did not suppress the ghost")
        cur.execute("ALTER TABLE u_shadow ADD COLUMN z INT")
        pending = json.loads(admin(self.gate, "/online-ddl")[2])["pending"]
        self.assertEqual([(p["ghost"]["table"], p["real_table_hint"]) for p in pending],
                         [("u_shadow", "u")])
        cur.execute("RENAME TABLE u TO _u_del, u_shadow TO u")
        cols = [r[0] for r in self.standin.query("SHOW COLUMNS FROM test_rl.u")]
        self.assertEqual(cols, ["id", "z"])
        self.assertFalse(self.exists("_u_del"))
        # The list replaced the defaults (as in DM): _u_gho is an ordinary table now.
        cur.execute("CREATE TABLE _u_gho LIKE u")
        self.assertTrue(self.exists("_u_gho"))
        cur.execute("DROP TABLE _u_gho")
        cur.execute("ALTER TABLE u DROP COLUMN z")
        self.assertEqual(scrape(self.gate).value("ghostgate_client_connections_total"), accepted,
                         "the client reconnected")

    def test_broken_config_is_refused(self):
        conn = self.gate.connect(database="test_rl", autocommit=True)
        self.addCleanup(conn.close)
        cur = conn.cursor()
        offset = len(read_log(self.gate))
        self.reload(expect="failed", **{"shadow-table-rules": ["^(.+_shadow$"]})
        wait_log(self.gate, r"(?m) error reload refused, keeping the running configuration: .*"
                            r"shadow-table-rules\[0\].*missing \)", start=offset)
        self.reload(expect="failed", **{"shadow-table-rules": ["^u_shadow$"]})
        wait_log(self.gate, r"shadow-table-rules\[0\].*capture group", start=offset)
        self.reload(expect="failed", **{"shadow-table-rules": [], "no-such-key": 1})
        wait_log(self.gate, r"unknown key \"no-such-key\"", start=offset)
        # The running rules (the defaults) still apply, on the same connection.
        cur.execute("CREATE TABLE _u_gho LIKE u")
        self.assertFalse(self.exists("_u_gho"))
        cur.execute("DROP TABLE _u_gho")
        cur.execute("CREATE TABLE u_shadow LIKE u")
        self.assertTrue(self.exists("u_shadow"))
        cur.execute("DROP TABLE u_shadow")
        self.assertEqual(admin(self.gate, "/readyz")[0], 200)

    def test_log_level(self):
        def new_client_logs_debug():
            offset = len(read_log(self.gate))
            self.gate.connect().close()
            time.sleep(0.3)
            return re.search(r"(?m) debug \[conn \d+\] ", read_log(self.gate)[offset:])

        self.assertIsNone(new_client_logs_debug(), "debug lines at level info")
        self.reload(log_level="debug")
        wait_log(self.gate, r"reload: applied log\.level from .*\(log\.level debug")
        self.assertIsNotNone(new_client_logs_debug(), "no debug lines after the reload")
        self.reload(log_level="info")
        self.assertIsNone(new_client_logs_debug(), "debug lines after going back to info")

    def applied(self, key, offset):
        return wait_log(self.gate, r"reload: applied .*\b" + re.escape(key) + r"\b", start=offset)

    def test_dry_run_and_kill_switch(self):
        conn = self.gate.connect(database="test_rl", autocommit=True)
        self.addCleanup(conn.close)
        cur = conn.cursor()
        self.addCleanup(self.standin.query, "DROP TABLE IF EXISTS test_rl._u_gho")

        def ghost_reaches_backend():
            cur.execute("CREATE TABLE _u_gho LIKE u")
            there = self.exists("_u_gho")
            cur.execute("DROP TABLE _u_gho")
            return there

        self.assertFalse(ghost_reaches_backend(), "online DDL on: the ghost is suppressed")
        offset = len(read_log(self.gate))
        self.reload(**{"dry-run": True})
        self.applied("dry-run", offset)
        self.assertTrue(json.loads(admin(self.gate, "/online-ddl")[2])["dry_run"])
        self.assertTrue(ghost_reaches_backend(), "dry-run forwards everything")
        self.reload(**{"dry-run": False})
        harness.wait_until(lambda: admin(self.gate, "/readyz")[0] == 200, 10,
                           what="ready again after dry-run off (meta table read again)")
        self.assertFalse(json.loads(admin(self.gate, "/online-ddl")[2])["dry_run"])
        self.assertFalse(ghost_reaches_backend())
        # The kill switch, on the same connection.
        offset = len(read_log(self.gate))
        self.reload(**{"online-ddl": False})
        self.applied("online-ddl", offset)
        self.assertTrue(ghost_reaches_backend(), "online-ddl: false forwards everything")
        self.reload(**{"online-ddl": True})
        self.assertFalse(ghost_reaches_backend())
        self.assertNotRegex(read_log(self.gate)[offset:], r"needs a restart")

    def test_log_format(self):
        offset = len(read_log(self.gate))
        self.reload(**{"log": {"format": "json"}})
        self.gate.connect().close()
        wait_log(self.gate, r'^\{.*"ts":', start=offset)
        lines = [line for line in read_log(self.gate)[offset:].splitlines()
                 if line.startswith("{")]
        self.assertTrue(lines)
        for line in lines:
            self.assertIn("msg", json.loads(line))
        self.reload(**{"log": {"format": "text"}})
        offset = len(read_log(self.gate))
        self.gate.connect().close()
        time.sleep(0.3)
        self.assertNotRegex(read_log(self.gate)[offset:], r'(?m)^\{.*"ts":')

    def test_keys_that_need_a_restart_are_named_not_reloaded(self):
        offset = len(read_log(self.gate))
        self.reload(workers=3, **{"meta-schema": "other_meta"})
        wait_log(self.gate, r"reload: meta-schema changed .* needs a restart", start=offset)
        text = read_log(self.gate)
        self.assertRegex(text[offset:], r"reload: workers changed .* needs a restart")
        self.assertNotRegex(text[offset:], r"reload: applied .*\b(workers|meta-schema)\b")
        self.assertNotIn("configuration reloaded", text[offset:])
        self.assertEqual(admin(self.gate, "/readyz")[0], 200)

    def test_rotated_password_file(self):
        pw = os.path.join(self.gate.dir, "backend.pw")
        with open(pw, "w") as f:
            f.write("not-the-password\n")
        os.chmod(pw, 0o600)
        self.reload(backend={"password": None, "password-file": pw})

        def readyz_body():
            status, _, text = admin(self.gate, "/readyz")
            return text if status == 503 and "1045" in text else None
        body = harness.wait_until(readyz_body, 15, what="/readyz 503 with the 1045")
        self.assertIn("backend.password", body)
        with open(pw, "w") as f:
            f.write(harness.GATE_PASSWORD + "\n")
        offset = len(read_log(self.gate))
        self.reload()  # the same file, rotated
        self.applied("backend.password-file", offset)
        harness.wait_until(lambda: admin(self.gate, "/readyz")[0] == 200, 15,
                           what="/readyz ready with the rotated password, no restart")

    def test_limits(self):
        held = self.gate.connect(autocommit=True)
        self.addCleanup(held.close)
        # Client connection limit.
        self.reload(**{"max-connections": 1})
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            self.gate.connect(connect_timeout=5)
        self.assertEqual(cm.exception.args[0], 1040)
        self.reload(**{"max-connections": 100})
        self.gate.connect().close()
        # Backend pool limit: the held client keeps the only backend connection allowed.
        self.reload(pool={"max-connections": 1, "max-idle": 0, "acquire-timeout": "300ms"})
        harness.wait_until(lambda: scrape(self.gate).value("ghostgate_backend_connections_idle")
                           == 0, 10, what="idle connections closed")
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            self.gate.connect(connect_timeout=5)
        self.assertEqual(cm.exception.args[0], 1040)
        self.assertIn("all backend connections are busy", str(cm.exception))
        with held.cursor() as cur:  # the held one still works
            cur.execute("SELECT 2")
            self.assertEqual(cur.fetchone()[0], 2)


class ReloadOnlineDdlOffAtStart(OpsTestCase):
    """online-ddl: false at start means no online-DDL service: turning it on by SIGHUP is named
    as needing a restart, not pretended."""

    def test_turning_it_on_needs_a_restart(self):
        standin = harness.Standin(name="reload-off").start()
        gate = self.show_logs_of(start_gate(standin, name="gate-off", log_level="info",
                                            **{"online-ddl": False}))
        self.addCleanup(gate.stop)
        standin.query("CREATE DATABASE IF NOT EXISTS test_off")
        standin.query("CREATE TABLE IF NOT EXISTS test_off.u (id INT PRIMARY KEY)")
        offset = len(read_log(gate))
        gate.extra["online-ddl"] = True
        gate.write_config()
        send(gate, signal.SIGHUP)
        wait_log(gate, r"reload: online-ddl changed .* needs a restart \(online DDL was off at "
                       r"start", start=offset)
        self.assertNotRegex(read_log(gate)[offset:], r"reload: applied .*online-ddl")
        conn = gate.connect(database="test_off", autocommit=True)
        self.addCleanup(conn.close)
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE _u_gho LIKE u")  # still forwarded: still off
        self.assertTrue(standin.query("SHOW TABLES FROM test_off LIKE '\\_u\\_gho'"))


if __name__ == "__main__":
    harness.main()
