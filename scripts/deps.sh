#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build, test and run ghostgate — only the missing
# ones. A quick no-op when everything is present. Needs root (or sudo) only when installing.
#   scripts/deps.sh          everything: build, tests, benchmarks, the stand-in, clients
#   scripts/deps.sh build    only what compiles ghostgate (the Dockerfile's build stage)
#   scripts/deps.sh image    what scripts/image.sh needs to build and run the container image
set -euo pipefail

BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libboost1.74-dev libboost-system1.74-dev libssl-dev libre2-dev libyaml-cpp-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev
)
# buildah builds and runs the image without a Docker engine; debootstrap makes its Debian base
# when no registry answers; the rest starts the stand-in and a client against the container.
IMAGE_PACKAGES=(
  buildah debootstrap mariadb-server mariadb-client python3 python3-pymysql procps
)
PACKAGES=(
  "${BUILD_PACKAGES[@]}"
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev libmysqlcppconn-dev libmariadb-dev clang-14 libclang-rt-14-dev
  # the MariaDB stand-in, real clients, load and online-schema-change tools
  mariadb-server mariadb-client sysbench haproxy python3 python3-pymysql python3-yaml percona-toolkit
  openssl procps
)
case ${1:-all} in
  all) ;;
  build) PACKAGES=("${BUILD_PACKAGES[@]}") ;;
  image) PACKAGES=("${IMAGE_PACKAGES[@]}") ;;
  *)
    echo "deps: unknown group '$1' (all, build, image)" >&2
    exit 2
    ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then
    SUDO=(sudo)
  else
    echo "deps: missing ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start a system-wide mariadbd (there may be no init system, and the
# tests start their own private servers): policy-rc.d exit 101 = "action forbidden".
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
  "${SUDO[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
  made_policy=1
fi
cleanup() { if ((made_policy)); then "${SUDO[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
echo "deps: done"
