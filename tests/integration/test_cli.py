#!/usr/bin/python3
"""Transparent proxy, the `mariadb` command-line client: plain and TLS (client -> ghostgate),
and TLS from ghostgate to the backend.

    /usr/bin/python3 tests/integration/test_cli.py --direct
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import harness  # noqa: E402


def mariadb(target, *args, stdin=None, user=None, password=None, timeout=60):
    """Runs the mariadb CLI against the target; returns CompletedProcess (text)."""
    p = target.params(user, password)
    cli = harness.which_or_fail("mariadb", "install mariadb-client (scripts/deps.sh)")
    cmd = [cli, "--no-defaults", f"-h{p['host']}", f"-P{p['port']}", f"-u{p['user']}",
           f"-p{p['password']}", "--protocol=TCP", "--connect-timeout=10", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)


SCRIPT = """
CREATE DATABASE IF NOT EXISTS test_cli;
USE test_cli;
DROP TABLE IF EXISTS t;
CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(8,2));
INSERT INTO t VALUES (1, 'apple', 1.25), (2, 'pear', NULL), (3, 'tab\\there', 3.00);
DROP PROCEDURE IF EXISTS two_results;
DELIMITER //
CREATE PROCEDURE two_results(IN lim INT)
BEGIN
  SELECT id, name FROM t WHERE id <= lim ORDER BY id;
  SELECT COUNT(*) AS n, SUM(price) AS total FROM t;
END//
DELIMITER ;
CALL two_results(2);
SELECT name, price FROM t ORDER BY id;
UPDATE t SET price = price * 2 WHERE price IS NOT NULL;
SELECT SUM(price) FROM t;
SHOW WARNINGS;
"""

EXPECTED = ("id\tname\n1\tapple\n2\tpear\nn\ttotal\n3\t4.25\n"
            "name\tprice\napple\t1.25\npear\tNULL\ntab\\there\t3.00\n"
            "SUM(price)\n8.50\n")


class Cli(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        # TLS on the stand-in serves direct-mode TLS clients; ghostgate serves its own.
        cls.target = harness.start_target(tls=True, client_tls=True)
        cls.ca = harness.make_certs()["ca"]

    def status(self, *args):
        r = mariadb(self.target, *args, "-e", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_script_with_procedure_and_delimiter(self):
        r = mariadb(self.target, "--batch", "--skip-ssl", stdin=SCRIPT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, EXPECTED)

    def test_queries_and_errors(self):
        r = mariadb(self.target, "--batch", "--skip-column-names", "-e",
                    "SELECT 1+1; SELECT CURRENT_USER(); SELECT DATABASE()", "test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "2\nroot@127.0.0.1\ntest\n")
        r = mariadb(self.target, "--batch", "-e", "SELECT * FROM test.no_such_table")
        self.assertEqual(r.returncode, 1)
        self.assertIn("ERROR 1146 (42S02) at line 1: Table 'test.no_such_table' doesn't exist",
                      r.stderr)
        r = mariadb(self.target, "--batch", "-e", "SELECT 1", password="wrong")
        self.assertEqual(r.returncode, 1)
        self.assertIn("ERROR 1045 (28000): Access denied for user 'root'@'", r.stderr)

    def test_status_without_tls(self):
        out = self.status("--skip-ssl")
        self.assertRegex(out, r"SSL:\s+Not in use")
        self.assertRegex(out, r"Connection:\s+127\.0\.0\.1 via TCP/IP")

    def test_status_with_tls(self):
        out = self.status("--ssl")
        self.assertRegex(out, r"SSL:\s+Cipher in use is \S+")

    def test_tls_verifies_against_our_ca(self):
        out = self.status("--ssl", f"--ssl-ca={self.ca}", "--ssl-verify-server-cert")
        self.assertRegex(out, r"SSL:\s+Cipher in use is \S+")
        r = mariadb(self.target, "--batch", "--skip-column-names", "--ssl", f"--ssl-ca={self.ca}",
                    "-e", "SHOW SESSION STATUS LIKE 'Ssl_version'")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_tls_with_an_unknown_ca_is_refused(self):
        other = harness.make_certs(os.path.join(harness.session_dir(), "other-ca"))
        r = mariadb(self.target, "--ssl", f"--ssl-ca={other['ca']}", "--ssl-verify-server-cert",
                    "-e", "SELECT 1")
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"ERROR 2026 .*SSL|certificate|TLS/SSL error")

    def test_server_version_matches_backend(self):
        version = self.target.standin.query("SELECT VERSION()")[0][0]
        out = self.status("--skip-ssl")
        m = re.search(r"Server version:\s+(\S+)", out)
        self.assertIsNotNone(m, out)
        self.assertEqual(m.group(1), version)


class BackendTls(harness.TestCase):
    """ghostgate -> backend over TLS (verify-ca), client -> ghostgate in plain text.

    `SHOW SESSION STATUS LIKE 'Ssl_cipher'` is answered by the backend about the connection it
    sees: through ghostgate that is ghostgate's TLS connection. In direct mode the client itself
    must use TLS for the same answer, so it does."""

    @classmethod
    def setUpClass(cls):
        cls.target = harness.start_target(backend_tls="verify-ca", client_tls=False)

    def test_backend_connection_is_encrypted(self):
        args = ["--skip-ssl"] if self.target.gate else ["--ssl"]
        r = mariadb(self.target, *args, "--batch", "--skip-column-names", "-e",
                    "SHOW SESSION STATUS LIKE 'Ssl_cipher'; SHOW SESSION STATUS LIKE 'Ssl_version';"
                    " SELECT 'round trip'")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertRegex(lines[0], r"^Ssl_cipher\t\S+$")
        self.assertRegex(lines[1], r"^Ssl_version\tTLSv1\.[23]$")
        self.assertEqual(lines[2], "round trip")

    def test_client_side_is_plain(self):
        out = mariadb(self.target, "--skip-ssl", "-e", "status")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"SSL:\s+Not in use")


if __name__ == "__main__":
    harness.main()
