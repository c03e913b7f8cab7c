"""Issue 24, hostile review: `hookhost reconcile` and HOOKHOST_RECONCILE_EVERY against an API that
lists a job twice, answers 10 GB, echoes the key, lists thousands of missing jobs, or is slow or
silent while the host shuts down. Real binary, a scripted API on 127.0.0.1 (hostile_api.py)."""
import json
import signal
import time

import pytest

from hostile_api import Answer, HostileAPI, finished_batch
from hostlib import Host, control_request, raw_request, wait_until

KEY = "AIzaHostileKey-Zq81vX0c4Lw7pT2m9R5sK3dF6"


@pytest.fixture
def api_server():
    servers = []

    def make(answer):
        s = HostileAPI(answer)
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.stop()


def env_for(api: HostileAPI) -> dict:
    return {"HOOKHOST_API_BASE": api.base, "GEMINI_API_KEY": KEY}


def out_of(p) -> str:
    return f"rc={p.returncode}\n--- stdout\n{p.stdout.decode(errors='replace')}\n--- stderr\n{p.stderr.decode(errors='replace')}"


def reconcile(host: Host, api: HostileAPI, *args: str):
    p = host.cli("reconcile", "--data", str(host.data), *args, env=env_for(api), timeout=120)
    assert KEY[:10] not in out_of(p), "no part of the API key may be printed:\n" + out_of(p)
    return p


def no_key_in_logs(host: Host):
    assert KEY[:10] not in host.all_logs()


def test_a_job_listed_again_on_a_later_page_is_reported_and_recovered_once(tmp_path, api_server):
    now = time.time()
    first = {"operations": [finished_batch("batches/twice", now - 60)], "nextPageToken": "p2"}
    second = {"operations": [finished_batch("batches/twice", now - 60), finished_batch("batches/once", now - 60)]}
    api = api_server(lambda r: Answer(body=second if r.query.get("pageToken") == "p2" else first))
    host = Host(tmp_path)
    host.start(env=env_for(api))
    try:
        p = reconcile(host, api)
        out = p.stdout.decode()
        assert p.returncode == 0 and out.count("batches/twice") == 1, out_of(p)
        assert "2 batches listed, 2 finished in the last 48h; 2 with no delivery received" in out, out
        p = reconcile(host, api, "--apply")
        out = p.stdout.decode()
        assert p.returncode == 0 and out.count("recovered as reconcile_twice_") == 1 and "recovered as reconcile_once_" in out, out_of(p)
        assert "; 2 recovered" in out, out
        no_key_in_logs(host)
    finally:
        host.stop()


def test_a_ten_gigabyte_answer_is_cut_at_16_mib_and_said_so(tmp_path, api_server):
    api = api_server(lambda r: Answer(body=b" " * (1 << 20), chunks=10 << 10))
    host = Host(tmp_path)
    p = reconcile(host, api)
    assert p.returncode == 1 and "larger than 16777216 bytes" in p.stderr.decode(), out_of(p)


def test_an_error_page_quoting_the_key_shows_no_part_of_it(tmp_path, api_server):
    # 185 characters before the key: the error's 200-character snippet ends inside it.
    api = api_server(lambda r: Answer(403, ("<html>" + "x" * 185 + r.headers["x-goog-api-key"] + "</html>").encode(), content_type="text/html"))
    host = Host(tmp_path)
    p = reconcile(host, api)
    assert p.returncode == 1 and "403" in p.stderr.decode(), out_of(p)
    assert KEY[:4] not in p.stderr.decode().split("x" * 185)[-1], out_of(p)


def test_thousands_of_missing_jobs_through_the_running_hosts_control_socket(tmp_path, api_server):
    now = time.time()
    total = 5000  # some 1.1 MB of events: more than one control request takes

    def page(r):
        start = int(r.query.get("pageToken", "0"))
        body = {"operations": [finished_batch(f"batches/m{i}", now - 120) for i in range(start, min(start + 100, total))]}
        if start + 100 < total:
            body["nextPageToken"] = str(start + 100)
        return Answer(body=body)
    api = api_server(page)
    host = Host(tmp_path)
    host.start(env=env_for(api))
    try:
        p = reconcile(host, api)
        assert p.returncode == 0 and f"{total} batches listed, {total} finished in the last 48h; {total} with no delivery received" in p.stdout.decode(), out_of(p)
        p = reconcile(host, api, "--apply")
        assert p.returncode == 0 and f"; {total} recovered" in p.stdout.decode(), out_of(p)
        p = reconcile(host, api, "--apply", "--json")
        assert p.returncode == 0 and p.stdout.decode().count('"seen_as"') == total, out_of(p)[:2000]
    finally:
        host.stop()


def test_the_host_stops_at_once_while_the_reconcile_listing_is_slow(tmp_path, api_server):
    # Every page is answered after a pause and names a new next page: the listing would take
    # 1000 pauses. A shutdown must not wait for it (nor ask for another page).
    def slow(r):
        time.sleep(0.5)
        return Answer(body={"operations": [], "nextPageToken": f"t{time.monotonic_ns()}"})
    api = api_server(slow)
    host = Host(tmp_path)
    host.start(env={**env_for(api), "HOOKHOST_RECONCILE_EVERY": "30"})
    wait_until(lambda: api.count() >= 3, 30, what="the listing under way")
    host.proc.send_signal(signal.SIGTERM)
    asked = api.count()
    host.stop(timeout=15)
    assert api.count() <= asked + 1, f"{api.count() - asked} pages asked for after SIGTERM"
    assert any("stopped by the shutdown" in r.get("msg", "") for r in host.log_records()), host.log_tail()
    no_key_in_logs(host)


def test_the_host_stops_at_once_while_the_api_does_not_answer(tmp_path, api_server):
    api = api_server(lambda r: None)
    host = Host(tmp_path)
    host.start(env={**env_for(api), "HOOKHOST_RECONCILE_EVERY": "30"})
    wait_until(lambda: api.count() >= 1, 30, what="the first listing request")
    assert host.request("GET", "/healthz").status == 200  # the hung call holds no event loop
    host.stop(timeout=15)
    records = host.log_records()
    assert any("stopped by the shutdown" in r.get("msg", "") for r in records), host.log_tail()
    assert not any("listing jobs failed" in r.get("msg", "") for r in records), host.log_tail()


def test_admit_takes_dry_run_1_or_0_and_refuses_any_other_word(tmp_path):
    host = Host(tmp_path)
    host.start()
    try:
        event = json.dumps({"type": "batch.succeeded", "version": "v1", "timestamp": "2026-01-01T00:00:00Z", "data": {"id": "batches/dr"}})
        probe = json.dumps({"events": [{"id": "x", "body": event}]}).encode()
        answer = control_request(host, raw_request("POST", "/deliveries/admit?dry_run=1", probe, {"Content-Type": "application/json"}))
        rid = json.loads(answer.partition(b"\r\n\r\n")[2])["error"].split("(")[-1].rstrip(")")  # the id derived for that job
        body = json.dumps({"events": [{"id": rid, "body": event}]}).encode()
        for word in ("true", "yes", "2", ""):
            answer = control_request(host, raw_request("POST", f"/deliveries/admit?dry_run={word}", body, {"Content-Type": "application/json"}))
            assert b" 400 " in answer.split(b"\r\n")[0] and b"dry_run takes 1 or 0" in answer, answer
        listed = json.loads(control_request(host, raw_request("GET", "/deliveries")).partition(b"\r\n\r\n")[2])
        assert listed["deliveries"] == [], listed  # a preview asked for in other words admitted nothing
        answer = control_request(host, raw_request("POST", "/deliveries/admit?dry_run=0", body, {"Content-Type": "application/json"}))
        assert json.loads(answer.partition(b"\r\n\r\n")[2])["admitted"][0]["id"] == rid, answer
    finally:
        host.stop()


def test_control_characters_in_job_names_never_reach_the_terminal(tmp_path, api_server):
    now = time.time()
    api = api_server(lambda r: Answer(body={"operations": [finished_batch("batches/\x1b]0;owned\x07x\r", now - 60)]}))
    host = Host(tmp_path)
    p = reconcile(host, api)
    assert p.returncode == 0, out_of(p)
    assert b"\x1b" not in p.stdout and b"\x07" not in p.stdout and b"\r" not in p.stdout, p.stdout
    assert b"batches/\\x1b]0;owned\\x07x\\x0d" in p.stdout, p.stdout


@pytest.mark.parametrize("flag", ["--operation", "--interaction"])
@pytest.mark.parametrize("value", ["", ",", " , "])
def test_an_empty_job_name_is_refused_not_widened_to_every_batch(tmp_path, api_server, flag, value):
    now = time.time()
    api = api_server(lambda r: Answer(body={"operations": [finished_batch("batches/any", now - 60)]}))
    host = Host(tmp_path)
    p = reconcile(host, api, "--apply", flag, value)
    assert p.returncode == 2 and "names no job" in p.stderr.decode(), out_of(p)
    assert api.count() == 0, "nothing may be asked (let alone admitted) for a job named by nothing"


def test_a_draining_host_admits_no_synthesized_event(tmp_path, api_server):
    # After `hookhost drain` nothing new starts here and the rest was handed over (or left for a
    # restart that a scaled-down replica never gets): a recovered event would sit here unrun.
    now = time.time()
    api = api_server(lambda r: Answer(body={"operations": [finished_batch("batches/late", now - 60)]}))
    host = Host(tmp_path)
    host.start(env=env_for(api))
    try:
        d = host.cli("drain", "--wait", "0", "--data", str(host.data), timeout=60)
        assert d.returncode in (0, 1), out_of(d)
        p = reconcile(host, api)
        assert p.returncode == 0 and "1 with no delivery received" in p.stdout.decode(), out_of(p)  # a report still works
        p = reconcile(host, api, "--apply")
        assert p.returncode == 1 and "draining" in p.stderr.decode(), out_of(p)
        listed = json.loads(control_request(host, raw_request("GET", "/deliveries")).partition(b"\r\n\r\n")[2])
        assert listed["deliveries"] == [], listed
    finally:
        host.stop()
