#!/usr/bin/python3
"""Backend faults under ghostgate: the backend killed (SIGKILL) in the middle of a result set, of
a prepared-statement exchange and of a cut-over DDL; frozen (SIGSTOP) with timeouts.backend-read
set; restarted while a migration is pending; ghostgate itself restarted while its meta table
cannot be read. Clients get a MySQL error or a clean close (never a hang), ghostgate keeps
running and serves new clients once the backend is back, and no recorded DDL is lost or applied
twice.

These tests are about ghostgate itself: they always run through it (--direct does not apply).

    GHOSTGATE_BIN=build/ghostgate /usr/bin/python3 tests/integration/test_faults.py
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ["GHOSTGATE_IT_MODE"] = "ghostgate"  # see the docstring
import harness  # noqa: E402
import pymysql  # noqa: E402
import pymysql.cursors  # noqa: E402
from test_hostile import Closed, RawClient, ServerError  # noqa: E402

DB = "test_faults"
BIG_ROWS = 200_000     # ~40 MB
# A result set far bigger than what the sockets between server and client can hold (loopback
# TCP buffers autotune up to tens of MB here): the table four times over, about 170 MB.
HUGE_SELECT = "SELECT b.id, b.pad FROM big b, seq_1_to_4 s WHERE b.id > {}"
HUGE_ROWS = 4 * BIG_ROWS
CLIENT_TIMEOUT = 60    # the clients' own read timeout: an error must come well before it
PROMPT = 15            # "promptly": seconds from the fault to the client's error
BACKEND_READ = 2       # timeouts.backend-read of the `frozen` ghostgate
META_TABLE = "dm_meta.ghostgate_it_onlineddl"

# CR_SERVER_GONE_ERROR, CR_SERVER_LOST (pymysql's own), and ghostgate's ERR for a lost backend
# (1105 with SQLSTATE 08S01: a server must not send client-range codes, libmariadb rejects them)
LOST = (2006, 2013, 1105)


def http_get(gate, path):
    try:
        with urllib.request.urlopen(f"http://{gate.host}:{gate.admin_port}{path}",
                                    timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def pending(gate):
    """ghostgate's /online-ddl: {ghost table: [recorded DDLs]}."""
    status, body = http_get(gate, "/online-ddl")
    state = json.loads(body)
    return {p["ghost"]["table"]: p["ddls"] for p in state["pending"]}, state["ready"]


def forget_result(conn, cur):
    """After a lost connection: stop pymysql from draining the dead unbuffered result when the
    cursor is collected (it would print an ignored exception)."""
    for result in (cur._result, conn._result):
        if result is not None:
            result.unbuffered_active = False
    cur._result = None
    conn._result = None


class Faults(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.standin = harness.Standin().start()
        q = cls.standin.query
        q(f"CREATE DATABASE IF NOT EXISTS {DB}")
        q("CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(200))", DB)
        q(f"INSERT INTO big SELECT seq, REPEAT('p', 200) FROM seq_1_to_{BIG_ROWS}", DB)
        cls.gate = harness.Ghostgate(cls.standin, pool={"max-connections": 8,
                                                        "max-idle": 8}).start()
        cls.frozen = harness.Ghostgate(
            cls.standin, name="frozen", pool={"max-connections": 4, "max-idle": 4},
            extra={"timeouts": {"backend-read": f"{BACKEND_READ}s", "handshake": "5s"}}).start()
        cls.target = harness.Target(cls.standin, cls.gate)

    @classmethod
    def tearDownClass(cls):
        cls.frozen.stop()
        cls.gate.stop()
        cls.standin.stop()
        super().tearDownClass()  # the harness's checks (sanitizer reports)

    def tearDown(self):
        self.revive()

    # ---- helpers

    def revive(self):
        """The backend running and answering again, and both ghostgates serving clients."""
        if self.standin.alive():
            self.standin.resume()
        else:
            self.standin.start()
        for gate in (self.gate, self.frozen):
            harness.wait_until(lambda: self.works(gate), 60, interval=0.3,
                               what=f"{gate.name} serving clients again")

    @staticmethod
    def works(gate):
        try:
            conn = gate.connect(database=DB, connect_timeout=5, read_timeout=10)
        except pymysql.err.MySQLError:
            return False
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM big")
                return cur.fetchone()[0] == BIG_ROWS
        except pymysql.err.MySQLError:
            return False
        finally:
            conn.close()

    def pause_backend(self):
        """SIGSTOP the backend and wait until every one of its threads has stopped.

        kill() returns once the signal is queued, and the kernel wakes a single thread for it;
        that thread stops the others only when it gets to run. On a loaded machine (ctest runs
        several tests at once) a connection thread woken by a statement can answer it before
        then: "SELECT 2" below got its result under ctest and never when the file ran alone."""
        self.standin.pause()
        task_dir = f"/proc/{self.standin.proc.pid}/task"

        def stopped():
            for tid in os.listdir(task_dir):
                try:
                    with open(os.path.join(task_dir, tid, "stat")) as f:
                        state = f.read().rsplit(")", 1)[1].split()[0]
                except (FileNotFoundError, ProcessLookupError):
                    continue  # a thread that just exited
                if state not in ("T", "t", "Z", "X"):
                    return False
            return True

        harness.wait_until(stopped, 30, interval=0.005, what="backend threads stopped")

    def assert_gates_alive(self):
        time.sleep(0.3)
        for gate in (self.gate, self.frozen):
            self.assertTrue(gate.alive(), f"{gate.name} died:\n{gate.logs()}")

    def assert_lost(self, exc, started):
        """A pymysql error that says the server is gone, soon after `started`."""
        self.assertIsInstance(exc, pymysql.err.MySQLError, repr(exc))
        self.assertIn(exc.args[0], LOST, repr(exc))
        self.assertLess(time.monotonic() - started, PROMPT, repr(exc))

    def query(self, sql, database=DB):
        return self.standin.query(sql, database)

    def meta_ddls(self, ghost):
        rows = self.query(f"SELECT ddls FROM {META_TABLE} WHERE ghost_table = '{ghost}'")
        return json.loads(rows[0][0])["ddls"] if rows else None

    def columns(self, table):
        return [r[0] for r in self.query(f"SHOW COLUMNS FROM {table}")]

    def tables(self, like):
        return sorted(r[0] for r in self.query(f"SHOW TABLES LIKE '{like}'"))

    def wait_for_backend_state(self, info_like, states, timeout=30):
        """Polls the backend's processlist until a statement is in one of `states`."""
        def seen():
            rows = self.query(
                "SELECT STATE FROM information_schema.PROCESSLIST "
                f"WHERE INFO LIKE '{info_like}' AND ID <> CONNECTION_ID()")
            return any(r[0] in states for r in rows)
        harness.wait_until(seen, timeout, interval=0.02, what=f"{info_like} in {states}")

    def gate_conn(self, gate=None, **kw):
        kw.setdefault("read_timeout", CLIENT_TIMEOUT)
        kw.setdefault("write_timeout", CLIENT_TIMEOUT)
        return (gate or self.gate).connect(database=DB, autocommit=True, **kw)

    # ---- killed (SIGKILL)

    def test_killed_mid_result_set(self):
        conn = self.gate_conn(cursorclass=pymysql.cursors.SSCursor)
        cur = conn.cursor()
        cur.execute(HUGE_SELECT.format(0))
        got = len(cur.fetchmany(1000))
        self.wait_for_backend_state("SELECT b.id%", ("Writing to net",))
        killed = time.monotonic()
        self.standin.kill()
        with self.assertRaises(pymysql.err.MySQLError) as cm:
            while rows := cur.fetchmany(5000):
                got += len(rows)
        self.assert_lost(cm.exception, killed)
        self.assertLess(got, HUGE_ROWS, "the whole result arrived: the kill was not mid-result")
        forget_result(conn, cur)
        conn.close()
        self.assert_gates_alive()
        # While the backend is down, a new client is refused, promptly.
        t0 = time.monotonic()
        with self.assertRaises(pymysql.err.MySQLError):
            self.gate_conn(connect_timeout=PROMPT)
        self.assertLess(time.monotonic() - t0, PROMPT)
        self.revive()
        # The whole result set again, on the new backend: no stale pooled connection in the way.
        conn = self.gate_conn(cursorclass=pymysql.cursors.SSCursor)
        with conn.cursor() as cur:
            cur.execute("SELECT id, pad FROM big ORDER BY id")
            n = last = 0
            for row in cur:
                n, last = n + 1, row[0]
        self.assertEqual((n, last), (BIG_ROWS, BIG_ROWS))
        conn.close()

    def test_killed_mid_prepared_statement(self):
        # 1. Killed while a binary result set streams.
        c = RawClient(self.gate.host, self.gate.port, timeout=CLIENT_TIMEOUT)
        c.login(harness.ROOT_USER, harness.ROOT_PASSWORD, DB)
        stmt, ncols, nparams = c.prepare(HUGE_SELECT.format("?"))
        self.assertEqual((ncols, nparams), (2, 1))
        c.execute(stmt, [0])
        self.assertEqual(c.read_binary_rows(limit=500), ("rows", 500, False))
        self.wait_for_backend_state("SELECT b.id%", ("Writing to net",))
        killed = time.monotonic()
        self.standin.kill()
        with self.assertRaises((Closed, ServerError)) as cm:
            c.more_binary_rows()
        if isinstance(cm.exception, ServerError):
            self.assertIn(cm.exception.code, LOST, cm.exception)
        self.assertLess(time.monotonic() - killed, PROMPT)
        c.sock.close()
        self.assert_gates_alive()
        self.revive()

        # 2. Killed while the server works on an execution: nothing sent yet, so ghostgate
        # answers with an ERR of its own.
        c = RawClient(self.gate.host, self.gate.port, timeout=CLIENT_TIMEOUT)
        c.login(harness.ROOT_USER, harness.ROOT_PASSWORD, DB)
        stmt, _, _ = c.prepare("SELECT SLEEP(?)")
        c.execute(stmt, [30])
        time.sleep(0.5)
        killed = time.monotonic()
        self.standin.kill()
        with self.assertRaises(ServerError) as cm:
            c.read_binary_rows()
        self.assertEqual(cm.exception.code, 1105, cm.exception)  # ghostgate's own ERR ...
        self.assertIn("lost connection to backend", str(cm.exception))  # ... saying why
        self.assertLess(time.monotonic() - killed, PROMPT)
        c.sock.close()
        self.assert_gates_alive()
        self.revive()

        # 3. Killed between PREPARE and EXECUTE.
        c = RawClient(self.gate.host, self.gate.port, timeout=CLIENT_TIMEOUT)
        c.login(harness.ROOT_USER, harness.ROOT_PASSWORD, DB)
        stmt, _, _ = c.prepare("SELECT COUNT(*) FROM big WHERE id > ?")
        self.standin.kill()
        killed = time.monotonic()
        try:
            c.execute(stmt, [10])
            with self.assertRaises((Closed, ServerError)) as cm:
                c.read_binary_rows()
            if isinstance(cm.exception, ServerError):
                self.assertIn(cm.exception.code, LOST, cm.exception)
        except OSError:
            pass  # ghostgate had already closed the connection: also a clean outcome
        self.assertLess(time.monotonic() - killed, PROMPT)
        c.sock.close()
        self.assert_gates_alive()
        self.revive()

        # Prepared statements work again on the restarted backend.
        c = RawClient(self.gate.host, self.gate.port, timeout=CLIENT_TIMEOUT)
        c.login(harness.ROOT_USER, harness.ROOT_PASSWORD, DB)
        stmt, _, _ = c.prepare("SELECT id, pad FROM big WHERE id > ? ORDER BY id")
        c.execute(stmt, [BIG_ROWS - 10])
        self.assertEqual(c.read_binary_rows(), ("rows", 10, True))
        c.close()

    def start_cutover(self, rename_sql):
        """Sends the cut-over RENAME through ghostgate in a thread; returns (thread, outcome)."""
        outcome = {}

        def run():
            conn = self.gate_conn()
            try:
                with conn.cursor() as cur:
                    cur.execute(rename_sql)
                outcome["ok"] = True
            except Exception as e:  # asserted by the caller
                outcome["error"] = e
                outcome["at"] = time.monotonic()
            finally:
                conn.close()

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, outcome

    def record_migration(self, table, ddls):
        """gh-ost's ghost table and its ALTERs, sent through ghostgate (suppressed, recorded)."""
        conn = self.gate_conn()
        with conn.cursor() as cur:
            cur.execute(f"CREATE TABLE _{table}_gho LIKE {table}")
            for ddl in ddls:
                cur.execute(f"ALTER TABLE _{table}_gho {ddl}")
        conn.close()
        self.assertEqual(len(self.meta_ddls(f"_{table}_gho")), len(ddls))
        self.assertEqual(self.tables(f"\\_{table}\\_%"), [], "a ghost table reached the backend")

    def assert_cut_over(self, table, column, rows):
        """The real table has the column exactly once, keeps its rows, and no state is left."""
        self.assertEqual(self.columns(table).count(column), 1, self.columns(table))
        self.assertEqual(self.query(f"SELECT COUNT(*) FROM {table}")[0][0], rows)
        self.assertEqual(self.tables(f"\\_{table}\\_%"), [])
        self.assertIsNone(self.meta_ddls(f"_{table}_gho"), "state left in the meta table")
        self.assertNotIn(f"_{table}_gho", pending(self.gate)[0])

    def test_killed_while_cutover_waits_for_a_lock(self):
        self.query("CREATE TABLE co (id INT PRIMARY KEY, v INT)")
        self.query("INSERT INTO co SELECT seq, seq FROM seq_1_to_1000")
        self.record_migration("co", ["ADD COLUMN extra INT NOT NULL DEFAULT 7"])
        # Another session holds a metadata lock on `co`: the cut-over ALTER has to wait.
        holder = self.standin.connect(database=DB)
        with holder.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT * FROM co LIMIT 1")
        thread, outcome = self.start_cutover("RENAME TABLE co TO _co_del, _co_gho TO co")
        self.wait_for_backend_state("ALTER TABLE%co%", ("Waiting for table metadata lock",))
        killed = time.monotonic()
        self.standin.kill()
        thread.join(CLIENT_TIMEOUT + 10)
        self.assertFalse(thread.is_alive(), "the cut-over client hung")
        self.assertNotIn("ok", outcome, "a cut-over that never ran was acknowledged")
        self.assertLess(outcome["at"] - killed, PROMPT, outcome)
        self.assertIsInstance(outcome["error"], pymysql.err.MySQLError, outcome)
        self.assert_gates_alive()
        self.revive()
        # The recorded DDL survived; it has not run.
        self.assertEqual(self.meta_ddls("_co_gho"),
                         [f"ALTER TABLE `{DB}`._co_gho ADD COLUMN extra INT NOT NULL DEFAULT 7"])
        self.assertIn("_co_gho", pending(self.gate)[0])
        self.assertNotIn("extra", self.columns("co"))
        # The replicator sends the RENAME again: the ALTER runs once.
        conn = self.gate_conn()
        with conn.cursor() as cur:
            cur.execute("RENAME TABLE co TO _co_del, _co_gho TO co")
        conn.close()
        self.assert_cut_over("co", "extra", 1000)
        self.assertEqual(self.query("SELECT COUNT(*) FROM co WHERE extra = 7")[0][0], 1000)

    def test_killed_while_cutover_ddl_copies_rows(self):
        self.query("CREATE TABLE bigco LIKE big")
        self.query("INSERT INTO bigco SELECT * FROM big")
        # INT -> BIGINT makes MariaDB copy the rows (ALGORITHM=COPY itself is stripped from a
        # recorded DDL before it runs, as the tools add it for their own server, not TiDB).
        self.record_migration("bigco", ["ADD COLUMN z INT NOT NULL DEFAULT 1, "
                                        "MODIFY id BIGINT NOT NULL"])
        thread, outcome = self.start_cutover("RENAME TABLE bigco TO _bigco_del, "
                                             "_bigco_gho TO bigco")
        self.wait_for_backend_state("ALTER TABLE%bigco%", ("copy to tmp table",))
        time.sleep(0.2)
        killed = time.monotonic()
        self.standin.kill()
        thread.join(CLIENT_TIMEOUT + 10)
        self.assertFalse(thread.is_alive(), "the cut-over client hung")
        self.assertNotIn("ok", outcome, "the cut-over was acknowledged although the backend died")
        self.assertLess(outcome["at"] - killed, PROMPT, outcome)
        self.assert_gates_alive()
        self.revive()  # InnoDB rolls the half-done ALTER back
        self.assertEqual(len(self.meta_ddls("_bigco_gho")), 1)
        conn = self.gate_conn()
        with conn.cursor() as cur:
            cur.execute("RENAME TABLE bigco TO _bigco_del, _bigco_gho TO bigco")
        conn.close()
        self.assert_cut_over("bigco", "z", BIG_ROWS)
        self.assertEqual(self.query("SELECT SUM(z) FROM bigco")[0][0], BIG_ROWS)

    def test_client_learns_why_it_is_refused_while_the_backend_is_down(self):
        # An ERR that ghostgate sends instead of the greeting (backend unavailable, pool
        # exhausted) needs the '#' + SQL state of the 4.1 format, or libmariadb clients (the
        # mariadb CLI, sysbench, connectors built on it) reject it as "2027 Received malformed
        # packet" and the reason is lost.
        self.standin.kill()
        r = subprocess.run(["mariadb", "-h127.0.0.1", f"-P{self.gate.port}", "-uroot",
                            "--skip-ssl", "-e", "SELECT 1"], capture_output=True, timeout=60,
                           env=dict(os.environ, MYSQL_PWD=harness.ROOT_PASSWORD))
        self.assertNotEqual(r.returncode, 0)
        err = r.stderr.decode(errors="replace")
        self.assertNotIn("malformed packet", err)
        self.assertIn("unavailable", err)

    # ---- restarted with a migration pending

    def test_restart_with_migration_pending(self):
        self.query("CREATE TABLE pm (id INT PRIMARY KEY, v INT)")
        self.query("INSERT INTO pm SELECT seq, seq % 10 FROM seq_1_to_100")
        ddls = ["ADD COLUMN note VARCHAR(20) NOT NULL DEFAULT 'x'", "ADD INDEX idx_v (v)"]
        self.record_migration("pm", ddls)
        recorded = self.meta_ddls("_pm_gho")
        self.assertEqual(pending(self.gate)[0]["_pm_gho"], recorded)
        self.standin.kill()
        self.standin.start()
        # The backend lost nothing...
        self.assertEqual(self.meta_ddls("_pm_gho"), recorded)
        self.assertEqual(pending(self.gate)[0]["_pm_gho"], recorded)
        # ...and ghostgate, killed too, reloads it from the meta table.
        self.gate.kill()
        self.gate.start()
        harness.wait_until(lambda: pending(self.gate)[1], 30, what="state loaded")
        self.assertEqual(pending(self.gate)[0]["_pm_gho"], recorded)
        # gh-ost's two-step cut-over.
        conn = self.gate_conn()
        with conn.cursor() as cur:
            cur.execute("ALTER TABLE pm RENAME _pm_del")
            cur.execute("ALTER TABLE _pm_gho RENAME pm")
        conn.close()
        self.assert_cut_over("pm", "note", 100)
        self.assertIn("idx_v", [r[2] for r in self.query("SHOW INDEX FROM pm")])

    def test_ghostgate_restarted_while_its_meta_table_is_unreadable(self):
        self.query("CREATE TABLE nl (id INT PRIMARY KEY, v INT)")
        self.query("INSERT INTO nl VALUES (1, 1), (2, 2)")
        self.record_migration("nl", ["ADD COLUMN c2 INT NOT NULL DEFAULT 2"])
        gate_account = f"'{harness.GATE_USER}'@'%'"
        self.query(f"REVOKE ALL PRIVILEGES ON dm_meta.* FROM {gate_account}")
        try:
            self.gate.kill()
            self.gate.start()
            time.sleep(0.5)
            self.assertEqual(http_get(self.gate, "/readyz")[0], 503)
            self.assertEqual(pending(self.gate), ({}, False))
            # Without its state, ghostgate must not acknowledge the cut-over (the ALTER would be
            # lost): an error the replicator retries.
            conn = self.gate_conn()
            with self.assertRaises(pymysql.err.MySQLError):
                with conn.cursor() as cur:
                    cur.execute("RENAME TABLE nl TO _nl_del, _nl_gho TO nl")
            conn.close()
            self.assertEqual(self.columns("nl"), ["id", "v"])
        finally:
            self.query(f"GRANT ALL PRIVILEGES ON dm_meta.* TO {gate_account}")
        harness.wait_until(lambda: pending(self.gate)[1], 30, what="state loaded")
        conn = self.gate_conn()
        with conn.cursor() as cur:
            cur.execute("RENAME TABLE nl TO _nl_del, _nl_gho TO nl")
        conn.close()
        self.assert_cut_over("nl", "c2", 2)

    # ---- frozen (SIGSTOP)

    def test_frozen_backend_fails_statements_within_backend_read(self):
        busy = self.gate_conn(self.frozen)
        streaming = self.gate_conn(self.frozen, cursorclass=pymysql.cursors.SSCursor)
        stream_cur = streaming.cursor()
        stream_cur.execute(HUGE_SELECT.format(0))
        got = len(stream_cur.fetchmany(1000))
        self.wait_for_backend_state("SELECT b.id%", ("Writing to net",))
        with busy.cursor() as cur:
            cur.execute("SELECT 1")
        self.pause_backend()
        frozen_at = time.monotonic()
        # A statement sent to the frozen backend: ERR after backend-read, not a hang.
        with self.assertRaises(pymysql.err.MySQLError) as cm:
            with busy.cursor() as cur:
                cur.execute("SELECT 2")
        self.assert_lost(cm.exception, frozen_at)
        self.assertGreaterEqual(time.monotonic() - frozen_at, BACKEND_READ * 0.9)
        # A result set cut off mid-way: the connection closes.
        t0 = time.monotonic()
        with self.assertRaises(pymysql.err.MySQLError) as cm:
            while rows := stream_cur.fetchmany(5000):
                got += len(rows)
        self.assert_lost(cm.exception, t0)
        self.assertLess(got, HUGE_ROWS)
        forget_result(streaming, stream_cur)
        self.assert_gates_alive()
        self.standin.resume()
        # Service resumes: new statements work, through both ghostgates.
        harness.wait_until(lambda: self.works(self.frozen), PROMPT, interval=0.3,
                           what="service after SIGCONT")
        for _ in range(10):
            self.assertTrue(self.works(self.frozen))
            self.assertTrue(self.works(self.gate))

    def test_login_while_backend_frozen_fails_within_the_timeouts(self):
        # A login offered a pooled backend connection is checked there by COM_CHANGE_USER; that
        # exchange, like the whole login, is bounded by timeouts.handshake and its backend reads
        # by timeouts.backend-read: with the backend frozen, the client gets an error (or a
        # close) well before it would give up itself.
        gate = self.frozen
        for _ in range(4):  # idle pooled connections on every worker
            conns = [self.gate_conn(gate) for _ in range(2)]
            for c in conns:
                c.close()
        self.pause_backend()
        t0 = time.monotonic()
        try:
            with self.assertRaises(pymysql.err.MySQLError):
                gate.connect(connect_timeout=20, read_timeout=20)
            # handshake 5s, backend-read 2s: an answer well before the client's own timeout
            self.assertLess(time.monotonic() - t0, PROMPT)
        finally:
            self.standin.resume()


if __name__ == "__main__":
    harness.main(ghostgate_only=True)
