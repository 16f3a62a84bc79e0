"""The README's first command, used as a person would: deploy/local/demo.sh in
a real terminal (tmux), read the screen until stock moves and alerts arrive,
check that the story is believable (after STORY_S seconds of traffic, few
location rows oversold or out of stock: the planned policies and the receipts
answering reorders keep stock around the reorder points), press Ctrl-C, and
check that nothing it started is left running. The run has topics of its own
(INV_DEMO_TOPIC_PREFIX), deleted at the end."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from invtest import ROOT, bootstrap, delete_topics, free_port, http_get, log_dir, unique, wait_until

STORY_S = 45           # seconds of traffic before the story is judged
MAX_NEGATIVE = 0.05    # share of location rows with on_hand < 0 (the old demo: 13%)
MAX_OUT_OF_STOCK = 0.10
SKUS = 200             # demo.sh's default INV_DEMO_SKUS

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


def story(port):
    """(rows, share with on_hand < 0, share out_of_stock) over the location rows
    inv-stock serves on /stock/<sku>."""
    rows = []
    for k in range(1, SKUS + 1):
        status, body = http_get(port, "/stock/SKU-%d" % k)
        if status == 200:
            rows += json.loads(body)["locations"]
    n = len(rows) or 1
    return (len(rows), sum(r["on_hand"] < 0 for r in rows) / n,
            sum(r.get("shortage_state") == "out_of_stock" for r in rows) / n)


def dashboard(view_port):
    """The dashboard the demo prints, in headless Chromium (as test_view_browser):
    the overview goes live and shows the location x state grid and every
    channel the demo's map has; nothing is fetched outside 127.0.0.1; a
    screenshot is kept beside the test's logs."""
    from test_view_browser import browser, requested_urls
    from selenium.webdriver.common.by import By
    drv = browser()
    try:
        drv.get("http://127.0.0.1:%d/" % view_port)
        wait_until(lambda: "live" in drv.find_element(By.ID, "status").text, 60, "the dashboard to go live")
        wait_until(lambda: drv.find_elements(By.CSS_SELECTOR, "#grid td"), 60, "the location x state grid")
        wait_until(lambda: all(c in drv.find_element(By.ID, "channels").text for c in ("online", "marketplace")),
                   60, "the channels the demo's map has")
        shot = os.path.join(log_dir(), "demo-dashboard.png")
        drv.save_screenshot(shot)
        outside = [u for u in requested_urls(drv) if not u.startswith(("http://127.0.0.1:", "data:", "blob:"))]
        assert not outside, "the dashboard fetched from outside 127.0.0.1: %s" % outside
        print("dashboard live on 127.0.0.1:%d; screenshot %s" % (view_port, shot))
    finally:
        drv.quit()


def main():
    if not shutil.which("tmux"):
        sys.exit("tmux is not installed: deploy/local/install-deps.sh installs it")
    work = tempfile.mkdtemp(prefix="invdemo-")
    logs = os.path.join(work, "logs")
    port = free_port()
    view_port = free_port()
    prefix = unique("demo") + "."
    proc_ports = " ".join(str(free_port()) for _ in range(5))
    env = ("INV_DEMO_STATE=%s INV_DEMO_LOGS=%s INV_DEMO_RATE=400 INV_DEMO_HTTP=127.0.0.1:%d "
           "INV_DEMO_VIEW_HTTP=127.0.0.1:%d INV_DEMO_TOPIC_PREFIX=%s INV_DEMO_PROCESSOR_PORTS='%s'"
           % (os.path.join(work, "state"), logs, port, view_port, prefix, proc_ports))
    if os.environ.get("INV_DEMO_BUILD"):  # an existing Release build to reuse
        env += " INV_DEMO_BUILD=%s" % os.environ["INV_DEMO_BUILD"]
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

        # the story: judged once, after STORY_S seconds of traffic (loosely:
        # shares, not a timed absolute)
        while time.time() < view_since + STORY_S:
            assert "DEMO-EXITED" not in screen(), "demo exited early:\n" + screen()
            time.sleep(1)
        rows, negative, out = story(port)
        print("story after %ds: %d location rows, %.1f%% with on_hand < 0, %.1f%% out_of_stock"
              % (STORY_S, rows, 100 * negative, 100 * out))
        assert rows >= SKUS, "inv-stock serves %d location rows" % rows
        assert negative < MAX_NEGATIVE, "%.1f%% of rows oversold after %ds" % (100 * negative, STORY_S)
        assert out < MAX_OUT_OF_STOCK, "%.1f%% of rows out of stock after %ds" % (100 * out, STORY_S)

        dashboard(view_port)

        with open(os.path.join(logs, "pids")) as f:
            pids = [(int(line.split()[0]), line.split()[1]) for line in f if line.strip()]
        assert {name for _, name in pids} >= {"inv-sale", "inv-return", "inv-restock", "inv-reserve",
                                               "inv-transfer", "inv-stock", "inv-view", "inv-loadgen"}, pids
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
        try:  # best effort: leave the shared broker as it was
            from confluent_kafka.admin import AdminClient
            names = [t for t in AdminClient({"bootstrap.servers": bootstrap()}).list_topics(timeout=10).topics
                     if t.startswith(prefix)]
            if names:
                delete_topics(names)
        except Exception as e:  # noqa: BLE001 - cleanup must not hide the test's own failure
            print("deleting the demo's topics: %s" % e)


if __name__ == "__main__":
    main()
