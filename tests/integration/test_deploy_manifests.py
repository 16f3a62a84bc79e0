"""Unit check (no broker): deploy/ validates with real validators, not by eye
(issue 6, "deploy/" and "Must show": the manifests pass the validator in the tests).

    test_deploy_manifests.py static    everything but the two below (ctest deploy_manifests_static)
    test_deploy_manifests.py systemd   systemd-analyze (deploy_manifests_systemd)
    test_deploy_manifests.py kubectl   kubectl kustomize (deploy_manifests_kubectl)

The systemd and kubectl parts exit 77 (ctest: skipped) when their tool is not
installed; the static part never skips.

systemd (deploy/systemd/):
  * static checks, always: a unit per program (inv-sale, inv-return, inv-restock,
    inv-reserve, inv-transfer, inv-stock, inv-view) plus the inventory-events-topics oneshot; each ExecStart names
    /usr/local/bin/<program>; Restart=on-failure; EnvironmentFile=
    /etc/inventory-events/<program>.env with an example in deploy/systemd/env/;
    KillSignal=SIGTERM with a TimeoutStopSec longer than the default
    transaction.timeout.ms; sandboxing (DynamicUser, NoNewPrivileges,
    ProtectSystem=strict); inv-stock with StateDirectory=inv-stock, mode 0700,
    ReadWritePaths and `--state-dir /var/lib/inv-stock --http 127.0.0.1:9464`; inv-view
    the same with /var/lib/inv-view and `--http 127.0.0.1:8080`;
    each processor with `--http 127.0.0.1:PORT` only, every program on its own port;
  * every INV_* name in the example env files (commented-out ones too) is a key
    that `invctl config reference` lists or INV_KAFKA_*, and the programs accept the files: each
    is loaded (comments included, uncommented) into `invctl config reference`,
    which validates every key and librdkafka property before it prints;
  * [systemd] `systemd-analyze verify` on the units in a scratch --root holding
    the built programs under /usr/local/bin (any diagnostic fails), and
    `systemd-analyze security --offline` with an exposure threshold of 2.0.
    Without systemd-analyze (Debian package `systemd`) this part is skipped
    with a SKIP line naming the package.

Kubernetes (deploy/k8s/):
  * every built-in object is validated with kubernetes-validate in strict mode
    (unknown fields are errors) against the schemas of Kubernetes 1.27 and the
    newest the package ships; the KEDA ScaledObjects against a JSON schema
    derived from the KEDA CRD's generated models in cloudcoil-models-keda
    (made strict the same way), plus a hand-written list of the kafka scaler's
    trigger metadata keys (trigger metadata is a free string map in the CRD);
  * semantics: a Deployment + ScaledObject per processor (kafka trigger on the
    program's consumer group and input topic, maxReplicaCount = the partition
    count the topics Job creates), a StatefulSet for inv-stock with a
    volumeClaimTemplate mounted above --state-dir; every program's pod with
    --http on the pod IP and its containerPort, readiness on /healthz, a
    liveness probe that cannot kill a restoring or stalled pod (no /healthz),
    Prometheus annotations matching --http; a headless Service, the topics Job,
    a Deployment of inv-view replicas (--state-dir on a mounted volume, --http on the pod
    IP, readiness on /healthz, TCP liveness, a Service selecting it),
    non-root / read-only root / no privilege escalation everywhere, and ConfigMap
    keys that are real INV_* names;
  * kustomization.yaml lists every manifest except the example Secret;
  * [kubectl] `kubectl kustomize` renders it offline and the rendered objects
    are validated too (skipped with a SKIP line when kubectl is not on PATH).
  Missing validator packages fail the test, naming the pip package.

Grafana (deploy/grafana/inventory-events.json): every metric in an expression is
one inv-stock or a processor serves on /metrics (histogram suffixes only on
histograms), every series they serve is on the dashboard, every `by (...)` label
is one they attach (or Prometheus' instance). The expositions come from
keeper_metrics_tool and processor_metrics_tool (tests/unit): the programs'
metrics and HTTP code, no broker (the processor's with its loop's Kafka series
rendered from a canned statistics document).
"""
import copy
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from invtest import ROOT, bin, check, conf_reference, failures, skip

PROGRAMS = ("inv-sale", "inv-return", "inv-restock", "inv-reserve", "inv-transfer", "inv-stock", "inv-view")
PROCESSORS = {"inv-sale": "topic.sales", "inv-return": "topic.returns", "inv-restock": "topic.restocks",
              "inv-reserve": "topic.reservations", "inv-transfer": "topic.transfers"}
K8S_VERSIONS = ("1.27.0", None)  # None: the newest schemas kubernetes-validate ships


def need(module, package):
    """Import a validator; a missing one is a failure that names the pip package."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as e:
        print("FAIL: %s is needed: pip install %s (tests/support/venv.sh) [%s]" % (module, package, e))
        sys.exit(1)


yaml = need("yaml", "PyYAML")


# --- the programs as the truth ----------------------------------------------------------

def conf_keys():
    """{name: default} of every key in `invctl config reference`."""
    return {name: default for name, _, default in conf_reference()}


def env_name(key):
    return "INV_" + key.replace(".", "_").upper()


def valid_env(name, keys, extra=()):
    return name in {env_name(k) for k in keys} or name in extra or re.fullmatch(r"INV_KAFKA_[A-Z0-9_]+", name)


# --- systemd -----------------------------------------------------------------------------

def parse_unit(path):
    """{section: [(key, value)]}: systemd allows repeated keys, so no configparser."""
    out, section = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
                out.setdefault(section, [])
                continue
            k, _, v = line.partition("=")
            out[section].append((k.strip(), v.strip()))
    return out


def values(unit, section, key):
    return [v for k, v in unit.get(section, []) if k == key]


def one(unit, section, key):
    v = values(unit, section, key)
    return v[-1] if v else None


def seconds(text):
    m = re.fullmatch(r"(\d+)\s*(s|sec|min|m)?", text or "")
    if not m:
        return None
    return int(m.group(1)) * (60 if m.group(2) in ("min", "m") else 1)


def check_systemd_static(keys):
    d = os.path.join(ROOT, "deploy", "systemd")
    txn_timeout = int(keys["transaction.timeout.ms"]) / 1000.0
    units = {}
    for prog in PROGRAMS:
        path = os.path.join(d, prog + ".service")
        if not check(os.path.isfile(path), "missing %s" % path):
            continue
        u = units[prog] = parse_unit(path)
        svc = "Service"
        exec_start = one(u, svc, "ExecStart") or ""
        argv = exec_start.split()
        check(argv and argv[0] == "/usr/local/bin/" + prog,
              "%s: ExecStart %r does not run /usr/local/bin/%s" % (prog, exec_start, prog))
        check(one(u, svc, "Restart") == "on-failure", "%s: Restart=on-failure missing" % prog)
        env_file = "/etc/inventory-events/%s.env" % prog
        check(env_file in values(u, svc, "EnvironmentFile"), "%s: EnvironmentFile=%s missing" % (prog, env_file))
        check(os.path.isfile(os.path.join(d, "env", prog + ".env")), "%s: no example deploy/systemd/env/%s.env"
              % (prog, prog))
        check(one(u, svc, "KillSignal") == "SIGTERM", "%s: KillSignal=SIGTERM missing" % prog)
        stop = seconds(one(u, svc, "TimeoutStopSec"))
        check(stop is not None and stop >= 2 * txn_timeout,
              "%s: TimeoutStopSec=%s must cover a transaction commit (>= 2 x transaction.timeout.ms = %gs)"
              % (prog, one(u, svc, "TimeoutStopSec"), 2 * txn_timeout))
        check(one(u, svc, "DynamicUser") == "yes" or one(u, svc, "User"), "%s: no DynamicUser=yes nor User=" % prog)
        check(one(u, svc, "NoNewPrivileges") == "yes", "%s: NoNewPrivileges=yes missing" % prog)
        check(one(u, svc, "ProtectSystem") == "strict", "%s: ProtectSystem=strict missing" % prog)
        check(one(u, svc, "RestartPreventExitStatus") == "2",
              "%s: exit 2 (bad configuration) should not be restarted" % prog)
        check(values(u, "Install", "WantedBy"), "%s: no [Install] WantedBy=" % prog)
    for prog, port in (("inv-stock", 9464), ("inv-view", 8080)):
        st = units.get(prog)
        if not st:
            continue
        argv = (one(st, "Service", "ExecStart") or "").split()
        check(argv[1:] == ["--state-dir", "/var/lib/" + prog, "--http", "127.0.0.1:%d" % port],
              "%s: ExecStart arguments %s" % (prog, argv[1:]))
        check(one(st, "Service", "StateDirectory") == prog, "%s: StateDirectory=%s missing" % (prog, prog))
        check(one(st, "Service", "StateDirectoryMode") == "0700", "%s: StateDirectoryMode=0700 missing" % prog)
        check("/var/lib/" + prog in " ".join(values(st, "Service", "ReadWritePaths")),
              "%s: ReadWritePaths=/var/lib/%s missing" % (prog, prog))
    http_ports = {p: str(port) for p, port in (("inv-stock", 9464), ("inv-view", 8080)) if p in units}
    for prog in PROCESSORS:
        if prog in units:
            argv = (one(units[prog], "Service", "ExecStart") or "").split()
            m = re.fullmatch(r"127\.0\.0\.1:(\d+)", argv[2]) if len(argv) == 3 and argv[1] == "--http" else None
            if check(m, "%s: ExecStart arguments %s are not `--http 127.0.0.1:PORT` (the rest of the "
                     "configuration is the env file)" % (prog, argv[1:])):
                check(m.group(1) not in http_ports.values(), "%s: --http port %s is %s's too"
                      % (prog, m.group(1), [p for p, v in http_ports.items() if v == m.group(1)]))
                http_ports[prog] = m.group(1)

    path = os.path.join(d, "inventory-events-topics.service")
    if check(os.path.isfile(path), "missing %s" % path):
        t = parse_unit(path)
        check(one(t, "Service", "Type") == "oneshot", "topics unit: Type=oneshot missing")
        argv = (one(t, "Service", "ExecStart") or "").split()
        check(argv[:3] == ["/usr/local/bin/invctl", "topics", "create"],
              "topics unit: ExecStart %s is not `/usr/local/bin/invctl topics create ...`" % argv)
        check("/etc/inventory-events/invctl.env" in values(t, "Service", "EnvironmentFile"),
              "topics unit: EnvironmentFile=/etc/inventory-events/invctl.env missing")
        for prog, u in units.items():
            check("inventory-events-topics.service" in " ".join(values(u, "Unit", "After")),
                  "%s: not ordered After=inventory-events-topics.service" % prog)
    check(os.path.isfile(os.path.join(d, "inventory-events.target")), "missing inventory-events.target")


def env_file_settings(path):
    """(name, value, commented) for every INV_*=... line of an env file."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            commented = s.startswith("#")
            m = re.fullmatch(r"#?\s*(INV_[A-Za-z0-9_]*)=(.*)", s)
            if m:
                out.append((m.group(1), m.group(2), commented, n))
            elif s and not commented:
                check(False, "%s:%d: not a comment nor INV_KEY=value: %r" % (path, n, s))
    return out


def check_env_files(keys):
    d = os.path.join(ROOT, "deploy", "systemd", "env")
    files = sorted(glob.glob(os.path.join(d, "*.env")))
    want = len(PROGRAMS) + 1  # one per program, and invctl's
    check(len(files) == want, "deploy/systemd/env: want %d example files, found %s" % (want, files))
    for path in files:
        extra = ("INV_PARTITIONS", "INV_REPLICATION_FACTOR") if path.endswith("invctl.env") else ()
        settings = env_file_settings(path)
        check(any(n == "INV_BROKERS" and not c for n, _, c, _ in settings), "%s: no INV_BROKERS" % path)
        for name, _, _, n in settings:
            check(valid_env(name, keys, extra), "%s:%d: %s is no configuration key (docs/CONFIGURATION.md)"
                  % (path, n, name))
        # The programs accept every setting, the commented examples included
        # (for keys set twice, e.g. two security.protocol examples, the last wins).
        env = {k: v for k, v in os.environ.items() if not k.startswith("INV_")}
        for name, value, _, _ in settings:
            if name not in extra:
                env[name] = value
        r = subprocess.run([bin("invctl"), "config", "reference"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        check(r.returncode == 0, "%s (all lines uncommented) rejected by invctl: exit %d: %s"
              % (path, r.returncode, r.stderr.strip()))


def check_systemd_analyze():
    sa = shutil.which("systemd-analyze")
    if not sa:
        skip("systemd-analyze not found (Debian package `systemd`): `systemd-analyze verify` and "
             "`systemd-analyze security` of deploy/systemd/ NOT run (deploy_manifests_static runs the rest)")
    units_dir = os.path.join(ROOT, "deploy", "systemd")
    system_units = "/usr/lib/systemd/system"
    with tempfile.TemporaryDirectory(prefix="inv-systemd-root-") as root:
        # A scratch root: the units in /etc/systemd/system, the built programs
        # where ExecStart expects them, the example env files, and the
        # distribution's units (sysinit.target, ...) for the default dependencies.
        etc = os.path.join(root, "etc", "systemd", "system")
        os.makedirs(etc)
        os.makedirs(os.path.join(root, "usr", "local", "bin"))
        os.makedirs(os.path.join(root, "etc", "inventory-events"))
        shutil.copytree(system_units, os.path.join(root, "usr", "lib", "systemd", "system"), symlinks=True)
        names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(units_dir, "*.service")) +
                       glob.glob(os.path.join(units_dir, "*.target")))
        for n in names:
            shutil.copy(os.path.join(units_dir, n), etc)
        for prog in PROGRAMS + ("invctl",):
            shutil.copy(bin(prog), os.path.join(root, "usr", "local", "bin", prog))
        for p in glob.glob(os.path.join(units_dir, "env", "*.env")):
            shutil.copy(p, os.path.join(root, "etc", "inventory-events"))
        r = subprocess.run([sa, "verify", "--root=" + root] + ["/etc/systemd/system/" + n for n in names],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60, cwd=root)
        out = r.stdout.strip()
        if check(r.returncode == 0 and not out,
                 "systemd-analyze verify: exit %d, diagnostics:\n%s" % (r.returncode, out)):
            print("systemd-analyze verify: %d units clean" % len(names))
        for n in names:
            if not n.endswith(".service"):
                continue
            r = subprocess.run([sa, "security", "--offline=yes", "--threshold=20", "--no-pager", "--root=" + root,
                                "/etc/systemd/system/" + n], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=60, cwd=root)
            level = re.search(r"Overall exposure level for \S+: ([\d.]+)", r.stdout)
            check(r.returncode == 0, "systemd-analyze security %s: exposure %s above 2.0:\n%s"
                  % (n, level.group(1) if level else "?", r.stdout[-2000:]))
            print("systemd-analyze security %s: exposure %s" % (n, level.group(1) if level else "?"))


# --- Kubernetes ---------------------------------------------------------------------------------

def load_k8s():
    """[(file, doc)] of every YAML document in deploy/k8s/*.yaml."""
    docs = []
    for path in sorted(glob.glob(os.path.join(ROOT, "deploy", "k8s", "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if doc is not None:
                    docs.append((os.path.basename(path), doc))
    return docs


def strict_schema(node):
    """Every object schema with properties rejects unknown ones (kubeconform's -strict)."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for v in node.values():
            strict_schema(v)
    elif isinstance(node, list):
        for v in node:
            strict_schema(v)
    return node


# The kafka scaler's metadata keys (KEDA docs, "Apache Kafka" scaler, 2.x): the
# CRD types trigger metadata as map<string,string>, so this list is hand-written.
KAFKA_TRIGGER_KEYS = {
    "bootstrapServers", "bootstrapServersFromEnv", "consumerGroup", "consumerGroupFromEnv", "topic",
    "topicFromEnv", "partitionLimitation", "lagThreshold", "activationLagThreshold", "offsetResetPolicy",
    "allowIdleConsumers", "excludePersistentLag", "scaleToZeroOnInvalidOffset", "limitToPartitionsWithLag",
    "ensureEvenDistributionOfPartitions", "version", "sasl", "saslTokenProvider", "tls", "unsafeSsl",
}


class K8sValidators:
    def __init__(self):
        kv = need("kubernetes_validate", "kubernetes-validate")
        self.kv = kv
        self.versions = [v or kv.utils.latest_version() for v in K8S_VERSIONS]
        keda = need("cloudcoil.models.keda.v1alpha1", "cloudcoil-models-keda")
        jsonschema = need("jsonschema", "jsonschema")
        schema = strict_schema(copy.deepcopy(keda.ScaledObject.model_json_schema(by_alias=True, mode="validation")))
        schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata", "spec"})
        self.keda = jsonschema.Draft202012Validator(schema)

    def validate(self, where, doc):
        kind = doc.get("kind")
        if kind == "ScaledObject":
            errors = sorted(self.keda.iter_errors(doc), key=lambda e: list(e.path))
            for e in errors:
                check(False, "%s: ScaledObject %s: %s at %s" % (where, doc.get("metadata", {}).get("name"),
                                                               e.message, "/".join(map(str, e.path))))
            for t in doc.get("spec", {}).get("triggers", []):
                if t.get("type") == "kafka":
                    unknown = set(t.get("metadata", {})) - KAFKA_TRIGGER_KEYS
                    check(not unknown, "%s: kafka trigger metadata keys unknown to KEDA: %s" % (where, sorted(unknown)))
                    for k, v in t.get("metadata", {}).items():
                        check(isinstance(v, str), "%s: trigger metadata %s must be a string, is %r" % (where, k, v))
            return not errors
        ok = True
        for version in self.versions:
            try:
                self.kv.validate(doc, version, strict=True)
            except self.kv.ValidationError as e:
                ok = check(False, "%s: %s %s (Kubernetes %s): %s at %s" % (
                    where, kind, doc.get("metadata", {}).get("name"), version, e.message,
                    "/".join(map(str, e.path))))
            except self.kv.SchemaNotFoundError as e:
                ok = check(False, "%s: %s" % (where, e.message))
        return ok


def containers(pod_spec):
    return pod_spec.get("initContainers", []) + pod_spec.get("containers", [])


def check_pod_security(where, pod_spec):
    psc = pod_spec.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True, "%s: pod securityContext.runAsNonRoot is not true" % where)
    check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "%s: no RuntimeDefault seccomp" % where)
    for c in containers(pod_spec):
        sc = c.get("securityContext", {})
        check(sc.get("readOnlyRootFilesystem") is True, "%s/%s: readOnlyRootFilesystem is not true" % (where, c["name"]))
        check(sc.get("allowPrivilegeEscalation") is False, "%s/%s: allowPrivilegeEscalation is not false"
              % (where, c["name"]))
        check(sc.get("capabilities", {}).get("drop") == ["ALL"], "%s/%s: capabilities not dropped" % (where, c["name"]))
        refs = [e.get("configMapRef", {}).get("name") for e in c.get("envFrom", [])]
        check("inventory-events-config" in refs, "%s/%s: no envFrom inventory-events-config" % (where, c["name"]))
        for e in c.get("envFrom", []):
            if "secretRef" in e:
                check(e["secretRef"].get("optional") is True, "%s/%s: the Kafka Secret must be optional"
                      % (where, c["name"]))


def check_http_pod(where, template, c):
    """--http on the pod IP with its containerPort, readiness on GET /healthz,
    a liveness probe that does not restart a pod for a 503 (restoring, stalled),
    and Prometheus scrape annotations on the same port. Returns the port."""
    cmd = c.get("command", []) + c.get("args", [])
    http = cmd[cmd.index("--http") + 1] if "--http" in cmd and cmd.index("--http") + 1 < len(cmd) else ""
    check(re.fullmatch(r"0\.0\.0\.0:\d+|:\d+", http), "%s: --http %r must listen on the pod IP" % (where, http))
    port = int(http.rsplit(":", 1)[1]) if ":" in http else None
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    check(port in ports.values(), "%s: containerPort %s of --http not declared" % (where, port))

    def probe_port(p):
        v = (p.get("httpGet") or p.get("tcpSocket") or {}).get("port")
        return ports.get(v, v)
    rp = c.get("readinessProbe", {})
    check(rp.get("httpGet", {}).get("path") == "/healthz" and probe_port(rp) == port,
          "%s: readinessProbe is not GET /healthz on port %s" % (where, port))
    lp = c.get("livenessProbe")
    if check(lp, "%s: no livenessProbe" % where):
        if lp.get("httpGet", {}).get("path") == "/healthz":
            # /healthz is 503 while restoring or stalled: only a very generous threshold is safe
            check(lp.get("failureThreshold", 3) * lp.get("periodSeconds", 10) >= 1800,
                  "%s: liveness on /healthz would kill a restoring or stalled pod" % where)
        else:
            check(probe_port(lp) == port, "%s: livenessProbe not on the http port" % where)
    ann = template["metadata"].get("annotations", {})
    check(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == str(port)
          and ann.get("prometheus.io/path", "/metrics") == "/metrics",
          "%s: Prometheus scrape annotations %s do not match port %s" % (where, ann, port))
    return port


def check_k8s(keys):
    validators = K8sValidators()
    docs = load_k8s()
    by_kind = {}
    for f, d in docs:
        by_kind.setdefault(d.get("kind"), []).append((f, d))
    n_valid = 0
    for f, d in docs:
        if d.get("kind") == "Kustomization":
            continue
        n_valid += validators.validate(f, d)
    print("kubernetes-validate (strict, Kubernetes %s) + KEDA ScaledObject schema: %d/%d objects valid"
          % (", ".join(validators.versions), n_valid, len([1 for _, d in docs if d.get("kind") != "Kustomization"])))

    # topics Job: invctl topics create --partitions N
    jobs = [d for _, d in by_kind.get("Job", [])]
    partitions = None
    if check(len(jobs) == 1, "want one Job (invctl topics create), found %d" % len(jobs)):
        pod = jobs[0]["spec"]["template"]["spec"]
        cmd = pod["containers"][0].get("command", []) + pod["containers"][0].get("args", [])
        check(cmd[:3] == ["invctl", "topics", "create"], "topics Job runs %s" % cmd)
        if check("--partitions" in cmd, "topics Job: --partitions missing (the scaling ceiling)"):
            partitions = int(cmd[cmd.index("--partitions") + 1])
        check_pod_security("Job", pod)

    cms = [d for _, d in by_kind.get("ConfigMap", [])]
    if check(any(c["metadata"]["name"] == "inventory-events-config" for c in cms), "no ConfigMap inventory-events-config"):
        for c in cms:
            for k in c.get("data", {}):
                check(valid_env(k, keys), "ConfigMap %s: %s is no configuration key" % (c["metadata"]["name"], k))
    for _, s in by_kind.get("Secret", []):
        for k in list(s.get("stringData", {})) + list(s.get("data", {})):
            check(valid_env(k, keys), "Secret %s: %s is no configuration key" % (s["metadata"]["name"], k))

    deployments = {d["metadata"]["name"]: d for _, d in by_kind.get("Deployment", [])}
    scaled = {d["metadata"]["name"]: d for _, d in by_kind.get("ScaledObject", [])}
    for prog, topic_key in PROCESSORS.items():
        dep = deployments.get(prog)
        if not check(dep is not None, "no Deployment %s" % prog):
            continue
        check("replicas" not in dep["spec"], "Deployment %s sets replicas: KEDA owns the count" % prog)
        pod = dep["spec"]["template"]["spec"]
        check(pod["containers"][0].get("command", [None])[0] == prog, "Deployment %s does not run %s" % (prog, prog))
        check_pod_security("Deployment " + prog, pod)
        check_http_pod("Deployment " + prog, dep["spec"]["template"], pod["containers"][0])
        so = [s for s in scaled.values() if s["spec"]["scaleTargetRef"]["name"] == prog]
        if not check(len(so) == 1, "want one ScaledObject targeting Deployment %s, found %d" % (prog, len(so))):
            continue
        spec = so[0]["spec"]
        check(partitions is not None and spec.get("maxReplicaCount") == partitions,
              "ScaledObject %s: maxReplicaCount %s != the partition count %s of the topics Job"
              % (prog, spec.get("maxReplicaCount"), partitions))
        kafka = [t for t in spec["triggers"] if t["type"] == "kafka"]
        if check(len(kafka) == 1, "ScaledObject %s: want one kafka trigger" % prog):
            md = kafka[0]["metadata"]
            check(md.get("consumerGroup") == prog, "ScaledObject %s: consumerGroup %s != group.id default %s"
                  % (prog, md.get("consumerGroup"), prog))
            check(md.get("topic") == keys[topic_key], "ScaledObject %s: topic %s != %s default %s"
                  % (prog, md.get("topic"), topic_key, keys[topic_key]))
            check(re.fullmatch(r"[1-9]\d*", md.get("lagThreshold", "")), "ScaledObject %s: lagThreshold %r"
                  % (prog, md.get("lagThreshold")))
            check(md.get("bootstrapServers") or md.get("bootstrapServersFromEnv") == "INV_BROKERS",
                  "ScaledObject %s: brokers not taken from INV_BROKERS" % prog)

    sts = [d for _, d in by_kind.get("StatefulSet", [])]
    if check(len(sts) == 1 and sts[0]["metadata"]["name"] == "inv-stock", "want one StatefulSet inv-stock"):
        s = sts[0]["spec"]
        pod = s["template"]["spec"]
        check_pod_security("StatefulSet inv-stock", pod)
        check(isinstance(pod.get("securityContext", {}).get("fsGroup"), int), "inv-stock: no fsGroup for the PVC")
        c = pod["containers"][0]
        cmd = c.get("command", []) + c.get("args", [])
        check(cmd[:1] == ["inv-stock"], "inv-stock StatefulSet runs %s" % cmd)
        state_dir = cmd[cmd.index("--state-dir") + 1] if "--state-dir" in cmd else None
        check_http_pod("inv-stock", s["template"], c)
        vcts = {v["metadata"]["name"] for v in s.get("volumeClaimTemplates", [])}
        check(vcts, "inv-stock: no volumeClaimTemplates")
        mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
        check(state_dir and any(mounts.get(v) and (state_dir + "/").startswith(mounts[v].rstrip("/") + "/")
                                for v in vcts),
              "inv-stock: --state-dir %s is not on a volumeClaimTemplate volume (%s)" % (state_dir, mounts))
        svc = [d for _, d in by_kind.get("Service", []) if d["metadata"]["name"] == s.get("serviceName")]
        if check(len(svc) == 1, "inv-stock: serviceName %s is no Service here" % s.get("serviceName")):
            check(svc[0]["spec"].get("clusterIP") == "None", "Service %s is not headless" % s.get("serviceName"))
            check(svc[0]["spec"].get("selector", {}).items() <= s["template"]["metadata"]["labels"].items(),
                  "Service %s does not select the inv-stock pods" % s.get("serviceName"))

    check_view_k8s(deployments.get("inv-view"), by_kind)

    # kustomization.yaml: every manifest but the example Secret
    kpath = os.path.join(ROOT, "deploy", "k8s", "kustomization.yaml")
    if check(os.path.isfile(kpath), "no deploy/k8s/kustomization.yaml"):
        with open(kpath, encoding="utf-8") as f:
            kust = yaml.safe_load(f)
        want = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "deploy", "k8s", "*.yaml"))
                      if not p.endswith(("kustomization.yaml", ".example.yaml")))
        check(sorted(kust.get("resources", [])) == want, "kustomization.yaml resources %s != %s"
              % (sorted(kust.get("resources", [])), want))


def check_view_k8s(dep, by_kind):
    """inv-view: replicas of the read side behind a Service."""
    if not check(dep is not None, "no Deployment inv-view"):
        return
    pod = dep["spec"]["template"]["spec"]
    check_pod_security("Deployment inv-view", pod)
    c = pod["containers"][0]
    cmd = c.get("command", []) + c.get("args", [])
    check(cmd[:1] == ["inv-view"], "Deployment inv-view runs %s" % cmd)
    http = cmd[cmd.index("--http") + 1] if "--http" in cmd else ""
    check(re.fullmatch(r"0\.0\.0\.0:\d+|:\d+", http), "inv-view: --http %r must listen on the pod IP" % http)
    port = int(http.rsplit(":", 1)[1]) if http else None
    state_dir = cmd[cmd.index("--state-dir") + 1] if "--state-dir" in cmd else ""
    mounts = [m["mountPath"] for m in c.get("volumeMounts", []) if m["name"] == "state"]
    check(any(state_dir.startswith(m.rstrip("/") + "/") or state_dir == m for m in mounts),
          "inv-view: --state-dir %s is not on the state volume (%s)" % (state_dir, mounts))
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    check(port in ports.values(), "inv-view: containerPort %s of --http not declared" % port)
    rp = c.get("readinessProbe", {}).get("httpGet", {})
    check(rp.get("path") == "/healthz" and (rp.get("port") == port or ports.get(rp.get("port")) == port),
          "inv-view: readinessProbe is not GET /healthz on port %s" % port)
    lp = c.get("livenessProbe", {})
    check("httpGet" not in lp or lp["httpGet"].get("path") != "/healthz",
          "inv-view: liveness on /healthz would kill a rebuilding pod")
    svc = [d for _, d in by_kind.get("Service", []) if d["metadata"]["name"] == "inv-view"]
    if check(len(svc) == 1, "no Service inv-view"):
        sel = svc[0]["spec"].get("selector", {})
        labels = dep["spec"]["template"]["metadata"]["labels"]
        check(sel and all(labels.get(k) == v for k, v in sel.items()), "Service inv-view does not select its pods")


def check_kustomize():
    kubectl = shutil.which("kubectl")
    if not kubectl:
        skip("kubectl not on PATH: `kubectl kustomize deploy/k8s` NOT rendered "
             "(deploy_manifests_static validates every file one by one)")
    validators = K8sValidators()
    r = subprocess.run([kubectl, "kustomize", os.path.join(ROOT, "deploy", "k8s")], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    if check(r.returncode == 0, "kubectl kustomize deploy/k8s: %s" % r.stderr.strip()):
        rendered = [d for d in yaml.safe_load_all(r.stdout) if d]
        for d in rendered:
            validators.validate("kustomize output", d)
            if d["kind"] != "Namespace":
                check(d["metadata"].get("namespace") == "inventory-events",
                      "kustomize output: %s %s not in namespace inventory-events"
                      % (d["kind"], d["metadata"]["name"]))
        print("kubectl kustomize: %d objects rendered and validated" % len(rendered))


# --- Grafana -----------------------------------------------------------------------------------

def metrics_tools():
    """The tools that print the programs' /metrics without a broker: inv-stock's
    and a processor's (every processor serves the same families)."""
    return [os.environ.get("INV_KEEPER_METRICS_TOOL") or bin("keeper_metrics_tool"),
            os.environ.get("INV_PROCESSOR_METRICS_TOOL") or bin("processor_metrics_tool")]


def registered_metrics():
    """{name: kind} of every series family inv-stock and the processors serve on
    /metrics, and the label names they attach (le aside), from the expositions of
    keeper_metrics_tool and processor_metrics_tool."""
    out = ""
    for tool in metrics_tools():
        r = subprocess.run([tool], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("%s: exit %d: %s" % (tool, r.returncode, r.stderr.strip()))
        out += r.stdout
    series, labels = {}, set()
    for line in out.splitlines():
        m = re.match(r"# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$", line)
        if m:
            series[m.group(1)] = m.group(2)
        elif line and not line.startswith("#"):
            m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*\{(.*)\} ", line)
            if m:
                labels |= set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"', m.group(1)))
    labels.discard("le")
    return series, labels


def check_grafana():
    path = os.path.join(ROOT, "deploy", "grafana", "inventory-events.json")
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    series, labels = registered_metrics()
    check(len(series) >= 15, "only %d series in inv-stock's /metrics (keeper_metrics_tool)" % len(series))
    check(any(n.startswith("inv_processor_") for n in series) and "inv_kafka_consumer_lag" in series,
          "no inv_processor_* or inv_kafka_consumer_lag series (processor_metrics_tool)")
    used = set()
    ids = []
    exprs = []

    def walk(panels):
        for p in panels:
            ids.append(p.get("id"))
            gp = p.get("gridPos", {})
            check(gp.get("x", 0) + gp.get("w", 0) <= 24, "panel %r wider than the grid" % p.get("title"))
            if p.get("type") != "row":
                check(p.get("targets"), "panel %r has no query" % p.get("title"))
            for t in p.get("targets", []):
                exprs.append((p.get("title"), t.get("expr", "")))
            walk(p.get("panels", []))
    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query":
            exprs.append(("variable " + v["name"], q or ""))
    check(len(ids) == len(set(ids)), "duplicate panel ids: %s" % ids)
    for title, expr in exprs:
        check(expr, "panel %r: empty expression" % title)
        for m in re.findall(r"\b(inv_[a-z0-9_]+)", expr):
            base, suffix = m, None
            for s in ("_bucket", "_sum", "_count"):
                if m.endswith(s) and m[:-len(s)] in series:
                    base, suffix = m[:-len(s)], s
            if check(base in series, "panel %r: metric %s is not one the programs serve on /metrics"
                     % (title, m)):
                used.add(base)
                check(suffix is None or series[base] == "histogram",
                      "panel %r: %s on %s, which is a %s" % (title, suffix, base, series[base]))
                check(series[base] != "histogram" or suffix is not None,
                      "panel %r: histogram %s used without _bucket/_sum/_count" % (title, base))
        for group in re.findall(r"\bby\s*\(([^)]*)\)", expr):
            for lbl in (x.strip() for x in group.split(",")):
                check(lbl in labels | {"le", "instance", "job"},
                      "panel %r: label %r is not one the programs attach on /metrics" % (title, lbl))
    missing = sorted(set(series) - used)
    check(not missing, "series not on the dashboard: %s" % missing)
    print("grafana: %d queries, %d/%d registered series used, labels %s"
          % (len(exprs), len(used), len(series), sorted(labels)))


PARTS = ("static", "systemd", "kubectl")


def main(argv):
    if len(argv) != 2 or argv[1] not in PARTS:
        print("usage: test_deploy_manifests.py %s" % "|".join(PARTS))
        return 2
    part = argv[1]
    if part == "static":
        keys = conf_keys()
        check_systemd_static(keys)
        check_env_files(keys)
        check_k8s(keys)
        check_grafana()
        done = "deploy/systemd (static), deploy/k8s and deploy/grafana validated"
    elif part == "systemd":
        check_systemd_analyze()
        done = "deploy/systemd passes systemd-analyze verify and security"
    else:
        check_kustomize()
        done = "deploy/k8s renders with kubectl kustomize and validates"
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok: " + done)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
