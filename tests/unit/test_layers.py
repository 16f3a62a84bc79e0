"""Unit check (no broker): the libraries link only downwards, and
docs/ARCHITECTURE.md names each of them.

The build writes $INV_BUILD_DIR/inv_layers.txt (the last block of the
top-level CMakeLists.txt): one line per target of the GLOBAL property
INV_LIBRARIES, "name layer dep...", the deps being its direct links that are
libraries of ours too.

  * every library has an integer INV_LAYER;
  * every direct link goes to a library of a strictly lower layer: nothing
    links upwards, and libraries of one layer (inv_base and inv_model;
    inv_kafka, inv_stock and inv_http) do not link each other;
  * docs/ARCHITECTURE.md mentions every library target by name.
"""
import os
import re
import sys

from invtest import ROOT, check, failures


def layers():
    """{name: (layer or None, [deps])} from inv_layers.txt."""
    build = os.environ.get("INV_BUILD_DIR")
    if not build:
        raise SystemExit("FAIL: INV_BUILD_DIR not set: run the test through ctest")
    path = os.path.join(build, "inv_layers.txt")
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise SystemExit("FAIL: %s missing: the top-level CMakeLists.txt writes it at configure time" % path)
    libs = {}
    for line in lines:
        if not line.strip():
            continue
        name, layer, *deps = line.split()
        libs[name] = (int(layer) if re.fullmatch(r"-?\d+", layer) else None, deps)
    return libs


def main():
    libs = layers()
    check(len(libs) >= 9, "only %d libraries in inv_layers.txt: %s" % (len(libs), sorted(libs)))
    for name, (layer, _) in sorted(libs.items()):
        check(layer is not None, "%s has no integer INV_LAYER (set_target_properties(%s PROPERTIES INV_LAYER n))"
              % (name, name))
    for name, (layer, deps) in sorted(libs.items(), key=lambda kv: (kv[1][0] or 0, kv[0])):
        for dep in deps:
            dep_layer = libs[dep][0]
            if layer is None or dep_layer is None:
                continue
            check(dep_layer < layer, "%s (layer %d) links %s (layer %d): a library links only libraries of a "
                  "lower layer" % (name, layer, dep, dep_layer))

    arch = os.path.join(ROOT, "docs", "ARCHITECTURE.md")
    try:
        with open(arch, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        check(False, "docs/ARCHITECTURE.md missing: it must describe every library (%s)" % ", ".join(sorted(libs)))
    else:
        missing = sorted(n for n in libs if not re.search(r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % re.escape(n), text))
        check(not missing, "docs/ARCHITECTURE.md does not mention the libraries %s" % ", ".join(missing))

    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    for name, (layer, deps) in sorted(libs.items(), key=lambda kv: (kv[1][0], kv[0])):
        print("layer %d  %-11s -> %s" % (layer, name, " ".join(deps) or "-"))
    print("ok: %d libraries link only downwards, docs/ARCHITECTURE.md names each" % len(libs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
