#!/usr/bin/python3
"""Writes the online-schema-change trace fixtures in tests/traces/<name>/, one per tool that no
recorded run covers (issue 12): Spirit, LHM, Vitess, gh-ost 1.1.8+, pt-osc 3.6, Bytebase's gh-ost
fork, Alibaba DMS and oak-online-alter-table. Same format as the recorded ones in shared/traces
(see its README.md): before.sql, trace.sql, expected.txt, README.md.

These tools do not run here, so each trace is what the tool's source emits (rules/TOOLS.md names
the files), in its order, with a concurrent row stream on the real tables as a row-based
replicator sends it: the application's INSERT/UPDATE/DELETE, the tool's row copy into the ghost,
and what keeps the ghost in step (trigger effects in the same transaction for trigger-based tools,
applied binlog changes in their own transactions for the others). The script keeps the tables'
rows in memory and derives every ghost row from them, so the ghost equals the real table
(migrated) at the cut-over.

expected.txt is what upstream holds after the run: before.sql, then trace.sql straight into
MariaDB (without the CREATE TRIGGER statements: their effects are already in the row stream, and a
replica applying ROW events fires no triggers either). That replay must run without a single
error, or the trace is inconsistent and the script fails.

    eval "$(scripts/standin.sh start)"
    /usr/bin/python3 tests/traces/make_traces.py [name ...]    # uses $STANDIN_HOST/PORT/...

Checking the engine's decisions on a real server (what the rules-level test simulates):
    GHOSTGATE_TRACE_DOWNSTREAM=/tmp/d build/tests/test_rules --gtest_filter='ToolTraces*'
    /usr/bin/python3 tests/traces/make_traces.py --check-downstream /tmp/d
runs before.sql and then what ghostgate would send downstream, and compares every real table with
expected.txt (AUTO_INCREMENT=N aside), and that nothing else is left in `test`.
"""

import os
import random
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------------------------
# Values and row statements


def lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "%.2f" % v
    s = str(v).replace("\\", "\\\\").replace("'", "\\'")
    return "'" + s + "'"


def q(name):
    return "`" + name.replace("`", "``") + "`"


def qt(schema, table):
    return q(schema) + "." + q(table)


class Table:
    """A table's columns (name, SQL type, default) and rows in memory."""

    def __init__(self, schema, name, columns, pk="id"):
        self.schema, self.name, self.columns, self.pk = schema, name, columns, pk
        self.rows = {}

    @property
    def names(self):
        return [c[0] for c in self.columns]

    def ref(self):
        return qt(self.schema, self.name)

    def insert_sql(self, row):
        cols = ",".join(q(c) for c in self.names)
        vals = ",".join(lit(row.get(c)) for c in self.names)
        return f"INSERT INTO {self.ref()} ({cols}) VALUES ({vals})"

    def update_sql(self, row):
        sets = ",".join(f"{q(c)}={lit(row.get(c))}" for c in self.names)
        return f"UPDATE {self.ref()} SET {sets} WHERE {q(self.pk)}={lit(row[self.pk])} LIMIT 1"

    def delete_sql(self, key):
        return f"DELETE FROM {self.ref()} WHERE {q(self.pk)}={lit(key)} LIMIT 1"

    # Row events for "make the row `row` (or nothing) be there", as the server would log them.
    def put(self, row):
        key = row[self.pk]
        row = {c: row.get(c, self.default(c)) for c in self.names}
        if key in self.rows:
            if self.rows[key] == row:
                return []
            self.rows[key] = row
            return [self.update_sql(row)]
        self.rows[key] = row
        return [self.insert_sql(row)]

    def update_existing(self, row):
        if row[self.pk] not in self.rows:
            return []
        return self.put(row)

    def remove(self, key):
        if key not in self.rows:
            return []
        del self.rows[key]
        return [self.delete_sql(key)]

    def default(self, col):
        for name, _type, default in self.columns:
            if name == col:
                return default
        raise KeyError(col)


# ---------------------------------------------------------------------------------------------
# A run: statements in order, the real tables, the ghosts kept in step


BASE_COLUMNS = [
    ("id", "int(11) NOT NULL AUTO_INCREMENT", None),
    ("a", "int(11) NOT NULL DEFAULT 0", 0),
    ("b", "int(11) DEFAULT NULL", None),
    ("d", "varchar(32) DEFAULT NULL", None),
    ("e", "decimal(8,2) DEFAULT NULL", None),
    ("created", "datetime NOT NULL DEFAULT '2026-01-01 00:00:00'", "2026-01-01 00:00:00"),
]


def create_sql(table, extra="", auto_increment=None, keys=()):
    lines = [f"  {q(n)} {t}" for n, t, _ in table.columns]
    lines.append(f"  PRIMARY KEY ({q(table.pk)})")
    lines += [f"  {k}" for k in keys]
    ai = f" AUTO_INCREMENT={auto_increment}" if auto_increment else ""
    return (f"CREATE TABLE {q(table.name)} (\n" + ",\n".join(lines) +
            f"\n) ENGINE=InnoDB{ai} DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci{extra}")


class Run:
    def __init__(self, name, seed):
        self.name = name
        self.rnd = random.Random(seed)
        self.out = []            # trace statements, in order
        self.setup = []          # SQL that builds the `test` database before the run
        self.extra_schemas = []  # databases before.sql also holds (dropped and recreated)
        self.upstream_only = []  # setup that exists upstream but is not replicated (Vitess `_vt`)
        self.tables = {}         # name -> Table (real tables, the application writes them)
        self.ghosts = {}         # real name -> (ghost Table, transform) kept in step
        self.sync = "binlog"     # "trigger": in the application's transaction; "binlog": after
        self.pending = []        # binlog-tool changes not yet applied to a ghost
        self.next_id = {}
        self.ops = {"insert": 0, "update": 0, "delete": 0, "txn": 0}
        self.db = None
        self.initial = {}        # real table -> rows before the run
        self.protected = {}      # real table -> keys the application never deletes (FK parents)

    # -- statements
    def use(self, db):
        if self.db != db:
            self.out.append(f"USE {q(db)}")
            self.db = db

    def ddl(self, sql, db="test"):
        self.use(db)
        self.out.append(sql)

    def txn(self, stmts):
        if stmts:
            self.out.append("BEGIN")
            self.out.extend(stmts)
            self.out.append("COMMIT")

    # -- setup
    def real_table(self, name, columns=None, rows=200, keys=(), schema="test"):
        t = Table(schema, name, list(columns or BASE_COLUMNS))
        for i in range(1, rows + 1):
            t.rows[i] = self.initial_row(t, i)
        self.tables[name] = t
        self.initial[name] = rows
        self.next_id[name] = rows + 1 + self.rnd.randint(0, 40)
        self.setup.append(create_sql(t, keys=keys, auto_increment=self.next_id[name]))
        if t.rows:
            vals = ",\n".join("(" + ",".join(lit(r[c]) for c in t.names) + ")"
                              for r in t.rows.values())
            self.setup.append(f"INSERT INTO {q(name)} VALUES\n{vals}")
        return t

    def initial_row(self, t, i):
        row = {"id": i, "a": i, "b": None if i % 17 == 0 else i * 3, "d": f"row-{i}",
               "e": round(i / 7, 2), "created": "2026-01-01 %02d:%02d:00" % (i // 60 % 24, i % 60)}
        return {c: row.get(c, t.default(c)) for c in t.names}

    # -- the application's load on the real tables
    def random_row(self, t, key):
        r = self.rnd
        row = {"id": key, "a": r.randint(0, 99999), "b": r.choice([None, r.randint(0, 99999)]),
               "d": "w%06x" % r.randint(0, 0xFFFFFF), "e": round(r.randint(0, 999999) / 100, 2),
               "created": "2026-%02d-%02d %02d:%02d:%02d" % (r.randint(1, 12), r.randint(1, 28),
                                                              r.randint(0, 23), r.randint(0, 59),
                                                              r.randint(0, 59))}
        for c in t.names:
            if c not in row:
                row[c] = self.value_for(t, c)
        return {c: row[c] for c in t.names}

    def value_for(self, t, col):
        if col == "c":
            return self.rnd.choice(["q", "r", "s"])
        if col == "p":
            return self.rnd.randint(1, 50)
        return t.default(col)

    def load(self, transactions, tables=None):
        for _ in range(transactions):
            stmts = []
            for _ in range(self.rnd.choice([1, 1, 1, 2])):
                name = self.rnd.choice(tables or sorted(self.tables))
                stmts += self.change(self.tables[name])
            self.ops["txn"] += 1
            self.txn(stmts)
            if self.sync == "binlog":
                self.apply_pending()
            # sync "later": changes are read from the binlog now and applied by a later run (a
            # revert replays everything since the cut-over into the old table).

    def change(self, t):
        op = self.rnd.choices(["insert", "update", "delete"], [45, 40, 15])[0]
        keys = sorted(t.rows)
        if op != "insert" and not keys:
            op = "insert"
        self.ops[op] += 1
        if op == "insert":
            key = self.next_id[t.name]
            self.next_id[t.name] += 1
            new = self.random_row(t, key)
            stmts = t.put(new)
        elif op == "update":
            key = self.rnd.choice(keys)
            new = dict(t.rows[key])
            col = self.rnd.choice([c for c in t.names if c not in ("id", "p")])
            new[col] = self.random_row(t, key)[col]
            stmts = t.put(new)
        else:
            key = self.rnd.choice([k for k in keys if k not in self.protected.get(t.name, ())])
            new = None
            stmts = t.remove(key)
        return stmts + self.follow(op, t.name, key, new)

    # What keeps a ghost in step with a change of its real table.
    def follow(self, op, name, key, new):
        if name not in self.ghosts:
            return []
        ghost, transform = self.ghosts[name]
        if self.sync == "trigger":
            # REPLACE INTO ghost ... NEW / DELETE IGNORE FROM ghost ... OLD, in the same transaction.
            return ghost.put(transform(new)) if new else ghost.remove(key)
        self.pending.append((op, name, key, new))
        return []

    def apply_pending(self):
        """The binlog-based tool applies what it read: REPLACE for inserts, UPDATE (of a row
        already copied) for updates, DELETE for deletes; one transaction per batch."""
        stmts = []
        for op, name, key, new in self.pending:
            ghost, transform = self.ghosts[name]
            if op == "delete":
                stmts += ghost.remove(key)
            elif op == "insert":
                stmts += ghost.put(transform(new))
            else:
                # An update of a row not copied yet changes nothing: the copy reads its current
                # value later.
                stmts += ghost.update_existing(transform(new))
        self.pending = []
        self.txn(stmts)

    def copy(self, name, chunk, interleave=1, tables=None):
        """INSERT IGNORE INTO ghost SELECT ... FROM t in primary-key chunks, with load between."""
        t = self.tables[name]
        ghost, transform = self.ghosts[name]
        hi_key = max(t.rows) if t.rows else 0
        lo = 1
        while lo <= hi_key:
            hi = lo + chunk - 1
            stmts = []
            for key in sorted(k for k in t.rows if lo <= k <= hi):
                if key not in ghost.rows:
                    stmts += ghost.put(transform(t.rows[key]))
            self.txn(stmts)
            self.load(interleave, tables)
            lo = hi + 1

    def check_in_step(self, name):
        t = self.tables[name]
        ghost, transform = self.ghosts[name]
        want = {k: {c: transform(r)[c] for c in ghost.names} for k, r in t.rows.items()}
        if want != ghost.rows:
            missing = set(want) ^ set(ghost.rows)
            raise SystemExit(f"{self.name}: ghost of {name} out of step at the cut-over "
                             f"(keys differing: {sorted(missing)[:10]})")

    def swap(self, name, ghost_table, new_name=None):
        """After the cut-over the ghost is the real table."""
        del self.ghosts[name]
        ghost_table.name = new_name or name
        ghost_table.schema = self.tables[name].schema
        self.tables[name] = ghost_table


def migrate(columns, add=(), drop=()):
    cols = [c for c in columns if c[0] not in drop] + list(add)

    def transform(row):
        if row is None:
            return None
        out = {c: row.get(c) for c, _, _ in columns if c not in drop}
        for c, _, default in add:
            out[c] = default
        return out
    return cols, transform


# ---------------------------------------------------------------------------------------------
# The tools


def spirit():
    """Spirit (block/spirit): atomic multi-table migration of t1 and t2 with --defer-cutover.
    pkg/migration/change.go, cutover.go, pkg/checkpoint/checkpoint.go, pkg/sentinel/sentinel.go,
    pkg/utils/tablename.go."""
    r = Run("spirit-multi-table", 12001)
    t1 = r.real_table("t1", rows=150)
    t2 = r.real_table("t2", rows=120)
    r.load(8)
    # Checkpoint table shared by the multi-table run, then the sentinel.
    r.ddl("DROP TABLE IF EXISTS `_spirit_checkpoint` /* generated by server */")
    r.ddl("CREATE TABLE `_spirit_checkpoint` (\nid int NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
          "copier_watermark TEXT,\nchecksum_watermark TEXT,\nbinlog_position TEXT,\n"
          "statement TEXT,\noriginal_table_name VARCHAR(64) NOT NULL DEFAULT '',\n"
          "move_phase VARCHAR(32) NOT NULL DEFAULT '',\ncutover_at TEXT,\n"
          "created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP\n)")
    ck = Table("test", "_spirit_checkpoint", [
        ("id", "", None), ("copier_watermark", "", None), ("checksum_watermark", "", None),
        ("binlog_position", "", None), ("statement", "", None), ("original_table_name", "", ""),
        ("move_phase", "", ""), ("cutover_at", "", None), ("created_at", "", None)])
    r.ddl("CREATE TABLE IF NOT EXISTS `_spirit_sentinel` (id int NOT NULL PRIMARY KEY)")
    for name, t, alter, add, drop in (
            ("t1", t1, "ADD COLUMN c varchar(10) NOT NULL DEFAULT 'q'",
             [("c", "varchar(10) NOT NULL DEFAULT 'q'", "q")], ()),
            ("t2", t2, "DROP COLUMN d, ADD INDEX ix_b (b)", [], ("d",))):
        new_name = f"_{name}_new"
        r.ddl(f"DROP TABLE IF EXISTS {q(new_name)} /* generated by server */")
        r.ddl(f"CREATE TABLE {q(new_name)} LIKE {q(name)}")
        r.ddl(f"ALTER TABLE {q(new_name)} {alter}, ALGORITHM=COPY")
        r.ddl(f"ALTER TABLE {q(new_name)} AUTO_INCREMENT = {r.next_id[name] + 200}")
        cols, transform = migrate(t.columns, add, drop)
        r.ghosts[name] = (Table("test", new_name, cols), transform)
    r.txn(ck.put({"id": 1, "copier_watermark": '{"Key":["id"],"UpperBound":null}',
                  "binlog_position": "binlog.000001:4", "statement": "ALTER ...",
                  "created_at": "2026-03-01 10:00:00"}))
    r.copy("t1", 25)
    r.txn(ck.put({"id": 1, "copier_watermark": '{"Key":["id"],"UpperBound":[150]}',
                  "binlog_position": "binlog.000001:9120", "statement": "ALTER ...",
                  "created_at": "2026-03-01 10:01:00"}))
    r.copy("t2", 25)
    r.load(6)
    # Post-copy: ANALYZE the new tables; the sentinel is dropped by the operator; cut-over.
    r.ddl("ANALYZE TABLE `test`.`_t1_new`")
    r.ddl("ANALYZE TABLE `test`.`_t2_new`")
    r.ddl("DROP TABLE `_spirit_sentinel` /* generated by server */")
    r.load(4)
    r.check_in_step("t1")
    r.check_in_step("t2")
    r.ddl("RENAME TABLE `t1` TO `_t1_old`, `_t1_new` TO `t1`, `t2` TO `_t2_old`, `_t2_new` TO `t2`")
    for name in ("t1", "t2"):
        r.swap(name, r.ghosts[name][0])
    r.load(10)
    r.ddl("DROP TABLE IF EXISTS `_t1_old` /* generated by server */")
    r.ddl("DROP TABLE IF EXISTS `_t2_old` /* generated by server */")
    r.ddl("DROP TABLE IF EXISTS `_spirit_checkpoint` /* generated by server */")
    r.load(4)
    r.tool = ("Spirit (block/spirit) atomic multi-table run on `t1` (`ADD COLUMN c varchar(10) NOT "
              "NULL DEFAULT 'q'`) and `t2` (`DROP COLUMN d, ADD INDEX ix_b (b)`), --defer-cutover")
    r.stream = ("`_spirit_checkpoint` (multi-table checkpoint) created and written; "
                "`_spirit_sentinel` created (deferred cut-over) and later dropped; per table "
                "`CREATE TABLE _tN_new LIKE tN`, `ALTER TABLE _tN_new <alter>, ALGORITHM=COPY`, "
                "`ALTER TABLE _tN_new AUTO_INCREMENT = N`; chunked copy into the ghosts with the "
                "replication applier's changes in their own transactions; `ANALYZE TABLE` of both "
                "ghosts; one 4-pair `RENAME TABLE t1 TO _t1_old, _t1_new TO t1, t2 TO _t2_old, "
                "_t2_new TO t2`; drops of the old tables and the checkpoint")
    return r


def lhm():
    """LHM (Shopify/lhm) with the locked switcher (atomic_switch: false).
    lib/lhm/migrator.rb, entangler.rb, chunk_insert.rb, locked_switcher.rb, table_name.rb."""
    r = Run("lhm-locked-switcher", 12002)
    t = r.real_table("t", rows=180)
    r.sync = "trigger"
    r.load(6)
    tag = " /* large hadron migration */"
    ghost_cols = list(t.columns)
    g = Table("test", "lhmn_t", ghost_cols)
    r.ddl(create_sql(g, auto_increment=r.next_id["t"]) + tag)
    r.ddl("alter table `lhmn_t` add column `c` varchar(10) NOT NULL DEFAULT 'q', ALGORITHM=COPY" +
          tag)
    r.ddl("create index `index_t_on_b` on `lhmn_t` (`b`)" + tag)
    cols, transform = migrate(t.columns, [("c", "varchar(10) NOT NULL DEFAULT 'q'", "q")])
    g.columns = cols
    r.ghosts["t"] = (g, transform)
    common = "`id`, `a`, `b`, `d`, `e`, `created`"
    new_vals = ", ".join(f"NEW.`{c}`" for c in ["id", "a", "b", "d", "e", "created"])
    r.ddl("create trigger `lhmt_del_t`\nafter delete on `t` for each row\ndelete ignore from "
          "`lhmn_t`" + tag + "\nwhere `lhmn_t`.`id` = OLD.`id`")
    r.ddl("create trigger `lhmt_upd_t`\nafter update on `t` for each row\nreplace into `lhmn_t` "
          f"({common})" + tag + f"\nvalues ({new_vals})")
    r.ddl("create trigger `lhmt_ins_t`\nafter insert on `t` for each row\nreplace into `lhmn_t` "
          f"({common})" + tag + f"\nvalues ({new_vals})")
    r.copy("t", 40, interleave=2)
    r.load(3)
    r.check_in_step("t")
    archive = "lhma_2026_03_01_10_20_30_123_t"
    r.ddl(f"alter table `t` rename `{archive}`" + tag)
    r.ddl("alter table `lhmn_t` rename `t`" + tag)
    r.swap("t", g)
    r.sync = "binlog"  # the triggers moved with the old table
    r.ddl("drop trigger if exists `lhmt_del_t`" + tag)
    r.ddl("drop trigger if exists `lhmt_ins_t`" + tag)
    r.ddl("drop trigger if exists `lhmt_upd_t`" + tag)
    r.load(12)
    r.ddl(f"DROP TABLE IF EXISTS `{archive}` /* generated by server */")
    r.tool = ("LHM (Shopify/lhm) on `t`: `m.add_column(:c, \"varchar(10) NOT NULL DEFAULT 'q'\")` "
              "(ALGORITHM=COPY) and `m.add_index(:b)`, atomic_switch: false (LockedSwitcher)")
    r.stream = ("explicit `CREATE TABLE lhmn_t (...)` (no LIKE: the real name is nowhere in it), "
                "`alter table lhmn_t ...`, `create index ... on lhmn_t`, triggers `lhmt_del_t` / "
                "`lhmt_upd_t` / `lhmt_ins_t` on `t` (their effects on `lhmn_t` in the application's "
                "transactions), chunked `insert ignore into lhmn_t ... select`; the locked "
                "switcher's two statements `alter table t rename lhma_<ts>_t` and `alter table "
                "lhmn_t rename t` (its LOCK TABLES/COMMIT are not binlogged); trigger drops; the "
                "archive dropped later by hand. Every statement of LHM's carries "
                "`/* large hadron migration */`")
    return r


def vitess():
    """Vitess online DDL, `vitess` strategy (v20+ names). go/vt/vttablet/onlineddl/executor.go
    (cutOverVReplMigration), schema.go, go/vt/schema/name.go, tablegc.go."""
    r = Run("vitess-rotation", 12003)
    t = r.real_table("t", rows=160)
    r.real_table("old_log", columns=[("id", "int(11) NOT NULL AUTO_INCREMENT", None),
                                     ("a", "int(11) NOT NULL DEFAULT 0", 0)], rows=20)
    r.upstream_only = [
        "CREATE DATABASE IF NOT EXISTS `_vt`",
        "CREATE TABLE IF NOT EXISTS `_vt`.`schema_migrations` (id bigint unsigned NOT NULL "
        "AUTO_INCREMENT PRIMARY KEY, migration_uuid varchar(64) NOT NULL, migration_status "
        "varchar(128) NOT NULL, progress float NOT NULL DEFAULT 0)",
        "CREATE TABLE IF NOT EXISTS `_vt`.`vreplication` (id int NOT NULL AUTO_INCREMENT PRIMARY "
        "KEY, workflow varbinary(1000), pos varbinary(10000) NOT NULL, state varbinary(100) NOT "
        "NULL, rows_copied bigint NOT NULL DEFAULT 0)",
        "CREATE TABLE IF NOT EXISTS `_vt`.`copy_state` (id bigint NOT NULL AUTO_INCREMENT PRIMARY "
        "KEY, vrepl_id int NOT NULL, table_name varbinary(128) NOT NULL, lastpk varbinary(2000))",
    ]
    mig = Table("_vt", "schema_migrations", [("id", "", None), ("migration_uuid", "", None),
                                            ("migration_status", "", None), ("progress", "", 0)])
    vr = Table("_vt", "vreplication", [("id", "", None), ("workflow", "", None), ("pos", "", ""),
                                      ("state", "", ""), ("rows_copied", "", 0)])
    cs = Table("_vt", "copy_state", [("id", "", None), ("vrepl_id", "", None),
                                    ("table_name", "", None), ("lastpk", "", None)])
    uuid = "9c2b5c9e_7f1d_11f0_a4c1_0a580a8c0012"
    condensed = uuid.replace("_", "")
    vrp = f"_vt_vrp_{condensed}_20260301102000_"
    sentry = "_vt_hld_4e6d2a1cf0a911f0b3e20a580a8c0012_20260302102131_"
    r.load(5)
    r.txn(mig.put({"id": 1, "migration_uuid": uuid, "migration_status": "running"}))
    g = Table("test", vrp, list(t.columns))
    r.ddl(create_sql(g))
    r.ddl(f"ALTER TABLE {q(vrp)} ADD COLUMN `c` varchar(10) NOT NULL DEFAULT 'q', DROP COLUMN `d`")
    r.ddl(f"ALTER TABLE {q(vrp)} AUTO_INCREMENT={r.next_id['t'] + 100}")
    cols, transform = migrate(t.columns, [("c", "varchar(10) NOT NULL DEFAULT 'q'", "q")], ["d"])
    g.columns = cols
    r.ghosts["t"] = (g, transform)
    r.txn(vr.put({"id": 1, "workflow": uuid, "pos": "MySQL56/0-1-100", "state": "Copying"}))
    r.txn(cs.put({"id": 1, "vrepl_id": 1, "table_name": "t", "lastpk": None}))
    r.copy("t", 40, interleave=2, tables=["t"])
    r.txn(cs.remove(1) + vr.put({"id": 1, "workflow": uuid, "pos": "MySQL56/0-1-480",
                                 "state": "Running", "rows_copied": len(t.rows)}))
    r.load(4, ["t"])
    # Cut-over: the sentry is created (then LOCK TABLES sentry WRITE, t WRITE, not binlogged), the
    # RENAME blocks on the lock, the lock connection drops the sentry, the RENAME completes.
    r.ddl(f"CREATE TABLE IF NOT EXISTS {q(sentry)} (id INT PRIMARY KEY)")
    r.check_in_step("t")
    r.ddl(f"DROP TABLE {q(sentry)} /* generated by server */")
    r.ddl(f"RENAME TABLE `t` TO {q(sentry)}, {q(vrp)} TO `t`, {q(sentry)} TO {q(vrp)}")
    old = r.tables["t"]
    r.swap("t", g)
    old.name = vrp
    r.txn(vr.put({"id": 1, "workflow": uuid, "pos": "MySQL56/0-1-530", "state": "Stopped",
                  "rows_copied": len(g.rows)}))
    r.txn(mig.put({"id": 1, "migration_uuid": uuid, "migration_status": "complete",
                   "progress": 100}))
    r.load(10, ["t"])
    # A DROP TABLE under the vitess strategy: a rename into table GC.
    r.ddl("RENAME TABLE `old_log` TO `_vt_hld_1a2b3c4d5e6f11f0a7b80a580a8c0012_20260302110000_`")
    del r.tables["old_log"]
    # Table GC of the migration's artifact (the old table): HOLD, PURGE (chunked deletes), EVAC,
    # DROP. The GC's own statements use no schema (the tablet's connection is in the keyspace).
    hold = "_vt_hld_" + condensed + "_20260303102000_"
    purge = "_vt_prg_" + condensed + "_20260303102001_"
    evac = "_vt_evc_" + condensed + "_20260303102002_"
    drop = "_vt_drp_" + condensed + "_20260303102003_"
    r.ddl(f"RENAME TABLE {q(vrp)} TO {q(hold)}")
    r.load(3, ["t"])
    r.ddl(f"RENAME TABLE {q(hold)} TO {q(purge)}")
    old.name = purge
    keys = sorted(old.rows)
    for i in range(0, len(keys), 50):
        r.txn([s for k in keys[i:i + 50] for s in old.remove(k)])
    r.ddl(f"RENAME TABLE {q(purge)} TO {q(evac)}")
    r.ddl(f"RENAME TABLE {q(evac)} TO {q(drop)}")
    r.ddl(f"DROP TABLE IF EXISTS {q(drop)} /* generated by server */")
    r.load(4, ["t"])
    r.tool = ("Vitess online DDL, `vitess` strategy (VReplication), v20+ table names, on `t`: "
              "`ALTER TABLE t ADD COLUMN c varchar(10) NOT NULL DEFAULT 'q', DROP COLUMN d`; then "
              "`DROP TABLE old_log` under the same strategy")
    r.stream = (f"sidecar writes to `_vt` (schema_migrations, vreplication, copy_state); explicit "
                f"`CREATE TABLE {vrp}` (no real name in it), its ALTER and `AUTO_INCREMENT=`; "
                "VReplication's copy and applied changes on the shadow table; the sentry "
                "`_vt_hld_...` created and dropped; the three-pair rotation `RENAME TABLE t TO "
                "sentry, vrp TO t, sentry TO vrp` (the old table then lives under the shadow "
                "name); `RENAME TABLE old_log TO _vt_hld_...` (a lazy DROP); the artifact's table "
                "GC: HOLD, PURGE with chunked row deletes, EVAC, DROP")
    return r


def ghost_force():
    """gh-ost 1.1.8+ with --force-table-names=tmp_t and --checkpoint. go/base/context.go,
    go/logic/applier.go (CreateChangelogTable, CreateGhostTable, CreateCheckpointTable,
    AtomicCutOverMagicLock, WriteCheckpoint)."""
    r = Run("ghost-force-table-names", 12004)
    t = r.real_table("t", rows=170)
    r.load(5)
    ghc, gho, ghk, dele = "_tmp_t_ghc", "_tmp_t_gho", "_tmp_t_ghk", "_tmp_t_del"
    r.ddl(f"DROP TABLE IF EXISTS `{ghc}` /* generated by server */")
    r.ddl(f"create /* gh-ost */ table `test`.`{ghc}` (\n\t\t\tid bigint unsigned auto_increment,\n"
          "\t\t\tlast_update timestamp not null DEFAULT CURRENT_TIMESTAMP ON UPDATE "
          "CURRENT_TIMESTAMP,\n\t\t\thint varchar(64) charset ascii not null,\n\t\t\tvalue "
          "varchar(4096) charset ascii not null,\n\t\t\tprimary key(id),\n\t\t\tunique key "
          "hint_uidx(hint)\n\t\t) auto_increment=256 comment='gh-ost changelog'")
    changelog = Table("test", ghc, [("id", "", None), ("last_update", "", None),
                                    ("hint", "", None), ("value", "", None)])
    r.txn(changelog.put({"id": 2, "last_update": "2026-03-01 10:00:00", "hint": "state",
                         "value": "GhostTableMigrated"}))
    r.ddl(f"create /* gh-ost */ table `test`.`{gho}` like `test`.`t`")
    r.ddl(f"alter /* gh-ost */ table `test`.`{gho}` modify column b bigint default null, "
          "add column c varchar(10) not null default 'q'")
    r.ddl(f"alter /* gh-ost */ table `test`.`{gho}` AUTO_INCREMENT={r.next_id['t']}")
    cols, transform = migrate(t.columns, [("c", "varchar(10) not null default 'q'", "q")])
    cols = [(n, "bigint(20) DEFAULT NULL" if n == "b" else ty, d) for n, ty, d in cols]
    g = Table("test", gho, cols)
    r.ghosts["t"] = (g, transform)
    r.ddl(f"create /* gh-ost */ table `test`.`{ghk}` (\n `gh_ost_chk_id` bigint auto_increment "
          "primary key,\n `gh_ost_chk_timestamp` bigint,\n `gh_ost_chk_coords` text charset ascii,"
          "\n `gh_ost_chk_iteration` bigint,\n `gh_ost_rows_copied` bigint,\n `gh_ost_dml_applied` "
          "bigint,\n `gh_ost_is_cutover` tinyint(1) DEFAULT '0',\n `id_min` int(11),\n `id_max` "
          "int(11)\n)")
    ck = Table("test", ghk, [("gh_ost_chk_id", "", None), ("gh_ost_chk_timestamp", "", None),
                             ("gh_ost_chk_coords", "", None), ("gh_ost_chk_iteration", "", None),
                             ("gh_ost_rows_copied", "", None), ("gh_ost_dml_applied", "", None),
                             ("gh_ost_is_cutover", "", 0), ("id_min", "", None),
                             ("id_max", "", None)], pk="gh_ost_chk_id")
    r.txn(changelog.put({"id": 3, "last_update": "2026-03-01 10:00:01", "hint": "heartbeat",
                         "value": "2026-03-01T10:00:01Z"}))
    r.copy("t", 30, interleave=2)
    r.txn(ck.put({"gh_ost_chk_id": 1, "gh_ost_chk_timestamp": 1772359260,
                  "gh_ost_chk_coords": "mysql-bin.000003:8812", "gh_ost_chk_iteration": 6,
                  "gh_ost_rows_copied": len(g.rows), "gh_ost_dml_applied": 40, "id_min": 1,
                  "id_max": 180}))
    r.txn(changelog.put({"id": 3, "last_update": "2026-03-01 10:00:31", "hint": "heartbeat",
                         "value": "2026-03-01T10:00:31Z"}))
    r.load(3)
    r.txn(changelog.put({"id": 2, "last_update": "2026-03-01 10:00:40", "hint": "state",
                         "value": "AllEventsUpToLockProcessed:1772359240000000000"}))
    r.ddl(f"create /* gh-ost */ table `test`.`{dele}` (\n\t\t\tid int auto_increment primary key\n"
          "\t\t) engine=InnoDB comment='ghost-cut-over-sentry'")
    r.ddl(f"DROP TABLE IF EXISTS `{dele}` /* generated by server */")
    r.check_in_step("t")
    r.ddl(f"rename /* gh-ost */ table `test`.`t` to `test`.`{dele}`, `test`.`{gho}` to `test`.`t`")
    r.swap("t", g)
    # The checkpoint written once more after the RENAME (gh_ost_is_cutover=1), for --revert.
    r.txn(ck.put({"gh_ost_chk_id": 2, "gh_ost_chk_timestamp": 1772359262,
                  "gh_ost_chk_coords": "mysql-bin.000003:9930", "gh_ost_chk_iteration": 7,
                  "gh_ost_rows_copied": len(g.rows), "gh_ost_dml_applied": 52,
                  "gh_ost_is_cutover": 1, "id_min": 1, "id_max": 180}))
    r.load(8)
    r.ddl(f"DROP TABLE IF EXISTS `{ghc}` /* generated by server */")
    r.ddl(f"DROP TABLE IF EXISTS `{ghk}` /* generated by server */")
    r.ddl(f"DROP TABLE IF EXISTS `{dele}` /* generated by server */")
    r.load(3)
    r.tool = ("gh-ost 1.1.8+ on `t` with `--force-table-names=tmp_t --checkpoint "
              "--ok-to-drop-table`: `modify column b bigint default null, add column c "
              "varchar(10) not null default 'q'`")
    r.stream = ("helpers named after `tmp_t`, a table that does not exist: `_tmp_t_ghc` "
                "(changelog), `_tmp_t_gho` (ghost, `create ... like t`), `_tmp_t_ghk` "
                "(checkpoint, written during the run and once after the RENAME), `_tmp_t_del` "
                "(sentry, then the old table); atomic cut-over; drops of all helpers")
    return r


def ptosc():
    """pt-online-schema-change 3.5/3.6: --alter-foreign-keys-method=rebuild_constraints --history.
    bin/pt-online-schema-change (create_new_table, create_triggers, rebuild_constraints,
    swap_tables, create_history_table)."""
    r = Run("ptosc-rebuild-constraints-history", 12005)
    r.sync = "trigger"
    t = r.real_table("t", rows=150)
    child_cols = [("id", "int(11) NOT NULL AUTO_INCREMENT", None), ("p", "int(11) NOT NULL", 1),
                  ("qty", "int(11) NOT NULL DEFAULT 1", 1)]
    r.protected["t"] = set(range(1, 51))
    child = r.real_table("child", columns=child_cols, rows=60, keys=(
        "KEY `ix_p` (`p`)",
        "CONSTRAINT `fk_child_t` FOREIGN KEY (`p`) REFERENCES `t` (`id`)"))
    for key, row in child.rows.items():
        row["p"] = key % 50 + 1
    r.setup[-1] = ("INSERT INTO `child` VALUES\n" +
                   ",\n".join("(" + ",".join(lit(row[c]) for c in child.names) + ")"
                              for row in child.rows.values()))
    hist = Table("percona", "pt_osc_history", [
        ("job_id", "", None), ("db", "", None), ("tbl", "", None), ("new_table_name", "", None),
        ("altr", "", None), ("args", "", None), ("lower_boundary", "", None),
        ("upper_boundary", "", None), ("done", "", "no"), ("ts", "", None)], pk="job_id")
    r.ddl("CREATE DATABASE IF NOT EXISTS `percona` /* pt-table-checksum */")
    r.ddl("CREATE TABLE IF NOT EXISTS `percona`.`pt_osc_history` (\n  job_id INT NOT NULL "
          "AUTO_INCREMENT,\n  db CHAR(64) NOT NULL,\n  tbl CHAR(64) NOT NULL,\n  new_table_name "
          "CHAR(64) DEFAULT NULL,\n  altr TEXT NOT NULL,\n  args TEXT NOT NULL,\n  lower_boundary "
          "TEXT,\n  upper_boundary TEXT,\n  done ENUM('yes','no') NOT NULL DEFAULT 'no',\n  ts "
          "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,\n  PRIMARY "
          "KEY (job_id)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
    alter = "add column c varchar(10) not null default 'q', add index ix_b(b)"
    r.txn(hist.put({"job_id": 1, "db": "test", "tbl": "t", "altr": alter,
                    "args": '{"alter-foreign-keys-method":"rebuild_constraints","history":1}',
                    "ts": "2026-03-01 10:00:00"}))
    r.load(4)
    g = Table("test", "_t_new", list(t.columns))
    r.ddl(create_sql(g, auto_increment=r.next_id["t"]).replace("CREATE TABLE `_t_new`",
                                                              "CREATE TABLE `test`.`_t_new`"))
    r.ddl(f"ALTER TABLE `test`.`_t_new` {alter}")
    cols, transform = migrate(t.columns, [("c", "varchar(10) not null default 'q'", "q")])
    g.columns = cols
    r.ghosts["t"] = (g, transform)
    r.txn(hist.put({"job_id": 1, "db": "test", "tbl": "t", "new_table_name": "_t_new",
                    "altr": alter,
                    "args": '{"alter-foreign-keys-method":"rebuild_constraints","history":1}',
                    "ts": "2026-03-01 10:00:01"}))
    names = "`id`, `a`, `b`, `d`, `e`, `created`"
    new_vals = ", ".join(f"NEW.`{c}`" for c in ["id", "a", "b", "d", "e", "created"])
    definer = "CREATE DEFINER=`gh`@`localhost` TRIGGER"
    r.ddl(f"{definer} `pt_osc_test_t_del` AFTER DELETE ON `test`.`t` FOR EACH ROW DELETE IGNORE "
          "FROM `test`.`_t_new` WHERE `test`.`_t_new`.`id` <=> OLD.`id`")
    r.ddl(f"{definer} `pt_osc_test_t_upd` AFTER UPDATE ON `test`.`t` FOR EACH ROW BEGIN DELETE "
          "IGNORE FROM `test`.`_t_new` WHERE !(OLD.`id` <=> NEW.`id`) AND `test`.`_t_new`.`id` "
          f"<=> OLD.`id`;REPLACE INTO `test`.`_t_new` ({names}) VALUES ({new_vals});END")
    r.ddl(f"{definer} `pt_osc_test_t_ins` AFTER INSERT ON `test`.`t` FOR EACH ROW REPLACE INTO "
          f"`test`.`_t_new` ({names}) VALUES ({new_vals})")
    r.copy("t", 30, interleave=2, tables=["t"])
    r.txn(hist.put({"job_id": 1, "db": "test", "tbl": "t", "new_table_name": "_t_new",
                    "altr": alter,
                    "args": '{"alter-foreign-keys-method":"rebuild_constraints","history":1}',
                    "lower_boundary": "150", "upper_boundary": "180", "done": "yes",
                    "ts": "2026-03-01 10:00:09"}))
    r.load(3, ["t"])
    r.check_in_step("t")
    r.ddl("ANALYZE TABLE `test`.`_t_new` /* pt-online-schema-change */")
    # rebuild_constraints runs before the swap: the child's constraint now names the new table.
    r.ddl("ALTER TABLE `test`.`child` DROP FOREIGN KEY `fk_child_t`, ADD CONSTRAINT "
          "`_fk_child_t` FOREIGN KEY (`p`) REFERENCES `test`.`_t_new` (`id`)")
    r.ddl("RENAME TABLE `test`.`t` TO `test`.`_t_old`, `test`.`_t_new` TO `test`.`t`")
    r.swap("t", g)
    r.sync = "binlog"
    r.ddl("DROP TABLE IF EXISTS `_t_old` /* generated by server */")
    r.ddl("DROP TRIGGER IF EXISTS `test`.`pt_osc_test_t_del`")
    r.ddl("DROP TRIGGER IF EXISTS `test`.`pt_osc_test_t_upd`")
    r.ddl("DROP TRIGGER IF EXISTS `test`.`pt_osc_test_t_ins`")
    r.load(8, ["t"])
    r.tool = ("pt-online-schema-change 3.6 on `t` (parent of `child`): `add column c varchar(10) "
              "not null default 'q', add index ix_b(b)` with --alter-foreign-keys-method="
              "rebuild_constraints --history")
    r.stream = ("`percona`.`pt_osc_history` created and written (3.6 --history); `_t_new` from "
                "the original's SHOW CREATE TABLE, its ALTER, the three pt_osc triggers (their "
                "effects in the application's transactions), the chunked copy, `ANALYZE TABLE`; "
                "before the swap the child's constraint is rebuilt onto the new table (`ALTER "
                "TABLE child DROP FOREIGN KEY fk_child_t, ADD CONSTRAINT _fk_child_t ... "
                "REFERENCES _t_new`); the swap; drops of the old table and the triggers")
    return r


def bytebase():
    """Bytebase's gh-ost fork (bytebase/gh-ost2): helpers named with `~` in the backup database
    bbdataarchive. go/base/context.go (getSafeTableName, GetGhostDatabaseName), go/logic/applier.go."""
    r = Run("bytebase-cross-schema", 12006)
    r.extra_schemas = ["bbdataarchive"]
    t = r.real_table("t", rows=140)
    r.load(4)
    db = "bbdataarchive"
    r.ddl("DROP TABLE IF EXISTS `bbdataarchive`.`~t_ghc` /* generated by server */")
    r.ddl(f"create /* gh-ost */ table `{db}`.`~t_ghc` (\n\t\t\tid bigint unsigned auto_increment,"
          "\n\t\t\tlast_update timestamp not null DEFAULT CURRENT_TIMESTAMP ON UPDATE "
          "CURRENT_TIMESTAMP,\n\t\t\thint varchar(64) charset ascii not null,\n\t\t\tvalue "
          "varchar(4096) charset ascii not null,\n\t\t\tprimary key(id),\n\t\t\tunique key "
          "hint_uidx(hint)\n\t\t) auto_increment=256 comment='gh-ost changelog'")
    changelog = Table(db, "~t_ghc", [("id", "", None), ("last_update", "", None),
                                     ("hint", "", None), ("value", "", None)])
    r.txn(changelog.put({"id": 2, "last_update": "2026-03-01 10:00:00", "hint": "state",
                         "value": "GhostTableMigrated"}))
    r.ddl(f"create /* gh-ost */ table `{db}`.`~t_gho` like `test`.`t`")
    r.ddl(f"alter /* gh-ost */ table `{db}`.`~t_gho` drop column e, add index ix_a(a)")
    r.ddl(f"alter /* gh-ost */ table `{db}`.`~t_gho` AUTO_INCREMENT={r.next_id['t']}")
    cols, transform = migrate(t.columns, drop=("e",))
    g = Table(db, "~t_gho", cols)
    r.ghosts["t"] = (g, transform)
    r.copy("t", 35, interleave=2)
    r.txn(changelog.put({"id": 2, "last_update": "2026-03-01 10:00:30", "hint": "state",
                         "value": "AllEventsUpToLockProcessed:1772359230000000000"}))
    r.ddl(f"create /* gh-ost */ table `{db}`.`~t_del` (\n\t\t\tid int auto_increment primary key\n"
          "\t\t) engine=InnoDB comment='ghost-cut-over-sentry'")
    r.ddl("DROP TABLE IF EXISTS `bbdataarchive`.`~t_del` /* generated by server */")
    r.check_in_step("t")
    r.ddl(f"rename /* gh-ost */ table `test`.`t` to `{db}`.`~t_del`, `{db}`.`~t_gho` to "
          "`test`.`t`")
    r.swap("t", g)
    r.load(8)
    r.ddl("DROP TABLE IF EXISTS `bbdataarchive`.`~t_ghc` /* generated by server */")
    r.ddl("DROP TABLE IF EXISTS `bbdataarchive`.`~t_del` /* generated by server */")
    r.load(2)
    r.tool = ("Bytebase's gh-ost fork (bytebase/gh-ost2) on `test`.`t`, ghost database "
              "`bbdataarchive`: `drop column e, add index ix_a(a)`")
    r.stream = ("changelog `bbdataarchive`.`~t_ghc`, ghost `bbdataarchive`.`~t_gho` (`create ... "
                "like test.t`), sentry `bbdataarchive`.`~t_del`; the atomic cut-over across "
                "schemas `rename table test.t to bbdataarchive.~t_del, bbdataarchive.~t_gho to "
                "test.t`; drops in `bbdataarchive`. DROPs qualified: the server keeps the schema "
                "when it differs from the session's (`test`)")
    return r


def dms():
    """Alibaba Cloud DMS lock-free schema change. Not open source: the names are the ones seen in
    binlogs (issue 12), the flow gh-ost-like (log table, ghost LIKE, copy, atomic RENAME)."""
    r = Run("dms-lock-free", 12007)
    t = r.real_table("t", rows=130)
    r.load(4)
    ogt, ogl, old = "tp_5021_ogt_t", "tp_5021_ogl_t", "tp_5021_del_t"
    r.ddl(f"CREATE TABLE `test`.`{ogl}` (`id` bigint unsigned NOT NULL AUTO_INCREMENT, `type` "
          "varchar(32) NOT NULL, `value` varchar(1024) NOT NULL, PRIMARY KEY (`id`))")
    log = Table("test", ogl, [("id", "", None), ("type", "", None), ("value", "", None)])
    r.ddl(f"CREATE TABLE `test`.`{ogt}` LIKE `test`.`t`")
    r.ddl(f"ALTER TABLE `test`.`{ogt}` ADD COLUMN `c` varchar(10) NOT NULL DEFAULT 'q' AFTER `b`")
    cols, transform = migrate(t.columns, [("c", "varchar(10) NOT NULL DEFAULT 'q'", "q")])
    order = ["id", "a", "b", "c", "d", "e", "created"]
    cols = sorted(cols, key=lambda c: order.index(c[0]))
    g = Table("test", ogt, cols)
    r.ghosts["t"] = (g, transform)
    r.txn(log.put({"id": 1, "type": "heartbeat", "value": "2026-03-01 10:00:00"}))
    r.copy("t", 40, interleave=2)
    r.txn(log.put({"id": 1, "type": "heartbeat", "value": "2026-03-01 10:00:20"}))
    r.check_in_step("t")
    r.ddl(f"RENAME TABLE `test`.`t` TO `test`.`{old}`, `test`.`{ogt}` TO `test`.`t`")
    r.swap("t", g)
    r.load(8)
    r.ddl(f"DROP TABLE IF EXISTS `test`.`{ogl}`")
    r.ddl(f"DROP TABLE IF EXISTS `test`.`{old}`")
    r.tool = ("Alibaba Cloud DMS lock-free change on `t`: `ADD COLUMN c varchar(10) NOT NULL "
              "DEFAULT 'q' AFTER b`")
    r.stream = ("log table `tp_5021_ogl_t` (written), ghost `tp_5021_ogt_t` (`CREATE TABLE ... "
                "LIKE t`), its ALTER, copy and applied changes, atomic `RENAME TABLE t TO "
                "tp_5021_del_t, tp_5021_ogt_t TO t`, drops. DMS is closed source: names as seen "
                "in binlogs, statements in gh-ost's shape")
    return r


def oak():
    """oak-online-alter-table (openark kit). src/oak/oak-online-alter-table.py."""
    r = Run("oak-online-alter-table", 12008)
    r.sync = "trigger"
    t = r.real_table("t", rows=120)
    r.load(4)
    for kind in ("AD", "AI", "AU"):
        r.ddl(f"DROP TRIGGER IF EXISTS test.t_{kind}_oak")
    r.ddl("CREATE TABLE test.__oak_t LIKE test.t")
    r.ddl("ALTER TABLE test.__oak_t ADD COLUMN c varchar(10) NOT NULL DEFAULT 'q'")
    cols, transform = migrate(t.columns, [("c", "varchar(10) NOT NULL DEFAULT 'q'", "q")])
    g = Table("test", "__oak_t", cols)
    r.ghosts["t"] = (g, transform)
    shared = "a, b, created, d, e, id"
    new_shared = ", ".join(f"NEW.{c}" for c in shared.split(", "))
    r.ddl("CREATE TRIGGER test.t_AD_oak AFTER DELETE ON test.t\n        FOR EACH ROW\n"
          "            DELETE FROM test.__oak_t WHERE id = OLD.id")
    r.ddl("CREATE TRIGGER test.t_AU_oak AFTER UPDATE ON test.t\n        FOR EACH ROW\n"
          f"            REPLACE INTO test.__oak_t ({shared}) VALUES ({new_shared})")
    r.ddl("CREATE TRIGGER test.t_AI_oak AFTER INSERT ON test.t\n        FOR EACH ROW\n"
          f"            REPLACE INTO test.__oak_t ({shared}) VALUES ({new_shared})")
    r.copy("t", 30, interleave=2)
    r.load(2)
    r.check_in_step("t")
    r.ddl("DROP TABLE IF EXISTS test.__arc_t")
    r.ddl("RENAME TABLE\n            test.t TO test.__arc_t,\n            test.__oak_t TO test.t")
    r.swap("t", g)
    r.sync = "binlog"
    r.ddl("DROP TABLE IF EXISTS test.__arc_t")
    r.load(8)
    r.tool = ("oak-online-alter-table on `t`: `--alter=\"ADD COLUMN c varchar(10) NOT NULL DEFAULT "
              "'q'\"`")
    r.stream = ("cleanup `DROP TRIGGER IF EXISTS test.t_A?_oak`, `CREATE TABLE test.__oak_t LIKE "
                "test.t`, its ALTER, triggers `t_AD_oak` / `t_AU_oak` / `t_AI_oak` (effects in the "
                "application's transactions), chunked `INSERT IGNORE ... SELECT` copy, `RENAME "
                "TABLE test.t TO test.__arc_t, test.__oak_t TO test.t`, the archive dropped (the "
                "triggers go with it)")
    return r


GHOST_CHANGELOG = ("create /* gh-ost */ table `test`.`{}` (\n\t\t\tid bigint unsigned auto_increment,\n"
                   "\t\t\tlast_update timestamp not null DEFAULT CURRENT_TIMESTAMP ON UPDATE "
                   "CURRENT_TIMESTAMP,\n\t\t\thint varchar(64) charset ascii not null,\n\t\t\tvalue "
                   "varchar(4096) charset ascii not null,\n\t\t\tprimary key(id),\n\t\t\tunique key "
                   "hint_uidx(hint)\n\t\t) auto_increment=256 comment='gh-ost changelog'")
GHOST_SENTRY = ("create /* gh-ost */ table `test`.`{}` (\n\t\t\tid int auto_increment primary key\n"
                "\t\t) engine=InnoDB comment='ghost-cut-over-sentry'")


def ghost_revert():
    """gh-ost 1.1.8+ --checkpoint migration of `t`, then `--revert --old-table=_t_del`.
    go/logic/migrator.go (Revert, initiateApplier, finalCleanup), go/base/context.go
    (GetGhostTableName and GetOldTableName under Revert: the ghost is --old-table, the old table
    `_t_rev_del`), go/logic/applier.go (CreateChangelogTable, CreateAtomicCutOverSentryTable,
    AtomicCutOverMagicLock, CreateCheckpointTable, WriteCheckpoint)."""
    r = Run("ghost-revert", 12009)
    t = r.real_table("t", rows=150)
    r.load(5)
    ghc, gho, ghk, dele, rev = "_t_ghc", "_t_gho", "_t_ghk", "_t_del", "_t_rev_del"
    changelog = Table("test", ghc, [("id", "", None), ("last_update", "", None),
                                    ("hint", "", None), ("value", "", None)])
    # The migration: checkpointed, old table and checkpoint kept (no --ok-to-drop-table).
    r.ddl(f"DROP TABLE IF EXISTS `{ghc}` /* generated by server */")
    r.ddl(GHOST_CHANGELOG.format(ghc))
    r.txn(changelog.put({"id": 2, "last_update": "2026-03-01 10:00:00", "hint": "state",
                         "value": "GhostTableMigrated"}))
    r.ddl(f"create /* gh-ost */ table `test`.`{gho}` like `test`.`t`")
    r.ddl(f"alter /* gh-ost */ table `test`.`{gho}` add column c varchar(10) not null default "
          "'q', add index ix_b(b)")
    r.ddl(f"alter /* gh-ost */ table `test`.`{gho}` AUTO_INCREMENT={r.next_id['t']}")
    cols, transform = migrate(t.columns, [("c", "varchar(10) not null default 'q'", "q")])
    g = Table("test", gho, cols)
    r.ghosts["t"] = (g, transform)
    r.ddl(f"create /* gh-ost */ table `test`.`{ghk}` (\n `gh_ost_chk_id` bigint auto_increment "
          "primary key,\n `gh_ost_chk_timestamp` bigint,\n `gh_ost_chk_coords` text charset ascii,"
          "\n `gh_ost_chk_iteration` bigint,\n `gh_ost_rows_copied` bigint,\n `gh_ost_dml_applied` "
          "bigint,\n `gh_ost_is_cutover` tinyint(1) DEFAULT '0',\n `id_min` int(11),\n `id_max` "
          "int(11)\n)")
    ck = Table("test", ghk, [("gh_ost_chk_id", "", None), ("gh_ost_chk_timestamp", "", None),
                             ("gh_ost_chk_coords", "", None), ("gh_ost_chk_iteration", "", None),
                             ("gh_ost_rows_copied", "", None), ("gh_ost_dml_applied", "", None),
                             ("gh_ost_is_cutover", "", 0), ("id_min", "", None),
                             ("id_max", "", None)], pk="gh_ost_chk_id")
    r.copy("t", 30, interleave=2)
    r.txn(ck.put({"gh_ost_chk_id": 1, "gh_ost_chk_timestamp": 1772359260,
                  "gh_ost_chk_coords": "mysql-bin.000003:8812", "gh_ost_chk_iteration": 5,
                  "gh_ost_rows_copied": len(g.rows), "gh_ost_dml_applied": 30, "id_min": 1,
                  "id_max": 160}))
    r.load(3)
    r.ddl(GHOST_SENTRY.format(dele))
    r.ddl(f"DROP TABLE IF EXISTS `{dele}` /* generated by server */")
    r.check_in_step("t")
    r.ddl(f"rename /* gh-ost */ table `test`.`t` to `test`.`{dele}`, `test`.`{gho}` to `test`.`t`")
    old = r.tables["t"]
    r.swap("t", g)
    old.name = dele
    r.txn(ck.put({"gh_ost_chk_id": 2, "gh_ost_chk_timestamp": 1772359262,
                  "gh_ost_chk_coords": "mysql-bin.000003:9930", "gh_ost_chk_iteration": 6,
                  "gh_ost_rows_copied": len(g.rows), "gh_ost_dml_applied": 41,
                  "gh_ost_is_cutover": 1, "id_min": 1, "id_max": 160}))
    r.ddl(f"DROP TABLE IF EXISTS `{ghc}` /* generated by server */")
    # From here the binlog holds what the revert will replay into the old table.
    back_cols, back = migrate(g.columns, drop=("c",))
    r.ghosts["t"] = (old, back)
    r.sync = "later"
    r.load(10)
    # gh-ost --revert --old-table=_t_del: a changelog again, no ghost CREATE/ALTER: the events
    # since the cut-over's checkpoint are applied to `_t_del`, then the atomic cut-over swaps it
    # back in; the migrated table is left as `_t_rev_del`.
    r.ddl(f"DROP TABLE IF EXISTS `{ghc}` /* generated by server */")
    r.ddl(GHOST_CHANGELOG.format(ghc))
    r.txn(changelog.put({"id": 3, "last_update": "2026-03-02 09:00:01", "hint": "heartbeat",
                         "value": "2026-03-02T09:00:01Z"}))
    r.sync = "binlog"
    r.apply_pending()
    r.load(4)
    r.ddl(GHOST_SENTRY.format(rev))
    r.ddl(f"DROP TABLE IF EXISTS `{rev}` /* generated by server */")
    r.check_in_step("t")
    r.ddl(f"rename /* gh-ost */ table `test`.`t` to `test`.`{rev}`, `test`.`{dele}` to `test`.`t`")
    r.swap("t", old)
    r.txn(changelog.put({"id": 2, "last_update": "2026-03-02 09:00:09", "hint": "state",
                         "value": "Migrated"}))
    r.ddl(f"DROP TABLE IF EXISTS `{ghc}` /* generated by server */")
    r.load(6)
    r.tool = ("gh-ost 1.1.8+ on `t` with `--checkpoint`: `add column c varchar(10) not null default "
              "'q', add index ix_b(b)`; later `gh-ost --revert --old-table=_t_del` with the same "
              "arguments")
    r.stream = ("the migration: changelog `_t_ghc`, ghost `_t_gho` (`create ... like t`, its ALTER "
                "and `AUTO_INCREMENT=`), checkpoint table `_t_ghk` (written during the run and "
                "after the RENAME), copy and applied changes, sentry `_t_del` created and dropped, "
                "`rename table t to _t_del, _t_gho to t`, changelog dropped, old table and "
                "checkpoint kept; load on the new `t`; the revert: changelog again, the changes "
                "since the cut-over applied to `_t_del` (its ghost), sentry `_t_rev_del` created "
                "and dropped, `rename table t to _t_rev_del, _t_del to t`; `_t_rev_del` and "
                "`_t_ghk` are left upstream")
    return r


def vitess_revert():
    """Vitess online DDL (`vitess` strategy, v20+ names) on `t`, then `REVERT VITESS_MIGRATION`.
    go/vt/vttablet/onlineddl/executor.go (cutOverVReplMigration; a revert is a VReplication
    migration whose target is the old table kept under the former shadow name), schema.go
    (sqlSwapTables, sqlCreateSentryTable), go/vt/schema/name.go, tablegc.go."""
    r = Run("vitess-revert", 12010)
    t = r.real_table("t", rows=140)
    r.upstream_only = [
        "CREATE DATABASE IF NOT EXISTS `_vt`",
        "CREATE TABLE IF NOT EXISTS `_vt`.`schema_migrations` (id bigint unsigned NOT NULL "
        "AUTO_INCREMENT PRIMARY KEY, migration_uuid varchar(64) NOT NULL, migration_status "
        "varchar(128) NOT NULL, progress float NOT NULL DEFAULT 0)",
    ]
    mig = Table("_vt", "schema_migrations", [("id", "", None), ("migration_uuid", "", None),
                                            ("migration_status", "", None), ("progress", "", 0)])
    uuid = "3d1c9a40_8a2e_11f0_9b1e_0a580a8c0012"
    condensed = uuid.replace("_", "")
    vrp = f"_vt_vrp_{condensed}_20260301102000_"
    sentry = "_vt_hld_5f7e3b2d01b311f0c4f30a580a8c0012_20260302102131_"
    revert_uuid = "7a4e2f10_8b3c_11f0_9d2a_0a580a8c0012"
    revert_sentry = "_vt_hld_9a8b7c6d02c411f0d5e40a580a8c0012_20260304090500_"
    r.load(5)
    r.txn(mig.put({"id": 1, "migration_uuid": uuid, "migration_status": "running"}))
    g = Table("test", vrp, list(t.columns))
    r.ddl(create_sql(g))
    r.ddl(f"ALTER TABLE {q(vrp)} ADD COLUMN `c` varchar(10) NOT NULL DEFAULT 'q', MODIFY COLUMN "
          "`b` bigint(20) DEFAULT NULL")
    r.ddl(f"ALTER TABLE {q(vrp)} AUTO_INCREMENT={r.next_id['t'] + 100}")
    cols, transform = migrate(t.columns, [("c", "varchar(10) NOT NULL DEFAULT 'q'", "q")])
    cols = [(n, "bigint(20) DEFAULT NULL" if n == "b" else ty, d) for n, ty, d in cols]
    g.columns = cols
    r.ghosts["t"] = (g, transform)
    r.copy("t", 40, interleave=2)
    r.load(3)
    r.ddl(f"CREATE TABLE IF NOT EXISTS {q(sentry)} (id INT PRIMARY KEY)")
    r.check_in_step("t")
    r.ddl(f"DROP TABLE {q(sentry)} /* generated by server */")
    r.ddl(f"RENAME TABLE `t` TO {q(sentry)}, {q(vrp)} TO `t`, {q(sentry)} TO {q(vrp)}")
    old = r.tables["t"]
    r.swap("t", g)
    old.name = vrp
    r.txn(mig.put({"id": 1, "migration_uuid": uuid, "migration_status": "complete",
                   "progress": 100}))
    # The revert's VReplication starts from the cut-over's position: the changes to `t` since
    # then are applied to the old table (under the shadow name) in their own transactions.
    _, back = migrate(g.columns, drop=("c",))
    r.ghosts["t"] = (old, back)
    r.sync = "later"
    r.load(8)
    r.txn(mig.put({"id": 2, "migration_uuid": revert_uuid, "migration_status": "running"}))
    r.sync = "binlog"
    r.apply_pending()
    r.load(4)
    r.ddl(f"CREATE TABLE IF NOT EXISTS {q(revert_sentry)} (id INT PRIMARY KEY)")
    r.check_in_step("t")
    r.ddl(f"DROP TABLE {q(revert_sentry)} /* generated by server */")
    r.ddl(f"RENAME TABLE `t` TO {q(revert_sentry)}, {q(vrp)} TO `t`, {q(revert_sentry)} TO "
          f"{q(vrp)}")
    migrated = r.tables["t"]
    r.swap("t", old)
    migrated.name = vrp
    r.txn(mig.put({"id": 2, "migration_uuid": revert_uuid, "migration_status": "complete",
                   "progress": 100}))
    r.load(6)
    # Table GC of the revert's artifact (the migrated table, now under the shadow name).
    hold = "_vt_hld_" + condensed + "_20260305090000_"
    drop = "_vt_drp_" + condensed + "_20260305090001_"
    r.ddl(f"RENAME TABLE {q(vrp)} TO {q(hold)}")
    r.ddl(f"RENAME TABLE {q(hold)} TO {q(drop)}")
    r.ddl(f"DROP TABLE IF EXISTS {q(drop)} /* generated by server */")
    r.load(3)
    r.tool = ("Vitess online DDL, `vitess` strategy, v20+ table names, on `t`: `ALTER TABLE t ADD "
              "COLUMN c varchar(10) NOT NULL DEFAULT 'q', MODIFY COLUMN b bigint`; then `REVERT "
              "VITESS_MIGRATION '<uuid>'`")
    r.stream = ("sidecar writes to `_vt`.`schema_migrations`; explicit `CREATE TABLE` of the "
                "shadow `_vt_vrp_...`, its ALTER and `AUTO_INCREMENT=`, copy and applied changes; "
                "sentry created and dropped; the rotation `RENAME TABLE t TO sentry, vrp TO t, "
                "sentry TO vrp`; load on the new `t`; the revert: the changes since the cut-over "
                "applied to the old table under the shadow name, another sentry created and "
                "dropped, the rotation back `RENAME TABLE t TO sentry2, vrp TO t, sentry2 TO vrp`; "
                "the migrated table's table GC: HOLD, DROP")
    return r


TOOLS = {
    "spirit-multi-table": spirit,
    "lhm-locked-switcher": lhm,
    "vitess-rotation": vitess,
    "ghost-force-table-names": ghost_force,
    "ptosc-rebuild-constraints-history": ptosc,
    "bytebase-cross-schema": bytebase,
    "dms-lock-free": dms,
    "oak-online-alter-table": oak,
    "ghost-revert": ghost_revert,
    "vitess-revert": vitess_revert,
}

# ---------------------------------------------------------------------------------------------
# Files


def mysql_args(db=None):
    env = os.environ
    args = ["mariadb", "-h" + env.get("STANDIN_HOST", "127.0.0.1"),
            "-P" + env["STANDIN_PORT"], "-u" + env.get("STANDIN_USER", "root"),
            "-p" + env.get("STANDIN_PASSWORD", "rootpw"), "--skip-ssl", "--default-character-set=utf8mb4"]
    return args + ([db] if db else [])


def mysql(sql, db=None, force=False):
    args = mysql_args(db) + (["--force"] if force else [])
    p = subprocess.run(args, input=sql.encode(), capture_output=True, timeout=600)
    if p.returncode != 0 and not force:
        raise SystemExit(f"mariadb failed: {p.stderr.decode()[:2000]}")
    return p.stdout.decode(), p.stderr.decode()


def query(sql, db="test"):
    out, _ = mysql(sql, db)
    return [line.split("\t") for line in out.splitlines()[1:]]


def trace_text(statements):
    out = []
    for s in statements:
        if ";" in s and "TRIGGER" in s.upper():
            out += ["DELIMITER ;;", s + ";;", "DELIMITER ;"]
        else:
            out.append(s + ";")
    return "\n".join(out) + "\n"


def write_before(run, folder):
    dbs = ["test"] + run.extra_schemas
    mysql("".join(f"DROP DATABASE IF EXISTS {q(d)};\n" for d in dbs + ["_vt", "percona"]) +
          "".join(f"CREATE DATABASE {q(d)} DEFAULT CHARACTER SET utf8mb4 COLLATE "
                  f"utf8mb4_general_ci;\n" for d in dbs))
    mysql("SET SESSION foreign_key_checks=0;\n" + ";\n".join(run.setup) + ";\n", "test")
    env = os.environ
    dump = subprocess.run(
        ["mariadb-dump", "-h" + env.get("STANDIN_HOST", "127.0.0.1"), "-P" + env["STANDIN_PORT"],
         "-u" + env.get("STANDIN_USER", "root"), "-p" + env.get("STANDIN_PASSWORD", "rootpw"),
         "--skip-ssl", "--skip-comments", "--add-drop-database", "--databases"] + dbs,
        capture_output=True, check=True, timeout=120)
    with open(os.path.join(folder, "before.sql"), "wb") as f:
        f.write(dump.stdout)
    return dump.stdout.decode()


def replay_upstream(run, folder, before):
    """before.sql, then the trace without its CREATE TRIGGERs: zero errors, or the trace is wrong."""
    mysql(before)
    if run.upstream_only:
        mysql(";\n".join(run.upstream_only) + ";\n")
    statements = [s for s in run.out if not re.match(r"\s*CREATE\b.*?\bTRIGGER\b", s, re.I | re.S)]
    _, err = mysql("SET SESSION foreign_key_checks=0;\n" + trace_text(statements), force=True)
    if err.strip():
        raise SystemExit(f"{run.name}: the upstream replay failed:\n{err[:3000]}")


def table_blocks(text):
    """expected.txt's per-table sections, AUTO_INCREMENT=N removed."""
    blocks = {}
    for part in text.split("== TABLE ")[1:]:
        name = part.split("\n", 1)[0]
        blocks[name] = re.sub(r" AUTO_INCREMENT=\d+", "", part).strip()
    return blocks


def check_downstream(dump_dir):
    failed = False
    for name in sorted(TOOLS):
        folder = os.path.join(HERE, name)
        with open(os.path.join(folder, "before.sql")) as f:
            mysql(f.read())
        with open(os.path.join(dump_dir, name + ".sql")) as f:
            _, err = mysql("SET SESSION foreign_key_checks=0;\n" + f.read(), force=True)
        run = TOOLS[name]()
        lines = expected_lines(run)
        with open(os.path.join(folder, "expected.txt")) as f:
            want = table_blocks(f.read())
        got = table_blocks("\n".join(lines))
        tables = [r[0] for r in query("SHOW TABLES")]
        ok = not err.strip() and got == want and sorted(tables) == sorted(run.tables)
        failed |= not ok
        print(f"{name}: {'downstream equals upstream' if ok else 'DIFFERS'}")
        if not ok:
            print(err[:2000], sorted(tables))
            for t in sorted(set(want) | set(got)):
                if want.get(t) != got.get(t):
                    print(f"--- want {t}\n{want.get(t)}\n--- got\n{got.get(t)}")
    return not failed


def expected_lines(run):
    lines = []
    for name in sorted(run.tables):
        out, _ = mysql(f"SHOW CREATE TABLE {q(name)}\\G", "test")
        create = out.split("Create Table: ", 1)[1].rstrip("\n")
        cols = [r[0] for r in query(f"SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE "
                                    f"TABLE_SCHEMA='test' AND TABLE_NAME='{name}' ORDER BY "
                                    f"ORDINAL_POSITION")]
        count = query(f"SELECT COUNT(*) FROM {q(name)}")[0][0]
        checksum = query(f"CHECKSUM TABLE {q(name)}")[0][1]
        md5q = ("SELECT COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS(',',"
                + ",".join(f"QUOTE({q(c)})" for c in cols)
                + f") ORDER BY {q(run.tables[name].pk)} SEPARATOR '\\n')) FROM `test`.{q(name)};")
        md5 = query("SET SESSION group_concat_max_len=1073741824, time_zone='+00:00';\n" + md5q)
        lines += [f"== TABLE {q(name)}", "-- SHOW CREATE TABLE", create + ";",
                  f"-- SELECT COUNT(*): {count}", f"-- CHECKSUM TABLE: {checksum}",
                  f"-- md5 query: {md5q}", f"-- md5: {md5[0][1]}", ""]
        if int(count) != len(run.tables[name].rows):
            raise SystemExit(f"{run.name}: {name} has {count} rows, the model "
                             f"{len(run.tables[name].rows)}")
    return lines


def write_expected(run, folder):
    tables = [r[0] for r in query("SHOW TABLES")]
    triggers = [r[0] for r in query("SHOW TRIGGERS")]
    helpers = [t for t in tables if t not in run.tables]
    lines = ["# upstream state of database `test` after the run",
             "# tables checked: " + ", ".join(sorted(run.tables)),
             "# helper tables left upstream (not checked): " + (", ".join(helpers) or "none"),
             "# triggers left upstream: " + (", ".join(triggers) or "none"),
             "# md5 = ordered md5 of all rows; run this first in the same session:",
             "#   SET SESSION group_concat_max_len=1073741824, time_zone='+00:00';", ""]
    lines += expected_lines(run)
    with open(os.path.join(folder, "expected.txt"), "w") as f:
        f.write("\n".join(lines).rstrip("\n") + "\n")
    return helpers, triggers


def write_readme(run, folder, before_rows, helpers, triggers):
    per_table = {}
    kinds = {"INSERT": 0, "UPDATE": 0, "DELETE": 0}
    txns = ddl = uses = wrapped = 0
    for s in run.out:
        m = re.match(r"(INSERT INTO|UPDATE|DELETE FROM) (`[^`]*`\.`[^`]*`)", s)
        if m:
            kinds[m.group(1).split()[0]] += 1
            per_table[m.group(2)] = per_table.get(m.group(2), 0) + 1
        elif s == "BEGIN":
            txns += 1
        elif s.startswith("USE "):
            uses += 1
        elif s != "COMMIT":
            ddl += 1
            wrapped += 1 if ";" in s and "TRIGGER" in s.upper() else 0
    ops = run.ops
    text = f"""# {run.name}
- Tool run: {run.tool}. Written from the tool's source (tests/traces/make_traces.py; rules/TOOLS.md names the files), not recorded: the tool does not run here. Concurrent load on the real tables: {ops['txn']} transactions ({ops['insert']} inserts, {ops['update']} updates, {ops['delete']} deletes).
- Stream: {run.stream}.
- trace.sql: {len([s for s in run.out if s not in ('BEGIN', 'COMMIT')])} statements ({ddl} query/DDL events, {uses} USE, {txns} transactions with {kinds['INSERT']} INSERT / {kinds['UPDATE']} UPDATE / {kinds['DELETE']} DELETE row statements; {wrapped} wrapped in DELIMITER ;;). Row statements per table: {', '.join(f'{k}={v}' for k, v in sorted(per_table.items()))}.
- Rows before: {', '.join(f'{k}={v}' for k, v in sorted(before_rows.items()))}; upstream after: {', '.join(f'{k}={len(t.rows)}' for k, t in sorted(run.tables.items()))}; helper tables left upstream: {', '.join(helpers) or 'none'}; triggers left upstream: {', '.join(triggers) or 'none'}.
- expected.txt: before.sql, then trace.sql straight into MariaDB 10.11 without its CREATE TRIGGER statements (their effects are in the row stream), with foreign_key_checks=0: no errors.
"""
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write(text)


def make(name):
    run = TOOLS[name]()
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    before = write_before(run, folder)
    with open(os.path.join(folder, "trace.sql"), "w") as f:
        f.write(trace_text(run.out))
    replay_upstream(run, folder, before)
    helpers, triggers = write_expected(run, folder)
    write_readme(run, folder, run.initial, helpers, triggers)
    print(f"{name}: {len(run.out)} lines")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--check-downstream"]:
        sys.exit(0 if check_downstream(sys.argv[2]) else 1)
    for n in sys.argv[1:] or sorted(TOOLS):
        make(n)
