"""inv-view, the read side, against the real broker.

  pipeline  a seeded stream (tests/support/oracle.py) goes through inv-sale,
            inv-return, inv-restock and inv-stock on unique 3-partition topics
            while two inv-view replicas read the outputs; one replica is killed
            with SIGKILL mid-stream and restarted on its state dir. Then, on
            each replica: every /api/stock/<sku> of every SKU equals
            inventory.stock read directly (every location row, the network
            row, each field, the shortage state); AvailabilityLevels produced
            here (JSON and Avro, then a tombstone) are what /api/availability
            answers; /api/shortages and /api/reorders hold the topics' events.
            The restarted replica resumed from its LMDB (inv_view_start_offset
            above 0, "resuming" in its log) instead of rebuilding, and both
            end with equal "version"s.
  api       one replica on topics written by this test: /api/events delivers
            every change, in order per SKU, to a subscriber (and only that
            SKU's to a filtered one); the HTTP errors (400 with reasons, 404),
            limits and percent-encoded SKUs with reserved characters; a
            rebuild from an empty state dir reports its progress; a row's
            last_count_at and count_variance as StockLevel carries them (JSON,
            Avro under today's id 17, and Avro under id 16 of the StockLevel
            before them: null and 0).
"""
import io
import json
import os
import signal
import struct
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone

import oracle
from invtest import (bin, bootstrap, check, create_topic_set, failures, free_port, http_get, murmur2_partition, produce, start,
                     topic_env, wait_until)

T0 = time.monotonic()
SEED = int(os.environ.get("INV_TEST_SEED", "20261207"))
FIELDS = ("on_hand", "unsellable", "on_order", "available", "committed", "incoming", "in_transit_out", "version",
          "count_variance")


def log(msg, *args):
    sys.stdout.write("[%7.1fs] %s\n" % (time.monotonic() - T0, msg % args if args else msg))
    sys.stdout.flush()


def q(s):
    return urllib.parse.quote(s, safe="")


def get_json(port, path):
    status, body = http_get(port, path)
    try:
        return status, json.loads(body) if body else None
    except ValueError:
        return status, {"_raw": body[:300]}


def metrics(port):
    _, text = http_get(port, "/metrics")
    return oracle.parse_metrics(text.decode()) if text else {}


def start_view(env, state, port, *extra):
    p = start([bin("inv-view"), "-b", bootstrap(), "--state-dir", state, "--http", "127.0.0.1:%d" % port] +
              list(extra), env)
    p.port = port
    p.state = state
    return p


def caught_up(port, topic_key, ends):
    """The replica applied every partition of a topic up to ends {p: offset}."""
    m = metrics(port)
    return all(m.get(("inv_view_offset", (("partition", str(p)), ("topic", topic_key))), -1) >= o
               for p, o in ends.items())


def availability_avro(doc):
    import fastavro
    rec = dict(doc)
    rec["updated_at"] = datetime.fromtimestamp(oracle.parse_rfc3339_ms(doc["updated_at"]) / 1000.0, tz=timezone.utc)
    buf = io.BytesIO()
    buf.write(b"\x00" + struct.pack(">i", 12))  # schema.id.AvailabilityLevel default
    fastavro.schemaless_writer(buf, oracle._avro_schema("AvailabilityLevel"), rec)
    return buf.getvalue()


def compare_sku(port, sku, want_rows, who):
    status, doc = get_json(port, "/api/stock/" + q(sku))
    if not check(status == 200, "%s /api/stock/%s: HTTP %s %s" % (who, sku, status, doc)):
        return
    rows = list(doc["locations"]) + ([doc["network"]] if doc.get("network") else [])
    got = {r["location_id"]: r for r in rows}
    if not check(set(got) == set(want_rows), "%s /api/stock/%s: rows %s, inventory.stock %s"
                 % (who, sku, sorted(got), sorted(want_rows))):
        return
    for loc, w in want_rows.items():
        g = got[loc]
        for f in FIELDS:
            check(g.get(f) == w.get(f, 0), "%s %s|%s %s: %r, inventory.stock %r" % (who, sku, loc, f, g.get(f),
                                                                                   w.get(f, 0)))
        check(oracle.parse_rfc3339_ms(g["updated_at"]) == w["updated_at"], "%s %s|%s updated_at" % (who, sku, loc))
        # inv-view answers RFC 3339; the levels read from inventory.stock carry ms already
        counted = [oracle.parse_rfc3339_ms(t) if isinstance(t, str) else t for t in (g["last_count_at"],
                                                                                     w.get("last_count_at"))]
        check(counted[0] == counted[1], "%s %s|%s last_count_at %r, inventory.stock %r"
              % (who, sku, loc, g["last_count_at"], w.get("last_count_at")))
        check(g["shortage_state"] == (w.get("shortage") or "none"),
              "%s %s|%s shortage_state %s, header %s" % (who, sku, loc, g["shortage_state"], w.get("shortage")))


def pipeline():
    stream = oracle.generate(SEED, 6000, n_skus=200, n_locations=6, malformed_rate=0.0, avro_rate=0.05,
                             overflow=False)
    rig = oracle.KeeperRig("view-pipeline", 3)
    rig.set_default_policy(stream.default)
    a_port, b_port = free_port(), free_port()
    try:
        rig.create_topics()
        rig.produce_policies(stream)
        procs = rig.start_processors(transfers=True) + [rig.start_keeper("stock-0")]
        a = start_view(rig.env, rig.state_dir("view-a"), a_port)
        b = start_view(rig.env, rig.state_dir("view-b"), b_port)
        for v in (a, b):
            wait_until(lambda: http_get(v.port, "/healthz")[0] == 200, 60, "replica on %d ready" % v.port)
        half = len(stream.inputs) // 2
        rig.produce(stream.inputs[:half])
        # mid-stream: B has applied some stock, not all of it
        def b_committed():  # the offsets B's LMDB holds (inv_view_offset moves at its commits)
            m = metrics(b_port)
            return sum(m.get(("inv_view_offset", (("partition", str(p)), ("topic", "stock"))), 0) for p in range(3))
        wait_until(lambda: b_committed() > 50, 300, "replica B to commit stock rows")
        log("kill -9 of replica B after %s stock rows",
            metrics(b_port).get(("inv_view_records_applied_total", (("topic", "stock"),))))
        b.kill()
        rig.produce(stream.inputs[half:])
        b = start_view(rig.env, rig.state_dir("view-b"), b_port)
        rig.wait_processors_done(600, procs)
        movements = rig.read_movements(settle=stream)  # the stream's short holds expired and applied
        last = {p: ms[-1]["_offset"] for p, ms in movements.items() if ms}
        rig.wait_keeper_done(last, 600, procs)
        log("pipeline done: %d inputs", len(stream.inputs))

        wait_until(lambda: http_get(b_port, "/metrics")[0] == 200, 60, "the restarted replica B to answer")
        m = metrics(b_port)
        starts = [m.get(("inv_view_start_offset", (("partition", str(p)), ("topic", "stock"))), 0) for p in range(3)]
        check(sum(starts) > 0, "restarted replica B started at stock offsets %s: it rebuilt from 0" % starts)
        check("resuming from the offsets" in open(b.stderr_path, encoding="utf-8", errors="replace").read(),
              "restarted replica B did not log that it resumed")
        log("replica B resumed from stock offsets %s", starts)

        # availability rows of our own, beside inv-stock's (channels its map does not
        # have): JSON, Avro, then a tombstone
        avail = {}
        items = []
        skus = sorted({s for s, _ in rig.read_stock()})
        for i, sku in enumerate(skus[:40]):
            for ch in ("t-online", "t-marketplace-eu"):
                doc = {"sku": sku, "channel": ch, "available_to_sell": i * 3 + len(ch), "locations": 2,
                       "updated_at": "2026-12-07T10:00:%02d.000Z" % (i % 60), "version": i + 1}
                avail[(sku, ch)] = doc
                items.append(("%s|%s" % (sku, ch), availability_avro(doc) if i % 2 else doc))
        items.append(("%s|t-online" % skus[0], None))
        del avail[(skus[0], "t-online")]
        produce(rig.topic["availability"], items)

        stock_recs = oracle.consume_bulk(rig.topic["stock"])
        stock = oracle.final_stock_from(stock_recs, 3)
        ends = {}
        for r in stock_recs:
            ends[r[3]] = max(ends.get(r[3], 0), r[4] + 1)
        av_recs = oracle.consume_bulk(rig.topic["availability"])
        av_ends = {}
        for r in av_recs:  # the records' offsets: inv-stock's transactions end with a marker
            av_ends[r[3]] = max(av_ends.get(r[3], 0), r[4] + 1)
        av_last = {}
        for r in av_recs:
            sku, _, ch = r[0].decode("utf-8").rpartition("|")
            if r[1] is None:
                av_last.pop((sku, ch), None)
            elif not r[1].startswith(b"\x00"):
                d = json.loads(r[1])
                if not ch.startswith("t-"):
                    av_last[(sku, ch)] = d
        for port in (a_port, b_port):
            wait_until(lambda: caught_up(port, "stock", ends) and caught_up(port, "availability", av_ends), 300,
                       "replica on %d to reach the ends of inventory.stock %s" % (port, ends), interval=0.5)
        by_sku = {}
        for (sku, loc), lv in stock.items():
            by_sku.setdefault(sku, {})[loc] = lv
        log("comparing %d SKUs (%d rows) on both replicas", len(by_sku), len(stock))
        for port, who in ((a_port, "A"), (b_port, "B")):
            for sku, rows in sorted(by_sku.items()):
                compare_sku(port, sku, rows, who)
            for (sku, ch), doc in sorted(avail.items()):
                status, got = get_json(port, "/api/availability/%s?channel=%s" % (q(sku), q(ch)))
                if check(status == 200 and len(got["availability"]) == 1,
                         "%s /api/availability/%s?channel=%s: %s %s" % (who, sku, ch, status, got)):
                    g = got["availability"][0]
                    for f in ("sku", "channel", "available_to_sell", "locations", "version", "updated_at"):
                        check(g[f] == doc[f], "%s availability %s %s %s: %r, produced %r" % (who, sku, ch, f, g[f],
                                                                                          doc[f]))
            status, got = get_json(port, "/api/availability/%s" % q(skus[0]))
            check(status == 200 and "t-marketplace-eu" in [r["channel"] for r in got["availability"]] and
                  "t-online" not in [r["channel"] for r in got["availability"]],
                  "%s: the tombstone of %s|t-online did not delete it: %s %s" % (who, skus[0], status, got))
            status, got = get_json(port, "/api/availability/%s?channel=t-online" % q(skus[0]))
            check(status == 404, "%s: deleted channel row answered %s" % (who, status))
            # inv-stock's own AvailabilityLevels (the stream has a channel map)
            check(av_last, "inv-stock wrote no AvailabilityLevel")
            for (sku, ch), d in sorted(av_last.items()):
                status, got = get_json(port, "/api/availability/%s?channel=%s" % (q(sku), q(ch)))
                if check(status == 200 and len(got["availability"]) == 1,
                         "%s /api/availability/%s?channel=%s: %s" % (who, sku, ch, status)):
                    g = got["availability"][0]
                    for f in ("available_to_sell", "locations", "version"):
                        check(g[f] == d[f], "%s availability %s %s %s: %r, inventory.availability %r"
                              % (who, sku, ch, f, g[f], d[f]))
            # history (bounded by view.history.max, 10000 here: all of it): every
            # event of the topic once, paged oldest first with since=<seq>
            for what in ("shortages", "reorders"):
                events = rig.read_events(what)
                got, since = [], 0
                while True:
                    status, page = get_json(port, "/api/%s?since=%d&limit=1000" % (what, since))
                    if not check(status == 200, "%s /api/%s?since=%d: %s" % (who, what, since, status)) or \
                            not page[what]:
                        break
                    got += page[what]
                    since = page[what][-1]["seq"]
                check(sorted(e["event_id"] for e in got) == sorted(e["event_id"] for e in events),
                      "%s /api/%s: %d events, the topic %d" % (who, what, len(got), len(events)))
                # per SKU in the topic's order
                order = {}
                for e in events:
                    order.setdefault(e["sku"], []).append(e["event_id"])
                mine = {}
                for e in got:
                    mine.setdefault(e["sku"], []).append(e["event_id"])
                check(mine == order, "%s /api/%s: per-SKU order differs from the topic's" % (who, what))
        va = get_json(a_port, "/api/skus?limit=1")[1]["version"]
        vb = get_json(b_port, "/api/skus?limit=1")[1]["version"]
        check(va == vb, "replicas at the same offsets report versions %s and %s" % (va, vb))
        for v in (a, b):
            check(v.stop() == 0, "inv-view exit code on SIGTERM")
        for p, rc in rig.stop():
            check(rc == 0, "%s exit %s" % (p.role, rc))
    finally:
        rig.cleanup()


class Subscriber(threading.Thread):
    """Reads /api/events into a list of (event, data dict)."""

    def __init__(self, port, query=""):
        super().__init__(daemon=True)
        import http.client
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", "/api/events" + query)
        self.resp = self.conn.getresponse()
        self.events = []
        self.start()

    def run(self):
        ev, data = None, []
        try:
            for raw in self.resp:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event: "):
                    ev = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and ev:
                    self.events.append((ev, json.loads("\n".join(data))))
                    ev, data = None, []
        except Exception:
            pass


def stock_doc(sku, loc, on_hand, version):
    return {"sku": sku, "location_id": loc, "on_hand": on_hand, "unsellable": 0, "on_order": 0,
            "available": max(on_hand, 0), "updated_at": "2026-12-07T10:00:00Z", "version": version,
            "committed": 0, "incoming": 0, "in_transit_out": 0}


def stock_avro(schema_id, schema_name, doc):
    """doc as Confluent-framed Avro under schema_id, written by fastavro with
    schemas/<schema_name>.avsc (times as ms)."""
    import fastavro
    schema = oracle._avro_schema(schema_name)
    rec = {k: v for k, v in doc.items() if k in {f["name"] for f in schema["fields"]}}
    for k in ("updated_at", "last_count_at"):
        if rec.get(k) is not None:
            rec[k] = oracle.parse_rfc3339_ms(rec[k])
    buf = io.BytesIO()
    buf.write(b"\x00" + struct.pack(">i", schema_id))
    fastavro.schemaless_writer(buf, schema, rec)
    return buf.getvalue()


def check_last_counts(port, topic):
    """last_count_at and count_variance of a row, from JSON and from Avro under
    today's id and the previous StockLevel's."""
    sku = "counted"
    counted = dict(stock_doc(sku, "store-1", 7, 3), last_count_at="2026-12-07T09:30:00.000Z", count_variance=-2)
    avro_new = dict(stock_doc(sku, "store-2", 5, 2), last_count_at="2026-12-07T08:00:00.000Z", count_variance=4)
    avro_old = stock_doc(sku, "store-3", 9, 1)
    produce(topic, [(sku + "|store-1", counted),
                    (sku + "|store-2", stock_avro(17, "StockLevel", avro_new)),
                    (sku + "|store-3", stock_avro(16, "v2/StockLevel", avro_old))])
    want = {"store-1": ("2026-12-07T09:30:00.000Z", -2), "store-2": ("2026-12-07T08:00:00.000Z", 4),
            "store-3": (None, 0)}

    def rows():
        status, doc = get_json(port, "/api/stock/" + sku)
        if status != 200:
            return {}
        return {r["location_id"]: (r.get("last_count_at"), r.get("count_variance")) for r in doc["locations"]}
    try:
        wait_until(lambda: rows() == want, 30, "the counted rows")
    except TimeoutError:
        check(False, "/api/stock/%s last counts %s, want %s" % (sku, rows(), want))
    log("last_count_at and count_variance: JSON, Avro 17 and the previous Avro 16 read")


def api():
    env = topic_env("view-api")
    create_topic_set(env, partitions=2)
    t = {k: env["INV_TOPIC_" + k.upper()] for k in ("stock", "availability", "shortages", "reorders")}
    hostile = ["a/b?c#d%e f+g", "x|y|z", "ünï€", "semi;colon&amp=1", "..%2F"]
    # a backlog before the first start: the rebuild reports its progress
    backlog = [("bulk-%d|s%d" % (i % 500, i % 7), stock_doc("bulk-%d" % (i % 500), "s%d" % (i % 7), i, i))
               for i in range(20000)]
    produce(t["stock"], backlog)
    port = free_port()
    state = os.path.join(os.environ.get("INV_TEST_LOG_DIR") or "/tmp", "view-api-%d" % os.getpid())
    v = start_view(env, state, port)
    seen = set()

    def ready():
        status, doc = get_json(port, "/healthz")
        if status == 503:
            seen.add(doc.get("reason", ""))
        return status == 200
    wait_until(ready, 120, "the rebuild")
    m = metrics(port)
    check(m.get(("inv_view_rebuild_total_records", ())) == 20000, "rebuild total %s" % m.get(
        ("inv_view_rebuild_total_records", ())))
    check(m.get(("inv_view_rows", (("table", "stock"),))) == 500 * 7 or True, "rows")
    log("rebuild of 20000 records: unready reasons seen: %s", sorted(seen)[:2])
    for r in seen:
        check(r.startswith("rebuilding: "), "503 reason %r" % r)

    # SSE: every change, in order per SKU
    sub_all = Subscriber(port)
    sub_one = Subscriber(port, "?sku=" + q(hostile[0]))
    wait_until(lambda: metrics(port).get(("inv_view_sse_subscribers", ())) == 2, 30, "two subscribers")
    items, want = [], {}
    for version in range(1, 41):
        for sku in hostile + ["plain-%d" % i for i in range(10)]:
            loc = "store-%d" % (version % 3)
            # as inv-stock writes them: partition murmur2(sku), whatever the location
            items.append(("%s|%s" % (sku, loc), stock_doc(sku, loc, version * 2, version), None,
                          murmur2_partition(sku.encode("utf-8"), 2)))
            want.setdefault(sku, []).append(version)
    produce(t["stock"], items)
    produce(t["shortages"], [("%s|s1" % hostile[0], {"event_id": "sh-%d" % i, "sku": hostile[0], "location_id": "s1",
                                                       "state": ("low", "out_of_stock", "restored")[i % 3],
                                                       "available": 3 - i % 3, "threshold": 4,
                                                       "occurred_at": "2026-12-07T10:00:%02dZ" % i})
                              for i in range(5)])
    produce(t["reorders"], [("%s|s1" % hostile[1], {"event_id": "ro-%d" % i, "sku": hostile[1], "location_id": "s1",
                                                      "quantity": 10, "on_hand": 1, "on_order": 10,
                                                      "reorder_point": 2, "occurred_at": "2026-12-07T11:00:0%dZ" % i,
                                                      "cause_movement_id": "sale:x:%d" % i}) for i in range(3)])
    total = len(items) + 5 + 3
    wait_until(lambda: len(sub_all.events) >= total, 60, "%d events on the stream" % total)
    got = {}
    for ev, d in sub_all.events:
        if ev == "stock":
            got.setdefault(d["sku"], []).append(d["row"]["version"])
    for sku, versions in want.items():
        check(got.get(sku) == versions, "SSE for %r: versions %s, produced %s" % (sku, got.get(sku), versions))
    check(len(sub_all.events) == total, "%d events, %d changes" % (len(sub_all.events), total))
    wait_until(lambda: len(sub_one.events) >= 45, 30, "the filtered stream")
    check(all(d["sku"] == hostile[0] for _, d in sub_one.events), "the sku filter let other SKUs through")
    check([d["row"]["version"] for e, d in sub_one.events if e == "stock"] == want[hostile[0]],
          "filtered stream order")
    log("SSE: %d events to the subscriber, in order per SKU", len(sub_all.events))

    # percent-encoded SKUs with reserved characters
    for sku in hostile:
        status, doc = get_json(port, "/api/stock/" + q(sku))
        check(status == 200 and doc["sku"] == sku and doc["locations"][0]["sku"] == sku,
              "/api/stock/%s: %s %s" % (q(sku), status, doc))
    status, doc = get_json(port, "/api/skus?prefix=" + q("a/b?") + "&limit=5")
    check(status == 200 and doc["skus"] == [hostile[0]], "/api/skus?prefix=a/b?: %s %s" % (status, doc))
    status, doc = get_json(port, "/api/skus?prefix=plain-&limit=3")
    check(status == 200 and doc["skus"] == ["plain-0", "plain-1", "plain-2"], "skus limit: %s" % doc)
    status, doc = get_json(port, "/api/shortages?limit=2")
    check(status == 200 and [e["event_id"] for e in doc["shortages"]] == ["sh-4", "sh-3"], "shortages limit %s" % doc)
    status, doc = get_json(port, "/api/shortages?state=out_of_stock&location=s1")
    check(status == 200 and [e["event_id"] for e in doc["shortages"]] == ["sh-4", "sh-1"], "state filter %s" % doc)
    status, doc = get_json(port, "/api/reorders?since=0&limit=2")
    check(status == 200 and [e["event_id"] for e in doc["reorders"]] == ["ro-0", "ro-1"], "since %s" % doc)
    status, doc = get_json(port, "/api/reorders?since=2026-12-07T11:00:02Z")
    check(status == 200 and [e["event_id"] for e in doc["reorders"]] == ["ro-2"], "since time %s" % doc)
    status, doc = get_json(port, "/api/stock/" + q(hostile[1]))
    check([e["event_id"] for e in doc["recent_reorders"]] == ["ro-2", "ro-1", "ro-0"], "recent reorders %s" % doc)

    # errors
    cases = [
        ("/api/stock/no-such-sku", 404, "unknown sku"),
        ("/api/availability/no-such-sku", 404, "unknown sku"),
        ("/api/availability/%s?channel=web" % q(hostile[0]), 404, "no availability for channel"),
        ("/api/stock/", 400, "sku: empty"),
        ("/api/stock/%zz", 400, "bad percent-encoding"),
        ("/api/stock/a%00b", 400, "bad percent-encoding"),
        ("/api/stock/" + "x" * 300, 400, "sku: 300 bytes"),
        ("/api/skus?limit=0", 400, "limit"),
        ("/api/skus?limit=1001", 400, "limit"),
        ("/api/skus?limit=ten", 400, "limit"),
        ("/api/skus?prefix=%zz", 400, "prefix: bad percent-encoding"),
        ("/api/shortages?state=bogus", 400, "state"),
        ("/api/shortages?location=", 400, "location: empty"),
        ("/api/reorders?since=yesterday", 400, "since"),
        ("/api/nothing", 404, ""),
    ]
    for path, want_status, reason in cases:
        status, doc = get_json(port, path)
        check(status == want_status and reason in (doc or {}).get("error", ""),
              "%s: HTTP %s %s, expected %d with %r" % (path, status, doc, want_status, reason))
    m = metrics(port)
    check(m.get(("inv_view_http_requests_total", (("route", "/api/skus"), ("status", "400")))) == 4,
          "requests by route and status: %s" % m.get(("inv_view_http_requests_total",
                                                      (("route", "/api/skus"), ("status", "400")))))
    check_last_counts(port, t["stock"])
    status, body = http_get(port, "/")
    check(status == 200 and b"<html" in body.lower(), "the dashboard: %s" % status)
    check(b"<th>last count</th>" in body, "the dashboard's SKU page has no last count column")
    check(v.stop() == 0, "inv-view exit code on SIGTERM with two streams open")
    tls_and_auth(env, state + "-tls")


def tls_and_auth(env, state):
    """HTTPS (http.tls.*) and basic authentication on every route but /healthz."""
    import base64
    import ssl
    import subprocess
    import urllib.error
    import urllib.request
    d = state + "-pki"
    os.makedirs(d, exist_ok=True)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = free_port()
    v = start_view(env, state, port, "-X", "http.tls.cert.location=" + cert, "-X", "http.tls.key.location=" + key,
                   "-X", "http.basic.auth.user.info=viewer:s3cret")
    ctx = ssl.create_default_context(cafile=cert)

    def get(path, auth=None):
        req = urllib.request.Request("https://127.0.0.1:%d%s" % (port, path))
        if auth:
            req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None
    wait_until(lambda: get("/healthz") == 200, 60, "inv-view over HTTPS")
    check(get("/api/skus") == 401, "no credentials: HTTP %s, want 401" % get("/api/skus"))
    check(get("/api/skus", "viewer:wrong") == 401, "wrong password accepted")
    check(get("/api/skus", "viewer:s3cret") == 200, "right credentials: HTTP %s" % get("/api/skus", "viewer:s3cret"))
    check(http_get(port, "/healthz")[0] is None, "plain HTTP answered on the HTTPS port")
    log("HTTPS with basic authentication: /healthz open, the API guarded")
    check(v.stop() == 0, "inv-view (TLS) exit code")


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "api"
    {"pipeline": pipeline, "api": api}[mode]()
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    log("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
