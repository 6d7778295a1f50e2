#!/usr/bin/env bash
# Make sure a Docker engine answers (`make image` and `make image-test` call this): nothing to do when one
# already runs; otherwise, as root, install Debian's docker.io when dockerd is missing and start dockerd in
# the background (log: $DOCKERD_LOG). Exits non-zero, with the engine's own last words, when none can run.
#
# The engine is started for host networking only: no docker0 bridge, no iptables rules, no IP forwarding.
# Builds run with --network none and containers with --network host, so the machine's firewall and
# addresses stay as they were and containers talk to the host's PostgreSQL and S3 server over loopback.
# If the default storage driver (overlay2) cannot start here, vfs is tried (slower, needs no kernel support).
set -euo pipefail

docker="${DOCKER:-docker}"
log="${DOCKERD_LOG:-${TMPDIR:-/tmp}/shifan-dockerd.log}"

answers() { "$docker" info >/dev/null 2>&1; }

if answers; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "docker-engine.sh: no Docker engine answers, and only root can start one (dockerd)" >&2
  exit 1
fi
if ! command -v dockerd >/dev/null 2>&1 || ! command -v "$docker" >/dev/null 2>&1; then
  echo "installing the Docker engine (docker.io) from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi

start() {  # start dockerd with the given extra options; true once it answers (30 s at most)
  echo "starting dockerd $* (log: $log)"
  nohup dockerd --bridge=none --iptables=false --ip6tables=false --ip-forward=false "$@" >>"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 60); do
    if answers; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    sleep 0.5
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return 1
}

if start || start --storage-driver=vfs; then
  "$docker" info --format 'Docker engine {{.ServerVersion}} ({{.Driver}} storage, cgroup {{.CgroupVersion}}) answers'
  exit 0
fi
echo "docker-engine.sh: dockerd did not start; its last lines ($log):" >&2
tail -n 25 "$log" >&2
exit 1
