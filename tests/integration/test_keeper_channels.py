"""Channel availability: inv-stock keeps one AvailabilityLevel per (sku, channel).

Contract (DESIGN.md, "Channel availability"): inventory.channels maps channels
to the locations that serve them, each with a buffer held back from that
channel; available_to_sell(sku, channel) = sum over the channel's locations of
max(on_hand - committed - buffer, 0). inv-stock emits an AvailabilityLevel
(keyed sku|channel, to partition murmur2(sku)) only when it changes; a channel
map change recomputes every affected SKU; a channel that loses its last
location is tombstoned; the state moves with the partition.

One inv-stock on 2 partitions, Avro output, the map set with invctl:
  (a) a buffer clamps one location to 0 while another still contributes;
  (b) a map change (add a location, change a buffer, delete a location, delete
      a channel's last location) recomputes existing SKUs with no movement;
  (c) after kill -9 and a lost state dir, the restored instance holds the same
      availability and emits nothing until something changes, then goes on
      with the next version;
  (d) every record is Confluent-framed Avro that fastavro reads with
      schemas/AvailabilityLevel.avsc, keyed sku|channel, at murmur2(sku) mod N;
  and a ChannelLocation whose key is not its channel|location_id goes to the
  DLQ once, with its reason, stalling nothing;
  (e) invctl stock and /stock show each row's in transit, incoming, count
      variance and last count (invctl watch the units committed, incoming and
      in transit in (a)).
Without the feature nothing reaches inventory.availability: every check fails."""

import io
import json
import os
import shutil
import struct
import tempfile
import time

import fastavro

from invtest import (ROOT, bin, bootstrap, check, cleanup, consume_all, create_topic_set, finish, http_get,
                     murmur2_partition, produce, run, start_keeper_free_port, topic_env, unique, wait_keeper_ready,
                     wait_until)

PARTITIONS = 2
AVAILABILITY_ID = 12  # schema.id.AvailabilityLevel


def sku_for(partition, tag):
    i = 0
    while murmur2_partition("SKU-%s-%d" % (tag, i), PARTITIONS) != partition:
        i += 1
    return "SKU-%s-%d" % (tag, i)


A, B = sku_for(0, "CH"), sku_for(1, "CH")


def receipt(event_id, sku, loc, qty):
    return {"movement_id": "receipt:%s:0" % event_id, "sku": sku, "location_id": loc, "channel": None,
            "type": "receipt", "quantity": qty, "occurred_at": "2026-11-22T10:00:00Z", "source": "wms"}


SCHEMA = fastavro.parse_schema(json.load(open(os.path.join(ROOT, "schemas", "AvailabilityLevel.avsc"))))


def decode(value):
    """An AvailabilityLevel from Confluent-framed Avro, read by fastavro."""
    magic, schema_id = struct.unpack(">bI", value[:5])
    check(magic == 0 and schema_id == AVAILABILITY_ID, "framing %r, want magic 0 and schema id %d"
          % (value[:5], AVAILABILITY_ID))
    return fastavro.schemaless_reader(io.BytesIO(value[5:]), SCHEMA)


class Availability:
    """inventory.availability read back: every record, and the table it compacts to."""

    def __init__(self, topic):
        self.topic = topic
        self.records = []

    def read(self):
        self.records = consume_all(self.topic, timeout=30)
        return self

    def table(self):
        out = {}
        for k, v, _, _, _ in self.records:
            key = tuple(k.decode().rsplit("|", 1))
            if v is None:
                out.pop(key, None)
            else:
                rec = decode(v)
                out[key] = (rec["available_to_sell"], rec["locations"])
        return out

    def versions(self):
        return {tuple(k.decode().rsplit("|", 1)): decode(v)["version"] for k, v, _, _, _ in self.records if v}


def wait_table(avail, want, what, timeout=30):
    try:
        wait_until(lambda: avail.read().table() == want, timeout=timeout, interval=0.5, what=what)
        return True
    except TimeoutError:
        return check(False, "%s: availability %s, want %s" % (what, avail.table(), want))


def invctl(env, *args):
    r = run([bin("invctl"), "-b", bootstrap()] + list(args), env=env, timeout=60)
    assert r.returncode == 0, "invctl %s: exit %s\n%s" % (" ".join(args), r.returncode, r.stderr)


def stock_availability(port, sku):
    status, body = http_get(port, "/stock/" + sku, timeout=5)
    if status != 200:
        return None
    return {a["channel"]: (a["available_to_sell"], a["locations"], a["version"])
            for a in json.loads(body)["availability"]}


def stock_rows(port, sku):
    """inv-stock's /stock/<sku> rows by location ({} when it has none)."""
    status, body = http_get(port, "/stock/" + sku, timeout=5)
    if status != 200:
        return {}
    return {r["location_id"]: r for r in json.loads(body)["locations"]}


def watch_units(text):
    """(committed, incoming, in transit) of an `invctl watch` frame, or None."""
    for line in text.splitlines():
        w = line.split()
        if w[:2] == ["units", "committed"] and len(w) == 8 and w[3] == "incoming" and w[5:7] == ["in", "transit"]:
            return w[2], w[4], w[7]
    return None


def check_records(avail):
    """(d) and the change-only rule over every record written so far."""
    last = {}
    for k, v, h, partition, _ in avail.records:
        key = k.decode()
        sku, channel = key.rsplit("|", 1)
        check(partition == murmur2_partition(sku, PARTITIONS), "%s at partition %d, want murmur2(sku) mod %d = %d"
              % (key, partition, PARTITIONS, murmur2_partition(sku, PARTITIONS)))
        if v is None:
            check(key in last, "tombstone of %s that was never emitted" % key)
            last.pop(key, None)
            continue
        rec = decode(v)
        check(rec["sku"] == sku and rec["channel"] == channel, "record %r under key %s" % (rec, key))
        prev = last.get(key)
        now = (rec["available_to_sell"], rec["locations"])
        if prev is not None:
            check(now != prev[0], "%s emitted again unchanged: %s" % (key, now))
            check(rec["version"] == prev[1] + 1, "%s version %d after %d" % (key, rec["version"], prev[1]))
        last[key] = (now, rec["version"])


def main():
    env = topic_env("channels")
    create_topic_set(env, partitions=PARTITIONS)
    env["INV_GROUP_ID"] = unique("g")
    env["INV_OUTPUT_FORMAT"] = "avro"
    work = tempfile.mkdtemp(prefix="keeper-channels-")
    procs = []
    avail = Availability(env["INV_TOPIC_AVAILABILITY"])
    try:
        csv = os.path.join(work, "channels.csv")
        with open(csv, "w") as f:
            f.write("channel,location_id,buffer\nonline,dc-1,0\nonline,store-1,5\nb2b,dc-1,2\n")
        invctl(env, "channel", "import", csv)
        state = os.path.join(work, "state")
        k, port = start_keeper_free_port(env, state, procs)
        wait_keeper_ready(k, port, "inv-stock ready")

        # (a) store-1 holds 3 < its buffer 5: online gets dc-1's 10 and nothing of store-1
        produce(env["INV_TOPIC_MOVEMENTS"], [(A, receipt("GR-1", A, "dc-1", 10)), (A, receipt("GR-2", A, "store-1", 3)),
                                             (B, receipt("GR-3", B, "dc-1", 4)), (B, receipt("GR-4", B, "store-2", 8))])
        wait_table(avail, {(A, "online"): (10, 2), (A, "b2b"): (8, 1), (B, "online"): (4, 2), (B, "b2b"): (2, 1)},
                   "(a) availability of the first movements")
        got = stock_availability(port, A) or {}
        check({c: v[:2] for c, v in got.items()} == {"online": (10, 2), "b2b": (8, 1)},
              "(a) /stock/%s availability %s" % (A, got))
        r = run([bin("invctl"), "stock", A, "--state-dir", state], env=env, timeout=60)
        lines = [l.split() for l in r.stdout.splitlines()]
        check(r.returncode == 0 and [A, "online", "10", "2", "1"] in lines and [A, "b2b", "8", "1", "1"] in lines,
              "(a) invctl stock %s shows no availability per channel:\n%s%s" % (A, r.stdout, r.stderr))
        r = run([bin("invctl"), "-b", bootstrap(), "watch", "--once", "--state-dir", state], env=env, timeout=60)
        lines = [l.split() for l in r.stdout.splitlines()]
        check(r.returncode == 0 and ["online", "14", "2", "0"] in lines and ["b2b", "10", "2", "0"] in lines and
              watch_units(r.stdout) == ("0", "0", "0"),
              "(a) invctl watch shows no channel totals or units committed, incoming, in transit:\n%s%s"
              % (r.stdout, r.stderr))

        # (b) the map changes; no movement comes
        invctl(env, "channel", "set", "online", "store-1", "--buffer", "1")  # store-1 gives 2 now
        wait_table(avail, {(A, "online"): (12, 2), (A, "b2b"): (8, 1), (B, "online"): (4, 2), (B, "b2b"): (2, 1)},
                   "(b) a changed buffer")
        invctl(env, "channel", "set", "b2b", "store-2")  # B's 8 at store-2 count for b2b, locations 2 for every SKU
        wait_table(avail, {(A, "online"): (12, 2), (A, "b2b"): (8, 2), (B, "online"): (4, 2), (B, "b2b"): (10, 2)},
                   "(b) an added location")
        invctl(env, "channel", "delete", "b2b", "dc-1")
        wait_table(avail, {(A, "online"): (12, 2), (A, "b2b"): (0, 1), (B, "online"): (4, 2), (B, "b2b"): (8, 1)},
                   "(b) a deleted location")
        invctl(env, "channel", "delete", "b2b", "store-2")  # b2b's last location: tombstones
        wait_table(avail, {(A, "online"): (12, 2), (B, "online"): (4, 2)}, "(b) a channel without locations")
        check(any(v is None and k.decode() == A + "|b2b" for k, v, _, _, _ in avail.records),
              "(b) no tombstone for %s|b2b" % A)

        # (c) crash, state lost, restore: same availability, nothing emitted
        before = avail.read().records
        versions = avail.versions()
        k.kill()
        shutil.rmtree(state)
        k, port = start_keeper_free_port(env, state, procs)
        wait_keeper_ready(k, port, "inv-stock restored")
        for sku, want in ((A, {"online": (12, 2, versions[(A, "online")])}),
                          (B, {"online": (4, 2, versions[(B, "online")])})):
            try:
                wait_until(lambda: stock_availability(port, sku) == want, timeout=20, what="restored /stock")
            except TimeoutError:
                check(False, "(c) restored /stock/%s availability %s, want %s" % (sku, stock_availability(port, sku),
                                                                                 want))
        time.sleep(3)  # a sweep after the restore would have run by now
        after = avail.read().records
        check(len(after) == len(before), "(c) the restore emitted %d record(s): %s"
              % (len(after) - len(before), [(k, v and decode(v)) for k, v, _, _, _ in after[len(before):]]))
        produce(env["INV_TOPIC_MOVEMENTS"], [(A, receipt("GR-5", A, "dc-1", 1))])
        wait_table(avail, {(A, "online"): (13, 2), (B, "online"): (4, 2)}, "(c) a movement after the restore")
        check(avail.versions()[(A, "online")] == versions[(A, "online")] + 1,
              "(c) version after the restore %d, want %d" % (avail.versions()[(A, "online")],
                                                             versions[(A, "online")] + 1))

        # a poison ChannelLocation: dead-lettered once, the table goes on
        bad = json.dumps({"channel": "online", "location_id": "dc-9", "buffer": 1}).encode()
        produce(env["INV_TOPIC_CHANNELS"], [(b"online|dc-8", bad)])
        invctl(env, "channel", "set", "online", "dc-1", "--buffer", "3")
        produce(env["INV_TOPIC_MOVEMENTS"], [(A, receipt("GR-6", A, "dc-1", 1)), (B, receipt("GR-7", B, "dc-1", 1))])
        wait_table(avail, {(A, "online"): (11, 2), (B, "online"): (2, 2)}, "after a poison channel record")

        # (d) and change-only over everything written
        check_records(avail.read())

        # (e) every row shows its in transit, incoming, count variance and last count
        # (receipts only here: never counted, nothing shipped)
        r = run([bin("invctl"), "stock", A, "--state-dir", state], env=env, timeout=60)
        head = r.stdout.splitlines()[0].split() if r.stdout else []
        rows = {l.split()[1]: dict(zip(head, l.split())) for l in r.stdout.splitlines()[1:]
                if l.startswith(A + " ") and len(l.split()) == len(head) + 1}
        check(r.returncode == 0 and "VARIANCE" in head and "LAST_COUNT_AT" in head and
              sorted(rows) == ["*", "dc-1", "store-1"] and
              all((w["IN_TRANS"], w["INCOMING"], w["VARIANCE"], w["LAST_COUNT_AT"]) == ("0", "0", "0", "-")
                  for w in rows.values()),
              "(e) invctl stock %s shows no in transit, incoming, variance or last count per row:\n%s%s"
              % (A, r.stdout, r.stderr))
        j = run([bin("invctl"), "stock", A, "dc-1", "--json", "--state-dir", state], env=env, timeout=60)
        doc = json.loads(j.stdout) if j.returncode == 0 else {}
        check("last_count_at" in doc and doc["last_count_at"] is None and doc.get("count_variance") == 0 and
              doc.get("in_transit_out") == 0, "(e) invctl stock --json: %s%s" % (j.stdout, j.stderr))
        got = stock_rows(port, A).get("dc-1", {})
        check("last_count_at" in got and got["last_count_at"] is None and got.get("count_variance") == 0,
              "(e) /stock/%s row: %s" % (A, got))

        check(k.stop() == 0, "inv-stock: exit on SIGTERM")
        dlq = [(key, dict(h)) for key, v, h, _, _ in consume_all(env["INV_TOPIC_DLQ"], timeout=30)]
        hits = [h for key, h in dlq if key == b"online|dc-8"]
        check(len(hits) == 1, "DLQ: the poison channel record %d times, want once" % len(hits))
        for h in hits:
            check(h.get("inv.source.topic") == env["INV_TOPIC_CHANNELS"].encode(), "DLQ source %r" % h)
            print("dead letter: %s" % h.get("inv.error", b"").decode())
    finally:
        cleanup(procs, work)
    finish("channel availability: buffers, map changes, tombstones, restore and Avro as the contract says")


if __name__ == "__main__":
    main()
