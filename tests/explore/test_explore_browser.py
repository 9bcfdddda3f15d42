"""`urbsd explore` in a real browser: Debian's headless Chromium, driven by selenium, against the
command started as a planner starts it (`urbsd explore --no-browser --port 0`).

It loads the page, moves a slider with the keyboard, and sees the 2035 value change to what
`simulator.run` gives for that setting; turns the Monte Carlo band on; pins and saves (the
downloaded file loads with the sha256 the page shows); and finds no Content-Security-Policy
violation or script error in the console. Chinese is checked to render from the page's own font
on a browser that has no CJK font: glyphs of two characters differ from each other and from a
"tofu" box, while the same characters in the browser's default font are all the same box (the
control: proof that no system font stands in).
"""

from __future__ import annotations

import os
import time

import pytest
from explore_browser import CHROMEDRIVER, CHROMIUM, chromium, explore_server, load_page, value_cell, wait_for

import simulator

pytestmark = pytest.mark.skipif((CHROMIUM is None or CHROMEDRIVER is None) and not os.environ.get("CI"),
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    with explore_server(cache=tmp_path_factory.mktemp("cache")) as address:
        yield address


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chromium")
    downloads = folder / "downloads"
    downloads.mkdir()
    with chromium(folder, downloads=downloads) as driver:
        driver.downloads = downloads
        yield driver


def _problems(driver) -> list[str]:
    """Console entries that are errors (a CSP violation is one), other than the expected 400s."""
    return [e["message"] for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and "status of 400" not in e["message"]]


GLYPHS = """
const draw = (font, ch) => {
  const c = document.createElement("canvas"); c.width = 64; c.height = 64;
  const ctx = c.getContext("2d"); ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, 64, 64);
  ctx.fillStyle = "#000"; ctx.font = font; ctx.textBaseline = "top"; ctx.fillText(ch, 8, 8);
  return Array.from(ctx.getImageData(0, 0, 64, 64).data.filter((v, i) => i % 4 === 0)).map((v) => v < 128 ? 1 : 0).join("");
};
const chars = arguments[0];
return {
  page: chars.map((ch) => draw('40px "urbsd CJK"', ch)),
  control: chars.map((ch) => draw("40px sans-serif", ch)),
  loaded: document.fonts.check('40px "urbsd CJK"', chars[0] + chars[1]),
};
"""


def test_chinese_renders_from_the_page_font_without_a_system_cjk_font(url, browser):
    load_page(browser, url)
    first, second = "城", "镇"  # both in the page's words (常住人口城镇化率)
    drawn = browser.execute_script(GLYPHS, [first, second, "\ue000"])
    assert drawn["loaded"]
    page, control = drawn["page"], drawn["control"]
    # the control: the browser's own fonts draw the same box for all three
    assert control[0] == control[1] == control[2], "the browser has a CJK font of its own: the check cannot tell"
    assert page[0] != page[1] and page[0] != page[2] and page[1] != page[2]
    assert min(page[0].count("1"), page[1].count("1")) > 40  # real strokes
    heading = browser.execute_script("return document.getElementById('paths-title').textContent")
    assert heading == "常住人口与户籍人口城镇化率"


def test_moving_a_slider_redraws_the_2035_value_of_simulator_run(url, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    load_page(browser, url)
    base = simulator.run()
    row2035 = base["time"] == 2035
    cell = value_cell("urbanization_rate", 2035)
    assert float(wait_for(browser, f"{cell}.dataset.value")) == base.loc[row2035, "urbanization_rate"].item()

    slider = browser.find_element(By.CSS_SELECTOR, 'input[type="range"][data-lever="central_city_pull"]')
    runs = browser.execute_script("return window.urbsd.runs")
    slider.send_keys(Keys.END)  # a planner's keyboard: the slider to its upper bound
    setting = float(slider.get_attribute("value"))
    assert setting == 3.0
    expected = simulator.run(central_city_pull=setting).loc[row2035, "urbanization_rate"].item()
    assert expected != base.loc[row2035, "urbanization_rate"].item()
    wait_for(browser, f"window.urbsd.runs > {runs} && document.body.dataset.state === 'idle' && "
                      f"{cell}.dataset.value === '{expected!r}'")
    assert browser.execute_script(f"return {cell}.textContent") == f"{expected * 100:.1f}%"
    # the number box beside the slider and the "changed" line follow
    number = browser.find_element(By.CSS_SELECTOR, 'input.lever-number[data-lever="central_city_pull"]')
    assert float(number.get_attribute("value")) == 3.0
    assert "1" in browser.find_element(By.ID, "changed").text

    # a value typed outside the bounds: one line on the page, the last good answer stays
    number.send_keys(Keys.CONTROL, "a")
    number.send_keys("7", Keys.TAB)
    wait_for(browser, "document.getElementById('error').textContent.includes('outside the bounds')")
    error = browser.find_element(By.ID, "error").text
    assert "set.central_city_pull: 7 is outside the bounds [0, 3] of this constant" in error
    assert "\n" not in error and "Traceback" not in error
    assert browser.execute_script(f"return {cell}.dataset.value") == repr(expected)
    assert not _problems(browser)
    timings = browser.execute_script("return window.urbsd.timings")
    assert timings and all(t["total"] > 0 for t in timings)


def test_band_pin_and_save(url, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from simulator.scenario.resolve import load_scenario

    load_page(browser, url)
    slider = browser.find_element(By.CSS_SELECTOR, 'input[type="range"][data-lever="hukou_openness"]')
    runs = browser.execute_script("return window.urbsd.runs")
    slider.send_keys(Keys.END)
    wait_for(browser, f"window.urbsd.runs > {runs} && document.body.dataset.state === 'idle'")

    browser.find_element(By.ID, "band-toggle").click()
    probability = wait_for(browser, "document.querySelector('#figures td.probability')"
                                    " && document.querySelector('#figures td.probability').dataset.value", timeout=120)
    assert 0.0 <= float(probability) <= 1.0

    browser.find_element(By.ID, "pin-name").send_keys("落户全开")
    browser.find_element(By.ID, "pin-button").click()
    headers = browser.execute_script("return [...document.querySelectorAll('#compare thead th')].map(e => e.textContent)")
    assert any(h.startswith("落户全开") for h in headers) and len(headers) == 3

    name = browser.find_element(By.ID, "save-name")
    name.clear()
    name.send_keys("open-hukou")
    browser.find_element(By.ID, "save-label").send_keys("落户全开")
    browser.find_element(By.ID, "save-button").click()
    sha = wait_for(browser, "document.getElementById('save-status').dataset.sha256")
    path = browser.downloads / "open-hukou.yaml"
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    saved = load_scenario(path)
    assert saved.sha256 == sha
    assert saved.resolved["set"]["hukou_openness"] == 1.0

    browser.find_element(By.ID, "lang-en").click()  # the same page in English, pins and all
    assert browser.find_element(By.ID, "paths-title").text == "Resident and hukou urbanization rates"
    assert browser.execute_script("return document.querySelector('#figures thead th').textContent") == "Indicator"
    assert browser.find_element(By.ID, "save-status").text.startswith("Saved open-hukou.yaml")
    assert not _problems(browser)
