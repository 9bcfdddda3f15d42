"""`urbsd explore`: how long a slider move takes, from the model run to the redrawn page, in one run.

Starts `urbsd explore --no-browser --port 0` (the bundled baseline) and measures, side by side
against the issue's 100 ms budget:

1. in process, the parts of one answer: the model run alone (`simulate`, recording the page's
   outputs), the whole answer (run + table + targets), and its JSON;
2. over HTTP (keep-alive, loopback): POST /api/run with a different lever value each time; the
   server's own `Server-Timing` (model run; whole request);
3. in headless Chromium (selenium): a slider moved with the keyboard, one step at a time, each
   waited for; the page's `performance.now()` figures: request (fetch to parsed JSON), redraw
   (tables and charts drawn, and the next animation frame), total;
4. the Monte Carlo band: POST /api/band (1,000 runs in one batch).

The machine's load average is printed before and after: the 2-core development machine is
shared, and every figure moves with it.

    .venv/bin/python benchmarks/explore_latency.py [N] [--screenshot docs/explore.png]

With --screenshot it then sets up the README's picture (a pinned setting, two levers moved, the
band on) and saves it as PNG.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "explore"), str(ROOT / "tests")]  # its browser helpers, their fonts helper

from explore_browser import chromium, explore_server, load_page, wait_for  # noqa: E402

BUDGET_MS = 100.0


def stats(values: list[float]) -> str:
    """median, 90th percentile and max of milliseconds, and the median against the budget."""
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    med = statistics.median(ordered)
    return (f"median {med:7.1f} ms  p90 {p90:7.1f} ms  max {ordered[-1]:7.1f} ms  "
            f"({med / BUDGET_MS:.2f}x the 100 ms budget)")


def in_process(n: int) -> None:
    from simulator.cli.common import load_one
    from simulator.engine.integrate import simulate
    from simulator.explore.answers import needed_outputs, run_answer
    from simulator.explore.levers import apply_settings

    base, model = load_one(None)
    outputs = needed_outputs(base)
    sims, answers, encodes = [], [], []
    for i in range(n):
        scenario, _ = apply_settings(base, {"central_city_pull": 1.0 + (i % 50) / 25})
        t0 = time.perf_counter()
        simulate(model, scenario.params, outputs=outputs)
        t1 = time.perf_counter()
        answer = run_answer(scenario, model)
        t2 = time.perf_counter()
        json.dumps(answer, ensure_ascii=False, allow_nan=False)
        t3 = time.perf_counter()
        sims.append((t1 - t0) * 1000)
        answers.append((t2 - t1) * 1000)
        encodes.append((t3 - t2) * 1000)
    print(f"in process, {n} settings:")
    print(f"  model run (simulate)          {stats(sims)}")
    print(f"  answer (run + table + targets) {stats(answers)}")
    print(f"  JSON of the answer            {stats(encodes)}")


def post(conn: http.client.HTTPConnection, path: str, body: dict) -> tuple[float, dict[str, float]]:
    data = json.dumps(body).encode()
    t0 = time.perf_counter()
    conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    wall = (time.perf_counter() - t0) * 1000
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status} {payload[:200]!r}")
    timing = {}
    for part in (response.getheader("server-timing") or "").split(","):
        name, _, dur = part.strip().partition(";dur=")
        if dur:
            timing[name] = float(dur)
    return wall, timing


def over_http(url: str, n: int) -> None:
    address = urlparse(url)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
    models, apps = [], []
    post(conn, "/api/run", {"set": {}})  # warm up
    for i in range(n):
        # (settlement_willingness: the browser below moves central_city_pull, and must not meet kept answers)
        _, timing = post(conn, "/api/run", {"set": {"settlement_willingness": 0.3 + i * 0.005}})
        models.append(timing["model"])
        apps.append(timing["app"])
    # (the server's own figures: this Python client adds tens of ms of its own on a loaded machine,
    # which curl and the browser do not; the browser's figures below are the end-to-end ones)
    print(f"HTTP POST /api/run, {n} settings (loopback, keep-alive), the server's Server-Timing:")
    print(f"  server: model run             {stats(models)}")
    print(f"  server: whole request         {stats(apps)}")
    bands = []
    for _ in range(3):
        wall, timing = post(conn, "/api/band", {"set": {}})
        bands.append((wall, timing["model"]))
    print("HTTP POST /api/band (1,000 Monte Carlo runs in one batch), 3 times:")
    print("  " + ", ".join(f"{w / 1000:.2f} s wall ({m / 1000:.2f} s model)" for w, m in bands))
    conn.close()


def in_browser(url: str, n: int, folder: Path, screenshot: Path | None) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with chromium(folder, width=1400, height=2000) as driver:
        load_page(driver, url)
        slider = driver.find_element(By.CSS_SELECTOR, 'input[type="range"][data-lever="central_city_pull"]')
        first = len(driver.execute_script("return window.urbsd.timings"))
        for _ in range(n):
            runs = driver.execute_script("return window.urbsd.runs")
            slider.send_keys(Keys.ARROW_RIGHT)  # a new value each time: no answer is cached
            wait_for(driver, f"window.urbsd.runs > {runs} && document.body.dataset.state === 'idle'")
        timings = driver.execute_script("return window.urbsd.timings")[first:]
        assert not any(t["cached"] for t in timings), "a cached answer among the measured moves"
        print(f"headless Chromium, {len(timings)} slider moves (keyboard, each waited for):")
        print(f"  request (fetch + server + JSON) {stats([t['request'] for t in timings])}")
        print(f"  redraw (tables, charts, frame)  {stats([t['redraw'] for t in timings])}")
        print(f"  total: input to redrawn page    {stats([t['total'] for t in timings])}")
        print(f"  of which server model run       {stats([t['model'] for t in timings])}")
        for _ in range(n):  # back over the same values: the answers the server kept
            runs = driver.execute_script("return window.urbsd.runs")
            slider.send_keys(Keys.ARROW_LEFT)
            wait_for(driver, f"window.urbsd.runs > {runs} && document.body.dataset.state === 'idle'")
        again = [t for t in driver.execute_script("return window.urbsd.timings")[first + len(timings):] if t["cached"]]
        if again:
            print(f"  the same {len(again)} values again (answers kept by the server, no model run):")
            print(f"  total: input to redrawn page    {stats([t['total'] for t in again])}")
        if screenshot is not None:
            take_screenshot(driver, url, screenshot)


def take_screenshot(driver, url: str, path: Path) -> None:
    """The README's picture: the baseline pinned, two levers moved, the band on."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    load_page(driver, url)
    driver.find_element(By.ID, "pin-name").send_keys("基准")
    driver.find_element(By.ID, "pin-button").click()
    for lever, value in (("hukou_openness", "1"), ("central_city_pull", "2")):
        runs = driver.execute_script("return window.urbsd.runs")
        box = driver.find_element(By.CSS_SELECTOR, f'input.lever-number[data-lever="{lever}"]')
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(value + "\t")
        wait_for(driver, f"window.urbsd.runs > {runs} && document.body.dataset.state === 'idle'")
    driver.find_element(By.ID, "band-toggle").click()
    wait_for(driver, "document.querySelector('#figures td.probability')", timeout=120)
    time.sleep(2.5)  # the pin's extra font glyphs
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(path))
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=40, help="settings per measurement (default 40)")
    parser.add_argument("--screenshot", type=Path, default=None, help="also save the README's screenshot here")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    in_process(args.n)
    with explore_server() as url, tempfile.TemporaryDirectory() as tmp:
        over_http(url, args.n)
        in_browser(url, args.n, Path(tmp), args.screenshot)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
