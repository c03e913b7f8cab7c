"""Dynamic (per-job) webhooks end to end: RS256 JWT deliveries verified against a JWKS served by a
local HTTP server (127.0.0.1 only), with tokens made by PyJWT, never by hookhost."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets as pysecrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from hostlib import event_body, free_port, new_id, wait_until


def _b64u(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


class SigningKey:
    def __init__(self, kid: str):
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict:
        n = self.key.public_key().public_numbers()
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": _b64u(n.n), "e": _b64u(n.e)}

    def token(self, body: bytes, kid: str | None = None, **claims) -> str:
        now = int(time.time())
        # A unique jti: the same body twice in one second is two tokens (each good for one delivery).
        payload = {"iss": "https://generativelanguage.googleapis.com", "iat": now, "exp": now + 300,
                   "jti": pysecrets.token_hex(8), "body_sha256": hashlib.sha256(body).hexdigest(), **claims}
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": kid or self.kid})


class JWKSServer:
    """Serves {"keys": [...]} at /jwks.json on 127.0.0.1 and counts the requests."""

    def __init__(self, keys: list[SigningKey], max_age: int = 3600):
        self.keys = list(keys)
        self.max_age = max_age
        self.requests = 0
        self.lock = threading.Lock()
        self.port = free_port()
        self.httpd = None
        self.thread = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks.json"

    def start(self):
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with srv.lock:
                    srv.requests += 1
                    doc = json.dumps({"keys": [k.jwk() for k in srv.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", f"public, max-age={srv.max_age}")
                self.send_header("Content-Length", str(len(doc)))
                self.end_headers()
                self.wfile.write(doc)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(timeout=5)
            self.httpd = None


@pytest.fixture
def key1():
    return SigningKey("key-1")


@pytest.fixture
def jwks(key1):
    s = JWKSServer([key1]).start()
    yield s
    s.stop()


def post_jwt(host, key: SigningKey, body: bytes | None = None, msg_id: str | None = None, kid: str | None = None,
             ts: bool = True, **claims):
    msg_id = msg_id or new_id("jwt")
    body = body or event_body("batch.failed", {"id": "batches/j", "error_code": 1})
    h = {"webhook-id": msg_id, "webhook-signature": key.token(body, kid=kid, **claims)}
    if ts:
        h["webhook-timestamp"] = str(int(time.time()))
    r = host.post_raw(body, h)
    r.msg_id = msg_id
    return r


def jwt_host(make_host, fns, jwks_url: str, min_refresh: str = "10", extra=()):
    fns.add("_default")
    return make_host(extra_args=["--jwks-url", jwks_url, "--jwks-min-refresh", min_refresh, *extra])


def test_signed_deliveries_run_the_function_with_key_id_and_claims(make_host, fns, jwks, key1):
    host = jwt_host(make_host, fns, jwks.url)
    r = post_jwt(host, key1, user_metadata={"job": "x"})
    assert r.status == 202, r
    run = fns.wait_run(r.msg_id)
    d = run.stdin_json()["delivery"]
    assert d["verified_by"] == "jwt" and d["key_id"] == "key-1"
    assert d["claims"]["user_metadata"] == {"job": "x"} and "body_sha256" in d["claims"]
    # Without webhook-timestamp a JWT delivery still verifies (the token has its own times).
    r2 = post_jwt(host, key1, ts=False)
    assert r2.status == 202, r2
    # The same id again is a duplicate, as for HMAC.
    assert post_jwt(host, key1, msg_id=r.msg_id).status == 200
    # An HMAC delivery on the same host is still hmac, without key_id or claims.
    h = host.send(type_="ping")
    assert h.status == 202
    hd = fns.wait_run(h.msg_id).stdin_json()["delivery"]
    assert hd["verified_by"] == "hmac" and "key_id" not in hd and "claims" not in hd
    ready = host.request("GET", "/readyz").json()
    assert ready["jwks"]["state"] == "ok" and ready["jwks"]["keys"] == 1


def test_rejections_are_401_and_name_the_check(make_host, fns, jwks, key1):
    host = jwt_host(make_host, fns, jwks.url, extra=["--audience", "my-app"])
    body = event_body("ping")
    cases = [
        (key1.token(body, aud="other"), "aud"),
        (key1.token(body), "aud"),  # no aud while one is required
        (key1.token(body, aud="my-app", exp=int(time.time()) - 120), "expired"),
        (key1.token(b"{}", aud="my-app"), "body_sha256"),
        (jwt.encode({"aud": "my-app"}, None, algorithm="none", headers={"kid": "key-1"}), "alg"),
        (jwt.encode({"aud": "my-app"}, key1.key, algorithm="RS512", headers={"kid": "key-1"}), "alg"),
        (SigningKey("key-1").token(body, aud="my-app"), "signature"),  # another key under our kid
    ]
    for token, needle in cases:
        r = host.post_raw(body, {"webhook-id": new_id("bad"), "webhook-timestamp": str(int(time.time())), "webhook-signature": token})
        assert r.status == 401, (needle, r)
        assert needle in r.json()["error"], (needle, r.json())
    ok = post_jwt(host, key1, body=body, aud="my-app")
    assert ok.status == 202, ok


def test_a_new_kid_on_the_server_is_picked_up_without_restart(make_host, fns, jwks, key1):
    host = jwt_host(make_host, fns, jwks.url, min_refresh="0.5")
    assert post_jwt(host, key1).status == 202
    key2 = SigningKey("key-2")
    with jwks.lock:
        jwks.keys.append(key2)
    time.sleep(0.6)  # past HOOKHOST_JWKS_MIN_REFRESH since the first fetch
    r = post_jwt(host, key2)
    assert r.status == 202, r
    assert fns.wait_run(r.msg_id).stdin_json()["delivery"]["key_id"] == "key-2"


def test_jwks_server_down_cached_keys_work_and_a_new_kid_fails_closed(make_host, fns, jwks, key1):
    host = jwt_host(make_host, fns, jwks.url, min_refresh="0")
    assert post_jwt(host, key1).status == 202
    jwks.stop()
    r = post_jwt(host, SigningKey("key-new"))
    assert r.status == 401 and "key-new" in r.json()["error"] and "could not be fetched" in r.json()["error"], r
    ok = post_jwt(host, key1)
    assert ok.status == 202, ok
    fns.wait_run(ok.msg_id)
    ready = host.request("GET", "/readyz")
    assert ready.status == 200 and ready.json()["jwks"]["state"] == "stale", ready
    metrics = host.request("GET", "/metrics").body.decode()
    assert "hookhost_jwks_failing 1" in metrics and 'hookhost_jwks_fetches_total{outcome="error"}' in metrics


def test_a_thousand_random_kids_cause_a_handful_of_fetches(make_host, fns, jwks, key1):
    host = jwt_host(make_host, fns, jwks.url, min_refresh="10")
    assert post_jwt(host, key1).status == 202
    before = jwks.requests
    forger = SigningKey("unused")
    body = event_body("ping")
    token_by_kid = {}
    statuses = {}
    for i in range(1000):
        kid = "forged-" + pysecrets.token_hex(6)
        # Signing is the slow part in Python; the signature is never checked for an unknown kid anyway.
        tok = token_by_kid.setdefault(i % 10, forger.token(body, kid="x"))
        hdr = base64.urlsafe_b64encode(json.dumps({"alg": "RS256", "kid": kid}).encode()).rstrip(b"=").decode()
        forged = hdr + tok[tok.index("."):]
        r = host.post_raw(body, {"webhook-id": new_id("f"), "webhook-signature": forged})
        statuses[r.status] = statuses.get(r.status, 0) + 1
    assert statuses == {401: 1000}, statuses
    fetches = jwks.requests - before
    assert fetches <= 3, f"{fetches} JWKS fetches for 1000 unknown kids"
    assert post_jwt(host, key1).status == 202


def test_jwks_file_is_reread_on_sighup(make_host, fns, tmp_path, key1):
    import signal
    fns.add("_default")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [key1.jwk()]}))
    host = make_host(extra_args=["--jwks-file", str(path)])
    assert post_jwt(host, key1).status == 202
    key2 = SigningKey("key-2")
    path.write_text(json.dumps({"keys": [key1.jwk(), key2.jwk()]}))
    host.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: post_jwt(host, key2).status == 202, 10, interval=0.2, what="key-2 after SIGHUP")


def test_bad_jwks_file_refuses_to_start(make_host, tmp_path):
    bad = tmp_path / "jwks.json"
    bad.write_text('{"keys": []}')
    h = make_host(start=False)
    with pytest.raises(Exception):
        h.start(["--jwks-file", str(bad)])
    assert h.proc.returncode == 2 and "HOOKHOST_JWKS_FILE" in h.log_text()


def test_keys_new_and_send_with_jwt_key(make_host, fns, tmp_path):
    from hostlib import run_cli
    r = run_cli("keys", "new", str(tmp_path / "k"))
    assert r.returncode == 0, r.stderr
    kid = r.stdout.decode().strip()
    assert (tmp_path / "k" / "private.pem").stat().st_mode & 0o777 == 0o600
    doc = json.loads((tmp_path / "k" / "jwks.json").read_text())
    assert doc["keys"][0]["kid"] == kid and doc["keys"][0]["kty"] == "RSA"
    fns.add("_default")
    host = make_host(extra_args=["--jwks-file", str(tmp_path / "k" / "jwks.json"), "--audience", "aud-1"])
    s = host.cli("send", host.url, "--type", "batch.cancelled", "--jwt-key", str(tmp_path / "k" / "private.pem"),
                 "--kid", kid, "--aud", "aud-1", "--id", "sent-jwt-1")
    assert s.returncode == 0 and s.stdout.decode().startswith("202"), (s.stdout, s.stderr)
    run = fns.wait_run("sent-jwt-1")
    claims = run.stdin_json()["delivery"]["claims"]
    # The token carries the audience given to send (the host checked it against --audience).
    assert claims["aud"] == "aud-1" and "exp" in claims
    # keys new never overwrites a key pair.
    again = run_cli("keys", "new", str(tmp_path / "k"))
    assert again.returncode == 1 and b"private.pem" in again.stderr
