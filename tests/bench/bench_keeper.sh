#!/usr/bin/env bash
# inv-stock alone: movements/s, movements per LMDB txn (= per Kafka
# transaction), LMDB commit time, peak RSS, then the restore rate of a second
# instance with an empty state dir taking over every partition, then the
# end-to-end latency at a fixed rate (half the measured throughput).
#
#   tests/bench/bench_keeper.sh [MOVEMENTS]      (default 1000000; Release build in build/)
#
# Knobs: INV_BENCH_RATE=R (latency rate, movements/s; default half the
# measured throughput), INV_BENCH_LAT_WARMUP=5 INV_BENCH_LAT_MEASURE=20
# (seconds), INV_BENCH_PHASES="throughput restore latency" (and "floor": the
# same load straight to the same read_committed probe on the movements topic,
# no inv-stock: what the broker, load generator and probe add by themselves;
# and "eos-floor": the same load through bench_relay, the keeper's Kafka
# engine relaying each movement as it is, exactly once, to the same probe),
# INV_BENCH_KEEPER_ARGS="-X key=value ..." (extra inv-stock flags, all phases),
# INV_BENCH_BIN=DIR (programs from DIR, e.g. another build, instead of building build/),
# BENCH_BROKERS=host:port[,host:port...] (those brokers instead of the local one,
# e.g. `deploy/local/cluster.sh bootstrap`; they must be running; the broker CPU
# is then summed over the local Kafka JVMs listening on those ports, or n/a),
# INV_BENCH_MIX=reservations (every phase's movements: 30% reservation traffic,
# bench_preload --reservations 300, and a channel map of 4 channels over the 20
# locations on the channels topic before inv-stock starts), INV_BENCH_MIX=stores
# (5% transfer traffic and 20% of the sales dated 5 minutes late, bench_preload
# --transfers 50 --late 200; default: today's mix, no reservations, no transfers,
# no late sales, no channels), INV_BENCH_CHANNELS=0|4 (without or with that
# channel map, whatever the mix; default 4 with reservations, 0 without).
# Phase "holds" (on request): inv-stock and inv-reserve on fresh topics, the
# mix at RATE movements/s less INV_BENCH_HOLD_RATE (default 1000) ReservationEvent
# holds/s from tests/bench/hold_probe.py (INV_PYTHON, default .venv/bin/python3,
# with confluent_kafka), which times each hold from its produce call to its
# ReservationStatus read back read_committed.
#
# Not a test: it prints figures (docs/BENCHMARKS.md, "Stock keeper").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
N="${1:-1000000}"
BROKERS="${BENCH_BROKERS:-127.0.0.1:${INV_BROKER_PORT:-9092}}"
BIN="${INV_BENCH_BIN:-$ROOT/build/bin}"
if [[ -z "${INV_BENCH_BIN:-}" ]]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j2 --target inv-stock invctl bench_preload bench_ceiling bench_relay >/dev/null
fi
[[ -n "${BENCH_BROKERS:-}" ]] || deploy/local/broker.sh start >/dev/null

# shellcheck source=tests/bench/bench_topics.sh
. "$ROOT/tests/bench/bench_topics.sh"
RUN="bk-$(date -u +%H%M%S)-$$"
WORK="$(mktemp -d /tmp/bench-keeper-XXXXXX)"
use_topics() { # prefix: bench_topics_use; with BENCH_BROKERS, then wait (60 s at most) until every
  # broker listed there has the new topics' 6 partitions with a leader: a cluster's brokers learn
  # of a topic one by one, and bench_preload fails on a topic its broker does not know yet
  local b k tries=0
  bench_topics_use "$1"
  [[ -n "${BENCH_BROKERS:-}" ]] || return 0
  for b in ${BROKERS//,/ }; do
    for k in movements stock dedup; do
      until [[ "$(kcat -L -b "$b" -t "$1.$k" -m 5 2>/dev/null | grep -c 'partition [0-9]*, leader [0-9]')" == 6 ]]; do
        ((++tries < 300)) || { echo "topic $1.$k: not on $b with 6 led partitions after 60 s" >&2; exit 1; }
        sleep 0.2
      done
    done
  done
}
use_topics "$RUN"
POLICY=(-X policy.default.reorder_point=10 -X policy.default.reorder_quantity=50 -X policy.default.safety_stock=5)
# shellcheck disable=SC2206
EXTRA=(${INV_BENCH_KEEPER_ARGS:-})
PHASES="${INV_BENCH_PHASES:-throughput restore latency}"
MIX=()
case "${INV_BENCH_MIX:-today}" in
  today) ;;
  reservations) MIX=(--reservations 300) ;;
  stores) MIX=(--transfers 50 --late 200) ;;
  *) echo "INV_BENCH_MIX=$INV_BENCH_MIX: expected today, reservations or stores" >&2; exit 2 ;;
esac
CHANNELS="${INV_BENCH_CHANNELS:-$([[ "${INV_BENCH_MIX:-today}" == reservations ]] && echo 4 || echo 0)}"
[[ "$CHANNELS" == 0 || "$CHANNELS" == 4 ]] || { echo "INV_BENCH_CHANNELS=$CHANNELS: expected 0 or 4" >&2; exit 2; }
write_channels() { # with CHANNELS=4: 4 channels over loc-000..loc-019 on the channels topic
  ((CHANNELS)) || return 0
  local l
  {
    echo channel,location_id,buffer
    for ((l = 0; l < 20; l++)); do printf 'online,loc-%03d,2\n' $l; done
    for ((l = 0; l < 12; l++)); do printf 'store,loc-%03d,0\n' $l; done
    for ((l = 8; l < 20; l++)); do printf 'marketplace,loc-%03d,1\n' $l; done
    for ((l = 0; l < 20; l += 4)); do printf 'b2b,loc-%03d,5\n' $l; done
  } >"$WORK/channels.csv"
  "$BIN/invctl" -b "$BROKERS" channel import "$WORK/channels.csv" >/dev/null
}
machine_busy() { # busy CPU seconds of the machine so far (all but idle and iowait)
  awk '/^cpu /{printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / 100; exit}' /proc/stat
}
has_phase() { [[ " $PHASES " == *" $1 "* ]]; }
ANON_PEAK=0
# The samplers below run many times a second next to what they measure:
# bash builtins only, no fork (an awk per sample took CPU from the broker
# and inv-stock on this 2-core machine).
sample_anon() { # pid: keeps the largest RssAnon seen (RSS without LMDB's file-backed map) in ANON_PEAK (KiB)
  local k v _
  [[ -r "/proc/$1/status" ]] || return 0
  while read -r k v _; do
    [[ "$k" == RssAnon: ]] || continue
    ((v > ANON_PEAK)) && ANON_PEAK=$v
    break
  done <"/proc/$1/status"
  return 0
}
proc_ticks() { # pid -> TICKS = its CPU ticks so far (utime + stime), left as it was when the pid is gone
  local s f
  { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 0
  read -r -a f <<<"${s##*) }" # f[0] is field 3 (state): utime is f[11], stime f[12]
  TICKS=$((f[11] + f[12]))
}
ticks_seconds() { awk -v t="$1" 'BEGIN {printf "%.2f", t / 100}'; }
kafka_pids() { # host:port,... -> KPIDS: the local Kafka JVMs (kafka.Kafka <server.properties>)
  # whose listeners hold each port; empty unless every one is found on this machine
  local d i l hp a=() seen=" "
  local -A jvm=()
  KPIDS=()
  for d in /proc/[0-9]*; do
    { mapfile -d '' -t a <"$d/cmdline"; } 2>/dev/null || continue
    for ((i = 0; i + 1 < ${#a[@]}; i++)); do
      [[ "${a[i]}" == kafka.Kafka ]] || continue
      l=$(sed -n 's/^listeners=//p' "${a[i + 1]}" 2>/dev/null) || true
      for l in ${l//,/ }; do jvm[${l##*:}]=${d#/proc/}; done
    done
  done
  for hp in ${1//,/ }; do
    if [[ "${hp%:*}" != 127.0.0.1 && "${hp%:*}" != localhost ]] || [[ -z "${jvm[${hp##*:}]:-}" ]]; then
      KPIDS=()
      return 0
    fi
    [[ "$seen" == *" ${jvm[${hp##*:}]} "* ]] || KPIDS+=("${jvm[${hp##*:}]}")
    seen="$seen${jvm[${hp##*:}]} "
  done
}
pids_cpu() { # pid... -> their CPU seconds so far (utime + stime), summed
  local p t=0
  for p in "$@"; do TICKS=0; proc_ticks "$p"; t=$((t + TICKS)); done
  ticks_seconds "$t"
}
proc_cpu() { # pid -> CPU seconds so far (utime + stime), 0 when it is gone
  TICKS=0
  proc_ticks "$1"
  ticks_seconds "$TICKS"
}
rss_line() { # pid -> "peak RSS a MiB (peak anonymous b MiB; now: ...)"
  awk -v ap="$ANON_PEAK" '/VmHWM/ {h = $2} /RssAnon/ {a = $2} /RssFile/ {f = $2} END {printf "peak RSS %.0f MiB (peak anonymous %.1f MiB, sampled; now: anonymous %.0f MiB, file-backed %.0f MiB)", h / 1024, ap / 1024, a / 1024, f / 1024}' "/proc/$1/status"
}

metric() { # name -> sum of the series
  curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 ~ "^"n"($|\\{)" {s += $2} END {printf "%.6f", s}'
}
quantile() { # port histogram q -> the bucket bound at quantile q (Prometheus buckets), in ms
  curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2_bucket" -v q="$3" '
    $1 ~ "^"n"\\{" { match($1, /le="[^"]+"/); le = substr($1, RSTART + 4, RLENGTH - 5); c[le] += $2; if (!(le in seen)) { seen[le] = 1; order[k++] = le } }
    END { tot = c["+Inf"]; for (i = 0; i < k; i++) if (c[order[i]] >= q * tot) { printf "%s", order[i] == "+Inf" ? "inf" : order[i] * 1000; exit } }'
}
applied() { # movements applied + duplicates dropped + dead letters
  local a b c
  if ((${#MIX[@]})); then # inv_stock_movements_total has no reserve, release and expire series:
    # the input messages of the committed transactions instead
    a=$(metric "$1" inv_stock_batch_size_sum)
    awk -v a="$a" 'BEGIN {printf "%d", a}'
    return
  fi
  a=$(metric "$1" inv_stock_movements_total); b=$(metric "$1" inv_stock_duplicates_total)
  c=$(metric "$1" inv_stock_dead_letters_total)
  awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN {printf "%d", a + b + c}'
}

PORT=19464
RATE="${INV_BENCH_RATE:-}"
if has_phase throughput; then
  echo "preloading $N movements into $INV_TOPIC_MOVEMENTS (6 partitions, mix: ${INV_BENCH_MIX:-today}, $CHANNELS channels)" >&2
  "$BIN/bench_preload" produce -b "$BROKERS" -t "$INV_TOPIC_MOVEMENTS" -n "$N" --seed 42 --stock-take "${MIX[@]}" >/dev/null
  write_channels
  [[ -z "${BENCH_BROKERS:-}" ]] || { kafka_pids "$BENCH_BROKERS"; bcpu0=$(pids_cpu "${KPIDS[@]}"); }
  start=$(date +%s.%N)
  "$BIN/inv-stock" -b "$BROKERS" --state-dir "$WORK/a" --http "127.0.0.1:$PORT" "${POLICY[@]}" "${EXTRA[@]}" 2>"$WORK/a.log" &
  pid=$!
  sleep 1
  # the input also opens with a stock-take count per (sku, location): wait
  # until it is all consumed, i.e. the count stops moving
  # and the rate between two samples of the count, the first once something
  # was applied and the last before all was: without the start-up (reading
  # the tables, restoring the partitions), which differs between builds
  last=-1 t_first='' a_first=0 t_last='' a_last=0
  while :; do
    now=$(applied $PORT) t=$EPOCHREALTIME
    ((now > 0)) && [[ -z "$t_first" ]] && t_first=$t a_first=$now
    ((now < N)) && t_last=$t a_last=$now
    [[ "$now" -ge "$N" && "$now" == "$last" ]] && break
    last=$now; kill -0 $pid || { tail "$WORK/a.log"; exit 1; }
    for _ in 1 2 3 4 5 6 7 8 9 10; do sample_anon $pid; sleep 0.05; done
  done
  N=$now
  end=$(date +%s.%N)
  [[ -z "${BENCH_BROKERS:-}" ]] || bcpu1=$(pids_cpu "${KPIDS[@]}")
  sample_anon $pid
  cpu=$(proc_cpu $pid)
  rss=$(rss_line $pid)
  batches=$(metric $PORT inv_stock_batch_size_count); msgs=$(metric $PORT inv_stock_batch_size_sum)
  csum=$(metric $PORT inv_stock_lmdb_commit_seconds_sum); ccount=$(metric $PORT inv_stock_lmdb_commit_seconds_count)
  kill -TERM $pid; wait $pid || true
  # what the state dir holds per row (builds with bench_state_size): the count history
  [[ -x "$BIN/bench_state_size" ]] && "$BIN/bench_state_size" "$WORK/a" | sed 's/^/keeper: /'
  awk -v n="$N" -v s="$start" -v e="$end" -v cpu="$cpu" -v rss="$rss" -v b="$batches" -v m="$msgs" -v cs="$csum" -v cc="$ccount" 'BEGIN {
    printf "keeper: %d movements in %.2f s = %.0f movements/s, CPU %.1f s (%.0f movements per CPU-s), %s\n", n, e - s, n / (e - s), cpu, n / cpu, rss
    printf "keeper: %d transactions, %.0f movements per LMDB txn / Kafka transaction, LMDB commit %.2f ms on average\n", b, m / b, 1000 * cs / cc }'
  awk -v t1="$t_first" -v a1="$a_first" -v t2="$t_last" -v a2="$a_last" 'BEGIN {
    if (t1 != "" && t2 != "" && t2 > t1 && a2 > a1) printf "keeper: after start-up: %d movements in %.2f s = %.0f movements/s (between two samples of the count)\n", a2 - a1, t2 - t1, (a2 - a1) / (t2 - t1)
    else print "keeper: after start-up: n/a (fewer than two samples while applying)" }'
  if [[ -n "${BENCH_BROKERS:-}" ]]; then
    if ((${#KPIDS[@]})); then
      awk -v s="$start" -v e="$end" -v b0="$bcpu0" -v b1="$bcpu1" -v n="${#KPIDS[@]}" -v br="$BENCH_BROKERS" 'BEGIN {
        printf "keeper: brokers %s: CPU %.1f s over the run (%.2f cores), summed over %d JVM(s)\n", br, b1 - b0, (b1 - b0) / (e - s), n }'
    else
      echo "keeper: brokers $BENCH_BROKERS: CPU n/a (no local Kafka JVM found listening on each of them)"
    fi
  fi
  [[ -n "$RATE" ]] || RATE=$(awk -v n="$N" -v s="$start" -v e="$end" 'BEGIN {printf "%d", n / (e - s) / 2}')
fi

if has_phase restore && has_phase throughput; then
  echo "restore: a second instance with an empty state dir takes every partition" >&2
  "$BIN/inv-stock" -b "$BROKERS" --state-dir "$WORK/b" --http "127.0.0.1:$((PORT + 1))" "${POLICY[@]}" "${EXTRA[@]}" 2>"$WORK/b.log" &
  pid=$!
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((PORT + 1))/healthz")" == 200 ]]; do
    sleep 0.2; kill -0 $pid || { tail "$WORK/b.log"; exit 1; }
  done
  kill -TERM $pid; wait $pid || true
  grep "restored from" "$WORK/b.log" | sed 's/.*info  //' >&2
  awk '/restored from/ {for (i = 1; i <= NF; i++) { if ($(i+1) == "rows,") r += $i; if ($(i+1) == "movement") d += $i; if ($(i+1) == "s") t += $i } }
       END { printf "restore: %d rows + %d movement ids in %.2f s = %.0f keys/s\n", r, d, t, (r + d) / t }' "$WORK/b.log"
fi

# The latency, floor and eos-floor phases: the same fixed-rate load (occurred_at = the
# wall clock at produce time) and the same read_committed probe on
# partition 0 of a topic (receive time - the time field of each record).
RATE="${RATE:-50000}"
WARM="${INV_BENCH_LAT_WARMUP:-5}" MEAS="${INV_BENCH_LAT_MEASURE:-20}"
# Both run in a subshell of their own (`&` or `( )`), which exec makes the
# program itself: its pid is the one whose CPU the latency phase samples.
probe_latency() { # topic field out [bench_ceiling flags]
  exec "$BIN/bench_ceiling" latency -b "$BROKERS" -t "$1" -f "$2" --partition 0 -w "$WARM" -m "$MEAS" -D 5 "${@:4}" \
    >"$3" 2>>"$WORK/probe.log"
}
load_at_rate() { # [rate, default RATE]
  local r="${1:-$RATE}"
  exec "$BIN/bench_preload" produce -b "$BROKERS" -t "$INV_TOPIC_MOVEMENTS" -n $((r * (WARM + MEAS + 1))) \
    --seed 43 --dup-permille 0 --rate "$r" "${MIX[@]}" >/dev/null 2>>"$WORK/probe.log"
}
warm_up() { # log: a 200 000-movement burst, then wait until the group under test has applied it (else its log's tail, exit)
  "$BIN/bench_preload" produce -b "$BROKERS" -t "$INV_TOPIC_MOVEMENTS" -n 200000 --seed 7 --stock-take --dup-permille 0 "${MIX[@]}" >/dev/null 2>&1
  "$BIN/bench_ceiling" wait -b "$BROKERS" -g "$INV_GROUP_ID" -t "$INV_TOPIC_MOVEMENTS" -T 300 || { tail "$1"; exit 1; }
}
p50_p99() { # histogram of inv-stock's /metrics [port, default PORT + 2] -> "p50 <= a ms, p99 <= b ms" (bucket bounds)
  local port="${2:-$((PORT + 2))}"
  echo "p50 <= $(quantile "$port" "$1" 0.5) ms, p99 <= $(quantile "$port" "$1" 0.99) ms"
}

if has_phase latency; then
  # Fresh topics and state; a warm-up burst, then the load, probed on the
  # stock topic: updated_at of each location row is its last movement's
  # occurred_at.
  use_topics "$RUN.lat"
  write_channels
  "$BIN/inv-stock" -b "$BROKERS" --state-dir "$WORK/c" --http "127.0.0.1:$((PORT + 2))" "${POLICY[@]}" "${EXTRA[@]}" 2>"$WORK/c.log" &
  pid=$!
  warm_up "$WORK/c.log"
  echo "latency: $RATE movements/s for $((WARM + MEAS + 1)) s, measured over $MEAS s after $WARM s" >&2
  probe_latency "$INV_TOPIC_STOCK" updated_at "$WORK/latency" --skip-network &
  probe=$!
  sleep 1
  cpu0=$(proc_cpu $pid); t0=$(date +%s.%N); busy0=$(machine_busy)
  ANON_PEAK=0
  load_at_rate &
  load=$!
  if [[ -n "${BENCH_BROKERS:-}" ]]; then
    kafka_pids "$BENCH_BROKERS"
  else
    KPIDS=("$(cat "$ROOT/deploy/local/.kafka/broker-${INV_BROKER_PORT:-9092}/broker.pid" 2>/dev/null || echo 0)")
  fi
  bcpu0=$(pids_cpu "${KPIDS[@]}"); pcpu0=$(proc_cpu $probe); lticks=0; TICKS=0; proc_ticks $probe; pticks=$TICKS
  while kill -0 $load 2>/dev/null; do
    sample_anon $pid
    TICKS=$lticks; proc_ticks $load; lticks=$TICKS
    TICKS=$pticks; proc_ticks $probe; pticks=$TICKS
    sleep 0.1
  done
  lcpu=$(ticks_seconds $lticks); pcpu=$(ticks_seconds $pticks)
  wait $load
  cpu1=$(proc_cpu $pid); t1=$(date +%s.%N); busy1=$(machine_busy)
  bcpu1=$(pids_cpu "${KPIDS[@]}")
  wait $probe || true
  rss=$(rss_line $pid)
  batches=$(metric $((PORT + 2)) inv_stock_batch_size_count); msgs=$(metric $((PORT + 2)) inv_stock_batch_size_sum)
  own="input timestamp to LMDB commit $(p50_p99 inv_stock_end_to_end_latency_seconds)"
  own="$own; Kafka commit $(p50_p99 inv_stock_kafka_commit_seconds)"
  own="$own; transaction open (first input to commit) $(p50_p99 inv_stock_transaction_open_seconds)"
  kill -TERM $pid; wait $pid || true
  echo "latency: at $RATE movements/s: $(cat "$WORK/latency")"
  echo "latency: inv-stock's own histograms (whole run, bucket bounds): $own"
  awk -v c0="$cpu0" -v c1="$cpu1" -v t0="$t0" -v t1="$t1" -v b0="$busy0" -v b1="$busy1" -v rss="$rss" -v b="$batches" -v m="$msgs" 'BEGIN {
    printf "latency: inv-stock used %.2f cores under that load, the rest of the machine (broker, load, probe) %.2f; %s; %.0f movements per transaction over the run\n", (c1 - c0) / (t1 - t0), (b1 - b0 - (c1 - c0)) / (t1 - t0), rss, m / b }'
  awk -v t0="$t0" -v t1="$t1" -v b0="$bcpu0" -v b1="$bcpu1" -v l="$lcpu" -v p0="$pcpu0" -v p1="$pcpu" -v n="${#KPIDS[@]}" -v set="${BENCH_BROKERS:+1}" 'BEGIN {
    br = n ? sprintf("%.2f", (b1 - b0) / (t1 - t0)) : "n/a"
    if (set && n) br = br sprintf(" (%d JVMs)", n)
    printf "latency: of the rest, cores: broker %s, load generator %.2f (until its last sample), probe %.2f\n", br, l / (t1 - t0), (p1 - p0) / (t1 - t0) }'
fi
if has_phase floor; then
  use_topics "$RUN.floor"
  probe_latency "$INV_TOPIC_MOVEMENTS" occurred_at "$WORK/floor" &
  probe=$!
  sleep 1
  (load_at_rate)
  wait $probe || true
  echo "floor: at $RATE movements/s, load generator to probe without inv-stock: $(cat "$WORK/floor")"
fi
if has_phase eos-floor; then
  # The keeper's Kafka engine alone (bench_relay: inv_txloop, same defaults
  # and cadence, same -X flags) relaying each movement as it is to the stock
  # topic: what exactly-once through Kafka transactions costs here.
  use_topics "$RUN.eos"
  "$BIN/bench_relay" -b "$BROKERS" "${EXTRA[@]}" 2>"$WORK/relay.log" &
  pid=$!
  warm_up "$WORK/relay.log"
  probe_latency "$INV_TOPIC_STOCK" occurred_at "$WORK/eos" &
  probe=$!
  sleep 1
  cpu0=$(proc_cpu $pid); t0=$(date +%s.%N); busy0=$(machine_busy)
  (load_at_rate)
  cpu1=$(proc_cpu $pid); t1=$(date +%s.%N); busy1=$(machine_busy)
  wait $probe || true
  kill -TERM $pid; wait $pid || true
  echo "eos-floor: at $RATE movements/s, through the keeper's Kafka engine alone (bench_relay): $(cat "$WORK/eos")"
  awk -v c0="$cpu0" -v c1="$cpu1" -v t0="$t0" -v t1="$t1" -v b0="$busy0" -v b1="$busy1" 'BEGIN {
    printf "eos-floor: the relay used %.2f cores, the rest of the machine %.2f\n", (c1 - c0) / (t1 - t0), (b1 - b0 - (c1 - c0)) / (t1 - t0) }'
  grep -o 'relayed .*' "$WORK/relay.log" | sed 's/^/eos-floor: /'
fi
if has_phase holds; then
  # Holds through inv-reserve and inv-stock, timed by hold_probe.py from its
  # produce call to the status read back; the rest of the load is the mix
  # straight onto the movements topic.
  use_topics "$RUN.holds"
  write_channels
  HOLDS="${INV_BENCH_HOLD_RATE:-1000}"
  ((RATE > HOLDS)) || { echo "holds: RATE $RATE must exceed INV_BENCH_HOLD_RATE $HOLDS" >&2; exit 2; }
  "$BIN/inv-stock" -b "$BROKERS" --state-dir "$WORK/h" --http "127.0.0.1:$((PORT + 3))" "${POLICY[@]}" "${EXTRA[@]}" 2>"$WORK/h.log" &
  pid=$!
  "$BIN/inv-reserve" -b "$BROKERS" -X "group.id=$RUN.holds.reserve" --http "127.0.0.1:$((PORT + 4))" 2>"$WORK/r.log" &
  rpid=$!
  warm_up "$WORK/h.log"
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((PORT + 4))/healthz")" == 200 ]]; do
    sleep 0.2; kill -0 $rpid || { tail "$WORK/r.log"; exit 1; }
  done
  echo "holds: $HOLDS holds/s through inv-reserve + $((RATE - HOLDS)) movements/s of the mix for $((WARM + MEAS)) s, measured over $MEAS s after $WARM s" >&2
  "${INV_PYTHON:-$ROOT/.venv/bin/python3}" "$ROOT/tests/bench/hold_probe.py" -b "$BROKERS" \
    --reservations "$INV_TOPIC_RESERVATIONS" --statuses "$INV_TOPIC_RESERVATION_STATUS" \
    --rate "$HOLDS" --warmup "$WARM" --measure "$MEAS" --tag "$RUN" >"$WORK/holds" 2>>"$WORK/probe.log" &
  probe=$!
  sleep 1
  cpu0=$(proc_cpu $pid); rcpu0=$(proc_cpu $rpid); t0=$(date +%s.%N); busy0=$(machine_busy)
  (load_at_rate $((RATE - HOLDS)))
  cpu1=$(proc_cpu $pid); rcpu1=$(proc_cpu $rpid); t1=$(date +%s.%N); busy1=$(machine_busy)
  wait $probe || true
  own="input record timestamp to LMDB commit $(p50_p99 inv_stock_end_to_end_latency_seconds $((PORT + 3)))"
  own="$own; Kafka commit $(p50_p99 inv_stock_kafka_commit_seconds $((PORT + 3)))"
  own="$own; transaction open $(p50_p99 inv_stock_transaction_open_seconds $((PORT + 3)))"
  kill -TERM $rpid; wait $rpid || true
  kill -TERM $pid; wait $pid || true
  echo "holds: at $RATE events/s ($HOLDS holds/s through inv-reserve), hold to its status read_committed: $(cat "$WORK/holds")"
  echo "holds: inv-stock's own histograms (whole run, every movement; a hold's record timestamp is the probe's produce time): $own"
  awk -v c0="$cpu0" -v c1="$cpu1" -v r0="$rcpu0" -v r1="$rcpu1" -v t0="$t0" -v t1="$t1" -v b0="$busy0" -v b1="$busy1" 'BEGIN {
    printf "holds: inv-stock used %.2f cores, inv-reserve %.2f, the rest of the machine %.2f\n", (c1 - c0) / (t1 - t0), (r1 - r0) / (t1 - t0), (b1 - b0 - (c1 - c0) - (r1 - r0)) / (t1 - t0) }'
fi
bench_topics_delete "$RUN" "$RUN.lat" "$RUN.floor" "$RUN.eos" "$RUN.holds"
if [[ "${INV_BENCH_KEEP:-0}" == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
