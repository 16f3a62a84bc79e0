"""A batch whose movement ids add up to more than one Kafka message holds.

inv-stock writes the ids it applied in a batch to the dedup log, one record
per partition per transaction. Ids may be up to 499 bytes; a partition's
batch of 2 500 such ids is ~1.2 MB, over the producer's message.max.bytes
(1 000 000): the produce failed, the batch aborted and came again, forever.
The ids now go out in records of at most 256 KiB, the last one carrying the
input offset. Then a second instance with an empty state dir restores the
partition from the changelog and those records, and the same movements sent
again are all dropped as duplicates: every chunk's ids came back."""

import json
import os
import re
import shutil
import tempfile

import oracle
from invtest import bin, bootstrap, create_topic_set, free_port, http_get, produce, start, topic_env, unique, wait_until

N = 2500
SKUS = 50


def movement(i):
    mid = "receipt:GR-%06d:" % i + "x" * 480  # 496 bytes, under the 499-byte limit
    return {"movement_id": mid, "sku": "SKU-%d" % (i % SKUS), "location_id": "store-%d" % (i % 5),
            "channel": None, "type": "receipt", "quantity": 1 + i % 3, "occurred_at": "2026-12-02T10:00:00Z",
            "source": "wms"}


def metric(port, name):
    """The sum of metric name's series on inv-stock's /metrics (0 when it does not answer 200)."""
    return sum(value for (n, _labels), value in oracle.fetch_metrics(port).items() if n == name)


def network_on_hand(port, sku):
    status, body = http_get(port, "/stock/" + sku)
    return json.loads(body)["network"]["on_hand"] if status == 200 else None


def main():
    env = topic_env("longids")
    create_topic_set(env, partitions=1)
    moves = [movement(i) for i in range(N)]
    produce(env["INV_TOPIC_MOVEMENTS"], [(m["sku"], m) for m in moves])
    env["INV_GROUP_ID"] = unique("g")
    # one transaction for the whole backlog: no early commit, a long interval
    flags = ["-X", "commit.min.interval.ms=-1", "-X", "commit.interval.ms=8000"]
    work = tempfile.mkdtemp(prefix="longids-")
    try:
        port = free_port()
        k = start([bin("inv-stock"), "-b", bootstrap(), "--state-dir", os.path.join(work, "a"),
                   "--http", "127.0.0.1:%d" % port] + flags, env)
        wait_until(lambda: metric(port, "inv_stock_transactions_total") >= 1 and
                   metric(port, "inv_stock_movements_total") >= N or not k.alive(), timeout=90, interval=0.2,
                   what="%d movements with 496-byte ids applied and committed" % N)
        assert k.alive(), k.stderr_text()
        assert "rewound" not in k.stderr_text(), k.stderr_text()[-3000:]  # an aborted batch
        assert metric(port, "inv_stock_movements_total") == N
        total = sum(1 + i % 3 for i in range(0, N, SKUS))
        assert network_on_hand(port, "SKU-0") == total
        assert k.stop() == 0, k.stderr_text()
        assert "batch aborted" not in k.stderr_text(), k.stderr_text()[-3000:]

        # a fresh instance rebuilds from the changelog and the dedup log, then drops every re-sent id
        port = free_port()
        k = start([bin("inv-stock"), "-b", bootstrap(), "--state-dir", os.path.join(work, "b"),
                   "--http", "127.0.0.1:%d" % port], env)
        wait_until(lambda: http_get(port, "/healthz")[0] == 200 or not k.alive(), timeout=60,
                   what="second instance restored and ready")
        assert k.alive(), k.stderr_text()
        m = re.search(r"restored from \S+: (\d+) rows, (\d+) movement ids", k.stderr_text())
        assert m and int(m.group(2)) == N, k.stderr_text()[-2000:]
        produce(env["INV_TOPIC_MOVEMENTS"], [(m["sku"], m) for m in moves])
        wait_until(lambda: metric(port, "inv_stock_duplicates_total") >= N or not k.alive(), timeout=60,
                   interval=0.2, what="%d re-sent movements dropped as duplicates" % N)
        assert metric(port, "inv_stock_movements_total") == 0
        assert network_on_hand(port, "SKU-0") == total
        assert k.stop() == 0, k.stderr_text()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("%d movements with 496-byte ids (%d KB of ids in one batch) applied, restored and deduplicated" %
          (N, N * 497 // 1000))


if __name__ == "__main__":
    main()
