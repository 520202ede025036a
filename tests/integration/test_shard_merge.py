#!/usr/bin/python3
"""Shard merge end to end (issue 9): sharded upstream tables `shard_<i>`.`orders_<i>` routed by the
replicator into one downstream table `shop`.`orders`, each shard migrated by its own online schema
change at its own time. ghostgate learns the routing from DM's `routes`, the members from
`shard-groups`, and turns the shards' cut-overs into the right ALTERs on the merged table.

ShardTraces replays every routed trace, with its routes.yaml merged into ghostgate's config:
the recorded ones in ../shared/shard-traces and the synthetic ones in tests/shard-traces (made by
tests/shard-traces/make_shard_traces.py from real upstream shards; $GHOSTGATE_SHARD_TRACES, a
list of folders separated by `:`, chooses others). Each trace three ways:
  * conns:   statement by statement over one connection per shard (its row changes, its tool's
             DDL) plus one for the cut-overs, as a replicator that splits its work by table;
             after every cut-over the merged table's columns and indexes must be what
             checkpoints.json (the union of the upstream shards at that point) says
  * batches: multi-statement batches (test_traces' replay: each transaction one batch)
  * ps:      prepared statements (test_traces' replay through tests/tools/ps_replay)
and must end with `shop`.`orders` equal to expected.txt, no statement refused, no helper table,
trigger or RENAME reaching the backend (the stand-in's general log), every ALTER on the target
run exactly once, every shard cut-over counted ok, nothing left waiting.

ShardMerge uses a small scenario made at start-up on the stand-in by make_shard_traces (two
shards, gh-ost on one and pt-osc on the other, one change with additive and contracting parts,
expected.txt from the real upstream shards) for what a whole-trace replay cannot show: a
refusal without routes, the pessimistic wait and its timeout, conflicts, the admin endpoint
and its release action, and kill -9 at each step of a shard cut-over.

    GHOSTGATE_BIN=build/ghostgate /usr/bin/python3 tests/integration/test_shard_merge.py
"""

import collections
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
sys.path.insert(0, os.path.join(HERE, "..", "shard-traces"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import make_shard_traces  # noqa: E402
import pymysql  # noqa: E402
import test_crash  # noqa: E402
import test_one_truth  # noqa: E402
import test_traces  # noqa: E402
import yaml  # noqa: E402

admin = test_one_truth.admin

SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "shard-traces"))
LOCAL = os.path.normpath(os.path.join(HERE, "..", "shard-traces"))
TARGET = "`shop`.`orders`"
# The shard-group state beside the meta table: <meta-schema>.<name>_onlineddl_shard_groups, with
# the harness's `name: ghostgate_it` and `meta-schema: dm_meta`.
SHARD_META = "`dm_meta`.`ghostgate_it_onlineddl_shard_groups`"
META = "`dm_meta`.`ghostgate_it_onlineddl`"
CUTOVER = test_crash.CUTOVER
TARGET_ALTER = re.compile(r"\s*ALTER\s+TABLE\s+`shop`\.`orders`\s", re.I)
RENAME = re.compile(r"\s*(?:/\*.*?\*/\s*)*RENAME\b", re.I | re.S)


def shard_trace_folders():
    """{name: folder} of every shard trace to replay."""
    dirs = (os.environ["GHOSTGATE_SHARD_TRACES"].split(":")
            if os.environ.get("GHOSTGATE_SHARD_TRACES") else [SHARED, LOCAL])
    out = {}
    for d in dirs:
        if not os.path.isdir(d):
            raise RuntimeError(f"shard trace folder {d} not found (set GHOSTGATE_SHARD_TRACES)")
        for n in sorted(os.listdir(d)):
            if os.path.isfile(os.path.join(d, n, "trace.sql")):
                out[n] = os.path.join(d, n)
    if not out:
        raise RuntimeError(f"no shard traces in {dirs}")
    return out


def routes_config(folder, **override):
    """The trace's routes.yaml (its top-level keys), for ghostgate's config."""
    with open(os.path.join(folder, "routes.yaml"), encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    cfg.update(override)
    return cfg


def metric_values(gate, name):
    """{label text: value} of one metric from /metrics ("" for an unlabelled one)."""
    text = test_traces.admin_get(gate, "/metrics")
    out = {}
    for labels, value in re.findall(rf"^{name}(?:\{{(.*?)\}})? (\S+)$", text, re.M):
        out[labels] = float(value)
    return out


def shard_cutovers(gate):
    """ghostgate_shard_cutovers_total by result (ok, wait, conflict, error)."""
    return {re.sub(r'^result="(\w+)"$', r"\1", k): int(v)
            for k, v in metric_values(gate, "ghostgate_shard_cutovers_total").items()}


def changes_waiting(gate):
    values = metric_values(gate, "ghostgate_shard_changes_waiting")
    return int(sum(values.values())) if values else None


def online_ddl(gate):
    return json.loads(test_traces.admin_get(gate, "/online-ddl"))


def shard_group(gate, target="shop.orders"):
    groups = online_ddl(gate).get("shard_groups")
    assert groups is not None, "/online-ddl has no shard_groups"
    found = [g for g in groups if g.get("target") == target]
    assert len(found) == 1, f"/online-ddl shard_groups has no single {target}: {groups}"
    return found[0]


def member_re(schema, table):
    """A member or target as a message may write it: shard_2.orders_2 or `shard_2`.`orders_2`."""
    return re.compile(rf"`?{schema}`?\.`?{table}`?")


def shard_of_txn(stmts):
    """Which upstream shard a routed transaction came from: a helper table's shard schema, else
    the row's id (shard i owns ids i*1000000 + k)."""
    for s in stmts:
        m = re.search(r"`shard_(\d+)`\.`_", s)
        if m:
            return int(m.group(1))
    for s in stmts:
        m = re.search(r"(?:VALUES \(|WHERE `id`=)(\d+)", s)
        if m:
            return int(m.group(1)) // make_shard_traces.SHARD_BASE
    return None


class ShardReplicator:
    """A replicator that splits its work by upstream table: one connection per shard (its row
    changes and its tool's statements) and one for the cut-overs. Statements go out in stream
    order; `errors` collects every statement answered with an ERR."""

    def __init__(self, gate):
        self.gate = gate
        self.conns = {}
        self.db = None
        self.errors = []

    def conn(self, key):
        if key not in self.conns:
            c = self.gate.connect(autocommit=True)
            with c.cursor() as cur:
                cur.execute("SET SESSION foreign_key_checks=0")
                if self.db:
                    cur.execute(f"USE `{self.db}`")
            self.conns[key] = c
        return self.conns[key]

    def execute(self, key, stmt):
        try:
            with self.conn(key).cursor() as cur:
                cur.execute(stmt)
                while cur.nextset():
                    pass
            return None
        except pymysql.err.MySQLError as e:
            self.errors.append((stmt[:200], e.args))
            return e

    def key_for(self, stmt):
        if CUTOVER.search(stmt):
            return "cutover"
        m = re.search(r"`shard_(\d+)`\.", stmt) or re.match(r"shard_(\d+)$", self.db or "")
        return int(m.group(1)) if m else 1

    def send(self, statements, after=None, offset=0):
        """Sends `statements` (a slice of the stream starting at index `offset`); after(index)
        is called after each statement that is not inside a transaction."""
        txn = None
        for i, stmt in enumerate(statements, offset):
            head = test_traces.head_word(stmt)
            if head == "BEGIN":
                txn = [stmt]
                continue
            if txn is not None:
                txn.append(stmt)
                if head == "COMMIT":
                    key = shard_of_txn(txn) or 1
                    for s in txn:
                        self.execute(key, s)
                    txn = None
                continue
            if head == "USE":
                self.db = stmt.strip()[3:].strip().strip("`")
                for c in list(self.conns):
                    self.execute(c, stmt)
                continue
            self.execute(self.key_for(stmt), stmt)
            if after:
                after(i)
        assert txn is None, "stream slice ends inside a transaction"

    def close(self):
        for c in self.conns.values():
            c.close()
        self.conns = {}


class ShardBase(harness.TestCase):
    """What both classes share: test_traces' loading, comparison and replays, for shard folders."""

    folders = {}

    @classmethod
    def setUpClass(cls):
        if harness.mode() != harness.MODE_GHOSTGATE:
            raise harness.HarnessError("shard merge is ghostgate's: run it through ghostgate")
        cls.standin = harness.Standin(general_log=True).start()
        cls.target = harness.Target(cls.standin, None)

    tearDownClass = classmethod(test_crash.Crash.tearDownClass.__func__)

    def trace_file(self, name, fname):
        return os.path.join(self.folders[name], fname)

    load_before = test_traces.Traces.load_before
    check_downstream = test_traces.Traces.check_downstream
    replay_batches = test_traces.Traces.replay_batches
    replay_ps = test_traces.Traces.replay_ps
    stmt_counters = test_traces.Traces.stmt_counters
    check_online_ddl_was_done = test_traces.Traces.check_online_ddl_was_done

    def statements(self, name):
        return test_traces.parse_trace(self.trace_file(name, "trace.sql"))

    def expected_cutovers(self, name):
        return sum(1 for s in self.statements(name) if CUTOVER.search(s))

    def cutover_counts(self, gate):
        return shard_cutovers(gate)

    gates = 0

    def start_gate(self, config, failpoints=None, log_level="info"):
        if self.target.gate is not None:
            self.target.gate.stop()
        ShardBase.gates += 1
        gate = harness.Ghostgate(self.standin, name=f"ghostgate{ShardBase.gates}",
                                 log_level=log_level, extra=config)
        self.target = harness.Target(self.standin, gate)
        type(self).target = self.target
        test_crash.Crash.start_with(gate, failpoints)
        return gate

    def log_offset(self):
        return os.path.getsize(self.standin.general_log_file)

    def received(self, offset):
        return test_traces.queries(test_traces.read_from(self.standin.general_log_file, offset),
                                   ("Query", "Prepare", "Execute"))

    def target_alters(self, offset):
        return [q.strip() for q in self.received(offset) if TARGET_ALTER.match(q)]

    def assert_each_once(self, alters, what=""):
        counts = collections.Counter(alters)
        twice = {a: n for a, n in counts.items() if n > 1}
        self.assertEqual(twice, {}, f"{what}: specs run more than once")
        for a in alters:
            self.assertNotRegex(a, r"(?i)AUTO_INCREMENT\s*=", f"{what}: not normalised")

    def columns(self):
        rows = self.standin.query("SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
                                  "WHERE TABLE_SCHEMA='shop' AND TABLE_NAME='orders'")
        return dict(rows)

    def indexes(self):
        rows = self.standin.query("SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS "
                                  "WHERE TABLE_SCHEMA='shop' AND TABLE_NAME='orders'")
        return sorted(r[0] for r in rows)

    def table_state(self):
        conn = self.standin.connect(autocommit=True)
        with conn.cursor() as cur:
            cur.execute(f"SHOW CREATE TABLE {TARGET}")
            create = test_traces.normalize_create(cur.fetchone()[1])
            cur.execute(f"SELECT COUNT(*) FROM {TARGET}")
            count = cur.fetchone()[0]
            cur.execute(f"CHECKSUM TABLE {TARGET}")
            checksum = cur.fetchone()[1]
        conn.close()
        return create, count, checksum

    def check_shard_schemas_clean(self, name):
        for (db,) in self.standin.query("SHOW DATABASES LIKE 'shard\\_%'"):
            self.assertEqual(self.standin.query(f"SHOW TABLES FROM `{db}`"), (),
                             f"{name}: helper tables downstream in {db}")
            self.assertEqual(self.standin.query(f"SHOW TRIGGERS FROM `{db}`"), (),
                             f"{name}: triggers downstream in {db}")


class ShardTraces(ShardBase):
    @classmethod
    def setUpClass(cls):
        cls.folders = shard_trace_folders()
        super().setUpClass()

    def check_checkpoint(self, name, cp):
        cols = self.columns()
        self.assertEqual(sorted(cols), sorted(cp["columns"]),
                         f"{name}: columns of {TARGET} after `{cp['cutover']}`")
        for col, ctype in cp["columns"].items():
            if ctype is not None:
                self.assertEqual(cols[col], ctype, f"{name}: type of {col} after "
                                 f"`{cp['cutover']}`")
        self.assertEqual(self.indexes(), sorted(cp["indexes"]),
                         f"{name}: indexes of {TARGET} after `{cp['cutover']}`")

    def replay_conns(self, name):
        path = self.trace_file(name, "checkpoints.json")
        checkpoints = {}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                checkpoints = {cp["after"]: cp for cp in json.load(f)}
        rep = ShardReplicator(self.target.gate)
        checked = []

        def after(i):
            if i in checkpoints and not rep.errors:
                self.check_checkpoint(name, checkpoints[i])
                checked.append(i)

        try:
            rep.send(self.statements(name), after)
        finally:
            rep.close()
        self.assertEqual(rep.errors[:5], [], f"{name}: {len(rep.errors)} statements refused")
        self.assertEqual(sorted(checked), sorted(checkpoints), f"{name}: checkpoints seen")

    def run_trace(self, name, how):
        with self.subTest(trace=name, how=how):
            started = time.monotonic()
            self.load_before(name)
            gate = self.start_gate(routes_config(self.folders[name]))
            offset = self.log_offset()
            before = self.cutover_counts(gate)
            {"conns": self.replay_conns, "batches": self.replay_batches,
             "ps": self.replay_ps}[how](name)
            self.check_downstream(name)
            self.check_online_ddl_was_done(name, offset, before)
            received = self.received(offset)
            self.assertEqual([q for q in received if RENAME.match(q)], [],
                             f"{name}: RENAME reached the backend")
            alters = self.target_alters(offset)
            self.assertTrue(alters, f"{name}: no ALTER ran on {TARGET}")
            self.assert_each_once(alters, name)
            self.check_shard_schemas_clean(name)
            group = shard_group(gate)
            self.assertEqual(group.get("waiting"), [], f"{name}: changes left waiting")
            self.assertEqual(changes_waiting(gate), 0, f"{name}: waiting metric")
            gate.stop()
            sys.stderr.write(f"  {name} {how}: {time.monotonic() - started:.1f}s\n")

    def test_conns(self):
        for name in self.folders:
            self.run_trace(name, "conns")

    def test_batches(self):
        for name in self.folders:
            self.run_trace(name, "batches")

    def test_prepared_statements(self):
        for name in self.folders:
            self.run_trace(name, "ps")


MINI = "shard-mini-2"


class ShardMerge(ShardBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        folder = os.path.join(harness.make_tmp_dir("ghostgate-shard-mini-"), MINI)
        make_shard_traces.generate(MINI, cls.standin.params(), folder)
        cls.folders = dict(shard_trace_folders(), **{MINI: folder})
        cls.token_file = os.path.join(harness.make_tmp_dir(), "admin-token")
        cls.token = "shard-token-" + os.urandom(6).hex()
        with open(cls.token_file, "w") as f:
            f.write(cls.token + "\n")
        os.chmod(cls.token_file, 0o600)
        # An operator's release runs the waiting specs with ghostgate's own account.
        cls.standin.query(f"GRANT SELECT, ALTER ON `shop`.* TO '{harness.GATE_USER}'@'%'")
        stmts = test_traces.parse_trace(os.path.join(folder, "trace.sql"))
        cls.mini = stmts
        cls.cuts = [i for i, s in enumerate(stmts) if CUTOVER.search(s)]
        assert len(cls.cuts) == 2, cls.cuts

    def config(self, mode="optimistic", **extra):
        cfg = routes_config(self.folders[MINI], **{"shard-mode": mode})
        cfg["admin-token-file"] = self.token_file
        cfg.update(extra)
        return cfg

    def send_ok(self, rep, statements, offset=0):
        rep.send(statements, offset=offset)
        self.assertEqual(rep.errors, [], "statements refused")

    def final_alters(self):
        """The ALTERs a clean optimistic run of the mini scenario sends to the target."""
        if getattr(type(self), "clean_alters", None) is None:
            self.load_before(MINI)
            gate = self.start_gate(self.config())
            offset = self.log_offset()
            rep = ShardReplicator(gate)
            self.send_ok(rep, self.mini)
            rep.close()
            self.check_downstream(MINI)
            alters = self.target_alters(offset)
            self.assert_each_once(alters, "clean run")
            type(self).clean_alters = sorted(alters)
            gate.stop()
        return type(self).clean_alters

    # ---- no routes

    def test_no_routes_refused(self):
        """Without `routes`, a shard's cut-over `RENAME TABLE shop.orders TO shard_1._orders_1_old,
        shard_1._orders_1_new TO shop.orders` would rename the merged table away (issue 9: 392
        rows of 1,139 left). It is refused with an ERR naming the `routes` key; shop.orders keeps
        its name and every row."""
        for name in ("shard-ptosc-3", "shard-ghost-2"):
            with self.subTest(trace=name):
                self.load_before(name)
                gate = self.start_gate({})
                stmts = self.statements(name)
                cut = next(i for i, s in enumerate(stmts) if CUTOVER.search(s))
                rep = ShardReplicator(gate)
                rep.send(stmts[:cut])  # how the shard's helpers are answered is not the point
                before = self.table_state()
                offset = self.log_offset()
                err = rep.execute("cutover", stmts[cut])
                rep.close()
                self.assertIsNotNone(err, f"{name}: the cut-over was not refused")
                self.assertEqual(err.args[0], 1105, err.args)
                self.assertIn("routes", err.args[1])
                self.assertEqual(self.table_state(), before, f"{name}: {TARGET} changed")
                self.assertEqual([q for q in self.received(offset)
                                  if RENAME.match(q) or TARGET_ALTER.match(q)], [])
                gate.stop()

    # ---- pessimistic

    def test_pessimistic_timeout_then_last_member(self):
        """pessimistic, shard-wait-timeout 2s: shard 1's cut-over waits for shard 2, then gets
        ERR 1105 naming the missing member; nothing ran. Shard 2's cut-over runs the change once;
        shard 1's resent cut-over is answered OK; the end is the merged upstream."""
        self.load_before(MINI)
        gate = self.start_gate(self.config("pessimistic", **{"shard-wait-timeout": "2s"}))
        cut1, cut2 = self.cuts
        offset = self.log_offset()
        counts = shard_cutovers(gate)
        rep = ShardReplicator(gate)
        self.send_ok(rep, self.mini[:cut1])
        before = self.table_state()
        started = time.monotonic()
        err = rep.execute("cutover", self.mini[cut1])
        waited = time.monotonic() - started
        self.assertIsNotNone(err, "shard 1's cut-over did not wait for shard 2")
        rep.errors = []
        self.assertEqual(err.args[0], 1105, err.args)
        self.assertRegex(err.args[1], member_re("shard_2", "orders_2"))
        self.assertGreaterEqual(waited, 1.8, "answered before shard-wait-timeout")
        self.assertLess(waited, 15)
        self.assertEqual(self.table_state(), before, "the change ran before every member came")
        self.assertEqual(self.target_alters(offset), [])
        group = shard_group(gate)
        self.assertEqual(group["mode"], "pessimistic")
        self.assertEqual(len(group["waiting"]), 1, group)
        self.assertEqual(group["waiting"][0]["missing"], ["shard_2.orders_2"], group)
        self.assertEqual(changes_waiting(gate), 1)
        self.assertGreaterEqual(shard_cutovers(gate).get("wait", 0) - counts.get("wait", 0), 1)

        self.send_ok(rep, self.mini[cut1 + 1:cut2])
        started = time.monotonic()
        self.send_ok(rep, [self.mini[cut2]])
        self.assertLess(time.monotonic() - started, 1.8, "the last member waited")
        ran = self.target_alters(offset)
        self.assertTrue(ran, "the change did not run at the last member's cut-over")
        self.assertEqual(changes_waiting(gate), 0)
        self.send_ok(rep, [self.mini[cut1]])  # the timed-out member's resend
        self.send_ok(rep, self.mini[cut2 + 1:])
        rep.close()
        self.check_downstream(MINI)
        self.assertEqual(sorted(self.target_alters(offset)), sorted(ran), "ran again at the resend")
        self.assert_each_once(ran, "pessimistic")
        self.assertEqual(sorted(ran), self.final_alters(), "not the optimistic run's specs")

    def test_pessimistic_waits_for_the_last_member(self):
        """pessimistic: shard 1's cut-over is held (its connection waits) until shard 2's arrives
        on another connection; then both are answered OK and the change ran once."""
        self.load_before(MINI)
        gate = self.start_gate(self.config("pessimistic", **{"shard-wait-timeout": "60s"}))
        cut1, cut2 = self.cuts
        offset = self.log_offset()
        rep = ShardReplicator(gate)
        self.send_ok(rep, self.mini[:cut1])
        # Shard 1's stream stops at its cut-over; the other shard's goes on.
        held, others, db, txn = ["USE `shard_1`"], [], None, None
        for s in self.mini[cut1 + 1:cut2]:
            head = test_traces.head_word(s)
            if head == "BEGIN":
                txn = [s]
            elif txn is not None:
                txn.append(s)
                if head == "COMMIT":
                    self.assertNotEqual(shard_of_txn(txn), 1, "mini: shard 1 writes meanwhile")
                    others += txn
                    txn = None
            elif head == "USE":
                db = s.strip()[3:].strip().strip("`")
                others.append(s)
            else:
                (held if db == "shard_1" else others).append(s)
        result = {}

        def first():
            conn = gate.connect(autocommit=True, read_timeout=90)
            try:
                with conn.cursor() as cur:
                    cur.execute("SET SESSION foreign_key_checks=0")
                    cur.execute("USE `shard_1`")
                    cur.execute(self.mini[cut1])
                result["first"] = "ok"
            except pymysql.err.MySQLError as e:
                result["first"] = e.args
            finally:
                conn.close()

        t = threading.Thread(target=first)
        t.start()
        try:
            harness.wait_until(lambda: shard_group(gate).get("waiting"), 20,
                               what="shard 1's change to wait")
            self.assertTrue(t.is_alive(), f"shard 1's cut-over was answered: {result}")
            self.assertEqual(self.target_alters(offset), [])
            self.send_ok(rep, others)
            self.assertTrue(t.is_alive(), f"shard 1's cut-over was answered: {result}")
            self.send_ok(rep, [self.mini[cut2]])
        finally:
            t.join(60)
        self.assertEqual(result.get("first"), "ok")
        self.send_ok(rep, held)
        self.send_ok(rep, self.mini[cut2 + 1:])
        rep.close()
        self.check_downstream(MINI)
        ran = self.target_alters(offset)
        self.assert_each_once(ran, "pessimistic")
        self.assertEqual(sorted(ran), self.final_alters())

    # ---- conflicts

    def ghost_cutover(self, rep, shard, alter):
        """gh-ost's statements for one shard's migration, no rows: ERR of the cut-over or None."""
        s = f"shard_{shard}"
        gho, dele = f"`{s}`.`_orders_{shard}_gho`", f"`{s}`.`_orders_{shard}_del`"
        self.send_ok(rep, [f"USE `{s}`", f"create /* gh-ost */ table {gho} like {TARGET}",
                           f"alter /* gh-ost */ table {gho} {alter}"])
        err = rep.execute("cutover", f"rename /* gh-ost */ table {TARGET} to {dele}, {gho} to "
                                     f"{TARGET}")
        rep.errors = []
        return err

    def test_conflicts(self):
        """optimistic: after shard 1 added `note varchar(20)`, shard 2's cut-over with another
        definition of note, a RENAME COLUMN, a non-widening type change, or a different set
        while it is behind, gets ERR 1105 naming the shard, the target and both versions; nothing
        changes. Its ghost dropped, its cut-over with the same set is answered OK, nothing runs."""
        self.load_before(MINI)
        gate = self.start_gate(self.config())
        rep = ShardReplicator(gate)
        self.assertIsNone(self.ghost_cutover(rep, 1, "add column note varchar(20) default null"))
        self.send_ok(rep, ["DROP TABLE IF EXISTS `_orders_1_del` /* generated by server */"])
        self.assertIn("note", self.columns())
        cases = [
            ("add column note int default null", ["note", "varchar(20)", "int"]),
            ("rename column b to b2", ["b"]),
            ("modify column d int default null", ["d"]),
            ("add index ix_z(a)", ["ix_z", "note"]),
        ]
        for alter, words in cases:
            with self.subTest(alter=alter):
                before = self.table_state()
                offset = self.log_offset()
                counts = shard_cutovers(gate)
                err = self.ghost_cutover(rep, 2, alter)
                self.assertIsNotNone(err, f"{alter}: not refused")
                self.assertEqual(err.args[0], 1105, err.args)
                msg = err.args[1]
                self.assertRegex(msg, member_re("shard_2", "orders_2"))
                self.assertRegex(msg, member_re("shop", "orders"))
                for w in words:
                    self.assertIn(w, msg)
                self.assertEqual(self.table_state(), before, f"{alter}: {TARGET} changed")
                self.assertEqual(self.target_alters(offset), [])
                after = shard_cutovers(gate)
                self.assertEqual(after.get("conflict", 0) - counts.get("conflict", 0), 1)
                members = {m["member"]: m["reached"] for m in shard_group(gate)["members"]}
                self.assertEqual(members.get("shard_2.orders_2", 0), 0, members)
                # The shard gives up (its ghost dropped): the group is as it was.
                self.send_ok(rep, ["DROP TABLE IF EXISTS `_orders_2_gho` /* generated by server */"])
        offset = self.log_offset()
        self.assertIsNone(self.ghost_cutover(rep, 2, "add column note varchar(20) default null"))
        self.assertEqual(self.target_alters(offset), [], "the same set ran again")
        members = {m["member"]: m["reached"] for m in shard_group(gate)["members"]}
        self.assertEqual(members, {"shard_1.orders_1": 1, "shard_2.orders_2": 1})
        rep.close()

    # ---- admin

    def test_admin_state_metric_release(self):
        """/online-ddl's shard_groups while a contracting spec waits for shard 2, the waiting
        metric, the group's row beside the meta table, and POST
        /online-ddl/shard/shop.orders/release: token required (401), unknown target 404, nothing
        waiting 409, release runs the waiting spec once; shard 2's cut-over then runs nothing."""
        self.load_before(MINI)
        gate = self.start_gate(self.config())
        cut1, cut2 = self.cuts
        path = "/online-ddl/shard/shop.orders/release"
        body = json.dumps({"version": 1})
        for token in (None, "wrong", self.token + "x"):
            status, text = admin(gate, "POST", path, body, token)
            self.assertEqual(status, 401, text)
        status, text = admin(gate, "POST", "/online-ddl/shard/shop.nothing/release", body,
                             self.token)
        self.assertEqual(status, 404, text)
        status, text = admin(gate, "POST", path, body, self.token)
        self.assertEqual(status, 409, text)

        offset = self.log_offset()
        rep = ShardReplicator(gate)
        self.send_ok(rep, self.mini[:cut1 + 1])
        self.assertIn("note", self.columns(), "additive spec did not run at the first shard")
        self.assertIn("e", self.columns(), "contracting spec ran before the last shard")
        stored = self.standin.query(f"SELECT COUNT(*) FROM {SHARD_META}")
        self.assertEqual(stored, ((1,),), f"{SHARD_META}: one row per target")
        group = shard_group(gate)
        self.assertEqual(group["mode"], "optimistic")
        self.assertEqual({m["member"]: m["reached"] for m in group["members"]},
                         {"shard_1.orders_1": 1, "shard_2.orders_2": 0}, group)
        self.assertEqual(len(group["versions"]), 1, group)
        v = group["versions"][0]
        self.assertEqual((v["number"], v["by"], v["released"]), (1, "shard_1.orders_1", False))
        specs = {s["text"]: (s["class"], s["done"]) for s in v["specs"]}
        self.assertEqual(len(specs), 3, specs)
        kinds = {}
        for text, value in specs.items():
            m = re.match(r"(ADD COLUMN|ADD INDEX|DROP COLUMN) `(\w+)`", text)
            self.assertIsNotNone(m, text)
            kinds[m.groups()] = value
        self.assertEqual(kinds, {("ADD COLUMN", "note"): ("additive", True),
                                 ("ADD INDEX", "ix_a"): ("additive", True),
                                 ("DROP COLUMN", "e"): ("contracting", False)})
        drop = next(t for t in specs if t.startswith("DROP COLUMN"))
        self.assertEqual(group["waiting"], [{"version": 1, "specs": [drop],
                                             "missing": ["shard_2.orders_2"], "unseen": 0}])
        self.assertEqual(changes_waiting(gate), 1)
        self.assertEqual(sorted(a.split("`orders`", 1)[1].strip()
                                for a in self.target_alters(offset)),
                         sorted(t for t in specs if t != drop))

        self.send_ok(rep, self.mini[cut1 + 1:cut2], offset=cut1 + 1)
        released = self.log_offset()
        status, text = admin(gate, "POST", path, body, self.token)
        self.assertEqual(status, 200, text)
        self.assertNotIn("e", self.columns(), "release did not run the waiting spec")
        self.assertEqual(self.target_alters(released), [f"ALTER TABLE {TARGET} {drop}"])
        self.assertEqual(changes_waiting(gate), 0)
        group = shard_group(gate)
        self.assertEqual(group["waiting"], [])
        self.assertTrue(group["versions"][0]["released"])
        status, text = admin(gate, "POST", path, body, self.token)
        self.assertEqual(status, 409, text)
        self.assertNotIn(self.token, gate.logs(100000))

        self.send_ok(rep, self.mini[cut2:])
        rep.close()
        self.assertEqual(self.target_alters(released), [f"ALTER TABLE {TARGET} {drop}"],
                         "shard 2's cut-over ran something again")
        self.check_downstream(MINI)
        self.assertEqual(sorted(self.target_alters(offset)), self.final_alters())

    # ---- crash safety

    CRASHES = [
        ("shard-claimed", 1), ("shard-claimed", 2),
        ("shard-state-persisted", 1), ("shard-state-persisted", 2),
        ("shard-state-persisted", 3),
        ("shard-spec-ran", 1), ("shard-spec-ran", 2), ("shard-spec-ran", 3),
        ("before-meta-clear", 1), ("before-meta-clear", 2),
        ("after-meta-clear", 1), ("after-meta-clear", 2),
    ]

    def test_crash_points(self):
        """kill -9 (a failpoint) at each step of a shard cut-over, restart, resend what got no
        OK: every statement acknowledged without error, the downstream equal to the merged
        upstream, each spec run exactly once (general log) and the same specs as a clean run,
        no online-DDL state left."""
        clean = self.final_alters()
        for failpoint, nth in self.CRASHES:
            with self.subTest(failpoint=failpoint, nth=nth):
                started = time.monotonic()
                self.load_before(MINI)
                spec = f"{failpoint}=crash" + (f"@{nth}" if nth > 1 else "")
                gate = self.start_gate(self.config(), spec)
                offset = self.log_offset()
                crash = test_crash.Crash.replay.__get__(self)
                rep = crash(gate, self.mini)
                self.assertEqual(len(rep.lost), 1, f"{spec}: lost connections {rep.lost}")
                _, stmt, err, code = rep.lost[0]
                self.assertTrue(CUTOVER.search(stmt), f"{spec}: lost at {stmt[:120]!r} ({err})")
                self.assertEqual(code, -signal.SIGKILL)
                with open(gate.log_file, encoding="utf-8", errors="replace") as f:
                    self.assertIn(f"failpoint {failpoint}: crash", f.read())
                self.assertEqual(rep.errors, [], f"{spec}: statements refused")
                self.check_downstream(MINI)
                alters = self.target_alters(offset)
                self.assert_each_once(alters, spec)
                self.assertEqual(sorted(alters), clean, f"{spec}: not the clean run's specs")
                self.assertEqual(self.standin.query(f"SELECT COUNT(*) FROM {META}"), ((0,),))
                group = shard_group(gate)
                self.assertEqual({m["member"]: m["reached"] for m in group["members"]},
                                 {"shard_1.orders_1": 1, "shard_2.orders_2": 1})
                self.assertEqual(group["waiting"], [])
                gate.stop()
                sys.stderr.write(f"  {spec}: {time.monotonic() - started:.1f}s\n")

    start_with = staticmethod(test_crash.Crash.start_with)


if __name__ == "__main__":
    harness.main()
