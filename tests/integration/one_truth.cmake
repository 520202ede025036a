# Online DDL state is one truth in the backend (issue 10): two instances, late starts,
# tombstones, the admin actions, in-flight cut-over DDL, start before the backend; about 60 s.
ghostgate_it_test(integration.online_ddl.one_truth integration/test_one_truth.py 300)
