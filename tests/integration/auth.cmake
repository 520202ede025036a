# Authentication relay end to end: caching_sha2_password (fast, full over TLS, full with the RSA
# key exchange, COM_CHANGE_USER on pooled connections) against tests/harness/fake_mysql.py, a
# fake MySQL 8 server (the MariaDB stand-in has no caching_sha2_password server plugin).
# Included by tests/CMakeLists.txt (every tests/integration/*.cmake is).

ghostgate_it_test(integration.transparent.caching_sha2 integration/test_caching_sha2.py 300)

# client-auth.users: logins ghostgate checks itself, pooled connections switched with proofs it
# computes (no second exchange for the client), a stale hash, SIGHUP, COM_CHANGE_USER.
ghostgate_it_test(integration.transparent.client_auth integration/test_client_auth.py 300)
