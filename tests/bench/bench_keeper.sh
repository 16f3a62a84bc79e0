#!/usr/bin/env bash
# inv-stock alone: movements/s, movements per LMDB txn (= per Kafka
# transaction), LMDB commit time, peak RSS, then the restore rate of a second
# instance with an empty state dir taking over every partition.
#
#   tests/bench/bench_keeper.sh [MOVEMENTS]      (default 1000000; Release build in build/)
#
# Not a test: it prints figures (docs/BENCHMARKS.md, "Stock keeper").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
N="${1:-1000000}"
BROKERS="127.0.0.1:${INV_BROKER_PORT:-9092}"
BIN="$ROOT/build/bin"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 --target inv-stock invctl bench_preload >/dev/null
deploy/local/broker.sh start >/dev/null

RUN="bk-$(date -u +%H%M%S)-$$"
WORK="$(mktemp -d /tmp/bench-keeper-XXXXXX)"
for k in sales returns restocks movements policies stock reorders shortages dlq dedup; do
  export "INV_TOPIC_${k^^}=$RUN.$k"
done
export INV_GROUP_ID="$RUN"
"$BIN/invctl" -b "$BROKERS" topics create --partitions 6 >/dev/null
echo "preloading $N movements into $INV_TOPIC_MOVEMENTS (6 partitions)" >&2
"$BIN/bench_preload" produce -b "$BROKERS" -t "$INV_TOPIC_MOVEMENTS" -n "$N" --seed 42 --stock-take >/dev/null
POLICY=(-X policy.default.reorder_point=10 -X policy.default.reorder_quantity=50 -X policy.default.safety_stock=5)

metric() { # name -> sum of the series
  curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 ~ "^"n"($|\\{)" {s += $2} END {printf "%.6f", s}'
}
applied() { # movements applied + duplicates dropped + dead letters
  local a b c; a=$(metric "$1" inv_stock_movements_total); b=$(metric "$1" inv_stock_duplicates_total)
  c=$(metric "$1" inv_stock_dead_letters_total)
  awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN {printf "%d", a + b + c}'
}

PORT=19464
start=$(date +%s.%N)
"$BIN/inv-stock" -b "$BROKERS" --state-dir "$WORK/a" --http "127.0.0.1:$PORT" "${POLICY[@]}" 2>"$WORK/a.log" &
pid=$!
sleep 1
# the input also opens with a stock-take count per (sku, location): wait
# until it is all consumed, i.e. the count stops moving
last=-1
while :; do
  now=$(applied $PORT)
  [[ "$now" -ge "$N" && "$now" == "$last" ]] && break
  last=$now; sleep 0.5; kill -0 $pid || { tail "$WORK/a.log"; exit 1; }
done
N=$now
end=$(date +%s.%N)
cpu=$(awk '{print ($14 + $15) / 100}' /proc/$pid/stat)
hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
batches=$(metric $PORT inv_stock_batch_size_count); msgs=$(metric $PORT inv_stock_batch_size_sum)
csum=$(metric $PORT inv_stock_lmdb_commit_seconds_sum); ccount=$(metric $PORT inv_stock_lmdb_commit_seconds_count)
kill -TERM $pid; wait $pid || true
awk -v n="$N" -v s="$start" -v e="$end" -v cpu="$cpu" -v hwm="$hwm" -v b="$batches" -v m="$msgs" -v cs="$csum" -v cc="$ccount" 'BEGIN {
  printf "keeper: %d movements in %.2f s = %.0f movements/s, CPU %.1f s (%.0f movements per CPU-s), peak RSS %.0f MiB\n", n, e - s, n / (e - s), cpu, n / cpu, hwm / 1024
  printf "keeper: %d transactions, %.0f movements per LMDB txn / Kafka transaction, LMDB commit %.2f ms on average\n", b, m / b, 1000 * cs / cc }'

echo "restore: a second instance with an empty state dir takes every partition" >&2
"$BIN/inv-stock" -b "$BROKERS" --state-dir "$WORK/b" --http "127.0.0.1:$((PORT + 1))" "${POLICY[@]}" 2>"$WORK/b.log" &
pid=$!
until [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((PORT + 1))/healthz")" == 200 ]]; do
  sleep 0.2; kill -0 $pid || { tail "$WORK/b.log"; exit 1; }
done
kill -TERM $pid; wait $pid || true
grep "restored from" "$WORK/b.log" | sed 's/.*info  //' >&2
awk '/restored from/ {for (i = 1; i <= NF; i++) { if ($(i+1) == "rows,") r += $i; if ($(i+1) == "movement") d += $i; if ($(i+1) == "s") t += $i } }
     END { printf "restore: %d rows + %d movement ids in %.2f s = %.0f keys/s\n", r, d, t, (r + d) / t }' "$WORK/b.log"
"$BIN/bench_preload" delete -b "$BROKERS" $(env | awk -F= '/^INV_TOPIC_/ {print $2}') >/dev/null 2>&1 || true
rm -rf "$WORK"
