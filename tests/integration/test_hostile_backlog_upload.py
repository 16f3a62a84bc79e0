"""A till's backlog, stamped 8 days back, is applied once; its re-send is a
duplicate.

Contract (DESIGN.md, "Identifiers and clocks"): duplicate detection, its
window and every retention decision use the time inv-stock first applied an
id, never a record's timestamp or occurred_at; a record stamped days behind
does not expire itself. ("Semantics") A duplicate changes nothing, however
late it comes within dedup.window.ms (7 days) of the first application.

An offline till comes back and uploads 20 sales made 8 days ago (occurred_at
and Kafka timestamp 8 days back); they are applied once. Meanwhile the
store's other till sells (records stamped now). Seconds later the first
till uploads its backlog again (a retry after a lost acknowledgement): the
sales were first applied seconds ago, so every one is a duplicate. The old
code dated each id by its record's timestamp, so the next batch stamped now
pruned them as 8 days old and the re-sent backlog was applied again. The
same after a restore of the partition (state dir wiped): the dedup set that
comes back must hold the backlog's ids."""

import datetime
import os
import tempfile
import time

from invtest import (bin, bootstrap, check, cleanup, create_topic_set, finish, produce, produce_stamped,
                     restore_keeper, start, start_keeper_free_port, stock_on_hand, topic_env, unique, wait_until)

DAY_MS = 24 * 3600 * 1000
SKU = "SKU-BL"
N = 20


def rfc3339(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def sale(event_id, qty, source, at_ms):
    return {"event_id": event_id, "source": source, "location_id": "store-1", "channel": "store",
            "occurred_at": rfc3339(at_ms), "lines": [{"sku": SKU, "quantity": qty}]}


def on_hand(port):
    return stock_on_hand(port, SKU)


def down_by(port, proc, amount):
    """on_hand has fallen to -amount (sales only), or the process died."""
    return (on_hand(port) or 0) <= -amount or not proc.alive()


def main():
    env = topic_env("hostile-backlog")
    create_topic_set(env, partitions=1)
    sale_env = dict(env, INV_GROUP_ID=unique("g-sale"))
    stock_env = dict(env, INV_GROUP_ID=unique("g-stock"))
    sales = env["INV_TOPIC_SALES"]
    then = int(time.time() * 1000) - 8 * DAY_MS
    backlog = [("till-2", sale("OFF-%d" % i, 1, "pos-till-2", then + i)) for i in range(N)]
    work = tempfile.mkdtemp(prefix="hostile-backlog-")
    state = os.path.join(work, "state")
    procs = []
    try:
        s = start([bin("inv-sale"), "-b", bootstrap()], sale_env)
        procs.append(s)
        k, port = start_keeper_free_port(stock_env, state, procs)

        produce_stamped(sales, backlog, then)  # the upload: 20 sales of 1
        wait_until(lambda: down_by(port, k, N), timeout=60, what="the backlog applied")
        check(on_hand(port) == -N, "after the upload: on_hand %s, want %d" % (on_hand(port), -N))
        produce(sales, [("till-1", sale("LIVE-1", 100, "pos-till-1", int(time.time() * 1000)))])
        wait_until(lambda: down_by(port, k, N + 100), timeout=60, what="the live sale applied")

        # The re-upload (same records, same timestamps), then a live sale as a marker.
        produce_stamped(sales, backlog, then)
        produce(sales, [("till-1", sale("LIVE-2", 1000, "pos-till-1", int(time.time() * 1000)))])
        wait_until(lambda: down_by(port, k, N + 1100), timeout=60, what="the marker after the re-upload")
        got = on_hand(port)
        check(got == -(N + 1100), "running instance: on_hand %s, want %d: %d sales of the re-uploaded backlog "
              "were applied again" % (got, -(N + 1100), -(N + 1100) - (got or 0)))
        assert k.stop() == 0, k.stderr_text()[-3000:]

        # The partition restores; the backlog comes a third time.
        k, port = restore_keeper(stock_env, state, procs)
        base = on_hand(port)
        check(base == got, "restored on_hand %s, want %s as before the restore" % (base, got))
        produce_stamped(sales, backlog, then)
        produce(sales, [("till-1", sale("LIVE-3", 10000, "pos-till-1", int(time.time() * 1000)))])
        wait_until(lambda: down_by(port, k, -base + 10000), timeout=60, what="the marker after the third upload")
        after = on_hand(port)
        check(after == base - 10000, "after the restore: on_hand %s, want %s: %d sales of the re-uploaded backlog "
              "were applied again" % (after, base - 10000, base - 10000 - (after or 0)))
        assert k.stop() == 0, k.stderr_text()[-3000:]
        assert s.stop() == 0, s.stderr_text()[-3000:]
    finally:
        cleanup(procs, work)
    finish("%d sales stamped 8 days back applied once; re-uploaded seconds later and after a restore, "
           "changed nothing" % N)


if __name__ == "__main__":
    main()
