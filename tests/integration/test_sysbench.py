#!/usr/bin/python3
"""Transparent proxy, sysbench oltp_read_write (server-side prepared statements, transactions,
4 concurrent clients): no errors for a bounded time, and a deterministic run through the target
leaves exactly the same data as the same run made directly.

    /usr/bin/python3 tests/integration/test_sysbench.py --direct
    SYSBENCH_TIME=15 (seconds of the load run)
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import harness  # noqa: E402

TABLES = 4


def sysbench(params, db, *args, timeout=300):
    exe = harness.which_or_fail("sysbench", "install sysbench (scripts/deps.sh)")
    cmd = [exe, "oltp_read_write", f"--mysql-host={params['host']}",
           f"--mysql-port={params['port']}", f"--mysql-user={params['user']}",
           f"--mysql-password={params['password']}", f"--mysql-db={db}", f"--tables={TABLES}",
           "--db-ps-mode=auto", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def stat(out, name):
    m = re.search(rf"^\s*{name}:\s+(\d+)", out, re.M)
    return int(m.group(1)) if m else None


class Sysbench(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        # READ COMMITTED (TiDB's usual level) takes no gap locks, so 4 threads on random rows
        # do not deadlock each other: with --mysql-ignore-errors=none any error fails the run.
        cls.target = harness.start_target(pool={"max-connections": 16, "max-idle": 16},
                                          standin_args=["--transaction-isolation=READ-COMMITTED"])
        cls.standin = cls.target.standin

    def ok(self, r, what):
        self.assertEqual(r.returncode, 0, f"{what}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")

    def checksums(self, db):
        rows = self.standin.query(
            "CHECKSUM TABLE " + ", ".join(f"{db}.sbtest{i}" for i in range(1, TABLES + 1)))
        return [r[1] for r in rows]

    def test_load_without_errors(self):
        self.standin.query("CREATE DATABASE IF NOT EXISTS test_sb_load")
        p = self.target.params()
        self.ok(sysbench(p, "test_sb_load", "--table-size=20000", "prepare"), "prepare")
        seconds = int(os.environ.get("SYSBENCH_TIME", "15"))
        r = sysbench(p, "test_sb_load", "--table-size=20000", f"--time={seconds}", "--threads=4",
                     "--mysql-ignore-errors=none", "--report-interval=5", "run",
                     timeout=seconds + 120)
        self.ok(r, "run")
        self.assertEqual(stat(r.stdout, "ignored errors"), 0, r.stdout)
        self.assertEqual(stat(r.stdout, "reconnects"), 0, r.stdout)
        transactions = stat(r.stdout, "transactions")
        self.assertIsNotNone(transactions, r.stdout)
        self.assertGreater(transactions, 0, r.stdout)
        self.assertEqual(stat(r.stdout, "total"), transactions * 20, r.stdout)  # 20 per txn
        # The data is still consistent: oltp_read_write deletes and re-inserts one row per
        # transaction, so the row count never changes.
        for i in range(1, TABLES + 1):
            self.assertEqual(self.standin.query(f"SELECT COUNT(*) FROM test_sb_load.sbtest{i}")
                             [0][0], 20000)
        self.ok(sysbench(p, "test_sb_load", "cleanup"), "cleanup")

    def test_deterministic_run_matches_direct(self):
        # sysbench 1.0 `prepare` is not deterministic even with --rand-seed, so one prepared
        # copy is cloned into both databases; `run` with one thread and a seed is.
        direct = self.standin.params()
        self.standin.query("CREATE DATABASE IF NOT EXISTS test_sb_src")
        self.ok(sysbench(direct, "test_sb_src", "--table-size=3000", "prepare"), "prepare")
        for db in ("test_sb_direct", "test_sb_target"):
            self.standin.query(f"DROP DATABASE IF EXISTS {db}")
            self.standin.query(f"CREATE DATABASE {db}")
            for i in range(1, TABLES + 1):
                self.standin.query(f"CREATE TABLE {db}.sbtest{i} LIKE test_sb_src.sbtest{i}")
                self.standin.query(f"INSERT INTO {db}.sbtest{i} SELECT * FROM test_sb_src.sbtest{i}")
        self.assertEqual(self.checksums("test_sb_direct"), self.checksums("test_sb_target"))
        before = self.checksums("test_sb_direct")
        args = ("--table-size=3000", "--rand-seed=1", "--threads=1", "--events=1500", "--time=0",
                "--mysql-ignore-errors=none", "run")
        r_direct = sysbench(direct, "test_sb_direct", *args)
        self.ok(r_direct, "direct run")
        r_target = sysbench(self.target.params(), "test_sb_target", *args)
        self.ok(r_target, "run through the target")
        self.assertEqual(stat(r_target.stdout, "transactions"), 1500, r_target.stdout)
        after = self.checksums("test_sb_direct")
        self.assertNotEqual(after, before, "the run changed nothing: the comparison is void")
        self.assertEqual(self.checksums("test_sb_target"), after)


if __name__ == "__main__":
    harness.main()
