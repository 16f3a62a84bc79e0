#!/usr/bin/env bash
# The main job, from a fresh clone: installs what is missing, builds, starts
# the local Kafka broker, creates the topics, sets reorder policies, starts
# inv-sale, inv-return, inv-restock and inv-stock (with --http), the read side
# inv-view (the web dashboard), runs the load generator with reorder feedback,
# and shows a live view (invctl watch).
# Ctrl-C stops everything this script started.
#
#   deploy/local/demo.sh                 # defaults: 2000 events/s, 200 SKUs, 12 locations
#   INV_DEMO_RATE=500 deploy/local/demo.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BUILD="${INV_DEMO_BUILD:-$ROOT/build}"
BIN="$BUILD/bin"
STATE="${INV_DEMO_STATE:-$ROOT/demo-state}"
LOGS="${INV_DEMO_LOGS:-$ROOT/demo-logs}"
HTTP="${INV_DEMO_HTTP:-127.0.0.1:9464}"
VIEW_HTTP="${INV_DEMO_VIEW_HTTP:-127.0.0.1:8080}"
RATE="${INV_DEMO_RATE:-2000}"
SKUS="${INV_DEMO_SKUS:-200}"
LOCATIONS="${INV_DEMO_LOCATIONS:-12}"
PARTITIONS="${INV_DEMO_PARTITIONS:-6}"
BROKERS="127.0.0.1:${INV_BROKER_PORT:-9092}"

say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

say "dependencies"
deploy/local/install-deps.sh

say "build (Release) into $BUILD"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null

say "local Kafka broker on $BROKERS"
deploy/local/broker.sh start

say "topics"
"$BIN/invctl" -b "$BROKERS" topics create --partitions "$PARTITIONS"

say "reorder policies (deploy/local/demo-policies.csv)"
"$BIN/invctl" -b "$BROKERS" policy import deploy/local/demo-policies.csv

mkdir -p "$LOGS"
: >"$LOGS/pids"
pids=()
cleanup() {
  trap - INT TERM EXIT
  say "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  say "stopped; logs in $LOGS, state in $STATE (the broker keeps running: deploy/local/broker.sh stop)"
}
trap cleanup INT TERM EXIT

start() { # name args...
  local name=$1; shift
  "$BIN/$name" -b "$BROKERS" "$@" >"$LOGS/$name.log" 2>&1 &
  pids+=($!)
  echo "$! $name" >>"$LOGS/pids"
}

say "processors (logs in $LOGS)"
start inv-sale
start inv-return
start inv-restock
# Defaults for SKUs without a policy of their own.
start inv-stock --state-dir "$STATE" --http "$HTTP" \
  -X policy.default.reorder_point=12 -X policy.default.reorder_quantity=40 -X policy.default.safety_stock=5

say "read side: inv-view, the API and the web dashboard on http://$VIEW_HTTP/"
start inv-view --state-dir "$STATE-view" --http "$VIEW_HTTP"

say "POS traffic: $RATE events/s over $SKUS SKUs and $LOCATIONS locations, receipts answering reorders"
start inv-loadgen --rate "$RATE" --skus "$SKUS" --locations "$LOCATIONS" --reorder-feedback \
  --lead-time-ms 5000 --opening-stock 30 --duplicates 0.01 --malformed 0.002 --seed "$RANDOM" --start-time now

sleep 1
for pid in "${pids[@]}"; do
  kill -0 "$pid" 2>/dev/null || { say "a program exited early; see $LOGS"; tail -n 5 "$LOGS"/*.log >&2; exit 1; }
done
say "dashboard: http://$VIEW_HTTP/   inv-stock: /metrics, /healthz and /stock/<sku> on http://$HTTP  (Ctrl-C stops)"
"$BIN/invctl" -b "$BROKERS" watch --state-dir "$STATE" || true
