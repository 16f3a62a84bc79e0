"""Unit check (no broker): every C file of the project is formatted as
.clang-format says (clang-format --dry-run --Werror), so a change keeps the
style without a reviewer's eye. The generated common/codec/inv_schemas.c is
left out. Without clang-format (Debian package `clang-format`, installed by
deploy/local/install-deps.sh) the test is skipped, not passed.

To format a file: clang-format -i FILE (from the repository root).
"""
import shutil
import subprocess
import sys

from invtest import ROOT, check, failures, skip

GENERATED = {"common/codec/inv_schemas.c"}


def c_files():
    out = subprocess.run(["git", "-C", ROOT, "ls-files", "*.c", "*.h"], capture_output=True, text=True, check=True)
    return [f for f in out.stdout.split() if f not in GENERATED]


def main():
    tool = shutil.which("clang-format")
    if not tool:
        skip("clang-format not found (Debian package `clang-format`): formatting NOT checked")
    files = c_files()
    check(len(files) > 50, "only %d C files found" % len(files))
    r = subprocess.run([tool, "--dry-run", "--Werror", "-style=file"] + files, cwd=ROOT, capture_output=True,
                       text=True)
    bad = sorted({line.split(":", 1)[0] for line in r.stderr.splitlines() if ": error:" in line})
    check(r.returncode == 0, "%d file(s) not formatted as .clang-format says (clang-format -i FILE): %s"
          % (len(bad), " ".join(bad[:20])))
    if failures:
        sys.exit(1)
    print("%d C files formatted as .clang-format says" % len(files))


if __name__ == "__main__":
    main()
