"""Every program's /metrics is valid Prometheus text: `promtool check metrics`
(Debian package prometheus, installed by deploy/local/install-deps.sh)
accepts what inv-stock, inv-sale and inv-reserve serve on --http, scraped
after real traffic on the local broker (so the histograms, the per-partition
series and the Kafka clients' states are there), and the check itself is
shown to work first: promtool must refuse a deliberately broken exposition.
Without promtool the test is skipped (exit 77)."""
import os
import shutil
import subprocess
import tempfile

from invtest import (bin, bootstrap, create_topic_set, free_port, http_get, produce, skip, start, topic_env, unique,
                     wait_until)

BROKEN = (b"# HELP inv_broken_total A counter\n# TYPE inv_broken_total counter\n"
          b"inv_broken_total{kind=\"sale\" 1\n")
VALID = (b"# HELP inv_valid_total A counter\n# TYPE inv_valid_total counter\n"
         b"inv_valid_total{kind=\"sale\"} 1\n")


def promtool(path, text):
    """(exit code, output) of `promtool check metrics` reading text."""
    r = subprocess.run([path, "check", "metrics"], input=text, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    return r.returncode, r.stdout.decode(errors="replace")


def sale(i):
    return {"event_id": "T-%d" % i, "source": "pos", "location_id": "store-1", "channel": "store",
            "occurred_at": "2026-11-22T10:00:00Z", "lines": [{"sku": "SKU-%d" % i, "quantity": 1}]}


def hold(i):
    return {"event_id": "RV-%d" % i, "source": "web", "reservation_id": "ORD-%d" % i, "action": "hold",
            "location_id": "dc-1", "channel": "online", "occurred_at": "2026-11-22T10:00:00Z",
            "expires_at": "2026-11-23T10:00:00Z", "lines": [{"sku": "SKU-%d" % i, "quantity": 1}]}


def main():
    path = shutil.which("promtool")
    if not path:
        skip("promtool not installed (Debian package prometheus; deploy/local/install-deps.sh installs it)")
    rc, out = promtool(path, BROKEN)
    assert rc != 0, "promtool accepted a broken exposition:\n%s" % out
    rc, out = promtool(path, VALID)
    assert rc == 0, "promtool refused a valid exposition (exit %d):\n%s" % (rc, out)

    env = topic_env("promtool")
    create_topic_set(env, partitions=2)
    produce(env["INV_TOPIC_SALES"], [("k%d" % i, sale(i)) for i in range(10)] + [("bad", b"{")])
    produce(env["INV_TOPIC_RESERVATIONS"], [("ORD-%d" % i, hold(i)) for i in range(5)] + [("bad", b"")])
    work = tempfile.mkdtemp(prefix="promtool-")
    procs = {}
    try:
        for name, extra in (("inv-stock", ["--state-dir", os.path.join(work, "state")]), ("inv-sale", []),
                            ("inv-reserve", []), ("inv-view", ["--state-dir", os.path.join(work, "view")])):
            e = dict(env, INV_GROUP_ID=unique("g-" + name))
            port = free_port()
            procs[name] = (start([bin(name), "-b", bootstrap(), "--http", "127.0.0.1:%d" % port] + extra, e), port)

        for name, (p, port) in procs.items():
            def scraped(name=name, port=port):
                status, body = http_get(port, "/metrics")
                if name == "inv-view":  # caught up with the topics
                    return status == 200 and b"\ninv_view_ready 1\n" in body and body
                # a commit seen, and the clients' statistics (every 5 s) with the lag series
                done = status == 200 and b'outcome="commit"} 0\n' not in body and \
                    b"\ninv_kafka_statistics_age_seconds{" in body and b"\ninv_kafka_consumer_lag{" in body
                return done and body
            body = wait_until(scraped, timeout=90, what="%s's /metrics after a commit (stderr: %s)"
                              % (name, p.stderr_path))
            rc, out = promtool(path, body)
            assert rc == 0, "promtool check metrics refused %s's /metrics (exit %d):\n%s\n--- the exposition:\n%s" % (
                name, rc, out, body.decode(errors="replace"))
            print("%s: %d series lines, promtool check metrics: ok" % (
                name, sum(1 for l in body.splitlines() if l and not l.startswith(b"#"))))
        for name, (p, port) in procs.items():
            assert p.stop() == 0, p.stderr_text()
    finally:
        for p, _ in procs.values():
            if p.alive():
                p.kill()
        shutil.rmtree(work, ignore_errors=True)
    print("promtool refuses a broken exposition and accepts inv-stock's, inv-sale's, inv-reserve's and inv-view's")


if __name__ == "__main__":
    main()
