# A TCP relay that logs the bytes each side sends, per frame, so the captures below come from
# real clients (mariadb CLI, libmariadb) talking to a real MariaDB 10.11.
import json, socket, subprocess, sys, threading, ctypes

UP = ('127.0.0.1', 33711)


def relay_once(port, out, run_client):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('127.0.0.1', port))
    ls.listen(1)
    log = []

    def serve():
        c, _ = ls.accept()
        s = socket.create_connection(UP)

        def pump(a, b, tag):
            try:
                while True:
                    d = a.recv(65536)
                    if not d:
                        break
                    log.append((tag, d.hex()))
                    b.sendall(d)
            except OSError:
                pass
            try:
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        t1 = threading.Thread(target=pump, args=(c, s, 'c'))
        t2 = threading.Thread(target=pump, args=(s, c, 's'))
        t1.start(); t2.start(); t1.join(); t2.join()

    t = threading.Thread(target=serve)
    t.start()
    run_client(port)
    t.join(timeout=5)
    ls.close()
    json.dump(log, open(out, 'w'), indent=1)


def cli(args):
    def run(port):
        subprocess.run(['mariadb', '-h127.0.0.1', '-P%d' % port] + args, check=False)
    return run


def libmariadb_change_user(port):
    lib = ctypes.CDLL('libmariadb.so.3')
    lib.mysql_init.restype = ctypes.c_void_p
    lib.mysql_real_connect.restype = ctypes.c_void_p
    lib.mysql_real_connect.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                       ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint,
                                       ctypes.c_char_p, ctypes.c_ulong]
    lib.mysql_change_user.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                      ctypes.c_char_p]
    lib.mysql_close.argtypes = [ctypes.c_void_p]
    m = lib.mysql_init(None)
    # MYSQL_OPT_SSL_ENFORCE off by default; no TLS so the bytes are readable.
    assert lib.mysql_real_connect(m, b'127.0.0.1', b'gg', b'secret', b'gg', port, None, 0)
    print('change_user rc', lib.mysql_change_user(m, b'gg', b'secret', b'mysql'))
    lib.mysql_close(m)


if __name__ == '__main__':
    relay_once(33712, 'cli_select.json',
               cli(['-ugg', '-psecret', '--ssl=0', '-Dgg', '-e', 'select 1']))
    relay_once(33713, 'cli_ssl.json',
               cli(['-ugg', '-psecret', '--ssl', '--ssl-verify-server-cert=0', '-e', 'select 1']))
    relay_once(33714, 'lib_change_user.json', libmariadb_change_user)
