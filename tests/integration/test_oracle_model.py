"""Unit check (no broker) of the independent model, oracle.StockOracle, on
the new semantics of CONTRACT.md ("Counts as of their time", "Transfers"):

  * counts as of their time: on random rows (on_hand changes and counts at
    distinct times within count.window.ms), every arrival order gives the
    same on_hand and last_count_at, and that on_hand is the one the times
    alone give (the latest count plus the changes placed after it);
    count_variance is the latest count's against what the row held as of
    its time when it arrived;
  * the contract's own examples: a count covering a late sale, two counts
    out of order, a stale count (with the contract's reason), a future-dated
    change placed at its arrival;
  * a transfer shipped, partly received with rejected units, canceled:
    every field of both rows and of the network row after each step,
    reorders at both ends with their ids, the reports of a receipt beyond
    what is in transit and of a cancel with nothing in transit;
  * generate() is a function of (seed, now_ms), and its stream's in-order
    replay covers what the keeper tests rely on.
"""
import random
import sys

import oracle

H = 3600 * 1000
M = 60 * 1000
T0 = 1796600000000  # 2026-12-06T...Z, any fixed time
N = [0]


def mv(typ, sku, loc, q, at, **extra):
    N[0] += 1
    m = {"movement_id": "%s:E-%d:0" % (typ, N[0]), "sku": sku, "location_id": loc, "channel": None,
         "type": typ, "quantity": q, "occurred_at": at, "source": "unit"}
    m.update(extra)
    return m


def model(default=(-100, 1, 0), policies=()):
    t = oracle.PolicyTable(default)
    for sku, loc, rp, rq, ss in policies:
        t.table[(sku, loc)] = oracle.Policy(rp, rq, ss)
    return oracle.StockOracle(t)


def row(o, sku, loc):
    return o.stock()[(sku, loc)]


def by_time(moves):
    """on_hand and last_count_at as the times alone give them."""
    counts = [m for m in moves if m["type"] == "count"]
    delta = {"sale": -1, "receipt": 1, "adjustment": 1, "return_resellable": 1}
    if not counts:
        return sum(delta[m["type"]] * m["quantity"] for m in moves), None
    last = max(counts, key=lambda m: m["occurred_at"])
    after = sum(delta[m["type"]] * m["quantity"] for m in moves
                if m["type"] != "count" and m["occurred_at"] > last["occurred_at"])
    return last["quantity"] + after, last["occurred_at"]


def test_counts_order_free(seed=7, rows=300, perms=6):
    rnd = random.Random(seed)
    for r in range(rows):
        times = rnd.sample(range(0, 40 * H, M), rnd.randint(2, 14))  # distinct minutes within 40 h
        moves = []
        for i, t in enumerate(times):
            typ = rnd.choice(("sale", "sale", "receipt", "adjustment", "return_resellable", "count"))
            if i == 0 and rnd.random() < 0.5:
                typ = "count"
            q = rnd.randint(0, 30) if typ == "count" else rnd.choice((-2, -1, 1, 3)) if typ == "adjustment" \
                else rnd.randint(1, 9)
            moves.append(mv(typ, "SKU-R%d" % r, "store-1", q, T0 + t))
        want = by_time(moves)
        seen = set()
        for _ in range(perms):
            order = list(moves)
            rnd.shuffle(order)
            o = model()
            for m in order:
                o.apply(m)
            assert not o.refused, o.refused
            got = row(o, "SKU-R%d" % r, "store-1")
            assert (got["on_hand"], got["last_count_at"]) == want, (
                "row %d: order %s gives on_hand %d, last_count_at %s; by time %s" % (
                    r, [(m["type"], m["quantity"], (m["occurred_at"] - T0) // M) for m in order],
                    got["on_hand"], got["last_count_at"], want))
            # the variance is the latest count's, against the row as of its time when it arrived
            if want[1] is not None:
                latest = next(m for m in moves if m["type"] == "count" and m["occurred_at"] == want[1])
                before = [m for m in order[:order.index(latest)] if m["type"] != "count"]
                counts_before = [m for m in order[:order.index(latest)] if m["type"] == "count"]
                held = by_time(counts_before + before)[0] - sum(
                    {"sale": -1}.get(m["type"], 1) * m["quantity"] for m in before if m["occurred_at"] > want[1])
                assert got["count_variance"] == latest["quantity"] - held, (r, got, latest, held)
            seen.add((got["on_hand"], got["version"] > 0))
        assert len(seen) == 1, seen
    return rows


def test_contract_examples():
    day = T0 - T0 % (24 * H)
    at = lambda h, m=0: day + h * H + m * M  # noqa: E731
    # a 06:00 count of 40, a 05:55 sale of 3 after it, a 06:05 sale of 2 before it
    results = []
    for order in (("count", "early", "late"), ("early", "late", "count"), ("late", "count", "early"),
                  ("early", "count", "late")):
        o = model()
        ms = {"count": mv("count", "A", "s", 40, at(6)), "early": mv("sale", "A", "s", 3, at(5, 55)),
              "late": mv("sale", "A", "s", 2, at(6, 5))}
        o.apply(mv("receipt", "A", "s", 50, at(5)))
        for k in order:
            o.apply(ms[k])
        r = row(o, "A", "s")
        results.append((order, r["on_hand"], r["last_count_at"], r["count_variance"]))
    assert all(x[1:3] == (38, at(6)) for x in results), results
    variances = {x[0]: x[3] for x in results}
    # as of 06:00 the row held 50 (receipt) - 3 (the 05:55 sale, if it came before the count)
    assert variances[("count", "early", "late")] == 40 - 50, variances
    assert variances[("early", "late", "count")] == 40 - 47, variances
    assert variances[("late", "count", "early")] == 40 - 50, variances
    assert variances[("early", "count", "late")] == 40 - 47, variances

    # two counts out of order: the second changes nothing (not even the version)
    o = model()
    o.apply(mv("receipt", "B", "s", 9, at(5)))
    o.apply(mv("count", "B", "s", 12, at(7)))
    v = row(o, "B", "s")
    o.apply(mv("count", "B", "s", 30, at(6)))
    assert row(o, "B", "s") == v and v["on_hand"] == 12 and v["count_variance"] == 3, (row(o, "B", "s"), v)

    # a count more than count.window.ms before the row's newest change
    o = model()
    o.apply(mv("sale", "SKU-1", "store-12", 1, oracle.parse_rfc3339_ms("2026-12-04T09:00:00Z")))
    c = mv("count", "SKU-1", "store-12", 5, oracle.parse_rfc3339_ms("2026-12-01T06:00:00Z"))
    c["movement_id"] = "count:ST-3:0"
    o.apply(c)
    assert o.refused == [(c, "count:ST-3:0: count at 2026-12-01T06:00:00.000Z is more than count.window.ms "
                             "(172800000 ms) before the newest change of SKU-1 at store-12 "
                             "(2026-12-04T09:00:00.000Z)")], o.refused
    assert row(o, "SKU-1", "store-12")["on_hand"] == -1 and row(o, "SKU-1", "store-12")["last_count_at"] is None

    # a change dated 1 h ahead is placed when it is applied: a count after that excludes it
    o = model()
    now = T0
    o.apply(mv("receipt", "D", "s", 10, now - H))
    o.apply(mv("sale", "D", "s", 3, now + H, _applied_at=now))
    o.apply(mv("count", "D", "s", 20, now + 2000))
    r = row(o, "D", "s")
    assert (r["on_hand"], r["count_variance"]) == (20, 13), r
    o = model()  # within clock.skew.max.ms it keeps its own time: the count is before it
    o.apply(mv("receipt", "D", "s", 10, now - H))
    o.apply(mv("sale", "D", "s", 3, now + 4 * M, _applied_at=now))
    o.apply(mv("count", "D", "s", 20, now + 2000))
    assert row(o, "D", "s")["on_hand"] == 17, row(o, "D", "s")

    # network row: the latest count of any location, the sum of the variances
    o = model()
    o.apply(mv("count", "E", "a", 5, at(6)))
    o.apply(mv("count", "E", "b", 2, at(7)))
    n = row(o, "E", "*")
    assert (n["on_hand"], n["last_count_at"], n["count_variance"]) == (7, at(7), 7), n


def fields(r):
    return {f: r[f] for f in ("on_hand", "unsellable", "incoming", "in_transit_out", "available", "on_order")}


def test_transfer_steps():
    day = T0 - T0 % (24 * H)
    o = model(policies=[("SKU-T", "store-12", 10, 24, 4)])
    o.apply(mv("receipt", "SKU-T", "dc-1", 100, day))
    o.apply(mv("receipt", "SKU-T", "store-12", 20, day))
    assert not o.reorders
    t = {"transfer_id": "TR-9"}
    ship = mv("transfer_out", "SKU-T", "dc-1", 24, day + H, other_location_id="store-12", **t)
    o.apply(ship)
    assert fields(row(o, "SKU-T", "dc-1")) == dict(on_hand=76, unsellable=0, incoming=0, in_transit_out=24,
                                                   available=76, on_order=0)
    assert fields(row(o, "SKU-T", "store-12")) == dict(on_hand=20, unsellable=0, incoming=24, in_transit_out=0,
                                                       available=20, on_order=0)
    assert fields(row(o, "SKU-T", "*")) == dict(on_hand=96, unsellable=0, incoming=24, in_transit_out=24,
                                                available=96, on_order=0)
    o.apply(mv("sale", "SKU-T", "store-12", 15, day + H + M))  # position 5 + 24 incoming: no reorder
    assert not o.reorders, o.reorders
    recv = mv("transfer_in", "SKU-T", "store-12", 10, day + 2 * H, other_location_id="dc-1", rejected=2, **t)
    o.apply(recv)
    assert fields(row(o, "SKU-T", "store-12")) == dict(on_hand=13, unsellable=2, incoming=14, in_transit_out=0,
                                                       available=13, on_order=0)
    assert fields(row(o, "SKU-T", "dc-1"))["in_transit_out"] == 14
    assert fields(row(o, "SKU-T", "*")) == dict(on_hand=89, unsellable=2, incoming=14, in_transit_out=14,
                                                available=89, on_order=0)
    assert not o.reorders, o.reorders  # 13 + 14 > 10
    cancel = mv("transfer_cancel", "SKU-T", "dc-1", 24, day + 3 * H, other_location_id="store-12", **t)
    o.apply(cancel)
    assert fields(row(o, "SKU-T", "dc-1")) == dict(on_hand=90, unsellable=0, incoming=0, in_transit_out=0,
                                                   available=90, on_order=0)
    # store-12's position falls to 13 - nothing in transit: above 10, still no reorder
    assert fields(row(o, "SKU-T", "store-12")) == dict(on_hand=13, unsellable=2, incoming=0, in_transit_out=0,
                                                       available=13, on_order=0)
    assert fields(row(o, "SKU-T", "*"))["in_transit_out"] == 0 and ("TR-9", "SKU-T") not in o.transfers
    assert not o.reported and not o.refused
    # a second cancel: nothing in transit, reported, nothing returned
    cancel2 = mv("transfer_cancel", "SKU-T", "dc-1", 24, day + 4 * H, other_location_id="store-12", **t)
    o.apply(cancel2)
    assert o.reported == [(cancel2, "%s: transfer TR-9 SKU-T: canceled with no units in transit: nothing returned"
                           % cancel2["movement_id"])], o.reported
    # a receipt of a transfer never shipped: applied at the destination, reported
    lost = mv("transfer_in", "SKU-T", "store-12", 5, day + 5 * H, other_location_id="dc-1", transfer_id="TR-X")
    o.apply(lost)
    assert row(o, "SKU-T", "store-12")["on_hand"] == 18 and row(o, "SKU-T", "store-12")["incoming"] == 0
    assert o.reported[-1][1] == ("%s: transfer TR-X SKU-T: received 5 units, 0 were in transit (never shipped, or "
                                 "received or canceled already): applied at store-12" % lost["movement_id"])
    # reorders at the other end of a transfer movement: a cancel takes store-12's incoming away
    o2 = model(policies=[("SKU-U", "store-12", 10, 24, 4)])
    o2.apply(mv("transfer_out", "SKU-U", "dc-1", 12, day, other_location_id="store-12", transfer_id="TR-U"))
    c = mv("transfer_cancel", "SKU-U", "dc-1", 12, day + H, other_location_id="store-12", transfer_id="TR-U")
    o2.apply(c)
    ids = [e["event_id"] for e in o2.reorders]
    assert "reorder:%s:store-12" % c["movement_id"] in ids, ids
    e = next(e for e in o2.reorders if e["event_id"].endswith(":store-12"))
    assert e["quantity"] == 24 and e["location_id"] == "store-12" and e["cause_movement_id"] == c["movement_id"], e
    # the source dc-1 (default policy rp -100) never reorders
    assert all(e["location_id"] == "store-12" for e in o2.reorders), o2.reorders


def test_generate():
    a = oracle.generate(11, 4000, n_skus=80, n_locations=8, now_ms=T0)
    b = oracle.generate(11, 4000, n_skus=80, n_locations=8, now_ms=T0)
    assert [(i.topic, i.key, i.value) for i in a.inputs] == [(i.topic, i.key, i.value) for i in b.inputs]
    assert max(m["occurred_at"] for i in a.inputs for m in i.movements if m["type"] not in oracle.RESERVATION_TYPES
               ) < T0, "a change dated after now_ms"
    st = oracle.generate(5, 60000, n_skus=300, n_locations=12, reservation_rate=0.0, now_ms=T0)
    o = oracle.StockOracle(st.policy_table())
    for i in st.inputs:
        for m in i.movements:
            o.apply(m)
    seen = oracle.check_coverage(o)
    stock = o.stock()
    oracle.check_network_sums(stock)
    oracle.check_levels(stock)
    return dict(seen)


def main():
    n = test_counts_order_free()
    print("counts: %d random rows, every arrival order gives the on_hand the times give" % n)
    test_contract_examples()
    print("counts: the contract's examples")
    test_transfer_steps()
    print("transfers: every field after each step, reports, reorders at the other end")
    print("generate(): deterministic; in-order replay covers %s" % test_generate())
    print("PASS")


if __name__ == "__main__":
    sys.exit(main())
