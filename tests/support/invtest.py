"""Helpers for the Python integration tests.

The tests talk to the local broker (deploy/local/broker.sh) with the
independent confluent-kafka client and run our programs from INV_BIN_DIR.
Import with PYTHONPATH=tests/support (ctest sets it, see tests/CMakeLists.txt).

    from invtest import *
    env = topic_env("sale")                     # unique names for every topic key
    create_topic_set(env, partitions=3)         # compaction where DESIGN.md says
    produce(env["INV_TOPIC_SALES"], [("k", {"event_id": "T-1"})])
    p = start([bin("inv-sale"), "-b", bootstrap()], env)
    rows = consume_all(env["INV_TOPIC_MOVEMENTS"], timeout=30)
    assert p.stop() == 0, p.stderr_text()
"""

import atexit
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid

__all__ = [
    "ROOT", "TOPIC_KEYS", "COMPACTED_KEYS", "unique", "bootstrap", "bin", "topic_env",
    "topic_names", "create_topics", "create_topic_set", "delete_topics", "produce", "consume_all",
    "run", "start", "Proc", "wait_until", "murmur2", "murmur2_partition", "log_dir",
    "free_port", "http_get", "failures", "check", "SKIP", "skip", "conf_reference",
]

ROOT = os.environ.get("INV_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# config key topic.<k> <-> environment INV_TOPIC_<K> (DESIGN.md, "Topics")
TOPIC_KEYS = ("sales", "returns", "restocks", "movements", "policies",
              "stock", "reorders", "shortages", "dlq",
              "reservations", "transfers", "channels", "availability", "reservation_status")
COMPACTED_KEYS = ("policies", "stock", "channels", "availability")


# --- names and places ----------------------------------------------------------

def unique(prefix="t"):
    """A name no other test run uses: <prefix>-<12 hex digits>, legal as a topic."""
    prefix = re.sub(r"[^A-Za-z0-9._-]", "_", prefix)
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def bootstrap():
    """The brokers the tests talk to: INV_TEST_BROKERS (host:port[,host:port...], e.g. the
    three-node cluster of deploy/local/cluster.sh), else the local broker 127.0.0.1:INV_BROKER_PORT."""
    return os.environ.get("INV_TEST_BROKERS") or "127.0.0.1:%s" % os.environ.get("INV_BROKER_PORT", "9092")


def bin(name):
    """Path of one of our programs (INV_BIN_DIR, else <repo>/build/bin)."""
    d = os.environ.get("INV_BIN_DIR") or os.path.join(ROOT, "build", "bin")
    path = os.path.join(d, name)
    if not os.access(path, os.X_OK):
        raise FileNotFoundError("program not built: %s" % path)
    return path


def topic_env(prefix="t"):
    """{"INV_TOPIC_SALES": "<prefix>-<id>.sales", ...} for every topic key of TOPIC_KEYS,
    plus INV_TOPIC_DEDUP and INV_TOPIC_STATE (inv-stock's internal logs of applied
    ids and of open reservations): without them every test's inv-stock would share
    the default ones."""
    base = unique(prefix)
    env = {"INV_TOPIC_" + k.upper(): "%s.%s" % (base, k) for k in TOPIC_KEYS}
    env["INV_TOPIC_DEDUP"] = "%s.dedup" % base
    env["INV_TOPIC_STATE"] = "%s.state" % base
    return env


_log_dir = None


def log_dir():
    """Where run()/start() put the programs' stderr (INV_TEST_LOG_DIR or a temp dir)."""
    global _log_dir
    if _log_dir is None:
        _log_dir = os.environ.get("INV_TEST_LOG_DIR") or tempfile.mkdtemp(prefix="invtest-")
        os.makedirs(_log_dir, exist_ok=True)
    return _log_dir


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=10):
    """(status, body bytes) of GET http://127.0.0.1:port/path; (None, b"") while
    nothing answers there (not listening yet, or gone)."""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return None, b""


def wait_until(pred, timeout=30.0, what="condition", interval=0.1):
    """Poll pred() until it returns something truthy; return that, else raise."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)


# --- verdicts ---------------------------------------------------------------------

failures = []          # every failed check(), in order; a test exits 1 when non-empty
CHECK_PRINT_LIMIT = None  # print at most this many FAIL lines (None: all)


def check(cond, msg):
    """A soft assertion: unless cond, record msg in failures and print
    "FAIL: msg". Returns cond, so `if check(...):` guards what depends on it."""
    if not cond:
        failures.append(msg)
        if CHECK_PRINT_LIMIT is None or len(failures) <= CHECK_PRINT_LIMIT:
            print("FAIL: %s" % msg, flush=True)
    return cond


SKIP = 77  # ctest's SKIP_RETURN_CODE for tests registered with inv_python_test(... MAY_SKIP)


def skip(reason):
    """Ends the test as skipped (exit 77): for a missing tool only, never for a
    failure. Only a test registered with MAY_SKIP may call it."""
    print("SKIP: %s" % reason, flush=True)
    sys.exit(SKIP)


# --- what the programs say about themselves ------------------------------------------

def conf_reference():
    """[(key, env, default)] of every configuration key, from the table that
    `invctl config reference` prints (INV_* of the caller's environment
    removed, so nothing but the compiled-in defaults is seen); the default is
    unescaped ("" when the table says (empty)). Raises on a malformed table."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INV_")}
    r = subprocess.run([bin("invctl"), "config", "reference"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("invctl config reference: exit %d: %s" % (r.returncode, r.stderr.strip()))
    rows = []
    for line in r.stdout.splitlines():
        m = re.match(r"^\| `([^`]+)` \| `(INV_[A-Za-z0-9_<>]+)` \| (`(?:[^`]*)`|\(empty\)|) \|", line)
        if not m or m.group(1) == "kafka.<prop>":
            continue
        d = m.group(3)
        rows.append((m.group(1), m.group(2), d[1:-1].replace("\\|", "|") if d.startswith("`") else ""))
    if len(rows) < 20:
        raise RuntimeError("only %d keys in the table of `invctl config reference`:\n%s" % (len(rows), r.stdout))
    return rows


# --- topics ----------------------------------------------------------------------

def _admin():
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": bootstrap()})


def create_topics(names, partitions=1, compacted=frozenset(), config=None, timeout=30):
    """Create topics (replication 1); names in `compacted` get cleanup.policy=compact.
    Returns once the broker's metadata shows every partition with a leader."""
    from confluent_kafka.admin import NewTopic
    names = list(names)
    admin = _admin()
    new = []
    for n in names:
        cfg = dict(config or {})
        if n in compacted:
            cfg["cleanup.policy"] = "compact"
        new.append(NewTopic(n, num_partitions=partitions, replication_factor=1, config=cfg))
    for name, fut in admin.create_topics(new, request_timeout=timeout).items():
        fut.result()

    def ready():
        md = admin.list_topics(timeout=5)
        for n in names:
            t = md.topics.get(n)
            if t is None or t.error is not None or len(t.partitions) != partitions:
                return False
            if any(p.leader < 0 for p in t.partitions.values()):
                return False
        return True
    wait_until(ready, timeout, "topics %s in metadata" % names)
    return names


def topic_names(env):
    """Every topic named in a topic_env() dict: the contract topics of TOPIC_KEYS, then
    the dedup log when the dict has one."""
    names = [env["INV_TOPIC_" + k.upper()] for k in TOPIC_KEYS]
    for k in ("INV_TOPIC_DEDUP", "INV_TOPIC_STATE"):
        if k in env:
            names.append(env[k])
    return names


def create_topic_set(env, partitions=1):
    """Create the topics named in a topic_env() dict, compacting those of COMPACTED_KEYS."""
    names = topic_names(env)
    compacted = {env["INV_TOPIC_" + k.upper()] for k in COMPACTED_KEYS}
    if "INV_TOPIC_STATE" in env:
        compacted.add(env["INV_TOPIC_STATE"])
    return create_topics(names, partitions, compacted)


def delete_topics(names, timeout=30):
    admin = _admin()
    for _, fut in admin.delete_topics(list(names), operation_timeout=timeout).items():
        fut.result()


# --- producing and consuming -----------------------------------------------------------

def _bytes(v):
    if v is None or isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":")).encode("utf-8")
    raise TypeError("cannot send %r" % type(v))


def produce(topic, items, config=None, timeout=30):
    """Produce items: (key, value[, headers[, partition]]) each. str is UTF-8,
    dict/list is JSON, None is null. Without a partition the key picks it with
    murmur2 as the Java client does. Returns [(partition, offset)] in item order."""
    from confluent_kafka import Producer
    conf = {"bootstrap.servers": bootstrap(), "enable.idempotence": True,
            "acks": "all", "partitioner": "murmur2_random", "linger.ms": 5}
    conf.update(config or {})
    p = Producer(conf)
    results, errors = [], []
    for i, item in enumerate(items):
        key, value = item[0], item[1]
        headers = item[2] if len(item) > 2 else None
        kw = {"key": _bytes(key), "value": _bytes(value), "on_delivery": None}
        if headers:
            kw["headers"] = [(h, _bytes(v)) for h, v in
                             (headers.items() if isinstance(headers, dict) else headers)]
        if len(item) > 3 and item[3] is not None:
            kw["partition"] = item[3]
        results.append(None)

        def cb(err, msg, i=i):
            if err is not None:
                errors.append((i, err))
            else:
                results[i] = (msg.partition(), msg.offset())
        kw["on_delivery"] = cb
        while True:
            try:
                p.produce(topic, **kw)
                break
            except BufferError:
                p.poll(0.1)
    left = p.flush(timeout)
    if left or errors:
        raise RuntimeError("produce to %s: %d undelivered, errors %s" % (topic, left, errors[:5]))
    return results


def consume_all(topic, timeout=30.0, isolation="read_committed", config=None):
    """Every record of every partition from the beginning to the end as it is
    now (the last stable offset for read_committed), as a list of
    (key, value, headers, partition, offset); headers is a list of
    (name, bytes) pairs. Reads until each partition's position reaches its end
    offset (watermarks, no fixed sleep); raises TimeoutError otherwise."""
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    conf = {"bootstrap.servers": bootstrap(), "group.id": unique("invtest-reader"),
            "enable.auto.commit": False, "enable.auto.offset.store": False,
            "isolation.level": isolation, "enable.partition.eof": False}
    conf.update(config or {})
    c = Consumer(conf)
    try:
        md = c.list_topics(topic, timeout=10).topics[topic]
        if md.error is not None:
            raise RuntimeError("topic %s: %s" % (topic, md.error))
        parts = sorted(md.partitions)
        # ListOffsets with the consumer's isolation level: for read_committed the
        # "high" watermark is the last stable offset.
        end = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
               for p in parts}
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        out = []
        pending = {p for p in parts if end[p] > 0}
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() >= deadline:
                pos = {tp.partition: tp.offset for tp in
                       c.position([TopicPartition(topic, p) for p in sorted(pending)])}
                raise TimeoutError("consume_all(%s): after %.0fs partitions %s at %s, ends %s"
                                   % (topic, timeout, sorted(pending), pos,
                                      {p: end[p] for p in pending}))
            m = c.poll(0.2)
            if m is not None:
                if m.error() is not None:
                    raise RuntimeError("consume %s: %s" % (topic, m.error()))
                out.append((m.key(), m.value(), list(m.headers() or []),
                            m.partition(), m.offset()))
            # position() also moves past transaction markers and aborted records
            for tp in c.position([TopicPartition(topic, p) for p in list(pending)]):
                if tp.offset >= 0 and tp.offset >= end[tp.partition]:
                    pending.discard(tp.partition)
        return out
    finally:
        c.close()


# --- our programs ------------------------------------------------------------------

def _env(env):
    e = dict(os.environ)
    e.update({k: str(v) for k, v in (env or {}).items()})
    return e


def _log_path(args):
    name = os.path.basename(str(args[0]))
    return os.path.join(log_dir(), "%s-%s.stderr" % (name, uuid.uuid4().hex[:8]))


def _tail(path, n=40):
    try:
        with open(path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
    except OSError:
        return ""


class Result:
    def __init__(self, args, returncode, stdout, stderr_path):
        self.args, self.returncode, self.stdout, self.stderr_path = args, returncode, stdout, stderr_path

    @property
    def stderr(self):
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def __repr__(self):
        return "Result(%s, rc=%s, stderr=%s)" % (self.args[0], self.returncode, self.stderr_path)


def run(args, env=None, timeout=60, input=None):
    """Run a program to completion; stdout captured as text, stderr to a file
    (result.stderr reads it). Raises TimeoutError (process killed) on timeout."""
    args = [str(a) for a in args]
    path = _log_path(args)
    with open(path, "wb") as err:
        try:
            cp = subprocess.run(args, env=_env(env), stdout=subprocess.PIPE, stderr=err,
                                input=input, timeout=timeout,
                                text=True if input is None or isinstance(input, str) else False)
        except subprocess.TimeoutExpired:
            raise TimeoutError("%s did not finish in %ss; stderr %s:\n%s"
                               % (args, timeout, path, _tail(path)))
    return Result(args, cp.returncode, cp.stdout, path)


_live = []


class Proc:
    """A running program started by start(): stdout and stderr go to files."""

    def __init__(self, args, env):
        self.args = [str(a) for a in args]
        self.stderr_path = _log_path(self.args)
        self.stdout_path = self.stderr_path[:-len(".stderr")] + ".stdout"
        with open(self.stderr_path, "wb") as err, open(self.stdout_path, "wb") as out:
            self.p = subprocess.Popen(self.args, env=_env(env), stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=err, start_new_session=True)
        self.pid = self.p.pid
        _live.append(self)

    def alive(self):
        return self.p.poll() is None

    def send_signal(self, sig):
        if self.alive():
            self.p.send_signal(sig)

    def kill(self):
        """SIGKILL (a crash, as the exactly-once tests want it) and reap."""
        self.send_signal(signal.SIGKILL)
        return self.p.wait()

    def stop(self, timeout=30, sig=signal.SIGTERM):
        """Ask it to stop; returns the exit code. Still alive after timeout:
        SIGKILL and raise TimeoutError."""
        self.send_signal(sig)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TimeoutError("%s ignored signal %s for %ss; stderr %s:\n%s"
                               % (self.args[0], sig, timeout, self.stderr_path,
                                  _tail(self.stderr_path)))

    def wait(self, timeout=None):
        return self.p.wait(timeout)

    def stderr_text(self):
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stdout_text(self):
        with open(self.stdout_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.alive():
            try:
                self.stop()
            except TimeoutError:
                pass

    def __repr__(self):
        return "Proc(%s, pid=%d, stderr=%s)" % (self.args[0], self.pid, self.stderr_path)


def start(args, env=None):
    """Start a program in the background (own session); see Proc."""
    return Proc(args, env)


@atexit.register
def _reap():
    for p in _live:
        if p.alive():
            sys.stderr.write("invtest: killing leftover %r\n" % p)
            p.kill()


# --- Kafka's partitioner -------------------------------------------------------------

def murmur2(data):
    """Kafka's org.apache.kafka.common.utils.Utils.murmur2 (seed 0x9747b28c),
    as the signed 32-bit int Java returns. str is UTF-8 encoded."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    M32 = 0xFFFFFFFF
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & M32
    nblocks = length // 4
    for i in range(nblocks):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & M32
        k ^= k >> r
        k = (k * m) & M32
        h = (h * m) & M32
        h ^= k
    tail = data[4 * nblocks:]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if len(tail) >= 1:
        h ^= tail[0]
        h = (h * m) & M32
    h ^= h >> 13
    h = (h * m) & M32
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def murmur2_partition(key, n):
    """The partition the Java client's default partitioner picks for a key:
    toPositive(murmur2(key)) % n."""
    return (murmur2(key) & 0x7FFFFFFF) % n


def produce_stamped(topic, items, timestamp_ms, config=None, timeout=30):
    """produce() with every record's Kafka timestamp (CreateTime) set to
    timestamp_ms: items are (key, value[, headers[, partition]]) as for
    produce(). For clocks that lie (a POS days ahead or behind). The broker
    keeps it as long as the topic's message.timestamp.*.max.ms allow (Kafka
    3.9: unbounded by default). Returns [(partition, offset)] in item order."""
    from confluent_kafka import Producer
    conf = {"bootstrap.servers": bootstrap(), "enable.idempotence": True,
            "acks": "all", "partitioner": "murmur2_random", "linger.ms": 5}
    conf.update(config or {})
    p = Producer(conf)
    results, errors = [None] * len(items), []
    for i, item in enumerate(items):
        kw = {"key": _bytes(item[0]), "value": _bytes(item[1]), "timestamp": int(timestamp_ms)}
        if len(item) > 2 and item[2]:
            h = item[2]
            kw["headers"] = [(n, _bytes(v)) for n, v in (h.items() if isinstance(h, dict) else h)]
        if len(item) > 3 and item[3] is not None:
            kw["partition"] = item[3]

        def cb(err, msg, i=i):
            if err is not None:
                errors.append((i, err))
            else:
                results[i] = (msg.partition(), msg.offset())
        while True:
            try:
                p.produce(topic, on_delivery=cb, **kw)
                break
            except BufferError:
                p.poll(0.1)
    left = p.flush(timeout)
    if left or errors:
        raise RuntimeError("produce to %s: %d undelivered, errors %s" % (topic, left, errors[:5]))
    return results


__all__.append("produce_stamped")


# --- inv-stock in the hostile-input tests ------------------------------------------------

def start_keeper(env, state_dir, port):
    """inv-stock on the local broker with --state-dir state_dir, serving
    --http on 127.0.0.1:port."""
    return start([bin("inv-stock"), "-b", bootstrap(), "--state-dir", state_dir, "--http", "127.0.0.1:%d" % port],
                 env)


def start_keeper_free_port(env, state_dir, procs):
    """start_keeper() on a free port; the Proc is appended to procs (for
    cleanup()). Returns (proc, port)."""
    port = free_port()
    k = start_keeper(env, state_dir, port)
    procs.append(k)
    return k, port


def wait_keeper_ready(k, port, what, http_timeout=5):
    """Wait (60 s) until inv-stock k answers /healthz on port with 200 or
    exits; asserts that it is still running (its stderr as the message)."""
    wait_until(lambda: http_get(port, "/healthz", timeout=http_timeout)[0] == 200 or not k.alive(), timeout=60,
               what=what)
    assert k.alive(), k.stderr_text()[-3000:]


def restore_keeper(env, state_dir, procs):
    """The partition restores: state_dir wiped, a new inv-stock started there
    on a free port (appended to procs) and ready. Returns (proc, port)."""
    import shutil
    shutil.rmtree(state_dir)
    k, port = start_keeper_free_port(env, state_dir, procs)
    wait_keeper_ready(k, port, "inv-stock restored and ready")
    return k, port


def stock_on_hand(port, sku, timeout=5):
    """The SKU's network on_hand from inv-stock's GET /stock/<sku> on port;
    None unless it answers 200."""
    status, body = http_get(port, "/stock/" + sku, timeout=timeout)
    return json.loads(body)["network"]["on_hand"] if status == 200 else None


def cleanup(procs, work):
    """For a test's finally: SIGKILL every Proc of procs still running (None
    entries are passed over), then remove the directory work."""
    import shutil
    for p in procs:
        if p is not None and p.alive():
            p.kill()
    shutil.rmtree(work, ignore_errors=True)


def finish(message):
    """A test's end: exit 1 when a check() failed, else print message."""
    if failures:
        raise SystemExit(1)
    print(message)


__all__ += ["start_keeper", "start_keeper_free_port", "wait_keeper_ready", "restore_keeper", "stock_on_hand",
            "cleanup", "finish"]
