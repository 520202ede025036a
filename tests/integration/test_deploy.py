#!/usr/bin/python3
"""The container image and the deploy examples, checked by machine without a Docker engine or a
cluster. scripts/image.sh builds and runs the image for real (root, minutes); this runs in every
test run and needs only the built ghostgate.

  * Dockerfile: Debian 12 bookworm base images, multi-stage; the build stage installs the build
    packages with scripts/deps.sh, copies whole source folders (every folder CMakeLists.txt
    compiles, so moving files between sub-folders needs no change here) and builds only the
    ghostgate target with scripts/build.sh; the runtime stage installs exactly the Debian
    packages that own the libraries `ldd ghostgate` lists (plus CA certificates and the probe's
    curl) and no -dev package, runs as uid 10001, EXPOSEs both ports, probes /readyz on the
    admin port the image's ENV sets, starts in exec form; the image's config file with the
    image's ENV passes --check-config and listens on 0.0.0.0.
  * deploy/kubernetes: every document parses; the ghostgate container runs this image
    (ghostgate:<project version>) with the Dockerfile's command; the ConfigMap file it mounts,
    with its env, passes --check-config; its probes hit /readyz (as the HEALTHCHECK) and
    /healthz on the admin port, which it declares and the Dockerfile EXPOSEs; the password
    file is a mounted Secret's key; it runs as the Dockerfile's uid; the grace period outlasts
    the drain; the replicator writes to ghostgate's listen port.
  * deploy/compose: parses; builds this Dockerfile; its environment over the image's config
    passes --check-config; it publishes the ports the image listens on; the password file is
    the compose secret; the replicator waits for the HEALTHCHECK; stop_grace_period outlasts
    the drain.
  * README.md and deploy/README.md say how to build the image (scripts/image.sh, docker build).

    GHOSTGATE_BIN=build/ghostgate /usr/bin/python3 tests/integration/test_deploy.py
"""

import json
import os
import posixpath
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from test_check_config import clean_env, parse_dump, run  # noqa: E402

try:
    import yaml
except ImportError:  # a failure, not a skip
    sys.stderr.write("test_deploy: python3-yaml is missing (scripts/deps.sh installs it)\n")
    raise

REPO = harness.REPO
DEPLOY = os.path.join(REPO, "deploy")


def project_version():
    with open(os.path.join(REPO, "CMakeLists.txt"), encoding="utf-8") as f:
        return re.search(r"project\(ghostgate VERSION ([0-9.]+)", f.read()).group(1)


def seconds(duration):
    """"30s" / "2m" / "1m30s" / 45 as seconds (the forms the examples and --check-config use)."""
    if isinstance(duration, int):
        return duration
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    if not parts or not any(parts.groups()):
        raise AssertionError(f"unexpected duration {duration!r}")
    return int(parts.group(1) or 0) * 60 + int(parts.group(2) or 0)


def port_of(address):
    return int(address.rsplit(":", 1)[1])


# --------------------------------------------------------------------------------------------
# the Dockerfile

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


class Image:
    """What the Dockerfile's runtime stage says: the facts the deploy examples must agree with."""

    def __init__(self):
        self.stages = dockerfile_stages(os.path.join(REPO, "Dockerfile"))
        self.build, self.runtime = self.stages[0], self.stages[-1]
        self.env = {}
        for arg in self.instrs(self.runtime, "ENV"):
            for k, v in re.findall(r"(\w+)=(\S+)", arg):
                self.env[k] = v.strip('"')
        self.admin_port = port_of(self.env["GHOSTGATE_ADMIN"])
        self.listen_port = port_of(self.env["GHOSTGATE_LISTEN"])
        self.exposed = {int(p.split("/")[0])
                        for p in " ".join(self.instrs(self.runtime, "EXPOSE")).split()}
        self.entrypoint = exec_form(self.instrs(self.runtime, "ENTRYPOINT")[-1])
        self.cmd = exec_form(self.instrs(self.runtime, "CMD")[-1])
        self.config_path = self.cmd[self.cmd.index("--config") + 1]
        self.user = self.instrs(self.runtime, "USER")[-1]
        checks = self.instrs(self.runtime, "HEALTHCHECK")
        self.healthcheck = checks[-1] if checks else ""
        m = re.search(r"http://(?:127\.0\.0\.1|localhost):(\d+)(/\S*?)\"", self.healthcheck)
        self.health_port, self.health_path = (int(m.group(1)), m.group(2)) if m else (None, None)

    @staticmethod
    def instrs(stage, name):
        return [arg for instr, arg in stage[2] if instr == name]

    def config_source(self):
        """The repository file the image's config file is COPYed from."""
        sources = [c.split()[0] for c in self.instrs(self.runtime, "COPY")
                   if c.split()[-1] == self.config_path]
        if len(sources) != 1:
            raise AssertionError(f"{self.config_path}: {len(sources)} COPY instructions")
        return os.path.join(REPO, sources[0])


def check_config(path, env):
    """--check-config on path with env (and no other GHOSTGATE_*): the flattened effective
    config. Fails the test with ghostgate's message when the file is invalid."""
    r = run("--check-config", path, env=clean_env(**env))
    if r.returncode != 0:
        raise AssertionError(f"--check-config {path} with {sorted(env)}: {r.stderr.strip()}")
    return parse_dump(r.stdout)


def password_file(directory):
    """A stand-in for the mounted secret (its path does not exist here), mode 0600."""
    path = os.path.join(directory, "password")
    with open(path, "w") as f:
        f.write("x")
    os.chmod(path, 0o600)
    return path


class ContainerImage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.image = Image()

    def instrs(self, stage, name):
        return Image.instrs(stage, name)

    def test_debian_12_multi_stage(self):
        self.assertGreaterEqual(len(self.image.stages), 2)
        for base, _, _ in self.image.stages:
            self.assertRegex(base, r"^(docker\.io/)?(library/)?debian:bookworm(-slim)?"
                                   r"(-\d{8})?(@sha256:[0-9a-f]{64})?$")
        alias = self.image.build[1]
        self.assertTrue(alias)
        copies = self.instrs(self.image.runtime, "COPY")
        self.assertTrue(any(re.match(rf"--from={alias}\s+\S*ghostgate\s+"
                                     rf"{re.escape(self.image.entrypoint[0])}$", c)
                            for c in copies), copies)

    def test_build_stage(self):
        """deps.sh's build packages, whole source folders, only the ghostgate target."""
        build = self.image.build
        runs = " ".join(self.instrs(build, "RUN"))
        self.assertRegex(runs, r"scripts/deps\.sh build\b")
        self.assertRegex(runs, r"TARGETS=ghostgate bash scripts/build\.sh")
        for option in ("-DGHOSTGATE_TESTS=OFF", "-DGHOSTGATE_BENCH=OFF"):
            self.assertIn(option, runs)
        copied = set()
        for arg in self.instrs(build, "COPY"):
            words = [w for w in arg.split() if not w.startswith("--")]
            for source in words[:-1]:
                self.assertTrue(os.path.exists(os.path.join(REPO, source)), source)
                copied.add(source.rstrip("/"))
        for script in ("scripts/deps.sh", "scripts/build.sh"):
            self.assertTrue(script in copied or "scripts" in copied or "." in copied, script)
        # Every folder CMakeLists.txt compiles from, copied whole.
        with open(os.path.join(REPO, "CMakeLists.txt"), encoding="utf-8") as f:
            cmake = f.read()
        folders = set(re.findall(r"ghostgate_sources\(\w+ (\w+)", cmake))
        folders |= {p.split("/")[0] for p in
                    re.findall(r"add_executable\(ghostgate (\S+)\)", cmake)}
        self.assertGreaterEqual(folders, {"protocol", "rules", "proxy"})
        for folder in sorted(folders | {"CMakeLists.txt"}):
            self.assertTrue(folder in copied or "." in copied,
                            f"the build stage does not COPY {folder} (copies {sorted(copied)})")

    def test_runtime_is_small_and_non_root(self):
        user = self.image.user.split(":")[0]
        self.assertNotIn(user, ("root", "0"))
        self.assertEqual(self.image.user, "10001:10001")
        runs = self.instrs(self.image.runtime, "RUN")
        pkgs = runtime_packages(runs)
        self.assertTrue(pkgs, "the runtime stage installs no package")
        self.assertEqual([p for p in pkgs if p.endswith("-dev") or p in
                          ("build-essential", "cmake", "gcc", "g++")], [])
        self.assertIn("--no-install-recommends", " ".join(runs))
        self.assertIn("rm -rf /var/lib/apt/lists/*", " ".join(runs))

    def test_runtime_packages_are_what_ldd_needs(self):
        binary = harness.ghostgate_binary()
        owners = ldd_packages(binary)
        self.assertIn("libssl3", owners.values())
        pkgs = set(runtime_packages(self.instrs(self.image.runtime, "RUN")))
        # libc6 is in every Debian image (its loader runs everything). Sanitizer runtimes come
        # from a GHOSTGATE_SANITIZE build, which the image never is.
        sanitized = any(re.match(r"lib(a|ub|t|l)san\d", pkg) for pkg in owners.values())
        needed = {pkg.split(":")[0] for pkg in owners.values()
                  if pkg.split(":")[0] != "libc6" and not re.match(r"lib(a|ub|t|l)san\d", pkg)}
        if sanitized:
            # The sanitizer build keeps libboost_system linked (the normal build's linker drops
            # it: nothing uses a symbol of it); the image is always the normal build.
            needed.discard("libboost-system1.74.0")
        missing = {lib: pkg for lib, pkg in owners.items() if pkg.split(":")[0] in needed - pkgs}
        self.assertEqual(missing, {}, f"{binary} needs these libraries; the runtime stage must "
                                      "install their packages")
        # Nothing else: CA certificates (backend TLS) and the health check's tool.
        self.assertEqual(pkgs - needed, {"ca-certificates", "curl"},
                         "a runtime package no library of `ldd ghostgate` comes from")

    def test_ports_probe_entrypoint(self):
        env = self.image.env
        for var in ("GHOSTGATE_ADMIN", "GHOSTGATE_LISTEN"):
            self.assertTrue(env[var].startswith("0.0.0.0:"), f"{var}={env[var]}: unreachable "
                                                             "from outside the container")
        self.assertLessEqual({self.image.admin_port, self.image.listen_port}, self.image.exposed)
        self.assertEqual(len(self.instrs(self.image.runtime, "HEALTHCHECK")), 1)
        self.assertEqual((self.image.health_port, self.image.health_path),
                         (self.image.admin_port, "/readyz"), self.image.healthcheck)
        self.assertRegex(self.image.healthcheck, r"^(--\S+\s+)*CMD \[")  # exec form, no shell
        if "curl" in self.image.healthcheck:
            self.assertRegex(self.image.healthcheck, r"--fail|-f\b")
        self.assertTrue(self.image.entrypoint, "ENTRYPOINT in exec form (signals reach "
                                               "ghostgate as PID 1)")
        self.assertTrue(self.image.entrypoint[0].endswith("/ghostgate"))
        self.assertIn("STOPSIGNAL SIGTERM", [f"{i} {a}" for i, a in self.image.runtime[2]])

    def test_image_config_is_valid(self):
        # The file the image runs with, with the image's environment, as --check-config sees it.
        dump = check_config(self.image.config_source(), self.image.env)
        self.assertEqual(dump["admin"], self.image.env["GHOSTGATE_ADMIN"])
        self.assertEqual(dump["listen"], self.image.env["GHOSTGATE_LISTEN"])
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

def env_dict(container):
    """A container's plain env values (valueFrom entries are not config)."""
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


class DeployExample(unittest.TestCase):
    """One file of deploy/, parsed (every YAML document), and the Dockerfile's facts."""
    path = None  # set by each example

    @classmethod
    def setUpClass(cls):
        cls.image = Image()
        with open(cls.path, encoding="utf-8") as f:
            cls.docs = [d for d in yaml.safe_load_all(f) if d is not None]


class Kubernetes(DeployExample):
    path = os.path.join(DEPLOY, "kubernetes", "replicator-with-ghostgate.yaml")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.by_kind = {}
        for d in cls.docs:
            cls.by_kind.setdefault(d["kind"], []).append(d)
        pod = cls.by_kind["Pod"][0]
        cls.pod = pod["spec"]
        cls.annotations = pod["metadata"].get("annotations", {})
        containers = cls.pod.get("initContainers", []) + cls.pod["containers"]
        cls.gate = next(c for c in containers if c["name"] == "ghostgate")
        cls.replicator = next(c for c in cls.pod["containers"] if c["name"] == "replicator")

    def named(self, kind, name):
        found = [d for d in self.by_kind.get(kind, []) if d["metadata"]["name"] == name]
        self.assertEqual(len(found), 1, f"{kind} {name} in {self.path}")
        return found[0]

    def volume_at(self, mount_path):
        """The pod volume mounted at mount_path in the ghostgate container."""
        mounts = [m for m in self.gate.get("volumeMounts", []) if m["mountPath"] == mount_path]
        self.assertEqual(len(mounts), 1, f"ghostgate mounts nothing at {mount_path}")
        self.assertNotIn("subPath", mounts[0], "subPath mounts never see ConfigMap updates")
        return next(v for v in self.pod["volumes"] if v["name"] == mounts[0]["name"])

    def effective_config(self):
        """The ConfigMap's file at the image's config path, with the container's env, through
        --check-config (the Secret's mount does not exist here: a stand-in password file)."""
        path = self.config_path()
        volume = self.volume_at(posixpath.dirname(path))
        config_map = self.named("ConfigMap", volume["configMap"]["name"])
        text = config_map["data"][posixpath.basename(path)]
        with tempfile.TemporaryDirectory() as d:
            cfg = os.path.join(d, "ghostgate.yaml")
            with open(cfg, "w") as f:
                f.write(text)
            pw = password_file(d)
            dump = check_config(cfg, {**self.image.env, **env_dict(self.gate),
                                      "GHOSTGATE_BACKEND_PASSWORD_FILE": pw})
        return yaml.safe_load(text), dump

    def config_path(self):
        args = self.gate.get("args", self.image.cmd)
        self.assertNotIn("command", self.gate, "keep the image's ENTRYPOINT")
        return args[args.index("--config") + 1]

    def test_parses(self):
        self.assertEqual({d["kind"] for d in self.docs}, {"Secret", "ConfigMap", "Pod"})
        for d in self.docs:
            self.assertEqual(d["apiVersion"], "v1")

    def test_runs_this_image(self):
        self.assertEqual(self.gate["image"], f"ghostgate:{project_version()}")
        self.assertEqual(self.gate.get("args", self.image.cmd), self.image.cmd)
        self.assertEqual(self.gate.get("restartPolicy"), "Always")  # a native sidecar

    def test_config_passes_check_config(self):
        config, dump = self.effective_config()
        self.assertEqual(dump["listen"], "127.0.0.1:6033")  # the replicator only, in the pod
        self.assertTrue(dump["admin"].startswith("0.0.0.0:"))  # the kubelet's probes
        self.assertEqual(dump["log.file"], "")
        # The password: the Secret's key, mounted where the file says.
        password_file = config["backend"]["password-file"]
        volume = self.volume_at(posixpath.dirname(password_file))
        secret = self.named("Secret", volume["secret"]["secretName"])
        key = posixpath.basename(password_file)
        self.assertIn(key, {**secret.get("stringData", {}), **secret.get("data", {})})

    def test_ports_and_probes_agree_with_the_image(self):
        _, dump = self.effective_config()
        admin_port = port_of(dump["admin"])
        self.assertIn(admin_port, self.image.exposed)
        ports = {p["name"]: p["containerPort"] for p in self.gate["ports"]}
        self.assertEqual(ports["admin"], admin_port)

        def probe_port(probe):
            port = probe["httpGet"]["port"]
            return ports[port] if isinstance(port, str) else port

        for name, path in (("startupProbe", self.image.health_path),
                           ("readinessProbe", self.image.health_path),
                           ("livenessProbe", "/healthz")):
            with self.subTest(probe=name):
                probe = self.gate[name]
                self.assertEqual(probe["httpGet"]["path"], path)
                self.assertEqual(probe_port(probe), admin_port)
        self.assertEqual(self.image.health_path, "/readyz")
        self.assertEqual(self.annotations.get("prometheus.io/port"), str(admin_port))
        self.assertEqual(self.annotations.get("prometheus.io/path"), "/metrics")
        # The replicator writes to ghostgate's listen address, in the pod.
        replicator = env_dict(self.replicator)
        self.assertEqual(f"{replicator['TARGET_HOST']}:{replicator['TARGET_PORT']}",
                         dump["listen"])

    def test_security_and_shutdown(self):
        security = self.pod["securityContext"]
        uid, gid = self.image.user.split(":")
        self.assertTrue(security["runAsNonRoot"])
        self.assertEqual((security["runAsUser"], security["runAsGroup"]), (int(uid), int(gid)))
        self.assertEqual(security["fsGroup"], int(gid))  # reads the root-owned secret file
        self.assertTrue(self.gate["securityContext"]["readOnlyRootFilesystem"])
        _, dump = self.effective_config()
        self.assertGreater(self.pod["terminationGracePeriodSeconds"],
                           seconds(dump["timeouts.drain"]),
                           "the pod is killed before ghostgate finishes draining")


class Compose(DeployExample):
    path = os.path.join(DEPLOY, "compose", "compose.yaml")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        (cls.doc,) = cls.docs
        cls.gate = cls.doc["services"]["ghostgate"]

    def effective_config(self):
        env = {k: str(v) for k, v in self.gate["environment"].items()}
        with tempfile.TemporaryDirectory() as d:
            pw = password_file(d)
            self.assertEqual(env["GHOSTGATE_BACKEND_PASSWORD_FILE"], "/run/secrets/tidb_password")
            env["GHOSTGATE_BACKEND_PASSWORD_FILE"] = pw
            return check_config(self.image.config_source(), {**self.image.env, **env})

    def test_builds_this_dockerfile(self):
        build = self.gate["build"]
        context = os.path.normpath(os.path.join(os.path.dirname(self.path), build["context"]))
        self.assertEqual(context, REPO)
        self.assertEqual(build.get("dockerfile", "Dockerfile"), "Dockerfile")
        self.assertEqual(self.gate["image"].split(":")[0], "ghostgate")
        self.assertNotIn("command", self.gate)  # the image's CMD: its config file
        self.assertNotIn("entrypoint", self.gate)

    def test_config_and_ports(self):
        dump = self.effective_config()
        self.assertEqual(dump["backend.address"], "tidb:4000")
        self.assertEqual(dump["log.file"], "")  # read_only: true
        self.assertTrue(self.gate["read_only"])
        published = {int(p.rsplit(":", 1)[1]) for p in self.gate["ports"]}
        self.assertEqual(published, {port_of(dump["listen"]), port_of(dump["admin"])})
        self.assertLessEqual(published, self.image.exposed)
        # The admin port (metrics, /online-ddl) only on the host's loopback.
        admin = [p for p in self.gate["ports"] if p.endswith(f":{port_of(dump['admin'])}")]
        self.assertTrue(admin[0].startswith("127.0.0.1:"), admin)

    def test_secret_health_and_shutdown(self):
        self.assertIn("tidb_password", self.gate["secrets"])
        secret = self.doc["secrets"]["tidb_password"]["file"]
        self.assertTrue(os.path.isfile(os.path.join(os.path.dirname(self.path), secret)))
        # The replicator waits for the image's HEALTHCHECK (/readyz); compose does not replace it.
        self.assertNotIn("healthcheck", self.gate)
        self.assertEqual(self.image.health_path, "/readyz")
        replicator = self.doc["services"]["replicator"]
        self.assertEqual(replicator["depends_on"]["ghostgate"]["condition"], "service_healthy")
        self.assertEqual(str(replicator["environment"]["TARGET_PORT"]),
                         str(port_of(self.effective_config()["listen"])))
        self.assertGreater(seconds(self.gate["stop_grace_period"]),
                           seconds(self.effective_config()["timeouts.drain"]))


class Readmes(unittest.TestCase):
    def read(self, *parts):
        with open(os.path.join(REPO, *parts), encoding="utf-8") as f:
            return f.read()

    def test_deploy_readme(self):
        text = self.read("deploy", "README.md")
        for word in ("/readyz", "/healthz", "SIGTERM", "SIGHUP", "GHOSTGATE_BACKEND_PASSWORD_FILE",
                     "terminationGracePeriodSeconds", "scripts/image.sh",
                     f"docker build -t ghostgate:{project_version()} ."):
            self.assertTrue(word in text, f"deploy/README.md does not mention {word}")

    def test_readme(self):
        text = self.read("README.md")
        for word in ("scripts/image.sh", "deploy/README.md"):
            self.assertTrue(word in text, f"README.md does not mention {word}")
        self.assertTrue(os.access(os.path.join(REPO, "scripts", "image.sh"), os.X_OK))


if __name__ == "__main__":
    harness.main(ghostgate_only=True)
