"""inv-loadgen against the real pipeline (issue 6, "Must show": the load
generator's oracle file matches the final inventory.stock after a seeded run).

Scenario "oracle" (JSON) and "oracle-avro" (Avro inputs in the Confluent
framing): on unique 3-partition topics created by `invctl topics create`
(every topic key, INV_TOPIC_DEDUP included), inv-sale, inv-return,
inv-restock, inv-reserve and inv-stock run with their own group ids and a
temp state dir; inv-loadgen sends a seeded run (the channel map, opening
stock, sales over every channel, returns of both dispositions, replenishment
receipts, signed adjustments, reservation holds with short expiries, their
fulfilling sales and releases, re-sent duplicates and malformed messages)
with --oracle and --stats-json. Then, waiting on committed offsets (never a
blind sleep): every processor group has committed its whole input topic,
inv-stock has committed past the last movement of every partition; once the
wall clock has passed the oracle's settled_at (the latest expires_at of the
holds sent), the same again for the expire movements inv-stock wrote. Read
back with read_committed:

  * inventory.stock, last value per key: exactly the oracle's keys (every
    sku|location and sku|* row), with on_hand, unsellable, available and
    committed equal to the oracle's (committed 0: every hold fulfilled,
    released or expired, whatever order holds and sales were applied in);
  * inventory.availability: available-to-sell per (sku, channel) of the
    oracle's stock through the documented channel map (online: dc-1 and
    web-1; marketplace: dc-1, buffer 2);
  * inventory.dlq: exactly as many dead letters as malformed messages
    (stats-json expected_dlq), each from an input topic with an inv.error;
  * inv-loadgen's totals agree with what reached the input topics.

Scenario "transfers" (its own ctest, loadgen_oracle_transfers: `test_loadgen_oracle.py
transfers`): the same with inv-transfer started too and inv-loadgen sending transfers
(--transfers-ratio: shipments, one or two receipts, some damaged units, cancels),
physical counts (--counts-ratio) and late store sales (--late-sales-ratio) on a clock
that starts two hours ago (every occurred_at in the past and within count.window.ms of
the others). On top of the checks above: the oracle's header counts the transfers by
status and the late sales, and what reached pos.transfers and pos.sales agrees with it
(transfers by status; late sales dated before a count of their row that reached
pos.restocks before them, by record timestamp). The final stock is that of counts as of
their time with every transfer received or canceled (incoming and in_transit_out 0).

Scenario "bad flags": a bad value of any of inv-loadgen's own flags exits 2
with one stderr line naming it, before touching Kafka.

Scenario "feedback": with --reorder-feedback, every receipt inv-loadgen adds
answers a ReorderEvent inv-stock emitted (purchase_order_id = its event_id,
same sku, location and quantity), none is sent before its lead time, and
SIGTERM stops inv-loadgen with exit 0, totals on stderr and every message
delivered (stats-json).
"""
import json
import os
import signal
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import oracle
from confluent_kafka import KafkaException
from invtest import bin, bootstrap, delete_topics, run, start, unique, wait_until
from oracle import KeeperRig, consume_bulk

PARTITIONS = 3
SEED = int(os.environ.get("INV_TEST_SEED", "20261122"))
COUNT = int(os.environ.get("INV_LOADGEN_COUNT", "30000"))

FIELDS = ["on_hand", "unsellable", "available", "committed", "incoming", "in_transit_out"]
# the "transfers" scenario's traffic on top of the seeded run
TRANSFER_FLAGS = ["--transfers-ratio", "0.03", "--transit-ms", "3000", "--late-sales-ratio", "0.05",
                  "--late-sales-delay-ms", "60000", "--counts-ratio", "0.02"]
HOLD_TTL_MS = 4000  # short: the run waits for the last hold to expire

T0 = time.monotonic()


def log(msg, *args):
    sys.stdout.write("[%6.1fs] %s\n" % (time.monotonic() - T0, msg % args if args else msg))
    sys.stdout.flush()


class DocumentedMap:
    """The channel map docs/LOADGEN.md promises for a chain with a DC."""

    @staticmethod
    def channel_map():
        return {"online": {"dc-1": 0, "web-1": 0}, "marketplace": {"dc-1": 2}}


def read_oracle(path):
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    header, rows = lines[0], lines[1:]
    assert header.get("inv_loadgen_oracle") == 1, header
    assert header["fields"] == FIELDS, header
    assert "on_order" in header["note"] and "settled_at" in header, header
    out = {}
    for r in rows:
        sku, _, loc = r["key"].rpartition("|")
        assert (sku, loc) not in out, "oracle key twice: %s" % r["key"]
        out[(sku, loc)] = r
    return header, out


def run_loadgen(rig, workdir, count, *extra):
    o, s = os.path.join(workdir, "oracle.jsonl"), os.path.join(workdir, "stats.json")
    args = [bin("inv-loadgen"), "-b", bootstrap(), "--seed", str(SEED), "--count", str(count), "--rate", "0",
            "--skus", "400", "--locations", "8", "--duplicates", "0.02", "--malformed", "0.01",
            "--hold-ttl-ms", str(HOLD_TTL_MS), "--oracle", o, "--stats-json", s] + list(extra)
    r = run(args, env=rig.env, timeout=300)
    assert r.returncode == 0, "inv-loadgen: exit %s\n%s" % (r.returncode, r.stderr[-3000:])
    assert "totals" in r.stderr, r.stderr[-2000:]
    with open(s) as f:
        stats = json.load(f)
    header, want = read_oracle(o)
    return header, want, stats, r


def start_transfer(rig):
    """inv-transfer on the rig's topics with a group of its own (KeeperRig
    starts the other four processors)."""
    group = unique("g-inv-transfer")
    p = start([bin("inv-transfer"), "-b", bootstrap(), "-X", "group.id=" + group] + rig.common, rig.env)
    p.role = "inv-transfer"
    p.group = group
    rig.procs.append(p)
    return p


def wait_transfer_done(rig, proc, timeout):
    want = oracle.end_offsets(rig.topic["transfers"])

    def done():
        rig.assert_running([proc])
        got = oracle.committed_offsets(proc.group, rig.topic["transfers"], rig.partitions)
        return all(got[p] >= want[p] for p in want if want[p] > 0)
    wait_until(done, timeout, "inv-transfer to commit its input up to %s" % want, interval=0.5)


def check_transfers_and_late_sales(rig, header, stats):
    """What reached pos.transfers and pos.sales agrees with the oracle's
    header: transfers by status (first sends of valid events), late sales
    dated before a count of their row that reached pos.restocks first."""
    ev = stats["events"]
    want = header["transfers"]
    assert want == {"shipped": ev["transfer_shipped"], "received": ev["transfer_received"],
                    "canceled": ev["transfer_canceled"]}, (header, ev)
    assert want["shipped"] > 0 and want["received"] > 0 and want["canceled"] > 0, header
    assert header["late_sales"] == stats["late_sales"] > 0, (header, stats)
    assert 0 < header["late_sales_before_count"] == stats["late_sales_before_count"], (header, stats)
    assert header["counts"] == ev["count"] > 0, (header, ev)

    def valid(d):  # what inv-transfer accepts, as far as inv-loadgen breaks messages
        try:
            oracle.parse_rfc3339_ms(d["occurred_at"])
            return d["to_location_id"] and d["occurred_at"].endswith("Z") and all(
                "sku" in line and isinstance(line["quantity"], int) and line["quantity"] > 0 for line in d["lines"])
        except (ValueError, KeyError, TypeError):
            return False

    seen, rejected = {}, 0
    for key, value, headers, part, off, ts in oracle.consume_bulk(rig.topic["transfers"]):
        try:
            d = json.loads(value)
            status, tid = d["status"], d["transfer_id"]
        except (ValueError, KeyError, TypeError):
            continue  # a malformed one
        if not valid(d):
            continue
        assert key.decode() == tid, (key, tid)
        if status in want and d["event_id"] not in seen:
            seen[d["event_id"]] = status
            rejected += sum(line.get("rejected", 0) for line in d["lines"] if isinstance(line, dict))
    got = {s: sum(1 for v in seen.values() if v == s) for s in want}
    # a malformed message is never a first send; with the valid ones counted once, the topic holds the header's
    assert got == want, "pos.transfers holds %s, the oracle says %s" % (got, want)
    assert rejected > 0, "no receipt with damaged units"

    counts = defaultdict(list)  # (sku, location) -> [(occurred_at, timestamp)]
    first_ts = {}
    for key, value, headers, part, off, ts in oracle.consume_bulk(rig.topic["restocks"]):
        try:
            d = json.loads(value)
            if d["kind"] != "count" or d["event_id"] in first_ts:
                continue
            first_ts[d["event_id"]] = ts
            at = oracle.parse_rfc3339_ms(d["occurred_at"])
            for line in d["lines"]:
                counts[(line["sku"], d["location_id"])].append((at, ts))
        except (ValueError, KeyError, TypeError):
            continue
    sales = {}  # event_id -> (occurred_at, rows, timestamp of its first send: a duplicate re-sends it later)
    for key, value, headers, part, off, ts in oracle.consume_bulk(rig.topic["sales"]):
        try:
            d = json.loads(value)
            at = oracle.parse_rfc3339_ms(d["occurred_at"])
            rows = [(line["sku"], d["location_id"]) for line in d["lines"]]
        except (ValueError, KeyError, TypeError):
            continue
        if d["event_id"] not in sales or ts < sales[d["event_id"]][2]:
            sales[d["event_id"]] = (at, rows, ts)
    late = {eid for eid, (at, rows, ts) in sales.items()
            if any(cat > at and cts < ts for row in rows for cat, cts in counts.get(row, ()))}
    # record timestamps are milliseconds: a count and a late sale sent in the
    # same one are not told apart here, so at most the header's number
    assert 0 < len(late) <= header["late_sales_before_count"], (len(late), header)
    log("transfers: %s (%d damaged units), %d late sales, %d of them dated before a count sent before them "
        "(%d seen on the topics)", want, rejected, header["late_sales"], header["late_sales_before_count"], len(late))


def drop_topics(rig):
    """Best effort: leave the shared broker as it was."""
    try:
        delete_topics(list(rig.topic.values()))
    except Exception as e:  # noqa: BLE001 - cleanup must not hide the test's own failure
        log("deleting topics: %s", e)


def scenario_oracle(name, count, *loadgen_flags, transfers=False):
    rig = KeeperRig(name, PARTITIONS)
    workdir = tempfile.mkdtemp(prefix="loadgen-")
    try:
        rig.create_topics()
        procs = rig.start_processors() + [rig.start_keeper("stock-0")]
        if transfers:
            tproc = start_transfer(rig)
            procs.append(tproc)
            t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
            loadgen_flags = tuple(TRANSFER_FLAGS) + ("--start-time", t0.strftime("%Y-%m-%dT%H:%M:%SZ")) + \
                loadgen_flags
        header, want, stats, _ = run_loadgen(rig, workdir, count, *loadgen_flags)
        ev = stats["events"]
        log("%s: %d messages (%s), %d duplicates, %d malformed, %d oracle rows", name, stats["messages"],
            ", ".join("%s %d" % kv for kv in ev.items() if kv[1]), stats["duplicates"], stats["malformed"], len(want))
        # the run exercised what the oracle must get right
        assert stats["undelivered"] == 0 and stats["failed"] == 0 and stats["delivered"] == stats["messages"], stats
        if transfers:  # the late sales and transfer steps held back at the end come on top
            assert stats["messages"] >= count + ev["opening"] + ev["channel_map"], stats
            check_transfers_and_late_sales(rig, header, stats)
        else:
            assert stats["messages"] == count + ev["opening"] + ev["channel_map"], stats
            assert ev["count"] == 0 and ev["transfer_shipped"] == 0 and stats["late_sales"] == 0, stats
        assert ev["channel_map"] == 3 and stats["by_topic"]["channels"] == 3, stats
        for k in ("sale", "return", "receipt", "adjustment", "opening", "hold", "release", "fulfilment"):
            assert ev[k] > 0, "no %s events: %s" % (k, stats)
        assert ev["feedback"] == 0, stats
        assert stats["duplicates"] > 0 and stats["malformed"] > 0, stats
        assert stats["expected_dlq"] == stats["malformed"], stats

        # what reached the input topics is what inv-loadgen says it sent (a
        # watermark read right after the run may lag the acknowledged writes:
        # asked again for up to 15 s, never more than what was sent)
        def input_ends():
            return {k: sum(oracle.end_offsets(rig.topic[k]).values()) for k in stats["by_topic"]}
        ends = input_ends()
        t_end = time.monotonic() + 15
        while ends != stats["by_topic"] and time.monotonic() < t_end:
            time.sleep(0.5)
            ends = input_ends()
        assert ends == stats["by_topic"], "input topics hold %s, inv-loadgen sent %s" % (ends, stats["by_topic"])

        rig.wait_processors_done(300, procs)
        if transfers:
            wait_transfer_done(rig, tproc, 300)
        movements = rig.read_movements()
        last = {p: ms[-1]["_offset"] for p, ms in movements.items() if ms}
        log("%s: processors done, %d movements", name, sum(len(v) for v in movements.values()))
        rig.wait_keeper_done(last, 300, procs)
        log("%s: inv-stock done", name)

        assert stats["settled_at"] == header["settled_at"] and header["settled_at"], (stats, header)

        def diff_stock():
            got = rig.read_stock()
            missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
            assert not missing and not extra, "inventory.stock rows %d missing (e.g. %s), %d unexpected (e.g. %s)" % (
                len(missing), missing[:5], len(extra), extra[:5])
            return [(k, f, "stock %r" % got[k][f], "oracle %r" % want[k][f])
                    for k in sorted(want) for f in FIELDS if got[k][f] != want[k][f]]

        # Holds left open (left to expire, or fulfilled by a sale that inv-stock
        # applied before the hold: two processors, no order between them) close
        # at their expires_at on inv-stock's clock, once it has written and
        # applied their expire movements (looked for every second).
        settled_ms = oracle.parse_rfc3339_ms(header["settled_at"])
        wait_s = settled_ms / 1000.0 + 1.5 - time.time()
        if wait_s > 0:
            time.sleep(wait_s)
        deadline = time.monotonic() + 90
        while True:
            movements = rig.read_movements()
            last = {p: ms[-1]["_offset"] for p, ms in movements.items() if ms}
            rig.wait_keeper_done(last, 300, procs)
            diffs = diff_stock()
            expired = sum(1 for ms in movements.values() for m in ms if m["type"] == "expire")
            if not diffs or time.monotonic() > deadline:
                break
            log("%s: %d fields differ after %d expire movements, waiting for more expiries", name, len(diffs), expired)
            time.sleep(2)
        assert not diffs, "%d fields differ from the oracle, e.g. %s" % (len(diffs), diffs[:10])
        assert expired > 0, "no hold expired"
        log("%s: %d expire movements; every row has committed 0", name, expired)

        # the channel map inv-loadgen wrote, as documented, turned by inv-stock
        # into available-to-sell per (sku, channel) of the oracle's stock
        deadline = time.monotonic() + 60
        while True:
            try:
                n_av = oracle.check_availability(rig, DocumentedMap(), want)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(2)
        log("%s: inventory.availability == the oracle's stock through the channel map (%d keys)", name, n_av)
        assert any(r["unsellable"] > 0 for k, r in want.items() if k[1] != "*"), "no damaged return in the run"

        dlq = rig.read_dlq()
        inputs = {rig.topic[k] for k in ("sales", "returns", "restocks", "reservations", "transfers")}
        bad = []
        for key, value, headers, part, off, ts in dlq:
            h = dict(headers)
            if (h.get("inv.source.topic") or b"").decode() not in inputs or not h.get("inv.error"):
                bad.append((key, h))
        assert not bad, "dead letters not from an input topic or without inv.error: %s" % bad[:5]
        assert len(dlq) == stats["expected_dlq"], "DLQ holds %d records, inv-loadgen sent %d malformed" % (
            len(dlq), stats["expected_dlq"])
        log("%s: %d rows equal the oracle, DLQ %d == malformed", name, len(want), len(dlq))

        for p, rc in rig.stop():
            assert rc == 0, "%s exit %s\n%s" % (p.role, rc, p.stderr_text()[-3000:])
    finally:
        rig.cleanup()
        drop_topics(rig)


def scenario_feedback():
    """Reorders come back as receipts after the lead time; SIGTERM is clean."""
    name = "loadgen-feedback"
    lead_ms = 300
    rig = KeeperRig(name, PARTITIONS)  # default policy: reorder at 4, order 12
    workdir = tempfile.mkdtemp(prefix="loadgen-")
    stats_path = os.path.join(workdir, "stats.json")
    try:
        rig.create_topics()
        procs = rig.start_processors() + [rig.start_keeper("stock-0")]
        lg = start([bin("inv-loadgen"), "-b", bootstrap(), "--seed", str(SEED), "--rate", "400",
                    "--skus", "50", "--locations", "4", "--opening-stock", "15", "--reorder-feedback",
                    "--lead-time-ms", str(lead_ms), "--stats-json", stats_path], rig.env)
        lg.role = "inv-loadgen"
        sent_at = {}  # reorder event_id -> (sku, location, quantity)

        def receipts_seen():
            rig.assert_running(procs + [lg])
            try:
                records = consume_bulk(rig.topic["restocks"], timeout=60)
            except KafkaException as e:  # a fresh topic's leader may not answer ListOffsets yet
                log("feedback: reading restocks: %s (retrying)", e)
                return False
            for r in records:
                v = json.loads(r[1])
                if v["event_id"].startswith("rcv:"):
                    sent_at[v["purchase_order_id"]] = (v["lines"][0]["sku"], v["location_id"],
                                                       v["lines"][0]["quantity"], r[5])
            return len(sent_at) >= 5
        wait_until(receipts_seen, 120, "inv-loadgen to answer 5 reorders with receipts", interval=1)
        assert "sent (" in lg.stderr_text(), "no progress line on stderr:\n" + lg.stderr_text()[-2000:]
        rc = lg.stop(timeout=60, sig=signal.SIGTERM)
        err = lg.stderr_text()
        assert rc == 0, "inv-loadgen exit %s after SIGTERM\n%s" % (rc, err[-3000:])
        assert "totals" in err, err[-2000:]
        with open(stats_path) as f:
            stats = json.load(f)
        assert stats["delivered"] == stats["messages"] and stats["undelivered"] == 0, stats
        assert stats["events"]["receipt"] == 0, "periodic receipts must be off with --reorder-feedback: %s" % stats

        reorders = {}
        for r in consume_bulk(rig.topic["reorders"], timeout=60):
            v = json.loads(r[1])
            reorders[v["event_id"]] = (v["sku"], v["location_id"], v["quantity"], r[5])
        for po, (sku, loc, qty, ts) in sent_at.items():
            assert po in reorders, "receipt for %s answers no ReorderEvent" % po
            rsku, rloc, rqty, rts = reorders[po]
            assert (sku, loc, qty) == (rsku, rloc, rqty), (po, (sku, loc, qty), reorders[po])
            assert ts >= rts + lead_ms - 50, "receipt for %s sent %d ms after the reorder, lead time %d" % (
                po, ts - rts, lead_ms)
        log("feedback: %d receipts answer reorders; SIGTERM exit 0", len(sent_at))
        for p, rc in rig.stop():
            assert rc == 0, "%s exit %s\n%s" % (p.role, rc, p.stderr_text()[-3000:])
    finally:
        rig.cleanup()
        drop_topics(rig)


def scenario_bad_flags():
    """inv-loadgen's own flags: a bad value is one stderr line naming the flag,
    exit 2, before any Kafka I/O (-b points at a socket that must see no
    connection)."""
    import socket
    trap = socket.socket()
    trap.bind(("127.0.0.1", 0))
    trap.listen(8)
    trap.setblocking(False)
    broker = "127.0.0.1:%d" % trap.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="loadgen-")
    cases = [
        (["--rate", "fast"], "--rate"),
        (["--count"], "--count"),
        (["--skus", "0"], "--skus"),
        (["--returns-ratio", "0.9", "--receipts-ratio", "0.2"], "--returns-ratio"),
        (["--malformed", "2"], "--malformed"),
        (["--format", "xml"], "--format"),
        (["--start-time", "tomorrow"], "--start-time"),
        (["--oracle", os.path.join(workdir, "o"), "--reorder-feedback"], "--oracle"),
        (["--transfers-ratio", "2"], "--transfers-ratio"),
        (["--transit-ms", "soon"], "--transit-ms"),
        (["--late-sales-ratio", "-0.1"], "--late-sales-ratio"),
        (["--late-sales-delay-ms", "10"], "--late-sales-delay-ms"),
        (["--transfers-ratio", "0.5", "--returns-ratio", "0.6"], "--transfers-ratio"),
        (["--oracle", os.path.join(workdir, "no", "such", "dir")], "--oracle"),
        (["--reorder-feedback=1"], "--reorder-feedback"),
        (["--no-such-flag"], "--no-such-flag"),
        (["surplus"], "surplus"),
    ]
    try:
        for args, named in cases:
            r = run([bin("inv-loadgen"), "-b", broker] + args, timeout=10)
            lines = r.stderr.strip().splitlines()
            assert r.returncode == 2, "%s: exit %s\n%s" % (args, r.returncode, r.stderr)
            assert len(lines) == 1 and named in lines[0], "%s: stderr %r" % (args, r.stderr)
        try:
            trap.accept()
            raise AssertionError("inv-loadgen connected to the broker before rejecting a flag")
        except BlockingIOError:
            pass
    finally:
        trap.close()
    log("bad flags: %d cases exit 2 with one line, no Kafka I/O", len(cases))


def main():
    if sys.argv[1:] == ["transfers"]:
        scenario_oracle("loadgen-oracle-transfers", COUNT, transfers=True)
        log("ok")
        return
    scenario_bad_flags()
    scenario_oracle("loadgen-oracle", COUNT)
    scenario_oracle("loadgen-oracle-avro", COUNT // 3, "--format", "avro")
    scenario_feedback()
    log("ok")


if __name__ == "__main__":
    main()
