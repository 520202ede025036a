#!/usr/bin/python3
"""Every command in README.md is run, so the README cannot drift from the program.

The README's fenced blocks are read in order:
  * ```sh            run, all of them in order, as one bash script (`set -euo pipefail`) in a
                     fresh directory, with the substitutions below;
  * ```sh norun      not run; each must be in NOT_RUN with the reason (keep that list tiny);
  * ```yaml whose first line is `# <file>`: written to <file> in that directory first.
Other fences (log excerpts, YAML fragments) are not commands.

Substitutions, so the commands reach this test's stand-in and ghostgate instead of a real TiDB:
  tidb.example:4000 / -h tidb.example -P 4000   the stand-in's 127.0.0.1:<port>
  `-u root -p `                                 `-u root -p<root password>` (the prompt)
  `-u app -p `                                  `-u tester -p<tester password>`, the stand-in's
                                                ordinary account (a replicator's)
  6033, 9033                                    free ports (ghostgate's listen and admin)
  build/ghostgate                               $GHOSTGATE_BIN
The script runs in a session of its own; whatever it left running is killed at the end.

    GHOSTGATE_BIN=build/ghostgate /usr/bin/python3 tests/integration/test_readme.py
"""

import os
import re
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
import harness  # noqa: E402

README = os.path.join(harness.REPO, "README.md")

# First line of each `sh norun` block -> why it is not run.
NOT_RUN = {
    "sudo scripts/deps.sh     # the Debian packages it needs (root)":
        "installs Debian packages as root; the test machine has them (scripts/test.sh ran it)",
    "TOKEN=$(cat /run/secrets/ghostgate-admin)":
        "the operator's calls on a pending migration: tests/integration/test_one_truth.py makes "
        "the same three calls (with, without and with a wrong token) against a real migration",
    'curl -X POST -H "Authorization: Bearer $(cat /etc/ghostgate/admin-token)" \\':
        "an operator's release of a waiting shard change: tests/integration/test_shard_merge.py "
        "makes the same call against a real waiting change",
    "docker build -t ghostgate:0.1.0 .   # with a Docker engine":
        "builds the container image (no Docker engine here; scripts/image.sh is run by hand as "
        "root, and tests/integration/test_deploy.py checks the Dockerfile in every run)",
}
# A norun block may hold a second command that is covered otherwise:
#   scripts/build.sh  builds build/, the very build this test runs from (GHOSTGATE_BIN).

FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```\s*$", re.M | re.S)


def blocks():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    for m in FENCE.finditer(text):
        yield m.group(1).strip(), m.group(2)


class Readme(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.standin = harness.Standin(name="readme").start()

    def substitute(self, text, ports):
        s = self.standin
        text = text.replace("-h tidb.example -P 4000", f"-h 127.0.0.1 -P {s.port}")
        text = text.replace("tidb.example:4000", f"127.0.0.1:{s.port}")
        text = text.replace("-u root -p ", f"-u {harness.ROOT_USER} -p{harness.ROOT_PASSWORD} ")
        text = text.replace("-u app -p ", f"-u {harness.TEST_USER} -p{harness.TEST_PASSWORD} ")
        text = re.sub(r"\b6033\b", str(ports[0]), text)
        text = re.sub(r"\b9033\b", str(ports[1]), text)
        text = re.sub(r"(?<![\w/])build/ghostgate\b", harness.ghostgate_binary(), text)
        return text

    def test_every_command_runs(self):
        ports = (harness.free_port(), harness.free_port())
        script, files, norun = [], {}, []
        for info, body in blocks():
            words = info.split()
            lang = words[0] if words else ""
            if lang == "sh" and "norun" in words[1:]:
                norun.append(body.splitlines()[0])
            elif lang == "sh":
                script.append(self.substitute(body, ports))
            elif lang == "yaml" and body.startswith("# ") and "\n" in body:
                name = body.split("\n", 1)[0][2:].strip()
                if re.fullmatch(r"[\w.-]+\.ya?ml", name):
                    files[name] = self.substitute(body, ports)
        self.assertEqual(sorted(norun), sorted(NOT_RUN), "README's `sh norun` blocks")
        self.assertGreaterEqual(len(script), 5)
        self.assertIn("config.yaml", files)

        with tempfile.TemporaryDirectory(dir=harness.session_dir()) as d:
            for name, text in files.items():
                with open(os.path.join(d, name), "w") as f:
                    f.write(text)
            path = os.path.join(d, "readme.sh")
            with open(path, "w") as f:
                f.write("set -euo pipefail\n" + "\n".join(script))
            env = harness.gate_environment()
            proc = subprocess.Popen(["bash", path], cwd=d, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, start_new_session=True)
            try:
                out, _ = proc.communicate(timeout=120)
            finally:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.standin.query("DROP USER IF EXISTS 'ghostgate'@'%'")
            self.assertEqual(proc.returncode, 0, f"README commands failed:\n{out}")
        # What the first run promises.
        self.assertIn("# configuration is valid", out)
        self.assertRegex(out, r"(?m)^ready$")                       # step 4: /readyz
        self.assertRegex(out, rf"{harness.TEST_USER}@%")             # step 5: the client's own
        self.assertRegex(out, r"ghostgate \d+\.\d+\.\d+")            # --version
        self.assertNotIn("not a config key", out)


if __name__ == "__main__":
    harness.main(ghostgate_only=True)
