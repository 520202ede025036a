#!/usr/bin/python3
"""Hostile or broken clients against ghostgate: handshakes never finished, random bytes on the
port, packets over max-packet-size, a thousand idle connections plus a thousand refused ones,
a storm of wrong passwords, and clients that vanish in the middle of a LOAD DATA LOCAL, of a
result set or of a transaction. ghostgate must stay up, answer or close cleanly, keep serving
well-behaved clients, and leave its backend pool clean.

These tests are about ghostgate itself: they always run through it (--direct does not apply).

    GHOSTGATE_BIN=build/ghostgate /usr/bin/python3 tests/integration/test_hostile.py
"""

import hashlib
import os
import random
import resource
import socket
import struct
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
os.environ["GHOSTGATE_IT_MODE"] = "ghostgate"  # see the docstring
import harness  # noqa: E402
import pymysql  # noqa: E402

PROMPT = 15  # seconds; every "promptly" below is well under the clients' own timeouts (60 s)
STORM_PASSWORD_PREFIX = "storm-wrong-pw-"  # test_secrets.py looks for it in every log
STORM_ATTEMPTS = 240  # wrong passwords in the storm, at least


# ---------------------------------------------------------------------------------------------
# A MySQL client written from the protocol documentation, so that every byte is under the
# test's control (pymysql cannot stop half-way through a handshake or an upload). Also used by
# test_faults.py and test_secrets.py.

CAP_LONG_PASSWORD = 0x1
CAP_CONNECT_WITH_DB = 0x8
CAP_LOCAL_FILES = 0x80
CAP_PROTOCOL_41 = 0x200
CAP_SSL = 0x800
CAP_TRANSACTIONS = 0x2000
CAP_SECURE_CONNECTION = 0x8000
CAP_MULTI_STATEMENTS = 0x10000
CAP_MULTI_RESULTS = 0x20000
CAP_PS_MULTI_RESULTS = 0x40000
CAP_PLUGIN_AUTH = 0x80000
CAP_DEPRECATE_EOF = 0x1000000
BASE_CAPS = (CAP_LONG_PASSWORD | CAP_PROTOCOL_41 | CAP_TRANSACTIONS | CAP_SECURE_CONNECTION |
             CAP_MULTI_RESULTS | CAP_PS_MULTI_RESULTS | CAP_PLUGIN_AUTH | CAP_LOCAL_FILES)

COM_QUIT, COM_QUERY, COM_PING = 0x01, 0x03, 0x0e
COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_CHANGE_USER = 0x16, 0x17, 0x11


class Closed(Exception):
    """The peer closed the connection (or reset it)."""


class ServerError(Exception):
    def __init__(self, code, state, message):
        super().__init__(code, f"({state}) {message}")
        self.code, self.state, self.message = code, state, message


def parse_err(p):
    code = struct.unpack_from("<H", p, 1)[0]
    if p[3:4] == b"#":
        return ServerError(code, p[4:9].decode(), p[9:].decode(errors="replace"))
    return ServerError(code, "", p[3:].decode(errors="replace"))


def native_password(password, scramble):
    """mysql_native_password: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw)))."""
    if not password:
        return b""
    p1 = hashlib.sha1(password.encode()).digest()
    p2 = hashlib.sha1(p1).digest()
    p3 = hashlib.sha1(scramble + p2).digest()
    return bytes(a ^ b for a, b in zip(p1, p3))


def lenenc(n):
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + struct.pack("<H", n)
    if n < 1 << 24:
        return b"\xfd" + struct.pack("<I", n)[:3]
    return b"\xfe" + struct.pack("<Q", n)


def read_lenenc(buf, pos):
    b = buf[pos]
    if b < 251:
        return b, pos + 1
    if b == 0xfb:
        return None, pos + 1
    if b == 0xfc:
        return struct.unpack_from("<H", buf, pos + 1)[0], pos + 3
    if b == 0xfd:
        return int.from_bytes(buf[pos + 1:pos + 4], "little"), pos + 4
    return struct.unpack_from("<Q", buf, pos + 1)[0], pos + 9


class RawClient:
    def __init__(self, host, port, timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.seq = 0
        self.caps = BASE_CAPS
        self.greeting = None
        self.scramble = None
        self.auth_responses = []  # every proof sent, for the secrets scan

    # ---- frames
    def _recv_exact(self, n):
        while len(self.buf) < n:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise Closed(f"closed by peer with {len(self.buf)} of {n} bytes")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_packet(self):
        payload = b""
        while True:
            h = self._recv_exact(4)
            n = int.from_bytes(h[:3], "little")
            self.seq = (h[3] + 1) & 0xff
            payload += self._recv_exact(n)
            if n < 0xffffff:
                return payload

    def send_packet(self, payload, seq=None):
        if seq is not None:
            self.seq = seq
        out = bytearray()
        while True:
            chunk, payload = payload[:0xffffff], payload[0xffffff:]
            out += len(chunk).to_bytes(3, "little") + bytes([self.seq]) + chunk
            self.seq = (self.seq + 1) & 0xff
            if len(chunk) < 0xffffff:
                break
        self.sock.sendall(out)

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_until_close(self, timeout):
        """Everything the peer sends until it closes. Raises socket.timeout if it never does."""
        self.sock.settimeout(timeout)
        data, self.buf = self.buf, b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk

    # ---- login
    def read_greeting(self):
        p = self.read_packet()
        if p[0] == 0xff:
            raise parse_err(p)
        pos = p.index(b"\0", 1) + 1
        conn_id = struct.unpack_from("<I", p, pos)[0]
        part1 = p[pos + 4:pos + 12]
        pos += 13
        cap_lo = struct.unpack_from("<H", p, pos)[0]
        cap_hi = struct.unpack_from("<H", p, pos + 5)[0]
        auth_len = p[pos + 7]
        pos += 18
        n2 = max(13, auth_len - 8)
        part2 = p[pos:pos + n2]
        self.scramble = (part1 + part2).rstrip(b"\0")[:20]
        self.greeting = {"version": p[1:p.index(b"\0", 1)].decode(), "conn_id": conn_id,
                         "caps": cap_lo | cap_hi << 16}
        return self.greeting

    def handshake_response(self, user, password, database=None, caps=None):
        caps = self.caps if caps is None else caps
        if database:
            caps |= CAP_CONNECT_WITH_DB
        auth = native_password(password, self.scramble)
        self.auth_responses.append(auth)
        p = struct.pack("<IIB", caps, 1 << 24, 45) + b"\0" * 23
        p += user.encode() + b"\0" + bytes([len(auth)]) + auth
        if database:
            p += database.encode() + b"\0"
        return p + b"mysql_native_password\0"

    def _finish_auth(self, password):
        while True:
            p = self.read_packet()
            if p[0] == 0x00:
                return p
            if p[0] == 0xff:
                raise parse_err(p)
            if p[0] == 0xfe:  # auth switch: the same plugin with a new scramble
                end = p.index(b"\0", 1)
                plugin = p[1:end].decode()
                if plugin != "mysql_native_password":
                    raise RuntimeError(f"auth switch to {plugin}")
                self.scramble = p[end + 1:].rstrip(b"\0")
                auth = native_password(password, self.scramble)
                self.auth_responses.append(auth)
                self.send_packet(auth)
                continue
            raise RuntimeError(f"unexpected packet during login: {p[:16]!r}")

    def login(self, user, password, database=None, caps=None):
        """Returns the OK payload; raises ServerError when refused."""
        if caps is not None:
            self.caps = caps
        if self.greeting is None:
            self.read_greeting()
        self.send_packet(self.handshake_response(user, password, database), seq=1)
        return self._finish_auth(password)

    def change_user(self, user, password, database=""):
        """COM_CHANGE_USER over the current scramble."""
        auth = native_password(password, self.scramble)
        self.auth_responses.append(auth)
        p = bytes([COM_CHANGE_USER]) + user.encode() + b"\0" + bytes([len(auth)]) + auth
        p += database.encode() + b"\0" + struct.pack("<H", 45) + b"mysql_native_password\0"
        self.send_packet(p, seq=0)
        return self._finish_auth(password)

    # ---- commands
    def command(self, cmd, payload=b""):
        self.send_packet(bytes([cmd]) + payload, seq=0)

    def read_columns(self):
        """After the column-count packet: the definitions and the EOF."""
        p = self.read_packet()
        if p[0] == 0xff:
            raise parse_err(p)
        ncols, _ = read_lenenc(p, 0)
        for _ in range(ncols):
            self.read_packet()
        if not self.caps & CAP_DEPRECATE_EOF:
            self.read_packet()
        return ncols

    def read_text_row(self, ncols):
        """A row as a list of str/None, or None at the end of the result set."""
        p = self.read_packet()
        if p[0] == 0xfe and len(p) < 9:
            return None
        if p[0] == 0xff:
            raise parse_err(p)
        row, pos = [], 0
        for _ in range(ncols):
            n, pos = read_lenenc(p, pos)
            if n is None:
                row.append(None)
            else:
                row.append(p[pos:pos + n].decode(errors="replace"))
                pos += n
        return row

    def read_result(self):
        """('ok', payload) | ('infile', name) | ('rows', rows); raises ServerError."""
        p = self.read_packet()
        if p[0] == 0x00:
            return ("ok", p)
        if p[0] == 0xff:
            raise parse_err(p)
        if p[0] == 0xfb:
            return ("infile", p[1:].decode())
        self.buf = len(p).to_bytes(3, "little") + bytes([(self.seq - 1) & 0xff]) + p + self.buf
        ncols = self.read_columns()
        rows = []
        while (row := self.read_text_row(ncols)) is not None:
            rows.append(row)
        return ("rows", rows)

    def query(self, sql):
        self.command(COM_QUERY, sql.encode() if isinstance(sql, str) else sql)
        return self.read_result()

    def scalar(self, sql):
        kind, rows = self.query(sql)
        assert kind == "rows", kind
        return rows[0][0]

    def prepare(self, sql):
        """Returns (statement id, columns, parameters)."""
        self.command(COM_STMT_PREPARE, sql.encode())
        p = self.read_packet()
        if p[0] == 0xff:
            raise parse_err(p)
        stmt_id, ncols, nparams = struct.unpack_from("<IHH", p, 1)
        for n in (nparams, ncols):
            for _ in range(n):
                self.read_packet()
            if n and not self.caps & CAP_DEPRECATE_EOF:
                self.read_packet()
        return stmt_id, ncols, nparams

    def execute(self, stmt_id, params=()):
        """COM_STMT_EXECUTE; ints go as LONGLONG, everything else as VAR_STRING."""
        p = struct.pack("<IBI", stmt_id, 0, 1)
        if params:
            p += b"\0" * ((len(params) + 7) // 8) + b"\x01"
            for v in params:
                p += b"\x08\x00" if isinstance(v, int) else b"\xfd\x00"
            for v in params:
                if isinstance(v, int):
                    p += struct.pack("<q", v)
                else:
                    b = str(v).encode()
                    p += lenenc(len(b)) + b
        self.command(COM_STMT_EXECUTE, p)

    def read_binary_rows(self, limit=None):
        """After COM_STMT_EXECUTE: ('ok', payload) or ('rows', n read, complete?)."""
        p = self.read_packet()
        if p[0] == 0x00:
            return ("ok", p)
        if p[0] == 0xff:
            raise parse_err(p)
        self.buf = len(p).to_bytes(3, "little") + bytes([(self.seq - 1) & 0xff]) + p + self.buf
        self.read_columns()
        return self.more_binary_rows(limit)

    def more_binary_rows(self, limit=None):
        """Goes on reading the rows of a binary result set: ('rows', n read, complete?)."""
        n = 0
        while limit is None or n < limit:
            p = self.read_packet()
            if p[0] == 0xfe and len(p) < 9:
                return ("rows", n, True)
            if p[0] == 0xff:
                raise parse_err(p)
            n += 1
        return ("rows", n, False)

    def abort(self):
        """Vanish: a TCP reset instead of COM_QUIT and an orderly close."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            self.sock.close()

    def close(self):
        try:
            self.command(COM_QUIT)
        except OSError:
            pass
        self.sock.close()


def complete_frames(data, max_payload, rnd):
    """`data` as a client would have sent it whole: the last frame's payload (or header) filled
    up with random bytes, unless its header announces more than `max_payload` (ghostgate
    refuses it at once). Returns (bytes, the payloads of the complete frames)."""
    data, frames, pos = bytearray(data), [], 0
    while pos < len(data):
        if len(data) - pos < 4:
            data += rnd.randbytes(4 - (len(data) - pos))
        n = int.from_bytes(data[pos:pos + 3], "little")
        if n > max_payload:
            break
        if len(data) < pos + 4 + n:
            data += rnd.randbytes(pos + 4 + n - len(data))
        frames.append(bytes(data[pos + 4:pos + 4 + n]))
        pos += 4 + n
    return bytes(data), frames


def abort_pymysql(conn):
    """Makes a pymysql connection vanish with a TCP reset. (socket.close() alone would not
    close it: pymysql's makefile() reader keeps the descriptor open.)"""
    sock = conn._sock
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    os.close(sock.detach())


# ---------------------------------------------------------------------------------------------
# observing ghostgate and the backend

def metrics(gate):
    with urllib.request.urlopen(f"http://{gate.host}:{gate.admin_port}/metrics",
                                timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def backend_sessions(standin, exclude_id=None):
    """The backend's client sessions (ghostgate's own account and daemons left out)."""
    rows = standin.query(
        "SELECT ID, USER, COMMAND, TIME, STATE, LEFT(INFO, 60) FROM information_schema.PROCESSLIST "
        f"WHERE COMMAND <> 'Daemon' AND USER NOT IN ('{harness.GATE_USER}', 'system user') "
        "AND ID <> CONNECTION_ID()")
    return [r for r in rows if r[0] != exclude_id]


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


IDLE_CLIENTS = 1000   # = max-connections of the idle gate
REFUSED_CLIENTS = 1000
# Before anything starts: ghostgate and the stand-in inherit the limit.
NOFILE = raise_nofile(8192)


class Hostile(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.standin = harness.Standin(extra_args=["--max-connections=1500"]).start()
        cls.standin.query("CREATE DATABASE IF NOT EXISTS test_hostile")
        cls.standin.query("CREATE TABLE IF NOT EXISTS test_hostile.big "
                          "(id INT PRIMARY KEY, pad VARCHAR(200))")
        cls.standin.query("INSERT INTO test_hostile.big SELECT seq, REPEAT('x', 200) "
                          "FROM seq_1_to_60000", database="test_hostile")
        cls.standin.query("CREATE TABLE IF NOT EXISTS test_hostile.li "
                          "(id INT PRIMARY KEY, s VARCHAR(64))")
        cls.standin.query("CREATE TABLE IF NOT EXISTS test_hostile.acct "
                          "(id INT PRIMARY KEY, v INT)")
        cls.standin.query("INSERT INTO test_hostile.acct VALUES (1, 0), (2, 0), (3, 0)")
        # hostile: short handshake timeout and a small packet limit
        cls.gate = harness.Ghostgate(cls.standin, name="hostile", extra={
            "timeouts": {"handshake": "1s"}, "max-packet-size": "1MiB"}).start()
        cls.target = harness.Target(cls.standin, cls.gate)
        cls.gates = [cls.gate]

    @classmethod
    def tearDownClass(cls):
        for g in cls.gates:
            g.stop()
        cls.standin.stop()
        super().tearDownClass()  # the harness's checks (sanitizer reports)

    def extra_gate(self, name, **kw):
        g = harness.Ghostgate(self.standin, name=name, **kw).start()
        self.gates.append(g)
        return g

    def assert_alive(self, gate):
        time.sleep(0.2)
        self.assertTrue(gate.alive(), f"ghostgate died:\n{gate.logs()}")
        self.assertEqual(metrics(gate).get("ghostgate_session_exceptions_total"), 0.0,
                         "a session ended by an exception")

    def assert_login_works(self, gate, user=None):
        conn = gate.connect(user=user, connect_timeout=PROMPT, read_timeout=PROMPT)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 6 * 7")
                self.assertEqual(cur.fetchone()[0], 42)
        finally:
            conn.close()

    def wait_closed(self, client, timeout=PROMPT):
        """Seconds until ghostgate closed the connection, and what it sent before."""
        t0 = time.monotonic()
        try:
            data = client.read_until_close(timeout)
        except socket.timeout:
            self.fail(f"ghostgate kept a hostile connection open for {timeout}s")
        finally:
            client.sock.close()
        return time.monotonic() - t0, data

    # ---- handshakes that never finish

    def test_handshake_never_completed_is_closed_after_the_timeout(self):
        # Fewer than the pool holds (8): each greeting gets its backend connection at once (see
        # the next test for what happens otherwise).
        silent = []
        for i in range(5):
            c = RawClient(self.gate.host, self.gate.port)
            c.connected_at = time.monotonic()
            if i % 2:
                c.read_greeting()  # half of them read the greeting, none answers
            silent.append(c)
        # and one sends part of a handshake response: the header announces more than follows
        partial = RawClient(self.gate.host, self.gate.port)
        partial.connected_at = time.monotonic()
        partial.read_greeting()
        partial.send_raw(b"\x64\x00\x00\x01" + b"\x0d\xa2\x00\x00")
        silent.append(partial)
        # A slow client that logs in within the timeout is not cut off.
        slow = RawClient(self.gate.host, self.gate.port)
        slow.read_greeting()
        time.sleep(0.5)
        slow.login(harness.ROOT_USER, harness.ROOT_PASSWORD)
        self.assertEqual(slow.scalar("SELECT 'still here'"), "still here")
        for c in silent:
            _, data = self.wait_closed(c)
            lifetime = time.monotonic() - c.connected_at
            # timeouts.handshake is 1s: closed after it, and well before a client gives up
            self.assertGreater(lifetime, 0.8, "closed before the handshake timeout")
            self.assertLess(lifetime, 10, "handshake timeout not enforced")
            self.assertTrue(data == b"" or data[4] in (0x0a, 0xff), data[:16])
        time.sleep(1)
        self.assertEqual(slow.scalar("SELECT 'after the timeout'"), "after the timeout")
        slow.close()
        self.assert_alive(self.gate)
        self.assert_login_works(self.gate)

    def test_handshake_timeout_holds_when_the_greeting_waited_for_the_pool(self):
        # timeouts.handshake bounds the whole login whatever the session is doing when it runs
        # out: also a session still waiting for a pool slot (or connecting to the backend) for
        # its greeting must not greet later and then wait for the client with no limit.
        gate = self.extra_gate("tight", pool={"max-connections": 2, "max-idle": 2},
                               extra={"timeouts": {"handshake": "1s"}})
        silent = []
        for _ in range(4):
            c = RawClient(gate.host, gate.port)
            c.connected_at = time.monotonic()
            silent.append(c)
        try:
            for c in silent:
                self.wait_closed(c, timeout=8)
                self.assertLess(time.monotonic() - c.connected_at, 5,
                                "a silent client outlived timeouts.handshake (1s) by far")
        finally:
            for c in silent:
                c.sock.close()
            gate.stop()

    def test_unfinished_handshakes_do_not_starve_logins(self):
        # Each greeting carries the scramble of a backend connection, but a client that does not
        # answer it must not keep that connection while others wait: pool.max-connections silent
        # sockets must not lock newcomers out (ERR 1040 after acquire-timeout) for as long as the
        # handshake timeout.
        gate = self.extra_gate("starve", pool={"max-connections": 4, "max-idle": 4,
                                               "acquire-timeout": "2s"},
                               extra={"timeouts": {"handshake": "8s"}})
        silent = [socket.create_connection((gate.host, gate.port)) for _ in range(6)]
        try:
            time.sleep(0.3)
            # Starved, it would wait for a slot until acquire-timeout (2 s) and get ERR 1040.
            self.assert_login_works(gate)
        finally:
            for s in silent:
                s.close()
            gate.stop()

    def test_a_late_answer_after_the_greeting_connection_went_to_another_client(self):
        # The only backend connection carried this client's greeting; while it stays silent
        # another client needs it, so after the hold (1 s) it goes to that one. When the silent
        # client does answer, with a proof over the greeting's scramble, ghostgate moves it to a
        # connection of its own: one auth switch, then a normal session.
        gate = self.extra_gate("late", pool={"max-connections": 1, "max-idle": 1,
                                             "acquire-timeout": "10s"},
                               extra={"timeouts": {"handshake": "30s"}})
        try:
            late = RawClient(gate.host, gate.port)
            late.read_greeting()
            greeted_with = late.scramble
            self.assert_login_works(gate)  # waits for the held connection, then gets it
            late.send_packet(late.handshake_response(harness.ROOT_USER, harness.ROOT_PASSWORD),
                             seq=1)
            late._finish_auth(harness.ROOT_PASSWORD)
            self.assertNotEqual(late.scramble, greeted_with, "no auth switch to a new scramble")
            self.assertEqual(late.scalar("SELECT 6 * 7"), "42")
            late.sock.close()
            self.assert_login_works(gate)
            self.assert_alive(gate)
        finally:
            gate.stop()

    # ---- random bytes

    def garbage_patterns(self):
        """(name, read the greeting first?, bytes to send). Deterministic."""
        rnd = random.Random(6)
        pats = []
        for n in (1, 3, 4, 5, 17, 64, 300, 4096):
            pats.append((f"random {n} bytes before the greeting", False, rnd.randbytes(n)))
            pats.append((f"random {n} bytes after the greeting", True, rnd.randbytes(n)))
        pats += [
            ("16 MiB length header", True, b"\xff\xff\xff\x01" + rnd.randbytes(100)),
            ("2 MiB length header", True, b"\x00\x00\x20\x01" + rnd.randbytes(100)),
            ("empty packet", True, b"\x00\x00\x00\x01"),
            ("wrong sequence id", True, b"\x20\x00\x00\x07" + rnd.randbytes(32)),
            ("http request", False, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("tls client hello", False, bytes.fromhex("16030100a5010000a10303") +
             rnd.randbytes(160)),
            ("ssl request without tls configured", True,
             b"\x20\x00\x00\x01" + struct.pack("<IIB", BASE_CAPS | CAP_SSL, 1 << 24, 45) +
             b"\0" * 23),
            ("auth response length beyond the packet", True,
             self._packet(struct.pack("<IIB", BASE_CAPS, 1 << 24, 45) + b"\0" * 23 +
                          b"root\0" + b"\xff" + b"abc")),
            ("lenenc auth response of 2^63 bytes", True,
             self._packet(struct.pack("<IIB", BASE_CAPS | 0x200000, 1 << 24, 45) + b"\0" * 23 +
                          b"root\0" + b"\xfe" + b"\xff" * 8)),
            ("user name without terminator", True,
             self._packet(struct.pack("<IIB", BASE_CAPS, 1 << 24, 45) + b"\0" * 23 +
                          b"r" * 200)),
            ("connect attrs longer than the packet", True,
             self._packet(struct.pack("<IIB", BASE_CAPS | 0x100000, 1 << 24, 45) + b"\0" * 23 +
                          b"root\0\x00mysql_native_password\0\xfc\xff\xff" + b"a" * 10)),
        ]
        # A valid handshake response cut at every length, with a header that matches the cut.
        full = struct.pack("<IIB", BASE_CAPS | CAP_CONNECT_WITH_DB, 1 << 24, 45) + b"\0" * 23
        full += b"root\0" + b"\x14" + rnd.randbytes(20) + b"test\0mysql_native_password\0"
        for cut in range(0, len(full), 3):
            pats.append((f"handshake response cut at {cut}", True, self._packet(full[:cut])))
        return pats

    @staticmethod
    def _packet(payload, seq=1):
        return len(payload).to_bytes(3, "little") + bytes([seq]) + payload

    def test_random_bytes_on_the_port(self):
        errors, stop = [], threading.Event()
        done = [0]

        def bystander():  # a well-behaved client working throughout
            try:
                conn = self.gate.connect(read_timeout=PROMPT)
                with conn.cursor() as cur:
                    while not stop.is_set():
                        cur.execute("SELECT %s", (done[0],))
                        if cur.fetchone()[0] != done[0]:
                            errors.append("wrong answer")
                        done[0] += 1
                        time.sleep(0.01)
                conn.close()
            except Exception as e:  # asserted below
                errors.append(repr(e))

        by = threading.Thread(target=bystander, daemon=True)
        by.start()
        harness.wait_until(lambda: done[0] > 5 or errors, PROMPT, what="bystander running")
        results = {}
        lock = threading.Lock()
        patterns = self.garbage_patterns()

        def hostile(chunk):
            for name, after_greeting, data in chunk:
                c = RawClient(self.gate.host, self.gate.port)
                try:
                    if after_greeting:
                        c.read_greeting()
                    c.send_raw(data)
                except (OSError, Closed):
                    pass  # closed on us while sending: fine
                try:
                    seconds, reply = self.wait_closed(c)
                except AssertionError as e:
                    seconds, reply = None, str(e)
                with lock:
                    results[name] = (seconds, reply)

        threads = [threading.Thread(target=hostile, args=(patterns[i::6],)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        stop.set()
        by.join(PROMPT)
        self.assertEqual(errors, [], "the bystander was disturbed")
        self.assertEqual(len(results), len(patterns))
        for name, (seconds, reply) in sorted(results.items()):
            self.assertIsNotNone(seconds, f"{name}: {reply}")
            # What comes back is nothing, the greeting, an auth switch and/or an ERR.
            pos = 0
            while pos + 4 <= len(reply):
                n = int.from_bytes(reply[pos:pos + 3], "little")
                first = reply[pos + 4] if n else None
                # 0xfe: the bytes happened to make a valid handshake response, and ghostgate
                # asked for a proof over another scramble (auth switch)
                self.assertIn(first, (0x0a, 0xff, 0xfe), f"{name}: unexpected {reply[:40]!r}")
                pos += 4 + n
            self.assertEqual(pos, len(reply), f"{name}: truncated reply {reply[:40]!r}")
        self.assert_alive(self.gate)
        self.assert_login_works(self.gate)

    def test_random_bytes_after_login(self):
        # Random bytes as commands after a login, each followed by a query whose answer is
        # known: within PROMPT, either that answer arrives after well-framed replies to the
        # garbage (ending in OK, ERR or EOF), or the connection closes on a packet boundary.
        # A session that hangs, swallows a command or answers out of sync fails.
        rnd = random.Random(7)
        limit = 1 << 20  # the gate's max-packet-size
        for i in range(20):
            c = RawClient(self.gate.host, self.gate.port)
            # tester: no SHUTDOWN or PROCESS privilege, whatever command byte chance picks
            c.login(harness.TEST_USER, harness.TEST_PASSWORD)
            # Raw bytes (mostly a header announcing more than max-packet-size); a frame with a
            # wrong sequence id; a frame with the right one, whose first byte is a command
            # (0x00-0x1f) or anything; the same sent in two pieces.
            kind = i % 4
            if kind == 0:
                data = rnd.randbytes(rnd.randint(1, 200))
            else:
                payload = rnd.randbytes(rnd.randint(1, 200))
                if kind == 2 or rnd.random() < 0.5:
                    payload = bytes([rnd.randrange(0x20)]) + payload[1:]
                data = self._packet(payload, seq=rnd.randint(1, 255) if kind == 1 else 0)
            data, frames = complete_frames(data, limit, rnd)
            sentinel = f"sentinel {i}".encode()
            try:
                cut = rnd.randint(1, len(data) - 1) if kind == 3 else len(data)
                c.send_raw(data[:cut])
                time.sleep(0.05 if kind == 3 else 0)
                c.send_raw(data[cut:])
                c.send_packet(bytes([COM_QUERY]) + b"SELECT '" + sentinel + b"'", seq=0)
            except OSError:
                pass  # closed on us while sending: the reply below must say so
            what = f"case {i}: {data[:24].hex()}... ({len(data)} bytes)"
            replies, closed = self.replies_until(c, sentinel, what)
            for p in replies:
                if p[:1] == b"\xff":
                    err = parse_err(p)
                    self.assertTrue(err.code > 0 and len(err.state) == 5, f"{what}: {p!r}")
            if closed:
                continue
            # Answered: every command that has a reply got one, ending as a reply ends.
            wants_reply = [f for f in frames if f[:1] not in (b"\x18", b"\x19")]  # STMT_*
            if wants_reply:
                self.assertTrue(replies, f"{what}: no reply to {len(wants_reply)} command(s)")
                last = replies[-1]
                ends = last[:1] in (b"\x00", b"\xff") or (last[:1] == b"\xfe" and len(last) < 9)
                statistics = wants_reply[-1][:1] == b"\x09"  # its reply is one string
                self.assertTrue(ends or statistics, f"{what}: last reply {last[:40]!r}")
            c.abort()
        self.assert_alive(self.gate)
        self.assert_login_works(self.gate, user=harness.TEST_USER)

    def replies_until(self, c, sentinel, what):
        """The packets before the answer to `SELECT '<sentinel>'` (its column count,
        definition and EOF left out), and whether the connection closed instead. Fails unless
        one or the other happens within PROMPT, or on a close in the middle of a packet."""
        deadline = time.monotonic() + PROMPT
        packets = []
        row = lenenc(len(sentinel)) + sentinel
        while True:
            c.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                header = c._recv_exact(4)
            except socket.timeout:
                self.fail(f"{what}: neither an answer nor a close within {PROMPT}s "
                          f"(got {packets!r:.300})")
            except Closed:
                self.assertEqual(c.buf, b"", f"{what}: closed inside a packet header")
                c.sock.close()
                return packets, True
            n = int.from_bytes(header[:3], "little")
            try:
                payload = c._recv_exact(n)
            except socket.timeout:
                self.fail(f"{what}: a packet announced {n} bytes and never ended")
            except Closed as e:
                self.fail(f"{what}: closed inside a packet ({e})")
            if payload == row:
                # before it: its column count (1), its column definition and an EOF
                self.assertEqual(packets[-3:-2], [b"\x01"], f"{what}: {packets!r:.300}")
                return packets[:-3], False
            packets.append(payload)

    # ---- packet over max-packet-size (1 MiB here)

    def test_packet_over_max_packet_size(self):
        limit = 1 << 20
        # Just under the limit: fine.
        conn = self.gate.connect(read_timeout=60)
        with conn.cursor() as cur:
            cur.execute("SELECT LENGTH(%s)", ("y" * (limit - 4096),))
            self.assertEqual(cur.fetchone()[0], limit - 4096)
        conn.close()
        # The header alone announces 2 MiB: ERR 1153 at once, without waiting for the payload,
        # then the connection is closed.
        c = RawClient(self.gate.host, self.gate.port)
        c.login(harness.ROOT_USER, harness.ROOT_PASSWORD)
        c.send_raw((2 * limit).to_bytes(3, "little") + b"\x00\x03SELECT '")
        c.sock.settimeout(PROMPT)
        with self.assertRaises(ServerError) as cm:
            c.read_result()
        self.assertEqual(cm.exception.code, 1153, cm.exception)
        seconds, rest = self.wait_closed(c)
        self.assertEqual(rest, b"")
        # A whole oversized statement from a real client: refused, the client learns it.
        conn = self.gate.connect(read_timeout=60, write_timeout=60)
        with self.assertRaises(pymysql.err.MySQLError) as cm:
            with conn.cursor() as cur:
                cur.execute("SELECT LENGTH(%s)", ("z" * (limit + 4096),))
        self.assertIn(cm.exception.args[0], (1153, 2006, 2013), cm.exception)
        # A 16 MiB frame (continuation) is over the limit too.
        c = RawClient(self.gate.host, self.gate.port)
        c.login(harness.ROOT_USER, harness.ROOT_PASSWORD)
        c.send_raw(b"\xff\xff\xff\x00\x03" + b"x" * 1000)
        c.sock.settimeout(PROMPT)
        with self.assertRaises(ServerError) as cm:
            c.read_result()
        self.assertEqual(cm.exception.code, 1153)
        self.wait_closed(c)
        self.assert_alive(self.gate)
        self.assert_login_works(self.gate)

    # ---- a thousand idle clients, a thousand refused

    def test_thousands_of_idle_connections(self):
        self.assertGreaterEqual(NOFILE, 4 * IDLE_CLIENTS, "RLIMIT_NOFILE too low for this test")
        gate = self.extra_gate("idle", pool={"max-connections": IDLE_CLIENTS + 50,
                                             "max-idle": 16},
                               extra={"max-connections": IDLE_CLIENTS}, log_level="info")
        conns, errors, lock = [], [], threading.Lock()

        def opener(n):
            for _ in range(n):
                try:
                    c = gate.connect(connect_timeout=60, read_timeout=60)
                    with lock:
                        conns.append(c)
                except Exception as e:  # asserted below
                    with lock:
                        errors.append(repr(e))

        threads = [threading.Thread(target=opener, args=(IDLE_CLIENTS // 8,)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        self.assertEqual(errors[:5], [], f"{len(errors)} of {IDLE_CLIENTS} logins failed")
        self.assertEqual(len(conns), IDLE_CLIENTS)
        m = metrics(gate)
        self.assertEqual(m["ghostgate_client_connections_active"], IDLE_CLIENTS)
        self.assertLessEqual(m["ghostgate_backend_connections_open"], IDLE_CLIENTS + 50)

        # Beyond max-connections: ERR 1040 at once, whatever the client does next.
        refused = {}
        for i in range(REFUSED_CLIENTS):
            c = RawClient(gate.host, gate.port, timeout=PROMPT)
            try:
                c.read_greeting()
                refused["greeting"] = refused.get("greeting", 0) + 1
            except ServerError as e:
                refused[e.code] = refused.get(e.code, 0) + 1
                if "Too many connections" not in e.message:
                    refused["message"] = e.message
            except Closed:
                refused["closed"] = refused.get("closed", 0) + 1
            c.sock.close()
        self.assertEqual(refused, {1040: REFUSED_CLIENTS})

        # The idle ones are unaffected.
        failures = []

        def checker(chunk):
            for i, c in chunk:
                try:
                    with c.cursor() as cur:
                        cur.execute("SELECT %s", (i,))
                        if cur.fetchone()[0] != i:
                            failures.append(f"{i}: wrong answer")
                except Exception as e:  # asserted below
                    failures.append(f"{i}: {e!r}")

        items = list(enumerate(conns))
        threads = [threading.Thread(target=checker, args=(items[k::8],)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        self.assertEqual(failures[:5], [], f"{len(failures)} idle clients failed")
        # Room again as soon as some leave.
        for c in conns[:10]:
            c.close()
        harness.wait_until(
            lambda: metrics(gate)["ghostgate_client_connections_active"] <= IDLE_CLIENTS - 10,
            PROMPT, what="closed clients counted out")
        self.assert_login_works(gate)
        for c in conns[10:]:
            c.close()
        harness.wait_until(lambda: metrics(gate)["ghostgate_client_connections_active"] == 0,
                           60, what="all clients gone")
        # Once they left, the pool keeps no more than max-idle. (What the idle clients cost in
        # memory is measured by bench/compare.sh, bench/RESULTS.md: not asserted here.)
        harness.wait_until(lambda: metrics(gate)["ghostgate_backend_connections_open"] <= 16,
                           PROMPT, what="the pool back to max-idle")
        self.assert_alive(gate)
        self.assert_login_works(gate)
        gate.stop()  # its idle backend connections would blur the other tests' counts

    # ---- wrong passwords by the thousand

    def test_wrong_password_storm(self):
        # 12 attackers send wrong passwords while a logged-in client keeps querying, newcomers
        # keep logging in and the pool is sampled; the storm lasts until there were
        # STORM_ATTEMPTS attempts and each of the others was served a few times during it.
        # Functional facts only: every wrong password gets 1045, nobody else gets an error,
        # and the pool stays within its limit. How fast is bench/login_storm.py's question.
        gate = self.extra_gate("storm", pool={"max-connections": 8, "max-idle": 8})
        sessions_before = len(backend_sessions(self.standin))
        stop = threading.Event()
        stats = {"ok": 0, "errors": [], "storm": {}, "newcomers": 0, "newcomer_errors": [],
                 "samples": 0, "max_open": 0}
        lock = threading.Lock()

        def legit():
            try:
                conn = gate.connect(database="test_hostile", read_timeout=PROMPT)
                with conn.cursor() as cur:
                    i = 0
                    while not stop.is_set():
                        cur.execute("SELECT %s, COUNT(*) FROM acct", (i,))
                        if cur.fetchone() != (i, 3):
                            stats["errors"].append("wrong answer")
                        stats["ok"] += 1
                        i += 1
                conn.close()
            except Exception as e:  # asserted below
                stats["errors"].append(repr(e))

        def attacker(n):
            while not stop.is_set():
                c = None
                try:
                    c = RawClient(gate.host, gate.port, timeout=PROMPT)
                    c.login(harness.ROOT_USER if n % 2 else harness.TEST_USER,
                            f"{STORM_PASSWORD_PREFIX}{n}")
                    code = "logged in!"
                except ServerError as e:
                    code = e.code
                except (OSError, Closed) as e:
                    code = type(e).__name__
                if c is not None:
                    c.sock.close()
                with lock:
                    stats["storm"][code] = stats["storm"].get(code, 0) + 1

        def newcomer():
            while not stop.is_set():
                try:
                    self.assert_login_works(gate, user=harness.TEST_USER)
                    stats["newcomers"] += 1
                except Exception as e:  # asserted below
                    stats["newcomer_errors"].append(repr(e))

        def sampler():
            while not stop.is_set():
                open_now = metrics(gate)["ghostgate_backend_connections_open"]
                stats["max_open"] = max(stats["max_open"], open_now)
                stats["samples"] += 1
                time.sleep(0.05)

        def failed():
            return stats["errors"] or stats["newcomer_errors"]

        others = [threading.Thread(target=f) for f in (legit, newcomer, sampler)]
        for t in others:
            t.start()
        harness.wait_until(lambda: stats["ok"] and stats["newcomers"] or failed(), PROMPT,
                           what="the logged-in client and the newcomers at work")
        before = {k: stats[k] for k in ("ok", "newcomers", "samples")}
        attackers = [threading.Thread(target=attacker, args=(n,)) for n in range(12)]
        for t in attackers:
            t.start()

        def storm_done():
            attempts = sum(stats["storm"].values())
            served = all(stats[k] - before[k] >= 3 for k in before)
            return attempts >= STORM_ATTEMPTS and served or failed()

        try:
            harness.wait_until(storm_done, 120, what="the storm's attempts, bystanders served")
        finally:
            stop.set()
            for t in attackers + others:
                t.join(60)
        sys.stderr.write(f"\nwrong-password storm: {stats}\n")
        self.assertEqual(list(stats["storm"]), [1045], f"every wrong password: 1045 {stats}")
        self.assertEqual(stats["errors"], [])
        self.assertEqual(stats["newcomer_errors"], [])
        self.assertLessEqual(stats["max_open"], 8)
        # Nothing left behind: the backend sees at most the pool.
        harness.wait_until(lambda: len(backend_sessions(self.standin)) <= sessions_before + 8,
                           PROMPT, what="backend sessions back to the pool's size")
        m = metrics(gate)
        self.assertLessEqual(m["ghostgate_backend_connections_open"], 8)
        self.assertEqual(m["ghostgate_backend_pool_waiting"], 0)
        self.assert_login_works(gate)
        self.assert_alive(gate)

    # ---- clients that vanish; the pool must stay clean

    def pool_gate(self):
        # One worker, so that the next client is offered the connection the last one left.
        if not hasattr(self, "_pool_gate"):
            type(self)._pool_gate = self.extra_gate("pool", workers=1,
                                                    pool={"max-connections": 4, "max-idle": 4})
        return self._pool_gate

    def backend_id_gone(self, backend_id):
        harness.wait_until(lambda: backend_id not in [r[0] for r in backend_sessions(self.standin)],
                           PROMPT, what=f"backend connection {backend_id} closed")

    def test_client_vanishes_mid_load_data_local(self):
        gate = self.pool_gate()
        self.standin.query("DELETE FROM test_hostile.li")
        c = RawClient(gate.host, gate.port)
        c.login(harness.ROOT_USER, harness.ROOT_PASSWORD, "test_hostile")
        backend_id = int(c.scalar("SELECT CONNECTION_ID()"))
        kind, name = c.query("LOAD DATA LOCAL INFILE 'rows.csv' INTO TABLE li "
                             "FIELDS TERMINATED BY ','")
        self.assertEqual((kind, name), ("infile", "rows.csv"))
        c.send_packet("".join(f"{i},row {i}\n" for i in range(5000)).encode())
        c.send_packet("".join(f"{i},row {i}\n" for i in range(5000, 6000)).encode())
        time.sleep(0.3)
        c.abort()
        # The half-fed backend connection is never pooled: it is closed, the statement rolled
        # back.
        self.backend_id_gone(backend_id)
        self.assertEqual(self.standin.query("SELECT COUNT(*) FROM test_hostile.li")[0][0], 0)
        # The next client: clean answers, and LOAD DATA LOCAL still works end to end.
        c = RawClient(gate.host, gate.port)
        c.login(harness.ROOT_USER, harness.ROOT_PASSWORD, "test_hostile")
        self.assertNotEqual(int(c.scalar("SELECT CONNECTION_ID()")), backend_id)
        self.assertEqual(c.scalar("SELECT 'clean'"), "clean")
        kind, _ = c.query("LOAD DATA LOCAL INFILE 'rows.csv' INTO TABLE li "
                          "FIELDS TERMINATED BY ','")
        self.assertEqual(kind, "infile")
        c.send_packet("".join(f"{i},row {i}\n" for i in range(300)).encode())
        c.send_packet(b"")
        kind, ok = c.read_result()
        self.assertEqual(kind, "ok")
        self.assertEqual(read_lenenc(ok, 1)[0], 300)
        c.close()
        self.assertEqual(self.standin.query("SELECT COUNT(*) FROM test_hostile.li")[0][0], 300)
        self.assert_alive(gate)

    def test_client_vanishes_mid_result(self):
        gate = self.pool_gate()
        idle_before = len(backend_sessions(self.standin))
        c = RawClient(gate.host, gate.port)
        c.login(harness.ROOT_USER, harness.ROOT_PASSWORD, "test_hostile")
        backend_id = int(c.scalar("SELECT CONNECTION_ID()"))
        c.command(COM_QUERY, b"SELECT id, pad FROM big ORDER BY id")
        ncols = c.read_columns()
        for _ in range(10):
            self.assertIsNotNone(c.read_text_row(ncols))
        c.abort()
        # The backend connection was mid-response: closed, never handed to another client.
        self.backend_id_gone(backend_id)
        for i in range(6):  # more clients than the pool holds: every pooled one is seen
            conn = gate.connect(database="test_hostile", read_timeout=PROMPT)
            with conn.cursor() as cur:
                cur.execute("SELECT %s, CONNECTION_ID()", (i,))
                n, cid = cur.fetchone()
                self.assertEqual(n, i, "a leftover result reached the next client")
                self.assertNotEqual(cid, backend_id)
                cur.execute("SELECT COUNT(*) FROM big")
                self.assertEqual(cur.fetchone()[0], 60000)
            conn.close()
        harness.wait_until(lambda: len(backend_sessions(self.standin)) <= max(idle_before, 4),
                           PROMPT, what="backend sessions back to the idle level")
        self.assert_alive(gate)

    @staticmethod
    def vanish_after(gate, setup):
        """A client runs `setup` and vanishes (TCP reset): its backend connection's id."""
        a = gate.connect(database="test_hostile", autocommit=True, read_timeout=PROMPT)
        with a.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            a_id = cur.fetchone()[0]
            setup(cur)
        abort_pymysql(a)
        return a_id

    def dirty_then_reused(self, gate, setup):
        """Client A runs `setup` and vanishes; returns client B on the backend connection A
        left behind, or None if the pool never offered it again."""
        tried = []
        for _ in range(6):
            a_id = self.vanish_after(gate, setup)
            time.sleep(0.3)  # ghostgate notices and parks the connection
            # autocommit=None: pymysql leaves the session's autocommit as it finds it
            b = gate.connect(database="test_hostile", autocommit=None, read_timeout=PROMPT)
            with b.cursor() as cur:
                cur.execute("SELECT CONNECTION_ID()")
                b_id = cur.fetchone()[0]
            if b_id == a_id:
                return b
            tried.append((a_id, b_id))
            b.close()
        sys.stderr.write(f"\n(A, B) backend connection ids: {tried}\n")
        return None

    def test_reused_connection_is_clean_after_a_client_vanished(self):
        gate = self.pool_gate()
        self.standin.query("CREATE TABLE IF NOT EXISTS test_hostile.leak (id INT PRIMARY KEY)")
        self.standin.query("DELETE FROM test_hostile.leak")

        def dirty(cur):
            cur.execute("SET @leak = 42, SESSION sql_mode = 'ANSI_QUOTES', "
                        "SESSION autocommit = 0")
            cur.execute("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_leak (x INT)")
            cur.execute("PREPARE leaked FROM 'SELECT 1'")
            # No open transaction here: a connection left inside one is closed, never pooled
            # (below, and test_vanished_client_transaction_releases_its_locks).

        b = self.dirty_then_reused(gate, dirty)
        self.assertIsNotNone(b, "the pool never offered the vanished client's connection again")
        with b.cursor() as cur:
            cur.execute("SELECT @leak, @@in_transaction, @@autocommit, @@sql_mode = "
                        "@@GLOBAL.sql_mode")
            self.assertEqual(cur.fetchone(), (None, 0, 1, 1))
            with self.assertRaises(pymysql.err.MySQLError):
                cur.execute("SELECT * FROM tmp_leak")
            with self.assertRaises(pymysql.err.MySQLError):
                cur.execute("EXECUTE leaked")
        b.close()

        # The same with an insert not yet committed (autocommit = 0 opened a transaction): the
        # connection is closed, never offered again (whoever got it next could commit the row,
        # as SET autocommit = 1 does), and the row never reaches the table.
        def dirty_row(cur):
            cur.execute("SET SESSION autocommit = 0")
            cur.execute("INSERT INTO leak VALUES (1)")
            cur.execute("SELECT COUNT(*) FROM leak")
            self.assertEqual(cur.fetchone()[0], 1, "the vanished client's own view")

        self.backend_id_gone(self.vanish_after(gate, dirty_row))
        self.assertEqual(self.standin.query("SELECT COUNT(*) FROM test_hostile.leak")[0][0], 0,
                         "the vanished client's insert was committed")
        self.assert_alive(gate)

    def test_vanished_client_transaction_releases_its_locks(self):
        # A client that disconnects inside a transaction must not leave the backend connection
        # parked in the pool with the transaction open and its row locks held until another
        # client happens to be given it (or idle-timeout). A direct server rolls back at once.
        gate = self.pool_gate()
        self.standin.query("UPDATE test_hostile.acct SET v = 0 WHERE id = 2")
        conn = gate.connect(database="test_hostile", read_timeout=PROMPT)
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("UPDATE acct SET v = v + 1 WHERE id = 2")
        abort_pymysql(conn)
        time.sleep(0.5)
        other = self.standin.connect(database="test_hostile", autocommit=True)
        try:
            with other.cursor() as cur:
                cur.execute("SET SESSION innodb_lock_wait_timeout = 5")
                cur.execute("UPDATE acct SET v = v + 10 WHERE id = 2")  # 1205 if still locked
                cur.execute("SELECT v FROM acct WHERE id = 2")
                self.assertEqual(cur.fetchone()[0], 10, "the vanished transaction committed")
        finally:
            other.close()


if __name__ == "__main__":
    harness.main(ghostgate_only=True)
