#!/usr/bin/python3
"""A minimal MySQL 8 server for tests: the caching_sha2_password flows that the MariaDB stand-in
cannot serve (it has no caching_sha2_password server plugin), with real result sets for a few
queries. Runs in threads of the test process on a free 127.0.0.1 port.

    fake = FakeMySQL(tls=True)                        # TLS with harness.make_certs()'s server cert
    fake.add_account("alice", "pw-a")                 # caching_sha2_password (the default)
    fake.add_account("bob", "pw-b", NATIVE)           # mysql_native_password
    fake.start()
    ...                                               # clients or ghostgate talk to fake.port
    fake.auths(user="alice")                          # what happened, per login, in order
    fake.stop()

Stdlib plus python3-cryptography (Debian's /usr/bin/python3 has both).

What it implements, following MySQL 8.0's sql/auth/sql_authentication.cc and sha2_password.cc:

  * HandshakeV10 with protocol 41, CLIENT_PLUGIN_AUTH, CLIENT_SECURE_CONNECTION,
    CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA, CLIENT_CONNECT_ATTRS, CLIENT_DEPRECATE_EOF (unless
    deprecate_eof=False) and CLIENT_SSL (with tls=True); default plugin caching_sha2_password; a
    fresh 20-byte nonce per connection, each byte 1..127 and never '$' (generate_user_salt).
  * SSLRequest: the socket is wrapped with ssl (server side) and the real response read after.
  * caching_sha2_password:
      - empty response: OK only for an account with an empty password;
      - fast authentication: the 32-byte response is XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)) +
        nonce)); it is checked against a server-wide cache of SHA256(SHA256(pw)) per account,
        filled only by a successful full authentication (as MySQL's in-memory cache is; it starts
        empty, and flush_cache() empties it like FLUSH PRIVILEGES). Hit: AuthMoreData 0x03, OK;
        miss or mismatch: AuthMoreData 0x04 (perform full authentication);
      - full authentication over TLS: the next packet is the password + NUL in clear;
      - full authentication over plain TCP: the next packet is either 0x02 (public key request,
        answered with AuthMoreData + PEM) or directly the RSA ciphertext; the ciphertext must be
        exactly the key size, is decrypted with OAEP (SHA-1, as RSA_PKCS1_OAEP_PADDING) and XORed
        with the nonce; the password ends at the first NUL. Like MySQL, a 0x02 sent over TLS is
        not a key request there: it is taken as the (empty) password and refused.
  * mysql_native_password for accounts made with plugin NATIVE.
  * Plugin negotiation at connect: an account whose plugin is not the default one
    (mysql_native_password) always gets an AuthSwitchRequest with the connection's nonce
    (MySQL restarts authentication with the account's plugin, and a restarted plugin that writes
    first always sends the switch). A caching_sha2_password account whose client answered with
    another plugin gets AuthSwitchRequest(caching_sha2_password, the same nonce).
  * COM_CHANGE_USER, as MySQL 8 does for a client with CLIENT_PLUGIN_AUTH: the command's auth
    response is never used. The server restarts authentication with the account's plugin, whose
    first write becomes an AuthSwitchRequest: caching_sha2_password generates a fresh nonce
    each time (which becomes the connection's nonce), mysql_native_password reuses the
    connection's nonce. The client answers the switch and the exchange goes on as at connect
    (fast, or full over TLS or RSA). A failed COM_CHANGE_USER leaves the connection open and
    logged in as the previous user. Without CLIENT_PLUGIN_AUTH the old rules apply: the auth
    response is checked against the current nonce (native accounts only).
  * Unknown users fail like a caching_sha2_password account that never matches (MySQL gives them
    a decoy account): ER_ACCESS_DENIED_ERROR 1045 at the end of the exchange.
  * Commands: COM_QUERY (SELECT CURRENT_USER(), SELECT 1, SELECT CONNECTION_ID(),
    SELECT @@version_comment LIMIT 1, SET AUTOCOMMIT = 0|1; anything else: ERR 1064),
    COM_PING, COM_QUIT, COM_INIT_DB, COM_RESET_CONNECTION (OK), COM_CHANGE_USER; others
    ERR 1047. Result sets honour CLIENT_DEPRECATE_EOF as negotiated.
  * Sequence ids are checked on every packet: a wrong one is a protocol error (recorded,
    ER_NET_PACKETS_OUT_OF_ORDER sent, connection closed). So is a malformed packet, e.g. a
    COM_CHANGE_USER without the attribute block that CLIENT_CONNECT_ATTRS promises (recorded,
    ER_HANDSHAKE_ERROR sent, connection closed; MySQL refuses those too).

What it records (under a lock, read through connections() / auths()): per connection its id,
TLS, peer, the client's capabilities and client name, commands, protocol errors and each login
attempt as an AuthRecord: phase ("connect" / "change_user"), user, account plugin, client
plugin, whether the server switched plugins, the path taken ("fast", "full-tls", "full-rsa",
"native", "empty" or None when it never got that far), whether the public key was requested and
sent, ok, and the error sent. Passwords, nonces and proofs are never recorded or logged.
"""

import hashlib
import os
import socket
import ssl
import struct
import sys
import threading
import time

try:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
except ImportError:  # pragma: no cover - explained to the user
    sys.stderr.write("fake_mysql: python3-cryptography is missing; run with /usr/bin/python3\n")
    raise

CACHING_SHA2 = "caching_sha2_password"
NATIVE = "mysql_native_password"

# Capability flags:
# https://dev.mysql.com/doc/dev/mysql-server/latest/group__group__cs__capabilities__flags.html
CLIENT_LONG_PASSWORD = 1 << 0
CLIENT_FOUND_ROWS = 1 << 1
CLIENT_LONG_FLAG = 1 << 2
CLIENT_CONNECT_WITH_DB = 1 << 3
CLIENT_NO_SCHEMA = 1 << 4
CLIENT_ODBC = 1 << 6
CLIENT_IGNORE_SPACE = 1 << 8
CLIENT_PROTOCOL_41 = 1 << 9
CLIENT_INTERACTIVE = 1 << 10
CLIENT_SSL = 1 << 11
CLIENT_IGNORE_SIGPIPE = 1 << 12
CLIENT_TRANSACTIONS = 1 << 13
CLIENT_RESERVED = 1 << 14
CLIENT_SECURE_CONNECTION = 1 << 15
CLIENT_MULTI_STATEMENTS = 1 << 16
CLIENT_MULTI_RESULTS = 1 << 17
CLIENT_PS_MULTI_RESULTS = 1 << 18
CLIENT_PLUGIN_AUTH = 1 << 19
CLIENT_CONNECT_ATTRS = 1 << 20
CLIENT_PLUGIN_AUTH_LENENC_DATA = 1 << 21
CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS = 1 << 22
CLIENT_DEPRECATE_EOF = 1 << 24

BASE_CAPS = (CLIENT_LONG_PASSWORD | CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB
             | CLIENT_NO_SCHEMA | CLIENT_ODBC | CLIENT_IGNORE_SPACE | CLIENT_PROTOCOL_41
             | CLIENT_INTERACTIVE | CLIENT_IGNORE_SIGPIPE | CLIENT_TRANSACTIONS | CLIENT_RESERVED
             | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS
             | CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS
             | CLIENT_PLUGIN_AUTH_LENENC_DATA | CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS)

SERVER_STATUS_AUTOCOMMIT = 0x0002

COM_QUIT = 0x01
COM_INIT_DB = 0x02
COM_QUERY = 0x03
COM_PING = 0x0e
COM_CHANGE_USER = 0x11
COM_RESET_CONNECTION = 0x1f

ER_ACCESS_DENIED = 1045
ER_UNKNOWN_COM = 1047
ER_PARSE = 1064
ER_NET_PACKETS_OUT_OF_ORDER = 1156
ER_NOT_SUPPORTED_AUTH_MODE = 1251
ER_HANDSHAKE = 1043

CHARSET_UTF8MB4_GENERAL_CI = 45
CHARSET_BINARY = 63
TYPE_LONGLONG = 0x08
TYPE_VAR_STRING = 0xfd

SCRAMBLE_LENGTH = 20
MAX_PACKET = 0xffffff


class ProtocolError(Exception):
    """The peer broke the protocol: recorded, and the connection is closed."""


class Closed(Exception):
    """The peer went away."""


# --------------------------------------------------------------------------------------------
# RSA key pair: one per process (2048-bit generation takes a moment, and a key is no secret
# worth renewing for each fake server).

_rsa_lock = threading.Lock()
_rsa_key = None


def rsa_key():
    global _rsa_key
    with _rsa_lock:
        if _rsa_key is None:
            _rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _rsa_key


def public_key_pem():
    return rsa_key().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)


# --------------------------------------------------------------------------------------------
# hashing

def sha1(b):
    return hashlib.sha1(b).digest()


def sha256(b):
    return hashlib.sha256(b).digest()


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def new_nonce():
    """generate_user_salt: 20 random bytes, 7-bit, never NUL nor '$'."""
    out = bytearray(os.urandom(SCRAMBLE_LENGTH))
    for i, c in enumerate(out):
        c &= 0x7f
        if c in (0, ord("$")):
            c += 1
        out[i] = c
    return bytes(out)


# --------------------------------------------------------------------------------------------
# wire helpers

def lenenc_int(n):
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + struct.pack("<H", n)
    if n < 1 << 24:
        return b"\xfd" + struct.pack("<I", n)[:3]
    return b"\xfe" + struct.pack("<Q", n)


def lenenc_str(b):
    if isinstance(b, str):
        b = b.encode()
    return lenenc_int(len(b)) + b


class Reader:
    """A cursor over one payload; running past the end is a ProtocolError."""

    def __init__(self, data, what):
        self.data = data
        self.pos = 0
        self.what = what

    def remaining(self):
        return len(self.data) - self.pos

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ProtocolError(f"{self.what}: truncated at byte {self.pos} (wanted {n})")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("<H", self.take(2))[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def lenenc(self):
        first = self.u8()
        if first < 0xfb:
            return first
        if first == 0xfc:
            return self.u16()
        if first == 0xfd:
            return int.from_bytes(self.take(3), "little")
        if first == 0xfe:
            return struct.unpack("<Q", self.take(8))[0]
        raise ProtocolError(f"{self.what}: bad length-encoded integer 0x{first:02x}")

    def nul_str(self):
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise ProtocolError(f"{self.what}: string without NUL at byte {self.pos}")
        out = self.data[self.pos:end]
        self.pos = end + 1
        return out

    def rest(self):
        out = self.data[self.pos:]
        self.pos = len(self.data)
        return out


def parse_connect_attrs(block, what):
    """The key/value pairs of a connection attribute block (without its length prefix)."""
    r = Reader(block, what)
    attrs = {}
    while r.remaining():
        key = r.take(r.lenenc())
        attrs[key.decode(errors="replace")] = r.take(r.lenenc()).decode(errors="replace")
    return attrs


class PacketIO:
    """Frames on one socket (plain or TLS), with the sequence id checked on every read."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.seq = 0  # the id the next packet (either direction) carries

    def _recv_exact(self, n):
        # Never more than asked for: a client may send its TLS ClientHello right behind the
        # SSLRequest, and those bytes must stay in the socket for the TLS layer.
        while len(self.buf) < n:
            try:
                chunk = self.sock.recv(n - len(self.buf))
            except (ConnectionError, ssl.SSLError, OSError) as e:
                raise Closed(str(e))
            if not chunk:
                raise Closed(f"closed by peer with {len(self.buf)} of {n} bytes")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read(self):
        payload = b""
        while True:
            h = self._recv_exact(4)
            n = int.from_bytes(h[:3], "little")
            if h[3] != self.seq:
                raise ProtocolError(f"packet out of order: sequence id {h[3]}, expected {self.seq}")
            self.seq = (self.seq + 1) & 0xff
            payload += self._recv_exact(n)
            if n < MAX_PACKET:
                return payload

    def write(self, payload):
        out = bytearray()
        while True:
            chunk, payload = payload[:MAX_PACKET], payload[MAX_PACKET:]
            out += len(chunk).to_bytes(3, "little") + bytes([self.seq]) + chunk
            self.seq = (self.seq + 1) & 0xff
            if len(chunk) < MAX_PACKET:
                break
        self.sock.sendall(bytes(out))

    def start_tls(self, ctx):
        if self.buf:
            raise ProtocolError("bytes after the SSLRequest before the TLS handshake")
        self.sock = ctx.wrap_socket(self.sock, server_side=True)


# --------------------------------------------------------------------------------------------
# records

class Account:
    """A user@'%' account. Only hashes are kept: SHA1(SHA1(pw)) for mysql_native_password,
    SHA256(SHA256(pw)) for caching_sha2_password (MySQL stores a salted crypt digest; the fake
    needs only something to compare a full-auth password against)."""

    def __init__(self, name, password, plugin):
        if plugin not in (CACHING_SHA2, NATIVE):
            raise ValueError(f"unsupported plugin {plugin}")
        pw = password.encode() if isinstance(password, str) else password
        self.name = name
        self.plugin = plugin
        self.empty = not pw
        self.native_stage2 = sha1(sha1(pw)) if pw else b""
        self.sha2_digest = sha256(sha256(pw)) if pw else b""

    def check_cleartext(self, pw):
        if self.plugin != CACHING_SHA2:
            return False
        if not pw:
            return self.empty
        return not self.empty and sha256(sha256(pw)) == self.sha2_digest

    def __repr__(self):
        return f"Account({self.name!r}, {self.plugin})"


class AuthRecord:
    """One login attempt (at connect or by COM_CHANGE_USER). No secrets."""

    def __init__(self, conn_id, phase, user, account_plugin, client_plugin, tls):
        self.conn_id = conn_id
        self.phase = phase
        self.user = user
        self.account_plugin = account_plugin
        self.client_plugin = client_plugin
        self.tls = tls
        self.switched = False        # the server sent an AuthSwitchRequest
        self.switch_plugin = None
        self.path = None             # fast / full-tls / full-rsa / native / empty
        self.key_requested = False   # the client sent 0x02 and got the PEM
        self.ok = False
        self.error = None            # (code, sqlstate, message) sent on failure
        self.password_used = False   # the final response carried a password
        self.done = False
        self._finished = 0.0

    def as_dict(self):
        return dict(vars(self))

    def __repr__(self):
        err = f" error={self.error[0]}" if self.error else ""
        sw = f" switch->{self.switch_plugin}" if self.switched else ""
        return (f"<auth conn={self.conn_id} {self.phase} user={self.user!r} "
                f"account={self.account_plugin} client={self.client_plugin}{sw} "
                f"path={self.path} key_requested={self.key_requested} tls={self.tls} "
                f"ok={self.ok}{err}>")


class ConnRecord:
    def __init__(self, conn_id, peer):
        self.id = conn_id
        self.peer = peer
        self.tls = False
        self.client_caps = 0
        self.client_name = None     # the _client_name connection attribute, if sent
        self.user = None            # logged in as (None before the first successful login)
        self.db = None
        self.auths = []
        self.commands = []          # "query:<text>", "ping", "change_user", ...
        self.protocol_errors = []
        self.closed = False
        self.closed_by_client = False

    def __repr__(self):
        return (f"<conn {self.id} peer={self.peer} tls={self.tls} client={self.client_name} "
                f"user={self.user!r} closed={self.closed} commands={len(self.commands)} "
                f"protocol_errors={self.protocol_errors}>")


# --------------------------------------------------------------------------------------------
# the server

class FakeMySQL:
    """A MySQL 8-like server on 127.0.0.1:<free port>, one thread per connection."""

    def __init__(self, tls=False, deprecate_eof=True, server_version="8.0.36-ghostgate-fake",
                 name="fake-mysql", certs=None):
        self.name = name
        self.host = "127.0.0.1"
        self.port = None
        self.server_version = server_version
        self.deprecate_eof = deprecate_eof
        self.tls = tls
        self.certs = None
        self._ssl_ctx = None
        if tls:
            if certs is None:
                import harness  # the test harness's throwaway CA and 127.0.0.1 certificate
                certs = harness.make_certs()
            self.certs = certs
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(certs["cert"], certs["key"])
            self._ssl_ctx = ctx
        self.capabilities = BASE_CAPS | (CLIENT_DEPRECATE_EOF if deprecate_eof else 0) | (
            CLIENT_SSL if tls else 0)
        self.accounts = {}
        self.default_user = None
        self._default_password = None
        self._cache = {}  # user -> SHA256(SHA256(pw)), filled by successful full authentication
        self._lock = threading.Lock()
        self._conns = []
        self._socks = set()
        self._events = []
        self._next_id = 1
        self._listener = None
        self._thread = None
        self._stopping = False

    def __repr__(self):
        return f"FakeMySQL({self.name}, port={self.port}, tls={self.tls})"

    # ---- configuration

    def add_account(self, name, password, plugin=CACHING_SHA2, default=False):
        """default=True: params() with no user logs in as this account."""
        self.accounts[name] = Account(name, password, plugin)
        if default or self.default_user is None:
            self.default_user, self._default_password = name, password
        return self

    def flush_cache(self):
        """Empties the fast-authentication cache (FLUSH PRIVILEGES does that in MySQL)."""
        with self._lock:
            self._cache.clear()

    def cached_users(self):
        with self._lock:
            return sorted(self._cache)

    # ---- lifecycle

    def start(self):
        rsa_key()  # before the first client waits for it
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, 0))
        s.listen(128)
        self.port = s.getsockname()[1]
        self._listener = s
        self._thread = threading.Thread(target=self._accept_loop, name=f"{self.name}-accept",
                                        daemon=True)
        self._thread.start()
        self._event(f"listening on {self.host}:{self.port} tls={self.tls} "
                    f"deprecate_eof={self.deprecate_eof}")
        return self

    def stop(self):
        self._stopping = True
        if self._listener is not None:
            # shutdown() wakes the accept() blocked in the other thread; close() alone does not.
            for step in (lambda: self._listener.shutdown(socket.SHUT_RDWR), self._listener.close):
                try:
                    step()
                except OSError:
                    pass
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(5)

    def _cleanup(self):  # harness-style name
        self.stop()

    # ---- what clients need (the interface of harness.Standin that harness.Ghostgate uses)

    def params(self, user=None, password=None, database=None):
        user = user or self.default_user
        if password is None:
            password = self._default_password if user == self.default_user else ""
        p = {"host": self.host, "port": self.port, "user": user, "password": password}
        if database:
            p["database"] = database
        return p

    # ---- what tests read

    def connections(self, user=None):
        """Connection records (a snapshot list; the records themselves are live)."""
        with self._lock:
            conns = list(self._conns)
        if user is None:
            return conns
        return [c for c in conns if any(a.user == user for a in c.auths)]

    def connection(self, conn_id):
        for c in self.connections():
            if c.id == conn_id:
                return c
        return None

    def auths(self, user=None, phase=None):
        """Finished login attempts in the order they finished."""
        with self._lock:
            out = [a for c in self._conns for a in c.auths if a.done]
        out.sort(key=lambda a: a._finished)
        return [a for a in out if (user is None or a.user == user)
                and (phase is None or a.phase == phase)]

    def protocol_errors(self):
        return [(c.id, e) for c in self.connections() for e in c.protocol_errors]

    def wait_for_auths(self, n, user=None, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.auths(user=user)
            if len(got) >= n:
                return got
            time.sleep(0.02)
        return self.auths(user=user)

    def logs(self, lines=200):
        with self._lock:
            ev = self._events[-lines:]
        return f"--- {self!r} events\n" + "\n".join(ev)

    def _event(self, text, conn_id=None):
        stamp = time.strftime("%H:%M:%S") + f".{int(time.time() * 1000) % 1000:03d}"
        prefix = f"[{stamp}]" + (f" conn {conn_id}:" if conn_id is not None else "")
        with self._lock:
            self._events.append(f"{prefix} {text}")

    # ---- connections

    def _accept_loop(self):
        while not self._stopping:
            try:
                sock, peer = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(120)
            with self._lock:
                conn_id = self._next_id
                self._next_id += 1
                rec = ConnRecord(conn_id, f"{peer[0]}:{peer[1]}")
                self._conns.append(rec)
                self._socks.add(sock)
            threading.Thread(target=self._serve, args=(sock, rec), name=f"{self.name}-{conn_id}",
                             daemon=True).start()

    def _serve(self, sock, rec):
        io = PacketIO(sock)
        session = _Session(self, io, rec, sock)
        try:
            session.run()
        except Closed as e:
            self._event(f"closed by peer ({e})", rec.id)
        except ProtocolError as e:
            rec.protocol_errors.append(str(e))
            self._event(f"protocol error: {e}", rec.id)
            code = ER_NET_PACKETS_OUT_OF_ORDER if "out of order" in str(e) else ER_HANDSHAKE
            try:
                io.write(err_payload(code, "08S01", "Got packets out of order" if code ==
                                     ER_NET_PACKETS_OUT_OF_ORDER else "Bad handshake"))
            except Exception:
                pass
        except Exception as e:  # a bug in the fake: say so loudly, never hang the client
            rec.protocol_errors.append(f"fake server exception: {e!r}")
            self._event(f"EXCEPTION {e!r}", rec.id)
        finally:
            rec.closed = True
            try:
                io.sock.close()
            except OSError:
                pass
            with self._lock:
                self._socks.discard(sock)

    # ---- auth helpers used by sessions

    def _cache_get(self, user):
        with self._lock:
            return self._cache.get(user)

    def _cache_put(self, user, digest):
        with self._lock:
            self._cache[user] = digest

    def _finish(self, auth):
        with self._lock:
            auth.done = True
            auth._finished = time.monotonic()


def ok_payload(status, affected=0, header=0x00):
    return bytes([header]) + lenenc_int(affected) + lenenc_int(0) + struct.pack("<HH", status, 0)


def err_payload(code, state, message):
    return b"\xff" + struct.pack("<H", code) + b"#" + state.encode() + message.encode()


def eof_payload(status):
    return b"\xfe" + struct.pack("<HH", 0, status)


def column_def(name, is_int):
    return (lenenc_str("def") + lenenc_str("") + lenenc_str("") + lenenc_str("") +
            lenenc_str(name) + lenenc_str("") + lenenc_int(0x0c) +
            struct.pack("<HIBHB", CHARSET_BINARY if is_int else CHARSET_UTF8MB4_GENERAL_CI,
                        21 if is_int else 1024, TYPE_LONGLONG if is_int else TYPE_VAR_STRING,
                        0x8081 if is_int else 0x0001, 0) + b"\0\0")


class _Session:
    """One client connection: handshake, login, commands."""

    def __init__(self, server, io, rec, raw_sock):
        self.server = server
        self.io = io
        self.rec = rec
        self.raw_sock = raw_sock
        self.nonce = new_nonce()
        self.caps = 0
        self.status = SERVER_STATUS_AUTOCOMMIT
        self.peer_ip = rec.peer.rsplit(":", 1)[0]

    def event(self, text):
        self.server._event(text, self.rec.id)

    # ---- connection phase

    def greeting(self):
        caps = self.server.capabilities
        p = b"\x0a" + self.server.server_version.encode() + b"\0"
        p += struct.pack("<I", self.rec.id)
        p += self.nonce[:8] + b"\0"
        p += struct.pack("<H", caps & 0xffff)
        p += bytes([CHARSET_UTF8MB4_GENERAL_CI])
        p += struct.pack("<H", self.status)
        p += struct.pack("<H", caps >> 16)
        p += bytes([SCRAMBLE_LENGTH + 1])
        p += b"\0" * 10
        p += self.nonce[8:] + b"\0"
        p += CACHING_SHA2.encode() + b"\0"
        return p

    def run(self):
        self.io.write(self.greeting())
        packet = self.io.read()
        client_caps = struct.unpack("<I", packet[:4])[0] if len(packet) >= 4 else 0
        if len(packet) == 32 and client_caps & CLIENT_SSL:
            if not self.server._ssl_ctx:
                raise ProtocolError("SSLRequest, but this server offers no TLS")
            try:
                self.io.start_tls(self.server._ssl_ctx)
            except (ssl.SSLError, OSError) as e:
                raise Closed(f"TLS handshake failed: {e}")
            self.rec.tls = True
            self.event("TLS on")
            packet = self.io.read()
        resp = self.parse_handshake_response(packet)
        self.caps = resp["caps"]
        self.rec.client_caps = resp["caps"]
        self.rec.client_name = resp["attrs"].get("_client_name")
        self.event(f"handshake response: user={resp['user']!r} plugin={resp['plugin']!r} "
                   f"db={resp['db']!r} client={self.rec.client_name!r} caps=0x{self.caps:08x}")
        auth = self.authenticate("connect", resp["user"], resp["auth"], resp["plugin"])
        if not auth.ok:
            self.event("login refused: closing")
            return
        self.rec.db = resp["db"] or None
        self.command_loop()

    def parse_handshake_response(self, p):
        r = Reader(p, "HandshakeResponse41")
        caps = r.u32()
        if not caps & CLIENT_PROTOCOL_41:
            raise ProtocolError("client without CLIENT_PROTOCOL_41")
        caps &= self.server.capabilities | CLIENT_SSL
        r.u32()  # max packet size
        r.u8()   # charset
        r.take(23)
        user = r.nul_str().decode(errors="replace")
        if caps & CLIENT_PLUGIN_AUTH_LENENC_DATA:
            auth = r.take(r.lenenc())
        elif caps & CLIENT_SECURE_CONNECTION:
            auth = r.take(r.u8())
        else:
            auth = r.nul_str()
        db = ""
        if caps & CLIENT_CONNECT_WITH_DB and r.remaining():
            db = r.nul_str().decode(errors="replace")
        plugin = NATIVE
        if caps & CLIENT_PLUGIN_AUTH and r.remaining():
            plugin = r.nul_str().decode(errors="replace")
        attrs = {}
        if caps & CLIENT_CONNECT_ATTRS and r.remaining():
            attrs = parse_connect_attrs(r.take(r.lenenc()), "HandshakeResponse41 attributes")
        if r.remaining():
            raise ProtocolError(f"HandshakeResponse41: {r.remaining()} stray bytes at the end")
        return {"caps": caps, "user": user, "auth": auth, "db": db, "plugin": plugin,
                "attrs": attrs}

    # ---- authentication

    def send_switch(self, auth, plugin, data):
        auth.switched = True
        auth.switch_plugin = plugin
        self.event(f"AuthSwitchRequest -> {plugin}")
        self.io.write(b"\xfe" + plugin.encode() + b"\0" + data)
        return self.io.read()

    def more_data(self, data):
        self.io.write(b"\x01" + data)

    def authenticate(self, phase, user, auth_data, client_plugin):
        """One login attempt; sends the final OK or ERR. Returns its AuthRecord."""
        account = self.server.accounts.get(user)
        plugin = account.plugin if account else CACHING_SHA2
        auth = AuthRecord(self.rec.id, phase, user, plugin, client_plugin, self.rec.tls)
        self.rec.auths.append(auth)
        try:
            ok = self._authenticate(auth, account, auth_data, client_plugin)
        except Exception:
            self.server._finish(auth)
            raise
        # Recorded before the last packet goes out: a test reading the records right after
        # its client saw the result finds them complete.
        if ok:
            auth.ok = True
            self.rec.user = user
            final = ok_payload(self.status)
            self.event(f"{phase} ok: user={user!r} path={auth.path} switched={auth.switched}")
        else:
            using = "YES" if auth.password_used else "NO"
            if auth.error is None:
                auth.error = (ER_ACCESS_DENIED, "28000",
                              f"Access denied for user '{user}'@'{self.peer_ip}' "
                              f"(using password: {using})")
            final = err_payload(*auth.error)
            self.event(f"{phase} refused: user={user!r} path={auth.path} error={auth.error[0]}")
        self.server._finish(auth)
        self.io.write(final)
        return auth

    def _authenticate(self, auth, account, data, client_plugin):
        plugin = auth.account_plugin
        plugin_auth = bool(self.caps & CLIENT_PLUGIN_AUTH)
        if auth.phase == "change_user":
            if not plugin_auth:
                # An old client: no switch possible; its response is checked as it is.
                if plugin != NATIVE:
                    auth.error = (ER_NOT_SUPPORTED_AUTH_MODE, "08004",
                                  "Client does not support authentication protocol requested "
                                  "by server; consider upgrading MySQL client")
                    return False
            else:
                # The account's plugin restarts and writes first: always a switch.
                if plugin == CACHING_SHA2:
                    self.nonce = new_nonce()
                data = self.send_switch(auth, plugin, self.nonce + b"\0")
        elif plugin == NATIVE:
            # Not the default plugin: authentication restarts with it, and it writes first.
            data = self.send_switch(auth, NATIVE, self.nonce + b"\0")
        elif client_plugin != CACHING_SHA2:
            data = self.send_switch(auth, CACHING_SHA2, self.nonce + b"\0")
        if plugin == NATIVE:
            return self._native(auth, account, data)
        return self._caching_sha2(auth, account, data)

    def _native(self, auth, account, data):
        auth.path = "native"
        auth.password_used = bool(data)
        if not data:
            return account is not None and account.empty
        if account is None or account.empty or len(data) != SCRAMBLE_LENGTH:
            return False
        stage1 = xor(data, sha1(self.nonce + account.native_stage2))
        return sha1(stage1) == account.native_stage2

    def _caching_sha2(self, auth, account, data):
        user = auth.user
        auth.password_used = bool(data) and data != b"\0"
        if not data or data == b"\0":
            auth.path = "empty"
            return account is not None and account.empty
        if len(data) != 32:
            self.event(f"caching_sha2: response of {len(data)} bytes, not 32")
            return False
        cached = self.server._cache_get(user) if account is not None else None
        if cached is not None:
            candidate = xor(data, sha256(cached + self.nonce))
            if sha256(candidate) == cached:
                auth.path = "fast"
                self.more_data(b"\x03")
                return True
        # Cache miss or mismatch: full authentication.
        self.more_data(b"\x04")
        pkt = self.io.read()
        if not pkt:
            raise ProtocolError("empty packet in caching_sha2 full authentication")
        if self.rec.tls:
            auth.path = "full-tls"
            password = pkt[:-1]  # MySQL takes all but the last byte (the NUL)
        else:
            auth.path = "full-rsa"
            if pkt == b"\x02":
                auth.key_requested = True
                self.more_data(public_key_pem())
                pkt = self.io.read()
            key = rsa_key()
            if len(pkt) != key.key_size // 8:
                self.event(f"caching_sha2: RSA reply of {len(pkt)} bytes, not "
                           f"{key.key_size // 8}")
                return False
            try:
                plain = key.decrypt(pkt, _OAEP)
            except Exception as e:
                self.event(f"caching_sha2: RSA decryption failed ({type(e).__name__})")
                return False
            plain = bytes(b ^ self.nonce[i % SCRAMBLE_LENGTH] for i, b in enumerate(plain))
            password = plain.split(b"\0", 1)[0]
            if not password:
                return False
        if account is None or not account.check_cleartext(password):
            return False
        self.server._cache_put(user, account.sha2_digest)
        return True

    # ---- command phase

    def command_loop(self):
        while True:
            self.io.seq = 0
            packet = self.io.read()
            if not packet:
                raise ProtocolError("empty command packet")
            cmd = packet[0]
            if cmd == COM_QUIT:
                self.rec.commands.append("quit")
                self.rec.closed_by_client = True
                self.event("COM_QUIT")
                return
            if cmd == COM_PING:
                self.rec.commands.append("ping")
                self.io.write(ok_payload(self.status))
            elif cmd == COM_INIT_DB:
                self.rec.db = packet[1:].decode(errors="replace")
                self.rec.commands.append(f"init_db:{self.rec.db}")
                self.io.write(ok_payload(self.status))
            elif cmd == COM_RESET_CONNECTION:
                self.rec.commands.append("reset_connection")
                self.status = SERVER_STATUS_AUTOCOMMIT
                self.io.write(ok_payload(self.status))
            elif cmd == COM_QUERY:
                self.query(packet[1:].decode(errors="replace"))
            elif cmd == COM_CHANGE_USER:
                self.rec.commands.append("change_user")
                self.change_user(packet)
            else:
                self.rec.commands.append(f"command:0x{cmd:02x}")
                self.io.write(err_payload(ER_UNKNOWN_COM, "08S01", "Unknown command"))

    def change_user(self, packet):
        r = Reader(packet, "COM_CHANGE_USER")
        r.u8()
        user = r.nul_str().decode(errors="replace")
        if self.caps & CLIENT_SECURE_CONNECTION:
            data = r.take(r.u8())
        else:
            data = r.nul_str()
        db = r.nul_str().decode(errors="replace")
        plugin = NATIVE
        if r.remaining():
            r.u16()  # character set
            if self.caps & CLIENT_PLUGIN_AUTH:
                plugin = r.nul_str().decode(errors="replace")
            # MySQL requires the attribute block whenever the connection has CLIENT_CONNECT_ATTRS.
            if self.caps & CLIENT_CONNECT_ATTRS:
                if not r.remaining():
                    raise ProtocolError("COM_CHANGE_USER without the connection attribute "
                                        "block the capabilities promise")
                parse_connect_attrs(r.take(r.lenenc()), "COM_CHANGE_USER attributes")
            if r.remaining():
                raise ProtocolError(f"COM_CHANGE_USER: {r.remaining()} stray bytes at the end")
        self.event(f"COM_CHANGE_USER user={user!r} plugin={plugin!r} db={db!r}")
        previous = self.rec.user
        self.status = SERVER_STATUS_AUTOCOMMIT  # the session is reset either way
        auth = self.authenticate("change_user", user, data, plugin)
        if auth.ok:
            self.rec.db = db or None
        else:
            self.rec.user = previous

    def query(self, sql):
        self.rec.commands.append(f"query:{sql}")
        norm = " ".join(sql.strip().rstrip(";").split()).lower()
        user = self.rec.user or ""
        if norm == "select current_user()":
            self.result_set(["CURRENT_USER()"], [[f"{user}@%"]], [False])
        elif norm == "select user()":
            self.result_set(["USER()"], [[f"{user}@{self.peer_ip}"]], [False])
        elif norm == "select 1":
            self.result_set(["1"], [["1"]], [True])
        elif norm == "select connection_id()":
            self.result_set(["CONNECTION_ID()"], [[str(self.rec.id)]], [True])
        elif norm == "select @@version_comment limit 1":
            self.result_set(["@@version_comment"], [["ghostgate test fake"]], [False])
        elif norm.replace(" ", "") in ("setautocommit=0", "setautocommit=1"):
            if norm.endswith("1"):
                self.status |= SERVER_STATUS_AUTOCOMMIT
            else:
                self.status &= ~SERVER_STATUS_AUTOCOMMIT
            self.io.write(ok_payload(self.status))
        else:
            self.event(f"unsupported query: {sql[:80]!r}")
            self.io.write(err_payload(
                ER_PARSE, "42000", "You have an error in your SQL syntax; this fake server "
                "answers only a few queries"))

    def result_set(self, names, rows, is_int):
        deprecate_eof = bool(self.caps & CLIENT_DEPRECATE_EOF)
        self.io.write(lenenc_int(len(names)))
        for name, numeric in zip(names, is_int):
            self.io.write(column_def(name, numeric))
        if not deprecate_eof:
            self.io.write(eof_payload(self.status))
        for row in rows:
            self.io.write(b"".join(b"\xfb" if v is None else lenenc_str(str(v)) for v in row))
        if deprecate_eof:
            self.io.write(ok_payload(self.status, header=0xfe))
        else:
            self.io.write(eof_payload(self.status))
