# ghostgate container image: Debian 12, built by the same scripts as the README
# (scripts/deps.sh, scripts/build.sh), run as an unprivileged user, probed on /readyz.
#
#   docker build -t ghostgate .
#   docker run --rm -p 6033:6033 -p 9033:9033 -e GHOSTGATE_BACKEND_ADDRESS=tidb:4000 ghostgate
#
# Configuration: /etc/ghostgate/ghostgate.yaml is config.example.yaml (every default); override any
# key with a GHOSTGATE_* variable (see config.example.yaml) or mount your own file there. Give
# `docker stop` / Kubernetes more time than timeouts.drain (30s by default) so SIGTERM can drain.
# deploy/ has a Kubernetes sidecar example and a compose file.
#
# scripts/image.sh builds this image and runs it (no Docker engine needed: buildah), checking the
# probe, the runtime libraries, SIGTERM and a client through it. tests/integration/test_deploy.py
# checks this file against deploy/ and the binary in every test run.

# ---- build: the README's scripts, on the same Debian release as the runtime --------------------
FROM debian:bookworm-slim AS build
WORKDIR /src
# The package layer first: it is cached until scripts/deps.sh changes. Only the build packages.
COPY scripts/deps.sh scripts/deps.sh
RUN bash scripts/deps.sh build && rm -rf /var/lib/apt/lists/*
# Whole source folders (files move between sub-folders of proxy/), not tests/ or bench/: only the
# ghostgate target is built. Tests and benchmarks run in CI (scripts/test.sh), not in the image.
COPY CMakeLists.txt config.example.yaml ./
COPY scripts/build.sh scripts/build.sh
COPY protocol protocol
COPY rules rules
COPY proxy proxy
RUN BUILD_DIR=/src/build-image TARGETS=ghostgate bash scripts/build.sh \
      -DGHOSTGATE_TESTS=OFF -DGHOSTGATE_BENCH=OFF \
 && strip --strip-debug -o /ghostgate /src/build-image/ghostgate \
 && /ghostgate --version \
 && /ghostgate --check-config /src/config.example.yaml > /dev/null

# ---- runtime: the shared libraries `ldd ghostgate` lists, CA certificates, curl for the probe ---
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libstdc++6 libgcc-s1 libssl3 libre2-9 libyaml-cpp0.7 libspdlog1.10 libfmt9 \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 ghostgate \
 && useradd --system --uid 10001 --gid ghostgate --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin ghostgate
COPY --from=build /ghostgate /usr/local/bin/ghostgate
COPY config.example.yaml /etc/ghostgate/ghostgate.yaml

# In a container the ports must be reachable from outside it: the file's loopback defaults are
# overridden here (the probe below and the orchestrator's probes use the admin port).
ENV GHOSTGATE_LISTEN=0.0.0.0:6033 \
    GHOSTGATE_ADMIN=0.0.0.0:9033
EXPOSE 6033 9033

USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["curl", "--fail", "--silent", "--show-error", "--output", "/dev/null", "--max-time", "2", "http://127.0.0.1:9033/readyz"]
# SIGTERM drains (statements in flight finish, bounded by timeouts.drain), then exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/ghostgate"]
CMD ["--config", "/etc/ghostgate/ghostgate.yaml"]
