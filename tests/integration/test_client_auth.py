#!/usr/bin/python3
"""client-auth.users: accounts ghostgate checks itself (mysql_native_password).

A listed account's proof over ghostgate's own scramble is checked against the configured hash;
the backend connection (new, or pooled and switched with COM_CHANGE_USER) is then logged in with
proofs ghostgate computes, so the client never sees a second exchange. The backend still checks
every login. Accounts not listed go to the backend as before.

    /usr/bin/python3 tests/integration/test_client_auth.py
"""

import hashlib
import os
import re
import signal
import socket
import ssl
import struct
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import harness  # noqa: E402
import pymysql  # noqa: E402

NOPW_USER = "nopw"
OTHER_USER = "other"
OTHER_PASSWORD = "otherpw"


def native_hash(password):
    """mysql.user's authentication_string for a mysql_native_password password."""
    if not password:
        return ""
    return "*" + hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest().upper()


def native_proof(password, scramble):
    if not password:
        return b""
    s1 = hashlib.sha1(password.encode()).digest()
    s3 = hashlib.sha1(scramble + hashlib.sha1(s1).digest()).digest()
    return bytes(a ^ b for a, b in zip(s1, s3))


CAP_LONG_PASSWORD = 1
CAP_CONNECT_WITH_DB = 8
CAP_PROTOCOL_41 = 0x200
CAP_SSL = 0x800
CAP_TRANSACTIONS = 0x2000
CAP_SECURE_CONNECTION = 0x8000
CAP_PLUGIN_AUTH = 0x80000


class WireClient:
    """A client that speaks the login by hand and records every packet of it: whether ghostgate
    asked for a second proof (an auth switch) is what these tests look at."""

    def __init__(self, port, user, password, database=None, plugin="mysql_native_password",
                 proof=None, use_tls=False, plugin_auth=True):
        self.sock = socket.create_connection(("127.0.0.1", port), 10)
        self.sock.settimeout(10)
        self.seq = 0
        self.login_packets = []  # first byte of every packet the server sent after the greeting
        greeting = self.read()
        assert greeting[0] == 10, greeting[:20]
        end = greeting.index(b"\0", 1)
        p = end + 1 + 4
        scramble = greeting[p:p + 8]
        p += 8 + 1
        caps_low = struct.unpack_from("<H", greeting, p)[0]
        p += 2 + 1 + 2
        caps_high = struct.unpack_from("<H", greeting, p)[0]
        p += 2 + 1 + 10
        scramble += greeting[p:p + 12]
        self.greeting_scramble = scramble
        self.server_caps = caps_low | caps_high << 16
        caps = CAP_LONG_PASSWORD | CAP_PROTOCOL_41 | CAP_TRANSACTIONS | CAP_SECURE_CONNECTION
        if plugin_auth:
            caps |= CAP_PLUGIN_AUTH
        if database:
            caps |= CAP_CONNECT_WITH_DB
        if use_tls:
            caps |= CAP_SSL
            self.write(struct.pack("<IIB23x", caps, 1 << 30, 45))
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.sock = ctx.wrap_socket(self.sock)
        if proof is None:
            proof = native_proof(password, scramble)
        body = struct.pack("<IIB23x", caps, 1 << 30, 45) + user.encode() + b"\0"
        body += bytes([len(proof)]) + proof
        if database:
            body += database.encode() + b"\0"
        if plugin_auth:
            body += plugin.encode() + b"\0"
        self.write(body)
        self.result = self._finish_login(password)

    def _finish_login(self, password):
        while True:
            p = self.read()
            self.login_packets.append(p[0])
            if p[0] == 0x00:
                return "ok"
            if p[0] == 0xFF:
                code = struct.unpack_from("<H", p, 1)[0]
                self.error = (code, p[9:].decode(errors="replace"))
                return "err"
            if p[0] == 0xFE:
                end = p.index(b"\0", 1)
                self.switch_plugin = p[1:end].decode()
                scramble = p[end + 1:end + 21]
                self.switch_scramble = scramble
                self.write(native_proof(password, scramble))
                continue
            raise AssertionError(f"unexpected login packet {p[:20]!r}")

    def read(self):
        head = self._exact(4)
        n = head[0] | head[1] << 8 | head[2] << 16
        self.seq = (head[3] + 1) & 0xFF
        return self._exact(n)

    def _exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def write(self, payload):
        self.sock.sendall(struct.pack("<I", len(payload))[:3] + bytes([self.seq]) + payload)
        self.seq = (self.seq + 1) & 0xFF

    def query_scalar(self, sql):
        self.seq = 0
        self.write(b"\x03" + sql.encode())
        first = self.read()
        if first[0] == 0xFF:
            raise AssertionError(first[9:].decode(errors="replace"))
        self.read()  # column definition
        p = self.read()
        if p[0] == 0xFE and len(p) < 9:  # EOF after the columns
            p = self.read()
        value = None if p[0] == 0xFB else p[1:1 + p[0]].decode()
        self.read()  # EOF / OK
        return value

    def change_user(self, user, password, database="", resend_first_proof=False):
        """COM_CHANGE_USER with a proof over the scramble this client last saw. With
        resend_first_proof, an auth switch is answered with that same proof, as libmariadb and
        libmysqlclient do in mysql_change_user()."""
        self.seq = 0
        scramble = getattr(self, "switch_scramble", self.greeting_scramble)
        proof = native_proof(password, scramble)
        body = b"\x11" + user.encode() + b"\0" + bytes([len(proof)]) + proof
        body += database.encode() + b"\0" + struct.pack("<H", 45) + b"mysql_native_password\0"
        self.write(body)
        self.login_packets = []
        if resend_first_proof:
            p = self.read()
            self.login_packets.append(p[0])
            if p[0] == 0xFE:
                self.write(proof)
            else:
                return self._result_of(p)
        return self._finish_login(password)

    def _result_of(self, p):
        if p[0] == 0xFF:
            self.error = (struct.unpack_from("<H", p, 1)[0], p[9:].decode(errors="replace"))
            return "err"
        return "ok" if p[0] == 0x00 else "unexpected"

    def close(self):
        try:
            self.seq = 0
            self.write(b"\x01")
        except OSError:
            pass
        self.sock.close()


def metric(gate, name, **labels):
    body = urllib.request.urlopen(f"http://127.0.0.1:{gate.admin_port}/metrics", timeout=10)
    text = body.read().decode()
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" (\S+)"
    m = re.search(r"^" + pattern + "$", text, re.M)
    return float(m.group(1)) if m else None


def status(standin, name):
    rows = standin.query(f"SHOW GLOBAL STATUS LIKE '{name}'")
    return int(rows[0][1])


class ClientAuth(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.standin = harness.Standin(name="client_auth").start()
        for user, pw in ((NOPW_USER, ""), (OTHER_USER, OTHER_PASSWORD)):
            cls.standin.query(f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{pw}'")
            cls.standin.query(f"GRANT ALL ON *.* TO '{user}'@'%'")
        cls.standin.query("CREATE DATABASE IF NOT EXISTS ca_db")
        cls.standin.query(f"GRANT ALL ON ca_db.* TO '{harness.TEST_USER}'@'%'")
        cls.users = [
            {"user": harness.TEST_USER, "password-hash": native_hash(harness.TEST_PASSWORD)},
            {"user": NOPW_USER, "password-hash": ""},
        ]
        cls.gate = harness.Ghostgate(cls.standin, name="client_auth", client_tls=True,
                                     pool={"max-connections": 2, "max-idle": 2}, workers=1,
                                     extra={"client-auth": {"users": cls.users}}).start()
        cls.target = cls.gate

    def login(self, user=harness.TEST_USER, password=harness.TEST_PASSWORD, **kw):
        c = WireClient(self.gate.port, user, password, **kw)
        self.addCleanup(c.close)
        return c

    def test_listed_account_logs_in_without_a_second_exchange(self):
        """Sequential logins reuse one pooled backend connection (COM_CHANGE_USER, and MariaDB's
        auth switch after it, answered by ghostgate): the client sees its OK at once, every
        time, and the backend saw no new login."""
        ok0 = metric(self.gate, "ghostgate_client_auth_total", result="ok")
        first = self.login()
        self.assertEqual(first.result, "ok")
        first.close()
        logins = status(self.standin, "Connections")
        for _ in range(5):
            c = WireClient(self.gate.port, harness.TEST_USER, harness.TEST_PASSWORD)
            self.assertEqual(c.result, "ok")
            self.assertEqual(c.login_packets, [0x00], "the client was asked for another proof")
            self.assertEqual(c.query_scalar("SELECT CURRENT_USER()"), f"{harness.TEST_USER}@%")
            c.close()
        # The one new connection is this status query's own.
        self.assertEqual(status(self.standin, "Connections") - logins, 1,
                         "a pooled connection was not reused")
        harness.wait_until(lambda: metric(self.gate, "ghostgate_client_auth_total",
                                          result="ok") >= ok0 + 6, 10, what="the ok count")

    def test_without_client_auth_mariadb_asks_the_client_again(self):
        """The contrast (so the test above can fail): without client-auth a pooled login on the
        stand-in costs the client an auth switch."""
        gate = harness.Ghostgate(self.standin, name="client_auth_off", workers=1,
                                 pool={"max-connections": 1, "max-idle": 1}).start()
        self.addCleanup(gate.stop)
        WireClient(gate.port, harness.TEST_USER, harness.TEST_PASSWORD).close()
        c = WireClient(gate.port, harness.TEST_USER, harness.TEST_PASSWORD)
        self.addCleanup(c.close)
        self.assertEqual(c.result, "ok")
        self.assertEqual(c.login_packets, [0xFE, 0x00])

    def test_each_greeting_has_a_scramble_of_its_own(self):
        """Refused logins leave the pooled greeting connection as it was (no COM_CHANGE_USER
        renews its scramble): greeted with that connection's scramble, these four would see one
        scramble; with their own, four."""
        self.login().close()  # a pooled connection to greet with
        seen = set()
        for _ in range(4):
            c = self.login(password="wrong")
            self.assertEqual(c.result, "err")
            seen.add(c.greeting_scramble)
            c.close()
        self.assertEqual(len(seen), 4)

    def test_wrong_password_is_refused_without_a_backend_login(self):
        refused0 = metric(self.gate, "ghostgate_client_auth_total", result="refused")
        denied0 = status(self.standin, "Access_denied_errors")
        c = self.login(password="wrong")
        self.assertEqual(c.result, "err")
        self.assertEqual(c.error[0], 1045)
        self.assertIn(f"Access denied for user '{harness.TEST_USER}'@'127.0.0.1' "
                      "(using password: YES)", c.error[1])
        self.assertEqual(status(self.standin, "Access_denied_errors"), denied0,
                         "the backend was asked")
        self.assertEqual(metric(self.gate, "ghostgate_client_auth_total", result="refused"),
                         refused0 + 1)
        # A replayed proof of a good login, over another greeting's scramble: refused.
        good = self.login()
        replay = self.login(proof=native_proof(harness.TEST_PASSWORD, good.greeting_scramble))
        self.assertEqual(replay.result, "err")
        with self.assertRaises(pymysql.err.OperationalError) as e:
            pymysql.connect(host="127.0.0.1", port=self.gate.port, user=harness.TEST_USER,
                            password="")
        self.assertIn("using password: NO", str(e.exception))

    def test_pymysql_tls_and_database(self):
        conn = pymysql.connect(host="127.0.0.1", port=self.gate.port, user=harness.TEST_USER,
                               password=harness.TEST_PASSWORD, database="ca_db",
                               ssl={"check_hostname": False, "verify_mode": ssl.CERT_NONE})
        with conn.cursor() as cur:
            cur.execute("SELECT DATABASE(), CURRENT_USER(), @@ssl_cipher IS NULL")
            # TLS ends at ghostgate: its pooled link to the stand-in is plain.
            self.assertEqual(cur.fetchone(), ("ca_db", f"{harness.TEST_USER}@%", 1))
        conn.close()
        wire = self.login(database="ca_db", use_tls=True)
        self.assertEqual(wire.result, "ok")
        self.assertEqual(wire.query_scalar("SELECT DATABASE()"), "ca_db")
        wire.close()
        bad_db = self.login(database="test_no_such_db")
        self.assertEqual(bad_db.result, "err")
        self.assertEqual(bad_db.error[0], 1049)

    def test_reused_connection_starts_clean(self):
        # One backend connection, so the second client certainly gets the first one's.
        gate = harness.Ghostgate(self.standin, name="client_auth_one", workers=1,
                                 pool={"max-connections": 1, "max-idle": 1},
                                 extra={"client-auth": {"users": self.users}}).start()
        self.addCleanup(gate.stop)
        c = WireClient(gate.port, harness.TEST_USER, harness.TEST_PASSWORD)
        c.query_scalar("SELECT @x := 42")
        self.assertEqual(c.query_scalar("SELECT @x"), "42")
        backend_id = c.query_scalar("SELECT CONNECTION_ID()")
        c.close()
        again = WireClient(gate.port, NOPW_USER, "")
        self.addCleanup(again.close)
        self.assertEqual(again.result, "ok")
        self.assertEqual(again.login_packets, [0x00])
        self.assertEqual(again.query_scalar("SELECT CONNECTION_ID()"), backend_id)
        self.assertIsNone(again.query_scalar("SELECT @x"))
        self.assertEqual(again.query_scalar("SELECT CURRENT_USER()"), f"{NOPW_USER}@%")

    def test_account_without_password(self):
        c = self.login(user=NOPW_USER, password="")
        self.assertEqual(c.result, "ok")
        bad = self.login(user=NOPW_USER, password="something")
        self.assertEqual(bad.result, "err")
        self.assertEqual(bad.error[0], 1045)

    def test_other_plugin_is_switched_to_native(self):
        """A client answering with caching_sha2_password is asked for a mysql_native_password
        proof over the same scramble."""
        c = self.login(plugin="caching_sha2_password", proof=b"\x01" * 32)
        self.assertEqual(c.result, "ok")
        self.assertEqual(c.login_packets, [0xFE, 0x00])
        self.assertEqual(c.switch_plugin, "mysql_native_password")
        self.assertEqual(c.switch_scramble, c.greeting_scramble)

    def test_client_that_cannot_take_an_auth_switch(self):
        """No CLIENT_PLUGIN_AUTH (older than MySQL 5.5): a listed account logs in; an unlisted
        one cannot be asked again over the backend's scramble, and is told what to do."""
        c = self.login(plugin_auth=False)
        self.assertEqual(c.result, "ok")
        self.assertEqual(c.query_scalar("SELECT CURRENT_USER()"), f"{harness.TEST_USER}@%")
        other = self.login(user=OTHER_USER, password=OTHER_PASSWORD, plugin_auth=False)
        self.assertEqual(other.result, "err")
        self.assertIn("list its account in client-auth.users", other.error[1])

    def test_account_not_listed_goes_to_the_backend(self):
        denied0 = status(self.standin, "Access_denied_errors")
        c = self.login(user=OTHER_USER, password=OTHER_PASSWORD)
        self.assertEqual(c.result, "ok")
        self.assertEqual(c.query_scalar("SELECT CURRENT_USER()"), f"{OTHER_USER}@%")
        bad = self.login(user=OTHER_USER, password="wrong")
        self.assertEqual(bad.result, "err")
        self.assertEqual(bad.error[0], 1045)
        self.assertEqual(status(self.standin, "Access_denied_errors"), denied0 + 1)

    def test_change_user(self):
        c = self.login()
        self.assertEqual(c.change_user(NOPW_USER, ""), "ok")
        self.assertEqual(c.login_packets, [0x00])
        self.assertEqual(c.query_scalar("SELECT CURRENT_USER()"), f"{NOPW_USER}@%")
        self.assertEqual(c.change_user(harness.TEST_USER, harness.TEST_PASSWORD, "ca_db"), "ok")
        self.assertEqual(c.query_scalar("SELECT CONCAT(CURRENT_USER(), DATABASE())"),
                         f"{harness.TEST_USER}@%ca_db")
        # Not listed: the backend asks this client again over its own scramble.
        self.assertEqual(c.change_user(OTHER_USER, OTHER_PASSWORD), "ok")
        self.assertEqual(c.query_scalar("SELECT CURRENT_USER()"), f"{OTHER_USER}@%")
        # ... after which a listed account's proof is over that scramble.
        self.assertEqual(c.change_user(harness.TEST_USER, harness.TEST_PASSWORD), "ok")
        self.assertEqual(c.query_scalar("SELECT CURRENT_USER()"), f"{harness.TEST_USER}@%")
        bad = self.login()
        self.assertEqual(bad.change_user(harness.TEST_USER, "wrong"), "err")
        self.assertEqual(bad.error[0], 1045)

    def test_change_user_to_an_unlisted_account_as_libmariadb_does_it(self):
        """libmariadb answers the backend's auth switch with the proof over the first scramble,
        ghostgate's, which the backend never saw: refused, with a hint, not a bare denial."""
        c = self.login()
        self.assertEqual(c.change_user(OTHER_USER, OTHER_PASSWORD, resend_first_proof=True), "err")
        self.assertEqual(c.error[0], 1045)
        self.assertIn("list this account there too", c.error[1])
        # Listed, the same client gets in: ghostgate answers the backend itself.
        listed = self.login()
        self.assertEqual(listed.change_user(NOPW_USER, "", resend_first_proof=True), "ok")
        self.assertEqual(listed.login_packets, [0x00])


class StaleHash(harness.TestCase):
    """The list and the backend disagree: neither password gets a silent OK it should not."""

    @classmethod
    def setUpClass(cls):
        cls.standin = harness.Standin(name="client_auth_stale").start()
        cls.standin.query(f"CREATE USER IF NOT EXISTS '{OTHER_USER}'@'%' "
                          f"IDENTIFIED BY '{OTHER_PASSWORD}'")
        cls.gate = harness.Ghostgate(
            cls.standin, name="client_auth_stale", workers=1,
            extra={"client-auth": {"users": [
                {"user": OTHER_USER, "password-hash": native_hash("oldpw")}]}}).start()
        cls.target = cls.gate

    def test_old_password_refused_by_the_backend_new_one_by_ghostgate(self):
        old = WireClient(self.gate.port, OTHER_USER, "oldpw")
        self.addCleanup(old.close)
        self.assertEqual(old.result, "err")
        self.assertEqual(old.error[0], 1045)  # the backend's refusal
        new = WireClient(self.gate.port, OTHER_USER, OTHER_PASSWORD)
        self.addCleanup(new.close)
        self.assertEqual(new.result, "err")
        self.assertEqual(new.error[0], 1045)
        self.assertIn("Access denied", new.error[1])

    def test_sighup_applies_a_new_hash(self):
        self.gate.extra = {"client-auth": {"users": [
            {"user": OTHER_USER, "password-hash": native_hash(OTHER_PASSWORD)}]}}
        self.gate.write_config()
        reloads = metric(self.gate, "ghostgate_config_reloads_total", result="ok")
        os.kill(self.gate.proc.pid, signal.SIGHUP)
        harness.wait_until(lambda: metric(self.gate, "ghostgate_config_reloads_total",
                                          result="ok") == reloads + 1, 10, what="the reload")
        c = WireClient(self.gate.port, OTHER_USER, OTHER_PASSWORD)
        self.addCleanup(c.close)
        self.assertEqual(c.result, "ok")
        self.assertEqual(c.login_packets, [0x00])
        with open(self.gate.log_file) as f:
            log = f.read()
        self.assertIn("client-auth.users", log)
        self.assertNotIn(native_hash(OTHER_PASSWORD), log)
        self.assertNotIn(native_hash("oldpw"), log)


if __name__ == "__main__":
    harness.main(ghostgate_only=True)
