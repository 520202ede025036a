#!/usr/bin/python3
"""Operations, part 3: the command line, environment overrides, the container image and the
deploy examples.

  * --version and --help exit 0; no config at all exits 2 with a hint; GHOSTGATE_CONFIG names
    the file when --config is not given.
  * --check-config on every good file in tests/configs exits 0 and prints the effective config
    with the backend password masked (the password never appears, from the file or a
    password-file); on every bad one (unknown key, bad regex, rule without or with two capture
    groups, bad addresses, bad durations, bad YAML ...) exits non-zero, prints nothing on stdout
    and names the key on stderr (each file's `# expect:` line).
  * Every key has its documented GHOSTGATE_* variable: each one overrides the file (checked
    against the effective config, key by key); a bad value names the key and the variable; an
    unknown GHOSTGATE_* variable is a warning, not an error; GHOSTGATE_BACKEND_PASSWORD_FILE
    works. A running ghostgate whose file has a wrong backend address and password reaches the
    backend through GHOSTGATE_BACKEND_ADDRESS + GHOSTGATE_BACKEND_PASSWORD_FILE.
  * Dockerfile (no Docker engine here, so statically): Debian 12 bookworm base images, multi-stage,
    the build stage runs scripts/deps.sh and scripts/build.sh (which exist), the runtime stage
    installs the Debian packages that own every library `ldd ghostgate` lists (dpkg -S) and no
    -dev package, a non-root USER, HEALTHCHECK on /readyz at the admin port the image's ENV
    sets, EXPOSE of both ports, an exec-form ENTRYPOINT; the image's config file with the image's
    ENV passes --check-config and listens on 0.0.0.0.
  * deploy/: the Kubernetes example's ghostgate.yaml with its container's env passes
    --check-config, its probes hit /readyz and /healthz on the admin port, the replicator points
    at ghostgate; the compose file builds this Dockerfile and waits for the health check.

    GHOSTGATE_BIN=build/ghostgate /usr/bin/python3 tests/integration/test_check_config.py
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from test_admin import GateTarget, OpsTestCase, admin, read_log  # noqa: E402

REPO = harness.REPO
CONFIGS = os.path.join(REPO, "tests", "configs")
CANARY = "canary-Pw-7f3a9c"  # a password that must never be printed


def clean_env(**extra):
    """The process environment without GHOSTGATE_* (the test runner sets some), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHOSTGATE_")}
    env.update(extra)
    return env


def run(*args, env=None, timeout=30):
    return subprocess.run([harness.ghostgate_binary(), *args], capture_output=True, text=True,
                          env=env if env is not None else clean_env(), timeout=timeout)


def expect_line(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# expect: "):
                return line[len("# expect: "):].rstrip("\n")
    raise AssertionError(f"{path} has no '# expect:' line")


def parse_dump(text):
    """The YAML --check-config prints (nested mappings of scalars and flow lists), flattened:
    {"backend.tls.mode": "disabled", "shadow-table-rules": [...], ...}. Comment lines skipped."""
    out, stack = {}, []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        m = re.fullmatch(r"([A-Za-z0-9_-]+):(?: (.*))?", line.strip())
        if not m:
            raise AssertionError(f"unexpected dump line {line!r}")
        key, value = m.groups()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([k for _, k in stack] + [key])
        if value is None:
            stack.append((indent, key))
            continue
        out[path] = _scalar_or_list(value)
    return out


def _scalar(text):
    text = text.strip()
    if text.startswith('"'):
        return json.loads(text)
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    return text


def _scalar_or_list(text):
    if not text.startswith("["):
        return _scalar(text)
    inner, items, cur, quote = text[1:-1], [], "", None
    for c in inner:
        if quote:
            cur += c
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
            cur += c
        elif c == ",":
            items.append(cur)
            cur = ""
        else:
            cur += c
    if cur.strip():
        items.append(cur)
    return [_scalar(i) for i in items]


class CommandLine(unittest.TestCase):
    def test_version_and_help(self):
        r = run("--version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^ghostgate \d+\.\d+\.\d+\S*\n$")
        r = run("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        for option in ("--config", "--check-config", "--version", "--help"):
            self.assertIn(option, r.stdout)

    def test_no_config(self):
        r = run()
        self.assertEqual(r.returncode, 2)
        self.assertIn("--config", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_config_from_environment(self):
        bad = os.path.join(CONFIGS, "bad-unknown-key.yaml")
        r = run(env=clean_env(GHOSTGATE_CONFIG=bad))
        self.assertEqual(r.returncode, 2)
        self.assertIn(bad, r.stderr)
        self.assertIn(expect_line(bad), r.stderr)

    def test_good_files(self):
        files = sorted(f for f in os.listdir(CONFIGS)
                       if re.match(r"(check-)?good-.*\.yaml$", f))
        self.assertGreaterEqual(len(files), 4)
        for name in files:
            with self.subTest(file=name):
                r = run("--check-config", os.path.join(CONFIGS, name))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(r.stdout.endswith("# configuration is valid\n"), r.stdout)
                parse_dump(r.stdout)  # well-formed
                self.assertNotIn("s3cret", r.stdout + r.stderr)  # good-full.yaml's password

    def test_password_never_printed(self):
        r = run("--check-config", os.path.join(CONFIGS, "check-good-secret.yaml"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(CANARY, r.stdout + r.stderr)
        self.assertEqual(parse_dump(r.stdout)["backend.password"], "***")
        # From a password file: the path is shown, the content never.
        with tempfile.TemporaryDirectory() as d:
            pw = os.path.join(d, "pw")
            with open(pw, "w") as f:
                f.write(CANARY + "\n")
            os.chmod(pw, 0o600)
            cfg = os.path.join(d, "c.yaml")
            with open(cfg, "w") as f:
                f.write(f'backend: {{address: "db:4000", password-file: "{pw}"}}\n')
            r = run("--check-config", cfg)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn(CANARY, r.stdout + r.stderr)
            dump = parse_dump(r.stdout)
            self.assertEqual(dump["backend.password-file"], pw)
            self.assertNotIn("backend.password", dump)
            self.assertEqual(r.stderr, "")  # mode 600: no warning
            os.chmod(pw, 0o644)
            r = run("--check-config", cfg)
            self.assertEqual(r.returncode, 0)
            self.assertRegex(r.stderr, r"warning: backend\.password-file: .* readable by group "
                                       r"or others")

    def test_bad_files(self):
        files = sorted(f for f in os.listdir(CONFIGS) if re.match(r"(check-)?bad-.*\.yaml$", f))
        self.assertGreaterEqual(len(files), 15)
        for name in files:
            with self.subTest(file=name):
                path = os.path.join(CONFIGS, name)
                r = run("--check-config", path)
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertEqual(r.stdout, "")
                self.assertRegex(r.stderr, r"^ghostgate: invalid configuration: ")
                self.assertIn(path, r.stderr)
                self.assertIn(expect_line(path), r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, "one clear message")
        # The cases the issue names, by key.
        for name, key in (("bad-unknown-key.yaml", '"pool.max-conn"'),
                          ("check-bad-regex.yaml", "shadow-table-rules[0]"),
                          ("check-bad-no-capture-group.yaml", "trash-table-rules[1]"),
                          ("bad-address.yaml", "backend.address"),
                          ("check-bad-listen-address.yaml", "listen")):
            self.assertIn(key, expect_line(os.path.join(CONFIGS, name)))

    def test_missing_file(self):
        r = run("--check-config", "/nonexistent/ghostgate.yaml")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot read config file", r.stderr)


# Every key, its documented variable, a value other than the default, and how the effective
# config shows it. Files are any readable file (check-config does not open TLS material).
def env_overrides(readable):
    return {
        "name": ("shop_sync", "shop_sync"),
        "id": ("inst-7", "inst-7"),
        "online-ddl": ("false", "false"),
        "shadow-table-rules": ("^_(.+)_gho$, ^(.+)_shadow$", ["^_(.+)_gho$", "^(.+)_shadow$"]),
        "trash-table-rules": ('["^_(.{1,50})_del$"]', ["^_(.{1,50})_del$"]),
        "meta-schema": ("gg_meta", "gg_meta"),
        "dry-run": ("true", "true"),
        "online-ddl-tombstone-ttl": ("2h", "2h"),
        "listen": ("0.0.0.0:3307", "0.0.0.0:3307"),
        "admin": ("[::1]:9100", "[::1]:9100"),
        "admin-token-file": (readable, readable),
        "workers": ("3", "3"),
        "max-connections": ("77", "77"),
        "max-packet-size": ("64MiB", "64MiB"),
        "client-tls.cert": (readable, readable),
        "client-tls.key": (readable, readable),
        "client-tls.ca": (readable, readable),
        "client-tls.required": ("true", "true"),
        "backend.address": ("db.internal:4001", "db.internal:4001"),
        "backend.user": ("ggx", "ggx"),
        "backend.password": (CANARY, "***"),
        "backend.connect-timeout": ("1500ms", "1500ms"),
        "backend.tls.mode": ("verify-ca", "verify-ca"),
        "backend.tls.ca": (readable, readable),
        "backend.tls.cert": (readable, readable),
        "backend.tls.key": (readable, readable),
        "backend.tls.server-name": ("tidb.example", "tidb.example"),
        "pool.max-connections": ("40", "40"),
        "pool.max-idle": ("5", "5"),
        "pool.idle-timeout": ("2m", "2m"),
        "pool.acquire-timeout": ("750ms", "750ms"),
        "timeouts.handshake": ("3s", "3s"),
        "timeouts.backend-read": ("1h", "1h"),
        "timeouts.drain": ("45s", "45s"),
        "log.level": ("debug", "debug"),
        "log.format": ("json", "json"),
        "log.file": ("/var/log/gg.log", "/var/log/gg.log"),
    }


def env_var(key):
    return "GHOSTGATE_" + re.sub(r"[.-]", "_", key).upper()


class Environment(unittest.TestCase):
    minimal = os.path.join(CONFIGS, "good-minimal.yaml")

    def test_every_key_has_its_variable(self):
        table = env_overrides(self.minimal)
        r = run("--check-config", self.minimal)
        self.assertEqual(r.returncode, 0, r.stderr)
        defaults = parse_dump(r.stdout)
        # The table covers every key the effective config shows: a new key needs a row here
        # (and a line in config.example.yaml's list of variables).
        self.assertEqual(set(defaults), set(table))
        env = clean_env(**{env_var(k): v for k, (v, _) in table.items()})
        r = run("--check-config", self.minimal, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        self.assertNotIn(CANARY, r.stdout)
        got = parse_dump(r.stdout)
        for key, (_, shown) in table.items():
            with self.subTest(key=key, variable=env_var(key)):
                self.assertEqual(got[key], shown)
                self.assertNotEqual(got[key], defaults[key], "the default: not overridden")

    def test_documented_in_example(self):
        with open(os.path.join(REPO, "config.example.yaml"), encoding="utf-8") as f:
            example = f.read()
        self.assertIn("GHOSTGATE_BACKEND_PASSWORD_FILE", example)
        r = run("--check-config", os.path.join(REPO, "config.example.yaml"),
                env=clean_env(GHOSTGATE_BACKEND_ADDRESS="tidb:4000"))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_password_file_variable(self):
        with tempfile.TemporaryDirectory() as d:
            pw = os.path.join(d, "pw")
            with open(pw, "w") as f:
                f.write(CANARY)
            os.chmod(pw, 0o600)
            # The file's own password is replaced, not in conflict with the variable.
            r = run("--check-config", os.path.join(CONFIGS, "check-good-secret.yaml"),
                    env=clean_env(GHOSTGATE_BACKEND_PASSWORD_FILE=pw))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(parse_dump(r.stdout)["backend.password-file"], pw)
            self.assertNotIn(CANARY, r.stdout + r.stderr)
            r = run("--check-config", self.minimal,
                    env=clean_env(GHOSTGATE_BACKEND_PASSWORD_FILE=os.path.join(d, "missing")))
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("GHOSTGATE_BACKEND_PASSWORD_FILE", r.stderr)

    def test_bad_values_name_key_and_variable(self):
        for var, value, key in (("GHOSTGATE_BACKEND_ADDRESS", "nope", "backend.address"),
                                ("GHOSTGATE_POOL_MAX_IDLE", "lots", "pool.max-idle"),
                                ("GHOSTGATE_LOG_LEVEL", "loud", "log.level"),
                                ("GHOSTGATE_TIMEOUTS_DRAIN", "soon", "timeouts.drain"),
                                ("GHOSTGATE_SHADOW_TABLE_RULES", "^_(.+_gho$",
                                 "shadow-table-rules")):
            with self.subTest(variable=var):
                r = run("--check-config", self.minimal, env=clean_env(**{var: value}))
                self.assertNotEqual(r.returncode, 0)
                self.assertEqual(r.stdout, "")
                self.assertIn(key, r.stderr)
                if key != "shadow-table-rules":  # rules are checked after loading
                    self.assertIn(f"{key} (from {var})", r.stderr)

    def test_unknown_variable_is_a_warning(self):
        r = run("--check-config", self.minimal, env=clean_env(GHOSTGATE_BAKCEND_ADDRESS="x:1"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("GHOSTGATE_BAKCEND_ADDRESS is not a config key", r.stderr)


class EnvironmentRunning(OpsTestCase):
    """A real ghostgate configured by its environment over a file that would not work."""

    def test_address_and_password_file_from_env(self):
        standin = harness.Standin(name="envrun").start()
        self.target = GateTarget(standin, None)
        self.addCleanup(standin.stop)
        d = harness.make_tmp_dir("ghostgate-envrun-")
        pw = os.path.join(d, "gate-password")
        with open(pw, "w") as f:
            f.write(harness.GATE_PASSWORD + "\n")
        os.chmod(pw, 0o600)
        admin_port = harness.free_port()
        gate = harness.Ghostgate(standin, name="gate-env", extra={
            "backend": {"address": "127.0.0.1:1", "password": "not-the-password"}})
        env = {"GHOSTGATE_BACKEND_ADDRESS": f"{standin.host}:{standin.port}",
               "GHOSTGATE_BACKEND_PASSWORD_FILE": pw,
               "GHOSTGATE_ADMIN": f"127.0.0.1:{admin_port}",
               "GHOSTGATE_NOT_A_KEY": "1"}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            gate.start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.show_logs_of(gate)
        self.addCleanup(gate.stop)
        gate.admin_port = admin_port
        # Ready means: ghostgate's own account logged in to the env's address with the password
        # from the env's file, and loaded the meta table.
        harness.wait_until(lambda: admin(gate, "/readyz")[::2] == (200, "ready\n"), 20,
                           what="/readyz on the admin address from the environment")
        conn = gate.connect()
        with conn.cursor() as cur:
            cur.execute("SELECT 40 + 2")
            self.assertEqual(cur.fetchone()[0], 42)
        conn.close()
        log = read_log(gate)
        self.assertRegex(log, r"(?m) warn config: environment variable GHOSTGATE_NOT_A_KEY is "
                              r"not a config key")
        self.assertIn(f"backend {standin.host}:{standin.port}", log)
        self.assertNotIn(harness.GATE_PASSWORD, log)


# --------------------------------------------------------------------------------------------
# the container image

def dockerfile_stages(path):
    """[(base image, alias, [(instruction, argument text)])], continuation lines joined."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    logical, cur = [], ""
    for line in text.splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if cur and line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        logical.append(cur + line)
        cur = ""
    stages = []
    for line in logical:
        m = re.match(r"\s*([A-Za-z]+)\s+(.*)", line)
        if not m:
            raise AssertionError(f"cannot read Dockerfile line {line!r}")
        instr, arg = m.group(1).upper(), m.group(2).strip()
        if instr == "FROM":
            fm = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", arg, re.I)
            stages.append((fm.group(1), fm.group(2), []))
        elif instr in ("ARG",) and not stages:
            continue
        else:
            if not stages:
                raise AssertionError(f"{instr} before FROM")
            stages[-1][2].append((instr, arg))
    return stages


def exec_form(arg):
    return json.loads(arg) if arg.startswith("[") else None


def runtime_packages(run_args):
    """Packages named by `apt-get install` commands in RUN instructions."""
    pkgs = []
    for arg in run_args:
        for cmd in re.split(r"&&|;", arg):
            m = re.search(r"apt-get\s+install\s+(.*)", cmd)
            if m:
                pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


def ldd_packages(binary):
    """The Debian packages that own the shared libraries a binary loads."""
    r = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True)
    packages = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line) or re.match(r"\s*(/\S+) \(", line)
        if not m:
            continue  # linux-vdso
        path = m.group(m.lastindex)
        if path == "not":
            raise AssertionError(f"{binary}: {line.strip()}")
        owner = None
        for cand in (path, os.path.realpath(path)):
            d = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True)
            if d.returncode == 0:
                owner = d.stdout.split(":", 1)[0].strip()
                break
        if owner is None:
            raise AssertionError(f"no Debian package owns {path} ({line.strip()})")
        packages[m.group(1)] = owner
    return packages


class ContainerImage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.path = os.path.join(REPO, "Dockerfile")
        cls.stages = dockerfile_stages(cls.path)
        cls.build, cls.runtime = cls.stages[0], cls.stages[-1]

    def instrs(self, stage, name):
        return [arg for instr, arg in stage[2] if instr == name]

    def test_debian_12_multi_stage(self):
        self.assertGreaterEqual(len(self.stages), 2)
        for base, _, _ in self.stages:
            self.assertRegex(base, r"^(docker\.io/)?(library/)?debian:bookworm(-slim)?"
                                   r"(-\d{8})?(@sha256:[0-9a-f]{64})?$")
        alias = self.build[1]
        self.assertTrue(alias)
        copies = self.instrs(self.runtime, "COPY")
        self.assertTrue(any(re.match(rf"--from={alias}\s+\S*ghostgate\s+\S+", c) for c in copies),
                        copies)

    def test_build_runs_the_readme_scripts(self):
        runs = " ".join(self.instrs(self.build, "RUN"))
        for script in ("scripts/deps.sh", "scripts/build.sh"):
            self.assertIn(script, runs)
            path = os.path.join(REPO, script)
            self.assertTrue(os.path.isfile(path), path)
        with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        self.assertIn("scripts/", readme)

    def test_runtime_is_small_and_non_root(self):
        users = self.instrs(self.runtime, "USER")
        self.assertTrue(users, "no USER in the runtime stage")
        user = users[-1].split(":")[0]
        self.assertNotIn(user, ("root", "0"))
        pkgs = runtime_packages(self.instrs(self.runtime, "RUN"))
        self.assertTrue(pkgs, "the runtime stage installs no package")
        self.assertEqual([p for p in pkgs if p.endswith("-dev") or p in
                          ("build-essential", "cmake", "gcc", "g++")], [])
        self.assertIn("--no-install-recommends", " ".join(self.instrs(self.runtime, "RUN")))

    def test_runtime_packages_cover_ldd(self):
        binary = harness.ghostgate_binary()
        owners = ldd_packages(binary)
        self.assertIn("libssl3", owners.values())
        pkgs = set(runtime_packages(self.instrs(self.runtime, "RUN")))
        # libc6 is in every Debian image (its loader runs everything). Sanitizer runtimes come
        # from a GHOSTGATE_SANITIZE build, which the image never is.
        missing = {lib: pkg for lib, pkg in owners.items()
                   if pkg.split(":")[0] not in pkgs and pkg.split(":")[0] != "libc6"
                   and not re.match(r"lib(a|ub|t|l)san\d", pkg)}
        self.assertEqual(missing, {}, f"{binary} needs these libraries; the runtime stage must "
                                      "install their packages")

    def test_ports_probe_entrypoint(self):
        env = self.image_env()
        admin_port = env["GHOSTGATE_ADMIN"].rsplit(":", 1)[1]
        listen_port = env["GHOSTGATE_LISTEN"].rsplit(":", 1)[1]
        self.assertTrue(env["GHOSTGATE_ADMIN"].startswith("0.0.0.0:"))
        self.assertTrue(env["GHOSTGATE_LISTEN"].startswith("0.0.0.0:"))
        exposed = " ".join(self.instrs(self.runtime, "EXPOSE")).split()
        self.assertIn(admin_port, exposed)
        self.assertIn(listen_port, exposed)
        checks = self.instrs(self.runtime, "HEALTHCHECK")
        self.assertEqual(len(checks), 1)
        self.assertRegex(checks[0], rf"CMD .*http://(127\.0\.0\.1|localhost):{admin_port}/readyz")
        if "curl" in checks[0]:
            self.assertIn("curl", runtime_packages(self.instrs(self.runtime, "RUN")))
            self.assertRegex(checks[0], r"--fail|-f\b")
        entry = self.instrs(self.runtime, "ENTRYPOINT")
        self.assertTrue(entry and exec_form(entry[-1]), "ENTRYPOINT in exec form (signals reach "
                                                        "ghostgate as PID 1)")
        self.assertTrue(exec_form(entry[-1])[0].endswith("ghostgate"))

    def image_env(self):
        env = {}
        for arg in self.instrs(self.runtime, "ENV"):
            for k, v in re.findall(r"(\w+)=(\S+)", arg):
                env[k] = v.strip('"')
        return env

    def test_image_config_is_valid(self):
        # The file the image runs with, with the image's environment, as --check-config sees it.
        copies = self.instrs(self.runtime, "COPY")
        cmd = exec_form(self.instrs(self.runtime, "CMD")[-1])
        config_in_image = cmd[cmd.index("--config") + 1]
        sources = [c.split()[0] for c in copies if c.split()[-1] == config_in_image]
        self.assertEqual(len(sources), 1, copies)
        r = run("--check-config", os.path.join(REPO, sources[0]),
                env=clean_env(**self.image_env()))
        self.assertEqual(r.returncode, 0, r.stderr)
        dump = parse_dump(r.stdout)
        self.assertEqual(dump["admin"], self.image_env()["GHOSTGATE_ADMIN"])
        self.assertEqual(dump["listen"], self.image_env()["GHOSTGATE_LISTEN"])
        self.assertEqual(dump["log.file"], "")  # stderr, for the container runtime

    def test_dockerignore_keeps_what_the_build_needs(self):
        with open(os.path.join(REPO, ".dockerignore"), encoding="utf-8") as f:
            ignored = [line.strip() for line in f if line.strip() and not line.startswith("#")]
        for needed in ("scripts", "proxy", "protocol", "rules", "CMakeLists.txt",
                       "config.example.yaml"):
            self.assertNotIn(needed, ignored)
        self.assertIn(".git", ignored)
        self.assertTrue(any(p.startswith("build") for p in ignored))


# --------------------------------------------------------------------------------------------
# deploy examples

def block_after(text, header):
    """The lines of a YAML literal block (`header: |`), dedented."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == f"{header}: |":
            indent = len(line) - len(line.lstrip())
            body = []
            for nxt in lines[i + 1:]:
                if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                    break
                body.append(nxt)
            width = min(len(b) - len(b.lstrip()) for b in body if b.strip())
            return "\n".join(b[width:] for b in body) + "\n"
    raise AssertionError(f"no `{header}: |` block")


class DeployExamples(unittest.TestCase):
    def read(self, *parts):
        with open(os.path.join(REPO, "deploy", *parts), encoding="utf-8") as f:
            return f.read()

    def test_readme(self):
        text = self.read("README.md")
        for word in ("/readyz", "/healthz", "SIGTERM", "SIGHUP", "GHOSTGATE_BACKEND_PASSWORD_FILE",
                     "terminationGracePeriodSeconds"):
            self.assertIn(word, text)

    def test_kubernetes_pod(self):
        text = self.read("kubernetes", "replicator-with-ghostgate.yaml")
        self.assertRegex(text, r"(?m)^kind: Pod$")
        self.assertRegex(text, r"(?m)^\s+- name: ghostgate$")
        self.assertRegex(text, r"(?m)^\s+- name: replicator$")
        # ghostgate's env in the pod, applied to the ConfigMap's file.
        env = dict(re.findall(r"- name: (GHOSTGATE_\w+)\s+value: \"([^\"]*)\"", text))
        self.assertEqual(env.get("GHOSTGATE_LISTEN"), "127.0.0.1:6033")
        admin_port = env["GHOSTGATE_ADMIN"].rsplit(":", 1)[1]
        config = block_after(text, "ghostgate.yaml")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ghostgate.yaml")
            with open(path, "w") as f:
                f.write(config)
            pw = os.path.join(d, "password")
            with open(pw, "w") as f:
                f.write("x")
            os.chmod(pw, 0o600)
            # The secret's mount path does not exist here: point the variable at a stand-in file.
            self.assertIn("password-file: /run/secrets/ghostgate/password", config)
            self.assertRegex(text, r"mountPath: /run/secrets/ghostgate\b")
            r = run("--check-config", path,
                    env=clean_env(**env, GHOSTGATE_BACKEND_PASSWORD_FILE=pw))
            self.assertEqual(r.returncode, 0, r.stderr)
            dump = parse_dump(r.stdout)
        self.assertEqual(dump["admin"], f"0.0.0.0:{admin_port}")
        self.assertEqual(dump["listen"], "127.0.0.1:6033")
        drain = int(re.fullmatch(r"(\d+)s", dump["timeouts.drain"]).group(1))
        grace = int(re.search(r"terminationGracePeriodSeconds: (\d+)", text).group(1))
        self.assertGreater(grace, drain, "the pod is killed before ghostgate finishes draining")
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            self.assertRegex(text, rf"{probe}:\s+httpGet: {{path: {path}, port: admin}}")
        self.assertRegex(text, rf"containerPort: {admin_port}")
        self.assertRegex(text, r"name: TARGET_PORT\s+value: \"6033\"")
        self.assertRegex(text, r"runAsNonRoot: true")

    def test_compose(self):
        text = self.read("compose", "compose.yaml")
        self.assertRegex(text, r"dockerfile: Dockerfile")
        m = re.search(r"context: (\S+)", text)
        self.assertTrue(os.path.isfile(os.path.join(REPO, "deploy", "compose", m.group(1),
                                                    "Dockerfile")))
        self.assertRegex(text, r"GHOSTGATE_BACKEND_ADDRESS: \"tidb:4000\"")
        self.assertRegex(text, r"GHOSTGATE_BACKEND_PASSWORD_FILE: /run/secrets/tidb_password")
        self.assertRegex(text, r"condition: service_healthy")
        secret = re.search(r"tidb_password:\s+(?:#.*\n\s+)*file: (\S+)", text).group(1)
        self.assertTrue(os.path.isfile(os.path.join(REPO, "deploy", "compose", secret)))
        grace = int(re.search(r"stop_grace_period: (\d+)s", text).group(1))
        self.assertGreater(grace, 30)  # the default timeouts.drain


if __name__ == "__main__":
    harness.main()
