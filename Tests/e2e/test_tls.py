"""HTTPS on the listener (CONTRACT §2 `HOOKHOST_TLS_CERT`/`HOOKHOST_TLS_KEY`; issue 10, Build 4).

Certificates are self-signed, made by the `openssl` CLI in each test. Clients: Python's `ssl`
module and the curl CLI — neither shares code with the host's OpenSSL wrapper.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from hostlib import HostStartError, event_body, new_id, signed_headers, wait_until

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl CLI is needed to make test certificates")


def make_cert(dir_: Path, name: str, cn: str = "localhost") -> tuple[Path, Path]:
    cert, key = dir_ / f"{name}.crt", dir_ / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={cn}",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def client_context(cafile: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cafile))
    ctx.check_hostname = True
    return ctx


def https(port: int, ctx: ssl.SSLContext, method: str, path: str, body: bytes | None = None,
          headers: dict | None = None, timeout: float = 10) -> tuple[int, bytes]:
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def peer_fingerprint(port: int, timeout: float = 5) -> str:
    """SHA-256 of the certificate the server presents to a new connection."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


def file_fingerprint(cert: Path) -> str:
    der = subprocess.run(["openssl", "x509", "-in", str(cert), "-outform", "DER"], check=True, capture_output=True).stdout
    return hashlib.sha256(der).hexdigest()


def start_tls(make_host, tmp_path, extra=(), env=None):
    cert, key = make_cert(tmp_path, "server")
    h = make_host(start=False)
    h.start(["--tls-cert", str(cert), "--tls-key", str(key), *extra], env=env, wait=False)
    ctx = client_context(cert)

    def ready():
        if h.proc.poll() is not None:
            raise HostStartError(f"hookhost exited with {h.proc.returncode}:\n{h.log_tail()}")
        try:
            return https(h.port, ctx, "GET", "/healthz", timeout=1)[0] == 200
        except OSError:
            return False
    wait_until(ready, 10, what="HTTPS /healthz")
    return h, ctx, cert, key


def signed(h, type_="tls.test", msg_id=None):
    msg_id = msg_id or new_id("tls")
    body = event_body(type_, {"n": 1})
    return msg_id, body, {**signed_headers(h.secrets[0], msg_id, body), "content-type": "application/json"}


def test_python_ssl_client_delivers_and_the_function_runs(make_host, fns, tmp_path):
    fns.add("tls.test")
    h, ctx, _, _ = start_tls(make_host, tmp_path)
    msg_id, body, headers = signed(h)
    status, answer = https(h.port, ctx, "POST", "/webhooks", body, headers)
    assert status == 202, answer
    assert json.loads(answer)["id"] == msg_id
    fns.wait_run(msg_id)
    # The same id again on the same TLS listener: the dedup answer.
    assert https(h.port, ctx, "POST", "/webhooks", body, headers)[0] == 200
    assert any(r.get("msg") == "listening" and r.get("tls") is True for r in h.log_records())


def test_keep_alive_and_pipelining_over_tls(make_host, fns, tmp_path):
    h, ctx, _, _ = start_tls(make_host, tmp_path)
    with socket.create_connection(("127.0.0.1", h.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            reqs = []
            ids = []
            for _ in range(5):
                msg_id, body, headers = signed(h)
                ids.append(msg_id)
                head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                reqs.append(f"POST /webhooks HTTP/1.1\r\nHost: x\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            s.sendall(b"".join(reqs))  # pipelined: one TLS write, several requests
            got = b""
            deadline = time.monotonic() + 10
            while got.count(b"HTTP/1.1 202") < 5 and time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            assert got.count(b"HTTP/1.1 202") == 5, got
            # Answers come in request order.
            assert [got.find(i.encode()) for i in ids] == sorted(got.find(i.encode()) for i in ids)


def test_curl_delivers_over_https(make_host, fns, tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("curl CLI not installed")
    fns.add("tls.test")
    h, _, cert, _ = start_tls(make_host, tmp_path)
    msg_id, body, headers = signed(h)
    args = ["curl", "-sS", "--cacert", str(cert), "-o", "-", "-w", "\n%{http_code} %{ssl_verify_result}",
            f"https://localhost:{h.port}/webhooks", "--resolve", f"localhost:{h.port}:127.0.0.1", "--data-binary", "@-"]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    out = subprocess.run(args, input=body, capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert text.rstrip().endswith("202 0"), text  # 202, certificate verified
    fns.wait_run(msg_id)


def test_plain_http_to_the_tls_port_gets_no_answer_and_the_host_is_fine(make_host, tmp_path):
    h, ctx, _, _ = start_tls(make_host, tmp_path)
    with socket.create_connection(("127.0.0.1", h.port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        assert b"HTTP/1.1 200" not in data
    assert https(h.port, ctx, "GET", "/healthz")[0] == 200


def test_a_client_stalled_mid_handshake_blocks_nobody_and_is_closed_after_the_read_timeout(make_host, tmp_path):
    h, ctx, _, _ = start_tls(make_host, tmp_path, extra=["--read-timeout", "1", "--http-threads", "1"])
    # Half a ClientHello: a TLS record header announcing 512 bytes, then only a few of them.
    stalled = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", h.port), timeout=5)
        s.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]))
        stalled.append(s)
    # A connection that completed TCP but never speaks at all.
    silent = socket.create_connection(("127.0.0.1", h.port), timeout=5)
    try:
        # With one event loop and 21 stalled handshakes, others are served at once.
        t0 = time.monotonic()
        for _ in range(5):
            assert https(h.port, ctx, "GET", "/healthz", timeout=2)[0] == 200
        assert time.monotonic() - t0 < 2
        # The stalled ones are closed once the read timeout (1 s) passed.
        for s in stalled + [silent]:
            s.settimeout(5)
            t = time.monotonic()
            try:
                assert s.recv(4096) == b""
            except ConnectionResetError:
                pass
            assert time.monotonic() - t < 4
    finally:
        for s in stalled + [silent]:
            s.close()


def test_sighup_reloads_the_certificate_and_a_broken_one_keeps_the_previous(make_host, tmp_path):
    h, ctx, cert, key = start_tls(make_host, tmp_path)
    first = file_fingerprint(cert)
    assert peer_fingerprint(h.port) == first
    # A keep-alive connection made with the first certificate.
    old = http.client.HTTPSConnection("127.0.0.1", h.port, context=ctx, timeout=5)
    old.request("GET", "/healthz")
    assert old.getresponse().read() is not None

    cert2, key2 = make_cert(tmp_path, "second", cn="localhost-2")
    shutil.copyfile(cert2, cert)
    shutil.copyfile(key2, key)
    h.proc.send_signal(signal.SIGHUP)
    second = file_fingerprint(cert)
    assert second != first
    wait_until(lambda: peer_fingerprint(h.port) == second, 5, what="the new certificate on new connections")
    assert https(h.port, client_context(cert2), "GET", "/healthz")[0] == 200
    # The open connection keeps working.
    old.request("GET", "/healthz")
    assert old.getresponse().status == 200
    old.close()

    # A broken pair on the next SIGHUP: logged, the second certificate stays.
    cert.write_text("not a certificate\n")
    h.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "TLS certificate reload failed" in h.log_text(), 5, what="the reload error")
    assert peer_fingerprint(h.port) == second
    assert h.running


@pytest.mark.parametrize("which", ["cert-only", "bad-file", "mismatch"])
def test_tls_configuration_errors_exit_2_naming_the_setting(make_host, tmp_path, which):
    cert, key = make_cert(tmp_path, "a")
    other_cert, other_key = make_cert(tmp_path, "b")
    args = {
        "cert-only": ["--tls-cert", str(cert)],
        "bad-file": ["--tls-cert", str(tmp_path / "missing.crt"), "--tls-key", str(key)],
        "mismatch": ["--tls-cert", str(cert), "--tls-key", str(other_key)],
    }[which]
    h = make_host(start=False)
    h.start(args, wait=False)
    assert h.proc.wait(timeout=10) == 2
    assert "HOOKHOST_TLS_CERT" in h.log_text()


def test_tls_garbage_stalls_and_broken_key_reload_leave_the_host_serving(make_host, fns, tmp_path):
    fns.add("tls.test")
    h, ctx, cert, key = start_tls(make_host, tmp_path, extra=["--read-timeout", "2"])
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
