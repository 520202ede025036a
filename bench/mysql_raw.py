"""A minimal MySQL client on raw sockets for bench/compare.sh (stdlib only).

Fast where the benchmark needs it: result rows and LOCAL INFILE data are never copied or
decoded by Python. Reads go into one large reused buffer with recv_into() and only frame
headers are looked at; uploads go out with sendmsg() straight from a memoryview. So the
client costs a few Python operations per socket read (or per 1 MiB packet), not per byte,
and the direct (no proxy) figure in the report shows its ceiling.

Login: mysql_native_password (the stand-in's users), with an auth switch if asked.
"""

import hashlib
import socket
import struct

CLIENT_LONG_PASSWORD = 1 << 0
CLIENT_LONG_FLAG = 1 << 2
CLIENT_CONNECT_WITH_DB = 1 << 3
CLIENT_LOCAL_FILES = 1 << 7
CLIENT_PROTOCOL_41 = 1 << 9
CLIENT_TRANSACTIONS = 1 << 13
CLIENT_SECURE_CONNECTION = 1 << 15
CLIENT_MULTI_STATEMENTS = 1 << 16
CLIENT_MULTI_RESULTS = 1 << 17
CLIENT_PLUGIN_AUTH = 1 << 19
SERVER_MORE_RESULTS_EXISTS = 0x0008

COM_QUIT = 0x01
COM_QUERY = 0x03
COM_PING = 0x0E

MAX_FRAME = 0xFFFFFF


class MySQLError(Exception):
    pass


def add_connection_args(parser):
    """--host/--port/--user/--password for the bench scripts (defaults: the stand-in's root)."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", default="rootpw")


def native_password(password, scramble):
    if not password:
        return b""
    p1 = hashlib.sha1(password.encode()).digest()
    p2 = hashlib.sha1(p1).digest()
    p3 = hashlib.sha1(scramble + p2).digest()
    return bytes(a ^ b for a, b in zip(p1, p3))


class Connection:
    def __init__(self, host, port, user, password, database=None, buffer_size=8 << 20,
                 timeout=600, multi_statements=False):
        self.multi_statements = multi_statements
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray(buffer_size)
        self.mv = memoryview(self.buf)
        self.start = 0
        self.end = 0
        self.seq = 0
        self._login(user, password, database)

    # ---- buffered reading

    def _fill(self):
        if self.start == self.end:
            self.start = self.end = 0
        elif self.end == len(self.buf):
            n = self.end - self.start
            self.buf[0:n] = self.buf[self.start:self.end]
            self.start, self.end = 0, n
        got = self.sock.recv_into(self.mv[self.end:])
        if got == 0:
            raise MySQLError("connection closed by server")
        self.end += got

    def _need(self, n):
        while self.end - self.start < n:
            self._fill()

    def _header(self):
        self._need(4)
        b = self.buf
        s = self.start
        length = b[s] | (b[s + 1] << 8) | (b[s + 2] << 16)
        self.seq = (b[s + 3] + 1) & 0xFF
        self.start += 4
        return length

    def _skip(self, n):
        while n > 0:
            if self.start == self.end:
                self._fill()
            k = min(n, self.end - self.start)
            self.start += k
            n -= k

    def read_packet(self):
        """One whole packet (continuation frames joined); for small packets only."""
        out = b""
        while True:
            length = self._header()
            self._need(length)
            out += bytes(self.mv[self.start:self.start + length])
            self.start += length
            if length < MAX_FRAME:
                return out

    # ---- writing

    def write_packet(self, payload, seq=None):
        if seq is not None:
            self.seq = seq
        view = memoryview(payload)
        pos = 0
        while True:
            n = min(len(view) - pos, MAX_FRAME)
            header = struct.pack("<I", n)[:3] + bytes([self.seq])
            self.seq = (self.seq + 1) & 0xFF
            self._sendall([header, view[pos:pos + n]])
            pos += n
            if n < MAX_FRAME:
                return

    def _sendall(self, parts):
        parts = [memoryview(p) for p in parts if len(p)]
        while parts:
            sent = self.sock.sendmsg(parts)
            while parts and sent >= len(parts[0]):
                sent -= len(parts[0])
                parts.pop(0)
            if sent:
                parts[0] = parts[0][sent:]

    # ---- login

    def _login(self, user, password, database):
        greeting = self.read_packet()
        if greeting[0] == 0xFF:
            raise MySQLError(self._error_text(greeting))
        pos = greeting.index(b"\0", 1) + 1  # server version
        pos += 4  # connection id
        scramble = greeting[pos:pos + 8]
        pos += 8 + 1
        server_caps = struct.unpack_from("<H", greeting, pos)[0]
        pos += 2 + 1 + 2
        server_caps |= struct.unpack_from("<H", greeting, pos)[0] << 16
        pos += 2
        auth_len = greeting[pos]
        pos += 1 + 10
        if server_caps & CLIENT_SECURE_CONNECTION:
            n = max(13, auth_len - 8)
            scramble += greeting[pos:pos + n - 1]
        caps = (CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_LOCAL_FILES | CLIENT_PROTOCOL_41
                | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH)
        if database:
            caps |= CLIENT_CONNECT_WITH_DB
        if self.multi_statements:
            caps |= CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS
        caps &= server_caps | CLIENT_LONG_PASSWORD
        auth = native_password(password, scramble)
        body = struct.pack("<IIB", caps, 1 << 30, 45) + b"\0" * 23
        body += user.encode() + b"\0" + bytes([len(auth)]) + auth
        if database:
            body += database.encode() + b"\0"
        body += b"mysql_native_password\0"
        self.write_packet(body)
        while True:
            reply = self.read_packet()
            if reply[0] == 0x00:
                return
            if reply[0] == 0xFF:
                raise MySQLError(self._error_text(reply))
            if reply[0] == 0xFE:  # auth switch request
                end = reply.index(b"\0", 1)
                plugin = reply[1:end].decode()
                data = reply[end + 1:].rstrip(b"\0")
                if plugin != "mysql_native_password":
                    raise MySQLError(f"unsupported auth plugin {plugin}")
                self.write_packet(native_password(password, data))
                continue
            raise MySQLError(f"unexpected login packet 0x{reply[0]:02x}")

    @staticmethod
    def _error_text(payload):
        code = struct.unpack_from("<H", payload, 1)[0]
        msg = payload[3:]
        if msg[:1] == b"#":
            msg = msg[6:]
        return f"ERROR {code}: {msg.decode(errors='replace')}"

    # ---- commands

    def _command(self, cmd, arg=b""):
        self.write_packet(bytes([cmd]) + arg, seq=0)

    def query(self, sql):
        """Runs a statement; returns (rows, payload bytes of the rows) of a result set, or
        (affected rows, 0) for an OK. Rows are counted, not decoded."""
        self._command(COM_QUERY, sql.encode())
        return self._read_result()

    def query_all(self, sql):
        """Runs a statement or, with multi_statements, several separated by `;`: reads every
        result. Returns how many results came back; raises on the first ERR."""
        self._command(COM_QUERY, sql if isinstance(sql, bytes) else sql.encode())
        results = 0
        while True:
            first = self.read_packet()
            results += 1
            if first[0] == 0x00:
                _, pos = _lenenc(first, 1)
                _, pos = _lenenc(first, pos)
                status = first[pos] | (first[pos + 1] << 8)
            elif first[0] == 0xFF:
                raise MySQLError(self._error_text(first))
            else:
                columns, _ = _lenenc(first, 0)
                for _ in range(columns + 1):
                    self.read_packet()
                while True:
                    row = self.read_packet()
                    if row[0] == 0xFE and len(row) < 9:
                        status = row[3] | (row[4] << 8)
                        break
            if not status & SERVER_MORE_RESULTS_EXISTS:
                return results

    def ping(self):
        self._command(COM_PING)
        reply = self.read_packet()
        if reply[0] != 0x00:
            raise MySQLError("ping failed")

    def _read_result(self):
        first = self.read_packet()
        if first[0] == 0x00:
            affected, _ = _lenenc(first, 1)
            return affected, 0
        if first[0] == 0xFF:
            raise MySQLError(self._error_text(first))
        if first[0] == 0xFB:
            raise MySQLError("unexpected LOCAL INFILE request")
        columns, _ = _lenenc(first, 0)
        for _ in range(columns):
            self.read_packet()
        eof = self.read_packet()  # CLIENT_DEPRECATE_EOF is never requested
        if eof[0] != 0xFE:
            raise MySQLError("expected EOF after column definitions")
        return self._skip_rows()

    def _skip_rows(self):
        """Counts the rows without copying them: only each packet's header and first byte
        are read; payloads are skipped in place in the receive buffer."""
        rows = 0
        nbytes = 0
        while True:
            length = self._header()
            if length < 9:
                self._need(length)
                first = self.buf[self.start] if length else 0
                if first == 0xFE:
                    self.start += length
                    return rows, nbytes
            if length and length < MAX_FRAME:
                self._need(1)
                if self.buf[self.start] == 0xFF:
                    self._need(length)
                    payload = bytes(self.mv[self.start:self.start + length])
                    self.start += length
                    raise MySQLError(self._error_text(payload))
            self._skip(length)
            nbytes += length
            # A row of 16 MiB or more continues in the next frame(s).
            while length == MAX_FRAME:
                length = self._header()
                self._skip(length)
                nbytes += length
            rows += 1

    def load_data_local(self, sql, data, packet_size=1 << 20):
        """LOAD DATA LOCAL INFILE: sends `data` (bytes-like) as the file, in packets of
        `packet_size` bytes, when the server asks for it. Returns affected rows."""
        self._command(COM_QUERY, sql.encode())
        request = self.read_packet()
        if request[0] == 0xFF:
            raise MySQLError(self._error_text(request))
        if request[0] != 0xFB:
            raise MySQLError(f"expected a LOCAL INFILE request, got 0x{request[0]:02x}")
        view = memoryview(data)
        for pos in range(0, len(view), packet_size):
            self.write_packet(view[pos:pos + packet_size])
        self.write_packet(b"")
        reply = self.read_packet()
        if reply[0] == 0xFF:
            raise MySQLError(self._error_text(reply))
        affected, _ = _lenenc(reply, 1)
        return affected

    def close(self):
        try:
            self._command(COM_QUIT)
        except OSError:
            pass
        self.sock.close()


def _lenenc(b, pos):
    first = b[pos]
    if first < 0xFB:
        return first, pos + 1
    if first == 0xFC:
        return struct.unpack_from("<H", b, pos + 1)[0], pos + 3
    if first == 0xFD:
        return b[pos + 1] | (b[pos + 2] << 8) | (b[pos + 3] << 16), pos + 4
    if first == 0xFE:
        return struct.unpack_from("<Q", b, pos + 1)[0], pos + 9
    raise MySQLError("bad length-encoded integer")
