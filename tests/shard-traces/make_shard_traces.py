#!/usr/bin/python3
"""Writes the synthetic shard-merge trace fixtures in tests/shard-traces/<name>/ (issue 9), in the
format of ../shared/shard-traces (see its README.md): before.sql, trace.sql, expected.txt,
routes.yaml, README.md, plus checkpoints.json (below).

Each scenario is a fleet of upstream shards `shard_<i>`.`orders_<i>` (disjoint ids: shard i owns
i*1000000+k) under an application write load on every shard, while online schema changes run on
the shards at their own times: pt-online-schema-change shapes on some shards, gh-ost shapes on
others (gh-ost does not run here, so both tools' statements are written in the shapes of the
recorded runs in ../shared/shard-traces and ../shared/traces, as tests/traces/make_traces.py does
for the tools it covers). The script keeps every table's rows in memory and keeps each ghost in
step (trigger effects in the application's transaction for pt-osc, applied binlog changes in
their own transactions for gh-ost).

How a fixture is made, on a real MariaDB (the stand-in):
  1. the upstream shards are created for real (`shard_<i>`.`orders_<i>` with their initial rows)
     and the upstream stream is run on them statement by statement (pt-osc's CREATE TRIGGERs
     left out: their effects are in the row stream, as a replica applying ROW events sees them).
     Any error fails the script: the stream must be what those servers really did;
  2. after every cut-over the union of the shards' columns and indexes is recorded
     (checkpoints.json): what an optimistic shard merge must show downstream at that point
     (additive changes at the first shard, contracting ones only once every shard has them);
  3. expected.txt is the merged upstream: the shards' final table (all shards must end with the
     same definition) holding every shard's rows, as `shop`.`orders`;
  4. trace.sql is the stream routed as a DM router with `table-pattern: orders_*` sends it:
     every reference to a real shard table reads `shop`.`orders`; helper tables keep their shard
     schema and name. before.sql holds the merged table before the run and the (empty) shard
     databases the stream USEs.

checkpoints.json: [{"after": statement index in trace.sql (test_traces.parse_trace order),
"cutover": the statement's first line, "columns": {name: COLUMN_TYPE, or null where the shards
disagree}, "indexes": [index names]}].

    eval "$(scripts/standin.sh start)"
    /usr/bin/python3 tests/shard-traces/make_shard_traces.py [name ...]   # $STANDIN_HOST/PORT/...

The tests import this module too (scenario(), generate()): the small `mini` scenario is made at
test time on the test's own stand-in.
"""

import json
import os
import random
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "traces"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import make_traces  # noqa: E402
from make_traces import Table, lit, q, qt, trace_text  # noqa: E402

TARGET = ("shop", "orders")
SHARD_BASE = 1000000

# make_traces' columns, with the 64-bit id of the recorded shard runs.
BASE_COLUMNS = [("id", "bigint(20) NOT NULL AUTO_INCREMENT", None)] + make_traces.BASE_COLUMNS[1:]

GHC_DDL = ("create /* gh-ost */ table {ref} (\n\t\t\tid bigint unsigned auto_increment,\n"
           "\t\t\tlast_update timestamp not null DEFAULT CURRENT_TIMESTAMP ON UPDATE "
           "CURRENT_TIMESTAMP,\n\t\t\thint varchar(64) charset ascii not null,\n\t\t\tvalue "
           "varchar(4096) charset ascii not null,\n\t\t\tprimary key(id),\n\t\t\tunique key "
           "hint_uidx(hint)\n\t\t) auto_increment=256 comment='gh-ost changelog'")
SENTRY_DDL = ("create /* gh-ost */ table {ref} (\n\t\t\tid int auto_increment primary key\n"
              "\t\t) engine=InnoDB comment='ghost-cut-over-sentry'")


class Change:
    """One ALTER as a tool is given it, and what it does to the table model."""

    def __init__(self, alter, add=(), drop=(), modify=None, add_index=None, drop_index=()):
        self.alter = alter
        self.add = list(add)                # (name, definition, default value)
        self.drop = list(drop)              # column names
        self.modify = dict(modify or {})    # name -> new definition (values unchanged)
        self.add_index = dict(add_index or {})  # name -> SHOW CREATE TABLE line
        self.drop_index = list(drop_index)

    def columns(self, columns):
        out = [(n, self.modify.get(n, d), v) for n, d, v in columns if n not in self.drop]
        return out + self.add

    def indexes(self, indexes):
        out = {k: v for k, v in indexes.items() if k not in self.drop_index}
        out.update(self.add_index)
        return out

    def transform(self, row):
        if row is None:
            return None
        out = {c: v for c, v in row.items() if c not in self.drop}
        for name, _, default in self.add:
            out[name] = default
        return out


class Shard:
    def __init__(self, i, rows):
        self.i = i
        self.schema = f"shard_{i}"
        self.name = f"orders_{i}"
        self.table = Table(self.schema, self.name, list(BASE_COLUMNS))
        self.indexes = {}                   # name -> SHOW CREATE TABLE line
        self.next_id = SHARD_BASE * i + rows + 1
        self.ghost = None                   # (Table, Change, "trigger" | "binlog")
        self.pending = []                   # gh-ost: changes of the real table not yet applied

    def ref(self):
        return qt(self.schema, self.name)

    def helper(self, suffix):
        return f"_{self.name}_{suffix}"

    def helper_ref(self, suffix):
        return qt(self.schema, self.helper(suffix))


class Gen:
    """The upstream stream of a fleet of shards, in binlog order."""

    def __init__(self, name, shards, rows, seed):
        self.name = name
        self.rnd = random.Random(seed)
        self.shards = {i: Shard(i, rows) for i in range(1, shards + 1)}
        self.out = []
        self.db = None
        self.ops = {"insert": 0, "update": 0, "delete": 0, "txn": 0}
        self.tools = []       # what ran, for the README
        for s in self.shards.values():
            for k in range(1, rows + 1):
                key = SHARD_BASE * s.i + k
                s.table.rows[key] = self.initial_row(s, key, k)
        self.initial = {i: dict(s.table.rows) for i, s in self.shards.items()}

    # -- statements
    def use(self, db):
        if self.db != db:
            self.out.append(f"USE {q(db)}")
            self.db = db

    def ddl(self, shard, sql):
        self.use(shard.schema)
        self.out.append(sql)

    def txn(self, stmts):
        if stmts:
            self.out.append("BEGIN")
            self.out.extend(stmts)
            self.out.append("COMMIT")

    # -- rows
    def initial_row(self, s, key, k):
        return {"id": key, "a": k, "b": None if k % 17 == 0 else k * 3, "d": f"s{s.i}-{k}",
                "e": round(k / 7, 2), "created": "2026-01-01 %02d:%02d:00" % (k // 60 % 24, k % 60)}

    def value(self, definition):
        r = self.rnd
        kind = definition.split("(")[0].split()[0].lower()
        if kind in ("int", "bigint"):
            return r.randint(0, 99999)
        if kind == "decimal":
            return round(r.randint(0, 999999) / 100, 2)
        if kind == "datetime":
            return "2026-%02d-%02d %02d:%02d:%02d" % (r.randint(1, 12), r.randint(1, 28),
                                                      r.randint(0, 23), r.randint(0, 59),
                                                      r.randint(0, 59))
        if "NOT NULL" in definition or r.random() < 0.8:
            return "w%06x" % r.randint(0, 0xFFFFFF)
        return None

    def random_row(self, t, key):
        row = {}
        for name, definition, _ in t.columns:
            if name == "id":
                row[name] = key
            elif name == "b" and self.rnd.random() < 0.2:
                row[name] = None
            else:
                row[name] = self.value(definition)
        return row

    def change(self, s):
        t = s.table
        op = self.rnd.choices(["insert", "update", "delete"], [45, 40, 15])[0]
        keys = sorted(t.rows)
        if op != "insert" and not keys:
            op = "insert"
        self.ops[op] += 1
        if op == "insert":
            key = s.next_id
            s.next_id += 1
            new = self.random_row(t, key)
            stmts = t.put(new)
        elif op == "update":
            key = self.rnd.choice(keys)
            new = dict(t.rows[key])
            col = self.rnd.choice([c for c in t.names if c != "id"])
            new[col] = self.random_row(t, key)[col]
            stmts = t.put(new)
        else:
            key = self.rnd.choice(keys)
            new = None
            stmts = t.remove(key)
        if s.ghost:
            ghost, change, mode = s.ghost
            if mode == "trigger":  # pt-osc's triggers, in the same transaction
                stmts += ghost.put(change.transform(new)) if new else ghost.remove(key)
            else:
                s.pending.append((op, key, new))
        return stmts

    def load(self, transactions, shards=None):
        """Application transactions (1-2 row changes each, one shard each), and gh-ost applying
        what it read from the binlog right after."""
        for _ in range(transactions):
            s = self.shards[self.rnd.choice(shards or sorted(self.shards))]
            stmts = []
            for _ in range(self.rnd.choice([1, 1, 2])):
                stmts += self.change(s)
            self.ops["txn"] += 1
            self.txn(stmts)
            self.apply_pending(s)

    def apply_pending(self, s):
        if not s.ghost or s.ghost[2] != "binlog" or not s.pending:
            return
        ghost, change, _ = s.ghost
        stmts = []
        for op, key, new in s.pending:
            if op == "delete":
                stmts += ghost.remove(key)
            elif op == "insert":
                stmts += ghost.put(change.transform(new))
            else:
                stmts += ghost.update_existing(change.transform(new))
        s.pending = []
        self.txn(stmts)

    def copy(self, s, chunk, interleave=1, shards=None):
        """The tool's chunked row copy into the ghost, with application load between chunks."""
        ghost, change, _ = s.ghost
        keys = sorted(s.table.rows)
        for start in range(0, len(keys), chunk):
            stmts = []
            for key in keys[start:start + chunk]:
                if key in s.table.rows and key not in ghost.rows:
                    stmts += ghost.put(change.transform(s.table.rows[key]))
            self.txn(stmts)
            self.load(interleave, shards)

    def check_in_step(self, s):
        ghost, change, _ = s.ghost
        want = {k: change.transform(r) for k, r in s.table.rows.items()}
        if want != ghost.rows:
            raise SystemExit(f"{self.name}: ghost of {s.ref()} out of step at the cut-over")

    def swap(self, s):
        ghost, change, _ = s.ghost
        ghost.name = s.name
        s.table = ghost
        s.indexes = change.indexes(s.indexes)
        s.ghost = None
        s.pending = []

    # -- pt-online-schema-change 3.2.1 (the shapes of ../shared/shard-traces/shard-ptosc-3)
    def ptosc_start(self, s, change):
        new = s.helper("new")
        g = Table(s.schema, new, change.columns(s.table.columns))
        keys = [line for line in s.indexes.values()]
        create = make_traces.create_sql(Table(s.schema, new, s.table.columns), keys=keys,
                                        auto_increment=s.next_id)
        self.ddl(s, create.replace(f"CREATE TABLE {q(new)}", f"CREATE TABLE {s.helper_ref('new')}"))
        self.ddl(s, f"ALTER TABLE {s.helper_ref('new')} {change.alter}")
        cols = ", ".join(q(c) for c in s.table.names if c not in change.drop)
        news = ", ".join(f"NEW.{q(c)}" for c in s.table.names if c not in change.drop)
        trig = f"pt_osc_{s.schema}_{s.name}"
        definer = "CREATE DEFINER=`gh`@`localhost` TRIGGER"
        nref = s.helper_ref("new")
        self.ddl(s, f"{definer} `{trig}_del` AFTER DELETE ON {s.ref()} FOR EACH ROW DELETE IGNORE "
                    f"FROM {nref} WHERE {nref}.`id` <=> OLD.`id`")
        self.ddl(s, f"{definer} `{trig}_upd` AFTER UPDATE ON {s.ref()} FOR EACH ROW BEGIN DELETE "
                    f"IGNORE FROM {nref} WHERE !(OLD.`id` <=> NEW.`id`) AND {nref}.`id` <=> "
                    f"OLD.`id`;REPLACE INTO {nref} ({cols}) VALUES ({news});END")
        self.ddl(s, f"{definer} `{trig}_ins` AFTER INSERT ON {s.ref()} FOR EACH ROW REPLACE INTO "
                    f"{nref} ({cols}) VALUES ({news})")
        s.ghost = (g, change, "trigger")
        self.tools.append(f"pt-osc on `{s.schema}`.`{s.name}`: `{change.alter}`")

    def ptosc_cutover(self, s):
        self.check_in_step(s)
        self.ddl(s, f"ANALYZE TABLE {s.helper_ref('new')} /* pt-online-schema-change */")
        self.ddl(s, f"RENAME TABLE {s.ref()} TO {s.helper_ref('old')}, {s.helper_ref('new')} TO "
                    f"{s.ref()}")
        self.swap(s)
        self.ddl(s, f"DROP TABLE IF EXISTS {q(s.helper('old'))} /* generated by server */")
        for kind in ("del", "upd", "ins"):
            self.ddl(s, f"DROP TRIGGER IF EXISTS {q(s.schema)}.`pt_osc_{s.schema}_{s.name}_{kind}`")

    # -- gh-ost 1.1.6 (the shapes of ../shared/shard-traces/shard-ghost-2)
    def ghost_start(self, s, change):
        ghc = Table(s.schema, s.helper("ghc"), [("id", "", None), ("last_update", "", None),
                                                ("hint", "", None), ("value", "", None)])
        self.ddl(s, f"DROP TABLE IF EXISTS {q(s.helper('ghc'))} /* generated by server */")
        self.ddl(s, GHC_DDL.format(ref=s.helper_ref("ghc")))
        self.ddl(s, f"create /* gh-ost */ table {s.helper_ref('gho')} like {s.ref()}")
        self.ddl(s, f"alter /* gh-ost */ table {s.helper_ref('gho')} {change.alter}")
        self.ddl(s, f"alter /* gh-ost */ table {s.helper_ref('gho')} AUTO_INCREMENT={s.next_id}")
        self.txn(ghc.put({"id": 2, "last_update": "2026-03-01 10:00:00", "hint": "state",
                          "value": "GhostTableMigrated"}))
        s.ghost = (Table(s.schema, s.helper("gho"), change.columns(s.table.columns)), change,
                   "binlog")
        s.pending = []
        s.changelog = ghc
        self.tools.append(f"gh-ost on `{s.schema}`.`{s.name}`: `{change.alter}`")

    def ghost_cutover(self, s):
        self.apply_pending(s)
        self.txn(s.changelog.put({"id": 2, "last_update": "2026-03-01 10:00:40", "hint": "state",
                                  "value": "AllEventsUpToLockProcessed:1772359240000000000"}))
        self.ddl(s, SENTRY_DDL.format(ref=s.helper_ref("del")))
        self.ddl(s, f"DROP TABLE IF EXISTS {q(s.helper('del'))} /* generated by server */")
        self.check_in_step(s)
        self.ddl(s, f"rename /* gh-ost */ table {s.ref()} to {s.helper_ref('del')}, "
                    f"{s.helper_ref('gho')} to {s.ref()}")
        self.swap(s)
        self.ddl(s, f"DROP TABLE IF EXISTS {q(s.helper('ghc'))} /* generated by server */")
        self.ddl(s, f"DROP TABLE IF EXISTS {q(s.helper('del'))} /* generated by server */")

    def ghost_abort(self, s):
        """gh-ost stopped before its cut-over (interrupted, --postpone-cut-over never released):
        its ghost and changelog dropped, nothing cut over."""
        self.ddl(s, f"DROP TABLE IF EXISTS {q(s.helper('gho'))} /* generated by server */")
        self.ddl(s, f"DROP TABLE IF EXISTS {q(s.helper('ghc'))} /* generated by server */")
        s.ghost = None
        s.pending = []
        self.tools[-1] += " (aborted before its cut-over: ghost and changelog dropped)"

    def migrate(self, s, tool, change, chunk=40, interleave=2):
        """A whole migration of one shard with load on every shard."""
        (self.ptosc_start if tool == "ptosc" else self.ghost_start)(s, change)
        self.copy(s, chunk, interleave)
        self.load(2)
        (self.ptosc_cutover if tool == "ptosc" else self.ghost_cutover)(s)


# ---------------------------------------------------------------------------------------------
# The scenarios

NOTE = ("note", "varchar(20) DEFAULT NULL", None)


def mixed_overlap():
    """Three shards, one change with an additive and a contracting part, mixed tools,
    overlapping migrations, an aborted shard rerun with the other tool; `members: 3`."""
    g = Gen("shard-mixed-overlap-3", shards=3, rows=90, seed=9101)
    ch = Change("add column note varchar(20) default null, add index ix_a(a), drop column e",
                add=[NOTE], drop=["e"], add_index={"ix_a": "KEY `ix_a` (`a`)"})
    s1, s2, s3 = g.shards[1], g.shards[2], g.shards[3]
    g.load(12)
    # shard 1 (pt-osc) starts; shard 2 (gh-ost) builds its ghost before shard 1 cuts over.
    g.ptosc_start(s1, ch)
    g.copy(s1, 30, 2)
    g.ghost_start(s2, ch)
    g.copy(s2, 30, 2)
    g.load(3)
    g.ptosc_cutover(s1)
    g.load(6)
    g.ghost_cutover(s2)
    g.load(6)
    # shard 3: gh-ost aborted (ghost dropped, no cut-over), then rerun with pt-osc.
    g.ghost_start(s3, ch)
    g.copy(s3, 30, 2)
    g.ghost_abort(s3)
    g.load(5)
    g.migrate(s3, "ptosc", ch, chunk=30)
    g.load(8)
    g.routes = {"members": 3}
    g.summary = ("shard 1 (pt-osc) and shard 2 (gh-ost) migrate at the same time: shard 2's "
                 "ghost is built and filled before shard 1 cuts over; shard 3's gh-ost run is "
                 "aborted (ghost dropped) and rerun with pt-osc, which cuts over last. The change "
                 "is additive (note, ix_a: downstream at shard 1's cut-over) and contracting "
                 "(drop column e: downstream keeps `e` until shard 3, the last member, cuts over)")
    return g


def behind_list():
    """Two shards, four changes in a row, shard 2 behind by two versions, then leading a
    contracting one; mixed tools; `members:` as a list."""
    g = Gen("shard-behind-list-2", shards=2, rows=80, seed=9102)
    s1, s2 = g.shards[1], g.shards[2]
    v1 = Change("add column note varchar(20) default null", add=[NOTE])
    v2 = Change("add index ix_b(b)", add_index={"ix_b": "KEY `ix_b` (`b`)"})
    v3 = Change("modify column d varchar(64) default null", modify={"d": "varchar(64) DEFAULT NULL"})
    v4 = Change("drop column e", drop=["e"])
    g.load(10)
    g.migrate(s1, "ghost", v1)
    g.load(4)
    g.migrate(s1, "ptosc", v2)
    g.load(4)
    g.migrate(s2, "ptosc", v1)      # shard 2 is two versions behind when it arrives
    g.load(4)
    g.migrate(s1, "ghost", v3)
    g.load(4)
    g.migrate(s2, "ghost", v2)
    g.migrate(s2, "ptosc", v3)
    g.load(4)
    g.migrate(s2, "ghost", v4)      # shard 2 leads a contracting change: shard 1 still writes e
    g.load(6)
    g.migrate(s1, "ptosc", v4)
    g.load(6)
    g.routes = {"members": [f"shard_{i}.orders_{i}" for i in sorted(g.shards)]}
    g.summary = ("four changes in a row on shard 1 (v1 gh-ost add column note, v2 pt-osc add "
                 "index ix_b, v3 gh-ost widen d to varchar(64)); shard 2 follows behind (its v1 "
                 "arrives when shard 1 is at v2), each of its cut-overs bringing the same set; "
                 "then shard 2 leads v4 (drop column e, contracting: it waits for shard 1), and "
                 "shard 1's v4 cut-over drops it downstream")
    return g


def mini(tool1="ghost", tool2="ptosc"):
    """Small, for the crash, pessimistic and admin tests: two shards, one change (additive and
    contracting parts), shard 1 quiet between its cut-over and shard 2's (a pessimistic wait
    holds shard 1's stream there, so nothing of shard 1 may need the change before it runs)."""
    g = Gen("shard-mini-2", shards=2, rows=30, seed=9103)
    ch = Change("add column note varchar(20) default null, add index ix_a(a), drop column e",
                add=[NOTE], drop=["e"], add_index={"ix_a": "KEY `ix_a` (`a`)"})
    s1, s2 = g.shards[1], g.shards[2]
    g.load(6)
    (g.ptosc_start if tool1 == "ptosc" else g.ghost_start)(s1, ch)
    g.copy(s1, 15, 1)
    (g.ptosc_cutover if tool1 == "ptosc" else g.ghost_cutover)(s1)
    g.load(4, shards=[2])
    (g.ptosc_start if tool2 == "ptosc" else g.ghost_start)(s2, ch)
    g.copy(s2, 15, 1, shards=[2])
    (g.ptosc_cutover if tool2 == "ptosc" else g.ghost_cutover)(s2)
    g.load(6)
    g.routes = {"members": [f"shard_{i}.orders_{i}" for i in sorted(g.shards)]}
    g.summary = "two shards, one change (add column note, add index ix_a, drop column e)"
    return g


SCENARIOS = {"shard-mixed-overlap-3": mixed_overlap, "shard-behind-list-2": behind_list}


def scenario(name):
    return {"shard-mini-2": mini, **SCENARIOS}[name]()


# ---------------------------------------------------------------------------------------------
# Running it on the stand-in


def routed(g, stmt):
    """The statement as a DM router with table-pattern orders_* sends it downstream."""
    for s in g.shards.values():
        stmt = stmt.replace(s.ref(), qt(*TARGET))
    return stmt


def routes_yaml(g, mode="optimistic"):
    members = g.routes["members"]
    if isinstance(members, list):
        members = "[" + ", ".join(json.dumps(m) for m in members) + "]"
    n = len(g.shards)
    return (f"# ghostgate settings for this trace (merged into its config): the replicator routed\n"
            f"# shard_<i>.orders_<i> (i = 1..{n}) into shop.orders.\n"
            f"shard-mode: {mode}\n"
            "routes:\n  orders:\n    schema-pattern: \"shard_*\"\n    table-pattern: \"orders_*\"\n"
            "    target-schema: \"shop\"\n    target-table: \"orders\"\n"
            f"shard-groups:\n  shop.orders:\n    members: {members}\n")


def connect(params, database=None):
    import pymysql
    p = dict(params)
    if database:
        p["database"] = database
    return pymysql.connect(**p, autocommit=True, connect_timeout=10, read_timeout=120)


def env_params():
    env = os.environ
    return {"host": env.get("STANDIN_HOST", "127.0.0.1"), "port": int(env["STANDIN_PORT"]),
            "user": env.get("STANDIN_USER", "root"), "password": env.get("STANDIN_PASSWORD", "rootpw")}


def create_table_sql(schema, name, columns, rows, auto_increment):
    t = Table(schema, name, columns)
    sql = [make_traces.create_sql(t, auto_increment=auto_increment).replace(
        f"CREATE TABLE {q(name)}", f"CREATE TABLE {qt(schema, name)}")]
    if rows:
        names = [c[0] for c in columns]
        sql.append(f"INSERT INTO {qt(schema, name)} VALUES\n" + ",\n".join(
            "(" + ",".join(lit(r[c]) for c in names) + ")" for r in rows))
    return sql


def union_snapshot(cur, g):
    """The union of the upstream shards' columns and indexes now."""
    columns, indexes = {}, set()
    for s in g.shards.values():
        cur.execute("SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE "
                    "TABLE_SCHEMA=%s AND TABLE_NAME=%s", (s.schema, s.name))
        for name, ctype in cur.fetchall():
            columns.setdefault(name, set()).add(ctype)
        cur.execute("SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE "
                    "TABLE_SCHEMA=%s AND TABLE_NAME=%s", (s.schema, s.name))
        indexes |= {r[0] for r in cur.fetchall()}
    return ({n: (t.pop() if len(t) == 1 else None) for n, t in sorted(columns.items())},
            sorted(indexes))


CUTOVER = re.compile(r"^\s*rename\b.*`_[^`]*_(?:gho|new)`\s+to\b", re.I | re.S)


def run_upstream(g, params):
    """Runs the scenario on real upstream shards; returns the checkpoints."""
    conn = connect(params)
    checkpoints = []
    with conn.cursor() as cur:
        for s in g.shards.values():
            cur.execute(f"DROP DATABASE IF EXISTS {q(s.schema)}")
            cur.execute(f"CREATE DATABASE {q(s.schema)}")
            for sql in create_table_sql(s.schema, s.name, BASE_COLUMNS,
                                        list(g.initial[s.i].values()),
                                        SHARD_BASE * s.i + len(g.initial[s.i]) + 1):
                cur.execute(sql)
        cur.execute("SET SESSION foreign_key_checks=0")
        for index, stmt in enumerate(g.out):
            if re.match(r"\s*CREATE\b.*?\bTRIGGER\b", stmt, re.I | re.S):
                continue
            try:
                cur.execute(stmt)
            except Exception as e:
                raise SystemExit(f"{g.name}: upstream statement {index} failed: {e}\n{stmt[:300]}")
            if CUTOVER.match(stmt):
                columns, indexes = union_snapshot(cur, g)
                checkpoints.append({"after": index, "cutover": routed(g, stmt).split("\n")[0],
                                    "columns": columns, "indexes": indexes})
        # The model and the servers agree, and every shard ends with the same definition.
        defs = set()
        for s in g.shards.values():
            cur.execute(f"SELECT COUNT(*) FROM {s.ref()}")
            if cur.fetchone()[0] != len(s.table.rows):
                raise SystemExit(f"{g.name}: {s.ref()} row count differs from the model")
            cur.execute(f"SHOW CREATE TABLE {s.ref()}")
            defs.add(re.sub(r" AUTO_INCREMENT=\d+", "", cur.fetchone()[1]).replace(q(s.name), "T"))
            cur.execute(f"SHOW TABLES FROM {q(s.schema)}")
            if cur.fetchall() != ((s.name,),):
                raise SystemExit(f"{g.name}: helper tables left upstream in {s.schema}")
        if len(defs) != 1:
            raise SystemExit(f"{g.name}: the shards end with different definitions:\n{defs}")
    conn.close()
    return checkpoints


def dump(params, databases):
    r = subprocess.run(["mariadb-dump", f"-h{params['host']}", f"-P{params['port']}",
                        f"-u{params['user']}", f"-p{params['password']}", "--skip-ssl",
                        "--skip-comments", "--add-drop-database", "--databases", *databases],
                       capture_output=True, check=True, timeout=120)
    return r.stdout.decode()


def expected_text(cur, g):
    schema, table = TARGET
    cur.execute(f"SHOW CREATE TABLE {qt(schema, table)}")
    create = cur.fetchone()[1]
    cur.execute("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s AND "
                "TABLE_NAME=%s ORDER BY ORDINAL_POSITION", TARGET)
    cols = [r[0] for r in cur.fetchall()]
    cur.execute(f"SELECT COUNT(*) FROM {qt(schema, table)}")
    count = cur.fetchone()[0]
    cur.execute(f"CHECKSUM TABLE {qt(schema, table)}")
    checksum = cur.fetchone()[1]
    md5q = ("SELECT COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS(',',"
            + ",".join(f"QUOTE({q(c)})" for c in cols)
            + f") ORDER BY `id` SEPARATOR '\\n')) FROM {qt(schema, table)};")
    cur.execute("SET SESSION group_concat_max_len=1073741824, time_zone='+00:00'")
    cur.execute(md5q.rstrip(";"))
    md5 = cur.fetchone()[1]
    want = sum(len(s.table.rows) for s in g.shards.values())
    if count != want:
        raise SystemExit(f"{g.name}: merged table has {count} rows, the model {want}")
    return "\n".join([
        "# merged upstream state (routed shards) of databases `shop` after the run",
        "# tables checked: `shop`.`orders`",
        "# md5 = ordered md5 of all rows; run this first in the same session:",
        "#   SET SESSION group_concat_max_len=1073741824, time_zone='+00:00';", "",
        f"== TABLE {qt(schema, table)}", "-- SHOW CREATE TABLE", create + ";",
        f"-- SELECT COUNT(*): {count}", f"-- CHECKSUM TABLE: {checksum}",
        f"-- md5 query: {md5q}", f"-- md5: {md5}", ""])


def generate(name, params, folder, mode="optimistic"):
    """Builds scenario `name`, runs it upstream on the server at `params`, writes the fixture
    into `folder`. Leaves no upstream database behind (the shard databases are dropped)."""
    g = scenario(name)
    os.makedirs(folder, exist_ok=True)
    schema, table = TARGET
    conn = connect(params)
    with conn.cursor() as cur:
        # before.sql: the merged table with every shard's initial rows, empty shard databases.
        cur.execute(f"DROP DATABASE IF EXISTS {q(schema)}")
        cur.execute(f"CREATE DATABASE {q(schema)} DEFAULT CHARACTER SET utf8mb4 COLLATE "
                    "utf8mb4_general_ci")
        rows = [r for i in sorted(g.initial) for r in g.initial[i].values()]
        for sql in create_table_sql(schema, table, BASE_COLUMNS, rows,
                                    max(s.next_id for s in g.shards.values())):
            cur.execute(sql)
    before = ["-- routed shards: the merged table, and the shard databases the stream USEs",
              "DROP DATABASE IF EXISTS `test`;", "CREATE DATABASE `test`;"]
    for s in g.shards.values():
        before += [f"DROP DATABASE IF EXISTS {q(s.schema)};", f"CREATE DATABASE {q(s.schema)};"]
    before_sql = "\n".join(before) + "\n\n" + dump(params, [schema])
    checkpoints = run_upstream(g, params)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE {q(schema)}")
        cur.execute(f"CREATE DATABASE {q(schema)} DEFAULT CHARACTER SET utf8mb4 COLLATE "
                    "utf8mb4_general_ci")
        first = g.shards[1]
        cur.execute(f"CREATE TABLE {qt(schema, table)} LIKE {first.ref()}")
        for s in g.shards.values():
            cur.execute(f"INSERT INTO {qt(schema, table)} SELECT * FROM {s.ref()}")
        expected = expected_text(cur, g)
        for s in g.shards.values():
            cur.execute(f"DROP DATABASE {q(s.schema)}")
        cur.execute(f"DROP DATABASE {q(schema)}")
    conn.close()
    files = {"before.sql": before_sql,
             "trace.sql": trace_text([routed(g, s) for s in g.out]),
             "expected.txt": expected,
             "routes.yaml": routes_yaml(g, mode),
             "checkpoints.json": json.dumps(checkpoints, indent=1) + "\n",
             "README.md": readme(g, checkpoints)}
    for fname, text in files.items():
        with open(os.path.join(folder, fname), "w", encoding="utf-8") as f:
            f.write(text)
    # trace.sql reads back as the same statements (checkpoint indexes are into this list).
    import test_traces
    if len(test_traces.parse_trace(os.path.join(folder, "trace.sql"))) != len(g.out):
        raise SystemExit(f"{g.name}: trace.sql does not parse back into its statements")
    return g


def readme(g, checkpoints):
    kinds = {"INSERT": 0, "UPDATE": 0, "DELETE": 0}
    for s in g.out:
        m = re.match(r"(INSERT|UPDATE|DELETE)\b", s)
        if m:
            kinds[m.group(1)] += 1
    members = g.routes["members"]
    ops = g.ops
    return f"""# {g.name}
- Shard merge, synthetic (tests/shard-traces/make_shard_traces.py): {len(g.shards)} upstream shards `shard_<i>`.`orders_<i>` (disjoint ids) routed into `shop`.`orders`; `members: {json.dumps(members)}`.
- Tool runs, in order: {'; '.join(g.tools)}. Statements in the shapes of the recorded pt-osc 3.2.1 / gh-ost 1.1.6 runs (gh-ost does not run here); rows kept in a model, every ghost in step at its cut-over.
- What happens: {g.summary}.
- Load: {ops['txn']} application transactions ({ops['insert']} inserts, {ops['update']} updates, {ops['delete']} deletes) on every shard throughout.
- trace.sql: {len(g.out)} statements ({kinds['INSERT']} INSERT / {kinds['UPDATE']} UPDATE / {kinds['DELETE']} DELETE row statements), routed: every reference to a real shard table reads `shop`.`orders`, helpers keep their shard names.
- Made on MariaDB: the upstream stream ran on real shard tables without an error; expected.txt is the merged upstream (the shards' common final definition holding every shard's rows); checkpoints.json is the union of the shards' columns and indexes after each of the {len(checkpoints)} cut-overs (what an optimistic merge shows downstream then).
"""


def main(names):
    params = env_params()
    for name in names or sorted(SCENARIOS):
        g = generate(name, params, os.path.join(HERE, name))
        print(f"{name}: {len(g.out)} statements")


if __name__ == "__main__":
    main(sys.argv[1:])
