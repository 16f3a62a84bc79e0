"""/healthz must turn ready for an instance that restored its partitions and
has nothing new to apply: librdkafka reports no position for a partition that
delivered nothing since it was assigned, so readiness must not depend on one."""

import json
import os
import shutil
import tempfile

from invtest import (bin, bootstrap, create_topic_set, free_port, http_get, produce, start, topic_env, unique,
                     wait_until)



def movement(i, sku):
    return {"movement_id": "receipt:GR-%d:0" % i, "sku": sku, "location_id": "store-1", "channel": None,
            "type": "receipt", "quantity": 5, "occurred_at": "2026-11-22T10:00:00Z", "source": "wms"}


def main():
    env = topic_env("healthz")
    create_topic_set(env, partitions=3)
    produce(env["INV_TOPIC_MOVEMENTS"], [("SKU-%d" % i, movement(i, "SKU-%d" % i)) for i in range(30)])
    env["INV_GROUP_ID"] = unique("g")
    work = tempfile.mkdtemp(prefix="healthz-")
    try:
        port = free_port()
        a = start([bin("inv-stock"), "-b", bootstrap(), "--state-dir", os.path.join(work, "a"),
                   "--http", "127.0.0.1:%d" % port], env)
        wait_until(lambda: http_get(port, "/stock/SKU-29")[0] == 200, timeout=60, what="the movements applied")
        wait_until(lambda: http_get(port, "/healthz")[0] == 200, timeout=30, what="instance A ready")
        assert a.stop() == 0, a.stderr_text()

        # B: empty state dir, same group: restores every partition, then idles.
        # health.max.lag=0: ready only if it knows it is exactly at the end
        # (each partition holds ~10 movements, under the default bound).
        port = free_port()
        b = start([bin("inv-stock"), "-b", bootstrap(), "--state-dir", os.path.join(work, "b"),
                   "--http", "127.0.0.1:%d" % port, "-X", "health.max.lag=0"], env)
        wait_until(lambda: http_get(port, "/healthz")[0] == 200, timeout=60, what="restored, idle instance B ready")
        status, body = http_get(port, "/healthz")
        doc = json.loads(body)
        assert doc["ready"] is True and doc["assigned_partitions"] == 3 and "reason" not in doc, body
        assert doc["kafka"]["stalled_seconds"] == 0 and doc["kafka"]["last_error"] == "", body
        status, body = http_get(port, "/stock/SKU-7")
        assert status == 200 and json.loads(body)["network"]["on_hand"] == 5, body
        assert "restored from" in b.stderr_text(), b.stderr_text()
        assert b.stop() == 0, b.stderr_text()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("a restored, idle instance reports ready")


if __name__ == "__main__":
    main()
