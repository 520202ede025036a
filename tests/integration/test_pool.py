#!/usr/bin/python3
"""Transparent proxy, connection handling: 500 clients in sequence and a concurrent burst leave
the backend with no more connections than pool.max-connections; a wrong password is refused
with the backend's own error.

    /usr/bin/python3 tests/integration/test_pool.py --direct
"""

import os
import re
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import harness  # noqa: E402
import pymysql  # noqa: E402

POOL_MAX = 8


class Sampler:
    """Counts the backend's client connections every few ms, in a thread: all but its own and
    ghostgate's own account (meta table and health checks, outside the client pool)."""

    def __init__(self, standin):
        self.conn = standin.connect(autocommit=True)
        with self.conn.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            self.own_id = cur.fetchone()[0]
        self.max_seen = 0
        self.at_max = ()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rows(self):
        with self.conn.cursor() as cur:
            cur.execute("SELECT ID, USER, HOST, DB, COMMAND, TIME, LEFT(INFO, 80) "
                        "FROM information_schema.PROCESSLIST "
                        "WHERE ID <> %s AND HOST LIKE '127.0.0.1:%%' AND COMMAND <> 'Daemon' "
                        "AND USER <> %s", (self.own_id, harness.GATE_USER))
            return cur.fetchall()

    def count(self):
        return len(self.rows())

    def _run(self):
        while not self._stop.is_set():
            rows = self.rows()
            if len(rows) > self.max_seen:
                self.max_seen, self.at_max = len(rows), rows
            self.samples += 1
            self._stop.wait(0.005)

    def report(self):
        """The backend's connections when the most were seen, for assertion messages."""
        return f"max {self.max_seen} connections:\n" + "\n".join(map(repr, self.at_max))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)

    def settled_count(self, limit, timeout=15):
        """The count once disconnected sessions are gone (the server reaps them asynchronously)."""
        deadline = time.monotonic() + timeout
        n = self.count()
        while n > limit and time.monotonic() < deadline:
            time.sleep(0.1)
            n = self.count()
        return n


class Pool(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = harness.start_target(pool={"max-connections": POOL_MAX,
                                                "max-idle": POOL_MAX})
        cls.standin = cls.target.standin

    def test_500_sequential_clients(self):
        with Sampler(self.standin) as sampler:
            ids = set()
            for i in range(500):
                conn = self.target.connect(user="tester" if i % 2 else None, database="test",
                                           connect_timeout=10, read_timeout=30)
                with conn.cursor() as cur:
                    cur.execute("SELECT %s, CURRENT_USER()", (i,))
                    n, user = cur.fetchone()
                self.assertEqual(n, i)
                self.assertEqual(user, "tester@%" if i % 2 else "root@127.0.0.1")
                conn.close()
        self.assertGreater(sampler.samples, 10)
        self.assertLessEqual(sampler.max_seen, POOL_MAX, sampler.report())
        self.assertLessEqual(sampler.settled_count(POOL_MAX), POOL_MAX, sampler.rows())

    def test_concurrent_burst(self):
        threads_n, per_thread = 16, 8
        errors = []

        def client(n):
            for j in range(per_thread):
                try:
                    conn = self.target.connect(connect_timeout=20, read_timeout=30)
                    with conn.cursor() as cur:
                        cur.execute("SELECT %s, SLEEP(0.01)", (n * 100 + j,))
                        if cur.fetchone()[0] != n * 100 + j:
                            errors.append(f"client {n}: wrong answer")
                    conn.close()
                except Exception as e:  # collected and asserted below
                    errors.append(f"client {n}.{j}: {e!r}")

        with Sampler(self.standin) as sampler:
            threads = [threading.Thread(target=client, args=(n,)) for n in range(threads_n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(180)
        self.assertFalse([t for t in threads if t.is_alive()], "a client hung")
        self.assertEqual(errors, [])
        # Through ghostgate the pool caps the backend's connections; direct, every client has
        # its own, so the bound is the number of concurrent clients.
        bound = POOL_MAX if self.target.gate else threads_n
        self.assertLessEqual(sampler.max_seen, bound, sampler.report())
        self.assertLessEqual(sampler.settled_count(POOL_MAX), POOL_MAX, sampler.rows())

    def wait_backend_idle(self, timeout=10):
        """Until ghostgate's /metrics shows every open backend connection idle."""
        url = f"http://{self.target.gate.host}:{self.target.gate.admin_port}/metrics"
        deadline = time.monotonic() + timeout
        values = {}
        while time.monotonic() < deadline:
            with urllib.request.urlopen(url, timeout=5) as r:
                text = r.read().decode()
            values = {m.group(1): float(m.group(2)) for m in re.finditer(
                r"^(ghostgate_backend_connections_(?:open|idle)) (\S+)$", text, re.M)}
            if values.get("ghostgate_backend_connections_open", 0) == values.get(
                    "ghostgate_backend_connections_idle", -1):
                return
            time.sleep(0.02)
        self.fail(f"backend connections still busy after the client left: {values}")

    def test_sequential_clients_reuse_one_backend_connection(self):
        # MariaDB renews the scramble on every COM_CHANGE_USER after the first login; a pooled
        # connection must stay reusable across that, not be used twice and thrown away.
        ids = set()
        for _ in range(30):
            conn = self.target.connect(database="test")
            with conn.cursor() as cur:
                cur.execute("SELECT CONNECTION_ID()")
                ids.add(cur.fetchone()[0])
            conn.close()
            if self.target.gate:
                # The client's quit returns its backend connection to the pool asynchronously:
                # the next client must find it idle, not race it (under load it did: 4 ids).
                self.wait_backend_idle()
        if self.target.gate:
            self.assertLessEqual(len(ids), 2, ids)
        else:
            self.assertEqual(len(ids), 30)

    def test_clients_with_different_capabilities_alternate(self):
        # Each capability set has its own pooled connections; a client greeted with the
        # scramble of another set's connection is switched once to a connection of its own and
        # must never see a second auth switch (pymysql would take it for the OK: 1043 later).
        from pymysql.constants import CLIENT
        variants = [dict(), dict(local_infile=True), dict(client_flag=CLIENT.MULTI_STATEMENTS),
                    dict(local_infile=True, client_flag=CLIENT.MULTI_STATEMENTS)]
        for i in range(24):
            kw = variants[(i * 7) % len(variants)]
            user = "tester" if i % 3 == 0 else None
            conn = self.target.connect(user=user, database="test", **kw)
            with conn.cursor() as cur:
                cur.execute("SELECT %s, CURRENT_USER()", (i,))
                n, current = cur.fetchone()
            self.assertEqual(n, i)
            self.assertEqual(current, "tester@%" if user else "root@127.0.0.1")
            conn.close()

    def direct_error(self, **kw):
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            self.standin.connect(**kw)
        return cm.exception.args

    def target_error(self, **kw):
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            self.target.connect(**kw)
        return cm.exception.args

    def test_wrong_password_is_refused_like_the_backend(self):
        for kw in ({"password": "wrong"}, {"user": "tester", "password": "nope"},
                   {"user": "nosuchuser", "password": "x"}, {"user": "root", "password": ""}):
            got = self.target_error(**kw)
            want = self.direct_error(**kw)
            self.assertEqual(got[0], 1045, got)
            self.assertRegex(got[1], r"^Access denied for user '[^']+'@'127\.0\.0\.1' "
                                     r"\(using password: (YES|NO)\)$")
            self.assertEqual(got, want)
        # Unknown default database at login: the backend's error too.
        self.assertEqual(self.target_error(database="no_such_db"),
                         self.direct_error(database="no_such_db"))
        # Failed logins leave nothing behind, and the right password still works.
        for _ in range(30):
            self.target_error(password="wrong")
        conn = self.target.connect()
        conn.close()
        with Sampler(self.standin) as sampler:
            pass
        self.assertLessEqual(sampler.settled_count(POOL_MAX), POOL_MAX, sampler.rows())


if __name__ == "__main__":
    harness.main()
