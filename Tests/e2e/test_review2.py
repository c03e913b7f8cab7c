"""Hostile review of today's surfaces: result downloads, the TLS listener, the admin listener and
the control socket's since/limit, purge --dry-run, demo --listen. Only 127.0.0.1; every wait bounded."""
from __future__ import annotations

import json
import re
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from durability_lib import tmpfs, wait_state
from hostlib import control_request, event_body, free_port, hookhost_bin, http_request, run_cli, wait_until

SERVER = Path(__file__).resolve().parents[1] / "fetch" / "fetch_server.py"
API_KEY = "review2-api-key-do-not-leak"
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


# ---------------------------------------------------------------------------------------------
# 1. hostile references

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


# ---------------------------------------------------------------------------------------------
# 1b. hostile servers

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


# ---------------------------------------------------------------------------------------------
# 2. TLS listener

def _tls(make_host, tmp_path, extra=()):
    from test_tls import start_tls
    return start_tls(make_host, tmp_path, extra=extra)


@pytest.mark.skipif(subprocess.run(["which", "openssl"], capture_output=True).returncode != 0, reason="openssl")
def test_tls_garbage_stalls_and_broken_key_reload_leave_the_host_serving(make_host, fns, tmp_path):
    from test_tls import https
    fns.add("tls.test")
    h, ctx, cert, key = _tls(make_host, tmp_path, extra=["--read-timeout", "2"])
    socks = []
    for i in range(40):  # stalled handshakes
        s = socket.create_connection(("127.0.0.1", h.port), timeout=5)
        if i % 4 == 0:
            s.sendall(os.urandom(300))
        elif i % 4 == 1:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        elif i % 4 == 2:
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # truncated ClientHello
        socks.append(s)
    # a client that closes mid-handshake
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", h.port), timeout=5)
        s.sendall(b"\x16\x03\x01\x00\x05\x01\x00")
        s.close()
    r = https(h.port, ctx, "GET", "/healthz")
    assert r[0] == 200 if isinstance(r, tuple) else r.status == 200, r
    key.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    os.kill(h.pid, signal.SIGHUP)
    time.sleep(0.5)
    assert h.running
    r = https(h.port, ctx, "GET", "/healthz")
    assert r[0] == 200 if isinstance(r, tuple) else r.status == 200, r
    for s in socks:
        s.close()
    assert h.running


# ---------------------------------------------------------------------------------------------
# 3. control socket since/limit, CLI, admin listen, demo --listen

ODD = ["1e999", "-1", "99999999999999999999999999", "\u0663", "nan", "inf", "", "0x10", " 5", "1.5", "-0"]


def test_control_since_limit_odd_values_answer_400_or_200_and_never_crash(host):
    host.send(b'{"type":"ping"}', type_="ping")
    from urllib.parse import quote
    for v in ODD:
        for param in ("since", "limit"):
            raw = f"GET /deliveries?{param}={quote(v)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
            out = control_request(host, raw)
            status = int(out.split(b" ", 2)[1]) if out.startswith(b"HTTP/1.1 ") else 0
            assert status in (200, 400), (param, v, out[:200])
            if status == 200:
                json.loads(out.partition(b"\r\n\r\n")[2])
    assert host.running


def test_cli_since_limit_dry_run_odd_values_exit_cleanly(host):
    for v in ODD + ["7d", "2026-13-45", "9999999999d", "1e999s", "-5m"]:
        for flag in ("--since", "--limit"):
            p = host.cli("deliveries", "list", flag, v, "--data", str(host.data), timeout=20)
            assert p.returncode in (0, 1, 2), (flag, v, p.returncode, p.stderr[-300:])
            assert b"Fatal error" not in p.stderr and b"Trace" not in p.stderr, (flag, v, p.stderr[-300:])
    p = host.cli("deliveries", "purge", "--dead", "--dry-run", "--type", "\u00e9\x01", "--data", str(host.data), timeout=20)
    assert p.returncode in (0, 1, 2), p
    assert host.running


@pytest.mark.parametrize("listen", ["1e999", "-1", "127.0.0.1:-1", "127.0.0.1:99999999999999999999", "127.0.0.1:\u0663\u0663",
                                    "\u00e9:80", "127.0.0.1:0x50", "[::1", ":"])
def test_demo_and_admin_listen_odd_values_fail_fast_without_crashing(tmp_path, listen):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    try:
        p = subprocess.run([str(hookhost_bin()), "demo", "--listen", listen], env=env, capture_output=True, timeout=30, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"demo --listen {listen!r} still running after 30 s")
    assert p.returncode in (1, 2), (listen, p.returncode, p.stderr[-300:])
    data = tmp_path / "d"
    data.mkdir()
    try:
        q = subprocess.run([str(hookhost_bin()), "serve", "--listen", f"127.0.0.1:{free_port()}", "--data", str(data),
                            "--functions", str(tmp_path), "--admin-listen", listen],
                           env={**env, "HOOKHOST_SECRETS": "whsec_" + "QUJD" * 8}, capture_output=True, timeout=10)
        assert q.returncode in (1, 2), (listen, q.returncode, q.stderr[-300:])
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve --admin-listen {listen!r} started instead of refusing")
