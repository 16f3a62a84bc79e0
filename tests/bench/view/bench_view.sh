#!/usr/bin/env bash
# inv-view: rebuild rate, GET /api/availability/<sku> throughput per core (and
# the floor: the same on /healthz) and latency at half that rate, and memory. Run by hand (docs/BENCHMARKS.md):
#   tests/bench/view/bench_view.sh [BUILD_DIR]       (SKUS=100000 DURATION=15)
# Needs the local broker, wrk and the test venv's confluent-kafka.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
BIN="${1:-$ROOT/build}/bin"
BROKERS="127.0.0.1:${INV_BROKER_PORT:-9092}"
SKUS="${SKUS:-100000}"
DURATION="${DURATION:-15}"
PY="${INV_PYTHON:-$ROOT/.venv/bin/python3}"
PREFIX="bench-view-$$-$(date +%s)"
WORK="$(mktemp -d /tmp/bench-view.XXXXXX)"
PORT="${PORT:-18090}"
export INV_TOPIC_STOCK=$PREFIX.stock INV_TOPIC_AVAILABILITY=$PREFIX.availability \
  INV_TOPIC_SHORTAGES=$PREFIX.shortages INV_TOPIC_REORDERS=$PREFIX.reorders
pid=""
trap '[[ -n $pid ]] && kill -TERM $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

echo "== topics ($PREFIX, 6 partitions) and $SKUS SKUs: 2 locations + network row and 2 channels each"
"$BIN/invctl" -b "$BROKERS" -X topic.movements=$PREFIX.movements -X topic.policies=$PREFIX.policies \
  -X topic.sales=$PREFIX.sales -X topic.returns=$PREFIX.returns -X topic.restocks=$PREFIX.restocks \
  -X topic.dlq=$PREFIX.dlq -X topic.channels=$PREFIX.channels -X topic.reservations=$PREFIX.reservations \
  -X topic.transfers=$PREFIX.transfers -X topic.reservation_status=$PREFIX.rs -X topic.dedup=$PREFIX.dedup \
  topics create --partitions 6 >/dev/null
"$PY" - "$BROKERS" "$SKUS" <<'PYEOF'
import json, sys, os
from confluent_kafka import Producer
brokers, n = sys.argv[1], int(sys.argv[2])
p = Producer({"bootstrap.servers": brokers, "partitioner": "murmur2_random", "linger.ms": 50,
              "queue.buffering.max.messages": 2000000, "compression.type": "lz4"})
st, av = os.environ["INV_TOPIC_STOCK"], os.environ["INV_TOPIC_AVAILABILITY"]
def send(topic, key, doc, sku):
    while True:
        try:
            p.produce(topic, key=key.encode(), value=json.dumps(doc, separators=(",", ":")).encode())
            return
        except BufferError:
            p.poll(0.05)
for i in range(n):
    sku = "SKU-%06d" % i
    for loc in ("store-1", "dc-1", "*"):
        send(st, "%s|%s" % (sku, loc), {"sku": sku, "location_id": loc, "on_hand": i % 97, "unsellable": 0,
             "on_order": 0, "available": i % 97, "updated_at": "2026-12-07T10:00:00Z", "version": 1,
             "committed": 0, "incoming": 0, "in_transit_out": 0}, sku)
    for ch in ("online", "store"):
        send(av, "%s|%s" % (sku, ch), {"sku": sku, "channel": ch, "available_to_sell": i % 50, "locations": 1,
             "updated_at": "2026-12-07T10:00:00Z", "version": 1}, sku)
    p.poll(0)
p.flush(120)
PYEOF
RECORDS=$((SKUS * 5))

echo "== rebuild: $RECORDS records into an empty state dir (inv-view pinned to CPU 1)"
t0=$(date +%s.%N)
taskset -c 1 "$BIN/inv-view" -b "$BROKERS" --state-dir "$WORK/state" --http 127.0.0.1:$PORT -X http.threads=1 \
  2>"$WORK/view.log" &
pid=$!
until curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do sleep 0.1; done
t1=$(date +%s.%N)
rebuild_s=$(echo "$t1 - $t0" | bc -l)
printf 'rebuild: %d records in %.2f s = %.0f records/s (start-up included)\n' "$RECORDS" "$rebuild_s" \
  "$(echo "$RECORDS / $rebuild_s" | bc -l)"
grep RssAnon /proc/$pid/status | sed 's/^/after rebuild: /'

echo "== saturation: wrk on CPU 0, 1 thread, 32 connections, ${DURATION}s; inv-view: 1 HTTP thread on CPU 1"
SKUS=$SKUS taskset -c 0 wrk -t1 -c32 -d${DURATION}s --latency -s "$ROOT/tests/bench/view/random_sku.lua" \
  "http://127.0.0.1:$PORT" | tee "$WORK/sat.txt"
rps=$(awk '/^Requests\/sec/ {print $2}' "$WORK/sat.txt")
echo "== floor: the same wrk and inv-view on GET /healthz, the smallest answer inv-view gives"
taskset -c 0 wrk -t1 -c32 -d${DURATION}s --latency "http://127.0.0.1:$PORT/healthz" | tee "$WORK/floor.txt"
floor=$(awk '/^Requests\/sec/ {print $2}' "$WORK/floor.txt")
printf 'availability/healthz: %.2f of the floor\n' "$(echo "$rps / $floor" | bc -l)"
half=$(echo "$rps / 2" | bc -l)
# 16 connections, each waiting DELAY_MS between requests: 16 * 1000 / DELAY_MS = half the rate
delay=$(echo "16 * 1000 / $half" | bc -l | xargs printf '%.0f')
echo "== latency at half that rate (~$(printf '%.0f' "$half") req/s: 16 connections, ${delay} ms apart)"
SKUS=$SKUS DELAY_MS=$delay taskset -c 0 wrk -t1 -c16 -d${DURATION}s --latency \
  -s "$ROOT/tests/bench/view/random_sku.lua" "http://127.0.0.1:$PORT" | tee "$WORK/half.txt"
grep RssAnon /proc/$pid/status | sed 's/^/after load: /'
curl -fs "http://127.0.0.1:$PORT/metrics" | grep -E '^inv_view_rows|http_requests_total\{route="/api/availability/",status="(200|404)"\}'
"$BIN/bench_preload" delete -b "$BROKERS" $PREFIX.stock $PREFIX.availability $PREFIX.shortages $PREFIX.reorders \
  $PREFIX.movements $PREFIX.policies $PREFIX.sales $PREFIX.returns $PREFIX.restocks $PREFIX.dlq $PREFIX.channels \
  $PREFIX.reservations $PREFIX.transfers $PREFIX.rs $PREFIX.dedup >/dev/null 2>&1 || true
