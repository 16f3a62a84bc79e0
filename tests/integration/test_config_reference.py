"""Unit check (no broker): docs/CONFIGURATION.md is exactly what
`invctl config reference` prints, so the documented keys cannot drift from the
keys the programs take (issue 6, "the config reference in docs is generated").

  * `invctl config reference` exits 0, prints nothing on stderr, and its stdout
    equals docs/CONFIGURATION.md byte for byte; on a difference the test prints a
    unified diff and the command that regenerates the file;
  * every key in the table invctl prints has one row in the document, with
    its INV_<KEY> environment name (dots as underscores, upper case) and its
    default, and the document has no other key;
  * docs/OPERATIONS.md and README.md link to docs/CONFIGURATION.md.
"""
import difflib
import os
import re
import sys

from invtest import ROOT, bin, check, conf_reference, failures, run


def main():
    doc_path = os.path.join(ROOT, "docs", "CONFIGURATION.md")
    r = run([bin("invctl"), "config", "reference"], env={}, timeout=30)
    check(r.returncode == 0, "invctl config reference: exit %s" % r.returncode)
    check(r.stderr == "", "invctl config reference wrote to stderr:\n%s" % r.stderr)
    generated = r.stdout
    try:
        with open(doc_path, encoding="utf-8") as f:
            checked_in = f.read()
    except FileNotFoundError:
        checked_in = ""
    if not check(generated == checked_in,
                 "docs/CONFIGURATION.md differs from `invctl config reference`; regenerate it with\n"
                 "    build/bin/invctl config reference > docs/CONFIGURATION.md"):
        sys.stdout.writelines(difflib.unified_diff(
            checked_in.splitlines(True), generated.splitlines(True),
            "docs/CONFIGURATION.md (checked in)", "invctl config reference"))

    # Key by key, for a readable message: every key the programs take is documented.
    rows = {}
    for line in checked_in.splitlines():
        m = re.match(r"^\| `([^`]+)` \| `(INV_[A-Z0-9_]+)` \| (`[^`]*`|\(empty\)) \|", line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3))
    keys = conf_reference()
    for name, env_shown, default in keys:
        env = "INV_" + name.replace(".", "_").upper()
        check(env_shown == env, "invctl config reference: key %s has environment name %s, want %s"
              % (name, env_shown, env))
        want_default = "`%s`" % default.replace("|", "\\|") if default else "(empty)"
        if check(name in rows, "key %s (invctl config reference) has no row in docs/CONFIGURATION.md" % name):
            check(rows[name] == (env, want_default),
                  "docs/CONFIGURATION.md row of %s: %s, want %s" % (name, rows[name], (env, want_default)))
    extra = set(rows) - {n for n, _, _ in keys}
    check(not extra, "docs/CONFIGURATION.md documents keys the programs do not take: %s" % sorted(extra))
    check("`kafka.<prop>`" in checked_in, "docs/CONFIGURATION.md does not document kafka.<prop>")

    for doc in ("docs/OPERATIONS.md", "README.md"):
        try:
            with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            check(False, "%s missing" % doc)
            continue
        check("CONFIGURATION.md" in text, "%s does not link to docs/CONFIGURATION.md" % doc)

    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok: docs/CONFIGURATION.md matches `invctl config reference` (%d keys)" % len(keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
