"""Dynamic (per-job) webhooks end to end: RS256 JWT deliveries verified against a JWKS served by a
local HTTP server (127.0.0.1 only), with tokens made by PyJWT, never by hookhost; then crafted tokens
signed raw with a key the test controls (by `cryptography`), JWKS documents and servers that misbehave,
and absurd JWKS settings."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets as pysecrets
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

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


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def int_b64u(n: int) -> str:
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Key:
    """An RSA key and raw-token signing: header and payload are given as bytes, as sent."""

    def __init__(self, kid: str, bits: int = 2048, e: int = 65537):
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=e, key_size=bits)

    def jwk(self, **extra) -> dict:
        n = self.key.public_key().public_numbers()
        return {"kty": "RSA", "kid": self.kid, "n": int_b64u(n.n), "e": int_b64u(n.e), **extra}

    def raw(self, header: bytes, payload: bytes) -> str:
        si = (b64u(header) + "." + b64u(payload)).encode()
        return si.decode() + "." + b64u(self.key.sign(si, padding.PKCS1v15(), hashes.SHA256()))

    def token(self, claims: dict | bytes, kid: str | None = None) -> str:
        """Claims given as a dict get iat, exp (+5 min) and a unique jti unless they set them: a
        token is good for one delivery for a bounded time. Bytes are signed exactly as given."""
        payload = claims if isinstance(claims, bytes) else json.dumps({**times(), **claims}).encode()
        return self.raw(json.dumps({"alg": "RS256", "kid": kid or self.kid}).encode(), payload)


def times() -> dict:
    now = int(time.time())
    return {"iat": now, "exp": now + 300, "jti": os.urandom(8).hex()}


def times_json() -> bytes:
    return json.dumps(times()).encode()


_KEYS: dict[str, Key] = {}


def key(kid: str = "k1") -> Key:
    """RSA key generation is slow in Python: one key per kid for the whole module."""
    if kid not in _KEYS:
        _KEYS[kid] = Key(kid)
    return _KEYS[kid]


def post(host, token: str, body: bytes | None = None, ts: bool = True):
    body = event_body("ping") if body is None else body
    h = {"webhook-id": new_id("rj"), "webhook-signature": token}
    if ts:
        h["webhook-timestamp"] = str(int(time.time()))
    r = host.post_raw(body, h)
    r.msg_id = h["webhook-id"]
    return r


def file_host(make_host, fns, tmp_path, keys: list[dict], extra=(), env=None):
    fns.add("_default")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": keys}))
    return make_host(extra_args=["--jwks-file", str(path), *extra], env=env)


class ScriptedJWKSServer:
    def __init__(self, docs: list[dict] | None = None):
        self.doc: bytes = json.dumps({"keys": docs or []}).encode()
        self.cache_control: str | None = "max-age=3600"
        self.mode = "ok"  # ok | trickle | silent | status500
        self.requests = 0
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.port = free_port()
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with srv.lock:
                    srv.requests += 1
                    mode, doc, cc = srv.mode, srv.doc, srv.cache_control
                if mode == "silent":  # accepts, reads the request, never answers
                    srv.stop_event.wait(30)
                    return
                if mode == "status500":
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if cc is not None:
                    self.send_header("Cache-Control", cc)
                self.send_header("Content-Length", str(len(doc)))
                self.end_headers()
                if mode == "trickle":  # one byte every 0.5 s, for up to 30 s
                    for i in range(min(len(doc), 60)):
                        if srv.stop_event.wait(0.5):
                            return
                        try:
                            self.wfile.write(doc[i:i + 1])
                            self.wfile.flush()
                        except OSError:
                            return
                    return
                self.wfile.write(doc)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks.json"

    def set_keys(self, keys: list[dict]):
        with self.lock:
            self.doc = json.dumps({"keys": keys}).encode()

    def close(self):
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def jwks_server():
    servers: list[ScriptedJWKSServer] = []

    def make(keys=None) -> ScriptedJWKSServer:
        s = ScriptedJWKSServer(keys)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def test_time_claims_must_be_finite_numbers(make_host, fns, tmp_path):
    """exp 1e999 parses to +infinity: a token that never expires. It is not a NumericDate."""
    k = key()
    host = file_host(make_host, fns, tmp_path, [k.jwk()])
    for claims in (b'{"exp":1e999}', b'{"nbf":-1e999}', b'{"exp":-1e999}'):
        r = post(host, k.token(claims))
        assert r.status == 401, (claims, r)
        assert "not a number" in r.json()["error"] or "expired" in r.json()["error"], (claims, r.json())
    # Spellings of ordinary finite numbers still work.
    for claims in (b'{"exp":%d.0}' % (time.time() + 300), b'{"exp":%de0}' % (time.time() + 300)):
        r = post(host, k.token(claims))
        assert r.status == 202, (claims, r)
    # A finite exp centuries away is read as such, and is a token that never expires all the same.
    r = post(host, k.token(b'{"exp":99999999999999999999999}'))
    assert r.status == 401 and "HOOKHOST_JWT_MAX_LIFETIME" in r.json()["error"], r


def test_audience_is_compared_code_point_for_code_point(make_host, fns, tmp_path):
    """RFC 7519 §4.1.3/§2: StringOrURI comparison applies no normalization. Swift's String == is
    canonical equivalence: U+212A KELVIN SIGN equals "K"."""
    k = key()
    host = file_host(make_host, fns, tmp_path, [k.jwk()], extra=["--audience", "K-app"])
    assert post(host, k.token({"aud": "K-app"})).status == 202
    for aud in ("\u212a-app", ["\u212a-app"]):
        r = post(host, k.token({"aud": aud}))
        assert r.status == 401 and "aud" in r.json()["error"], (aud, r)


def test_event_claim_numbers_must_match_exactly(make_host, fns, tmp_path):
    """An `event` object claim binds the body; numbers compared as Doubles let a replayed token
    carry a body whose large integers (or overflowing exponents) differ from the signed ones."""
    k = key()
    # The token is sent with several bodies under several ids: allowed here, to test the binding.
    host = file_host(make_host, fns, tmp_path, [k.jwk()], extra=["--jwt-allow-reuse", "true"])
    signed = {"type": "ping", "data": {"n": 9007199254740993, "big": 1}}
    claims = json.dumps({**times(), "event": signed}).encode().replace(b'"big": 1', b'"big": 1e400')
    tok = k.token(claims)
    same = json.dumps(signed).encode().replace(b'"big": 1', b'"big": 1e400')
    assert post(host, tok, body=same).status == 202
    # Same member order and spelling differences that denote the same value: still accepted.
    respelled = b'{"data":{"big":10e399,"n":9007199254740993.0},"type":"ping"}'
    assert post(host, tok, body=respelled).status == 202
    for forged in (same.replace(b"9007199254740993", b"9007199254740992"),
                   same.replace(b"1e400", b"7e999")):
        r = post(host, tok, body=forged)
        assert r.status == 401 and "event" in r.json()["error"], (forged, r)


def test_token_syntax_attacks_are_refused(make_host, fns, tmp_path):
    k = key()
    host = file_host(make_host, fns, tmp_path, [k.jwk()])
    good = k.token({})
    h, p, s = good.split(".")
    alph = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    cases = {
        "padded header": h + "=." + p + "." + s,
        "padded signature": good + "==",
        "signature trailing bits": h + "." + p + "." + s[:-1] + alph[alph.index(s[-1]) | 1],
        "standard alphabet": good.replace("-", "+").replace("_", "/") if ("-" in good or "_" in good) else None,
        "alg with trailing space": k.raw(b'{"alg":"RS256 ","kid":"k1"}', b"{}"),
        "alg lower case": k.raw(b'{"alg":"rs256","kid":"k1"}', b"{}"),
        "alg PS256": k.raw(b'{"alg":"PS256","kid":"k1"}', b"{}"),
        "duplicate alg (escaped)": k.raw(b'{"alg":"RS256","\\u0061lg":"none","kid":"k1"}', b"{}"),
        "duplicate kid": k.raw(b'{"alg":"RS256","kid":"k1","kid":"k2"}', b"{}"),
        "duplicate exp": k.raw(b'{"alg":"RS256","kid":"k1"}', b'{"exp":1,"exp":99999999999}'),
        "kid with newline": k.raw(b'{"alg":"RS256","kid":"k1\\n"}', b"{}"),
        "kid with NUL": k.raw(b'{"alg":"RS256","kid":"k\\u0000"}', b"{}"),
        "kid path": k.raw(b'{"alg":"RS256","kid":"../k1"}', b"{}"),
        "crit": k.raw(b'{"alg":"RS256","kid":"k1","crit":["b64"]}', b"{}"),
        "exp as string": k.token({"exp": str(int(time.time()) + 300)}),
        "claims nested 200": k.token(b'{"x":' + b"[" * 200 + b"]" * 200 + b"}"),
        "payload not utf-8": k.token(b'{"x":"\xff"}'),
        "lone surrogate": k.token(b'{"x":"\\ud800"}'),
        "too large": k.token({"x": "a" * 8000}),
        "body hash not a string": k.token({"body_sha256": 1}),
        "body hash wrong": k.token({"body_sha256": hashlib.sha256(b"other").hexdigest()}),
        "event type wrong": k.token({"event_type": "batch.succeeded"}),
    }
    for name, tok in cases.items():
        if tok is None:
            continue
        r = post(host, tok)
        assert r.status == 401, (name, r)
    # The escaped spelling of "RS256" is the same JSON string: accepted, as by every JOSE library.
    assert post(host, k.raw(b'{"alg":"RS\\u0032\\u0035\\u0036","kid":"k1"}', times_json())).status == 202
    assert host.running


def test_jwks_with_unusable_keys_uses_only_the_good_one(make_host, fns, tmp_path):
    good = key("good")
    small = Key("small", bits=1024)
    e3 = Key("e3", e=3)
    enc, rs512, dup, path = key("enc"), key("rs512"), key("dup-b"), key("pathy")
    keys = [good.jwk(use="sig", alg="RS256"), small.jwk(), e3.jwk(), enc.jwk(use="enc"), rs512.jwk(alg="RS512"),
            {**key("dup-a").jwk(), "kid": "dup"}, {**dup.jwk(), "kid": "dup"}, {**path.jwk(), "kid": "../pathy"},
            {"kty": "EC", "kid": "ec"}, {"kty": "RSA", "kid": "nokeys"}, "not an object", 7]
    host = file_host(make_host, fns, tmp_path, keys)
    assert post(host, good.token({})).status == 202
    for k, kid in ((small, "small"), (e3, "e3"), (enc, "enc"), (rs512, "rs512"), (path, "pathy"), (dup, "dup")):
        r = post(host, k.token({}, kid=kid))
        assert r.status == 401, (kid, r)
    assert host.running


def _elapsed(f):
    t = time.monotonic()
    v = f()
    return v, time.monotonic() - t


@pytest.mark.parametrize("mode", ["trickle", "silent"])
def test_a_slow_jwks_server_never_blocks_other_deliveries(make_host, fns, jwks_server, mode):
    k = key()
    srv = jwks_server([k.jwk()])
    fns.add("_default")
    host = make_host(extra_args=["--jwks-url", srv.url, "--jwks-min-refresh", "0"])
    assert post(host, k.token({})).status == 202  # keys cached
    srv.mode = mode
    results: dict[str, object] = {}

    def unknown():
        results["unknown"] = _elapsed(lambda: post(host, key("k-new").token({})))

    t = threading.Thread(target=unknown)
    t.start()
    time.sleep(0.5)  # the fetch for the unknown kid is now hanging
    for _ in range(5):
        r, dt = _elapsed(lambda: host.send(type_="ping"))
        assert r.status == 202 and dt < 2, (r, dt)
        r, dt = _elapsed(lambda: post(host, k.token({})))
        assert r.status == 202 and dt < 2, (r, dt)
        assert host.request("GET", "/healthz", timeout=2).status == 200
    t.join(timeout=15)
    assert not t.is_alive()
    r, dt = results["unknown"]
    assert r.status == 401 and "could not be fetched" in r.json()["error"], r
    assert dt < 8, f"unknown kid waited {dt:.1f}s (fetch timeout is 5 s)"


def test_shutdown_answers_a_delivery_waiting_for_a_hanging_jwks_fetch_at_once(make_host, fns, jwks_server):
    """SIGTERM while a JWT delivery waits for a fetch that hangs: it gets 503 + Retry-After at the
    start of the drain (the sender retries), not whatever the fetch timeout leaves it."""
    k = key()
    srv = jwks_server([k.jwk()])
    fns.add("_default")
    host = make_host(extra_args=["--jwks-url", srv.url, "--jwks-min-refresh", "0"])
    assert post(host, k.token({})).status == 202  # keys cached
    srv.mode = "silent"
    results: dict[str, object] = {}

    def unknown():
        results["unknown"] = post(host, key("k-new").token({}))
        results["at"] = time.monotonic()

    t = threading.Thread(target=unknown)
    t.start()
    time.sleep(0.5)  # the fetch for the unknown kid is now hanging (fetch timeout: 5 s)
    signalled = time.monotonic()
    host.proc.send_signal(signal.SIGTERM)
    t.join(timeout=15)
    assert not t.is_alive()
    r = results["unknown"]
    assert r.status == 503, r
    assert "shutting down" in r.json()["error"] and r.headers.get("retry-after"), r
    assert results["at"] - signalled < 2.5, f"answered {results['at'] - signalled:.1f}s after SIGTERM"
    assert host.stop() == 0


def test_jwt_only_host_becomes_ready_when_the_jwks_comes_back(make_host, fns, jwks_server):
    """No HMAC secrets, JWKS down at start: /readyz is 503 (nothing verifies). A load balancer then
    sends nothing, so no JWT delivery ever asks for a fetch: the cache must retry on its own."""
    k = key()
    port = free_port()
    fns.add("_default")
    host = make_host(extra_args=["--jwks-url", f"http://127.0.0.1:{port}/jwks.json", "--jwks-min-refresh", "1"],
                     env={"HOOKHOST_SECRETS": None})
    wait_until(lambda: host.request("GET", "/readyz").status == 503, 5, what="not ready while the JWKS is down")
    srv = ScriptedJWKSServer([k.jwk()])
    srv.httpd.server_close()
    srv.port = port
    srv.httpd = ThreadingHTTPServer(("127.0.0.1", port), srv.httpd.RequestHandlerClass)
    srv.thread = threading.Thread(target=srv.httpd.serve_forever, daemon=True)
    srv.thread.start()
    try:
        r = wait_until(lambda: (lambda x: x if x.status == 200 else None)(host.request("GET", "/readyz")), 20,
                       interval=0.25, what="/readyz 200 after the JWKS server came up")
        assert r.json()["jwks"]["state"] == "ok"
        assert post(host, k.token({})).status == 202
    finally:
        srv.close()


def test_jwks_server_down_and_back(make_host, fns, jwks_server):
    k1, k2 = key("k1"), key("k2")
    srv = jwks_server([k1.jwk()])
    fns.add("_default")
    host = make_host(extra_args=["--jwks-url", srv.url, "--jwks-min-refresh", "0"])
    assert post(host, k1.token({})).status == 202
    srv.mode = "status500"
    r = post(host, k2.token({}))
    assert r.status == 401 and "HTTP 500" in r.json()["error"], r
    assert post(host, k1.token({})).status == 202  # last good keys kept
    srv.set_keys([k1.jwk(), k2.jwk()])
    srv.mode = "ok"
    assert post(host, k2.token({})).status == 202
    assert host.request("GET", "/readyz").json()["jwks"]["state"] == "ok"


@pytest.mark.parametrize("doc", [b"", b"null", b"[]", b'{"keys":{}}', b'{"keys":[' + b"[" * 20 + b"]" * 20 + b"]}",
                                 b"{" * 100000, b'{"keys":[]}', b" " * (1 << 20) + b'{"keys":[]}'])
def test_malformed_jwks_documents_fail_closed_and_keep_the_host_up(make_host, fns, jwks_server, doc):
    srv = jwks_server()
    srv.doc = doc
    fns.add("_default")
    host = make_host(extra_args=["--jwks-url", srv.url, "--jwks-min-refresh", "0"])
    r = post(host, key().token({}))
    assert r.status == 401 and "could not be fetched" in r.json()["error"], r
    assert host.running and host.request("GET", "/readyz").status == 200


def test_jwks_file_that_is_not_a_usable_file_refuses_to_start(make_host, tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "empty.json").write_bytes(b"")
    for path in (tmp_path / "dir", tmp_path / "empty.json", tmp_path / "missing.json", "/dev/zero"):
        h = make_host(start=False)
        with pytest.raises(Exception):
            h.start(["--jwks-file", str(path)])
        assert h.proc.returncode == 2 and "HOOKHOST_JWKS_FILE" in h.log_text(), (path, h.log_text())


def test_jwks_file_rewritten_in_place_and_removed_keeps_the_last_good_keys(make_host, fns, tmp_path):
    k1, k2 = key("k1"), key("k2")
    host = file_host(make_host, fns, tmp_path, [k1.jwk()])
    path = tmp_path / "jwks.json"
    # A half-written file (a writer that truncates then writes), picked up by SIGHUP: previous keys stay.
    full = json.dumps({"keys": [k1.jwk(), k2.jwk()]}).encode()
    path.write_bytes(full[: len(full) // 2])
    host.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert post(host, k1.token({})).status == 202
    path.write_bytes(full)
    wait_until(lambda: post(host, k2.token({})).status == 202, 10, interval=0.3, what="k2 after the rewrite")
    # Removed: the keys stay, and the missing file is not re-read (and logged) every 2 s poll.
    path.unlink()
    time.sleep(7)
    fails = sum(1 for rec in host.log_records() if rec.get("msg", "").startswith("jwks fetch failed"))
    assert fails <= 2, f"{fails} failed reads of a removed JWKS file in 7 s (backoff starts at 10 s)"
    assert post(host, k2.token({})).status == 202


@pytest.mark.parametrize("setting,value", [
    ("HOOKHOST_JWKS_MIN_REFRESH", v) for v in ("1e999", "-1", "86401", "99999999999999999999", "nan", "inf", "ten", "", "0x10")
] + [
    ("HOOKHOST_JWKS_URL", v) for v in ("", "ftp://127.0.0.1/jwks.json", "file:///etc/passwd", "127.0.0.1/jwks.json",
                                       # passed the prefix check, then failed (or leaked) at the first fetch:
                                       "http://", "https:///jwks.json", "http://127.0.0.1:99999/jwks.json",
                                       "http://user:password@127.0.0.1/jwks.json", "http://127.0.0.1/a b",
                                       "http://127.0.0.1\\@evil/jwks.json")
] + [
    ("HOOKHOST_JWKS_FILE", ""),
    # an unset variable in a compose file must not switch the aud check off unnoticed
    ("HOOKHOST_AUDIENCE", ""),
])
def test_absurd_jwks_settings_are_a_startup_error_naming_the_setting(make_host, setting, value):
    h = make_host(start=False)
    with pytest.raises(Exception):
        h.start(env={setting: value})
    assert h.proc.returncode == 2, (setting, value, h.log_text())
    assert setting in h.log_text(), (setting, value, h.log_text())


def test_send_with_a_key_the_host_refuses_says_so(make_host, fns, tmp_path):
    # A 1024-bit key signs fine, but the host refuses keys under 2048 bits: send warns, the host 401s.
    from cryptography.hazmat.primitives import serialization
    from hostlib import run_cli
    small = Key("small", bits=1024)
    pem = tmp_path / "small.pem"
    pem.write_bytes(small.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    host = file_host(make_host, fns, tmp_path, [key().jwk()])
    s = run_cli("send", host.url, "--type", "ping", "--jwt-key", str(pem), "--kid", "small")
    assert b"warning" in s.stderr and b"below the minimum of 2048" in s.stderr, s.stderr
    assert s.stdout.decode().startswith("401"), (s.stdout, s.stderr)
