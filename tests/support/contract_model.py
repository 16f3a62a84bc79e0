"""A model of the contract for test_model_random.py: hostile identifiers,
hand-made JSON and Avro bytes, a seeded plan of inputs (valid, re-sent,
poison, policies good and bad, restores) and what the contract says each
must become.

Written from /work/shared/DESIGN.md ("Identifiers and clocks", "Semantics",
"Guarantees to test against") and docs/CONTRACT.md, never from the C code.
The order-dependent stock rules (reorders, shortages, versions) are
oracle.StockOracle's, replayed over the committed movements; what does not
depend on the order (every input's movements, each movement id applied once
whatever its timestamps, on_hand / unsellable / available, the dead letters)
is predicted here from the inputs alone.

Identifiers (event_id, sku, location_id, original_event_id,
purchase_order_id): 1-256 bytes of UTF-8 without control characters
(U+0000-U+001F, U+007F); location_id without '|'. Anything else is a dead
letter whose inv.error names the field, and for a control character, a '|'
or invalid UTF-8 the 0-based byte offset in the field's UTF-8 bytes
("at byte N"): see reason_matches(), the one place that knows the format.
"""

import io
import json
import random
import re
import struct
from collections import Counter, defaultdict
from datetime import datetime, timezone

import oracle

MAX_ID = 256
DAY_MS = 86400000
CONTROL = frozenset(list(range(0x20)) + [0x7F])

# ------------------------------------------------------------------ the reason format


def reason_matches(err, field, byte=None):
    """True when inv.error `err` names `field` (as "<field>:", e.g. "event_id:",
    "lines[0].sku:", "location_id:"; not as the tail of a longer name) and,
    when byte is given, says "at byte <byte>". field None: any non-empty
    reason. The one place to adjust when the sentence changes."""
    if not err or not err.strip():
        return False
    if field is None:
        return True
    if not re.search(r"(?<![\w.\]\[])" + re.escape(field) + r":", err):
        return False
    if byte is not None and not re.search(r"\bat byte %d\b" % byte, err):
        return False
    return True


def describe_reason(field, byte):
    return "%s:%s" % (field, "" if byte is None else " ... at byte %d" % byte) if field else "(any reason)"


# ------------------------------------------------------------------ identifiers

ASCII = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
PUNCT = " \"\\'/:*{}[],%&<>#=+~`!?@$^();.-_"
MB2 = "\u00e9\u00fc\u00df\u00f1\u03a9\u0436\u0085\u00a0\u00ad\u05d0"  # 2 bytes (U+0085: C1, allowed)
MB3 = "\u20ac\u65e5\u672c\u2028\u2029\ufeff\u200b\ufffd\ud55c\u0900"  # 3 bytes
MB4 = "\U0001F600\U0001D11E\U00010348\U0001F3EC\U0010FFFD\U00020000"  # 4 bytes


def _char(rnd, allow_sep):
    r = rnd.random()
    if r < 0.35:
        return rnd.choice(ASCII)
    if r < 0.55:
        c = rnd.choice(PUNCT + ("|" if allow_sep else ""))
        return c
    if r < 0.7:
        return rnd.choice(MB2)
    if r < 0.85:
        return rnd.choice(MB3)
    return rnd.choice(MB4)


def blen(s):
    return len(s.encode("utf-8"))


def exact_bytes(rnd, n, allow_sep):
    """A valid hostile identifier of exactly n UTF-8 bytes."""
    out = []
    left = n
    while left > 0:
        c = _char(rnd, allow_sep)
        if blen(c) <= left:
            out.append(c)
            left -= blen(c)
    return "".join(out)


def valid_id(rnd, allow_sep=True, prefix=""):
    """A valid identifier from a hostile alphabet: short, one odd character,
    or exactly MAX_ID bytes."""
    r = rnd.random()
    if r < 0.12:
        s = exact_bytes(rnd, MAX_ID - blen(prefix), allow_sep)
    elif r < 0.2:
        s = rnd.choice([" ", "*", "\"", "\\", "'", "\u0085", "\U0001F600", "\ufeff", "\u2028"] +
                       (["|", "||"] if allow_sep else []))
    else:
        s = "".join(_char(rnd, allow_sep) for _ in range(rnd.randint(1, 14)))
    return prefix + s


BAD_CONTROLS = ["\n", "\t", "\r", "\x01", "\x1b", "\x1f", "\x7f", "\x7f", "\n", "\x00"]
BAD_UTF8 = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80"]


class BadId:
    """An identifier the contract refuses: text (str) or raw (bytes, invalid
    UTF-8: Avro only), the defect and the offending byte (None for length)."""

    def __init__(self, text=None, raw=None, defect=None, byte=None):
        self.text, self.raw, self.defect, self.byte = text, raw, defect, byte


def bad_id(rnd, field_is_location, avro_ok):
    """A refused identifier with exactly one defect."""
    kinds = ["control"] * 5 + ["long"] * 2 + ["empty"] + (["sep"] * 3 if field_is_location else []) + \
        (["utf8"] * 2 if avro_ok else [])
    k = rnd.choice(kinds)
    if k == "empty":
        return BadId("", defect="empty")
    if k == "long":
        if rnd.random() < 0.5:
            s = "x" * 257
        else:  # 256 characters, 257 bytes
            s = "y" * 255 + "\u00e9"
        return BadId(s, defect="length")
    base = valid_id(rnd, allow_sep=not field_is_location)
    if blen(base) > 240:
        base = base[:40]
    if k == "utf8" and blen(base) < 6:
        base += "pad-06"
    cut = rnd.randint(0, len(base))
    head, tail = base[:cut], base[cut:]
    off = blen(head)
    if k == "control":
        return BadId(head + rnd.choice(BAD_CONTROLS) + tail, defect="control", byte=off)
    if k == "sep":
        return BadId(head + "|" + tail, defect="separator", byte=off)
    return BadId(raw=head.encode() + rnd.choice(BAD_UTF8) + tail.encode(), defect="utf8", byte=off)


# ------------------------------------------------------------------ JSON bytes, by hand

_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f", "/": "\\/"}


def jstr(s, rnd, esc=0.08):
    """A JSON string literal for s: required escapes, and others at random
    (\\uXXXX in either case, surrogate pairs for 4-byte characters, the short
    forms); everything else raw UTF-8."""
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif c < 0x20 or rnd.random() < esc:
            if ch in _SHORT and rnd.random() < 0.6:
                out.append(_SHORT[ch])
            elif c > 0xFFFF:
                v = c - 0x10000
                pair = "\\u%04x\\u%04x" % (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
                out.append(pair.upper().replace("\\U", "\\u") if rnd.random() < 0.3 else pair)
            else:
                out.append(("\\u%04X" if rnd.random() < 0.3 else "\\u%04x") % c)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _ws(rnd):
    return rnd.choice(("", "", "", " ", "\n", "\t ", "\r\n"))


def jval(v, rnd):
    if isinstance(v, dict):
        items = list(v.items())
        if rnd.random() < 0.3:
            rnd.shuffle(items)
        return "{" + ",".join(_ws(rnd) + jstr(k, rnd, 0.02) + _ws(rnd) + ":" + _ws(rnd) + jval(x, rnd)
                              for k, x in items) + _ws(rnd) + "}"
    if isinstance(v, list):
        return "[" + ",".join(_ws(rnd) + jval(x, rnd) for x in v) + _ws(rnd) + "]"
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return jstr(v, rnd)
    raise TypeError(type(v))


def json_bytes(doc, rnd):
    return jval(doc, rnd).encode("utf-8")


# ------------------------------------------------------------------ Avro bytes

def avro_bytes(topic, ev, raw_swap=None):
    """Confluent-framed Avro of an event (oracle's writer); raw_swap =
    (placeholder str, bytes): the placeholder's bytes (same length) replaced
    by raw bytes, for a string that is not UTF-8."""
    ev = dict(ev)
    ev["lines"] = [dict(l) for l in ev["lines"]]
    b = oracle._avro_bytes(topic, ev)
    if raw_swap:
        ph, raw = raw_swap
        phb = ph.encode()
        assert len(phb) == len(raw), (ph, raw)
        if b.count(phb) != 1:
            return None  # the placeholder is not unique: the caller picks another
        b = b.replace(phb, raw)
    return b


# ------------------------------------------------------------------ the plan

class Rec:
    """One record to produce. topic: "sales" | "returns" | "restocks" |
    "policies". movements: the StockMovements a valid input becomes. poison:
    (field or None, byte or None, what) when the contract sends it to the DLQ."""
    __slots__ = ("topic", "key", "value", "ts", "movements", "poison", "note", "partition", "offset", "n")

    def __init__(self, topic, key, value, ts, movements=(), poison=None, note=""):
        self.topic, self.key, self.value, self.ts = topic, key, value, ts
        self.movements = list(movements)
        self.poison, self.note = poison, note
        self.partition = self.offset = None
        self.n = None

    def where(self):
        return "%s #%s [%s]@%s (%s)" % (self.topic, self.n, self.partition, self.offset, self.note)


class Plan:
    def __init__(self):
        self.skus, self.locations = [], []
        self.default = (4, 12, 2)
        self.policies_first = []   # Rec, produced before inv-stock starts (valid ones, some poison)
        self.segments = []         # [[Rec]], produced in order
        self.chaos = []            # per segment boundary: None | "wipe" | "scale"
        self.policy_table = None   # oracle.PolicyTable of the valid policies

    def records(self):
        return self.policies_first + [r for s in self.segments for r in s]


MOVE_TYPE = {"sales": lambda ev, l: "sale",
             "returns": lambda ev, l: "return_" + l["disposition"],
             "restocks": lambda ev, l: ev["kind"]}


def movements_of(topic, ev):
    return [{"movement_id": "%s:%s:%d" % (MOVE_TYPE[topic](ev, l), ev["event_id"], i), "sku": l["sku"],
             "location_id": ev["location_id"], "channel": ev.get("channel") if topic != "restocks" else None,
             "type": MOVE_TYPE[topic](ev, l), "quantity": l["quantity"], "occurred_at": ev["_ms"],
             "source": ev["source"]} for i, l in enumerate(ev["lines"])]


def generate(seed, n_events, now_ms, partitions, n_segments=None, ts_days=30):
    """The plan: every choice a function of the seed (times relative to
    now_ms). ts_days: the Kafka record timestamps lie within +-ts_days of
    now_ms (0: all now_ms, a diagnostic)."""
    rnd = random.Random(seed)
    pl = Plan()
    n_skus = max(10, min(200, n_events // 60))
    n_locs = 6 if n_events < 5000 else 10
    used = set()

    def fresh(make):
        while True:
            s = make()
            if s not in used:
                used.add(s)
                return s
    pl.skus = [fresh(lambda: valid_id(rnd, allow_sep=True)) for _ in range(n_skus)]
    pl.locations = [fresh(lambda: valid_id(rnd, allow_sep=False)) for _ in range(n_locs)]
    # "*" is a legal location to the processors; inv-stock refuses movements there
    pl.locations = [l for l in pl.locations if l != "*"] or ["loc"]

    def ts():
        return now_ms + rnd.randint(-30 * DAY_MS, 30 * DAY_MS) * ts_days // 30

    # ---- valid policies (before inv-stock starts): reorders and shortages happen
    table = oracle.PolicyTable(pl.default)
    n_pol = 0

    def pol_rec(sku, loc, rp, rq, ss, note="policy"):
        doc = {"sku": sku, "location_id": loc, "reorder_point": rp, "reorder_quantity": rq, "safety_stock": ss}
        key = ("%s|%s" % (sku, loc)).encode()
        val = json_bytes(doc, rnd)
        assert table.apply(key, val), doc
        return Rec("policies", key, val, ts(), note=note)
    for s in pl.skus:
        if rnd.random() < 0.5:
            pl.policies_first.append(pol_rec(s, "*", rnd.randint(2, 10), rnd.randint(5, 30), rnd.randint(1, 12)))
        for l in rnd.sample(pl.locations, rnd.randint(0, 2)):
            pl.policies_first.append(pol_rec(s, l, rnd.randint(0, 15), rnd.randint(1, 30), rnd.randint(0, 8)))
    for r in rnd.sample(pl.policies_first, min(3, len(pl.policies_first))):  # updated: the last wins
        d = json.loads(r.value)
        pl.policies_first.append(pol_rec(d["sku"], d["location_id"], d["reorder_point"] + 2,
                                         d["reorder_quantity"] + 1, d["safety_stock"] + 1, "policy-update"))
    for r in rnd.sample(pl.policies_first, min(2, len(pl.policies_first))):  # deleted
        table.apply(r.key, None)
        pl.policies_first.append(Rec("policies", r.key, None, ts(), note="policy-tombstone"))
    pl.policy_table = table

    # ---- poison policies: on SKUs no movement touches
    n_poison_pol = max(8, n_events // 250)
    poison_pols = []
    for i in range(n_poison_pol):
        psku = "poison-sku-%d-%s" % (i, valid_id(rnd, allow_sep=False))
        while blen(psku) > MAX_ID:  # valid: only the defect chosen below may be wrong
            psku = psku[:-1]
        ploc = "poison-loc-%d" % i
        key = ("%s|%s" % (psku, ploc)).encode()
        good = {"sku": psku, "location_id": ploc, "reorder_point": 5, "reorder_quantity": 10, "safety_stock": 2}
        kind = rnd.choice(["not-json", "negative", "huge", "string", "no-sep-key", "no-sep-tombstone",
                           "huge-key", "huge-key-tombstone", "key-mismatch", "bad-location", "bad-sku",
                           "empty-value", "not-object"])
        field, byte, val = None, None, None
        if kind == "not-json":
            val = json_bytes(good, rnd)[:-rnd.randint(1, 10)]
        elif kind == "empty-value":
            val = b""
        elif kind == "not-object":
            val = b"[5,10,2]"
        elif kind == "negative":
            f = rnd.choice(["reorder_point", "reorder_quantity", "safety_stock"])
            good[f] = -rnd.randint(1, 1000)
            field, val = f, json_bytes(good, rnd)
        elif kind == "huge":  # beyond int64
            f = rnd.choice(["reorder_point", "reorder_quantity", "safety_stock"])
            doc = json.dumps(good, ensure_ascii=False)  # plain spelling: the number is replaced by name
            val = re.sub(r'("%s": )\d+' % f, r"\g<1>" + str(rnd.choice((10 ** 19, 2 ** 63, 10 ** 30))),
                         doc).encode()
            assert val != doc.encode()
        elif kind == "string":
            f = rnd.choice(["reorder_point", "reorder_quantity", "safety_stock"])
            good[f] = str(good[f])
            field, val = f, json_bytes(good, rnd)
        elif kind in ("no-sep-key", "no-sep-tombstone"):
            key = ("poison-key-without-separator-%d" % i).encode()
            val = json_bytes(good, rnd) if kind == "no-sep-key" else None
        elif kind in ("huge-key", "huge-key-tombstone"):
            big = "S" * rnd.choice((257, 600, 1100, 2000))  # past MAX_ID, past an LMDB key, past 1 KiB
            key = ("%s|%s" % (big, ploc)).encode()
            if kind == "huge-key":
                good["sku"] = big
                field = "sku"
                val = json_bytes(good, rnd)
        elif kind == "key-mismatch":
            other = dict(good, sku="poison-other-%d" % i)
            val = json_bytes(other, rnd)
        elif kind in ("bad-location", "bad-sku"):
            b = bad_id(rnd, kind == "bad-location", avro_ok=False)
            f = "location_id" if kind == "bad-location" else "sku"
            good[f] = b.text
            key = ("%s|%s" % (good["sku"], good["location_id"])).encode()
            field, byte, val = f, b.byte, json_bytes(good, rnd)
            kind += "-" + b.defect
        poison_pols.append(Rec("policies", key, val, ts(), poison=(field, byte, "policy " + kind),
                               note="poison-policy " + kind))
    n_early = max(2, len(poison_pols) // 3)
    pl.policies_first += poison_pols[:n_early]
    late_pols = poison_pols[n_early:]

    # ---- events
    pop = {l: rnd.sample(pl.skus, max(3, len(pl.skus) // 2)) for l in pl.locations}
    sent = []
    inputs = []
    ids = set()

    def event_id():
        return fresh(lambda: valid_id(rnd, allow_sep=True))

    def occurred():
        ms = now_ms + rnd.randint(-30 * DAY_MS, 30 * DAY_MS)
        return oracle._time_text(ms, rnd), ms

    def make_event(topic, loc=None):
        loc = loc or rnd.choice(pl.locations)
        text, ms = occurred()
        ev = {"event_id": event_id(), "source": rnd.choice(("pos-1", "web", "wms \u00e9", "erp|x", "\U0001F3EC")),
              "location_id": loc}
        if topic != "restocks":
            ev["channel"] = rnd.choice(oracle.CHANNELS)
        ev["occurred_at"] = text
        ev["_ms"] = oracle.parse_rfc3339_ms(text)
        n = rnd.choice((1, 1, 1, 2, 2, 3))
        skus = [rnd.choice(pop[loc]) if loc in pop and rnd.random() < 0.9 else rnd.choice(pl.skus)
                for _ in range(n)]
        if topic == "sales":
            ev["lines"] = [{"sku": s, "quantity": rnd.choice((1, 1, 2, 3, 5))} for s in skus]
        elif topic == "returns":
            if rnd.random() < 0.5:
                ev["original_event_id"] = valid_id(rnd)
            ev["lines"] = [{"sku": s, "quantity": rnd.randint(1, 3),
                            "disposition": "resellable" if rnd.random() < 0.7 else "damaged"} for s in skus]
        else:
            ev["kind"] = "receipt" if rnd.random() < 0.6 else "adjustment"
            if ev["kind"] == "receipt" and rnd.random() < 0.5:
                ev["purchase_order_id"] = valid_id(rnd)
            ev["lines"] = [{"sku": s, "quantity": rnd.randint(5, 40) if ev["kind"] == "receipt" else
                            rnd.choice((-10, -4, -2, -1, 1, 2, 3, 7))} for s in skus]
        return ev

    def key_for(ev):
        r = rnd.random()
        if r < 0.7:
            return ev["event_id"].encode()
        if r < 0.8:
            return None
        return bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 12)))

    def encode(topic, ev):
        if rnd.random() < 0.12:
            return avro_bytes(topic, ev)
        return json_bytes({k: v for k, v in ev.items() if k != "_ms"}, rnd)

    n_poison = 0

    def poison_input(topic):
        ev = make_event(topic)
        li = rnd.randrange(len(ev["lines"]))
        choices = ["id"] * 6 + ["types"] * 3 + ["broken"] * 2
        what = rnd.choice(choices)
        field, byte, value, note = None, None, None, ""
        if what == "id":
            opt = {"returns": "original_event_id", "restocks": "purchase_order_id"}.get(topic)
            f = rnd.choice(["event_id", "location_id", "lines[%d].sku" % li] + ([opt] if opt else []))
            avro = rnd.random() < 0.3
            b = bad_id(rnd, f == "location_id", avro_ok=avro)
            note = "bad %s (%s)" % (f, b.defect)
            field, byte = f, b.byte
            ph = None
            while value is None:
                if b.raw is not None:  # placeholder of the same byte length, swapped in the Avro bytes
                    ph = "".join(rnd.choice("QZJXK") for _ in range(len(b.raw)))
                    txt = ph
                else:
                    txt = b.text
                if f.startswith("lines["):
                    ev["lines"][li]["sku"] = txt
                else:
                    ev[f] = txt
                if not avro:
                    break
                value = avro_bytes(topic, ev, (ph, b.raw) if ph else None)
            if avro:
                note += " avro"
            else:
                value = json_bytes({k: v for k, v in ev.items() if k != "_ms"}, rnd)
        elif what == "types":
            kinds = ["qty-string", "qty-float", "event-id-number", "bad-time", "empty-lines", "missing-location",
                     "qty-zero", "lines-object"]
            kinds += {"sales": ["bad-channel"], "returns": ["bad-channel", "bad-disposition"],
                      "restocks": ["bad-kind", "adjustment-zero"]}[topic]
            k = rnd.choice(kinds)
            note = k
            doc = {kk: v for kk, v in ev.items() if kk != "_ms"}
            line = doc["lines"][li]
            if k == "qty-string":
                line["quantity"], field = str(abs(line["quantity"])), "lines[%d].quantity" % li
            elif k == "qty-float":
                line["quantity"], field = 1.5, "lines[%d].quantity" % li
            elif k == "event-id-number":
                doc["event_id"], field = 1001, "event_id"
            elif k == "bad-time":
                doc["occurred_at"], field = rnd.choice(("yesterday", "2026-13-01T00:00:00Z", "")), "occurred_at"
            elif k == "empty-lines":
                doc["lines"], field = [], "lines"
            elif k == "lines-object":
                doc["lines"], field = {"sku": "x"}, "lines"
            elif k == "missing-location":
                del doc["location_id"]
                field = "location_id"
            elif k == "qty-zero":
                if topic == "restocks":
                    doc["kind"] = "receipt"
                    for other in doc["lines"]:
                        other["quantity"] = abs(other["quantity"])
                line["quantity"], field = 0, "lines[%d].quantity" % li
            elif k == "adjustment-zero":
                doc["kind"], line["quantity"], field = "adjustment", 0, "lines[%d].quantity" % li
            elif k == "bad-channel":
                doc["channel"], field = rnd.choice(("telepathy", "STORE", "")), "channel"
            elif k == "bad-disposition":
                line["disposition"], field = "lost", "lines[%d].disposition" % li
            elif k == "bad-kind":
                doc["kind"], field = "transfer", "kind"
            value = json_bytes(doc, rnd)
        else:
            k = rnd.choice(["truncated", "empty", "array", "garbage", "trailing-comma", "raw-control"])
            note = k
            good = json_bytes({kk: v for kk, v in ev.items() if kk != "_ms"}, rnd)
            value = {"truncated": good[:max(1, len(good) - rnd.randint(1, 20))], "empty": b"",
                     "array": b"[1,2,3]", "garbage": b"\xff\xfe\x00garbage",
                     "trailing-comma": good[:-1] + b",}",
                     "raw-control": b'{"event_id":"a\nb"}'}[k]  # a raw newline in a JSON string
        key = rnd.choice((b"poison-%d" % len(inputs), None, ("\u00e9vil|\n\x00%d" % len(inputs)).encode()))
        return Rec(topic, key, value, ts(), poison=(field, byte, "%s %s" % (topic, note)), note="poison " + note)

    topic_w = (("sales", 55), ("returns", 15), ("restocks", 30))
    while len(inputs) < n_events:
        r = rnd.random()
        if r < 0.08:
            topic = rnd.choices([t for t, _ in topic_w], [w for _, w in topic_w])[0]
            inputs.append(poison_input(topic))
            n_poison += 1
        elif r < 0.18 and sent:
            # a re-send of an earlier event at a random distance: the same bytes, another timestamp
            d = min(len(sent), int(rnd.expovariate(1.0 / max(1, len(sent) / 3))) + 1)
            orig = sent[-d]
            inputs.append(Rec(orig.topic, orig.key, orig.value, ts(), orig.movements, note="resend"))
        elif r < 0.185:
            ev = make_event("sales", loc="*")
            inputs.append(Rec("sales", key_for(ev), encode("sales", ev), ts(), movements_of("sales", ev),
                              note="sale at *"))
        else:
            topic = rnd.choices([t for t, _ in topic_w], [w for _, w in topic_w])[0]
            ev = make_event(topic)
            rec = Rec(topic, key_for(ev), encode(topic, ev), ts(), movements_of(topic, ev), note="event")
            inputs.append(rec)
            sent.append(rec)

    # ---- segments, late poison policies, restores
    n_seg = n_segments or max(8, min(40, n_events // 250))
    size = -(-len(inputs) // n_seg)
    pl.segments = [inputs[i:i + size] for i in range(0, len(inputs), size)]
    for r in late_pols:
        seg = pl.segments[rnd.randrange(len(pl.segments))]
        seg.insert(rnd.randint(0, len(seg)), r)
    pl.chaos = [None] * (len(pl.segments) - 1)
    slots = list(range(len(pl.chaos)))
    rnd.shuffle(slots)
    n_wipe = max(2, len(pl.chaos) // 5)
    n_scale = max(1, len(pl.chaos) // 8)
    for i in slots[:n_wipe]:
        pl.chaos[i] = "wipe"
    for i in slots[n_wipe:n_wipe + n_scale]:
        pl.chaos[i] = "scale"
    for i, r in enumerate(pl.records()):
        r.n = i
    return pl


# ------------------------------------------------------------------ predictions from the inputs alone

def expected_movements(plan):
    """Counter of movement tuples the processors must write: every copy of
    every valid input's lines."""
    return Counter(oracle.movement_tuple(m) for r in plan.records() if not r.poison for m in r.movements)


def order_free_stock(plan):
    """{(sku, loc): (on_hand, unsellable, available)} and the `sku|*` sums:
    each distinct movement id applied once, however many copies and whatever
    their timestamps; movements at "*" refused. (on_order, versions,
    reorders and shortages depend on the order: the oracle's replay.)"""
    seen = set()
    rows = defaultdict(lambda: [0, 0])
    for r in plan.records():
        if r.poison:
            continue
        for m in r.movements:
            if m["location_id"] == "*" or m["movement_id"] in seen:
                continue
            seen.add(m["movement_id"])
            row = rows[(m["sku"], m["location_id"])]
            t, q = m["type"], m["quantity"]
            if t == "sale":
                row[0] -= q
            elif t in ("return_resellable", "receipt", "adjustment"):
                row[0] += q
            elif t == "return_damaged":
                row[1] += q
    out = {}
    net = defaultdict(lambda: [0, 0, 0])
    for (s, l), (oh, un) in rows.items():
        out[(s, l)] = (oh, un, max(oh, 0))
        n = net[s]
        n[0] += oh
        n[1] += un
        n[2] += max(oh, 0)
    for s, v in net.items():
        out[(s, "*")] = tuple(v)
    return out, seen


def refused_copies(plan):
    """Counter of movement ids inv-stock must dead-letter: every copy of a
    movement at location "*"."""
    return Counter(m["movement_id"] for r in plan.records() if not r.poison for m in r.movements
                   if m["location_id"] == "*")
