#!/usr/bin/python3
# Writes the seed corpora in fuzz/corpus/<target>/:
# - protocol targets: from the golden vectors the protocol tests use (tests/protocol/golden_mariadb.h:
#   real MariaDB 10.11 / libmariadb bytes) plus the MySQL documentation examples;
# - lexer, splitter, classifier: statements of ../shared/traces/*/trace.sql (every distinct DDL and
#   a few rows of DML per trace) and the SQL string literals of tests/rules/*_test.cc (the nasty
#   cases: comments between keywords, quoted names, executable comments);
# - online_ddl: gh-ost and pt-osc runs written in the fuzz target's statement grammar (see
#   fuzz/targets/online_ddl.cc), with faults and restarts, and each trace's statement stream;
# - config: config.example.yaml and tests/configs/*.yaml, some with environment overrides.
# - shard_ddl, shard_group: the recorded DDLs (ALTER TABLE, CREATE/DROP INDEX) of every trace
#   (../shared/traces, ../shared/shard-traces, tests/traces) and of tests/rules/shard_*_test.cc,
#   rewritten onto the merge target `shop`.`orders`; the shard traces' per-shard DDLs as shard
#   pairs and as cut-over sequences against stored states; compare_types() texts from
#   tests/rules/shard_ddl_test.cc and the traces' SHOW CREATE TABLE column types;
# - shard_routes: the shard traces' routes.yaml and the rules of tests/rules/shard_routes_test.cc;
# - schema_diff: every SHOW CREATE TABLE of the traces' expected.txt and of
#   tests/rules/schema_diff_test.cc, alone and paired with another print of the same table.
# Inputs a fuzzer found, kept as seeds by hand, are named regression-*: never removed here.
# Run from anywhere: python3 fuzz/make_corpus.py
import glob
import hashlib
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
    auth_seeds(caps)
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


def scramble(n, salt):
    """n bytes shaped like a server's scramble (printable ASCII, never NUL), deterministic."""
    digest = b''
    while len(digest) < n:
        digest += hashlib.sha256((salt + str(len(digest))).encode()).digest()
    return bytes(0x21 + b % 0x5e for b in digest[:n])


def lenenc_str(b):
    assert len(b) < 251
    return bytes([len(b)]) + b


def auth_seeds(caps):
    """AuthSwitchRequests and COM_CHANGE_USERs as the servers and clients we meet send them
    (the protocol pages' layouts; plugin names and scramble sizes of MariaDB 10.11 and MySQL 8)."""
    for name, plugin, data in (
            ('native', b'mysql_native_password', scramble(20, 'native') + b'\0'),
            ('caching_sha2', b'caching_sha2_password', scramble(20, 'sha2') + b'\0'),
            ('sha256', b'sha256_password', scramble(20, 'sha256') + b'\0'),
            ('ed25519', b'client_ed25519', scramble(32, 'ed25519')),
            ('clear', b'mysql_clear_password', b''),
            ('dialog', b'dialog', b'\x04Password: '),
            ('gssapi', b'auth_gssapi_client', b'HTTP/db.example.com@EXAMPLE.COM\0')):
        write('auth_switch', name, b'\xfe' + plugin + b'\0' + data)
    write('auth_switch', 'old_password_request', b'\xfe')  # pre-4.1: no plugin, no data

    # COM_CHANGE_USER: 4 bytes of the connection's capabilities, then the payload.
    attrs = b''.join(lenenc_str(x) for x in (b'_client_name', b'libmysql', b'_os', b'Linux',
                                               b'_pid', b'4242', b'program_name', b'mysql'))
    pymysql_caps = CAPS & ~0x800000  # no CLIENT_SESSION_TRACK
    for name, c, body in (
            # pymysql 1.0 / RawClient of the integration tests
            ('pymysql', pymysql_caps,
             b'tester\0' + lenenc_str(scramble(20, 'cu1')) + b'test\0\x2d\x00'
             b'mysql_native_password\0'),
            # MySQL 8 client: caching_sha2 (32-byte proof), utf8mb4_0900_ai_ci, connect attrs
            ('mysql8_attrs', CAPS | 0x100000 | 0x200000,
             b'alice\0' + lenenc_str(scramble(32, 'cu2')) + b'shop\0\xff\x00'
             b'caching_sha2_password\0' + lenenc_str(attrs)),
            # no password, no database
            ('empty', CAPS, b'root\0\x00\0\x21\x00mysql_native_password\0'),
            # a client without CLIENT_PLUGIN_AUTH: charset, nothing after it
            ('no_plugin', CAPS & ~0x80000, b'bob\0' + lenenc_str(scramble(20, 'cu3')) +
             b'db\0\x08\x00'),
            # without CLIENT_SECURE_CONNECTION the proof is NUL-terminated, no charset follows
            ('insecure', CAPS & ~0x8000, b'carol\0' + scramble(8, 'cu4') + b'\0db\0'),
            # a user name and database in UTF-8, a MariaDB client with attrs
            ('utf8_names', CAPS | 0x100000, 'jos\u00e9\0'.encode() + lenenc_str(
                scramble(20, 'cu5')) + 'caf\u00e9\0'.encode() + b'\x2d\x00'
             b'mysql_native_password\0' + lenenc_str(lenenc_str(b'_client_name') +
                                                     lenenc_str(b'libmariadb')))):
        write('change_user', name, caps(c) + b'\x11' + body)


# ---------------------------------------------------------------------------------------------
# SQL

TRACES = os.path.join(os.path.dirname(ROOT), 'shared', 'traces')


def trace_statements(path):
    """The statements of a trace.sql, honouring the mariadb client's DELIMITER lines."""
    out, buf, delim = [], [], ';'
    for line in open(path, encoding='utf-8', errors='surrogateescape').read().split('\n'):
        if not buf and line.startswith('DELIMITER '):
            delim = line.split()[1]
            continue
        buf.append(line)
        if line.rstrip().endswith(delim):
            text = '\n'.join(buf).rstrip()
            out.append(text[:-len(delim)].strip())
            buf = []
    return out


def trace_samples():
    """Per trace: its statements, keeping every non-DML one and the first 3 of each DML kind."""
    result = {}
    for d in sorted(glob.glob(os.path.join(TRACES, '*', 'trace.sql'))):
        name = os.path.basename(os.path.dirname(d))
        seen = {}
        keep = []
        for st in trace_statements(d):
            word = st.split(None, 1)[0].upper() if st.split() else ''
            if word in ('INSERT', 'UPDATE', 'DELETE', 'BEGIN', 'COMMIT'):
                seen[word] = seen.get(word, 0) + 1
                if seen[word] > 3:
                    continue
            keep.append(st)
        result[name] = keep
    return result


def test_literals():
    """SQL-looking string literals of the rules tests (plain and raw strings)."""
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, 'tests', 'rules', '*_test.cc'))):
        text = open(path, encoding='utf-8').read()
        for m in re.finditer(r'R"\((.*?)\)"', text, re.S):
            out.append(m.group(1))
        for m in re.finditer(r'(?<![R\w])"((?:[^"\\\n]|\\.)*)"', text):
            lit = m.group(1)
            try:
                lit = bytes(lit, 'utf-8').decode('unicode_escape').encode('latin-1').decode(
                    'utf-8', errors='surrogateescape')
            except (UnicodeDecodeError, UnicodeEncodeError):
                continue
            if ' ' in lit and re.search(r'[A-Za-z]{3}', lit):
                out.append(lit)
    return sorted(set(x for x in out if 4 <= len(x) <= 2000))


def b(text):
    return text.encode('utf-8', errors='surrogateescape')


def write_named(target, prefix, data):
    write(target, prefix + '_' + hashlib.sha1(data).hexdigest()[:10], data)


def sql_corpora():
    samples = trace_samples()
    literals = test_literals()
    statements = sorted(set(st for sts in samples.values() for st in sts) | set(literals))
    for st in statements:
        data = b(st)
        write_named('lexer', 'sql', data)
        for db in (0, 6):  # `test` with target `test`.`t`; `we``ird` with target `s`.`a b.c`
            write_named('classifier', 'sql', bytes([db]) + data)
    # Splitter: each trace's sampled stream as COM_QUERY batches of ~20 statements (with the
    # pt-osc trigger bodies), and the test literals as they are.
    for name, sts in samples.items():
        for i in range(0, len(sts), 20):
            write('splitter', f'{name}_{i // 20}', b(';\n'.join(sts[i:i + 20]) + ';\n'))
    for lit in literals:
        write_named('splitter', 'lit', b(lit))


# ---------------------------------------------------------------------------------------------
# online_ddl: the target's grammar (keep in sync with fuzz/targets/online_ddl.cc).

BASES = ['t', 'u', 'parent', 'L62', 'L60', 'we`ird', 'a b', 'T']
FORMS = {'': 0, '_gho': 1, '_ghc': 2, '_del': 3, '_new': 4, '_old': 5, '__new': 6, '__old': 7,
         '_ts_del': 8, '_rev_del': 9, '_ghk': 10, 'cut_new': 11, 'cut_old': 12, 'gho_short': 13,
         'lookalike': 14, 'suffix_only': 15}
OPS = {'create_like': 0, 'create': 1, 'create_temp': 2, 'alter': 3, 'alter_rename': 4,
       'alter_rename_specs': 5, 'rename': 6, 'drop': 7, 'drop_temp': 8, 'insert': 9, 'update': 10,
       'delete': 11, 'create_trigger': 12, 'drop_trigger': 13, 'truncate': 14, 'use': 15,
       'index': 16, 'lock': 17, 'maintenance': 18, 'database': 19, 'load': 20, 'txn': 21,
       'select': 22, 'create_fk': 23}
RESTART, FORGET_CACHE, BACKEND_FAULT, PERSIST_FAULT = 4, 5, 6, 7


def name(base, form='', qual='test', quote=True):
    """Two bytes: base + 8 * form, then qualification (test/db2/none) and quoting."""
    q = {'none': 0, 'test': 1, 'db2': 2}[qual]
    return bytes([BASES.index(base) + 8 * FORMS[form], q | (4 | 8 if quote else 0)])


def op(kind, v=0, style=3, names=(), extra=0, fault_at=0, retry=True):
    out = bytes([OPS[kind] | extra << 5])
    if extra in (BACKEND_FAULT, PERSIST_FAULT):
        out += bytes([fault_at | (0x80 if retry else 0)])
    return out + bytes([style, v]) + b''.join(names)


def drop(names, if_exists=True, comment=True):
    """DROP TABLE: v bit 0 IF EXISTS, bit 3 the server's comment, (v / 2) % 3 + 1 names."""
    for v in range(256):
        if (v & 1) == if_exists and bool(v & 8) == comment and (v // 2) % 3 + 1 == len(names):
            return op('drop', v=v, names=names)
    raise ValueError(names)


def trigger(base, on, into, ins=True):
    """CREATE DEFINER=.. TRIGGER pt_osc_test_<base>_{ins,upd}: v bit 0 pt-osc name, bit 1 _ins,
    bit 2 DEFINER, bits 4-6 the base."""
    return op('create_trigger', v=1 | (2 if ins else 0) | 4 | BASES.index(base) << 4,
              names=[on, into])


def raw(text):
    data = b(text)[:4096]
    return bytes([24, 0, len(data) & 0xff, len(data) >> 8]) + data


def header(tables_mask, dm=False, db='test'):
    flags = (1 if dm else 0) | ({'test': 0, '': 1, 'db2': 2}[db] << 1)
    return bytes([flags]) + struct.pack('<H', tables_mask)


def ghost_run(base='t', cutover='atomic', ddl_ops=((3, 0), (3, 2)), fault=None):
    t, gho, ghc, dele = (name(base), name(base, '_gho'), name(base, '_ghc'),
                         name(base, '_del', qual='none'))
    seq = op('create', names=[ghc]) + op('create_like', names=[gho, t])
    for _, v in ddl_ops:
        seq += op('alter', v=v, names=[gho])
    seq += op('insert', names=[gho]) + op('update', names=[t]) + op('delete', names=[gho])
    seq += op('insert', names=[ghc]) + op('create', names=[name(base, '_del')])
    if cutover == 'atomic':
        extra, at = (fault or (0, 0))
        seq += op('rename', v=1, names=[t, name(base, '_del'), gho, t], extra=extra, fault_at=at)
    else:
        seq += op('alter_rename', v=0, names=[t, dele])
        extra, at = (fault or (0, 0))
        seq += op('alter_rename', v=0, names=[gho, name(base, qual='none')], extra=extra,
                  fault_at=at)
    seq += drop([name(base, '_ghc', qual='none')])
    seq += drop([dele])
    return seq


def ptosc_run(base='t', drop_swap=False, fault=None):
    t, new, old = name(base), name(base, '_new'), name(base, '_old')
    seq = op('create', names=[new]) + op('alter', v=0, names=[new]) + op('alter', v=1, names=[new])
    seq += trigger(base, t, new) + trigger(base, t, new, ins=False)
    seq += op('insert', v=2, names=[new, t]) + op('maintenance', v=3, names=[new, new])
    extra, at = (fault or (0, 0))
    if drop_swap:
        seq += drop([name(base, qual='none')])
        seq += op('rename', v=0, names=[new, t], extra=extra, fault_at=at)
    else:
        seq += op('rename', v=1, names=[t, old, new, t], extra=extra, fault_at=at)
        seq += drop([name(base, '_old', qual='none')])
    seq += op('drop_trigger', v=1 | 2 | 4)
    return seq


def online_ddl_corpus():
    T, U, PARENT, L62, L60 = 1, 2, 4, 8, 16
    runs = {
        'ghost_atomic': header(T) + ghost_run(),
        'ghost_two_step': header(T) + ghost_run(cutover='two_step'),
        'ghost_atomic_backend_fault': header(T) + ghost_run(fault=(BACKEND_FAULT, 1)),
        'ghost_atomic_persist_fault': header(T) + ghost_run(fault=(PERSIST_FAULT, 1)),
        'ghost_two_step_fault': header(T) + ghost_run(cutover='two_step',
                                                      fault=(BACKEND_FAULT, 0)),
        'ghost_aborted_retried': header(T) + ghost_run()[:24] +
        drop([name('t', '_gho')], comment=False) + ghost_run(),
        'ghost_long_name': header(T | L62) + ghost_run(base='L62'),
        'ghost_weird_name': header(T | 32) + ghost_run(base='we`ird'),
        'ghost_dm_rules': header(T, dm=True) + ghost_run(),
        'ghost_restart': header(T) + ghost_run()[:40] + bytes([RESTART << 5]) + ghost_run()[40:],
        'ptosc': header(T) + ptosc_run(),
        'ptosc_drop_swap': header(T | PARENT) + ptosc_run(base='parent', drop_swap=True),
        'ptosc_fault': header(T) + ptosc_run(fault=(BACKEND_FAULT, 1)),
        'ptosc_long_name': header(L62 | L60) + ptosc_run(base='L60') + ptosc_run(base='L62'),
        'use_and_unqualified': header(T | 128, db='') +
        op('use', v=1) + op('create', names=[name('t', '_gho', qual='none')]) +
        op('alter', v=4, names=[name('t', '_gho', qual='none'), name('u', qual='none')]) +
        op('use', v=0) + op('rename', v=0, names=[name('t', '_gho', qual='db2'),
                                                  name('t', qual='db2')]),
        'two_ghosts_one_rename': header(T | U) + op('alter', v=0, names=[name('t', '_gho')]) +
        op('alter', v=6, names=[name('u', '_new')]) +
        op('rename', v=2, names=[name('t', '_gho'), name('t'), name('u', '_new'), name('u'),
                                 name('t'), name('t', '_del')]),
        'drop_database': header(T | 128) + op('alter', v=1, names=[name('t', '_gho')]) +
        op('alter', v=1, names=[name('t', '_gho', qual='db2')]) + op('database', v=1),
    }
    for n, data in runs.items():
        write('online_ddl', n, data)
    # Each trace's statement stream as raw statements (DML thinned out as above).
    for n, sts in trace_samples().items():
        write('online_ddl', 'trace_' + n, header(T | U | PARENT) + b''.join(raw(s) for s in sts))


# ---------------------------------------------------------------------------------------------
# config: YAML, then optionally NUL-separated GHOSTGATE_* environment entries.

def config_corpus():
    files = [os.path.join(ROOT, 'config.example.yaml')] + sorted(
        glob.glob(os.path.join(ROOT, 'tests', 'configs', '*.yaml')))
    for path in files:
        data = open(path, 'rb').read()
        stem = os.path.splitext(os.path.basename(path))[0]
        write('config', stem, data)
    minimal = b'backend:\n  address: 127.0.0.1:4000\n'
    write('config', 'env_overrides', minimal + b'\0POOL_MAX_IDLE=3\0LOG_LEVEL=debug\0'
          b'SHADOW_TABLE_RULES=_(.+)_gho, _(.+)_new\0TRASH_TABLE_RULES=["_(.+)_del"]')
    write('config', 'env_address', b'\0GHOSTGATE_BACKEND_ADDRESS=[::1]:4000\0ADMIN=off')
    write('config', 'password_file', minimal + b'  password-file: secret.txt\n'
          b'  tls:\n    mode: verify-ca\n    ca: ca.pem\n    cert: cert.pem\n    key: key.pem\n'
          b'client-tls:\n  cert: cert.pem\n  key: key.pem\n  ca: ca.pem\n  required: true\n')
    write('config', 'durations_sizes', minimal + b'max-packet-size: 16MiB\ntimeouts:\n'
          b'  handshake: 1m30s\n  backend-read: 1.5s\n  drain: 0\npool:\n  idle-timeout: 500ms\n'
          b'shadow-table-rules: ["^_(.+)_gho$", "(a)(b)"]\ntrash-table-rules: ["(("]\n')


# ---------------------------------------------------------------------------------------------
# Shard merge and revert: shard_ddl, shard_group, shard_routes, schema_diff (fuzz/targets/*.cc
# say how their bytes are read).

SHARD_TRACES = os.path.join(os.path.dirname(ROOT), 'shared', 'shard-traces')
TRACE_DIRS = [TRACES, SHARD_TRACES, os.path.join(ROOT, 'tests', 'traces')]
DDL_HEAD = re.compile(r'^\s*(alter\b|create\s+(unique\s+|fulltext\s+|spatial\s+)?index\b|'
                      r'drop\s+index\b)', re.I)
# The table an ALTER TABLE / ... ON names: rewritten onto the merge target, as rewrite_ddl() does.
DDL_TABLE = re.compile(r'(\btable\s+|\bon\s+)((?:`(?:[^`]|``)*`|[\w$]+)(?:\s*\.\s*'
                       r'(?:`(?:[^`]|``)*`|[\w$]+))?)', re.I)
COLUMN_TYPE = re.compile(r'^\s*`(?:[^`]|``)*`\s+(\w+(?:\([^)]*\))?(?:\s+unsigned)?)', re.M)


def onto_target(ddl):
    return DDL_TABLE.sub(lambda m: m.group(1) + '`shop`.`orders`', ddl, count=1)


def trace_files(name):
    out = []
    for d in TRACE_DIRS:
        out += sorted(glob.glob(os.path.join(d, '*', name)))
    return out


def recorded_ddls():
    """Per trace: its DDL statements on the merge target, in order; and the shard tests'."""
    per_trace = {}
    for path in trace_files('trace.sql'):
        ddls = [onto_target(st) for st in trace_statements(path) if DDL_HEAD.match(st)]
        if ddls:
            per_trace[os.path.basename(os.path.dirname(path))] = ddls
    literals = []
    for path in sorted(glob.glob(os.path.join(ROOT, 'tests', 'rules', 'shard_*_test.cc'))):
        text = open(path, encoding='utf-8').read()
        for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', text):
            lit = bytes(m.group(1), 'utf-8').decode('unicode_escape')
            if DDL_HEAD.match(lit) and ' ' in lit:
                literals.append(onto_target(lit))
    return per_trace, sorted(set(literals))


def show_creates():
    """Every SHOW CREATE TABLE text of the traces' expected.txt and the revert tests."""
    out = []
    for path in trace_files('expected.txt'):
        text = open(path, encoding='utf-8', errors='surrogateescape').read()
        for m in re.finditer(r'-- SHOW CREATE TABLE\n(CREATE TABLE .*?);?\n(?=--|==|$)', text,
                             re.S):
            out.append(m.group(1))
    text = open(os.path.join(ROOT, 'tests', 'rules', 'schema_diff_test.cc'),
                encoding='utf-8').read()
    for m in re.finditer(r'"CREATE TABLE[^"]*"(?:\s*"(?:[^"\\]|\\.)*")*', text):
        pieces = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(0))
        out.append(bytes(''.join(pieces), 'utf-8').decode('unicode_escape'))
    return sorted(set(out))


def type_texts():
    out = set()
    text = open(os.path.join(ROOT, 'tests', 'rules', 'shard_ddl_test.cc'), encoding='utf-8').read()
    for m in re.finditer(r'TypeCase\{"([^"]*)", "([^"]*)"', text):
        out.update(m.groups())
    for create in show_creates():
        out.update(m.group(1) for m in COLUMN_TYPE.finditer(create))
    return sorted(out)


def shard_ddl_corpus(per_trace, literals, types):
    nul = b'\0'
    for i, ddl in enumerate(literals + [d for ds in per_trace.values() for d in ds]):
        # target `shop`.`orders`, schema bits varying (which subjects exist)
        write_named('shard_ddl', 'ddl', bytes([0]) + struct.pack('<Q', i * 0x9e3779b97f4a7c15 %
                                                                    2**64) + b(ddl))
    for name, ddls in per_trace.items():
        # each trace's DDLs as one shard, and against a second shard with the same DDLs
        write('shard_ddl', 'trace_' + name, bytes([0]) + bytes(8) + nul.join(b(d) for d in ddls) +
              nul + b'\x02' + nul + nul.join(b(d) for d in reversed(ddls)))
    for k in range(0, len(types), 6):
        write('shard_ddl', f'types_{k // 6}', bytes([0]) + bytes(8) +
              nul.join(b'\x01' + b(t) for t in types[k:k + 6]))


def state_json(versions, members):
    """A stored shard group of `shop`.`orders`, as ShardGroup::to_json() writes it."""
    import json
    vs = []
    for n, (by, specs) in enumerate(versions, 1):
        vs.append({'number': n, 'by': {'schema': by[0], 'table': by[1]}, 'released': False,
                   'specs': [{'kind': k, 'class': c, 'text': t, 'subject': sub, 'new_name': '',
                              'why': '', 'done': done} for k, c, t, sub, done in specs]})
    ms = [{'schema': s, 'table': t, 'reached': r} for (s, t), r in members]
    return json.dumps({'format': 1, 'target': {'schema': 'shop', 'table': 'orders'},
                       'versions': vs, 'members': ms}, separators=(',', ':')).encode()


def shard_group_corpus(per_trace):
    nul = b'\0'
    note = ('add_column', 'additive', 'ADD COLUMN `note` varchar(20)', 'note', True)
    ix_a = ('add_index', 'additive', 'ADD INDEX `ix_a` (`a`)', 'ix_a', True)
    drop_b = ('drop_column', 'contracting', 'DROP COLUMN `b`', 'b', False)
    s1, s2, s3 = ('shard_1', 'orders_1'), ('shard_2', 'orders_2'), ('shard_3', 'orders_3')
    states = {
        'empty': b'',
        'fresh': state_json([], []),
        'v1_one_member': state_json([(s1, [note, ix_a])], [(s1, 1)]),
        'v1_two_members': state_json([(s1, [note, ix_a])], [(s1, 1), (s2, 0)]),
        'v2_contracting_waits': state_json([(s1, [note, ix_a]), (s2, [drop_b])],
                                           [(s1, 1), (s2, 2)]),
    }

    def cut(member, ddls):
        return nul + b'\x01' + bytes([member]) + b''.join(nul + b(d) for d in ddls)

    shards = {}
    for name, ddls in per_trace.items():
        m = re.match(r'shard-\w+-(\d)', name)
        if m:
            shards[name] = ddls
    contracting = ['ALTER TABLE `shop`.`orders` DROP COLUMN b',
                   'ALTER TABLE `shop`.`orders` MODIFY a bigint NOT NULL']
    for flags_name, flags in (('opt2', 0 | 1 << 2), ('pess3', 1 | 2 << 2), ('list3', 2 | 2 << 2),
                              ('opt3_ix', 0 | 2 << 2 | 0x10)):
        for sname, state in states.items():
            for tname, ddls in shards.items():
                # The trace's DDLs: the first half from shard 1, the rest from shard 2.
                seq = cut(0, ddls[:len(ddls) // 2 or 1]) + cut(1, ddls[len(ddls) // 2:])
                seq += b'\0\x02\x01' + cut(2, ddls[:1]) + cut(1, contracting)
                seq += b'\0\x03\xff\x00' + cut(0, contracting) + cut(2, contracting)
                write('shard_group', f'{flags_name}_{sname}_{tname}', bytes([flags]) + state + seq)


def shard_routes_corpus():
    soh, nul = b'\x01', b'\0'
    rules = []
    for path in sorted(glob.glob(os.path.join(SHARD_TRACES, '*', 'routes.yaml'))):
        text = open(path, encoding='utf-8').read()
        fields = dict(re.findall(r'(schema-pattern|table-pattern|target-schema|target-table): '
                                 r'"([^"]*)"', text))
        rules.append([fields.get(k, '') for k in ('schema-pattern', 'table-pattern',
                                                  'target-schema', 'target-table')])
    text = open(os.path.join(ROOT, 'tests', 'rules', 'shard_routes_test.cc'),
                encoding='utf-8').read()
    for m in re.finditer(r'\{"[^"]*", "([^"]*)", "([^"]*)", "([^"]*)", "([^"]*)"\}', text):
        rules.append(list(m.groups()))
    names = [m.groups() for m in re.finditer(r'RouteCase\{"([^"]*)", "([^"]*)"', text)]
    names += [('shard_1', 'orders_1'), ('shard_2', '_orders_2_gho'), ('SHARD_3', 'Orders_3')]
    queries = nul.join(b(s) + soh + b(t) for s, t in names)
    for i, r in enumerate(rules):
        write('shard_routes', f'rule_{i}', b'\0' + soh.join(b(x) for x in r) + nul + nul + queries)
    for cs in (0, 1):
        write('shard_routes', f'all_{cs}', bytes([cs]) + nul.join(
            soh.join(b(x) for x in r) for r in rules[:8]) + nul + nul + queries)


def schema_diff_corpus():
    creates = show_creates()
    for c in creates:
        write_named('schema_diff', 'same', b'\0' + b(c) + b'\0' + b(c))
    by_table = {}
    for c in creates:
        by_table.setdefault(c.split('(', 1)[0], []).append(c)
    for group in by_table.values():
        for x, y in zip(group, group[1:]):
            write_named('schema_diff', 'pair', b'\0' + b(x) + b'\0' + b(y))
            write_named('schema_diff', 'pair', b'\0' + b(y) + b'\0' + b(x))


def main_all():
    main()
    # These corpora are generated (names are content hashes): start them afresh so a changed
    # trace or test leaves no stale seed behind. Inputs a fuzzer found (regression-*) stay.
    for target in ('lexer', 'splitter', 'classifier', 'online_ddl', 'config', 'shard_ddl',
                   'shard_group', 'shard_routes', 'schema_diff'):
        d = os.path.join(CORPUS, target)
        if os.path.isdir(d):
            for f in os.listdir(d):
                if not f.startswith('regression-'):
                    os.remove(os.path.join(d, f))
    sql_corpora()
    online_ddl_corpus()
    config_corpus()
    per_trace, literals = recorded_ddls()
    shard_ddl_corpus(per_trace, literals, type_texts())
    shard_group_corpus(per_trace)
    shard_routes_corpus()
    schema_diff_corpus()


main_all()
