"""Exactly-once across kill -9 and broker restarts (issue 5, "Must show",
second item).

The oracle test's kind of stream (tests/support/oracle.py, 50k inputs by
default) is produced at a steady pace while, on a seeded schedule, inv-stock
and each processor are killed with SIGKILL and restarted (>= 20 kills in
all, every program several times, at random moments: mid-batch,
mid-restore, right after a restart) and the broker is restarted twice with
`deploy/local/broker.sh restart`. Then everything is left to finish, and:

  * inventory.movements holds exactly the movements of the valid inputs (the
    processors' exactly-once);
  * inventory.stock equals the oracle replaying the committed movements
    (what an uninterrupted keeper computes from them), every row, every
    field; inventory.reorders and inventory.shortages equal the oracle's
    events with no duplicate ids and obey the rules; the DLQ holds each
    malformed input and each refused or reported movement (transfers beyond
    what is in transit, stale counts) exactly once;
  * no program exited on its own (only our SIGKILLs), and each stops with
    exit 0 on SIGTERM at the end.

The broker: ctest runs integration tests under RESOURCE_LOCK broker_heavy,
so nothing else uses it meanwhile; it is started again in any case at the
end. INV_CRASH_BROKER_PORT=<port> runs a private broker on that port instead
(started and stopped by the test), for runs beside other people's tests.
INV_TEST_SCALE scales the inputs, INV_TEST_SEED the seed.
"""
import os
import random
import shutil
import sys
import threading
import time

SCALE = float(os.environ.get("INV_TEST_SCALE", "1"))
SEED = int(os.environ.get("INV_TEST_SEED", "4242"))
OWN_BROKER = os.environ.get("INV_CRASH_BROKER_PORT")
if OWN_BROKER:
    os.environ["INV_BROKER_PORT"] = OWN_BROKER  # before invtest reads it

import oracle  # noqa: E402
from invtest import ROOT, run, wait_until  # noqa: E402

N_EVENTS = max(5000, int(50000 * SCALE))
PARTITIONS = 6
PRODUCE_SECONDS = 100 * min(1.0, max(SCALE, 0.3))  # the window the kills fall in
# 30 kills: inv-stock 8 times, each processor 4-5 times, shuffled by the seed
KILLS = ["inv-stock"] * 8 + ["sales"] * 5 + ["returns"] * 4 + ["restocks"] * 5 + ["reservations"] * 4 + \
    ["transfers"] * 4
BROKER_SH = os.path.join(ROOT, "deploy", "local", "broker.sh")

T0 = time.monotonic()


def log(msg, *args):
    sys.stdout.write("[%7.1fs] %s\n" % (time.monotonic() - T0, msg % args if args else msg))
    sys.stdout.flush()


def broker(cmd, timeout=300):
    r = run([BROKER_SH, cmd], timeout=timeout)
    assert r.returncode == 0, "broker.sh %s: exit %d\n%s" % (cmd, r.returncode, r.stderr[-3000:])


class Chaos:
    """The running programs by role; kills and restarts them, and notices any
    that died without being killed."""

    def __init__(self, rig):
        self.rig = rig
        self.procs = {}
        self.kills = []
        self.unexpected = []

    def start(self, role):
        if role == "inv-stock":
            p = self.rig.start_keeper("stock-0")
        else:
            p = self.rig.start_processor(role)
        self.procs[role] = p
        return p

    def check(self):
        for role, p in list(self.procs.items()):
            if not p.alive():
                self.unexpected.append((role, p.p.returncode, p.stderr_path, p.stderr_text()[-2500:]))
                log("!! %s exited on its own (exit %s), restarting it; stderr %s", role, p.p.returncode,
                    p.stderr_path)
                self.start(role)

    def kill(self, role, progress, wipe=False):
        self.check()
        p = self.procs[role]
        p.kill()
        self.kills.append((role, progress))
        log("kill -9 %s (pid %d)%s, %s", role, p.pid, ", its state dir wiped" if wipe else "", progress)
        if wipe:  # a lost disk / another host: everything from the changelog
            shutil.rmtree(self.rig.state_dir("stock-0"))
        self.start(role)


def progress(rig):
    try:
        moves = sum(oracle.end_offsets(rig.topic["movements"]).values())
        stock = oracle.committed_offsets(rig.groups["inv-stock"], rig.topic["movements"], PARTITIONS)
        return "movements log end %d, keeper committed %d" % (moves, sum(max(v, 0) for v in stock.values()))
    except Exception as e:  # the broker may be restarting
        return "progress unknown (%s)" % e.__class__.__name__


def main():
    rnd = random.Random(SEED)
    stream = oracle.generate(SEED, N_EVENTS)
    stats = stream.stats()
    log("stream: seed %d, %d inputs, %d movements, %d malformed, %d re-sent", SEED, stats["inputs"],
        stats["movements"], stats["malformed"], stats["resent"] + stats["resent-changed"])
    if OWN_BROKER:
        log("private broker on port %s", OWN_BROKER)
    broker("start")
    rig = oracle.KeeperRig("keeper-crash", PARTITIONS)
    rig.set_default_policy(stream.default)
    chaos = Chaos(rig)
    producer_error = []
    try:
        rig.create_topics()
        rig.produce_policies(stream)
        for role in ("inv-stock", "sales", "returns", "restocks", "reservations", "transfers"):
            chaos.start(role)

        # the inputs, paced over PRODUCE_SECONDS in 100 slices
        slices = [stream.inputs[i::100] for i in range(100)]
        t_start = time.monotonic()

        def produce():
            try:
                p = rig.producer()
                for i, chunk in enumerate(slices):
                    rig.produce(chunk, producer=p, flush=False)
                    delay = t_start + (i + 1) * PRODUCE_SECONDS / len(slices) - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)  # pacing the load, not waiting for a condition
                left = p.flush(600)
                assert left == 0, "%d inputs undelivered" % left
            except BaseException as e:
                producer_error.append(e)
        th = threading.Thread(target=produce, daemon=True)
        th.start()

        # the schedule: kills at seeded random moments, two broker restarts
        targets = list(KILLS)
        rnd.shuffle(targets)
        # two of the inv-stock restarts come back with an empty state dir
        wipes = set(rnd.sample([i for i, r in enumerate(targets) if r == "inv-stock"], 2))
        times = sorted(rnd.uniform(3, PRODUCE_SECONDS) for _ in targets)
        events = [(t, "kill", (role, i in wipes)) for i, (t, role) in enumerate(zip(times, targets))]
        events += [(PRODUCE_SECONDS * 0.3, "broker", None), (PRODUCE_SECONDS * 0.65, "broker", None)]
        events.sort(key=lambda e: e[0])
        shift = 0.0  # the schedule pauses while the broker restarts
        for when, what, arg in events:
            while time.monotonic() - t_start < when + shift:
                chaos.check()
                time.sleep(0.2)  # the chaos schedule's clock, not a wait for a condition
            if what == "kill":
                chaos.kill(arg[0], progress(rig), wipe=arg[1])
            else:
                log("broker restart (%s)", progress(rig))
                t = time.monotonic()
                broker("restart")
                shift += time.monotonic() - t
                log("broker back after %.1fs", time.monotonic() - t)
        th.join(900)
        assert not th.is_alive(), "the producer thread did not finish"
        assert not producer_error, "producing the inputs failed: %r" % producer_error
        log("all inputs produced; %d kills (%s); letting everything finish", len(chaos.kills),
            {r: sum(1 for k, _ in chaos.kills if k == r) for r in set(KILLS)})

        rig.wait_processors_done(900, check=chaos.check)
        movements = rig.read_movements(settle=stream)
        oracle.check_movements_exact(stream, movements)
        log("movements exact: %d", sum(len(v) for v in movements.values()))
        last = {p: ms[-1]["_offset"] for p, ms in movements.items()}
        rig.wait_keeper_done(last, 900, check=chaos.check)
        log("inv-stock caught up")
        restores = [l for p in rig.procs if p.role == "inv-stock" for l in p.stderr_text().splitlines()
                    if "restored from" in l and " 0 rows" not in l]
        log("inv-stock restores with data: %d\n  %s", len(restores), "\n  ".join(l[25:] for l in restores))
        assert len(restores) >= 2, "the wiped state dirs were not restored from the changelog"

        oracle.verify_outputs(rig, stream, movements, log)

        assert len(chaos.kills) >= 20
        assert not chaos.unexpected, "programs exited without being killed:\n" + "\n".join(
            "%s exit %s (%s):\n%s" % u for u in chaos.unexpected)
        for p, rc in rig.stop():
            assert rc == 0, "%s exit %s on SIGTERM\n%s" % (p.role, rc, p.stderr_text()[-3000:])
        log("all programs stopped with exit 0")
    finally:
        rig.cleanup()
        if OWN_BROKER:
            broker("stop")
        else:
            broker("start")  # whatever happened, leave the shared broker running


if __name__ == "__main__":
    main()
    print("PASS")
