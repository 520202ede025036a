#!/usr/bin/python3
"""Online DDL end to end: every recorded gh-ost / pt-osc run in ../shared/traces is replayed
through ghostgate onto its before.sql, and the downstream must end exactly as expected.txt says
upstream ended: same SHOW CREATE TABLE (AUTO_INCREMENT=N aside), row count, CHECKSUM TABLE and
ordered md5 for every real table, and no helper table or trigger left.

Through ghostgate, each replay must also have kept the online-schema-change tool's own traffic
off the backend (the stand-in's general log: no statement that names a helper table or trigger
reached it, ghostgate's catalog lookups and meta-table writes aside), and counted exactly one
cut-over (/metrics); a naive replay without online DDL reaches the same end state, so the end
state alone would not tell.

Each trace is replayed three ways:
  * cli:     the `mariadb` client, statement by statement, one connection (as `mysqlbinlog | mysql`)
  * batches: pymysql with CLIENT_MULTI_STATEMENTS, each transaction sent as one batch, DDL on one
             connection and the row changes on another (as a parallel applier does)
  * ps:      mysql-connector-c++ (tests/tools/ps_replay) with server-side prepared statements, as
             a JDBC-style sink applies a stream: each row change PREPAREd with its values as `?`
             parameters (typed: integers, exact decimals and dates as strings, NULL, bytes) and
             EXECUTEd, statements cached by text; DDL, BEGIN/COMMIT prepared too

    /usr/bin/python3 tests/integration/test_traces.py            # through ghostgate
"""

import json
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


def cutovers(gate):
    """ghostgate_cutovers_total by result ("ok", "failed"), from /metrics."""
    found = re.findall(r'^ghostgate_cutovers_total\{result="(\w+)"\} (\d+)$',
                       admin_get(gate, "/metrics"), re.M)
    return {result: int(n) for result, n in found}


# ---- what reached the backend: the stand-in's general log

# An entry: [date time] <connection id> <command>\t<argument>; arguments may span lines.
GENERAL_ENTRY = re.compile(r"^(?:\d{6}\s+\d{1,2}:\d{2}:\d{2})?\s+(\d+) ([A-Z][a-z]+(?: [A-Za-z]+)?)"
                           r"\t(.*)$")
# ghostgate's own statements that name the tables it looks at: catalog lookups and the meta table.
LOOKUP = "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE "
META_SCHEMA = "`dm_meta`."
# Helper tables and triggers of every built-in tool (rules/TOOLS.md), for tests/traces/ as well.
HELPER_NAME = re.compile(
    r"`(_[^`]*_(?:gho|ghc|ghk|del|new|old|chkpnt|vrepl)|_spirit_\w+|lhm[na]_[^`]*|_vt_[a-z]{3}_\w+"
    r"|~[^`]*|tp_\d+_\w+|__(?:oak|arc)_[^`]*)`|\b(pt_osc_\w+|lhmt_\w+|\w+_A[IUD]_oak)\b")


# Traces with more than one cut-over: a migration and its revert (which counts as one).
CUTOVERS = {"ghost-revert": 2, "vitess-revert": 2}


def read_from(path, offset):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def queries(general_log, commands=("Query",)):
    """The arguments of the `commands` entries (Query; Prepare, Execute) of a general-log
    excerpt, in order."""
    out, current = [], None
    if general_log.endswith("\n"):
        general_log = general_log[:-1]
    for line in general_log.split("\n"):
        m = GENERAL_ENTRY.match(line)
        if m:
            if current is not None:
                out.append("\n".join(current))
            current = [m.group(3)] if m.group(2) in commands else None
        elif current is not None:
            current.append(line)
    if current is not None:
        out.append("\n".join(current))
    return out


def helper_names(text):
    return {name for pair in HELPER_NAME.findall(text) for name in pair if name}


def helper_traffic(statements, helpers):
    """The statements that name one of `helpers` or a trigger, ghostgate's own lookups and
    meta-table writes aside."""
    return [q for q in statements
            if not q.startswith(LOOKUP) and META_SCHEMA not in q
            and (re.search(r"\btrigger\b", q, re.I) or helper_names(q) & helpers)]


# ---- prepared-statement replay (ps mode)

_HEAD = re.compile(r"\s*(?:/\*.*?\*/\s*)*([A-Za-z]+)", re.S)
_INTRODUCER = re.compile(r"_([A-Za-z0-9]+)\s*'")
_HEX = re.compile(r"[xX]'([0-9A-Fa-f]*)'|0x([0-9A-Fa-f]+)")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)")
_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_OTHER = re.compile(r"<=>|<=|>=|<>|!=|.", re.S)
# What a backslash escape in a MySQL string literal means (default sql_mode).
_ESCAPES = {"0": "\0", "'": "'", '"': '"', "b": "\b", "n": "\n", "r": "\r", "t": "\t",
            "Z": "\x1a", "\\": "\\", "%": "\\%", "_": "\\_"}
# After these tokens a `-` is a sign, not a minus.
_SIGN_CONTEXT = {"=", ",", "(", "VALUES", "<", ">", "<=", ">=", "<=>", "!=", "<>"}


def head_word(sql):
    m = _HEAD.match(sql)
    return m.group(1).upper() if m else ""


def parameterize(sql):
    """A row change with its literal values turned into `?`: (sql, [(type, bytes), ...]).

    type: i/u integer (decimal text), s string (also exact decimals and dates: the server converts
    them as it converts the literal), b bytes (hex and _binary literals), n NULL. `IS [NOT] NULL`
    and LIMIT counts stay literal, as a sink writes them."""
    out, params = [], []
    i, n = 0, len(sql)
    prev = ["", ""]  # the last two significant tokens, words upper-cased

    def push(tok):
        prev[0], prev[1] = prev[1], tok

    def boundary(k):
        return k == 0 or not (sql[k - 1].isalnum() or sql[k - 1] == "_")

    while i < n:
        c = sql[i]
        if c.isspace():
            out.append(c)
            i += 1
            continue
        if c == "`":
            j = i + 1
            while True:
                j = sql.index("`", j)
                if j + 1 < n and sql[j + 1] == "`":
                    j += 2
                    continue
                break
            out.append(sql[i:j + 1])
            i = j + 1
            push("`")
            continue
        if sql.startswith("/*", i):
            j = sql.index("*/", i + 2) + 2
            out.append(sql[i:j])
            i = j
            continue
        binary = False
        m = _INTRODUCER.match(sql, i) if boundary(i) else None
        if m:
            binary = m.group(1).lower() == "binary"
            i = m.end() - 1
            c = "'"
        if c in "'\"":
            j, buf = i + 1, []
            while True:
                d = sql[j]
                if d == "\\":
                    buf.append(_ESCAPES.get(sql[j + 1], sql[j + 1]))
                    j += 2
                elif d == c and j + 1 < n and sql[j + 1] == c:
                    buf.append(c)
                    j += 2
                elif d == c:
                    break
                else:
                    buf.append(d)
                    j += 1
            params.append(("b" if binary else "s", "".join(buf).encode("utf-8")))
            out.append("?")
            i = j + 1
            push("lit")
            continue
        m = _HEX.match(sql, i) if boundary(i) else None
        if m:
            params.append(("b", bytes.fromhex(m.group(1) if m.group(1) is not None
                                              else m.group(2))))
            out.append("?")
            i = m.end()
            push("lit")
            continue
        m = _NUMBER.match(sql, i) if boundary(i) else None
        if m and (c != "-" or prev[1] in _SIGN_CONTEXT):
            text = m.group(0)
            if prev[1] == "LIMIT" or (prev[1] == "," and prev[0] == "limit-count"):
                out.append(text)
                push("limit-count")
            else:
                if re.fullmatch(r"-?\d+", text):
                    params.append(("i" if -2**63 <= int(text) < 2**63 else "u", text.encode()))
                else:
                    params.append(("s", text.encode()))
                out.append("?")
                push("lit")
            i = m.end()
            continue
        m = _WORD.match(sql, i)
        if m:
            word = m.group(0).upper()
            if word == "NULL" and prev[1] not in ("IS", "NOT"):
                params.append(("n", b""))
                out.append("?")
                push("lit")
            else:
                out.append(m.group(0))
                push(word)
            i = m.end()
            continue
        m = _OTHER.match(sql, i)
        out.append(m.group(0))
        i = m.end()
        push(m.group(0))
    return "".join(out), params


def ps_record(mode, sql, params=()):
    """One ps_replay input record (see tests/tools/ps_replay.cc)."""
    data = sql.encode("utf-8")
    rec = f"{mode} {len(data)} {len(params)}\n".encode() + data
    for kind, value in params:
        rec += f"{kind} {len(value)}\n".encode() + value
    return rec


def ps_records(statements):
    """The ps_replay input for a trace.

    Row changes are prepared with their values as parameters; every other statement is prepared
    as it stands (MariaDB 10.11 prepares all of them: CREATE/DROP TABLE, ALTER, RENAME, CREATE
    TRIGGER with a BEGIN...END body, DROP TRIGGER, ANALYZE, BEGIN, COMMIT). The one exception is
    USE: MySQL cannot prepare it, so a sink switches databases with COM_INIT_DB
    (Connection::setSchema) instead - which is what ghostgate must then track."""
    out = [ps_record("T", "SET SESSION foreign_key_checks=0")]
    for stmt in statements:
        head = head_word(stmt)
        if head == "USE":
            db = stmt.strip()[3:].strip().rstrip(";").strip()
            if db.startswith("`") and db.endswith("`"):
                db = db[1:-1].replace("``", "`")
            out.append(ps_record("U", db))
        elif head in ("INSERT", "REPLACE", "UPDATE", "DELETE"):
            out.append(ps_record("P", *parameterize(stmt)))
        else:
            out.append(ps_record("P", stmt))
    return b"".join(out)


_ROW_CHANGE = re.compile(r"(?:INSERT\s+INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM)\s+"
                         r"(?:`(?:[^`]|``)*`\.)?`((?:[^`]|``)*)`", re.I)


def row_change_table(sql):
    """The table a trace's row change writes to (None for anything else)."""
    m = _ROW_CHANGE.match(sql.lstrip())
    return m.group(1).replace("``", "`") if m else None


def ps_replay_path():
    """tests/tools/ps_replay: $GHOSTGATE_PS_REPLAY, else next to $GHOSTGATE_CPPCONN_CLIENT."""
    if os.environ.get("GHOSTGATE_PS_REPLAY"):
        return os.environ["GHOSTGATE_PS_REPLAY"]
    client = os.environ.get("GHOSTGATE_CPPCONN_CLIENT")
    if client:
        cand = os.path.join(os.path.dirname(client), "ps_replay")
        if os.access(cand, os.X_OK):
            return cand
    return harness.tool_path("ps_replay")


def normalize_create(sql):
    return re.sub(r" AUTO_INCREMENT=\d+", "", sql).strip()


def split_table(key):
    """An expected.txt table key: `t` (in `test`) or `shop`.`orders` -> (schema, table)."""
    schema, sep, table = key.partition("`.`")
    return (schema, table) if sep else ("test", key)


def trace_file(owner, name, fname):
    """A file of trace `name`: owner.trace_file(name, fname) when the class whose test borrows
    Traces' methods says where its traces are (test_shard_merge), else in traces_dir()."""
    custom = getattr(owner, "trace_file", None)
    return custom(name, fname) if custom else os.path.join(traces_dir(), name, fname)


class Traces(harness.TestCase):
    """Other tests borrow these methods (test_crash, test_one_truth, ...); test_shard_merge's
    classes also give trace_file(), expected_cutovers() and cutover_counts()."""

    @classmethod
    def setUpClass(cls):
        # The stand-in's general log shows what reached the backend.
        cls.target = harness.start_target(general_log=harness.mode() == harness.MODE_GHOSTGATE)
        cls.standin = cls.target.standin

    def load_before(self, name):
        path = trace_file(self, name, "before.sql")
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
        expected, session_set = parse_expected(trace_file(self, name, "expected.txt"))
        by_schema = {}
        for key in expected:
            schema, table = split_table(key)
            by_schema.setdefault(schema, []).append(table)
        conn = self.standin.connect(autocommit=True)
        with conn.cursor() as cur:
            if session_set:
                cur.execute(session_set)
            for schema, tables in sorted(by_schema.items()):
                cur.execute(f"SHOW TABLES FROM `{schema}`")
                self.assertEqual(sorted(r[0] for r in cur.fetchall()), sorted(tables),
                                 f"{name}: tables downstream in {schema}")
                cur.execute(f"SHOW TRIGGERS FROM `{schema}`")
                self.assertEqual(cur.fetchall(), (), f"{name}: triggers downstream in {schema}")
            for key, want in expected.items():
                table = "`{}`.`{}`".format(*split_table(key))
                cur.execute(f"SHOW CREATE TABLE {table}")
                self.assertEqual(normalize_create(cur.fetchone()[1]), want["create"],
                                 f"{name}: schema of {table}")
                cur.execute(f"SELECT COUNT(*) FROM {table}")
                self.assertEqual(str(cur.fetchone()[0]), want["count"], f"{name}: rows of {table}")
                cur.execute(f"CHECKSUM TABLE {table}")
                self.assertEqual(str(cur.fetchone()[1]), want["checksum"],
                                 f"{name}: checksum of {table}")
                cur.execute(want["md5_query"].rstrip(";"))
                self.assertEqual(cur.fetchone()[1], want["md5"], f"{name}: md5 of {table}")
        conn.close()
        # Nothing is left pending in ghostgate for a finished migration.
        if self.target.gate:
            state = json.loads(admin_get(self.target.gate, "/online-ddl"))
            self.assertTrue(state["ready"], f"{name}: {state}")
            self.assertEqual(state["pending"], [], f"{name}: state left in ghostgate")

    def replay_cli(self, name):
        path = trace_file(self, name, "trace.sql")
        with open(path, "rb") as f:
            data = b"SET SESSION foreign_key_checks=0;\n" + f.read()
        r = subprocess.run(cli_args(self.target.gate or self.standin) + ["--force"], input=data, timeout=300,
                           capture_output=True)
        self.assertEqual(r.stderr.decode(errors="replace"), "", f"{name}: replay errors")
        self.assertEqual(r.returncode, 0)

    def replay_batches(self, name):
        statements = parse_trace(trace_file(self, name, "trace.sql"))
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

    def stmt_counters(self):
        rows = self.standin.query("SHOW GLOBAL STATUS WHERE Variable_name IN "
                                  "('Com_stmt_prepare', 'Com_stmt_execute')")
        return {k: int(v) for k, v in rows}

    def replay_ps(self, name):
        statements = parse_trace(trace_file(self, name, "trace.sql"))
        records = ps_records(statements)
        p = self.target.params(database="test")
        before = self.stmt_counters()
        r = subprocess.run([ps_replay_path(), p["host"], str(p["port"]), p["user"], p["password"],
                            "test"], input=records, capture_output=True, timeout=300)
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, f"{name}: ps_replay errors:\n{out[-4000:]}"
                         f"{r.stderr.decode(errors='replace')[-2000:]}")
        # The row changes really reached the backend as server-side prepared statements.
        after = self.stmt_counters()
        expected, _ = parse_expected(trace_file(self, name, "expected.txt"))
        real_tables = {split_table(key)[1] for key in expected}
        row_changes = sum(1 for s in statements if row_change_table(s) in real_tables)
        self.assertGreater(after["Com_stmt_prepare"] - before["Com_stmt_prepare"], 0, name)
        self.assertGreaterEqual(after["Com_stmt_execute"] - before["Com_stmt_execute"],
                                row_changes, f"{name}: prepared executions on the backend")

    def run_trace(self, name, how):
        with self.subTest(trace=name, how=how):
            self.load_before(name)
            gate = self.target.gate
            if gate:
                log_offset = os.path.getsize(self.standin.general_log_file)
                before = self.cutover_counts(gate)
            {"cli": self.replay_cli, "batches": self.replay_batches,
             "ps": self.replay_ps}[how](name)
            self.check_downstream(name)
            if gate:
                self.check_online_ddl_was_done(name, log_offset, before)

    def check_online_ddl_was_done(self, name, log_offset, cutovers_before):
        """ghostgate, not a naive replay, brought the downstream where it is: none of the
        tool's helper traffic reached the backend, and one cut-over ran."""
        with open(trace_file(self, name, "trace.sql"), encoding="utf-8") as f:
            helpers = helper_names(f.read())
        self.assertTrue(helpers, f"{name}: no helper table in the trace")
        received = queries(read_from(self.standin.general_log_file, log_offset),
                           ("Query", "Prepare", "Execute"))
        self.assertTrue(received, f"{name}: nothing in the stand-in's general log")
        leaked = helper_traffic(received, helpers)
        self.assertEqual(leaked[:5], [], f"{name}: {len(leaked)} helper statements reached the "
                         "backend")
        after = self.cutover_counts(self.target.gate)
        self.assertEqual(after.get("ok", 0) - cutovers_before.get("ok", 0),
                         self.expected_cutovers(name), f"{name}: cut-overs counted")
        for result in set(after) | set(cutovers_before):
            if result != "ok":
                self.assertEqual(after.get(result, 0), cutovers_before.get(result, 0),
                                 f"{name}: cut-overs counted {result!r}")

    def expected_cutovers(self, name):
        return CUTOVERS.get(name, 1)

    def cutover_counts(self, gate):
        return cutovers(gate)

    def test_cli(self):
        for name in trace_names():
            self.run_trace(name, "cli")

    def test_batches_two_connections(self):
        for name in trace_names():
            self.run_trace(name, "batches")

    def test_prepared_statements(self):
        for name in trace_names():
            self.run_trace(name, "ps")

    def test_prepared_use_switches_the_database(self):
        # MariaDB prepares USE (MySQL does not): a sink that sends it as COM_STMT_PREPARE +
        # EXECUTE moves to another database, and the unqualified ghost and cut-over names that
        # follow are in that database. Connected with `test` as the database, which has an `x`
        # too: resolved there, the cut-over would alter test.x and leave ps_use.x as it was.
        st = self.standin
        st.query("DROP TABLE IF EXISTS test.x")
        st.query("CREATE TABLE test.x (id INT PRIMARY KEY, v INT)")
        st.query("DROP DATABASE IF EXISTS ps_use")
        st.query("CREATE DATABASE ps_use")
        st.query("CREATE TABLE ps_use.x (id INT PRIMARY KEY, v INT)")
        st.query("INSERT INTO ps_use.x VALUES (1, 10), (2, 20)")
        records = b"".join([
            ps_record("P", "USE ps_use"),
            ps_record("P", "CREATE TABLE _x_gho LIKE x"),
            ps_record("P", "ALTER TABLE _x_gho ADD COLUMN c INT NOT NULL DEFAULT 7"),
            ps_record("P", "INSERT INTO _x_gho (id, v) VALUES (?, ?)", [("i", b"1"), ("i", b"10")]),
            ps_record("P", "INSERT INTO _x_gho (id, v) VALUES (?, ?)", [("i", b"2"), ("i", b"20")]),
            ps_record("P", "RENAME TABLE x TO _x_del, _x_gho TO x"),
            ps_record("P", "DROP TABLE IF EXISTS _x_del"),
        ])
        p = self.target.params(database="test")
        r = subprocess.run([ps_replay_path(), p["host"], str(p["port"]), p["user"], p["password"],
                            "test"], input=records, capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout.decode(errors="replace")[-2000:])
        self.assertEqual(st.query("SELECT id, v, c FROM ps_use.x ORDER BY id"),
                         ((1, 10, 7), (2, 20, 7)))
        self.assertEqual(st.query("SHOW TABLES FROM ps_use"), (("x",),))
        self.assertEqual(st.query("SHOW TABLES FROM test LIKE '\\_x\\_%'"), ())
        self.assertEqual([r[0] for r in st.query("SHOW COLUMNS FROM test.x")], ["id", "v"])
        st.query("DROP DATABASE ps_use")
        st.query("DROP TABLE test.x")


if __name__ == "__main__":
    harness.main()
