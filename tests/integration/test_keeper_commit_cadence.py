"""A transaction commits as soon as the input is drained (commit.min.interval.ms,
default 10 ms), not only when commit.interval.ms runs out: with commit.interval.ms
at 60 s, one movement is applied and on inventory.stock within seconds. With
commit.min.interval.ms=-1 the same movement waits for the interval."""

import json
import os
import shutil
import tempfile
import time

import oracle
from invtest import (bin, bootstrap, consume_all, create_topic_set, free_port, http_get, produce, start, topic_env,
                     unique, wait_until)



def movement(i):
    return {"movement_id": "receipt:GR-%d:0" % i, "sku": "SKU-%d" % i, "location_id": "store-1", "channel": None,
            "type": "receipt", "quantity": 5, "occurred_at": "2026-11-22T10:00:00Z", "source": "wms"}


def run_keeper(work, extra):
    """Starts inv-stock with commit.interval.ms=60000 (and a transaction timeout above
    it, as the configuration requires) and extra flags, waits until
    it is ready, produces one movement; returns (keeper, port, env, seconds until
    /stock shows it or None after 8 s)."""
    env = topic_env("cadence")
    create_topic_set(env, partitions=2)
    env["INV_GROUP_ID"] = unique("g")
    port = free_port()
    k = start([bin("inv-stock"), "-b", bootstrap(), "--state-dir", os.path.join(work, env["INV_GROUP_ID"]),
               "--http", "127.0.0.1:%d" % port, "-X", "commit.interval.ms=60000",
               "-X", "transaction.timeout.ms=120000"] + extra, env)
    wait_until(lambda: http_get(port, "/healthz")[0] == 200, timeout=60, what="inv-stock ready")
    t0 = time.monotonic()
    produce(env["INV_TOPIC_MOVEMENTS"], [("SKU-1", movement(1))])
    while time.monotonic() - t0 < 8:
        if http_get(port, "/stock/SKU-1")[0] == 200:
            return k, port, env, time.monotonic() - t0
        time.sleep(0.05)
    return k, port, env, None


def resident_bytes(port):
    """{kind: bytes} of inv_stock_resident_memory_bytes."""
    return {dict(labels)["kind"]: value for (name, labels), value in oracle.fetch_metrics(port).items()
            if name == "inv_stock_resident_memory_bytes"}


def open_seconds(port):
    """(count, sum) of inv_stock_transaction_open_seconds, or None when it is not there."""
    m = oracle.fetch_metrics(port)
    count = m.get(("inv_stock_transaction_open_seconds_count", ()))
    total = m.get(("inv_stock_transaction_open_seconds_sum", ()))
    return (count, total) if count is not None and total is not None else None


def main():
    work = tempfile.mkdtemp(prefix="cadence-")
    try:
        k, port, env, took = run_keeper(work, [])
        assert took is not None, "not applied within 8 s with commit.interval.ms=60000: " + k.stderr_text()
        levels = consume_all(env["INV_TOPIC_STOCK"], timeout=10)
        assert any(json.loads(value)["sku"] == "SKU-1" for _key, value, _h, _p, _o in levels), levels
        # /metrics says how long that transaction was open: from its one input to its commit, well under 1 s
        opened = open_seconds(port)
        assert opened is not None and opened[0] >= 1 and opened[1] / opened[0] < 1.0, opened
        # and its resident memory, the process's own apart from LMDB's mapped pages (updated every second)
        wait_until(lambda: resident_bytes(port).get("anonymous", 0) > 0, timeout=5, what="resident memory on /metrics")
        rss = resident_bytes(port)
        with open("/proc/%d/status" % k.pid) as f:
            anon_now = int(next(l for l in f if l.startswith("RssAnon:")).split()[1]) * 1024
        assert set(rss) == {"anonymous", "file"} and rss["file"] > 0, rss
        assert 0.5 * anon_now < rss["anonymous"] < 2 * anon_now, (rss, anon_now)
        assert k.stop() == 0, k.stderr_text()
        print("drained input: applied and committed in %.2f s (commit.interval.ms=60000); "
              "inv_stock_transaction_open_seconds: %d transaction(s), %.3f s on average; resident: %.1f MiB "
              "anonymous, %.1f MiB file" % (took, opened[0], opened[1] / opened[0], rss["anonymous"] / 2**20,
                                             rss["file"] / 2**20))

        k, port, env, took = run_keeper(work, ["-X", "commit.min.interval.ms=-1"])
        assert took is None, "applied after %.2f s although commit.min.interval.ms=-1" % took
        assert k.stop() == 0, k.stderr_text()  # commits the open transaction on the way out
        print("commit.min.interval.ms=-1: still open after 8 s, as asked")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
