#!/usr/bin/python3
"""Online DDL, `dry-run: true`: ghostgate forwards every statement unchanged (the downstream
ends exactly as a direct replay leaves it) and only logs what it would have done, naming the
statement's kind, tables and digest; nothing is recorded in the meta table.

    /usr/bin/python3 tests/integration/test_dry_run.py
"""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import test_traces  # noqa: E402

TRACE = "ghost-atomic"


class DryRun(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        if harness.mode() != harness.MODE_GHOSTGATE:
            raise harness.HarnessError("dry-run is ghostgate's own; run it through ghostgate")
        cls.target = harness.start_target(gate_extra={"dry-run": True})
        cls.standin = cls.target.standin

    def snapshot(self):
        """Every table of `test` with its definition and checksum, and the triggers."""
        conn = self.standin.connect(database="test", autocommit=True)
        with conn.cursor() as cur:
            cur.execute("SHOW TABLES")
            tables = sorted(r[0] for r in cur.fetchall())
            out = {}
            for t in tables:
                cur.execute(f"SHOW CREATE TABLE `{t}`")
                create = re.sub(r" AUTO_INCREMENT=\d+", "", cur.fetchone()[1])
                cur.execute(f"CHECKSUM TABLE `{t}`")
                out[t] = (create, cur.fetchone()[1])
            cur.execute("SHOW TRIGGERS")
            out["<triggers>"] = sorted(r[0] for r in cur.fetchall())
        conn.close()
        return out

    def replay(self, endpoint):
        path = os.path.join(test_traces.traces_dir(), TRACE, "trace.sql")
        with open(path, "rb") as f:
            data = b"SET SESSION foreign_key_checks=0;\n" + f.read()
        r = subprocess.run(test_traces.cli_args(endpoint) + ["--force"], input=data,
                           timeout=300, capture_output=True)
        return r.stderr.decode(errors="replace")

    def test_forwards_everything_and_logs_what_it_would_do(self):
        test_traces.Traces.load_before(self, TRACE)
        direct_errors = self.replay(self.standin)
        direct = self.snapshot()
        test_traces.Traces.load_before(self, TRACE)
        self.assertEqual(self.replay(self.target.gate), direct_errors)
        self.assertEqual(self.snapshot(), direct, "dry-run must leave what a direct replay does")
        self.assertEqual(self.standin.query(
            "SELECT COUNT(*) FROM dm_meta.ghostgate_it_onlineddl")[0][0], 0)
        with open(self.target.gate.log_file, encoding="utf-8", errors="replace") as f:
            log = f.read()
        lines = re.findall(r"online-ddl dry-run: would .*", log)
        self.assertTrue(lines, "nothing logged in dry-run")
        for line in lines:
            self.assertRegex(line, r"kind=[a-z_]+ tables=\S+ digest=\S+")
        kinds = {re.search(r"kind=([a-z_]+)", line).group(1) for line in lines}
        # The ghost's creation and the cut-over are seen. (Dry-run keeps no state, so the
        # ghost's ALTER, on a table that now exists downstream, is not recognised as one.)
        self.assertTrue({"create_table", "rename_table"} <= kinds, kinds)


if __name__ == "__main__":
    harness.main()
