#!/usr/bin/python3
"""Operations, part 1: the admin HTTP endpoint, the Prometheus metrics and the logs.

  * /healthz is 200 "ok"; an unknown path is 404; a POST is 405 with Allow.
  * /readyz is 200 "ready" with the backend up and the online-DDL state loaded; 503 naming the
    reason when the backend is stopped (and 200 again once it is back); 503 naming the meta
    table when the online-DDL state cannot be loaded.
  * /metrics parses with a strict parser of the Prometheus text format 0.0.4 (HELP/TYPE before
    the samples, every sample in a declared family, names, label syntax and escapes, values,
    no duplicates, histogram buckets cumulative with +Inf == _count) and has every family an
    operator alerts on.
  * Counters move by exactly the traffic sent: M connections -> connections_total +M; N SELECTs
    and K INSERTs -> statements{forwarded} +N / +K; refused connections over max-connections;
    bytes received/sent == the bytes the clients wrote/read on the wire.
  * /online-ddl lists a pending gh-ost ghost (real table, recorded DDLs, since) after
    CREATE TABLE _t_gho LIKE t + ALTER TABLE _t_gho, and is empty after the cut-over RENAME.
  * After replaying a recorded trace (tests/integration/test_traces.py's fixtures), the
    suppressed / recorded / cut-over counts equal what an independent, simple classification of
    the trace's statements in this file predicts.
  * Logs: every text line has the documented shape and an online-DDL event names its client
    connection; with log.format json every line is a JSON object with ts/level/msg (+ conn).

These tests are about ghostgate itself: GHOSTGATE_IT_MODE=direct does not apply to them.
The helpers here (http_get, parse_prometheus, Scrape, ...) are shared with test_signals.py and
test_check_config.py.

    GHOSTGATE_BIN=build/ghostgate /usr/bin/python3 tests/integration/test_admin.py
"""

import json
import math
import os
import re
import sys
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import pymysql  # noqa: E402

# --------------------------------------------------------------------------------------------
# HTTP


def http_get(port, path, method="GET", host="127.0.0.1", timeout=10):
    """(status, headers, body text) of one request to the admin endpoint."""
    req = urllib.request.Request(f"http://{host}:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8")


def admin(gate, path, method="GET"):
    return http_get(gate.admin_port, path, method)


# --------------------------------------------------------------------------------------------
# Prometheus text exposition format 0.0.4, parsed strictly

METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class PrometheusError(AssertionError):
    pass


def _parse_value(text, where):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise PrometheusError(f"{where}: bad value {text!r}")
    return float(text)


def _parse_labels(text, where):
    """`a="x",b="y\\"z"` -> {"a": "x", "b": 'y"z'}; strict about syntax and escapes."""
    labels, i = {}, 0
    while i < len(text):
        m = re.compile(LABEL_NAME).match(text, i)
        if not m:
            raise PrometheusError(f"{where}: bad label name at {text[i:]!r}")
        name = m.group(0)
        i = m.end()
        if text[i:i + 2] != '="':
            raise PrometheusError(f"{where}: expected =\" after label {name}")
        i += 2
        value = []
        while True:
            if i >= len(text):
                raise PrometheusError(f"{where}: unterminated value of label {name}")
            c = text[i]
            if c == "\\":
                esc = text[i + 1:i + 2]
                if esc not in ("\\", '"', "n"):
                    raise PrometheusError(f"{where}: bad escape \\{esc} in label {name}")
                value.append("\n" if esc == "n" else esc)
                i += 2
                continue
            if c == "\n":
                raise PrometheusError(f"{where}: raw newline in label {name}")
            if c == '"':
                i += 1
                break
            value.append(c)
            i += 1
        if name in labels:
            raise PrometheusError(f"{where}: label {name} twice")
        labels[name] = "".join(value)
        if i == len(text):
            break
        if text[i] != ",":
            raise PrometheusError(f"{where}: expected , between labels at {text[i:]!r}")
        i += 1
        if i == len(text):
            raise PrometheusError(f"{where}: trailing comma in labels")
    return labels


def _split_sample(line, where):
    m = re.compile(METRIC_NAME).match(line)
    if not m:
        raise PrometheusError(f"{where}: bad metric name in {line!r}")
    name, rest = m.group(0), line[m.end():]
    labels = {}
    if rest.startswith("{"):
        # Find the closing brace outside quoted values.
        i, quoted = 1, False
        while i < len(rest):
            c = rest[i]
            if quoted and c == "\\":
                i += 2
                continue
            if c == '"':
                quoted = not quoted
            elif c == "}" and not quoted:
                break
            i += 1
        else:
            raise PrometheusError(f"{where}: unterminated label set")
        labels = _parse_labels(rest[1:i], where)
        rest = rest[i + 1:]
    if not rest.startswith(" "):
        raise PrometheusError(f"{where}: expected a space before the value in {line!r}")
    parts = rest.strip(" ").split(" ")
    if len(parts) not in (1, 2) or any(p == "" for p in parts):
        raise PrometheusError(f"{where}: expected VALUE [TIMESTAMP] in {line!r}")
    value = _parse_value(parts[0], where)
    if len(parts) == 2 and not re.fullmatch(r"-?\d+", parts[1]):
        raise PrometheusError(f"{where}: bad timestamp {parts[1]!r}")
    return name, labels, value


def _family_of(sample, families):
    """The declared family a sample belongs to (histogram/summary suffixes resolved)."""
    if sample in families:
        return sample
    for suffix in ("_bucket", "_sum", "_count"):
        if sample.endswith(suffix):
            base = sample[: -len(suffix)]
            if base in families and families[base]["type"] in ("histogram", "summary"):
                if suffix == "_bucket" and families[base]["type"] != "histogram":
                    continue
                return base
    return None


def parse_prometheus(text):
    """{family: {"type", "help", "samples": [(sample_name, labels, value)]}}.

    Raises PrometheusError for anything a strict reading of the 0.0.4 text format rejects,
    plus the checks a scraper relies on: HELP and TYPE once each, before the family's samples;
    every sample in a declared family; families not interleaved; no duplicate series; counters
    and histogram counts non-negative; histogram buckets cumulative, with +Inf equal to _count.
    """
    if not text.endswith("\n"):
        raise PrometheusError("the exposition must end with a newline")
    families = {}
    order = []          # families in order of first appearance
    closed = set()      # families another family has followed
    current = None
    seen_series = set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = f"line {n}"
        if line == "":
            continue
        if line.startswith("#"):
            m = re.fullmatch(rf"# (HELP|TYPE) ({METRIC_NAME}) ?(.*)", line)
            if not m:
                if line.startswith("# HELP") or line.startswith("# TYPE"):
                    raise PrometheusError(f"{where}: malformed {line!r}")
                continue  # a plain comment
            kind, name, rest = m.groups()
            fam = families.get(name)
            if fam is None:
                if name in closed:
                    raise PrometheusError(f"{where}: family {name} reappears")
                fam = families[name] = {"type": None, "help": None, "samples": []}
                order.append(name)
            if current is not None and current != name:
                closed.add(current)
            if name in closed:
                raise PrometheusError(f"{where}: family {name} is not contiguous")
            current = name
            if kind == "HELP":
                if fam["help"] is not None:
                    raise PrometheusError(f"{where}: second HELP for {name}")
                if not re.fullmatch(r"(?:[^\\]|\\[\\n])*", rest):
                    raise PrometheusError(f"{where}: bad escape in HELP of {name}")
                fam["help"] = rest
            else:
                if fam["type"] is not None:
                    raise PrometheusError(f"{where}: second TYPE for {name}")
                if fam["samples"]:
                    raise PrometheusError(f"{where}: TYPE of {name} after its samples")
                if rest not in TYPES:
                    raise PrometheusError(f"{where}: unknown type {rest!r} for {name}")
                fam["type"] = rest
            continue
        name, labels, value = _split_sample(line, where)
        fam_name = _family_of(name, families)
        if fam_name is None or families[fam_name]["type"] is None:
            raise PrometheusError(f"{where}: sample {name} has no TYPE-declared family")
        if fam_name in closed or (current is not None and current != fam_name):
            raise PrometheusError(f"{where}: sample {name} outside its family's block")
        current = fam_name
        series = (name, tuple(sorted(labels.items())))
        if series in seen_series:
            raise PrometheusError(f"{where}: duplicate series {series}")
        seen_series.add(series)
        fam = families[fam_name]
        if fam["type"] == "counter" and not (value >= 0):
            raise PrometheusError(f"{where}: counter {name} is {value}")
        if fam["type"] == "histogram":
            if name.endswith("_bucket") and "le" not in labels:
                raise PrometheusError(f"{where}: bucket without le")
            if name == fam_name:
                raise PrometheusError(f"{where}: histogram sample without suffix")
        fam["samples"].append((name, labels, value))
    for name, fam in families.items():
        if fam["type"] is None:
            raise PrometheusError(f"family {name} has HELP but no TYPE")
        if fam["help"] is None:
            raise PrometheusError(f"family {name} has no HELP")
        if fam["type"] == "histogram":
            _check_histogram(name, fam)
    return families


def _check_histogram(name, fam):
    groups = {}
    for sample, labels, value in fam["samples"]:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        g = groups.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if sample.endswith("_bucket"):
            g["buckets"].append((_parse_value(labels["le"], f"{name} le"), value))
        elif sample.endswith("_sum"):
            g["sum"] = value
        elif sample.endswith("_count"):
            g["count"] = value
    if not groups:
        raise PrometheusError(f"histogram {name} has no samples")
    for key, g in groups.items():
        if g["sum"] is None or g["count"] is None:
            raise PrometheusError(f"histogram {name}{key}: _sum or _count missing")
        les = [le for le, _ in g["buckets"]]
        if les != sorted(les) or len(set(les)) != len(les):
            raise PrometheusError(f"histogram {name}{key}: buckets not in ascending le order")
        if not les or les[-1] != math.inf:
            raise PrometheusError(f"histogram {name}{key}: no le=\"+Inf\" bucket")
        counts = [c for _, c in g["buckets"]]
        if any(b < a for a, b in zip(counts, counts[1:])):
            raise PrometheusError(f"histogram {name}{key}: buckets not cumulative: {counts}")
        if counts[-1] != g["count"]:
            raise PrometheusError(f"histogram {name}{key}: +Inf bucket {counts[-1]} != _count "
                                  f"{g['count']}")


class Scrape:
    """One parsed /metrics response, with lookups by name and labels."""

    def __init__(self, gate):
        status, headers, body = admin(gate, "/metrics")
        if status != 200:
            raise AssertionError(f"/metrics answered {status}: {body}")
        self.content_type = headers.get("Content-Type", "")
        self.text = body
        self.families = parse_prometheus(body)

    def value(self, sample, **labels):
        fam = _family_of(sample, self.families)
        if fam is None:
            raise AssertionError(f"no metric {sample} in:\n{self.text}")
        for name, lab, value in self.families[fam]["samples"]:
            if name == sample and lab == labels:
                return value
        raise AssertionError(f"no series {sample}{labels}")

    def statements(self, decision=None, kind=None):
        """Sum of ghostgate_statements_total over the matching series."""
        total = 0
        for _, lab, value in self.families["ghostgate_statements_total"]["samples"]:
            if (decision is None or lab["decision"] == decision) and \
                    (kind is None or lab["kind"] == kind):
                total += value
        return total

    def by_decision_kind(self):
        return {(lab["decision"], lab["kind"]): v
                for _, lab, v in self.families["ghostgate_statements_total"]["samples"]}


def scrape(gate):
    return Scrape(gate)


# --------------------------------------------------------------------------------------------
# clients that account for every byte


class _CountingReader:
    def __init__(self, raw, conn):
        self._raw, self._conn = raw, conn

    def read(self, n=-1):
        data = self._raw.read(n)
        self._conn.bytes_received += len(data)
        self._conn.bytes_since_command += len(data)
        return data

    def close(self):
        self._raw.close()


class WireConnection(pymysql.connections.Connection):
    """pymysql that counts the bytes it sends and receives, in total and since the last command.

    bytes_since_command tells a clean close (0 bytes of an answer, then EOF) from a half-answered
    statement (some bytes, then EOF): pymysql reports both as error 2013."""

    def __init__(self, *args, **kwargs):
        self.bytes_sent = 0
        self.bytes_received = 0
        self.bytes_since_command = 0
        super().__init__(*args, **kwargs)

    def _get_server_information(self):
        # The first read of a connection: count from the greeting on.
        self._rfile = _CountingReader(self._rfile, self)
        return super()._get_server_information()

    def connect(self, sock=None):
        super().connect(sock)
        if not isinstance(self._rfile, _CountingReader):  # TLS made a new reader
            self._rfile = _CountingReader(self._rfile, self)

    def _write_bytes(self, data):
        super()._write_bytes(data)
        self.bytes_sent += len(data)

    def _execute_command(self, command, sql):
        self.bytes_since_command = 0
        return super()._execute_command(command, sql)


def wire_connect(gate, **kw):
    params = gate.params(kw.pop("user", None), kw.pop("password", None), kw.pop("database", None))
    kw.setdefault("connect_timeout", 10)
    kw.setdefault("read_timeout", 60)
    kw.setdefault("write_timeout", 60)
    return WireConnection(**params, **kw)


# --------------------------------------------------------------------------------------------
# ghostgate processes


def start_gate(standin, name="ghostgate", **extra):
    """A ghostgate in front of `standin`; extra keys are merged into its YAML config."""
    pool = extra.pop("pool", None)
    log_level = extra.pop("log_level", "debug")
    return harness.Ghostgate(standin, name=name, pool=pool, extra=extra,
                             log_level=log_level).start()


def read_log(gate):
    try:
        with open(gate.log_file, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_log(gate, pattern, timeout=10, start=0):
    """Waits for a log line matching the regex `pattern` after byte offset `start`."""
    rx = re.compile(pattern, re.M)
    return harness.wait_until(lambda: rx.search(read_log(gate)[start:]), timeout,
                              what=f"log line /{pattern}/ in {gate.log_file}")


TEXT_LINE = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) "
    r"(?P<level>trace|debug|info|warn|error|critical)"
    r"(?: \[conn (?P<conn>[1-9]\d*)\])? (?P<msg>\S.*)")


class GateTarget(harness.Target):
    """harness.Target that always has ghostgate (these tests are about ghostgate itself)."""


class OpsTestCase(harness.TestCase):
    """Prints the logs of every ghostgate a test started when it fails."""

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > before:
            for g in getattr(self, "gates_to_show", []):
                sys.stderr.write(f"\n===== {g!r} =====\n{g.logs(150)}\n")
        return out

    def show_logs_of(self, gate):
        if not hasattr(self, "gates_to_show"):
            self.gates_to_show = []
        self.gates_to_show.append(gate)
        return gate


# --------------------------------------------------------------------------------------------
# an independent classification of trace statements (for the metrics after a replay)

GHOST_RX = [re.compile(r"_(.+)_(?:gho|new)"), re.compile(r"__(.+)_new")]
TRASH_RX = [re.compile(r"_(.+)_(?:ghc|del|old|ghk)"), re.compile(r"__(.+)_old"),
            re.compile(r"_(.+)_\d{14}_del"), re.compile(r"_(.+)_rev_del")]
NAME = r"(?:`(?:[^`]|``)+`|[A-Za-z0-9_$]+)"
QNAME = rf"{NAME}(?:\s*\.\s*{NAME})?"


def _table(qname):
    """The table part of `db`.`t` / t, unquoted."""
    part = re.findall(NAME, qname)[-1]
    return part[1:-1].replace("``", "`") if part.startswith("`") else part


def _role(table):
    if any(r.fullmatch(table) for r in GHOST_RX):
        return "ghost"
    if any(r.fullmatch(table) for r in TRASH_RX):
        return "trash"
    return "real"


def _ghost_real(table):
    for r in GHOST_RX[::-1]:
        m = r.fullmatch(table)
        if m:
            return m.group(1)
    return None


def _strip_comments(sql):
    return re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)


def classify_trace(statements):
    """{(decision, kind): count} for the statements ghostgate must not forward, plus forwarded
    row changes, from the design's table only (no ghostgate code involved):

      DML into a ghost/trash table            suppressed
      CREATE TABLE ghost/trash                suppressed
      ALTER TABLE ghost (no RENAME)           recorded
      ALTER ghost RENAME real / RENAME with a ghost->real pair     cut-over
      ALTER real RENAME trash / RENAME to trash only / DROP ghost/trash   suppressed
      DROP TABLE real while a ghost of it is pending (pt-osc drop_swap)   suppressed
      CREATE/DROP TRIGGER pt_osc_*            suppressed
      any other statement naming a ghost/trash table               suppressed (kind other)
    """
    counts = {}
    pending = set()  # real names with a pending ghost

    def add(decision, kind):
        counts[(decision, kind)] = counts.get((decision, kind), 0) + 1

    for raw in statements:
        sql = " ".join(_strip_comments(raw).split())
        head = sql.split(" ", 1)[0].upper() if sql else ""
        m = re.match(rf"(INSERT|REPLACE)(?: IGNORE)? INTO ({QNAME})", sql, re.I) or \
            re.match(rf"(UPDATE) ({QNAME})", sql, re.I) or \
            re.match(rf"(DELETE) FROM ({QNAME})", sql, re.I)
        if m:
            kind = {"INSERT": "insert", "REPLACE": "replace", "UPDATE": "update",
                    "DELETE": "delete"}[m.group(1).upper()]
            role = _role(_table(m.group(2)))
            add("forwarded" if role == "real" else "suppressed", kind)
            continue
        m = re.match(rf"CREATE TABLE (?:IF NOT EXISTS )?({QNAME})", sql, re.I)
        if m:
            t = _table(m.group(1))
            role = _role(t)
            if role == "ghost":
                pending.add(_ghost_real(t))
            add("forwarded" if role == "real" else "suppressed", "create_table")
            continue
        m = re.match(rf"ALTER TABLE ({QNAME})(.*)", sql, re.I)
        if m:
            t, rest = _table(m.group(1)), m.group(2)
            rn = re.match(rf"\s*RENAME (?:TO |AS )?({QNAME})\s*$", rest, re.I)
            role = _role(t)
            if rn and role == "ghost" and _role(_table(rn.group(1))) == "real":
                pending.discard(_ghost_real(t))
                add("cutover", "alter_table")
            elif role == "ghost" and not rn:
                add("recorded", "alter_table")
            elif role != "real" or (rn and _role(_table(rn.group(1))) == "trash"):
                add("suppressed", "alter_table")
            else:
                add("forwarded", "alter_table")
            continue
        m = re.match(r"RENAME TABLE (.*)", sql, re.I)
        if m:
            pairs = re.findall(rf"({QNAME}) TO ({QNAME})", m.group(1), re.I)
            roles = [(_role(_table(a)), _role(_table(b))) for a, b in pairs]
            if ("ghost", "real") in roles:
                for a, _ in pairs:
                    pending.discard(_ghost_real(_table(a)))
                add("cutover", "rename_table")
            elif all(r == ("real", "real") for r in roles):
                add("forwarded", "rename_table")
            else:
                add("suppressed", "rename_table")
            continue
        m = re.match(r"DROP TABLE (?:IF EXISTS )?(.*)", sql, re.I)
        if m:
            tables = [_table(q) for q in re.findall(QNAME, m.group(1))]
            roles = [_role(t) for t in tables]
            if any(r == "ghost" for r in roles):
                for t in tables:
                    pending.discard(_ghost_real(t))
            if all(r == "real" and t not in pending for r, t in zip(roles, tables)):
                add("forwarded", "drop_table")
            else:
                add("suppressed", "drop_table")
            continue
        m = re.match(r"CREATE (?:DEFINER=\S+ )?TRIGGER (\S+)", sql, re.I)
        if m:
            add("suppressed" if "pt_osc_" in m.group(1) else "forwarded", "create_trigger")
            continue
        m = re.match(r"DROP TRIGGER (?:IF EXISTS )?(\S+)", sql, re.I)
        if m:
            add("suppressed" if "pt_osc_" in m.group(1) else "forwarded", "drop_trigger")
            continue
        if head in ("BEGIN", "COMMIT", "USE", "SET", ""):
            continue
        names = [_table(q) for q in re.findall(rf"{NAME}\s*\.\s*{NAME}|`[^`]+`", sql)]
        if any(_role(t) != "real" for t in names):
            add("suppressed", "other")
    return counts


# --------------------------------------------------------------------------------------------
# the tests


class Endpoints(OpsTestCase):
    @classmethod
    def setUpClass(cls):
        cls.standin = harness.Standin().start()
        cls.gate = start_gate(cls.standin)
        cls.target = GateTarget(cls.standin, cls.gate)
        cls.standin.query("CREATE DATABASE IF NOT EXISTS test_ops")
        harness.wait_until(lambda: admin(cls.gate, "/readyz")[0] == 200, 20, what="ready")

    def test_healthz(self):
        status, headers, body = admin(self.gate, "/healthz")
        self.assertEqual((status, body), (200, "ok\n"))
        self.assertTrue(headers["Content-Type"].startswith("text/plain"), headers)
        # HEAD: same status, no body.
        status, _, body = admin(self.gate, "/healthz", method="HEAD")
        self.assertEqual((status, body), (200, ""))

    def test_readyz_ready(self):
        self.assertEqual(admin(self.gate, "/readyz")[::2], (200, "ready\n"))

    def test_unknown_path_and_method(self):
        for path in ("/", "/nope", "/metrics/extra", "/healthz/", "/readyz2"):
            status, _, body = admin(self.gate, path)
            self.assertEqual((status, body), (404, "not found\n"), path)
        status, headers, _ = admin(self.gate, "/metrics", method="POST")
        self.assertEqual(status, 405)
        self.assertEqual(headers["Allow"], "GET, HEAD")
        # A query string does not change the route.
        self.assertEqual(admin(self.gate, "/healthz?verbose=1")[0], 200)

    def test_metrics_parse_and_families(self):
        s = scrape(self.gate)
        self.assertTrue(s.content_type.startswith("text/plain; version=0.0.4"), s.content_type)
        want = {
            "ghostgate_client_connections_active": "gauge",
            "ghostgate_client_connections_total": "counter",
            "ghostgate_client_connections_refused_total": "counter",
            "ghostgate_client_received_bytes_total": "counter",
            "ghostgate_client_sent_bytes_total": "counter",
            "ghostgate_protocol_errors_total": "counter",
            "ghostgate_backend_connections_open": "gauge",
            "ghostgate_backend_connections_idle": "gauge",
            "ghostgate_backend_pool_waiting": "gauge",
            "ghostgate_backend_connect_failures_total": "counter",
            "ghostgate_statements_total": "counter",
            "ghostgate_cutovers_total": "counter",
            "ghostgate_cutover_ddl_duration_seconds": "histogram",
            "ghostgate_cutover_duration_seconds": "histogram",
            "ghostgate_added_latency_seconds": "histogram",
            "ghostgate_online_ddl_pending_ghosts": "gauge",
            "ghostgate_config_reloads_total": "counter",
        }
        for name, kind in want.items():
            self.assertIn(name, s.families, f"missing family {name}")
            self.assertEqual(s.families[name]["type"], kind, name)
        decisions = {lab["decision"] for _, lab, _ in s.families["ghostgate_statements_total"]
                     ["samples"]}
        self.assertEqual(decisions, {"forwarded", "suppressed", "recorded", "refused", "cutover"})
        results = {lab["result"] for _, lab, _ in s.families["ghostgate_cutovers_total"]["samples"]}
        self.assertEqual(results, {"ok", "failed"})

    def test_readme_documents_every_metric_and_field(self):
        # README "Metrics": every family exported is documented and every documented one is
        # exported; "/online-ddl": the field table names the JSON's fields.
        with open(os.path.join(harness.REPO, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        metrics_part = readme[readme.index("#### Metrics"):readme.index("#### Logs")]
        documented = set(re.findall(r"`(ghostgate_[a-z_]+)", metrics_part))
        exported = set(scrape(self.gate).families)
        self.assertEqual(documented, exported)
        fields_part = readme[readme.index("`/online-ddl`:"):readme.index("#### Metrics")]
        documented = set(re.findall(r"^\| `([a-z_.\[\]]+)`", fields_part, re.M))
        documented |= set(re.findall(r"^\| `[a-z_.\[\]]+`, `([a-z_.\[\]]+)`", fields_part, re.M))
        conn = self.gate.connect(database="test_ops", autocommit=True)
        self.addCleanup(conn.close)
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS rd (id INT PRIMARY KEY)")
            cur.execute("CREATE TABLE _rd_gho LIKE rd")
            cur.execute("ALTER TABLE _rd_gho ADD COLUMN c INT")
            state = json.loads(admin(self.gate, "/online-ddl")[2])
            cur.execute("DROP TABLE _rd_gho")
        shown = {k for k in state if k != "pending"}
        for p in state["pending"]:
            for k, v in p.items():
                if isinstance(v, dict):
                    shown |= {f"pending[].{k}.{sub}" for sub in v}
                else:
                    shown.add(f"pending[].{k}")
        self.assertLessEqual(shown, documented, "fields /online-ddl shows but README lacks")

    def test_prometheus_parser_rejects(self):
        # The parser must be strict, or the format test proves nothing.
        good = "# HELP a x\n# TYPE a counter\na 1\n"
        parse_prometheus(good)
        bad = [
            "# TYPE a counter\na 1",                                  # no final newline
            "a 1\n",                                                  # undeclared family
            "# HELP a x\na 1\n",                                      # no TYPE
            "# HELP a x\n# TYPE a counter\na{b=\"1\"} x\n",           # bad value
            "# HELP a x\n# TYPE a counter\na{b=1} 1\n",               # unquoted label
            "# HELP a x\n# TYPE a counter\na{b=\"\\q\"} 1\n",         # bad escape
            "# HELP a x\n# TYPE a counter\na 1\na 2\n",               # duplicate series
            "# HELP a x\n# TYPE a counter\na -1\n",                   # negative counter
            "# HELP a x\n# TYPE a gauge\n# HELP b y\n# TYPE b gauge\nb 1\na 1\n",  # interleaved
            "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
            "h_sum 1\nh_count 1\n",                                   # not cumulative
            "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",  # no +Inf
            "# HELP a x\n# TYPE a counter\n# TYPE a counter\na 1\n",  # two TYPEs
            "# HELP a x\n# TYPE a countr\na 1\n",                     # unknown type
            "# HELP a x\\q\n# TYPE a counter\na 1\n",                # bad escape in HELP
            "# HELP a x\n# TYPE a counter\na{b=\"1\",} 1\n",          # trailing comma
        ]
        for text in bad:
            with self.assertRaises(PrometheusError, msg=repr(text)):
                parse_prometheus(text)

    def test_online_ddl_state(self):
        conn = self.gate.connect(database="test_ops", autocommit=True)
        self.addCleanup(conn.close)
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS od (id INT PRIMARY KEY, a INT)")
            cur.execute("INSERT INTO od VALUES (1, 10), (2, 20)")
            status, headers, body = admin(self.gate, "/online-ddl")
            self.assertEqual(status, 200)
            self.assertEqual(headers["Content-Type"], "application/json")
            self.assertEqual(json.loads(body)["pending"], [])
            t0 = time.time()
            cur.execute("CREATE /* gh-ost */ TABLE `test_ops`.`_od_gho` LIKE `test_ops`.`od`")
            cur.execute("ALTER /* gh-ost */ TABLE `test_ops`.`_od_gho` ADD COLUMN c INT NOT NULL "
                        "DEFAULT 7")
            cur.execute("ALTER /* gh-ost */ TABLE `test_ops`.`_od_gho` ADD INDEX ix_a (a)")
            state = json.loads(admin(self.gate, "/online-ddl")[2])
            self.assertIs(state["ready"], True)
            self.assertEqual(len(state["pending"]), 1, state)
            p = state["pending"][0]
            self.assertEqual(p["ghost"], {"schema": "test_ops", "table": "_od_gho"})
            self.assertEqual(p["real_table_hint"], "od")
            self.assertEqual(len(p["ddls"]), 2, p)
            self.assertRegex(p["ddls"][0], r"(?i)^ALTER .*_od_gho.* ADD COLUMN c INT NOT NULL "
                                           r"DEFAULT 7$")
            self.assertRegex(p["ddls"][1], r"(?i)^ALTER .*_od_gho.* ADD INDEX ix_a \(a\)$")
            self.assertLessEqual(abs(p["since_unix"] - t0), 5, p)
            self.assertEqual(scrape(self.gate).value("ghostgate_online_ddl_pending_ghosts"), 1)
            # Downstream: the ghost was never created.
            self.assertEqual(self.standin.query(
                "SHOW TABLES FROM test_ops LIKE '\\_od\\_gho'"), ())
            cur.execute("RENAME /* gh-ost */ TABLE `test_ops`.`od` TO `test_ops`.`_od_del`, "
                        "`test_ops`.`_od_gho` TO `test_ops`.`od`")
            state = json.loads(admin(self.gate, "/online-ddl")[2])
            self.assertEqual(state["pending"], [], state)
            self.assertEqual(scrape(self.gate).value("ghostgate_online_ddl_pending_ghosts"), 0)
            cols = [r[0] for r in self.standin.query("SHOW COLUMNS FROM test_ops.od")]
            self.assertEqual(cols, ["id", "a", "c"])
            self.assertEqual(self.standin.query("SELECT SUM(c) FROM test_ops.od")[0][0], 14)

    def test_counters_move_exactly(self):
        self.standin.query("CREATE TABLE IF NOT EXISTS test_ops.cnt (id INT AUTO_INCREMENT "
                           "PRIMARY KEY, v INT)")
        before = scrape(self.gate)
        m, selects, inserts = 3, 0, 0
        for i in range(m):
            conn = self.gate.connect(database="test_ops", autocommit=True)
            with conn.cursor() as cur:
                for j in range(5 + i):
                    cur.execute("SELECT %s", (j,))
                    self.assertEqual(cur.fetchone()[0], j)
                    selects += 1
                for j in range(2 * i):
                    cur.execute("INSERT INTO cnt (v) VALUES (%s)", (j,))
                    inserts += 1
            conn.close()
        harness.wait_until(lambda: scrape(self.gate).value(
            "ghostgate_client_connections_active") == before.value(
            "ghostgate_client_connections_active"), 10, what="sessions closed")
        after = scrape(self.gate)

        def delta(sample, **labels):
            return after.value(sample, **labels) - before.value(sample, **labels)

        self.assertEqual(delta("ghostgate_client_connections_total"), m)
        self.assertEqual(delta("ghostgate_client_connections_refused_total"), 0)
        changed = {k: after.by_decision_kind()[k] - v for k, v in before.by_decision_kind().items()
                   if after.by_decision_kind()[k] != v}
        self.assertEqual(changed, {("forwarded", "other"): selects,
                                   ("forwarded", "insert"): inserts})
        self.assertEqual(delta("ghostgate_protocol_errors_total"), 0)
        self.assertEqual(delta("ghostgate_session_exceptions_total"), 0)
        self.assertGreaterEqual(after.value("ghostgate_backend_connections_open"), 1)
        self.assertEqual(delta("ghostgate_backend_connect_failures_total"), 0)

    def test_bytes_and_latency_counted(self):
        before = scrape(self.gate)
        conn = wire_connect(self.gate, database="test_ops", autocommit=True)
        with conn.cursor() as cur:
            for i in range(20):
                cur.execute("SELECT REPEAT('x', %s)", (100 * i,))
                self.assertEqual(len(cur.fetchone()[0]), 100 * i)
        conn.close()  # COM_QUIT
        harness.wait_until(lambda: scrape(self.gate).value(
            "ghostgate_client_connections_active") == before.value(
            "ghostgate_client_connections_active"), 30, what="session closed")
        after = scrape(self.gate)
        # Exactly the bytes the client wrote and read on its socket (handshake included).
        self.assertEqual(after.value("ghostgate_client_received_bytes_total") -
                         before.value("ghostgate_client_received_bytes_total"), conn.bytes_sent)
        self.assertEqual(after.value("ghostgate_client_sent_bytes_total") -
                         before.value("ghostgate_client_sent_bytes_total"), conn.bytes_received)
        # One latency observation per statement at least (20 statements were forwarded).
        self.assertGreaterEqual(after.value("ghostgate_added_latency_seconds_count") -
                                before.value("ghostgate_added_latency_seconds_count"), 20)

    def test_statements_counted_with_online_ddl_off(self):
        gate = self.show_logs_of(start_gate(self.standin, name="gate-noddl",
                                            **{"online-ddl": False}))
        self.addCleanup(gate.stop)
        self.standin.query("CREATE TABLE IF NOT EXISTS test_ops.noddl (id INT PRIMARY KEY)")
        self.standin.query("DELETE FROM test_ops.noddl")
        before = scrape(gate)
        conn = gate.connect(database="test_ops", autocommit=True)
        with conn.cursor() as cur:
            for i in range(5):
                cur.execute("INSERT INTO noddl VALUES (%s)", (i,))
            for _ in range(3):
                cur.execute("SELECT COUNT(*) FROM noddl")
        conn.close()
        after = scrape(gate)
        changed = {k: after.by_decision_kind()[k] - v for k, v in before.by_decision_kind().items()
                   if after.by_decision_kind()[k] != v}
        # pymysql sends nothing else after its login with autocommit already on.
        self.assertEqual(changed.get(("forwarded", "insert")), 5, changed)
        self.assertGreaterEqual(changed.get(("forwarded", "other"), 0), 3, changed)
        self.assertEqual({k for k in changed if k[0] != "forwarded"}, set(), changed)

    def test_refused_over_max_connections(self):
        gate = self.show_logs_of(start_gate(self.standin, name="gate-max2",
                                            **{"max-connections": 2}))
        self.addCleanup(gate.stop)
        before = scrape(gate)
        held = [gate.connect(autocommit=True) for _ in range(2)]
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            gate.connect(autocommit=True)
        self.assertEqual(cm.exception.args[0], 1040, cm.exception)
        after = scrape(gate)
        self.assertEqual(after.value("ghostgate_client_connections_refused_total") -
                         before.value("ghostgate_client_connections_refused_total"), 1)
        self.assertEqual(after.value("ghostgate_client_connections_total") -
                         before.value("ghostgate_client_connections_total"), 3)
        self.assertEqual(after.value("ghostgate_client_connections_active"), 2)
        held.pop().close()
        # Not sticky: once a slot is free a client gets in again.
        conn = harness.wait_until(lambda: _try_connect(gate), 10, what="a free slot")
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            self.assertEqual(cur.fetchone()[0], 1)
        conn.close()
        for c in held:
            c.close()

    def test_trace_replay_counts(self):
        import test_traces
        self.assertTrue(self.gate.alive())
        for name in test_traces.trace_names():
            with self.subTest(trace=name):
                statements = test_traces.parse_trace(
                    os.path.join(test_traces.traces_dir(), name, "trace.sql"))
                expected = classify_trace(statements)
                # The classification must see the migration, or the comparison is empty.
                self.assertGreater(expected.get(("recorded", "alter_table"), 0), 0, expected)
                self.assertEqual(sum(v for (d, _), v in expected.items() if d == "cutover"), 1)
                test_traces.Traces.load_before(self, name)
                before = scrape(self.gate)
                test_traces.Traces.replay_cli(self, name)
                after = scrape(self.gate)
                got = {k: v - before.by_decision_kind()[k]
                       for k, v in after.by_decision_kind().items()}
                for (decision, kind), n in sorted(got.items()):
                    if decision == "forwarded" and kind == "other":
                        continue  # the CLI's own queries (SELECT @@version_comment ...)
                    self.assertEqual(n, expected.get((decision, kind), 0),
                                     f"{name}: statements{{decision={decision},kind={kind}}}")
                cut = expected.get(("cutover", "rename_table"), 0) + \
                    expected.get(("cutover", "alter_table"), 0)
                self.assertEqual(after.value("ghostgate_cutovers_total", result="ok") -
                                 before.value("ghostgate_cutovers_total", result="ok"), cut)
                self.assertEqual(after.value("ghostgate_cutovers_total", result="failed") -
                                 before.value("ghostgate_cutovers_total", result="failed"), 0)
                # One observation per cut-over, and one per DDL it ran.
                self.assertEqual(after.value("ghostgate_cutover_duration_seconds_count") -
                                 before.value("ghostgate_cutover_duration_seconds_count"), cut)
                self.assertEqual(after.value("ghostgate_cutover_ddl_duration_seconds_count") -
                                 before.value("ghostgate_cutover_ddl_duration_seconds_count"),
                                 expected.get(("recorded", "alter_table"), 0) -
                                 _aborted_records(statements))
                # And the replay itself was right (same checks as test_traces.py).
                test_traces.Traces.check_downstream(self, name)

    def test_log_lines_name_their_connection(self):
        conns = {}
        for tag in ("la", "lb"):
            conn = self.gate.connect(database="test_ops", autocommit=True)
            self.addCleanup(conn.close)
            with conn.cursor() as cur:
                cur.execute(f"CREATE TABLE IF NOT EXISTS {tag} (id INT PRIMARY KEY)")
                cur.execute(f"CREATE TABLE _{tag}_gho LIKE {tag}")
                cur.execute(f"ALTER TABLE _{tag}_gho ADD COLUMN x INT")
                cur.execute(f"DROP TABLE _{tag}_gho")
            conns[tag] = conn
        text = read_log(self.gate)
        lines = text.splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, TEXT_LINE, "log line not in the documented format")
        for tag in conns:
            ids = {TEXT_LINE.fullmatch(line).group("conn") for line in lines
                   if f"_{tag}_gho" in line}
            self.assertEqual(len(ids), 1, f"{tag}: lines about _{tag}_gho: {ids}")
            self.assertIsNotNone(next(iter(ids)), f"{tag}: an online-DDL event without [conn N]")
            conns[tag] = ids.pop()
        self.assertNotEqual(conns["la"], conns["lb"])
        # Start-up lines are about no connection.
        self.assertRegex(text, r"(?m)^\S+ info ghostgate \S+ listening on ")


def _aborted_records(statements):
    """Recorded DDLs of ghosts dropped before their cut-over: they never run downstream."""
    ghosts, dropped = {}, 0
    for raw in statements:
        sql = " ".join(_strip_comments(raw).split())
        m = re.match(rf"ALTER TABLE ({QNAME})(?!.*\bRENAME\b)", sql, re.I)
        if m and _role(_table(m.group(1))) == "ghost":
            t = _table(m.group(1))
            ghosts[t] = ghosts.get(t, 0) + 1
            continue
        m = re.match(r"DROP TABLE (?:IF EXISTS )?(.*)", sql, re.I)
        if m:
            for q in re.findall(QNAME, m.group(1)):
                dropped += ghosts.pop(_table(q), 0)
    return dropped


def _try_connect(gate):
    try:
        return gate.connect(autocommit=True, connect_timeout=5)
    except pymysql.err.OperationalError:
        return None


class Readiness(OpsTestCase):
    """/readyz follows the backend, and waits for the online-DDL state."""

    @classmethod
    def setUpClass(cls):
        cls.standin = harness.Standin(name="readyz").start()
        cls.gate = start_gate(cls.standin)
        cls.target = GateTarget(cls.standin, cls.gate)

    def test_backend_down_then_back(self):
        harness.wait_until(lambda: admin(self.gate, "/readyz")[0] == 200, 20, what="ready")
        self.standin.stop()
        status, _, body = harness.wait_until(
            lambda: (lambda r: r if r[0] == 503 else None)(admin(self.gate, "/readyz")), 20,
            what="/readyz 503 with the backend stopped")
        self.assertRegex(body, r"^not ready: backend 127\.0\.0\.1:\d+ unreachable: .+\n$")
        # Alive all along: liveness must not restart a proxy whose backend is down.
        self.assertEqual(admin(self.gate, "/healthz")[:3:2], (200, "ok\n"))
        self.assertTrue(self.gate.alive())
        failures = scrape(self.gate).value("ghostgate_backend_connect_failures_total")
        with self.assertRaises(pymysql.err.OperationalError):
            self.gate.connect(connect_timeout=10)
        self.assertGreater(scrape(self.gate).value("ghostgate_backend_connect_failures_total"),
                           failures, "a failed backend connect was not counted")
        self.standin.start()
        harness.wait_until(lambda: admin(self.gate, "/readyz")[::2] == (200, "ready\n"), 20,
                           what="/readyz 200 after the backend came back")
        conn = self.gate.connect()
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            self.assertEqual(cur.fetchone()[0], 1)
        conn.close()

    def test_state_not_loaded(self):
        # ghostgate's account may not create this meta schema: the state never loads, so
        # ghostgate is alive, the backend is reachable, and it is still not ready.
        gate = self.show_logs_of(start_gate(self.standin, name="gate-nometa",
                                            **{"meta-schema": "forbidden_meta"}))
        self.addCleanup(gate.stop)
        time.sleep(3)  # two health checks and load attempts
        status, _, body = admin(gate, "/readyz")
        self.assertEqual(status, 503, body)
        self.assertIn("online-DDL state not loaded", body)
        # The reason, with the server's code and the GRANT that fixes it (issue 15).
        self.assertRegex(body, r"cannot create `forbidden_meta`.*: ghostgate's account "
                               r"\"ggadmin\" lacks a privilege: GRANT SELECT, INSERT, UPDATE, "
                               r"DELETE, CREATE ON forbidden_meta\.\* TO it: 10(44|42): ")
        self.assertEqual(admin(gate, "/healthz")[0], 200)
        self.assertIs(json.loads(admin(gate, "/online-ddl")[2])["ready"], False)
        wait_log(gate, r"online-ddl: cannot (create|load) meta table `forbidden_meta`")


class JsonLogs(OpsTestCase):
    @classmethod
    def setUpClass(cls):
        cls.standin = harness.Standin(name="jsonlog").start()
        cls.gate = start_gate(cls.standin, log={"format": "json"})
        cls.target = GateTarget(cls.standin, cls.gate)

    def test_every_line_is_json(self):
        conn = self.gate.connect(autocommit=True)
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE IF NOT EXISTS test_j")
            cur.execute("CREATE TABLE IF NOT EXISTS test_j.jt (id INT PRIMARY KEY)")
            cur.execute("CREATE TABLE test_j._jt_gho LIKE test_j.jt")
            # A cut-over logs the DDL it ran: text with quotes and a backslash to escape.
            cur.execute("ALTER TABLE test_j._jt_gho ADD COLUMN note VARCHAR(20) "
                        "DEFAULT 'a\"b\\\\c'")
            cur.execute("RENAME TABLE test_j.jt TO test_j._jt_del, test_j._jt_gho TO test_j.jt")
        conn.close()
        self.assertEqual(self.standin.query("SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS "
                                            "WHERE TABLE_SCHEMA='test_j' AND COLUMN_NAME='note'"),
                         (("'a\"b\\\\c'",),))
        wait_log(self.gate, r"cut-over ran on")
        records = []
        for n, line in enumerate(read_log(self.gate).splitlines(), 1):
            rec = json.loads(line)  # raises on any line that is not one JSON value
            self.assertIsInstance(rec, dict, line)
            self.assertRegex(rec["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(rec["level"], ("trace", "debug", "info", "warn", "error", "critical"))
            self.assertIsInstance(rec["msg"], str)
            if "conn" in rec:
                self.assertIsInstance(rec["conn"], int)
                self.assertGreater(rec["conn"], 0)
            records.append(rec)
        ghost = [r for r in records if "_jt_gho" in json.dumps(r)]
        self.assertGreaterEqual(len(ghost), 2, ghost)
        self.assertEqual(len({r.get("conn") for r in ghost}), 1, ghost)
        self.assertIsNotNone(ghost[0].get("conn"), ghost)
        ran = [r for r in records if r["msg"].startswith("online-ddl: cut-over ran on")]
        self.assertEqual(len(ran), 1, records)
        self.assertIn("DEFAULT 'a\"b\\\\c'", ran[0]["msg"])


if __name__ == "__main__":
    harness.main()
