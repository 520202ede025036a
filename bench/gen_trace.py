#!/usr/bin/python3
"""Writes a replicator trace in the format of ../shared/traces/ (see its README), at any size.

  gen_trace.py --out DIR [--rows 120000] [--seed 1]

DIR gets `before.sql` (the database `test`: 8 tables t, t1..t7 with initial rows) and
`trace.sql`: the statement stream a row-based replicator (DM-like) sends downstream while an
application writes to all 8 tables and gh-ost migrates `t` (`add column c varchar(10) not null
default 'q', add index ix_b(b)`), as in the recorded run ghost-atomic:

- application transactions of 1-50 row statements (INSERT / UPDATE with all columns / DELETE by
  primary key, `LIMIT 1`), each on one table;
- gh-ost's changelog `_t_ghc` (state rows, heartbeats), `CREATE TABLE _t_gho LIKE t` and its
  ALTERs, the chunked row copy (transactions of 100 INSERTs on `_t_gho`) and the binlog apply
  (each application transaction on `t` mirrored on `_t_gho`);
- the atomic cut-over (sentry `_t_del`, `RENAME TABLE t TO _t_del, _t_gho TO t`), the drops;
  then the application goes on with `c` in its row images.

`--rows` counts row statements (ghost ones included); the migration's copy covers `t`'s initial
rows, a quarter of --rows, so about half of the stream before the cut-over is gh-ost's. The
stream replays without errors on a server that ran before.sql (checked: mariadb --force reports
nothing), so direct, HAProxy and ghostgate runs all do the same work except what ghostgate
answers itself.
"""

import argparse
import os
import random

COLS = ("id", "a", "b", "d", "e", "created")
OTHER_TABLES = [f"t{i}" for i in range(1, 8)]
TABLE_DDL = """CREATE TABLE `{name}` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `a` int(11) NOT NULL DEFAULT 0,
  `b` int(11) DEFAULT NULL,
  `d` varchar(32) DEFAULT NULL,
  `e` decimal(8,2) DEFAULT NULL,
  `created` datetime NOT NULL DEFAULT '2026-01-01 00:00:00',
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
"""

GHC_DDL = """create /* gh-ost */ table `test`.`_t_ghc` (
\t\t\tid bigint unsigned auto_increment,
\t\t\tlast_update timestamp not null DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
\t\t\thint varchar(64) charset ascii not null,
\t\t\tvalue varchar(4096) charset ascii not null,
\t\t\tprimary key(id),
\t\t\tunique key hint_uidx(hint)
\t\t) auto_increment=256 comment='gh-ost changelog';
"""
SENTRY_DDL = """create /* gh-ost */ table `test`.`_t_del` (
\t\t\tid int auto_increment primary key
\t\t) engine=InnoDB comment='ghost-cut-over-sentry';
"""


def sql_value(v):
    if v is None:
        return "NULL"
    if isinstance(v, str):
        return "'" + v + "'"
    return str(v)


class Gen:
    def __init__(self, rows, seed):
        self.rnd = random.Random(seed)
        self.target = rows
        self.row_stmts = 0
        self.out = []
        self.t_initial = max(100, rows // 4)
        self.other_initial = 2000
        # table -> {id: row tuple}
        self.tables = {"t": {}, **{n: {} for n in OTHER_TABLES}}
        self.next_id = {}
        for name, rowsd in self.tables.items():
            n = self.t_initial if name == "t" else self.other_initial
            for i in range(1, n + 1):
                rowsd[i] = self.initial_row(i)
            self.next_id[name] = n + 1
        self.gho = {}  # ghost table contents (ids -> row), while the migration runs
        self.ghc_id = 256
        self.clock = 1795312606
        self.migrated = False  # after the cut-over, t has column c

    @staticmethod
    def initial_row(i):
        return (i, i, i * 3 if i % 17 else None, f"row-{i}", round(i / 7, 2),
                f"2026-01-01 {(i // 60) % 24:02d}:{i % 60:02d}:00")

    def random_row(self, i):
        r = self.rnd
        return (i, r.randrange(100000), r.randrange(100000), "w%06x" % r.randrange(1 << 24),
                round(r.randrange(1000000) / 100, 2),
                f"2026-{r.randrange(1, 13):02d}-{r.randrange(1, 29):02d} "
                f"{r.randrange(24):02d}:{r.randrange(60):02d}:{r.randrange(60):02d}")

    # ---- statements ------------------------------------------------------------------------
    def emit(self, line):
        self.out.append(line)

    def insert(self, table, row, with_c):
        cols = COLS + (("c",) if with_c else ())
        vals = tuple(row) + (("q",) if with_c else ())
        self.row_stmts += 1
        return (f"INSERT INTO `test`.`{table}` ({','.join('`%s`' % c for c in cols)}) VALUES "
                f"({','.join(sql_value(v) for v in vals)});")

    def update(self, table, row, with_c):
        cols = COLS + (("c",) if with_c else ())
        vals = tuple(row) + (("q",) if with_c else ())
        sets = ",".join(f"`{c}`={sql_value(v)}" for c, v in zip(cols, vals))
        self.row_stmts += 1
        return f"UPDATE `test`.`{table}` SET {sets} WHERE `id`={row[0]} LIMIT 1;"

    def delete(self, table, i):
        self.row_stmts += 1
        return f"DELETE FROM `test`.`{table}` WHERE `id`={i} LIMIT 1;"

    def txn(self, stmts):
        if stmts:
            self.emit("BEGIN;")
            self.out.extend(stmts)
            self.emit("COMMIT;")

    def ghc(self, hint, value, row_id=None):
        self.clock += self.rnd.randrange(2)
        if row_id is not None:
            self.row_stmts += 1
            self.txn([f"UPDATE `test`.`_t_ghc` SET `id`={row_id},`last_update`=FROM_UNIXTIME("
                      f"{self.clock}),`hint`='{hint}',`value`='{value}' WHERE `id`={row_id} "
                      f"LIMIT 1;"])
        else:
            self.ghc_id += 1
            self.row_stmts += 1
            self.txn([f"INSERT INTO `test`.`_t_ghc` (`id`,`last_update`,`hint`,`value`) VALUES "
                      f"({self.ghc_id},FROM_UNIXTIME({self.clock}),'{hint}','{value}');"])

    # ---- the application ---------------------------------------------------------------------
    def app_txn(self, migrating):
        r = self.rnd
        table = r.choice(["t"] + OTHER_TABLES)
        rows = self.tables[table]
        with_c = table == "t" and self.migrated
        stmts, changes = [], []
        for _ in range(r.randint(1, 50)):
            kind = r.random()
            if kind < 0.5 or len(rows) < 50:
                i = self.next_id[table]
                self.next_id[table] += 1
                rows[i] = self.random_row(i)
                stmts.append(self.insert(table, rows[i], with_c))
                changes.append(("ins", i))
            else:
                # Half of the time a recent row, as applications mostly touch new rows.
                low = max(1, self.next_id[table] - 2000) if r.random() < 0.5 else 1
                i = r.randrange(low, self.next_id[table])
                if i not in rows:
                    continue
                if kind < 0.85:
                    old = rows[i]
                    rows[i] = (i,) + self.random_row(i)[1:] if r.random() < 0.5 else \
                        (i, old[1] + 1) + old[2:]
                    stmts.append(self.update(table, rows[i], with_c))
                    changes.append(("upd", i))
                else:
                    del rows[i]
                    stmts.append(self.delete(table, i))
                    changes.append(("del", i))
        self.txn(stmts)
        if migrating and table == "t":
            self.apply_to_gho(changes)

    def apply_to_gho(self, changes):
        # gh-ost's binlog apply: REPLACE INTO for inserts (an update row event when the copy
        # already has the row), UPDATE and DELETE as they come (no row event if nothing matched).
        stmts = []
        for kind, i in changes:
            if kind in ("ins", "upd") and i in self.tables["t"]:
                row = self.tables["t"][i]
                if i in self.gho:
                    stmts.append(self.update("_t_gho", row, True))
                elif kind == "ins":
                    stmts.append(self.insert("_t_gho", row, True))
                else:
                    continue
                self.gho[i] = row
            elif kind == "del" and i in self.gho:
                del self.gho[i]
                stmts.append(self.delete("_t_gho", i))
        self.txn(stmts)

    # ---- the whole stream --------------------------------------------------------------------
    def run(self):
        self.emit("USE `test`;")
        self.emit("DROP TABLE IF EXISTS `_t_ghc` /* generated by server */;")
        self.emit(GHC_DDL.rstrip("\n"))
        self.emit("create /* gh-ost */ table `test`.`_t_gho` like `test`.`t`;")
        self.emit("alter /* gh-ost */ table `test`.`_t_gho` add column c varchar(10) not null "
                  "default 'q', add index ix_b(b);")
        self.emit(f"alter /* gh-ost */ table `test`.`_t_gho` AUTO_INCREMENT={self.next_id['t']};")
        self.ghc("state", "GhostTableMigrated")
        self.ghc("heartbeat", "2026-11-22T01:56:46.807080141Z")
        copy_ids = list(range(1, self.t_initial + 1))
        copied = 0
        beat = 0
        while copied < len(copy_ids):
            # One copy chunk (INSERT IGNORE ... SELECT of 100 rows: row events for those not
            # there yet), then some application work and its apply.
            chunk = []
            for i in copy_ids[copied:copied + 100]:
                if i in self.tables["t"] and i not in self.gho:
                    self.gho[i] = self.tables["t"][i]
                    chunk.append(self.insert("_t_gho", self.gho[i], True))
            copied += 100
            self.txn(chunk)
            for _ in range(self.rnd.randint(0, 2)):
                self.app_txn(migrating=True)
            beat += 1
            if beat % 20 == 0:
                self.ghc("heartbeat", f"2026-11-22T01:56:{beat % 60:02d}.807945572Z", row_id=1)
            if beat % 100 == 0:
                self.ghc("copy iteration %d at %d" % (beat, self.clock), "migrating")
        self.emit(SENTRY_DDL.rstrip("\n"))
        self.ghc("state", "AllEventsUpToLockProcessed:1795312608788709902", row_id=2)
        self.emit("DROP TABLE IF EXISTS `_t_del` /* generated by server */;")
        self.emit("rename /* gh-ost */ table `test`.`t` to `test`.`_t_del`, `test`.`_t_gho` to "
                  "`test`.`t`;")
        self.migrated = True
        self.tables["t"] = dict(self.gho)
        self.ghc("state", "Migrated", row_id=2)
        self.emit("DROP TABLE IF EXISTS `_t_ghc` /* generated by server */;")
        self.emit("DROP TABLE IF EXISTS `_t_del` /* generated by server */;")
        while self.row_stmts < self.target:
            self.app_txn(migrating=False)

    def before_sql(self):
        lines = ["/*!40014 SET FOREIGN_KEY_CHECKS=0 */;", "DROP DATABASE IF EXISTS `test`;",
                 "CREATE DATABASE `test` DEFAULT CHARACTER SET utf8mb4 COLLATE "
                 "utf8mb4_general_ci;", "USE `test`;"]
        n_t = self.t_initial
        n_o = self.other_initial
        for name in ["t"] + OTHER_TABLES:
            lines.append(TABLE_DDL.format(name=name).rstrip("\n"))
            n = n_t if name == "t" else n_o
            for start in range(1, n + 1, 1000):
                vals = ",".join("(" + ",".join(sql_value(v) for v in self.initial_row(i)) + ")"
                                for i in range(start, min(n, start + 999) + 1))
                lines.append(f"INSERT INTO `{name}` VALUES {vals};")
        return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=120000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    g = Gen(args.rows, args.seed)
    before = g.before_sql()  # the initial rows, before run() changes them
    g.run()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "before.sql"), "w") as f:
        f.write(before)
    with open(os.path.join(args.out, "trace.sql"), "w") as f:
        f.write("\n".join(g.out) + "\n")
    print(f"{args.out}: {len(g.out)} lines, {g.row_stmts} row statements")


if __name__ == "__main__":
    main()
