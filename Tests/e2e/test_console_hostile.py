"""Issue 22, attacked: the console against a page elsewhere reaching a loopback listener through its
own name (DNS rebinding), odd action bodies, many consoles polling while deliveries arrive — over
HTTP against the real binary."""
from __future__ import annotations

from consolelib import ACTION, console_host
from hostlib import event_body, http_request


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
