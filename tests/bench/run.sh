#!/usr/bin/env bash
# Keeper vs Kafka Streams, one run, one table (docs/BENCHMARKS.md).
#
# From a fresh clone: builds inv-stock and the bench tools (Release, into
# build/), the Kafka Streams peer (tests/bench/streams, Maven), starts the
# local broker, checks that the peer's output equals inv-stock's on a small
# input (stops here if not), preloads ONE seeded input of 2M movements into
# a 6-partition topic, then runs on it, each with its own consumer group,
# output topics and fresh state, REPEATS times in turn:
#   ceiling    tests/bench/ceiling.c: a plain librdkafka consumer, read_committed, does nothing
#   inv-stock  exactly-once, defaults, fresh --state-dir
#   streams    the Kafka Streams peer, exactly_once_v2, fresh state.dir
# then the end-to-end latency of each at a fixed rate of half inv-stock's
# median throughput. Prints the table, medians with min-max, and the ratios.
# Not a test: CI does not run it, nothing fails on speed. ~20-25 minutes.
#
# Environment (defaults):
#   INV_BENCH_BUILD=build          C build directory (Release)
#   INV_BENCH_MOVEMENTS=2000000    size of the input
#   INV_BENCH_REPEATS=3            runs per contender
#   INV_BENCH_SEED=42              generator seed
#   INV_BENCH_CHECK_MOVEMENTS=100000  size of the correctness input
#   INV_BENCH_HEAP=-Xmx1g          JVM heap of the Streams peer
#   INV_BENCH_STREAMS_THREADS=2    num.stream.threads of the peer
#   INV_BENCH_LAT_WARMUP=10 INV_BENCH_LAT_MEASURE=30   latency run (seconds)
#   INV_BENCH_LAT_WARM_MOVEMENTS=200000  burst each contender applies before a latency run
#   INV_BENCH_SKIP_LATENCY=0       1: throughput table only
#   INV_BENCH_KEEP=0               1: keep the run's topics and state dirs
#   INV_BROKER_PORT=9092
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BUILD="${INV_BENCH_BUILD:-build}"
N="${INV_BENCH_MOVEMENTS:-2000000}"
REPEATS="${INV_BENCH_REPEATS:-3}"
SEED="${INV_BENCH_SEED:-42}"
CHECK_N="${INV_BENCH_CHECK_MOVEMENTS:-100000}"
HEAP="${INV_BENCH_HEAP:--Xmx1g}"
THREADS="${INV_BENCH_STREAMS_THREADS:-2}"
LAT_WARMUP="${INV_BENCH_LAT_WARMUP:-10}"
LAT_MEASURE="${INV_BENCH_LAT_MEASURE:-30}"
LAT_WARM_N="${INV_BENCH_LAT_WARM_MOVEMENTS:-200000}"
SKIP_LATENCY="${INV_BENCH_SKIP_LATENCY:-0}"
KEEP="${INV_BENCH_KEEP:-0}"
BROKERS="127.0.0.1:${INV_BROKER_PORT:-9092}"
PARTITIONS=6
# the same default policy for every SKU on both sides (no policies topic content)
POLICY=(reorder_point=10 reorder_quantity=50 safety_stock=5)

RUN_ID="bench-$(date -u +%Y%m%dT%H%M%S)-$$"
WORK="$ROOT/$BUILD/bench/$RUN_ID"
BIN="$ROOT/$BUILD/bin"
STREAMS_DIR="$ROOT/tests/bench/streams"
RESULTS="$WORK/results.tsv"
TOPICS_FILE="$WORK/topics"

step() { printf '\n=== %s\n' "$*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }

# --- dependencies and builds -------------------------------------------------
step "dependencies"
deploy/local/install-deps.sh
if ! command -v javac >/dev/null; then
  # install-deps.sh brings the JRE (for the broker); the peer needs the JDK
  SUDO=(); [[ $(id -u) -eq 0 ]] || SUDO=(sudo)
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends openjdk-17-jdk-headless
fi
JAVA=java
[[ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ]] && JAVA=/usr/lib/jvm/java-17-openjdk-amd64/bin/java
PY="$ROOT/.venv/bin/python3"

step "build inv-stock and the bench tools (Release, $BUILD)"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target inv-stock bench_ceiling bench_preload

step "build the Kafka Streams peer (tests/bench/streams)"
(
  cd "$STREAMS_DIR"
  rm -rf target
  # offline when ~/.m2 has everything; the first run resolves from Maven Central
  mvn -q -B -o package 2>/dev/null || mvn -q -B package
)
[[ -f "$STREAMS_DIR/target/keeper-streams.jar" ]] || die "the Streams peer did not build"

step "local broker"
deploy/local/broker.sh start

mkdir -p "$WORK"
: >"$TOPICS_FILE"
{
  echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "inv-stock $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'), librdkafka $(pkg-config --modversion rdkafka), $("$JAVA" -version 2>&1 | head -1)"
} | tee "$WORK/machine.txt" >&2
printf 'contender\trun\tmessages\twall_s\tfirst_s\tcpu_s\thwm_kb\tanon_kb\texit_cpu_s\tmaxrss_kb\tothers_cpu_s\n' >"$RESULTS"

cleanup() {
  local rc=$?
  if [[ "$KEEP" != 1 && -s "$TOPICS_FILE" ]]; then
    # shellcheck disable=SC2046
    "$BIN/bench_preload" delete -b "$BROKERS" $(sort -u "$TOPICS_FILE") >/dev/null 2>&1 || true
    rm -rf "$WORK"/state-* 2>/dev/null || true
  fi
  echo "run.sh: logs and results in $WORK" >&2
  exit $rc
}
trap cleanup EXIT

create_topics() {   # partitions topic[:compact]...
  local parts="$1"; shift
  "$BIN/bench_preload" create -b "$BROKERS" -p "$parts" "$@"
  local t
  for t in "$@"; do echo "${t%%:compact}" >>"$TOPICS_FILE"; done
}

# --- contenders ------------------------------------------------------------------
# Each prints the command line of one contender named $2 reading topic $1;
# its output topics are created here. Outputs: $2.stock/.reorders/.shortages.
inv_stock_cmd() {   # input name
  local in="$1" n="$2"
  create_topics "$PARTITIONS" "$n.stock:compact" "$n.dedup" "$n.state:compact" "$n.resv" "$n.reorders" "$n.shortages" "$n.dlq"
  create_topics 1 "$n.policies:compact"
  rm -rf "$WORK/state-$n"
  CMD=("$BIN/inv-stock" -b "$BROKERS" --state-dir "$WORK/state-$n"
       -X "group.id=$n" -X "topic.movements=$in" -X "topic.stock=$n.stock" -X "topic.dedup=$n.dedup"
       -X "topic.reorders=$n.reorders" -X "topic.shortages=$n.shortages" -X "topic.dlq=$n.dlq"
       -X "topic.policies=$n.policies" -X "topic.state=$n.state" -X "topic.reservation_status=$n.resv")
  local p; for p in "${POLICY[@]}"; do CMD+=(-X "policy.default.$p"); done
}

streams_cmd() {   # input name
  local in="$1" n="$2"
  create_topics "$PARTITIONS" "$n.stock:compact" "$n.reorders" "$n.shortages" "$n.dlq"
  # the internal changelogs Kafka Streams creates, to delete them afterwards
  printf '%s\n' "$n-stock-changelog" "$n-dedup-changelog" >>"$TOPICS_FILE"
  rm -rf "$WORK/state-$n"
  # shellcheck disable=SC2206
  CMD=("$JAVA" $HEAP -Dorg.slf4j.simpleLogger.defaultLogLevel=warn
       -cp "$STREAMS_DIR/target/keeper-streams.jar:$STREAMS_DIR/target/lib/*" inv.bench.streams.KeeperApp
       "brokers=$BROKERS" "application.id=$n" "state.dir=$WORK/state-$n" "threads=$THREADS"
       "topic.movements=$in" "topic.stock=$n.stock" "topic.reorders=$n.reorders"
       "topic.shortages=$n.shortages" "topic.dlq=$n.dlq")
  local p; for p in "${POLICY[@]}"; do CMD+=("policy.default.$p"); done
}

ceiling_cmd() {   # input name
  CMD=("$BIN/bench_ceiling" drain -b "$BROKERS" -g "$2" -t "$1")
}

# The broker is shared with other work: a run during which it restarted measures the
# restart, not the contender. Such a run is discarded and made again (twice at most).
broker_pid() { cat "$ROOT/deploy/local/.kafka/broker-${INV_BROKER_PORT:-9092}/broker.pid" 2>/dev/null || echo none; }

run_contender() {   # contender run input name -> one line in $RESULTS
  local who="$1" run="$2" in="$3" n="$4" attempt
  for attempt in 1 2 3; do
    local bpid; bpid="$(broker_pid)"
    if run_contender_once "$who" "$run" "$in" "$n.$attempt" && [[ "$(broker_pid)" == "$bpid" ]]; then
      return 0
    fi
    [[ "$(broker_pid)" != "$bpid" ]] || die "$who (run $run) failed"
    echo "run.sh: the broker restarted during $who run $run: discarded, once more" >&2
    deploy/local/broker.sh start
    sed -i "/^$who\t$run\t/d" "$RESULTS"
  done
  die "the broker kept restarting"
}

run_contender_once() {   # contender run input name -> one line in $RESULTS
  local who="$1" run="$2" in="$3" n="$4" out
  LAST_NAME="$n"
  case "$who" in
    ceiling) ceiling_cmd "$in" "$n" ;;
    inv-stock) inv_stock_cmd "$in" "$n" ;;
    streams) streams_cmd "$in" "$n" ;;
  esac
  out="$("$BIN/bench_ceiling" watch -b "$BROKERS" -g "$n" -t "$in" -T 1200 -- "${CMD[@]}" 2>"$WORK/$n.log")" \
    || { tail -n 20 "$WORK/$n.log" >&2; echo "run.sh: $who (run $run) failed: $out" >&2; return 1; }
  echo "$who run $run: $out" >&2
  # messages=.. wall_s=.. ... -> tab-separated values in header order
  printf '%s\t%s\t%s\n' "$who" "$run" "$(sed -E 's/[a-z_]+=//g; s/ /\t/g' <<<"$out" | cut -f1-9)" >>"$RESULTS"
  rm -rf "$WORK/state-$n"
}

# --- 1. correctness: the peer's output equals inv-stock's ------------------------
step "correctness: inv-stock and the Streams peer on $CHECK_N movements"
tests/support/venv.sh
CHK="$RUN_ID.check"
create_topics "$PARTITIONS" "$CHK.movements"
"$BIN/bench_preload" produce -b "$BROKERS" -t "$CHK.movements" -n "$CHECK_N" --seed "$SEED" \
  --skus 1000 --locations 10 --stock-take --dup-permille 5
: >"$WORK/check.tsv"
RESULTS_SAVE="$RESULTS"; RESULTS="$WORK/check.tsv"
run_contender inv-stock check "$CHK.movements" "$CHK.ours"; OURS="$LAST_NAME"
run_contender streams check "$CHK.movements" "$CHK.peer"; PEER="$LAST_NAME"
RESULTS="$RESULTS_SAVE"
"$PY" - "$BROKERS" "$OURS" "$PEER" <<'EOF' || die "the Streams peer's output differs from inv-stock's: no benchmark"
import json, sys
from confluent_kafka import Consumer, TopicPartition, KafkaError
brokers, ours, peer = sys.argv[1:4]

def read(topic):
    c = Consumer({"bootstrap.servers": brokers, "group.id": "bench-compare", "enable.auto.commit": False,
                  "isolation.level": "read_committed", "enable.partition.eof": True})
    parts = list(c.list_topics(topic, timeout=15).topics[topic].partitions)
    c.assign([TopicPartition(topic, p, 0) for p in parts])
    eof, out = set(), []
    while len(eof) < len(parts):
        for m in c.consume(10000, 1.0):
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                    continue
                raise SystemExit(f"{topic}: {m.error()}")
            out.append((m.partition(), m.key().decode(), json.loads(m.value())))
    c.close()
    return out

def summary(prefix):
    stock = {}
    for part, k, v in read(prefix + ".stock"):
        stock[k] = (part, v)  # the last StockLevel of each key, and the partition it went to
    events = {name: sorted(json.dumps([k, v], sort_keys=True) for _, k, v in read(f"{prefix}.{name}"))
              for name in ("reorders", "shortages")}
    return stock, events

(a_stock, a_ev), (b_stock, b_ev) = summary(ours), summary(peer)
ok = a_stock == b_stock
if not ok:
    diff = [k for k in set(a_stock) | set(b_stock) if a_stock.get(k) != b_stock.get(k)]
    print(f"final stock differs on {len(diff)} keys; e.g.:")
    for k in sorted(diff)[:3]:
        print(f"  {k}\n    inv-stock: {a_stock.get(k)}\n    streams:   {b_stock.get(k)}")
for name in ("reorders", "shortages"):
    if a_ev[name] != b_ev[name]:
        ok = False
        print(f"{name} differ: {len(a_ev[name])} vs {len(b_ev[name])}, e.g. {sorted(set(a_ev[name]) ^ set(b_ev[name]))[:2]}")
print(f"correctness: final stock of {len(a_stock)} / {len(b_stock)} keys (value and partition), "
      f"reorders {len(a_ev['reorders'])} / {len(b_ev['reorders'])}, shortages {len(a_ev['shortages'])} / "
      f"{len(b_ev['shortages'])} (events compared as key+value multisets): {'EQUAL' if ok else 'DIFFERENT'}")
sys.exit(0 if ok else 1)
EOF

# --- 2. the input ------------------------------------------------------------
step "preload $N movements (seed $SEED) into $RUN_ID.movements ($PARTITIONS partitions)"
IN="$RUN_ID.movements"
create_topics "$PARTITIONS" "$IN"
"$BIN/bench_preload" produce -b "$BROKERS" -t "$IN" -n "$N" --seed "$SEED" --stock-take

# --- 3. throughput, CPU, memory ----------------------------------------------
for r in $(seq 1 "$REPEATS"); do
  for who in ceiling inv-stock streams; do
    step "run $r/$REPEATS: $who"
    run_contender "$who" "$r" "$IN" "$RUN_ID.$who.$r"
  done
done

# --- 4. latency at a fixed rate ------------------------------------------------
LAT="$WORK/latency.tsv"
printf 'contender\trun\tseries\trate\tcount\tp50_ms\tp99_ms\tp999_ms\tmax_ms\tcatchup_s\tcpu_s\tothers_cpu_s\tload_s\n' >"$LAT"
machine_busy() {   # busy CPU seconds of the machine so far (all but idle and iowait)
  awk '/^cpu /{printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / 100; exit}' /proc/stat
}
proc_cpu() {   # user+sys CPU seconds of a pid (0 without one)
  if [[ -n "$1" && -r "/proc/$1/stat" ]]; then
    sed 's/.*) //' "/proc/$1/stat" | awk '{printf "%.2f", ($12 + $13) / 100}'
  else
    echo 0
  fi
}
half_median() {   # contender -> half its median events/s
  awk -F'\t' -v c="$1" '$1==c{print $3/$4}' "$RESULTS" | sort -g | awk '{a[NR]=$1} END{printf "%d", a[int((NR+1)/2)]/2}'
}

latency_run() {   # contender run series rate
  local attempt bpid
  for attempt in 1 2 3; do
    bpid="$(broker_pid)"
    if latency_run_once "$@" "$attempt" && [[ "$(broker_pid)" == "$bpid" ]]; then
      return 0
    fi
    [[ "$(broker_pid)" != "$bpid" ]] || die "$1 latency run $2 failed"
    echo "run.sh: the broker restarted during $1 latency run $2: discarded, once more" >&2
    deploy/local/broker.sh start
    sed -i "/^$1\t$2\t$3\t/d" "$LAT"
  done
  die "the broker kept restarting"
}

latency_run_once() {   # contender run series rate attempt
  local who="$1" r="$2" series="$3" rate="$4" n lin pid="" probe_pid out t0 catchup=0
  n="$RUN_ID.lat$series.$who.$r.$5"
  lin="$n.movements"
  step "latency ($series) run $r/$REPEATS: $who at $rate movements/s"
  create_topics "$PARTITIONS" "$lin"
  if [[ "$who" != ceiling ]]; then
    if [[ "$who" == inv-stock ]]; then inv_stock_cmd "$lin" "$n"; else streams_cmd "$lin" "$n"; fi
    "${CMD[@]}" >"$WORK/$n.log" 2>&1 &
    pid=$!
    # up, assigned and warm (the JVM's JIT too): a burst of movements applied and committed
    "$BIN/bench_preload" produce -b "$BROKERS" -t "$lin" -n "$LAT_WARM_N" --seed "$r" --dup-permille 0 2>/dev/null
    if ! "$BIN/bench_ceiling" wait -b "$BROKERS" -g "$n" -t "$lin" -T 300; then
      kill -TERM "$pid" 2>/dev/null; wait "$pid" || true
      echo "run.sh: $who did not start" >&2
      return 1
    fi
    # location rows' StockLevels of one partition: updated_at = the movement's occurred_at
    probe=("$BIN/bench_ceiling" latency -b "$BROKERS" -t "$n.stock" -f updated_at --skip-network --partition 0)
  else
    probe=("$BIN/bench_ceiling" latency -b "$BROKERS" -t "$lin" -f occurred_at --partition 0)
  fi
  "${probe[@]}" -w "$LAT_WARMUP" -m "$LAT_MEASURE" -D 10 >"$WORK/$n.latency" 2>>"$WORK/$n.probe.log" &
  probe_pid=$!
  sleep 1   # the probe is assigned before the load starts
  local busy0 cpu0 busy1 cpu1 t1 t2
  busy0=$(machine_busy); cpu0=$(proc_cpu "$pid"); t1=$(date +%s.%N)
  "$BIN/bench_preload" produce -b "$BROKERS" -t "$lin" -n $((rate * (LAT_WARMUP + LAT_MEASURE + 1))) \
    --seed "$((SEED + r))" --dup-permille 0 --rate "$rate" 2>>"$WORK/$n.probe.log"
  busy1=$(machine_busy); cpu1=$(proc_cpu "$pid"); t2=$(date +%s.%N)
  if [[ -n "$pid" ]]; then
    # how long the contender needs, once the load stops, to have committed all of it
    t0=$(date +%s.%N)
    if ! kill -0 "$pid" 2>/dev/null || ! "$BIN/bench_ceiling" wait -b "$BROKERS" -g "$n" -t "$lin" -T 300; then
      tail -n 5 "$WORK/$n.log" >&2
      kill -TERM "$pid" 2>/dev/null; wait "$pid" || true; wait "$probe_pid" || true
      echo "run.sh: $who died or stalled during latency run $r" >&2
      return 1
    fi
    catchup=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b - a}')
  fi
  wait "$probe_pid" || true
  if [[ -n "$pid" ]]; then kill -TERM "$pid"; wait "$pid" || true; fi
  rm -rf "$WORK/state-$n"
  out="$(cat "$WORK/$n.latency")"
  # CPU while the load ran: the contender's, and the rest of the machine's (broker, load
  # generator, probe and anything else running)
  local own others
  own=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{printf "%.2f", b - a}')
  others=$(awk -v a="$busy0" -v b="$busy1" -v o="$own" 'BEGIN{printf "%.2f", b - a - o}')
  echo "$who latency ($series) run $r: $out catchup_s=$catchup cpu_s=$own others_cpu_s=$others" >&2
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$who" "$r" "$series" "$rate" \
    "$(sed -E 's/[a-z0-9_]+=//g; s/ /\t/g' <<<"$out" | cut -f1-5)" "$catchup" "$own" "$others" \
    "$(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.2f", b - a}')" >>"$LAT"
}

if [[ "$SKIP_LATENCY" != 1 ]]; then
  RATE_OURS=$(half_median inv-stock)
  RATE_PEER=$(half_median streams)
  for r in $(seq 1 "$REPEATS"); do
    for who in ceiling inv-stock streams; do latency_run "$who" "$r" A "$RATE_OURS"; done
  done
  # the peer cannot keep up with half of inv-stock's rate: both again at half of the peer's
  for r in $(seq 1 "$REPEATS"); do
    for who in inv-stock streams; do latency_run "$who" "$r" B "$RATE_PEER"; done
  done
fi

# --- 5. the table ---------------------------------------------------------------
step "results"
cat "$WORK/machine.txt"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); whole run: $((SECONDS / 60)) min"
"$PY" - "$RESULTS" "$LAT" "$N" "$LAT_MEASURE" "$HEAP" "$THREADS" <<'EOF' | tee "$WORK/table.md"
import csv, statistics, sys
res, lat, n, measure, heap, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
rows = list(csv.DictReader(open(res), delimiter="\t"))
lrows = list(csv.DictReader(open(lat), delimiter="\t"))
names = ["ceiling", "inv-stock", "streams"]
label = {"ceiling": "ceiling (librdkafka, no work)", "inv-stock": "inv-stock (EOS, LMDB)",
         "streams": f"Kafka Streams (EOS v2, RocksDB, {heap}, {threads} stream threads)"}

def stat(vals):
    vals = sorted(vals)
    return statistics.median(vals), vals[0], vals[-1]

def fmt(v, d=0):
    m, lo, hi = v
    f = f"{{:,.{d}f}}"
    return f"{f.format(m)} ({f.format(lo)}–{f.format(hi)})"

S = {}
for c in names:
    rs = [r for r in rows if r["contender"] == c]
    if not rs:
        continue
    msgs = [float(r["messages"]) for r in rs]
    S[c] = {
        "wall": stat([float(r["wall_s"]) for r in rs]),
        "eps": stat([m / float(r["wall_s"]) for m, r in zip(msgs, rs)]),
        "cpu": stat([float(r["cpu_s"]) for r in rs]),
        "epc": stat([m / float(r["cpu_s"]) for m, r in zip(msgs, rs)]),
        "rss": stat([float(r["hwm_kb"]) / 1024 for r in rs]),
        "anon": stat([float(r["anon_kb"]) / 1024 for r in rs]),
        "start": stat([float(r["first_s"]) for r in rs]),
        "others": stat([float(r["others_cpu_s"]) for r in rs]),
    }
print(f"{n:,} movements, {len(rows) // len(S)} runs per contender: median (min–max)\n")
print("| contender | wall s | events/s | CPU s | events per CPU-s | peak RSS MiB | peak anon RSS MiB | first commit s | rest of machine CPU s |")
print("|---|---|---|---|---|---|---|---|---|")
for c in names:
    if c not in S:
        continue
    s = S[c]
    print(f"| {label[c]} | {fmt(s['wall'], 1)} | {fmt(s['eps'])} | {fmt(s['cpu'], 1)} | {fmt(s['epc'])} | "
          f"{fmt(s['rss'])} | {fmt(s['anon'])} | {fmt(s['start'], 1)} | {fmt(s['others'], 1)} |")

if lrows:
    print("\nEnd-to-end latency at a fixed rate (ms from the movement's occurred_at to a read_committed consumer "
          f"seeing its StockLevel; {measure:.0f} s after a warm-up; median (min–max) over runs). catch-up s: time the "
          "contender needed, after the load stopped, to commit all of it (more than ~1 s: it did not keep up).\n")
    print("| series | contender | rate /s | p50 ms | p99 ms | p99.9 ms | catch-up s | contender cores | rest of machine cores |")
    print("|---|---|---|---|---|---|---|---|---|")
    for series, title in (("A", "half inv-stock's throughput"), ("B", "half the peer's throughput")):
        for c in names:
            ls = [r for r in lrows if r["contender"] == c and r["series"] == series and r["count"] not in ("", "0")]
            if not ls:
                continue
            cells = [fmt(stat([float(r[k]) for r in ls])) for k in ("p50_ms", "p99_ms", "p999_ms")]
            cores = fmt(stat([float(r["cpu_s"]) / float(r["load_s"]) for r in ls]), 2)
            rest = fmt(stat([float(r["others_cpu_s"]) / float(r["load_s"]) for r in ls]), 2)
            print(f"| {series}: {title} | {label[c].split(' (')[0]} | {float(ls[0]['rate']):,.0f} | "
                  f"{' | '.join(cells)} | {fmt(stat([float(r['catchup_s']) for r in ls]), 1)} | {cores} | {rest} |")
    print("\nceiling row: produce -> read_committed consume of the input itself (no processing). cores: CPU "
          "seconds per second of load; the rest of the machine includes the broker, the load generator and the probe.")

if "inv-stock" in S and "streams" in S:
    o, p = S["inv-stock"], S["streams"]
    print("\nRatios (medians):")
    print(f"- inv-stock / Kafka Streams: events per CPU-second {o['epc'][0] / p['epc'][0]:.1f}x (target >= 3x), "
          f"throughput {o['eps'][0] / p['eps'][0]:.1f}x, peak RSS {o['rss'][0] / p['rss'][0]:.2f}x "
          f"({p['rss'][0] / o['rss'][0]:.1f}x less)")
if "inv-stock" in S and "ceiling" in S:
    o, c = S["inv-stock"], S["ceiling"]
    print(f"- inv-stock / ceiling: throughput {100 * o['eps'][0] / c['eps'][0]:.0f}% (target >= 25%), "
          f"events per CPU-second {100 * o['epc'][0] / c['epc'][0]:.0f}%")
    print(f"- inv-stock peak RSS {o['rss'][0]:.0f} MiB (target <= 32 MiB), of which anonymous {o['anon'][0]:.0f} MiB")
EOF

# --- 6. a plot, when matplotlib is there (pip install matplotlib into .venv) ---------
if "$PY" -c 'import matplotlib' 2>/dev/null; then
  "$PY" - "$RESULTS" "$LAT" "$WORK/keeper-vs-streams.png" "$HEAP" "$THREADS" <<'EOF' && echo "plot: $WORK/keeper-vs-streams.png" >&2
import csv, statistics, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
res, lat, out, heap, threads = sys.argv[1:6]
rows = list(csv.DictReader(open(res), delimiter="\t"))
lrows = list(csv.DictReader(open(lat), delimiter="\t"))
names = ["ceiling", "inv-stock", "streams"]
labels = {"ceiling": "ceiling\n(librdkafka)", "inv-stock": "inv-stock", "streams": f"Kafka Streams\n({threads} threads)"}
colors = {"ceiling": "#999999", "inv-stock": "#1f77b4", "streams": "#d62728"}
fig, ax = plt.subplots(1, 4, figsize=(17, 4.2))

def bars(a, key, title):
    xs, ys, lo, hi, cs = [], [], [], [], []
    for c in names:
        v = [key(r) for r in rows if r["contender"] == c]
        if not v:
            continue
        m = statistics.median(v)
        xs.append(labels[c]); ys.append(m); lo.append(m - min(v)); hi.append(max(v) - m); cs.append(colors[c])
    a.bar(xs, ys, yerr=[lo, hi], color=cs, capsize=4)
    for i, y in enumerate(ys):
        a.text(i, y, f"{y:,.0f}", ha="center", va="bottom", fontsize=8)
    a.set_title(title, fontsize=10)
    a.set_yscale("log")

bars(ax[0], lambda r: float(r["messages"]) / float(r["wall_s"]), "throughput, events/s (log)")
bars(ax[1], lambda r: float(r["messages"]) / float(r["cpu_s"]), "events per CPU-second (log)")
bars(ax[2], lambda r: float(r["hwm_kb"]) / 1024, "peak RSS, MiB (log)")
a = ax[3]
for c in ("inv-stock", "streams"):
    for series, mk in (("A", "o"), ("B", "s")):
        ls = [r for r in lrows if r["contender"] == c and r["series"] == series and r["count"] not in ("", "0")]
        if not ls:
            continue
        rate = float(ls[0]["rate"])
        p50 = statistics.median(float(r["p50_ms"]) for r in ls)
        p99 = statistics.median(float(r["p99_ms"]) for r in ls)
        x = rate * (0.97 if c == "inv-stock" else 1.03)  # side by side at the same rate
        a.plot([x, x], [p50, p99], color=colors[c], marker=mk, linestyle="-",
               label=f"{c} p50..p99 @ {rate:,.0f}/s")
a.set_yscale("log"); a.set_xlabel("fixed input rate, movements/s"); a.set_ylabel("ms")
a.set_title("end-to-end latency (p50 to p99)", fontsize=10)
a.legend(fontsize=7)
fig.suptitle(f"inv-stock vs Kafka Streams (EOS, {heap}) on 2 cores: medians, bars min-max", fontsize=10)
fig.tight_layout()
fig.savefig(out, dpi=110)
EOF
fi
