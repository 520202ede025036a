#!/usr/bin/env bash
# Builds the container image from ./Dockerfile, then runs it and checks what a user would hit
# first: the binary as the image's user, its runtime libraries, a client served through it
# against a MariaDB stand-in, the HEALTHCHECK both ways, SIGTERM. Each step is named; a failure
# names its step. Needs root and a few minutes (the compile), so it is not part of scripts/test.sh.
#
#   scripts/image.sh                      IMAGE=ghostgate:<project version> by default
#   IMAGE=ghostgate:dev scripts/image.sh
#   DEBIAN_MIRROR=http://...              debootstrap's mirror (default: the one apt uses here)
#
# Builder: `docker build` when a Docker engine answers (`docker info`), otherwise
# `buildah bud --isolation chroot`. A base image the registry cannot give (no network to it) is
# made with `debootstrap --variant=minbase` when it is a Debian one, slimmed like the official
# -slim images and cached in /var/cache/ghostgate-image (delete that folder and `buildah rmi` the
# base to make it again). Build layers are kept for the next run; `buildah rmi --prune` frees
# them. Containers run through `buildah run --isolation chroot`: podman's OCI runtime cannot set
# rlimits on machines without CAP_SYS_RESOURCE. chroot isolation shares the host's network, so
# ghostgate's ports are on this machine's loopback during the checks.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
CACHE=/var/cache/ghostgate-image
VERSION=$(sed -n 's/^project(ghostgate VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
IMAGE=${IMAGE:-ghostgate:$VERSION}
NAME=ghostgate-image-check-$$ # the container that runs the checks

# ---- steps, failure, cleanup ----------------------------------------------------------------

STEP=setup
STEP_START=$SECONDS
step() {
  STEP=$1
  STEP_START=$SECONDS
  printf '\n==== %s\n' "$STEP"
}
ok() { echo "  ok: $* ($((SECONDS - STEP_START))s)"; }
note() { echo "  $*"; }
fail() {
  echo "image.sh: $*" >&2
  exit 1
}

BUILDER=""
work=""
ctr=""
import_ctr=""
run_pid=""
standin_dir=""
cleanup() {
  if [[ -n $run_pid ]] && kill -0 "$run_pid" 2>/dev/null; then
    kill_ghostgate
  fi
  if [[ -n $ctr ]]; then
    if [[ $BUILDER == docker ]]; then
      docker rm -f "$ctr" >/dev/null 2>&1 || true
    else
      buildah rm "$ctr" >/dev/null 2>&1 || true
    fi
  fi
  if [[ -n $import_ctr ]]; then
    buildah rm "$import_ctr" >/dev/null 2>&1 || true
  fi
  if [[ -n $standin_dir ]]; then
    "$PY" tests/harness/harness.py standin stop --dir "$standin_dir" >/dev/null 2>&1 || true
  fi
  if [[ -n $work ]]; then
    rm -rf --one-file-system "$work"
  fi
}
on_exit() {
  local rc=$?
  trap - EXIT
  if ((rc != 0)) && [[ -n $work && -s $work/ghostgate.log ]]; then
    echo "---- ghostgate's log in the container (last 20 lines)" >&2
    tail -n 20 "$work/ghostgate.log" >&2
  fi
  cleanup
  if ((rc == 130 || rc == 143)); then
    echo "image.sh: interrupted at step \"$STEP\"; containers and the stand-in stopped" >&2
  elif ((rc != 0)); then
    echo "image.sh: FAILED at step \"$STEP\"" >&2
  else
    printf '\nimage.sh: %s built and checked in %ds\n' "$IMAGE" "$SECONDS"
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# ---- tools ------------------------------------------------------------------------------------

step "tools"
if [[ $(id -u) -ne 0 ]]; then
  fail "needs root (buildah's chroot isolation, debootstrap): sudo scripts/image.sh"
fi
mkdir -p "$CACHE"
# One run at a time: the cached base, the stand-in and the admin port are shared.
exec 9>"$CACHE/lock"
if ! flock -n 9; then
  note "another scripts/image.sh is running; waiting for it"
  flock 9
fi
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  BUILDER=docker
else
  BUILDER=buildah
fi
# buildah/debootstrap, the stand-in's server and a client: installed when missing, like deps.sh.
bash scripts/deps.sh image
for tool in buildah:buildah debootstrap:debootstrap mariadb:mariadb-client \
  mariadbd:mariadb-server ps:procps; do
  if ! command -v "${tool%%:*}" >/dev/null && ! [[ -x /usr/sbin/${tool%%:*} ]]; then
    fail "${tool%%:*} missing: apt-get install ${tool#*:}"
  fi
done
if ! "$PY" -c 'import pymysql' 2>/dev/null; then
  fail "python3-pymysql missing (the stand-in): apt-get install python3-pymysql"
fi
work=$(mktemp -d /tmp/ghostgate-image.XXXXXX)
ok "builder: $BUILDER; image: $IMAGE"

# ---- base images ------------------------------------------------------------------------------

# docker.io/library/debian:bookworm-slim for debian:bookworm-slim, as Docker and buildah read it.
qualified() {
  local n=$1 first=${1%%/*}
  if [[ $n != */* ]]; then
    n=docker.io/library/$n
  elif [[ $first != *.* && $first != *:* && $first != localhost ]]; then
    n=docker.io/$n
  fi
  echo "$n"
}

image_exists() {
  if [[ $BUILDER == docker ]]; then
    docker image inspect "$1" >/dev/null 2>&1
  else
    buildah inspect --type image "$1" >/dev/null 2>&1
  fi
}

# The URI apt fetches SUITE from on this machine (its sources.list / *.sources), or nothing.
# shellcheck disable=SC2016 # apt-get expands $(RELEASE), not the shell
apt_uri() {
  apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 'Identifier: Packages' 2>/dev/null |
    awk -v suite="$1" '$1 == suite { print $2; exit }'
}

# A Debian SUITE root file system made by debootstrap, slimmed like the official -slim images
# (no docs, man pages, locales; apt keeps no .debs or lists), as a tar in the cache.
make_debian_tar() {
  local suite=$1 tar=$2 mirror security rootfs=$CACHE/rootfs.tmp
  mirror=${DEBIAN_MIRROR:-$(apt_uri "$suite")}
  if [[ -z $mirror ]]; then
    fail "no Debian mirror for $suite in apt's sources here: set DEBIAN_MIRROR=http://.../debian"
  fi
  security=$(apt_uri "$suite-security")
  note "debootstrap --variant=minbase $suite from $mirror (a few minutes, once)"
  rm -rf --one-file-system "$rootfs"
  local log=$CACHE/debootstrap.log
  if ! debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    fail "debootstrap failed (log: $log)"
  fi
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/etc/hostname "$rootfs"/etc/resolv.conf \
    "$rootfs"/etc/apt/sources.list
  find "$rootfs"/dev -mindepth 1 -delete # the container runtime provides /dev
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' \
      "$mirror" "$suite" "$suite"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    if [[ -n $security ]]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' "$security" "$suite"
      printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    fi
  } >"$rootfs"/etc/apt/sources.list.d/debian.sources
  # What the official images configure: later installs stay slim, apt keeps no .debs.
  mkdir -p "$rootfs"/etc/dpkg/dpkg.cfg.d
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/groff/*' 'path-exclude /usr/share/info/*' \
    'path-exclude /usr/share/linda/*' 'path-exclude /usr/share/lintian/overrides/*' \
    'path-exclude /usr/share/locale/*' 'path-exclude /usr/share/man/*' \
    >"$rootfs"/etc/dpkg/dpkg.cfg.d/docker
  local clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb'
  clean+=' /var/cache/apt/*.bin || true";'
  printf 'DPkg::Post-Invoke { %s };\nAPT::Update::Post-Invoke { %s };\n%s\n%s\n' \
    "$clean" "$clean" 'Dir::Cache::pkgcache "";' 'Dir::Cache::srcpkgcache "";' \
    >"$rootfs"/etc/apt/apt.conf.d/docker-clean
  echo 'Acquire::Languages "none";' >"$rootfs"/etc/apt/apt.conf.d/docker-no-languages
  find "$rootfs"/usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
  find "$rootfs"/usr/share/doc -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{groff,info,linda,locale,man}/* "$rootfs"/usr/share/lintian/overrides/*
  tar --numeric-owner -C "$rootfs" -cf "$tar.tmp" .
  mv "$tar.tmp" "$tar"
  rm -rf --one-file-system "$rootfs"
}

# Makes sure base image NAME is in local storage: already there, pulled, or made by debootstrap.
ensure_base() {
  local name=$1 full suite tar
  full=$(qualified "$name")
  if image_exists "$full"; then
    note "$name: in local storage"
    return 0 # explicit: a bare return in the EXIT trap's functions returns the trap's status
  fi
  if [[ $BUILDER == docker ]]; then
    timeout 120 docker pull -q "$full" >/dev/null 2>&1 && { note "$name: pulled" && return; }
  else
    timeout 120 buildah pull -q "$full" >/dev/null 2>&1 && { note "$name: pulled" && return; }
  fi
  note "$name: the registry cannot be reached"
  if [[ ! $full =~ ^docker\.io/library/debian:([a-z]+)(-slim)?$ ]]; then
    fail "cannot pull $name and only Debian bases (debian:<codename>[-slim]) can be made here"
  fi
  suite=${BASH_REMATCH[1]}
  tar=$CACHE/debian-$suite-minbase.tar
  if [[ -s $tar ]]; then
    note "$name: from the cached $tar"
  else
    make_debian_tar "$suite" "$tar"
  fi
  local path=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  if [[ $BUILDER == docker ]]; then
    docker import --change 'CMD ["bash"]' --change "ENV $path" "$tar" "$full" >/dev/null
  else
    import_ctr=$(buildah from scratch)
    buildah add --quiet "$import_ctr" "$tar" / >/dev/null
    buildah config --cmd '["bash"]' --env "$path" \
      --label "org.ghostgate.base=debootstrap --variant=minbase $suite" "$import_ctr"
    buildah commit --quiet --rm "$import_ctr" "$full" >/dev/null
    import_ctr=""
  fi
  note "$name: made by debootstrap and imported as $full"
}

step "base images"
# Containers of a run that was killed before its cleanup (their pid is gone).
if [[ $BUILDER == buildah ]]; then
  for old in $(buildah containers --noheading --format '{{.ContainerName}}' |
    grep '^ghostgate-image-check-' || true); do
    kill -0 "${old##*-}" 2>/dev/null || buildah rm "$old" >/dev/null
  done
fi
# FROM [--platform=...] IMAGE [AS NAME]: the stage names, the images, the runtime stage's image.
from_lines() {
  awk 'toupper($1) == "FROM" { $1 = ""; sub(/^ (--[^ ]+ )*/, ""); print }' Dockerfile
}
mapfile -t stages < <(from_lines | awk 'toupper($2) == "AS" { print $3 }')
mapfile -t bases < <(from_lines | awk '{ print $1 }' | sort -u)
runtime_base=$(from_lines | awk 'END { print $1 }')
for base in "${bases[@]}"; do
  if [[ $base == scratch ]] || printf '%s\n' "${stages[@]}" | grep -qxF "$base"; then
    continue
  fi
  ensure_base "$base"
done
ok "${#bases[@]} base image(s) ready"

# ---- build ------------------------------------------------------------------------------------

step "build ($BUILDER)"
note "full log: $CACHE/build.log (the compile takes several minutes on 2 cores)"
set +e
if [[ $BUILDER == docker ]]; then
  DOCKER_BUILDKIT=1 docker build --progress=plain -t "$IMAGE" -f Dockerfile . 2>&1 |
    tee "$CACHE/build.log" | { grep --line-buffered -E '^#[0-9]+ \[' || true; }
else
  # docker format: the OCI format has no HEALTHCHECK. --layers: an unchanged step is reused.
  buildah bud --isolation chroot --format docker --layers --pull=false -t "$IMAGE" \
    -f Dockerfile . 2>&1 |
      tee "$CACHE/build.log" |
    { grep --line-buffered -E '^(\[[0-9]+/[0-9]+\] )?(STEP [0-9]|COMMIT)|^--> Using' || true; }
fi
rc=${PIPESTATUS[0]}
set -e
if ((rc != 0)); then
  tail -n 30 "$CACHE/build.log" >&2
  fail "the image build failed (exit $rc; log: $CACHE/build.log)"
fi
ok "built $IMAGE"

# ---- what the image says about itself ---------------------------------------------------------

step "image configuration"
if [[ $BUILDER == docker ]]; then
  inspect=$(docker image inspect "$IMAGE")
else
  inspect=$(buildah inspect --type image "$IMAGE")
fi
# Shell arrays from the image's config: its user, entrypoint + command, health check, ports.
eval "$("$PY" - "$inspect" <<'EOF'
import json, shlex, sys
d = json.loads(sys.argv[1])
c = d[0]["Config"] if isinstance(d, list) else d["Docker"]["config"]  # docker / buildah
env = dict(e.split("=", 1) for e in c.get("Env") or [])
hc = (c.get("Healthcheck") or {}).get("Test") or []
if hc[:1] == ["CMD-SHELL"]:
    hc = ["/bin/sh", "-c", hc[1]]
elif hc[:1] == ["CMD"]:
    hc = hc[1:]
else:
    hc = []
def arr(name, xs):
    print(f"{name}=(" + " ".join(shlex.quote(x) for x in xs) + ")")
arr("IMG_ENTRYPOINT", c.get("Entrypoint") or [])
arr("IMG_CMD", c.get("Cmd") or [])
arr("IMG_HEALTHCHECK", hc)
arr("IMG_PORTS", sorted(p.split("/")[0] for p in c.get("ExposedPorts") or {}))
print("IMG_USER=" + shlex.quote(c.get("User") or ""))
print("IMG_ADMIN=" + shlex.quote(env.get("GHOSTGATE_ADMIN", "")))
print("IMG_LISTEN=" + shlex.quote(env.get("GHOSTGATE_LISTEN", "")))
h = c.get("Healthcheck") or {}  # durations in ns; Docker's defaults when unset
window = (h.get("Interval") or 30e9) * (h.get("Retries") or 3) / 1e9
print(f"IMG_HEALTH_WINDOW={int(window)}")  # how long Docker takes to call it unhealthy
print(f"IMG_HEALTH_START={int((h.get('StartPeriod') or 0) / 1e9 + window)}")
EOF
)"
[[ $IMG_USER == 10001 || $IMG_USER == 10001:* ]] ||
  fail "the image's USER is '$IMG_USER', not 10001"
((${#IMG_ENTRYPOINT[@]} > 0)) || fail "the image has no ENTRYPOINT"
((${#IMG_HEALTHCHECK[@]} > 0)) || fail "the image has no HEALTHCHECK (buildah: --format docker)"
config_file=""
for ((i = 0; i + 1 < ${#IMG_CMD[@]}; i++)); do
  [[ ${IMG_CMD[i]} == --config ]] && config_file=${IMG_CMD[i + 1]}
done
[[ -n $config_file ]] || fail "the image's CMD names no --config file: ${IMG_CMD[*]}"
admin_port=${IMG_ADMIN##*:}
listen_port=${IMG_LISTEN##*:}
for port in "$admin_port" "$listen_port"; do
  printf '%s\n' "${IMG_PORTS[@]}" | grep -qxF "$port" || fail "port $port is not EXPOSEd"
done
[[ ${IMG_HEALTHCHECK[*]} == *":$admin_port/"* ]] ||
  fail "the HEALTHCHECK does not probe the admin port $admin_port: ${IMG_HEALTHCHECK[*]}"
note "user $IMG_USER; ports ${IMG_PORTS[*]}; admin $IMG_ADMIN; listen $IMG_LISTEN"
note "command: ${IMG_ENTRYPOINT[*]} ${IMG_CMD[*]}"
note "health check: ${IMG_HEALTHCHECK[*]}"
ok "the image runs as uid 10001, exposes both ports, probes the admin port"

# ---- containers -------------------------------------------------------------------------------

# One working container for every check; `in_image` runs a command in it with the image's user
# and environment (and extra -e VAR=VALUE before `--`).
if [[ $BUILDER == docker ]]; then
  ctr=$NAME
  in_image() {
    local env=()
    while [[ $1 != -- ]]; do env+=("$1"); shift; done
    shift
    docker run --rm --network host "${env[@]}" --entrypoint "$1" "$IMAGE" "${@:2}"
  }
else
  ctr=$(buildah from --pull=never --name "$NAME" "$IMAGE")
  in_image() {
    local env=()
    while [[ $1 != -- ]]; do env+=("$1"); shift; done
    shift
    buildah run --isolation chroot "${env[@]}" "$ctr" -- "$@"
  }
fi

step "runtime libraries (ldd)"
binary=${IMG_ENTRYPOINT[0]}
libs=$(in_image -- ldd "$binary" 2>&1) || true
if grep -q "not found" <<<"$libs"; then
  grep "not found" <<<"$libs" | sed 's/^[[:space:]]*/  missing: /' >&2
  fail "$binary: shared libraries missing in the image (the runtime stage's apt-get install)"
fi
grep -q "=>" <<<"$libs" || fail "ldd $binary: $libs"
ok "$(grep -c '=>' <<<"$libs") libraries resolve"

step "--version and --check-config as uid 10001"
uid=$(in_image -- id -u)
[[ $uid == 10001 ]] || fail "commands run as uid $uid in the image, not 10001"
version=$(in_image -- "${IMG_ENTRYPOINT[@]}" --version)
[[ $version == "ghostgate $VERSION" ]] ||
  fail "--version printed '$version', not 'ghostgate $VERSION' (CMakeLists.txt)"
note "$version"
effective=$(in_image -- "${IMG_ENTRYPOINT[@]}" --check-config "$config_file") ||
  fail "--check-config $config_file failed in the image"
for line in "listen: $IMG_LISTEN" "admin: $IMG_ADMIN" "# configuration is valid"; do
  grep -qxF "$line" <<<"$effective" || fail "--check-config in the image does not show '$line'"
done
ok "uid $uid; $config_file with the image's environment is valid"

# ---- serving ----------------------------------------------------------------------------------

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port_free() { # as ghostgate binds (SO_REUSEADDR): TIME-WAIT connections do not count
  "$PY" -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()' "$1" 2>/dev/null
}
# The host pid of ghostgate (buildah run's descendant; in docker, the container's PID 1).
ghostgate_pid() {
  if [[ $BUILDER == docker ]]; then
    docker inspect -f '{{.State.Pid}}' "$ctr"
    return "$?"
  fi
  local pids=("$run_pid") p child
  while ((${#pids[@]})); do
    p=${pids[0]}
    pids=("${pids[@]:1}")
    if [[ $p != "$run_pid" && $(cat "/proc/$p/comm" 2>/dev/null) == ghostgate ]]; then
      echo "$p"
      return 0 # not a bare return: cleanup (in the EXIT trap) calls this
    fi
    for child in $(ps -o pid= --ppid "$p"); do pids+=("$child"); done
  done
  return 1
}
kill_ghostgate() { # then waits for the buildah run / docker run that started it
  local pid
  if pid=$(ghostgate_pid); then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  for _ in {1..50}; do
    kill -0 "$run_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$run_pid" 2>/dev/null || true
  wait "$run_pid" 2>/dev/null || true
  run_pid=""
}
healthcheck() { # buildah's own "exit status N" lines left out
  if [[ $BUILDER == docker ]]; then
    docker exec "$ctr" "${IMG_HEALTHCHECK[@]}"
  else
    buildah run --isolation chroot "$ctr" -- "${IMG_HEALTHCHECK[@]}" 2>&1 |
      grep -vE '^(subprocess exited with status|Error: exit status) [0-9]+$'
    return "${PIPESTATUS[0]}"
  fi
}
readyz() { # what /readyz says, seen from the host
  "$PY" -c '
import sys, urllib.error, urllib.request
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=5)
except urllib.error.HTTPError as e:
    r = e
print(r.status, r.read().decode().strip())' "http://127.0.0.1:$admin_port/readyz"
}
wait_health() { # want(pass|fail) seconds
  local deadline=$((SECONDS + $2)) out
  while ((SECONDS < deadline)); do
    kill -0 "$run_pid" 2>/dev/null || fail "ghostgate exited"
    if out=$(healthcheck 2>&1); then
      if [[ $1 == pass ]]; then
        return 0
      fi
    elif [[ $1 == fail ]]; then
      note "health check: ${out:-(no output)}; /readyz: $(readyz)"
      return 0
    fi
    sleep 1
  done
  fail "the health check did not ${1} within $2s (last output: ${out:-none})"
}

step "serve a client (stand-in on the host's loopback, GHOSTGATE_* overrides)"
standin_dir=$work/standin
"$PY" tests/harness/harness.py standin start --dir "$standin_dir" >"$work/standin.env" \
  2>"$work/standin.err" || {
  cat "$work/standin.err" >&2
  fail "the MariaDB stand-in did not start"
}
# shellcheck disable=SC1091
source "$work/standin.env" # STANDIN_PORT, STANDIN_USER ... (test accounts of the stand-in)
[[ $(readlink /proc/self/ns/net) == "$(in_image -- readlink /proc/self/ns/net)" ]] ||
  fail "the container has its own network: it cannot reach the stand-in on the host's loopback"
port_free "$admin_port" ||
  fail "port $admin_port (the image's admin port, which its HEALTHCHECK probes) is taken here"
client_port=$(free_port)
# ghostgate's backend password from a file, as the deploy examples pass it (a secret mount).
mkdir -m 0700 "$work/secret"
printf '%s\n' "$STANDIN_PASSWORD" >"$work/secret/password"
chmod 0600 "$work/secret/password"
chown -R 10001:10001 "$work/secret"
gate_env=(
  -e "GHOSTGATE_LISTEN=127.0.0.1:$client_port" # loopback: the host's network is shared
  -e "GHOSTGATE_ADMIN=127.0.0.1:$admin_port"
  -e "GHOSTGATE_BACKEND_ADDRESS=127.0.0.1:$STANDIN_PORT"
  -e "GHOSTGATE_BACKEND_USER=$STANDIN_USER"
  -e "GHOSTGATE_BACKEND_PASSWORD_FILE=/run/secrets/ghostgate/password"
)
if [[ $BUILDER == docker ]]; then
  docker run --name "$ctr" --network host "${gate_env[@]}" \
    -v "$work/secret:/run/secrets/ghostgate:ro" "$IMAGE" >"$work/ghostgate.log" 2>&1 &
else
  buildah run --isolation chroot "${gate_env[@]}" -v "$work/secret:/run/secrets/ghostgate:ro" \
    "$ctr" -- "${IMG_ENTRYPOINT[@]}" "${IMG_CMD[@]}" >"$work/ghostgate.log" 2>&1 &
fi
run_pid=$!
note "ghostgate: clients on 127.0.0.1:$client_port, admin on 127.0.0.1:$admin_port," \
  "backend 127.0.0.1:$STANDIN_PORT"
wait_health pass "$IMG_HEALTH_START"
note "healthy after $((SECONDS - STEP_START))s; /readyz: $(readyz)"
pid=$(ghostgate_pid) || fail "cannot find ghostgate's process"
[[ $(awk '/^Uid:/ { print $2 }' "/proc/$pid/status") == 10001 ]] ||
  fail "ghostgate (pid $pid) does not run as uid 10001"
answer=$(MYSQL_PWD=$STANDIN_TEST_PASSWORD mariadb --protocol=tcp -h127.0.0.1 -P"$client_port" \
  -u"$STANDIN_TEST_USER" --batch --skip-column-names -e 'SELECT 1' 2>&1) ||
  fail "the mariadb client through ghostgate failed: $answer"
[[ $answer == 1 ]] || fail "SELECT 1 through ghostgate answered '$answer'"
grep -q "backend 127.0.0.1:$STANDIN_PORT" "$work/ghostgate.log" ||
  fail "ghostgate's log does not name the backend from GHOSTGATE_BACKEND_ADDRESS"
ok "mariadb -e 'SELECT 1' through ghostgate in the image answered 1"

step "HEALTHCHECK fails while the backend is down, passes again after"
"$PY" tests/harness/harness.py standin stop --dir "$standin_dir" >/dev/null
wait_health fail "$IMG_HEALTH_WINDOW" # the image's interval x retries
note "unhealthy after $((SECONDS - STEP_START))s"
"$PY" tests/harness/harness.py standin start --dir "$standin_dir" --port "$STANDIN_PORT" \
  >/dev/null 2>"$work/standin.err" || { cat "$work/standin.err" >&2; fail "stand-in restart"; }
wait_health pass "$IMG_HEALTH_WINDOW"
ok "unhealthy with the backend down, healthy again once it is back"

step "SIGTERM exits 0"
pid=$(ghostgate_pid) || fail "cannot find ghostgate's process"
kill -TERM "$pid"
deadline=$((SECONDS + 45)) # timeouts.drain (30s) and a margin
while kill -0 "$run_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
if kill -0 "$run_pid" 2>/dev/null; then
  fail "ghostgate still runs 45s after SIGTERM"
fi
rc=0
wait "$run_pid" || rc=$?
if [[ $BUILDER == docker ]]; then
  rc=$(docker wait "$ctr")
fi
run_pid=""
((rc == 0)) || fail "ghostgate exited with $rc after SIGTERM"
grep -q "draining" "$work/ghostgate.log" || fail "ghostgate's log has no 'draining' line"
ok "ghostgate drained and exited with status 0"

step "size"
if [[ $BUILDER == docker ]]; then
  docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' "$IMAGE"
else
  size=$(buildah images --noheading --format '{{.Size}}' "$IMAGE")
  base_size=$(buildah images --noheading --format '{{.Size}}' "$(qualified "$runtime_base")")
  echo "  $IMAGE: $size (its base $runtime_base: $base_size)"
fi
ok "done"
