"""Helpers for driving `urbsd explore` in a real browser: Debian's headless Chromium through selenium.

Used by tests/explore/test_explore_browser.py and by benchmarks/explore_latency.py (which
also takes the README's screenshot). Chromium runs with a fontconfig that knows only
matplotlib's DejaVu fonts, so no CJK font of the machine can stand in for the page's own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def fonts_conf(folder: Path) -> Path:
    """A fontconfig file with only matplotlib's DejaVu fonts (no CJK font at all)."""
    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    conf = folder / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                    f"<fontconfig><dir>{ttf}</dir><cachedir>{folder / 'fc-cache'}</cachedir></fontconfig>\n",
                    encoding="utf-8")
    return conf


@contextmanager
def explore_server(*args: str, cache: Path | None = None, timeout: float = 120.0) -> Iterator[str]:
    """`urbsd explore --no-browser --port 0 ARGS` in a subprocess; yields the URL it prints.

    `cache`: its font cache folder (XDG_CACHE_HOME), so that a test makes the font itself."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)} if cache is not None else None
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "explore", "--no-browser", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        deadline = time.monotonic() + timeout
        while "http://" not in line and proc.poll() is None and time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
        if "http://" not in line:
            err = proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
            raise RuntimeError(f"urbsd explore did not start: {line!r} {err!r}")
        yield line.split("serving on ", 1)[1].split()[0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def chromium(folder: Path, *, width: int = 1400, height: int = 1000, downloads: Path | None = None) -> Iterator[Any]:
    """A selenium driver of headless Chromium (no CJK font but the page's), closed at the end."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    if CHROMIUM is None or CHROMEDRIVER is None:
        raise RuntimeError("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
                "--hide-scrollbars", "--force-device-scale-factor=1", f"--window-size={width},{height}",
                f"--user-data-dir={folder / 'profile'}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    env = {**os.environ, "FONTCONFIG_FILE": str(fonts_conf(folder)), "HOME": str(folder)}
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, env=env), options=options)
    try:
        if downloads is not None:
            driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, script: str, timeout: float = 60.0) -> Any:
    """Poll `return <script>` in the page until it is truthy; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(f"return {script}")
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {script}")
        time.sleep(0.05)


def load_page(driver: Any, url: str) -> None:
    """Open the page and wait until its first answer is drawn."""
    driver.get(url)
    wait_for(driver, "window.urbsd && window.urbsd.ready")


def value_cell(indicator: str, year: int) -> str:
    """JS selecting the target table's value cell of `indicator` in `year`."""
    return f"document.querySelector('#figures tr[data-indicator=\"{indicator}\"][data-year=\"{year}\"] td.value')"
