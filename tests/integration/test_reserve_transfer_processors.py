"""inv-reserve and inv-transfer against the real broker (DESIGN.md "Topics",
"Message formats", "Semantics": reservations and transfers).

Each scenario gets its own set of topics (created by `invctl topics create`)
and its own consumer groups, produces ReservationEvents and TransferEvents
(explicit partitions and timestamps), waits until each group's committed
input offsets reach the end of its input, then reads inventory.movements and
inventory.dlq with read_committed and compares them with what is computed
here, independently of the C code (the helpers are test_processors.py's):

  * every movement exactly: value bytes (JSON in schema field order), key =
    SKU, partition = Java murmur2 partition of the SKU, timestamp = the
    input's, order per SKU = input order;
    - a hold becomes one `reserve` movement per line at its location with its
      channel, reservation_id, expires_at and allow_partial; a release one
      `release` movement with channel and reservation_id only (a release
      carries no expires_at nor allow_partial, even when the event has them);
    - shipped becomes `transfer_out` at from_location_id, canceled
      `transfer_cancel` at from_location_id (other_location_id: the
      destination), received `transfer_in` at to_location_id (other_location_id:
      the source) with each line's rejected units; no channel;
    - movement_id `<type>:<event_id>:<line>`;
  * a re-sent event yields movements with the same ids and bytes;
  * every invalid input in the DLQ exactly once, key and value untouched, with
    its exact inv.error (a hold without expires_at, expires_at not after
    occurred_at or more than reservation.max.ttl.ms after it, a transfer to
    its own source, rejected units where none may be, unknown symbols,
    another message's Avro schema id, ...) and the source headers;
  * reservation.max.ttl.ms set lower (INV_RESERVATION_MAX_TTL_MS) moves the bound;
  * SIGTERM stops each program with exit 0.

`test_reserve_transfer_processors.py offline` (ctest reserve_transfer_offline,
label unit, no broker) puts the same inputs through the engine without Kafka
(processor_tool) and checks every movement's bytes and every reason.
"""
import os
import sys
import time
from collections import Counter
from datetime import datetime, timezone

import test_processors as tp
from test_processors import (Expect, Feed, avro_frame, create_topics_with_invctl, enc, load_schema, ms_of,
                             rfc3339_of, run_scenario)
from invtest import delete_topics, topic_env, topic_names

RESERVATION_SCHEMA_ID, TRANSFER_SCHEMA_ID, SALE_SCHEMA_ID = 9, 10, 14
WEEK_MS = 604800000  # reservation.max.ttl.ms default

TRANSFER_TYPE = {"shipped": "transfer_out", "received": "transfer_in", "canceled": "transfer_cancel"}


def movement(mtype, ev, i, line, **fields):
    m = {
        "movement_id": "%s:%s:%d" % (mtype, ev["event_id"], i),
        "sku": line["sku"],
        "location_id": None,
        "channel": None,
        "type": mtype,
        "quantity": line["quantity"],
        "occurred_at": rfc3339_of(ms_of(ev["occurred_at"])),
        "source": ev["source"],
        "reservation_id": None,
        "expires_at": None,
        "transfer_id": None,
        "other_location_id": None,
        "rejected": 0,
        "allow_partial": False,
    }
    m.update(fields)
    return m


def reservation_movements(ev):
    """DESIGN.md: one reserve (hold) or release movement per line."""
    hold = ev["action"] == "hold"
    out = []
    for i, line in enumerate(ev["lines"]):
        out.append(movement(
            "reserve" if hold else "release", ev, i, line,
            location_id=ev["location_id"], channel=ev["channel"], reservation_id=ev["reservation_id"],
            expires_at=rfc3339_of(ms_of(ev["expires_at"])) if hold else None,
            allow_partial=bool(ev.get("allow_partial", False)) if hold else False))
    return out


def transfer_movements(ev):
    """One movement per line by status, at the end where it happens."""
    mtype = TRANSFER_TYPE[ev["status"]]
    here, there = ev["from_location_id"], ev["to_location_id"]
    if mtype == "transfer_in":
        here, there = there, here
    return [movement(mtype, ev, i, line, location_id=here, other_location_id=there,
                     transfer_id=ev["transfer_id"],
                     rejected=line.get("rejected", 0) if mtype == "transfer_in" else 0)
            for i, line in enumerate(ev["lines"])]


class ReserveTransferExpect(Expect):
    def valid(self, rec, kind, ev):
        ms = reservation_movements(ev) if kind == "reservation" else transfer_movements(ev)
        for i, m in enumerate(ms):
            self.movements.append((rec, i, m))


# ----------------------------------------------------------------- inputs

def hold(eid, lines, rid="ORD-123", location="dc-1", channel="online", source="web",
         at="2026-11-22T10:00:00Z", expires="2026-11-22T10:30:00Z", allow_partial=None):
    ev = {"event_id": eid, "source": source, "reservation_id": rid, "action": "hold",
          "location_id": location, "channel": channel, "occurred_at": at,
          "lines": [{"sku": s, "quantity": q} for s, q in lines]}
    if expires is not None:
        ev["expires_at"] = expires
    if allow_partial is not None:
        ev["allow_partial"] = allow_partial
    return ev


def release(eid, lines, rid="ORD-123", location="dc-1", channel="online", source="web",
            at="2026-11-22T10:10:00Z", **extra):
    ev = {"event_id": eid, "source": source, "reservation_id": rid, "action": "release",
          "location_id": location, "channel": channel, "occurred_at": at,
          "lines": [{"sku": s, "quantity": q} for s, q in lines]}
    ev.update(extra)
    return ev


def transfer(eid, status, lines, tid="TR-9", src="dc-1", dst="store-12", source="wms",
             at="2026-11-22T08:00:00Z"):
    return {"event_id": eid, "source": source, "transfer_id": tid, "status": status,
            "from_location_id": src, "to_location_id": dst, "occurred_at": at,
            "lines": [dict({"sku": s, "quantity": q}, **({"rejected": r} if r is not None else {}))
                      for s, q, r in lines]}


def avro_time(ev, *fields):
    out = dict(ev)
    for f in fields:
        if out.get(f) is not None:
            out[f] = datetime.fromtimestamp(ms_of(out[f]) / 1000, tz=timezone.utc)
    return out


def scenario_reservations(env):
    expect = ReserveTransferExpect()
    f = Feed(env["INV_TOPIC_RESERVATIONS"], "reservation", expect)

    h1 = hold("RV-1", [("SKU-1", 2), ("SKU-2", 5)], allow_partial=True)
    f.good(h1, 0, key=b"ORD-123")
    f.good(release("RV-2", [("SKU-1", 2)]), 0, key=b"ORD-123")
    # a release may carry expires_at and allow_partial: not used, not carried
    f.good(release("RV-3", [("SKU-2", 5)], expires_at="2027-01-01T00:00:00Z", allow_partial=True), 0,
           key=b"ORD-123")
    f.bad(enc(hold("RV-4", [("SKU-1", 1)], rid="ORD-124", expires=None)), "expires_at: required for a hold", 0,
          key=b"ORD-124")
    f.bad(enc(hold("RV-5", [("SKU-1", 1)], rid="ORD-125", expires="2026-11-29T10:00:00.001Z")),
          "expires_at: 2026-11-29T10:00:00.001Z is more than reservation.max.ttl.ms (%d ms) after occurred_at "
          "2026-11-22T10:00:00.000Z" % WEEK_MS, 0, key=b"ORD-125")
    # exactly the longest life: accepted
    f.good(hold("RV-6", [("SKU-3", 1)], rid="ORD-126", channel="store", location="store-12",
                source="pos-store-12", expires="2026-11-29T10:00:00Z"), 0, key=b"ORD-126")
    f.bad(enc(hold("RV-7", [("SKU-1", 1)], rid="ORD-127", expires="2026-11-22T10:00:00Z")),
          "expires_at: 2026-11-22T10:00:00.000Z is not after occurred_at 2026-11-22T10:00:00.000Z", 0,
          key=b"ORD-127")
    f.bad(enc(dict(hold("RV-8", [("SKU-1", 1)], rid="ORD-128"), action="grab")),
          'action: "grab" is not one of hold, release', 1, key=b"ORD-128")
    f.bad(enc(hold("RV-9", [("SKU-1", 0)], rid="ORD-129")), "lines[0].quantity: 0 is not positive", 1,
          key=b"ORD-129")
    f.bad(enc(hold("RV-10", [("SKU-1", 1)], rid="ORD-130", location="dc|1")),
          "location_id: '|' at byte 2 is not allowed", 1, key=b"ORD-130")
    norid = hold("RV-11", [("SKU-1", 1)])
    del norid["reservation_id"]
    f.bad(enc(norid), "reservation_id: missing, expected a string", 1, key=None)
    f.bad(enc(dict(hold("RV-12", [("SKU-1", 1)], rid="ORD-132"), allow_partial=None)),
          "allow_partial: expected true or false, got null", 1, key=b"ORD-132")
    f.good(hold("RV-13", [("SKU-\u00e9-4", 3)], rid="ORD-133", channel="marketplace", source="amazon",
                at="2026-11-22T12:00:00.250+02:00", expires="2026-11-23T12:00:00+02:00"), 2, key=b"ORD-133")
    # Avro (Confluent framing, schema id 9), and another message's schema id
    schema = load_schema("ReservationEvent")
    av = hold("RV-14", [("SKU-1", 4), ("SKU-9", 1)], rid="ORD-134", channel="b2b",
              at="2026-11-22T08:30:00.123Z", expires="2026-11-22T20:30:00.123Z", allow_partial=False)
    av_bytes = avro_frame(RESERVATION_SCHEMA_ID, schema, avro_time(av, "occurred_at", "expires_at"))
    f.good(av, 2, key=b"ORD-134", value=av_bytes)
    sale = {"event_id": "T-1", "source": "pos", "location_id": "store-12", "channel": "store",
            "occurred_at": datetime(2026, 11, 22, 10, tzinfo=timezone.utc), "reservation_id": None,
            "lines": [{"sku": "SKU-1", "quantity": 1}]}
    f.bad(avro_frame(SALE_SCHEMA_ID, load_schema("SaleEvent"), sale),
          "schema id 14 is SaleEvent, expected ReservationEvent", 2)
    f.bad(None, "empty message", 2, key=b"tombstone")
    f.good(h1, 2, key=b"ORD-123")  # re-sent: same ids, same bytes
    return f, expect


def scenario_transfers(env, expect):
    f = Feed(env["INV_TOPIC_TRANSFERS"], "transfer", expect)
    f.good(transfer("TR-9-ship", "shipped", [("SKU-1", 24, 0), ("SKU-2", 6, None)]), 0, key=b"TR-9")
    f.good(transfer("TR-9-recv-1", "received", [("SKU-1", 20, 3)], at="2026-11-23T09:00:00Z"), 0, key=b"TR-9")
    f.good(transfer("TR-9-recv-2", "received", [("SKU-1", 4, None), ("SKU-2", 6, 0)],
                    at="2026-11-23T10:00:00Z"), 0, key=b"TR-9")
    f.good(transfer("TR-10-ship", "shipped", [("SKU-3", 5, None)], tid="TR-10", src="store-12", dst="store-7"),
           1, key=b"TR-10")
    f.good(transfer("TR-10-cancel", "canceled", [("SKU-3", 5, None)], tid="TR-10", src="store-12",
                    dst="store-7", at="2026-11-22T09:00:00Z"), 1, key=b"TR-10")
    f.bad(enc(transfer("TR-11-ship", "shipped", [("SKU-1", 1, None)], tid="TR-11", dst="dc-1")),
          'to_location_id: "dc-1" is from_location_id, expected another location', 1, key=b"TR-11")
    f.bad(enc(transfer("TR-12-ship", "shipped", [("SKU-1", 3, 1)], tid="TR-12")),
          "lines[0].rejected: 1, a shipped transfer has none (0)", 1, key=b"TR-12")
    f.bad(enc(transfer("TR-13-recv", "received", [("SKU-1", 3, 4)], tid="TR-13")),
          "lines[0].rejected: 4 is more than quantity 3", 1, key=b"TR-13")
    f.bad(enc(transfer("TR-14-recv", "received", [("SKU-1", 3, -1)], tid="TR-14")),
          "lines[0].rejected: -1 is negative", 1, key=b"TR-14")
    f.bad(enc(transfer("TR-15", "lost", [("SKU-1", 3, None)], tid="TR-15")),
          'status: "lost" is not one of shipped, received, canceled', 2, key=b"TR-15")
    f.bad(enc(transfer("TR-16", "shipped", [("SKU-1", -2, None)], tid="TR-16")),
          "lines[0].quantity: -2 is not positive", 2, key=b"TR-16")
    schema = load_schema("TransferEvent")
    av = transfer("TR-17-recv", "received", [("SKU-5", 10, 2)], tid="TR-17", src="dc-2", dst="store-3",
                  at="2026-11-22T06:00:00.999Z")
    f.good(av, 2, key=b"TR-17", value=avro_frame(TRANSFER_SCHEMA_ID, schema, avro_time(av, "occurred_at")))
    f.good(transfer("TR-9-ship", "shipped", [("SKU-1", 24, 0), ("SKU-2", 6, None)]), 2, key=b"TR-9")  # re-sent
    return f


def scenario_live_wave(env, expect, after):
    """More input, produced while the processors run: a re-sent hold, garbage,
    a release."""
    f = Feed(env["INV_TOPIC_RESERVATIONS"], "reservation", expect)
    f.ts = after + 1000
    f.good(hold("RV-1", [("SKU-1", 2), ("SKU-2", 5)], allow_partial=True), 1, key=b"ORD-123")
    f.bad(b"not json at all", "not JSON: '[' or '{' expected near 'not' at line 1 column 3", 1)
    f.good(release("RV-20", [("SKU-3", 1)], rid="ORD-126", channel="store", location="store-12"), 0,
           key=b"ORD-126")
    return f


HOUR_MS = 3600000


def scenario_short_ttl(env):
    """reservation.max.ttl.ms=3600000: a hold of one hour passes, one of an
    hour and a second goes to the DLQ."""
    expect = ReserveTransferExpect()
    f = Feed(env["INV_TOPIC_RESERVATIONS"], "reservation", expect)
    f.good(hold("RV-30", [("SKU-1", 1)], rid="ORD-30", expires="2026-11-22T11:00:00Z"), 0, key=b"ORD-30")
    f.bad(enc(hold("RV-31", [("SKU-1", 1)], rid="ORD-31", expires="2026-11-22T11:00:01Z")),
          "expires_at: 2026-11-22T11:00:01.000Z is more than reservation.max.ttl.ms (%d ms) after "
          "occurred_at 2026-11-22T10:00:00.000Z" % HOUR_MS, 0, key=b"ORD-31")
    return f, expect


def offline():
    """The same expectations checked without a broker: every input through
    the engine (processor_tool, INV_PROCESSOR_TOOL), its movements' JSON bytes
    or its dead letter's reason compared exactly."""
    import subprocess
    from test_processors import json_bytes
    tool = os.environ["INV_PROCESSOR_TOOL"]
    env = topic_env("offline")
    r, expect = scenario_reservations(env)
    t = scenario_transfers(env, expect)
    w = scenario_live_wave(env, expect, max(r.ts, t.ts))
    short, short_expect = scenario_short_ttl(env)
    checked = 0
    for feeds, exp, ttl in (((r, t, w), expect, WEEK_MS), ((short,), short_expect, HOUR_MS)):
        for feed in feeds:
            want = []
            for rec in feed.inputs:
                dead = [err for d, err in exp.dead if d is rec]
                if dead:
                    want.append("ERROR " + dead[0])
                else:
                    ms = [json_bytes(m).decode("utf-8") for d, _, m in exp.movements if d is rec]
                    want.append("OK " + "\t".join(ms))
            stdin = "".join((rec.value or b"").hex() + "\n" for rec in feed.inputs)
            p = subprocess.run([tool, feed.kind, str(ttl)], input=stdin.encode(), capture_output=True,
                               timeout=60)
            assert p.returncode == 0, p.stderr.decode()
            got = p.stdout.decode("utf-8").splitlines()
            assert len(got) == len(want), (len(got), len(want))
            for rec, g, wnt in zip(feed.inputs, got, want):
                assert g == wnt, "input %r:\n got  %s\n want %s" % ((rec.value or b"")[:120], g, wnt)
                checked += 1
    print("ok offline: %d inputs through the engine as expected" % checked)
    return 0


def main():
    tp.MOVEMENT_SCHEMA = load_schema("StockMovement")
    envs = []
    try:
        # 1. inv-reserve and inv-transfer side by side on one movements topic;
        # more input while they run
        env = topic_env("proc-rsv-tr")
        envs.append(env)
        create_topics_with_invctl(env)
        t0 = time.monotonic()
        r, expect = scenario_reservations(env)
        t = scenario_transfers(env, expect)
        w = scenario_live_wave(env, expect, max(r.ts, t.ts))
        run_scenario(env, [r, t], expect, [("inv-reserve", "INV_TOPIC_RESERVATIONS"),
                                           ("inv-transfer", "INV_TOPIC_TRANSFERS")],
                     live_extra=lambda: tp.produce_inputs(w.inputs))
        ids = Counter(m["movement_id"] for _, _, m in expect.movements)
        assert ids["reserve:RV-1:0"] == 3 and ids["transfer_out:TR-9-ship:1"] == 2, ids
        print("ok inv-reserve + inv-transfer: %d movements, %d dead letters (%.1fs)"
              % (len(expect.movements), len(expect.dead), time.monotonic() - t0), flush=True)

        # 2. reservation.max.ttl.ms set lower (environment INV_RESERVATION_MAX_TTL_MS)
        env = topic_env("proc-rsv-ttl")
        envs.append(env)
        create_topics_with_invctl(env)
        t0 = time.monotonic()
        f, expect = scenario_short_ttl(env)
        run_scenario(dict(env, INV_RESERVATION_MAX_TTL_MS=str(HOUR_MS)), [f], expect,
                     [("inv-reserve", "INV_TOPIC_RESERVATIONS")])
        print("ok inv-reserve with reservation.max.ttl.ms=%d (%.1fs)" % (HOUR_MS, time.monotonic() - t0),
              flush=True)

        # 3. output.format=avro: the same inputs become Avro StockMovements
        env = topic_env("proc-rsv-tr-avro")
        envs.append(env)
        create_topics_with_invctl(env)
        t0 = time.monotonic()
        r, expect = scenario_reservations(env)
        t = scenario_transfers(env, expect)
        run_scenario(env, [r, t], expect, [("inv-reserve", "INV_TOPIC_RESERVATIONS"),
                                           ("inv-transfer", "INV_TOPIC_TRANSFERS")], fmt="avro")
        print("ok inv-reserve + inv-transfer Avro output: %d movements, %d dead letters (%.1fs)"
              % (len(expect.movements), len(expect.dead), time.monotonic() - t0), flush=True)
    finally:
        doomed = [n for env in envs for n in topic_names(env)]
        if doomed:
            try:
                delete_topics(doomed)
            except Exception as e:  # cleanup must not hide the test's own failure
                print("cleanup: %s" % e)
    return 0


if __name__ == "__main__":
    sys.exit(offline() if sys.argv[1:] == ["offline"] else main())
