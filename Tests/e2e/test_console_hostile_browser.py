"""Issue 22, attacked in a real browser (headless Chromium through Selenium): hostile delivery data
(ids, stderr, stdout, outputs, user_metadata carrying markup and script) is shown as text on every
page, reachable by keyboard, with no console errors; a big delivery's page does not fetch it again
while it has not changed."""
from __future__ import annotations

import urllib.parse

import pytest
from selenium.webdriver.common.by import By

from consolelib import (api, confirm, console_errors, console_host, enter_token, go, open_console, start_browser, tab_walk,
                        text, wait, wait_state)
from hostlib import event_body, wait_until

EVIL = '"><img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
HOSTILE = """#!/bin/sh
cat > /dev/null
echo '<img src=x onerror="window.__pwned=3"><script>window.__pwned=4</script>' >&2
echo '<b>not json</b><img src=x onerror="window.__pwned=5">'
exit 1
"""
MARKUP_OUTPUT = """#!/bin/sh
cat > /dev/null
echo '{"<img src=x onerror=window.__pwned=6>":"<script>window.__pwned=7</script>"}'
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    d = start_browser(tmp_path_factory.mktemp("downloads"))
    yield d
    d.quit()


@pytest.fixture
def driver(browser):
    console_errors(browser)
    yield browser
    errors = console_errors(browser)
    browser.get("about:blank")
    assert not errors, f"JavaScript console errors: {errors}"


def injected(driver):
    """What markup in the data would have made of the page: elements, or a script having run."""
    return driver.execute_script(
        "return {pwned: window.__pwned === undefined ? null : window.__pwned,"
        " elements: document.querySelectorAll('main img, main script, main b, #flash img, #flash script').length}")


def test_hostile_delivery_data_is_shown_as_text_everywhere(make_host, fns, driver):
    fns.add_script("evil", HOSTILE, sidecar={"on": ["evil"], "max_attempts": 1})
    fns.add_script("markup", MARKUP_OUTPUT, sidecar={"on": ["markup"]})
    host = console_host(make_host)
    dead = host.send(event_body("evil", data={"id": EVIL, "user_metadata": {EVIL: EVIL}}), type_="evil", msg_id=EVIL)
    assert dead.status == 202, dead
    done = host.send(event_body("markup", data={"user_metadata": {"x": EVIL}}), type_="markup")
    wait_state(host, urllib.parse.quote(EVIL, safe=""), "dead")
    wait_state(host, done.msg_id, "done")

    routes = [("deliveries", EVIL), ("dead", "evil"), ("functions", "markup"),
              ("delivery/" + urllib.parse.quote(EVIL, safe=""), "window.__pwned=3"),
              ("delivery/" + done.msg_id, "window.__pwned=7")]
    for route, shown in routes:
        open_console(driver, host, route)
        wait(driver, lambda d: "updated" in text(d, "#live"), 10, f"{route} loaded")
        wait(driver, lambda d: shown in text(d, "main"), 10, f"{route} showing {shown!r} as text")
        assert injected(driver) == {"pwned": None, "elements": 0}, route
    # The dead one's page: its id, stderr and stdout start verbatim; its actions by keyboard.
    open_console(driver, host, "delivery/" + urllib.parse.quote(EVIL, safe=""))
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#attempts tr.attempt"), 10, "the attempt")
    main = text(driver, "main")
    assert EVIL in main and "<b>not json</b>" in main and "<script>window.__pwned=4</script>" in main
    reached = {x["id"] for x in tab_walk(driver)}
    assert {"replay", "purge"} <= reached, reached
    # Replayed from its page (the id in the action's URL is encoded, not markup).
    enter_token(driver)
    # The token dialog re-renders the page: the button is looked up and clicked in one step.
    driver.execute_script("document.getElementById('replay').click()")
    confirm(driver)
    wait(driver, lambda d: "Replayed 1" in text(d, "#flash"), 10, "the replay")
    wait_until(lambda: api(host, "deliveries/" + urllib.parse.quote(EVIL, safe="")).json()["delivery"]["attempt"] == 2, 20,
               what="the second attempt")
    assert injected(driver) == {"pwned": None, "elements": 0}


def test_a_big_unchanged_delivery_is_not_fetched_again_by_its_page(make_host, fns, driver):
    fns.add("ping")
    host = console_host(make_host, env={"HOOKHOST_MAX_BODY": str(8 << 20)})
    assert api(host, "functions/ping/pause", method="POST", body={}, headers={"Content-Type": "application/json"}).status == 200
    # Paused, it stays received: its page polls it every second.
    r = host.send(event_body("ping", data={"id": "batches/big", "blob": "b" * (2 << 20)}), timeout=30)
    assert r.status == 202, r
    open_console(driver, host, "delivery/" + r.msg_id)
    wait(driver, lambda d: "received" in text(d, "#facts"), 10, "the delivery")
    path = "/console/api/deliveries/" + r.msg_id

    def fetches(d):
        return d.execute_script("return performance.getEntriesByType('resource')"
                                ".filter(e => new URL(e.name).pathname === arguments[0])"
                                ".map(e => ({status: e.responseStatus, body: e.encodedBodySize}))", path)
    wait(driver, lambda d: len(fetches(d)) >= 4, 15, "four polls of the delivery")
    seen = fetches(driver)
    assert seen[0]["status"] == 200 and seen[0]["body"] > 2 << 20, seen
    assert all(f["status"] == 304 and f["body"] == 0 for f in seen[1:]), seen
    assert r.msg_id in text(driver, "#stdin")


def test_a_link_naming_an_objects_own_property_is_no_such_page(make_host, fns, driver):
    """`#/__proto__`, `#/constructor`: names every JavaScript object has must not be taken for
    pages (the page threw and stayed blank)."""
    fns.add("ping")
    host = console_host(make_host)
    for route in ["__proto__", "constructor", "toString", "hasOwnProperty"]:
        open_console(driver, host, route)
        wait(driver, lambda d: "No such page" in text(d, "main h1"), 5, f"#/{route} answered as no such page")
        assert injected(driver) == {"pwned": None, "elements": 0}
    go(driver, "overview")
    wait(driver, lambda d: "Overview" in text(d, "main h1"), 5, "the overview again")

