#!/usr/bin/python3
"""Transparent proxy, backend failure: kill -9 the backend while clients run. Clients get errors
promptly (no hang), ghostgate stays up, refuses new clients cleanly while the backend is down,
and serves new clients once the backend is back on the same port.

    /usr/bin/python3 tests/integration/test_backend_crash.py --direct
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import harness  # noqa: E402
import pymysql  # noqa: E402

CLIENT_READ_TIMEOUT = 40  # a client error must come well before this: it would mean a hang
PROMPT = 15               # seconds from the kill to every client's error


class Worker(threading.Thread):
    def __init__(self, target, n):
        super().__init__(daemon=True)
        self.target, self.n = target, n
        self.queries = 0
        self.error = None
        self.error_at = None
        self.stop = threading.Event()

    def run(self):
        try:
            conn = self.target.connect(database="test_crash", autocommit=True,
                                       read_timeout=CLIENT_READ_TIMEOUT,
                                       write_timeout=CLIENT_READ_TIMEOUT)
            deadline = time.monotonic() + 120
            with conn.cursor() as cur:
                while not self.stop.is_set() and time.monotonic() < deadline:
                    if self.n % 2:
                        cur.execute("INSERT INTO events (worker) VALUES (%s)", (self.n,))
                    else:
                        cur.execute("SELECT COUNT(*), SLEEP(0.05) FROM events")
                        cur.fetchall()
                    self.queries += 1
        except Exception as e:  # the expected outcome once the backend is gone
            self.error = e
            self.error_at = time.monotonic()


class BackendCrash(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = harness.start_target(pool={"max-connections": 8, "max-idle": 8})
        cls.standin = cls.target.standin
        cls.standin.query("CREATE DATABASE IF NOT EXISTS test_crash")
        cls.standin.query("CREATE TABLE IF NOT EXISTS test_crash.events "
                          "(id INT AUTO_INCREMENT PRIMARY KEY, worker INT)")

    def test_kill_backend_while_clients_run(self):
        port = self.standin.port
        workers = [Worker(self.target, n) for n in range(4)]
        for w in workers:
            w.start()
        harness.wait_until(lambda: all(w.queries >= 5 for w in workers) or
                           any(w.error for w in workers), 30, what="workers running")
        self.assertEqual([w.error for w in workers if w.error], [], "error before the kill")

        killed_at = time.monotonic()
        self.standin.kill()
        for w in workers:
            w.join(CLIENT_READ_TIMEOUT + 30)
        self.assertFalse([w for w in workers if w.is_alive()], "a client hung")
        for w in workers:
            self.assertIsNotNone(w.error, f"worker {w.n} saw no error")
            self.assertIsInstance(w.error, pymysql.err.MySQLError, repr(w.error))
            self.assertLess(w.error_at - killed_at, PROMPT,
                            f"worker {w.n} took {w.error_at - killed_at:.1f}s: {w.error!r}")
        if self.target.gate:
            time.sleep(0.5)
            self.assertTrue(self.target.gate.alive(), "ghostgate died with its backend")

        # While the backend is down a new client is refused, promptly.
        t0 = time.monotonic()
        with self.assertRaises(pymysql.err.MySQLError):
            self.target.connect(connect_timeout=10, read_timeout=20)
        self.assertLess(time.monotonic() - t0, PROMPT)
        if self.target.gate:
            self.assertTrue(self.target.gate.alive(), "ghostgate died refusing a client")

        self.standin.start()  # same datadir, same port
        self.assertEqual(self.standin.port, port)

        def works():
            try:
                conn = self.target.connect(database="test_crash", connect_timeout=5,
                                           read_timeout=10)
            except pymysql.err.MySQLError:
                return False
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT COUNT(*) >= 0 FROM events")
                    return cur.fetchone()[0] == 1
            except pymysql.err.MySQLError:
                return False
            finally:
                conn.close()

        harness.wait_until(works, 30, interval=0.5, what="a client working after the restart")
        # Not just one lucky connection: stale pooled connections must not reach clients.
        for i in range(20):
            conn = self.target.connect(database="test_crash", read_timeout=20)
            with conn.cursor() as cur:
                cur.execute("INSERT INTO events (worker) VALUES (%s)", (100 + i,))
                cur.execute("SELECT COUNT(*) FROM events WHERE worker = %s", (100 + i,))
                self.assertEqual(cur.fetchone()[0], 1)
            conn.close()
        errors = []

        def concurrent(n):
            try:
                conn = self.target.connect(read_timeout=20)
                with conn.cursor() as cur:
                    cur.execute("SELECT %s", (n,))
                    if cur.fetchone()[0] != n:
                        errors.append(n)
                conn.close()
            except Exception as e:
                errors.append(repr(e))

        threads = [threading.Thread(target=concurrent, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])


if __name__ == "__main__":
    harness.main()
