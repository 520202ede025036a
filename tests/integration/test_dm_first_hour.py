#!/usr/bin/python3
"""Issue 15, "A DM user's first hour": what a DM user meets putting ghostgate in front of TiDB.
One stand-in for the file; each test starts the ghostgate it needs.

  * Takeover (finding 1): a migration DM started is in DM's meta table under DM's *source id*
    (`id` column), in DM's JSON shape ({"schema", "table", "ddls"}, see pingcap/tiflow
    dm/syncer/online-ddl-tools/online_ddl.go). ghostgate configured with that DM task file's
    keys (target-database, mysql-instances[].source-id) loads the row, shows it in
    /online-ddl, and the gh-ost cut-over RENAME adds the column downstream; the row is gone.
    A row under another source id is not loaded, and is named (id and ghost) at start-up.
  * The GRANT for ghostgate's own account (README "First run", step 3): an account with only
    SELECT, INSERT, UPDATE, DELETE, CREATE on the meta schema is enough (ready, records, cuts
    over); without CREATE /readyz gives the GRANT, with the server's 1044 text.
  * /readyz gives the reason in its body (finding 5): wrong password (1045, names
    backend.password), backend unreachable, missing privilege.
  * Backend down: the client gets ghostgate's own greeting, then a clean ERR naming the backend,
    in the mariadb CLI, mysql-connector-c++ (tests/tools/cppconn_client) and pymysql; no TLS
    message anywhere.
  * The runner's own GHOSTGATE_* variables (GHOSTGATE_IT_MODE, GHOSTGATE_BIN, ...) are not
    reported as "not a config key".

    GHOSTGATE_BIN=build/ghostgate /usr/bin/python3 tests/integration/test_dm_first_hour.py
"""

import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import pymysql  # noqa: E402
from test_admin import GateTarget, OpsTestCase, admin, read_log  # noqa: E402

# DM's own meta table DDL (online_ddl.go, createTable), so the planted row is exactly DM's.
DM_META_DDL = """CREATE TABLE IF NOT EXISTS `dm_meta`.`test_onlineddl` (
    id VARCHAR(32) NOT NULL,
    ghost_schema VARCHAR(128) NOT NULL,
    ghost_table VARCHAR(128) NOT NULL,
    ddls text,
    update_time timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    UNIQUE KEY uk_id_schema_table (id, ghost_schema, ghost_table))"""
SOURCE_ID = "mysql-replica-01"


def dm_task_keys(standin, user=harness.GATE_USER, password=harness.GATE_PASSWORD):
    """The keys of a DM task file that matter here, pointing at the stand-in."""
    return {
        "name": "test",
        "task-mode": "all",
        "meta-schema": "dm_meta",
        "online-ddl": True,
        "backend": None,  # the harness's default: replaced by DM's target-database
        "target-database": {"host": standin.host, "port": standin.port, "user": user,
                            "password": password},
        "mysql-instances": [{"source-id": SOURCE_ID, "block-allow-list": "bw-rule-1"}],
    }


def closed_port():
    return harness.free_port()  # nothing listens there


class FirstHour(OpsTestCase):
    @classmethod
    def setUpClass(cls):
        cls.standin = harness.Standin(name="dmfirst").start()

    def gate(self, label, extra):
        g = harness.Ghostgate(self.standin, name=label, extra=extra, log_level="info").start()
        self.addCleanup(g.stop)
        self.show_logs_of(g)
        return g

    def test_takeover_of_a_dm_migration(self):
        s = self.standin
        s.query("CREATE DATABASE IF NOT EXISTS shop")
        s.query("DROP TABLE IF EXISTS shop.t")
        s.query("CREATE TABLE shop.t (id INT PRIMARY KEY, a INT)")
        s.query("INSERT INTO shop.t VALUES (1, 10)")
        s.query("CREATE DATABASE IF NOT EXISTS dm_meta")
        s.query(DM_META_DDL)
        s.query("DELETE FROM dm_meta.test_onlineddl")
        # What DM's Storage.Save wrote while gh-ost altered its ghost table upstream.
        info = {"schema": "shop", "table": "t",
                "ddls": ["ALTER TABLE `shop`.`_t_gho` ADD COLUMN `c` INT NOT NULL DEFAULT 7"]}
        s.query("INSERT INTO dm_meta.test_onlineddl (id, ghost_schema, ghost_table, ddls) "
                f"VALUES ('{SOURCE_ID}', 'shop', '_t_gho', '{json.dumps(info)}')")
        # Another DM source's migration in the same table: not loaded, but named at start-up.
        other = {"schema": "shop", "table": "v", "ddls": ["ALTER TABLE `shop`.`_v_gho` ADD x INT"]}
        s.query("INSERT INTO dm_meta.test_onlineddl (id, ghost_schema, ghost_table, ddls) "
                f"VALUES ('mysql-replica-09', 'shop', '_v_gho', '{json.dumps(other)}')")
        gate = self.gate("gate-takeover", dm_task_keys(s))
        harness.wait_until(lambda: admin(gate, "/readyz")[0] == 200, 20, what="ready")
        self.assertRegex(read_log(gate), r"1 pending migration\(s\) loaded")
        harness.wait_until(lambda: re.search(
            r"also holds a pending migration of `shop`\.`_v_gho` under id \"mysql-replica-09\"",
            read_log(gate)), 10, what="the other source's row named")
        self.assertNotIn("not a config key", read_log(gate))
        pending = json.loads(admin(gate, "/online-ddl")[2])["pending"]
        self.assertEqual([p["ghost"]["table"] for p in pending], ["_t_gho"], pending)

        conn = GateTarget(s, gate).connect(user=harness.ROOT_USER,
                                           password=harness.ROOT_PASSWORD, autocommit=True)
        self.addCleanup(conn.close)
        with conn.cursor() as cur:
            # gh-ost's cut-over, as DM's replicator sends it downstream.
            cur.execute("RENAME TABLE shop.t TO shop._t_del, shop._t_gho TO shop.t")
        cols = [r[0] for r in s.query("SHOW COLUMNS FROM shop.t")]
        self.assertEqual(cols, ["id", "a", "c"])
        self.assertEqual(s.query("SELECT c FROM shop.t WHERE id = 1"), ((7,),))
        self.assertEqual(s.query("SELECT id FROM dm_meta.test_onlineddl"),
                         (("mysql-replica-09",),))

    def restricted_account(self, user, privileges):
        self.standin.query(f"CREATE OR REPLACE USER '{user}'@'%' IDENTIFIED BY 'pw-{user}'")
        if privileges:
            self.standin.query(f"GRANT {privileges} ON `dm_meta`.* TO '{user}'@'%'")
        self.addCleanup(self.standin.query, f"DROP USER IF EXISTS '{user}'@'%'")

    def test_the_documented_grant_is_enough(self):
        self.standin.query("CREATE DATABASE IF NOT EXISTS dm_meta")
        self.standin.query("DROP TABLE IF EXISTS dm_meta.grant_onlineddl")
        self.restricted_account("gg_min", "SELECT, INSERT, UPDATE, DELETE, CREATE")
        gate = self.gate("gate-grant", {"name": "grant",
                                        "backend": {"user": "gg_min", "password": "pw-gg_min"}})
        harness.wait_until(lambda: admin(gate, "/readyz")[0] == 200, 20,
                           what="ready with the documented GRANT")
        s = self.standin
        s.query("CREATE DATABASE IF NOT EXISTS test_grant")
        s.query("DROP TABLE IF EXISTS test_grant.u")
        s.query("CREATE TABLE test_grant.u (id INT PRIMARY KEY)")
        conn = GateTarget(s, gate).connect(database="test_grant", autocommit=True)
        self.addCleanup(conn.close)
        with conn.cursor() as cur:  # a whole gh-ost run: record (INSERT, UPDATE) and cut over
            cur.execute("CREATE TABLE _u_gho LIKE u")
            cur.execute("ALTER TABLE _u_gho ADD COLUMN v INT")
            cur.execute("ALTER TABLE _u_gho ADD INDEX iv (v)")
            cur.execute("RENAME TABLE u TO _u_del, _u_gho TO u")
        self.assertEqual([r[0] for r in s.query("SHOW COLUMNS FROM test_grant.u")], ["id", "v"])
        self.assertEqual(s.query("SELECT COUNT(*) FROM dm_meta.grant_onlineddl"), ((0,),))

    def not_ready_body(self, gate):
        def body():
            status, _, text = admin(gate, "/readyz")
            return text if status == 503 and "not checked yet" not in text else None
        return harness.wait_until(body, 20, what="/readyz 503 with a reason")

    def test_readyz_says_why(self):
        self.standin.query("DROP TABLE IF EXISTS dm_meta.nocreate_onlineddl")
        self.restricted_account("gg_nocreate", "SELECT, INSERT, UPDATE, DELETE")
        cases = (
            ("wrong-password", {"backend": {"password": "wrong"}},
             [r"1045", r"backend\.password", r"SIGHUP"]),
            ("unreachable", {"backend": {"address": f"127.0.0.1:{closed_port()}"}},
             [r"unreachable", r"127\.0\.0\.1:\d+"]),
            ("no-create", {"name": "nocreate",
                           "backend": {"user": "gg_nocreate", "password": "pw-gg_nocreate"}},
             # MariaDB refuses the CREATE DATABASE IF NOT EXISTS first (1044); TiDB may say
             # 1142 for the CREATE TABLE: either way the body names the GRANT.
             [r"\b(1044|1142)\b", r"denied", r"lacks a privilege: GRANT SELECT, INSERT, UPDATE, "
                                           r"DELETE, CREATE ON dm_meta\.\* TO it"]),
        )
        for name, extra, patterns in cases:
            with self.subTest(case=name):
                gate = harness.Ghostgate(self.standin, name=f"gate-{name}", extra=extra,
                                         log_level="info")
                gate.wait_ready = False
                gate.start()
                self.addCleanup(gate.stop)
                self.show_logs_of(gate)
                text = self.not_ready_body(gate)
                for p in patterns:
                    self.assertRegex(text, p)

    def test_backend_down_gives_a_clean_error_in_three_clients(self):
        gate = harness.Ghostgate(self.standin, name="gate-down",
                                 extra={"backend": {"address": f"127.0.0.1:{closed_port()}"}},
                                 log_level="info")
        gate.wait_ready = False
        gate.start()
        self.addCleanup(gate.stop)
        self.show_logs_of(gate)
        expected = "ghostgate: backend unavailable"
        # mariadb CLI
        cli = harness.which_or_fail("mariadb", "install mariadb-client (scripts/deps.sh)")
        r = subprocess.run([cli, "--no-defaults", "-h127.0.0.1", f"-P{gate.port}", "-uroot",
                            "-prootpw", "--protocol=TCP", "--connect-timeout=10", "-e",
                            "SELECT 1"], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(expected, r.stderr)
        self.assertRegex(r.stderr, r"ERROR 1105 \(08S01\)")
        self.assertNotIn("TLS", r.stderr)
        # pymysql
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            pymysql.connect(host="127.0.0.1", port=gate.port, user="root", password="rootpw",
                            connect_timeout=10)
        self.assertEqual(cm.exception.args[0], 1105)
        self.assertIn(expected, cm.exception.args[1])
        # mysql-connector-c++
        client = harness.tool_path("cppconn_client")
        r = subprocess.run([client, "127.0.0.1", str(gate.port), "root", "rootpw", "test"],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(expected, r.stdout + r.stderr)
        self.assertNotIn("TLS", r.stdout + r.stderr)


if __name__ == "__main__":
    harness.main(ghostgate_only=True)
