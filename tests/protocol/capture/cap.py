# Minimal raw MySQL client used to capture what a real MariaDB 10.11 sends back for every kind of
# response ghostgate's protocol layer reads. Request bytes are built here; response bytes are the
# server's, unmodified. Writes caps.json: name -> {"req": hex, "resp": hex}.
import hashlib, json, socket, struct, sys

HOST, PORT = '127.0.0.1', 33711
CAP = dict(long_password=1, found_rows=2, long_flag=4, connect_with_db=8, local_files=0x80,
           protocol_41=0x200, transactions=0x2000, secure_connection=0x8000,
           multi_statements=0x10000, multi_results=0x20000, ps_multi_results=0x40000,
           plugin_auth=0x80000, plugin_auth_lenenc_data=0x200000, session_track=0x800000,
           deprecate_eof=0x1000000)


def native(password, scramble):
    s1 = hashlib.sha1(password).digest()
    s2 = hashlib.sha1(s1).digest()
    s3 = hashlib.sha1(scramble[:20] + s2).digest()
    return bytes(a ^ b for a, b in zip(s1, s3))


def frame(payload, seq):
    return struct.pack('<I', len(payload))[:3] + bytes([seq]) + payload


class Conn:
    def __init__(self, caps):
        self.s = socket.create_connection((HOST, PORT))
        self.s.settimeout(0.6)
        self.handshake = self.read_idle()
        p = self.handshake[4:]
        ver_end = p.index(b'\0', 1)
        part1 = p[ver_end + 5:ver_end + 13]
        part2 = p[ver_end + 13 + 1 + 2 + 1 + 2 + 2 + 1 + 10:][:12]
        self.scramble = part1 + part2
        proof = native(b'secret', self.scramble)
        self.caps = caps
        resp = struct.pack('<IIB', caps, 1 << 30, 45) + b'\0' * 23 + b'gg\0'
        resp += bytes([len(proof)]) + proof + b'gg\0' + b'mysql_native_password\0'
        self.s.sendall(frame(resp, 1))
        self.auth_ok = self.read_idle()
        assert self.auth_ok[4] == 0, self.auth_ok

    def read_idle(self):
        out = b''
        while True:
            try:
                d = self.s.recv(1 << 20)
            except socket.timeout:
                return out
            if not d:
                return out
            out += d

    def cmd(self, payload, seq=0):
        self.s.sendall(frame(payload, seq))
        return self.read_idle()


def lenenc(n):
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b'\xfc' + struct.pack('<H', n)
    return b'\xfd' + struct.pack('<I', n)[:3]


def main():
    out = {}
    base = (CAP['long_password'] | CAP['found_rows'] | CAP['long_flag'] | CAP['connect_with_db'] |
            CAP['local_files'] | CAP['protocol_41'] | CAP['transactions'] |
            CAP['secure_connection'] | CAP['multi_statements'] | CAP['multi_results'] |
            CAP['ps_multi_results'] | CAP['plugin_auth'] | CAP['session_track'])
    for tag, caps in (('eof', base), ('deof', base | CAP['deprecate_eof'])):
        c = Conn(caps)
        out[f'{tag}.handshake'] = {'req': '', 'resp': c.handshake.hex(),
                                   'scramble': c.scramble.hex()}
        out[f'{tag}.auth_ok'] = {'req': '', 'resp': c.auth_ok.hex()}

        def q(name, sql):
            payload = b'\x03' + sql.encode()
            out[f'{tag}.{name}'] = {'req': payload.hex(), 'resp': c.cmd(payload).hex()}

        q('select_types', 'SELECT * FROM gg.ty')
        q('select_t', 'SELECT id, name, note FROM gg.t ORDER BY id')
        q('update_info', 'UPDATE gg.t SET name = name')
        q('insert', 'INSERT INTO gg.t VALUES (10, "ten", NULL), (11, "eleven", "x")')
        q('delete', 'DELETE FROM gg.t WHERE id >= 10')
        q('err_no_table', 'SELECT * FROM gg.nope')
        q('err_mid_rows', 'SELECT id, (SELECT id FROM gg.t WHERE id > t1.id - 5) FROM gg.t t1')
        q('call_two', 'CALL gg.two()')
        q('multi', 'SELECT 1; SELECT 2')
        q('multi_err', 'SELECT 1; SELECT * FROM gg.nope; SELECT 3')
        q('set_var', 'SET @x = 1')
        q('begin', 'BEGIN')
        q('commit', 'COMMIT')
        q('warning', 'SELECT 1/0')
        q('empty_result', 'SELECT id FROM gg.t WHERE id < 0')
        # Prepared statements.
        def ps(name, payload):
            out[f'{tag}.{name}'] = {'req': payload.hex(), 'resp': c.cmd(payload).hex()}
            return bytes.fromhex(out[f'{tag}.{name}']['resp'])

        r = ps('prepare_select', b'\x16SELECT * FROM gg.ty WHERE i = ? AND vc <> ?')
        sid = struct.unpack('<I', r[5:9])[0]
        r2 = ps('prepare_insert', b'\x16INSERT INTO gg.t VALUES (?, ?, ?)')
        sid2 = struct.unpack('<I', r2[5:9])[0]
        ps('prepare_noparam', b'\x16SELECT 1')
        ps('prepare_err', b'\x16SELECT * FROM gg.nope WHERE x = ?')
        # Execute select: params i INT = 123456, vc VARCHAR 'zzz'.
        ex = (b'\x17' + struct.pack('<IBI', sid, 0, 1) + b'\x00' + b'\x01' +
              b'\x03\x00' + b'\xfd\x00' + struct.pack('<i', 123456) + lenenc(3) + b'zzz')
        ps('execute_select', ex)
        # Execute again without rebinding types (new-params-bound = 0).
        ex2 = (b'\x17' + struct.pack('<IBI', sid, 0, 1) + b'\x00' + b'\x00' +
               struct.pack('<i', 123456) + lenenc(3) + b'zzz')
        ps('execute_select_rebind0', ex2)
        # Insert with a NULL third parameter (bitmap bit 2).
        ex3 = (b'\x17' + struct.pack('<IBI', sid2, 0, 1) + b'\x04' + b'\x01' +
               b'\x08\x00' + b'\x0f\x00' + b'\x06\x00' + struct.pack('<q', 20) + lenenc(6) +
               b'twenty')
        ps('execute_insert', ex3)
        c.cmd(b'\x03DELETE FROM gg.t WHERE id = 20')
        # Every parameter type echoed back.
        types = [
            (0x01, b'\xfb'), (0x01 | 0x8000, b'\xfb'), (0x02, struct.pack('<h', -300)),
            (0x03, struct.pack('<i', -70000)), (0x08, struct.pack('<q', -9000000000)),
            (0x08 | 0x8000, struct.pack('<Q', 18446744073709551615)),
            (0x04, struct.pack('<f', 1.5)), (0x05, struct.pack('<d', -2.25)),
            (0xf6, lenenc(8) + b'1234.567'), (0x0a, b'\x04' + struct.pack('<HBB', 2024, 2, 29)),
            (0x0b, b'\x0c' + struct.pack('<BIBBBI', 1, 34, 22, 59, 58, 123456)),
            (0x0c, b'\x0b' + struct.pack('<HBBBBBI', 2024, 2, 29, 13, 14, 15, 16)),
            (0x07, b'\x07' + struct.pack('<HBBBBB', 2024, 1, 2, 3, 4, 5)),
            (0x0c, b'\x00'), (0x0f, lenenc(5) + b'hello'), (0xfc, lenenc(3) + b'\x00\xff\x10'),
            (0x06, b''), (0x0d, struct.pack('<h', 2024)), (0x09, struct.pack('<i', 1000)),
        ]
        n = len(types)
        r = ps('prepare_echo', b'\x16SELECT ' + b', '.join([b'?'] * n))
        sid3 = struct.unpack('<I', r[5:9])[0]
        bitmap = bytearray((n + 7) // 8)
        for i, (t, v) in enumerate(types):
            if t == 0x06:
                bitmap[i // 8] |= 1 << (i % 8)
        ex4 = (b'\x17' + struct.pack('<IBI', sid3, 0, 1) + bytes(bitmap) + b'\x01' +
               b''.join(struct.pack('<H', t) for t, _ in types) + b''.join(v for _, v in types))
        ps('execute_echo', ex4)
        # Long data for parameter 1 of the insert, then reset; neither has a response (reset has).
        out[f'{tag}.send_long_data'] = {'req': (b'\x18' + struct.pack('<IH', sid2, 1) +
                                                b'long').hex(), 'resp': ''}
        c.s.sendall(frame(bytes.fromhex(out[f'{tag}.send_long_data']['req']), 0))
        ps('stmt_reset', b'\x1a' + struct.pack('<I', sid2))
        # Cursor.
        ex5 = (b'\x17' + struct.pack('<IBI', sid, 1, 1) + b'\x00' + b'\x01' +
               b'\x03\x00' + b'\xfd\x00' + struct.pack('<i', 123456) + lenenc(3) + b'zzz')
        ps('execute_cursor', ex5)
        ps('fetch', b'\x1c' + struct.pack('<II', sid, 1))
        ps('fetch_end', b'\x1c' + struct.pack('<II', sid, 1))
        out[f'{tag}.stmt_close'] = {'req': (b'\x19' + struct.pack('<I', sid)).hex(), 'resp': ''}
        c.s.sendall(frame(bytes.fromhex(out[f'{tag}.stmt_close']['req']), 0))
        ps('execute_closed', ex)
        # Simple commands.
        ps('ping', b'\x0e')
        ps('init_db', b'\x02gg')
        ps('init_db_err', b'\x02nope')
        ps('statistics', b'\x09')
        ps('field_list', b'\x04t\x00')
        ps('reset_connection', b'\x1f')
        # LOCAL INFILE.
        payload = b"\x03LOAD DATA LOCAL INFILE '/tmp/gcap/data.csv' INTO TABLE gg.t2 " \
                  b"FIELDS TERMINATED BY ','"
        c.cmd(b'\x03CREATE TABLE IF NOT EXISTS gg.t2 (id INT, name VARCHAR(10))')
        req = c.cmd(payload)
        data = open('/tmp/gcap/data.csv', 'rb').read()
        c.s.sendall(frame(data, 2) + frame(b'', 3))
        fin = c.read_idle()
        out[f'{tag}.local_infile'] = {'req': payload.hex(), 'resp': req.hex(),
                                      'file': (frame(data, 2) + frame(b'', 3)).hex(),
                                      'resp2': fin.hex()}
        c.cmd(b'\x03DROP TABLE gg.t2')
        # A row larger than 16 MiB.
        c.cmd(b'\x03SET SESSION net_buffer_length = 1048576')
        big = c.cmd(b"\x03SELECT REPEAT('x', 16777300) AS big")
        out[f'{tag}.big_row_meta'] = {'req': '', 'resp': big.hex() if len(big) < 1000 else
                                      (big[:200].hex() + '...' + big[-40:].hex()),
                                      'len': len(big)}
    json.dump(out, open('caps.json', 'w'), indent=1)


main()
