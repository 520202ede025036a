#!/usr/bin/python3
"""No secret in any log: every log the test suite produced (ghostgate's logs and output, the
stand-ins' error logs, the harness's and ctest's output) is searched for the test passwords, in
clear and in the encodings a careless log line would use (hex, base64, SHA1 and the
mysql_native_password hash), for the auth scrambles and proofs of a session recorded here, and
for the TLS private key. None may appear.

To make the search meaningful this file first runs its own session with log.level trace (text
and JSON logs, one ghostgate with client TLS) full of what must not leak: wrong passwords by the
dozen, logins of every kind, COM_CHANGE_USER, CREATE USER / ALTER USER / SET PASSWORD / GRANT ...
IDENTIFIED BY (alone, failing, in a multi-statement batch next to a suppressed gh-ost statement,
prepared), --check-config.

Where the suite's logs are: GHOSTGATE_SECRETS_SCAN, a ':'-separated list of directories and files
(tests/integration/hardening.cmake sets it to the directory every integration test keeps its temp
dirs in, and to ctest's Testing/Temporary). Without it only this file's own session is searched,
plus any kept ghostgate-it-* dirs under GHOSTGATE_TEST_TMP. MariaDB's general query log and data
directories are not logs of ours and are skipped. GHOSTGATE_SECRETS_PRUNE=1 deletes the datadirs
of the scanned temp dirs afterwards (the logs stay).

These tests are about ghostgate itself: they always run through it (--direct does not apply).

    GHOSTGATE_BIN=build/ghostgate /usr/bin/python3 tests/integration/test_secrets.py
"""

import base64
import hashlib
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ["GHOSTGATE_IT_MODE"] = "ghostgate"  # see the docstring
import harness  # noqa: E402
import pymysql  # noqa: E402
from pymysql.constants import CLIENT  # noqa: E402
from test_hostile import (CAP_MULTI_STATEMENTS, BASE_CAPS, RawClient,  # noqa: E402
                          ServerError, STORM_PASSWORD_PREFIX)

SECRET_USER = "gg_secret_user"
# Passwords used only here; each names where it went, so a hit tells which path leaked it.
SESSION_PASSWORDS = {
    "CREATE USER": "Sekr1t-create-user-5d1f",
    "ALTER USER": "Sekr1t-alter-user-9a2c",
    "SET PASSWORD": "Sekr1t-set-password-77e0",
    "GRANT IDENTIFIED BY": "Sekr1t-grant-identified-31b4",
    "failing CREATE USER": "Sekr1t-duplicate-user-c9d2",
    "syntax error": "Sekr1t-syntax-error-4e8a",
    "multi-statement batch": "Sekr1t-batch-0b6d",
    "prepared ALTER USER": "Sekr1t-prepared-a3f9",
    "final": "Sekr1t-final-62ce",
    "wrong password": "Sekr1t-wrong-password-e51a",
}
HARNESS_PASSWORDS = {
    "ROOT_PASSWORD": harness.ROOT_PASSWORD,
    "TEST_PASSWORD": harness.TEST_PASSWORD,
    "GATE_PASSWORD": harness.GATE_PASSWORD,
}
# The wrong passwords of test_hostile's storm share this prefix.
PREFIXES = {"storm wrong password": STORM_PASSWORD_PREFIX}

SKIP_DIRS = {"data", "binlog", "tls"}     # MariaDB datadirs and binlogs, certificates
SKIP_FILES = {"general.log"}              # the backend's own query log: client statements


def encodings(name, secret):
    """(label, bytes) pairs: the secret as a log line might carry it."""
    raw = secret if isinstance(secret, bytes) else secret.encode()
    out = [(f"{name} (raw)", raw), (f"{name} (hex)", raw.hex().encode()),
           (f"{name} (HEX)", raw.hex().upper().encode()),
           (f"{name} (base64)", base64.b64encode(raw).rstrip(b"="))]
    if not isinstance(secret, bytes):
        sha1 = hashlib.sha1(raw).digest()
        out += [(f"{name} (sha1)", sha1.hex().encode()),
                (f"{name} (native hash)", hashlib.sha1(sha1).hexdigest().upper().encode())]
    return out


def log_files(roots):
    """Every log file under the roots (files given directly are taken as they are)."""
    files = []
    for root in roots:
        if os.path.isfile(root):
            files.append(root)
            continue
        for d, dirs, names in os.walk(root):
            dirs[:] = [x for x in dirs if x not in SKIP_DIRS and
                       not x.startswith("ghostgate-standin-template-") and
                       not x.startswith("ghostgate-template-build-")]
            for n in names:
                if n in SKIP_FILES:
                    continue
                if n.endswith((".log", ".err", ".out")) or n.startswith("LastTest"):
                    files.append(os.path.join(d, n))
    return sorted(set(files))


def scan(files, needles):
    """[(file, line number, label)] for every needle found; the secret itself is never
    returned, so a failure message cannot leak it further."""
    hits = []
    for path in files:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        for label, needle in needles:
            pos = data.find(needle)
            if pos >= 0:
                hits.append((path, data.count(b"\n", 0, pos) + 1, label))
    return hits


class Secrets(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.standin = harness.Standin(tls=True).start()
        cls.standin.query("CREATE DATABASE IF NOT EXISTS test_secrets")
        cls.standin.query("CREATE TABLE IF NOT EXISTS test_secrets.sx (id INT PRIMARY KEY)")
        cls.text_gate = harness.Ghostgate(cls.standin, name="trace-text", log_level="trace")
        # This one checks root's and tester's logins itself (client-auth.users): the hashes,
        # SHA1(password) and the proofs it computes must not reach a log either.
        users = [{"user": u, "password-hash": "*" + hashlib.sha1(hashlib.sha1(
                  pw.encode()).digest()).hexdigest().upper()}
                 for u, pw in ((harness.ROOT_USER, harness.ROOT_PASSWORD),
                               (harness.TEST_USER, harness.TEST_PASSWORD))]
        cls.json_gate = harness.Ghostgate(cls.standin, name="trace-json", log_level="trace",
                                          client_tls=True,
                                          extra={"log": {"format": "json"},
                                                 "client-auth": {"users": users}})
        cls.text_gate.start()
        cls.json_gate.start()
        cls.target = harness.Target(cls.standin, cls.text_gate)
        cls.proofs = []  # scrambles and auth responses seen by the raw clients

    @classmethod
    def tearDownClass(cls):
        for g in (cls.text_gate, cls.json_gate):
            g.stop()
        cls.standin.stop()
        super().tearDownClass()  # the harness's checks (sanitizer reports)

    # ---- the session full of secrets

    def raw(self, gate):
        return RawClient(gate.host, gate.port)

    def keep_proofs(self, c):
        self.proofs.append(c.scramble)
        self.proofs.extend(a for a in c.auth_responses if a)

    def wrong_logins(self, gate):
        for user, password in ((harness.ROOT_USER, SESSION_PASSWORDS["wrong password"]),
                               (harness.TEST_USER, harness.ROOT_PASSWORD),
                               (harness.GATE_USER, harness.TEST_PASSWORD),
                               ("nobody", harness.GATE_PASSWORD),
                               (harness.ROOT_USER, "")):
            for kw in ({}, {"database": "test_secrets"}):
                with self.assertRaises(pymysql.err.OperationalError) as cm:
                    gate.connect(user=user, password=password, **kw)
                self.assertIn(cm.exception.args[0], (1044, 1045), cm.exception)
            c = self.raw(gate)
            with self.assertRaises(ServerError):
                c.login(user, password)
            self.keep_proofs(c)
            c.sock.close()

    def exercise(self, gate, **kw):
        """Everything that handles a secret, through `gate`."""
        self.wrong_logins(gate)
        for user in (harness.ROOT_USER, harness.TEST_USER):
            conn = gate.connect(user=user, database="test_secrets", **kw)
            with conn.cursor() as cur:
                cur.execute("SELECT CURRENT_USER()")
            conn.close()
        # COM_CHANGE_USER, right and wrong, over the scramble of the greeting.
        c = self.raw(gate)
        c.login(harness.ROOT_USER, harness.ROOT_PASSWORD)
        c.change_user(harness.TEST_USER, harness.TEST_PASSWORD, "test_secrets")
        self.assertEqual(c.scalar("SELECT CURRENT_USER()"), f"{harness.TEST_USER}@%")
        self.keep_proofs(c)
        c.close()
        c = self.raw(gate)
        c.login(harness.TEST_USER, harness.TEST_PASSWORD)
        with self.assertRaises(ServerError):
            c.change_user(harness.ROOT_USER, SESSION_PASSWORDS["wrong password"])
        self.keep_proofs(c)
        c.sock.close()

    def account_statements(self, gate):
        p = SESSION_PASSWORDS
        account = f"'{SECRET_USER}'@'%'"
        conn = gate.connect(database="test_secrets", autocommit=True,
                            client_flag=CLIENT.MULTI_STATEMENTS)
        with conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS {account}")
            cur.execute(f"CREATE USER {account} IDENTIFIED BY '{p['CREATE USER']}'")
            cur.execute(f"ALTER USER {account} IDENTIFIED BY '{p['ALTER USER']}'")
            cur.execute(f"SET PASSWORD FOR {account} = PASSWORD('{p['SET PASSWORD']}')")
            cur.execute(f"GRANT SELECT ON test_secrets.* TO {account} "
                        f"IDENTIFIED BY '{p['GRANT IDENTIFIED BY']}'")
            with self.assertRaises(pymysql.err.MySQLError):
                cur.execute(f"CREATE USER {account} IDENTIFIED BY '{p['failing CREATE USER']}'")
            # The server's error message quotes the statement from the error on: the password.
            with self.assertRaises(pymysql.err.MySQLError) as cm:
                cur.execute(f"ALTER USER {account} IDENTIFIED BY BY '{p['syntax error']}'")
            self.assertIn(p["syntax error"], cm.exception.args[1])  # the client does see it
            # Next to a suppressed gh-ost statement the batch is split and run piece by piece.
            cur.execute(f"CREATE TABLE _sx_gho LIKE sx; "
                        f"ALTER USER {account} IDENTIFIED BY '{p['multi-statement batch']}'")
            while cur.nextset():
                pass
        conn.close()
        c = self.raw(gate)
        c.login(harness.ROOT_USER, harness.ROOT_PASSWORD, "test_secrets",
                caps=BASE_CAPS | CAP_MULTI_STATEMENTS)
        # MariaDB prepares ALTER USER: it must work through ghostgate, password and all.
        stmt, _, _ = c.prepare(f"ALTER USER {account} IDENTIFIED BY '{p['prepared ALTER USER']}'")
        c.execute(stmt)
        self.assertEqual(c.read_binary_rows()[0], "ok")
        probe = self.raw(gate)
        probe.login(SECRET_USER, p["prepared ALTER USER"])
        self.keep_proofs(probe)
        probe.close()
        c.query(f"ALTER USER {account} IDENTIFIED BY '{p['final']}'")
        self.keep_proofs(c)
        c.close()
        # The new account logs in through ghostgate, rightly and wrongly.
        conn = gate.connect(user=SECRET_USER, password=p["final"], database="test_secrets")
        conn.close()
        c = self.raw(gate)
        c.login(SECRET_USER, p["final"])
        self.keep_proofs(c)
        c.close()
        with self.assertRaises(pymysql.err.OperationalError):
            gate.connect(user=SECRET_USER, password=p["wrong password"])

    def check_config_output(self, gate):
        r = subprocess.run([harness.ghostgate_binary(), "--check-config", gate.config_path],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = os.path.join(gate.dir, "check-config.out")
        with open(out, "wb") as f:
            f.write(r.stdout + r.stderr)
        self.assertIn(b"password", r.stdout)  # the key is shown, its value masked
        return out

    def needles(self):
        out = []
        for name, pw in {**HARNESS_PASSWORDS, **{f"password for {k}": v
                                                 for k, v in SESSION_PASSWORDS.items()}}.items():
            out += encodings(name, pw)
        for name, prefix in PREFIXES.items():
            out.append((f"{name} (raw)", prefix.encode()))
        for i, proof in enumerate(p for p in self.proofs if p):
            out += encodings(f"scramble or auth response #{i}", proof)
        with open(self.standin.certs["key"]) as f:
            key_lines = [line.strip() for line in f if line.strip() and "-----" not in line]
        out.append(("TLS private key", key_lines[len(key_lines) // 2].encode()))
        return out

    def test_1_scanner_finds_what_it_looks_for(self):
        # The search itself works: every encoding of a planted secret is found.
        d = harness.make_tmp_dir("ghostgate-secrets-selftest-")
        planted = encodings("planted", "Pl4nted-secret") + encodings("proof", os.urandom(20))
        path = os.path.join(d, "planted.log")
        with open(path, "wb") as f:
            for label, needle in planted:
                f.write(b"2026-01-01T00:00:00Z info [conn 1] x=" + needle + b"\n")
        self.assertEqual(sorted(h[2] for h in scan(log_files([d]), planted)),
                         sorted(label for label, _ in planted))
        self.assertEqual(scan(log_files([d]), encodings("absent", "n0t-there")), [])

    def test_2_trace_session_leaks_nothing(self):
        self.exercise(self.text_gate)
        self.exercise(self.json_gate, ssl={"ca": self.json_gate.certs["ca"]})
        self.account_statements(self.text_gate)
        self.account_statements(self.json_gate)
        checked = [self.check_config_output(g) for g in (self.text_gate, self.json_gate)]
        for g in (self.text_gate, self.json_gate):
            g.stop()  # flushes the log files
        try:
            logs = [g.log_file for g in (self.text_gate, self.json_gate)]
            for path in logs:
                with open(path, "rb") as f:
                    text = f.read()
                # The logs did see the session: trace level, refused logins, suppressions.
                self.assertIn(b"login refused by backend", text, path)
                self.assertIn(b"online-ddl", text, path)
                self.assertGreater(len(text), 2000, path)
            with open(self.json_gate.log_file, "rb") as f:  # it did check logins itself
                self.assertIn(b"does not match client-auth.users", f.read())
            self.assertGreater(len(self.proofs), 20)
            files = log_files([self.standin.dir, self.text_gate.dir, self.json_gate.dir]) + checked
            hits = scan(files, self.needles())
            self.assertEqual(hits, [], "secrets in the logs of the trace session")
        finally:
            self.text_gate.start()
            self.json_gate.start()

    def test_3_suite_logs_leak_nothing(self):
        roots = [r for r in os.environ.get("GHOSTGATE_SECRETS_SCAN", "").split(":") if r]
        if not roots and os.environ.get("GHOSTGATE_TEST_TMP"):
            roots = [os.path.join(os.environ["GHOSTGATE_TEST_TMP"], d)
                     for d in os.listdir(os.environ["GHOSTGATE_TEST_TMP"])
                     if d.startswith("ghostgate-it-")]
        roots.append(harness.session_dir())
        files = log_files([r for r in roots if os.path.exists(r)])
        ghostgate_logs = [f for f in files if f.endswith("ghostgate.log")]
        sys.stderr.write(f"\nsecrets: scanning {len(files)} log files "
                         f"({len(ghostgate_logs)} ghostgate logs) under {roots}\n")
        self.assertTrue(ghostgate_logs, "no ghostgate log found to scan")
        hits = scan(files, self.needles())
        self.assertEqual(hits, [], "secrets in the suite's logs")
        if os.environ.get("GHOSTGATE_SECRETS_PRUNE") == "1":
            for root in roots:
                self.prune_datadirs(root)

    @staticmethod
    def prune_datadirs(root):
        """Deletes MariaDB datadirs under kept temp dirs (they dwarf the logs); not the shared
        template, not this process's own (its stand-in is running)."""
        own = os.path.realpath(harness.session_dir())
        if not os.path.isdir(root) or os.path.realpath(root) == own:
            return
        for d, dirs, _ in os.walk(root):
            if os.path.realpath(d) == own or os.path.basename(d).startswith(
                    ("ghostgate-standin-template-", "ghostgate-template-build-")):
                dirs[:] = []
                continue
            if "data" in dirs and os.path.exists(os.path.join(d, "data", "ibdata1")):
                shutil.rmtree(os.path.join(d, "data"), ignore_errors=True)
                dirs.remove("data")


if __name__ == "__main__":
    harness.main(ghostgate_only=True)
