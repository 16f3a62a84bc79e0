"""`invctl topics create` against the real broker (DESIGN.md "Local broker, build
and topics"; issue 2 "Must show").

  * With unique names for every topic key (INV_TOPIC_*), `invctl topics
    create --partitions 3` creates every topic and says so; run again it is a
    no-op that says "exists" for each, exit 0; a third run asking for another
    partition count changes nothing either.
  * The settings are checked by describing the topics with confluent-kafka's
    AdminClient, not by trusting invctl: 3 partitions each, cleanup.policy
    compact for policies, stock, channels and availability, delete for the
    others, and the
    retention invctl documents for the dedup log and the compacted topics.
  * When some topics already exist, only the missing ones are created.
  * Against an unreachable broker (-b 127.0.0.1:1) invctl exits non-zero with
    one clear error naming the broker, within ~20 s.
"""
import sys
import time

from confluent_kafka.admin import AdminClient, ConfigResource

from invtest import (COMPACTED_KEYS, TOPIC_KEYS, bin, bootstrap, create_topics, delete_topics, run, topic_env,
                     wait_until)

ALL_KEYS = tuple(TOPIC_KEYS) + ("dedup", "state")  # inv-stock's internal logs: applied ids, open reservations
COMPACTED = set(COMPACTED_KEYS) | {"state"}
assert COMPACTED == {"policies", "stock", "channels", "availability", "state"}
PARTITIONS = 3
DEDUP_RETENTION_MS = "604800000"     # dedup.window.ms default
TOMBSTONE_RETENTION_MS = "86400000"  # delete.retention.ms invctl sets on compacted topics


def env_for(prefix):
    env = topic_env(prefix)
    env["INV_TOPIC_DEDUP"] = env["INV_TOPIC_SALES"][:-len(".sales")] + ".dedup"
    env["INV_TOPIC_STATE"] = env["INV_TOPIC_SALES"][:-len(".sales")] + ".state"
    assert sorted(env) == sorted("INV_TOPIC_" + k.upper() for k in ALL_KEYS)
    return env


def names(env):
    return {k: env["INV_TOPIC_" + k.upper()] for k in ALL_KEYS}


def invctl_create(env, partitions, brokers=None, timeout=60):
    return run([bin("invctl"), "-b", brokers or bootstrap(), "topics", "create",
                "--partitions", str(partitions)], env=env, timeout=timeout)


def expect_outcomes(r, env, outcome_of):
    """invctl printed one line per topic: '<outcome> <name> (<policy>)'."""
    assert r.returncode == 0, "invctl exit %s; stderr:\n%s" % (r.returncode, r.stderr)
    want = sorted("%-8s %s (%s)" % (outcome_of(k), n, "compact" if k in COMPACTED else "delete")
                  for k, n in names(env).items())
    got = sorted(r.stdout.splitlines())
    assert got == want, "invctl stdout:\n%s\nwant:\n%s" % ("\n".join(got), "\n".join(want))


def describe(env):
    """{key: (partition count, {config name: value})} as the broker reports it."""
    admin = AdminClient({"bootstrap.servers": bootstrap()})
    md = admin.list_topics(timeout=10)
    out = {}
    resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in names(env).values()]
    configs = {res.name: fut.result(timeout=30)
               for res, fut in admin.describe_configs(resources, request_timeout=30).items()}
    for k, n in names(env).items():
        t = md.topics.get(n)
        assert t is not None and t.error is None, "topic %s missing from metadata: %r" % (n, t)
        out[k] = (len(t.partitions), {c: e.value for c, e in configs[n].items()})
    return out


def ready(env):
    """Every topic in the metadata, each partition with a leader."""
    md = AdminClient({"bootstrap.servers": bootstrap()}).list_topics(timeout=10)
    for n in names(env).values():
        t = md.topics.get(n)
        if t is None or t.error is not None or any(p.leader < 0 for p in t.partitions.values()):
            return False
    return True


def expect_settings(env):
    d = describe(env)
    for k in ALL_KEYS:
        parts, cfg = d[k]
        assert parts == PARTITIONS, "%s: %d partitions, want %d" % (names(env)[k], parts, PARTITIONS)
        want = "compact" if k in COMPACTED else "delete"
        assert cfg["cleanup.policy"] == want, "%s: cleanup.policy=%s, want %s" % (
            names(env)[k], cfg["cleanup.policy"], want)
        if k in COMPACTED:
            assert cfg["delete.retention.ms"] == TOMBSTONE_RETENTION_MS, (k, cfg["delete.retention.ms"])
    assert d["dedup"][1]["retention.ms"] == DEDUP_RETENTION_MS, d["dedup"][1]["retention.ms"]
    return d


def test_create_twice_is_idempotent(env):
    r = invctl_create(env, PARTITIONS)
    expect_outcomes(r, env, lambda k: "created")
    # created topics may take a moment to show every leader in metadata
    wait_until(lambda: ready(env), 30, "every topic with leaders in metadata")
    before = expect_settings(env)

    r = invctl_create(env, PARTITIONS)
    expect_outcomes(r, env, lambda k: "exists")
    assert expect_settings(env) == before

    # a different partition count does not touch existing topics either
    r = invctl_create(env, PARTITIONS + 2)
    expect_outcomes(r, env, lambda k: "exists")
    assert expect_settings(env) == before


def test_only_missing_topics_are_created(env):
    pre = {"sales", "stock"}
    create_topics([names(env)[k] for k in pre], partitions=PARTITIONS,
                  compacted={names(env)["stock"]})
    r = invctl_create(env, PARTITIONS)
    expect_outcomes(r, env, lambda k: "exists" if k in pre else "created")
    wait_until(lambda: ready(env), 30, "every topic with leaders in metadata")
    d = describe(env)
    for k in ALL_KEYS:
        assert d[k][1]["cleanup.policy"] == ("compact" if k in COMPACTED else "delete"), (k, d[k])


def test_unreachable_broker(env):
    t0 = time.monotonic()
    r = invctl_create(env, PARTITIONS, brokers="127.0.0.1:1", timeout=60)
    dt = time.monotonic() - t0
    assert r.returncode not in (0, 2), "exit %s, want a runtime failure (1); stderr:\n%s" % (
        r.returncode, r.stderr)
    assert dt < 25, "invctl took %.1fs to give up on an unreachable broker" % dt
    # invctl's own verdict, one line without a log timestamp (librdkafka's
    # connection logs surround it)
    verdicts = [l for l in r.stderr.splitlines() if l.startswith("invctl: ")]
    assert len(verdicts) == 1 and verdicts[0].startswith("invctl: cannot create topics on 127.0.0.1:1: "), (
        "unclear error: %r\nstderr:\n%s" % (verdicts, r.stderr[-2000:]))
    last = verdicts[0]
    assert "created" not in r.stdout and "exists" not in r.stdout, r.stdout
    print("unreachable broker: exit %d after %.1fs: %s" % (r.returncode, dt, last))


def main():
    envs = []
    try:
        for prefix, test in (("topics-create", test_create_twice_is_idempotent),
                             ("topics-partial", test_only_missing_topics_are_created),
                             ("topics-unreachable", test_unreachable_broker)):
            env = env_for(prefix)
            envs.append(env)
            t0 = time.monotonic()
            test(env)
            print("ok %s (%.1fs)" % (test.__name__, time.monotonic() - t0), flush=True)
    finally:
        admin = AdminClient({"bootstrap.servers": bootstrap()})
        existing = set(admin.list_topics(timeout=10).topics)
        doomed = [n for env in envs for n in names(env).values() if n in existing]
        if doomed:
            delete_topics(doomed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
