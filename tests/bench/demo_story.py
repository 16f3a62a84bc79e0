"""How believable the demo's traffic is: runs the demo's pipeline (inv-sale,
inv-return, inv-restock, inv-reserve, inv-stock with the demo's default
policy) on unique topics of the local broker, inv-loadgen with the flags
given after `--` for --seconds, then reads inventory.stock (read_committed,
last value per key) and prints, over the location rows, the share with
on_hand < 0, the share out_of_stock (shortage state), the share low, and
on_hand quantiles; one JSON line on stdout.

  tests/support/venv.sh  # once
  .venv/bin/python3 tests/bench/demo_story.py --build build --seconds 60 \\
      [--policies FILE.csv] -- --rate 2000 --skus 200 ...

The topics are deleted at the end; the broker keeps running.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import invtest  # noqa: E402
from invtest import bootstrap, delete_topics, start  # noqa: E402
from oracle import KeeperRig  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", help="the build directory whose bin/ to run")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--policies", help="a policy CSV to import first (invctl policy import)")
    ap.add_argument("--default", default="12,40,5", help="policy.default.* of inv-stock: rp,rq,ss")
    ap.add_argument("loadgen", nargs=argparse.REMAINDER, help="-- then inv-loadgen's flags")
    a = ap.parse_args()
    os.environ["INV_BIN_DIR"] = os.path.abspath(os.path.join(a.build, "bin"))
    flags = a.loadgen[1:] if a.loadgen[:1] == ["--"] else a.loadgen
    rp, rq, ss = (int(x) for x in a.default.split(","))
    rig = KeeperRig("story", a.partitions, keeper_conf={"policy.default.reorder_point": rp,
                                                       "policy.default.reorder_quantity": rq,
                                                       "policy.default.safety_stock": ss})
    try:
        rig.create_topics()
        if a.policies:
            subprocess.run([invtest.bin("invctl"), "-b", bootstrap(), "policy", "import", a.policies],
                           env=dict(os.environ, **rig.env), check=True, capture_output=True)
        procs = rig.start_processors() + [rig.start_keeper("stock-0")]
        lg = start([invtest.bin("inv-loadgen"), "-b", bootstrap()] + flags, rig.env)
        lg.role = "inv-loadgen"
        rig.procs.append(lg)
        t_end = time.monotonic() + a.seconds
        while time.monotonic() < t_end:
            rig.assert_running(procs + [lg])
            time.sleep(1)
        lg.stop(timeout=60)
        time.sleep(3)  # what inv-stock had read by then
        stock = rig.read_stock()
        rows = [r for (sku, loc), r in stock.items() if loc != "*"]
        n = len(rows) or 1
        on_hand = sorted(r["on_hand"] for r in rows)

        def q(p):
            return on_hand[min(len(on_hand) - 1, int(p * len(on_hand)))] if on_hand else None
        out = {
            "seconds": a.seconds, "rows": len(rows),
            "negative": round(sum(r["on_hand"] < 0 for r in rows) / n, 4),
            "out_of_stock": round(sum(r["shortage"] == "out_of_stock" for r in rows) / n, 4),
            "low": round(sum(r["shortage"] == "low" for r in rows) / n, 4),
            "on_hand_min": q(0), "on_hand_p10": q(0.1), "on_hand_median": q(0.5), "on_hand_max": q(1.0) if on_hand
            else None,
            "committed": sum(r["committed"] for r in rows),
            "reorders": sum(1 for _ in rig.read_events("reorders")),
        }
        print(json.dumps(out))
    finally:
        rig.cleanup()
        try:
            delete_topics(list(rig.topic.values()))
        except Exception as e:  # noqa: BLE001 - best effort
            sys.stderr.write("deleting topics: %s\n" % e)


if __name__ == "__main__":
    main()
