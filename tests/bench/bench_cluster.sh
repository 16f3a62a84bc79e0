#!/usr/bin/env bash
# The three-node cluster (deploy/local/cluster.sh: replication factor 3,
# min.insync.replicas=2) against the single local broker, in one run, so the
# ratio is taken on the same machine at the same time:
#
#   tests/bench/bench_cluster.sh [EVENTS] [MOVEMENTS]   (defaults 200000, 1000000)
#
# 1. builds the Release tree in build/ (BENCH_SKIP_BUILD=1 skips it;
#    BENCH_BUILD_DIR picks another tree) and starts the local broker;
# 2. starts the cluster unless it is running (it refuses a cluster that is
#    only partly up: another test's fault injection), before anything is
#    measured, and stops it at the end only if it started it;
# 3. on the single broker, then on the cluster (BENCH_BROKERS=`cluster.sh
#    bootstrap`): an untimed warm-up (bench_processor.sh BENCH_CLUSTER_WARMUP
#    events, default 50000: the JVMs compile their hot paths, the coordinators
#    load), bench_processor.sh EVENTS (inv-sale's events/s), then
#    bench_keeper.sh MOVEMENTS with INV_BENCH_PHASES=throughput (inv-stock's
#    movements/s under a backlog);
# 4. prints a table: figure, single broker, cluster, cluster/single. Broker
#    CPU is summed over the JVMs of the run's brokers (three for the cluster).
#
# The full output of each run is in BENCH_CLUSTER_OUT (default a temp dir, kept).
# Figures: docs/BENCHMARKS.md, "Three-node cluster against the single broker".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
EVENTS="${1:-200000}"
MOVEMENTS="${2:-1000000}"
WARMUP="${BENCH_CLUSTER_WARMUP:-50000}"
BUILD="${BENCH_BUILD_DIR:-build}"
SINGLE="127.0.0.1:${INV_BROKER_PORT:-9092}"
OUT="${BENCH_CLUSTER_OUT:-$(mktemp -d /tmp/bench-cluster-XXXXXX)}"
mkdir -p "$OUT"

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j2 --target inv-sale inv-stock invctl bench_preload bench_ceiling bench_relay >/dev/null
fi
deploy/local/broker.sh start >/dev/null

STARTED=0
stop_cluster() {
  if ((STARTED)); then deploy/local/cluster.sh stop || true; fi
}
trap stop_cluster EXIT

run_both() { # label brokers: the two benchmarks against those brokers, output in $OUT/label.{sale,stock}
  echo "== $1 ($2): warm-up, bench_processor.sh $WARMUP" >&2
  BENCH_BROKERS="$2" BENCH_SKIP_BUILD=1 BENCH_BUILD_DIR="$BUILD" \
    tests/bench/bench_processor.sh "$WARMUP" >"$OUT/$1.warmup"
  echo "== $1 ($2): bench_processor.sh $EVENTS" >&2
  BENCH_BROKERS="$2" BENCH_SKIP_BUILD=1 BENCH_BUILD_DIR="$BUILD" \
    tests/bench/bench_processor.sh "$EVENTS" | tee "$OUT/$1.sale"
  echo "== $1 ($2): bench_keeper.sh $MOVEMENTS, throughput phase" >&2
  BENCH_BROKERS="$2" INV_BENCH_BIN="$ROOT/$BUILD/bin" INV_BENCH_PHASES=throughput \
    tests/bench/bench_keeper.sh "$MOVEMENTS" | tee "$OUT/$1.stock"
}

if pgrep -f test_cluster_faults >/dev/null; then
  echo "bench_cluster.sh: test_cluster_faults is running on the cluster; run again when it is done" >&2
  exit 1
fi
if deploy/local/cluster.sh status >/dev/null; then
  echo "== the cluster is running: using it as it is" >&2
elif pgrep -f 'kafka\.Kafka .*/cluster-[0-9]+/server\.properties' >/dev/null; then
  deploy/local/cluster.sh status >&2 || true
  echo "bench_cluster.sh: cluster nodes are running but the cluster is not up here (another test's" \
    "fault injection, or another tree's cluster?); run again when it is done" >&2
  exit 1
else
  STARTED=1
  deploy/local/cluster.sh start >/dev/null
fi
run_both single "$SINGLE"
run_both cluster "$(deploy/local/cluster.sh bootstrap)"

# ---- the table
sale() { # label what -> the figure from bench_processor.sh's output
  awk -v w="$2" '
    w == "events" && $1 == "events/s" { print $2 }
    w == "sustained" && $1 == "events/s" { print $4 }
    w == "brokercpu" && $1 == "broker" && $2 == "CPU" { v = $3; sub(/s$/, "", v); print v }' "$OUT/$1.sale"
}
stock() { # label what -> the figure from bench_keeper.sh's output
  awk -v w="$2" '
    w == "movements" && /^keeper: [0-9]+ movements in/ { for (i = 1; i < NF; i++) if ($i == "=") print $(i + 1) }
    w == "pertxn" && /^keeper: [0-9]+ transactions,/ { print $4 }
    w == "brokercpu" && /^keeper: brokers / { for (i = 1; i < NF; i++) if ($i == "CPU") print $(i + 1) }' "$OUT/$1.stock"
}
row() { # name single cluster
  awk -v n="$1" -v s="${2:-n/a}" -v c="${3:-n/a}" 'BEGIN {
    r = (s + 0 > 0 && c ~ /^[0-9.]+$/) ? sprintf("%.2f", c / s) : "n/a"
    printf "| %s | %s | %s | %s |\n", n, s, c, r }'
}
echo
echo "single broker $SINGLE against the cluster $(deploy/local/cluster.sh bootstrap);" \
  "inv-sale: $EVENTS events, inv-stock: $MOVEMENTS movements; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| figure | single broker | cluster | cluster/single |"
echo "|---|---|---|---|"
row "inv-sale events/s (overall)" "$(sale single events)" "$(sale cluster events)"
row "inv-sale events/s (after the first commit)" "$(sale single sustained)" "$(sale cluster sustained)"
row "broker CPU-s during the inv-sale run" "$(sale single brokercpu)" "$(sale cluster brokercpu)"
row "inv-stock movements/s (backlog)" "$(stock single movements)" "$(stock cluster movements)"
row "inv-stock movements per transaction" "$(stock single pertxn)" "$(stock cluster pertxn)"
row "broker CPU-s during the inv-stock run" "$(stock single brokercpu)" "$(stock cluster brokercpu)"
echo
echo "full output: $OUT" >&2
