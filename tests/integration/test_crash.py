#!/usr/bin/python3
"""Online DDL crash safety: ghostgate is killed (SIGKILL, from inside, by a failpoint) at each
moment of a migration where persisted state matters, restarted, and the replicator resends what it
never got an OK for. The downstream must end exactly as after a clean run.

For each (failpoint, trace) pair below:
  1. load the trace's before.sql into the stand-in, empty the meta table;
  2. start ghostgate with GHOSTGATE_FAILPOINTS="<failpoint>=crash" ("<failpoint>=crash@K" for
     a failpoint hit once per cut-over DDL: the crash comes after the K-th);
  3. replay trace.sql like an at-least-once replicator, one connection, statement by statement
     (a BEGIN...COMMIT transaction is the unit of retry): on a lost connection restart ghostgate
     without the failpoint, wait for /readyz, reconnect, restore the session (foreign_key_checks,
     USE) and resend the unit that was not acknowledged;
  4. assert the failpoint really fired: exactly one lost connection, at the statement where the
     failpoint lives (the first recorded ghost DDL, or the cut-over RENAME), ghostgate's exit by
     SIGKILL, and its "failpoint ...: crash" log line;
  5. assert the result: every statement eventually acknowledged with no error (so no "metadata not
     found" and no DDL that failed because it ran twice), the downstream equal to expected.txt
     (test_traces' comparison), each cut-over DDL run exactly once according to ghostgate's log
     and none missing, and the meta table empty.

The failpoints (proxy/failpoint.h, placed in proxy/online_ddl_service.cc):
  before-record-persist   a ghost DDL was recorded in memory, not yet persisted
  after-record-persisted  ... persisted, the client's OK not yet sent (resend must not record twice)
  after-cutover-ddl       a cut-over DDL ran, its progress not yet persisted
  before-progress-persist the same moment, seen from the persisting side
  between-cutover-ddls    a cut-over DDL ran and its progress was persisted, more DDLs follow
  before-meta-clear       all cut-over DDLs ran, the meta row not yet cleared
  after-meta-clear        the meta row cleared, the client's OK not yet sent
  meta-load               start-up: the state is about to be read from the meta table

gh-ost records two DDLs per migration (the ALTER and `AUTO_INCREMENT=N`), so its traces have a
DDL between two others to crash on; `ghost-split` is ghost-atomic with the user's ALTER split in
two (gh-ost's statement shapes, same end state), so that the DDL after the crash is one whose
loss the comparison would see. A crash after each of its three cut-over DDLs is tested, the last
included: `AUTO_INCREMENT=N` changes nothing the definition fingerprint sees, so after that crash
it runs a second time (harmless: it sets the same counter) while every other DDL runs once.

`meta-load` crashes ghostgate as it loads its state at start-up, between a restart and a cut-over:
the next start must find that state intact.

The same failpoints armed with `1*error` instead of `crash` make the statement fail once without a
restart (a meta-table write or a DDL that failed): the replicator retries it, and the result must
again be exact - the in-memory state must be what was persisted.

Two more tests: a cut-over arriving before ghostgate has loaded its state from the meta table is
refused (not answered OK with the recorded DDLs silently lost); and a cut-over RENAME resent on a
second connection while the first is still running (a replicator's read timeout during a long
ALTER) waits for it instead of running the same DDLs beside it.

    GHOSTGATE_BIN=build/ghostgate /usr/bin/python3 tests/integration/test_crash.py
"""

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
sys.path.insert(0, HERE)
import harness  # noqa: E402
import pymysql  # noqa: E402
import test_traces  # noqa: E402

META_TABLE = "`dm_meta`.`ghostgate_it_onlineddl`"

# A lost connection, as pymysql reports it (CR_SERVER_GONE_ERROR, CR_SERVER_LOST, can't connect).
LOST_CONNECTION = {2003, 2006, 2013}

GHOST_DDL = re.compile(r"^\s*(?:alter|create\s+index|drop\s+index)\b.*`_[^`]*_(?:gho|new)`", re.I | re.S)
CUTOVER = re.compile(r"`_[^`]*_(?:gho|new)`\s+(?:to|rename)\b", re.I)

# (failpoint[@K: its K-th hit], trace, where it fires: "record" = first ghost DDL, "cutover" = the
# cut-over)
SCENARIOS = [
    ("before-record-persist", "ghost-atomic", "record"),
    ("before-record-persist", "ptosc-default", "record"),
    ("after-record-persisted", "ghost-atomic", "record"),
    ("after-record-persisted", "ptosc-default", "record"),
    ("after-record-persisted", "ptosc-fk-drop-swap", "record"),
    ("after-cutover-ddl", "ghost-split", "cutover"),
    ("after-cutover-ddl@2", "ghost-split", "cutover"),
    ("after-cutover-ddl@3", "ghost-split", "cutover"),  # the last: AUTO_INCREMENT=N
    ("after-cutover-ddl@2", "ghost-two-step", "cutover"),  # the last of two
    ("after-cutover-ddl", "ptosc-default", "cutover"),
    ("before-progress-persist@2", "ghost-split", "cutover"),
    ("between-cutover-ddls", "ghost-split", "cutover"),
    ("between-cutover-ddls@2", "ghost-split", "cutover"),
    ("between-cutover-ddls", "ghost-two-step", "cutover"),
    ("before-meta-clear", "ghost-atomic", "cutover"),
    ("before-meta-clear", "ghost-two-step", "cutover"),
    ("before-meta-clear", "ptosc-default", "cutover"),
    ("before-meta-clear", "ptosc-fk-drop-swap", "cutover"),
    ("after-meta-clear", "ghost-two-step", "cutover"),
    ("after-meta-clear", "ptosc-fk-drop-swap", "cutover"),
]

# The failpoint fails the statement once (`1*error`); the replicator retries it.
ERROR_SCENARIOS = [
    ("before-record-persist", "ghost-atomic", "record"),
    ("after-record-persisted", "ptosc-default", "record"),
    ("after-cutover-ddl", "ghost-split", "cutover"),
    ("before-progress-persist", "ghost-split", "cutover"),
    ("between-cutover-ddls", "ghost-split", "cutover"),
    ("before-meta-clear", "ptosc-fk-drop-swap", "cutover"),
    ("after-meta-clear", "ghost-atomic", "cutover"),
]


def trace_statements(name):
    """(statements, folder whose before.sql / expected.txt apply)."""
    if name == "ghost-split":
        stmts = test_traces.parse_trace(
            os.path.join(test_traces.traces_dir(), "ghost-atomic", "trace.sql"))
        out, split = [], 0
        for s in stmts:
            m = re.match(r"(alter /\* gh-ost \*/ table `test`\.`_t_gho` )(add column .*?), "
                         r"(add index .*)$", s, re.S)
            if m:
                out += [m.group(1) + m.group(2), m.group(1) + m.group(3)]
                split += 1
            else:
                out.append(s)
        assert split == 1, "ghost-atomic's ALTER changed shape; update ghost-split"
        return out, "ghost-atomic"
    return test_traces.parse_trace(os.path.join(test_traces.traces_dir(), name, "trace.sql")), name


def units(statements):
    """The replicator's units of retry: a BEGIN...COMMIT transaction, or one statement."""
    out, txn = [], None
    for s in statements:
        head = test_traces.head_word(s)
        if head == "BEGIN":
            txn = [s]
        elif txn is not None:
            txn.append(s)
            if head == "COMMIT":
                out.append(txn)
                txn = None
        else:
            out.append([s])
    assert txn is None, "trace ends inside a transaction"
    return out


def http_status(gate, path):
    try:
        with urllib.request.urlopen(f"http://{gate.host}:{gate.admin_port}{path}",
                                    timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def wait_ready(gate, timeout=30):
    harness.wait_until(lambda: http_status(gate, "/readyz")[0] == 200, timeout,
                       what=f"{gate} /readyz")


class Replicator:
    """One connection through ghostgate, statement by statement, at-least-once on a lost
    connection: the caller restarts ghostgate, this reconnects and resends the unit."""

    def __init__(self, gate, retry_errors=False):
        self.gate = gate
        self.db = "test"
        self.conn = None
        self.retry_errors = retry_errors  # resend a statement answered with ERR (twice at most)
        self.last_error = None  # (statement, error) of the last lost connection
        self.lost = []    # (unit index, statement, error, ghostgate's exit code)
        self.errors = []  # (statement, error) answered with ERR

    def connect(self):
        self.conn = self.gate.connect(database="test", autocommit=True, read_timeout=60)
        with self.conn.cursor() as cur:
            cur.execute("SET SESSION foreign_key_checks=0")
            if self.db != "test":
                cur.execute(f"USE `{self.db}`")

    def send_unit(self, unit):
        """True when every statement of the unit was acknowledged; False on a lost connection."""
        with self.conn.cursor() as cur:
            for stmt in unit:
                for attempt in range(3 if self.retry_errors else 1):
                    try:
                        cur.execute(stmt)
                        while cur.nextset():
                            pass
                        break
                    except pymysql.err.MySQLError as e:
                        code = e.args[0] if e.args and isinstance(e.args[0], int) else None
                        # ghostgate's own ERR for a lost backend is 1105 (SQLSTATE 08S01).
                        backend_lost = code == 1105 and "connection to backend" in str(e)
                        if (isinstance(e, pymysql.err.InterfaceError) or code in LOST_CONNECTION
                                or backend_lost):
                            self.last_error = (stmt, e)
                            return False
                        self.errors.append((stmt, repr(e)))
                if test_traces.head_word(stmt) == "USE":
                    self.db = stmt.strip()[3:].strip().strip("`")
        return True


class Crash(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        if harness.mode() != harness.MODE_GHOSTGATE:
            raise harness.HarnessError("crash tests kill ghostgate: run them through it")
        cls.standin = harness.Standin().start()
        cls.target = harness.Target(cls.standin, None)

    @classmethod
    def tearDownClass(cls):
        if cls.target is not None and cls.target.gate is not None:
            cls.target.gate.stop()
        cls.standin.stop()

    # test_traces.Traces' loading and comparison, reused (they use self.standin and self.target)
    def load_before(self, folder):
        test_traces.Traces.load_before(self, folder)

    def check_downstream(self, folder):
        test_traces.Traces.check_downstream(self, folder)

    gates_started = 0

    def start_gate(self, failpoints=None):
        # A fresh directory (and log file) per scenario: the log is read back by the asserts.
        Crash.gates_started += 1
        gate = harness.Ghostgate(self.standin, name=f"ghostgate{Crash.gates_started}",
                                 log_level="info", workers=2)
        self.target = harness.Target(self.standin, gate)
        self.start_with(gate, failpoints)
        return gate

    @staticmethod
    def start_with(gate, failpoints):
        # ghostgate reads GHOSTGATE_FAILPOINTS from its environment, inherited from ours.
        if failpoints:
            os.environ["GHOSTGATE_FAILPOINTS"] = failpoints
        try:
            gate.start()
        finally:
            os.environ.pop("GHOSTGATE_FAILPOINTS", None)

    def meta_rows(self):
        return self.standin.query(f"SELECT ghost_schema, ghost_table, ddls FROM {META_TABLE}")

    def gate_log(self, gate):
        with open(gate.log_file, encoding="utf-8", errors="replace") as f:
            return f.read()

    def replay(self, gate, statements, restart_failpoints=None, retry_errors=False):
        """Replays `statements`; restarts ghostgate on each lost connection. Returns the
        Replicator (lost connections and errors in it)."""
        rep = Replicator(gate, retry_errors)
        rep.connect()
        for index, unit in enumerate(units(statements)):
            for attempt in range(3):
                if rep.send_unit(unit):
                    break
                stmt, err = rep.last_error
                rep.lost.append((index, stmt, err, gate.proc.wait(30) if gate.proc else None))
                # The replicator's view: the connection is gone. Bring ghostgate back (without
                # the failpoint), wait until it has loaded its state, reconnect, resend.
                self.start_with(gate, restart_failpoints)
                wait_ready(gate)
                rep.connect()
            else:
                self.fail(f"unit {index} never acknowledged: {rep.last_error}")
        rep.conn.close()
        return rep

    def run_scenario(self, failpoint, trace, where, action="crash"):
        failpoint, _, nth = failpoint.partition("@")
        nth = int(nth or 1)
        statements, folder = trace_statements(trace)
        ghost_ddls = [s for s in statements if GHOST_DDL.match(s) and not CUTOVER.search(s)]
        if where == "record":
            fire_at = ghost_ddls[0]
        else:
            cutovers = [s for s in statements if CUTOVER.search(s)]
            self.assertEqual(len(cutovers), 1, f"{trace}: one cut-over expected")
            fire_at = cutovers[0]

        self.load_before(folder)
        gate = self.start_gate(f"{failpoint}={action}" + (f"@{nth}" if nth > 1 else ""))
        wait_ready(gate)
        rep = self.replay(gate, statements, retry_errors=action != "crash")
        log = self.gate_log(gate)

        if action == "crash":
            # The failpoint fired: exactly one lost connection, at its statement, by SIGKILL.
            self.assertEqual(len(rep.lost), 1, f"lost connections: {rep.lost}")
            _, lost_stmt, err, exit_code = rep.lost[0]
            self.assertEqual(lost_stmt, fire_at,
                             f"connection lost at the wrong statement ({err})")
            self.assertEqual(exit_code, -signal.SIGKILL, "ghostgate did not die by SIGKILL")
            self.assertIn(f"failpoint {failpoint}: crash", log)
            # Every statement acknowledged, none refused or failed.
            self.assertEqual(rep.errors, [], "statements answered with an error")
        else:
            # The failpoint failed its statement once; the retry succeeded.
            self.assertEqual(rep.lost, [], "ghostgate went away")
            self.assertEqual(len(rep.errors), 1, f"errors: {rep.errors}")
            err_stmt, err = rep.errors[0]
            self.assertEqual(err_stmt, fire_at, f"error at the wrong statement ({err})")
            self.assertIn(f"failpoint {failpoint}", err)
            self.assertIn(f"failpoint {failpoint}: error", log)
        self.check_downstream(folder)
        self.assertEqual(self.meta_rows(), (), "meta table not empty at the end")

        # Each recorded DDL ran exactly once at the cut-over: none twice, none lost. A crash
        # after the K-th DDL ran and before its progress was persisted: the restarted ghostgate
        # sees from the definition that it ran, unless the DDL changes only AUTO_INCREMENT,
        # which the fingerprint leaves out: that one runs again.
        ran = self.cutover_ddls_ran(gate)
        tails = [ddl.split("`_", 1)[1].split("`", 1)[1].strip()  # the DDL after its table name
                 for ddl in ghost_ddls]
        runs = {tail: 1 for tail in tails}
        crashed_after_ddl = (action == "crash" and
                             failpoint in ("after-cutover-ddl", "before-progress-persist"))
        if crashed_after_ddl:
            if re.fullmatch(r"AUTO_INCREMENT=\d+", tails[nth - 1]):
                runs[tails[nth - 1]] = 2
            else:
                self.assertIn(f"cut-over DDL {nth} of ", log, "the fingerprint did not see it")
        self.assertEqual(len(ran), sum(runs.values()),
                         f"cut-over DDLs run {ran} vs recorded {ghost_ddls}")
        for tail, times in runs.items():
            self.assertEqual(sum(1 for r in ran if r.endswith(tail)), times,
                             f"{tail!r} ran {ran}")
        gate.stop()

    def run_matrix(self, scenarios, action):
        for failpoint, trace, where in scenarios:
            with self.subTest(failpoint=failpoint, trace=trace, action=action):
                started = time.monotonic()
                try:
                    self.run_scenario(failpoint, trace, where, action)
                finally:
                    if self.target.gate is not None:
                        self.target.gate.kill()
                sys.stderr.write(f"  {failpoint}={action} on {trace}: "
                                 f"{time.monotonic() - started:.1f}s\n")

    def test_crash_points(self):
        self.run_matrix(SCENARIOS, "crash")

    def test_error_points(self):
        self.run_matrix(ERROR_SCENARIOS, "1*error")

    def replay_to_cutover(self, trace, failpoints=None):
        """Loads `trace`'s before.sql and replays it up to its cut-over through a fresh
        ghostgate (armed with `failpoints`): (ghostgate, statements, index of the cut-over,
        folder of before.sql and expected.txt)."""
        statements, folder = trace_statements(trace)
        cut = next(i for i, s in enumerate(statements) if CUTOVER.search(s))
        self.load_before(folder)
        gate = self.start_gate(failpoints)
        wait_ready(gate)
        rep = self.replay(gate, statements[:cut])
        self.assertEqual(rep.errors, [])
        return gate, statements, cut, folder

    def replay_rest(self, gate, statements, folder):
        """Replays `statements` with no error and no lost connection; the downstream must then
        be what expected.txt says and nothing left in the meta table."""
        rep = self.replay(gate, statements)
        self.assertEqual((rep.errors, rep.lost), ([], []))
        self.check_downstream(folder)
        self.assertEqual(self.meta_rows(), ())

    def cutover_ddls_ran(self, gate):
        return re.findall(r"online-ddl: cut-over ran on [^:]+: (.*)$", self.gate_log(gate), re.M)

    def assert_each_ran_once(self, gate, recorded):
        ran = self.cutover_ddls_ran(gate)
        self.assertEqual(len(ran), recorded, f"each of the {recorded} recorded DDLs runs once: "
                         f"{ran}")
        self.assertEqual(len(set(ran)), recorded, ran)

    def test_resent_cutover_waits_for_the_running_one(self):
        """The cut-over RENAME arrives again on a second connection while the first is still
        running its DDLs: the second waits, then finds nothing left to do. Each DDL runs once."""
        gate, statements, cut, folder = self.replay_to_cutover("ghost-split",
                                                               "after-cutover-ddl=1*sleep(3000)")

        results = {}

        def send(who):
            try:
                conn = gate.connect(database="test", autocommit=True)
                with conn.cursor() as cur:
                    cur.execute("SET SESSION foreign_key_checks=0")
                    cur.execute(statements[cut])
                conn.close()
                results[who] = "ok"
            except pymysql.err.MySQLError as e:
                results[who] = repr(e)

        first = threading.Thread(target=send, args=("first",))
        first.start()
        harness.wait_until(lambda: "failpoint after-cutover-ddl: sleep" in self.gate_log(gate),
                           30, what="the first cut-over to stall after its first DDL")
        second = threading.Thread(target=send, args=("second",))
        second.start()
        first.join(60)
        second.join(60)
        self.assertEqual(results, {"first": "ok", "second": "ok"})
        log = self.gate_log(gate)
        self.assertIn("waiting for another statement on the same ghost table", log)

        self.replay_rest(gate, statements[cut + 1:], folder)
        self.assert_each_ran_once(gate, 3)
        gate.stop()

    def test_crash_while_loading_state(self):
        """ghostgate dies (SIGKILL) as it loads its state at start-up, between the ghost's
        DDLs and the cut-over: the next start finds the state whole, the cut-over runs each
        recorded DDL once."""
        gate, statements, cut, folder = self.replay_to_cutover("ghost-split")
        gate.stop()
        stored = self.meta_rows()
        self.assertEqual(len(stored), 1, "the ghost's DDLs are persisted")

        gate.wait_ready = False
        try:
            self.start_with(gate, "meta-load=crash")
        except harness.HarnessError as e:  # it may die before it listens
            self.assertIn("exited with -9", str(e))
        gate.wait_ready = True
        harness.wait_until(lambda: gate.proc.poll() is not None, 30,
                           what="ghostgate to die as it loads its state")
        self.assertEqual(gate.proc.returncode, -signal.SIGKILL, "ghostgate did not die by SIGKILL")
        self.assertIn("failpoint meta-load: crash", self.gate_log(gate))
        self.assertEqual(self.meta_rows(), stored)

        self.start_with(gate, None)
        wait_ready(gate)
        self.replay_rest(gate, statements[cut:], folder)
        self.assert_each_ran_once(gate, 3)
        gate.stop()

    def test_cutover_waits_for_state(self):
        """A cut-over that arrives before ghostgate has loaded its state from the meta table
        loads it at once and waits for it (issue 10: not until the retry timer; the refusal
        "not loaded ... retry" comes only after 10 s), never answered OK without the recorded
        DDLs."""
        gate, statements, cut, folder = self.replay_to_cutover("ghost-atomic")
        self.assertEqual(len(self.meta_rows()), 1, "the ghost's DDLs are persisted")
        gate.stop()

        # The first three loads fail: ghostgate listens, but has no state yet.
        gate.wait_ready = False  # the point is what happens before it is ready
        self.start_with(gate, "meta-load=3*error(meta table unavailable)")
        gate.wait_ready = True
        status, body = http_status(gate, "/readyz")
        self.assertNotEqual(status, 200, f"ready without its state: {body}")
        conn = gate.connect(database="test", autocommit=True)
        with conn.cursor() as cur:
            cur.execute("SET SESSION foreign_key_checks=0")
            cur.execute("SELECT COUNT(*) FROM t")  # row changes to real tables need no state
            cur.execute(statements[cut])  # waits for the load, then runs the recorded DDLs
        conn.close()
        self.assertIn("failpoint meta-load: error", self.gate_log(gate))

        wait_ready(gate)
        self.replay_rest(gate, statements[cut + 1:], folder)
        gate.stop()

if __name__ == "__main__":
    harness.main()
