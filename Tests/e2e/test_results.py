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


GCS_TOKEN = "tok"


class Hostile:
    """A raw-socket HTTP server; `routes[path_prefix] = fn(conn, request_bytes)`. Records every request."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.log: list[bytes] = []
        self.routes = {}
        self.stop = threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, c):
        c.settimeout(60)
        try:
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = c.recv(4096)
                if not chunk:
                    return
                data += chunk
            self.log.append(data)
            path = data.split(b" ", 2)[1].decode()
            for prefix, fn in sorted(self.routes.items(), key=lambda kv: -len(kv[0])):
                if path.startswith(prefix):
                    fn(c, data, self)
                    return
            c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def close(self):
        self.stop.set()
        self.sock.close()


@pytest.fixture
def hostile():
    h = Hostile()
    yield h
    h.close()


@pytest.fixture
def canary():
    """A listener on 127.0.0.2 and one on another 127.0.0.1 port that must never be contacted."""
    hits = []
    socks = []
    for addr in ("127.0.0.2", "127.0.0.1"):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, 0))
        s.listen(16)
        s.settimeout(0.2)
        socks.append(s)
    stop = threading.Event()

    def loop(s):
        while not stop.is_set():
            try:
                c, peer = s.accept()
                hits.append((s.getsockname(), peer))
                c.close()
            except OSError:
                continue
    for s in socks:
        threading.Thread(target=loop, args=(s,), daemon=True).start()

    class C:
        v2port = socks[0].getsockname()[1]
        v1port = socks[1].getsockname()[1]
        hits_ = hits
    yield C
    stop.set()
    for s in socks:
        s.close()


def fetch_host(make_host, tmp_path, api_port, extra=(), env=None, root=None):
    tok = tmp_path / "gcs.token"
    tok.write_text(GCS_TOKEN)
    e = {"HOOKHOST_API_BASE": f"http://127.0.0.1:{api_port}", "HOOKHOST_GCS_BASE": f"http://127.0.0.1:{api_port}",
         "HOOKHOST_GCS_TOKEN_FILE": str(tok), "GEMINI_API_KEY": API_KEY}
    e.update(env or {})
    return make_host(extra_args=["--max-attempts", "2", "--retry-base", "0.2", "--retry-cap", "0.5", *extra], env=e, root=root)


def escaped_files(host):
    """Files under DATA that are neither the spool nor under DATA/results (and nothing outside)."""
    return sorted(str(p) for p in (host.data / "results").rglob("*") if p.is_file()) if (host.data / "results").exists() else []


HOSTILE_REFS = [
    "file:///etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
    "gs://b/../../x",
    "files/..",
    "files/../x",
    "files/%2e%2e",
    "files/a%00b",
    "files/\u00e9t\u00e9",
    "https://user:pw@127.0.0.1/files/x",
    "http://127.0.0.1@127.0.0.2/x",
    "http://127.0.0.2/x",
    "HTTP://127.0.0.2:80/x",
    "http://[::ffff:127.0.0.2]/x",
    "http://127.0.0.1:0/x",
    "http://127.0.0.1:99999/x",
    "ftp://127.0.0.1/x",
    "//127.0.0.2/x",
    "x" * 300,
    "files/" + "a" * 5000,
    "http://127.0.0.1\t.evil/x",
    "\u202egs://b/x",
]


def test_hostile_references_never_leave_the_allowlist(make_host, fns, tmp_path, hostile, canary):
    fns.add("video.generated")
    fns.add("batch.succeeded")
    h = fetch_host(make_host, tmp_path, hostile.port)
    ids = []
    for i, ref in enumerate(HOSTILE_REFS):
        typ = "video.generated" if i % 2 else "batch.succeeded"
        key = "video_uri" if typ == "video.generated" else "output_file_uri"
        r = h.send(event_body(typ, {key: ref}), type_=typ)
        assert r.status in (202, 413), (ref[:80], r)
        if r.status == 202:
            ids.append((r.msg_id, ref))
    for mid, ref in ids:
        d = wait_state(h, mid, "dead", timeout=30) if True else None
    assert h.running
    assert canary.hits_ == [], canary.hits_
    # Only well-formed requests to the API port; nothing with a path escaping its prefix
    for req in hostile.log:
        line = req.split(b"\r\n", 1)[0].decode(errors="replace")
        assert "/download/v1beta/files/" in line or "/storage/v1/b/" in line or "/v1beta/batches/" in line, line
        path = line.split(" ")[1].split("?")[0]
        assert not any(seg in (".", "..") for seg in path.split("/")) and "%00" not in path, line
    assert API_KEY not in h.log_text()


def test_gcs_object_name_dot_segments_cannot_steer_the_request_path(make_host, fns, tmp_path, hostile):
    """gs://b/.. becomes `/storage/v1/b/b/o/..`, which libcurl (no PATH_AS_IS) normalises to
    `/storage/v1/b/b/` — a request with the bearer token to a path the reference chose."""
    fns.add("video.generated")
    h = fetch_host(make_host, tmp_path, hostile.port)
    mids = []
    for obj in ("..", ".", "a/..", "../x"):
        r = h.send(event_body("video.generated", {"video_uri": f"gs://bkt/{obj}"}), type_="video.generated")
        assert r.status == 202
        mids.append(r.msg_id)
    for mid in mids:
        wait_until(lambda: wait_state(h, mid, "dead", timeout=30), 31, what="dead")
    paths = [req.split(b" ", 2)[1].decode() for req in hostile.log]
    bad = [p for p in paths if not re.fullmatch(r"/storage/v1/b/bkt/o/[^/?]+\?alt=media", p)]
    assert not bad, f"requests outside /storage/v1/b/bkt/o/: {bad}"


def redirect_to(loc):
    def fn(c, req, srv):
        c.sendall(f"HTTP/1.1 302 Found\r\nLocation: {loc}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
    return fn


def test_redirects_to_other_schemes_hosts_ports_are_never_followed(make_host, fns, tmp_path, hostile, canary):
    fns.add("video.generated")
    h = fetch_host(make_host, tmp_path, hostile.port)
    targets = {
        "r1": "file:///etc/passwd",
        "r2": f"http://127.0.0.2:{canary.v2port}/x",
        "r3": f"http://127.0.0.1:{canary.v1port}/x",
        "r4": f"//127.0.0.2:{canary.v2port}/x",
        "r5": f"http://user:pw@127.0.0.1:{canary.v1port}/x",
        "r6": f"HTTP://127.0.0.2:{canary.v2port}/x",
        "r7": f"http://127.0.0.1:{canary.v1port}\\@127.0.0.1:{hostile.port}/x",
        "r8": f"gopher://127.0.0.1:{canary.v1port}/x",
        "r9": f"  http://127.0.0.2:{canary.v2port}/x",
        "loop": "/download/v1beta/files/loop:download?alt=media",
    }
    for k, loc in targets.items():
        hostile.routes[f"/download/v1beta/files/{k}:"] = redirect_to(loc)
    mids = []
    for k in targets:
        r = h.send(event_body("video.generated", {"video_uri": f"files/{k}"}), type_="video.generated")
        mids.append(r.msg_id)
    for mid in mids:
        wait_state(h, mid, "dead", timeout=40)
    assert canary.hits_ == [], canary.hits_
    loops = [q for q in hostile.log if b"files/loop" in q]
    assert len(loops) <= 2 * 6, len(loops)  # at most 1 + 5 hops per attempt, 2 attempts
    assert h.running


def infinite_chunked(c, req, srv):
    c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n\r\n")
    chunk = b"%x\r\n" % (1 << 20) + b"A" * (1 << 20) + b"\r\n"
    while not srv.stop.is_set():
        c.sendall(chunk)


def test_an_endless_body_without_length_does_not_fill_the_data_disk(make_host, fns, tmp_path, hostile):
    """README: 'not enough free disk for the announced size + 64 MB' is refused, and the margin exists
    'so a download never fills the disk the spool writes to'. Without Content-Length the margin is only
    checked before the first byte: an endless body writes until ENOSPC."""
    fns.add("batch.succeeded")
    hostile.routes["/download/v1beta/files/endless:"] = infinite_chunked
    mnt = tmp_path / "mnt"
    try:
        ctx = tmpfs(mnt, "160m")
        ctx.__enter__()
    except OSError as e:
        pytest.skip(str(e))
    try:
        root = mnt / "h"
        h = fetch_host(make_host, tmp_path, hostile.port, extra=["--max-attempts", "1"], root=root)
        r = h.send(event_body("batch.succeeded", {"output_file_uri": "files/endless"}), type_="batch.succeeded")
        assert r.status == 202
        low = [1 << 62]

        def watch():
            st = os.statvfs(mnt)
            low[0] = min(low[0], st.f_bavail * st.f_frsize)
            return False
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:
            watch()
            try:
                d = [x for x in json.loads(control_request(h, b"GET /deliveries HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").partition(b"\r\n\r\n")[2])["deliveries"] if x["id"] == r.msg_id]
            except Exception:
                d = []
            if d and d[0]["state"] in ("dead", "done"):
                break
            time.sleep(0.05)
        h.stop(timeout=10)
        assert low[0] >= 32 << 20, f"free space on the data disk fell to {low[0]} bytes during one download"
    finally:
        ctx.__exit__(None, None, None)


def content_length_lie(c, req, srv):
    # Announces 10 bytes, sends 100 000, keeps the connection open.
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Type: text/plain\r\n\r\n" + b"B" * 100000)
    srv.stop.wait(5)


def huge_length(c, req, srv):
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999999\r\n\r\nxx")


def neg_length(c, req, srv):
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nxx")


def bad_206(c, req, srv):
    c.sendall(b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 5-9/10\r\nContent-Length: 5\r\n\r\nhello")


def test_content_length_lies_and_garbage_heads_do_not_crash_or_corrupt(make_host, fns, tmp_path, hostile):
    fns.add("video.generated", extra='cp "$HOOKHOST_RESULT_PATH" "$OUT/$HOOKHOST_DELIVERY_ID.result"')
    hostile.routes["/download/v1beta/files/lie:"] = content_length_lie
    hostile.routes["/download/v1beta/files/huge:"] = huge_length
    hostile.routes["/download/v1beta/files/neg:"] = neg_length
    hostile.routes["/download/v1beta/files/p206:"] = bad_206
    h = fetch_host(make_host, tmp_path, hostile.port)
    res = {}
    for k in ("lie", "huge", "neg", "p206"):
        r = h.send(event_body("video.generated", {"video_uri": f"files/{k}"}), type_="video.generated")
        res[k] = r.msg_id
    for k, mid in res.items():
        wait_until(lambda: any(x["id"] == mid and x["state"] in ("done", "dead")
                               for x in json.loads(control_request(h, b"GET /deliveries HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").partition(b"\r\n\r\n")[2])["deliveries"]),
                   40, what=k)
    assert h.running
    p = fns.out / f"{res['lie']}.result"
    if p.exists():
        assert p.read_bytes() == b"B" * 10, len(p.read_bytes())
    # nothing left behind
    wait_until(lambda: escaped_files(h) == [], 10, what="results cleaned up")
