"""The HTML player in a real headless browser (Chromium through chromedriver and selenium): the page loads
with no console errors, playing advances the shown step, the slider and the arrow keys show the
requested step, the speed menu sets the rate. Skipped, saying why, where no Chromium is installed
(.ci/run installs Debian's chromium and chromium-driver)."""
import shutil
import time

import pytest

import animopt

SCENE = """
title = "player"
[problem]
type = "rosenbrock"
[train]
steps = 60
init = [-1.5, 2.0]
[[optimizer]]
type = "adam"
lr = 0.1
[render]
views = ["contour"]
size = [160, 120]
fps = 20
duration = 2.0
timeline = "linear"
formats = ["html"]
"""


def _browser_paths():
    chrome = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                  None)
    driver = shutil.which("chromedriver")
    return chrome, driver


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
    from selenium.webdriver.chrome.service import Service

    chrome, driver = _browser_paths()
    if not chrome or not driver:
        pytest.skip("no Chromium and chromedriver on PATH (Debian: apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
              "--autoplay-policy=no-user-gesture-required", "--disable-background-networking"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        d = webdriver.Chrome(service=Service(driver), options=opts)
    except Exception as e:        # a browser that cannot start here (no display libraries, sandbox)
        pytest.skip(f"Chromium did not start: {str(e).splitlines()[0]}")
    yield d
    d.quit()


def _state(d):
    return d.execute_script(
        "var r = document.querySelector('.animopt-player'); var v = r.querySelector('video');"
        "return {step: parseInt(r.dataset.step), frame: parseInt(r.dataset.frame), paused: v.paused,"
        " text: r.querySelector('.ao-step').textContent, ready: v.readyState, rate: v.playbackRate,"
        " duration: v.duration, error: v.error && v.error.code};")


def _wait(d, cond, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        s = _state(d)
        if cond(s):
            return s
        time.sleep(0.05)
    return _state(d)


def test_player_in_headless_chromium(tmp_path, browser):
    from selenium.webdriver.common.keys import Keys

    sc = animopt.parse_scene(SCENE, tmp_path / "player.toml")
    page = animopt.render(sc, tmp_path)[0]
    html = page.read_text()
    steps = [int(x) for x in html.split("STEPS = [", 1)[1].split("]", 1)[0].split(",")]
    assert len(steps) == 40

    d = browser
    d.get_log("browser")                                  # nothing from before this page
    d.get(page.as_uri())
    s = _wait(d, lambda s: s["ready"] >= 2)
    assert s["error"] is None and s["ready"] >= 2, s      # the embedded WebM decodes
    assert s["duration"] == pytest.approx(2.0, abs=0.06)
    assert s["step"] == 0 and s["paused"] and "step  0/60" in s["text"]

    # play: the shown step advances
    d.find_element("css selector", ".ao-play").click()
    s = _wait(d, lambda s: s["frame"] >= 5)
    assert not s["paused"] and s["frame"] >= 5 and s["step"] == steps[s["frame"]] > 0, s
    d.find_element("css selector", ".ao-play").click()
    s = _wait(d, lambda s: s["paused"])
    assert s["paused"]

    # the slider shows the requested step
    d.execute_script("var sl = document.querySelector('.ao-slider'); sl.value = 25;"
                     "sl.dispatchEvent(new Event('input', {bubbles: true}));")
    s = _wait(d, lambda s: s["frame"] == 25)
    assert s["frame"] == 25 and s["step"] == steps[25] and f"step {steps[25]:>2}/60" in s["text"]
    time.sleep(0.3)                                       # after the seek, still there
    assert _state(d)["frame"] == 25
    assert d.execute_script("return document.querySelector('video').currentTime") == pytest.approx(25.5 / 20)

    # arrow keys step one frame
    root = d.find_element("css selector", ".animopt-player")
    root.send_keys(Keys.ARROW_RIGHT)
    assert _wait(d, lambda s: s["frame"] == 26)["step"] == steps[26]
    root.send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT)
    assert _wait(d, lambda s: s["frame"] == 24)["step"] == steps[24]

    # speed 0.25x to 4x
    from selenium.webdriver.support.ui import Select

    speeds = Select(d.find_element("css selector", ".ao-speed"))
    assert [o.get_attribute("value") for o in speeds.options][0::5] == ["0.25", "4"]
    speeds.select_by_value("4")
    assert _state(d)["rate"] == 4.0

    errors = [e for e in d.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
