"""Every schema changed since an earlier release is BACKWARD compatible
with each earlier version, by Avro's own resolution rules as fastavro
implements them.

schemas/v1/, schemas/v2/, ... hold the earlier versions of each changed
schema (copied from the main branch when the schemas changed). For each: fastavro
parses both versions; every field the new version adds has a default; records
written with the previous version are read by fastavro with the new one as
reader schema (schemaless_reader(reader_schema=...)) into the same values plus
the new fields' defaults; and the same bytes, under a writer schema id of their
own, decode through our codec (tests/unit/codec_tool) to that record.
Needs no broker. test_codec_backward.c checks the C side alone.
"""

import copy
import io
import json
import os
import random
import struct
import sys
import tempfile

import fastavro

import invtest
from invtest import ROOT, check, failures

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_codec_fastavro as tcf  # noqa: E402  (the random records and our JSON form)

SCHEMAS = os.path.join(ROOT, "schemas")
PREVIOUS = os.path.join(SCHEMAS, "v1")
# What each schemas/v<N>/ holds.
VERSIONS = {"v1": ["SaleEvent", "StockLevel", "StockMovement"], "v2": ["StockLevel"]}
WRITER_ID = 100


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def default_of(field):
    return copy.deepcopy(field["default"])


def added_fields(old_raw, new_raw):
    old_names = {f["name"] for f in old_raw["fields"]}
    return [f for f in new_raw["fields"] if f["name"] not in old_names]


def enum_symbols(raw, name):
    """The symbols of the enum named `name` anywhere in the schema."""
    if isinstance(raw, dict):
        if raw.get("type") == "enum" and raw.get("name") == name:
            return raw
        for v in raw.values():
            found = enum_symbols(v, name)
            if found:
                return found
    if isinstance(raw, list):
        for v in raw:
            found = enum_symbols(v, name)
            if found:
                return found
    return None


def check_pair(version, name, rng, tmpdir):
    before = len(failures)
    old_raw = load(os.path.join(SCHEMAS, version, name + ".avsc"))
    new_raw = tcf.load_schema(name)
    old = fastavro.parse_schema(copy.deepcopy(old_raw))
    fastavro.parse_schema(copy.deepcopy(new_raw))
    check(old_raw != new_raw, "%s: schemas/%s holds the current schema" % (name, version))
    added = added_fields(old_raw, new_raw)
    check(added, "%s: no field added" % name)
    for f in added:
        check("default" in f, "%s: added field %s has no default: old records cannot be read" % (name, f["name"]))
    for f in old_raw["fields"]:
        check(any(g["name"] == f["name"] for g in new_raw["fields"]), "%s: field %s was removed" % (name, f["name"]))

    # Records of the previous version (valid for our decoder), written with it.
    records = [tcf.random_record(rng, old_raw) for _ in range(200)]
    records = [{f["name"]: r[f["name"]] for f in old_raw["fields"]} for r in records]
    written = []
    for r in records:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, old, r)
        written.append(buf.getvalue())

    # fastavro: read with the new schema as the reader's.
    expected = []
    for r, data in zip(records, written):
        want = dict(r)
        for f in added:
            want[f["name"]] = default_of(f)
        want = {f["name"]: want[f["name"]] for f in new_raw["fields"]}
        expected.append(want)
        # (logical types stripped: Python's datetime cannot hold year 0000)
        got = fastavro.schemaless_reader(io.BytesIO(data), fastavro.parse_schema(tcf.strip_logical(old_raw)),
                                         reader_schema=fastavro.parse_schema(tcf.strip_logical(new_raw)))
        check(got == want, "%s: fastavro reads a previous record as %r, not %r" % (name, got, want))

    # our codec: the same bytes under a writer schema id of their own.
    path = os.path.join(tmpdir, version + name + ".avsc")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(old_raw, f)
    lines = [(b"\x00" + struct.pack(">i", WRITER_ID) + d).hex() for d in written]
    got = tcf.run_tool("avro2json", name, lines, ["%d=%s" % (WRITER_ID, path)])
    for want, have in zip(expected, got):
        check(have == tcf.to_json(want, new_raw), "%s: a previous record decodes here as\n  %s\nnot\n  %s"
              % (name, have, tcf.to_json(want, new_raw)))
    if len(failures) == before:
        print("ok   %s: %d records of %s read with the new one (fastavro and ours); added %s"
              % (name, len(records), version, ", ".join(f["name"] for f in added)))


def test_movement_types_are_appended_without_an_enum_default():
    """The new MovementType symbols follow the old ones in their order, so
    old data reads by name and by index alike. The enum has no default: a
    reader given a symbol it lacks must fail the record (to the dead
    letters) rather than read an unknown movement as some other type."""
    old_enum = enum_symbols(load(os.path.join(PREVIOUS, "StockMovement.avsc")), "MovementType")
    new_enum = enum_symbols(tcf.load_schema("StockMovement"), "MovementType")
    check(new_enum["symbols"][:len(old_enum["symbols"])] == old_enum["symbols"],
          "MovementType: the previous symbols are not a prefix: %r" % new_enum["symbols"])
    check("default" not in new_enum, "MovementType has a default")
    # FORWARD is not promised: a previous reader refuses a new symbol.
    new = fastavro.parse_schema(tcf.load_schema("StockMovement"))
    old = fastavro.parse_schema(load(os.path.join(PREVIOUS, "StockMovement.avsc")))
    rec = {"movement_id": "reserve:RV-1:0", "sku": "S", "location_id": "L", "channel": "online", "type": "reserve",
           "quantity": 1, "occurred_at": 0, "source": "web", "reservation_id": "ORD-1", "expires_at": 1000}
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, new, rec)
    try:
        fastavro.schemaless_reader(io.BytesIO(buf.getvalue()), new, reader_schema=old)
        check(False, "a previous reader read a reserve movement")
    except Exception:  # fastavro's SchemaResolutionError
        pass
    if not failures:
        print("ok   MovementType: symbols appended, no default")


def main():
    if not os.access(tcf.TOOL, os.X_OK):
        print("codec_tool not built: %s" % tcf.TOOL, file=sys.stderr)
        return 1
    versions = sorted(d for d in os.listdir(SCHEMAS) if os.path.isdir(os.path.join(SCHEMAS, d)))
    check(versions == sorted(VERSIONS), "schemas/ holds the versions %r" % versions)
    pairs = []
    for version in versions:
        names = sorted(n[:-5] for n in os.listdir(os.path.join(SCHEMAS, version)) if n.endswith(".avsc"))
        check(names == VERSIONS.get(version), "schemas/%s holds %r" % (version, names))
        pairs += [(version, name) for name in names]
    rng = random.Random(int(os.environ.get("INV_SEED", "20261207")))
    with tempfile.TemporaryDirectory() as tmpdir:
        for version, name in pairs:
            check_pair(version, name, rng, tmpdir)
    test_movement_types_are_appended_without_an_enum_default()
    if failures:
        print("%d failures" % len(failures), file=sys.stderr)
        return 1
    print("all %d earlier schema versions are read BACKWARD compatibly (fastavro %s)"
          % (len(pairs), fastavro.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
