# Online-DDL integration tests (included by tests/CMakeLists.txt).

# Crash safety: ghostgate killed by failpoints (proxy/failpoint.h) during migrations, restarted,
# the replicator resends; about 25 s.
ghostgate_it_test(integration.online_ddl.crash integration/test_crash.py 300)

# The trace replay's prepared-statement mode runs tests/tools/ps_replay (mysql-connector-c++).
set_property(TEST integration.online_ddl.traces APPEND PROPERTY ENVIRONMENT
  "GHOSTGATE_PS_REPLAY=$<TARGET_FILE:ps_replay>")

# A long cut-over DDL blocks neither other tables' row changes nor their cut-overs.
ghostgate_it_test(integration.online_ddl.concurrency integration/test_online_ddl_concurrency.py 180)

# dry-run: everything forwarded (downstream = direct replay), decisions only logged.
ghostgate_it_test(integration.online_ddl.dry_run integration/test_dry_run.py 180)

# The same replay of every other tool's trace (tests/traces/: Spirit, LHM, Vitess, Bytebase, DMS,
# oak, gh-ost --force-table-names, pt-osc rebuild_constraints + history), three ways each.
ghostgate_it_test(integration.online_ddl.tool_traces integration/test_traces.py 600)
set_property(TEST integration.online_ddl.tool_traces APPEND PROPERTY ENVIRONMENT
  "GHOSTGATE_PS_REPLAY=$<TARGET_FILE:ps_replay>"
  "GHOSTGATE_TRACES=${CMAKE_CURRENT_SOURCE_DIR}/traces")

# Reverts (gh-ost --revert, Vitess REVERT) and helper bindings across restarts (issue 12).
ghostgate_it_test(integration.online_ddl.revert integration/test_revert.py 300)
