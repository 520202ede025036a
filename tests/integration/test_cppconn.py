#!/usr/bin/python3
"""Transparent proxy, mysql-connector-c++: runs tests/tools/cppconn_client (binary protocol,
long data, multi-result CALL, streamed results) against the target.

    /usr/bin/python3 tests/integration/test_cppconn.py --direct
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import harness  # noqa: E402


class Cppconn(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = harness.tool_path("cppconn_client")
        cls.target = harness.start_target()
        cls.target.standin.query("CREATE DATABASE IF NOT EXISTS test_cpp")

    def run_client(self, user=None, database="test_cpp"):
        p = self.target.params(user)
        r = subprocess.run([self.client, p["host"], str(p["port"]), p["user"], p["password"],
                            database], capture_output=True, text=True, timeout=300)
        return r

    def check_run(self, r):
        failed = [line for line in r.stdout.splitlines() if line.startswith("FAIL")]
        self.assertEqual(failed, [], r.stdout[-4000:] + r.stderr[-2000:])
        self.assertEqual(r.returncode, 0, r.stdout[-4000:] + r.stderr[-2000:])
        self.assertRegex(r.stdout, r"cppconn_client: [1-9]\d* checks, 0 failed")

    def test_root(self):
        self.check_run(self.run_client())
        # What the client wrote is really in the backend.
        rows = self.target.standin.query("SELECT id, n, LENGTH(bl) FROM test_cpp.cpp_types "
                                         "ORDER BY id")
        self.assertEqual(rows, ((1, 10, 1 << 20), (2, None, (1 << 20) // 2),
                                (3, 30, (1 << 20) // 3)))

    def test_non_root_user(self):
        self.target.standin.query("CREATE DATABASE IF NOT EXISTS test_cpp_user")
        self.check_run(self.run_client(user="tester", database="test_cpp_user"))

    def test_refused_login_is_reported(self):
        p = self.target.params()
        r = subprocess.run([self.client, p["host"], str(p["port"]), p["user"], "wrong", "test"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("code 1045", r.stdout)


if __name__ == "__main__":
    harness.main()
