"""Issue 19.5, operators see status at a glance: `hookhost status` against a real host (ready, not
ready and why, secrets by fingerprint only, JWKS state, functions and their problems, queue, dead
letters by function, last errors), and with the host stopped; the start-up log naming functions,
fingerprints and sources; an `unauthorized` line naming the peer."""
from __future__ import annotations

import base64
import hashlib
import json

from durability_lib import wait_state
from hostlib import RawConn, build_request, event_body, free_port, new_id, new_secret, signed_headers, wait_until


def fingerprint(secret: str) -> str:
    """The documented recipe: first 8 hex digits of the SHA-256 of the decoded key."""
    return hashlib.sha256(base64.b64decode(secret.removeprefix("whsec_"))).hexdigest()[:8]


def status(host, *args: str, functions=None):
    extra = ["--functions", str(functions)] if functions else []
    return host.cli("status", "--data", str(host.data), *extra, *args)


def status_json(host, **kw) -> tuple[int, dict]:
    p = status(host, "--json", **kw)
    return p.returncode, json.loads(p.stdout)


def assert_no_secret(text: str, secrets: list[str]):
    for s in secrets:
        assert s not in text and s.removeprefix("whsec_") not in text, "a secret was printed"


def test_status_of_a_ready_host_shows_sources_functions_dead_letters_and_errors(make_host, fns):
    fns.add("ping")
    fns.add("refuses", code=65)
    (fns.dir / "batch.failed").write_text("#!/bin/sh\nexit 0\n")  # forgot chmod +x
    other = new_secret()
    jwks_port = free_port()
    jwks = f"http://127.0.0.1:{jwks_port}/jwks.json?key=QUERY-SECRET"
    host = make_host(secrets=[new_secret(), other], extra_args=["--jwks-url", jwks])
    ok = host.send(event_body("ping"), type_="ping")
    dead = [host.send(event_body("refuses"), type_="refuses") for _ in range(2)]
    wait_state(host, ok.msg_id, "done")
    for r in dead:
        wait_state(host, r.msg_id, "dead")

    p = status(host)
    out = p.stdout.decode()
    assert p.returncode == 0, (p.returncode, out, p.stderr)
    lines = out.splitlines()
    assert lines[0].startswith("hookhost ") and f"pid {host.pid}" in lines[0] and f"127.0.0.1:{host.port}" in lines[0], lines[0]
    assert lines[1] == "READY", out
    assert f"2 (fingerprints {fingerprint(host.secrets[0])}, {fingerprint(other)})" in out, out
    assert f"JWKS          http://127.0.0.1:{jwks_port}/jwks.json: not fetched, 0 keys" in out, out
    assert "QUERY-SECRET" not in out
    assert_no_secret(out, host.secrets)
    assert f"refuses  {fns.dir}/refuses" in out, out
    assert "batch.failed: not executable (chmod +x batch.failed)" in out, out
    assert "dead letters: 2" in out and "  refuses  2" in out, out
    assert "function declared the input unusable (exit 65)" in out, out

    rc, doc = status_json(host)
    assert rc == 0 and doc["running"] and doc["ready"] and doc["problems"] == [], doc
    assert doc["verification"]["secrets"] == [fingerprint(s) for s in host.secrets], doc["verification"]
    assert doc["verification"]["jwks"]["source"] == jwks.split("?")[0], doc["verification"]
    assert doc["fetch"] == {"api_base": "http://127.0.0.1:9", "gcs_base": "http://127.0.0.1:9", "extra_hosts": []}, doc["fetch"]
    assert [f["name"] for f in doc["functions"]["functions"]] == ["ping", "refuses"], doc["functions"]
    assert doc["queue"]["depth"] == 0 and doc["queue"]["oldest_unfinished_age_s"] is None, doc["queue"]
    assert doc["dead_letters"] == {"total": 2, "by_function": {"refuses": 2}}, doc["dead_letters"]
    assert {e["id"] for e in doc["last_errors"]} == {r.msg_id for r in dead}, doc["last_errors"]
    assert all(e["state"] == "dead" and e["function"] == "refuses" for e in doc["last_errors"])
    assert_no_secret(json.dumps(doc), host.secrets)


def test_status_says_not_ready_and_why_when_nothing_can_verify(make_host, fns):
    fns.add("ping")
    jwks = f"http://127.0.0.1:{free_port()}/jwks.json"
    host = make_host(extra_args=["--jwks-url", jwks], env={"HOOKHOST_SECRETS": None})

    def failing():
        doc = status_json(host)[1]
        return doc if doc["verification"]["jwks"]["state"] == "unavailable" else None
    doc = wait_until(failing, 15, interval=0.2, what="the JWKS fetch to fail")
    assert doc["running"] and not doc["ready"], doc
    assert doc["verification"]["secrets"] == [] and doc["verification"]["jwks"]["keys"] == 0, doc["verification"]
    assert doc["verification"]["jwks"]["error"], doc["verification"]
    assert any("no verification method" in p for p in doc["problems"]), doc["problems"]
    p = status(host)
    out = p.stdout.decode()
    assert p.returncode == 1, out
    assert out.splitlines()[1] == "NOT READY" and "  - no verification method configured" in out, out
    assert "HMAC secrets  none" in out and "unavailable, 0 keys; last error:" in out, out
    # /readyz and hookhost_ready say the same
    assert host.request("GET", "/readyz").status == 503
    assert "\nhookhost_ready 0\n" in host.request("GET", "/metrics").body.decode()


def test_status_without_a_running_host_says_so_and_shows_the_data_directory(make_host, fns, tmp_path):
    fns.add("refuses", code=65)
    host = make_host()
    r = host.send(event_body("refuses"), type_="refuses")
    wait_state(host, r.msg_id, "dead")
    host.stop()
    p = status(host, functions=fns.dir)
    out = p.stdout.decode()
    assert p.returncode == 1, out
    assert out.startswith("NOT RUNNING\n  - not running: no hookhost serve holds this data directory\n"), out
    assert str(host.data) in out and "dead letters: 1" in out and "  refuses  1" in out, out
    assert f"functions in {fns.dir} (1)" in out, out
    rc, doc = status_json(host, functions=fns.dir)
    assert rc == 1 and not doc["running"] and not doc["ready"] and doc["data"] == str(host.data), doc
    assert doc["dead_letters"]["by_function"] == {"refuses": 1} and doc["verification"]["secrets"] is None, doc

    # A data directory no host ever used: not running, nothing in it, and nothing created.
    empty = tmp_path / "empty-data"
    empty.mkdir()
    p = host.cli("status", "--data", str(empty), "--functions", str(fns.dir))
    assert p.returncode == 1 and p.stdout.decode().startswith("NOT RUNNING\n"), p
    assert "dead letters: 0" in p.stdout.decode()
    assert list(empty.iterdir()) == []
    p = host.cli("status", "--data", str(tmp_path / "nowhere"))
    assert p.returncode == 1 and b"no data directory" in p.stderr, p


def test_the_start_up_log_names_functions_fingerprints_and_sources(make_host, fns):
    fns.add("ping")
    fns.add("batch.succeeded")
    target = fns.add("video.generated")
    (fns.dir / "video").symlink_to(target)
    host = make_host(extra_args=["--jwks-url", "http://127.0.0.1:9/keys.json?token=QUERY-SECRET", "--fetch-hosts", "cdn.test:8443"])
    records = host.log_records()
    fn = next(x for x in records if x.get("msg") == "functions")
    assert fn["directory"] == str(fns.dir) and fn["count"] == 4, fn
    listed = dict(item.split("=", 1) for item in fn["functions"].split(","))
    assert listed == {"batch.succeeded": f"{fns.dir}/batch.succeeded", "ping": f"{fns.dir}/ping",
                      "video": f"{fns.dir}/video.generated", "video.generated": f"{fns.dir}/video.generated"}, listed
    v = next(x for x in records if x.get("msg") == "verification sources")
    assert v["hmac_secrets"] == 1 and v["fingerprints"] == fingerprint(host.secrets[0]), v
    assert v["jwks"] == "http://127.0.0.1:9/keys.json" and v["jwks_from"] == "url", v
    f = next(x for x in records if x.get("msg") == "result downloads")
    assert f["api_base"] == "http://127.0.0.1:9" and f["gcs_base"] == "http://127.0.0.1:9" and f["extra_hosts"] == "cdn.test:8443", f
    text = host.log_text()
    assert "QUERY-SECRET" not in text
    assert_no_secret(text, host.secrets)


def test_an_unauthorized_line_names_the_peer(make_host, fns):
    fns.add("ping")
    host = make_host()
    body = event_body("ping")
    msg_id = new_id()
    h = signed_headers(host.secrets[0], msg_id, body)
    h["webhook-signature"] = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    with RawConn(host.port) as c:
        local_port = c.sock.getsockname()[1]
        c.send(build_request("POST", host.path, body, h))
        assert c.read_response().status == 401

    def line():
        return next((x for x in host.log_records() if x.get("msg") == "unauthorized" and x.get("id") == msg_id), None)
    rec = wait_until(line, 5, what="the unauthorized line")
    assert rec["peer"] == f"127.0.0.1:{local_port}", rec
