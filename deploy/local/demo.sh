#!/usr/bin/env bash
# The main job, from a fresh clone: installs what is missing, builds, starts
# the local Kafka broker, creates the topics, starts inv-sale, inv-return,
# inv-restock, inv-reserve, inv-transfer (each with --http) and inv-stock (with
# --http), the read side inv-view (the web dashboard), runs the load generator
# (reorder policies planned for its own demand, reservation holds, a channel
# map, receipts answering reorders after a lead time), and shows a live view
# (invctl watch). Transfers between locations (3% of events: shipments from the DC
# and between stores, received in one or two receipts or canceled) and late till
# uploads (1% of store sales sent two minutes late, some dated before a count of
# their row) are on. Ctrl-C stops everything this script started.
#
#   deploy/local/demo.sh                 # defaults: 2000 events/s, 200 SKUs, 12 locations
#   INV_DEMO_RATE=500 deploy/local/demo.sh
#   INV_DEMO_TOPIC_PREFIX=run2. deploy/local/demo.sh   # fresh topics: run2.pos.sales, ...
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
LEAD_MS="${INV_DEMO_LEAD_MS:-5000}"
TRANSFERS="${INV_DEMO_TRANSFERS_RATIO:-0.03}"  # share of events that are shipments (0: none)
LATE_SALES="${INV_DEMO_LATE_SALES_RATIO:-0.01}" # share of store sales uploaded late (0: none)
# /healthz and /metrics of inv-sale, inv-return, inv-restock, inv-reserve, inv-transfer
PROC_PORTS="${INV_DEMO_PROCESSOR_PORTS:-9465 9466 9467 9468 9469}"
# A second run on the same topics carries on from the first one's stock (its
# open purchase orders included); a prefix gives a run topics of its own.
PREFIX="${INV_DEMO_TOPIC_PREFIX:-}"
if [[ -n "$PREFIX" ]]; then
  for kv in sales=pos.sales returns=pos.returns restocks=pos.restocks reservations=pos.reservations \
    transfers=pos.transfers movements=inventory.movements policies=inventory.policies \
    channels=inventory.channels stock=inventory.stock availability=inventory.availability \
    reservation_status=inventory.reservation-status reorders=inventory.reorders \
    shortages=inventory.shortages dlq=inventory.dlq dedup=inventory.stock-dedup state=inventory.stock-state; do
    key=${kv%%=*}
    export "INV_TOPIC_${key^^}=$PREFIX${kv#*=}"
  done
fi
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
read -r -a ports <<<"$PROC_PORTS"
i=0
for prog in inv-sale inv-return inv-restock inv-reserve inv-transfer; do
  start "$prog" --http "127.0.0.1:${ports[$i]}"
  i=$((i + 1))
done
# Defaults for rows without a policy of their own (inv-loadgen plans one for
# every sku|location it sells).
start inv-stock --state-dir "$STATE" --http "$HTTP" \
  -X policy.default.reorder_point=12 -X policy.default.reorder_quantity=40 -X policy.default.safety_stock=5

say "read side: inv-view, the API and the web dashboard on http://$VIEW_HTTP/"
start inv-view --state-dir "$STATE-view" --http "$VIEW_HTTP"

# --plan-policies: inv-loadgen writes a reorder policy for every sku|location
# sized to its own demand at this rate and lead time (a best seller at the DC
# needs a far higher reorder point than a tail SKU at a store), and opens each
# at its reorder point + quantity: stock then swings between the safety stock
# and the order-up-to level as reorders and their receipts come and go.
say "POS traffic: $RATE events/s over $SKUS SKUs and $LOCATIONS locations, policies planned for it, receipts answering reorders, transfers, late till uploads"
start inv-loadgen --rate "$RATE" --skus "$SKUS" --locations "$LOCATIONS" --reorder-feedback \
  --lead-time-ms "$LEAD_MS" --plan-policies --duplicates 0.01 --malformed 0.002 --seed "$RANDOM" --start-time now \
  --transfers-ratio "$TRANSFERS" --late-sales-ratio "$LATE_SALES"

sleep 1
for pid in "${pids[@]}"; do
  kill -0 "$pid" 2>/dev/null || { say "a program exited early; see $LOGS"; tail -n 5 "$LOGS"/*.log >&2; exit 1; }
done
say "dashboard: http://$VIEW_HTTP/   inv-stock: /metrics, /healthz and /stock/<sku> on http://$HTTP  (Ctrl-C stops)"
"$BIN/invctl" -b "$BROKERS" watch --state-dir "$STATE" || true
