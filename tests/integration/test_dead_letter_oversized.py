"""An invalid input too large to copy into the DLQ (over the producer's
message.max.bytes, yet accepted by the broker) must not block its partition:
the dead letter goes out without the value, naming its size and where the
bytes are, and the valid event behind it still becomes a movement."""

import json

from invtest import (bin, bootstrap, consume_all, create_topic_set, produce, start, topic_env, unique,
                     wait_until)


def main():
    env = topic_env("oversized")
    create_topic_set(env, partitions=1)
    big = {"event_id": "T-big", "source": "pos", "location_id": "store-1", "channel": "store",
           "occurred_at": "2026-11-22T10:00:00Z", "lines": [{"sku": "SKU-1", "quantity": 0}],
           "note": "x" * 1000100}
    good = {"event_id": "T-ok", "source": "pos", "location_id": "store-1", "channel": "store",
            "occurred_at": "2026-11-22T10:00:00Z", "lines": [{"sku": "SKU-1", "quantity": 2}]}
    big_bytes = json.dumps(big).encode()
    produce(env["INV_TOPIC_SALES"], [("T-big", big_bytes), ("T-ok", good)],
            config={"message.max.bytes": 2000000})
    p = start([bin("inv-sale"), "-b", bootstrap(), "-X", "group.id=" + unique("g")], env)
    try:
        movements = []
        wait_until(lambda: movements.extend(consume_all(env["INV_TOPIC_MOVEMENTS"])) or movements,
                   timeout=60, what="the valid event's movement")
        assert [json.loads(v)["movement_id"] for _, v, *_ in movements] == ["sale:T-ok:0"], movements
        dlq = consume_all(env["INV_TOPIC_DLQ"])
        assert len(dlq) == 1, dlq
        key, value, headers, _, _ = dlq[0]
        h = dict(headers)
        assert key == b"T-big" and value is None, (key, value)
        assert h["inv.value.omitted"] == str(len(big_bytes)).encode(), h
        assert h["inv.source.topic"] == env["INV_TOPIC_SALES"].encode(), h
        assert h["inv.source.offset"] == b"0" and h["inv.source.partition"] == b"0", h
        assert h["inv.error"] == b"lines[0].quantity: 0 is not positive", h
        assert p.stop() == 0, p.stderr_text()
    finally:
        p.kill()
    print("oversized dead letter sent without its value; the partition moved on")


if __name__ == "__main__":
    main()
