"""Issue 22, attacked: the console against a page elsewhere reaching a loopback listener through its
own name (DNS rebinding), odd action bodies, many consoles polling while deliveries arrive — over
HTTP against the real binary."""
from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

from consolelib import ACTION, console_host
from hostlib import RawConn, event_body, hookhost_bin, http_request, wait_until


def test_loopback_reads_are_open_only_through_a_loopback_name(make_host, fns):
    """A page on evil.example whose name is made to resolve to 127.0.0.1 (DNS rebinding) talks to
    the console as its own origin: the browser sends `Host: evil.example`. Reads open on loopback
    must not answer it, or that page reads every delivery's stdin and output."""
    fns.add("ping")
    host = console_host(make_host)
    assert host.send(event_body("ping")).status == 202
    p = host.port
    for name in [f"127.0.0.1:{p}", f"localhost:{p}", f"LOCALHOST:{p}", f"[::1]:{p}", f"127.1.2.3:{p}", "localhost"]:
        r = http_request(p, "GET", "/console/api/deliveries", headers={"Host": name})
        assert r.status == 200, (name, r)
    for name in [f"evil.example:{p}", "evil.example", f"127.0.0.1.evil.example:{p}", f"localhost.evil.example:{p}",
                 f"10.0.0.1:{p}", f"[::2]:{p}", ""]:
        r = http_request(p, "GET", "/console/api/deliveries", headers={"Host": name})
        assert r.status == 401, (name, r)
        assert "Authorization" in r.json()["error"], r
        assert "content-security-policy" in r.headers
    # With the token the name does not matter (a proxy in front, an operator's own name for it).
    r = http_request(p, "GET", "/console/api/deliveries", headers={"Host": f"evil.example:{p}", **ACTION})
    assert r.status == 200, r


DIES = """#!/bin/sh
cat > /dev/null
echo "upstream answered 503" >&2
exit 1
"""


def test_an_unchanged_delivery_is_not_sent_again(make_host, fns):
    """The delivery page polls its delivery (every 5 s once finished, every second before); the
    answer carries the whole stdin, up to 32 MB. Tagged, an unchanged one is a 304 without it."""
    fns.add_script("ping", DIES, sidecar={"max_attempts": 1})
    host = console_host(make_host, env={"HOOKHOST_MAX_BODY": str(8 << 20)})
    sent = host.send(event_body("ping", data={"id": "batches/big", "blob": "b" * (4 << 20)}), timeout=30)
    assert sent.status == 202, sent
    path = "/console/api/deliveries/" + sent.msg_id

    def state():
        return http_request(host.port, "GET", path).json()["delivery"]["state"]
    wait_until(lambda: state() == "dead", 20, what="the delivery dead")
    first = http_request(host.port, "GET", path)
    tag = first.headers.get("etag", "")
    assert first.status == 200 and len(first.body) > 4 << 20 and tag.startswith('"'), (first.status, first.headers)
    again = http_request(host.port, "GET", path, headers={"If-None-Match": tag})
    assert again.status == 304 and again.body == b"" and again.headers.get("etag") == tag, again
    assert "content-security-policy" in again.headers
    assert http_request(host.port, "GET", path, headers={"If-None-Match": '"other"'}).status == 200

    # A change (a replay, its attempt ending) is a new tag and the whole answer.
    assert http_request(host.port, "POST", path + "/replay", b"{}", ACTION).status == 200
    changed = http_request(host.port, "GET", path, headers={"If-None-Match": tag})
    assert changed.status == 200 and changed.headers.get("etag") not in ("", tag), changed.headers
    assert changed.json()["delivery"]["state"] != "dead" or changed.json()["delivery"]["attempt"] == 2


def test_answers_the_http_layer_gives_before_the_console_sees_a_request_are_locked_down_too(make_host, fns):
    fns.add("ping")
    host = console_host(make_host, env={"HOOKHOST_MAX_BODY": "1000"})
    for raw, status in [(b"GET /console/api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", 431),
                        (b"POST /console/api/dead/replay HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 5000\r\n\r\n" + b"{" * 5000, 413),
                        (b"GET /console/\x00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400),
                        (b"POST /console/api/dead/replay HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411)]:
        with RawConn(host.port) as c:
            c.send(raw)
            r = c.read_response(timeout=10)
        assert r.status == status, (raw[:40], r)
        assert r.headers.get("x-content-type-options") == "nosniff", (status, r.headers)
        assert "default-src 'none'" in r.headers.get("content-security-policy", ""), (status, r.headers)


def test_many_consoles_each_with_its_own_filter_get_answers_or_503_and_deliveries_go_on(make_host, fns):
    """Each its own filter, so none shares a kept answer: the console's queue rests between scans
    (a timer resumes it) and past its bound answers 503 with Retry-After — never hangs — while
    deliveries are accepted."""
    fns.add("ping")
    bench = hookhost_bin().parent / "hookhost-bench-spool"
    host = make_host(start=False)
    subprocess.run([str(bench), str(host.data), "50000", "0", "50000"], check=True, timeout=120)
    host.start(env={"HOOKHOST_CONSOLE": "main"})
    answers: list[int] = []

    def poll(i):
        r = http_request(host.port, "GET", f"/console/api/deliveries?limit=50&since={i}", timeout=60)
        assert r.status == 200 or (r.status == 503 and r.headers.get("retry-after") == "1"), r
        answers.append(r.status)
    with ThreadPoolExecutor(max_workers=80) as pool:
        polls = [pool.submit(poll, i) for i in range(80)]
        sent = [host.send(event_body("ping")) for _ in range(20)]
        for p in polls:
            p.result()
    assert all(s.status == 202 for s in sent), sent
    # How many are 503 depends on the machine's speed; that each is answered does not.
    assert len(answers) == 80 and 200 in answers, sorted(answers)
    print(f"\n80 consoles at once: {answers.count(200)} answered, {answers.count(503)} told 503")
    # Once they are answered the console works again (the queue was resumed).
    r = http_request(host.port, "GET", "/console/api/deliveries?limit=1&since=99", timeout=60)
    assert r.status == 200 and r.json()["matched"] == 50020, r
