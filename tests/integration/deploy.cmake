# The container image and the deploy examples (issue 13), checked by machine without a Docker
# engine or a cluster: the Dockerfile, deploy/kubernetes and deploy/compose against each other and
# against `ldd ghostgate` and `ghostgate --check-config`. scripts/image.sh builds and runs the
# image for real (root, minutes; not part of the suite). Included by tests/CMakeLists.txt.
ghostgate_it_test(integration.deploy integration/test_deploy.py 120)
