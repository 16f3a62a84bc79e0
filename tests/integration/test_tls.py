"""TLS and SASL against a real broker, and secrets kept out of logs and /metrics
(issue 6, "Security basics").

The test makes its own PKI with openssl (a CA, a broker certificate for
127.0.0.1/localhost in the subjectAltName, a client certificate whose key is
encrypted with a password, and a second, unrelated CA) and starts its OWN
single-node KRaft broker from the jars broker.sh cached in deploy/local/.kafka
(other ports, its own data dir; the shared broker on 9092 is never touched) with
  * an SSL listener requiring client certificates (mutual TLS), keystore PKCS12,
    truststore PEM, and
  * a SASL_SSL listener with SASL/PLAIN (user alice).
Then, with every program at -X log.level=debug and librdkafka debugging on:
  * `invctl topics create` over mutual TLS (-X kafka.security.protocol=ssl,
    kafka.ssl.ca.location, certificate, encrypted key + kafka.ssl.key.password)
    creates the topics;
  * a SaleEvent produced with confluent-kafka over TLS goes through `inv-sale`
    over mutual TLS and is read back from inventory.movements over TLS;
  * `inv-stock` over SASL_SSL (password given as INV_KAFKA_SASL_PASSWORD in the
    environment) applies it: /stock/<sku> shows it, /healthz turns ready, and
    /metrics (which must not contain a secret) carries every inv_stock_* series the
    Grafana dashboard queries; its fresh --state-dir is created 0700 and every file in
    it 0600 even under umask 022;
  * `invctl policy set` over SASL_SSL (password as -X) publishes a policy;
  * the wrong CA fails `invctl topics create` with exit 1 and a clear
    "certificate verify failed" within 30 s; a wrong SASL password fails with an
    authentication error, and that wrong password is not printed either;
  * a misspelled secret property is reported by name without its value;
  * no secret (key password, SASL passwords, keystore password) appears in any
    program's stderr or stdout.
"""
import base64
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

from invtest import ROOT, TOPIC_KEYS, bin, check, consume_all, failures, produce, run, start, wait_until

RUN_ID = uuid.uuid4().hex[:10]
CONTRACT_TOPICS = len(TOPIC_KEYS) + 2  # `invctl topics create`: every topic key, inv-stock's dedup and state logs
KEY_PASSWORD = "SECRET123-key-" + RUN_ID           # the client key's pass phrase
SASL_PASSWORD = "SECRET456-sasl-" + RUN_ID         # alice's SASL/PLAIN password
WRONG_SASL_PASSWORD = "SECRET789-wrong-" + RUN_ID
STORE_PASSWORD = "SECRET000-store-" + RUN_ID       # the broker's keystore (never given to our programs)
SECRETS = (KEY_PASSWORD, SASL_PASSWORD, WRONG_SASL_PASSWORD, STORE_PASSWORD)
DEBUG = ["-X", "log.level=debug", "-X", "kafka.debug=security,broker,conf,protocol,generic"]


def sh(args, cwd):
    r = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(args), r.returncode, r.stdout))


def need_tool(name, package):
    path = shutil.which(name)
    if not path:
        print("FAIL: %s not found: apt-get install %s" % (name, package))
        sys.exit(1)
    return path


# --- PKI ------------------------------------------------------------------------------

def make_pki(d):
    """ca.pem, other-ca.pem, broker.p12 (127.0.0.1 + localhost), client.pem + client.key (encrypted)."""
    openssl = need_tool("openssl", "openssl")
    for ca in ("ca", "other-ca"):
        sh([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca + ".key", "-out", ca + ".pem",
            "-days", "2", "-subj", "/CN=inventory-events test %s %s" % (ca, RUN_ID),
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    with open(os.path.join(d, "broker.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n")
    with open(os.path.join(d, "client.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
    sh([openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out", "broker.csr",
        "-subj", "/CN=localhost"], d)
    sh([openssl, "x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "broker.pem", "-days", "2", "-extfile", "broker.ext"], d)
    sh([openssl, "pkcs12", "-export", "-in", "broker.pem", "-inkey", "broker.key", "-certfile", "ca.pem",
        "-name", "broker", "-out", "broker.p12", "-passout", "pass:" + STORE_PASSWORD], d)
    sh([openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes-256-cbc",
        "-pass", "pass:" + KEY_PASSWORD, "-out", "client.key"], d)
    sh([openssl, "req", "-new", "-key", "client.key", "-passin", "pass:" + KEY_PASSWORD, "-out", "client.csr",
        "-subj", "/CN=inventory-events-client"], d)
    sh([openssl, "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "client.pem", "-days", "2", "-extfile", "client.ext"], d)
    with open(os.path.join(d, "client.key")) as f:
        check("ENCRYPTED" in f.read(), "client.key is not encrypted")


# --- our own broker ------------------------------------------------------------------------

def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def kafka_lib():
    with open(os.path.join(ROOT, "deploy", "local", "kafka-common.sh")) as f:
        version = re.search(r"^KAFKA_VERSION=(\S+)", f.read(), re.M).group(1)
    lib = os.path.join(ROOT, "deploy", "local", ".kafka", "lib-" + version)
    if not os.path.isfile(os.path.join(lib, ".complete")):
        print("FAIL: Kafka jars not cached in %s: run deploy/local/broker.sh start once" % lib)
        sys.exit(1)
    return lib


def find_java():
    if os.environ.get("INV_JAVA"):
        return os.environ["INV_JAVA"]
    for j in ["/usr/lib/jvm/java-17-openjdk-amd64/bin/java"] + sorted(
            p for p in (os.path.join("/usr/lib/jvm", d, "bin", "java") for d in
                        (os.listdir("/usr/lib/jvm") if os.path.isdir("/usr/lib/jvm") else []))
            if "java-17" in p):
        if os.access(j, os.X_OK):
            return j
    return need_tool("java", "openjdk-17-jre-headless")


class TlsBroker:
    def __init__(self, d):
        self.dir = d
        self.internal, self.ssl, self.sasl, self.controller = free_ports(4)
        self.proc = None

    def start(self):
        d = self.dir
        data = os.path.join(d, "data")
        props = os.path.join(d, "server.properties")
        jaas = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
                'username="admin" password="%s" user_admin="%s" user_alice="%s";'
                % (STORE_PASSWORD, STORE_PASSWORD, SASL_PASSWORD))
        with open(props, "w") as f:
            f.write("""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{c}
listeners=INTERNAL://127.0.0.1:{i},SSL://127.0.0.1:{s},SASL_SSL://127.0.0.1:{a},CONTROLLER://127.0.0.1:{c}
advertised.listeners=INTERNAL://127.0.0.1:{i},SSL://127.0.0.1:{s},SASL_SSL://127.0.0.1:{a}
listener.security.protocol.map=INTERNAL:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=INTERNAL
controller.listener.names=CONTROLLER
log.dirs={data}
ssl.keystore.type=PKCS12
ssl.keystore.location={d}/broker.p12
ssl.keystore.password={pw}
ssl.key.password={pw}
ssl.truststore.type=PEM
ssl.truststore.location={d}/ca.pem
listener.name.ssl.ssl.client.auth=required
listener.name.sasl_ssl.ssl.client.auth=none
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config={jaas}
offsets.topic.replication.factor=1
offsets.topic.num.partitions=2
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=2
default.replication.factor=1
min.insync.replicas=1
num.partitions=1
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
log.cleaner.threads=1
""".format(c=self.controller, i=self.internal, s=self.ssl, a=self.sasl, data=data, d=d, pw=STORE_PASSWORD,
           jaas=jaas))
        with open(os.path.join(d, "log4j.properties"), "w") as f:
            f.write("log4j.rootLogger=INFO, file\nlog4j.appender.file=org.apache.log4j.FileAppender\n"
                    "log4j.appender.file.File=%s/server.log\nlog4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
                    "log4j.appender.file.layout.ConversionPattern=[%%d] %%p %%m (%%c)%%n\n" % d)
        java = [find_java(), "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
                "-Dlog4j.configuration=file:%s/log4j.properties" % d, "-cp", kafka_lib() + "/*"]
        while True:  # Kafka's Uuid: 16 random bytes, url-safe base64; not starting with '-'
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            if not cluster_id.startswith("-"):
                break
        sh(java + ["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", props], d)
        self.stdout = open(os.path.join(d, "stdout.log"), "wb")
        self.proc = subprocess.Popen(java + ["kafka.Kafka", props], cwd=d, stdin=subprocess.DEVNULL,
                                     stdout=self.stdout, stderr=subprocess.STDOUT, start_new_session=True)

        def alive():
            if self.proc.poll() is not None:
                raise RuntimeError("TLS broker exited (%s); see %s/server.log:\n%s"
                                   % (self.proc.returncode, d, tail(os.path.join(d, "stdout.log"))))
            return True

        def port_open():
            alive()
            with socket.socket() as s:
                s.settimeout(1)
                return s.connect_ex(("127.0.0.1", self.ssl)) == 0
        wait_until(port_open, 120, "the TLS broker's SSL port", interval=0.25)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("TLS broker exited (%s); see %s/server.log:\n%s"
                                   % (self.proc.returncode, d, tail(os.path.join(d, "stdout.log"))))
            try:
                from confluent_kafka.admin import AdminClient
                md = AdminClient(self.client_conf("ssl")).list_topics(timeout=2)
                return len(md.brokers) == 1
            except Exception:
                return False
        wait_until(up, 120, "the TLS broker to answer over SSL", interval=0.5)

    def client_conf(self, kind, password=SASL_PASSWORD):
        """confluent-kafka settings for our SSL (mutual TLS) or SASL_SSL listener."""
        d = self.dir
        if kind == "ssl":
            return {"bootstrap.servers": "127.0.0.1:%d" % self.ssl, "security.protocol": "ssl",
                    "ssl.ca.location": d + "/ca.pem", "ssl.certificate.location": d + "/client.pem",
                    "ssl.key.location": d + "/client.key", "ssl.key.password": KEY_PASSWORD}
        return {"bootstrap.servers": "127.0.0.1:%d" % self.sasl, "security.protocol": "sasl_ssl",
                "ssl.ca.location": d + "/ca.pem", "sasl.mechanism": "PLAIN", "sasl.username": "alice",
                "sasl.password": password}

    def flags(self, kind, ca="ca.pem", password=SASL_PASSWORD):
        """Our programs' flags for the same: -b and -X kafka.<prop>=... (no secret for kind sasl_env)."""
        out = []
        conf = self.client_conf("ssl" if kind == "ssl" else "sasl_ssl", password)
        conf["ssl.ca.location"] = os.path.join(self.dir, ca)
        for k, v in conf.items():
            if k == "bootstrap.servers":
                out += ["-b", v]
            elif not (kind == "sasl_env" and k == "sasl.password"):
                out += ["-X", "kafka.%s=%s" % (k, v)]
        return out

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc:
            self.stdout.close()


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


# --- checks ----------------------------------------------------------------------------------

outputs = []  # (what, text) of every program run, scanned for secrets at the end


def record(what, result_or_proc):
    if hasattr(result_or_proc, "stderr_text"):
        outputs.append((what + " stderr", result_or_proc.stderr_text()))
        outputs.append((what + " stdout", result_or_proc.stdout_text()))
    else:
        outputs.append((what + " stderr", result_or_proc.stderr))
        outputs.append((what + " stdout", result_or_proc.stdout or ""))


def http_get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def dashboard_metrics():
    """Every metric name in the Grafana dashboard's queries (as exposed: _bucket etc. included)."""
    with open(os.path.join(ROOT, "deploy", "grafana", "inventory-events.json")) as f:
        dash = json.load(f)
    exprs = []

    def walk(panels):
        for p in panels:
            exprs.extend(t.get("expr", "") for t in p.get("targets", []))
            walk(p.get("panels", []))
    walk(dash["panels"])
    names = set(re.findall(r"\b(inv_[a-z0-9_]+)", " ".join(exprs)))
    assert len(names) >= 15, "dashboard queries not found"
    return names


def test_topics_over_mtls(b):
    r = run([bin("invctl")] + b.flags("ssl") + DEBUG + ["topics", "create", "--partitions", "2"], timeout=90)
    record("invctl topics create (mTLS, debug)", r)
    check(r.returncode == 0, "invctl topics create over TLS: exit %d:\n%s" % (r.returncode, r.stderr[-3000:]))
    created = [l for l in r.stdout.splitlines() if l.startswith("created")]
    check(len(created) == CONTRACT_TOPICS, "invctl topics create over TLS created %d topics:\n%s" % (len(created), r.stdout))
    # once more at the default log level: all exist
    r = run([bin("invctl")] + b.flags("ssl") + ["topics", "create", "--partitions", "2"], timeout=90)
    record("invctl topics create (mTLS, info)", r)
    check(r.returncode == 0 and r.stdout.count("exists") == CONTRACT_TOPICS, "second topics create: %d\n%s%s"
          % (r.returncode, r.stdout, r.stderr[-2000:]))


def test_wrong_ca(b):
    t0 = time.monotonic()
    r = run([bin("invctl")] + b.flags("ssl", ca="other-ca.pem") + ["topics", "create"], timeout=90)
    took = time.monotonic() - t0
    record("invctl topics create (wrong CA)", r)
    check(r.returncode == 1, "wrong CA: invctl exit %d, want 1" % r.returncode)
    check("certificate verify failed" in r.stderr,
          "wrong CA: stderr does not say 'certificate verify failed':\n%s" % r.stderr[-2000:])
    check(took < 30, "wrong CA: invctl took %.0fs to fail" % took)
    print("wrong CA: exit %d after %.1fs: %s" % (r.returncode, took,
          next((l for l in r.stderr.splitlines() if "certificate verify failed" in l), "?")[:300]))


def test_wrong_sasl_password(b):
    r = run([bin("invctl")] + b.flags("sasl_ssl", password=WRONG_SASL_PASSWORD) + DEBUG + ["topics", "create"],
            timeout=90)
    record("invctl topics create (wrong SASL password, debug)", r)
    check(r.returncode == 1, "wrong SASL password: invctl exit %d, want 1" % r.returncode)
    check(re.search(r"authentication", r.stderr, re.I),
          "wrong SASL password: no authentication error in stderr:\n%s" % r.stderr[-2000:])


def test_sale_over_mtls(b):
    sale = {"event_id": "T-TLS-" + RUN_ID, "source": "pos-store-7", "location_id": "store-7", "channel": "store",
            "occurred_at": "2026-11-22T10:00:00Z", "lines": [{"sku": "SKU-TLS-1", "quantity": 2}]}
    produce("pos.sales", [("store-7", sale)], config=b.client_conf("ssl"))
    p = start([bin("inv-sale")] + b.flags("ssl") + DEBUG)
    try:
        rows = wait_until(lambda: consume_all("inventory.movements", timeout=20, config=b.client_conf("ssl")) or None,
                          90, "a movement on inventory.movements (read over TLS)", interval=1)
        mv = json.loads(rows[0][1])
        check(rows[0][0] == b"SKU-TLS-1" and mv.get("type") == "sale" and mv.get("quantity") == 2
              and mv.get("movement_id") == "sale:T-TLS-%s:0" % RUN_ID, "unexpected movement %r" % (rows[0],))
    finally:
        rc = p.stop(timeout=60)
        record("inv-sale (mTLS, debug)", p)
    check(rc == 0, "inv-sale exit %d after SIGTERM:\n%s" % (rc, p.stderr_text()[-3000:]))


def test_stock_over_sasl(b, state_parent):
    state = os.path.join(state_parent, "inv-stock-state")
    old_umask = os.umask(0o022)  # the program, not a tight umask, must make the modes
    try:
        p = start([bin("inv-stock")] + b.flags("sasl_env") + DEBUG +
                  ["--state-dir", state, "--http", "127.0.0.1:0"], env={"INV_KAFKA_SASL_PASSWORD": SASL_PASSWORD})
    finally:
        os.umask(old_umask)
    try:
        port = int(wait_until(lambda: re.search(r"http: serving .* on port (\d+)", p.stderr_text()) or
                              (not p.alive() and (_ for _ in ()).throw(RuntimeError("inv-stock exited:\n" +
                                                                                    p.stderr_text()[-3000:]))),
                              60, "inv-stock's http port").group(1))

        def applied():
            code, body = http_get(port, "/stock/SKU-TLS-1")
            if code != 200:
                return None
            doc = json.loads(body)
            return [l for l in doc.get("locations", []) if l["location_id"] == "store-7" and l["on_hand"] == -2]
        wait_until(applied, 120, "SKU-TLS-1 at store-7 with on_hand -2 on /stock", interval=0.5)
        wait_until(lambda: http_get(port, "/healthz")[0] == 200, 60, "/healthz ready", interval=0.5)
        code, metrics = http_get(port, "/metrics")
        check(code == 200, "/metrics: HTTP %d" % code)
        outputs.append(("inv-stock /metrics", metrics))
        exposed = set(re.findall(r"^([a-z_:][a-z0-9_:]*)", metrics, re.M))
        # inv-stock's own series (the dashboard queries the processors' and inv-view's too, and the
        # Kafka clients' appear with their first statistics; deploy_manifests_static checks them all)
        missing = sorted(m for m in dashboard_metrics() if m.startswith("inv_stock_") and m not in exposed)
        check(not missing, "inv-stock series the Grafana dashboard queries but /metrics does not show: %s" % missing)
        code, health = http_get(port, "/healthz")
        outputs.append(("inv-stock /healthz", health))

        # state dir 0700, every file 0600
        mode = stat.S_IMODE(os.stat(state).st_mode)
        check(mode == 0o700, "state dir %s has mode %o, want 700" % (state, mode))
        files = []
        for dirpath, dirnames, filenames in os.walk(state):
            for dn in dirnames:
                m = stat.S_IMODE(os.stat(os.path.join(dirpath, dn)).st_mode)
                check(m == 0o700, "state subdir %s has mode %o, want 700" % (dn, m))
            for fn in filenames:
                m = stat.S_IMODE(os.stat(os.path.join(dirpath, fn)).st_mode)
                files.append("%s %o" % (fn, m))
                check(m == 0o600, "state file %s has mode %o, want 600" % (fn, m))
        check(files, "no files in the state dir")
        print("state dir %o: %s" % (mode, ", ".join(files)))
    finally:
        rc = p.stop(timeout=60)
        record("inv-stock (SASL_SSL, debug)", p)
    check(rc == 0, "inv-stock exit %d after SIGTERM:\n%s" % (rc, p.stderr_text()[-3000:]))


def test_policy_over_sasl(b):
    r = run([bin("invctl")] + b.flags("sasl_ssl") + DEBUG +
            ["policy", "set", "SKU-TLS-1", "store-7", "--reorder-point", "5", "--reorder-quantity", "10",
             "--safety-stock", "1"], timeout=60)
    record("invctl policy set (SASL_SSL, debug)", r)
    check(r.returncode == 0, "invctl policy set over SASL_SSL: exit %d:\n%s" % (r.returncode, r.stderr[-3000:]))
    rows = consume_all("inventory.policies", timeout=30, config=b.client_conf("sasl_ssl"))
    check(any(k == b"SKU-TLS-1|store-7" for k, *_ in rows), "policy not on inventory.policies: %r" % rows)


def test_config_errors_hide_secrets():
    """A misspelled secret property is reported by name, never with its value."""
    for args, env in (([ "-X", "kafka.sasl.pasword=" + SASL_PASSWORD], {}),
                      ([], {"INV_KAFKA_SSL_KEY_PASWORD": KEY_PASSWORD})):
        r = run([bin("inv-sale"), "-b", "127.0.0.1:1"] + args, env=env, timeout=30)
        record("inv-sale (misspelled secret property)", r)
        check(r.returncode == 2 and "No such configuration property" in r.stderr,
              "misspelled property: exit %d: %s" % (r.returncode, r.stderr.strip()))


def test_no_secrets():
    total = 0
    for what, text in outputs:
        total += len(text)
        for s in SECRETS:
            if s in text:
                line = next(l for l in text.splitlines() if s in l)
                check(False, "%s contains a secret: %s" % (what, line[:400].replace(s, "<SECRET>")))
    # the runs did log at debug level, with librdkafka's configuration dump
    check(any("debug" in t and "CONF" in t for _, t in outputs), "no librdkafka debug configuration dump was logged")
    check(any("[redacted]" in t for _, t in outputs), "librdkafka's configuration dump shows no [redacted] value")
    print("secrets: none in %d outputs (%d KiB scanned)" % (len(outputs), total // 1024))


def main():
    for tool, pkg in (("openssl", "openssl"),):
        need_tool(tool, pkg)
    d = tempfile.mkdtemp(prefix="inv-tls-")
    b = TlsBroker(d)
    t0 = time.monotonic()
    try:
        make_pki(d)
        b.start()
        print("TLS broker up in %.1fs: ssl %d, sasl_ssl %d (dir %s)" % (time.monotonic() - t0, b.ssl, b.sasl, d))
        test_topics_over_mtls(b)
        test_wrong_ca(b)
        test_wrong_sasl_password(b)
        test_sale_over_mtls(b)
        test_stock_over_sasl(b, d)
        test_policy_over_sasl(b)
        test_config_errors_hide_secrets()
        test_no_secrets()
    finally:
        b.stop()
        if failures:
            print("kept %s for inspection (broker log: server.log)" % d)
        else:
            shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok: TLS, mutual TLS and SASL_SSL work; no secret in logs or /metrics; state 0700/0600 (%.0fs)"
          % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
