"""inv-stock against an independent oracle (issue 5, "Must show", first item).

A seeded random stream (tests/support/oracle.py: >= 200k inputs over 600
SKUs and 24 locations, every channel, both return dispositions, receipts,
signed adjustments, counts (some dated late, a few stale), sales dated
late (some before a count of their row that comes earlier), reservations,
transfers (shipped, received in parts with rejected units, canceled,
over-received), byte-identical and changed re-sends, ~1.5% malformed inputs
of 32 kinds, JSON and Avro, a few sales at location "*" and an int64
overflow that only the keeper can refuse) and reorder policies (per
location, `sku|*`, updated, deleted, invalid ones) go through inv-sale,
inv-return, inv-restock, inv-reserve, inv-transfer and inv-stock on unique
6-partition topics. Then:

  * inventory.movements holds exactly the movements of the valid inputs,
    re-sends included, keyed and partitioned by murmur2(sku);
  * the oracle replays the committed movements partition by partition (the
    order the keeper applies them) and the final inventory.stock (read
    committed, last value per key) equals it for every (sku, location) and
    `sku|*` row: on_hand, unsellable, on_order, available, version,
    updated_at, committed, incoming, in_transit_out, last_count_at,
    count_variance, and the inv.shortage changelog header;
  * inventory.reorders and inventory.shortages equal the oracle's events
    exactly, and also obey the rules on their own (oracle.check_*_rules:
    trigger and quantity, no second reorder before the position falls to the
    point again, alternating shortage transitions, unique deterministic ids);
    network rows are the sums of their locations;
  * the DLQ holds every malformed input once (with reason and source
    headers) plus exactly the movements the oracle refuses (location "*",
    overflow, counts more than count.window.ms behind their row) or applies
    and reports (receipts beyond what is in transit, cancels with nothing in
    transit), from the movements topic;
  * /healthz is 200 once caught up, /metrics counts the applied movements by
    type, the duplicates, reorders, shortages and dead letters exactly,
    /stock/<sku> agrees with inventory.stock, and so does `invctl stock`;
  * every program stops with exit 0 on SIGTERM.

INV_TEST_SCALE (default 1) scales the number of inputs, INV_TEST_SEED the seed;
INV_TEST_TRANSFER_RATE and INV_TEST_LATE_RATE (generate()'s transfer_rate and
late_rate, 0 turns them off) narrow the stream down when looking for a fault.
"""
import json
import os
import sys
import time
import urllib.parse

import oracle
from invtest import bin, run, wait_until

SCALE = float(os.environ.get("INV_TEST_SCALE", "1"))
SEED = int(os.environ.get("INV_TEST_SEED", "20261122"))
N_EVENTS = max(2000, int(200000 * SCALE))
RATES = {k: float(os.environ[v]) for k, v in (("transfer_rate", "INV_TEST_TRANSFER_RATE"),
                                               ("late_rate", "INV_TEST_LATE_RATE")) if v in os.environ}
PARTITIONS = 6


def log(msg, *args):
    sys.stdout.write("[%7.1fs] %s\n" % (time.monotonic() - T0, msg % args if args else msg))
    sys.stdout.flush()


T0 = time.monotonic()


def check_http_stock(port, skus, stock):
    """/stock/<sku> (one read txn) agrees with inventory.stock row by row."""
    for sku in skus:
        status, body = oracle.http_get(port, "/stock/" + urllib.parse.quote(sku, safe=""))
        assert status == 200, "/stock/%s: HTTP %d %s" % (sku, status, body[:300])
        doc = json.loads(body)
        assert doc["sku"] == sku, doc
        rows = list(doc["locations"]) + ([doc["network"]] if doc.get("network") else [])
        got = {r["location_id"]: r for r in rows}
        want = {loc: r for (s, loc), r in stock.items() if s == sku}
        assert set(got) == set(want), "/stock/%s: rows %s, inventory.stock has %s" % (
            sku, sorted(got), sorted(want))
        for loc, w in want.items():
            g = got[loc]
            for f in ("on_hand", "unsellable", "on_order", "available", "version", "incoming", "in_transit_out",
                      "count_variance"):
                assert g.get(f) == w[f], "/stock/%s %s: %s %r, inventory.stock %r" % (sku, loc, f, g.get(f), w[f])
            assert oracle.parse_rfc3339_ms(g["updated_at"]) == w["updated_at"], (sku, loc, g, w)
            lc = g.get("last_count_at")
            assert (lc if lc is None else oracle.parse_rfc3339_ms(lc)) == w["last_count_at"], (sku, loc, g, w)
            assert g.get("shortage_state", "none") in (w.get("shortage") or "none",), (sku, loc, g, w)
    status, _ = oracle.http_get(port, "/stock/" + urllib.parse.quote("no such sku", safe=""))
    assert status == 404, "/stock of an unknown SKU: HTTP %d" % status


def check_invctl_stock(rig, state, skus, stock):
    """`invctl stock SKU [LOCATION] --json --state-dir DIR` (a read-only LMDB
    txn on the running instance's state) agrees with inventory.stock."""
    for sku in skus:
        want = {loc: row for (s, loc), row in stock.items() if s == sku}
        for args, rows in (([sku], want), ([sku, sorted(l for l in want if l != "*")[0]], None)):
            r = run([bin("invctl"), "stock"] + args + ["--json", "--state-dir", rig.state_dir(state)],
                    env=rig.env, timeout=60)
            assert r.returncode == 0, "invctl stock %s: exit %d\n%s" % (args, r.returncode, r.stderr)
            got = {}
            for line in r.stdout.splitlines():
                if line.strip():
                    d = json.loads(line)
                    got[d["location_id"]] = d
            exp = rows if rows is not None else {args[1]: want[args[1]]}
            assert set(got) == set(exp), "invctl stock %s: rows %s, want %s" % (args, sorted(got), sorted(exp))
            for loc, w in exp.items():
                g = got[loc]
                for f in ("on_hand", "unsellable", "on_order", "available", "version"):
                    assert g[f] == w[f], "invctl stock %s %s: %s %r, inventory.stock %r" % (sku, loc, f, g[f], w[f])
                assert oracle.parse_rfc3339_ms(g["updated_at"]) == w["updated_at"], (g, w)
                assert g["shortage_state"] == (w.get("shortage") or "none"), (
                    "invctl stock %s %s: shortage_state %r, changelog header %r" % (
                        sku, loc, g["shortage_state"], w.get("shortage")))


def main():
    stream = oracle.generate(SEED, N_EVENTS, **RATES)
    stats = stream.stats()
    log("stream: seed %d, %d inputs, %d movements, %d malformed, %d re-sent (%d changed), %d policies",
        SEED, stats["inputs"], stats["movements"], stats["malformed"], stats["resent"] + stats["resent-changed"],
        stats["resent-changed"], len(stream.policies))
    assert stats["malformed"] >= 0.01 * stats["inputs"]
    assert all(stats["channel." + c] for c in oracle.CHANNELS)
    assert all(stats["type." + t] for t in oracle.MOVEMENT_TYPES)
    assert RATES.get("transfer_rate", 1) == 0 or all(stats["type." + t] for t in oracle.TRANSFER_TYPES), stats
    assert RATES.get("late_rate", 1) == 0 or (
        stats["late-sale-before-a-count"] and stats["late-count"] and stats["stale-count"]), stats
    assert len(stream.skus) >= 500 and len(stream.locations) >= 20

    rig = oracle.KeeperRig("keeper-oracle", PARTITIONS)
    rig.set_default_policy(stream.default)
    port = oracle.free_port()
    try:
        rig.create_topics()
        rig.produce_policies(stream)
        keeper = rig.start_keeper("stock-0", port)
        procs = rig.start_processors(transfers=True) + [keeper]
        t_start = time.monotonic()
        rig.produce(stream.inputs)
        log("inputs produced")
        rig.wait_processors_done(900, procs)
        log("processors done (%.1fs after start)", time.monotonic() - t_start)
        movements = rig.read_movements(settle=stream)
        n_moves = sum(len(v) for v in movements.values())
        log("%d movements read back", n_moves)
        oracle.check_movements_exact(stream, movements)
        last = {p: ms[-1]["_offset"] for p, ms in movements.items()}
        rig.wait_keeper_done(last, 900, procs)
        log("inv-stock done (seen after reading the movements back): %.1fs from the first input",
            time.monotonic() - t_start)

        o = oracle.verify_outputs(rig, stream, movements, log)
        stock = o.final_stock
        log("coverage: %s", dict(oracle.check_coverage(o)))
        pol = stream.policy_table()

        # HTTP while running
        status, body = wait_until(lambda: (lambda r: r if r[0] == 200 else None)(oracle.http_get(port, "/healthz")),
                                  60, "/healthz 200 once caught up")
        assert json.loads(body)["ready"] is True, body

        def metrics_match():
            _, text = oracle.http_get(port, "/metrics")
            m = oracle.parse_metrics(text.decode())
            types = oracle.MOVEMENT_TYPES + oracle.TRANSFER_TYPES
            by_type = {t: m.get(("inv_stock_movements_total", (("type", t),)), 0) for t in types}
            got = {"by_type": by_type,
                   "duplicates": m.get(("inv_stock_duplicates_total", ()), None),
                   "reorders": m.get(("inv_stock_reorders_total", ()), None),
                   "dead_letters": m.get(("inv_stock_dead_letters_total", ()), None),
                   "invalid_policies": m.get(("inv_stock_invalid_policies_total", ()), None),
                   "shortages": {s: m.get(("inv_stock_shortages_total", (("state", s),)), 0)
                                 for s in ("low", "out_of_stock", "restored")}}
            want = {"by_type": {t: float(o.applied[t]) for t in types},
                    "duplicates": float(o.duplicates), "reorders": float(len(o.reorders)),
                    "dead_letters": float(len(o.refused) + len(o.reported) + pol.invalid),
                    "invalid_policies": float(pol.invalid),
                    "shortages": {s: float(sum(1 for e in o.shortages if e["state"] == s))
                                  for s in ("low", "out_of_stock", "restored")}}
            metrics_match.last = (got, want, m.get(("inv_stock_transactions_total", (("outcome", "abort"),))))
            return got == want
        try:
            wait_until(metrics_match, 30, "/metrics to count what the oracle applied")
        except TimeoutError:
            got, want, aborts = metrics_match.last
            raise AssertionError("/metrics (aborted transactions: %s):\n got  %s\n want %s" % (aborts, got, want))
        log("/healthz 200, /metrics exact (%d movements by type)", sum(o.applied.values()))

        skus = sorted({k[0] for k in stock}, key=lambda s: (-sum(1 for k in stock if k[0] == s), s))
        sample = skus[:3] + [s for s in skus if not s.isascii()][:2] + [s for s in skus if " " in s][:2] + \
            ["SKU-OVERFLOW"]
        sample = list(dict.fromkeys(sample))
        check_http_stock(port, sample, stock)
        log("/stock/<sku> agrees for %s", sample)
        check_invctl_stock(rig, "stock-0", sample[:3], stock)
        log("invctl stock agrees")

        for p, rc in rig.stop():
            assert rc == 0, "%s exit %s on SIGTERM\n%s" % (p.role, rc, p.stderr_text()[-3000:])
        log("all programs stopped with exit 0")
    finally:
        rig.cleanup()


if __name__ == "__main__":
    main()
    print("PASS")
