#!/usr/bin/python3
"""The quick start runs non-interactively and ends as it promises: pt-osc's change arrives
downstream as the new column with no helper tables, triggers or helper traffic.

    /usr/bin/python3 tests/integration/test_quickstart.py --direct
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import harness  # noqa: E402


class Quickstart(harness.TestCase):
    def test_no_wait(self):
        cmd = ["bash", os.path.join(harness.REPO, "scripts", "quickstart.sh"), "--no-wait",
               "--skip-deps", "--skip-build"]
        if harness.mode() == harness.MODE_DIRECT:
            cmd.append("--direct")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, out[-8000:])
        self.assertIn("QUICKSTART OK", r.stdout, out[-8000:])
        self.assertIn("`note` varchar(20) DEFAULT NULL", r.stdout)
        self.assertIn("tables in demo: items\n", r.stdout)
        self.assertIn("triggers in demo: (none)", r.stdout)
        self.assertRegex(r.stdout, r"Connect:\s+mariadb -h127\.0\.0\.1 -P\d+ -uroot -prootpw")
        if harness.mode() == harness.MODE_GHOSTGATE:
            self.assertIn("statements about pt-osc helpers that reached the downstream: 0",
                          r.stdout)
            self.assertIn("never saw pt-osc's helper traffic", r.stdout)


if __name__ == "__main__":
    harness.main()
