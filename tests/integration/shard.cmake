# Shard merge (issue 9): routed shard traces (../shared/shard-traces and tests/shard-traces)
# replayed three ways with their routes.yaml, no routes, pessimistic waits, conflicts, the admin
# release, kill -9 at each step of a shard cut-over. Included by tests/CMakeLists.txt (every
# tests/integration/*.cmake is).
ghostgate_it_test(integration.online_ddl.shard_merge integration/test_shard_merge.py 600)
set_property(TEST integration.online_ddl.shard_merge APPEND PROPERTY ENVIRONMENT
  "GHOSTGATE_PS_REPLAY=$<TARGET_FILE:ps_replay>")
