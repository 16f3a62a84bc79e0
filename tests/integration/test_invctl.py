"""invctl's Kafka-facing commands: policy import/set/delete publish exactly the
ReorderPolicies (and tombstones) asked for, a bad CSV publishes nothing, and
dlq prints the newest dead letters with their reasons."""

import json
import os
import tempfile

from invtest import bin, bootstrap, consume_all, create_topic_set, produce, run, topic_env


def invctl(env, *args):
    return run([bin("invctl"), "-b", bootstrap(), *args], env, timeout=60)


def policies(env):
    return [(k.decode(), json.loads(v) if v is not None else None)
            for k, v, *_ in consume_all(env["INV_TOPIC_POLICIES"])]


def main():
    env = topic_env("invctl")
    create_topic_set(env, partitions=2)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        f.write("sku,location_id,reorder_point,reorder_quantity,safety_stock\n"
                "SKU-1,store-1,10,24,4\nSKU-2,*,-1,0,0\n")
        good = f.name
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        f.write("sku,location_id,reorder_point,reorder_quantity,safety_stock\nSKU-3,dc-1,1,2,3\nSKU-4,dc-1,1,x,3\n")
        bad = f.name
    try:
        r = invctl(env, "policy", "import", bad)
        assert r.returncode == 1, r
        assert "%s:3: reorder_quantity: \"x\" is not an integer" % bad in r.stderr, r.stderr
        r = invctl(env, "policy", "import", good)
        assert r.returncode == 0 and "2 policies published" in r.stdout, r
        r = invctl(env, "policy", "set", "SKU-5", "web-1", "--reorder-point", "3", "--reorder-quantity", "9",
                   "--safety-stock", "1")
        assert r.returncode == 0, r
        r = invctl(env, "policy", "set", "SKU-5", "web-1", "--reorder-point", "3")
        assert r.returncode == 2 and "--reorder-quantity: missing" in r.stderr, r
        r = invctl(env, "policy", "delete", "SKU-2", "*")
        assert r.returncode == 0, r
        got = sorted(policies(env), key=lambda kv: (kv[0], kv[1] is None))
        assert got == [
            ("SKU-1|store-1", {"sku": "SKU-1", "location_id": "store-1", "reorder_point": 10,
                               "reorder_quantity": 24, "safety_stock": 4}),
            ("SKU-2|*", {"sku": "SKU-2", "location_id": "*", "reorder_point": -1, "reorder_quantity": 0,
                         "safety_stock": 0}),
            ("SKU-2|*", None),
            ("SKU-5|web-1", {"sku": "SKU-5", "location_id": "web-1", "reorder_point": 3, "reorder_quantity": 9,
                             "safety_stock": 1}),
        ], got

        letters = [("T-%d" % i, b"not json %d" % i,
                    {"inv.error": "not JSON: bad %d" % i, "inv.source.topic": env["INV_TOPIC_SALES"],
                     "inv.source.partition": "0", "inv.source.offset": str(100 + i)}) for i in range(6)]
        produce(env["INV_TOPIC_DLQ"], letters)
        r = invctl(env, "dlq", "--max", "20")
        assert r.returncode == 0, r
        for i in range(6):
            assert "error: not JSON: bad %d" % i in r.stdout, r.stdout
            assert "%s[0]@%d  key=T-%d" % (env["INV_TOPIC_SALES"], 100 + i, i) in r.stdout, r.stdout
            assert "value: not json %d" % i in r.stdout, r.stdout
        assert "6 dead letter(s) shown" in r.stdout, r.stdout
        r = invctl(env, "dlq", "--max", "1")
        assert r.returncode == 0 and r.stdout.count("  error: ") <= 2, r.stdout  # newest one per partition
    finally:
        os.unlink(good)
        os.unlink(bad)
    print("invctl policy and dlq commands behave")


if __name__ == "__main__":
    main()
