#!/usr/bin/python3
"""Online DDL end to end: every recorded gh-ost / pt-osc run in ../shared/traces is replayed
through ghostgate onto its before.sql, and the downstream must end exactly as expected.txt says
upstream ended: same SHOW CREATE TABLE (AUTO_INCREMENT=N aside), row count, CHECKSUM TABLE and
ordered md5 for every real table, and no helper table or trigger left.

Each trace is replayed two ways:
  * cli:     the `mariadb` client, statement by statement, one connection (as `mysqlbinlog | mysql`)
  * batches: pymysql with CLIENT_MULTI_STATEMENTS, each transaction sent as one batch, DDL on one
             connection and the row changes on another (as a parallel applier does)

    /usr/bin/python3 tests/integration/test_traces.py            # through ghostgate
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import harness  # noqa: E402
from pymysql.constants import CLIENT  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def traces_dir():
    d = os.environ.get("GHOSTGATE_TRACES") or os.path.normpath(
        os.path.join(HERE, "..", "..", "..", "shared", "traces"))
    if not os.path.isdir(d):
        raise RuntimeError(f"trace fixtures not found at {d} (set GHOSTGATE_TRACES)")
    return d


def trace_names():
    d = traces_dir()
    names = sorted(n for n in os.listdir(d) if os.path.isfile(os.path.join(d, n, "trace.sql")))
    if not names:
        raise RuntimeError(f"no traces in {d}")
    return names


def parse_trace(path):
    """Statements of trace.sql in order, honouring DELIMITER blocks (a client-side convention)."""
    statements, buf, delim = [], [], ";"
    with open(path, encoding="utf-8") as f:
        for line in f:
            stripped = line.rstrip("\n")
            if not buf and stripped.startswith("DELIMITER "):
                delim = stripped.split(None, 1)[1].strip()
                continue
            buf.append(stripped)
            if stripped.rstrip().endswith(delim):
                text = "\n".join(buf).rstrip()
                statements.append(text[: -len(delim)].rstrip())
                buf = []
    if buf and "".join(buf).strip():
        statements.append("\n".join(buf).strip())
    return statements


def parse_expected(path):
    """{table: {"create", "count", "checksum", "md5_query", "md5"}} and the session SET line."""
    tables, cur, mode, session_set = {}, None, None, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"#\s+(SET SESSION .*);\s*$", line)
            if m:
                session_set = m.group(1)
            m = re.match(r"== TABLE `(.+)`$", line)
            if m:
                cur = tables.setdefault(m.group(1), {"create": []})
                mode = None
                continue
            if cur is None:
                continue
            if line == "-- SHOW CREATE TABLE":
                mode = "create"
                continue
            for key, label in (("count", "SELECT COUNT(*)"), ("checksum", "CHECKSUM TABLE"),
                               ("md5_query", "md5 query"), ("md5", "md5")):
                if line.startswith(f"-- {label}: "):
                    cur[key] = line[len(f"-- {label}: "):]
                    mode = None
                    break
            else:
                if mode == "create" and line:
                    cur["create"].append(line)
    for t in tables.values():
        t["create"] = normalize_create("\n".join(t["create"]).rstrip(";"))
    return tables, session_set


def cli_args(endpoint, database=None):
    p = endpoint.params(database=database)
    args = ["mariadb", f"-h{p['host']}", f"-P{p['port']}", f"-u{p['user']}",
            f"-p{p['password']}", "--skip-ssl"]
    return args + ([p["database"]] if database else [])


def admin_get(gate, path):
    import urllib.request
    with urllib.request.urlopen(f"http://{gate.host}:{gate.admin_port}{path}", timeout=10) as r:
        return r.read().decode()


def normalize_create(sql):
    return re.sub(r" AUTO_INCREMENT=\d+", "", sql).strip()


class Traces(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = harness.start_target()
        cls.standin = cls.target.standin

    def load_before(self, name):
        path = os.path.join(traces_dir(), name, "before.sql")
        with open(path, "rb") as f:
            subprocess.run(cli_args(self.standin), stdin=f, check=True, timeout=120,
                           capture_output=True)
        conn = self.standin.connect(autocommit=True)
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES LIKE 'dm_meta'")
            if cur.fetchone():
                cur.execute("SHOW TABLES FROM dm_meta")
                for (t,) in cur.fetchall():
                    cur.execute(f"DELETE FROM dm_meta.`{t}`")
        conn.close()

    def check_downstream(self, name):
        expected, session_set = parse_expected(os.path.join(traces_dir(), name, "expected.txt"))
        conn = self.standin.connect(database="test", autocommit=True)
        with conn.cursor() as cur:
            if session_set:
                cur.execute(session_set)
            cur.execute("SHOW TABLES")
            tables = sorted(r[0] for r in cur.fetchall())
            self.assertEqual(tables, sorted(expected), f"{name}: tables downstream")
            cur.execute("SHOW TRIGGERS")
            self.assertEqual(cur.fetchall(), (), f"{name}: triggers downstream")
            for table, want in expected.items():
                cur.execute(f"SHOW CREATE TABLE `{table}`")
                self.assertEqual(normalize_create(cur.fetchone()[1]), want["create"],
                                 f"{name}: schema of {table}")
                cur.execute(f"SELECT COUNT(*) FROM `{table}`")
                self.assertEqual(str(cur.fetchone()[0]), want["count"], f"{name}: rows of {table}")
                cur.execute(f"CHECKSUM TABLE `{table}`")
                self.assertEqual(str(cur.fetchone()[1]), want["checksum"],
                                 f"{name}: checksum of {table}")
                cur.execute(want["md5_query"].rstrip(";"))
                self.assertEqual(cur.fetchone()[1], want["md5"], f"{name}: md5 of {table}")
        conn.close()
        # Nothing is left pending in ghostgate for a finished migration.
        if self.target.gate:
            state = admin_get(self.target.gate, "/online-ddl")
            self.assertNotIn('"ddls"', state, f"{name}: state left in ghostgate: {state}")

    def replay_cli(self, name):
        path = os.path.join(traces_dir(), name, "trace.sql")
        with open(path, "rb") as f:
            data = b"SET SESSION foreign_key_checks=0;\n" + f.read()
        r = subprocess.run(cli_args(self.target.gate or self.standin) + ["--force"], input=data, timeout=300,
                           capture_output=True)
        self.assertEqual(r.stderr.decode(errors="replace"), "", f"{name}: replay errors")
        self.assertEqual(r.returncode, 0)

    def replay_batches(self, name):
        statements = parse_trace(os.path.join(traces_dir(), name, "trace.sql"))
        ddl = self.target.connect(client_flag=CLIENT.MULTI_STATEMENTS, autocommit=True)
        rows = self.target.connect(client_flag=CLIENT.MULTI_STATEMENTS, autocommit=True)
        for conn in (ddl, rows):
            with conn.cursor() as cur:
                cur.execute("SET SESSION foreign_key_checks=0")
        txn = None
        for stmt in statements:
            head = stmt.lstrip().split(None, 1)[0].upper() if stmt.strip() else ""
            if head == "BEGIN":
                txn = [stmt]
                continue
            if txn is not None:
                txn.append(stmt)
                if head == "COMMIT":
                    with rows.cursor() as cur:
                        cur.execute(";\n".join(txn))
                        while cur.nextset():
                            pass
                    txn = None
                continue
            for conn in ((ddl, rows) if head == "USE" else (ddl,)):
                with conn.cursor() as cur:
                    cur.execute(stmt)
        ddl.close()
        rows.close()

    def run_trace(self, name, how):
        with self.subTest(trace=name, how=how):
            self.load_before(name)
            (self.replay_cli if how == "cli" else self.replay_batches)(name)
            self.check_downstream(name)

    def test_cli(self):
        for name in trace_names():
            self.run_trace(name, "cli")

    def test_batches_two_connections(self):
        for name in trace_names():
            self.run_trace(name, "batches")


if __name__ == "__main__":
    harness.main()
