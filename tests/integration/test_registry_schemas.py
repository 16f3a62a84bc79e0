"""Integration (fixture "registry": Apicurio on REGISTRY_PORT, default 8081):
`invctl schemas check` and `invctl schemas register` against the real registry,
under subjects of their own (every topic.* key prefixed, so reruns and other
tests never share a subject), each at compatibility BACKWARD (Apicurio's
default is NONE).

  * the earlier versions, schemas/v1/ then schemas/v2/ (what earlier releases
    registered), are registered first, each directory with `schemas register`;
  * `schemas check schemas/` then passes: each of today's schemas may follow
    the latest earlier version of its subject. This is the guard: a change to
    a schemas/*.avsc that breaks BACKWARD compatibility with what an earlier
    release registered fails this test;
  * a copy of schemas/ whose StockLevel gains a field without a default:
    `check` exits 1 with StockLevel's subject INCOMPATIBLE, and `register`
    exits 1 naming the subject and quoting the registry's own refusal;
  * `schemas register schemas/` registers every schema and prints its id; run
    again it prints the same ids;
  * without schema.registry.url: exit 2 naming the key; a registry that does
    not answer: exit 1 naming its URL.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request

from invtest import ROOT, TOPIC_KEYS, bin, check, finish, unique

PORT = int(os.environ.get("REGISTRY_PORT", "8081"))
URL = "http://127.0.0.1:%d/apis/ccompat/v7" % PORT
SCHEMAS = os.path.join(ROOT, "schemas")
CT = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
# invctl's map of <Name>.avsc to the topic key that carries it (inv_schema_topic_key)
TOPIC_OF = {"SaleEvent": "sales", "ReturnEvent": "returns", "RestockEvent": "restocks",
            "ReservationEvent": "reservations", "TransferEvent": "transfers", "StockMovement": "movements",
            "StockLevel": "stock", "ReorderEvent": "reorders", "ShortageEvent": "shortages",
            "ReorderPolicy": "policies", "ChannelLocation": "channels", "AvailabilityLevel": "availability",
            "ReservationStatus": "reservation_status"}


class Run:
    def __init__(self, cp):
        self.returncode, self.stdout, self.stderr = cp.returncode, cp.stdout, cp.stderr

    def line(self, subject):
        """The line of stdout about subject, or None."""
        return next((l for l in self.stdout.splitlines() if l.split()[1:2] == [subject]), None)

    def __repr__(self):
        return "exit %s, stdout:\n%s\nstderr:\n%s" % (self.returncode, self.stdout, self.stderr)


def invctl(topics, *args, url=URL):
    """invctl with the test's topic names, without INV_* of the caller's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INV_")}
    cmd = [bin("invctl")]
    for key, topic in topics.items():
        cmd += ["-X", "topic.%s=%s" % (key, topic)]
    if url:
        cmd += ["-X", "schema.registry.url=" + url]
    cp = subprocess.run(cmd + list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                        timeout=120)
    return Run(cp)


def registry(method, path, body):
    """(status, JSON answer) of the registry's Confluent API."""
    req = urllib.request.Request(URL + path, method=method, data=json.dumps(body).encode(), headers=CT)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def earlier_versions():
    """schemas/v1, schemas/v2, ... in the order the releases registered them."""
    dirs = [d for d in os.listdir(SCHEMAS) if re.fullmatch(r"v[0-9]+", d)]
    return [os.path.join(SCHEMAS, d) for d in sorted(dirs, key=lambda d: int(d[1:]))]


def ids(r):
    return {l.split()[1]: l.split()[-1] for l in r.stdout.splitlines() if re.search(r" id [0-9]+$", l)}


def main():
    base = unique("inv-schemas")
    topics = {k: "%s.%s" % (base, k) for k in TOPIC_KEYS if k in TOPIC_OF.values()}
    subject = {name: topics[key] + "-value" for name, key in TOPIC_OF.items()}
    names = sorted(f[:-5] for f in os.listdir(SCHEMAS) if f.endswith(".avsc"))
    check(set(names) == set(TOPIC_OF), "schemas/ holds %s, the test knows %s" % (names, sorted(TOPIC_OF)))

    for name in names:
        status, body = registry("PUT", "/config/" + subject[name], {"compatibility": "BACKWARD"})
        check(status == 200, "PUT /config/%s: %s %r" % (subject[name], status, body))

    for d in earlier_versions():
        r = invctl(topics, "schemas", "register", d)
        held = sorted(f[:-5] for f in os.listdir(d) if f.endswith(".avsc"))
        check(r.returncode == 0 and sorted(ids(r)) == sorted(subject[n] for n in held),
              "register %s (the earlier versions) should give each of %s an id: %r" % (d, held, r))

    # the guard: today's schemas may follow what earlier releases registered
    r = invctl(topics, "schemas", "check", SCHEMAS)
    check(r.returncode == 0, "check schemas/ against the earlier versions should pass (a schema change that "
          "breaks BACKWARD compatibility with schemas/v*/ fails here): %r" % r)
    for name in names:
        line = r.line(subject[name])
        check(line is not None and " compatible" in line, "check should say %s is compatible: %r" % (name, line))

    broken = tempfile.mkdtemp(prefix="inv-schemas-")
    try:
        for f in os.listdir(SCHEMAS):
            if f.endswith(".avsc"):
                shutil.copy(os.path.join(SCHEMAS, f), broken)
        path = os.path.join(broken, "StockLevel.avsc")
        with open(path, encoding="utf-8") as f:
            stock_level = json.load(f)
        stock_level["fields"].append({"name": "shelf", "type": "string"})  # no default: old records lack it
        with open(path, "w", encoding="utf-8") as f:
            json.dump(stock_level, f, indent=2)

        r = invctl(topics, "schemas", "check", broken)
        line = r.line(subject["StockLevel"])
        check(r.returncode == 1 and line is not None and "INCOMPATIBLE" in line,
              "check of a StockLevel with a new field without default should exit 1 naming %s: %r"
              % (subject["StockLevel"], r))
        others = [n for n in names if n != "StockLevel"]
        check(all(" compatible" in (r.line(subject[n]) or "") for n in others),
              "check should still say the others are compatible: %r" % r)

        status, refusal = registry("POST", "/subjects/%s/versions" % subject["StockLevel"],
                                   {"schema": json.dumps(stock_level), "schemaType": "AVRO"})
        check(status == 409, "the registry itself should refuse the broken StockLevel: %s %r" % (status, refusal))
        r = invctl(topics, "schemas", "register", broken)
        check(r.returncode == 1, "register of the broken copy should exit 1: %r" % r)
        check('"%s"' % subject["StockLevel"] in r.stderr and refusal.get("message", "?") in r.stderr,
              "register should name %s and quote the registry's refusal (%r): %r"
              % (subject["StockLevel"], refusal.get("message"), r))
    finally:
        shutil.rmtree(broken, ignore_errors=True)

    r = invctl(topics, "schemas", "register", SCHEMAS)
    got = ids(r)
    check(r.returncode == 0 and sorted(got) == sorted(subject.values()),
          "register schemas/ should print an id for every subject: %r" % r)
    again = invctl(topics, "schemas", "register", SCHEMAS)
    check(again.returncode == 0 and ids(again) == got, "register again should answer the same ids: %r" % again)
    r = invctl(topics, "schemas", "check", SCHEMAS)
    check(r.returncode == 0, "check after register should pass: %r" % r)

    r = invctl(topics, "schemas", "check", SCHEMAS, url=None)
    check(r.returncode == 2 and "schema.registry.url" in r.stderr,
          "check without schema.registry.url should exit 2 naming it: %r" % r)
    r = invctl(topics, "schemas", "register", SCHEMAS, url=None)
    check(r.returncode == 2 and "schema.registry.url" in r.stderr,
          "register without schema.registry.url should exit 2 naming it: %r" % r)
    r = invctl(topics, "schemas", "check", SCHEMAS, url="http://127.0.0.1:9")
    check(r.returncode == 1 and "http://127.0.0.1:9/compatibility/subjects/" in r.stderr,
          "check with no registry answering should exit 1 naming its URL: %r" % r)
    finish("registry_schemas: invctl schemas check and register against Apicurio, earlier versions first")


if __name__ == "__main__":
    main()
