"""Records stamped days ahead do not expire other ids from duplicate detection.

Contract (DESIGN.md, "Identifiers and clocks"): POS clocks are not trusted
for bookkeeping; duplicate detection, its window and every retention
decision use the time inv-stock first applied an id, never a record's
timestamp or occurred_at. A record stamped days ahead or behind neither
expires other ids early nor expires itself. ("Semantics") A duplicate (same
movement id) changes nothing within dedup.window.ms (7 days) of the first
application.

Movement A (receipt of 7, stamped now) is applied; then 50 movements whose
Kafka timestamp is 10 days ahead (a POS with a wrong clock); then A comes
again: it must change nothing. The old code pruned the dedup set by the
newest record timestamp of a batch minus the window, so the +10-day records
pruned A (applied "13 days before" them) and the re-sent A was applied
twice. The same again after the partition restores (state dir wiped): the
dedup set comes back from the dedup log, with the times the ids were first
applied."""

import os
import tempfile
import time

from invtest import (check, cleanup, create_topic_set, finish, produce, produce_stamped, restore_keeper,
                     start_keeper_free_port, stock_on_hand, topic_env, unique, wait_until)

DAY_MS = 24 * 3600 * 1000
N_FUTURE = 50


def receipt(event_id, sku, qty):
    return {"movement_id": "receipt:%s:0" % event_id, "sku": sku, "location_id": "store-1", "channel": None,
            "type": "receipt", "quantity": qty, "occurred_at": "2026-11-22T10:00:00Z", "source": "wms"}


def reached(port, sku, at_least, proc):
    return (stock_on_hand(port, sku) or 0) >= at_least or not proc.alive()


def future_batch(env, prefix):
    """N_FUTURE receipts of 1 on SKU-F, stamped 10 days ahead."""
    ahead = int(time.time() * 1000) + 10 * DAY_MS
    produce_stamped(env["INV_TOPIC_MOVEMENTS"], [("SKU-F", receipt("%s-%d" % (prefix, i), "SKU-F", 1))
                                                 for i in range(N_FUTURE)], ahead)


def main():
    env = topic_env("hostile-future")
    create_topic_set(env, partitions=1)
    env["INV_GROUP_ID"] = unique("g")
    moves = env["INV_TOPIC_MOVEMENTS"]
    a = receipt("GR-A", "SKU-A", 7)
    work = tempfile.mkdtemp(prefix="hostile-future-")
    state = os.path.join(work, "state")
    procs = []
    try:
        k, port = start_keeper_free_port(env, state, procs)
        produce(moves, [("SKU-A", a)])
        wait_until(lambda: reached(port, "SKU-A", 7, k), timeout=60, what="A applied")
        assert k.alive(), k.stderr_text()[-3000:]

        future_batch(env, "GR-F")
        wait_until(lambda: reached(port, "SKU-F", N_FUTURE, k), timeout=60, what="the +10-day records applied")
        check(stock_on_hand(port, "SKU-F") == N_FUTURE,
              "SKU-F on_hand %s, want %d" % (stock_on_hand(port, "SKU-F"), N_FUTURE))

        # A again, then a marker (receipt of 100): once the marker is in, A was dealt with.
        produce(moves, [("SKU-A", a), ("SKU-A", receipt("GR-M1", "SKU-A", 100))])
        wait_until(lambda: reached(port, "SKU-A", 107, k), timeout=60, what="the marker after the re-sent A")
        got = stock_on_hand(port, "SKU-A")
        check(got == 107, "running instance: SKU-A on_hand %s, want 107: the re-sent A was applied again "
              "(the +10-day records expired A from duplicate detection)" % got)
        assert k.stop() == 0, k.stderr_text()[-3000:]

        # The partition restores from the changelog and the dedup log.
        k, port = restore_keeper(env, state, procs)
        base = stock_on_hand(port, "SKU-A")
        check(base == got, "restored SKU-A on_hand %s, want %s as before the restore" % (base, got))
        base_f = stock_on_hand(port, "SKU-F") or 0

        future_batch(env, "GR-G")
        wait_until(lambda: reached(port, "SKU-F", base_f + N_FUTURE, k), timeout=60,
                   what="more +10-day records applied after the restore")
        produce(moves, [("SKU-A", a), ("SKU-A", receipt("GR-M2", "SKU-A", 1000))])
        wait_until(lambda: reached(port, "SKU-A", base + 1000, k), timeout=60,
                   what="the marker after the re-sent A, after the restore")
        after = stock_on_hand(port, "SKU-A")
        check(after == base + 1000, "after the restore: SKU-A on_hand %s, want %s: the re-sent A was applied "
              "again" % (after, base + 1000))
        assert k.stop() == 0, k.stderr_text()[-3000:]
    finally:
        cleanup(procs, work)
    finish("A, re-sent after %d records stamped 10 days ahead, changed nothing, before and after a restore"
           % N_FUTURE)


if __name__ == "__main__":
    main()
