"""A restore that cannot confirm the previous owner's last batch holds the
partition and tries again; it never records an offset it has not applied.

The previous owner's last batch (a StockLevel and a dedup record naming
input offset 5, which the group has committed) stays in an open transaction
for longer than restore.confirm.timeout.ms (2 s here). The restore must give
up on each try without recording the partition: /healthz stays 503, no stock
is served, nothing is applied on top of a partial state. Once the
transaction commits, a later try restores the batch: the row shows 15 and
the instance becomes ready."""

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_keeper_restore_confirm import commit_group_offset, movement, previous_owner_batch, stock  # noqa: E402

from invtest import (bin, bootstrap, create_topic_set, free_port, http_get, produce, start, topic_env,  # noqa: E402
                     unique, wait_until)


def main():
    env = topic_env("unconfirmed")
    create_topic_set(env, partitions=1)
    produce(env["INV_TOPIC_MOVEMENTS"], [("SKU-A", movement(i)) for i in range(5)])
    env["INV_GROUP_ID"] = unique("g")
    env["INV_RESTORE_CONFIRM_TIMEOUT_MS"] = "2000"
    commit_group_offset(env["INV_GROUP_ID"], env["INV_TOPIC_MOVEMENTS"], 5)
    prev = previous_owner_batch(env, 15, 5, ["receipt:GR-%d:0" % i for i in range(5)])
    work = tempfile.mkdtemp(prefix="unconfirmed-")
    try:
        port = free_port()
        k = start([bin("inv-stock"), "-b", bootstrap(), "--state-dir", os.path.join(work, "s"),
                   "--http", "127.0.0.1:%d" % port], env)
        wait_until(lambda: k.stderr_text().count("held, restored again later") >= 2 or not k.alive(), timeout=60,
                   what="two restore tries that could not confirm input offset 5")
        assert k.alive(), k.stderr_text()[-3000:]
        assert "restored from" not in k.stderr_text(), \
            "restored without the batch naming input offset 5:\n" + k.stderr_text()[-3000:]
        assert http_get(port, "/healthz")[0] == 503, http_get(port, "/healthz")
        assert stock(port) is None, http_get(port, "/stock/SKU-A")
        time.sleep(1)
        prev.commit_transaction(30)
        wait_until(lambda: stock(port) is not None, timeout=60, what="the restored row once the batch commits")
        assert stock(port) == 15, http_get(port, "/stock/SKU-A")
        wait_until(lambda: http_get(port, "/healthz")[0] == 200, timeout=30, what="ready")
        time.sleep(1)
        assert stock(port) == 15, http_get(port, "/stock/SKU-A")  # the 5 movements are not applied again
        assert k.stop() == 0, k.stderr_text()[-3000:]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("a restore that could not confirm the last batch held the partition, then restored it once committed")


if __name__ == "__main__":
    main()
