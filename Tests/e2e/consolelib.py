"""Helpers for the operator console's tests: a console host, one headless Chromium per module
(Debian `chromium` + `chromium-driver`, PyPI `selenium`), waits, keyboard walks, screenshots."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from hostlib import REPO_ROOT, http_request, wait_until

TOKEN = "console-e2e-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ACTION = {**AUTH, "Content-Type": "application/json"}


def console_host(make_host, env=None, **kw):
    """A host serving the console on its main listener (so the harness's /healthz wait works)."""
    return make_host(env={"HOOKHOST_CONSOLE": "main", "HOOKHOST_ADMIN_TOKEN": TOKEN, **(env or {})}, **kw)


def api(host, path, method="GET", body=None, headers=None, port=None):
    r = http_request(port or host.port, method, "/console/api/" + path,
                     json.dumps(body).encode() if body is not None else None, {**AUTH, **(headers or {})})
    return r


def api_json(host, path, **kw):
    r = api(host, path, **kw)
    assert r.status == 200, r
    return r.json()


def wait_state(host, msg_id, state, timeout=20.0):
    def check():
        r = api(host, "deliveries/" + msg_id)
        return r.status == 200 and r.json()["delivery"]["state"] == state
    wait_until(check, timeout, interval=0.1, what=f"{msg_id} {state}")


def start_browser(downloads: Path):
    """Headless Chromium, or a skip that says why it could not start (never for anything else)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("chromium or chromedriver missing (scripts/install-deps.sh installs Debian chromium and chromium-driver)")
    opts = Options()
    opts.binary_location = chromium
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000",
              "--no-first-run", "--disable-extensions", "--disable-background-networking", "--disable-sync",
              "--disable-default-apps", "--lang=en-US"]:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False})
    try:
        d = webdriver.Chrome(service=Service(driver_path), options=opts)
    except WebDriverException as e:
        pytest.skip(f"chromium cannot start here: {(e.msg or str(e)).splitlines()[0]}")
    d.set_page_load_timeout(30)
    d.set_script_timeout(30)
    return d


def open_console(driver, host, route="overview"):
    driver.get(f"http://127.0.0.1:{host.port}/console/#/{route}")
    wait(driver, lambda d: d.execute_script("return document.readyState") == "complete", 10, "the page")


def go(driver, route):
    driver.execute_script("location.hash = arguments[0]", "#/" + route)


def wait(driver, cond, timeout, what):
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: cond(d), message=f"waiting for {what}")


def text(driver, css):
    """The rendered text of the first match, read in one step (the page re-renders while polling)."""
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.innerText : ''", css)


def press(driver, *keys):
    """Keys to whatever has focus now (an element reference could be re-rendered away)."""
    ActionChains(driver).send_keys(*keys).perform()


def enter_token(driver):
    """By keyboard: the token button, the token, Enter (the dialog's first button uses it)."""
    driver.find_element(By.ID, "token-button").click()
    wait(driver, lambda d: d.execute_script("return document.getElementById('token-dialog').open"), 5, "the token dialog")
    assert driver.execute_script("return document.activeElement.id") == "token-input"
    press(driver, TOKEN, Keys.ENTER)
    wait(driver, lambda d: not d.execute_script("return document.getElementById('token-dialog').open"), 5, "the dialog to close")


def confirm(driver):
    wait(driver, lambda d: d.execute_script("return document.getElementById('confirm').open"), 5, "the confirmation")
    driver.find_element(By.ID, "confirm-ok").click()


def console_errors(driver) -> list:
    """What the page logged at error level since the last call (a failed request included)."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def tab_walk(driver, presses=120) -> list[dict]:
    """Presses Tab from the top of the page; what got focus each time, and whether it showed."""
    driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    press(driver, Keys.TAB)
    seen = []
    for _ in range(presses):
        info = driver.execute_script("""
            const e = document.activeElement;
            if (!e || e === document.body) return null;
            const s = getComputedStyle(e);
            return {tag: e.tagName.toLowerCase(), id: e.id, text: (e.textContent || '').trim().slice(0, 60),
                    href: e.getAttribute('href'), key: e.getAttribute('data-key'),
                    visible: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0};""")
        if info:
            if seen and info == seen[0] and len(seen) > 3:
                break  # came round again
            seen.append(info)
        press(driver, Keys.TAB)
    return seen


def screenshot(driver, name):
    """Saved when HOOKHOST_SCREENSHOTS names a directory (the README's pictures: docs/console)."""
    where = os.environ.get("HOOKHOST_SCREENSHOTS")
    if not where:
        return
    d = Path(where) if Path(where).is_absolute() else REPO_ROOT / where
    d.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return Math.min(1300, document.documentElement.scrollHeight)")
    driver.set_window_size(1280, max(800, height + 140))
    driver.save_screenshot(str(d / f"{name}.png"))
    driver.set_window_size(1280, 1000)


def timed(fn):
    t0 = time.monotonic()
    out = fn()
    return out, time.monotonic() - t0
