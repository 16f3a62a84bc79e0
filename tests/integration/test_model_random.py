"""Model-based random test of the whole path: inv-sale, inv-return,
inv-restock and inv-stock on the real broker, real bytes, against a model of
the contract (tests/support/contract_model.py, oracle.StockOracle).

A seeded plan (contract_model.generate) holds:
  * events on pos.sales / pos.returns / pos.restocks whose event_id, sku and
    location_id come from hostile alphabets (quotes, backslashes, '|' where
    allowed, C1 and format characters, 2-, 3- and 4-byte UTF-8, exactly 256
    bytes), as JSON spelled by hand (random \\u escapes, surrogate pairs,
    whitespace, key order) or Avro; Kafka record timestamps and occurred_at
    anywhere within +-30 days of now; a few sales at location "*";
  * re-sends of earlier events at random distances (same key and bytes,
    another record timestamp: inv-stock must drop them whatever the
    timestamp, its dedup window being 7 days of its own clock);
  * poison inputs on every input topic: identifiers with a control character
    (NUL, TAB, LF, ESC, DEL, ...), a '|' in location_id, 257 bytes, empty,
    invalid UTF-8 (Avro); wrong types, bad enums, empty lines, broken JSON;
  * reorder policies (valid ones first, so reorders and shortages happen)
    and poison policies (not JSON, negative or beyond-int64 numbers, wrong
    types, bad ids, keys without '|', a 2000-byte SKU, tombstones of such
    keys, a key that is not the value's sku|location_id), some before
    inv-stock starts, the rest mid-stream;
  * between segments: kill -9 of inv-stock with its state dir wiped, and
    scale 1 -> 2 -> 1 (a second instance with its own state dir, SIGTERM).

Then, from read_committed reads:
  * inventory.movements is exactly the model's (every copy of every valid
    input's lines; ids, sku, location_id byte-exact; key = sku; partition =
    murmur2(sku));
  * inventory.stock: every sku|location and sku|* row (on_hand, unsellable,
    available) equals the order-free prediction from the inputs (each
    movement id once), and every field (on_order, version, updated_at,
    shortage header too) equals oracle.StockOracle replaying the committed
    movements in partition order; keys are sku|location_id byte-exact;
  * inventory.reorders / inventory.shortages: no duplicate event ids, equal
    to the replay's, keys byte-exact;
  * inventory.dlq: exactly one entry per poison record (matched by source
    topic, partition and offset; the input's key and bytes; inv.error naming
    the field, and "at byte N" for a control character, '|' or invalid
    UTF-8), one per copy of a movement at "*" (from the movements topic),
    one per poison policy whatever the number of inv-stock instances, and
    nothing else;
  * inv-stock stayed up, is ready (/healthz 200) at the end, and every
    program stops with exit 0.

Environment: INV_MODEL_SEED (default: random, printed at the start and in
every failure), INV_MODEL_EVENTS (input records, default 5000: about 1.5-2
minutes on 2 cores beside the broker; a long run: INV_MODEL_EVENTS=20000,
about 2 minutes; each adds up to 30 s while poison policies are missing
from the DLQ), INV_MODEL_PARTITIONS
(default 4). Diagnostics only (they weaken the test): INV_MODEL_TS_DAYS=0
stamps every record "now" (default 30: +-30 days), INV_MODEL_CHAOS=0 runs
without the wipes and the scaling.

The broker deletes segments whose newest record timestamp is older than
retention.ms (7 days); the inputs, movements, DLQ and event topics get
retention.ms=-1 here so records stamped weeks ago stay readable. The dedup
log and the compacted topics keep the settings invctl gives them: that is
the contract under test.
"""
import json
import os
import random
import shutil
import sys
import time
import traceback
from collections import Counter

import contract_model as cm
import oracle
from invtest import check, failures, wait_until, murmur2_partition

SEED = int(os.environ.get("INV_MODEL_SEED") or random.SystemRandom().randrange(1, 2 ** 31))
N_EVENTS = int(os.environ.get("INV_MODEL_EVENTS", "5000"))
PARTITIONS = int(os.environ.get("INV_MODEL_PARTITIONS", "4"))
TS_DAYS = int(os.environ.get("INV_MODEL_TS_DAYS", "30"))  # diagnostic: 0 stamps every record "now"
CHAOS = os.environ.get("INV_MODEL_CHAOS", "1") != "0"  # diagnostic: 0 runs without wipes and scaling
T0 = time.monotonic()


def log(msg, *args):
    sys.stdout.write("[%7.1fs] %s\n" % (time.monotonic() - T0, msg % args if args else msg))
    sys.stdout.flush()


def fail_if(cond_ok, msg):
    """A soft assertion naming the seed."""
    return check(cond_ok, "[INV_MODEL_SEED=%d] %s" % (SEED, msg))


def soft(what, fn, *a, **kw):
    """Runs an assert-based check of oracle.py; an AssertionError becomes a
    failure (the other checks still run)."""
    try:
        return fn(*a, **kw)
    except AssertionError as e:
        fail_if(False, "%s: %s" % (what, str(e)[:6000]))
    except TimeoutError as e:
        fail_if(False, "%s: %s" % (what, e))
    return None


def short(b, n=80):
    r = repr(b)
    return r if len(r) <= n else r[:n] + "...(%d bytes)" % len(b)


# ------------------------------------------------------------------ Kafka helpers

def retention_forever(rig):
    from confluent_kafka.admin import AdminClient, ConfigResource, ConfigEntry, AlterConfigOpType
    admin = AdminClient({"bootstrap.servers": oracle.bootstrap()}, logger=oracle.QUIET)
    res = []
    for k in ("sales", "returns", "restocks", "movements", "reorders", "shortages", "dlq"):
        res.append(ConfigResource(ConfigResource.Type.TOPIC, rig.topic[k], incremental_configs=[
            ConfigEntry("retention.ms", "-1", incremental_operation=AlterConfigOpType.SET)]))
    for _, f in admin.incremental_alter_configs(res).items():
        f.result()


def produce_recs(rig, recs):
    """Produce plan records in order with their timestamps; fills in
    partition and offset."""
    p = rig.producer()
    errors = []
    for r in recs:
        def cb(err, msg, r=r):
            if err is not None:
                errors.append((r.where(), err))
            else:
                r.partition, r.offset = msg.partition(), msg.offset()
        while True:
            try:
                p.produce(rig.topic[r.topic], key=r.key, value=r.value, timestamp=r.ts, on_delivery=cb)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(120)
    assert left == 0 and not errors, "produce: %d undelivered, errors %s" % (left, errors[:5])


def group_assignment(group):
    from confluent_kafka.admin import AdminClient
    from confluent_kafka import ConsumerGroupState
    admin = AdminClient({"bootstrap.servers": oracle.bootstrap()}, logger=oracle.QUIET)
    desc = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
    if desc.state != ConsumerGroupState.STABLE:
        return None
    return {m.member_id: sorted(tp.partition for tp in m.assignment.topic_partitions) for m in desc.members}


class Keepers:
    """inv-stock A (always) and B (while scaled out); notices deaths."""

    def __init__(self, rig):
        self.rig = rig
        self.ports = {"A": oracle.free_port()}
        self.a = None
        self.died = []
        self.n_b = 0

    def start_a(self):
        self.a = self.rig.start_keeper("stock-A", self.ports["A"])

    def check_alive(self):
        if self.a and not self.a.alive():
            self.died.append((self.a.p.returncode, self.a.stderr_path, self.a.stderr_text()[-3000:]))
            fail_if(False, "inv-stock A exited on its own (exit %s); stderr %s:\n%s" % self.died[-1])
            self.start_a()

    def ready(self, names_ports):
        for port in names_ports:
            st, _ = oracle.http_get(port, "/healthz")
            if st != 200:
                return False
        return True

    def settled(self, ports, n):
        self.check_alive()
        a = group_assignment(self.rig.groups["inv-stock"])
        if a is None or len(a) != n or any(not ps for ps in a.values()):
            return False
        if sorted(p for ps in a.values() for p in ps) != list(range(PARTITIONS)):
            return False
        return self.ready(ports) and a

    def wipe(self):
        self.check_alive()
        self.a.kill()
        shutil.rmtree(self.rig.state_dir("stock-A"), ignore_errors=True)
        self.start_a()
        t = time.monotonic()
        soft("inv-stock A ready after kill -9 and a wiped state dir",
             wait_until, lambda: self.settled([self.ports["A"]], 1), 150, "A alone in its group and ready",
             interval=0.5)
        log("  A restored from Kafka with an empty state dir, ready in %.1fs", time.monotonic() - t)

    def scale(self):
        self.n_b += 1
        port = oracle.free_port()
        b = self.rig.start_keeper("stock-B%d" % self.n_b, port)
        t = time.monotonic()
        a = soft("scale out: A and B in the group, both ready",
                 wait_until, lambda: self.settled([self.ports["A"], port], 2), 150, "A and B ready", interval=0.5)
        log("  scaled out to 2 in %.1fs: %s", time.monotonic() - t, sorted(a.values()) if a else a)
        try:
            rc = b.stop(timeout=60)
        except TimeoutError as e:
            rc = str(e)[:2000]
        fail_if(rc == 0, "inv-stock B%d: exit %s on SIGTERM; stderr %s" % (self.n_b, rc, b.stderr_path))
        t = time.monotonic()
        soft("scale in: A alone and ready", wait_until, lambda: self.settled([self.ports["A"]], 1), 150,
             "A alone and ready", interval=0.5)
        log("  back to 1 in %.1fs", time.monotonic() - t)


# ------------------------------------------------------------------ final checks

def check_dlq(plan, rig, dlq, refused_want):
    """Every poison record once (by source topic/partition/offset) with its
    key, bytes and reason; each copy of a movement at "*" once; nothing else."""
    by_src = {}
    for r in plan.records():
        if r.poison:
            by_src[(rig.topic[r.topic], r.partition, r.offset)] = r
    seen = Counter()
    refused_got = Counter()
    unexpected = []
    for key, value, headers, part, off, ts in dlq:
        h = {}
        for name, v in headers:
            h[name] = v
        err = (h.get("inv.error") or b"").decode("utf-8", "replace")
        src = (h.get("inv.source.topic") or b"").decode("utf-8", "replace")
        try:
            sp = int(h.get("inv.source.partition") or b"-1")
            so = int(h.get("inv.source.offset") or b"-1")
        except ValueError:
            sp = so = -2
        fail_if(err.strip() and src and sp >= 0 and so >= 0,
                "DLQ entry [%d]@%d without reason/source headers: %s" % (part, off, headers))
        if src == rig.topic["movements"]:
            try:
                mid = json.loads(value)["movement_id"]
            except Exception:
                mid = None
            refused_got[mid] += 1
            fail_if(mid is not None and mid in err or "*" in err,
                    "keeper's dead letter of %r: inv.error %r names neither the movement nor '*'" % (mid, err))
            continue
        r = by_src.get((src, sp, so))
        if r is None:
            unexpected.append((src, sp, so, short(key), short(value), err[:200]))
            continue
        seen[(src, sp, so)] += 1
        if seen[(src, sp, so)] > 1:
            continue
        field, byte, what = r.poison
        fail_if(key == r.key, "DLQ key of %s (%s): %s, the input's %s" % (r.where(), what, short(key), short(r.key)))
        fail_if((value or b"") == (r.value or b""),
                "DLQ value of %s (%s): %s, the input's %s" % (r.where(), what, short(value), short(r.value)))
        fail_if(cm.reason_matches(err, field, byte),
                "inv.error of %s (%s): %r, want %s" % (r.where(), what, err[:300], cm.describe_reason(field, byte)))
    dups = [(k, n) for k, n in seen.items() if n > 1]
    missing = [r for k, r in by_src.items() if not seen[k]]
    for r in missing[:40]:
        fail_if(False, "not in the DLQ: %s, %s, key %s, value %s" % (r.where(), r.poison[2], short(r.key),
                                                                     short(r.value)))
    fail_if(not missing, "%d poison records missing from the DLQ (%s)" % (
        len(missing), Counter(r.poison[2].split(" (")[0] for r in missing).most_common()))
    fail_if(not dups, "%d poison records in the DLQ more than once: %s" % (
        len(dups), [(by_src[k].where(), by_src[k].poison[2], n) for k, n in dups[:20]]))
    fail_if(not unexpected, "%d unexpected DLQ entries (no poison record at that source): %s" % (
        len(unexpected), unexpected[:10]))
    fail_if(refused_got == refused_want, "keeper dead letters (movements at *): got %s, want %s" % (
        dict(refused_got), dict(refused_want)))
    n_pol = sum(1 for r in by_src.values() if r.topic == "policies")
    return len(by_src), n_pol, sum(refused_got.values())


def check_keys(records, what, keyf):
    """key = sku|location_id byte-exact; partition = murmur2(sku) (DESIGN.md,
    Topics: "Everything inv-stock writes for SKU s goes to partition
    murmur2(s) mod N of its topic"), reported apart."""
    bad, badp = [], []
    for key, value, headers, part, off, ts in records:
        try:
            d = json.loads(value)
        except Exception:
            bad.append((part, off, "undecodable value", short(value)))
            continue
        want = keyf(d).encode("utf-8")
        if key != want:
            bad.append((part, off, short(key), short(want)))
        elif part != murmur2_partition(d["sku"].encode("utf-8"), PARTITIONS):
            badp.append((part, off, d["sku"]))
    fail_if(not bad, "%s: %d records whose key is not sku|location_id (byte-exact), e.g. %s" % (
        what, len(bad), bad[:5]))
    fail_if(not badp, "%s: %d of %d records not in partition murmur2(sku) mod %d, e.g. %s" % (
        what, len(badp), len(records), PARTITIONS, badp[:3]))


def main():
    now_ms = int(time.time() * 1000)
    plan = cm.generate(SEED, N_EVENTS, now_ms, PARTITIONS, ts_days=TS_DAYS)
    if not CHAOS:
        plan.chaos = [None] * len(plan.chaos)
    recs = plan.records()
    stats = Counter(r.note.split(" (")[0] for r in recs)
    log("INV_MODEL_SEED=%d INV_MODEL_EVENTS=%d partitions %d ts +-%d days%s: %d records (%d valid events, %d re-sends, "
        "%d poison inputs, %d policies, %d poison policies), %d skus, %d locations, chaos %s",
        SEED, N_EVENTS, PARTITIONS, TS_DAYS, "" if CHAOS else " NO CHAOS", len(recs), stats["event"], stats["resend"],
        sum(1 for r in recs if r.poison and r.topic != "policies"),
        sum(1 for r in recs if r.topic == "policies" and not r.poison),
        sum(1 for r in recs if r.topic == "policies" and r.poison), len(plan.skus), len(plan.locations),
        [(i, c) for i, c in enumerate(plan.chaos) if c])

    rig = oracle.KeeperRig("model", PARTITIONS)
    rig.set_default_policy(plan.default)
    keepers = Keepers(rig)
    try:
        rig.create_topics()
        retention_forever(rig)
        produce_recs(rig, plan.policies_first)
        processors = rig.start_processors()
        keepers.start_a()
        soft("inv-stock A ready at start", wait_until, lambda: keepers.settled([keepers.ports["A"]], 1), 150,
             "inv-stock A ready", interval=0.5)
        log("inv-stock A ready; producing %d segments", len(plan.segments))
        for i, seg in enumerate(plan.segments):
            produce_recs(rig, seg)
            keepers.check_alive()
            rig.assert_running(processors)
            op = plan.chaos[i] if i < len(plan.chaos) else None
            if op:
                log("segment %d out; %s", i, {"wipe": "kill -9 inv-stock A, wipe its state dir, restart",
                                               "scale": "scale 1 -> 2 -> 1"}[op])
                getattr(keepers, op)()
        log("all records produced; waiting for the processors and inv-stock")
        soft("processors done", rig.wait_processors_done, 300, processors, keepers.check_alive)
        movements = soft("read movements", rig.read_movements) or {}
        got_moves = Counter(oracle.movement_tuple(m) for ms in movements.values() for m in ms)
        want_moves = cm.expected_movements(plan)
        missing, extra = want_moves - got_moves, got_moves - want_moves
        fail_if(not missing and not extra, "inventory.movements differ from the model: %d missing (e.g. %s), "
                "%d extra (e.g. %s)" % (sum(missing.values()), list(missing)[:3], sum(extra.values()),
                                        list(extra)[:3]))
        log("movements: %d read, %d expected", sum(got_moves.values()), sum(want_moves.values()))
        last = {p: ms[-1]["_offset"] for p, ms in movements.items() if ms}
        soft("inv-stock caught up", rig.wait_keeper_done, last, 300, None, keepers.check_alive)
        # every poison policy, wherever it stands in the table, reaches the DLQ (bounded wait)
        want_pol = sum(1 for r in recs if r.poison and r.topic == "policies")

        def pol_dead_letters():
            n = 0
            for rec in oracle.consume_bulk(rig.topic["dlq"], timeout=120):
                h = dict(rec[2])
                if (h.get("inv.source.topic") or b"").decode("utf-8", "replace") == rig.topic["policies"]:
                    n += 1
            pol_dead_letters.n = n
            return n >= want_pol
        pol_dead_letters.n = 0
        try:
            wait_until(pol_dead_letters, 30, "the poison policies in the DLQ", interval=2)
        except TimeoutError:
            log("only %d of %d poison policies in the DLQ after 30s", pol_dead_letters.n, want_pol)
        st = soft("inv-stock A ready at the end", wait_until,
                  lambda: oracle.http_get(keepers.ports["A"], "/healthz")[0] == 200, 60, "/healthz 200")
        log("inv-stock A /healthz at the end: %s", oracle.http_get(keepers.ports["A"], "/healthz"))

        # ---- stock
        o = oracle.StockOracle(plan.policy_table)
        for p in sorted(movements):
            for m in movements[p]:
                o.apply(m)
        stock_recs = oracle.consume_bulk(rig.topic["stock"], timeout=120)
        stock = soft("inventory.stock keys", oracle.final_stock_from, stock_recs, PARTITIONS) or {}
        free, applied_ids = cm.order_free_stock(plan)
        fail_if(set(o.seen) == applied_ids, "applied movement ids: replay of the committed movements %d, model %d; "
                "only replay e.g. %s, only model e.g. %s" % (len(o.seen), len(applied_ids),
                                                            list(set(o.seen) - applied_ids)[:3],
                                                            list(applied_ids - set(o.seen))[:3]))
        diffs = []
        for k in sorted(set(free) | set(stock), key=repr):
            g = stock.get(k)
            gv = (g["on_hand"], g["unsellable"], g["available"]) if g else None
            if gv != free.get(k):
                diffs.append("%r|%r: (on_hand, unsellable, available) %s, model %s" % (k[0], k[1], gv, free.get(k)))
        fail_if(not diffs, "inventory.stock differs from the model of the inputs (each movement id once) in %d "
                "rows:\n  %s" % (len(diffs), "\n  ".join(diffs[:20])))
        soft("inventory.stock == replay of the committed movements", oracle.compare_stock, stock, o.stock())
        log("stock: %d rows; replay: %d applied, %d duplicates dropped, %d refused, %d reorders, %d shortage events",
            len(stock), sum(o.applied.values()), o.duplicates, len(o.refused), len(o.reorders), len(o.shortages))

        # ---- events
        for what, keyf in (("reorders", lambda d: "%s|%s" % (d["sku"], d["location_id"])),
                           ("shortages", lambda d: "%s|%s" % (d["sku"], d["location_id"]))):
            rs = oracle.consume_bulk(rig.topic[what], timeout=120)
            check_keys(rs, "inventory." + what, keyf)
            evs = [oracle._event_of(r[1]) for r in rs]
            soft("inventory.%s ids unique" % what, oracle.check_unique_ids, evs, what)
            soft("inventory.%s == replay" % what, oracle.compare_events, evs,
                 o.reorders if what == "reorders" else o.shortages, what)
        check_keys(stock_recs, "inventory.stock", lambda d: "%s|%s" % (d["sku"], d["location_id"]))
        fail_if(len(o.reorders) > 0 and len(o.shortages) > 0 and o.duplicates > 0,
                "the plan produced no reorders, shortages or dropped duplicates (%d, %d, %d)" % (
                    len(o.reorders), len(o.shortages), o.duplicates))

        # ---- DLQ
        dlq = oracle.consume_bulk(rig.topic["dlq"], timeout=120)
        n_poison, n_pol, n_refused = check_dlq(plan, rig, dlq, cm.refused_copies(plan))
        log("DLQ: %d entries; the model: %d poison records (%d policies) + %d movements at *",
            len(dlq), n_poison, n_pol, sum(cm.refused_copies(plan).values()))

        keepers.check_alive()
        fail_if(not keepers.died, "inv-stock A died %d times on its own" % len(keepers.died))
        for p, rc in rig.stop():
            fail_if(rc == 0, "%s exit %s on SIGTERM; stderr %s" % (p.role, rc, p.stderr_path))
        log("programs stopped")
    except Exception:
        fail_if(False, "the test itself failed:\n" + traceback.format_exc())
    finally:
        rig.cleanup()
    if failures:
        print("\n%d failure(s), INV_MODEL_SEED=%d INV_MODEL_EVENTS=%d (rerun with these)" % (
            len(failures), SEED, N_EVENTS))
        sys.exit(1)
    print("PASS (INV_MODEL_SEED=%d INV_MODEL_EVENTS=%d, %.0fs)" % (SEED, N_EVENTS, time.monotonic() - T0))


if __name__ == "__main__":
    main()
