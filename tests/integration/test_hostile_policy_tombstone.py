"""A policy record or tombstone that cannot be stored goes to the DLQ once; it
stalls nothing.

Contract (DESIGN.md, "Identifiers and clocks"): a record that cannot be
stored or applied because of its content (any input topic, policies and
channels included) goes to the DLQ with its reason; it never stalls a
partition, a table, a start-up or a restore. ("Guarantees") nothing stalls
on a single bad record; every input is either reflected in state or in the
DLQ.

inventory.policies gets a tombstone whose key `sku|location_id` has a
600-byte sku (too long for an LMDB key of the policy table) and a policy
record with a 2000-byte sku. Two inv-stock instances share the group (each
reads the whole policies topic). The old code failed the tombstone's delete,
re-read it and failed again forever: policy updates stopped, and an instance
restarted with its state dir never finished reading the table, so it never
became ready (the long policy record was logged and skipped, not
dead-lettered).

Now: both running instances keep applying movements and stay ready; a
restarted instance becomes ready (/healthz 200) and movements are applied;
the DLQ holds each poison record exactly once (header inv.source.topic = the
policies topic), though two instances read it."""

import json
import os
import tempfile
import time

from invtest import (check, cleanup, consume_all, create_topic_set, finish, free_port, http_get, murmur2_partition,
                     produce, start_keeper, stock_on_hand, topic_env, unique, wait_until)

PARTITIONS = 2
TOMBSTONE_KEY = "P" * 600 + "|store-1"
LONG_SKU = "Q" * 2000
POLICY_KEY = LONG_SKU + "|store-1"


def sku_for(partition, tag):
    i = 0
    while murmur2_partition("SKU-%s-%d" % (tag, i), PARTITIONS) != partition:
        i += 1
    return "SKU-%s-%d" % (tag, i)


def receipt(event_id, sku, qty):
    return {"movement_id": "receipt:%s:0" % event_id, "sku": sku, "location_id": "store-1", "channel": None,
            "type": "receipt", "quantity": qty, "occurred_at": "2026-11-22T10:00:00Z", "source": "wms"}


def healthz(port):
    status, body = http_get(port, "/healthz", timeout=2)
    return status, (json.loads(body) if status in (200, 503) else None)


def ready(port):
    status, body = healthz(port)
    return status == 200 and body.get("assigned_partitions", 0) >= 1


def on_hand(ports, sku):
    """The SKU's network on_hand from whichever instance holds it."""
    for port in ports:
        got = stock_on_hand(port, sku, timeout=2)
        if got is not None:
            return got
    return None


def main():
    env = topic_env("hostile-policy")
    create_topic_set(env, partitions=PARTITIONS)
    env["INV_GROUP_ID"] = unique("g")
    moves, policies = env["INV_TOPIC_MOVEMENTS"], env["INV_TOPIC_POLICIES"]
    skus = [sku_for(p, "H") for p in range(PARTITIONS)]
    work = tempfile.mkdtemp(prefix="hostile-policy-")
    procs = []
    try:
        ports = {n: free_port() for n in "AB"}
        keepers = {n: start_keeper(env, os.path.join(work, n), ports[n]) for n in "AB"}
        procs += keepers.values()
        wait_until(lambda: all(ready(ports[n]) for n in "AB") or not all(p.alive() for p in keepers.values()),
                   timeout=60, interval=0.5, what="A and B each ready with partitions")
        assert all(p.alive() for p in keepers.values()), [p.stderr_text()[-2000:] for p in keepers.values()]

        # The poison, then a receipt of 5 on each partition's SKU.
        poison = {TOMBSTONE_KEY.encode(): None,
                  POLICY_KEY.encode(): json.dumps({"sku": LONG_SKU, "location_id": "store-1", "reorder_point": 1,
                                                   "reorder_quantity": 1, "safety_stock": 0},
                                                  separators=(",", ":")).encode()}
        produce(policies, list(poison.items()))
        time.sleep(1)  # the instances read the policies topic on their own
        produce(moves, [(s, receipt("GR-1-%s" % s, s, 5)) for s in skus])
        ok = True
        try:
            wait_until(lambda: all(on_hand(ports.values(), s) == 5 for s in skus), timeout=30,
                       what="movements applied by the running instances after the poison")
        except TimeoutError as e:
            ok = check(False, "running instances: %s (on_hand %s)" % (e, [on_hand(ports.values(), s) for s in skus]))
        if ok:
            # still ready, for 3 s
            t_end, not_ready = time.monotonic() + 3, set()
            while time.monotonic() < t_end:
                for n in "AB":
                    if healthz(ports[n])[0] != 200:
                        not_ready.add(n)
                time.sleep(0.2)
            check(not not_ready, "running instance(s) %s not ready after the poison: %s"
                  % (sorted(not_ready), {n: healthz(ports[n]) for n in sorted(not_ready)}))

        # B restarts with its state dir: it reads the policies table again from its own offsets.
        assert keepers["B"].stop() == 0, keepers["B"].stderr_text()[-3000:]
        ports["B"] = free_port()
        keepers["B"] = start_keeper(env, os.path.join(work, "B"), ports["B"])
        procs.append(keepers["B"])
        try:
            wait_until(lambda: ready(ports["B"]) or not keepers["B"].alive(), timeout=45, interval=0.5,
                       what="the restarted instance B ready with partitions")
            check(keepers["B"].alive(), "restarted B exited: %s" % keepers["B"].stderr_text()[-2000:])
        except TimeoutError as e:
            check(False, "restarted B: %s; /healthz %s; stderr:\n%s"
                  % (e, healthz(ports["B"]), keepers["B"].stderr_text()[-1500:]))
        produce(moves, [(s, receipt("GR-2-%s" % s, s, 10)) for s in skus])
        try:
            wait_until(lambda: all(on_hand(ports.values(), s) == 15 for s in skus), timeout=30,
                       what="movements applied after the restart")
        except TimeoutError as e:
            check(False, "after the restart: %s (on_hand %s)" % (e, [on_hand(ports.values(), s) for s in skus]))

        # The DLQ: each poison record once.
        for n in "AB":
            rc = keepers[n].stop()
            check(rc == 0, "inv-stock %s: exit %s on SIGTERM" % (n, rc))
        dlq = consume_all(env["INV_TOPIC_DLQ"], timeout=30)
        from_policies = [(k, v, dict(h)) for k, v, h, _, _ in dlq if dict(h).get("inv.source.topic") ==
                         policies.encode()]
        others = [(k, dict(h).get("inv.error")) for k, v, h, _, _ in dlq
                  if dict(h).get("inv.source.topic") != policies.encode()]
        check(not others, "DLQ records not from the policies topic: %r" % others[:5])
        for key, value in poison.items():
            hits = [r for r in from_policies if r[0] == key]
            what = "tombstone" if value is None else "policy record"
            check(len(hits) == 1, "DLQ: the poison %s (key of %d bytes) %d times, want exactly once"
                  % (what, len(key), len(hits)))
            for _, v, h in hits:
                check(v == value, "DLQ: the poison %s's value %r, want %r" % (what, (v or b"")[:60], (value or b"")[:60]))
                check(bool(h.get("inv.error")), "DLQ: the poison %s has no inv.error" % what)
                print("dead letter for the %s: %s" % (what, (h.get("inv.error") or b"").decode("utf-8", "replace")))
        check(len(from_policies) == len(poison), "DLQ: %d records from the policies topic, want %d"
              % (len(from_policies), len(poison)))
    finally:
        cleanup(procs, work)
    finish("a policy tombstone and record that cannot be stored: dead-lettered once each; movements applied, "
           "instances ready, a restarted one too")


if __name__ == "__main__":
    main()
