"""Hold -> status latency (tests/bench/bench_keeper.sh, phase `holds`).

Produces RATE ReservationEvent holds per second (JSON, one line each, keyed by
reservation_id, occurred_at = the wall clock) to the reservations topic, for
WARMUP + MEASURE seconds, and reads the statuses topic read_committed from its
end offsets as they were before the first hold. A hold's latency is the time
from its produce call to the moment its ReservationStatus (whatever its state)
is received here; the holds sent during the MEASURE seconds count. Prints one
line: "p50 a ms, p99 b ms, max c ms over n holds (m without a status after D s)".

    python3 hold_probe.py -b BROKERS --reservations TOPIC --statuses TOPIC
                          [--rate 1000] [--warmup 5] [--measure 20] [--drain 10]
                          [--skus 5000] [--locations 20] [--tag T]

Exit 0 once the figures are printed, 1 when no measured hold got a status.
"""
import argparse
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition


def rfc3339_ms(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-b", "--brokers", default="127.0.0.1:9092")
    ap.add_argument("--reservations", required=True)
    ap.add_argument("--statuses", required=True)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--measure", type=float, default=20)
    ap.add_argument("--drain", type=float, default=10)
    ap.add_argument("--skus", type=int, default=5000)
    ap.add_argument("--locations", type=int, default=20)
    ap.add_argument("--tag", default="%x" % int(time.time()))
    a = ap.parse_args()

    cons = Consumer({"bootstrap.servers": a.brokers, "group.id": "hold-probe-" + a.tag,
                     "enable.auto.commit": False, "isolation.level": "read_committed",
                     "fetch.wait.max.ms": 5, "fetch.min.bytes": 1})
    md = cons.list_topics(a.statuses, timeout=30).topics[a.statuses]
    tps = []
    for p in sorted(md.partitions):
        _, high = cons.get_watermark_offsets(TopicPartition(a.statuses, p), timeout=30)
        tps.append(TopicPartition(a.statuses, p, high))
    cons.assign(tps)
    cons.consume(1, timeout=0.5)  # the first fetch: positions known before the first hold
    prod = Producer({"bootstrap.servers": a.brokers, "linger.ms": 2, "enable.idempotence": True,
                     "compression.type": "lz4"})

    prefix = "P%s-" % a.tag
    sent = {}  # reservation_id -> (send time, measured)
    lat = []
    by_second = {}  # second of sending -> latencies (ms): the run's shape, on stderr
    t0 = time.time()
    end_send = t0 + a.warmup + a.measure
    i = 0

    def receive(timeout):
        for m in cons.consume(10000, timeout=timeout):
            if m.error():
                continue
            now = time.time()
            rid = (m.key() or b"").decode("utf-8", "replace")
            s = sent.pop(rid, None) if rid.startswith(prefix) else None
            if s is not None:
                by_second.setdefault(int(s[0] - t0), []).append((now - s[0]) * 1000)
                if s[1]:
                    lat.append((now - s[0]) * 1000)

    while True:
        now = time.time()
        if now >= end_send:
            break
        due = int((now - t0) * a.rate) + 1
        while i < due:
            rid = "%s%d" % (prefix, i)
            ms = int(time.time() * 1000)
            ev = {"event_id": "PH-%s-%d" % (a.tag, i), "source": "hold-probe", "reservation_id": rid,
                  "action": "hold", "location_id": "loc-%03d" % (i % a.locations), "channel": "online",
                  "occurred_at": rfc3339_ms(ms), "expires_at": rfc3339_ms(ms + 3600 * 1000),
                  "allow_partial": True, "lines": [{"sku": "SKU-%06d" % ((i * 7919) % a.skus), "quantity": 1}]}
            while True:
                try:
                    prod.produce(a.reservations, key=rid.encode(),
                                 value=json.dumps(ev, separators=(",", ":")).encode())
                    break
                except BufferError:
                    prod.poll(0.01)
            sent[rid] = (ms / 1000.0, a.warmup <= ms / 1000.0 - t0 < a.warmup + a.measure)
            i += 1
        prod.poll(0)
        receive(0.002)
    prod.flush(30)
    measured = sum(1 for v in sent.values() if v[1]) + len(lat)
    deadline = time.time() + a.drain
    while time.time() < deadline and any(v[1] for v in sent.values()):
        receive(0.05)
    cons.close()
    for sec in sorted(by_second):
        v = sorted(by_second[sec])
        sys.stderr.write("hold_probe: second %d: %d statuses, p50 %.0f ms, max %.0f ms\n"
                         % (sec, len(v), v[len(v) // 2], v[-1]))
    missing = sum(1 for v in sent.values() if v[1])
    if not lat:
        print("no status for any of %d measured holds" % measured)
        return 1
    lat.sort()

    def q(x):
        return lat[min(len(lat) - 1, int(x * len(lat)))]

    print("p50 %.0f ms, p99 %.0f ms, max %.0f ms over %d holds at %.0f/s (%d without a status after %.0f s)"
          % (q(0.5), q(0.99), lat[-1], len(lat), a.rate, missing, a.drain))
    return 0


if __name__ == "__main__":
    sys.exit(main())
