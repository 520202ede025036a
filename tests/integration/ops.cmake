# Operations (issue 5): admin endpoint, metrics, logs, signals, command line, environment,
# container image and deploy examples. Included by tests/CMakeLists.txt (every
# tests/integration/*.cmake is); ghostgate_it_test() is defined there.
ghostgate_it_test(integration.ops.admin integration/test_admin.py 300)
# sysbench and SIGTERM timing: alone, so the drain is measured on an idle machine.
ghostgate_it_test(integration.ops.signals integration/test_signals.py 300 RUN_SERIAL TRUE)
ghostgate_it_test(integration.ops.check_config integration/test_check_config.py 180)
ghostgate_it_test(integration.ops.dm_first_hour integration/test_dm_first_hour.py 240)
ghostgate_it_test(integration.ops.readme integration/test_readme.py 180)
