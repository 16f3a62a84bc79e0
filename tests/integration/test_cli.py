"""Unit check (no broker): the command line of every program, as DESIGN.md's
"Programs and flags" states it.

For inv-sale, inv-return, inv-restock, inv-reserve, inv-transfer, invctl, inv-stock,
inv-view and inv-loadgen:
  * --help exits 0 and prints the usage to stdout (nothing on stderr);
  * --version exits 0 and prints "<program> <x.y.z>";
  * a bad flag or value (unknown flag, out-of-range integer, bad enum, unknown
    key, unknown librdkafka property, bad INV_<KEY> environment value,
    unreadable -c file, ...) exits 2 with exactly ONE stderr line naming it,
    and does so before touching Kafka: -b points at a listening socket of our
    own that must see no connection, and the program must return in well
    under a second.
invctl: an unknown or missing command, and bad `topics create` arguments,
exit 2 with one line naming them.
"""
import os
import re
import socket
import sys
import tempfile
import time

from invtest import ROOT, check, failures, run

PROGRAMS = ["inv-sale", "inv-return", "inv-restock", "inv-reserve", "inv-transfer", "invctl", "inv-stock",
            "inv-view", "inv-loadgen"]
FAST = 1.0  # seconds: "well under a second" for a program that must not do any I/O

def bin_dir():
    return os.environ.get("INV_BIN_DIR") or os.path.join(ROOT, "build", "bin")


def project_version():
    """The build's PROJECT_VERSION (inv_python_test passes it)."""
    v = os.environ.get("INV_PROJECT_VERSION")
    if not v:
        raise SystemExit("FAIL: INV_PROJECT_VERSION not set: run the test through ctest")
    return v


class Trap:
    """A listening TCP socket standing in for a broker: any connection to it
    means the program touched "Kafka"."""

    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(16)
        self.s.setblocking(False)
        self.addr = "127.0.0.1:%d" % self.s.getsockname()[1]

    def connections(self):
        n = 0
        while True:
            try:
                c, _ = self.s.accept()
            except BlockingIOError:
                return n
            c.close()
            n += 1

    def close(self):
        self.s.close()


KEEP_ENV = {"INV_BIN_DIR", "INV_SOURCE_DIR", "INV_BROKER_PORT", "INV_TEST_LOG_DIR"}


def clean_env(extra=None):
    """Extra variables for run(), which layers them over os.environ (main()
    has dropped every INV_<KEY> the caller may have set)."""
    return dict(extra or {})


def test_help_and_version(name, path, version):
    t0 = time.monotonic()
    r = run([path, "--help"], env=clean_env(), timeout=20)
    dt = time.monotonic() - t0
    out = r.stdout
    check(r.returncode == 0, "%s --help: exit %s, want 0" % (name, r.returncode))
    check(out.startswith("Usage: %s " % name), "%s --help: stdout does not start with 'Usage: %s ': %r"
          % (name, name, out[:80]))
    for word in ("--brokers", "--config", "-X key=value", "--help", "--version", "INV_<KEY>"):
        check(word in out, "%s --help: usage lacks %r" % (name, word))
    check(r.stderr == "", "%s --help: unexpected stderr %r" % (name, r.stderr[:300]))
    check(dt < FAST, "%s --help took %.2fs" % (name, dt))
    if name == "invctl":
        check("topics create [--partitions N]" in out, "invctl --help does not list `topics create`")
    if name in ("inv-stock", "inv-view"):
        for word in ("--state-dir", "--http"):
            check(word in out, "%s --help lacks %s" % (name, word))

    r = run([path, "--version"], env=clean_env(), timeout=20)
    check(r.returncode == 0, "%s --version: exit %s, want 0" % (name, r.returncode))
    check(r.stdout == "%s %s\n" % (name, version), "%s --version printed %r, want %r"
          % (name, r.stdout, "%s %s\n" % (name, version)))
    check(r.stderr == "", "%s --version: unexpected stderr %r" % (name, r.stderr[:300]))


def bad_cases(name, bad_file):
    """(label, args before the command, extra env, expected single stderr line
    as a regex). Every line starts with the program's name."""
    p = re.escape(name) + ": "
    return [
        ("unknown long flag", ["--bogus"], None,
         p + r"--bogus: unknown flag \(see --help\)"),
        ("unknown short flag", ["-Z"], None,
         p + r"-Z: unknown flag \(see --help\)"),
        ("missing flag argument", ["-X"], None,
         p + r"-X: missing argument"),
        ("-X without =", ["-X", "commit.interval.ms"], None,
         p + r"-X commit\.interval\.ms: expected key=value"),
        ("integer out of range", ["-X", "commit.interval.ms=0"], None,
         p + re.escape("-X: commit.interval.ms: 0 is out of range [1, 60000]")),
        ("hold time to live out of range", ["-X", "reservation.max.ttl.ms=999"], None,
         p + re.escape("-X: reservation.max.ttl.ms: 999 is out of range [1000, 31536000000]")),
        ("integer not a number", ["-X", "batch.max.messages=12abc"], None,
         p + re.escape('-X: batch.max.messages: "12abc" is not an integer')),
        ("enum value", ["-X", "output.format=xml"], None,
         p + re.escape('-X: output.format: "xml" is not one of json,avro')),
        ("unknown key", ["-X", "no.such=1"], None,
         p + re.escape('-X: unknown configuration key "no.such"')),
        ("unknown librdkafka property", ["-X", "kafka.no.such.prop=1"], None,
         p + re.escape("kafka.no.such.prop: ") + r".*no\.such\.prop.*"),
        ("bad librdkafka value", ["-X", "kafka.linger.ms=forever"], None,
         p + re.escape("kafka.linger.ms: ") + r".*"),
        ("environment value", [], {"INV_OUTPUT_FORMAT": "yaml"},
         p + re.escape('INV_OUTPUT_FORMAT: output.format: "yaml" is not one of json,avro')),
        ("environment librdkafka property", [], {"INV_KAFKA_NO_SUCH_PROP": "1"},
         p + re.escape("kafka.no.such.prop: ") + r".*"),
        ("missing config file", ["-c", "/nonexistent"], None,
         p + re.escape('--config: cannot open "/nonexistent": No such file or directory')),
        ("bad value in config file", ["-c", bad_file], None,
         p + re.escape('%s:3: transaction.timeout.ms: 5 is out of range [1000, 900000]' % bad_file)),
        ("empty brokers", ["-b", ""], None,
         p + r"brokers: must not be empty"),
    ]


def test_bad_input(name, path, bad_file):
    # For invctl a valid command follows the flags, so that skipping the
    # validation would go on to contact the (trap) broker.
    tail = ["topics", "create"] if name == "invctl" else []
    for label, args, env, want in bad_cases(name, bad_file):
        trap = Trap()
        try:
            argv = [path]
            if "-b" not in args:
                argv += ["-b", trap.addr]
            # a trailing flag with its argument missing must stay last
            argv += args + (tail if label != "missing flag argument" else [])
            t0 = time.monotonic()
            r = run(argv, env=clean_env(env), timeout=20)
            dt = time.monotonic() - t0
            err = r.stderr
            what = "%s %s (%s)" % (name, " ".join(args) or env, label)
            check(r.returncode == 2, "%s: exit %s, want 2; stderr %r" % (what, r.returncode, err[:500]))
            ls = err.splitlines()
            check(len(ls) == 1, "%s: want exactly one stderr line, got %d: %r" % (what, len(ls), err[:800]))
            if ls:
                check(re.fullmatch(want, ls[0]) is not None,
                      "%s: stderr line %r does not match %r" % (what, ls[0], want))
            check(r.stdout == "", "%s: unexpected stdout %r" % (what, r.stdout[:200]))
            check(dt < FAST, "%s: took %.2fs, want < %.1fs (no Kafka I/O)" % (what, dt, FAST))
            n = trap.connections()
            check(n == 0, "%s: %d connection(s) to the broker address before failing" % (what, n))
        finally:
            trap.close()


def test_processor_extra_argument(name, path):
    trap = Trap()
    try:
        r = run([path, "-b", trap.addr, "surplus"], env=clean_env(), timeout=20)
        check(r.returncode == 2, "%s surplus: exit %s, want 2" % (name, r.returncode))
        check(r.stderr.splitlines() == ["%s: surplus: unexpected argument (see --help)" % name],
              "%s surplus: stderr %r" % (name, r.stderr[:500]))
        check(trap.connections() == 0, "%s surplus: connected to the broker" % name)
    finally:
        trap.close()


def test_invctl_commands(path):
    cases = [
        (["frobnicate"], "invctl: frobnicate: unknown command (see invctl --help)"),
        (["topics"], "invctl: topics: unknown command (see invctl --help)"),
        (["topics", "destroy"], "invctl: topics: unknown command (see invctl --help)"),
        ([], "invctl: COMMAND: missing (see invctl --help)"),
        (["topics", "create", "--partitions", "0"],
         'invctl: --partitions: "0" is not an integer in [1, 10000]'),
        (["topics", "create", "--partitions", "x"],
         'invctl: --partitions: "x" is not an integer in [1, 10000]'),
        (["topics", "create", "--bogus"], "invctl: --bogus: unknown flag (see --help)"),
        (["topics", "create", "--json"], "invctl: --json: unknown flag (see invctl --help)"),
        (["topics", "create", "-b"], "invctl: -b: missing argument"),
        (["topics", "create", "--partitions"], "invctl: --partitions: missing argument (see invctl --help)"),
        (["topics", "create", "extra"], "invctl: extra: unexpected argument (see invctl --help)"),
    ]
    for args, want in cases:
        trap = Trap()
        try:
            t0 = time.monotonic()
            r = run([path, "-b", trap.addr] + args, env=clean_env(), timeout=20)
            dt = time.monotonic() - t0
            what = "invctl %s" % " ".join(args)
            check(r.returncode == 2, "%s: exit %s, want 2; stderr %r" % (what, r.returncode, r.stderr[:500]))
            check(r.stderr.splitlines() == [want], "%s: stderr %r, want %r" % (what, r.stderr[:500], want))
            check(dt < FAST, "%s: took %.2fs" % (what, dt))
            check(trap.connections() == 0, "%s: connected to the broker" % what)
        finally:
            trap.close()


def main():
    version = project_version()
    for k in list(os.environ):
        if k.startswith("INV_") and k not in KEEP_ENV:
            del os.environ[k]
    found = []
    for name in PROGRAMS:
        path = os.path.join(bin_dir(), name)
        if os.access(path, os.X_OK):
            found.append((name, path))
        else:
            check(False, "program not built: %s" % path)
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("# a valid line, a comment, then a bad value\ncommit.interval.ms = 50\n"
                "transaction.timeout.ms=5\n")
        bad_file = f.name
    try:
        for name, path in found:
            test_help_and_version(name, path, version)
            test_bad_input(name, path, bad_file)
            if name != "invctl":
                test_processor_extra_argument(name, path)
        if any(n == "invctl" for n, _ in found):
            test_invctl_commands(os.path.join(bin_dir(), "invctl"))
    finally:
        os.unlink(bad_file)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok: %s" % ", ".join(n for n, _ in found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
