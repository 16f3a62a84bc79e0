"""Exactly-once of inv-sale across kill -9 and fail-over (issue 4 "Must show";
DESIGN.md "Guarantees to test against").

1. Restarts: >= 100k sale events (baskets of 1-3 lines, a few malformed ones
   among them) go to a 4-partition input topic in slices: a backlog up front,
   then a slice per instance that streams in while it runs (inv-sale commits
   as soon as it has drained its input, so without new input arriving a kill
   would mostly find nothing open). inv-sale is
   started and killed with SIGKILL KILLS times at random (seeded) moments:
   some while it starts, initialises its transactions or joins the group,
   most while it streams. Each time it is restarted at once (the restarted
   instance takes the same per-host transactional id and fences its dead
   predecessor). Finally it runs to the end of the input. A read_committed
   reader of inventory.movements must see every expected movement id exactly
   once, with its SKU and quantity, and nothing else; the DLQ must hold every
   malformed input exactly once; and some movements of aborted transactions
   must be in the log (read_uncommitted), so kills did hit open transactions.
   Before the last run, one instance is stopped mid-stream with SIGTERM: it
   must exit 0 promptly.
2. Fail-over: two inv-sale instances share the group and split the four
   partitions (both log an assignment of 2); the input then streams in over
   20 s; one is killed with SIGKILL mid-stream (both have committed input, a
   quarter of the movements are out, events still arrive); the other takes
   all four partitions over, and the same exactly-once result holds.

The consumers use session.timeout.ms=6000 (the broker's minimum) so the group
notices a dead member in 6 s rather than librdkafka's 45 s default; the
producers linger.ms=5, so open transactions have records in the log to
abort (see SESSION); nothing else is tuned. Set INV_CRASH_SEED to replay a run.
"""
import json
import os
import random
import re
import signal
import sys
import threading
import time
from collections import Counter

from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING

from invtest import (bin, bootstrap, delete_topics, run, start, topic_env, topic_names, unique,
                     wait_until)

PARTITIONS = 4
EVENTS = 100_000
KILLS = 12
SEED = int(os.environ.get("INV_CRASH_SEED", "20261122"))
BAD_EVERY = 7919          # every BAD_EVERY-th event has a quantity of 0 -> DLQ
# linger.ms=5: by default a transactional producer holds its records until
# the commit sends them (linger.ms = commit.interval.ms), so a kill finds
# nothing of its open transaction in the log. With records going out every
# 5 ms, kills leave aborted records behind, which read_committed must hide:
# the case this test is for (any batch over batch.size does it too).
SESSION = ["-X", "kafka.session.timeout.ms=6000", "-X", "kafka.linger.ms=5"]
BAD_ERROR = b"lines[0].quantity: 0 is not positive"


def log(msg):
    print("%7.1fs %s" % (time.monotonic() - T0, msg), flush=True)


T0 = time.monotonic()


# --------------------------------------------------------------- topics and data

def create_topics(env):
    r = run([bin("invctl"), "-b", bootstrap(), "topics", "create", "--partitions", str(PARTITIONS)],
            env=env, timeout=60)
    assert r.returncode == 0, "invctl: exit %s\n%s" % (r.returncode, r.stderr)
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": unique("md")})
    try:
        def ready():
            md = c.list_topics(timeout=10)
            return all(md.topics.get(n) is not None and md.topics[n].error is None and
                       len(md.topics[n].partitions) == PARTITIONS and
                       all(p.leader >= 0 for p in md.topics[n].partitions.values())
                       for n in topic_names(env))
        wait_until(ready, 30, "topics in metadata")
    finally:
        c.close()


class Workload:
    """EVENTS sale events; what they must become."""

    def __init__(self, prefix, rng):
        self.values = []
        self.expected = {}   # movement id -> (sku, quantity)
        self.bad = []        # indexes of malformed events
        for i in range(EVENTS):
            eid = "%s-%06d" % (prefix, i)
            n = rng.randint(1, 3)
            lines = [{"sku": "SKU-%d" % rng.randrange(5000), "quantity": rng.randint(1, 9)} for _ in range(n)]
            if i % BAD_EVERY == BAD_EVERY - 1:
                lines[0]["quantity"] = 0
                self.bad.append(i)
            else:
                for k, line in enumerate(lines):
                    self.expected["sale:%s:%d" % (eid, k)] = (line["sku"], line["quantity"])
            self.values.append(json.dumps(
                {"event_id": eid, "source": "pos-%d" % (i % 40), "location_id": "store-%d" % (i % 40),
                 "channel": "store", "occurred_at": "2026-11-22T10:00:00Z", "lines": lines},
                separators=(",", ":")).encode())
        self.keys = [b"k%d" % i for i in range(EVENTS)]
        self.where = [None] * EVENTS  # (partition, offset) once produced

    def produce(self, topic, lo=0, hi=EVENTS, seconds=0.0):
        """Produces events lo..hi-1, spread evenly over `seconds` (0: at once),
        and waits for their acknowledgements."""
        p = Producer({"bootstrap.servers": bootstrap(), "enable.idempotence": True, "acks": "all",
                      "linger.ms": 5 if seconds else 20, "batch.size": 1000000, "compression.type": "lz4",
                      "partitioner": "murmur2_random", "queue.buffering.max.messages": 500000})
        errors = []

        def cb(err, msg):
            if err is not None:
                errors.append(err)
            else:
                self.where[int(msg.key()[1:])] = (msg.partition(), msg.offset())
        t0 = time.monotonic()
        for j, (k, v) in enumerate(zip(self.keys[lo:hi], self.values[lo:hi])):
            if seconds:
                while time.monotonic() < t0 + seconds * j / (hi - lo):
                    p.poll(0.001)
            while True:
                try:
                    p.produce(topic, key=k, value=v, on_delivery=cb)
                    break
                except BufferError:
                    p.poll(0.05)
            p.poll(0)
        assert p.flush(60) == 0 and not errors, errors[:5]


def watermarks(c, topic):
    return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
            for p in range(PARTITIONS)}


def read_all(topic, timeout=120, isolation="read_committed"):
    """Every record up to the last stable offset (read_committed) or the high
    watermark (read_uncommitted), fast (batch consume): [(key, value, headers)]."""
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": unique("crash-reader"),
                  "enable.auto.commit": False, "isolation.level": isolation,
                  "fetch.max.bytes": 52428800, "enable.partition.eof": False})
    try:
        end = watermarks(c, topic)
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        out, pending = [], {p for p in end if end[p] > 0}
        deadline = time.monotonic() + timeout
        while pending:
            assert time.monotonic() < deadline, "read_all(%s) timed out" % topic
            for m in c.consume(num_messages=20000, timeout=0.5):
                assert m.error() is None, m.error()
                out.append((m.key(), m.value(), m.headers()))
            for tp in c.position([TopicPartition(topic, p) for p in list(pending)]):
                if tp.offset >= end[tp.partition]:
                    pending.discard(tp.partition)
        return out
    finally:
        c.close()


class Group:
    """Watches a consumer group's committed offsets on the input topic."""

    def __init__(self, group, topic):
        self.topic = topic
        # read_uncommitted: no require_stable on OffsetFetch, so a dead
        # instance's pending transactional commit does not block the look-up
        # (the answer is the last committed offsets either way)
        self.c = Consumer({"bootstrap.servers": bootstrap(), "group.id": group, "enable.auto.commit": False,
                           "isolation.level": "read_uncommitted"})

    def committed(self):
        tps = self.c.committed([TopicPartition(self.topic, p) for p in range(PARTITIONS)], timeout=30)
        return {tp.partition: max(tp.offset, 0) for tp in tps}

    def done(self, end):
        got = self.committed()
        return all(got[p] >= end[p] for p in end)

    def close(self):
        self.c.close()


def wait_settled(topic, timeout=60):
    """Wait until no transaction is open on topic (last stable offset = high
    watermark everywhere): a killed instance whose transactional id nobody
    reuses leaves its transaction open until the broker aborts it after
    transaction.timeout.ms (10 s), and read_committed readers stop before it."""
    lso = Consumer({"bootstrap.servers": bootstrap(), "group.id": unique("lso"),
                    "isolation.level": "read_committed"})
    hw = Consumer({"bootstrap.servers": bootstrap(), "group.id": unique("hw"),
                   "isolation.level": "read_uncommitted"})
    try:
        wait_until(lambda: watermarks(lso, topic) == watermarks(hw, topic), timeout,
                   "open transactions on %s to end" % topic, interval=0.2)
    finally:
        lso.close()
        hw.close()


def check_exactly_once(env, work):
    t0 = time.monotonic()
    wait_settled(env["INV_TOPIC_MOVEMENTS"])
    wait_settled(env["INV_TOPIC_DLQ"])
    rows = read_all(env["INV_TOPIC_MOVEMENTS"])
    ids = Counter()
    wrong = []
    for key, value, _ in rows:
        m = json.loads(value)
        ids[m["movement_id"]] += 1
        want = work.expected.get(m["movement_id"])
        if want is None or (m["sku"], m["quantity"]) != want or key != m["sku"].encode():
            wrong.append(m)
    dup = {i: n for i, n in ids.items() if n > 1}
    missing = [i for i in work.expected if i not in ids]
    assert not dup, "%d movement ids seen more than once, e.g. %s" % (len(dup), sorted(dup.items())[:5])
    assert not missing, "%d movement ids missing, e.g. %s" % (len(missing), missing[:5])
    assert not wrong, "%d unexpected or wrong movements, e.g. %s" % (len(wrong), wrong[:3])
    assert len(rows) == len(work.expected)
    # what the killed instances had written in transactions that never
    # committed: there, but invisible to read_committed readers
    aborted = len(read_all(env["INV_TOPIC_MOVEMENTS"], isolation="read_uncommitted")) - len(rows)
    assert aborted >= 0

    dead = read_all(env["INV_TOPIC_DLQ"])
    got = Counter()
    for key, value, headers in dead:
        h = dict(headers)
        got[(key, value, h["inv.error"], h["inv.source.topic"].decode(),
             int(h["inv.source.partition"]), int(h["inv.source.offset"]))] += 1
    want = Counter((work.keys[i], work.values[i], BAD_ERROR, env["INV_TOPIC_SALES"]) + work.where[i]
                   for i in work.bad)
    assert got == want, "DLQ differs: missing %s extra %s" % (list((want - got).items())[:3],
                                                            list((got - want).items())[:3])
    log("exactly once: %d movements, %d dead letters, each once; %d movements of aborted "
        "transactions hidden from read_committed (read in %.1fs)"
        % (len(rows), len(dead), aborted, time.monotonic() - t0))
    return aborted


def assignments(proc):
    """Partition counts of the 'assigned N partition(s)' log lines so far."""
    return [int(n) for n in re.findall(r"assigned (\d+) partition\(s\)", proc.stderr_text())]


def start_sale(env, group):
    return start([bin("inv-sale"), "-b", bootstrap(), "-X", "group.id=" + group] + SESSION, env)


# --------------------------------------------------------------- scenario 1

def scenario_restarts(rng):
    env = topic_env("crash")
    create_topics(env)
    try:
        work = Workload("C", rng)
        # The input arrives in KILLS + 3 slices: two before the first start,
        # then one per instance, streamed in while it runs (before it starts
        # for a start-up kill), the last one for the SIGTERM: a processor that
        # finishes its input faster than the test can react would otherwise
        # leave the later kills nothing to hit.
        cut = [EVENTS * i // (KILLS + 3) for i in range(KILLS + 4)]
        t0 = time.monotonic()
        work.produce(env["INV_TOPIC_SALES"], 0, cut[2])
        log("produced %d of %d events (%d movements expected in all, %d malformed) in %.1fs"
            % (cut[2], EVENTS, len(work.expected), len(work.bad), time.monotonic() - t0))
        group = unique("g-crash")
        g = Group(group, env["INV_TOPIC_SALES"])
        wm = Consumer({"bootstrap.servers": bootstrap(), "group.id": unique("wm")})
        mov = env["INV_TOPIC_MOVEMENTS"]
        streaming_kills = 0
        proc = None
        try:
            for k in range(KILLS):
                proc = start_sale(env, group)
                early = rng.random() < 0.25
                if early:
                    work.produce(env["INV_TOPIC_SALES"], cut[k + 2], cut[k + 3])
                    end = watermarks(wm, env["INV_TOPIC_SALES"])
                    # during start-up: init_transactions, subscribe, group join
                    time.sleep(rng.uniform(0.0, 1.5))
                    phase = "start-up"
                else:
                    n0 = len(assignments(proc))
                    wait_until(lambda: len(assignments(proc)) > n0 or not proc.alive(), 60,
                               "instance %d to get its partitions" % k)
                    assert proc.alive(), proc.stderr_text()[-3000:]
                    hw0 = sum(watermarks(wm, mov).values())
                    # this instance's slice of the input streams in over a
                    # second while it runs, so the kill lands mid-stream
                    feed = threading.Thread(target=work.produce,
                                            args=(env["INV_TOPIC_SALES"], cut[k + 2], cut[k + 3], 1.0))
                    feed.start()
                    wait_until(lambda: sum(watermarks(wm, mov).values()) > hw0 or not proc.alive(), 30,
                               "instance %d to produce" % k, interval=0.01)
                    # A random moment within the slice: after a random time
                    # or a random share of its movements, whichever first.
                    share = 2 * (cut[k + 3] - cut[k + 2]) * rng.uniform(0.1, 0.9)
                    deadline = time.monotonic() + rng.uniform(0.0, 0.8)
                    wait_until(lambda: time.monotonic() >= deadline or not proc.alive() or
                               sum(watermarks(wm, mov).values()) - hw0 >= share, 30,
                               "the moment of kill %d" % k, interval=0.01)
                    phase = "streaming"
                assert proc.alive(), "inv-sale exited before its kill:\n%s" % proc.stderr_text()[-3000:]
                proc.kill()
                if not early:
                    feed.join()
                    end = watermarks(wm, env["INV_TOPIC_SALES"])
                left = sum(end.values()) - sum(g.committed().values())
                if left == 0:
                    phase = "after its input"  # it was faster than the test: not counted
                if phase == "streaming":
                    streaming_kills += 1
                log("kill -9 #%d (%s): %d of %d input events still to commit"
                    % (k + 1, phase, left, EVENTS))
            assert streaming_kills >= KILLS // 2, streaming_kills
            # a graceful stop mid-stream: SIGTERM commits or aborts the open
            # transaction, leaves the group and exits 0
            proc = start_sale(env, group)
            n0 = len(assignments(proc))
            wait_until(lambda: len(assignments(proc)) > n0 or not proc.alive(), 60, "assignment before SIGTERM")
            hw0 = sum(watermarks(wm, mov).values())
            feed = threading.Thread(target=work.produce, args=(env["INV_TOPIC_SALES"], cut[-2], cut[-1], 1.0))
            feed.start()
            wait_until(lambda: sum(watermarks(wm, mov).values()) > hw0 or not proc.alive(), 30,
                       "production before SIGTERM", interval=0.01)
            time.sleep(rng.uniform(0.0, 0.5))
            t_term = time.monotonic()
            rc = proc.stop(30)
            feed.join()
            end = watermarks(wm, env["INV_TOPIC_SALES"])
            assert sum(end.values()) == EVENTS
            assert rc == 0, "SIGTERM mid-stream: exit %s\n%s" % (rc, proc.stderr_text()[-3000:])
            left = sum(end.values()) - sum(g.committed().values())
            assert left > 0, "SIGTERM came after the whole input was processed"
            log("SIGTERM mid-stream: exit 0 after %.1fs, %d input events still to commit"
                % (time.monotonic() - t_term, left))
            proc = start_sale(env, group)
            wait_until(lambda: g.done(end) or not proc.alive(), 180, "the last instance to finish")
            assert proc.alive(), proc.stderr_text()[-3000:]
            rc = proc.stop(30)
            assert rc == 0, "exit %s\n%s" % (rc, proc.stderr_text()[-3000:])
            log("the last instance finished the input: %s" % proc.stderr_text().strip().splitlines()[-1])
        finally:
            if proc is not None and proc.alive():
                proc.kill()
            g.close()
            wm.close()
        aborted = check_exactly_once(env, work)
        # the kills did hit open transactions with movements already written
        assert aborted > 0, "no kill left an aborted transaction behind: the kills missed the stream"
    finally:
        delete_topics(topic_names(env))


# --------------------------------------------------------------- scenario 2

def scenario_failover(rng):
    env = topic_env("failover")
    create_topics(env)
    try:
        work = Workload("F", rng)
        group = unique("g-failover")
        g = Group(group, env["INV_TOPIC_SALES"])
        wm = Consumer({"bootstrap.servers": bootstrap(), "group.id": unique("wm")})
        a = b = None
        producer = None
        try:
            a = start_sale(env, group)
            wait_until(lambda: assignments(a)[-1:] == [PARTITIONS], 60, "the first instance's assignment")
            b = start_sale(env, group)
            wait_until(lambda: assignments(a)[-1:] == [2] and assignments(b)[-1:] == [2], 60,
                       "both instances to hold 2 partitions each")
            log("both instances hold 2 of the 4 partitions (logs: a %s, b %s)" % (assignments(a), assignments(b)))

            # the stream starts now, while both run, and lasts 20 s: two
            # processors keep up with it (they once lagged a burst, but with a
            # small prefetch they commit whenever their queue runs dry), so
            # "mid-stream" means while it still flows into every partition
            producer = threading.Thread(target=work.produce, args=(env["INV_TOPIC_SALES"], 0, EVENTS, 20.0))
            producer.start()
            target = len(work.expected) // 4

            def both_busy():
                # both have committed input, a quarter of the movements are
                # out, and events still arrive: the victim is mid-stream
                c = g.committed()
                hw = sum(watermarks(wm, env["INV_TOPIC_MOVEMENTS"]).values())
                return all(c[p] > 0 for p in c) and hw >= target and producer.is_alive()
            try:
                wait_until(both_busy, 120, "both instances to commit input and %d movements while the stream flows"
                           % target, interval=0.02)
            except TimeoutError as e:
                raise TimeoutError("%s: committed %s, input ends %s, movements %d; a: %s\nb: %s" % (
                    e, g.committed(), watermarks(wm, env["INV_TOPIC_SALES"]),
                    sum(watermarks(wm, env["INV_TOPIC_MOVEMENTS"]).values()),
                    a.stderr_text()[-1500:], b.stderr_text()[-1500:])) from None
            b.kill()
            log("kill -9 of instance b mid-stream (committed input offsets %s)" % g.committed())
            n_before = len(assignments(a))
            wait_until(lambda: len(assignments(a)) > n_before and assignments(a)[-1] == PARTITIONS, 60,
                       "the survivor to take over all %d partitions" % PARTITIONS)
            log("the survivor took over: assignments %s" % assignments(a))
            producer.join(120)
            assert not producer.is_alive()
            end = watermarks(wm, env["INV_TOPIC_SALES"])
            assert sum(end.values()) == EVENTS
            wait_until(lambda: g.done(end) or not a.alive(), 180, "the survivor to finish")
            assert a.alive(), a.stderr_text()[-3000:]
            rc = a.stop(30)
            assert rc == 0, "exit %s\n%s" % (rc, a.stderr_text()[-3000:])
        finally:
            for p in (a, b):
                if p is not None and p.alive():
                    p.kill()
            if producer is not None:
                producer.join(120)
            g.close()
            wm.close()
        check_exactly_once(env, work)
    finally:
        delete_topics(topic_names(env))


def main():
    rng = random.Random(SEED)
    log("seed %d (INV_CRASH_SEED replays it)" % SEED)
    scenario_restarts(rng)
    log("ok: %d kills and restarts" % KILLS)
    scenario_failover(rng)
    log("ok: fail-over")
    return 0


if __name__ == "__main__":
    sys.exit(main())
