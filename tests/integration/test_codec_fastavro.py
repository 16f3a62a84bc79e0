"""Cross-checks our Avro codec with an independent implementation (fastavro).

For every schema in schemas/: records written by fastavro decode here to the
expected JSON, and the Avro we write from that JSON is byte for byte what
fastavro writes and reads back to the same record. The records are the
hand-picked cases of tests/unit/codec_cases/ (unicode SKUs, INT64 extremes,
years 0000 and 9999) plus random ones. Needs no broker: our side runs as
tests/unit/codec_tool (INV_CODEC_TOOL, else INV_BIN_DIR/codec_tool).
"""

import copy
import datetime
import io
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

import fastavro

import invtest
from invtest import ROOT, check, failures

invtest.CHECK_PRINT_LIMIT = 20  # random records: the first failures tell the story
TOOL = os.environ.get("INV_CODEC_TOOL") or os.path.join(
    os.environ.get("INV_BIN_DIR") or os.path.join(ROOT, "build", "bin"), "codec_tool")

# Default schema ids (inv_codec.h, inv_schema_default_ids)
TYPES = ["SaleEvent", "ReturnEvent", "RestockEvent", "StockMovement", "ReorderPolicy",
         "StockLevel", "ReorderEvent", "ShortageEvent", "ReservationEvent", "TransferEvent",
         "ChannelLocation", "AvailabilityLevel", "ReservationStatus"]
IDS = {name: i + 1 for i, name in enumerate(TYPES)}
# schemas that changed got new ids; their earlier version keeps the old one
IDS.update({"SaleEvent": 14, "StockMovement": 15, "StockLevel": 17})
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
POLICY_MAX = 10 ** 12  # INV_CODEC_MAX_POLICY_QUANTITY
TIME_MIN, TIME_MAX = -62167219200000, 253402300799999  # years 0000 to 9999
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
RESTOCK_TYPES = ("receipt", "adjustment", "count")
RESERVATION_TYPES = ("reserve", "release", "expire")
TRANSFER_TYPES = ("transfer_out", "transfer_in", "transfer_cancel")
# Strings that hold no '|' (location ids and channel names)
NO_SEP = ("location_id", "other_location_id", "from_location_id", "to_location_id", "channel")

def load_schema(name):
    with open(os.path.join(ROOT, "schemas", name + ".avsc"), encoding="utf-8") as f:
        raw = json.load(f)
    return raw


def strip_logical(node):
    """The schema with logicalType removed: fastavro then reads times as ints,
    even those (year 0000) that a Python datetime cannot hold."""
    if isinstance(node, dict):
        return {k: strip_logical(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [strip_logical(v) for v in node]
    return node


def is_time(t):
    return isinstance(t, dict) and t.get("logicalType") == "timestamp-millis"


def time_fields(schema):
    """Names of the timestamp-millis fields of a record, optional ones
    included (top level only: the line records have none)."""
    return {f["name"] for f in schema["fields"]
            if is_time(f["type"]) or (isinstance(f["type"], list) and any(is_time(b) for b in f["type"]))}


def civil_from_days(z):
    """(year, month, day) of day z since 1970-01-01, proleptic Gregorian, any
    year (Python's dates stop at year 1). Howard Hinnant's algorithm."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, d


def days_from_civil(y, m, d):
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def rfc3339(ms):
    days, rem = divmod(ms, 86400000)
    y, mo, d = civil_from_days(days)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
        y, mo, d, rem // 3600000, rem // 60000 % 60, rem // 1000 % 60, rem % 1000)


def parse_rfc3339_ms(text):
    """Inverse of rfc3339() for its own output format."""
    days = days_from_civil(int(text[0:4]), int(text[5:7]), int(text[8:10]))
    h, mi, s, ms = int(text[11:13]), int(text[14:16]), int(text[17:19]), int(text[20:23])
    return ((days * 24 + h) * 60 + mi) * 60000 + s * 1000 + ms


def to_json(record, schema):
    """Our canonical JSON for a record: schema order, times as RFC 3339."""
    times = time_fields(schema)
    out = {}
    for f in schema["fields"]:
        v = record[f["name"]]
        out[f["name"]] = rfc3339(v) if f["name"] in times and v is not None else v
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def from_json(text, schema):
    obj = json.loads(text)
    for name in time_fields(schema):
        if obj[name] is not None:
            obj[name] = parse_rfc3339_ms(obj[name])
    return obj


def fastavro_write(schema, record, type_name):
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, record)
    return b"\x00" + struct.pack(">i", IDS[type_name]) + buf.getvalue()


def fastavro_read(raw_schema, data):
    return fastavro.schemaless_reader(io.BytesIO(data[5:]), fastavro.parse_schema(strip_logical(raw_schema)))


def run_tool(mode, type_name, lines, writers=()):
    """writers: ID=FILE arguments, writer schemas for those ids."""
    p = subprocess.run([TOOL, mode, type_name] + list(writers), input="\n".join(lines) + "\n", capture_output=True,
                       text=True, encoding="utf-8", timeout=120)
    if p.returncode != 0:
        raise RuntimeError("codec_tool %s %s: exit %d: %s" % (mode, type_name, p.returncode, p.stderr))
    out = p.stdout.split("\n")
    assert out[-1] == "" and len(out) == len(lines) + 1, "codec_tool wrote %d lines for %d" % (len(out) - 1, len(lines))
    return out[:-1]


# --- random records, within the contract ---------------------------------------

ALPHABETS = ["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_|*",
             "äöüßéèçñÅØ", "日本語中文한국어", "😀🧾📦🛒", "\"\\/\t\n\x01\x1f\x7f "]


def rand_string(rng, max_bytes=256):
    n = rng.randint(1, 24)
    s = "".join(rng.choice(rng.choice(ALPHABETS)) for _ in range(n))
    while len(s.encode("utf-8")) > max_bytes:
        s = s[:-1]
    return s or "x"


def rand_long(rng):
    return rng.choice([INT64_MIN, INT64_MAX, 0, 1, -1, rng.randint(-1000, 1000),
                       rng.randint(INT64_MIN, INT64_MAX), rng.randint(-(1 << 31), 1 << 31)])


def rand_value(rng, t, name):
    if isinstance(t, list):  # ["null", X]
        return None if rng.random() < 0.4 else rand_value(rng, t[1], name)
    if isinstance(t, dict):
        if t["type"] == "long" and t.get("logicalType") == "timestamp-millis":
            return rng.choice([TIME_MIN, TIME_MAX, 0, -1, rng.randint(TIME_MIN, TIME_MAX)])
        if t["type"] == "enum":
            return rng.choice(t["symbols"])
        if t["type"] == "array":
            return [rand_value(rng, t["items"], name) for _ in range(rng.randint(1, 5))]
        if t["type"] == "record":
            return {f["name"]: rand_value(rng, f["type"], f["name"]) for f in t["fields"]}
        return rand_value(rng, t["type"], name)
    if t == "string":
        if name == "source" and rng.random() < 0.1:
            return ""
        s = rand_string(rng)
        if name != "source":  # identifiers: no control characters; no '|' in a location_id
            s = "".join(c for c in s if " " <= c != "\x7f" and not (c == "|" and name in NO_SEP)) or "x"
        return s
    if t == "long":
        return rand_long(rng)
    if t == "boolean":
        return rng.random() < 0.5
    raise ValueError("unexpected type %r" % (t,))


def positive(q):
    return q if q > 0 else (1 if q == 0 else (INT64_MAX if q == INT64_MIN else -q))


def fix_quantity(q, kind):
    if kind == "adjustment":
        return q or -7
    if kind == "count":
        return q if q >= 0 else (INT64_MAX if q == INT64_MIN else -q)
    return positive(q)


def random_record(rng, schema):
    """A record of `schema` that our decoder's validation accepts."""
    r = rand_value(rng, schema, "")
    name = schema["name"]
    if name in ("SaleEvent", "ReturnEvent", "RestockEvent"):
        for line in r["lines"]:
            line["quantity"] = fix_quantity(line["quantity"], r.get("kind", "sale"))
    elif name == "StockMovement":
        typ = r["type"]
        r["quantity"] = fix_quantity(r["quantity"], typ)
        if typ in RESTOCK_TYPES or typ in TRANSFER_TYPES:
            r["channel"] = None
        elif r["channel"] is None:
            r["channel"] = "store"
        if typ in RESERVATION_TYPES:
            r["reservation_id"] = r["reservation_id"] or "ORD-1"
        elif typ != "sale":
            r["reservation_id"] = None
        if typ == "reserve":
            r["expires_at"] = r["expires_at"] if r["expires_at"] is not None else 0
        else:
            r["expires_at"] = None
            r["allow_partial"] = False
        if typ in TRANSFER_TYPES:
            r["transfer_id"] = r["transfer_id"] or "TR-1"
            if r["other_location_id"] in (None, r["location_id"]):
                r["other_location_id"] = r["location_id"] + "-other"
        else:
            r["transfer_id"] = r["other_location_id"] = None
        r["rejected"] = abs(r["rejected"]) % (r["quantity"] + 1) if typ == "transfer_in" and r["rejected"] > 0 else 0
    elif name in ("ReservationEvent", "TransferEvent"):
        for line in r["lines"]:
            line["quantity"] = positive(line["quantity"])
            if "rejected" in line:
                ok = r["status"] == "received" and line["rejected"] > 0
                line["rejected"] = line["rejected"] % (line["quantity"] + 1) if ok else 0
        if name == "ReservationEvent" and r["action"] == "hold":
            r["occurred_at"] = min(r["occurred_at"], TIME_MAX - 1000)
            if r["expires_at"] is None or r["expires_at"] <= r["occurred_at"]:
                r["expires_at"] = r["occurred_at"] + 1000
        if name == "TransferEvent" and r["to_location_id"] == r["from_location_id"]:
            r["to_location_id"] += "-to"
    elif name == "ChannelLocation":
        r["buffer"] = min(fix_quantity(r["buffer"], "count"), POLICY_MAX)
    elif name == "ReorderPolicy":
        for k in ("reorder_point", "reorder_quantity", "safety_stock"):
            r[k] = min(fix_quantity(r[k], "count"), POLICY_MAX)
    return r


# --- the checks -------------------------------------------------------------------

def check_schema(type_name, rng):
    before = len(failures)
    raw = load_schema(type_name)
    schema = fastavro.parse_schema(copy.deepcopy(raw))
    with open(os.path.join(ROOT, "tests", "unit", "codec_cases", type_name + ".jsonl"), encoding="utf-8") as f:
        cases = [from_json(line, raw) for line in f.read().splitlines() if line]
    records = cases + [random_record(rng, raw) for _ in range(300)]
    expected_json = [to_json(r, raw) for r in records]
    theirs = [fastavro_write(schema, r, type_name) for r in records]

    # fastavro -> us: their bytes decode to the record, as our JSON
    got_json = run_tool("avro2json", type_name, [b.hex() for b in theirs])
    for rec, want, got in zip(records, expected_json, got_json):
        check(got == want, "%s: fastavro bytes decode here as\n  %s\nnot\n  %s" % (type_name, got, want))

    # us -> fastavro: our bytes are theirs, and they read back to the record
    ours = run_tool("json2avro", type_name, expected_json)
    for rec, mine, their in zip(records, ours, theirs):
        if mine.startswith("ERROR"):
            check(False, "%s: %s for %s" % (type_name, mine, to_json(rec, raw)))
            continue
        data = bytes.fromhex(mine)
        check(data == their, "%s: our Avro differs from fastavro's for %s\n  ours   %s\n  theirs %s"
              % (type_name, to_json(rec, raw), mine, their.hex()))
        check(data[:5] == b"\x00" + struct.pack(">i", IDS[type_name]), "%s: header %s" % (type_name, data[:5].hex()))
        back = fastavro_read(raw, data)
        check(back == rec, "%s: fastavro reads our bytes as %r, not %r" % (type_name, back, rec))
    if len(failures) == before:
        print("ok   %s: %d records both ways (%d hand-picked)" % (type_name, len(records), len(cases)))


def test_logical_times_agree():
    """fastavro writing a datetime (timestamp-millis) and reading ours back as one."""
    raw = load_schema("StockLevel")
    schema = fastavro.parse_schema(copy.deepcopy(raw))
    when = datetime.datetime(2026, 11, 22, 10, 0, 0, 123000, tzinfo=datetime.timezone.utc)
    rec = {"sku": "SKU-1", "location_id": "*", "on_hand": 1, "unsellable": 0, "on_order": 0,
           "available": 1, "updated_at": when, "version": 1}
    got = run_tool("avro2json", "StockLevel", [fastavro_write(schema, rec, "StockLevel").hex()])[0]
    check(json.loads(got)["updated_at"] == "2026-11-22T10:00:00.123Z", "datetime written by fastavro: %s" % got)
    ours = run_tool("json2avro", "StockLevel", [got])[0]
    back = fastavro.schemaless_reader(io.BytesIO(bytes.fromhex(ours)[5:]), schema)
    check(back["updated_at"] == when, "fastavro reads our time as %r" % back["updated_at"])
    if not failures:
        print("ok   timestamp-millis as datetime")


def test_stock_level_last_count_reads_in_fastavro():
    """A StockLevel's last_count_at (a datetime or None) and count_variance as
    fastavro reads our Avro, and as we read fastavro's; a JSON StockLevel
    without them is written with their defaults."""
    before = len(failures)
    raw = load_schema("StockLevel")
    schema = fastavro.parse_schema(copy.deepcopy(raw))
    counted = datetime.datetime(2026, 11, 22, 9, 30, 0, 250000, tzinfo=datetime.timezone.utc)
    base = {"sku": "SKU-1", "location_id": "store-12", "on_hand": 20, "unsellable": 0, "on_order": 0,
            "available": 20, "updated_at": "2026-11-22T10:00:00.000Z", "version": 5, "committed": 0,
            "incoming": 3, "in_transit_out": 4}
    cases = [(dict(base, last_count_at="2026-11-22T09:30:00.250Z", count_variance=-3), counted, -3),
             (dict(base, last_count_at=None, count_variance=0), None, 0),
             (dict(base), None, 0)]  # an earlier producer's JSON: the defaults
    ours = run_tool("json2avro", "StockLevel", [json.dumps(c, separators=(",", ":")) for c, _, _ in cases])
    for (c, when, variance), mine in zip(cases, ours):
        if mine.startswith("ERROR"):
            check(False, "StockLevel: %s for %s" % (mine, c))
            continue
        back = fastavro.schemaless_reader(io.BytesIO(bytes.fromhex(mine)[5:]), schema)
        check(back["last_count_at"] == when and back["count_variance"] == variance,
              "fastavro reads our last count as %r, %r, not %r, %r"
              % (back["last_count_at"], back["count_variance"], when, variance))
        check(back["incoming"] == 3 and back["in_transit_out"] == 4, "fastavro reads %r" % back)
    rec = dict(base, updated_at=counted, last_count_at=counted, count_variance=7)
    got = json.loads(run_tool("avro2json", "StockLevel", [fastavro_write(schema, rec, "StockLevel").hex()])[0])
    check(got["last_count_at"] == "2026-11-22T09:30:00.250Z" and got["count_variance"] == 7,
          "fastavro's last count decodes here as %r" % got)
    if len(failures) == before:
        print("ok   StockLevel last_count_at and count_variance both ways")


def test_invalid_fastavro_records_are_rejected_here():
    """Bytes that are valid Avro but break the contract get our precise error."""
    raw = load_schema("SaleEvent")
    schema = fastavro.parse_schema(copy.deepcopy(raw))
    rec = {"event_id": "T-1", "source": "pos", "location_id": "store-1", "channel": "b2b",
           "occurred_at": 0, "lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": -3}]}
    got = run_tool("avro2json", "SaleEvent", [fastavro_write(schema, rec, "SaleEvent").hex()])[0]
    if got == "ERROR lines[1].quantity: -3 is not positive":
        print("ok   contract violations in fastavro bytes")
    else:
        check(False, "fastavro bytes with quantity -3: %s" % got)


def is_optional(field):
    t = field["type"]
    return isinstance(t, list) and t[0] == "null" and "default" in field


# Optional strings that some movement types require.
REQUIRED_BY_SOME = ("reservation_id", "transfer_id", "other_location_id")


def droppable(field, record_name=""):
    """An optional field whose absence the contract allows everywhere (a
    movement's channel, reservation_id, transfer_id and other_location_id are
    required by some movement types)."""
    return (is_optional(field) and field["type"][1] == "string"
            and not (record_name == "StockMovement" and field["name"] in REQUIRED_BY_SOME))


def evolve(node, drop_optional):
    """A writer schema BACKWARD compatible with ours, as a producer's newer or
    older schema is: every record's fields in reverse order, an optional
    field we do not know added, our optional strings removed (drop_optional),
    long fields of line records narrowed to int, enum symbols reordered with
    one we lack. Docs and logical types stay as they are."""
    if isinstance(node, list):
        return [evolve(v, drop_optional) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: evolve(v, drop_optional) for k, v in node.items()}
    if node.get("type") == "enum":
        out["symbols"] = list(reversed(node["symbols"])) + ["legacy_symbol"]
    if node.get("type") == "record":
        fields = [f for f in out["fields"] if not (drop_optional and droppable(f, node["name"]))]
        if node["name"].endswith("Line"):
            for f in fields:
                if f["type"] == "long":
                    f["type"] = "int"
        fields.reverse()
        fields.insert(1, {"name": "added_note", "type": ["null", "string"], "default": None})
        out["fields"] = fields
    return out


def narrow(record, raw):
    """The record with line longs within int (they are int in the writer),
    keeping the contract's sign rules (positive stays positive)."""
    rec = copy.deepcopy(record)
    for line in rec.get("lines", []):
        for k, v in line.items():
            if isinstance(v, int) and not isinstance(v, bool) and not -(1 << 31) <= v < (1 << 31):
                line[k] = (1 if v > 0 else -1) * (1 + abs(v) % ((1 << 31) - 2))
        if "rejected" in line and line["rejected"] > line["quantity"]:
            line["rejected"] = line["quantity"]
    return rec


def test_evolved_writer_schemas_resolve_here(rng, tmpdir):
    """Bytes fastavro writes with an evolved writer schema (as a producer with
    a schema registry does: its own id) decode here to the same event as the
    record read with ours."""
    for type_name in TYPES:
        before = len(failures)
        raw = load_schema(type_name)
        for drop in (False, True):
            writer_raw = evolve(raw, drop)
            path = os.path.join(tmpdir, "%s-%d.avsc" % (type_name, drop))
            with open(path, "w", encoding="utf-8") as f:
                json.dump(writer_raw, f)
            writer = fastavro.parse_schema(copy.deepcopy(writer_raw))
            records = [narrow(random_record(rng, raw), raw) for _ in range(100)]
            lines, expected = [], []
            for i, rec in enumerate(records):
                written = dict(rec, added_note=None if i % 2 else "note %d" % i)
                buf = io.BytesIO()
                fastavro.schemaless_writer(buf, writer, written)
                lines.append((b"\x00" + struct.pack(">i", 100) + buf.getvalue()).hex())
                read = dict(rec)
                for f in raw["fields"]:
                    if drop and droppable(f, type_name):
                        read[f["name"]] = None  # the writer lacks it: our default
                expected.append(to_json(read, raw))
            got = run_tool("avro2json", type_name, lines, ["100=" + path])
            for want, have in zip(expected, got):
                check(have == want, "%s (writer schema %s): fastavro bytes decode here as\n  %s\nnot\n  %s"
                      % (type_name, os.path.basename(path), have, want))
        if len(failures) == before:
            print("ok   %s: 200 records from evolved writer schemas" % type_name)


def main():
    if not os.access(TOOL, os.X_OK):
        print("codec_tool not built: %s" % TOOL, file=sys.stderr)
        return 1
    rng = random.Random(int(os.environ.get("INV_SEED", "20261122")))
    for type_name in TYPES:
        check_schema(type_name, rng)
    test_logical_times_agree()
    test_stock_level_last_count_reads_in_fastavro()
    test_invalid_fastavro_records_are_rejected_here()
    with tempfile.TemporaryDirectory() as tmpdir:
        test_evolved_writer_schemas_resolve_here(rng, tmpdir)
    if failures:
        print("%d failures" % len(failures), file=sys.stderr)
        return 1
    print("all %d schemas agree with fastavro %s" % (len(TYPES), fastavro.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
