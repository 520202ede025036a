#!/usr/bin/python3
"""Self-test of the harness: the stand-in's life cycle, the ghostgate config writer, and a run
that fails when a test skipped.

Needs no ghostgate binary: it checks what every integration test relies on.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pymysql  # noqa: E402


class StandinLifecycle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = harness.Standin(name="lifecycle", tls=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.st.stop()

    def test_users_and_tls(self):
        self.assertEqual(self.st.query("SELECT CURRENT_USER()")[0][0], "root@127.0.0.1")
        conn = self.st.connect(user="tester", database="test")
        with conn.cursor() as c:
            c.execute("SELECT CURRENT_USER()")
            self.assertEqual(c.fetchone()[0], "tester@%")
        conn.close()
        conn = self.st.connect(ssl_ca=harness.make_certs()["ca"], ssl_verify_cert=True)
        with conn.cursor() as c:
            c.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            self.assertNotEqual(c.fetchone()[1], "")
        conn.close()
        self.assertEqual(self.st.query("SELECT @@max_allowed_packet")[0][0], 64 * 1024 * 1024)
        self.assertEqual(self.st.query("SELECT @@bind_address")[0][0], "127.0.0.1")

    def test_pause_resume_kill_restart(self):
        port = self.st.port
        self.st.query("CREATE TABLE IF NOT EXISTS test.keep (id INT PRIMARY KEY)")
        self.st.query("REPLACE INTO test.keep VALUES (7)")
        self.st.pause()
        t0 = time.monotonic()
        with self.assertRaises(pymysql.err.OperationalError):
            self.st.connect(connect_timeout=1, read_timeout=1)
        self.assertLess(time.monotonic() - t0, 10)
        self.st.resume()
        self.assertEqual(self.st.query("SELECT 1")[0][0], 1)
        self.st.kill()
        self.assertFalse(self.st.alive())
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        self.st.restart()
        self.assertEqual(self.st.port, port)
        self.assertEqual(self.st.query("SELECT id FROM test.keep")[0][0], 7)


class GhostgateConfig(unittest.TestCase):
    def test_yaml(self):
        st = harness.Standin(name="cfg")
        st.port = 3999  # not started: only the config is written
        gate = harness.Ghostgate(st, client_tls=True, backend_tls="verify-ca",
                                 extra={"shadow-table-rules": ["^_(.+)_gho$"],
                                        "pool": {"max-idle": 2}, "workers": None})
        gate.port, gate.admin_port = 4000, 4001
        with open(gate.write_config()) as f:
            text = f.read()
        for needle in ('listen: "127.0.0.1:4000"', 'admin: "127.0.0.1:4001"',
                       'address: "127.0.0.1:3999"', "max-connections: 8", "max-idle: 2",
                       'mode: "verify-ca"', "client-tls:", '- "^_(.+)_gho$"', "level: \"debug\""):
            self.assertIn(needle, text)
        self.assertNotIn("workers", text)
        import yaml  # python3-yaml (scripts/deps.sh): the text must be real YAML
        doc = yaml.safe_load(text)
        self.assertEqual(doc["backend"]["tls"]["mode"], "verify-ca")
        self.assertEqual(doc["pool"], {"max-connections": 8, "max-idle": 2})
        self.assertEqual(doc["shadow-table-rules"], ["^_(.+)_gho$"])

    def test_config_accepted_by_ghostgate(self):
        """ghostgate --check-config validates what the harness writes (unknown keys are errors)."""
        st = harness.Standin(name="chk")
        st.port = 3999
        gate = harness.Ghostgate(st, client_tls=True, backend_tls="verify-ca")
        gate.port, gate.admin_port = 4000, 4001
        r = subprocess.run([harness.ghostgate_binary(), "--check-config", gate.write_config()],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("max-connections: 8", r.stdout)

    def test_missing_binary_fails_loudly(self):
        st = harness.Standin(name="nobin")
        st.port = 3999
        gate = harness.Ghostgate(st, binary="/bin/true")
        with self.assertRaises(harness.HarnessError) as cm:
            gate.start(timeout=5)
        self.assertIn("exited with 0 before listening", str(cm.exception))


class MainRefusesSkips(unittest.TestCase):
    """ctest sees only the exit code: harness.main() must fail a run in which a test skipped."""

    def run_main(self, body):
        path = os.path.join(harness.make_tmp_dir(), "t.py")
        with open(path, "w") as f:
            f.write("import sys, unittest\n"
                    f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
                    "import harness\n"
                    "class T(unittest.TestCase):\n"
                    "    def test_passes(self):\n"
                    "        pass\n"
                    f"{body}"
                    "harness.main()\n")
        return subprocess.run([sys.executable, path], capture_output=True, text=True,
                              timeout=60)

    def test_a_skipped_test_fails_the_run(self):
        r = self.run_main("    def test_skips(self):\n        self.skipTest('not here')\n")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("SKIPPED (fails the run): __main__.T.test_skips: not here", r.stderr)
        r = self.run_main("")
        self.assertEqual(r.returncode, 0, r.stderr)


class Cleanup(unittest.TestCase):
    def test_children_die_with_the_harness(self):
        """A harness process killed by SIGTERM leaves no mariadbd behind."""
        code = ("import sys; sys.path.insert(0, %r); import harness, time\n"
                "st = harness.Standin(name='orphan').start()\n"
                "print(st.proc.pid, flush=True)\n"
                "time.sleep(60)\n") % os.path.dirname(os.path.abspath(__file__))
        p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        pid = int(p.stdout.readline())
        p.send_signal(signal.SIGTERM)
        p.wait(30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            # a zombie counts as gone
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().split()[2] == "Z":
                        break
            except OSError:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
            self.fail(f"mariadbd {pid} survived its harness")


if __name__ == "__main__":
    harness.main()
