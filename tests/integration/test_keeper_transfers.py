"""Transfers and counts as of their time in inv-stock against the real broker
(CONTRACT.md, "Transfers" and "Counts as of their time").

StockMovements are produced straight to inventory.movements (keyed by SKU),
one scenario per SKU, and inv-stock applies them:

  a. a 06:00 count of 40, a 05:55 sale of 3 and a 06:05 sale of 2, after a
     05:00 receipt of 50, arriving in three orders on three SKUs: on_hand 38
     and last_count_at 06:00 on each, count_variance the count's against what
     the row held as of 06:00 when the count arrived (-10, -10, -7);
  b. two counts out of order (07:00 first, then 06:00): the second changes
     nothing, not even the version;
  c. a count more than count.window.ms (48 h) before its row's newest change
     (the contract's example, 3 days 3 hours before it): the DLQ with the
     contract's reason, the row unchanged;
  d. a sale dated 1 h ahead, then a count dated after it was applied: the sale
     is placed at the moment it was applied, so the count covers it (on_hand =
     counted, variance against the row with the sale);
  e. 24 units shipped dc-1 -> store-12 (policy: reorder point 10, 24, safety
     stock 4), 18 sold at store-12, 10 received with 2 rejected, the rest
     canceled: on_hand, unsellable, incoming and in_transit_out of both rows
     and of the network row after each step, and the reorder at store-12
     (event id reorder:<cancel movement id>:store-12) once the cancel takes
     its incoming away;
  f. a receipt of a transfer never shipped: applied at the destination,
     reported to the DLQ with the contract's reason, and a later movement of
     the same SKU (so of the same partition) is applied: no stall.

At the end the whole of inventory.stock, the reorders, the shortages and the
DLQ equal the independent model (tests/support/oracle.py) replaying the
committed movements.
"""
import json
import subprocess
import sys
import time

import oracle
from invtest import bin, murmur2_partition, wait_until

PARTITIONS = 3
H, M = 3600 * 1000, 60 * 1000
T0 = time.monotonic()
NOW = int(time.time() * 1000)
DAY = NOW - NOW % (24 * H) - 24 * H  # yesterday, 00:00 UTC
DEFAULT = (-100, 1, 0)               # no reorders, no low stock unless a policy says so
POLICY_T = {"sku": "SKU-T", "location_id": "store-12", "reorder_point": 10, "reorder_quantity": 24,
            "safety_stock": 4}


def log(msg, *args):
    sys.stdout.write("[%7.1fs] %s\n" % (time.monotonic() - T0, msg % args if args else msg))
    sys.stdout.flush()


def at(h, m=0, day=DAY):
    return day + h * H + m * M


def mv(typ, event, sku, loc, q, when, **extra):
    m = {"movement_id": "%s:%s:0" % (typ, event), "sku": sku, "location_id": loc,
         "channel": "store" if typ == "sale" else None, "type": typ, "quantity": q,
         "occurred_at": oracle.rfc3339_ms(when), "source": "transfers-test"}
    m.update(extra)
    return m


def transfer(typ, event, sku, loc, other, q, when, tid="TR-9", rejected=0):
    return mv(typ, event, sku, loc, q, when, transfer_id=tid, other_location_id=other, rejected=rejected)


def produce(rig, moves):
    """Produce movements in order (each SKU to its partition); returns
    {partition: offset of its last record}."""
    p = rig.producer()
    last, errors = {}, []

    def cb(err, msg):
        if err is not None:
            errors.append(err)
        else:
            last[msg.partition()] = max(last.get(msg.partition(), -1), msg.offset())
    for m in moves:
        k = m["sku"].encode()
        p.produce(rig.topic["movements"], key=k, value=json.dumps(m, separators=(",", ":")).encode(),
                  partition=murmur2_partition(k, PARTITIONS), on_delivery=cb)
    assert p.flush(60) == 0 and not errors, errors
    return last


def applied(rig, moves, keeper):
    """Produce moves and wait until inv-stock committed past them."""
    last = produce(rig, moves)
    rig.wait_keeper_done(last, 90, procs=[keeper])
    return rig.read_stock()


def pick(row, *fields):
    return {f: row.get(f) for f in fields}


TRANSIT = ("on_hand", "unsellable", "incoming", "in_transit_out")


def transfers_listed(rig, sku):
    """(shipped, received, canceled, in_transit) of each open line of sku that
    `invctl transfers SKU --json` lists from the running instance's LMDB."""
    r = subprocess.run([bin("invctl"), "--state-dir", rig.state_dir("stock-0"), "transfers", sku, "--json"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode == 1 and "no open transfer of" in r.stderr:
        return []
    assert r.returncode == 0, (r.returncode, r.stderr)
    lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    assert all(l["sku"] == sku and l["transfer_id"] == "TR-9" for l in lines), lines
    return [(l["shipped"], l["received"], l["canceled"], l["in_transit"]) for l in lines]


def main():
    rig = oracle.KeeperRig("keeper-transfers", PARTITIONS, keeper_conf={
        "policy.default.reorder_point": DEFAULT[0], "policy.default.reorder_quantity": DEFAULT[1],
        "policy.default.safety_stock": DEFAULT[2]})
    applied_at = {}  # movement id -> when the test saw it applied (the future-dated sale of d)
    try:
        rig.create_topics()
        rig.produce([("policies", b"SKU-T|store-12", json.dumps(POLICY_T).encode())])
        keeper = rig.start_keeper("stock-0")

        # ---- a, b, c, f in one go
        a = {"early": lambda s: mv("sale", "S-0555-" + s, s, "store-1", 3, at(5, 55)),
             "late": lambda s: mv("sale", "S-0605-" + s, s, "store-1", 2, at(6, 5)),
             "count": lambda s: mv("count", "C-0600-" + s, s, "store-1", 40, at(6))}
        orders = {"SKU-A1": ("late", "count", "early"), "SKU-A2": ("count", "early", "late"),
                  "SKU-A3": ("early", "late", "count")}
        moves = []
        for sku, order in orders.items():
            moves.append(mv("receipt", "GR-0500-" + sku, sku, "store-1", 50, at(5)))
            moves += [a[k](sku) for k in order]
        moves += [mv("receipt", "GR-B", "SKU-B", "store-1", 9, at(5)),
                  mv("count", "C-0700-B", "SKU-B", "store-1", 12, at(7))]
        # the contract's example, as many days back: its newest change 3 d 3 h after the count
        c_change, c_at = at(9), at(6) - 3 * 24 * H
        c_count = mv("count", "ST-3", "SKU-1", "store-12", 7, c_at)
        moves += [mv("receipt", "GR-C", "SKU-1", "store-12", 5, c_change - H),
                  mv("sale", "S-C", "SKU-1", "store-12", 1, c_change), c_count]
        f_recv = transfer("transfer_in", "TR-404-recv", "SKU-F", "store-5", "dc-1", 5, at(8), tid="TR-404")
        f_sale = mv("sale", "S-F", "SKU-F", "store-5", 1, at(8, 30))
        moves += [f_recv, f_sale]
        stock = applied(rig, moves, keeper)

        for sku, order in orders.items():
            r = stock[(sku, "store-1")]
            log("a %s (arrival %s): on_hand %s, last_count_at %s, count_variance %s", sku, "/".join(order),
                r["on_hand"], r.get("last_count_at"), r.get("count_variance"))
        got = {sku: pick(stock[(sku, "store-1")], "on_hand", "last_count_at") for sku in orders}
        assert all(g == {"on_hand": 38, "last_count_at": at(6)} for g in got.values()), got
        variances = {sku: stock[(sku, "store-1")].get("count_variance") for sku in orders}
        assert variances == {"SKU-A1": -10, "SKU-A2": -10, "SKU-A3": -7}, variances
        log("a: on_hand 38 whatever the order; variances %s", variances)

        b_before = stock[("SKU-B", "store-1")]
        assert pick(b_before, "on_hand", "last_count_at", "count_variance") == {
            "on_hand": 12, "last_count_at": at(7), "count_variance": 3}, b_before
        stock = applied(rig, [mv("count", "C-0600-B", "SKU-B", "store-1", 30, at(6))], keeper)
        assert stock[("SKU-B", "store-1")] == b_before, (stock[("SKU-B", "store-1")], b_before)
        log("b: the 06:00 count after the 07:00 one changed nothing (version %d)", b_before["version"])

        c_row = stock[("SKU-1", "store-12")]
        assert pick(c_row, "on_hand", "last_count_at", "count_variance") == {
            "on_hand": 4, "last_count_at": None, "count_variance": 0}, c_row
        dlq = {json.loads(v)["movement_id"]: dict(h)["inv.error"].decode() for k, v, h, *_ in rig.read_dlq()}
        want_c = ("count:ST-3:0: count at %s is more than count.window.ms (172800000 ms) before the newest change "
                  "of SKU-1 at store-12 (%s)" % (oracle.rfc3339_ms(c_at), oracle.rfc3339_ms(c_change)))
        assert dlq.get("count:ST-3:0") == want_c, dlq
        log("c: stale count dead-lettered: %s", want_c)

        want_f = ("transfer_in:TR-404-recv:0: transfer TR-404 SKU-F: received 5 units, 0 were in transit (never "
                  "shipped, or received or canceled already): applied at store-5")
        assert dlq.get("transfer_in:TR-404-recv:0") == want_f, dlq
        f_row = stock[("SKU-F", "store-5")]
        assert pick(f_row, *TRANSIT) == {"on_hand": 4, "unsellable": 0, "incoming": 0, "in_transit_out": 0}, f_row
        # the source's row is evaluated too: nothing in transit there, and nothing else
        src = stock[("SKU-F", "dc-1")]
        assert pick(src, *TRANSIT) == {"on_hand": 0, "unsellable": 0, "incoming": 0, "in_transit_out": 0}, src
        log("f: receipt of an unknown transfer applied at store-5 and reported; the sale after it applied")

        # ---- d: a sale dated 1 h ahead is placed when it is applied
        d_now = int(time.time() * 1000)
        d_sale = mv("sale", "S-D", "SKU-D", "store-1", 3, d_now + H)
        applied(rig, [mv("receipt", "GR-D", "SKU-D", "store-1", 10, d_now - H), d_sale], keeper)
        seen = int(time.time() * 1000)
        applied_at[d_sale["movement_id"]] = seen
        time.sleep(0.05)
        count_at = int(time.time() * 1000)
        stock = applied(rig, [mv("count", "C-D", "SKU-D", "store-1", 20, count_at)], keeper)
        d_row = stock[("SKU-D", "store-1")]
        assert pick(d_row, "on_hand", "count_variance", "last_count_at") == {
            "on_hand": 20, "count_variance": 13, "last_count_at": count_at}, d_row
        log("d: the future-dated sale is covered by a count dated after its application: on_hand 20, variance 13")

        # ---- e: ship 24, receive 10 (2 rejected), cancel
        e_start = at(9)
        setup = [mv("receipt", "GR-E1", "SKU-T", "dc-1", 100, e_start),
                 mv("receipt", "GR-E2", "SKU-T", "store-12", 20, e_start)]
        ship = transfer("transfer_out", "TR-9-ship", "SKU-T", "dc-1", "store-12", 24, e_start + H)
        sale = mv("sale", "S-E", "SKU-T", "store-12", 18, e_start + H + M)  # position 2 + 24 incoming: no reorder
        recv = transfer("transfer_in", "TR-9-recv", "SKU-T", "store-12", "dc-1", 10, e_start + 2 * H, rejected=2)
        cancel = transfer("transfer_cancel", "TR-9-cancel", "SKU-T", "dc-1", "store-12", 24, e_start + 3 * H)
        steps = [
            ("setup", setup, {"dc-1": (100, 0, 0, 0), "store-12": (20, 0, 0, 0), "*": (120, 0, 0, 0)}),
            ("shipped 24", [ship], {"dc-1": (76, 0, 0, 24), "store-12": (20, 0, 24, 0), "*": (96, 0, 24, 24)}),
            ("18 sold at store-12", [sale], {"dc-1": (76, 0, 0, 24), "store-12": (2, 0, 24, 0),
                                             "*": (78, 0, 24, 24)}),
            ("received 10, 2 rejected", [recv], {"dc-1": (76, 0, 0, 14), "store-12": (10, 2, 14, 0),
                                                 "*": (86, 2, 14, 14)}),
            ("canceled", [cancel], {"dc-1": (90, 0, 0, 0), "store-12": (10, 2, 0, 0), "*": (100, 2, 0, 0)}),
        ]
        for what, ms, want in steps:
            stock = applied(rig, ms, keeper)
            got = {loc: tuple(stock[("SKU-T", loc)].get(f) for f in TRANSIT) for loc in want}
            assert got == want, "e, %s: (on_hand, unsellable, incoming, in_transit_out) %s, want %s" % (
                what, got, want)
            log("e, %s: %s", what, got)
            open_lines = transfers_listed(rig, "SKU-T")
            want_lines = {"setup": [], "shipped 24": [(24, 0, 0, 24)], "18 sold at store-12": [(24, 0, 0, 24)],
                          "received 10, 2 rejected": [(24, 10, 0, 14)], "canceled": []}[what]
            assert open_lines == want_lines, "e, %s: invctl transfers SKU-T: %s, want %s" % (
                what, open_lines, want_lines)
        reorders = [e for e in rig.read_events("reorders") if e["sku"] == "SKU-T"]
        assert [(e["event_id"], e["location_id"], e["quantity"]) for e in reorders] == [
            ("reorder:transfer_cancel:TR-9-cancel:0:store-12", "store-12", 24)], reorders
        assert stock[("SKU-T", "store-12")]["on_order"] == 24, stock[("SKU-T", "store-12")]
        log("e: the cancel took store-12's position to 10: one reorder of 24 there, %s", reorders[0]["event_id"])

        # ---- everything against the model
        movements = rig.read_movements()
        table = oracle.PolicyTable(DEFAULT)
        table.apply(b"SKU-T|store-12", json.dumps(POLICY_T).encode())
        o = oracle.StockOracle(table)
        for p in sorted(movements):
            for m in movements[p]:
                if m["movement_id"] in applied_at:
                    m["_applied_at"] = applied_at[m["movement_id"]]
                o.apply(m)
        stock = rig.read_stock()
        dlq = {json.loads(v)["movement_id"]: dict(h)["inv.error"].decode() for k, v, h, *_ in rig.read_dlq()}
        oracle.compare_stock(stock, o.stock())
        oracle.check_network_sums(stock)
        oracle.check_levels(stock)
        oracle.compare_events(rig.read_events("reorders"), o.reorders, "reorders")
        oracle.compare_events(rig.read_events("shortages"), o.shortages, "shortages")
        want_dlq = {m["movement_id"]: r for m, r in o.refused + o.reported}
        assert dlq == want_dlq, "DLQ %s, the model's %s" % (dlq, want_dlq)
        log("inventory.stock (%d rows), reorders, shortages and the DLQ (%d) equal the model", len(stock), len(dlq))
        for p, code in rig.stop():
            assert code == 0, "%s exit %s" % (p.role, code)
        log("ok")
        return 0
    finally:
        rig.cleanup()


if __name__ == "__main__":
    sys.exit(main())
