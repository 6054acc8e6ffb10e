#!/usr/bin/env bash
# Runs every pool-manager action once, through `serverless invoke local` (the bundled
# handler, as Lambda would run it), against the cloud simulator on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."

export SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local}
export POOL_IMAGE=${POOL_IMAGE:-haproxy-lb} POOL_FLAVOR=${POOL_FLAVOR:-m1.small}
export POOL_NODE_BASENAME=${POOL_NODE_BASENAME:-libra-stg-haproxy} POOL_AZ_LABEL=${POOL_AZ_LABEL:-3}
export POWERTOOLS_LOG_LEVEL=${POWERTOOLS_LOG_LEVEL:-WARN} POWERTOOLS_METRICS_DISABLED=true

work=$(mktemp -d)
cloud_pid=
cleanup() {
  if [ -n "$cloud_pid" ]; then kill "$cloud_pid" 2>/dev/null || true; wait "$cloud_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

node_modules/.bin/tsx scripts/cloud-sim/main.ts --port 0 --boot-delay-ms 2000 >"$work/cloud.out" 2>"$work/cloud.err" &
cloud_pid=$!
for _ in $(seq 100); do grep -q '^export OS_AUTH_URL=' "$work/cloud.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^export OS_AUTH_URL=' "$work/cloud.out" || { echo "demo: the cloud simulator did not start:" >&2; cat "$work/cloud.err" >&2; exit 1; }
# shellcheck disable=SC1091
source <(grep '^export ' "$work/cloud.out")
echo "cloud simulator at $OS_AUTH_URL"

# invoke local prints the handler's logs, then its result as indented JSON: keep the result.
invoke() {
  local fn=$1 data=$2
  echo
  echo "\$ npx serverless invoke local -f $fn --data '$data'"
  npx serverless invoke local -f "$fn" --data "$data" >"$work/out" 2>"$work/err" || { cat "$work/out" "$work/err" >&2; exit 1; }
  node scripts/last-json.mjs <"$work/out" | tee "$work/result.json"
}
field() { node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); process.stdout.write(String(r[process.argv[2]] ?? ""))' "$work/result.json" "$1"; }

invoke buildDevice '{"action":"BUILD_DEVICE"}'
name=$(field name)
invoke buildIp '{"action":"BUILD_IP"}'
ip=$(field ip)
invoke assignIp "{\"action\":\"ASSIGN_IP\",\"ip\":\"$ip\",\"name\":\"$name\"}"
invoke removeIp "{\"action\":\"REMOVE_IP\",\"ip\":\"$ip\",\"name\":\"$name\"}"
invoke deleteIp "{\"action\":\"DELETE_IP\",\"ip\":\"$ip\"}"
invoke deleteDevice "{\"action\":\"DELETE_DEVICE\",\"name\":\"$name\"}"
echo
node -e 'fetch(process.argv[1]).then((r) => r.json()).then(({ counts }) => console.log(`left on the cloud: ${counts.servers} servers, ${counts.floatingIps} floating IPs`))' "${OS_AUTH_URL%/identity/v3}/_sim/state"
