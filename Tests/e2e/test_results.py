"""Results fetched before the function runs (CONTRACT §5, README "Results"): a real local stand-in
for the files/batches API (Tests/fetch/fetch_server.py) on two loopback ports; the host downloads,
the function finds the file on disk, credentials go only where they belong, failures are retried
or dead-lettered with a reason; hostile references, redirects and servers never take a download
outside the allowlist or fill the data disk. Every wait is bounded; only 127.0.0.1."""
from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from durability_lib import listed, tmpfs, wait_state
from hostlib import control_request, event_body, wait_until

SERVER = Path(__file__).resolve().parents[1] / "fetch" / "fetch_server.py"
API_KEY = "test-api-key-do-not-leak"
# The handler keeps a copy of the result and its environment's result path.
KEEP = 'cp "$HOOKHOST_RESULT_PATH" "$OUT/$HOOKHOST_DELIVERY_ID.result" 2>/dev/null; echo "$HOOKHOST_RESULT_PATH" > "$OUT/$HOOKHOST_DELIVERY_ID.rpath"'


def pattern(n: int) -> bytes:
    base = bytes(i % 251 for i in range(251))
    return (base * (n // 251 + 2))[:n]


@pytest.fixture
def api(tmp_path):
    portfile = tmp_path / "ports"
    proc = subprocess.Popen([sys.executable, str(SERVER), str(portfile), "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: portfile.exists() and portfile.read_text().strip(), 10, what="the stand-in API to listen")
        ports = [int(p) for p in portfile.read_text().split()]

        class Api:
            main, other = ports[0], ports[1]

            @staticmethod
            def log():
                import urllib.request
                with urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/_log", timeout=5) as r:
                    return json.loads(r.read())
        yield Api
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def rhost(make_host, api):
    return make_host(extra_args=["--max-attempts", "3", "--retry-base", "0.2", "--retry-cap", "0.5",
                                 "--fetch-hosts", f"127.0.0.1:{api.other}"],
                     env={"HOOKHOST_API_BASE": f"http://127.0.0.1:{api.main}", "GEMINI_API_KEY": API_KEY})


def results_dirs(host):
    d = host.data / "results"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_a_batch_file_is_on_disk_when_the_function_runs_and_gone_after(rhost, fns, api):
    fns.add("batch.succeeded", extra=KEEP)
    r = rhost.send(event_body("batch.succeeded", {"id": "batches/b1", "output_file_uri": "files/ok-5000"}), type_="batch.succeeded")
    assert r.status == 202, r
    run = fns.wait_run(r.msg_id, timeout=20)
    res = run.stdin_json()["result"]
    body = pattern(5000)
    assert res["uri"] == "files/ok-5000" and res["bytes"] == 5000 and res["sha256"] == hashlib.sha256(body).hexdigest(), res
    assert res["content_type"] == "application/jsonl", res
    assert run.env["HOOKHOST_RESULT_PATH"] == res["path"]
    assert (fns.out / f"{r.msg_id}.result").read_bytes() == body
    wait_state(rhost, r.msg_id, "done")
    assert results_dirs(rhost) == [], "the result was not deleted after the delivery was done"
    reqs = [e for e in api.log() if "ok-5000" in e["path"]]
    assert len(reqs) == 1 and reqs[0]["headers"].get("x-goog-api-key") == API_KEY, reqs
    assert API_KEY not in rhost.log_text()


def test_libcurl_is_opened_only_when_a_result_is_downloaded(rhost, fns, api):
    """Idle RSS: libcurl and the twenty libraries it links are loaded on the first download, not
    at start (a host that never downloads does not carry them)."""
    def curl_mapped():
        return "libcurl" in Path(f"/proc/{rhost.pid}/maps").read_text()
    assert not curl_mapped(), "libcurl is loaded before anything needed it"
    fns.add("batch.succeeded")
    r = rhost.send(event_body("batch.succeeded", {"id": "batches/b1", "output_file_uri": "files/ok-100"}), type_="batch.succeeded")
    assert r.status == 202, r
    fns.wait_run(r.msg_id, timeout=20)
    assert curl_mapped()


def test_inline_batch_results_come_from_the_batch_resource(rhost, fns, api):
    fns.add("batch.succeeded", extra=KEEP)
    r = rhost.send(event_body("batch.succeeded", {"id": "batches/inl1"}), type_="batch.succeeded")
    run = fns.wait_run(r.msg_id, timeout=20)
    res = run.stdin_json()["result"]
    assert res["uri"] == "batches/inl1", res
    doc = json.loads((fns.out / f"{r.msg_id}.result").read_bytes())
    assert doc["name"] == "batches/inl1", doc


def test_a_missing_file_is_dead_with_a_reason_and_the_function_never_runs(rhost, fns):
    fns.add("video.generated")
    r = rhost.send(event_body("video.generated", {"video_uri": "files/missing"}), type_="video.generated")
    d = wait_state(rhost, r.msg_id, "dead", timeout=20)
    assert "not found" in d["error"].lower() or "404" in d["error"], d
    assert not fns.ran(r.msg_id)


def test_a_server_error_is_retried_and_counts_as_an_attempt(rhost, fns):
    fns.add("video.generated", extra=KEEP)
    r = rhost.send(event_body("video.generated", {"video_uri": "files/flaky-v1"}), type_="video.generated")
    run = fns.wait_run(r.msg_id, attempt=2, timeout=20)
    assert run.stdin_json()["result"]["bytes"] == 1000
    assert not fns.ran(r.msg_id, 1)
    wait_state(rhost, r.msg_id, "done", attempt=2)


def test_the_key_is_not_sent_after_a_redirect_to_another_allowed_host(rhost, fns, api):
    fns.add("video.generated", extra=KEEP)
    r = rhost.send(event_body("video.generated", {"video_uri": f"files/redir-{api.other}-ok-2000"}), type_="video.generated")
    run = fns.wait_run(r.msg_id, timeout=20)
    assert run.stdin_json()["result"]["bytes"] == 2000
    hops = [e for e in api.log() if e["path"].startswith("/plain/ok-2000")]
    assert hops and all("x-goog-api-key" not in e["headers"] for e in hops), hops
    first = [e for e in api.log() if "redir-" in e["path"]]
    assert first and first[0]["headers"].get("x-goog-api-key") == API_KEY


def test_a_foreign_host_is_never_requested(rhost, fns, api):
    fns.add("video.generated")
    before = len(api.log())
    r = rhost.send(event_body("video.generated", {"video_uri": "http://127.0.0.2:1/files/x"}), type_="video.generated")
    d = wait_state(rhost, r.msg_id, "dead", timeout=20)
    assert "127.0.0.2" in d["error"], d
    assert not fns.ran(r.msg_id)
    assert len(api.log()) == before


def test_a_broken_transfer_is_resumed(rhost, fns):
    fns.add("batch.succeeded", extra=KEEP)
    r = rhost.send(event_body("batch.succeeded", {"output_file_uri": "files/broken-300000"}), type_="batch.succeeded")
    run = fns.wait_run(r.msg_id, timeout=30)
    res = run.stdin_json()["result"]
    assert res["bytes"] == 300000 and res["sha256"] == hashlib.sha256(pattern(300000)).hexdigest(), res
    assert run.attempt == 1


def test_sidecar_fetch_false_gives_result_null_and_no_request(rhost, fns, api):
    fns.add("video.generated", sidecar={"fetch": False})
    before = len(api.log())
    r = rhost.send(event_body("video.generated", {"video_uri": "files/ok-10"}), type_="video.generated")
    run = fns.wait_run(r.msg_id, timeout=20)
    assert run.stdin_json()["result"] is None
    assert "HOOKHOST_RESULT_PATH" not in run.env
    assert len(api.log()) == before


def test_a_fetched_result_survives_a_restart_and_the_function_still_gets_it(rhost, fns):
    """The download is recorded (`fetched`) before the function runs; kill -9 while the function
    runs, restart: the next attempt reuses the file instead of downloading again."""
    gate = fns.out / "release"
    fns.add_script("video.generated", f"""#!/bin/sh
cat > "$OUT/$HOOKHOST_DELIVERY_ID.$HOOKHOST_ATTEMPT.stdin"
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT" >> "$OUT/vg.log"
i=0; while [ ! -e "{gate}" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
[ -s "$HOOKHOST_RESULT_PATH" ] || exit 3
""")
    r = rhost.send(event_body("video.generated", {"video_uri": "files/ok-777"}), type_="video.generated")
    wait_until(lambda: (fns.out / f"{r.msg_id}.1.stdin").exists(), 20, what="attempt 1 to start")
    rhost.kill9()
    gate.touch()
    rhost.start()
    d = wait_state(rhost, r.msg_id, "done", timeout=20)
    assert d["attempt"] == 2, d
    doc = json.loads((fns.out / f"{r.msg_id}.2.stdin").read_bytes())
    assert doc["result"]["bytes"] == 777


def test_keep_results_leaves_the_file_after_done(make_host, fns, api):
    fns.add("video.generated")
    args = ["--keep-results", "60"]
    env = {"HOOKHOST_API_BASE": f"http://127.0.0.1:{api.main}", "GEMINI_API_KEY": API_KEY}
    host = make_host(extra_args=args, env=env)
    r = host.send(event_body("video.generated", {"video_uri": "files/ok-321"}), type_="video.generated")
    run = fns.wait_run(r.msg_id, timeout=20)
    wait_state(host, r.msg_id, "done")
    path = Path(run.stdin_json()["result"]["path"])
    assert path.exists() and path.stat().st_size == 321
    host.restart(args, env)  # still within its 60 s: not swept at start
    assert path.exists()


from hostlib import (Host, RawConn, base_env, build_request, control_request, event_body, free_port, hookhost_bin, http_request,
                     new_id, serve_briefly, signed_headers, wait_until)


def test_deliveries_show_has_the_stdin_the_function_read_with_its_result(rhost, fns, api):
    """`deliveries show` gives the document the function read — the result object included, not
    null — and a line for the download (uri, bytes, sha256, time taken), after the file is gone."""
    fns.add("batch.succeeded")
    r = rhost.send(event_body("batch.succeeded", {"id": "batches/s1", "output_file_uri": "files/ok-3000"}), type_="batch.succeeded")
    assert r.status == 202, r
    run = fns.wait_run(r.msg_id, timeout=20)
    wait_state(rhost, r.msg_id, "done")
    assert results_dirs(rhost) == []
    doc = json.loads(rhost.cli("deliveries", "show", r.msg_id, "--json", "--data", str(rhost.data)).stdout)
    assert doc["stdin"]["result"] == run.stdin_json()["result"], (doc["stdin"], run.stdin_json())
    d = doc["download"]
    assert d["uri"] == "files/ok-3000" and d["bytes"] == 3000 and d["sha256"] == hashlib.sha256(pattern(3000)).hexdigest(), d
    assert isinstance(d["ms"], int) and d["ms"] >= 0, d
    text = rhost.cli("deliveries", "show", r.msg_id, "--data", str(rhost.data)).stdout.decode()
    assert "download\n  files/ok-3000  3000 bytes  sha256 " in text, text
    assert '"result":null' not in text.replace(" ", ""), text
