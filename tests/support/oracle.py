"""A seeded random POS stream and an independent oracle of the stock contract.

Three parts, usable on their own:

1. generate(seed, ...) -> Stream: sales (every channel, some dated late,
   some before a count of their row), returns (both dispositions), restocks
   (receipts, signed adjustments, counts, some late, a few stale),
   reservations, transfers (shipped, received in parts with rejected units,
   canceled, over-received), re-sent duplicates (byte-identical, and re-sent
   with other quantities), malformed inputs of many kinds, a few events our
   processors accept but the keeper must refuse (location "*", an int64
   overflow), and reorder policies (per (sku, location), `sku|*`, updated,
   deleted by tombstone, one invalid) to produce before the stream.
   Everything is a pure function of the seed and now_ms.

2. StockOracle: the contract's semantics (docs/CONTRACT.md "Semantics":
   stock, transfers, counts as of their time, reservations), written here
   from the text, without calling or reading our C code. It is fed
   StockMovements in the order the keeper applies them, which is the order
   of the committed records of each inventory.movements partition (one
   writer per partition), so it can be exact: per (sku, location) and per
   `sku|*` the final StockLevel (version, updated_at, incoming,
   in_transit_out, last_count_at and count_variance included), every
   ReorderEvent and ShortageEvent, the duplicates dropped, the movements
   refused and those applied and reported.

3. Checks that need no replay at all (check_reorder_rules,
   check_shortage_rules, check_network_sums, ...) and the plumbing the keeper
   tests share (KeeperRig: topics, programs, waits, bulk reads, HTTP).

Nothing here runs or imports our C code; the programs are only started as
black boxes by KeeperRig.
"""

import io
import json
import logging
import os
import random
import re
import shutil
import struct
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone

from invtest import (ROOT, TOPIC_KEYS, bin, bootstrap, free_port, http_get, murmur2_partition, run, start,
                     topic_env, unique, wait_until)

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

# librdkafka's own log lines of the clients here (connection refused while a
# test restarts the broker, ...) would flood the test output: dropped.
QUIET = logging.getLogger("oracle.librdkafka")
QUIET.addHandler(logging.NullHandler())
QUIET.propagate = False
CHANNELS = ("store", "online", "marketplace", "b2b")
MOVEMENT_TYPES = ("sale", "return_resellable", "return_damaged", "receipt", "adjustment", "count")
RESERVATION_TYPES = ("reserve", "release", "expire")
SCHEMA_IDS = {"sales": 14, "returns": 2, "restocks": 3,  # SaleEvent changed: id 1 is its earlier version
              "transfers": 10}


# =============================================================== times

def rfc3339_ms(ms):
    """epoch ms -> 'YYYY-MM-DDTHH:MM:SS.mmmZ' (the outputs' format)."""
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


_RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)$")


def parse_rfc3339_ms(text):
    """RFC 3339 -> epoch ms (fraction truncated to ms), without the C parser."""
    m = _RFC3339.match(text)
    if not m:
        raise ValueError("not RFC 3339: %r" % text)
    y, mo, d, h, mi, s, frac, tz = m.groups()
    dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=timezone.utc)
    ms = int(dt.timestamp()) * 1000 + int(((frac or "") + "000")[:3])
    if tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        ms -= sign * (int(tz[1:3]) * 60 + int(tz[4:6])) * 60000
    return ms


def _time_text(ms, rnd):
    """A valid RFC 3339 text for ms, in one of several spellings."""
    r = rnd.random()
    if r < 0.7:
        return rfc3339_ms(ms)
    if r < 0.85:  # an offset zone
        off = rnd.choice((-300, 60, 120, 330))
        dt = datetime.fromtimestamp((ms + off * 60000) // 1000, tz=timezone.utc)
        sign = "+" if off >= 0 else "-"
        return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03d%s%02d:%02d" % (
            ms % 1000, sign, abs(off) // 60, abs(off) % 60)
    # microseconds (the extra digits are truncated to ms)
    return rfc3339_ms(ms)[:-1] + "%03dZ" % rnd.randrange(1000)


# =============================================================== policies

class Policy(tuple):
    __slots__ = ()

    def __new__(cls, reorder_point, reorder_quantity, safety_stock):
        return tuple.__new__(cls, (reorder_point, reorder_quantity, safety_stock))

    rp = property(lambda self: self[0])
    rq = property(lambda self: self[1])
    ss = property(lambda self: self[2])


POLICY_MAX = 10 ** 12  # the decoders' bound on policy values


def policy_doc(value):
    """The ReorderPolicy JSON `value` holds, or None when it is invalid."""
    try:
        doc = json.loads(value)
        vals = [doc[f] for f in ("reorder_point", "reorder_quantity", "safety_stock")]
        ok = (isinstance(doc["sku"], str) and isinstance(doc["location_id"], str) and
              all(type(v) is int and 0 <= v <= POLICY_MAX for v in vals))
    except (ValueError, KeyError, TypeError):
        ok = False
    return doc if ok else None


class PolicyTable:
    """The compacted policies topic as the contract reads it: the last value
    per `sku|location_id` key, a tombstone deletes, an invalid value (missing
    field, a number out of 0..10^12, not JSON) changes nothing and goes to
    the DLQ. effective(): the (sku,
    location) policy, else the (sku, "*") one, else the config default;
    network_threshold(): the safety_stock of (sku, "*"), else the default's."""

    def __init__(self, default):
        self.default = Policy(*default)
        self.table = {}
        self.invalid = 0

    def apply(self, key, value):
        sku, _, loc = key.decode("utf-8").rpartition("|")
        if value is None:
            self.table.pop((sku, loc), None)
            return True
        doc = policy_doc(value)
        if doc is None:
            self.invalid += 1
            return False
        self.table[(doc["sku"], doc["location_id"])] = Policy(
            *[doc[f] for f in ("reorder_point", "reorder_quantity", "safety_stock")])
        return True


    def effective(self, sku, loc):
        p = self.table.get((sku, loc))
        if p is None:
            p = self.table.get((sku, "*"))
        return p if p is not None else self.default

    def network_threshold(self, sku):
        p = self.table.get((sku, "*"))
        return (p if p is not None else self.default).ss


# =============================================================== the oracle

class Row:
    __slots__ = ("on_hand", "unsellable", "on_order", "available", "version", "updated_at", "shortage",
                 "committed", "incoming", "in_transit_out", "last_count_at", "count_variance")

    def __init__(self):
        self.on_hand = self.unsellable = self.on_order = self.available = 0
        self.committed = self.incoming = self.in_transit_out = 0
        self.last_count_at = None  # epoch ms of the row's latest count, None before the first
        self.count_variance = 0
        self.version = 0
        self.updated_at = 0
        self.shortage = "none"

    def copy(self):
        r = Row()
        for f in Row.__slots__:
            setattr(r, f, getattr(self, f))
        return r

    def quantities(self):
        """The fields the network row sums."""
        return (self.on_hand, self.unsellable, self.on_order, self.available, self.committed, self.incoming,
                self.in_transit_out)

    def state(self):
        """Everything whose change makes a new version (the shortage state aside)."""
        return self.quantities() + (self.last_count_at, self.count_variance)

    def level(self, sku, loc):
        """As a StockLevel dict (times in ms) plus the shortage state."""
        return {"sku": sku, "location_id": loc, "on_hand": self.on_hand, "unsellable": self.unsellable,
                "on_order": self.on_order, "available": self.available, "updated_at": self.updated_at,
                "version": self.version, "shortage": self.shortage, "committed": self.committed,
                "incoming": self.incoming, "in_transit_out": self.in_transit_out,
                "last_count_at": self.last_count_at, "count_variance": self.count_variance}


class Refused(Exception):
    pass


def _shortage_next(cur, available, threshold):
    """Hysteresis (inv_rules.h): 0 -> out_of_stock; up to the threshold ->
    low; above it -> restored if it was low or out_of_stock, else as it was."""
    if available <= 0:
        return "out_of_stock"
    if available <= threshold:
        return "low"
    if cur in ("low", "out_of_stock"):
        return "restored"
    return cur


def _fits(*vals):
    return all(INT64_MIN <= v <= INT64_MAX for v in vals)


COUNT_WINDOW_MS = 48 * 3600 * 1000   # count.window.ms default
CLOCK_SKEW_MAX_MS = 5 * 60 * 1000    # clock.skew.max.ms default
TRANSFER_TYPES = ("transfer_out", "transfer_in", "transfer_cancel")
# the movement types that change on_hand: each such change is placed at its time
ON_HAND_TYPES = ("sale", "return_resellable", "receipt", "adjustment", "count") + TRANSFER_TYPES


class StockOracle:
    """Applies StockMovements (dicts: movement_id, sku, location_id, type,
    quantity, occurred_at as epoch ms, and for transfers transfer_id,
    other_location_id, rejected) one at a time, in the keeper's order.

    Per movement: refused (-> DLQ) when its location is "*", its quantity is
    out of range for its type, a result does not fit in int64, or it is a
    count more than count.window.ms before its row's newest change; else
    dropped when its movement_id was applied before; else applied to its
    location row, for a transfer also to the other end's row, and to the
    SKU's network row (the field-by-field sum of the SKU's location rows,
    the latest last_count_at of them), then reorders (each location row
    touched) and shortages (those and the network row). A row whose
    quantities, count fields or shortage state changed gets version + 1 and
    updated_at = the movement's occurred_at.

    Counts as of their time (CONTRACT.md "Counts as of their time"): every
    on_hand change is placed at its occurred_at, or at m["_applied_at"] when
    a test gives one and occurred_at lies more than clock.skew.max.ms after
    it (the keeper's clock is not the model's: the random streams hold no
    future-dated records). A change placed at or before the row's
    last_count_at keeps its other effects but not its on_hand one; a count
    at T after last_count_at sets on_hand = counted + the net of the changes
    placed after T already applied.

    Transfers (CONTRACT.md "Transfers"): per (transfer_id, sku) line shipped,
    received (rejected included) and canceled; the units in transit are
    max(shipped - received - canceled, 0) and each movement moves their
    change onto the source's in_transit_out and the destination's incoming.
    A receipt beyond what is in transit and a cancel with nothing in transit
    are applied and reported (self.reported, also to the DLQ)."""

    def __init__(self, policies, count_window_ms=COUNT_WINDOW_MS, skew_ms=CLOCK_SKEW_MAX_MS):
        self.policies = policies
        self.count_window_ms = count_window_ms
        self.skew_ms = skew_ms
        self.holds = {}                # (reservation_id, sku, location) -> open line dict
        self.statuses = []             # ReservationStatus dicts, in emission order
        self.locs = defaultdict(dict)  # sku -> {location: Row}
        self.network = {}              # sku -> Row
        self.history = {}              # (sku, location) -> [(placed ms, on_hand change)] after its last count
        self.newest = {}               # (sku, location) -> time of the row's newest on_hand change
        self.transfers = {}            # (transfer_id, sku) -> open line {"shipped", "received", "canceled"}
        self.seen = set()
        self.reorders = []             # ReorderEvent dicts, in emission order
        self.shortages = []            # ShortageEvent dicts
        self.refused = []              # (movement, reason): not applied, to the DLQ
        self.reported = []             # (movement, reason): applied and reported to the DLQ
        self.applied = Counter()       # by type
        self.duplicates = 0
        self.notes = Counter()         # what the stream exercised (check_coverage)

    def apply(self, m):
        sku, loc, typ, q, mid = m["sku"], m["location_id"], m["type"], m["quantity"], m["movement_id"]
        try:
            self._apply(m, sku, loc, typ, q, mid)
        except Refused as e:
            self.refused.append((m, str(e)))

    def expired_lines(self):
        """Counter of (reservation_id, sku, location) -> `expired` statuses."""
        return Counter((s["reservation_id"], s["sku"], s["location_id"]) for s in self.statuses
                       if s["state"] == "expired")

    def placed_at(self, m):
        """The time a movement's on_hand change is placed at."""
        at, applied = m["occurred_at"], m.get("_applied_at")
        if applied is not None and at > applied + self.skew_ms:
            return applied
        return at

    def _validate(self, m, sku, loc, typ, q):
        if loc == "*":
            raise Refused("location * is the network row")
        if typ not in MOVEMENT_TYPES + RESERVATION_TYPES + TRANSFER_TYPES:
            raise Refused("unknown type")
        if (typ == "count" and q < 0) or (typ not in ("count", "adjustment") and q <= 0):
            raise Refused("quantity out of range")
        if typ in RESERVATION_TYPES and not m.get("reservation_id"):
            raise Refused("no reservation_id")
        if typ in TRANSFER_TYPES:
            other = m.get("other_location_id")
            if not m.get("transfer_id") or not other or other in (loc, "*"):
                raise Refused("transfer fields")
            if not 0 <= (m.get("rejected") or 0) <= q or (m.get("rejected") and typ != "transfer_in"):
                raise Refused("rejected out of range")

    def _apply(self, m, sku, loc, typ, q, mid):
        self._validate(m, sku, loc, typ, q)
        rid = m.get("reservation_id")
        at = m["occurred_at"]
        t = self.placed_at(m)
        rows = self.locs[sku]
        other = m.get("other_location_id") if typ in TRANSFER_TYPES else None
        touched = [loc] + ([other] if other else [])
        old = {l: rows.get(l) or Row() for l in touched}
        new = {l: r.copy() for l, r in old.items()}
        key = (sku, loc)
        hist = list(self.history.get(key, ()))
        newest = self.newest.get(key)
        me = new[loc]
        notes = []

        def on_hand(row, dq):
            """An on_hand change at the movement's own row, placed at t."""
            if row.last_count_at is not None and t <= row.last_count_at:
                if dq:
                    notes.append("covered by a count")
                return
            row.on_hand += dq
            if dq:
                hist.append((t, dq))

        if typ == "count":
            if newest is not None and t < newest - self.count_window_ms:
                raise Refused("%s: count at %s is more than count.window.ms (%d ms) before the newest change of "
                              "%s at %s (%s)" % (mid, rfc3339_ms(t), self.count_window_ms, sku, loc,
                                                 rfc3339_ms(newest)))

        hkey = (rid, sku, loc)
        line = status = None
        if rid and (typ in RESERVATION_TYPES or typ == "sale"):
            line, status, taken = self._hold_step(m, typ, q, old[loc], self.holds.get(hkey))
            me.committed += taken
        tkey = tline = report = None
        if typ in RESERVATION_TYPES:
            pass
        elif typ == "sale":
            on_hand(me, -q)
        elif typ in ("return_resellable", "adjustment", "receipt"):
            on_hand(me, q)
            if typ == "receipt":
                me.on_order -= min(max(me.on_order, 0), q)
        elif typ == "return_damaged":
            me.unsellable += q
        elif typ == "count":
            if me.last_count_at is None or t > me.last_count_at:
                later = sum(dq for (tt, dq) in hist if tt > t)
                me.count_variance = q - (me.on_hand - later)
                me.on_hand = q + later
                me.last_count_at = t
                hist = [(tt, dq) for (tt, dq) in hist if tt > t]
                if later:
                    notes.append("count net of later changes")
            else:
                notes.append("count at or before the last count")
        else:  # a transfer movement
            tkey = (m["transfer_id"], sku)
            tline = dict(self.transfers.get(tkey) or {"shipped": 0, "received": 0, "canceled": 0})
            before = max(tline["shipped"] - tline["received"] - tline["canceled"], 0)
            if typ == "transfer_out":
                src, dst = loc, other
                tline["shipped"] += q
                on_hand(me, -q)
            elif typ == "transfer_in":
                src, dst = other, loc
                r = m.get("rejected") or 0
                tline["received"] += q
                on_hand(me, q - r)
                me.unsellable += r
                if q > before:
                    report = ("%s: transfer %s %s: received %d units, %d were in transit (never shipped, or received "
                              "or canceled already): applied at %s" % (mid, m["transfer_id"], sku, q, before, loc))
            else:
                src, dst = loc, other
                tline["canceled"] += before
                on_hand(me, before)
                if before == 0:
                    report = ("%s: transfer %s %s: canceled with no units in transit: nothing returned"
                              % (mid, m["transfer_id"], sku))
            after = max(tline["shipped"] - tline["received"] - tline["canceled"], 0)
            new[src].in_transit_out += after - before
            new[dst].incoming += after - before
        if typ in ON_HAND_TYPES:
            newest = t if newest is None else max(newest, t)

        # reorders, per location row touched
        reorder = {}
        fits = []
        for l in touched:
            r = new[l]
            r.available = max(r.on_hand - r.committed, 0)
            pol = self.policies.effective(sku, l)
            position = r.on_hand + r.on_order + r.incoming - r.committed
            if position <= pol.rp:
                reorder[l] = max(pol.rq, pol.rp + 1 - position)
                r.on_order += reorder[l]
            fits += [r.on_hand, r.unsellable, r.on_order, r.incoming, r.in_transit_out, position,
                     pol.rp + 1 - position]
        # the network row: sums over every location row, these replaced
        everyone = [new[l] if l in new else r for l, r in rows.items()] + [new[l] for l in touched if l not in rows]
        sums = [sum(vals) for vals in zip(*(r.quantities() for r in everyone))]
        if not _fits(*(fits + sums)):
            raise Refused("int64 overflow")
        if mid in self.seen:
            self.duplicates += 1
            return
        self.seen.add(mid)
        self.applied[typ] += 1
        self.notes.update(notes)
        if typ in TRANSFER_TYPES:
            self.notes[typ] += 1
            if report:
                self.reported.append((m, report))
                self.notes["reported " + typ] += 1
            if tline["shipped"] > 0 and max(tline["shipped"] - tline["received"] - tline["canceled"], 0) == 0:
                self.transfers.pop(tkey, None)
            else:
                self.transfers[tkey] = tline
        if typ == "count" and me.last_count_at == t and old[loc].last_count_at != t:
            self.notes["count applied"] += 1
        self.history[key] = hist
        if newest is not None:
            self.newest[key] = newest
        ss = {}
        for l in touched:
            ss[l] = self.policies.effective(sku, l).ss
            new[l].shortage = _shortage_next(old[l].shortage, new[l].available, ss[l])
        oldnet = self.network.get(sku) or Row()
        net = oldnet.copy()
        (net.on_hand, net.unsellable, net.on_order, net.available, net.committed, net.incoming,
         net.in_transit_out) = sums
        counted = [r.last_count_at for r in everyone if r.last_count_at is not None]
        net.last_count_at = max(counted) if counted else None
        net.count_variance = sum(r.count_variance for r in everyone)
        thr = self.policies.network_threshold(sku)
        net.shortage = _shortage_next(oldnet.shortage, net.available, thr)
        for before, after in [(old[l], new[l]) for l in touched] + [(oldnet, net)]:
            if before.state() != after.state() or before.shortage != after.shortage:
                after.version += 1
                after.updated_at = at
        for l in touched:
            rows[l] = new[l]
        self.network[sku] = net
        if status is not None:
            if line is None or line["remaining"] <= 0:
                self.holds.pop(hkey, None)
            else:
                self.holds[hkey] = line
            status.update({"event_id": "status:" + mid, "reservation_id": rid, "sku": sku, "location_id": loc,
                           "occurred_at": at,
                           "expires_at": line["expires_at"] if line and line["remaining"] > 0 else None})
            self.statuses.append(status)
        for l, qty in reorder.items():
            self.reorders.append({
                "event_id": "reorder:" + mid + ("" if l == loc else ":" + l), "sku": sku, "location_id": l,
                "quantity": qty, "on_hand": new[l].on_hand, "on_order": new[l].on_order,
                "reorder_point": self.policies.effective(sku, l).rp, "occurred_at": at, "cause_movement_id": mid})
        for where, before, after, threshold in [(l, old[l], new[l], ss[l]) for l in touched] + [
                ("*", oldnet, net, thr)]:
            if after.shortage != before.shortage:
                self.shortages.append({
                    "event_id": "shortage:%s:%s:%s" % (where, after.shortage, mid), "sku": sku,
                    "location_id": where, "state": after.shortage, "available": after.available,
                    "threshold": threshold, "occurred_at": at})

    @staticmethod
    def _hold_step(m, typ, q, row, line):
        """The reservation step of a movement (inv_rules.h): (the line after it,
        the status fields, the change of committed)."""
        is_open = line is not None and line["remaining"] > 0
        if typ == "reserve":
            avail = max(row.on_hand - row.committed, 0)
            grant = q if avail >= q else (avail if m.get("allow_partial") else 0)
            state = "held" if grant == q else "partial" if grant > 0 else "rejected"
            if grant > 0 or is_open:
                line = dict(line) if is_open else {"requested": 0, "held": 0, "remaining": 0}
                line["requested"] += q
                line["held"] += grant
                line["remaining"] += grant
                line["expires_at"] = m["expires_at"]
            else:
                line = None
            return line, {"state": state, "requested": q, "held": grant,
                          "remaining": line["remaining"] if line else 0}, grant
        if typ == "expire" and (not is_open or line["expires_at"] != m["occurred_at"]):
            return (line if is_open else None), None, 0
        if not is_open:
            return None, {"state": "not_found", "requested": q, "held": 0, "remaining": 0}, 0
        line = dict(line)
        take = line["remaining"] if typ == "expire" else min(q, line["remaining"])
        line["remaining"] -= take
        state = {"release": "released", "expire": "expired"}.get(typ) or (
            "fulfilled" if line["remaining"] == 0 else "held")
        return line, {"state": state, "requested": take if typ == "expire" else q, "held": line["held"],
                      "remaining": line["remaining"]}, -take

    def stock(self):
        """{(sku, location): level dict} of every row ever written (version > 0),
        the network rows under location "*"."""
        out = {}
        for sku, rows in self.locs.items():
            for loc, r in rows.items():
                if r.version:
                    out[(sku, loc)] = r.level(sku, loc)
            net = self.network.get(sku)
            if net is not None and net.version:
                out[(sku, "*")] = net.level(sku, "*")
        return out


# =============================================================== the stream

class Input:
    """One record for an input topic ("sales", "returns" or "restocks")."""
    __slots__ = ("topic", "key", "value", "movements", "malformed", "note")

    def __init__(self, topic, key, value, movements=None, malformed=None, note=None):
        self.topic, self.key, self.value = topic, key, value
        self.movements = movements or []  # what a valid input becomes (dicts)
        self.malformed = malformed        # category when the processors must dead-letter it
        self.note = note                  # "resent", "resent-changed", "keeper-refuses", ...


class Stream:
    def __init__(self):
        self.settle_ms = 0  # the latest expiry of a short hold (wall clock ms)
        self.channels = []  # the initial channel map: (key bytes, ChannelLocation bytes)
        self.policies = []   # (key bytes, value bytes or None), to produce in order
        self.inputs = []     # Input, in production order
        self.default = None  # (reorder_point, reorder_quantity, safety_stock)
        self.skus, self.locations = [], []

    def expected_movements(self):
        """Counter of movement tuples the processors must write (re-sends included)."""
        return Counter(movement_tuple(m) for i in self.inputs for m in i.movements)

    def malformed(self):
        return [i for i in self.inputs if i.malformed]

    def invalid_policies(self):
        """(key, value) of every policy record inv-stock must dead-letter."""
        return [(k, v) for k, v in self.policies if v is not None and policy_doc(v) is None]

    def stats(self):
        c = Counter()
        for i in self.inputs:
            c["inputs"] += 1
            c["topic." + i.topic] += 1
            if i.malformed:
                c["malformed"] += 1
                c["malformed." + i.malformed] += 1
            if i.note:
                c[i.note] += 1
            for m in i.movements:
                c["movements"] += 1
                c["type." + m["type"]] += 1
                if m["channel"]:
                    c["channel." + m["channel"]] += 1
        return c

    def policy_table(self):
        t = PolicyTable(self.default)
        for k, v in self.policies:
            t.apply(k, v)
        return t

    def channel_map(self):
        """{channel: {location: buffer}} once the initial map and every change
        among the inputs are applied (each key changes at most once among the
        inputs, so the order the tests produce them in does not matter)."""
        recs = list(self.channels) + [(i.key, i.value) for i in self.inputs if i.topic == "channels"]
        m = defaultdict(dict)
        for k, v in recs:
            ch, _, loc = k.decode("utf-8").rpartition("|")
            if v is None:
                m[ch].pop(loc, None)
            else:
                m[ch][loc] = json.loads(v)["buffer"]
        return {c: locs for c, locs in m.items() if locs}


def movement_tuple(m):
    return (m["movement_id"], m["sku"], m["location_id"], m["channel"], m["type"], m["quantity"],
            m["occurred_at"], m["source"], m.get("transfer_id"), m.get("other_location_id"), m.get("rejected") or 0)


_avro = {}


def _avro_schema(name):
    import fastavro
    if name not in _avro:
        with open(os.path.join(ROOT, "schemas", name + ".avsc")) as f:
            _avro[name] = fastavro.parse_schema(json.load(f))
    return _avro[name]


def _avro_bytes(topic, ev):
    import fastavro
    name = {"sales": "SaleEvent", "returns": "ReturnEvent", "restocks": "RestockEvent",
            "transfers": "TransferEvent"}[topic]
    rec = dict(ev)
    if topic == "transfers":
        rec["lines"] = [dict(l, rejected=l.get("rejected", 0)) for l in ev["lines"]]
    rec["occurred_at"] = datetime.fromtimestamp(ev["_ms"] / 1000.0, tz=timezone.utc)
    rec.pop("_ms")
    rec.setdefault("original_event_id", None)
    rec.setdefault("purchase_order_id", None)
    buf = io.BytesIO()
    buf.write(b"\x00" + struct.pack(">i", SCHEMA_IDS[topic]))
    fastavro.schemaless_writer(buf, _avro_schema(name), rec)
    return buf.getvalue()


def _json_bytes(ev):
    return json.dumps({k: v for k, v in ev.items() if k != "_ms"}, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


MALFORMED_KINDS = (
    "bad-json", "not-an-object", "missing-location", "missing-lines", "missing-sku", "missing-event-id",
    "quantity-0", "negative-quantity", "adjustment-0", "negative-count", "unknown-channel",
    "unknown-disposition", "unknown-kind", "empty-lines", "fractional-quantity", "string-quantity",
    "bad-time", "empty-value", "unknown-schema-id", "truncated-avro")


def generate(seed, n_events, n_skus=600, n_locations=24, malformed_rate=0.015, dup_rate=0.03,
             avro_rate=0.05, n_policies=None, star_sales=None, overflow=True, base_ms=None,
             reservation_rate=0.06, now_ms=None, channel_map=True, transfer_rate=0.05, late_rate=0.2):
    """The stream: n_events inputs in all (malformed and re-sent included),
    plus a few stale counts with late_rate. Dated from base_ms (default: so
    that the whole stream lies more than an hour before now_ms: no record is
    dated ahead of the clock that applies it) on, 1-60 ms apart.

    With transfer_rate, that share of the inputs are shipments on
    pos.transfers (keyed by transfer_id; 1-3 SKUs from a location where
    they are stocked to another, preferably one stocking the first SKU too),
    each followed later in the stream by its receipt in one or two parts
    (some with rejected units), a partial receipt then a cancel, a cancel
    before any receipt, a receipt of more than was shipped or a cancel after
    a full receipt (both reported by the keeper), or nothing (left in
    transit); a few receipts come before their shipment. Malformed transfers
    (the processor's validation) join the malformed inputs.

    With late_rate, that share of the sales, and of the counts, is dated 2-20
    minutes before its neighbours; 40% of the late sales are dated 1-10
    minutes before a count of the same row produced earlier in the stream
    (count-straddling), and late counts fall after changes of their row
    produced before them. A few counts dated 3 days before the stream, on
    rows never counted otherwise, are more than count.window.ms before their
    row's newest change (the keeper dead-letters them).

    With reservation_rate, that share of the inputs are holds on
    pos.reservations (online and marketplace; some allow_partial), each
    followed a little later in the stream by a sale carrying its
    reservation_id (part of it, or all), a release, or nothing. Holds are
    dated on the wall clock (now_ms, default now: inv-stock expires them on
    its own clock) and most expire in 2 h; a fifth expire 3-25 s after now_ms,
    so some expire during the run, some after a sale took part of them, some
    while their partition moves in the crash and scale tests."""
    rnd = random.Random(seed)
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    if base_ms is None:
        base_ms = now_ms - 61 * n_events - 3600 * 1000
    st = Stream()
    st.default = (4, 12, 2)
    skus = ["SKU-%05d" % i for i in range(n_skus)]
    for i in range(0, n_skus, max(1, n_skus // 6)):  # some non-ASCII and spaces
        skus[i] = rnd.choice(("SKU-\u00fc-%d", "SKU \u65e5\u672c %d", "sku with spaces %d")) % i
    locations = ["store-%02d" % i for i in range(1, n_locations - 5)] + \
        ["dc-1", "dc-2", "web-1", "mkt-1", "Lager-\u00f6st"]
    locations = locations[:max(n_locations, 1)]
    st.skus, st.locations = skus, locations
    # each SKU is stocked at a few locations; a few SKUs at one or two only,
    # so the network row moves through its shortage states too
    stocked = {}
    for i, s in enumerate(skus):
        k = 1 + (i % 3 == 0) if i % 10 == 0 else rnd.randint(2, 8)
        stocked[s] = rnd.sample(locations, min(k, len(locations)))
    weights = [1.0 / (1 + r) ** 0.7 for r in range(n_skus)]
    rnd.shuffle(weights)
    at_loc = defaultdict(list)
    for s, w in zip(skus, weights):
        for l in stocked[s]:
            at_loc[l].append((s, w))

    # ---- policies, produced before the stream
    pols = []
    n_policies = n_policies if n_policies is not None else max(10, n_skus // 3)

    def pol(sku, loc, rp, rq, ss):
        return ("%s|%s" % (sku, loc)).encode(), json.dumps(
            {"sku": sku, "location_id": loc, "reorder_point": rp, "reorder_quantity": rq,
             "safety_stock": ss}, ensure_ascii=False).encode()
    for _ in range(n_policies):
        s = rnd.choice(skus)
        if rnd.random() < 0.3:
            pols.append(pol(s, "*", rnd.randint(3, 15), rnd.randint(5, 40), rnd.choice((1, 3, 10, 30))))
        else:
            pols.append(pol(s, rnd.choice(stocked[s]), rnd.randint(0, 20), rnd.randint(0, 40),
                            rnd.randint(0, 8)))
    for k, v in list(pols[: max(2, len(pols) // 10)]):  # updated: the last value wins
        d = json.loads(v)
        d["reorder_point"] += 3
        d["safety_stock"] += 1
        pols.append((k, json.dumps(d, ensure_ascii=False).encode()))
    for k, _ in list(pols[len(pols) // 2: len(pols) // 2 + max(2, len(pols) // 20)]):  # deleted
        pols.append((k, None))
    s = rnd.choice(skus)  # invalid ones: dead-lettered
    pols.append(pol(s, stocked[s][0], -1, 10, 2))
    pols.append((("%s|%s" % (s, stocked[s][-1])).encode(), b"{not json"))
    st.policies = pols

    # ---- events
    seq = [0]
    t_ms = [base_ms]
    sent = []  # valid inputs that can be re-sent: (Input, topic, event dict)
    reused = set()

    def next_id(prefix):
        seq[0] += 1
        return "%s-%d-%07d" % (prefix, seed, seq[0])

    loc_pop = {l: [s for s, _ in v] for l, v in at_loc.items()}
    loc_cum = {}
    for l, v in at_loc.items():
        acc, cum = 0.0, []
        for _, w in v:
            acc += w
            cum.append(acc)
        loc_cum[l] = cum
    sku_cum = []
    acc = 0.0
    for w in weights:
        acc += w
        sku_cum.append(acc)

    def pick_lines(loc, n):
        out = []
        for _ in range(n):
            if loc not in loc_pop or rnd.random() < 0.03:
                out.append(rnd.choice(skus))  # not stocked here: new rows, oversells
            else:
                out.append(rnd.choices(loc_pop[loc], cum_weights=loc_cum[loc])[0])
        return out

    def anchor():
        s = rnd.choices(skus, cum_weights=sku_cum)[0]
        return rnd.choice(stocked[s])

    def nlines():
        r = rnd.random()
        return 1 if r < 0.6 else 2 if r < 0.85 else rnd.randint(3, 4)

    def movements(topic, ev):
        out = []
        if topic == "transfers":
            typ = {"shipped": "transfer_out", "received": "transfer_in", "canceled": "transfer_cancel"}[ev["status"]]
            here, there = ev["from_location_id"], ev["to_location_id"]
            if typ == "transfer_in":
                here, there = there, here
            for i, line in enumerate(ev["lines"]):
                out.append({"movement_id": "%s:%s:%d" % (typ, ev["event_id"], i), "sku": line["sku"],
                            "location_id": here, "channel": None, "type": typ, "quantity": line["quantity"],
                            "occurred_at": ev["_ms"], "source": ev["source"], "transfer_id": ev["transfer_id"],
                            "other_location_id": there, "rejected": line.get("rejected", 0)})
            return out
        for i, line in enumerate(ev["lines"]):
            if topic == "reservations":
                typ = "reserve" if ev["action"] == "hold" else "release"
            elif topic == "sales":
                typ = "sale"
            elif topic == "returns":
                typ = "return_" + line["disposition"]
            else:
                typ = ev["kind"]
            out.append({"movement_id": "%s:%s:%d" % (typ, ev["event_id"], i), "sku": line["sku"],
                        "location_id": ev["location_id"],
                        "channel": ev.get("channel") if topic != "restocks" else None,
                        "type": typ, "quantity": line["quantity"], "occurred_at": ev["_ms"],
                        "source": ev["source"]})
        return out

    def make_event(topic, event_id=None, loc=None):
        t_ms[0] += rnd.randint(1, 60)
        loc = loc or anchor()
        ev = {"event_id": event_id or next_id({"sales": "T", "returns": "R", "restocks": "GR",
                                               "reservations": "RV"}[topic]),
              "source": "pos-" + loc if rnd.random() < 0.7 else rnd.choice(("web", "amazon", "wms", "erp")),
              "location_id": loc}
        if topic != "restocks":
            ev["channel"] = rnd.choices(CHANNELS, weights=(50, 25, 15, 10))[0]
        ev["occurred_at"] = _time_text(t_ms[0], rnd)
        ev["_ms"] = t_ms[0]
        lines = pick_lines(loc, nlines())
        if topic == "reservations":
            ev["channel"] = rnd.choice(("online", "online", "marketplace"))
            # on the wall clock, the stream's time compressed 50 times: inv-stock
            # expires holds on its own clock, and the short ones expire during the run
            ev["_ms"] = now_ms + (t_ms[0] - base_ms) // 50
            ev["occurred_at"] = rfc3339_ms(ev["_ms"])
            ev["reservation_id"] = next_id("ORD")
            ev["action"] = "hold"
            short = rnd.random() < 0.2
            life = rnd.randint(3000, 25000) if short else 2 * 3600 * 1000
            ev["expires_at"] = rfc3339_ms(ev["_ms"] + life)
            if short:
                st.settle_ms = max(st.settle_ms, ev["_ms"] + life)
            ev["allow_partial"] = rnd.random() < 0.3
            ev["lines"] = [{"sku": s, "quantity": rnd.choice((1, 1, 2, 3))} for s in dict.fromkeys(lines)]
        elif topic == "sales":
            ev["lines"] = [{"sku": s, "quantity": rnd.choices((1, 2, 3, 5), (60, 25, 10, 5))[0]} for s in lines]
        elif topic == "returns":
            if rnd.random() < 0.5:
                ev["original_event_id"] = "T-%d-%07d" % (seed, rnd.randint(1, max(1, seq[0])))
            ev["lines"] = [{"sku": s, "quantity": rnd.randint(1, 2),
                            "disposition": "resellable" if rnd.random() < 0.7 else "damaged"} for s in lines]
        else:
            kind = rnd.choices(("receipt", "adjustment", "count"), (60, 25, 15))[0]
            ev["kind"] = kind
            if kind == "receipt" and rnd.random() < 0.6:
                ev["purchase_order_id"] = "PO-%d" % rnd.randint(1, 99999)
            if kind == "receipt":
                qs = [rnd.randint(4, 24) for _ in lines]
            elif kind == "adjustment":
                qs = [rnd.choice((-5, -3, -2, -1, -1, 1, 1, 2, 4)) for _ in lines]
            else:
                qs = [rnd.choice((0, 0, 1, 2, 3, 5, 8, 12, 20)) for _ in lines]
            ev["lines"] = [{"sku": s, "quantity": q} for s, q in zip(lines, qs)]
        return ev

    counts = []  # (input index, sku, location, ms) of the valid counts so far

    def late(ev, minutes):
        """Dated `minutes` (a (lo, hi) range) before its time in the stream."""
        ev["_ms"] -= rnd.randint(minutes[0] * 60000, minutes[1] * 60000)
        ev["occurred_at"] = _time_text(ev["_ms"], rnd)
        return ev

    def make_transfer(status, ship=None):
        """A TransferEvent: a new shipment, or the `status` of `ship`'s transfer."""
        t_ms[0] += rnd.randint(1, 60)
        if ship is None:
            frm = anchor()
            lines = list(dict.fromkeys(pick_lines(frm, nlines())))
            to = [l for l in stocked.get(lines[0], ()) if l != frm] if rnd.random() < 0.8 else []
            to = rnd.choice(to or [l for l in locations if l != frm])
            tid = next_id("TR")
            lines = [{"sku": s, "quantity": rnd.randint(2, 24)} for s in lines]
        else:
            frm, to, tid = ship["from_location_id"], ship["to_location_id"], ship["transfer_id"]
            lines = [{"sku": l["sku"], "quantity": l["quantity"]} for l in ship["lines"]]
        ev = {"event_id": "%s-%s-%d" % (tid, status, seq[0]), "source": rnd.choice(("wms", "pos-" + frm, "erp")),
              "transfer_id": tid, "status": status, "from_location_id": frm, "to_location_id": to,
              "occurred_at": _time_text(t_ms[0], rnd), "_ms": t_ms[0], "lines": lines}
        seq[0] += 1
        return ev

    def add_transfer(ev, note):
        if ev["status"] != "received":
            for l in ev["lines"]:
                l.pop("rejected", None)
        elif rnd.random() < 0.5:  # "rejected" may be left out when 0
            for l in ev["lines"]:
                if not l.get("rejected"):
                    l.pop("rejected", None)
        inp = add_valid("transfers", ev, note=note, key=ev["transfer_id"].encode("utf-8"))
        sent.append((inp, "transfers", ev))
        return inp

    def receipt(ship, parts, rejected_rate=0.2, extra=0):
        """A receipt of `parts` (per line) of the shipment, some units rejected."""
        ev = make_transfer("received", ship)
        for l, q in zip(ev["lines"], parts):
            l["quantity"] = q + extra
            l["rejected"] = rnd.randint(1, min(3, l["quantity"])) if rnd.random() < rejected_rate else 0
        return ev

    def transfer_follow_up(ship, plan, first=None):
        """The next step of a shipment's plan (see generate's doc); first: the
        parts the first of two receipts took."""
        qs = [l["quantity"] for l in ship["lines"]]
        step = 0 if first is None else 1
        first = first or [rnd.randint(1, q - 1) for q in qs]
        if plan == "full":
            add_transfer(receipt(ship, qs), "transfer-received")
        elif plan == "two-parts":
            if step == 0:
                add_transfer(receipt(ship, first), "transfer-received-part")
                follow.append((len(st.inputs) + rnd.randint(5, 200), lambda: transfer_follow_up(ship, plan, first)))
            else:
                add_transfer(receipt(ship, [q - f for q, f in zip(qs, first)]), "transfer-received-rest")
        elif plan in ("part-then-cancel", "full-then-cancel"):
            if step == 0:
                add_transfer(receipt(ship, first if plan == "part-then-cancel" else qs), "transfer-received-part")
                follow.append((len(st.inputs) + rnd.randint(5, 200), lambda: transfer_follow_up(ship, plan, first)))
            else:
                add_transfer(make_transfer("canceled", ship), "transfer-canceled" if plan == "part-then-cancel"
                             else "transfer-canceled-nothing-in-transit")
        elif plan == "cancel":
            add_transfer(make_transfer("canceled", ship), "transfer-canceled")
        elif plan == "over-receipt":
            add_transfer(receipt(ship, qs, extra=rnd.randint(1, 3)), "transfer-received-more-than-shipped")

    def transfer():
        ship = make_transfer("shipped")
        plan = rnd.choices(("full", "two-parts", "part-then-cancel", "cancel", "over-receipt", "full-then-cancel",
                            "in-transit", "receipt-first"), (45, 25, 10, 8, 4, 4, 3, 1))[0]
        if plan == "receipt-first":  # the WMS sent the receipt before the shipment
            rec = receipt(ship, [l["quantity"] for l in ship["lines"]], rejected_rate=0)
            rec["_ms"], ship["_ms"] = ship["_ms"], rec["_ms"]
            rec["occurred_at"], ship["occurred_at"] = ship["occurred_at"], rec["occurred_at"]
            add_transfer(rec, "transfer-received-before-shipped")
            add_transfer(ship, "transfer-shipped")
            return
        add_transfer(ship, "transfer-shipped")
        if plan != "in-transit":
            follow.append((len(st.inputs) + rnd.randint(5, 400), lambda: transfer_follow_up(ship, plan)))

    TRANSFER_MALFORMED = ("same-location", "rejected-on-shipped", "rejected-negative", "rejected-over-quantity",
                          "rejected-null", "missing-transfer-id", "unknown-status", "quantity-0", "bad-json",
                          "pipe-in-location", "missing-lines", "control-in-transfer-id")

    def add_malformed_transfer():
        kind = rnd.choice(TRANSFER_MALFORMED)
        ev = make_transfer("received" if kind.startswith("rejected-") and kind != "rejected-on-shipped"
                           else rnd.choice(("shipped", "received", "canceled")))
        line = ev["lines"][-1]
        value = None
        if kind == "same-location":
            ev["to_location_id"] = ev["from_location_id"]
        elif kind == "rejected-on-shipped":
            ev["status"] = rnd.choice(("shipped", "canceled"))
            line["rejected"] = 1
        elif kind == "rejected-negative":
            line["rejected"] = -1
        elif kind == "rejected-over-quantity":
            line["rejected"] = line["quantity"] + 1
        elif kind == "rejected-null":
            line["rejected"] = None
        elif kind == "missing-transfer-id":
            del ev["transfer_id"]
        elif kind == "unknown-status":
            ev["status"] = rnd.choice(("lost", "SHIPPED", "in_transit"))
        elif kind == "quantity-0":
            line["quantity"] = 0
        elif kind == "bad-json":
            value = _json_bytes(ev)[:-rnd.randint(1, 12)]
        elif kind == "pipe-in-location":
            ev["to_location_id"] = "dc|1"
        elif kind == "missing-lines":
            del ev["lines"]
        else:
            ev["transfer_id"] += "\n"
        if value is None:
            value = _json_bytes(ev)
        st.inputs.append(Input("transfers", ev.get("transfer_id", "TR-bad").encode("utf-8"), value, malformed=kind))

    def encode(topic, ev):
        if topic == "reservations":
            return _json_bytes(ev)
        return _avro_bytes(topic, ev) if rnd.random() < avro_rate else _json_bytes(ev)

    # ---- the channel map: an initial one, produced with the policies, then a
    # few changes among the inputs, each key changed once at most
    def chan(ch, loc, buf):
        return ("%s|%s" % (ch, loc)).encode("utf-8"), None if buf is None else json.dumps(
            {"channel": ch, "location_id": loc, "buffer": buf}, ensure_ascii=False).encode("utf-8")
    changes = []
    if channel_map:
        web = [l for l in locations if not l.startswith("store-")] or locations[:2]
        initial = {("online", l): rnd.choice((0, 0, 1)) for l in web[:3]}
        initial.update({("marketplace", l): 2 for l in web[:2]})
        initial.update({("b2b", web[-1]): 5, ("click-and-collect", locations[0]): 1})
        st.channels = [chan(c, l, b) for (c, l), b in sorted(initial.items())]
        spare = [l for l in locations if ("online", l) not in initial][:2]
        changes = [chan("online", spare[0], 3) if spare else chan("online", web[0], 4),  # a location joins
                   chan("marketplace", web[0], 7),                                        # a buffer changes
                   chan("online", web[1], None) if len(web) > 1 else chan("b2b", web[-1], 6),  # one leaves
                   chan("click-and-collect", locations[0], None)]                         # a channel ends
    change_at = sorted(rnd.sample(range(n_events // 5, n_events), len(changes))) if changes else []

    follow = []  # (input index, what to do then): what happens to a hold or a transfer later in the stream

    def follow_up(hold):
        r = rnd.random()
        if r < 0.55:  # a sale of the reservation: all of it or part (then maybe the rest)
            ev = make_event("sales", loc=hold["location_id"])
            ev["channel"] = hold["channel"]
            ev["reservation_id"] = hold["reservation_id"]
            ev["lines"] = [{"sku": l["sku"], "quantity": l["quantity"] if rnd.random() < 0.7 else 1}
                           for l in hold["lines"]]
            add_valid("sales", ev, note="sale-of-reservation")
            if rnd.random() < 0.3:
                follow.append((len(st.inputs) + rnd.randint(3, 60), lambda: follow_up(hold)))
        elif r < 0.75:
            ev = make_event("reservations", loc=hold["location_id"])
            for k in ("reservation_id", "channel"):
                ev[k] = hold[k]
            ev["action"] = "release"
            for k in ("expires_at", "allow_partial"):
                ev.pop(k, None)
            ev["lines"] = [dict(l) for l in hold["lines"]]
            add_valid("reservations", ev, note="release")

    def add_valid(topic, ev, note=None, key=None):
        inp = Input(topic, key or ev["event_id"].encode("utf-8"), encode(topic, ev), movements(topic, ev),
                    note=note)
        st.inputs.append(inp)
        return inp

    def add_malformed(topic):
        kind = rnd.choice(MALFORMED_KINDS)
        if topic != "restocks" and kind in ("adjustment-0", "negative-count", "unknown-kind"):
            kind = "quantity-0"
        if topic != "returns" and kind == "unknown-disposition":
            kind = "negative-quantity"
        if topic == "restocks" and kind == "unknown-channel":
            kind = "missing-location"
        ev = make_event(topic)
        if topic == "restocks" and kind in ("quantity-0", "negative-quantity"):
            ev["kind"] = "receipt"
        if kind == "adjustment-0":
            ev["kind"] = "adjustment"
        if kind == "negative-count":
            ev["kind"] = "count"
        line = ev["lines"][-1]
        value = None
        if kind == "bad-json":
            value = _json_bytes(ev)[:-rnd.randint(1, 12)]
        elif kind == "not-an-object":
            value = b"[1,2,3]"
        elif kind == "missing-location":
            del ev["location_id"]
        elif kind == "missing-lines":
            del ev["lines"]
        elif kind == "missing-sku":
            del line["sku"]
        elif kind == "missing-event-id":
            del ev["event_id"]
        elif kind in ("quantity-0", "adjustment-0"):
            line["quantity"] = 0
        elif kind == "negative-quantity":
            line["quantity"] = -rnd.randint(1, 5)
        elif kind == "negative-count":
            line["quantity"] = -1
        elif kind == "unknown-channel":
            ev["channel"] = rnd.choice(("telepathy", "STORE", "", "phone"))
        elif kind == "unknown-disposition":
            line["disposition"] = "lost"
        elif kind == "unknown-kind":
            ev["kind"] = "transfer"
        elif kind == "empty-lines":
            ev["lines"] = []
        elif kind == "fractional-quantity":
            line["quantity"] = 1.5
        elif kind == "string-quantity":
            line["quantity"] = "2"
        elif kind == "bad-time":
            ev["occurred_at"] = rnd.choice(("yesterday", "2026-13-01T00:00:00Z", "2026-11-22 10:00:00"))
        elif kind == "empty-value":
            value = b""
        elif kind == "unknown-schema-id":
            value = b"\x00" + struct.pack(">i", 4242) + b"\x02ab"
        elif kind == "truncated-avro":
            ev2 = make_event(topic)
            value = _avro_bytes(topic, ev2)[:-3]
        if value is None:
            value = _json_bytes(ev)
        key = rnd.choice((b"bad", None, ("bad-%d" % len(st.inputs)).encode()))
        st.inputs.append(Input(topic, key, value, malformed=kind))

    # the keeper's own refusals: movements the processors accept
    n_star = star_sales if star_sales is not None else max(3, n_events // 40000)
    special = {}
    for _ in range(n_star):
        special[rnd.randrange(n_events)] = "star"
    if overflow:
        special[rnd.randrange(n_events // 4, n_events // 2)] = "overflow-1"
        special[rnd.randrange(n_events // 2, n_events)] = "overflow-2"

    topic_weights = (("sales", 62), ("returns", 14), ("restocks", 24))
    while len(st.inputs) < n_events:
        i = len(st.inputs)
        if i in special:
            what = special.pop(i)
            if what == "star":
                ev = make_event("sales", loc="*")
                add_valid("sales", ev, note="keeper-refuses")
            else:  # two receipts whose sum overflows the network row
                ev = make_event("restocks", loc="dc-%s" % what[-1])
                ev["kind"] = "receipt"
                ev["lines"] = [{"sku": "SKU-OVERFLOW", "quantity": 5 * 10 ** 18}]
                add_valid("restocks", ev, note="overflow")
            continue
        if change_at and i >= change_at[0]:
            change_at.pop(0)
            k, v = changes.pop(0)
            st.inputs.append(Input("channels", k, v, note="channel-map-change"))
            continue
        due = [f for f in follow if f[0] <= i]
        if due:
            follow.remove(due[0])
            due[0][1]()
            continue
        r = rnd.random()
        if rnd.random() < reservation_rate:
            ev = make_event("reservations")
            add_valid("reservations", ev, note="hold")
            follow.append((i + rnd.randint(5, 300), lambda ev=ev: follow_up(ev)))
        elif transfer_rate and rnd.random() < transfer_rate:
            transfer()
        elif r < malformed_rate:
            if transfer_rate and rnd.random() < 0.15:
                add_malformed_transfer()
            else:
                add_malformed(rnd.choices([t for t, _ in topic_weights], [w for _, w in topic_weights])[0])
        elif r < malformed_rate + dup_rate and sent:
            orig, topic, ev = rnd.choice(sent) if rnd.random() < 0.7 else rnd.choice(sent[: max(1, len(sent) // 10)])
            if rnd.random() < 0.2:  # same ids, other quantities: still a duplicate
                ev2 = dict(ev)
                ev2["lines"] = [dict(l) for l in ev["lines"]]
                for l in ev2["lines"]:
                    if ev.get("kind") == "adjustment":
                        l["quantity"] = -l["quantity"]
                    else:
                        l["quantity"] += rnd.randint(1, 3)
                add_valid(topic, ev2, note="resent-changed", key=orig.key)
            else:
                st.inputs.append(Input(topic, orig.key, orig.value, movements(topic, ev), note="resent"))
        else:
            topic = rnd.choices([t for t, _ in topic_weights], [w for _, w in topic_weights])[0]
            ev = make_event(topic)
            if rnd.random() < 0.01 and sent:
                # an event id an event of another topic has: another movement
                # type, so not a duplicate. Never re-sent, and each (topic, id)
                # once, so one movement id always means one SKU.
                src = rnd.choice(sent)
                if src[1] != topic and (topic, src[2]["event_id"]) not in reused:
                    reused.add((topic, src[2]["event_id"]))
                    ev["event_id"] = src[2]["event_id"]
                    add_valid(topic, ev, note="id-of-another-type")
                    continue
            note = None
            if topic == "sales" and late_rate and rnd.random() < late_rate:
                if counts and rnd.random() < 0.4:
                    # dated before a count of its row that comes earlier in the stream
                    _, sku, loc, at = rnd.choice(counts[-50:])
                    ev["location_id"], ev["lines"] = loc, [{"sku": sku, "quantity": rnd.choice((1, 1, 2, 3))}]
                    ev["_ms"] = at + rnd.randint(0, 60000)  # late() takes it 1-10 minutes before the count
                    late(ev, (1, 10))
                    note = "late-sale-before-a-count"
                else:
                    late(ev, (2, 20))
                    note = "late-sale"
            elif topic == "restocks" and ev["kind"] == "count":
                if late_rate and rnd.random() < late_rate:
                    late(ev, (2, 20))
                    note = "late-count"
                counts.extend((i, l["sku"], ev["location_id"], ev["_ms"]) for l in ev["lines"])
            inp = add_valid(topic, ev, note=note)
            sent.append((inp, topic, ev))
    if late_rate:
        # counts far older than their row's newest change: on rows a receipt
        # changed early in the stream and no count ever touches
        counted = {(m["sku"], m["location_id"]) for i in st.inputs for m in i.movements if m["type"] == "count"}
        rows = sorted({(m["sku"], m["location_id"]) for i in st.inputs[: len(st.inputs) * 6 // 10] for m in i.movements
                       if m["type"] == "receipt" and i.note is None} - counted)
        for row in rnd.sample(rows, min(len(rows), 2 + n_events // 100000)):
            ev = {"event_id": next_id("ST"), "source": "inventory-app", "location_id": row[1], "kind": "count",
                  "_ms": base_ms - 3 * 86400000 - rnd.randint(0, 3600000),
                  "lines": [{"sku": row[0], "quantity": rnd.randint(0, 10)}]}
            ev["occurred_at"] = _time_text(ev["_ms"], rnd)
            inp = Input("restocks", ev["event_id"].encode("utf-8"), encode("restocks", ev),
                        movements("restocks", ev), note="stale-count")
            st.inputs.insert(rnd.randrange(len(st.inputs) * 8 // 10, len(st.inputs)), inp)
    return st


# =============================================================== checks without replay

SUMMED = ("on_hand", "unsellable", "on_order", "available", "committed", "incoming", "in_transit_out",
          "count_variance")


def check_network_sums(stock):
    """Every `sku|*` row is the field-by-field sum of the SKU's location rows
    (last_count_at: the latest of theirs). Units in transit are in the
    network's in_transit_out and incoming alike."""
    by_sku = defaultdict(lambda: [0] * len(SUMMED) + [None])
    for (sku, loc), r in stock.items():
        if loc != "*":
            acc = by_sku[sku]
            for i, f in enumerate(SUMMED):
                acc[i] += r.get(f) or 0
            if r.get("last_count_at") is not None:
                acc[-1] = max(acc[-1] or r["last_count_at"], r["last_count_at"])
    bad = []
    for (sku, loc), r in stock.items():
        if loc == "*":
            got = [r.get(f) or 0 for f in SUMMED] + [r.get("last_count_at")]
            if got != by_sku[sku]:
                bad.append((sku, got, by_sku[sku]))
            elif r.get("incoming", 0) != r.get("in_transit_out", 0):
                bad.append((sku, "incoming %r != in_transit_out %r" % (r.get("incoming"), r.get("in_transit_out"))))
    for sku in by_sku:
        if (sku, "*") not in stock:
            bad.append((sku, None, by_sku[sku]))
    assert not bad, "network rows that are not the sum of their locations (sku, row, sum): %s" % bad[:10]


def check_levels(stock):
    """available = max(on_hand - committed, 0) on each location row; unsellable,
    on_order, committed, incoming and in_transit_out never negative; version
    positive; no count variance before the first count."""
    bad = [(k, r) for k, r in stock.items()
           if (k[1] != "*" and r["available"] != max(r["on_hand"] - r.get("committed", 0), 0)) or
           r["unsellable"] < 0 or r["on_order"] < 0 or r.get("committed", 0) < 0 or r["version"] < 1 or
           r.get("incoming", 0) < 0 or r.get("in_transit_out", 0) < 0 or
           (r.get("last_count_at") is None and r.get("count_variance", 0) != 0)]
    assert not bad, "impossible StockLevels: %s" % bad[:10]


def check_unique_ids(events, what):
    c = Counter(e["event_id"] for e in events)
    dup = [(k, n) for k, n in c.items() if n > 1]
    assert not dup, "%d duplicate %s event ids, e.g. %s" % (len(dup), what, dup[:10])


def check_reorder_rules(reorders, movements_by_partition, policies):
    """The reorder rule on the committed ReorderEvents alone, with the
    movements only to walk each row's position between two reorders:

      * event_id = "reorder:" + cause_movement_id, unique;
      * reorder_point is the row's effective point, the position before the
        order (on_hand + on_order - quantity) is at or below it and quantity
        = max(reorder_quantity, point + 1 - position); after it the position
        is above the point;
      * between two reorders of a row, the position (walked from the first
        event's on_hand/on_order through the row's movements, duplicates
        skipped) first falls to the point exactly at the second one's cause,
        never earlier (a missed reorder) nor not at all (a second reorder
        without the position falling again). A stretch with a count in it,
        or with a change dated at or before an earlier count of the row, is
        not walked: counts as of their time need the row's history (the
        exact replay checks those)."""
    check_unique_ids(reorders, "reorder")
    # a row with reservations or transfers has a position the events alone do
    # not give (committed, incoming): the exact replay checks those
    held = {(m["sku"], m["location_id"]) for ms in movements_by_partition.values() for m in ms
            if m["type"] in RESERVATION_TYPES or m.get("reservation_id")}
    held |= {(m["sku"], l) for ms in movements_by_partition.values() for m in ms if m["type"] in TRANSFER_TYPES
             for l in (m["location_id"], m.get("other_location_id"))}
    reorders = [e for e in reorders if (e["sku"], e["location_id"]) not in held]
    by_row = defaultdict(list)
    for e in reorders:
        assert e["event_id"] == "reorder:" + e["cause_movement_id"], e
        pol = policies.effective(e["sku"], e["location_id"])
        before = e["on_hand"] + e["on_order"] - e["quantity"]
        assert e["reorder_point"] == pol.rp, ("reorder point", e, pol)
        assert before <= pol.rp, ("reorder above the point", e)
        assert e["quantity"] == max(pol.rq, pol.rp + 1 - before), ("reorder quantity", e, pol)
        assert e["on_hand"] + e["on_order"] > pol.rp, e
        by_row[(e["sku"], e["location_id"])].append(e)
    # each row's movements in application order (one partition per SKU)
    index = {}
    row_moves = defaultdict(list)
    unwalkable = defaultdict(set)  # row -> indexes of its counts and of changes an earlier count covers
    last_count = {}
    seen = set()
    for part, moves in movements_by_partition.items():
        for m in moves:
            if m["location_id"] == "*" or m["movement_id"] in seen:
                continue
            seen.add(m["movement_id"])
            key = (m["sku"], m["location_id"])
            if key in by_row:
                if m["type"] == "count" or (key in last_count and m["occurred_at"] <= last_count[key]):
                    unwalkable[key].add(len(row_moves[key]))
                index[m["movement_id"]] = len(row_moves[key])
                row_moves[key].append(m)
            if m["type"] == "count":
                last_count[key] = max(last_count.get(key, m["occurred_at"]), m["occurred_at"])
    checked = 0
    for key, evs in by_row.items():
        rp = policies.effective(*key).rp
        moves = row_moves[key]
        positions = [index[e["cause_movement_id"]] for e in evs]
        assert positions == sorted(positions), ("reorders out of movement order", key)
        for e1, e2, i1, i2 in zip(evs, evs[1:], positions, positions[1:]):
            if any(i1 < j <= i2 for j in unwalkable[key]):
                continue
            on_hand, on_order = e1["on_hand"], e1["on_order"]
            for j in range(i1 + 1, i2 + 1):
                m = moves[j]
                t, q = m["type"], m["quantity"]
                if t == "sale":
                    on_hand -= q
                elif t in ("return_resellable", "adjustment"):
                    on_hand += q
                elif t == "receipt":
                    on_hand += q
                    on_order -= min(on_order, q)
                if on_hand + on_order <= rp:
                    assert j == i2, ("missed reorder: position %d <= %d after %s, next reorder at %s"
                                     % (on_hand + on_order, rp, m["movement_id"], e2["event_id"]))
                    break
            else:
                raise AssertionError("second reorder %s without the position falling to %d (at %d)"
                                     % (e2["event_id"], rp, on_hand + on_order))
            assert (on_hand, on_order) == (e2["on_hand"], e2["on_order"] - e2["quantity"]), (
                "walked to on_hand %d, on_order %d before the reorder" % (on_hand, on_order), e2)
            checked += 1
    return checked


def check_shortage_rules(shortages, final_stock, policies):
    """Per row, in topic order: consecutive states differ, the first is not
    'restored', each state agrees with its available and threshold, ids are
    "shortage:<location>:<state>:<movement_id>" and unique; the last state
    agrees with the row's final available."""
    check_unique_ids(shortages, "shortage")
    by_row = defaultdict(list)
    for e in shortages:
        by_row[(e["sku"], e["location_id"])].append(e)
        assert re.match(r"^shortage:%s:%s:" % (re.escape(e["location_id"]), e["state"]), e["event_id"]), e
        thr = policies.network_threshold(e["sku"]) if e["location_id"] == "*" else \
            policies.effective(e["sku"], e["location_id"]).ss
        assert e["threshold"] == thr, ("threshold", e, thr)
        a = e["available"]
        ok = {"out_of_stock": a == 0, "low": 0 < a <= thr, "restored": a > thr}[e["state"]]
        assert ok, ("state disagrees with available/threshold", e)
    for key, evs in by_row.items():
        assert evs[0]["state"] != "restored", ("first transition is restored", key, evs[0])
        for a, b in zip(evs, evs[1:]):
            assert a["state"] != b["state"], ("repeated transition", key, a, b)
    for key, r in final_stock.items():
        thr = policies.network_threshold(key[0]) if key[1] == "*" else policies.effective(*key).ss
        last = by_row[key][-1]["state"] if by_row.get(key) else "none"
        a = r["available"]
        want = "out_of_stock" if a == 0 else "low" if a <= thr else ("restored", "none")
        assert last in want if isinstance(want, tuple) else last == want, \
            ("final state of %s|%s: last event %s, available %d, threshold %d" % (key[0], key[1], last, a, thr))
    return len(by_row)


# =============================================================== decoding outputs

def _level_of(value):
    d = json.loads(value)
    d["updated_at"] = parse_rfc3339_ms(d["updated_at"])
    if isinstance(d.get("last_count_at"), str):
        d["last_count_at"] = parse_rfc3339_ms(d["last_count_at"])
    return d


def _event_of(value):
    d = json.loads(value)
    d["occurred_at"] = parse_rfc3339_ms(d["occurred_at"])
    return d


def movement_of(value):
    d = json.loads(value)
    d["occurred_at"] = parse_rfc3339_ms(d["occurred_at"])
    if d.get("expires_at") is not None:
        d["expires_at"] = parse_rfc3339_ms(d["expires_at"])
    return d


def final_stock_from(records, partitions):
    """{(sku, location): level} from inventory.stock records (last value per key),
    checking key = sku|location and partition = murmur2(sku) mod partitions.
    The level carries "shortage" from the inv.shortage header (None if absent)."""
    out = {}
    bad = []
    for r in records:
        key, value, headers, part = r[0], r[1], r[2], r[3]
        if value is None:
            sku, _, loc = key.decode().rpartition("|")
            out.pop((sku, loc), None)
            continue
        lv = _level_of(value)
        if key != ("%s|%s" % (lv["sku"], lv["location_id"])).encode("utf-8"):
            bad.append(("key", key, lv))
        if part != murmur2_partition(lv["sku"].encode("utf-8"), partitions):
            bad.append(("partition", part, lv["sku"]))
        hs = [v for h, v in headers if h == "inv.shortage"]
        lv["shortage"] = hs[-1].decode() if hs and hs[-1] is not None else None
        out[(lv["sku"], lv["location_id"])] = lv
    assert not bad, "stock records with a wrong key or partition: %s" % bad[:10]
    return out


def compare_stock(got, want, with_shortage=True):
    """Exact comparison, every field; a readable diff on failure."""
    fields = ("on_hand", "unsellable", "on_order", "available", "version", "updated_at", "committed", "incoming",
              "in_transit_out", "last_count_at", "count_variance")
    missing = object()
    diffs = []
    for k in sorted(set(got) | set(want), key=repr):
        g, w = got.get(k), want.get(k)
        if g is None or w is None:
            diffs.append("%s|%s: %s" % (k[0], k[1], "missing" if g is None else "unexpected %r" % g))
            continue
        d = ["%s %s != %r" % (f, "(absent)" if g.get(f, missing) is missing else repr(g[f]), w[f])
             for f in fields if g.get(f, missing) != w[f]]
        if with_shortage:
            gs = g.get("shortage") or "none"
            if gs != w["shortage"]:
                d.append("shortage header %r != %r" % (gs, w["shortage"]))
        if d:
            diffs.append("%s|%s: %s" % (k[0], k[1], ", ".join(d)))
    assert not diffs, "inventory.stock differs from the oracle in %d rows (got != want):\n  %s" % (
        len(diffs), "\n  ".join(diffs[:30]))


def compare_events(got, want, what):
    """Multiset equality of output events (dicts), by event id then fields."""
    gi, wi = defaultdict(list), defaultdict(list)
    for e in got:
        gi[e["event_id"]].append(e)
    for e in want:
        wi[e["event_id"]].append(e)
    missing = [k for k in wi if k not in gi]
    extra = [k for k in gi if k not in wi]
    differ = [(gi[k], wi[k]) for k in wi if k in gi and gi[k] != wi[k]]
    assert not missing and not extra and not differ, (
        "%s differ from the oracle: %d missing (e.g. %s), %d unexpected (e.g. %s), %d different (e.g. %s)"
        % (what, len(missing), missing[:5], len(extra), extra[:5], len(differ), differ[:3]))


# =============================================================== Kafka plumbing

def consume_bulk(topic, isolation="read_committed", timeout=120.0, partitions=None):
    """Every record of topic (or of the given partitions) up to its end as it is
    now (the last stable offset for read_committed): a list of
    (key, value, headers, partition, offset, timestamp) in partition/offset
    order. Batched reads, for hundreds of thousands of records."""
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": unique("oracle-reader"),
                  "enable.auto.commit": False, "isolation.level": isolation,
                  "enable.partition.eof": False, "fetch.max.bytes": 52428800,
                  "max.partition.fetch.bytes": 10485760, "queued.max.messages.kbytes": 262144},
                 logger=QUIET)
    try:
        md = c.list_topics(topic, timeout=10).topics[topic]
        if md.error is not None:
            raise RuntimeError("topic %s: %s" % (topic, md.error))
        parts = sorted(md.partitions) if partitions is None else sorted(partitions)
        end = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1] for p in parts}
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        out = {p: [] for p in parts}
        pending = {p for p in parts if end[p] > 0}
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() >= deadline:
                raise TimeoutError("consume_bulk(%s): partitions %s not read to %s in %.0fs"
                                   % (topic, sorted(pending), end, timeout))
            for m in c.consume(10000, 0.2):
                if m.error() is not None:
                    raise RuntimeError("consume %s: %s" % (topic, m.error()))
                if m.offset() < end[m.partition()]:
                    out[m.partition()].append((m.key(), m.value(), m.headers() or [], m.partition(),
                                               m.offset(), m.timestamp()[1]))
            for tp in c.position([TopicPartition(topic, p) for p in pending]):
                if tp.offset >= end[tp.partition]:
                    pending.discard(tp.partition)
        return [r for p in parts for r in out[p]]
    finally:
        c.close()


def end_offsets(topic, isolation="read_uncommitted"):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": unique("oracle-wm"),
                  "isolation.level": isolation}, logger=QUIET)
    try:
        parts = sorted(c.list_topics(topic, timeout=10).topics[topic].partitions)
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1] for p in parts}
    finally:
        c.close()


def committed_offsets(group, topic, partitions):
    """The group's committed offsets of topic, -1 where none."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": group, "enable.auto.commit": False,
                  "isolation.level": "read_committed"}, logger=QUIET)
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


def parse_metrics(text):
    """Prometheus text -> {(name, ((label, value), ...)): float}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)', line)
        if not m:
            continue
        labels = tuple(sorted(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def fetch_metrics(port):
    """A program's /metrics on port, parsed ({} when it does not answer 200)."""
    status, body = http_get(port, "/metrics")
    return parse_metrics(body.decode()) if status == 200 else {}


PROCESSORS = {"sales": "inv-sale", "returns": "inv-return", "restocks": "inv-restock",
              "reservations": "inv-reserve", "transfers": "inv-transfer"}


class KeeperRig:
    """One isolated pipeline: unique topics (every key of TOPIC_KEYS plus the
    keeper's dedup log, created by `invctl topics create`), unique group ids,
    state dirs under a temp dir; starts the five processors and inv-stock
    instances, produces a Stream, waits for conditions (never a blind
    sleep), reads the outputs back. stop() kills whatever is still running."""

    def __init__(self, name, partitions=6, keeper_conf=None, common_conf=None):
        self.partitions = partitions
        self.env = topic_env(name)
        self.env["INV_TOPIC_DEDUP"] = self.env["INV_TOPIC_SALES"][:-len(".sales")] + ".dedup"
        self.topic = {k: self.env["INV_TOPIC_" + k.upper()] for k in tuple(TOPIC_KEYS) + ("dedup", "state")}
        self.groups = {prog: unique("g-" + prog) for prog in tuple(PROCESSORS.values()) + ("inv-stock",)}
        self.workdir = tempfile.mkdtemp(prefix="keeper-%s-" % name)
        self.procs = []
        self.started = set()  # the input topics whose processor the rig started
        # fast failure detection: a killed member leaves the group in seconds
        self.common = ["-X", "kafka.session.timeout.ms=6000", "-X", "kafka.heartbeat.interval.ms=1000"]
        for k, v in (common_conf or {}).items():
            self.common += ["-X", "%s=%s" % (k, v)]
        self.keeper_conf = {"policy.default.reorder_point": 4, "policy.default.reorder_quantity": 12,
                            "policy.default.safety_stock": 2}
        self.keeper_conf.update(keeper_conf or {})

    def set_default_policy(self, default):
        rp, rq, ss = default
        self.keeper_conf.update({"policy.default.reorder_point": rp, "policy.default.reorder_quantity": rq,
                                 "policy.default.safety_stock": ss})

    # ---- topics and inputs
    def create_topics(self):
        r = run([bin("invctl"), "-b", bootstrap(), "topics", "create", "--partitions", str(self.partitions)],
                env=self.env, timeout=60)
        assert r.returncode == 0, "invctl topics create: exit %s\n%s" % (r.returncode, r.stderr)
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": bootstrap()})

        def ready():
            md = admin.list_topics(timeout=10)
            for n in self.topic.values():
                t = md.topics.get(n)
                if t is None or t.error is not None or len(t.partitions) != self.partitions or \
                        any(p.leader < 0 for p in t.partitions.values()):
                    return False
            return True
        wait_until(ready, 60, "the topics invctl created")

    def producer(self):
        from confluent_kafka import Producer
        return Producer({"bootstrap.servers": bootstrap(), "enable.idempotence": True, "acks": "all",
                         "linger.ms": 20, "partitioner": "murmur2_random",
                         "queue.buffering.max.messages": 1000000, "message.timeout.ms": 300000},
                        logger=QUIET)

    def produce(self, items, topic_of=lambda i: i.topic, producer=None, flush=True):
        """Produce Inputs (or (topic key, key, value) tuples via topic_of)."""
        p = producer or self.producer()
        errors = []

        def cb(err, msg):
            if err is not None:
                errors.append(err)
        for it in items:
            if isinstance(it, Input):
                t, k, v = self.topic[it.topic], it.key, it.value
            else:
                t, k, v = self.topic[it[0]], it[1], it[2]
            while True:
                try:
                    p.produce(t, key=k, value=v, on_delivery=cb)
                    break
                except BufferError:
                    p.poll(0.05)
            p.poll(0)
        if flush:
            left = p.flush(300)
            assert left == 0 and not errors, "produce: %d undelivered, errors %s" % (left, errors[:5])
        return p

    def produce_policies(self, stream):
        """The stream's policies, then its initial channel map (changes to the map
        come later, among the inputs)."""
        self.produce([("policies", k, v) for k, v in stream.policies])
        if stream.channels:
            self.produce([("channels", k, v) for k, v in stream.channels])

    # ---- programs
    def start_processor(self, topic_key, *extra):
        prog = PROCESSORS[topic_key]
        p = start([bin(prog), "-b", bootstrap(), "-X", "group.id=" + self.groups[prog]] + self.common +
                  list(extra), self.env)
        p.role = prog
        self.procs.append(p)
        self.started.add(topic_key)
        return p

    def start_processors(self, transfers=False):
        """The processors of sales, returns, restocks and reservations, and
        with transfers inv-transfer too (a test that runs an inv-transfer of
        its own leaves it out)."""
        return [self.start_processor(k) for k in PROCESSORS if transfers or k != "transfers"]

    def state_dir(self, name="stock-0"):
        return os.path.join(self.workdir, name)

    def start_keeper(self, state="stock-0", http_port=None, *extra):
        args = [bin("inv-stock"), "-b", bootstrap(), "-X", "group.id=" + self.groups["inv-stock"],
                "--state-dir", self.state_dir(state)] + self.common
        for k, v in self.keeper_conf.items():
            args += ["-X", "%s=%s" % (k, v)]
        if http_port:
            args += ["--http", "127.0.0.1:%d" % http_port]
        p = start(args + list(extra), self.env)
        p.role = "inv-stock"
        p.state = state
        p.http_port = http_port
        self.procs.append(p)
        return p

    def alive(self, role=None):
        return [p for p in self.procs if p.alive() and (role is None or p.role == role)]

    def assert_running(self, procs):
        for p in procs:
            assert p.alive(), "%s (%s) died: exit %s\n%s" % (p.role, p.pid, p.p.returncode,
                                                            p.stderr_text()[-4000:])

    def stop(self):
        """SIGTERM everything still running (exit 0 expected), SIGKILL stragglers;
        returns [(proc, exit code)] of those stopped here."""
        out = []
        for p in self.procs:
            if p.alive():
                try:
                    out.append((p, p.stop(timeout=60)))
                except TimeoutError:
                    out.append((p, "killed after ignoring SIGTERM"))
        return out

    def kill_all(self):
        for p in self.procs:
            if p.alive():
                p.kill()

    def cleanup(self):
        self.kill_all()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # ---- waits
    def wait_processors_done(self, timeout, procs=None, check=None):
        """Until every processor group the rig started has committed its whole
        input topic."""
        want = {k: end_offsets(self.topic[k]) for k in PROCESSORS if k in self.started}

        def done():
            if procs:
                self.assert_running(procs)
            if check:
                check()
            for k in want:
                prog = PROCESSORS[k]
                got = committed_offsets(self.groups[prog], self.topic[k], self.partitions)
                if any(got[p] < want[k][p] and want[k][p] > 0 for p in want[k]):
                    return False
            return True
        wait_until(done, timeout, "the processors to commit their inputs up to %s" % want, interval=0.5)

    def wait_keeper_done(self, last_offsets, timeout, procs=None, check=None):
        """Until inv-stock's group committed past the last movement of each
        partition (last_offsets: partition -> offset of the last data record)."""
        def done():
            if procs:
                self.assert_running(procs)
            if check:
                check()
            got = committed_offsets(self.groups["inv-stock"], self.topic["movements"], self.partitions)
            return all(got[p] >= o + 1 for p, o in last_offsets.items())
        wait_until(done, timeout, "inv-stock to commit movements up to %s" % last_offsets, interval=0.5)

    # ---- outputs
    def read_movements(self, timeout=300, settle=None):
        """{partition: [movement dict + '_offset']} in partition order, checking
        key = sku and partition = murmur2(sku). With settle (the Stream), the log
        is read once it is final: every reservation line whose expiry has passed
        is closed (its expire movement applied: a hold applied late expires a
        second after it is applied), inv-stock has applied everything read, and
        the log has not grown since."""
        if settle is None or not settle.settle_ms:
            return self._read_movements(timeout)
        deadline = time.monotonic() + timeout
        left = (settle.settle_ms + 2000 - time.time() * 1000) / 1000.0
        if left > 0:
            time.sleep(left)
        while True:
            if not self._lines_due_open():
                before = end_offsets(self.topic["movements"])
                out = self._read_movements(timeout)
                self.wait_keeper_done({p: ms[-1]["_offset"] for p, ms in out.items() if ms}, timeout)
                if not self._lines_due_open() and end_offsets(self.topic["movements"]) == before:
                    return out
            if time.monotonic() > deadline:
                raise TimeoutError("reservation lines past their expiry still open after %.0fs" % timeout)
            time.sleep(1.0)

    def _lines_due_open(self, grace_ms=500):
        """The reservation lines whose last status leaves them open with an
        expires_at more than grace_ms ago."""
        last = {}
        for key, value, headers, part, off, ts in consume_bulk(self.topic["reservation_status"]):
            d = json.loads(value)
            last[(d["reservation_id"], d["sku"], d["location_id"])] = d
        now = time.time() * 1000 - grace_ms
        return [k for k, d in last.items()
                if d["remaining"] > 0 and d.get("expires_at") and parse_rfc3339_ms(d["expires_at"]) <= now]

    def _read_movements(self, timeout):
        out = defaultdict(list)
        bad = []
        for key, value, headers, part, off, ts in consume_bulk(self.topic["movements"], timeout=timeout):
            m = movement_of(value)
            m["_offset"] = off
            if key != m["sku"].encode("utf-8") or part != murmur2_partition(key, self.partitions):
                bad.append((key, part, m["movement_id"]))
            out[part].append(m)
        assert not bad, "movements with a wrong key or partition: %s" % bad[:10]
        return out

    def read_events(self, what, timeout=300):
        return [_event_of(r[1]) for r in consume_bulk(self.topic[what], timeout=timeout)]

    def read_stock(self, timeout=300):
        return final_stock_from(consume_bulk(self.topic["stock"], timeout=timeout), self.partitions)

    def read_dlq(self, timeout=300):
        return consume_bulk(self.topic["dlq"], timeout=timeout)


def check_movements_exact(stream, movements_by_partition):
    """The processors wrote exactly the movements of the valid inputs (re-sends
    included), nothing more, nothing less."""
    got = Counter(movement_tuple(m) for ms in movements_by_partition.values() for m in ms
                  if m["type"] != "expire")  # inv-stock's own, checked by check_expiries
    want = stream.expected_movements()
    missing, extra = want - got, got - want
    assert not missing and not extra, "movements differ from the stream: %d missing (e.g. %s), %d extra (e.g. %s)" % (
        sum(missing.values()), list(missing)[:3], sum(extra.values()), list(extra)[:3])


def replay(stream, movements_by_partition):
    """The oracle fed with the committed movements, partition by partition."""
    o = StockOracle(stream.policy_table())
    for p in sorted(movements_by_partition):
        for m in movements_by_partition[p]:
            o.apply(m)
    return o


def check_dlq(stream, oracle, dlq_records, movements_topic):
    """Every malformed input and invalid policy record once, from its input
    topic, plus exactly the movements the oracle refused or applied and
    reported (transfers beyond what is in transit), from the movements
    topic, the reported ones and the stale counts with the contract's
    inv.error; every entry has a non-empty inv.error and source headers.
    Returns (inputs, movements) dead-lettered."""
    want_inputs = Counter((i.key, i.value) for i in stream.malformed())
    want_inputs.update(stream.invalid_policies())
    got_inputs, got_movements, bad = Counter(), Counter(), []
    for key, value, headers, part, off, ts in dlq_records:
        h = dict(headers)
        if not h.get("inv.error") or not h.get("inv.source.topic") or h.get("inv.source.offset") is None:
            bad.append((key, value, headers))
        src = (h.get("inv.source.topic") or b"").decode()
        if src.endswith(".movements"):
            got_movements[json.loads(value)["movement_id"]] += 1
        else:
            got_inputs[(key, value or b"")] += 1  # an empty value may come back as null
    want_inputs = Counter({(k, v or b""): n for (k, v), n in want_inputs.items()})
    assert not bad, "DLQ entries without reason/source headers: %s" % bad[:5]
    missing, extra = want_inputs - got_inputs, got_inputs - want_inputs
    assert not missing and not extra, "DLQ of malformed inputs: %d missing (e.g. %s), %d extra (e.g. %s)" % (
        sum(missing.values()), list(missing)[:3], sum(extra.values()), list(extra)[:3])
    for key, value, headers, part, off, ts in dlq_records:
        h = dict(headers)
        if (h.get("inv.source.topic") or b"").decode().endswith(".movements"):
            mid = json.loads(value)["movement_id"]
            err = h["inv.error"].decode()
            reasons = {r for m, r in oracle.refused + oracle.reported if m["movement_id"] == mid}
            exact = {r for r in reasons if r.startswith(mid + ": ")}  # the contract spells these out
            assert mid in err and (("overflow" in err) == ("int64 overflow" in reasons)), (
                "keeper's inv.error %r for %s, refused for %s" % (err, mid, reasons))
            assert not exact or err in exact, "keeper's inv.error %r for %s, the contract's %s" % (err, mid, exact)
    want_refused = Counter(m["movement_id"] for m, _ in oracle.refused + oracle.reported)
    assert got_movements == want_refused, "keeper's DLQ entries %s, the oracle refused or reported %s" % (
        dict(got_movements), dict(want_refused))
    return sum(want_inputs.values()), sum(want_refused.values())


def read_statuses(rig, timeout=300):
    """inventory.reservation-status, checking key = reservation_id and partition =
    murmur2(sku)."""
    out, bad = [], []
    for key, value, headers, part, off, ts in consume_bulk(rig.topic["reservation_status"], timeout=timeout):
        d = json.loads(value)
        if key != d["reservation_id"].encode("utf-8") or part != murmur2_partition(d["sku"].encode("utf-8"),
                                                                                      rig.partitions):
            bad.append((key, part, d))
        d["occurred_at"] = parse_rfc3339_ms(d["occurred_at"])
        if d.get("expires_at") is not None:
            d["expires_at"] = parse_rfc3339_ms(d["expires_at"])
        out.append(d)
    assert not bad, "statuses with a wrong key or partition: %s" % bad[:5]
    return out


def check_expiries(movements_by_partition, o):
    """inv-stock's expire movements: each names a line and an expiry; a line
    expires at most once (`expired` once per line and expiry); every
    expire movement id is deterministic, so re-writes are duplicates."""
    exp = [m for ms in movements_by_partition.values() for m in ms if m["type"] == "expire"]
    bad = [m for m in exp if not m["movement_id"].startswith("expire:%s:" % m["reservation_id"]) or
           m["source"] != "inv-stock"]
    assert not bad, "expire movements of another form: %s" % bad[:5]
    by_line = Counter()
    for s in o.statuses:
        if s["state"] == "expired":
            by_line[(s["reservation_id"], s["sku"], s["location_id"])] += 1
    # a line re-held after it expired may expire again, at another expiry
    per_expiry = Counter((s["reservation_id"], s["sku"], s["location_id"], s["occurred_at"]) for s in o.statuses
                         if s["state"] == "expired")
    twice = [k for k, n in per_expiry.items() if n > 1]
    assert not twice, "lines expired twice at one expiry: %s" % twice[:5]
    return sum(by_line.values())


def expected_availability(stock, channel_map):
    """{(sku, channel): (available_to_sell, locations)} the contract gives for
    the final rows: every SKU with a location row, every channel of the map,
    sum over the channel's locations of max(on_hand - committed - buffer, 0)."""
    skus = {sku for (sku, loc) in stock if loc != "*"}
    out = {}
    for sku in skus:
        for ch, locs in channel_map.items():
            ats = 0
            for loc, buf in locs.items():
                r = stock.get((sku, loc))
                if r is not None:
                    ats += max(r["on_hand"] - r.get("committed", 0) - buf, 0)
            out[(sku, ch)] = (ats, len(locs))
    return out


def check_availability(rig, stream, stock, timeout=300):
    """inventory.availability, last record per key (tombstones delete), equals
    expected_availability() of the final stock and map; key sku|channel,
    partition murmur2(sku)."""
    got, bad = {}, []
    for key, value, headers, part, off, ts in consume_bulk(rig.topic["availability"], timeout=timeout):
        sku, _, ch = key.decode("utf-8").rpartition("|")
        if part != murmur2_partition(sku.encode("utf-8"), rig.partitions):
            bad.append((key, part))
        if value is None:
            got.pop((sku, ch), None)
            continue
        d = json.loads(value)
        if (d["sku"], d["channel"]) != (sku, ch):
            bad.append((key, d))
        got[(sku, ch)] = (d["available_to_sell"], d["locations"])
    assert not bad, "availability records with a wrong key or partition: %s" % bad[:5]
    want = expected_availability(stock, stream.channel_map())
    diffs = ["%s|%s: %s != %s" % (k[0], k[1], got.get(k), want.get(k)) for k in sorted(set(got) | set(want))
             if got.get(k) != want.get(k)]
    assert not diffs, "inventory.availability differs from the model in %d keys (got != want):\n  %s" % (
        len(diffs), "\n  ".join(diffs[:30]))
    return len(got)


def verify_outputs(rig, stream, movements, log=print):
    """Everything the keeper wrote, once the pipeline has settled: exact stock,
    reorders, shortages and DLQ against the oracle's replay of `movements`,
    plus the replay-free rule checks. Returns the oracle."""
    o = replay(stream, movements)
    want_stock = o.stock()
    log("oracle: %d rows, %d applied, %d duplicates, %d refused, %d reorders, %d shortage events" % (
        len(want_stock), sum(o.applied.values()), o.duplicates, len(o.refused), len(o.reorders),
        len(o.shortages)))
    stock = rig.read_stock()
    compare_stock(stock, want_stock)
    check_network_sums(stock)
    check_levels(stock)
    log("inventory.stock == oracle (%d rows)" % len(stock))
    pol = stream.policy_table()
    reorders = rig.read_events("reorders")
    shortages = rig.read_events("shortages")
    check_unique_ids(reorders, "reorder")
    check_unique_ids(shortages, "shortage")
    compare_events(reorders, o.reorders, "reorders")
    compare_events(shortages, o.shortages, "shortages")
    pairs = check_reorder_rules(reorders, movements, pol)
    rows = check_shortage_rules(shortages, stock, pol)
    log("reorders (%d, %d consecutive pairs walked) and shortages (%d events, %d rows) == oracle, "
        "ids unique, rules hold" % (len(reorders), pairs, len(shortages), rows))
    statuses = read_statuses(rig)
    check_unique_ids(statuses, "reservation status")
    compare_events(statuses, o.statuses, "reservation statuses")
    n_exp = check_expiries(movements, o)
    log("reservation statuses == oracle (%d: %s); %d lines expired, each once" % (
        len(statuses), dict(Counter(s["state"] for s in statuses)), n_exp))
    n_av = check_availability(rig, stream, stock)
    log("inventory.availability == the model of the final stock and channel map (%d keys)" % n_av)
    dlq = rig.read_dlq()
    n_bad, n_refused = check_dlq(stream, o, dlq, rig.topic["movements"])
    assert len(dlq) == n_bad + n_refused, (len(dlq), n_bad, n_refused)
    log("DLQ: %d malformed inputs + %d movements the keeper refused or reported (%d refused: %s; %d reported)" % (
        n_bad, n_refused, len(o.refused), sorted({r.split(": ", 1)[-1][:40] for _, r in o.refused}), len(o.reported)))
    o.final_stock = stock
    return o


def check_coverage(o):
    """The stream exercised what the contract talks about: oversold rows,
    unsellable stock, open orders, reorders, every shortage state on
    location and network rows, duplicates, refusals."""
    stock = o.stock()
    seen = Counter()
    for (sku, loc), r in stock.items():
        seen["oversold"] += r["on_hand"] < 0
        seen["unsellable"] += r["unsellable"] > 0
        seen["on_order"] += r["on_order"] > 0
    for e in o.shortages:
        seen["%s %s" % ("network" if e["location_id"] == "*" else "location", e["state"])] += 1
    seen["reorders"] = len(o.reorders)
    seen["duplicates"] = o.duplicates
    seen["refused"] = len(o.refused)
    want = ["oversold", "unsellable", "on_order", "reorders", "duplicates", "refused"] + [
        "%s %s" % (w, s) for w in ("location", "network") for s in ("low", "out_of_stock", "restored")]
    if any(o.applied[t] for t in TRANSFER_TYPES):  # a stream with transfers
        for (sku, loc), r in stock.items():
            seen["in transit" if loc != "*" else "network in transit"] += r["incoming"] > 0
        seen["transfer reorders at the other end"] = sum(1 for e in o.reorders
                                                        if e["event_id"] != "reorder:" + e["cause_movement_id"])
        seen.update({k: n for k, n in o.notes.items() if k.startswith(("transfer", "reported"))})
        want += ["in transit", "network in transit", "transfer_out", "transfer_in", "transfer_cancel",
                 "reported transfer_in", "reported transfer_cancel", "transfer reorders at the other end"]
    if o.notes["covered by a count"]:  # a stream with late changes
        seen.update({k: o.notes[k] for k in ("covered by a count", "count net of later changes",
                                              "count at or before the last count", "count applied")})
        seen["count variance"] = sum(1 for r in stock.values() if r["count_variance"])
        seen["stale counts"] = sum(1 for _, r in o.refused if "count.window.ms" in r)
        want += ["covered by a count", "count net of later changes", "count applied", "count variance",
                 "stale counts"]
    missing = [w for w in want if not seen[w]]
    assert not missing, "the stream never produced: %s (%s)" % (missing, dict(seen))
    return seen
