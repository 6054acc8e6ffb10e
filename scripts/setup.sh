#!/usr/bin/env bash
# Installs what the pool manager needs on a fresh Debian machine: gearmand and the gearman
# CLI, and the openstack CLI (the tests drive the cloud simulator with it) from Debian, and
# the npm dependencies pinned by package-lock.json. Safe to re-run.
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
if [ ${#packages[@]} -gt 0 ]; then
  echo "setup: installing ${packages[*]} from Debian" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
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
