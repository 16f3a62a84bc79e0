"""The processors' /metrics and /healthz (--http) against the real broker.

inv-sale and inv-reserve each get their own topics and group, a known mix of
valid and invalid events, and a free HTTP port. Then, exactly:

  * inv_processor_events_total{outcome="ok"} = the valid events,
    {outcome="dead_letter"} = the invalid ones, {outcome="retry"} = 0;
  * inv_processor_movements_total = the lines of the valid events;
  * inv_processor_dead_letters_total by class: json, empty, field, avro,
    schema (inv-sale), rule (a hold past reservation.max.ttl.ms, inv-reserve);
  * the DLQ holds as many records as the metrics say;
  * inv_kafka_consumer_lag is reported for every input partition and falls
    to 0, and inv_processor_assigned_partitions counts them;
  * /healthz answers 200 {"ready":true,...} with the kafka object inv-stock
    shows; SIGTERM stops each processor with exit 0.
"""
import json
import re
import struct

from invtest import (bin, bootstrap, consume_all, create_topic_set, free_port, http_get, produce, start, topic_env,
                     unique, wait_until)

PARTITIONS = 3

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port):
    """{(name, frozenset(labels.items())): value} of GET /metrics, or None."""
    status, body = http_get(port, "/metrics")
    if status != 200:
        return None
    out = {}
    for line in body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def sale(i, lines=2, **over):
    ev = {"event_id": "T-%d" % i, "source": "pos", "location_id": "store-1", "channel": "store",
          "occurred_at": "2026-11-22T10:00:00Z",
          "lines": [{"sku": "SKU-%d" % (i * 10 + j), "quantity": 1 + j} for j in range(lines)]}
    ev.update(over)
    return ev


def hold(i, expires_at):
    return {"event_id": "RV-%d" % i, "source": "web", "reservation_id": "ORD-%d" % i, "action": "hold",
            "location_id": "dc-1", "channel": "online", "occurred_at": "2026-11-22T10:00:00Z",
            "expires_at": expires_at, "lines": [{"sku": "SKU-%d" % i, "quantity": 2}]}


def run_one(program, topic_key, items, want_ok, want_movements, want_dead):
    env = topic_env("pm-" + program)
    create_topic_set(env, partitions=PARTITIONS)
    env["INV_GROUP_ID"] = unique("g")
    produce(env[topic_key], items)
    port = free_port()
    p = start([bin(program), "-b", bootstrap(), "--http", "127.0.0.1:%d" % port], env)
    kind = {"inv-sale": "sale", "inv-reserve": "reservation"}[program]
    want_dead_total = sum(want_dead.values())

    def counted():
        s = scrape(port)
        return s and value(s, "inv_processor_events_total", kind=kind, outcome="ok") == want_ok and \
            value(s, "inv_processor_events_total", kind=kind, outcome="dead_letter") == want_dead_total and s

    s = wait_until(counted, timeout=90, what="%s counting %d ok and %d dead letters (stderr: %s)"
                   % (program, want_ok, want_dead_total, p.stderr_path))
    assert value(s, "inv_processor_events_total", kind=kind, outcome="retry") == 0, s
    assert value(s, "inv_processor_movements_total", kind=kind) == want_movements, \
        value(s, "inv_processor_movements_total", kind=kind)
    classes = ("empty", "oversize", "json", "avro", "schema", "field", "rule")
    got_dead = {c: value(s, "inv_processor_dead_letters_total", kind=kind, **{"class": c}) for c in classes}
    assert got_dead == {c: want_dead.get(c, 0) for c in classes}, got_dead
    commits = value(s, "inv_processor_transactions_total", kind=kind, outcome="commit")
    assert commits >= 1 and value(s, "inv_processor_batch_size_count", kind=kind) == commits, s
    assert value(s, "inv_processor_batch_size_sum", kind=kind) >= want_ok + want_dead_total, s
    assert value(s, "inv_processor_kafka_commit_seconds_count", kind=kind) == commits, s
    assert value(s, "inv_processor_transaction_aborts_total", kind=kind, cause="handler") == 0, s

    # lag: every input partition reported, all at 0 (statistics every 5 s)
    def caught_up():
        s = scrape(port)
        lags = {dict(l)["partition"]: v for (n, l), v in s.items() if n == "inv_kafka_consumer_lag"
                and dict(l)["topic"] == env[topic_key]}
        return len(lags) == PARTITIONS and all(v == 0 for v in lags.values()) and s
    s = wait_until(caught_up, timeout=30, what="%s reporting lag 0 on %d partitions" % (program, PARTITIONS))
    assert value(s, "inv_processor_assigned_partitions", kind=kind) == PARTITIONS, s
    assert value(s, "inv_kafka_coordinator_up", client="consumer", kind="group") == 1, s
    assert value(s, "inv_processor_commit_stalled_seconds") is not None, s

    status, body = wait_until(lambda: (lambda r: r[0] == 200 and r)(http_get(port, "/healthz")), timeout=30,
                              what="%s /healthz 200" % program)
    doc = json.loads(body)
    assert doc["ready"] is True and "reason" not in doc and doc["assigned_partitions"] == PARTITIONS, doc
    assert doc["kafka"]["stalled_seconds"] == 0 and doc["kafka"]["last_error"] == "", doc
    assert doc["kafka"]["coordinators"]["consumer"]["up"] is True, doc

    dlq = consume_all(env["INV_TOPIC_DLQ"], timeout=30)
    assert len(dlq) == want_dead_total, "%d dead letters in the DLQ, metrics say %d" % (len(dlq), want_dead_total)
    assert p.stop() == 0, p.stderr_text()
    print("%s: ok %d, movements %d, dead letters %s, lag 0, /healthz 200" % (program, want_ok, want_movements,
                                                                              want_dead))


def main():
    # inv-sale: 7 valid events of 2 lines, 7 invalid ones of five classes
    unknown_id = b"\x00" + struct.pack(">i", 999999) + b"\x02"
    items = [("k%d" % i, sale(i)) for i in range(7)]
    items += [("bad-json", b"{\"event_id\":"), ("bad-json-2", b"[1,2]"), ("empty", b""),
              ("zero", dict(sale(100), lines=[{"sku": "SKU-1", "quantity": 0}])),
              ("channel", sale(101, channel="telepathy")),
              ("avro-short", b"\x00\x00\x01"), ("avro-unknown", unknown_id)]
    run_one("inv-sale", "INV_TOPIC_SALES", items, want_ok=7, want_movements=14,
            want_dead={"json": 2, "empty": 1, "field": 2, "avro": 1, "schema": 1})

    # inv-reserve: 3 holds within a week, 2 past it (rule), 1 without lines (field)
    items = [("ORD-%d" % i, hold(i, "2026-11-23T10:00:00Z")) for i in range(3)]
    items += [("ORD-%d" % i, hold(i, "2026-12-22T10:00:00Z")) for i in range(3, 5)]
    items += [("ORD-9", dict(hold(9, "2026-11-23T10:00:00Z"), lines=[]))]
    run_one("inv-reserve", "INV_TOPIC_RESERVATIONS", items, want_ok=3, want_movements=3,
            want_dead={"rule": 2, "field": 1})


if __name__ == "__main__":
    main()
