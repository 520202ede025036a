#!/usr/bin/python3
# Writes the seed corpora in fuzz/corpus/<target>/ from the golden vectors the protocol tests use
# (tests/protocol/golden_mariadb.h: real MariaDB 10.11 / libmariadb bytes) plus the MySQL
# documentation examples. Run from anywhere: python3 fuzz/make_corpus.py
import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.path.join(HERE, 'corpus')

CAPS = 0x00000001 | 0x2 | 0x4 | 0x8 | 0x80 | 0x200 | 0x2000 | 0x8000 | 0x10000 | 0x20000 | \
    0x40000 | 0x80000 | 0x800000
DEOF = CAPS | 0x1000000

DOC = {
    'handshake_v10': '0a 35 2e 35 2e 32 2d 6d 32 00 52 00 00 00 22 3d 4e 50 29 75 39 56 00 ff ff 08 02 00 '
                     '00 00 00 00 00 00 00 00 00 00 00 00 00 29 64 40 52 5c 55 78 7a 7c 21 29 4b 00',
    'ok': '00 00 00 02 00 00 00',
    'err': 'ff 48 04 23 48 59 30 30 30 4e 6f 20 74 61 62 6c 65 73 20 75 73 65 64',
    'eof': 'fe 00 00 02 00',
    'param': '03 64 65 66 00 00 00 01 3f 00 0c 3f 00 00 00 00 00 fd 80 00 00 00 00',
}


def load_golden():
    text = open(os.path.join(ROOT, 'tests/protocol/golden_mariadb.h')).read()
    out = {}
    for m in re.finditer(r'inline constexpr std::uint8_t (\w+)\[\] = \{(.*?)\};', text, re.S):
        out[m.group(1)] = bytes(int(x, 16) for x in re.findall(r'0x([0-9a-f]{2})', m.group(2)))
    return out


def packets(stream):
    out, i = [], 0
    while i + 4 <= len(stream):
        n = int.from_bytes(stream[i:i + 3], 'little')
        out.append(stream[i + 4:i + 4 + n])
        i += 4 + n
    return out


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, name), 'wb').write(data)


def main():
    g = load_golden()
    caps = lambda c: struct.pack('<I', c)
    for name, data in g.items():
        if name.endswith('_response') or name.endswith('_frames'):
            write('frame', name, b'\0\0\0\x04' + data)
        if name.endswith('_response'):
            tag = name.split('_')[0]
            c = DEOF if tag == 'deof' else CAPS
            cmd = 0x03
            for key, value in (('prepare', 0x16), ('execute', 0x17), ('fetch', 0x1c),
                               ('ping', 0x0e), ('init_db', 0x02), ('statistics', 0x09),
                               ('field_list', 0x04), ('reset_connection', 0x1f),
                               ('stmt_reset', 0x1a)):
                if key in name:
                    cmd = value
            write('response_tracker', name, bytes([cmd]) + caps(c) + b'\x02\x05\x00\x40\x00' + data)
            for i, p in enumerate(packets(data)):
                if p[:1] in (b'\x00', b'\xfe', b'\xff'):
                    write('ok_err_eof', f'{name}_{i}', caps(c) + p)
                if p[:4] == b'\x03def':
                    write('column', f'{name}_{i}', p)
                if p[:1] == b'\xfb':
                    write('local_infile', f'{name}_{i}', b'\x02\x00\x00' + p)
                if 'prepare' in name and i == 0:
                    write('stmt', name, p)
        if name.endswith('_request'):
            write('stmt', name, data)
            if data[:1] == b'\x17':
                write('stmt_execute', name, struct.pack('<H', 19) + b'\x02\x03\x00\xfd\x00' + data)
                write('stmt_execute', name + '_2', struct.pack('<H', 2) + b'\x02\x03\x00\xfd\x00' + data)
                write('stmt_execute', name + '_3', struct.pack('<H', 3) + b'\x00' + data)
        if name.endswith('upload_frames'):
            write('local_infile', name, b'\x02\x03\x00' + data)
    for name in ('eof_handshake_frames', 'deof_handshake_frames', 'cli_0_server_frames',
                 'lib_0_server_frames'):
        write('handshake_v10', name, g[name][4:])
    write('handshake_v10', 'doc', bytes.fromhex(DOC['handshake_v10']))
    for name in ('cli_1_client_frames', 'lib_1_client_frames', 'cli_ssl_1_client_frames'):
        write('handshake_response', name, g[name][4:])
    write('auth_switch', 'lib_4', g['lib_4_server_frames'][4:])
    write('change_user', 'lib_3', caps(0x00bea28c) + g['lib_3_client_frames'][4:])
    for k in ('ok', 'err', 'eof'):
        write('ok_err_eof', 'doc_' + k, caps(0x200) + bytes.fromhex(DOC[k]))
    write('column', 'doc_param', bytes.fromhex(DOC['param']))
    # Rows: text rows with their column count, binary rows with their types.
    ty_types = [(0x01, 0), (0x02, 0), (0x09, 0), (0x03, 0), (0x08, 0), (0x08, 1), (0x04, 0),
                (0x05, 0), (0xf6, 0), (0x0a, 0), (0x0b, 0), (0x0c, 0), (0x07, 1), (0x0d, 1),
                (0xfd, 0), (0xfc, 0), (0x10, 1), (0xfe, 0), (0x03, 0)]
    types = bytes([len(ty_types)]) + b''.join(bytes(t) for t in ty_types)
    write('text_row', 'ty', bytes([19]) + packets(g['eof_select_types_response'])[21])
    write('text_row', 't', bytes([3]) + packets(g['eof_select_t_response'])[5])
    write('binary_row', 'ty', types + packets(g['eof_fetch_response'])[0])
    write('binary_row', 'doc_foobar', b'\x01\xfd\x00' + bytes.fromhex('00 00 06 66 6f 6f 62 61 72'))


main()
