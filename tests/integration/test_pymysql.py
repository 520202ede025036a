#!/usr/bin/python3
"""Transparent proxy, pymysql: text protocol, multi-statements, transactions, OK-packet fields,
COM_INIT_DB, COM_PING, COM_STATISTICS, LOCAL INFILE, 16 MiB+ packets.

Run direct (validates the test) or through ghostgate:
    /usr/bin/python3 tests/integration/test_pymysql.py --direct
    GHOSTGATE_IT_MODE=ghostgate /usr/bin/python3 tests/integration/test_pymysql.py
"""

import datetime
import decimal
import hashlib
import os
import re
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import harness  # noqa: E402
import pymysql  # noqa: E402
from pymysql.constants import CLIENT, COMMAND  # noqa: E402

MiB = 1024 * 1024


def outcome(conn, sql, db):
    """Everything a client can observe about one statement, with the db name normalised."""
    cur = conn.cursor()
    try:
        cur.execute(sql)
    except pymysql.err.MySQLError as e:
        return ("error", e.args[0], str(e.args[1]).replace(db, "DB"))
    rows = cur.fetchall()
    result = conn._result  # pymysql keeps the last OK/result packet here
    warnings = conn.show_warnings() if result and result.warning_count else ()
    return ("ok", cur.description and [d[:2] for d in cur.description], rows,
            conn.affected_rows(), conn.insert_id(), result.warning_count if result else 0,
            [(w[0], w[1], w[2].replace(db, "DB")) for w in warnings],
            info_text(result),
            result.server_status & 0x0001 if result and result.server_status is not None else 0)


def info_text(result):
    """The OK packet's info string. pymysql 1.0 keeps the raw rest of the packet, which with
    MariaDB starts with the string's length byte."""
    msg = (result.message or b"") if result else b""
    if msg and msg[0] == len(msg) - 1:
        msg = msg[1:]
    return msg.decode()


class Pymysql(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        # Each client session holds its own backend connection while it is open, so the pool
        # must cover the concurrent-session test.
        cls.target = harness.start_target(pool={"max-connections": 32, "max-idle": 16})
        cls.standin = cls.target.standin
        cls.standin.query("CREATE DATABASE IF NOT EXISTS test_py")

    def connect(self, **kw):
        kw.setdefault("database", "test_py")
        kw.setdefault("autocommit", True)
        return self.target.connect(**kw)

    def direct(self, **kw):
        kw.setdefault("database", "test_py")
        kw.setdefault("autocommit", True)
        return self.standin.connect(**kw)

    def test_text_types_and_metadata(self):
        sql = ("SELECT 1 AS i, -9223372036854775808 AS big, 18446744073709551615 AS ubig, "
               "'héllo' AS s, NULL AS n, 1.5e300 AS d, 12345.678 AS dec_, "
               "CAST('2024-02-29 23:59:58.123456' AS DATETIME(6)) AS dt, DATE '1999-12-31' AS da, "
               "TIME '-838:59:59' AS t, x'00ff7f' AS b, REPEAT('x', 70000) AS long_text")
        results = []
        for conn in (self.connect(), self.direct()):
            with conn.cursor() as cur:
                cur.execute(sql)
                results.append((cur.description, cur.fetchall()))
            conn.close()
        (desc, rows), (desc_direct, rows_direct) = results
        self.assertEqual(desc, desc_direct)
        self.assertEqual(rows, rows_direct)
        row = rows[0]
        self.assertEqual(row[0:5], (1, -9223372036854775808, 18446744073709551615, "héllo", None))
        self.assertEqual(row[6], decimal.Decimal("12345.678"))
        self.assertEqual(row[7], datetime.datetime(2024, 2, 29, 23, 59, 58, 123456))
        self.assertEqual(row[10], b"\x00\xff\x7f")
        self.assertEqual(len(row[11]), 70000)

    def test_many_rows(self):
        conn = self.connect()
        with conn.cursor() as cur:
            cur.execute("SELECT seq, MD5(seq) FROM seq_1_to_50000")
            rows = cur.fetchall()
        conn.close()
        self.assertEqual(len(rows), 50000)
        self.assertEqual(rows[-1], (50000, hashlib.md5(b"50000").hexdigest()))

    def test_multi_statement(self):
        conn = self.connect(client_flag=CLIENT.MULTI_STATEMENTS)
        cur = conn.cursor()
        cur.execute("DROP TABLE IF EXISTS ms; CREATE TABLE ms (id INT PRIMARY KEY AUTO_INCREMENT, "
                    "v VARCHAR(10)); INSERT INTO ms (v) VALUES ('a'),('b'),('c'); "
                    "SELECT 1 AS one; SELECT v FROM ms ORDER BY id; "
                    "UPDATE ms SET v = 'z' WHERE id > 1; SELECT COUNT(*) FROM ms WHERE v = 'z'")
        sets = []
        for _ in range(20):  # bounded: there are 7 results
            sets.append((cur.fetchall(), conn.affected_rows()))
            if not cur.nextset():
                break
        self.assertEqual(sets, [((), 0), ((), 0), ((), 3), (((1,),), 1),
                                ((("a",), ("b",), ("c",)), 3), ((), 2), (((2,),), 1)])
        # The connection is in sync afterwards.
        cur.execute("SELECT 'after'")
        self.assertEqual(cur.fetchall(), (("after",),))
        # An error in the middle ends the batch with that error; the first result arrived.
        cur.execute("SELECT 1; SELECT * FROM no_such_table; SELECT 3")
        self.assertEqual(cur.fetchall(), ((1,),))
        with self.assertRaises(pymysql.err.ProgrammingError) as cm:
            cur.nextset()
        self.assertEqual(cm.exception.args[0], 1146)
        cur.execute("SELECT 4")
        self.assertEqual(cur.fetchall(), ((4,),))
        conn.close()

    def test_transactions(self):
        conn = self.connect(autocommit=False)
        other = self.direct()
        cur = conn.cursor()
        cur.execute("DROP TABLE IF EXISTS tx")
        cur.execute("CREATE TABLE tx (id INT PRIMARY KEY) ENGINE=InnoDB")
        cur.execute("INSERT INTO tx VALUES (1)")
        cur.execute("SELECT @@in_transaction")
        self.assertEqual(cur.fetchone()[0], 1)
        with other.cursor() as oc:
            oc.execute("SELECT COUNT(*) FROM tx")
            self.assertEqual(oc.fetchone()[0], 0, "uncommitted row visible to another session")
        conn.rollback()
        cur.execute("SELECT COUNT(*) FROM tx")
        self.assertEqual(cur.fetchone()[0], 0)
        cur.execute("INSERT INTO tx VALUES (2)")
        cur.execute("INSERT INTO tx VALUES (3)")
        conn.commit()
        with other.cursor() as oc:
            oc.execute("SELECT id FROM tx ORDER BY id")
            self.assertEqual(oc.fetchall(), ((2,), (3,)))
        # START TRANSACTION / COMMIT as text, and a failed statement inside a transaction.
        cur.execute("START TRANSACTION")
        cur.execute("INSERT INTO tx VALUES (4)")
        with self.assertRaises(pymysql.err.IntegrityError):
            cur.execute("INSERT INTO tx VALUES (2)")
        cur.execute("COMMIT")
        cur.execute("SELECT id FROM tx ORDER BY id")
        self.assertEqual(cur.fetchall(), ((2,), (3,), (4,)))
        conn.close()
        other.close()

    def test_ok_packet_fields_identical_to_direct(self):
        script = [
            "DROP TABLE IF EXISTS okf",
            "CREATE TABLE okf (id INT PRIMARY KEY AUTO_INCREMENT, k INT UNIQUE, v VARCHAR(5), "
            "n TINYINT)",
            "INSERT INTO okf (k, v) VALUES (1, 'a'), (2, 'b'), (3, 'c')",
            "INSERT IGNORE INTO okf (k, v) VALUES (1, 'dup'), (4, 'd')",
            "INSERT INTO okf (k, v) VALUES (2, 'x') ON DUPLICATE KEY UPDATE v = 'upd'",
            "INSERT IGNORE INTO okf (k, v, n) VALUES (5, 'toolongvalue', 1000)",
            "UPDATE okf SET v = 'u' WHERE k >= 3",
            "UPDATE okf SET v = 'u' WHERE k >= 3",
            "SELECT CAST('12abc' AS INT), 1/0",
            "SET @x = LAST_INSERT_ID()",
            "SELECT @x, LAST_INSERT_ID(), ROW_COUNT(), FOUND_ROWS()",
            "ALTER TABLE okf ADD COLUMN extra INT DEFAULT 7",
            "DELETE FROM okf WHERE k IN (1, 2)",
            "SELECT * FROM okf ORDER BY id",
            "SELECT * FROM no_such_table",
            "SELEC 1",
            "INSERT INTO okf (k) VALUES (3)",
            "SHOW WARNINGS",
        ]
        self.standin.query("CREATE DATABASE IF NOT EXISTS test_okf_d")
        self.standin.query("CREATE DATABASE IF NOT EXISTS test_okf_t")
        conn = self.connect(database="test_okf_t")
        direct = self.direct(database="test_okf_d")
        got = [outcome(conn, s, "test_okf_t") for s in script]
        want = [outcome(direct, s, "test_okf_d") for s in script]
        conn.close()
        direct.close()
        for s, g, w in zip(script, got, want):
            self.assertEqual(g, w, f"statement {s!r}")
        # ... and the values are the interesting ones (so the test would notice a zeroed field).
        by_sql = dict(zip(script, got))
        self.assertEqual(by_sql[script[2]][3:5], (3, 1))  # 3 rows, first insert id 1
        self.assertEqual(by_sql[script[2]][7], "Records: 3  Duplicates: 0  Warnings: 0")
        self.assertEqual(by_sql[script[3]][5], 1)  # one duplicate-key warning
        self.assertEqual(by_sql[script[4]][3], 2)  # upsert that updated: 2 affected rows
        self.assertEqual(by_sql[script[5]][5], 2)  # truncated value + out of range
        self.assertEqual(by_sql[script[7]][3], 0)  # second identical UPDATE changes nothing
        self.assertIn("Rows matched: 3  Changed: 0", by_sql[script[7]][7])
        self.assertEqual(by_sql[script[14]][:2], ("error", 1146))
        self.assertEqual(by_sql[script[15]][:2], ("error", 1064))
        self.assertEqual(by_sql[script[16]][:2], ("error", 1062))

    def test_select_db_and_session_state(self):
        self.standin.query("CREATE DATABASE IF NOT EXISTS test_py_other")
        conn = self.connect()
        cur = conn.cursor()
        cur.execute("SET @v = 42, SESSION sql_mode = 'ANSI_QUOTES', SESSION time_zone = '+05:00'")
        cur.execute("CREATE TEMPORARY TABLE tmp1 (x INT)")
        cur.execute("INSERT INTO tmp1 VALUES (9)")
        conn.select_db("test_py_other")
        cur.execute("SELECT DATABASE()")
        self.assertEqual(cur.fetchone()[0], "test_py_other")
        cur.execute("DROP TABLE IF EXISTS where_am_i")
        cur.execute("CREATE TABLE where_am_i (x INT)")
        self.assertEqual(self.standin.query(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'test_py_other' "
            "AND TABLE_NAME = 'where_am_i'")[0][0], 1)
        conn.ping(reconnect=False)
        cur.execute("SELECT @v, @@session.sql_mode, @@session.time_zone, "
                    "(SELECT x FROM test_py.tmp1)")
        self.assertEqual(cur.fetchone(), (42, "ANSI_QUOTES", "+05:00", 9))
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            conn.select_db("no_such_db")
        self.assertEqual(cm.exception.args, (1049, "Unknown database 'no_such_db'"))
        cur.execute("SELECT DATABASE()")
        self.assertEqual(cur.fetchone()[0], "test_py_other")
        conn.close()

    def test_ping_and_statistics(self):
        conn = self.connect()
        for _ in range(5):
            conn.ping(reconnect=False)
        # pymysql has no public COM_STATISTICS; send it as the protocol does (one string reply).
        conn._execute_command(COMMAND.COM_STATISTICS, b"")
        text = conn._read_packet().read_all().decode()
        self.assertRegex(text, r"^Uptime: \d+\s+Threads: \d+\s+Questions: \d+")
        with conn.cursor() as cur:
            cur.execute("SELECT 'still in sync'")
            self.assertEqual(cur.fetchone()[0], "still in sync")
            cur.execute("SELECT CONNECTION_ID()")
            cid = cur.fetchone()[0]
            cur.execute("SHOW FULL PROCESSLIST")
            rows = cur.fetchall()
        mine = [r for r in rows if r[0] == cid]
        self.assertEqual(len(mine), 1, rows)
        self.assertEqual(mine[0][1], "root")
        self.assertEqual(mine[0][7], "SHOW FULL PROCESSLIST")
        conn.close()

    def test_non_root_user(self):
        conn = self.target.connect(user="tester", database="test")
        with conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER(), USER() LIKE 'tester@%'")
            self.assertEqual(cur.fetchone(), ("tester@%", 1))
            with self.assertRaises(pymysql.err.OperationalError) as cm:
                cur.execute("CREATE DATABASE forbidden_db")
            self.assertEqual(cm.exception.args[0], 1044)
            self.assertIn("Access denied for user 'tester'@'", cm.exception.args[1])
        conn.close()
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            self.target.connect(user="tester", database="mysql")
        self.assertEqual(cm.exception.args[0], 1044)

    def test_load_data_local_infile(self):
        rows = 120_000
        path = os.path.join(harness.session_dir(), "load.tsv")
        total = 0
        h = hashlib.md5()
        with open(path, "w") as f:
            for i in range(1, rows + 1):
                val = (i * 7919) % 100003
                total += val
                line = f"{i}\t{val}\trow-{i}-{'x' * (i % 13)}\n"
                h.update(line.encode())
                f.write(line)
        conn = self.connect(local_infile=True)
        cur = conn.cursor()
        cur.execute("DROP TABLE IF EXISTS loaded")
        cur.execute("CREATE TABLE loaded (id INT PRIMARY KEY, val INT, label VARCHAR(40))")
        cur.execute(f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE loaded "
                    "FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n'")
        self.assertEqual(conn.affected_rows(), rows)
        self.assertEqual(conn._result.warning_count, 0)
        cur.execute("SELECT 'in sync after LOCAL INFILE'")
        self.assertEqual(cur.fetchone()[0], "in sync after LOCAL INFILE")
        conn.close()
        self.assertEqual(self.standin.query("SELECT COUNT(*), SUM(val), MAX(label) FROM "
                                            "test_py.loaded WHERE id = 99999 OR id > 0")[0][:2],
                         (rows, total))
        # A file that does not exist: the client sends an empty file, the server says 0 rows,
        # and the connection stays usable.
        conn = self.connect(local_infile=True)
        cur = conn.cursor()
        try:
            cur.execute("LOAD DATA LOCAL INFILE '/nonexistent/ghostgate.tsv' INTO TABLE loaded")
        except pymysql.err.MySQLError:
            pass
        cur.execute("SELECT COUNT(*) FROM loaded")
        self.assertEqual(cur.fetchone()[0], rows)
        conn.close()

    def test_twenty_mib_blob(self):
        data = os.urandom(20 * MiB)
        digest = hashlib.md5(data).hexdigest()
        conn = self.connect(max_allowed_packet=64 * MiB, read_timeout=300, write_timeout=300)
        cur = conn.cursor()
        cur.execute("DROP TABLE IF EXISTS blobs")
        cur.execute("CREATE TABLE blobs (id INT PRIMARY KEY, b LONGBLOB)")
        cur.execute("INSERT INTO blobs VALUES (1, %s)", (data,))  # > 16 MiB: several frames
        self.assertEqual(conn.affected_rows(), 1)
        cur.execute("SELECT b, MD5(b), LENGTH(b) FROM blobs WHERE id = 1")
        back, server_md5, length = cur.fetchone()
        self.assertEqual(length, len(data))
        self.assertEqual(server_md5, digest)
        self.assertEqual(hashlib.md5(back).hexdigest(), digest)
        # Exactly one frame's worth (0xffffff) and one byte less/more: the boundary cases.
        for n in (0xFFFFFF - 64, 0xFFFFFF - 30, 0xFFFFFF, 0xFFFFFF + 1):
            cur.execute("SELECT REPEAT('a', %s)", (n,))
            self.assertEqual(len(cur.fetchone()[0]), n)
        cur.execute("SELECT 'ok'")
        self.assertEqual(cur.fetchone()[0], "ok")
        conn.close()

    def test_concurrent_sessions_are_isolated(self):
        errors = []

        def worker(n):
            try:
                conn = self.connect()
                with conn.cursor() as cur:
                    for i in range(50):
                        cur.execute("SET @me = %s", (f"{n}-{i}",))
                        cur.execute("SELECT @me, SLEEP(0)")
                        got = cur.fetchone()[0]
                        if got != f"{n}-{i}":
                            errors.append(f"session {n} saw {got!r}")
                            return
                conn.close()
            except Exception as e:  # reported below
                errors.append(f"session {n}: {e!r}")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertFalse([t for t in threads if t.is_alive()], "a session hung")
        self.assertEqual(errors, [])


if __name__ == "__main__":
    harness.main()
