#!/usr/bin/python3
"""Online DDL: a cut-over DDL that runs for a long time (here: blocked on a metadata lock) holds
up neither the row changes of other tables nor their own cut-overs; only statements about the
same ghost wait for it.

    /usr/bin/python3 tests/integration/test_online_ddl_concurrency.py
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import harness  # noqa: E402

DB = "test_conc"


class Concurrency(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        if harness.mode() != harness.MODE_GHOSTGATE:
            raise harness.HarnessError("this test is about ghostgate's own scheduling; run it "
                                       "through ghostgate")
        cls.target = harness.start_target(pool={"max-connections": 16, "max-idle": 16})
        cls.standin = cls.target.standin
        q = cls.standin.query
        q(f"CREATE DATABASE IF NOT EXISTS {DB}")
        for t in ("slow", "busy", "quick"):
            q(f"CREATE TABLE {t} (id INT PRIMARY KEY, v INT)", DB)

    def gate(self):
        return self.target.connect(database=DB, autocommit=True)

    def record_ghost(self, table, column):
        conn = self.gate()
        with conn.cursor() as cur:
            cur.execute(f"CREATE TABLE _{table}_gho LIKE {table}")
            cur.execute(f"ALTER TABLE _{table}_gho ADD COLUMN {column} INT")
        conn.close()

    def columns(self, table):
        return [r[0] for r in self.standin.query(
            f"SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{DB}' "
            f"AND TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION")]

    def test_other_tables_do_not_wait_for_a_long_cutover(self):
        self.record_ghost("slow", "added_slow")
        self.record_ghost("quick", "added_quick")
        # A direct session holds a metadata lock on `slow`: its cut-over ALTER must wait.
        holder = self.standin.connect(database=DB)
        with holder.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT COUNT(*) FROM slow")
        result = {}

        def cutover():
            conn = self.gate()
            try:
                with conn.cursor() as cur:
                    cur.execute("RENAME TABLE slow TO _slow_del, _slow_gho TO slow")
                result["ok"] = True
            except Exception as e:  # reported below
                result["error"] = repr(e)
            finally:
                conn.close()

        t = threading.Thread(target=cutover)
        t.start()
        harness.wait_until(lambda: self.standin.query(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE "
            "'%metadata lock%'")[0][0] > 0, 30, what="the cut-over ALTER waiting for its lock")
        # Meanwhile: row changes to another table, and another ghost's whole cut-over.
        conn = self.gate()
        with conn.cursor() as cur:
            for i in range(200):
                cur.execute(f"INSERT INTO busy VALUES ({i}, {i})")
            cur.execute("RENAME TABLE quick TO _quick_del, _quick_gho TO quick")
        conn.close()
        self.assertTrue(t.is_alive(), "the slow cut-over should still be waiting")
        self.assertNotIn("ok", result)
        self.assertEqual(self.standin.query("SELECT COUNT(*) FROM busy", DB)[0][0], 200)
        self.assertEqual(self.columns("quick"), ["id", "v", "added_quick"])
        self.assertEqual(self.columns("slow"), ["id", "v"])
        # Released: the slow cut-over completes, and only now is it acknowledged.
        holder.rollback()
        holder.close()
        t.join(60)
        self.assertFalse(t.is_alive())
        self.assertEqual(result, {"ok": True})
        self.assertEqual(self.columns("slow"), ["id", "v", "added_slow"])
        self.assertEqual(self.standin.query(
            f"SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{DB}' AND "
            "TABLE_NAME LIKE '\\_%'")[0][0], 0, "no helper table left")


if __name__ == "__main__":
    harness.main()
