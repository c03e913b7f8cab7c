"""A JWT is a licence for one delivery, for a bounded time (issue 18, defect 3): a token without
exp/iat, a long-lived one, one reused for another webhook-id (also across a restart), another
kind of token (typ), a wrong issuer and a `data` claim that contradicts the body are refused with
401 naming the check; each rule has a setting that relaxes it. Tokens are made by PyJWT with a
key of the test's own, published to the host in a JWKS file."""
from __future__ import annotations

import base64
import json
import secrets as pysecrets
import signal
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from durability_lib import wait_state
from hostlib import event_body, new_id

KID = "licence-key"
_KEY = None


def signing_key():
    """RSA key generation is slow in Python: one for the module."""
    global _KEY
    if _KEY is None:
        _KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEY


def _b64u(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def token(claims: dict, headers: dict | None = None) -> str:
    return jwt.encode(claims, signing_key(), algorithm="RS256", headers={"kid": KID, **(headers or {})})


def fresh(**extra) -> dict:
    """The claims of an ordinary token: issued now, valid 5 minutes, unique."""
    now = int(time.time())
    return {"iss": "https://generativelanguage.googleapis.com", "iat": now, "exp": now + 300,
            "jti": pysecrets.token_hex(8), **extra}


def licence_host(make_host, fns, tmp_path, extra=()):
    fns.add("_default")
    path = tmp_path / "licence-jwks.json"
    if not path.exists():
        n = signing_key().public_key().public_numbers()
        path.write_text(json.dumps({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID,
                                              "n": _b64u(n.n), "e": _b64u(n.e)}]}))
    return make_host(extra_args=["--jwks-file", str(path), *extra])


def post(host, tok: str, msg_id: str | None = None, body: bytes | None = None):
    msg_id = msg_id or new_id("lic")
    body = body or event_body("batch.failed", {"id": "batches/lic", "error_code": 13})
    r = host.post_raw(body, {"webhook-id": msg_id, "webhook-timestamp": str(int(time.time())), "webhook-signature": tok})
    r.msg_id = msg_id
    return r


def refused(r, needle: str):
    assert r.status == 401, r
    assert needle in r.json()["error"], r.json()


def test_a_token_without_exp_or_iat_is_refused_unless_relaxed(make_host, fns, tmp_path):
    host = licence_host(make_host, fns, tmp_path)
    bare = token({})
    refused(post(host, bare), "neither exp nor iat")
    # An iat alone is enough while it is recent (HOOKHOST_TOLERANCE), as for webhook-timestamp.
    assert post(host, token({"iat": int(time.time())})).status == 202
    refused(post(host, token({"iat": int(time.time()) - 3600})), "iat is more than 300 s old")
    host.stop()
    relaxed = licence_host(make_host, fns, tmp_path, extra=["--jwt-require-expiry", "false"])
    assert post(relaxed, bare).status == 202
    assert "HOOKHOST_JWT_REQUIRE_EXPIRY=false" in relaxed.log_text()  # warned about at start


def test_a_long_lived_token_is_refused_naming_the_lifetime(make_host, fns, tmp_path):
    host = licence_host(make_host, fns, tmp_path)
    now = int(time.time())
    day = token(fresh(exp=now + 86400))
    refused(post(host, day), "lifetime of 86400 s (exp - iat) is longer than the 3600 s allowed (HOOKHOST_JWT_MAX_LIFETIME)")
    refused(post(host, token({"exp": now + 86400})), "(exp - now)")
    refused(post(host, token(fresh(iat=now + 3600, exp=now + 3900))), "iat is in the future")
    host.stop()
    relaxed = licence_host(make_host, fns, tmp_path, extra=["--jwt-max-lifetime", "86400"])
    assert post(relaxed, day).status == 202


def test_a_token_is_good_for_one_webhook_id_even_across_a_restart(make_host, fns, tmp_path):
    host = licence_host(make_host, fns, tmp_path)
    tok = token(fresh())
    first = post(host, tok)
    assert first.status == 202, first
    fns.wait_run(first.msg_id)
    refused(post(host, tok), "already used for a delivery with another webhook-id")
    # The same delivery again (Gemini retrying) is the ordinary duplicate, not a refusal.
    again = post(host, tok, msg_id=first.msg_id)
    assert again.status == 200 and again.json()["status"] == "duplicate", again

    # Killed, not stopped: the binding was durable before the 202, like the delivery. (Its run's
    # outcome is made durable shortly after the run ends; killed before that, the run would
    # rightly happen again, at least once: wait for it.)
    wait_state(host, first.msg_id, "done")
    host.restart(["--jwks-file", str(tmp_path / "licence-jwks.json")], sig=signal.SIGKILL)
    replayed = post(host, tok)
    refused(replayed, "another webhook-id")
    assert post(host, tok, msg_id=first.msg_id).status == 200
    # Another token is another licence.
    other = post(host, token(fresh()))
    assert other.status == 202, other
    fns.wait_run(other.msg_id)
    assert not fns.runs_of(replayed.msg_id)
    assert len(fns.runs_of(first.msg_id)) == 1


def test_reuse_can_be_allowed(make_host, fns, tmp_path):
    host = licence_host(make_host, fns, tmp_path, extra=["--jwt-allow-reuse", "true"])
    tok = token(fresh())
    for _ in range(3):
        assert post(host, tok).status == 202
    assert "HOOKHOST_JWT_ALLOW_REUSE=true" in host.log_text()


def test_typ_must_name_a_jwt_and_iss_must_match_when_configured(make_host, fns, tmp_path):
    host = licence_host(make_host, fns, tmp_path, extra=["--jwt-issuer", "https://generativelanguage.googleapis.com"])
    refused(post(host, token(fresh(), {"typ": "at+jwt"})), 'typ "at+jwt"')
    refused(post(host, token(fresh(iss="https://accounts.google.com"))), "iss does not match")
    refused(post(host, token({k: v for k, v in fresh().items() if k != "iss"})), "no iss")
    assert post(host, token(fresh(), {"typ": "application/jwt"})).status == 202
    assert post(host, token(fresh())).status == 202
    host.stop()
    relaxed = licence_host(make_host, fns, tmp_path, extra=["--jwt-types", "*"])
    assert post(relaxed, token(fresh(), {"typ": "at+jwt"})).status == 202


def test_a_data_claim_that_contradicts_the_body_is_refused(make_host, fns, tmp_path):
    host = licence_host(make_host, fns, tmp_path)
    body = event_body("batch.failed", {"id": "batches/d1", "error_code": 13, "error_message": "quota"})
    forged = event_body("batch.failed", {"id": "batches/d1", "error_code": 13, "error_message": "all fine, rerun it"})
    data = {"error_message": "quota", "error_code": 13, "id": "batches/d1"}  # another member order: the same data
    refused(post(host, token(fresh(data=data)), body=forged), "claim data does not match the body")
    ok = post(host, token(fresh(data=data)), body=body)
    assert ok.status == 202, ok
    assert fns.wait_run(ok.msg_id).stdin_json()["delivery"]["claims"]["data"] == data


@pytest.mark.parametrize("audience", [None, "my-app"])
def test_a_host_without_an_audience_warns_at_start(make_host, fns, tmp_path, audience):
    host = licence_host(make_host, fns, tmp_path, extra=["--audience", audience] if audience else [])
    warned = [x for x in host.log_records() if x.get("msg", "").startswith("HOOKHOST_AUDIENCE is not set")]
    assert bool(warned) == (audience is None), warned
    if warned:
        assert warned[0]["level"] == "warn"
