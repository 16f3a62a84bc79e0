"""inv-stock's /healthz and /metrics keep answering beside slow HTTP clients.

Contract (DESIGN.md, "Guarantees"): nothing stalls on a single bad input;
inv-stock serves /healthz and /metrics on --http (the kubelet's probes, which
come from the same address as other clients: the node, a NAT, localhost).
docs/CONFIGURATION.md: "A slow or idle client never holds a thread";
http.per.ip.connection.limit is 0 (unlimited) by default so that slow
clients from the probe's address cannot turn /healthz away.

100, then 1000 connections from 127.0.0.1 each trickle a partial request
line ("GET /aaaa...", one byte every 200 ms, never a line end) to a real
inv-stock's --http port. Meanwhile /healthz (200, ready) and /metrics (200)
must each answer five times within 1 s from 127.0.0.1. The old server (a
pool of 2 threads, 64 connections) stopped answering.

The 1000-connection step raises RLIMIT_NOFILE's soft limit to the hard one
first (inv-stock inherits it); it is left out, with a note, when the hard
limit is too low for it."""

import errno
import json
import os
import resource
import socket
import tempfile
import threading
import time

from invtest import (check, cleanup, create_topic_set, finish, free_port, http_get, produce, start_keeper,
                     topic_env, unique, wait_keeper_ready)

STEPS = (100, 1000)
TRICKLE_S = 0.2
PROBES = 5
FD_MARGIN = 200  # our own fds besides the slow connections


class Tricklers:
    """n non-blocking connections to 127.0.0.1:port, each sent one more byte
    of an endless request line every TRICKLE_S by one thread."""

    def __init__(self, port, n):
        self.port, self.socks, self.stop_flag = port, [], threading.Event()
        self.sent = 0
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS, errno.EAGAIN):
                s.close()
                raise OSError(err, "connect to 127.0.0.1:%d: %s" % (port, os.strerror(err)))
            self.socks.append(s)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        i = 0
        line = b"GET /" + b"a" * 100000
        while not self.stop_flag.wait(TRICKLE_S):
            byte = line[i:i + 1]
            i += 1
            for s in self.socks:
                try:
                    self.sent += s.send(byte)
                except OSError:
                    pass  # not connected yet (still in the listen backlog), or closed by the server

    def close(self):
        self.stop_flag.set()
        self.thread.join(5)
        for s in self.socks:
            s.close()


def timed_get(port, path):
    t = time.monotonic()
    status, body = http_get(port, path, timeout=1.0)
    return status, body, time.monotonic() - t


def probe(port, n):
    """PROBES rounds of /healthz and /metrics; failures as text."""
    bad, worst = [], 0.0
    for i in range(PROBES):
        for path, want in (("/healthz", 200), ("/metrics", 200)):
            status, body, took = timed_get(port, path)
            worst = max(worst, took)
            if status != want or took > 1.0:
                bad.append("%s: %s in %.2f s" % (path, "no answer" if status is None else status, took))
            elif path == "/healthz" and not json.loads(body).get("ready"):
                bad.append("/healthz: not ready: %s" % body)
            elif path == "/metrics" and b"inv_stock_" not in body:
                bad.append("/metrics: no inv_stock_ series")
        time.sleep(0.3)
    return bad, worst


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    env = topic_env("hostile-http")
    create_topic_set(env, partitions=1)
    env["INV_GROUP_ID"] = unique("g")
    produce(env["INV_TOPIC_MOVEMENTS"], [("SKU-1", {
        "movement_id": "receipt:GR-1:0", "sku": "SKU-1", "location_id": "store-1", "channel": None,
        "type": "receipt", "quantity": 5, "occurred_at": "2026-11-22T10:00:00Z", "source": "wms"})])
    work = tempfile.mkdtemp(prefix="hostile-http-")
    k = None
    try:
        port = free_port()
        k = start_keeper(env, os.path.join(work, "s"), port)
        wait_keeper_ready(k, port, "inv-stock ready", http_timeout=2)
        for n in STEPS:
            if soft != resource.RLIM_INFINITY and soft < n + FD_MARGIN:
                print("note: %d slow connections left out: RLIMIT_NOFILE %d (hard limit)" % (n, soft))
                continue
            t = Tricklers(port, n)
            try:
                time.sleep(2 * TRICKLE_S + 0.5)  # every connection made and trickling
                bad, worst = probe(port, n)
                check(not bad, "with %d slow connections from 127.0.0.1 (%d bytes trickled): %d of %d probes "
                      "failed: %s" % (n, t.sent, len(bad), 2 * PROBES, "; ".join(bad[:6])))
                check(k.alive(), "inv-stock exited with %d slow connections: %s" % (n, k.stderr_text()[-2000:]))
                if not bad:
                    print("%4d slow connections: %d probes answered, slowest in %.3f s" % (n, 2 * PROBES, worst))
            finally:
                t.close()
        assert k.stop() == 0, k.stderr_text()[-3000:]
    finally:
        cleanup([k], work)
    finish("/healthz and /metrics answered within 1 s beside slow clients from the same address")


if __name__ == "__main__":
    main()
