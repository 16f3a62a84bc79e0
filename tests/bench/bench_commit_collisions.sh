#!/usr/bin/env bash
# inv-stock's Kafka commits under a steady load, with one transactional id or
# with two in turn (transaction.producers): how often the transaction
# coordinator answered CONCURRENT_TRANSACTIONS (the next transaction began
# while the previous one's commit markers were still being written) and how
# long commits took (inv_stock_kafka_commit_seconds).
#
#   tests/bench/bench_commit_collisions.sh [RATE] [MOVEMENTS]   (default 20000/s, 200000)
#
# INV_BENCH_BIN=DIR uses programs from DIR instead of building build/.
# Not a test: it prints figures (docs/BENCHMARKS.md, "Stock keeper").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
RATE="${1:-20000}" N="${2:-200000}"
BROKERS="127.0.0.1:${INV_BROKER_PORT:-9092}"
BIN="${INV_BENCH_BIN:-$ROOT/build/bin}"
if [[ -z "${INV_BENCH_BIN:-}" ]]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j2 --target inv-stock invctl bench_preload >/dev/null
fi
deploy/local/broker.sh start >/dev/null
# shellcheck source=tests/bench/bench_topics.sh
. "$ROOT/tests/bench/bench_topics.sh"
PORT=19466
for producers in 2 1; do
  RUN="bcc-$producers-$(date -u +%H%M%S)-$$"
  WORK="$(mktemp -d /tmp/bench-commits-XXXXXX)"
  bench_topics_use "$RUN"
  "$BIN/inv-stock" -b "$BROKERS" --state-dir "$WORK/s" --http "127.0.0.1:$PORT" -X "transaction.producers=$producers" \
    -X kafka.debug=eos,protocol -X log.level=debug 2>"$WORK/log" &
  pid=$!
  sleep 3
  "$BIN/bench_preload" produce -b "$BROKERS" -t "$INV_TOPIC_MOVEMENTS" -n "$N" --seed 5 --rate "$RATE" >/dev/null 2>&1
  sleep 2
  hist=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '$1 ~ /^inv_stock_kafka_commit_seconds_bucket/ {
      match($1, /le="[^"]+"/); le = substr($1, RSTART + 4, RLENGTH - 5); c[le] += $2; if (!(le in seen)) { seen[le] = 1; o[k++] = le } }
    END { t = c["+Inf"]; printf "%d commits, share within", t; for (i = 0; i < k && o[i] != "0.25"; i++) if (o[i] + 0 >= 0.01) printf " %g ms: %.1f%%", o[i] * 1000, 100 * c[o[i]] / t }')
  kill -TERM $pid; wait $pid || true
  echo "transaction.producers=$producers at $RATE movements/s: $(grep -c CONCURRENT_TRANSACTIONS "$WORK/log" || true) CONCURRENT_TRANSACTIONS answers; $hist"
  bench_topics_delete "$RUN"
  rm -rf "$WORK"
done
