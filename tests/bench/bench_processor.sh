#!/usr/bin/env bash
# Benchmark of one per-topic processor (inv-sale) against the local broker.
#
#   tests/bench/bench_processor.sh [EVENTS]          (default 1000000)
#
# 1. builds the Release tree in build/ (BENCH_SKIP_BUILD=1 skips it;
#    BENCH_BUILD_DIR picks another tree) and starts the local broker;
# 2. creates unique topics with `invctl topics create --partitions P`
#    (BENCH_PARTITIONS, default 6) and preloads EVENTS SaleEvents (JSON,
#    baskets of 1, 2, 3 lines in turn: 2 movements per event on average)
#    BEFORE the clock starts, so the generator is never what is measured;
# 3. starts one inv-sale in a fresh consumer group and times it from its
#    start until its group's committed input offsets cover the whole input
#    (they commit in the same transaction as the movements, so at that moment
#    every movement is committed), sampling every 50 ms;
# 4. reads inv-sale's CPU time (utime+stime of all threads, /proc/PID/stat)
#    and peak RSS (VmHWM) at that moment, and the broker's CPU time over the
#    same interval; stops inv-sale with SIGTERM (must exit 0); counts the
#    movements a read_committed reader sees (must be the expected count);
# 5. prints events/s, movements/s, CPU seconds, peak RSS, and deletes the
#    topics.
#
# BENCH_ARGS adds flags to inv-sale (e.g. "-X commit.interval.ms=1000").
# BENCH_BROKERS=host:port[,host:port...] runs everything against those brokers
# instead (e.g. `deploy/local/cluster.sh bootstrap`; they must be running: the
# local broker is then not started); the broker CPU is then the sum over the
# local Kafka JVMs listening on those ports, or n/a when one is not found.
# BENCH_PERF=1 also records `perf record --call-graph fp` (BENCH_PERF_CALLGRAPH=dwarf
# for callers inside libraries built without frame pointers) of inv-sale for the timed run
# into $BENCH_PERF_OUT (default /tmp/bench-processor.perf.data; see
# docs/BENCHMARKS.md for the reading).
# Figures and their analysis: docs/BENCHMARKS.md, "Per-topic processor".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
EVENTS="${1:-${BENCH_EVENTS:-1000000}}"
BUILD="${BENCH_BUILD_DIR:-build}"
PY="${INV_PYTHON:-$ROOT/.venv/bin/python3}"

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j2 --target inv-sale invctl >/dev/null
fi
[[ -x "$PY" ]] || tests/support/venv.sh
if [[ -n "${BENCH_BROKERS:-}" ]]; then
  export INV_TEST_BROKERS="$BENCH_BROKERS"   # invtest.bootstrap()
else
  unset INV_TEST_BROKERS
  deploy/local/broker.sh start >/dev/null
fi

export INV_BIN_DIR="$ROOT/$BUILD/bin" INV_SOURCE_DIR="$ROOT" PYTHONPATH="$ROOT/tests/support"
export BENCH_EVENTS_N="$EVENTS"
exec "$PY" - <<'PYEOF'
import os
import re
import signal
import subprocess
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from invtest import bin, bootstrap, delete_topics, run, topic_env, unique, wait_until

N = int(os.environ["BENCH_EVENTS_N"])
PARTS = int(os.environ.get("BENCH_PARTITIONS", "6"))
PERF = os.environ.get("BENCH_PERF") == "1"
PERF_OUT = os.environ.get("BENCH_PERF_OUT", "/tmp/bench-processor.perf.data")
EXTRA = os.environ.get("BENCH_ARGS", "").split()
TICK = os.sysconf("SC_CLK_TCK")
BROKERS = os.environ.get("BENCH_BROKERS", "")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))


def broker_pid():
    out = subprocess.run([os.path.join(os.environ["INV_SOURCE_DIR"], "deploy/local/broker.sh"), "status"],
                         capture_output=True, text=True).stdout
    m = re.search(r"pid (\d+)", out)
    return int(m.group(1)) if m else None


def kafka_pids(brokers):
    """pids of the local Kafka JVMs (kafka.Kafka <server.properties>) whose listeners hold
    each host:port of brokers, None unless every one is found on this machine"""
    jvms = {}
    for d in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                args = f.read().decode(errors="replace").split("\0")
            props = open(args[args.index("kafka.Kafka") + 1]).read()
        except (OSError, ValueError, IndexError):
            continue
        m = re.search(r"^listeners=(.*)$", props, re.M)
        for l in (m.group(1).split(",") if m else []):
            jvms[l.rsplit(":", 1)[-1].strip()] = int(d)
    pids = []
    for hp in brokers.split(","):
        host, port = hp.strip().rsplit(":", 1)
        if host not in ("127.0.0.1", "localhost") or port not in jvms:
            return None
        pids.append(jvms[port])
    return sorted(set(pids))


def brokers_cpu_s(pids):
    return sum(cpu_s(q) for q in pids) if pids else None


env = topic_env("bench")
env["INV_LOG_LEVEL"] = "info"
topics = [v for k, v in env.items() if k.startswith("INV_TOPIC_")]
sales, movements = env["INV_TOPIC_SALES"], env["INV_TOPIC_MOVEMENTS"]
r = run([bin("invctl"), "-b", bootstrap(), "topics", "create", "--partitions", str(PARTS)], env=env)
assert r.returncode == 0, r.stderr
try:
    # ---- preload (not timed)
    t0 = time.monotonic()
    p = Producer({"bootstrap.servers": bootstrap(), "linger.ms": 50, "batch.size": 1000000,
                  "compression.type": "lz4", "partitioner": "murmur2_random", "acks": "all",
                  "enable.idempotence": True, "queue.buffering.max.messages": 1000000})
    tmpl = ('{"event_id":"B-%%08d","source":"pos-store-%%d","location_id":"store-%%d","channel":"%s",'
            '"occurred_at":"2026-11-22T10:%%02d:%%02dZ","lines":[%%s]}')
    channels = ["store", "online", "marketplace", "b2b"]
    line = '{"sku":"SKU-%06d","quantity":%d}'
    expected = 0
    for i in range(N):
        nl = i % 3 + 1
        expected += nl
        lines = ",".join(line % ((i * 7919 + k * 104729) % 200000, 1 + (i + k) % 4) for k in range(nl))
        v = (tmpl % channels[i & 3]) % (i, i % 50, i % 50, (i // 60) % 60, i % 60, lines)
        while True:
            try:
                p.produce(sales, key=b"%d" % i, value=v.encode())
                break
            except BufferError:
                p.poll(0.05)
        if i % 10000 == 0:
            p.poll(0)
    assert p.flush(120) == 0
    pre = time.monotonic() - t0

    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": unique("bench-watch"),
                  "isolation.level": "read_uncommitted"})
    end = {q: c.get_watermark_offsets(TopicPartition(sales, q), timeout=10, cached=False)[1]
           for q in range(PARTS)}
    assert sum(end.values()) == N, end
    c.close()
    print("preloaded %d events (%d movements expected) in %.1fs" % (N, expected, pre), flush=True)

    # ---- the timed run
    group = unique("bench-inv-sale")
    watch = Consumer({"bootstrap.servers": bootstrap(), "group.id": group,
                      "isolation.level": "read_uncommitted", "enable.auto.commit": False})
    tps = [TopicPartition(sales, q) for q in range(PARTS)]
    if BROKERS:
        bpids = kafka_pids(BROKERS)
    else:
        bpid = broker_pid()
        bpids = [bpid] if bpid else None
    log_path = "/tmp/bench-processor-%d.log" % os.getpid()
    e = dict(os.environ, **env)
    b0 = brokers_cpu_s(bpids)
    with open(log_path, "wb") as logf:
        t0 = time.monotonic()
        proc = subprocess.Popen([bin("inv-sale"), "-b", bootstrap(), "-X", "group.id=" + group] + EXTRA, env=e,
                                stdout=subprocess.DEVNULL, stderr=logf)
    perf = None
    if PERF:
        perf = subprocess.Popen(["perf", "record", "--call-graph", os.environ.get("BENCH_PERF_CALLGRAPH", "fp"),
                                 "-F", "499", "-o", PERF_OUT,
                                 "-p", str(proc.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = None
    samples = []
    try:
        while True:
            assert proc.poll() is None, "inv-sale died:\n" + open(log_path).read()[-3000:]
            got = {tp.partition: max(tp.offset, 0) for tp in watch.committed(tps, timeout=30)}
            now = time.monotonic() - t0
            done = sum(got.values())
            if done and first is None:
                first = now
            samples.append((now, done))
            if all(got[q] >= end[q] for q in end):
                break
            time.sleep(0.05)
        wall = time.monotonic() - t0
        cpu, hwm = cpu_s(proc.pid), hwm_kb(proc.pid)
        b1 = brokers_cpu_s(bpids)
    finally:
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait(60)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(60)
        watch.close()
    assert rc == 0, "inv-sale exit %s:\n%s" % (rc, open(log_path).read()[-3000:])
    stats = open(log_path).read().strip().splitlines()[-1]

    # ---- the output is all there (not timed)
    kc = subprocess.run("kcat -C -b %s -t %s -o beginning -e -q -X isolation.level=read_committed "
                        "-f '%%o\\n' | wc -l" % (bootstrap(), movements), shell=True, capture_output=True,
                        text=True, check=True)
    seen = int(kc.stdout.strip())
    assert seen == expected, "movements: %d, want %d" % (seen, expected)

    steady = [s for s in samples if s[1] > 0]
    # sustained rate: from the first to the last committed offset seen
    sus_ev = (N - steady[0][1]) / (wall - steady[0][0]) if len(steady) > 1 and wall > steady[0][0] else N / wall
    print("inv-sale %s, %d partitions, %d events -> %d movements (read_committed count checked)"
          % (" ".join(EXTRA), PARTS, N, expected))
    print("  wall %.2fs (first commit after %.2fs)" % (wall, first or 0))
    print("  events/s     %9.0f overall, %9.0f sustained (after the first commit)" % (N / wall, sus_ev))
    print("  movements/s  %9.0f overall, %9.0f sustained" % (expected / wall, sus_ev * expected / N))
    print("  inv-sale CPU %.2fs (%.0f%% of one core), peak RSS %.1f MiB" % (cpu, 100 * cpu / wall, hwm / 1024))
    if BROKERS:
        print("  brokers      %s" % BROKERS)
        if b0 is not None:
            print("  broker CPU   %.2fs over the same interval (%.0f%% of one core), summed over %d JVM(s)"
                  % (b1 - b0, 100 * (b1 - b0) / wall, len(bpids)))
        else:
            print("  broker CPU   n/a (no local Kafka JVM found listening on each of %s)" % BROKERS)
    elif b0 is not None:
        print("  broker CPU   %.2fs over the same interval (%.0f%% of one core)" % (b1 - b0, 100 * (b1 - b0) / wall))
    print("  load average at the end %.1f %.1f %.1f (2 cores: anything above ~2 means others ran too)"
          % os.getloadavg())
    print("  inv-sale's last log line: %s" % stats)
    if perf:
        print("  perf data: %s (perf report -i %s)" % (PERF_OUT, PERF_OUT))
finally:
    delete_topics(topics)
PYEOF
