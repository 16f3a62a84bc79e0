"""The README's first command, used as a person would: deploy/local/demo.sh in
a real terminal (tmux), read the screen until stock moves and alerts arrive,
press Ctrl-C, and check that nothing it started is left running."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

from invtest import ROOT, free_port

SESSION = "invdemo%d" % os.getpid()


def tmux(*args, check=True):
    return subprocess.run(["tmux", *args], check=check, capture_output=True, text=True)


def screen():
    return tmux("capture-pane", "-p", "-t", SESSION, check=False).stdout



def throughput(text):
    for line in text.splitlines():
        if line.startswith("throughput "):
            return float(line.split()[1])
    return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie of ours would still answer; look at its state
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def main():
    if not shutil.which("tmux"):
        sys.exit("tmux is not installed: deploy/local/install-deps.sh installs it")
    work = tempfile.mkdtemp(prefix="invdemo-")
    logs = os.path.join(work, "logs")
    env = ("INV_DEMO_STATE=%s INV_DEMO_LOGS=%s INV_DEMO_RATE=400 INV_DEMO_HTTP=127.0.0.1:%d "
           "INV_DEMO_VIEW_HTTP=127.0.0.1:%d" % (os.path.join(work, "state"), logs, free_port(), free_port()))
    tmux("new-session", "-d", "-s", SESSION, "-x", "170", "-y", "60",
         "cd %s && %s deploy/local/demo.sh; echo DEMO-EXITED $?; sleep 600" % (ROOT, env))
    try:
        # The build and the broker come first; then the live view must show
        # stock moving and both kinds of alert within a minute of starting.
        deadline = time.time() + 600
        seen_moving = seen_reorder = seen_shortage = False
        view_since = None
        text = ""
        while time.time() < deadline:
            text = screen()
            if "DEMO-EXITED" in text:
                raise AssertionError("demo exited early:\n" + text)
            if "LATEST REORDERS" in text:
                view_since = view_since or time.time()
                seen_moving |= (throughput(text) or 0) > 0
                after = text.split("LATEST REORDERS", 1)[1]
                reorders, _, shortages = after.partition("LATEST SHORTAGES")
                seen_reorder |= "REORDER " in reorders
                seen_shortage |= any(s in shortages for s in ("low ", "out_of_stock", "restored"))
                if seen_moving and seen_reorder and seen_shortage:
                    break
                assert time.time() - view_since < 90, "no moving stock and alerts after 90 s:\n" + text
            time.sleep(1)
        assert seen_moving and seen_reorder and seen_shortage, "demo view never got going:\n" + text
        print(text)

        with open(os.path.join(logs, "pids")) as f:
            pids = [(int(line.split()[0]), line.split()[1]) for line in f if line.strip()]
        assert {name for _, name in pids} >= {"inv-sale", "inv-return", "inv-restock", "inv-stock",
                                               "inv-view", "inv-loadgen"}, pids
        tmux("send-keys", "-t", SESSION, "C-c")
        deadline = time.time() + 60
        while time.time() < deadline and "DEMO-EXITED" not in screen():
            time.sleep(0.5)
        text = screen()
        assert "DEMO-EXITED 0" in text or "DEMO-EXITED 130" in text, "demo did not stop cleanly:\n" + text
        left = [(pid, name) for pid, name in pids if alive(pid)]
        assert not left, "still running after Ctrl-C: %s" % left
        print("demo stopped; no process left behind")
    finally:
        tmux("kill-session", "-t", SESSION, check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
