#!/usr/bin/python3
"""Transparent proxy, MariaDB Connector/C: runs tests/tools/capi_client against the target.
It covers what the other clients cannot reach: server-side cursors (COM_STMT_FETCH),
COM_STMT_RESET, COM_FIELD_LIST, COM_STATISTICS, COM_SET_OPTION, COM_RESET_CONNECTION and
COM_CHANGE_USER issued by the client itself, besides binary types and multi-results.

    /usr/bin/python3 tests/integration/test_capi.py --direct
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import harness  # noqa: E402


class Capi(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = harness.tool_path("capi_client")
        cls.target = harness.start_target(pool={"max-connections": 8, "max-idle": 8})
        cls.target.standin.query("CREATE DATABASE IF NOT EXISTS test_capi")

    def run_client(self, user=None):
        p = self.target.params(user)
        return subprocess.run([self.client, p["host"], str(p["port"]), p["user"], p["password"],
                               "test_capi", harness.TEST_USER, harness.TEST_PASSWORD],
                              capture_output=True, text=True, timeout=240)

    def check_run(self, r):
        out = r.stdout[-4000:] + r.stderr[-2000:]
        self.assertEqual([line for line in r.stdout.splitlines() if line.startswith("FAIL")],
                         [], out)
        self.assertEqual(r.returncode, 0, out)
        self.assertRegex(r.stdout, r"[1-9]\d* checks, 0 failures", out)

    def test_root(self):
        self.check_run(self.run_client())
        rows = self.target.standin.query("SELECT id, LENGTH(b) FROM test_capi.capi_blobs")
        self.assertEqual(rows, ((7, 5 * 300 * 1024),))

    def test_twice_on_pooled_connections(self):
        # The second run gets the connections the first one left in the pool (after it changed
        # user and reset them): they must be as good as new.
        self.check_run(self.run_client(user=harness.TEST_USER))
        self.check_run(self.run_client())


if __name__ == "__main__":
    harness.main()
