"""inv-stock scaled 1 -> 3 -> 1 instances mid-stream (issue 5, "Must show",
third item).

A stream of the oracle test's kind (60k inputs by default) is produced at a
steady pace through the three processors. inv-stock starts as one instance
(state dir A); when a third of the inputs is out, two more instances join
the same group with their own state dirs (B, C) and must restore the
partitions they get from the changelog; when two thirds are out, B and C
stop (SIGTERM: a clean leave) and A gets every partition back, restoring
those that B and C advanced. Each step waits (bounded) until the group's
membership and assignment, read with the AdminClient, are as expected and
every instance answers /healthz 200. At the end:

  * inventory.stock, reorders, shortages and the DLQ equal the oracle's
    replay of the committed movements, i.e. what one uninterrupted instance
    computes, every row and every event, no duplicate output ids;
  * the restores really happened (B and C restored the partitions they got,
    with rows; A restored the partitions that came back advanced) and their
    durations, parsed from the "restored from" log lines, are printed.

INV_TEST_SCALE scales the inputs, INV_TEST_SEED the seed.
"""
import os
import re
import sys
import threading
import time

import oracle
from invtest import wait_until

SCALE = float(os.environ.get("INV_TEST_SCALE", "1"))
SEED = int(os.environ.get("INV_TEST_SEED", "31337"))
N_EVENTS = max(6000, int(60000 * SCALE))
PARTITIONS = 6
PRODUCE_SECONDS = 60 * min(1.0, max(SCALE, 0.3))

T0 = time.monotonic()

RESTORED = re.compile(r"^(\S+) inv-stock info\s+partition (\d+) restored from \S+: (\d+) rows, (\d+) movement ids "
                      r"in ([0-9.]+) s")


def log(msg, *args):
    sys.stdout.write("[%7.1fs] %s\n" % (time.monotonic() - T0, msg % args if args else msg))
    sys.stdout.flush()


def group_assignment(group):
    """{member client id/host: sorted partitions} from DescribeConsumerGroups,
    or None while the group is rebalancing."""
    from confluent_kafka.admin import AdminClient
    from confluent_kafka import ConsumerGroupState
    admin = AdminClient({"bootstrap.servers": oracle.bootstrap()}, logger=oracle.QUIET)
    desc = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
    if desc.state != ConsumerGroupState.STABLE:
        return None
    return {m.member_id: sorted(tp.partition for tp in m.assignment.topic_partitions) for m in desc.members}


def restores(proc):
    out = []
    for line in proc.stderr_text().splitlines():
        m = RESTORED.match(line)
        if m:
            out.append({"at": m.group(1), "partition": int(m.group(2)), "rows": int(m.group(3)),
                        "ids": int(m.group(4)), "seconds": float(m.group(5))})
    return out


def main():
    stream = oracle.generate(SEED, N_EVENTS)
    stats = stream.stats()
    log("stream: seed %d, %d inputs, %d movements", SEED, stats["inputs"], stats["movements"])
    rig = oracle.KeeperRig("keeper-scale", PARTITIONS)
    rig.set_default_policy(stream.default)
    group = rig.groups["inv-stock"]
    ports = {name: oracle.free_port() for name in ("A", "B", "C")}
    keepers = {}
    producer_error = []
    try:
        rig.create_topics()
        rig.produce_policies(stream)
        processors = rig.start_processors(transfers=True)
        keepers["A"] = rig.start_keeper("stock-A", ports["A"])

        def running():
            rig.assert_running(processors + list(keepers.values()))

        def settled(names):
            """The group is stable with exactly these instances, each owning
            partitions, all six covered, and each /healthz says ready."""
            running()
            a = group_assignment(group)
            if a is None or len(a) != len(names) or any(not ps for ps in a.values()):
                return False
            if sorted(p for ps in a.values() for p in ps) != list(range(PARTITIONS)):
                return False
            for n in names:
                st, _ = oracle.http_get(ports[n], "/healthz")
                if st != 200:
                    return False
            return a

        wait_until(lambda: settled(["A"]), 120, "inv-stock A alone in the group and ready", interval=0.5)
        slices = [stream.inputs[i::60] for i in range(60)]
        third = threading.Event()
        two_thirds = threading.Event()
        t_start = time.monotonic()

        def produce():
            try:
                p = rig.producer()
                for i, chunk in enumerate(slices):
                    rig.produce(chunk, producer=p, flush=False)
                    if i + 1 == len(slices) // 3:
                        p.flush(120)
                        third.set()
                    if i + 1 == 2 * len(slices) // 3:
                        p.flush(120)
                        two_thirds.set()
                    delay = t_start + (i + 1) * PRODUCE_SECONDS / len(slices) - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)  # pacing the load, not waiting for a condition
                assert p.flush(300) == 0
            except BaseException as e:
                producer_error.append(e)
                third.set()
                two_thirds.set()
        th = threading.Thread(target=produce, daemon=True)
        th.start()

        assert third.wait(300) and not producer_error, producer_error
        log("a third of the inputs out: scaling out to 3 instances")
        t = time.monotonic()
        keepers["B"] = rig.start_keeper("stock-B", ports["B"])
        keepers["C"] = rig.start_keeper("stock-C", ports["C"])
        a = wait_until(lambda: settled(["A", "B", "C"]), 180, "3 instances in the group, all ready", interval=0.5)
        log("3 instances settled in %.1fs: %s", time.monotonic() - t, sorted(a.values()))

        assert two_thirds.wait(300) and not producer_error, producer_error
        log("two thirds out: scaling in to 1 instance")
        t = time.monotonic()
        for n in ("B", "C"):
            rc = keepers[n].stop(timeout=60)
            assert rc == 0, "inv-stock %s: exit %s on SIGTERM\n%s" % (n, rc, keepers[n].stderr_text()[-3000:])
        keepers_left = {"A": keepers["A"]}
        b_c = {n: keepers.pop(n) for n in ("B", "C")}
        wait_until(lambda: settled(["A"]), 180, "A alone again, ready", interval=0.5)
        log("back to 1 instance in %.1fs", time.monotonic() - t)

        th.join(600)
        assert not th.is_alive() and not producer_error, producer_error
        log("all inputs produced")
        rig.wait_processors_done(600, processors)
        movements = rig.read_movements(settle=stream)
        oracle.check_movements_exact(stream, movements)
        last = {p: ms[-1]["_offset"] for p, ms in movements.items()}
        rig.wait_keeper_done(last, 600, processors + list(keepers_left.values()))
        log("inv-stock caught up (%d movements)", sum(len(v) for v in movements.values()))

        oracle.verify_outputs(rig, stream, movements, log)

        # the restores, by instance
        log("restores (instance, partition, rows, movement ids, seconds):")
        all_restores = {}
        for n, p in list(keepers_left.items()) + list(b_c.items()):
            rs = [r for r in restores(p) if r["rows"] or r["ids"]]
            all_restores[n] = rs
            for r in rs:
                log("  %s p%d %6d rows %6d ids %7.3f s  (%s)", n, r["partition"], r["rows"], r["ids"],
                    r["seconds"], r["at"])
        total = [r for rs in all_restores.values() for r in rs]
        log("restore time: %d restores with data, %.3f s in all, longest %.3f s, %.0f keys/s overall",
            len(total), sum(r["seconds"] for r in total), max((r["seconds"] for r in total), default=0),
            sum(r["rows"] + r["ids"] for r in total) / max(1e-9, sum(r["seconds"] for r in total)))
        assert all_restores["B"] and all_restores["C"], "B and C did not restore their partitions from the changelog"
        assert all_restores["A"], "A did not restore the partitions B and C advanced"

        for p, rc in rig.stop():
            assert rc == 0, "%s exit %s on SIGTERM\n%s" % (p.role, rc, p.stderr_text()[-3000:])
        log("all programs stopped with exit 0")
    finally:
        rig.cleanup()


if __name__ == "__main__":
    main()
    print("PASS")
