#!/usr/bin/python3
"""Transparent proxy, caching_sha2_password end to end: ghostgate in front of a fake MySQL 8
server (tests/harness/fake_mysql.py), because the MariaDB stand-in has no caching_sha2_password
server plugin and production's backend (TiDB) authenticates with it.

Each test starts its own fake and its own ghostgate (one worker, so consecutive clients share
one pool, and online DDL off: the fake answers only a few queries). ghostgate's own account
(backend.user, for health checks) is a caching_sha2_password account on the fake too.

What the cases prove, from the fake's records of every login (phase, path, switch, key request):
  * client TLS, backend plain, first login: the client sends its password in clear over TLS and
    ghostgate itself fetches the fake's RSA key and sends it encrypted (full-rsa), on a fresh
    connection and inside the COM_CHANGE_USER of a pooled one (over the nonce of the fake's
    auth switch), and inside a client's own COM_CHANGE_USER (libmariadb through ctypes);
  * client plain, backend plain, first login: the client's own public-key request is relayed
    (pymysql and the mariadb CLI);
  * a second login of the same user on the pooled connection: COM_CHANGE_USER, the fake's auth
    switch (MySQL 8 always sends one there) and fast authentication from its cache;
  * a wrong password: the fake's ERR 1045 reaches the client unchanged, at connect and on a
    pooled connection (which is then closed, never pooled again);
  * a mysql_native_password user after a caching_sha2_password one on the same pooled
    connection (the fake switches the plugin), and back;
  * backend TLS (backend.tls.mode required) and a plain client: full authentication must end
    with the password in clear over ghostgate's TLS link to the backend (full-tls). A known
    ghostgate bug (marked expected failure): it relays the client's public-key request (0x02)
    to the TLS backend, which, as MySQL 8 does on a secure link, takes it for the password.

Clients: pymysql (its 1.0.2 computes the fast-auth proof after an auth switch over the nonce
with its trailing NUL, so against MySQL 8, and the fake, it always falls back to full
authentication there: the fast case uses the mariadb CLI), the mariadb CLI, and libmariadb via
ctypes for a client's own COM_CHANGE_USER.

These tests are about ghostgate's relay: they always run through it. In direct mode the relay
cases error out (nothing is skipped; a skip would fail the run anyway); the checks of the fake
itself against the same clients (FakeServer) run in both modes, -k FakeServer selects them alone.

    GHOSTGATE_BIN=build/ghostgate /usr/bin/python3 tests/integration/test_caching_sha2.py
"""

import ctypes
import os
import re
import ssl
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import harness  # noqa: E402
import fake_mysql  # noqa: E402
from fake_mysql import CACHING_SHA2, NATIVE  # noqa: E402
import pymysql  # noqa: E402

# Passwords longer than the 20-byte nonce, so the RSA path's XOR wraps around it.
ALICE = ("gg_sha2_alice", "Alice-sha2-password-0f3c-longer-than-20")
CAROL = ("gg_sha2_carol", "Carol-sha2-password-9b1d-longer-than-20")
BOB = ("gg_native_bob", "Bob-native-password-55e2")
WRONG = "Not-the-password-c0d7"

PLUGIN_DIR = "/usr/lib/x86_64-linux-gnu/libmariadb3/plugin"


def make_fake(tls=False):
    fake = fake_mysql.FakeMySQL(tls=tls)
    fake.add_account(*ALICE, default=True)
    fake.add_account(*CAROL)
    fake.add_account(*BOB, plugin=NATIVE)
    fake.add_account(harness.GATE_USER, harness.GATE_PASSWORD)
    return fake.start()


def query(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def whoami(conn):
    """(CURRENT_USER(), CONNECTION_ID()) as the backend says."""
    user = query(conn, "SELECT CURRENT_USER()")[0][0]
    return user, int(query(conn, "SELECT CONNECTION_ID()")[0][0])


class Both:
    """The fake and the ghostgate in front of it, for harness.TestCase's log dump on failure."""

    def __init__(self, fake, gate=None):
        self.fake = fake
        self.gate = gate

    def logs(self):
        out = self.fake.logs()
        out += "\n--- fake's login records\n" + "\n".join(map(repr, self.fake.auths()))
        if self.gate:
            out += "\n" + self.gate.logs(150)
        return out


class Case(harness.TestCase):
    """One fake (+ one ghostgate) per test."""

    CLIENT_TLS = False   # ghostgate offers TLS to clients
    BACKEND_TLS = False  # the fake serves TLS and ghostgate requires it (backend.tls.mode)
    GATE = True

    def setUp(self):
        # Decided here, not at import: harness.main() reads --direct after this file is loaded.
        if self.GATE and harness.mode() != harness.MODE_GHOSTGATE:
            raise harness.HarnessError("about ghostgate's relay; run it through ghostgate")
        self.certs = harness.make_certs()
        self.fake = make_fake(tls=self.BACKEND_TLS)
        self.gate = None
        if self.GATE:
            self.gate = harness.Ghostgate(
                self.fake, name="ghostgate-sha2", client_tls=self.CLIENT_TLS,
                backend_tls="required" if self.BACKEND_TLS else None, workers=1,
                pool={"max-connections": 6, "max-idle": 6}, extra={"online-ddl": False})
            self.gate.start()
        self.target = Both(self.fake, self.gate)

    def tearDown(self):
        if self.gate:
            self.gate.stop()
        self.fake.stop()

    # ---- clients

    @property
    def server(self):
        return self.gate or self.fake

    def connect(self, account, password=None, tls=False):
        """pymysql; tls=True insists on TLS to ghostgate (or the fake)."""
        user, pw = account
        kw = {"ssl": {"ca": self.certs["ca"]}} if tls else {}
        conn = pymysql.connect(host=self.server.host, port=self.server.port, user=user,
                               password=pw if password is None else password, connect_timeout=10,
                               read_timeout=30, write_timeout=30, **kw)
        self.assertEqual(isinstance(conn._sock, ssl.SSLSocket), tls, "client link TLS state")
        return conn

    def cli(self, account, password=None, tls=False,
            sql="SELECT CURRENT_USER(); SELECT CONNECTION_ID()"):
        """The mariadb CLI; returns (returncode, stdout lines, stderr)."""
        user, pw = account
        args = ["mariadb", "--no-defaults", f"--plugin-dir={PLUGIN_DIR}", "-h", self.server.host,
                "-P", str(self.server.port), "-u", user,
                f"--password={pw if password is None else password}", "-N", "-B", "-e", sql]
        args += ["--ssl", f"--ssl-ca={self.certs['ca']}"] if tls else ["--skip-ssl"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout.split(), r.stderr.strip()

    def cli_whoami(self, account, tls=False):
        rc, out, err = self.cli(account, tls=tls)
        self.assertEqual(rc, 0, f"mariadb CLI failed: {err}")
        return out[0], int(out[1])

    # ---- ghostgate's pool

    def idle_backend_connections(self):
        url = f"http://{self.gate.host}:{self.gate.admin_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            body = r.read().decode()
        m = re.search(r"^ghostgate_backend_connections_idle (\d+)", body, re.M)
        return int(m.group(1)) if m else 0

    def wait_pooled(self, n=1):
        """Waits until the last client's backend connection is back in the pool."""
        harness.wait_until(lambda: self.idle_backend_connections() >= n, 10,
                           what=f"{n} idle backend connection(s)")

    # ---- the fake's records

    def only_auth(self, user, **expected):
        got = self.fake.auths(user=user)
        self.assertEqual(len(got), 1, f"logins of {user}: {got}")
        self.assert_auth(got[0], **expected)
        return got[0]

    def assert_auth(self, auth, **expected):
        actual = {k: getattr(auth, k) for k in expected}
        self.assertEqual(actual, expected, repr(auth))

    def assert_no_protocol_errors(self):
        self.assertEqual(self.fake.protocol_errors(), [])


# ============================================================================================
# The fake itself against the real clients (no ghostgate): the cases below rely on it.

class FakeServer(Case):
    BACKEND_TLS = True  # offers TLS; clients choose
    GATE = False

    def test_full_auth_rsa_then_fast_pymysql(self):
        conn = self.connect(ALICE)
        self.assertEqual(whoami(conn)[0], f"{ALICE[0]}@%")
        conn.close()
        self.connect(ALICE).close()
        first, second = self.fake.auths(user=ALICE[0])
        self.assert_auth(first, phase="connect", path="full-rsa", key_requested=True, ok=True)
        self.assert_auth(second, phase="connect", path="fast", switched=False, ok=True)
        self.assert_no_protocol_errors()

    def test_full_auth_tls_and_wrong_passwords(self):
        conn = self.connect(ALICE, tls=True)
        self.assertEqual(whoami(conn)[0], f"{ALICE[0]}@%")
        conn.close()
        for account in (ALICE, BOB):
            with self.assertRaises(pymysql.err.OperationalError) as cm:
                self.connect(account, password=WRONG)
            self.assertEqual(cm.exception.args[0], 1045)
        auths = self.fake.auths()
        self.assert_auth(auths[0], path="full-tls", tls=True, ok=True)
        self.assert_auth(auths[1], path="full-rsa", ok=False)
        self.assert_auth(auths[2], path="native", switched=True, ok=False)
        self.assertEqual(cm.exception.args[1], auths[2].error[2])

    def test_native_switch_and_mariadb_cli(self):
        conn = self.connect(BOB)
        self.assertEqual(whoami(conn)[0], f"{BOB[0]}@%")
        conn.close()
        self.only_auth(BOB[0], path="native", switched=True, switch_plugin=NATIVE,
                       client_plugin=CACHING_SHA2, ok=True)
        for tls in (False, True):
            self.fake.flush_cache()
            self.assertEqual(self.cli_whoami(CAROL, tls=tls)[0], f"{CAROL[0]}@%")
            self.assertEqual(self.cli_whoami(CAROL, tls=tls)[0], f"{CAROL[0]}@%")
        paths = [(a.path, a.tls) for a in self.fake.auths(user=CAROL[0])]
        self.assertEqual(paths, [("full-rsa", False), ("fast", False), ("full-tls", True),
                                 ("fast", True)])
        self.assert_no_protocol_errors()

    def test_change_user_by_libmariadb(self):
        c = CApiClient(self.fake.host, self.fake.port)
        try:
            c.connect(ALICE)
            c.change_user(BOB)
            self.assertEqual(c.scalar("SELECT CURRENT_USER()"), f"{BOB[0]}@%")
            c.change_user(ALICE)  # cached by the first login: fast
            self.assertEqual(c.scalar("SELECT CURRENT_USER()"), f"{ALICE[0]}@%")
            self.assertEqual(c.change_user(ALICE, WRONG)[0], 1045)
        finally:
            c.close()
        auths = self.fake.auths()
        self.assert_auth(auths[0], phase="connect", path="full-rsa", ok=True)
        self.assert_auth(auths[1], phase="change_user", switch_plugin=NATIVE, path="native",
                         ok=True)
        self.assert_auth(auths[2], phase="change_user", switch_plugin=CACHING_SHA2, path="fast",
                         ok=True)
        self.assert_auth(auths[3], phase="change_user", path="full-rsa", ok=False)
        self.assert_no_protocol_errors()


# ============================================================================================
# Through ghostgate

class ClientPlainBackendPlain(Case):

    def test_first_login_client_requests_public_key(self):
        conn = self.connect(ALICE)
        self.assertEqual(whoami(conn)[0], f"{ALICE[0]}@%")
        # While that connection is busy, the CLI's first login gets a fresh one too.
        self.assertEqual(self.cli_whoami(CAROL)[0], f"{CAROL[0]}@%")
        conn.close()
        for account in (ALICE, CAROL):
            self.only_auth(account[0], phase="connect", path="full-rsa", key_requested=True,
                           tls=False, switched=False, ok=True)
        self.assertLessEqual({ALICE[0], CAROL[0]}, set(self.fake.cached_users()))
        self.assert_no_protocol_errors()

    def test_second_login_fast_auth_on_pooled_connection(self):
        # The same client program twice, so the same capabilities: the pooled connection fits.
        user, first_id = self.cli_whoami(ALICE)
        self.assertEqual(user, f"{ALICE[0]}@%")
        self.wait_pooled()
        user, second_id = self.cli_whoami(ALICE)
        self.assertEqual(user, f"{ALICE[0]}@%")
        self.assertEqual(second_id, first_id, "the second login did not reuse the pooled "
                         "backend connection")
        first, second = self.fake.auths(user=ALICE[0])
        self.assert_auth(first, phase="connect", path="full-rsa", key_requested=True, ok=True,
                         conn_id=first_id)
        self.assert_auth(second, phase="change_user", switched=True,
                         switch_plugin=CACHING_SHA2, path="fast", key_requested=False, ok=True,
                         conn_id=first_id)
        self.assertIn("change_user", self.fake.connection(first_id).commands)
        self.assert_no_protocol_errors()

    def test_second_login_with_other_capabilities_fast_on_fresh_connection(self):
        # pymysql first; the CLI asks for other session flags (multi-statements), so ghostgate
        # opens a fresh connection and switches the client to its nonce itself.
        conn = self.connect(ALICE)
        _, first_id = whoami(conn)
        conn.close()
        self.wait_pooled()
        user, second_id = self.cli_whoami(ALICE)
        self.assertEqual(user, f"{ALICE[0]}@%")
        self.assertNotEqual(second_id, first_id)
        self.assert_auth(self.fake.auths(user=ALICE[0])[-1], phase="connect", conn_id=second_id,
                         switched=False, path="fast", ok=True)
        self.assert_no_protocol_errors()

    def test_wrong_password_gets_the_backends_1045(self):
        # At connect (a fresh backend connection).
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            self.connect(ALICE, password=WRONG)
        refused = self.only_auth(ALICE[0], phase="connect", ok=False)
        self.assertEqual(refused.error[0], 1045)
        self.assertEqual(cm.exception.args, (1045, refused.error[2]))

        # On a pooled connection (COM_CHANGE_USER).
        conn = self.connect(CAROL)
        _, pooled_id = whoami(conn)
        conn.close()
        self.wait_pooled()
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            self.connect(CAROL, password=WRONG)
        refused = self.fake.auths(user=CAROL[0])[-1]
        self.assert_auth(refused, phase="change_user", conn_id=pooled_id, ok=False)
        self.assertEqual(cm.exception.args, (1045, refused.error[2]))
        rc, _, err = self.cli(ALICE, password=WRONG)
        self.assertEqual(rc, 1)
        self.assertIn(f"ERROR 1045 (28000): {self.fake.auths(user=ALICE[0])[-1].error[2]}", err)

        # The connection whose COM_CHANGE_USER failed is closed, never handed out again.
        harness.wait_until(lambda: self.fake.connection(pooled_id).closed, 10,
                           what="the refused pooled connection closed")
        conn = self.connect(CAROL)
        user, conn_id = whoami(conn)
        conn.close()
        self.assertEqual(user, f"{CAROL[0]}@%")
        self.assertNotEqual(conn_id, pooled_id)
        self.assert_no_protocol_errors()

    def test_native_user_after_caching_sha2_user_on_pooled_connection(self):
        conn = self.connect(ALICE)
        _, pooled_id = whoami(conn)
        conn.close()
        self.wait_pooled()
        conn = self.connect(BOB)
        self.assertEqual(whoami(conn), (f"{BOB[0]}@%", pooled_id))
        conn.close()
        self.only_auth(BOB[0], phase="change_user", conn_id=pooled_id, account_plugin=NATIVE,
                       client_plugin=CACHING_SHA2, switched=True, switch_plugin=NATIVE,
                       path="native", ok=True)
        # And back to caching_sha2_password on the same connection (full authentication:
        # pymysql's fast-auth proof after an auth switch is wrong, see the docstring).
        self.wait_pooled()
        conn = self.connect(ALICE)
        self.assertEqual(whoami(conn), (f"{ALICE[0]}@%", pooled_id))
        conn.close()
        self.assert_auth(self.fake.auths(user=ALICE[0])[-1], phase="change_user",
                         switch_plugin=CACHING_SHA2, path="full-rsa", key_requested=True, ok=True)
        self.assert_no_protocol_errors()


class ClientTlsBackendPlain(Case):
    CLIENT_TLS = True

    def test_first_login_full_auth_ghostgate_does_rsa(self):
        conn = self.connect(ALICE, tls=True)
        self.assertEqual(whoami(conn)[0], f"{ALICE[0]}@%")
        conn.close()
        # The fake never saw the password in clear on its plain link: it got the RSA ciphertext
        # after sending its key to ghostgate (the client, on TLS, sent no key request).
        self.only_auth(ALICE[0], phase="connect", tls=False, path="full-rsa",
                       key_requested=True, ok=True)
        self.assertIn(ALICE[0], self.fake.cached_users())
        self.assert_no_protocol_errors()

    def test_full_auth_on_pooled_connection_ghostgate_does_rsa(self):
        conn = self.connect(ALICE, tls=True)
        _, pooled_id = whoami(conn)
        conn.close()
        self.wait_pooled()
        self.fake.flush_cache()  # full authentication again, now inside COM_CHANGE_USER
        conn = self.connect(ALICE, tls=True)
        self.assertEqual(whoami(conn), (f"{ALICE[0]}@%", pooled_id))
        conn.close()
        # The RSA step used the nonce of the fake's auth switch, not the greeting's.
        self.assert_auth(self.fake.auths(user=ALICE[0])[-1], phase="change_user",
                         conn_id=pooled_id, switched=True, path="full-rsa",
                         key_requested=True, ok=True)
        self.assert_no_protocol_errors()

    def test_client_change_user_over_tls(self):
        """COM_CHANGE_USER sent by the client itself (libmariadb's mysql_change_user)."""
        c = CApiClient(self.gate.host, self.gate.port, ca=self.certs["ca"])
        try:
            c.connect(BOB)
            self.assertTrue(c.tls_cipher(), "libmariadb did not use TLS")
            self.assertEqual(c.scalar("SELECT CURRENT_USER()"), f"{BOB[0]}@%")
            conn_id = c.scalar("SELECT CONNECTION_ID()")
            self.assertEqual(c.change_user(CAROL), (0, ""))
            self.assertEqual(c.scalar("SELECT CURRENT_USER()"), f"{CAROL[0]}@%")
            self.assertEqual(c.change_user(CAROL), (0, ""))
            self.assertEqual(c.scalar("SELECT CONNECTION_ID()"), conn_id)
        finally:
            c.close()
        first, second = self.fake.auths(user=CAROL[0])
        self.assert_auth(first, phase="change_user", conn_id=int(conn_id), tls=False,
                         path="full-rsa", key_requested=True, ok=True)
        self.assert_auth(second, phase="change_user", path="fast", ok=True)
        self.assert_no_protocol_errors()


class BackendTls(Case):
    CLIENT_TLS = True  # offered to clients, not required
    BACKEND_TLS = True

    def test_ghostgate_account_and_tls_client_full_auth_in_clear_over_tls(self):
        harness.wait_until(lambda: self.fake.auths(user=harness.GATE_USER), 10,
                           what="ghostgate's own login (health check)")
        self.assert_auth(self.fake.auths(user=harness.GATE_USER)[0], tls=True, path="full-tls",
                         ok=True)
        conn = self.connect(ALICE, tls=True)
        self.assertEqual(whoami(conn)[0], f"{ALICE[0]}@%")
        conn.close()
        self.only_auth(ALICE[0], phase="connect", tls=True, path="full-tls",
                       key_requested=False, ok=True)
        self.assert_no_protocol_errors()

    def test_plain_client_fast_auth_over_backend_tls(self):
        _, pooled_id = self.cli_whoami(ALICE, tls=True)  # full-tls: fills the fake's cache
        self.wait_pooled()
        self.assertEqual(self.cli_whoami(ALICE, tls=False), (f"{ALICE[0]}@%", pooled_id))
        first, second = self.fake.auths(user=ALICE[0])
        self.assert_auth(first, phase="connect", tls=True, path="full-tls", ok=True)
        self.assert_auth(second, phase="change_user", tls=True, path="fast", ok=True)
        self.assert_no_protocol_errors()

    def test_plain_client_full_auth_in_clear_over_backend_tls(self):
        # The client's link is plain, so it asks for the public key; the backend's link is
        # TLS, where the server wants the password in clear (TiDB has no key exchange at all).
        # ghostgate bridges the two: its own RSA key for the client, the decrypted password in
        # clear to the backend over TLS. Forwarding the client's 0x02 instead gets 1045.
        conn = self.connect(ALICE, tls=False)
        self.assertEqual(whoami(conn)[0], f"{ALICE[0]}@%")
        conn.close()
        self.only_auth(ALICE[0], phase="connect", tls=True, path="full-tls", ok=True)
        self.assertEqual(self.cli_whoami(CAROL, tls=False)[0], f"{CAROL[0]}@%")
        self.only_auth(CAROL[0], tls=True, path="full-tls", ok=True)


# ============================================================================================
# libmariadb through ctypes: the one client here that sends COM_CHANGE_USER itself.

class CApiClient:
    MYSQL_PLUGIN_DIR = 16

    def __init__(self, host, port, ca=None):
        lib = ctypes.CDLL("libmariadb.so.3")
        vp, cp = ctypes.c_void_p, ctypes.c_char_p
        for name, res, args in (
                ("mysql_init", vp, [vp]),
                ("mysql_options", ctypes.c_int, [vp, ctypes.c_int, vp]),
                ("mysql_ssl_set", ctypes.c_char, [vp, cp, cp, cp, cp, cp]),
                ("mysql_real_connect", vp, [vp, cp, cp, cp, cp, ctypes.c_uint, cp,
                                            ctypes.c_ulong]),
                ("mysql_change_user", ctypes.c_char, [vp, cp, cp, cp]),
                ("mysql_errno", ctypes.c_uint, [vp]),
                ("mysql_error", cp, [vp]),
                ("mysql_get_ssl_cipher", cp, [vp]),
                ("mysql_query", ctypes.c_int, [vp, cp]),
                ("mysql_store_result", vp, [vp]),
                ("mysql_fetch_row", ctypes.POINTER(cp), [vp]),
                ("mysql_free_result", None, [vp]),
                ("mysql_close", None, [vp])):
            f = getattr(lib, name)
            f.restype, f.argtypes = res, args
        self.lib = lib
        self.host, self.port = host, port
        self.m = lib.mysql_init(None)
        lib.mysql_options(self.m, self.MYSQL_PLUGIN_DIR, ctypes.c_char_p(PLUGIN_DIR.encode()))
        if ca:
            lib.mysql_ssl_set(self.m, None, None, ca.encode(), None, None)

    def error(self):
        return self.lib.mysql_errno(self.m), (self.lib.mysql_error(self.m) or b"").decode()

    def connect(self, account):
        user, pw = account
        if not self.lib.mysql_real_connect(self.m, self.host.encode(), user.encode(),
                                           pw.encode(), None, self.port, None, 0):
            raise AssertionError(f"libmariadb connect as {user} failed: {self.error()}")

    def change_user(self, account, password=None):
        """(errno, message) after mysql_change_user; (0, "") on success."""
        user, pw = account
        pw = pw if password is None else password
        self.lib.mysql_change_user(self.m, user.encode(), pw.encode(), None)
        return self.error()

    def tls_cipher(self):
        return self.lib.mysql_get_ssl_cipher(self.m)

    def scalar(self, sql):
        if self.lib.mysql_query(self.m, sql.encode()):
            raise AssertionError(f"{sql}: {self.error()}")
        res = self.lib.mysql_store_result(self.m)
        try:
            return self.lib.mysql_fetch_row(res)[0].decode()
        finally:
            self.lib.mysql_free_result(res)

    def close(self):
        if self.m:
            self.lib.mysql_close(self.m)
            self.m = None


if __name__ == "__main__":
    harness.main()
