"""The local broker and the test helpers work end to end: create a unique topic,
produce keyed messages with headers (transactionally, plus one aborted
transaction, plus the plain produce() helper), read them back with
read_committed and read_uncommitted, check every key, value and header and the
murmur2 partition of every key, then delete the topic."""
import sys

from confluent_kafka import Producer

from invtest import (bootstrap, consume_all, create_topics, delete_topics, murmur2_partition,
                     produce, unique)

PARTITIONS = 3


def main():
    topic = unique("roundtrip")
    create_topics([topic], partitions=PARTITIONS)
    try:
        committed = [
            (b"SKU-%d" % i, b'{"n":%d}' % i,
             [("inv.test", b"committed"), ("seq", b"%d" % i), ("bin", bytes([0, 255, i]))])
            for i in range(12)
        ]
        committed.append((b"SKU-1", b"", [("dup", b"a"), ("dup", b"b")]))   # empty value, repeated header
        committed.append((b"SKU-2", None, []))                               # tombstone, no headers
        aborted = [(b"SKU-%d" % i, b"aborted-%d" % i, [("inv.test", b"aborted")]) for i in range(5)]

        p = Producer({"bootstrap.servers": bootstrap(), "transactional.id": unique("roundtrip-tx"),
                      "partitioner": "murmur2_random", "enable.idempotence": True})
        p.init_transactions(30)
        p.begin_transaction()
        for k, v, h in committed:
            p.produce(topic, key=k, value=v, headers=h)
        p.commit_transaction(30)
        p.begin_transaction()
        for k, v, h in aborted:
            p.produce(topic, key=k, value=v, headers=h)
        p.flush(30)
        p.abort_transaction(30)

        # the helper: str/dict encoding, dict headers, explicit partition
        plain = [("SKU-3", {"n": "plain"}, {"inv.test": "plain"}), ("SKU-4", "x", None, 0)]
        delivered = produce(topic, plain)
        assert len(delivered) == 2 and all(d is not None for d in delivered), delivered
        assert delivered[1][0] == 0
        plain_expected = [(b"SKU-3", b'{"n":"plain"}', [("inv.test", b"plain")]),
                          (b"SKU-4", b"x", [])]

        rows = consume_all(topic, timeout=60)
        got = sorted(((k, v, h) for k, v, h, _, _ in rows), key=repr)
        want = sorted(((k, v, h) for k, v, h in committed + plain_expected), key=repr)
        assert got == want, "read_committed:\n got %r\nwant %r" % (got, want)
        for k, v, h, part, off in rows:
            if v != b"x":   # SKU-4/"x" went to an explicit partition
                assert part == murmur2_partition(k, PARTITIONS), (k, part)
        # order within a partition is production order
        for part in range(PARTITIONS):
            offs = [off for _, _, _, pa, off in rows if pa == part]
            assert offs == sorted(offs)
        seqs = [int(dict(h)["seq"]) for k, v, h, pa, _ in rows if k == b"SKU-5" and "seq" in dict(h)]
        assert seqs == [5], seqs

        rows_u = consume_all(topic, timeout=60, isolation="read_uncommitted")
        got_u = sorted(((k, v, h) for k, v, h, _, _ in rows_u), key=repr)
        want_u = sorted(((k, v, h) for k, v, h in committed + aborted + plain_expected), key=repr)
        assert got_u == want_u, "read_uncommitted:\n got %r\nwant %r" % (got_u, want_u)
        print("roundtrip ok: %d committed rows, %d uncommitted rows on %s"
              % (len(rows), len(rows_u), topic))
    finally:
        delete_topics([topic])
    return 0


if __name__ == "__main__":
    sys.exit(main())
