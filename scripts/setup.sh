#!/usr/bin/env bash
# Installs what the pool manager needs on a fresh Debian machine: gearmand and the gearman
# CLI, the openstack CLI (the tests drive the cloud simulator with it) and Prometheus with
# promtool (the alert rules' tests, npm start's Prometheus) from Debian, and the npm
# dependencies pinned by package-lock.json. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=()
if ! command -v gearmand >/dev/null && [ ! -x /usr/sbin/gearmand ] || ! command -v gearman >/dev/null; then
  packages+=(gearman-job-server gearman-tools)
fi
if ! command -v openstack >/dev/null; then
  packages+=(python3-openstackclient)
fi
prometheus_missing=no
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  prometheus_missing=yes
fi
if [ ${#packages[@]} -gt 0 ] || [ "$prometheus_missing" = yes ]; then
  as_root apt-get update -qq
fi
if [ ${#packages[@]} -gt 0 ]; then
  echo "setup: installing ${packages[*]} from Debian" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi
if [ "$prometheus_missing" = yes ]; then
  # The package would start a system Prometheus on :9090 (and its recommended node exporter
  # on :9100). The project runs its own on free loopback ports, so: no recommends, and a
  # policy-rc.d that refuses service starts during this install, then disabled at boot.
  echo "setup: installing prometheus (with promtool) from Debian, not started as a service" >&2
  policy=/usr/sbin/policy-rc.d
  own_policy=no
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 0755 "$policy"
    own_policy=yes
  fi
  status=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null ||
    status=$?
  if [ "$own_policy" = yes ]; then as_root rm -f "$policy"; fi
  [ "$status" -eq 0 ] || exit "$status"
  if [ -d /run/systemd/system ]; then
    as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/prometheus ]; then
    as_root /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
fi
# Debian's package may start a system gearmand on 4730; the project starts its own on free ports.

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is required (found $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "setup: ready" >&2
