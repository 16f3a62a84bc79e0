"""The inv-view dashboard in headless Chromium (Debian chromium and
chromium-driver, selenium from tests/support/venv.sh), against the real pipeline:
inv-restock, inv-sale and inv-stock on unique topics, one inv-view.

  * the overview loads; searching a SKU opens its page, which shows every
    location's on_hand from inventory.stock;
  * a sale that drives the SKU below its safety stock shows up on the open
    page without a reload: the location's shortage state turns `low` or
    `out of stock` and the shortage appears in the recent list (SSE);
  * the same page laid out for a phone (390 px wide) has no horizontal
    overflow of the page itself;
  * screenshots go to the test's log dir; the page fetched nothing but
    127.0.0.1 (Chrome's performance log: every request the page made).

Skipped (77) when chromium, chromedriver or selenium is missing.
"""
import json
import os
import shutil
import sys
import time
import urllib.parse

import oracle
from invtest import bin, bootstrap, check, failures, free_port, http_get, log_dir, skip, start, wait_until

T0 = time.monotonic()
SKU = "DASH-1/ü"
LOC = "store-1"


def log(msg, *args):
    sys.stdout.write("[%7.1fs] %s\n" % (time.monotonic() - T0, msg % args if args else msg))
    sys.stdout.flush()


def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        skip("selenium is not installed (tests/support/venv.sh)")
    chromium = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        skip("chromium or chromedriver missing (apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
              "--disable-sync", "--no-first-run", "--window-size=1280,900"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=opts)


def requested_urls(drv):
    urls = []
    for entry in drv.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def event(kind, event_id, qty, ms):
    base = {"event_id": event_id, "source": "test", "location_id": LOC,
            "occurred_at": oracle.rfc3339_ms(ms), "lines": [{"sku": SKU, "quantity": qty}]}
    if kind == "restocks":
        base.update({"kind": "receipt", "purchase_order_id": None})
    else:
        base.update({"channel": "store", "reservation_id": None})
    return json.dumps(base).encode()


def main():
    drv = browser()
    from selenium.webdriver.common.by import By
    rig = oracle.KeeperRig("view-browser", 1, keeper_conf={"policy.default.reorder_point": 0,
                                                           "policy.default.reorder_quantity": 0,
                                                           "policy.default.safety_stock": 5})
    port = free_port()
    base = "http://127.0.0.1:%d" % port
    shots = log_dir()
    try:
        rig.create_topics()
        procs = [rig.start_processor("restocks"), rig.start_processor("sales"), rig.start_keeper("stock-0")]
        view = start([bin("inv-view"), "-b", bootstrap(), "--state-dir", rig.state_dir("view"),
                      "--http", "127.0.0.1:%d" % port], rig.env)
        now = int(time.time() * 1000)
        rig.produce([("restocks", None, event("restocks", "GR-1", 20, now))])

        def on_hand():
            status, body = http_get(port, "/api/stock/" + urllib.parse.quote(SKU, safe=""))
            if status != 200:
                return None
            doc = json.loads(body)
            rows = {r["location_id"]: r for r in doc["locations"]}
            return rows.get(LOC, {}).get("on_hand")
        wait_until(lambda: on_hand() == 20, 120, "the receipt in inv-view", interval=0.3)
        rig.assert_running(procs)

        drv.get(base + "/")
        wait_until(lambda: "live" in drv.find_element(By.ID, "status").text, 30, "the overview to go live")
        drv.save_screenshot(os.path.join(shots, "view-overview.png"))
        box = drv.find_element(By.ID, "q")
        box.send_keys(SKU)
        drv.find_element(By.CSS_SELECTOR, "#search button").click()

        from selenium.common.exceptions import WebDriverException

        def cell(loc, col):
            """The text of a cell of the locations table (None while it is being re-rendered)."""
            try:
                for r in drv.find_elements(By.CSS_SELECTOR, "#locations tbody tr"):
                    if r.get_attribute("data-location") == loc:
                        return r.find_elements(By.TAG_NAME, "td")[col].text
            except WebDriverException:  # stale: the live update replaced the row
                pass
            return None
        wait_until(lambda: cell(LOC, 1) == "20", 30, "the SKU page with on_hand 20")
        check(drv.find_element(By.ID, "sku-title").text == SKU, "SKU page title %r" % drv.find_element(
            By.ID, "sku-title").text)
        log("SKU page shows %s: on_hand %s", SKU, cell(LOC, 1))
        drv.execute_script("window.__marker = 42")  # gone if the page reloads

        rig.produce([("sales", None, event("sales", "T-1", 17, now + 1000))])
        wait_until(lambda: cell(LOC, 7) in ("low", "out of stock"), 60, "the shortage on the open page",
                   interval=0.3)
        wait_until(lambda: drv.find_elements(By.CSS_SELECTOR, "#sku-shortages li"), 30, "the recent shortage")
        check(drv.execute_script("return window.__marker") == 42, "the page reloaded instead of updating live")
        check(cell(LOC, 1) == "3", "on_hand after the sale: %s" % cell(LOC, 1))
        check((cell(LOC, 8), cell(LOC, 9)) == ("never", ""), "last count and variance of a row never counted: %s, %r"
              % (cell(LOC, 8), cell(LOC, 9)))
        log("shortage shown live: %s, on_hand %s", cell(LOC, 7), cell(LOC, 1))
        drv.save_screenshot(os.path.join(shots, "view-sku.png"))

        drv.set_window_size(390, 844)
        time.sleep(0.5)
        overflow = drv.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        check(overflow <= 1, "the SKU page is %d px wider than a phone screen" % overflow)
        drv.save_screenshot(os.path.join(shots, "view-sku-phone.png"))
        log("screenshots in %s", shots)

        urls = requested_urls(drv)
        outside = [u for u in urls if not (u.startswith(base + "/") or u.startswith(("data:", "blob:")))]
        check(urls, "no request seen in the performance log")
        check(not outside, "the page fetched from outside 127.0.0.1: %s" % outside[:5])
        log("%d requests, all to %s", len(urls), base)
        check(view.stop() == 0, "inv-view exit code")
        for p, rc in rig.stop():
            check(rc == 0, "%s exit %s" % (p.role, rc))
    finally:
        drv.quit()
        rig.cleanup()
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    log("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
