"""Issue 22: who may read the console and act through it, where it is served, and its headers —
over HTTP against the real binary (the browser tests are in test_console.py)."""
from __future__ import annotations

import json

from consolelib import ACTION, AUTH, TOKEN, console_host
from hostlib import event_body, free_port, http_request, wait_until

READS = ["status", "samples", "deliveries", "deliveries/some-id", "dead", "functions"]
ACTIONS = ["deliveries/some-id/replay", "deliveries/some-id/purge", "dead/replay", "functions/ping/pause", "functions/ping/resume"]


def ask(port, method, path, headers=None, body=None):
    return http_request(port, method, path, body if body is not None else (b"{}" if method == "POST" else None), headers or {})


def wrong_token_lines(host):
    return [r for r in host.log_records() if r.get("msg") == "console: wrong admin token"]


def test_without_the_token_reads_and_actions_are_401_and_a_wrong_one_is_logged_rate_limited(make_host, fns):
    fns.add("ping")
    # Loopback treated as remote: reads need the token too.
    host = console_host(make_host, env={"HOOKHOST_CONSOLE_TRUST_LOOPBACK": "false"})
    page = ask(host.port, "GET", "/console/")
    assert page.status == 200 and b"console.js" in page.body  # the page holds no data; it asks for the token
    for path in READS:
        r = ask(host.port, "GET", "/console/api/" + path)
        assert r.status == 401, (path, r)
        assert r.headers.get("www-authenticate", "").startswith("Bearer"), r.headers
    for path in ACTIONS:
        r = ask(host.port, "POST", "/console/api/" + path, {"Content-Type": "application/json"})
        assert r.status == 401, (path, r)

    wrong = {"Authorization": "Bearer not-the-token-but-long-enough", "Content-Type": "application/json"}
    for path in READS + ACTIONS:
        r = ask(host.port, "POST" if path in ACTIONS else "GET", "/console/api/" + path, wrong)
        assert r.status == 401 and r.json() == {"error": "wrong admin token"}, (path, r)
    wait_until(lambda: wrong_token_lines(host), 5, what="the wrong-token line")
    lines = wrong_token_lines(host)
    assert len(lines) == 1, lines  # 11 wrong tokens within 10 s: one line
    assert lines[0]["peer"].startswith("127.0.0.1:") and lines[0]["suppressed"] == 0
    assert "not-the-token" not in host.log_text() and TOKEN not in host.log_text()

    for path in READS:
        r = ask(host.port, "GET", "/console/api/" + path, AUTH)
        assert r.status == (404 if path == "deliveries/some-id" else 200), (path, r)
    r = ask(host.port, "POST", "/console/api/functions/ping/pause", ACTION)
    assert r.status == 200 and r.json()["paused"] is True, r


def test_an_action_from_a_foreign_origin_is_refused_even_with_the_token(make_host, fns):
    fns.add("ping")
    host = console_host(make_host)
    origin = f"http://127.0.0.1:{host.port}"
    # What a foreign page can send without a preflight: a form post, no Authorization header.
    for headers in [{"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"},
                    {"Origin": "http://evil.example", "Content-Type": "text/plain"},
                    {"Origin": "null", "Content-Type": "application/json"}]:
        r = ask(host.port, "POST", "/console/api/functions/ping/pause", headers, b"a=1")
        assert r.status in (401, 403, 415), (headers, r)
    # Even the right token does not make a foreign origin's action pass.
    r = ask(host.port, "POST", "/console/api/functions/ping/pause", {**ACTION, "Origin": "http://evil.example"})
    assert r.status == 403, r
    r = ask(host.port, "POST", "/console/api/functions/ping/pause", {**AUTH, "Content-Type": "text/plain", "Origin": origin})
    assert r.status == 415, r
    assert http_request(host.port, "GET", "/console/api/functions").json()["functions"][0]["paused"] is False
    r = ask(host.port, "POST", "/console/api/functions/ping/pause", {**ACTION, "Origin": origin})
    assert r.status == 200, r
    # No CORS: a foreign page's script cannot read the answers either.
    r = ask(host.port, "GET", "/console/api/status", {"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_every_console_answer_carries_a_strict_policy(make_host, fns):
    fns.add("ping")
    host = console_host(make_host)
    for method, path, headers in [("GET", "/console/", {}), ("GET", "/console/console.js", {}), ("GET", "/console/console.css", {}),
                                  ("GET", "/console/api/status", {}), ("GET", "/console/api/nothing", {}),
                                  ("POST", "/console/api/dead/replay", {})]:
        r = ask(host.port, method, path, headers)
        csp = r.headers.get("content-security-policy", "")
        for directive in ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "connect-src 'self'"]:
            assert directive in csp, (path, csp)
        assert "unsafe-inline" not in csp and "http" not in csp
        assert r.headers.get("x-content-type-options") == "nosniff" and r.headers.get("referrer-policy") == "no-referrer", (path, r.headers)
    page = ask(host.port, "GET", "/console/").body.decode()
    assert "<script>" not in page and "style=" not in page and "http://" not in page and "https://" not in page
    script = ask(host.port, "GET", "/console/console.js").body.decode()
    assert "innerHTML" not in script and "eval(" not in script and "http://" not in script.replace("http://www.w3.org/2000/svg", "")


def test_served_on_the_admin_listener_or_the_main_one_only_when_asked(make_host, fns):
    fns.add("ping")
    admin = free_port()
    host = make_host(start=False)
    host.start(["--admin-listen", f"127.0.0.1:{admin}"], env={"HOOKHOST_ADMIN_TOKEN": TOKEN}, wait=False)
    wait_until(lambda: _status(admin, "/healthz") == 200, 10, what="the admin listener")
    assert ask(admin, "GET", "/console/").status == 200
    assert ask(admin, "GET", "/console").headers.get("location") == "/console/"
    assert ask(host.port, "GET", "/console/").status == 404  # not next to the deliveries
    assert ask(admin, "GET", "/console/api/status").status == 200  # a loopback listener: reads open
    r = ask(admin, "POST", "/console/api/functions/ping/pause", {"Content-Type": "application/json"})
    assert r.status == 401, r
    assert host.send(event_body("ping")).status == 202  # deliveries unaffected
    wait_until(lambda: any(rec.get("msg") == "console" and rec.get("listener") == "admin" for rec in host.log_records()), 5, what="the console log line")
    host.stop()

    host.start(["--admin-listen", f"127.0.0.1:{admin}"], env={"HOOKHOST_CONSOLE": "off"}, wait=False)
    wait_until(lambda: _status(admin, "/healthz") == 200, 10, what="the admin listener")
    assert ask(admin, "GET", "/console/").status == 404
    host.stop()

    host.start()  # no admin listener, nothing asked: off
    assert ask(host.port, "GET", "/console/").status == 404
    # The log is written by a background writer: the line may land just after the host answers.
    wait_until(lambda: any(rec.get("msg", "").startswith("console off") for rec in host.log_records()), 5, what="the console-off log line")
    host.stop()

    # Without a token, actions say how to allow them.
    host.start(env={"HOOKHOST_CONSOLE": "main"})
    r = ask(host.port, "POST", "/console/api/functions/ping/pause", {"Content-Type": "application/json"})
    assert r.status == 401 and "HOOKHOST_ADMIN_TOKEN" in r.json()["error"], r


def test_a_short_token_or_a_console_path_for_deliveries_refuses_the_start(make_host, fns):
    fns.add("ping")
    host = make_host(start=False)
    for env, args, setting in [({"HOOKHOST_ADMIN_TOKEN": "short"}, [], "HOOKHOST_ADMIN_TOKEN"),
                               ({"HOOKHOST_CONSOLE": "main"}, ["--path", "/console/hooks"], "HOOKHOST_PATH"),
                               ({"HOOKHOST_CONSOLE": "sideways"}, [], "HOOKHOST_CONSOLE")]:
        host.start(args, env=env, wait=False)
        assert host.proc.wait(timeout=10) == 2
        log = host.log_text()
        assert setting in log, log
        if setting == "HOOKHOST_ADMIN_TOKEN":
            assert "short" not in log, log  # a secret's value is never printed, even a bad one


def _status(port, path):
    try:
        return http_request(port, "GET", path, timeout=1).status
    except OSError:
        return 0


def test_console_pages_are_json_with_a_cursor(make_host, fns):
    fns.add("ping")
    host = console_host(make_host)
    ids = [host.send(event_body("ping")).msg_id for _ in range(7)]
    first = http_request(host.port, "GET", "/console/api/deliveries?limit=3").json()
    assert first["matched"] == 7 and [d["id"] for d in first["deliveries"]] == ids[::-1][:3]
    second = http_request(host.port, "GET", f"/console/api/deliveries?limit=3&before={first['next']}").json()
    assert [d["id"] for d in second["deliveries"]] == ids[::-1][3:6]
    assert json.loads(http_request(host.port, "GET", "/console/api/deliveries?limit=3&stat=x").body)["error"].startswith("unknown query parameter stat")
