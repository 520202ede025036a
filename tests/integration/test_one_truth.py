#!/usr/bin/python3
"""Online DDL: the backend is the one truth (issue 10). Several instances on one backend, late
starts, resends of completed cut-overs, crashes during a long cut-over DDL, the operator's admin
actions, ghostgate started before its backend, catalog freshness.

    /usr/bin/python3 tests/integration/test_one_truth.py
    GHOSTGATE_BIN=/path/to/old/ghostgate ... (to see each test fail on an older build)
"""

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pymysql  # noqa: E402
import test_traces  # noqa: E402  (its helpers; importing the class would run its tests)
from test_traces import parse_trace, traces_dir  # noqa: E402

META = "dm_meta.ghostgate_it_onlineddl"


def head(sql):
    s = sql.lstrip()
    while s.startswith("/*"):
        s = s[s.find("*/") + 2:].lstrip()
    return s.split(None, 1)[0].upper() if s else ""


def split_points(statements):
    """Indices outside transactions where a trace may move to another instance: right after the
    ghost's ALTER, in the middle of the copy, right before the cut-over RENAME."""
    outside, in_txn = [], False
    for i, s in enumerate(statements):
        if not in_txn:
            outside.append(i)
        h = head(s)
        if h in ("BEGIN", "START"):
            in_txn = True
        elif h in ("COMMIT", "ROLLBACK"):
            in_txn = False

    def at_or_after(i):
        return next(j for j in outside if j >= i)

    alter = next(i for i, s in enumerate(statements)
                 if head(s) == "ALTER" and ("_gho" in s or "_new" in s))
    rename = next(i for i, s in enumerate(statements)
                  if head(s) == "RENAME" and ("_gho" in s or "_new" in s))
    return [at_or_after(alter + 1), at_or_after((alter + rename) // 2), at_or_after(rename)]


class Replayer:
    """One replicator connection, moved between ghostgate instances: session SETs and USE are
    replayed on each new connection."""

    def __init__(self):
        self.conn = None
        self.session = ["SET SESSION foreign_key_checks=0"]

    def attach(self, endpoint):
        if self.conn:
            self.conn.close()
        self.conn = endpoint.connect(autocommit=True)
        with self.conn.cursor() as cur:
            for s in self.session:
                cur.execute(s)

    def run(self, statements):
        with self.conn.cursor() as cur:
            for s in statements:
                cur.execute(s)
                if head(s) in ("USE", "SET"):
                    self.session.append(s)

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


def admin(gate, method, path, body=None, token=None):
    req = urllib.request.Request(f"http://{gate.host}:{gate.admin_port}{path}", method=method,
                                 data=body.encode() if body is not None else None)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def run_into(gate, sql, results, barrier=None):
    """Runs `sql` through `gate` (a thread's body): results[gate.name] = "ok" or the error."""
    try:
        conn = gate.connect(database="one", autocommit=True)
        try:
            if barrier:
                barrier.wait()
            with conn.cursor() as cur:
                cur.execute(sql)
            results[gate.name] = "ok"
        finally:
            conn.close()
    except Exception as e:  # noqa: BLE001 - also a connection killed under it
        results[gate.name] = repr(e)


class OneTruth(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        if harness.mode() != harness.MODE_GHOSTGATE:
            raise harness.HarnessError("these tests are about ghostgate's state; run them through "
                                       "ghostgate")
        cls.standin = harness.Standin().start()
        cls.token_file = os.path.join(harness.make_tmp_dir(), "admin-token")
        cls.token = "s3cret-token-" + os.urandom(6).hex()
        with open(cls.token_file, "w") as f:
            f.write(cls.token + "\n")
        os.chmod(cls.token_file, 0o600)
        cls.a = cls.new_gate("a")
        cls.b = cls.new_gate("b")
        cls.target = harness.Target(cls.standin, cls.a)

    @classmethod
    def new_gate(cls, name, **kw):
        return harness.Ghostgate(cls.standin, name=name,
                                 extra={"admin-token-file": cls.token_file}
                                 if os.environ.get("ONE_TRUTH_OLD") is None else None,
                                 **kw).start()

    @classmethod
    def tearDownClass(cls):
        for g in (cls.a, cls.b):
            g.stop()
        cls.standin.stop()
        super().tearDownClass()

    def setUp(self):
        for g in (self.a, self.b):
            if not g.alive():
                g.start()

    # test_traces' helpers read self.standin and self.target.gate
    def load_before(self, name):
        test_traces.Traces.load_before(self, name)
        self.standin.query("DROP DATABASE IF EXISTS one")
        self.standin.query("CREATE DATABASE one")

    def check_downstream(self, name, gate=None):
        # The instance that ran the cut-over (another's /online-ddl is a cache until it next
        # touches that ghost).
        gate = gate or (self.b if self.b.alive() else self.a)
        self.target = harness.Target(self.standin, gate)
        test_traces.Traces.check_downstream(self, name)
        self.assertEqual(self.standin.query(f"SELECT COUNT(*) FROM {META}")[0][0], 0,
                         f"{name}: meta table not empty")

    def trace(self, name):
        return parse_trace(os.path.join(traces_dir(), name, "trace.sql"))

    def columns(self, table, db="one"):
        return [r[0] for r in self.standin.query(
            f"SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{db}' "
            f"AND TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION")]

    # ---- several instances

    def test_trace_split_between_two_instances(self):
        """The ghost DDL through A, A killed, the rest through B (which loaded the meta table
        before A recorded anything): B finds A's record in the backend."""
        for name in ("ghost-atomic", "ptosc-default"):
            statements = self.trace(name)
            for cut in split_points(statements):
                with self.subTest(trace=name, cut=cut):
                    self.load_before(name)
                    self.setUp()
                    rep = Replayer()
                    try:
                        rep.attach(self.a)
                        rep.run(statements[:cut])
                        self.a.kill()
                        rep.attach(self.b)
                        rep.run(statements[cut:])
                    finally:
                        rep.close()  # an open transaction would block the next load_before
                    self.check_downstream(name)

    def record_through(self, gate, table, column):
        conn = gate.connect(database="one", autocommit=True)
        with conn.cursor() as cur:
            cur.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, v INT)")
            cur.execute(f"CREATE TABLE _{table}_gho LIKE {table}")
            cur.execute(f"ALTER TABLE _{table}_gho ADD COLUMN {column} INT")
        conn.close()

    def test_same_rename_on_pair_at_once(self):
        """Both instances know the record (B started after A recorded it) and get the same
        RENAME at once: the ALTER runs once, both clients get OK."""
        self.load_before("ghost-atomic")
        self.b.stop()
        self.record_through(self.a, "pair", "added")
        self.b.start()
        barrier = threading.Barrier(2)
        results = {}
        rename = "RENAME TABLE pair TO _pair_del, _pair_gho TO pair"
        threads = [threading.Thread(target=run_into, args=(g, rename, results, barrier))
                   for g in (self.a, self.b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(results, {"a": "ok", "b": "ok"})
        self.assertEqual(self.columns("pair"), ["id", "v", "added"])
        self.assertEqual(self.standin.query(f"SELECT COUNT(*) FROM {META}")[0][0], 0)

    # ---- late start, tombstones

    def test_late_start_refused_then_resolved_by_the_operator(self):
        name = "ghost-atomic"
        statements = self.trace(name)
        alters = [i for i, s in enumerate(statements) if head(s) == "ALTER" and "_gho" in s]
        alter = alters[-1]  # gh-ost's ADD COLUMN, then its AUTO_INCREMENT: both missed
        rename = next(i for i, s in enumerate(statements) if head(s) == "RENAME")
        self.load_before(name)
        before = self.columns("t", "test")
        # Before the ghost's last ALTER, rows reached the backend without ghostgate (a dump, a
        # replicator writing directly); gh-ost's own statements of that time never reached it.
        direct = Replayer()
        direct.attach(self.standin)
        direct.run([s for s in statements[:alter + 1] if "_t_gh" not in s and "_t_del" not in s])
        direct.close()
        rep = Replayer()
        rep.attach(self.a)
        rep.run([s for s in statements[:alter + 1] if head(s) in ("USE", "SET")])
        rep.run(statements[alter + 1:rename])
        with self.assertRaises(pymysql.MySQLError) as refused:
            rep.run([statements[rename]])
        code, message = refused.exception.args
        self.assertEqual(code, 1105)
        for part in ("`test`.`_t_gho`", "`test`.`t`", "never saw", "/online-ddl/ghost/test._t_gho",
                     "Online DDL operations"):
            self.assertIn(part, message)
        self.assertEqual(self.columns("t", "test"), before)  # nothing ran
        # The operator supplies the DDL; the resend runs it.
        status, body = admin(self.b, "POST", "/online-ddl/ghost/test._t_gho/ddls",
                             json.dumps([statements[i] for i in alters]), token=self.token)
        self.assertEqual(status, 200, body)
        rep.run(statements[rename:])
        rep.close()
        self.check_downstream(name, self.a)
        self.assertIn("POST /online-ddl/ghost/test._t_gho/ddls",
                      admin(self.b, "GET", "/online-ddl")[1])  # the action is listed

    def test_resend_of_completed_cutover_answered_from_tombstone(self):
        self.load_before("ghost-atomic")
        self.record_through(self.a, "tomb", "added")
        conn = self.b.connect(database="one", autocommit=True)
        with conn.cursor() as cur:
            cur.execute("RENAME TABLE tomb TO _tomb_del, _tomb_gho TO tomb")
            cur.execute("RENAME TABLE tomb TO _tomb_del, _tomb_gho TO tomb")  # a resend
        conn.close()
        self.standin.query("CREATE TABLE other (id INT PRIMARY KEY)", "one")
        conn = self.a.connect(database="one", autocommit=True)
        with conn.cursor() as cur:
            cur.execute("RENAME TABLE tomb TO _tomb_del, _tomb_gho TO tomb")  # through A too
            with self.assertRaises(pymysql.MySQLError) as refused:
                cur.execute("RENAME TABLE other TO _other_del, _other_gho TO other")
        conn.close()
        self.assertEqual(refused.exception.args[0], 1105)
        self.assertEqual(self.columns("tomb"), ["id", "v", "added"])

    # ---- a cut-over DDL still running when the resend arrives

    def test_crash_during_long_cutover_ddl(self):
        """A's cut-over ALTER waits on a metadata lock held by a test session; A is killed; the
        resend through B waits for the ALTER still queued in the backend instead of running it a
        second time (which would fail: Duplicate column name)."""
        self.load_before("ghost-atomic")
        self.record_through(self.a, "slow", "added")
        holder = self.standin.connect(database="one")
        with holder.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT COUNT(*) FROM slow")
        results = {}
        rename = "RENAME TABLE slow TO _slow_del, _slow_gho TO slow"
        t = threading.Thread(target=run_into, args=(self.a, rename, results))
        t.start()
        harness.wait_until(lambda: self.standin.query(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
            "WHERE INFO LIKE 'ALTER TABLE `one`.`slow`%'")[0][0], 20, what="the ALTER waiting")
        self.a.kill()  # A's RENAME never gets an answer
        t.join(30)
        t = threading.Thread(target=run_into, args=(self.b, rename, results))
        t.start()
        t.join(2)  # the resend is waiting for the first ALTER
        holder.rollback()
        holder.close()
        t.join(60)
        self.assertEqual(results["b"], "ok")
        self.assertEqual(self.columns("slow"), ["id", "v", "added"])
        self.assertEqual(self.standin.query(f"SELECT COUNT(*) FROM {META}")[0][0], 0)

    # ---- the admin actions

    def test_mutating_admin_calls_need_the_token(self):
        path = "/online-ddl/ghost/one._nothing_gho"
        for token in (None, "wrong", self.token + "x"):
            status, body = admin(self.a, "DELETE", path, token=token)
            self.assertEqual(status, 401, body)
        bare = harness.Ghostgate(self.standin, name="notoken").start()
        try:
            status, body = admin(bare, "DELETE", path, token=self.token)
            self.assertEqual(status, 403, body)
            self.assertIn("admin-token-file", body)
        finally:
            bare.stop()
        status, body = admin(self.a, "DELETE", path, token=self.token)
        self.assertEqual(status, 200, body)
        state = json.loads(admin(self.a, "GET", "/online-ddl")[1])
        self.assertTrue(any(a["ghost"] == "`one`.`_nothing_gho`" for a in state["operator_actions"]))
        for g in (self.a, self.b, bare):
            self.assertNotIn(self.token, g.logs(100000))

    # ---- start before the backend, catalog freshness

    def test_started_before_its_backend(self):
        standin = harness.Standin(name="later").start()
        standin.stop()
        gate = harness.Ghostgate(standin, name="early")
        gate.wait_ready = False
        gate.start()
        try:
            standin.start()
            conn = gate.connect(autocommit=True)
            with conn.cursor() as cur:
                cur.execute("CREATE DATABASE IF NOT EXISTS one")
                cur.execute("CREATE TABLE IF NOT EXISTS one.early (id INT PRIMARY KEY)")
                cur.execute("CREATE TABLE one._early_gho LIKE one.early")  # needs the state
                cur.execute("ALTER TABLE one._early_gho ADD COLUMN added INT")
                cur.execute("RENAME TABLE one.early TO one._early_del, one._early_gho TO one.early")
            conn.close()
            self.assertEqual([r[0] for r in standin.query(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'one' "
                "AND TABLE_NAME = 'early' ORDER BY ORDINAL_POSITION")], ["id", "added"])
        finally:
            gate.stop()
            standin.stop()

    def test_catalog_freshness(self):
        """A helper-looking table dropped on the backend behind ghostgate's back (a DBA, another
        instance): the next ghost CREATE of that name is judged on the backend's catalog, not on
        a cache up to 60 s old that still says the name is a real table."""
        self.load_before("ghost-atomic")
        self.standin.query("CREATE TABLE fresh (id INT PRIMARY KEY)", "one")
        self.standin.query("CREATE TABLE _fresh_gho (id INT PRIMARY KEY)", "one")
        conn = self.a.connect(database="one", autocommit=True)
        with conn.cursor() as cur:
            cur.execute("INSERT INTO _fresh_gho VALUES (1)")  # a real table: forwarded, cached
            self.standin.query("DROP TABLE _fresh_gho", "one")  # behind ghostgate's back
            cur.execute("CREATE TABLE _fresh_gho LIKE fresh")  # gh-ost starts: a ghost
        conn.close()
        self.assertEqual(self.standin.query(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'one' "
            "AND TABLE_NAME = '_fresh_gho'")[0][0], 0, "the ghost's CREATE was forwarded")

if __name__ == "__main__":
    harness.main(ghostgate_only=True)
