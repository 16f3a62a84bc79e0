"""inv-sale, inv-return and inv-restock against the real broker (issue 4 "Must
show"; DESIGN.md "Message formats", "Topics", "Semantics").

Each scenario gets its own set of topics (created by `invctl topics create`) and
its own consumer groups, produces its inputs (with explicit partitions and
timestamps) before or while the processors run, waits until each group's
committed input offsets reach the end of its input (the transaction that
commits them also commits the outputs), then reads inventory.movements and
inventory.dlq with read_committed and compares them with what is computed
here, independently of the C code:

  * every movement exactly: value bytes (JSON in schema field order, times as
    YYYY-MM-DDTHH:MM:SS.mmmZ in UTC, channel null for restocks; or Avro in the
    Confluent framing with schema id 15), movement_id "<type>:<event_id>:<line>",
    key = SKU, partition = Java murmur2 partition of the SKU, timestamp = the
    input's timestamp, order per SKU = input order;
  * a re-sent event yields movements with the same ids (and same bytes);
  * every malformed input in the DLQ exactly once, key and value bytes
    untouched, with the decoder's exact inv.error and the inv.source.topic /
    partition / offset headers; its valid neighbours in the same batch are
    neither lost nor duplicated;
  * Avro input (fastavro, schemas/SaleEvent.avsc, schema id 14) and
    output.format=avro (decoded with fastavro and schemas/StockMovement.avsc);
  * SIGTERM stops each processor with exit 0.
"""
import io
import json
import os
import struct
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone

import fastavro
from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING

from invtest import (ROOT, bin, bootstrap, delete_topics, murmur2_partition, run, start, topic_names,
                     topic_env, unique, wait_until)

PARTITIONS = 3
BASE_TS = 1795300000000  # input record timestamps (ms), distinct per record

SALE_SCHEMA_ID, RETURN_SCHEMA_ID, RESTOCK_SCHEMA_ID, MOVEMENT_SCHEMA_ID = 14, 2, 3, 15


# ----------------------------------------------------------------- helpers

def load_schema(name):
    with open(os.path.join(ROOT, "schemas", name + ".avsc")) as f:
        return fastavro.parse_schema(json.load(f))


def avro_frame(schema_id, schema, record):
    buf = io.BytesIO()
    buf.write(b"\x00" + struct.pack(">i", schema_id))
    fastavro.schemaless_writer(buf, schema, record)
    return buf.getvalue()


def ms_of(rfc3339):
    """RFC 3339 text -> epoch ms, independently of the C parser."""
    s = rfc3339.replace("Z", "+00:00").replace("z", "+00:00")
    # Python's fromisoformat wants 0, 3 or 6 fraction digits
    if "." in s:
        head, rest = s.split(".", 1)
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        frac = (rest[:i] + "000000")[:6]
        s = head + "." + frac + rest[i:]
    dt = datetime.fromisoformat(s)
    return (int(dt.timestamp()) * 1000) + dt.microsecond // 1000


def rfc3339_of(ms):
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def create_topics_with_invctl(env):
    r = run([bin("invctl"), "-b", bootstrap(), "topics", "create", "--partitions", str(PARTITIONS)],
            env=env, timeout=60)
    assert r.returncode == 0, "invctl topics create: exit %s\n%s" % (r.returncode, r.stderr)
    admin_md = Consumer({"bootstrap.servers": bootstrap(), "group.id": unique("md")})
    try:
        def ready():
            md = admin_md.list_topics(timeout=10)
            for n in topic_names(env):
                t = md.topics.get(n)
                if t is None or t.error is not None or len(t.partitions) != PARTITIONS or \
                        any(p.leader < 0 for p in t.partitions.values()):
                    return False
            return True
        wait_until(ready, 30, "the topics invctl created")
    finally:
        admin_md.close()


class Input:
    """One record produced to an input topic: where it landed and what it was."""

    def __init__(self, topic, key, value, partition, ts):
        self.topic, self.key, self.value, self.partition, self.ts = topic, key, value, partition, ts
        self.offset = None


def produce_inputs(inputs):
    """Produce Input records (explicit partition and timestamp); fills .offset."""
    p = Producer({"bootstrap.servers": bootstrap(), "enable.idempotence": True, "acks": "all",
                  "linger.ms": 5})
    errors = []
    for rec in inputs:
        def cb(err, msg, rec=rec):
            if err is not None:
                errors.append(err)
            else:
                rec.offset = msg.offset()
        p.produce(rec.topic, key=rec.key, value=rec.value, partition=rec.partition, timestamp=rec.ts,
                  on_delivery=cb)
    assert p.flush(30) == 0 and not errors, errors
    assert all(r.offset is not None for r in inputs)


def read_committed(topic, timeout=60):
    """Every record of topic up to its last stable offset, read_committed:
    [(key, value, headers, partition, offset, timestamp)] in partition/offset order."""
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": unique("reader"),
                  "enable.auto.commit": False, "isolation.level": "read_committed",
                  "enable.partition.eof": False})
    try:
        parts = sorted(c.list_topics(topic, timeout=10).topics[topic].partitions)
        end = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
               for p in parts}
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        out, pending = [], {p for p in parts if end[p] > 0}
        deadline = time.monotonic() + timeout
        while pending:
            assert time.monotonic() < deadline, "read_committed(%s): timed out" % topic
            m = c.poll(0.2)
            if m is not None:
                assert m.error() is None, m.error()
                out.append((m.key(), m.value(), list(m.headers() or []), m.partition(), m.offset(),
                            m.timestamp()[1]))
            for tp in c.position([TopicPartition(topic, p) for p in list(pending)]):
                if tp.offset >= end[tp.partition]:
                    pending.discard(tp.partition)
        out.sort(key=lambda r: (r[3], r[4]))
        return out
    finally:
        c.close()


def end_offsets(topic):
    """{partition: end offset}. A topic created a moment ago may answer NOT_LEADER
    until every broker thread knows its leaders: asked again, up to 30 s."""
    from confluent_kafka import KafkaError, KafkaException
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": unique("wm")})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
                        for p in range(PARTITIONS)}
            except KafkaException as e:
                transient = (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
                             KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._TIMED_OUT)
                if e.args[0].code() not in transient or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)  # the leaders' metadata is on its way
    finally:
        c.close()


def wait_group_done(group, topic, proc, timeout=60):
    """Wait until the group's committed offsets on topic reach its end offsets,
    i.e. every input so far has been handled and its outputs committed."""
    want = end_offsets(topic)
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": group, "enable.auto.commit": False,
                  "isolation.level": "read_committed"})
    try:
        def done():
            assert proc.alive(), "%s died: exit %s\n%s" % (proc.args[0], proc.p.returncode,
                                                          proc.stderr_text()[-3000:])
            got = {tp.partition: tp.offset for tp in
                   c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)}
            return all(got[p] == want[p] or (want[p] == 0 and got[p] < 0) for p in want)
        wait_until(done, timeout, "group %s to commit %s up to %s" % (group, topic, want), interval=0.2)
    finally:
        c.close()


def start_processor(name, env, group, *extra):
    return start([bin(name), "-b", bootstrap(), "-X", "group.id=" + group] + list(extra), env)


def stop_ok(proc):
    rc = proc.stop(timeout=30)
    assert rc == 0, "%s exit %s\n%s" % (proc.args[0], rc, proc.stderr_text()[-3000:])


# ------------------------------------------------ expected movements / dead letters

MOVEMENT_FIELDS = ("movement_id", "sku", "location_id", "channel", "type", "quantity", "occurred_at", "source",
                   "reservation_id", "expires_at", "transfer_id", "other_location_id", "rejected", "allow_partial")


def movements_of(kind, ev):
    """The movements DESIGN.md says an event becomes, as dicts in schema order."""
    out = []
    for i, line in enumerate(ev["lines"]):
        if kind == "sale":
            mtype = "sale"
        elif kind == "return":
            mtype = "return_" + line["disposition"]
        else:
            mtype = ev["kind"]
        out.append({
            "movement_id": "%s:%s:%d" % (mtype, ev["event_id"], i),
            "sku": line["sku"],
            "location_id": ev["location_id"],
            "channel": ev.get("channel") if kind != "restock" else None,
            "type": mtype,
            "quantity": line["quantity"],
            "occurred_at": rfc3339_of(ms_of(ev["occurred_at"])),
            "source": ev["source"],
            "reservation_id": ev.get("reservation_id") if kind == "sale" else None,
            "expires_at": None,
            "transfer_id": None,
            "other_location_id": None,
            "rejected": 0,
            "allow_partial": False,
        })
    return out


def json_bytes(m):
    assert tuple(m) == MOVEMENT_FIELDS
    return json.dumps(m, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


MOVEMENT_SCHEMA = None


MOVEMENT_TIME_FIELDS = ("occurred_at", "expires_at")  # timestamp-millis in Avro; expires_at may be null


def avro_movement_bytes(m):
    rec = dict(m)
    for f in MOVEMENT_TIME_FIELDS:
        if rec[f] is not None:
            rec[f] = datetime.fromtimestamp(ms_of(m[f]) / 1000.0, tz=timezone.utc)
    return avro_frame(MOVEMENT_SCHEMA_ID, MOVEMENT_SCHEMA, rec)


class Expect:
    def __init__(self):
        self.movements = []  # (input, line, dict)
        self.dead = []       # (input, error)

    def valid(self, rec, kind, ev):
        for i, m in enumerate(movements_of(kind, ev)):
            self.movements.append((rec, i, m))

    def invalid(self, rec, error):
        self.dead.append((rec, error))


def check_movements(env, expect, fmt="json"):
    """Exact comparison of inventory.movements with the expectation."""
    rows = read_committed(env["INV_TOPIC_MOVEMENTS"])
    want_bytes = [json_bytes(m) if fmt == "json" else avro_movement_bytes(m) for _, _, m in expect.movements]
    # A movement is identified by its bytes and its timestamp (= its input's,
    # distinct per input): a re-sent event's movements have the same bytes.
    got = Counter((r[1], r[5]) for r in rows)
    want = Counter((b, rec.ts) for (rec, _, _), b in zip(expect.movements, want_bytes))
    missing, extra = want - got, got - want
    assert not missing and not extra, "movements differ (value, timestamp):\n missing %s\n extra %s" % (
        sorted(missing.items())[:10], sorted(extra.items())[:10])
    assert len(rows) == len(expect.movements)
    by_value = {}
    for (rec, line, m), b in zip(expect.movements, want_bytes):
        by_value[(b, rec.ts)] = (rec, line, m)
    order = defaultdict(list)  # (movement partition, sku) -> [(input topic, input partition, offset, line)]
    for key, value, headers, part, off, ts in rows:
        rec, line, m = by_value[(value, ts)]
        sku = m["sku"].encode("utf-8")
        assert key == sku, "movement %s: key %r, want the SKU %r" % (m["movement_id"], key, sku)
        assert part == murmur2_partition(sku, PARTITIONS), "movement %s: partition %d, want murmur2 %d" % (
            m["movement_id"], part, murmur2_partition(sku, PARTITIONS))
        assert headers == [], (m["movement_id"], headers)
        if fmt == "avro":
            assert value[:5] == b"\x00" + struct.pack(">i", MOVEMENT_SCHEMA_ID), value[:5]
            dec = fastavro.schemaless_reader(io.BytesIO(value[5:]), MOVEMENT_SCHEMA)
            for f in MOVEMENT_TIME_FIELDS:
                if dec[f] is not None:
                    dec[f] = rfc3339_of(int(dec[f].timestamp() * 1000 + 0.5))
            assert dec == m, "Avro movement decoded with fastavro:\n %r\nwant %r" % (dec, m)
        order[(part, sku)].append((rec.topic, rec.partition, rec.offset, line))
    # per SKU, movements from one input partition keep the input's order
    for k, seq in order.items():
        by_input = defaultdict(list)
        for t, p, o, line in seq:
            by_input[(t, p)].append((o, line))
        for src, offs in by_input.items():
            assert offs == sorted(offs), "order of SKU %r from %s: %s" % (k[1], src, offs)
    return rows


def check_dead_letters(env, expect):
    rows = read_committed(env["INV_TOPIC_DLQ"])
    got = sorted(((r[0], r[1], tuple(r[2]), r[5]) for r in rows), key=repr)
    want = []
    for rec, err in expect.dead:
        headers = (("inv.error", err.encode("utf-8")),
                   ("inv.source.topic", rec.topic.encode()),
                   ("inv.source.partition", str(rec.partition).encode()),
                   ("inv.source.offset", str(rec.offset).encode()))
        want.append((rec.key, rec.value, headers, rec.ts))
    want.sort(key=repr)
    if got != want:
        gs, ws = set(map(repr, got)), set(map(repr, want))
        raise AssertionError("DLQ differs:\n missing %s\n extra %s" % (
            "\n  ".join(sorted(ws - gs)), "\n  ".join(sorted(gs - ws))))
    return rows


# ----------------------------------------------------------------- inputs

def sale(eid, lines, channel="store", location="store-12", source="pos-store-12",
         at="2026-11-22T10:00:00Z"):
    return {"event_id": eid, "source": source, "location_id": location, "channel": channel,
            "occurred_at": at, "lines": [{"sku": s, "quantity": q} for s, q in lines]}


def ret(eid, lines, channel="online", location="dc-1", source="web", at="2026-11-22T11:00:00Z",
        original=None):
    ev = {"event_id": eid, "source": source, "location_id": location, "channel": channel,
          "occurred_at": at,
          "lines": [{"sku": s, "quantity": q, "disposition": d} for s, q, d in lines]}
    if original is not None:
        ev["original_event_id"] = original
    return ev


def restock(eid, kind, lines, location="store-12", source="wms", at="2026-11-22T06:00:00Z", po=None):
    ev = {"event_id": eid, "source": source, "location_id": location, "occurred_at": at, "kind": kind,
          "lines": [{"sku": s, "quantity": q} for s, q in lines]}
    if po is not None:
        ev["purchase_order_id"] = po
    return ev


def enc(ev):
    return json.dumps(ev, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class Feed:
    """Builds the inputs of one topic and what they must become."""

    def __init__(self, topic, kind, expect):
        self.topic, self.kind, self.expect, self.inputs = topic, kind, expect, []
        self.ts = BASE_TS

    def _add(self, key, value, partition):
        self.ts += 7
        rec = Input(self.topic, key, value, partition, self.ts)
        self.inputs.append(rec)
        return rec

    def good(self, ev, partition, key=None, value=None):
        rec = self._add(key if key is not None else ev["event_id"].encode(),
                        value if value is not None else enc(ev), partition)
        self.expect.valid(rec, self.kind, ev)
        return rec

    def bad(self, value, error, partition, key=b"bad"):
        rec = self._add(key, value, partition)
        self.expect.invalid(rec, error)
        return rec


# ----------------------------------------------------------------- scenarios

def scenario_sales_json(env):
    """inv-sale: JSON and Avro sales, malformed neighbours in the same batch,
    a re-sent event, then more input while it runs; exact movements and DLQ."""
    expect = Expect()
    f = Feed(env["INV_TOPIC_SALES"], "sale", expect)
    sale_schema = load_schema("SaleEvent")
    return_schema = load_schema("ReturnEvent")

    s1 = sale("T-1001", [("SKU-1", 2), ("SKU-2", 1)])
    # batch on partition 1: valid events interleaved with every kind of bad one
    f.good(s1, 1)
    f.bad(b'{"event_id":"T-bad","lines":[',
          "not JSON: ']' expected near end of file at line 1 column 29", 1)
    f.good(sale("T-1002", [("SKU-3", 5)], channel="online", location="dc-1", source="web",
                at="2026-11-22T12:00:00.250+02:00"), 1)
    missing = sale("T-1003", [("SKU-1", 1)])
    del missing["location_id"]
    f.bad(enc(missing), "location_id: missing, expected a string", 1, key=b"T-1003")
    f.good(sale("T-1004", [("SKU-\u00e9\u00df-4", 1), ("sku with spaces", 3), ("SKU-1", 7)],
                channel="marketplace", source="amazon", at="2026-11-22T10:00:00.5Z"), 1)
    f.bad(enc(sale("T-1005", [("SKU-1", 1), ("SKU-2", 0)])), "lines[1].quantity: 0 is not positive", 1,
          key=b"T-1005")
    f.good(sale("T-1006", [("SKU-2", 1)], channel="b2b", at="2026-11-22T09:59:59.999Z"), 1)
    f.bad(enc(sale("T-1007", [("SKU-1", 1)], channel="telepathy")),
          'channel: "telepathy" is not one of store, online, marketplace, b2b', 1, key=b"T-1007")
    f.bad(None, "empty message", 1, key=b"tombstone")
    f.bad(enc(sale("T-1008", [("SKU-1", -2)])), "lines[0].quantity: -2 is not positive", 1, key=None)
    f.bad(b'{"event_id":"T-1009","source":"x","location_id":"l","channel":"store",'
          b'"occurred_at":"2026-11-22T10:00:00Z","lines":[{"sku":"SKU-1","quantity":2.5}]}',
          "lines[0].quantity: expected an integer, got 2.5", 1)
    f.bad(enc(sale("T-1010", [("SKU-1", 1)], at="yesterday")),
          'occurred_at: "yesterday" is not an RFC 3339 time', 1)
    f.bad(enc(sale("T-1011", [])), "lines: empty, expected 1 to 1000 lines", 1)
    f.bad(b"[1,2,3]", "expected a JSON object, got array", 1)
    # Avro (Confluent framing, schema id 14), valid and invalid
    avro_ev = sale("T-2001", [("SKU-1", 4), ("SKU-9", 1)], channel="online", source="shop-app",
                   location="dc-2", at="2026-11-22T08:30:00.123Z")
    avro_rec = dict(avro_ev, occurred_at=datetime(2026, 11, 22, 8, 30, 0, 123000, tzinfo=timezone.utc))
    avro_bytes = avro_frame(SALE_SCHEMA_ID, sale_schema, avro_rec)
    f.good(avro_ev, 1, value=avro_bytes)
    f.bad(avro_frame(99, sale_schema, avro_rec), "unknown schema id 99", 1)
    f.bad(avro_frame(RETURN_SCHEMA_ID, return_schema, {
        "event_id": "R-x", "source": "s", "location_id": "l", "channel": "store",
        "occurred_at": datetime(2026, 1, 1, tzinfo=timezone.utc), "original_event_id": None,
        "lines": [{"sku": "S", "quantity": 1, "disposition": "damaged"}]}),
        "schema id 2 is ReturnEvent, expected SaleEvent", 1)
    f.bad(avro_bytes[:-3], avro_truncation_error(avro_bytes, 3), 1)
    f.bad(b"\x00\x00\x00", "truncated Avro header: 3 bytes, expected at least 5", 1)
    avro_zero = avro_frame(SALE_SCHEMA_ID, sale_schema, dict(avro_rec, event_id="T-2002",
                                                             lines=[{"sku": "SKU-1", "quantity": 0}]))
    f.bad(avro_zero, "lines[0].quantity: 0 is not positive", 1)
    # other partitions
    f.good(sale("T-3001", [("SKU-1", 1)], location="store-7", source="pos-store-7"), 0)
    f.good(sale("T-3002", [("SKU-2", 3), ("SKU-3", 1)], location="store-7", source="pos-store-7"), 2)
    f.good(s1, 2)  # the same event re-sent (another POS retry path): same movement ids
    return f, expect


def avro_truncation_error(full, cut):
    """The decoder's message for a SaleEvent message without its last `cut`
    bytes, computed independently: walk the body field by field as Avro lays
    it out (event_id, source, location_id, channel, occurred_at, then one
    block of lines: count, (sku, quantity)..., 0) and name the field and the
    byte offset (from the start of the message) where the data runs out."""
    body = full[5:len(full) - cut]
    pos = 0

    def varint():
        nonlocal pos
        start, shift, acc = pos, 0, 0
        while True:
            if pos >= len(body):
                raise EOFError(start)
            b = body[pos]
            pos += 1
            acc |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return (acc >> 1) ^ -(acc & 1)

    def string():
        nonlocal pos
        n = varint()
        if pos + n > len(body):  # offset of the string's first byte
            raise EOFError(("str", pos, n, len(body) - pos))
        pos += n

    path = None
    try:
        for name in ("event_id", "source", "location_id"):
            path = name
            string()
        path = "channel"
        varint()
        path = "occurred_at"
        varint()
        path = "lines"
        count = varint()
        for i in range(abs(count)):
            path = "lines[%d].sku" % i
            string()
            path = "lines[%d].quantity" % i
            varint()
        path = "lines"
        varint()
    except EOFError as e:
        a = e.args[0]
        if isinstance(a, tuple):
            _, start, n, left = a
            return "%s: truncated Avro body at byte %d (string of %d bytes, %d left)" % (path, 5 + start, n, left)
        return "%s: truncated Avro body at byte %d" % (path, 5 + a)
    raise AssertionError("not truncated")


def scenario_returns_restocks(env):
    expect = Expect()
    r = Feed(env["INV_TOPIC_RETURNS"], "return", expect)
    r.good(ret("R-77", [("SKU-1", 1, "resellable"), ("SKU-2", 2, "damaged")], original="T-1001"), 0)
    r.bad(enc(ret("R-78", [("SKU-1", 1, "broken")])),
          'lines[0].disposition: "broken" is not one of resellable, damaged', 0)
    r.good(ret("R-79", [("SKU-3", 4, "damaged")], channel="store", location="store-12", source="pos-store-12"), 0)
    nodisp = ret("R-80", [("SKU-1", 1, "resellable")])
    del nodisp["lines"][0]["disposition"]
    r.bad(enc(nodisp), "lines[0].disposition: missing, expected one of resellable, damaged", 0)
    r.bad(enc(ret("R-81", [("SKU-1", 0, "resellable")])), "lines[0].quantity: 0 is not positive", 0)
    r.good(ret("R-82", [("SKU-2", 1, "resellable")], channel="marketplace"), 2)
    r.bad(enc(dict(ret("R-83", [("SKU-1", 1, "damaged")]), original_event_id=7)),
          "original_event_id: expected a string or null, got integer", 2)

    s = Feed(env["INV_TOPIC_RESTOCKS"], "restock", expect)
    s.good(restock("GR-5", "receipt", [("SKU-1", 24), ("SKU-2", 12)], po="PO-9"), 1)
    s.bad(enc(restock("GR-6", "receipt", [("SKU-1", 0)])), "lines[0].quantity: 0 is not positive", 1)
    s.good(restock("ADJ-1", "adjustment", [("SKU-1", -3), ("SKU-3", 2)]), 1)
    s.bad(enc(restock("ADJ-2", "adjustment", [("SKU-1", 0)])),
          "lines[0].quantity: 0 is not allowed, an adjustment must be non-zero", 1)
    s.good(restock("CNT-1", "count", [("SKU-1", 17), ("SKU-2", 0)], location="dc-1"), 1)
    s.bad(enc(restock("CNT-2", "count", [("SKU-1", -1)])),
          "lines[0].quantity: -1 is negative, a count must be 0 or more", 1)
    nokind = restock("GR-7", "receipt", [("SKU-1", 1)])
    del nokind["kind"]
    s.bad(enc(nokind), "kind: missing, expected one of receipt, adjustment, count", 1)
    s.bad(enc(restock("GR-8", "transfer", [("SKU-1", 1)])),
          'kind: "transfer" is not one of receipt, adjustment, count', 1)
    s.good(restock("GR-9", "receipt", [("SKU-9", 100)], location="dc-2", at="2026-11-21T23:00:00-05:00"), 0)

    # Avro inputs (Confluent framing, schema ids 2 and 3), optional fields set and null
    def avro_time(ev):
        return dict(ev, occurred_at=datetime.fromtimestamp(ms_of(ev["occurred_at"]) / 1000, tz=timezone.utc))
    return_schema, restock_schema = load_schema("ReturnEvent"), load_schema("RestockEvent")
    for ev in (ret("R-90", [("SKU-5", 2, "damaged"), ("SKU-6", 1, "resellable")], original="T-77"),
               ret("R-91", [("SKU-5", 1, "resellable")], channel="b2b")):
        rec = avro_time(ev)
        rec.setdefault("original_event_id", None)
        r.good(ev, 1, value=avro_frame(RETURN_SCHEMA_ID, return_schema, rec))
    for ev in (restock("GR-90", "receipt", [("SKU-5", 30)], po="PO-90"),
               restock("ADJ-90", "adjustment", [("SKU-6", -1)]),
               restock("CNT-90", "count", [("SKU-5", 0), ("SKU-6", 12)], at="2026-11-22T06:00:00.999Z")):
        rec = avro_time(ev)
        rec.setdefault("purchase_order_id", None)
        s.good(ev, 2, value=avro_frame(RESTOCK_SCHEMA_ID, restock_schema, rec))
    bad = avro_time(restock("ADJ-91", "adjustment", [("SKU-6", 0)]))
    bad["purchase_order_id"] = None
    s.bad(avro_frame(RESTOCK_SCHEMA_ID, restock_schema, bad),
          "lines[0].quantity: 0 is not allowed, an adjustment must be non-zero", 2)
    s.bad(avro_frame(SALE_SCHEMA_ID, load_schema("SaleEvent"), avro_time(sale("T-5", [("SKU-1", 1)]))),
          "schema id 14 is SaleEvent, expected RestockEvent", 2)
    return r, s, expect


def run_scenario(env, feeds, expect, programs, fmt="json", live_extra=None):
    """Produce every feed, run the programs until their groups are done, check."""
    for feed in feeds:
        produce_inputs(feed.inputs)
    procs = []
    try:
        groups = {}
        for name, topic_key in programs:
            g = unique("g-" + name)
            groups[name] = (g, env[topic_key])
            extra = ["-X", "output.format=avro"] if fmt == "avro" else []
            procs.append(start_processor(name, env, g, *extra))
        for (name, _), proc in zip(programs, procs):
            g, topic = groups[name]
            wait_group_done(g, topic, proc)
        if live_extra:
            # more input while the processors run: they carry on after dead letters
            live_extra()
            for (name, _), proc in zip(programs, procs):
                g, topic = groups[name]
                wait_group_done(g, topic, proc)
        for proc in procs:
            stop_ok(proc)
        check_movements(env, expect, fmt)
        check_dead_letters(env, expect)
    finally:
        for proc in procs:
            if proc.alive():
                proc.kill()


def main():
    global MOVEMENT_SCHEMA
    MOVEMENT_SCHEMA = load_schema("StockMovement")
    envs = []
    try:
        # 1. inv-sale, JSON output; a second wave arrives while it runs
        env = topic_env("proc-sale")
        envs.append(env)
        create_topics_with_invctl(env)
        t0 = time.monotonic()
        f, expect = scenario_sales_json(env)
        f2 = Feed(env["INV_TOPIC_SALES"], "sale", expect)
        f2.ts = f.ts + 1000

        def wave2():
            f2.good(sale("T-1001", [("SKU-1", 2), ("SKU-2", 1)]), 1)  # re-sent, later, same ids
            f2.bad(b"not json at all", "not JSON: '[' or '{' expected near 'not' at line 1 column 3", 1)
            f2.good(sale("T-4001", [("SKU-4", 1)], channel="online"), 0)
            produce_inputs(f2.inputs)
        run_scenario(env, [f], expect, [("inv-sale", "INV_TOPIC_SALES")], live_extra=wave2)
        ids = Counter(m["movement_id"] for _, _, m in expect.movements)
        assert ids["sale:T-1001:0"] == 3 and ids["sale:T-1001:1"] == 3, ids
        print("ok inv-sale JSON: %d movements, %d dead letters (%.1fs)"
              % (len(expect.movements), len(expect.dead), time.monotonic() - t0), flush=True)

        # 2. inv-return and inv-restock side by side on one movements topic
        env = topic_env("proc-rr")
        envs.append(env)
        create_topics_with_invctl(env)
        t0 = time.monotonic()
        r, s, expect = scenario_returns_restocks(env)
        run_scenario(env, [r, s], expect, [("inv-return", "INV_TOPIC_RETURNS"),
                                           ("inv-restock", "INV_TOPIC_RESTOCKS")])
        print("ok inv-return + inv-restock: %d movements, %d dead letters (%.1fs)"
              % (len(expect.movements), len(expect.dead), time.monotonic() - t0), flush=True)

        # the same with output.format=avro (channel null in Avro for restocks)
        env = topic_env("proc-rr-avro")
        envs.append(env)
        create_topics_with_invctl(env)
        t0 = time.monotonic()
        r, s, expect = scenario_returns_restocks(env)
        run_scenario(env, [r, s], expect, [("inv-return", "INV_TOPIC_RETURNS"),
                                           ("inv-restock", "INV_TOPIC_RESTOCKS")], fmt="avro")
        print("ok inv-return + inv-restock Avro output: %d movements, %d dead letters (%.1fs)"
              % (len(expect.movements), len(expect.dead), time.monotonic() - t0), flush=True)

        # 3. output.format=avro: the same sales become Avro StockMovements
        env = topic_env("proc-avro")
        envs.append(env)
        create_topics_with_invctl(env)
        t0 = time.monotonic()
        f, expect = scenario_sales_json(env)
        run_scenario(env, [f], expect, [("inv-sale", "INV_TOPIC_SALES")], fmt="avro")
        print("ok inv-sale Avro output: %d movements, %d dead letters (%.1fs)"
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
    sys.exit(main())
