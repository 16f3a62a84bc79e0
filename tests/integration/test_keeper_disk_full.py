"""A full disk under inv-stock's LMDB state is reported and survived.

inv-stock runs with --state-dir on its own tmpfs and is fed a seeded
movement stream (tests/support/oracle.py, movements produced straight into
inventory.movements, keyed and partitioned by murmur2(sku)) in four slices.
Before each of the first three the tmpfs is made just a little larger than
what it holds (mount -o remount,size=...), so the slice fills it in its own
way; afterwards it is grown again:

  A. pages written with write() (lmdb.sync=data): a batch's LMDB commit fails
     after its Kafka commit. Once there is room, the batch inv-stock kept
     goes into LMDB and the input resumes.
  B. the same failure, then SIGTERM (exit 0, LMDB behind Kafka) and a
     restart on the still-full tmpfs: the partitions behind cannot be
     rebuilt from the changelog. Once there is room, they are.
  C. pages written in place (lmdb.sync=none, MDB_WRITEMAP, inv-stock's
     default): the map cannot grow, there is no room to reserve its blocks
     (without the reservation this was a SIGBUS).
  D. the last slice, with room.

While the state dir is full (A, B, C), the test asserts that inv-stock stays
alive, logs an error naming the state dir and "No space left on device",
that /metrics shows inv_stock_lmdb_errors_total{error="ENOSPC"} > 0,
inv_stock_state_dir_full 1 and inv_stock_ready 0, that /healthz is 503 with
"state_writable": false, and that the input is held (the group's committed
offsets stop short of the end and stay there). Once there is room: /healthz
200 and inv_stock_state_dir_full 0. At the end inventory.stock
(read_committed) equals the oracle replaying the committed movements, every
row and field; reorders and shortages equal its events, with no duplicate
event id; the DLQ holds exactly the movements the oracle refuses; inv-stock
stops with exit 0.

The tmpfs needs mount(2): as root directly, otherwise the test re-executes
itself under `unshare --user --map-root-user --mount`; if neither works it
fails, saying why. The tmpfs is always unmounted at the end.
INV_TEST_SEED sets the seed.
"""
import errno
import json
import os
import re
import subprocess
import sys
import time

REEXEC_ENV = "INV_DISK_FULL_UNSHARED"


def mount_tmpfs(path, size):
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0700" % size, "tmpfs", path],
                       capture_output=True, text=True)
    return r.returncode, r.stderr.strip()


def can_mount():
    """True when this process may mount a tmpfs; re-executes the test in a
    user and mount namespace when it may not; raises when that fails too."""
    import tempfile
    d = tempfile.mkdtemp(prefix="disk-full-probe-")
    try:
        rc, err = mount_tmpfs(d, 1 << 20)
        if rc == 0:
            subprocess.run(["umount", d], check=True)
            return True
    finally:
        os.rmdir(d)
    if os.environ.get(REEXEC_ENV):
        raise SystemExit("FAIL: cannot mount a tmpfs for the state dir, even in a user namespace (%s); "
                         "run as root or allow unprivileged user namespaces" % err)
    sys.stdout.write("mount: %s; re-executing under unshare --user --map-root-user --mount\n" % err)
    sys.stdout.flush()
    os.environ[REEXEC_ENV] = "1"
    try:
        os.execvp("unshare", ["unshare", "--user", "--map-root-user", "--mount", sys.executable,
                              os.path.abspath(__file__)])
    except OSError as e:
        raise SystemExit("FAIL: cannot mount a tmpfs (%s) and cannot run unshare (%s)" % (err, e))


import oracle  # noqa: E402
from invtest import free_port, http_get, wait_until  # noqa: E402

SEED = int(os.environ.get("INV_TEST_SEED", "20261201"))
N_EVENTS = 30000
SLICES = (0.30, 0.25, 0.30, 0.15)  # of ~49k movements, ~6 MiB of LMDB state in all
PARTITIONS = 3
MiB = 1 << 20
ROOMY = 64 * MiB
NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device"

T0 = time.monotonic()


def log(msg, *args):
    sys.stdout.write("[%6.1fs] %s\n" % (time.monotonic() - T0, msg % args if args else msg))
    sys.stdout.flush()


def movement_json(m):
    d = dict(m)
    d["occurred_at"] = oracle.rfc3339_ms(m["occurred_at"])
    return json.dumps(d, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def tmpfs_used(path):
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def resize_tmpfs(path, size):
    subprocess.run(["mount", "-o", "remount,size=%d" % size, path], check=True)


def nearly_full(path, room):
    """The tmpfs shrunk to what it holds plus `room` bytes."""
    used = tmpfs_used(path)
    resize_tmpfs(path, used + room)
    log("tmpfs: %.2f MiB in use, size now %.2f MiB", used / MiB, (used + room) / MiB)


class Keeper:
    """inv-stock on the rig's state dir, with its /metrics and /healthz."""

    def __init__(self, rig, extra):
        self.rig = rig
        self.port = free_port()
        # batches well below a slice, whatever the prefetch brings at once:
        # the disk must fill between two batches, with input left to hold
        self.p = rig.start_keeper("stock-0", self.port, "-X", "batch.max.messages=2000", *extra)
        self.seen = 0  # stderr bytes looked at by new_log()

    def metrics(self):
        return oracle.fetch_metrics(self.port)

    def healthz(self):
        status, body = http_get(self.port, "/healthz")
        return status, json.loads(body) if status else None

    def new_log(self):
        text = self.p.stderr_text()
        new, self.seen = text[self.seen:], len(text)
        return new

    def alive(self):
        assert self.p.alive(), "inv-stock died: exit %s\n%s" % (self.p.p.returncode, self.p.stderr_text()[-4000:])

    def wait_ready(self, what):
        def ready():
            self.alive()
            return self.healthz()[0] == 200
        wait_until(ready, 60, "inv-stock ready (%s)" % what, interval=0.2)


def group_committed(rig):
    return oracle.committed_offsets(rig.groups["inv-stock"], rig.topic["movements"], PARTITIONS)


def wait_caught_up(rig, keeper, timeout=60):
    ends = oracle.end_offsets(rig.topic["movements"])

    def done():
        keeper.alive()
        got = group_committed(rig)
        return all(got[p] >= e for p, e in ends.items() if e > 0)
    wait_until(done, timeout, "inv-stock to commit movements up to %s" % ends, interval=0.3)


def assert_full_and_held(rig, keeper, mnt, what):
    """inv-stock reports the full state dir everywhere and holds its input."""
    lines = []

    def reported():
        keeper.alive()
        lines.extend(keeper.new_log().splitlines())
        hit = [l for l in lines if "state dir %s" % mnt in l and NO_SPACE in l]
        m = keeper.metrics()
        status, doc = keeper.healthz()
        ok = (hit and m.get(("inv_stock_lmdb_errors_total", (("error", "ENOSPC"),)), 0) > 0 and
              m.get(("inv_stock_state_dir_full", ())) == 1 and m.get(("inv_stock_ready", ())) == 0 and
              status == 503 and doc.get("state_writable") is False)
        reported.last = (hit[:2], {k: v for k, v in m.items() if "lmdb_errors" in k[0] or k[0] in (
            "inv_stock_state_dir_full", "inv_stock_ready")}, status, doc)
        return hit if ok else None
    try:
        hit = wait_until(reported, 60, "inv-stock to report the full state dir (%s)" % what, interval=0.3)
    except TimeoutError:
        raise AssertionError("%s: not reported as expected: log %s, metrics %s, /healthz %s %s"
                             % ((what,) + reported.last))
    log("%s reported: %s", what, hit[0][hit[0].find("state dir"):][:200])
    # held: nothing past the end of what LMDB took is committed, and stays so
    ends = oracle.end_offsets(rig.topic["movements"])
    before = group_committed(rig)
    assert any(before[p] < e for p, e in ends.items()), "%s: the input was not held: %s of %s" % (what, before, ends)
    time.sleep(2)  # the keeper's retry period is 1 s: two retries that must fail again
    keeper.alive()
    assert group_committed(rig) == before, "%s: the group committed while LMDB was full" % what
    status, _ = keeper.healthz()
    assert status == 503, "%s: /healthz %s while full" % (what, status)


def assert_recovered(keeper, what):
    def ready():
        keeper.alive()
        status, doc = keeper.healthz()
        m = keeper.metrics()
        return status == 200 and m.get(("inv_stock_state_dir_full", ())) == 0
    wait_until(ready, 60, "inv-stock ready again (%s)" % what, interval=0.3)
    log("%s: recovered, /healthz 200, inv_stock_state_dir_full 0", what)


def main():
    stream = oracle.generate(SEED, N_EVENTS, malformed_rate=0.0, reservation_rate=0.0, channel_map=False,
                             transfer_rate=0.0, late_rate=0.0)
    moves = [m for i in stream.inputs for m in i.movements]
    cuts = [0]
    for f in SLICES:
        cuts.append(min(len(moves), cuts[-1] + int(round(f * len(moves)))))
    cuts[-1] = len(moves)
    slices = [moves[a:b] for a, b in zip(cuts, cuts[1:])]
    log("stream: seed %d, %d movements in slices of %s", SEED, len(moves), [len(s) for s in slices])

    rig = oracle.KeeperRig("keeper-disk-full", PARTITIONS)
    rig.set_default_policy(stream.default)
    mnt = rig.state_dir("stock-0")
    os.makedirs(mnt)
    mounted = False
    keeper = None
    try:
        rc, err = mount_tmpfs(mnt, 2 * MiB)
        assert rc == 0, "mount tmpfs on %s: %s" % (mnt, err)
        mounted = True
        rig.create_topics()
        rig.produce_policies(stream)

        def produce(i):
            rig.produce([("movements", m["sku"].encode("utf-8"), movement_json(m)) for m in slices[i]])

        # A: write() pages, a commit fails after the Kafka commit
        keeper = Keeper(rig, ["-X", "lmdb.sync=data"])
        keeper.wait_ready("A")
        produce(0)
        assert_full_and_held(rig, keeper, mnt, "A (commit after the Kafka commit)")
        resize_tmpfs(mnt, ROOMY)
        wait_caught_up(rig, keeper)
        assert_recovered(keeper, "A, tmpfs grown")
        text = keeper.p.stderr_text()
        assert re.search(r"commit of a batch already committed to Kafka .*%s" % NO_SPACE, text), text[-3000:]
        assert "the last batch is in LMDB too now" in text, text[-3000:]

        # B: the same, then a restart on the full disk: the partitions behind
        # are rebuilt from the changelog once there is room
        nearly_full(mnt, 256 << 10)
        produce(1)
        assert_full_and_held(rig, keeper, mnt, "B (before the restart)")
        assert keeper.p.stop() == 0, "SIGTERM while LMDB is full: exit %s\n%s" % (
            keeper.p.p.returncode, keeper.p.stderr_text()[-3000:])
        assert re.search(r"are rebuilt from \S+ (instead|when next assigned)",
                         keeper.p.stderr_text()), keeper.p.stderr_text()[-3000:]
        keeper = Keeper(rig, ["-X", "lmdb.sync=data"])
        assert_full_and_held(rig, keeper, mnt, "B (restarted on the full disk)")
        assert re.search(r"restore of partition \d+ failed: %s" % NO_SPACE, keeper.p.stderr_text())
        resize_tmpfs(mnt, ROOMY)
        wait_caught_up(rig, keeper)
        assert_recovered(keeper, "B, tmpfs grown")
        assert re.search(r"partition \d+ restored from", keeper.p.stderr_text())

        # C: MDB_WRITEMAP, the map cannot grow
        assert keeper.p.stop() == 0, keeper.p.stderr_text()[-3000:]
        nearly_full(mnt, 1 * MiB)
        keeper = Keeper(rig, ["-X", "lmdb.sync=none", "-X", "lmdb.map.size.mb=1"])
        keeper.wait_ready("C")
        produce(2)
        assert_full_and_held(rig, keeper, mnt, "C (map growth, pages in place)")
        assert "map growth" in keeper.p.stderr_text()
        # the aborted batch's outputs are purged: expected, not a warning per message
        assert "Purged in queue" not in keeper.p.stderr_text(), keeper.p.stderr_text()[-3000:]
        resize_tmpfs(mnt, ROOMY)
        wait_caught_up(rig, keeper)
        assert_recovered(keeper, "C, tmpfs grown")

        # D: room enough
        produce(3)
        wait_caught_up(rig, keeper)
        log("all %d movements committed; tmpfs: %.2f MiB in use", len(moves), tmpfs_used(mnt) / MiB)

        movements = rig.read_movements()
        assert sum(len(v) for v in movements.values()) == len(moves)
        oracle.verify_outputs(rig, stream, movements, log)
        assert keeper.p.stop() == 0, keeper.p.stderr_text()[-3000:]
        log("inv-stock stopped with exit 0")
    finally:
        rig.kill_all()
        if mounted:
            if subprocess.run(["umount", mnt]).returncode != 0:
                subprocess.run(["umount", "-l", mnt])
        rig.cleanup()


if __name__ == "__main__":
    if can_mount():
        main()
        print("PASS")
