#!/usr/bin/python3
"""Operations, part 3: the command line and the environment overrides.

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
  * The container image and the deploy examples: test_deploy.py.

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
        m = re.fullmatch(r"([A-Za-z0-9_.`-]+):(?: (.*))?", line.strip())
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
        "online-ddl-tools": ("gh-ost, lhm", ["gh-ost", "lhm"]),
        "shadow-table-rules": ("^_(.+)_gho$, ^(.+)_shadow$", ["^_(.+)_gho$", "^(.+)_shadow$"]),
        "trash-table-rules": ('["^_(.{1,50})_del$"]', ["^_(.{1,50})_del$"]),
        "meta-schema": ("gg_meta", "gg_meta"),
        "dry-run": ("true", "true"),
        "online-ddl-tombstone-ttl": ("2h", "2h"),
        "shard-wait-timeout": ("5s", "5s"),
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
        # The hash never shows: the dump masks it.
        "client-auth.users": ('[{user: replicator, password-hash: "*%s"}]' % ("AB" * 20),
                              ["{user: replicator", 'password-hash: "***"}']),
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
        # Shard merge: one consistent set (a mode needs groups, a group needs a route).
        "routes": ('{r: {schema-pattern: "s_*", table-pattern: "t_*", target-schema: s, '
                   'target-table: t}}', {"routes.r.schema-pattern": "s_*",
                                         "routes.r.target-schema": "s"}),
        "shard-mode": ("pessimistic", "pessimistic"),
        "shard-groups": ("{s.t: {members: 2}}", {"shard-groups.s.t.members": "2"}),
        "case-sensitive": ("true", "true"),
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
        # Over the defaults, and over a file that sets every key (the environment wins).
        for base in (self.minimal, os.path.join(CONFIGS, "good-full.yaml")):
            r = run("--check-config", base, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            if base == self.minimal:  # nothing to say but that the rules replace the defaults
                self.assertEqual([line for line in r.stderr.splitlines()
                                  if "your list replaces ghostgate's defaults" not in line], [])
            self.assertNotIn(CANARY, r.stdout)
            got = parse_dump(r.stdout)
            for key, (_, shown) in table.items():
                with self.subTest(file=os.path.basename(base), key=key, variable=env_var(key)):
                    if isinstance(shown, dict):  # a mapping: its leaves
                        for leaf, value in shown.items():
                            self.assertEqual(got.get(leaf), value, leaf)
                        continue
                    self.assertEqual(got[key], shown)
                    self.assertNotEqual(got[key], defaults[key], "the default: not overridden")

    def test_environment_beats_every_spelling_in_the_file(self):
        # The case: GHOSTGATE_ONLINE_DDL=false over `online-ddl-scheme: gh-ost`.
        with tempfile.TemporaryDirectory() as d:
            cfg = os.path.join(d, "c.yaml")
            with open(cfg, "w") as f:
                f.write('online-ddl-scheme: gh-ost\n'
                        'target-database: {host: tidb, port: 4000, user: dm, password: x}\n'
                        'mysql-instances: [{source-id: mysql-replica-01}]\n')
            env = clean_env(GHOSTGATE_ONLINE_DDL="false", GHOSTGATE_BACKEND_ADDRESS="db2:4001",
                            GHOSTGATE_BACKEND_USER="gg", GHOSTGATE_ID="other-source")
            r = run("--check-config", cfg, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            got = parse_dump(r.stdout)
            self.assertEqual(got["online-ddl"], "false")
            self.assertEqual(got["backend.address"], "db2:4001")
            self.assertEqual(got["backend.user"], "gg")
            self.assertEqual(got["id"], "other-source")
            # Without the environment, the file's spellings apply.
            got = parse_dump(run("--check-config", cfg).stdout)
            self.assertEqual((got["online-ddl"], got["backend.address"], got["backend.user"],
                              got["id"]), ("true", "tidb:4000", "dm", "mysql-replica-01"))

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


class DmTaskFile(unittest.TestCase):
    """Issue 15, finding 3: a DM task file, as DM documents it, given to --config unchanged."""

    task = os.path.join(CONFIGS, "good-dm-task-full.yaml")

    def test_accepted_with_the_right_backend_and_ids(self):
        r = run("--check-config", self.task)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = parse_dump(r.stdout)
        self.assertEqual(got["backend.address"], "192.168.0.1:4000")
        self.assertEqual(got["backend.user"], "dm_ghostgate")
        self.assertEqual(got["backend.password"], "***")
        self.assertEqual(got["id"], ["mysql-replica-01", "mysql-replica-02"])
        self.assertEqual(got["name"], "test")
        self.assertEqual(got["shard-mode"], "pessimistic")
        self.assertEqual(got["routes.route-rule-1.target-table"], "t")
        self.assertNotIn("clear-text-secret", r.stdout + r.stderr)
        # The DM keys that mean nothing here: listed once, on one line.
        notes = [line for line in r.stderr.splitlines() if "ignored" in line]
        self.assertEqual(len(notes), 1, r.stderr)
        for key in ("task-mode", "block-allow-list", "mydumpers", "loaders", "syncers",
                    "filters", "expression-filter", "validators", "clean-dump-file",
                    "target-database.session"):
            self.assertIn(key, notes[0])
        self.assertIn("target-database.security: not used", r.stderr)
        # The copied rules are DM's narrower defaults: the names they miss are named.
        rules = [line for line in r.stderr.splitlines()
                 if "warning: shadow-table-rules and trash-table-rules:" in line]
        self.assertEqual(len(rules), 1, r.stderr)
        for name in ("_t_ghk", "__t_new", "_t_20261122101010_del"):
            self.assertIn(name, rules[0])

    def test_check_config_reads_GHOSTGATE_CONFIG(self):
        r = run("--check-config", env=clean_env(GHOSTGATE_CONFIG=self.task))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(parse_dump(r.stdout)["backend.address"], "192.168.0.1:4000")
        r = run("--check-config")
        self.assertEqual(r.returncode, 2)
        self.assertIn("GHOSTGATE_CONFIG", r.stderr)

    def write(self, d, text):
        path = os.path.join(d, "task.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_every_unknown_key_in_one_run(self):
        with tempfile.TemporaryDirectory() as d:
            path = self.write(d, 'name: test\nshard-mod: pessimistic\nsource-id: a\n'
                                 'target-database: {host: tidb, hots: x}\nlsiten: ":1"\n')
            r = run("--check-config", path)
            self.assertEqual(r.returncode, 2)
            self.assertIn("4 unknown keys:", r.stderr)
            for hint in ('"shard-mod" (line 2, column 1); did you mean "shard-mode"?',
                         '"source-id" (line 3, column 1); the meta table\'s id is DM\'s source id',
                         '"target-database.hots"', 'did you mean "target-database.host"?',
                         '"lsiten" (line 5, column 1); did you mean "listen"?'):
                self.assertIn(hint, r.stderr)

    def test_dmctl_encrypted_password_refused(self):
        with tempfile.TemporaryDirectory() as d:
            path = self.write(d, 'target-database: {host: tidb, user: root, '
                                 'password: "/Q7B9DizNLLTTfiZHv9WoEAKamfpIUs="}\n')
            r = run("--check-config", path)
            self.assertEqual(r.returncode, 2)
            self.assertIn("target-database.password: looks encrypted by `dmctl encrypt`", r.stderr)
            self.assertIn("in clear", r.stderr)
            self.assertNotIn("/Q7B9DizNLLTTfiZHv9WoEAKamfpIUs=", r.stderr)

    def test_bad_regex_shows_the_rule_as_written(self):
        r = run("--check-config", os.path.join(CONFIGS, "check-bad-regex.yaml"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("invalid regular expression", r.stderr)
        self.assertNotIn("^(?:", r.stderr)


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


if __name__ == "__main__":
    harness.main()
