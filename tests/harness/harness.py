#!/usr/bin/python3
"""Integration-test harness: a private MariaDB stand-in and a ghostgate process in front of it.

Runs under Debian's /usr/bin/python3 (stdlib + python3-pymysql).

    standin = Standin(tls=True).start()      # private mariadbd on a free loopback port
    gate = Ghostgate(standin, pool={"max-connections": 8}).start()
    target = make_target(standin)             # direct or through ghostgate, per GHOSTGATE_IT_MODE
    conn = target.connect()

Everything started here is stopped when the process exits (atexit + SIGTERM/SIGINT/SIGHUP
handlers), and children also get SIGKILL from the kernel if this process dies without cleaning
up (PR_SET_PDEATHSIG). Nothing ever listens on anything but 127.0.0.1.

Mode selection, for the test files in tests/integration:
    GHOSTGATE_IT_MODE=direct      clients talk to the stand-in itself (validates the tests)
    GHOSTGATE_IT_MODE=ghostgate   clients talk to ghostgate in front of the stand-in (default)
or the arguments --direct / --ghostgate to a test file run through harness.main().

Other environment variables:
    GHOSTGATE_BIN        the ghostgate binary (default <repo>/build/ghostgate)
    GHOSTGATE_TEST_TMP   parent directory for temp dirs (default: the system temp dir)
    GHOSTGATE_KEEP_TMP=1 keep the temp dirs (logs, datadirs, configs) for inspection

Command line (for humans and scripts/standin.sh):
    harness.py standin start [--dir DIR] [--tls] [--log-bin] [--port P]   # stays running
    harness.py standin stop [--dir DIR]
"""

import atexit
import contextlib
import ctypes
import fcntl
import hashlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

try:
    import pymysql
except ImportError:  # pragma: no cover - explained to the user
    sys.stderr.write(
        "harness: pymysql is missing; install python3-pymysql (scripts/deps.sh) and run with "
        "/usr/bin/python3\n")
    raise

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

ROOT_USER = "root"
ROOT_PASSWORD = "rootpw"
TEST_USER = "tester"
TEST_PASSWORD = "testpw"
# ghostgate's own account (backend.user): meta table and health checks, never the clients'.
GATE_USER = "ggadmin"
GATE_PASSWORD = "ggadminpw"

MODE_DIRECT = "direct"
MODE_GHOSTGATE = "ghostgate"


class HarnessError(RuntimeError):
    """A server could not be started or stopped. Tests that hit this FAIL; nothing is skipped."""


# --------------------------------------------------------------------------------------------
# process bookkeeping and cleanup

_live = []  # objects with ._cleanup(), stopped at exit in reverse order
_live_lock = threading.Lock()
_tmp_dirs = []
_cleaned = False


def _cleanup_all():
    global _cleaned
    if _cleaned:
        return
    _cleaned = True
    with _live_lock:
        items = list(reversed(_live))
        _live.clear()
    for item in items:
        try:
            item._cleanup()
        except Exception as e:  # keep going: every process must be stopped
            sys.stderr.write(f"harness: cleanup of {item!r} failed: {e}\n")
    if os.environ.get("GHOSTGATE_KEEP_TMP") != "1":
        for d in _tmp_dirs:
            shutil.rmtree(d, ignore_errors=True)
    else:
        for d in _tmp_dirs:
            sys.stderr.write(f"harness: kept {d}\n")


def _on_signal(signum, frame):
    _cleanup_all()
    # Re-raise the default behaviour so the exit status says what happened.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers():
    atexit.register(_cleanup_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _on_signal)
        # SIGINT stays a KeyboardInterrupt (so `finally` blocks run), but make sure that after it
        # the atexit hook still runs: it does, Python runs atexit on KeyboardInterrupt exits.


_install_handlers()


def _register(obj):
    with _live_lock:
        _live.append(obj)


def _unregister(obj):
    with _live_lock:
        if obj in _live:
            _live.remove(obj)


_libc = None


def _die_with_parent():
    """preexec_fn: the kernel SIGKILLs the child when the harness process dies."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL("libc.so.6", use_errno=True)
        _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


# ghostgate reads GHOSTGATE_<KEY> variables as config overrides and warns about the others;
# the test runner's own are not for it (a test that sets GHOSTGATE_<KEY> still passes it on).
RUNNER_ENV = ("GHOSTGATE_BENCH", "GHOSTGATE_BIN", "GHOSTGATE_CAPI_CLIENT",
              "GHOSTGATE_CPPCONN_CLIENT", "GHOSTGATE_KEEP_TMP", "GHOSTGATE_PS_REPLAY",
              "GHOSTGATE_SANITIZE", "GHOSTGATE_SECRETS_PRUNE", "GHOSTGATE_SECRETS_SCAN",
              "GHOSTGATE_TOOLS_DIR")
RUNNER_ENV_PREFIXES = ("GHOSTGATE_IT_", "GHOSTGATE_TEST_")


def gate_environment():
    return {k: v for k, v in os.environ.items()
            if k not in RUNNER_ENV and not k.startswith(RUNNER_ENV_PREFIXES)}


def make_tmp_dir(prefix="ghostgate-it-"):
    parent = os.environ.get("GHOSTGATE_TEST_TMP") or None
    if parent:
        os.makedirs(parent, exist_ok=True)
    d = tempfile.mkdtemp(prefix=prefix, dir=parent)
    _tmp_dirs.append(d)
    return d


_session_dir = None
_dir_counter = itertools.count(1)


def unique_name(name):
    """NAME-PID-N: never reused within a process (id() of a collected object can be)."""
    return f"{name}-{os.getpid()}-{next(_dir_counter)}"


def session_dir():
    """One temp dir per harness process; every server of this process lives below it."""
    global _session_dir
    if _session_dir is None:
        _session_dir = make_tmp_dir()
    return _session_dir


def free_port():
    """A loopback port nobody listens on right now. Callers retry on a lost race."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path, lines=60):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


def which_or_fail(name, hint):
    path = shutil.which(name)
    if not path:
        raise HarnessError(f"{name} not found in PATH; {hint}")
    return path


# --------------------------------------------------------------------------------------------
# TLS material

_certs = None
_certs_lock = threading.Lock()


def make_certs(directory=None):
    """A throwaway CA and a server certificate for 127.0.0.1/localhost, made with openssl.

    Returns a dict with paths: ca, ca_key, cert, key (server), dir. One set per process.
    """
    global _certs
    with _certs_lock:
        if _certs is not None and directory is None:
            return _certs
        d = directory or os.path.join(session_dir(), "tls")
        os.makedirs(d, exist_ok=True)
        openssl = which_or_fail("openssl", "run scripts/deps.sh")
        p = {k: os.path.join(d, f) for k, f in
             (("ca", "ca.pem"), ("ca_key", "ca-key.pem"), ("cert", "server-cert.pem"),
              ("key", "server-key.pem"), ("csr", "server.csr"), ("ext", "server.ext"))}

        def run(*args):
            r = subprocess.run([openssl, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=60)
            if r.returncode != 0:
                raise HarnessError(f"openssl {' '.join(args)} failed:\n{r.stdout.decode()}")

        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=ghostgate-test-ca", "-keyout", p["ca_key"], "-out", p["ca"])
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", p["key"],
            "-out", p["csr"])
        with open(p["ext"], "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "basicConstraints=CA:FALSE\n"
                    "keyUsage=digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n")
        run("x509", "-req", "-in", p["csr"], "-CA", p["ca"], "-CAkey", p["ca_key"],
            "-CAcreateserial", "-days", "2", "-extfile", p["ext"], "-out", p["cert"])
        certs = {"ca": p["ca"], "ca_key": p["ca_key"], "cert": p["cert"], "key": p["key"],
                 "dir": d}
        if directory is None:
            _certs = certs
        return certs


# --------------------------------------------------------------------------------------------
# MariaDB stand-in

INIT_SQL = f"""
FLUSH PRIVILEGES;
CREATE OR REPLACE USER '{ROOT_USER}'@'127.0.0.1'
  IDENTIFIED VIA mysql_native_password USING PASSWORD('{ROOT_PASSWORD}');
GRANT ALL PRIVILEGES ON *.* TO '{ROOT_USER}'@'127.0.0.1' WITH GRANT OPTION;
CREATE OR REPLACE USER '{ROOT_USER}'@'%'
  IDENTIFIED VIA mysql_native_password USING PASSWORD('{ROOT_PASSWORD}');
GRANT ALL PRIVILEGES ON *.* TO '{ROOT_USER}'@'%' WITH GRANT OPTION;
CREATE OR REPLACE USER '{TEST_USER}'@'%'
  IDENTIFIED VIA mysql_native_password USING PASSWORD('{TEST_PASSWORD}');
GRANT ALL PRIVILEGES ON `test%`.* TO '{TEST_USER}'@'%';
CREATE OR REPLACE USER '{GATE_USER}'@'%'
  IDENTIFIED VIA mysql_native_password USING PASSWORD('{GATE_PASSWORD}');
GRANT ALL PRIVILEGES ON `dm_meta`.* TO '{GATE_USER}'@'%';
CREATE DATABASE IF NOT EXISTS test;
"""

# Small and quick: these servers hold test data only.
FAST_ARGS = [
    "--innodb-buffer-pool-size=64M",
    "--innodb-log-file-size=16M",
    "--innodb-flush-log-at-trx-commit=2",
    "--skip-name-resolve",
    "--max-connections=1000",
    "--local-infile=1",
    "--max-allowed-packet=64M",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_general_ci",
    "--performance-schema=OFF",
]


def _mariadbd():
    for cand in ("mariadbd", "/usr/sbin/mariadbd", "mysqld", "/usr/sbin/mysqld"):
        path = shutil.which(cand) or (cand if os.path.isabs(cand) and os.access(cand, os.X_OK)
                                      else None)
        if path:
            return path
    raise HarnessError("mariadbd not found; install mariadb-server (scripts/deps.sh)")


def _server_version(mariadbd):
    r = subprocess.run([mariadbd, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30)
    return r.stdout.decode(errors="replace").strip()


def template_datadir():
    """A datadir made by mariadb-install-db plus our users, built once and shared.

    Cached in <tmp>/ghostgate-standin-template-<hash> (hash of the server version and INIT_SQL),
    guarded by a file lock so parallel test processes build it once. Callers copy it.
    """
    mariadbd = _mariadbd()
    key = hashlib.sha256((_server_version(mariadbd) + INIT_SQL + " ".join(FAST_ARGS))
                         .encode()).hexdigest()[:16]
    parent = os.environ.get("GHOSTGATE_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(parent, exist_ok=True)
    final = os.path.join(parent, f"ghostgate-standin-template-{key}")
    done_marker = os.path.join(final, ".ghostgate-template-ok")
    if os.path.exists(done_marker):
        return final
    lock_path = final + ".lock"
    with open(lock_path, "w") as lock:
        deadline = time.monotonic() + 180
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise HarnessError(f"timed out waiting for lock {lock_path}")
                time.sleep(0.1)
        try:
            if os.path.exists(done_marker):
                return final
            build = tempfile.mkdtemp(prefix="ghostgate-template-build-", dir=parent)
            try:
                datadir = os.path.join(build, "data")
                install = which_or_fail("mariadb-install-db",
                                        "install mariadb-server (scripts/deps.sh)")
                log = os.path.join(build, "install.log")
                with open(log, "wb") as out:
                    r = subprocess.run(
                        [install, "--no-defaults", f"--datadir={datadir}", "--user=root",
                         "--auth-root-authentication-method=normal", "--skip-test-db",
                         "--skip-name-resolve", "--innodb-log-file-size=16M",
                         "--innodb-buffer-pool-size=64M"],
                        stdout=out, stderr=subprocess.STDOUT, timeout=120)
                if r.returncode != 0:
                    raise HarnessError(f"mariadb-install-db failed:\n{tail(log)}")
                with open(log, "ab") as out:
                    r = subprocess.run(
                        [mariadbd, "--no-defaults", "--bootstrap", f"--datadir={datadir}",
                         "--user=root", "--innodb-log-file-size=16M",
                         "--innodb-buffer-pool-size=64M"],
                        input=INIT_SQL.encode(), stdout=out, stderr=subprocess.STDOUT,
                        timeout=120)
                if r.returncode != 0:
                    raise HarnessError(f"mariadbd --bootstrap (users) failed:\n{tail(log)}")
                with open(os.path.join(datadir, ".ghostgate-template-ok"), "w") as f:
                    f.write("ok\n")
                shutil.rmtree(final, ignore_errors=True)
                os.rename(datadir, final)
            finally:
                shutil.rmtree(build, ignore_errors=True)
            return final
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Standin:
    """A private mariadbd on 127.0.0.1:<free port> with its own datadir in a temp dir.

    Users: root/rootpw (all privileges, from 127.0.0.1 and '%'), tester/testpw (all on `test%`.*).
    """

    def __init__(self, name="standin", tls=False, log_bin=False, binlog_format="ROW",
                 general_log=False, extra_args=(), port=None, base_dir=None, detached=False):
        self.name = name
        self.tls = tls
        self.log_bin = log_bin
        self.binlog_format = binlog_format
        self.general_log = general_log
        self.extra_args = list(extra_args)
        self.host = "127.0.0.1"
        self.port = port
        self._fixed_port = port is not None
        self.detached = detached  # survives this process (scripts/standin.sh)
        self.dir = base_dir or os.path.join(session_dir(), unique_name(name))
        self.datadir = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        self.pid_file = os.path.join(self.dir, "mysqld.pid")
        self.error_log = os.path.join(self.dir, "error.log")
        self.general_log_file = os.path.join(self.dir, "general.log")
        self.binlog_base = os.path.join(self.dir, "binlog", "mysql-bin")
        self.certs = make_certs() if tls else None
        self.proc = None
        self.root_user, self.root_password = ROOT_USER, ROOT_PASSWORD
        self.user, self.password = TEST_USER, TEST_PASSWORD

    def __repr__(self):
        return f"Standin({self.name}, port={self.port}, dir={self.dir})"

    # ---- lifecycle

    def _prepare_datadir(self):
        if os.path.isdir(self.datadir):
            return
        os.makedirs(self.dir, exist_ok=True)
        shutil.copytree(template_datadir(), self.datadir, symlinks=True)
        if self.log_bin:
            os.makedirs(os.path.dirname(self.binlog_base), exist_ok=True)

    def args(self):
        a = [_mariadbd(), "--no-defaults", "--user=root", f"--datadir={self.datadir}",
             f"--port={self.port}", "--bind-address=127.0.0.1", f"--socket={self.socket}",
             f"--pid-file={self.pid_file}", f"--log-error={self.error_log}",
             f"--tmpdir={self.dir}", *FAST_ARGS]
        if self.log_bin:
            a += [f"--log-bin={self.binlog_base}", f"--binlog-format={self.binlog_format}",
                  "--server-id=1"]
        if self.general_log:
            a += ["--general-log=1", f"--general-log-file={self.general_log_file}",
                  "--log-output=FILE"]
        if self.tls:
            a += [f"--ssl-ca={self.certs['ca']}", f"--ssl-cert={self.certs['cert']}",
                  f"--ssl-key={self.certs['key']}"]
        return a + self.extra_args

    def start(self, timeout=60):
        if self.proc is not None and self.proc.poll() is None:
            return self
        self._prepare_datadir()
        attempts = 1 if self._fixed_port else 4
        last_error = None
        for _ in range(attempts):
            if not self._fixed_port:
                self.port = free_port()
            try:
                self._spawn_and_wait(timeout)
                self._fixed_port = True  # a later start() (after kill/stop) keeps the port
                return self
            except HarnessError as e:
                last_error = e
                if "Address already in use" not in str(e) and "Do you already have another" \
                        not in str(e):
                    raise
        raise last_error

    def _spawn_and_wait(self, timeout):
        log_offset = os.path.getsize(self.error_log) if os.path.exists(self.error_log) else 0
        out = open(os.path.join(self.dir, "stdout.log"), "ab")
        self.proc = subprocess.Popen(
            self.args(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=None if self.detached else _die_with_parent,
            start_new_session=self.detached)
        out.close()
        if not self.detached:
            _register(self)
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise HarnessError(
                    f"{self}: mariadbd exited with {rc} during start-up:\n"
                    f"{self._log_since(log_offset)}")
            if port_accepts(self.host, self.port):
                try:
                    self.connect(connect_timeout=5).close()
                    return
                except pymysql.err.OperationalError as e:
                    last = e
            time.sleep(0.1)
        self._cleanup()
        raise HarnessError(f"{self}: not accepting connections after {timeout}s ({last}):\n"
                           f"{self._log_since(log_offset)}")

    def _log_since(self, offset):
        try:
            with open(self.error_log, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")[-6000:]
        except OSError:
            return tail(os.path.join(self.dir, "stdout.log"))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=60):
        """Clean shutdown (SIGTERM); SIGKILL if it takes longer than timeout."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)  # a paused server cannot shut down
                self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        _unregister(self)

    def kill(self):
        """kill -9: no shutdown, InnoDB recovers on the next start."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        _unregister(self)

    def pause(self):
        """SIGSTOP: the port still accepts TCP but nothing answers."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def restart(self, timeout=60):
        """Stop (if running) and start again with the same datadir and port."""
        self.stop()
        self._fixed_port = True
        return self.start(timeout)

    def _cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(30)

    # ---- clients

    def params(self, user=None, password=None, database=None):
        user = user or self.root_user
        if password is None:
            password = self.root_password if user == self.root_user else (
                self.password if user == self.user else "")
        p = {"host": self.host, "port": self.port, "user": user, "password": password}
        if database:
            p["database"] = database
        return p

    def connect(self, user=None, password=None, database=None, **kw):
        kw.setdefault("connect_timeout", 10)
        kw.setdefault("read_timeout", 120)
        kw.setdefault("write_timeout", 120)
        return pymysql.connect(**self.params(user, password, database), **kw)

    def query(self, sql, database=None):
        """Runs one statement as root on a fresh direct connection; returns all rows."""
        conn = self.connect(database=database, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()
        finally:
            conn.close()

    def env(self):
        return {"STANDIN_HOST": self.host, "STANDIN_PORT": str(self.port),
                "STANDIN_USER": self.root_user, "STANDIN_PASSWORD": self.root_password,
                "STANDIN_TEST_USER": self.user, "STANDIN_TEST_PASSWORD": self.password,
                "STANDIN_SOCKET": self.socket, "STANDIN_DIR": self.dir,
                "STANDIN_PID": str(self.proc.pid if self.proc else "")}

    def binlog_files(self):
        d = os.path.dirname(self.binlog_base)
        base = os.path.basename(self.binlog_base)
        return sorted(os.path.join(d, f) for f in os.listdir(d)
                      if f.startswith(base + ".") and f[len(base) + 1:].isdigit())


# --------------------------------------------------------------------------------------------
# ghostgate

def to_yaml(value, indent=0):
    """A tiny YAML emitter for dicts, lists, strings, numbers and booleans (no PyYAML needed)."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = []
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{k}:\n{to_yaml(v, indent + 1)}")
            else:
                lines.append(f"{pad}{k}: {to_yaml(v, indent + 1)}")
        return "\n".join(lines)
    if isinstance(value, list):
        if not value:
            return "[]"
        lines = []
        for v in value:
            if isinstance(v, dict) and v:
                body = to_yaml(v, indent + 1).lstrip()
                lines.append(f"{pad}- {body}")
            else:
                lines.append(f"{pad}- {to_yaml(v, indent + 1)}")
        return "\n".join(lines)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a valid YAML double-quoted scalar


def deep_merge(base, extra):
    out = dict(base)
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        elif v is None:
            out.pop(k, None)  # `None` in extra removes a default key
        else:
            out[k] = v
    return out


# Reports of AddressSanitizer / LeakSanitizer / UndefinedBehaviorSanitizer in a ghostgate's
# output (a -DGHOSTGATE_SANITIZE=ON build; scripts/test.sh runs the suite with one). Any report
# fails the test class that ran the process, and the test file's exit status.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
_sanitizer_reports = []


def sanitizer_report(path):
    """The first sanitizer report in a log file, or None."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    hits = [text.find(m) for m in SANITIZER_MARKERS if m in text]
    if not hits:
        return None
    start = max(0, min(hits) - 200)
    return f"{path}:\n{text[start:start + 6000]}"


def ghostgate_binary():
    path = os.environ.get("GHOSTGATE_BIN") or os.path.join(REPO, "build", "ghostgate")
    if not os.access(path, os.X_OK):
        raise HarnessError(f"ghostgate binary {path} not found or not executable; "
                           "run scripts/build.sh or set GHOSTGATE_BIN")
    return path


class Ghostgate:
    """build/ghostgate --config FILE on free loopback ports, in front of a Standin."""

    def __init__(self, backend, name="ghostgate", client_tls=False, backend_tls=None,
                 pool=None, workers=2, log_level="debug", extra=None, binary=None):
        """backend_tls: None/"disabled", or a mode string ("required", "verify-ca", ...);
        the CA of the stand-in's certificate is passed along. extra: dict merged into the YAML
        (a key set to None removes a default)."""
        self.backend = backend
        self.name = name
        self.client_tls = client_tls
        self.backend_tls = backend_tls
        self.pool = {"max-connections": 8, "max-idle": 8, **(pool or {})}
        self.workers = workers
        self.log_level = log_level
        self.extra = extra or {}
        self.binary = binary
        self.host = "127.0.0.1"
        self.port = None
        self.admin_port = None
        self.dir = os.path.join(session_dir(), unique_name(name))
        self.config_path = os.path.join(self.dir, "ghostgate.yaml")
        self.log_file = os.path.join(self.dir, "ghostgate.log")
        self.stdout_file = os.path.join(self.dir, "stdout.log")
        self.certs = make_certs() if client_tls or backend_tls else None
        self.proc = None
        # start() also waits for /readyz (best effort); False returns as soon as it listens.
        self.wait_ready = True

    def __repr__(self):
        return f"Ghostgate({self.name}, port={self.port}, dir={self.dir})"

    def config(self):
        backend = {"address": f"{self.backend.host}:{self.backend.port}",
                   "user": GATE_USER, "password": GATE_PASSWORD}
        if self.backend_tls and self.backend_tls != "disabled":
            backend["tls"] = {"mode": self.backend_tls, "ca": make_certs()["ca"]}
        cfg = {
            "name": "ghostgate_it",
            "meta-schema": "dm_meta",
            "listen": f"{self.host}:{self.port}",
            "admin": f"{self.host}:{self.admin_port}",
            "workers": self.workers,
            "backend": backend,
            "pool": dict(self.pool),
            "log": {"level": self.log_level, "file": self.log_file},
        }
        if self.client_tls:
            certs = make_certs()
            cfg["client-tls"] = {"cert": certs["cert"], "key": certs["key"]}
        return deep_merge(cfg, self.extra)

    def write_config(self):
        os.makedirs(self.dir, exist_ok=True)
        with open(self.config_path, "w") as f:
            f.write("# written by tests/harness/harness.py\n" + to_yaml(self.config()) + "\n")
        return self.config_path

    def start(self, timeout=30):
        if self.proc is not None and self.proc.poll() is None:
            return self
        binary = self.binary or ghostgate_binary()
        fixed = self.port is not None
        last_error = None
        for _ in range(1 if fixed else 3):
            if not fixed:
                self.port, self.admin_port = free_port(), free_port()
            self.write_config()
            try:
                self._spawn_and_wait(binary, timeout)
                return self
            except HarnessError as e:
                last_error = e
                if "in use" not in str(e).lower():
                    raise
        raise last_error

    def _spawn_and_wait(self, binary, timeout):
        out = open(self.stdout_file, "ab")
        offset = out.tell()
        self.proc = subprocess.Popen([binary, "--config", self.config_path],
                                     stdin=subprocess.DEVNULL, stdout=out, env=gate_environment(),
                                     stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        out.close()
        _register(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise HarnessError(
                    f"{self}: {binary} exited with {rc} before listening on "
                    f"{self.host}:{self.port}\n--- config\n{to_yaml(self.config())}\n"
                    f"--- output\n{self._output_since(offset)}\n--- log\n{tail(self.log_file)}")
            if port_accepts(self.host, self.port):
                if self.wait_ready:
                    self._wait_ready(deadline)
                return
            time.sleep(0.05)
        self._cleanup()
        raise HarnessError(f"{self}: not listening on {self.host}:{self.port} after {timeout}s\n"
                           f"{self._output_since(offset)}\n{tail(self.log_file)}")

    def _wait_ready(self, deadline):
        """Until /readyz says 200 (backend reached, online-DDL state loaded): ghostgate refuses
        statements that depend on that state before. Best effort: a test may start ghostgate
        with its backend down on purpose, so not being ready is not an error here."""
        import urllib.error
        import urllib.request
        admin = self.config().get("admin")
        if not admin or admin == "off" or not self.admin_port:
            return
        url = f"http://{self.host}:{self.admin_port}/readyz"
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)

    def _output_since(self, offset):
        try:
            with open(self.stdout_file, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")[-6000:]
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def logs(self, lines=200):
        return (f"--- {self.stdout_file}\n{tail(self.stdout_file, lines)}\n"
                f"--- {self.log_file}\n{tail(self.log_file, lines)}")

    def stop(self, timeout=30):
        """SIGTERM (graceful drain), SIGKILL after timeout. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        _unregister(self)
        self._check_sanitizers()
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        _unregister(self)
        self._check_sanitizers()

    def _check_sanitizers(self):
        report = sanitizer_report(self.stdout_file)
        if report and report not in _sanitizer_reports:
            _sanitizer_reports.append(report)

    def restart(self, timeout=30):
        self.stop()
        return self.start(timeout)

    def _cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            # Gracefully first, so a sanitizer build checks for leaks at exit.
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(30)
        self._check_sanitizers()

    def params(self, user=None, password=None, database=None):
        p = self.backend.params(user, password, database)
        p["host"], p["port"] = self.host, self.port
        return p

    def connect(self, user=None, password=None, database=None, **kw):
        kw.setdefault("connect_timeout", 10)
        kw.setdefault("read_timeout", 120)
        kw.setdefault("write_timeout", 120)
        return pymysql.connect(**self.params(user, password, database), **kw)


# --------------------------------------------------------------------------------------------
# what a test talks to

def mode():
    m = os.environ.get("GHOSTGATE_IT_MODE", MODE_GHOSTGATE).strip().lower()
    if m not in (MODE_DIRECT, MODE_GHOSTGATE):
        raise HarnessError(f"GHOSTGATE_IT_MODE must be '{MODE_DIRECT}' or '{MODE_GHOSTGATE}', "
                           f"not {m!r}")
    return m


class Target:
    """Where a test's clients connect: the stand-in itself or ghostgate in front of it.

    `standin` is always the real backend (for checks behind the proxy's back); `gate` is None in
    direct mode.
    """

    def __init__(self, standin, gate=None):
        self.standin = standin
        self.gate = gate
        self.mode = MODE_GHOSTGATE if gate else MODE_DIRECT
        self.host = (gate or standin).host

    @property
    def port(self):
        return (self.gate or self.standin).port

    @property
    def client_tls(self):
        """Whether clients can use TLS to this target."""
        return self.gate.client_tls if self.gate else self.standin.tls

    def params(self, user=None, password=None, database=None):
        return (self.gate or self.standin).params(user, password, database)

    def connect(self, user=None, password=None, database=None, **kw):
        return (self.gate or self.standin).connect(user, password, database, **kw)

    def logs(self):
        out = f"--- stand-in error log {self.standin.error_log}\n{tail(self.standin.error_log, 40)}"
        if self.gate:
            out += "\n" + self.gate.logs(120)
        return out

    def stop(self):
        if self.gate:
            self.gate.stop()
        self.standin.stop()

    def __repr__(self):
        return f"Target({self.mode}, {self.host}:{self.port})"


def start_target(tls=False, client_tls=None, backend_tls=None, pool=None, standin_args=(),
                 gate_extra=None, workers=2, **standin_kw):
    """Starts a stand-in and, in ghostgate mode, ghostgate in front of it.

    tls: the stand-in serves TLS (needed for direct-mode client TLS and for backend TLS).
    client_tls: ghostgate serves TLS to clients (default: same as tls).
    """
    if client_tls is None:
        client_tls = tls
    standin = Standin(tls=tls or bool(backend_tls), extra_args=standin_args, **standin_kw).start()
    gate = None
    if mode() == MODE_GHOSTGATE:
        gate = Ghostgate(standin, client_tls=client_tls, backend_tls=backend_tls, pool=pool,
                         workers=workers, extra=gate_extra).start()
    return Target(standin, gate)


def expected_failure_through_gate(fn):
    """A known, tracked ghostgate bug: expected to fail through ghostgate (reported as an
    expected failure, not hidden); in direct mode the test must pass as usual."""
    return unittest.expectedFailure(fn) if mode() == MODE_GHOSTGATE else fn


class TestCase(unittest.TestCase):
    """unittest.TestCase that prints the servers' logs when a test fails.

    Subclasses set `cls.target` in setUpClass (usually via start_target)."""

    target = None

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > before \
                and self.target is not None:
            sys.stderr.write(f"\n===== logs after failure of {self.id()} "
                             f"({self.target!r}) =====\n{self.target.logs()}\n")
        return out

    @classmethod
    def tearDownClass(cls):
        if cls.target is not None:
            cls.target.stop()
        if _sanitizer_reports:
            raise AssertionError("sanitizer report from ghostgate:\n" + _sanitizer_reports[0])


def wait_until(predicate, timeout, interval=0.1, what="condition"):
    """Polls predicate() until truthy; returns its value, or raises AssertionError."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def tool_path(name):
    """A tests/tools program: $GHOSTGATE_TOOLS_DIR/name or <repo>/build/tests/name."""
    env = os.environ.get(f"GHOSTGATE_{name.upper()}")
    cands = [env] if env else []
    if os.environ.get("GHOSTGATE_TOOLS_DIR"):
        cands.append(os.path.join(os.environ["GHOSTGATE_TOOLS_DIR"], name))
    cands.append(os.path.join(REPO, "build", "tests", name))
    for c in cands:
        if c and os.access(c, os.X_OK):
            return c
    raise HarnessError(f"{name} not found (tried {cands}); run scripts/build.sh")


def main(ghostgate_only=False):
    """unittest.main() that also accepts --direct / --ghostgate. With ghostgate_only (tests about
    ghostgate itself, which always run through it), --direct is an error."""
    argv = [sys.argv[0]]
    for a in sys.argv[1:]:
        if a == "--direct":
            if ghostgate_only:
                sys.exit("these tests are about ghostgate itself; --direct does not apply")
            os.environ["GHOSTGATE_IT_MODE"] = MODE_DIRECT
        elif a == "--ghostgate":
            os.environ["GHOSTGATE_IT_MODE"] = MODE_GHOSTGATE
        else:
            argv.append(a)
    sys.stderr.write(f"harness: mode={mode()}\n")
    program = unittest.main(argv=argv, verbosity=2, exit=False)
    _cleanup_all()  # stops what is still running, which also collects sanitizer reports
    for report in _sanitizer_reports:
        sys.stderr.write(f"harness: SANITIZER REPORT in {report}\n")
    # ctest sees only the exit code, so a skipped test must fail the run: a test that cannot
    # run here (wrong mode, missing tool) is an error to fix, never a pass.
    for test, reason in program.result.skipped:
        sys.stderr.write(f"harness: SKIPPED (fails the run): {test.id()}: {reason}\n")
    ok = (program.result.wasSuccessful() and not program.result.skipped
          and not _sanitizer_reports)
    sys.exit(0 if ok else 1)


# --------------------------------------------------------------------------------------------
# command line: scripts/standin.sh

def _cli(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="harness.py")
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("standin", help="a MariaDB stand-in that outlives this command")
    s.add_argument("action", choices=["start", "stop", "status"])
    s.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "ghostgate-standin"))
    s.add_argument("--port", type=int)
    s.add_argument("--tls", action="store_true")
    s.add_argument("--log-bin", action="store_true")
    s.add_argument("--binlog-format", default="ROW")
    args = ap.parse_args(argv)
    env_file = os.path.join(args.dir, "standin.env")
    pid_file = os.path.join(args.dir, "mysqld.pid")

    def running_pid():
        try:
            with open(pid_file) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    if args.action == "status":
        pid = running_pid()
        if pid:
            print(open(env_file).read(), end="")
            return 0
        print("not running")
        return 1
    if args.action == "stop":
        pid = running_pid()
        if not pid:
            print(f"no stand-in running in {args.dir}")
            return 0
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and running_pid():
            time.sleep(0.1)
        if running_pid():
            os.kill(pid, signal.SIGKILL)
        print(f"stopped stand-in (pid {pid}) in {args.dir}")
        return 0
    if running_pid():
        print(open(env_file).read(), end="")
        return 0
    os.makedirs(args.dir, exist_ok=True)
    # Certificates go next to the server so they survive this process.
    global _certs
    if args.tls:
        _certs = make_certs(os.path.join(args.dir, "tls"))
    st = Standin(name="standin", tls=args.tls, log_bin=args.log_bin,
                 binlog_format=args.binlog_format, port=args.port, base_dir=args.dir,
                 detached=True)
    st.start()
    env = st.env()
    if args.tls:
        env["STANDIN_SSL_CA"] = _certs["ca"]
    text = "".join(f"export {k}={v}\n" for k, v in env.items())
    with open(env_file, "w") as f:
        f.write(text)
    print(text, end="")
    print(f"# connect: mariadb -h{st.host} -P{st.port} -u{st.root_user} -p{st.root_password}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
