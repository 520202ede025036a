#!/usr/bin/python3
"""Online DDL, `dry-run: true`: ghostgate forwards every statement unchanged (the downstream
ends exactly as a direct replay leaves it), runs nothing of its own on the backend but its
catalog lookups, persists nothing in the meta table, and logs what a real run would have done,
judged from the in-memory state a real run would have by then: the ghost's CREATE suppressed,
its ALTER recorded, the cut-over RENAME turned into the recorded ALTER on the real table.

Every trace in ../shared/traces is replayed three times onto its before.sql: straight into the
stand-in, through the dry-run ghostgate, and through a real (not dry-run) ghostgate whose log
lines the dry run's must match decision for decision.

    /usr/bin/python3 tests/integration/test_dry_run.py
"""

import collections
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import test_traces  # noqa: E402

# online-ddl dry-run: would <verb> kind=<kind> tables=<t> digest=<d> (<reason>)
#                     [ running: <sql>; <sql>...]; forwarded
DRY_LINE = re.compile(r"online-ddl dry-run: would (?P<verb>[a-z ()]+?) kind=(?P<kind>[a-z_]+) "
                      r"tables=(?P<tables>\S+) digest=(?P<digest>[0-9a-f]{16}) "
                      r"\((?P<reason>.*?)\)(?: running: (?P<running>.*?))?; forwarded$")
# What a real run logs for the same decisions (README, "What the logs and metrics show").
REAL_LINE = re.compile(r"online-ddl (?P<verb>suppress|record|cut-over|record skipped \(.*?\)): "
                       r"(?P<reason>.*) tables=(?P<tables>\S+) digest=(?P<digest>[0-9a-f]{16})$")
REAL_REFUSE = re.compile(r"online-ddl refuse: tables=(?P<tables>\S+) digest=(?P<digest>\S+):")
REAL_RAN = re.compile(r"online-ddl: (?:cut-over ran on \S+|ran): (?P<sql>.*)$")
REAL_VERBS = {"suppress": "suppress", "record": "record", "cut-over": "cut over"}

PING = "SELECT 1"  # both ghostgates' health checks, at any time
DML_REASON = "dml on helper table"


# ghost-atomic's decisions, DML aside: (verb, kind, tables, reason).
GHOST_ATOMIC = [
    ("suppress", "drop_table", "test._t_ghc", "drop helper table"),
    ("suppress", "create_table", "test._t_ghc", "create trash table"),
    ("suppress", "create_table", "test._t_gho,test.t", "create ghost table"),
    # The ghost exists downstream now (its CREATE was forwarded); a real run, where it
    # does not, records its ALTERs: so does the dry run.
    ("record", "alter_table", "test._t_gho", "record ddl on ghost table"),
    ("record", "alter_table", "test._t_gho", "record ddl on ghost table"),
    ("suppress", "create_table", "test._t_del", "create trash table"),
    ("suppress", "drop_table", "test._t_del", "drop helper table"),
    ("cut over", "rename_table", "test.t,test._t_del,test._t_gho,test.t", "cut-over"),
    ("suppress", "drop_table", "test._t_ghc", "drop helper table"),
    # Downstream `_t_del` is the old `t` now; a real run never let it exist.
    ("suppress", "drop_table", "test._t_del", "drop helper table"),
]


class DryRun(harness.TestCase):
    real = None
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        if harness.mode() != harness.MODE_GHOSTGATE:
            raise harness.HarnessError("dry-run is ghostgate's own; run it through ghostgate")
        # The stand-in's general log shows every statement the backend received.
        cls.target = harness.start_target(gate_extra={"dry-run": True}, general_log=True)
        cls.standin = cls.target.standin
        # A real run beside it, with its own meta table.
        cls.real = harness.Ghostgate(cls.standin, name="ghostgate-real",
                                     extra={"name": "ghostgate_real"}).start()

    @classmethod
    def tearDownClass(cls):
        if cls.real is not None:
            cls.real.stop()
        super().tearDownClass()

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

    def replay(self, trace, endpoint):
        """Replays `trace` (a trace's name, or (its before.sql's trace, statements)) onto its
        before.sql through `endpoint`; returns the client's errors and the statements the
        stand-in received meanwhile."""
        if isinstance(trace, tuple):
            before, data = trace[0], trace[1].encode()
        else:
            before = trace
            with open(os.path.join(test_traces.traces_dir(), trace, "trace.sql"), "rb") as f:
                data = f.read()
        data = b"SET SESSION foreign_key_checks=0;\n" + data
        test_traces.Traces.load_before(self, before)
        offset = os.path.getsize(self.standin.general_log_file)
        r = subprocess.run(test_traces.cli_args(endpoint) + ["--force"], input=data,
                           timeout=300, capture_output=True)
        return r.stderr.decode(errors="replace"), test_traces.queries(
            test_traces.read_from(self.standin.general_log_file, offset))

    def replay_dry(self, trace):
        """Replays `trace` directly and through the dry-run ghostgate; checks that both leave
        the same downstream and that ghostgate added nothing but catalog lookups. Returns the
        parsed dry-run lines logged meanwhile."""
        direct_errors, direct_received = self.replay(trace, self.standin)
        direct = self.snapshot()
        log_offset = os.path.getsize(self.target.gate.log_file)
        gate_errors, gate_received = self.replay(trace, self.target.gate)
        self.assertEqual(gate_errors, direct_errors, trace)
        self.assertEqual(self.snapshot(), direct,
                         f"{trace}: dry-run must leave what a direct replay does")

        # Nothing ghostgate-originated reached the backend: every statement of the replay
        # arrived unchanged, and the only ones added are catalog lookups.
        # No cut-over DDL, no SHOW CREATE TABLE fingerprint, no meta-table write.
        direct_count = collections.Counter(q for q in direct_received if q != PING)
        gate_count = collections.Counter(q for q in gate_received if q != PING)
        self.assertTrue(direct_count, f"{trace}: nothing in the stand-in's general log")
        self.assertEqual(direct_count - gate_count, collections.Counter(),
                         f"{trace}: statements that did not reach the backend unchanged")
        extra = [q for q in (gate_count - direct_count).elements()
                 if not q.startswith(test_traces.LOOKUP)]
        self.assertEqual(extra, [], f"{trace}: statements ghostgate ran on its own")
        self.assertEqual(self.standin.query(
            "SELECT COUNT(*) FROM dm_meta.ghostgate_it_onlineddl")[0][0], 0)
        # Every migration of a trace ends (cut over or abandoned): no dry-run state is left.
        state = json.loads(test_traces.admin_get(self.target.gate, "/online-ddl"))
        self.assertTrue(state["dry_run"])
        self.assertEqual(state["pending"], [], trace)

        log = test_traces.read_from(self.target.gate.log_file, log_offset)
        lines = re.findall(r"online-ddl dry-run: would .*", log)
        self.assertTrue(lines, f"{trace}: nothing logged in dry-run")
        parsed = []
        for line in lines:
            m = DRY_LINE.search(line)
            self.assertIsNotNone(m, f"dry-run line without its fields: {line}")
            parsed.append(m.groupdict())
        self.assertNotRegex(log, r"online-ddl(?: (?:cut-over|record|suppress|refuse)[ :]|: "
                                 r"(?:cut-over ran|ran) )", "a dry run logged a real decision")
        return parsed

    def replay_real(self, trace):
        """Replays `trace` through a real ghostgate: its decisions, in order, as (verb, tables,
        digest, reason, [backend SQL run])."""
        log_offset = os.path.getsize(self.real.log_file)
        self.replay(trace, self.real)
        log = test_traces.read_from(self.real.log_file, log_offset)
        decisions, ran = [], []
        for line in log.split("\n"):
            m = REAL_RAN.search(line)
            if m:
                ran.append(m.group("sql"))
                continue
            m = REAL_REFUSE.search(line)
            if m:
                decisions.append(("refuse", m.group("tables"), m.group("digest"), None, ran))
                ran = []
                continue
            m = REAL_LINE.search(line)
            if m:
                verb = REAL_VERBS.get(m.group("verb"), "skip recording (already recorded)")
                decisions.append((verb, m.group("tables"), m.group("digest"), m.group("reason"),
                                  ran))
                ran = []
        return decisions

    @staticmethod
    def ddl_lines(parsed):
        return [p for p in parsed if p["reason"] != DML_REASON]

    @staticmethod
    def running(line):
        return line["running"].split("; ") if line["running"] else []

    def assert_ghost_atomic_decisions(self, parsed, comment):
        """The DDL decisions of the ghost-atomic trace, and the cut-over's ALTERs on the real
        table (`comment`: what the client left of the trace's `/* gh-ost */ ` after `alter `)."""
        decided = [(p["verb"], p["kind"], p["tables"], p["reason"]) for p in self.ddl_lines(parsed)]
        self.assertEqual(decided, GHOST_ATOMIC)
        cutover = [p for p in parsed if p["verb"] == "cut over"][0]
        self.assertEqual(self.running(cutover), [
            f"alter {comment}table `test`.`t` add column c varchar(10) not null default 'q', "
            "add index ix_b(b)",
            f"alter {comment}table `test`.`t` AUTO_INCREMENT=535",
        ])

    def test_ghost_atomic(self):
        parsed = self.replay_dry("ghost-atomic")
        dml = [p for p in parsed if p["reason"] == DML_REASON]
        self.assertGreater(len(dml), 500)  # 506 row changes on _t_gho, 32 on _t_ghc
        self.assertTrue(all(p["verb"] == "suppress" for p in dml))
        self.assertEqual({p["tables"] for p in dml}, {"test._t_gho", "test._t_ghc"})
        # The mariadb client strips the /* gh-ost */ comment and leaves its spaces.
        self.assert_ghost_atomic_decisions(parsed, " ")

    def test_batches_two_connections(self):
        # Each transaction as one multi-statement batch on one connection, DDL on another (as a
        # parallel applier sends them): judged statement by statement, in order, as the client
        # replay is. pymysql keeps the /* gh-ost */ comments that the mariadb client strips.
        test_traces.Traces.load_before(self, "ghost-atomic")
        log_offset = os.path.getsize(self.target.gate.log_file)
        test_traces.Traces.replay_batches(self, "ghost-atomic")
        test_traces.Traces.check_downstream(self, "ghost-atomic")  # naive replay = upstream
        self.assertEqual(self.standin.query(
            "SELECT COUNT(*) FROM dm_meta.ghostgate_it_onlineddl")[0][0], 0)
        state = json.loads(test_traces.admin_get(self.target.gate, "/online-ddl"))
        self.assertEqual(state["pending"], [])
        log = test_traces.read_from(self.target.gate.log_file, log_offset)
        parsed = [DRY_LINE.search(line).groupdict()
                  for line in re.findall(r"online-ddl dry-run: would .*", log)]
        self.assertEqual(sum(1 for p in parsed if p["reason"] == DML_REASON), 538)
        self.assert_ghost_atomic_decisions(parsed, "/* gh-ost */ ")

    def test_ptosc_default(self):
        parsed = self.replay_dry("ptosc-default")
        decided = [(p["verb"], p["kind"], p["tables"], p["reason"]) for p in self.ddl_lines(parsed)]
        self.assertEqual(decided, [
            ("suppress", "create_table", "test._t_new", "create ghost table"),
            ("record", "alter_table", "test._t_new", "record ddl on ghost table"),
            ("suppress", "create_trigger", "test.pt_osc_test_t_del,test.t", "pt-osc trigger"),
            ("suppress", "create_trigger", "test.pt_osc_test_t_upd,test.t", "pt-osc trigger"),
            ("suppress", "create_trigger", "test.pt_osc_test_t_ins,test.t", "pt-osc trigger"),
            ("suppress", "other", "test._t_new", "statement on helper tables"),  # ANALYZE
            ("cut over", "rename_table", "test.t,test._t_old,test._t_new,test.t", "cut-over"),
            ("suppress", "drop_table", "test._t_old", "drop helper table"),
            ("suppress", "drop_trigger", "test.pt_osc_test_t_del", "pt-osc trigger"),
            ("suppress", "drop_trigger", "test.pt_osc_test_t_upd", "pt-osc trigger"),
            ("suppress", "drop_trigger", "test.pt_osc_test_t_ins", "pt-osc trigger"),
        ])
        cutover = [p for p in parsed if p["verb"] == "cut over"][0]
        self.assertEqual(self.running(cutover),
                         ["ALTER TABLE `test`.`t` add column c3 int, add index ix_c3(c3)"])

    def test_ptosc_drop_swap(self):
        parsed = self.replay_dry("ptosc-fk-drop-swap")
        decided = [(p["verb"], p["tables"], p["reason"]) for p in self.ddl_lines(parsed)
                   if p["kind"] in ("alter_table", "drop_table", "rename_table")]
        self.assertEqual(decided, [
            ("record", "test._parent_new", "record ddl on ghost table"),
            ("suppress", "test.parent", "defer drop of real table (drop_swap)"),
            ("cut over", "test._parent_new,test.parent", "cut-over"),
        ])
        cutover = [p for p in parsed if p["verb"] == "cut over"][0]
        self.assertEqual(self.running(cutover), [
            "ALTER TABLE `test`.`parent` add column note varchar(20) not null default 'n'"])

    def assert_decided_as_a_real_run(self, trace):
        """The dry run's decisions for `trace`, checked equal to a real run's, in order."""
        real = self.replay_real(trace)
        parsed = self.replay_dry(trace)
        dry = [(p["verb"], p["tables"], p["digest"],
                None if p["verb"] == "refuse" else p["reason"], self.running(p)) for p in parsed]
        self.assertEqual(len(dry), len(real), trace)
        for d, r in zip(dry, real):
            self.assertEqual(d, r, trace)
        return parsed

    def test_every_trace_decided_as_a_real_run(self):
        for trace in test_traces.trace_names():
            with self.subTest(trace=trace):
                parsed = self.assert_decided_as_a_real_run(trace)
                self.assertEqual(sum(1 for p in parsed if p["verb"] == "cut over"), 1, trace)
                self.assertTrue(any(p["verb"] == "record" for p in parsed), trace)

    def test_two_step_with_writes_between_and_a_resent_alter(self):
        # gh-ost's two-step cut-over with a changelog write between its renames (a replicator
        # applying several connections' changes interleaves them): while the dry run's
        # downstream has no `t`, a real run's still has it, so `_t_ghc` is still a helper.
        # And an ALTER resent after a lost OK is recorded once, as in a real run.
        scenario = ("ghost-atomic", """USE `test`;
create table `test`.`_t_ghc` (id int primary key, hint varchar(64)) comment='gh-ost changelog';
create table `test`.`_t_gho` like `test`.`t`;
alter table `test`.`_t_gho` add column z int;
alter table `test`.`_t_gho` add column z int;
insert into `test`.`_t_gho` select *, null from `test`.`t`;
alter table `test`.`t` rename `_t_del`;
insert into `test`.`_t_ghc` values (1, 'state');
alter table `test`.`_t_gho` rename `t`;
drop table if exists `_t_del`;
drop table if exists `_t_ghc`;
""")
        parsed = self.assert_decided_as_a_real_run(scenario)
        decided = [(p["verb"], p["kind"], p["tables"], p["reason"], self.running(p))
                   for p in parsed]
        self.assertEqual(decided, [
            ("suppress", "create_table", "test._t_ghc", "create trash table", []),
            ("suppress", "create_table", "test._t_gho,test.t", "create ghost table", []),
            ("record", "alter_table", "test._t_gho", "record ddl on ghost table", []),
            ("skip recording (already recorded)", "alter_table", "test._t_gho",
             "record ddl on ghost table", []),
            ("suppress", "insert", "test._t_gho", DML_REASON, []),
            ("suppress", "alter_table", "test.t,test._t_del", "rename involving helper tables",
             []),
            ("suppress", "insert", "test._t_ghc", DML_REASON, []),
            ("cut over", "alter_table", "test._t_gho,test.t", "cut-over",
             ["alter table `test`.`t` add column z int"]),
            ("suppress", "drop_table", "test._t_del", "drop helper table", []),
            ("suppress", "drop_table", "test._t_ghc", "drop helper table", []),
        ])


if __name__ == "__main__":
    harness.main()
