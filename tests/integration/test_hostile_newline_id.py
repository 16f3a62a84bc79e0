"""An event_id with a newline inside is invalid input: dead-lettered, and it
cannot make a later genuine event look like a duplicate.

Contract (DESIGN.md, "Identifiers and clocks"): event_id is 1-256 bytes of
UTF-8 with no control characters (U+0000-U+001F, U+007F); anything else goes
to the DLQ with a reason naming the field and the byte; every identifier that
passes round-trips byte-exactly through every output, the dedup log and a
restore. And ("Semantics") a movement is a duplicate only when the same
movement id was applied before.

A POS sends the sale "T-1:0\\nsale:T-2" (line 0: movement id
"sale:T-1:0\\nsale:T-2:0"). Split at the newline, its second half is
"sale:T-2:0", the movement id of the genuine sale T-2 that comes later. The
old code accepted the id; inv-stock wrote it newline-separated to its dedup
log, so a restore of the partition brought back "sale:T-2:0" as applied and
the genuine T-2 was dropped as a duplicate: a real sale lost.

Now inv-sale must dead-letter the newline sale with inv.error
"event_id: control character U+000A at byte 5" (0-based offset in the
decoded id), and T-2, sent after inv-stock restored the partition (state dir
wiped, restart), must be applied."""

import json
import os
import tempfile

from invtest import (bin, bootstrap, check, cleanup, consume_all, create_topic_set, finish, produce, restore_keeper,
                     start, start_keeper_free_port, stock_on_hand, topic_env, unique, wait_until)

SKU = "SKU-NL"
BAD_ID = "T-1:0\nsale:T-2"  # movement id "sale:T-1:0\nsale:T-2:0"; fragment "sale:T-2:0" = T-2's
REASON = "event_id: control character U+000A at byte 5"


def sale(event_id, qty):
    return {"event_id": event_id, "source": "pos-store-1", "location_id": "store-1", "channel": "store",
            "occurred_at": "2026-11-22T10:00:00Z", "lines": [{"sku": SKU, "quantity": qty}]}


def on_hand(port):
    return stock_on_hand(port, SKU)


def main():
    env = topic_env("hostile-nl")
    create_topic_set(env, partitions=1)
    sale_env = dict(env, INV_GROUP_ID=unique("g-sale"))
    stock_env = dict(env, INV_GROUP_ID=unique("g-stock"))
    work = tempfile.mkdtemp(prefix="hostile-nl-")
    state = os.path.join(work, "state")
    procs = []
    try:
        # T-0 (10), the newline sale (1), then T-3 (100) as a marker: once T-3
        # is in stock, the newline sale has been dealt with too (one SKU, one
        # partition, in order).
        bad = sale(BAD_ID, 1)
        produce(env["INV_TOPIC_SALES"], [("k0", sale("T-0", 10)), ("k1", bad), ("k3", sale("T-3", 100))])
        s = start([bin("inv-sale"), "-b", bootstrap()], sale_env)
        procs.append(s)
        k, port = start_keeper_free_port(stock_env, state, procs)
        got = wait_until(lambda: (on_hand(port) or 0) <= -110 or not k.alive() or not s.alive(), timeout=60,
                         what="T-0 and T-3 in stock")
        assert k.alive() and s.alive(), (k.stderr_text()[-2000:], s.stderr_text()[-2000:])
        before = on_hand(port)
        check(before == -110, "before the restore: on_hand %s, want -110 (T-0 10 + T-3 100; the newline sale "
              "must not be applied)" % before)
        assert k.stop() == 0, k.stderr_text()[-3000:]

        # The partition restores: a fresh state dir, rebuilt from the changelog and the dedup log.
        k, port = restore_keeper(stock_env, state, procs)
        check("restored from" in k.stderr_text(), "the second inv-stock did not restore the partition")
        restored = on_hand(port)

        # The genuine T-2 (1000), then T-4 (5) as a marker.
        produce(env["INV_TOPIC_SALES"], [("k2", sale("T-2", 1000)), ("k4", sale("T-4", 5))])
        wait_until(lambda: (on_hand(port) or 0) <= restored - 5 or not k.alive(), timeout=60,
                   what="T-4 in stock after the restore")
        final = on_hand(port)
        check(final == restored - 1005,
              "after the restore: on_hand %s, want %s: the genuine sale T-2 (movement id sale:T-2:0) was "
              "dropped as a duplicate of a fragment of the newline id %r"
              % (final, restored - 1005, "sale:" + BAD_ID + ":0"))
        check(final == -1115, "final on_hand %s, want -1115 (T-0 10 + T-2 1000 + T-3 100 + T-4 5)" % final)

        # The DLQ: exactly the newline sale, with its reason.
        assert s.stop() == 0, s.stderr_text()[-3000:]
        dlq = consume_all(env["INV_TOPIC_DLQ"], timeout=30)
        check(len(dlq) == 1, "DLQ: %d records, want exactly 1 (the newline sale): %r"
              % (len(dlq), [(v, dict(h).get("inv.error")) for _, v, h, _, _ in dlq]))
        for key, value, headers, _, _ in dlq:
            h = dict(headers)
            check(value == json.dumps(bad, separators=(",", ":")).encode() and key == b"k1",
                  "DLQ record is not the newline sale's bytes: key %r value %r" % (key, value))
            check(h.get("inv.error") == REASON.encode(),
                  "DLQ inv.error %r, want %r" % (h.get("inv.error"), REASON))
            check(h.get("inv.source.topic") == env["INV_TOPIC_SALES"].encode(),
                  "DLQ inv.source.topic %r, want %r" % (h.get("inv.source.topic"), env["INV_TOPIC_SALES"]))
        moves = consume_all(env["INV_TOPIC_MOVEMENTS"], timeout=30)
        ids = [json.loads(v)["movement_id"] for _, v, _, _, _ in moves]
        check(ids == ["sale:T-0:0", "sale:T-3:0", "sale:T-2:0", "sale:T-4:0"],
              "movements %r, want sale:T-0:0, sale:T-3:0, sale:T-2:0, sale:T-4:0 (none for the newline id)" % ids)
        assert k.stop() == 0, k.stderr_text()[-3000:]
    finally:
        cleanup(procs, work)
    finish("the newline event_id was dead-lettered (%s); the genuine T-2 was applied after a restore" % REASON)


if __name__ == "__main__":
    main()
