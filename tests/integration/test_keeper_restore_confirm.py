"""A restore waits for the last committed batch's commit markers.

A transaction's commit returns before the broker has written its commit
markers, and until then read_committed readers stop before it. An instance
taking over a partition right after the previous owner's last commit must not
restore the partition without that batch and yet record the batch's input
offset as applied: the batch would be lost from its stock for good.

The window is milliseconds with a real owner, so this test holds it open: a
transaction of its own plays the previous owner's last batch (a StockLevel on
the changelog, a dedup record naming input offset 5) and stays open while a
fresh inv-stock, whose group has committed input offset 5, restores. The
restore must wait, and once the transaction commits, show the row. Then an
open transaction that the committed offsets do not cover (a dead owner's
unfinished batch) must not hold a restore back."""

import json
import os
import shutil
import tempfile
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from invtest import bin, bootstrap, create_topic_set, free_port, http_get, produce, start, topic_env, unique, wait_until


def movement(i):
    return {"movement_id": "receipt:GR-%d:0" % i, "sku": "SKU-A", "location_id": "store-1", "channel": None,
            "type": "receipt", "quantity": 3, "occurred_at": "2026-11-22T10:00:00Z", "source": "wms"}


def level(on_hand, version):
    return {"sku": "SKU-A", "location_id": "store-1", "on_hand": on_hand, "unsellable": 0, "on_order": 0,
            "available": on_hand, "updated_at": "2026-11-22T10:00:00.000Z", "version": version}


def previous_owner_batch(env, on_hand, input_offset, ids):
    """An open transaction holding what the keeper's last batch writes to
    partition 0: the StockLevel (changelog) and the dedup record."""
    p = Producer({"bootstrap.servers": bootstrap(), "transactional.id": unique("prev-owner")})
    p.init_transactions(30)
    p.begin_transaction()
    p.produce(env["INV_TOPIC_STOCK"], key=b"SKU-A|store-1", value=json.dumps(level(on_hand, 5)).encode(),
              partition=0, headers=[("inv.shortage", b"none")])
    p.produce(env["INV_TOPIC_DEDUP"], value="\n".join(ids).encode(), partition=0,
              headers=[("inv.input.offset", str(input_offset).encode())])
    p.flush(30)
    return p


def commit_group_offset(group, topic, offset):
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": group, "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    c.close()


def stock(port):
    status, body = http_get(port, "/stock/SKU-A")
    if status != 200:
        return None
    rows = json.loads(body)
    loc = [r for r in rows.get("locations", []) if r.get("location_id") == "store-1"]
    return loc[0]["on_hand"] if loc else None


def main():
    env = topic_env("confirm")
    create_topic_set(env, partitions=1)
    produce(env["INV_TOPIC_MOVEMENTS"], [("SKU-A", movement(i)) for i in range(5)])
    env["INV_GROUP_ID"] = unique("g")
    commit_group_offset(env["INV_GROUP_ID"], env["INV_TOPIC_MOVEMENTS"], 5)
    prev = previous_owner_batch(env, 15, 5, ["receipt:GR-%d:0" % i for i in range(5)])
    work = tempfile.mkdtemp(prefix="confirm-")
    try:
        port = free_port()
        k = start([bin("inv-stock"), "-b", bootstrap(), "--state-dir", os.path.join(work, "s"),
                   "--http", "127.0.0.1:%d" % port], env)
        wait_until(lambda: "restoring from" in k.stderr_text() or not k.alive(), timeout=60,
                   what="inv-stock starting its restore")
        time.sleep(2)
        assert k.alive(), k.stderr_text()
        assert "restored from" not in k.stderr_text(), \
            "restored while the batch naming input offset 5 was not committed:\n" + k.stderr_text()[-3000:]
        prev.commit_transaction(30)
        wait_until(lambda: stock(port) is not None, timeout=30, what="the restored row")
        assert stock(port) == 15, http_get(port, "/stock/SKU-A")
        assert "waited for the last commit's markers" in k.stderr_text(), k.stderr_text()[-3000:]
        wait_until(lambda: http_get(port, "/healthz")[0] == 200, timeout=30, what="ready")
        # the 5 movements are not applied again: the restored state already has them
        time.sleep(1)
        assert stock(port) == 15, http_get(port, "/stock/SKU-A")
        assert k.stop() == 0, k.stderr_text()

        # An open transaction beyond what the group committed (an owner that
        # died mid-batch) does not hold the restore: offset 5 is confirmed.
        zombie = previous_owner_batch(env, 99, 6, ["receipt:GR-99:0"])
        t0 = time.monotonic()
        port = free_port()
        k = start([bin("inv-stock"), "-b", bootstrap(), "--state-dir", os.path.join(work, "t"),
                   "--http", "127.0.0.1:%d" % port], env)
        wait_until(lambda: http_get(port, "/healthz")[0] == 200 or not k.alive(), timeout=30,
                   what="a restore next to an open transaction")
        took = time.monotonic() - t0
        assert k.alive(), k.stderr_text()
        assert stock(port) == 15, http_get(port, "/stock/SKU-A")
        assert k.stop() == 0, k.stderr_text()
        zombie.abort_transaction(30)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("the restore waited for the open batch, then showed it; next to a dead owner's open batch it took %.1f s"
          % took)


if __name__ == "__main__":
    main()
