#!/usr/bin/python3
"""ghostgate -> backend TLS, every backend.tls.mode, against stand-ins with and without TLS:
what each mode accepts, what it refuses, and that the backend really sees TLS when it should.
(test_cli.py covers verify-ca with a good CA; test_caching_sha2.py required with a MySQL 8 fake.)

    /usr/bin/python3 tests/integration/test_backend_tls.py
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import harness  # noqa: E402
import pymysql  # noqa: E402


class BackendTlsModes(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        if harness.mode() != harness.MODE_GHOSTGATE:
            raise harness.HarnessError("backend TLS modes are ghostgate's own; run through it")
        cls.tls_standin = harness.Standin(name="tls", tls=True).start()
        cls.plain_standin = harness.Standin(name="plain", tls=False).start()

    @classmethod
    def tearDownClass(cls):
        cls.tls_standin.stop()
        cls.plain_standin.stop()
        super().tearDownClass()

    def gate(self, standin, mode, ready=True, **tls):
        extra = {"backend": {"tls": tls}} if tls else None
        gate = harness.Ghostgate(standin, name=f"gate-{mode}", backend_tls=mode, extra=extra)
        gate.wait_ready = ready
        gate.start()
        self.addCleanup(gate.stop)
        return gate

    def cipher(self, gate):
        conn = gate.connect()
        with conn.cursor() as cur:
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            value = cur.fetchone()[1]
        conn.close()
        return value

    def refused(self, gate):
        with self.assertRaises(pymysql.err.MySQLError) as cm:
            gate.connect()
        return str(cm.exception)

    def test_preferred_uses_tls_when_offered(self):
        self.assertNotEqual(self.cipher(self.gate(self.tls_standin, "preferred")), "")

    def test_preferred_falls_back_to_plain(self):
        self.assertEqual(self.cipher(self.gate(self.plain_standin, "preferred")), "")

    def test_required_refuses_a_plain_backend(self):
        message = self.refused(self.gate(self.plain_standin, "required", ready=False))
        self.assertRegex(message, r"(?i)tls|ssl")

    def test_required_does_not_verify(self):
        other = harness.make_certs(os.path.join(harness.session_dir(), "other-ca-required"))
        gate = self.gate(self.tls_standin, "required", ca=other["ca"])
        self.assertNotEqual(self.cipher(gate), "")

    def test_verify_ca_refuses_an_unknown_ca(self):
        other = harness.make_certs(os.path.join(harness.session_dir(), "other-ca-verify"))
        gate = self.gate(self.tls_standin, "verify-ca", ready=False, ca=other["ca"])
        self.assertRegex(self.refused(gate), r"(?i)certificate|verify|tls|ssl")

    def test_verify_ca_ignores_the_name(self):
        gate = self.gate(self.tls_standin, "verify-ca", **{"server-name": "wrong.example"})
        self.assertNotEqual(self.cipher(gate), "")

    def test_verify_identity_checks_the_name(self):
        # The stand-in's certificate names IP 127.0.0.1 and DNS localhost.
        self.assertNotEqual(self.cipher(self.gate(self.tls_standin, "verify-identity")), "")
        good = self.gate(self.tls_standin, "verify-identity", **{"server-name": "localhost"})
        self.assertNotEqual(self.cipher(good), "")
        bad = self.gate(self.tls_standin, "verify-identity", ready=False,
                        **{"server-name": "wrong.example"})
        self.assertRegex(self.refused(bad), r"(?i)certificate|verify|tls|ssl|name")


if __name__ == "__main__":
    harness.main()
