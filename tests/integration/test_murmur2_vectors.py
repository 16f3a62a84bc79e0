"""Unit check (no broker): invtest.murmur2 is Kafka's Utils.murmur2.

Vectors: apache/kafka clients/.../common/utils/UtilsTest.java (testMurmur2) and
librdkafka src/rdmurmur2.c (unittest_murmur2, "java_murmur2_results").
"""
import sys

from invtest import murmur2, murmur2_partition

# Kafka UtilsTest.testMurmur2: input -> Java signed int
KAFKA_UTILS_TEST = [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (bytes([ord("a"), ord("b"), ord("c")]), 479470107),
]

# librdkafka rdmurmur2.c: the same hash as 32-bit patterns (covers every tail length and "")
LIBRDKAFKA = [
    (b"kafka", 0xD067CF64),
    (b"giberish123456789", 0x8F552B0C),
    (b"1234", 0x9FC97B14),
    (b"234", 0xE7C009CA),
    (b"34", 0x873930DA),
    (b"4", 0x5A4B5CA1),
    (b"PreAmbleWillBeRemoved,ThePrePartThatIs", 0x78424F1C),
    (b"reAmbleWillBeRemoved,ThePrePartThatIs", 0x4A62B377),
    (b"eAmbleWillBeRemoved,ThePrePartThatIs", 0xE0E4E09E),
    (b"AmbleWillBeRemoved,ThePrePartThatIs", 0x62B8B43F),
    (b"", 0x106E08D9),
]


def signed32(u):
    return u - (1 << 32) if u & 0x80000000 else u


def main():
    failures = []
    for data, want in KAFKA_UTILS_TEST + [(d, signed32(u)) for d, u in LIBRDKAFKA]:
        got = murmur2(data)
        if got != want:
            failures.append("murmur2(%r) = %d, want %d" % (data, got, want))
    # str keys are hashed as UTF-8
    assert murmur2("21") == murmur2(b"21") == -973932308
    assert murmur2("ü") == murmur2("ü".encode("utf-8"))
    # partition = toPositive(h) % n, toPositive(h) = h & 0x7fffffff
    for data, want in KAFKA_UTILS_TEST:
        for n in (1, 2, 3, 6, 12, 100, 1 << 31):
            exp = (want & 0x7FFFFFFF) % n
            got = murmur2_partition(data, n)
            if got != exp or not 0 <= got < n:
                failures.append("murmur2_partition(%r, %d) = %d, want %d" % (data, n, got, exp))
    # spot values worked by hand: toPositive(-973932308) = 1173551340
    assert murmur2_partition(b"21", 1 << 31) == 1173551340
    assert murmur2_partition(b"21", 10) == 0 and murmur2_partition(b"foobar", 10) == 6
    if failures:
        print("\n".join(failures))
        return 1
    print("murmur2: %d vectors ok" % (len(KAFKA_UTILS_TEST) + len(LIBRDKAFKA)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
