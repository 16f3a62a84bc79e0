"""Exactly-once on a three-node cluster through a broker fault.

    test_cluster_faults.py FAULT

FAULT is one of:
  leader       kill -9 the broker leading the most movements partitions, restart
               it DOWN_SECONDS later;
  coordinator  kill -9 the transaction coordinator of the first inv-stock
               instance's transactional id, restart it DOWN_SECONDS later;
  rolling      a rolling restart of all three brokers with SIGTERM, each one
               back in every ISR before the next goes;
  outage       stop (SIGTERM) the broker leading the most movements partitions
               for longer than transaction.timeout.ms, then start it;
  min-isr      kill -9 two brokers (below min.insync.replicas=2, and below the
               KRaft quorum): nothing may commit meanwhile, and /healthz of the
               inv-stock instances must say why; then one broker comes back.

On the cluster of deploy/local/cluster.sh (the ctest fixture "cluster"
starts it; started here too if it is not running), with bootstrap
127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094:

  * `invctl topics create` makes the contract topics with replication
    factor 3 and min.insync.replicas=2, checked with the AdminClient;
  * a seeded oracle stream (tests/support/oracle.py: a few thousand inputs,
    malformed ones, re-sends, reservations, transfers and late sales
    included) is produced at a steady pace while inv-sale, inv-return,
    inv-restock, inv-reserve, inv-transfer and two inv-stock instances (one
    group, own state dirs) run;
  * FAULT_AT into the stream the fault happens (cluster.sh kill N, stop N,
    start N, restart N), and the cluster is whole again once it is over;
  * then everything drains, and:
      - the lag of every group (committed offsets against the end offsets of
        the five input topics and the movements topic, counted in records a
        read_committed reader would still get, so a trailing commit marker is
        no lag) reaches zero within LAG_BOUND seconds of the last input being
        acknowledged;
      - inventory.movements holds exactly the movements of the valid inputs;
      - the final read_committed inventory.stock equals the oracle's replay,
        reorders and shortages equal its events with unique ids, and the DLQ
        holds each malformed input exactly once, and each movement the
        keeper refuses or reports (oracle.verify_outputs);
      - no program exited on its own, and each stops with exit 0 on SIGTERM.

Each phase's duration is printed, and so are the transaction aborts by
cause of the inv-stock instances (/metrics) and the programs' warn/error
log lines (grouped), for a reader to see what the fault cost them.

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
FAULT_AT = 0.4           # ... and the fault happens this far into it
DOWN_SECONDS = 5.0       # leader, coordinator: how long the broker stays down
MIN_ISR_SECONDS = 30.0   # min-isr: how long two brokers stay down
LAG_BOUND = 120.0        # seconds from the last input acknowledged (and the cluster whole) to zero lag
FAULTS = ("leader", "coordinator", "rolling", "outage", "min-isr")
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
    if r.returncode != 0:
        sys.stdout.write(r.stderr)  # every node's log tail, for the reader
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
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import ConfigResource
    a = admin()
    names = sorted(rig.topic.values())
    # the broker this client asks may learn of new topics a moment after the
    # one KeeperRig asked (each broker follows the metadata log on its own)
    md = wait_until(lambda: (lambda m: m if all(n in m.topics for n in names) else None)(a.list_topics(timeout=10)),
                    30, "every topic in this client's metadata")

    def describe():
        # describe_configs goes to any broker, which may not know a new topic yet
        try:
            return {res.name: fut.result(timeout=30) for res, fut in a.describe_configs(
                [ConfigResource(ConfigResource.Type.TOPIC, n) for n in names], request_timeout=30).items()}
        except KafkaException as e:
            if e.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise
            log("describing the topics' configs: %s; again", e)
            return None

    configs = wait_until(describe, 30, "every topic's configuration from the broker asked")
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


def partition_leaders(topic):
    """{partition: leader broker id}."""
    md = admin().list_topics(topic, timeout=10).topics[topic]
    return {p.id: p.leader for p in md.partitions.values()}


def java_hash(s):
    """Java's String.hashCode of s (UTF-16 code units), as a signed 32-bit int."""
    h = 0
    b = s.encode("utf-16-be")
    for i in range(0, len(b), 2):
        h = (31 * h + ((b[i] << 8) | b[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def txn_coordinator(transactional_id):
    """The broker leading the __transaction_state partition of transactional_id
    (Kafka's TransactionStateManager: Utils.abs(hashCode) % partitions)."""
    parts = partition_leaders("__transaction_state")
    h = java_hash(transactional_id)
    p = (0 if h == -(1 << 31) else abs(h)) % len(parts)
    return parts[p], p


def under_replicated(topics):
    """Partitions of topics (and of the internal topics) whose ISR lacks a replica."""
    md = admin().list_topics(timeout=10)
    out = []
    for name, t in md.topics.items():
        if name in topics or name.startswith("__"):
            out += ["%s[%d]" % (name, p.id) for p in t.partitions.values() if len(p.isrs) < len(p.replicas)]
    return out


def metric_values(port, name):
    """{label text: value} of one metric family on a /metrics page."""
    status, body = invtest.http_get(port, "/metrics", timeout=5)
    out = {}
    if status != 200:
        return out
    for line in body.decode().splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, value = line.rpartition(" ")
            out[key[len(name):]] = float(value)
    return out


GROUP_TOPICS = (("sales", "inv-sale"), ("returns", "inv-return"), ("restocks", "inv-restock"),
                ("reservations", "inv-reserve"), ("transfers", "inv-transfer"), ("movements", "inv-stock"))


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


def default_transaction_timeout_s():
    """transaction.timeout.ms's default, from the generated reference."""
    with open(os.path.join(ROOT, "docs", "CONFIGURATION.md")) as f:
        m = re.search(r"^\| `transaction\.timeout\.ms` \| `[A-Z_]+` \| `(\d+)`", f.read(), re.M)
    assert m, "transaction.timeout.ms not in docs/CONFIGURATION.md"
    return int(m.group(1)) / 1000.0


class Fault:
    """The fault of one run: run() performs it (blocking, the schedule's
    clock) while the stream flows; afterwards the cluster is whole."""

    def __init__(self, name, rig, keepers, alive):
        self.name, self.rig, self.keepers, self.alive = name, rig, keepers, alive
        self.notes = []

    def hold(self, seconds):
        t = time.monotonic()
        while time.monotonic() - t < seconds:
            self.alive()
            time.sleep(0.2)  # the fault's schedule, not a wait for a condition

    def victim_leader(self):
        lead = leaders(self.rig.topic["movements"])
        v = max(sorted(lead), key=lambda b: lead[b])
        log("movements partition leaders by broker %s: node %d leads the most", lead, v)
        return v

    def full_isr(self, bound=120):
        topics = set(self.rig.topic.values())
        t = time.monotonic()
        last = {}

        def ok():
            self.alive()
            last["u"] = under_replicated(topics)
            return not last["u"]
        try:
            wait_until(ok, bound, "every replica back in its ISR", interval=1.0)
        except TimeoutError:
            raise AssertionError("under-replicated %.0fs after the restart: %s" % (bound, last.get("u")))
        log("every partition's ISR whole again %.1fs later", time.monotonic() - t)

    def run(self):
        getattr(self, "fault_" + self.name.replace("-", "_"))()

    def fault_leader(self):
        v = self.victim_leader()
        log(cluster("kill", str(v)).stderr.strip())
        self.hold(DOWN_SECONDS)
        t = time.monotonic()
        log("%s (%.1fs)", cluster("restart", str(v)).stderr.strip().splitlines()[-1], time.monotonic() - t)

    def fault_coordinator(self):
        k = self.keepers[0]
        m = wait_until(lambda: re.search(r"consuming \S+ in group \S+ as (\S+)", k.stderr_text()), 30,
                       "the transactional id in inv-stock's log")
        tid = m.group(1)
        v, part = txn_coordinator(tid)
        status, body = invtest.http_get(k.http_port, "/healthz", timeout=5)
        seen = None
        try:
            import json
            seen = json.loads(body)["kafka"]["coordinators"]["producer-0"]["coordinator"]
        except (ValueError, KeyError, TypeError):
            pass
        log("inv-stock's transactional id %s: __transaction_state[%d], led by node %d (its /healthz: %s)",
            tid, part, v, seen)
        log(cluster("kill", str(v)).stderr.strip())
        self.hold(DOWN_SECONDS)
        t = time.monotonic()
        log("%s (%.1fs)", cluster("restart", str(v)).stderr.strip().splitlines()[-1], time.monotonic() - t)

    def fault_rolling(self):
        for n in (1, 2, 3):
            t = time.monotonic()
            log("rolling restart: %s (%.1fs)", cluster("restart", str(n)).stderr.strip().splitlines()[-1],
                time.monotonic() - t)
            self.full_isr()

    def fault_outage(self):
        ttm = default_transaction_timeout_s()
        v = self.victim_leader()
        t = time.monotonic()
        log("%s (SIGTERM: a controlled shutdown, %.1fs)", cluster("stop", str(v)).stderr.strip(),
            time.monotonic() - t)
        t = time.monotonic()
        self.hold(ttm + 10)
        log("node %d down %.1fs (transaction.timeout.ms %.0fs): starting it", v, time.monotonic() - t, ttm)
        t = time.monotonic()
        log("%s (%.1fs)", cluster("start", str(v)).stderr.strip().splitlines()[-1], time.monotonic() - t)
        self.full_isr()

    def fault_min_isr(self):
        down = [2, 3]
        for n in down:
            log(cluster("kill", str(n)).stderr.strip())
        t_down = time.monotonic()
        # once the open transactions have failed, nothing may commit: the
        # inv-stock instances' committed transactions stay where they are
        self.hold(5.0)
        commits0 = [metric_values(k.http_port, "inv_stock_transactions_total").get('{outcome="commit"}')
                    for k in self.keepers]
        unready = {}
        while time.monotonic() - t_down < MIN_ISR_SECONDS:
            self.alive()
            for k in self.keepers:
                status, body = invtest.http_get(k.http_port, "/healthz", timeout=5)
                if status == 503:
                    unready[k.state] = body.decode(errors="replace")
            time.sleep(1.0)  # the outage's schedule
        commits1 = [metric_values(k.http_port, "inv_stock_transactions_total").get('{outcome="commit"}')
                    for k in self.keepers]
        log("two nodes down %.1fs: inv-stock commits %s then %s", time.monotonic() - t_down, commits0, commits1)
        for k, body in sorted(unready.items()):
            log("/healthz of %s while below min.insync.replicas: 503 %s", k, body.strip())
        assert commits0 == commits1 and None not in commits0, \
            "inv-stock committed transactions below min.insync.replicas: %s -> %s" % (commits0, commits1)
        assert unready, "no inv-stock instance reported 503 on /healthz with two of three brokers down"
        for k, body in unready.items():
            assert '"reason"' in body, "/healthz of %s is 503 without a reason: %s" % (k, body)
        t = time.monotonic()
        log("%s (%.1fs)", cluster("start", "2").stderr.strip().splitlines()[-1], time.monotonic() - t)
        self.notes.append("one node back after %.1fs" % (time.monotonic() - t_down))
        # the cluster is whole again for the next test, and for the drain bound
        t = time.monotonic()
        log("%s (%.1fs)", cluster("restart", "3").stderr.strip().splitlines()[-1], time.monotonic() - t)
        self.full_isr()


def main():
    fault_name = sys.argv[1] if len(sys.argv) > 1 else ""
    assert fault_name in FAULTS, "usage: test_cluster_faults.py %s" % "|".join(FAULTS)
    stream = oracle.generate(SEED, N_EVENTS)
    stats = stream.stats()
    log("fault %s; stream: seed %d, %d inputs, %d movements, %d malformed, %d re-sent", fault_name, SEED,
        stats["inputs"], stats["movements"], stats["malformed"], stats["resent"] + stats["resent-changed"])
    assert stats["malformed"] > 0
    with phase("cluster up"):
        r = cluster("start")
        log("cluster: %s", r.stderr.strip().splitlines()[-1])
    rig = oracle.KeeperRig("cluster-" + fault_name, PARTITIONS)
    rig.set_default_policy(stream.default)
    procs, keepers = [], []
    try:
        with phase("topics"):
            rig.create_topics()
            check_topic_settings(rig)
        with phase("programs start, policies"):
            rig.produce_policies(stream)
            keepers = [rig.start_keeper("stock-0", invtest.free_port()),
                       rig.start_keeper("stock-1", invtest.free_port())]
            procs = rig.start_processors(transfers=True) + keepers
            for k in keepers:
                wait_until(lambda: invtest.http_get(k.http_port, "/healthz", timeout=2)[0] is not None, 60,
                           "inv-stock's HTTP server")

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
                left = p.flush(600)
                assert left == 0, "%d inputs undelivered" % left
                acked.append(time.monotonic())
            except BaseException as e:
                producer_error.append(e)
            finally:
                produced.set()

        fault = Fault(fault_name, rig, keepers, alive)
        with phase("stream through the fault"):
            t_start = time.monotonic()
            th = threading.Thread(target=produce, daemon=True)
            th.start()
            while time.monotonic() - t_start < PRODUCE_SECONDS * FAULT_AT:
                alive()
                time.sleep(0.2)  # the schedule's clock, not a wait for a condition
            t_fault = time.monotonic()
            fault.run()
            t_whole = time.monotonic()
            log("fault %s over %.1fs after it began; movements leaders now %s", fault_name, t_whole - t_fault,
                leaders(rig.topic["movements"]))
            alive()
            wait_until(lambda: alive() or produced.is_set(), 600, "the producer thread", interval=0.5)
            th.join(10)
            assert not producer_error, "producing the inputs failed: %r" % producer_error
            log("all %d inputs acknowledged %.1fs after the first (%.1fs %s the cluster was whole)",
                len(stream.inputs), acked[0] - t_start, abs(acked[0] - t_whole),
                "after" if acked[0] >= t_whole else "before")
            # the drain is timed from the later of the two
            t_acked = max(acked[0], t_whole)

        with phase("drain (lag to zero)"):
            last = {}

            def drained():
                from confluent_kafka import KafkaException
                alive()
                try:
                    last["lag"] = lag(rig)
                except KafkaException as e:  # this reader's own request timed out (a coordinator just moved)
                    last["lag"] = {"unknown": (None, str(e))}
                    return False
                return all(v[0] == 0 for v in last["lag"].values())
            try:
                wait_until(drained, LAG_BOUND, "zero lag", interval=1.0)
            except TimeoutError:
                raise AssertionError("lag not zero %.0fs after the last input was acknowledged and the cluster "
                                     "was whole: %s" % (LAG_BOUND, last.get("lag")))
            took = time.monotonic() - t_acked
            log("lag zero %.1fs after the last input was acknowledged and the cluster was whole (bound %.0fs); "
                "records, offset gaps (commit markers) by topic: %s", took, LAG_BOUND, last["lag"])
            assert took <= LAG_BOUND

        with phase("verify"):
            movements = rig.read_movements(settle=stream)
            oracle.check_movements_exact(stream, movements)
            log("movements exact: %d, no duplicate ids", sum(len(v) for v in movements.values()))
            o = oracle.verify_outputs(rig, stream, movements, log)
            dlq_inputs = sum(1 for r in rig.read_dlq() if not (dict(r[2]).get("inv.source.topic") or b"")
                             .decode().endswith((".movements", ".policies")))
            assert dlq_inputs == stats["malformed"], (dlq_inputs, stats["malformed"])
            log("DLQ entries from the input topics: %d == malformed inputs %d; oracle refused %d movements",
                dlq_inputs, stats["malformed"], len(o.refused))
            for k in keepers:
                aborts = {key: int(v) for key, v in
                          metric_values(k.http_port, "inv_stock_transaction_aborts_total").items() if v}
                commits = metric_values(k.http_port, "inv_stock_transactions_total").get('{outcome="commit"}')
                log("inv-stock %s: %s transactions committed, aborts by cause %s", k.state, commits,
                    aborts or "none")
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
        # a fault that failed midway may leave a node down: the next test needs all three
        subprocess.run([CLUSTER_SH, "start"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)


if __name__ == "__main__":
    main()
    print("PASS")
