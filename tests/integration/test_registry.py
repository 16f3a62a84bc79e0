"""Integration (fixture "registry": Apicurio started by deploy/local/registry.sh
on REGISTRY_PORT, default 8081, schemas kept in the local broker): inv_registry
against the real registry's Confluent API, through tests/support/registry_tool.

  * a schema registered under a fresh subject gets an id; registering it again
    answers the same id;
  * the id resolves to the schema; asked twice in one client, the second answer
    comes from the cache (one request, one hit);
  * with auto.register.schemas=false the registered schema is looked up (same
    id), an unregistered one and an unknown subject are refused;
  * with the subject at BACKWARD compatibility (ccompat PUT /config/<subject>)
    an incompatible schema is refused, errstr naming the subject and holding
    the registry's own message verbatim;
  * an id the registry does not have is NOT_FOUND;
  * with the registry stopped, a lookup and a registration are UNAVAILABLE,
    errstr naming the URL; started again, the id still resolves (the schema
    survived the restart in Kafka). The registry is started again whatever
    happens.
"""
import json
import os
import subprocess
import urllib.error
import urllib.request

from invtest import ROOT, check, finish, unique

PORT = int(os.environ.get("REGISTRY_PORT", "8081"))
URL = "http://127.0.0.1:%d/apis/ccompat/v7" % PORT
SCRIPT = os.path.join(ROOT, "deploy", "local", "registry.sh")
TOOL = os.environ.get("INV_REGISTRY_TOOL") or os.path.join(os.environ.get("INV_BIN_DIR", ""), "registry_tool")
CODES = {0: "ok", 3: "not found", 4: "unavailable", 5: "refused"}


def record(*fields):
    return json.dumps({"type": "record", "name": "RegistryProbe", "namespace": "inv.test",
                       "fields": [dict(f) for f in fields]})


V1 = record({"name": "a", "type": "string"})
V1_PLUS_B = record({"name": "a", "type": "string"}, {"name": "b", "type": "long", "default": 0})
INCOMPATIBLE = record({"name": "c", "type": "long"})  # a reader that cannot read v1: c has no default


class Tool:
    def __init__(self, returncode, stdout):
        self.returncode, self.stdout = returncode, stdout
        self.lines = stdout.splitlines()
        self.stats = {}
        for line in self.lines:
            if line.startswith("stats "):
                self.stats = {k: int(v) for k, v in (kv.split("=") for kv in line.split()[1:])}

    def first(self, prefix):
        return next((line[len(prefix):] for line in self.lines if line.startswith(prefix)), None)

    def __repr__(self):
        return "exit %s (%s), stdout %r" % (self.returncode, CODES.get(self.returncode, "?"), self.stdout)


def tool(*args, auto_register=True, url=URL):
    cmd = [TOOL, "-X", "schema.registry.url=" + url, "-X",
           "auto.register.schemas=" + ("true" if auto_register else "false")] + list(args)
    cp = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    if cp.stderr:
        print(cp.stderr, end="")
    return Tool(cp.returncode, cp.stdout)


def put_compatibility(subject, level):
    req = urllib.request.Request("%s/config/%s" % (URL, subject), method="PUT",
                                 data=json.dumps({"compatibility": level}).encode(),
                                 headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, json.loads(r.read())


def registry_message(subject, schema):
    """The registry's own message for registering schema under subject."""
    req = urllib.request.Request("%s/subjects/%s/versions" % (URL, subject), method="POST",
                                 data=json.dumps({"schema": schema, "schemaType": "AVRO"}).encode(),
                                 headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return "accepted: %s" % r.read()
    except urllib.error.HTTPError as e:
        return json.loads(e.read())["message"]


def script(cmd):
    cp = subprocess.run([SCRIPT, cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    print(cp.stdout, end="")
    return cp.returncode


def main():
    subject = unique("inv-registry") + "-value"

    r = tool("register", subject, V1)
    check(r.returncode == 0 and r.first("id ") is not None, "register v1: %r" % r)
    id1 = r.first("id ")
    r = tool("register", subject, V1)
    check(r.returncode == 0 and r.first("id ") == id1, "register v1 again should answer id %s: %r" % (id1, r))

    r = tool("get", id1, id1)
    check(r.returncode == 0, "get %s twice: %r" % (id1, r))
    got = [line.split(" ", 2)[2] for line in r.lines if line.startswith("schema ")]
    check(len(got) == 2 and all(json.loads(g) == json.loads(V1) for g in got),
          "get %s should give v1 twice, got %r" % (id1, got))
    check(r.stats == {"requests": 1, "failures": 0, "cache_hits": 1, "cache_misses": 1},
          "get twice should make one request and hit the cache once: %r" % r.stats)

    r = tool("register", subject, V1, auto_register=False)
    check(r.returncode == 0 and r.first("id ") == id1, "lookup of v1 should answer id %s: %r" % (id1, r))
    r = tool("register", subject, V1_PLUS_B, auto_register=False)
    check(r.returncode == 5 and subject in r.stdout, "lookup of an unregistered schema should be refused: %r" % r)
    r = tool("register", unique("inv-registry-none") + "-value", V1, auto_register=False)
    check(r.returncode == 5, "lookup under an unknown subject should be refused: %r" % r)

    status, body = put_compatibility(subject, "BACKWARD")
    check(status == 200, "PUT /config/%s: %s %r" % (subject, status, body))
    r = tool("register", subject, INCOMPATIBLE)
    message = registry_message(subject, INCOMPATIBLE)
    check(r.returncode == 5, "an incompatible schema should be refused: %r" % r)
    check('"%s"' % subject in r.stdout and message in r.stdout,
          "the refusal should name the subject and quote the registry (%r): %r" % (message, r))
    r = tool("register", subject, V1_PLUS_B)
    check(r.returncode == 0 and r.first("id ") not in (None, id1),
          "a BACKWARD-compatible v2 should get a new id: %r" % r)

    r = tool("get", "2147483000")
    check(r.returncode == 3 and "/schemas/ids/2147483000" in r.stdout, "an unknown id should be NOT_FOUND: %r" % r)

    stopped = script("stop") == 0
    try:
        check(stopped, "registry.sh stop failed (a registry not started by registry.sh?)")
        if stopped:
            r = tool("get", id1)
            check(r.returncode == 4 and URL + "/schemas/ids/" + id1 in r.stdout,
                  "get with the registry stopped should be UNAVAILABLE naming the URL: %r" % r)
            r = tool("register", subject, V1)
            check(r.returncode == 4, "register with the registry stopped should be UNAVAILABLE: %r" % r)
    finally:
        started = script("start") == 0
    check(started, "registry.sh start after the stop failed")
    if started:
        r = tool("get", id1)
        got = r.first("schema %s " % id1)
        check(r.returncode == 0 and got is not None and json.loads(got) == json.loads(V1),
              "id %s should resolve to v1 after a registry restart: %r" % (id1, r))
    finish("registry: register, lookup, refusal, not found and unavailable against Apicurio")


if __name__ == "__main__":
    main()
