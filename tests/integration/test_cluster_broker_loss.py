"""Exactly-once on a three-node cluster while a broker is lost and comes back.

On the cluster of deploy/local/cluster.sh (the ctest fixture "cluster"
starts it; started here too if it is not running), with bootstrap
127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094:

  * `invctl topics create` makes the contract topics with replication
    factor 3 and min.insync.replicas=2, checked with the AdminClient;
  * a seeded oracle stream (tests/support/oracle.py: a few thousand inputs,
    malformed ones and re-sends included) is produced at a steady pace while
    inv-sale, inv-return, inv-restock and two inv-stock instances (one group,
    own state dirs) run;
  * mid-stream the broker leading the most partitions of the movements topic
    is killed with SIGKILL (`cluster.sh kill N`), stays down a few seconds
    and is started again (`cluster.sh restart N`);
  * then everything drains, and:
      - the lag of every group (committed offsets against the end offsets of
        the three input topics and the movements topic, counted in records a
        read_committed reader would still get, so a trailing commit marker is
        no lag) reaches zero within LAG_BOUND seconds of the last input being
        acknowledged;
      - inventory.movements holds exactly the movements of the valid inputs;
      - the final read_committed inventory.stock equals the oracle's replay,
        reorders and shortages equal its events with unique ids, and the DLQ
        holds each malformed input exactly once (oracle.verify_outputs);
      - no program exited on its own, and each stops with exit 0 on SIGTERM.

Each phase's duration is printed, and so are the programs' warn/error log
lines (grouped), for a reader to see what the broker loss cost them.

INV_TEST_SEED sets the seed, INV_TEST_SCALE scales the inputs (4000).
"""
import collections
import os
import re
import subprocess
import sys
import threading
import time

import invtest
import oracle
from invtest import ROOT, wait_until

SCALE = float(os.environ.get("INV_TEST_SCALE", "1"))
SEED = int(os.environ.get("INV_TEST_SEED", "9091"))
N_EVENTS = max(1000, int(4000 * SCALE))
PARTITIONS = 6
PRODUCE_SECONDS = 30.0   # the inputs are paced over this window
KILL_AT = 0.4            # ... and the broker is killed this far into it
DOWN_SECONDS = 5.0       # how long it stays down
LAG_BOUND = 120.0        # seconds from the last input acknowledged (and the node back) to zero lag
CLUSTER_SH = os.path.join(ROOT, "deploy", "local", "cluster.sh")

T0 = time.monotonic()
PHASES = []


def log(msg, *args):
    sys.stdout.write("[%7.1fs] %s\n" % (time.monotonic() - T0, msg % args if args else msg))
    sys.stdout.flush()


class phase:
    """with phase("name"): ... logs and records how long the block took."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.t = time.monotonic()
        log("phase %s ...", self.name)

    def __exit__(self, *exc):
        d = time.monotonic() - self.t
        PHASES.append((self.name, d, exc[0] is None))
        log("phase %s: %.1fs%s", self.name, d, "" if exc[0] is None else " (failed)")


def cluster(*args, timeout=300):
    r = subprocess.run([CLUSTER_SH] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    assert r.returncode == 0, "cluster.sh %s: exit %d\n%s" % (" ".join(args), r.returncode, r.stderr[-3000:])
    return r


BOOTSTRAP = subprocess.run([CLUSTER_SH, "bootstrap"], stdout=subprocess.PIPE, text=True,
                           check=True).stdout.strip()
assert BOOTSTRAP == "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094", BOOTSTRAP
# every helper (and the programs KeeperRig starts with -b) talks to the cluster
invtest.bootstrap = oracle.bootstrap = lambda: BOOTSTRAP


def admin():
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": BOOTSTRAP}, logger=oracle.QUIET)


def check_topic_settings(rig):
    """Every contract topic: 3 replicas per partition and min.insync.replicas=2."""
    from confluent_kafka.admin import ConfigResource
    a = admin()
    names = sorted(rig.topic.values())
    # the broker this client asks may learn of new topics a moment after the
    # one KeeperRig asked (each broker follows the metadata log on its own)
    md = wait_until(lambda: (lambda m: m if all(n in m.topics for n in names) else None)(a.list_topics(timeout=10)),
                    30, "every topic in this client's metadata")
    configs = {res.name: fut.result(timeout=30) for res, fut in a.describe_configs(
        [ConfigResource(ConfigResource.Type.TOPIC, n) for n in names], request_timeout=30).items()}
    bad = []
    for n in names:
        t = md.topics[n]
        rf = {len(p.replicas) for p in t.partitions.values()}
        isr = configs[n]["min.insync.replicas"].value
        if rf != {3} or isr != "2":
            bad.append((n, sorted(rf), isr))
    assert not bad, "topics without replication factor 3 / min.insync.replicas=2: %s" % bad
    log("%d topics, %d partitions each: replication factor 3, min.insync.replicas=2", len(names), PARTITIONS)


def leaders(topic):
    """{broker id: number of partitions of topic it leads}."""
    md = admin().list_topics(topic, timeout=10).topics[topic]
    return dict(collections.Counter(p.leader for p in md.partitions.values()))


GROUP_TOPICS = (("sales", "inv-sale"), ("returns", "inv-return"), ("restocks", "inv-restock"),
                ("movements", "inv-stock"))


def records_between(topic, starts, ends, timeout=3.0):
    """{partition: records a read_committed reader gets from starts[p] up to
    ends[p]} (markers and aborted records are not counted); None for a
    partition it cannot read up to its end (an open transaction)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": invtest.unique("lag-reader"),
                  "enable.auto.commit": False, "isolation.level": "read_committed",
                  "enable.partition.eof": False}, logger=oracle.QUIET)
    try:
        c.assign([TopicPartition(topic, p, max(starts[p], 0)) for p in starts])
        count = {p: 0 for p in starts}
        pending = set(starts)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for m in c.consume(1000, 0.2):
                if m.error() is None and m.offset() < ends[m.partition()]:
                    count[m.partition()] += 1
            for tp in c.position([TopicPartition(topic, p) for p in pending]):
                if tp.offset >= ends[tp.partition]:
                    pending.discard(tp.partition)
        for p in pending:
            count[p] = None
        return count
    finally:
        c.close()


def lag(rig):
    """{topic key: (record lag, offset gap)} summed over partitions; record lag
    None while some partition cannot be read to its end."""
    out = {}
    for key, prog in GROUP_TOPICS:
        topic = rig.topic[key]
        end = oracle.end_offsets(topic)
        committed = oracle.committed_offsets(rig.groups[prog], topic, PARTITIONS)
        gap = {p: end[p] - max(committed[p], 0) for p in end}
        behind = {p: committed[p] for p in end if gap[p] > 0}
        rec = records_between(topic, behind, end) if behind else {}
        out[key] = (None if any(v is None for v in rec.values()) else sum(rec.values()), sum(gap.values()))
    return out


LOG_LINE = re.compile(r"^\S+ (\S+) (error|warn)\s+(.*)$")


def log_summary(procs):
    """{(program, level, message with numbers masked): [count, first line]}
    over every program's stderr."""
    out = {}
    for p in procs:
        for line in p.stderr_text().splitlines():
            m = LOG_LINE.match(line)
            if m:
                k = (m.group(1), m.group(2), re.sub(r"\d+", "N", m.group(3))[:140])
                e = out.setdefault(k, [0, line])
                e[0] += 1
    return out


def main():
    stream = oracle.generate(SEED, N_EVENTS)
    stats = stream.stats()
    log("stream: seed %d, %d inputs, %d movements, %d malformed, %d re-sent", SEED, stats["inputs"],
        stats["movements"], stats["malformed"], stats["resent"] + stats["resent-changed"])
    assert stats["malformed"] > 0
    with phase("cluster up"):
        r = cluster("start")
        log("cluster: %s", r.stderr.strip().splitlines()[-1])
    rig = oracle.KeeperRig("cluster-loss", PARTITIONS)
    rig.set_default_policy(stream.default)
    procs = []
    try:
        with phase("topics"):
            rig.create_topics()
            check_topic_settings(rig)
        with phase("programs start, policies"):
            rig.produce_policies(stream)
            procs = rig.start_processors() + [rig.start_keeper("stock-0"), rig.start_keeper("stock-1")]

        def alive():
            rig.assert_running(procs)  # no program may exit on its own

        slices = [stream.inputs[i::60] for i in range(60)]
        produced = threading.Event()
        producer_error, acked = [], []

        def produce():
            try:
                p = rig.producer()
                t = time.monotonic()
                for i, chunk in enumerate(slices):
                    rig.produce(chunk, producer=p, flush=False)
                    delay = t + (i + 1) * PRODUCE_SECONDS / len(slices) - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)  # pacing the load, not waiting for a condition
                left = p.flush(300)
                assert left == 0, "%d inputs undelivered" % left
                acked.append(time.monotonic())
            except BaseException as e:
                producer_error.append(e)
            finally:
                produced.set()

        with phase("stream with a broker lost"):
            t_start = time.monotonic()
            th = threading.Thread(target=produce, daemon=True)
            th.start()
            while time.monotonic() - t_start < PRODUCE_SECONDS * KILL_AT:
                alive()
                time.sleep(0.2)  # the schedule's clock, not a wait for a condition
            lead = leaders(rig.topic["movements"])
            victim = max(sorted(lead), key=lambda b: lead[b])
            log("movements partition leaders by broker %s: kill -9 node %d", lead, victim)
            t_kill = time.monotonic()
            r = cluster("kill", str(victim))
            log(r.stderr.strip())
            while time.monotonic() - t_kill < DOWN_SECONDS:
                alive()
                time.sleep(0.2)  # the broker stays down this long
            log("restarting node %d after %.1fs down", victim, time.monotonic() - t_kill)
            t = time.monotonic()
            r = cluster("restart", str(victim))
            t_back = time.monotonic()
            log("%s (restart took %.1fs, %.1fs after the kill); movements leaders now %s",
                r.stderr.strip().splitlines()[-1], time.monotonic() - t, time.monotonic() - t_kill,
                leaders(rig.topic["movements"]))
            alive()
            wait_until(lambda: alive() or produced.is_set(), 300, "the producer thread", interval=0.5)
            th.join(10)
            assert not producer_error, "producing the inputs failed: %r" % producer_error
            log("all %d inputs acknowledged %.1fs after the first (%.1fs %s the node was back)",
                len(stream.inputs), acked[0] - t_start, abs(acked[0] - t_back),
                "after" if acked[0] >= t_back else "before")
            # the drain is timed from the later of the two
            t_acked = max(acked[0], t_back)

        with phase("drain (lag to zero)"):
            last = {}

            def drained():
                alive()
                last["lag"] = lag(rig)
                return all(v[0] == 0 for v in last["lag"].values())
            try:
                wait_until(drained, LAG_BOUND, "zero lag", interval=1.0)
            except TimeoutError:
                raise AssertionError("lag not zero %.0fs after the last input was acknowledged and the node "
                                     "was back: %s" % (
                    LAG_BOUND, last.get("lag")))
            took = time.monotonic() - t_acked
            log("lag zero %.1fs after the last input was acknowledged and the node was back (bound %.0fs); records, offset gaps "
                "(commit markers) by topic: %s", took, LAG_BOUND, last["lag"])
            assert took <= LAG_BOUND

        with phase("verify"):
            movements = rig.read_movements()
            oracle.check_movements_exact(stream, movements)
            log("movements exact: %d, no duplicate ids", sum(len(v) for v in movements.values()))
            o = oracle.verify_outputs(rig, stream, movements, log)
            dlq_inputs = sum(1 for r in rig.read_dlq() if not (dict(r[2]).get("inv.source.topic") or b"")
                             .decode().endswith((".movements", ".policies")))
            assert dlq_inputs == stats["malformed"], (dlq_inputs, stats["malformed"])
            log("DLQ entries from the input topics: %d == malformed inputs %d; oracle refused %d movements",
                dlq_inputs, stats["malformed"], len(o.refused))
            alive()

        with phase("stop"):
            for p, rc in rig.stop():
                assert rc == 0, "%s exit %s on SIGTERM\n%s" % (p.role, rc, p.stderr_text()[-3000:])
            log("all %d programs stopped with exit 0", len(procs))
    finally:
        summary = log_summary(procs)
        if summary:
            log("the programs' warn/error lines (count, first occurrence):")
            for (prog, level, _), (n, first) in sorted(summary.items()):
                sys.stdout.write("  %4d x %s\n" % (n, first[:300]))
        else:
            log("no warn/error lines in the programs' logs")
        for p in procs:
            sys.stdout.write("  log %s %s\n" % (p.role, p.stderr_path))
        log("phases: %s", ", ".join("%s %.1fs%s" % (n, d, "" if ok else " FAILED") for n, d, ok in PHASES))
        rig.cleanup()


if __name__ == "__main__":
    main()
    print("PASS")
