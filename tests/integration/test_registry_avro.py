"""inv-sale and inv-stock through the real schema registry (fixture "registry":
Apicurio from deploy/local/registry.sh), checked with Confluent's own client
(confluent_kafka.schema_registry: AvroSerializer, AvroDeserializer):

  1. 50 SaleEvents written by AvroSerializer with a writer schema that is ours
     with the fields in reverse order plus an added optional field (registered
     by the serializer under <sales>-value) become their 50 movements, none
     dead-lettered;
  2. with output.format=avro, inv-sale registers StockMovement under
     <movements>-value and writes that id: AvroDeserializer, which fetches the
     writer schema by the id in each record, reads every movement back;
  3. a SaleEvent whose writer schema has lines[].quantity as a string goes to
     the DLQ with the reason naming the field and the writer id;
  4. inv-stock, with the registry, decodes those movements and registers
     StockLevel under <stock>-value; AvroDeserializer reads its changelog, the
     stock is right, and /metrics counts the registry lookups;
  5. with the registry stopped, SaleEvents under a writer schema inv-sale has
     not met yet are held: nothing goes to the movements or the DLQ, and
     inv-sale keeps running; inv-stock, meeting movements under a writer
     schema it has not met yet, holds them and its /healthz says why; once the
     registry is back everything is processed. The registry is started again
     whatever happens;
  6. a registry behind TLS (a test CA) and HTTP basic auth (a proxy in this
     test in front of Apicurio demands both): inv-sale with
     schema.registry.ssl.ca.location and schema.registry.basic.auth.user.info
     reads the inputs through it; with a wrong password it holds them (401 is
     not the record's fault) and dead-letters nothing;
  7. a subject whose versions our schema is not compatible with: inv-sale
     stops at start-up, exit 1, naming the subject and quoting the registry.
"""
import base64
import http.server
import ssl
import threading
import urllib.error
import urllib.request
import json
import os
import subprocess
import time
from datetime import datetime, timezone

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

import invtest
from invtest import ROOT, bin, bootstrap, check, consume_all, finish, http_get, run, start, topic_env, topic_names, \
    wait_until

PORT = int(os.environ.get("REGISTRY_PORT", "8081"))
URL = "http://127.0.0.1:%d/apis/ccompat/v7" % PORT
SCRIPT = os.path.join(ROOT, "deploy", "local", "registry.sh")
N = 50
OCCURRED = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)

with open(os.path.join(ROOT, "schemas", "SaleEvent.avsc")) as f:
    OURS = json.load(f)


def writer_schema(extra_fields=(), quantity_type="long", reverse=True):
    """Our SaleEvent as another producer may have evolved it."""
    s = json.loads(json.dumps(OURS))
    for f in s["fields"]:
        if f["name"] == "lines":
            for lf in f["type"]["items"]["fields"]:
                if lf["name"] == "quantity":
                    lf["type"] = quantity_type
    if reverse:
        s["fields"].reverse()
    s["fields"] += list(extra_fields)
    return json.dumps(s)


def sale(event_id, sku, qty, **extra):
    d = {"event_id": event_id, "source": "pos-registry", "location_id": "store-1", "channel": "store",
         "occurred_at": OCCURRED, "lines": [{"sku": sku, "quantity": qty}]}
    d.update(extra)
    return d


def registry(cmd):
    r = subprocess.run([SCRIPT, cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    check(r.returncode == 0, "registry.sh %s: exit %d\n%s" % (cmd, r.returncode, r.stderr[-2000:]))


def group_done(group, topic, partitions=1):
    """The group's committed offsets reach the end of topic (its outputs are committed with them)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": group, "enable.auto.commit": False})
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        committed = c.committed(tps, timeout=10)
        for tp in committed:
            lo, hi = c.get_watermark_offsets(tp, timeout=10)
            if tp.offset < hi:
                return False
        return True
    finally:
        c.close()


def stock_on_hand_of(port, sku):
    status, body = http_get(port, "/stock/" + sku)
    if status != 200:
        return None
    for row in json.loads(body)["locations"]:
        if row["location_id"] == "store-1":
            return row["on_hand"]
    return None


USER, PASSWORD = "inv", "s3cret"


class Proxy(http.server.ThreadingHTTPServer):
    """HTTPS in front of the registry, demanding basic auth; counts requests."""

    def __init__(self, addr, certfile, keyfile):
        super().__init__(addr, ProxyHandler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        self.socket = ctx.wrap_socket(self.socket, server_side=True)
        self.authorized = self.refused = 0


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _forward(self, method):
        want = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
        if self.headers.get("Authorization") != want:
            self.server.refused += 1
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="registry"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.authorized += 1
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (PORT, self.path), data=body, method=method,
                                     headers={"Content-Type": self.headers.get("Content-Type") or
                                              "application/vnd.schemaregistry.v1+json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, data, ctype = r.status, r.read(), r.headers.get("Content-Type")
        except urllib.error.HTTPError as e:
            status, data, ctype = e.code, e.read(), e.headers.get("Content-Type")
        self.send_response(status)
        self.send_header("Content-Type", ctype or "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._forward("GET")

    def do_POST(self):
        self._forward("POST")


def make_cert(d):
    def sh(*args):
        subprocess.run(args, cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
       "-subj", "/CN=inventory-events registry test CA", "-addext", "basicConstraints=critical,CA:TRUE",
       "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
       "-subj", "/CN=127.0.0.1")
    sh("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
       "-out", "server.pem", "-days", "2", "-extfile", "server.ext")


def tls_and_auth(env, sales, n_inputs):
    """inv-sale through the TLS + basic auth proxy: a wrong password holds, the right one reads."""
    d = os.path.join(invtest.log_dir(), invtest.unique("registry-tls"))
    os.makedirs(d)
    make_cert(d)
    proxy = Proxy(("127.0.0.1", 0), os.path.join(d, "server.pem"), os.path.join(d, "server.key"))
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    url = "https://127.0.0.1:%d/apis/ccompat/v7" % proxy.server_address[1]
    out = topic_env("registry-tls")
    r = run([bin("invctl"), "-b", bootstrap(), "topics", "create", "--partitions", "1"], env=out)
    check(r.returncode == 0, "invctl topics create: %s" % r.stderr)
    out["INV_TOPIC_SALES"] = sales  # read the same inputs, write elsewhere
    base = [bin("inv-sale"), "-b", bootstrap(), "-X", "schema.registry.url=" + url,
            "-X", "schema.registry.ssl.ca.location=" + os.path.join(d, "ca.pem")]
    try:
        wrong = start(base + ["-X", "schema.registry.basic.auth.user.info=%s:wrong" % USER,
                              "-X", "group.id=" + invtest.unique("g-sale-wrong")], out)
        wait_until(lambda: proxy.refused > 0 or not wrong.alive(), 30, "inv-sale asking with the wrong password")
        t = time.monotonic()
        while time.monotonic() - t < 5:
            time.sleep(0.5)  # the wrong password's time: nothing may come out of it
        check(wrong.alive(), "inv-sale exited with the wrong password")
        check(len(consume_all(out["INV_TOPIC_MOVEMENTS"], timeout=5)) == 0, "movements with the wrong password")
        check(len(consume_all(out["INV_TOPIC_DLQ"], timeout=5)) == 0, "dead letters with the wrong password")
        check(wrong.stop(timeout=60) == 0, "inv-sale with the wrong password did not exit 0 on SIGTERM")
        print("ok   registry behind TLS + basic auth, wrong password: %d request(s) refused (401), inputs held, "
              "nothing dead-lettered" % proxy.refused)
        group = invtest.unique("g-sale-tls")
        right = start(base + ["-X", "schema.registry.basic.auth.user.info=%s:%s" % (USER, PASSWORD),
                              "-X", "group.id=" + group], out)
        wait_until(lambda: group_done(group, sales), 90, "inv-sale through the TLS registry")
        got = len(consume_all(out["INV_TOPIC_MOVEMENTS"], timeout=5))
        check(got == n_inputs - 1, "%d movements through the TLS registry, want %d" % (got, n_inputs - 1))
        check(proxy.authorized > 0, "no authorized request reached the proxy")
        check(right.stop(timeout=60) == 0, "inv-sale (TLS) did not exit 0 on SIGTERM")
        print("ok   registry behind TLS + basic auth: %d movements, %d authorized request(s)" % (got, proxy.authorized))
    finally:
        proxy.shutdown()
        invtest.delete_topics([t for t in topic_names(out) if t != sales])


def refused(env):
    """Our StockMovement is not BACKWARD compatible with what the subject holds: inv-sale stops at start-up."""
    topic = invtest.unique("registry-refused") + ".movements"
    subject = topic + "-value"
    client = SchemaRegistryClient({"url": URL})
    from confluent_kafka.schema_registry import Schema
    client.register_schema(subject, Schema(json.dumps({"type": "record", "name": "StockMovement",
                                                       "namespace": "com.inventory.events",
                                                       "fields": [{"name": "x", "type": "long"}]}), "AVRO"))
    req = urllib.request.Request("%s/config/%s" % (URL, subject), method="PUT",
                                 data=json.dumps({"compatibility": "BACKWARD"}).encode(),
                                 headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
    urllib.request.urlopen(req, timeout=10).read()
    r = run([bin("inv-sale"), "-b", bootstrap(), "-X", "schema.registry.url=" + URL, "-X", "output.format=avro",
             "-X", "topic.movements=" + topic, "-X", "group.id=" + invtest.unique("g-refused")], env, timeout=60)
    err = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
    check(r.returncode == 1, "inv-sale against an incompatible subject: exit %d, want 1" % r.returncode)
    check("schema registry refused StockMovement for subject %s" % subject in err, "stderr: %r" % err)
    print("ok   incompatible subject: exit %d, %s" % (r.returncode, err[:300]))


def main():
    env = topic_env("registry-avro")
    r = run([bin("invctl"), "-b", bootstrap(), "topics", "create", "--partitions", "1"], env=env)
    check(r.returncode == 0, "invctl topics create: %s" % r.stderr)
    sales, movements, dlq, stock = (env["INV_TOPIC_" + k] for k in ("SALES", "MOVEMENTS", "DLQ", "STOCK"))
    client = SchemaRegistryClient({"url": URL})
    ctx = SerializationContext(sales, MessageField.VALUE)
    ser_conf = {"auto.register.schemas": True}
    evolved = AvroSerializer(client, writer_schema([{"name": "register_id", "type": ["null", "string"],
                                                      "default": None}]), conf=ser_conf)
    bad = AvroSerializer(client, writer_schema(quantity_type="string"), conf=ser_conf)
    later = AvroSerializer(client, writer_schema([{"name": "till", "type": "int", "default": 0}], reverse=False),
                           conf=ser_conf)
    p = Producer({"bootstrap.servers": bootstrap(), "linger.ms": 5})
    for i in range(N):
        p.produce(sales, key=b"k%d" % i, value=evolved(sale("e-%03d" % i, "sku-%d" % (i % 5), 1 + i % 3,
                                                            register_id="r%d" % i), ctx))
    p.produce(sales, key=b"bad", value=bad(sale("e-bad", "sku-0", "2"), ctx))
    check(p.flush(30) == 0, "inputs not delivered")
    later_values = [later(sale("l-%03d" % i, "sku-9", 1, till=i), ctx) for i in range(10)]  # registers now
    bad_id = int.from_bytes(bad(sale("x", "s", "1"), ctx)[1:5], "big")

    common = ["-b", bootstrap(), "-X", "schema.registry.url=" + URL, "-X", "output.format=avro"]
    procs = []
    port = invtest.free_port()
    try:
        sale_group = "g-sale-" + invtest.unique("reg")
        procs.append(start([bin("inv-sale")] + common + ["-X", "group.id=" + sale_group], env))
        wait_until(lambda: group_done(sale_group, sales), 60, "inv-sale through the %d inputs" % (N + 1))

        # 1 and 2: every event's movement, read back by Confluent's deserializer
        de = AvroDeserializer(client)
        got = consume_all(movements)
        moves = [de(m[1], SerializationContext(movements, MessageField.VALUE)) for m in got]
        ids = sorted(m["movement_id"] for m in moves)
        check(ids == sorted("sale:e-%03d:0" % i for i in range(N)),
              "movements: %d, first %s" % (len(ids), ids[:3]))
        check(all(m["type"] == "sale" and abs(m["quantity"]) == 1 + int(m["movement_id"][7:10]) % 3 for m in moves),
              "movement types and quantities: %s" % moves[:2])
        subject = client.get_latest_version(movements + "-value")
        check(all(int.from_bytes(m[1][1:5], "big") == subject.schema_id for m in got),
              "movements not written under the id registered for %s-value (%d)" % (movements, subject.schema_id))
        print("ok   %d SaleEvents from AvroSerializer (fields reversed, one added) -> %d movements, written "
              "under schema id %d of %s-value" % (N, len(moves), subject.schema_id, movements))

        # 3: the unresolvable writer schema, named
        dl = consume_all(dlq)
        assert len(dl) == 1, "DLQ: %d records" % len(dl)
        reason = dict(dl[0][2])["inv.error"].decode()
        want = "SaleEvent: writer schema %d field lines[].quantity is string, reader wants long" % bad_id
        check(reason == want, "DLQ reason %r, want %r" % (reason, want))
        print("ok   DLQ: %s" % reason)

        # 4: inv-stock through the registry
        state = os.path.join(invtest.log_dir(), invtest.unique("registry-stock"))
        keeper = start([bin("inv-stock")] + common + ["--state-dir", state, "--http", "127.0.0.1:%d" % port,
                                                        "-X", "group.id=g-stock-" + invtest.unique("reg")], env)
        procs.append(keeper)
        wait_until(lambda: http_get(port, "/healthz")[0] == 200, 90, "inv-stock ready")
        levels = {}

        def changelog():
            for m in consume_all(stock, timeout=5):
                v = de(m[1], SerializationContext(stock, MessageField.VALUE))
                levels[(v["sku"], v["location_id"])] = v["on_hand"]
            return len([k for k in levels if k[1] == "store-1"]) == 5
        wait_until(changelog, 60, "StockLevels of the five SKUs")
        for s in range(5):
            want_oh = -sum(1 + i % 3 for i in range(N) if i % 5 == s)
            check(levels[("sku-%d" % s, "store-1")] == want_oh,
                  "sku-%d on_hand %s, want %d" % (s, levels[("sku-%d" % s, "store-1")], want_oh))
        check(client.get_latest_version(stock + "-value").schema_id > 0, "StockLevel not registered")
        status, body = http_get(port, "/metrics")
        text = body.decode()
        check('inv_schema_registry_lookups_total{from="registry"}' in text, "no registry series on /metrics")
        print("ok   inv-stock read the movements by their registry id and wrote StockLevel under %s-value" % stock)

        # 5: the registry away: held, not dead-lettered
        mctx = SerializationContext(movements, MessageField.VALUE)
        with open(os.path.join(ROOT, "schemas", "StockMovement.avsc")) as f:
            mschema = json.load(f)
        mschema["fields"].append({"name": "note", "type": ["null", "string"], "default": None})
        mser = AvroSerializer(client, json.dumps(mschema), conf=ser_conf)
        held_movement = mser({"movement_id": "receipt:GR-held:0", "sku": "sku-0", "location_id": "store-1",
                              "channel": None, "type": "receipt", "quantity": 7, "occurred_at": OCCURRED,
                              "source": "test", "note": "an evolved writer"}, mctx)  # registers now
        registry("stop")
        try:
            for i, v in enumerate(later_values):
                p.produce(sales, key=b"l%d" % i, value=v)
            p.produce(movements, key=b"sku-0", value=held_movement)
            check(p.flush(30) == 0, "held inputs not delivered")
            t = time.monotonic()
            said = None
            while time.monotonic() - t < 8:
                check(all(pr.alive() for pr in procs), "a program exited while the registry was away")
                status, body = http_get(port, "/healthz")
                if status == 503 and b"schema registry unavailable" in body:
                    said = body.decode()
                time.sleep(0.5)  # the outage's length, not a wait for a condition
            check(len(consume_all(movements, timeout=5)) == N + 1, "movements written while the registry was away")
            check(len(consume_all(dlq, timeout=5)) == 1, "dead letters while the registry was away")
            check(said is not None, "inv-stock's /healthz never said the registry was unavailable")
            print("ok   registry stopped: 10 inputs and a movement under unseen writer schemas held 8 s, nothing "
                  "dead-lettered; inv-stock /healthz: %s" % (said or "").strip()[:200])
        finally:
            registry("start")
        last = {}

        def held_done():
            last["n"] = len(consume_all(movements, timeout=5))
            return last["n"] >= N + 10
        try:
            wait_until(held_done, 90, "the held inputs processed")
        except TimeoutError:
            raise AssertionError("%d movements 90 s after the registry came back, want %d" % (last.get("n"), N + 11))
        check(last["n"] == N + 11, "%d movements, want %d (with the one written directly)" % (last["n"], N + 11))
        wait_until(lambda: stock_on_hand_of(port, "sku-0") == -sum(1 + i % 3 for i in range(N) if i % 5 == 0) + 7,
                   60, "inv-stock applying the held movement")
        check(len(consume_all(dlq, timeout=5)) == 1, "dead letters after the registry came back")
        print("ok   registry back: the 10 held inputs became their movements")
        for pr in procs:
            check(pr.stop(timeout=60) == 0, "%s did not exit 0 on SIGTERM" % pr.args[0])
        procs.clear()

        tls_and_auth(env, sales, N + 11)
        refused(env)
    finally:
        for pr in procs:
            if pr.alive():
                pr.kill()
        subprocess.run([SCRIPT, "start"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        if not os.environ.get("INV_TEST_KEEP_TOPICS"):
            invtest.delete_topics(topic_names(env))
        else:
            print("kept topics %s" % topic_names(env))
    finish("PASS")


if __name__ == "__main__":
    main()
