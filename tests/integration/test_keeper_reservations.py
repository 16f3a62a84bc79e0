"""Reservations in inv-stock against the real broker (CONTRACT.md, "Reservations").

StockMovements are produced straight to inventory.movements (keyed by SKU), one
scenario per SKU, and inv-stock applies them:

  * a hold within available is held in full; one larger than available is
    rejected, or held in part with allow_partial; a partial hold when nothing
    is left is rejected;
  * a release with no open hold reports not_found and changes nothing;
  * a sale carrying the reservation_id takes part of the hold, then the rest
    (fulfilled), committed falling with on_hand;
  * a hold left alone expires at its expires_at: inv-stock writes an `expire`
    movement to the SKU's own partition and applies it: `expired` exactly once;
  * a hold whose expiry falls while its partition moves: the first instance is
    killed (kill -9) with the hold open, a second instance with an empty state
    dir restores the partition (the open line from the state log) and expires it,
    exactly once.

Checked against the independent model (tests/support/oracle.py), replaying the
movements as committed in each partition (the expire movements included):
inventory.stock (committed and available included) and every
ReservationStatus, event for event; and each reservation line expired at most
once.
"""
import json
import os
import subprocess
import sys
import time
from collections import Counter

import oracle
from invtest import bin, murmur2_partition, wait_until

PARTITIONS = 3
T0 = time.monotonic()
NOW = int(time.time() * 1000)


def log(msg, *args):
    sys.stdout.write("[%7.1fs] %s\n" % (time.monotonic() - T0, msg % args if args else msg))
    sys.stdout.flush()


def mv(typ, n, sku, loc, q, rid=None, expires=None, partial=False, channel="online", at=None):
    m = {"movement_id": "%s:EV-%s-%d:0" % (typ, sku, n), "sku": sku, "location_id": loc,
         "channel": channel if typ in ("sale", "reserve", "release") else None, "type": typ, "quantity": q,
         "occurred_at": oracle.rfc3339_ms(at or NOW), "source": "reservations-test"}
    if rid:
        m["reservation_id"] = rid
    if expires is not None:
        m["expires_at"] = oracle.rfc3339_ms(expires)
    if partial:
        m["allow_partial"] = True
    return m


def produce(rig, moves):
    p = rig.producer()
    for m in moves:
        k = m["sku"].encode()
        p.produce(rig.topic["movements"], key=k, value=json.dumps(m, separators=(",", ":")).encode(),
                  partition=murmur2_partition(k, PARTITIONS))
    assert p.flush(60) == 0


def statuses(rig):
    from confluent_kafka import KafkaException
    out = []
    try:
        records = oracle.consume_bulk(rig.topic["reservation_status"])
    except KafkaException as e:  # a partition without a leader yet, right after its creation
        log("reading statuses: %s; again", e)
        return []
    for key, value, headers, part, off, ts in records:
        d = json.loads(value)
        assert key == d["reservation_id"].encode(), (key, d)
        assert part == murmur2_partition(d["sku"].encode(), PARTITIONS), (part, d)
        d["occurred_at"] = oracle.parse_rfc3339_ms(d["occurred_at"])
        if d.get("expires_at") is not None:
            d["expires_at"] = oracle.parse_rfc3339_ms(d["expires_at"])
        out.append(d)
    return out


def by_rid(sts):
    out = {}
    for s in sts:
        out.setdefault((s["reservation_id"], s["sku"]), []).append(s["state"])
    return out


def main():
    rig = oracle.KeeperRig("keeper-resv", PARTITIONS, keeper_conf={"policy.default.reorder_point": -100,
                                                                 "policy.default.reorder_quantity": 1,
                                                                 "policy.default.safety_stock": 0})
    try:
        rig.create_topics()
        far = NOW + 3600 * 1000
        soon = NOW + 4000
        moves = [
            # SKU-A: full, rejected, partial, rejected partial, not_found release, fulfilment in two sales
            mv("receipt", 1, "SKU-A", "dc-1", 10),
            mv("reserve", 2, "SKU-A", "dc-1", 4, "ORD-1", far),
            mv("reserve", 3, "SKU-A", "dc-1", 8, "ORD-2", far),
            mv("reserve", 4, "SKU-A", "dc-1", 8, "ORD-3", far, partial=True),
            mv("reserve", 5, "SKU-A", "dc-1", 1, "ORD-4", far, partial=True),
            mv("release", 6, "SKU-A", "dc-1", 2, "ORD-9"),
            mv("sale", 7, "SKU-A", "dc-1", 1, "ORD-1"),
            mv("sale", 8, "SKU-A", "dc-1", 3, "ORD-1"),
            mv("release", 9, "SKU-A", "dc-1", 6, "ORD-3"),
            # SKU-B: a hold left to expire, another released before its expiry
            mv("receipt", 1, "SKU-B", "store-1", 5),
            mv("reserve", 2, "SKU-B", "store-1", 2, "ORD-5", soon),
            mv("reserve", 3, "SKU-B", "store-1", 1, "ORD-6", soon),
            mv("release", 4, "SKU-B", "store-1", 1, "ORD-6"),
        ]
        produce(rig, moves)
        port = oracle.free_port()
        k1 = rig.start_keeper("stock-0", port)

        def expired_b():
            rig.assert_running([k1])
            return "expired" in by_rid(statuses(rig)).get(("ORD-5", "SKU-B"), [])
        wait_until(expired_b, 60, "ORD-5 of SKU-B to expire", interval=0.5)
        log("ORD-5 expired")

        # a hold whose expiry falls while its partition moves
        later = int(time.time() * 1000) + 8000
        produce(rig, [mv("receipt", 1, "SKU-C", "dc-2", 3, at=later - 8000),
                      mv("reserve", 2, "SKU-C", "dc-2", 3, "ORD-7", later, at=later - 8000)])

        def held_c():
            return "held" in by_rid(statuses(rig)).get(("ORD-7", "SKU-C"), [])
        wait_until(held_c, 60, "ORD-7 of SKU-C to be held", interval=0.3)
        cp = subprocess.run([bin("invctl"), "reservations", "SKU-C", "--json", "--state-dir", rig.state_dir("stock-0")],
                            env=dict(os.environ, **rig.env), capture_output=True, text=True, timeout=60)
        assert cp.returncode == 0, cp.stderr
        lines = [json.loads(x) for x in cp.stdout.splitlines() if x.strip()]
        assert [(x["reservation_id"], x["location_id"], x["channel"], x["remaining"], x["expires_at"])
                for x in lines] == [("ORD-7", "dc-2", "online", 3, oracle.rfc3339_ms(later))], lines
        k1.kill()
        log("inv-stock killed with ORD-7 held until %s", oracle.rfc3339_ms(later))
        time.sleep(max(0.0, (later - time.time() * 1000) / 1000.0) + 1.0)  # the expiry passes while no one owns it
        k2 = rig.start_keeper("stock-1", port)

        def expired_c():
            rig.assert_running([k2])
            return "expired" in by_rid(statuses(rig)).get(("ORD-7", "SKU-C"), [])
        wait_until(expired_c, 90, "ORD-7 of SKU-C to expire after the restore", interval=0.5)
        log("ORD-7 expired on the second instance")
        # let a resend window pass: a second expire movement must change nothing
        time.sleep(2.0)

        movements = rig.read_movements()
        last = {p: ms[-1]["_offset"] for p, ms in movements.items() if ms}
        rig.wait_keeper_done(last, 60, procs=[k2])
        o = oracle.StockOracle(oracle.PolicyTable((-100, 1, 0)))
        for p in sorted(movements):
            for m in movements[p]:
                o.apply(m)
        assert not o.refused, o.refused
        got_st = statuses(rig)
        oracle.compare_events(got_st, o.statuses, "reservation statuses")
        oracle.compare_stock(rig.read_stock(), o.stock(), with_shortage=False)
        states = by_rid(got_st)
        want = {("ORD-1", "SKU-A"): ["held", "held", "fulfilled"], ("ORD-2", "SKU-A"): ["rejected"],
                ("ORD-3", "SKU-A"): ["partial", "released"], ("ORD-4", "SKU-A"): ["rejected"],
                ("ORD-9", "SKU-A"): ["not_found"], ("ORD-5", "SKU-B"): ["held", "expired"],
                ("ORD-6", "SKU-B"): ["held", "released"], ("ORD-7", "SKU-C"): ["held", "expired"]}
        assert states == want, "statuses by reservation:\n%s\nwant:\n%s" % (states, want)
        stock = rig.read_stock()
        a = stock[("SKU-A", "dc-1")]
        assert (a["on_hand"], a["committed"], a["available"]) == (6, 0, 6), a
        c = stock[("SKU-C", "dc-2")]
        assert (c["on_hand"], c["committed"], c["available"]) == (3, 0, 3), c
        expires = Counter(m["movement_id"] for ms in movements.values() for m in ms if m["type"] == "expire")
        log("expire movements written: %s", dict(expires))
        assert len(expires) == 2, expires
        st, body = oracle.http_get(port, "/stock/SKU-A")
        assert st == 200 and json.loads(body)["locations"][0]["committed"] == 0, (st, body[:300])
        for p, code in rig.stop():
            assert code == 0, "%s exit %s" % (p.role, code)
        log("ok: statuses and stock equal the model; each hold expired once")
        return 0
    finally:
        rig.cleanup()


if __name__ == "__main__":
    sys.exit(main())
