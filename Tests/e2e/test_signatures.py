"""Signature verification, dedup and rotation (CONTRACT §3, PROTOCOL §2), driven over HTTP."""
import base64
import os
import signal
import time

import pytest

from hostlib import RawConn, build_request, event_body, new_id, new_secret, post_utf8, sign, signed_headers, tamper_middle

# PROTOCOL §6 vectors: they pin the *test's* signer (standardwebhooks) to the spec, so a pass below
# means the host agrees with an independent implementation, not merely with itself.
VECTORS = [
    ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
     b'{"test": 2432232314}', "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
    ("whsec_azN2OXgwcTJtN3A0dDh3MXo2YzViMG4ycjl5NGg3ajM=", "wh_msg_0001", 1777896000,
     b'{"type":"batch.succeeded","version":"v1","timestamp":"2026-05-04T12:00:00Z","data":{"id":"batches/abc123",'
     b'"output_file_uri":"files/batch-abc123"}}', "v1,C67khFY9Ak46w29CjXoVjkzXEv5eig83CRpvhbEcowA="),
    ("whsec_MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1ub3BxcnN0dXY=", "wh_msg_0001", 1777896000,
     b'{"type":"batch.succeeded","version":"v1","timestamp":"2026-05-04T12:00:00Z","data":{"id":"batches/abc123",'
     b'"output_file_uri":"files/batch-abc123"}}', "v1,+imAMLZnkVUFsvVV6NrmooqI2W4QKAX8nGkuKCRnE2E="),
]


@pytest.mark.parametrize("secret,msg_id,ts,body,expected", VECTORS)
def test_reference_signer_matches_protocol_vectors(secret, msg_id, ts, body, expected):
    assert sign(secret, msg_id, ts, body) == expected


def test_valid_delivery_is_accepted_and_runs(host, fns):
    fns.add("_default")
    r = host.send()
    assert r.status == 202, r
    assert r.json() == {"status": "accepted", "id": r.msg_id}
    assert fns.wait_run(r.msg_id).attempt == 1


def test_duplicate_id_answers_200_and_runs_once(host, fns):
    fns.add("_default")
    msg_id = new_id()
    body = event_body("ping")
    assert host.send(body, msg_id=msg_id).status == 202
    fns.wait_run(msg_id)
    # Gemini's retry: same id, fresh timestamp, signature recomputed
    r = host.send(body, msg_id=msg_id, ts=int(time.time()) + 1)
    assert r.status == 200, r
    assert r.json() == {"status": "duplicate", "id": msg_id}
    # the id is the key, not the body
    r = host.send(event_body("other.thing"), msg_id=msg_id)
    assert r.status == 200 and r.json()["status"] == "duplicate", r
    # a remembered id is answered before the body is parsed: even one that is not JSON (a new id
    # with that body is a 400, so the body alone does not decide)
    r = host.send(b"not json", msg_id=msg_id)
    assert r.status == 200 and r.json()["status"] == "duplicate", r
    assert host.send(b"not json", msg_id=new_id()).status == 400
    time.sleep(1.0)
    assert len(fns.runs_of(msg_id)) == 1, fns.runs_of(msg_id)


def test_rejected_delivery_does_not_burn_its_id(host, fns):
    fns.add("_default")
    msg_id = new_id()
    body = event_body("ping")
    h = signed_headers(host.secrets[0], msg_id, body)
    h["webhook-signature"] = tamper_middle(h["webhook-signature"])
    assert host.post_raw(body, h).status == 401
    assert host.send(body, msg_id=msg_id).status == 202
    fns.wait_run(msg_id)


def _headers(host, body, msg_id=None, ts=None):
    return signed_headers(host.secrets[0], msg_id or new_id(), body, ts)


def _assert_401(r, *needles):
    assert r.status == 401, r
    err = r.json()["error"]
    assert isinstance(err, str) and err
    low = err.lower()
    assert any(n.lower() in low for n in needles), f"error {err!r} should name the failed check ({needles})"
    return err


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_401_naming_it(host, fns, missing):
    fns.add("_default")
    body = event_body("ping")
    h = _headers(host, body)
    msg_id = h["webhook-id"]
    del h[missing]
    _assert_401(host.post_raw(body, h), missing)
    time.sleep(0.3)
    assert not fns.runs_of(msg_id)


def test_tampered_signature_is_401(host, fns):
    fns.add("_default")
    body = event_body("ping")
    h = _headers(host, body)
    h["webhook-signature"] = tamper_middle(h["webhook-signature"])
    _assert_401(host.post_raw(body, h), "no matching signature")
    time.sleep(0.3)
    assert not fns.runs_of(h["webhook-id"])


def test_tampered_body_is_401(host):
    body = event_body("ping")
    h = _headers(host, body)
    _assert_401(host.post_raw(body.replace(b"ping", b"pong"), h), "no matching signature")


def test_signature_for_another_id_is_401(host):
    body = event_body("ping")
    h = _headers(host, body)
    h["webhook-id"] = new_id()
    _assert_401(host.post_raw(body, h), "no matching signature")


def test_unknown_secret_is_401_and_does_not_name_a_secret(host):
    other = new_secret()
    body = event_body("ping")
    r = host.post_raw(body, signed_headers(other, new_id(), body))
    err = _assert_401(r, "no matching signature")
    for s in host.secrets + [other]:
        assert s not in err and s.removeprefix("whsec_") not in err


def test_v1a_only_is_401(host):
    body = event_body("ping")
    h = _headers(host, body)
    h["webhook-signature"] = "v1a," + h["webhook-signature"].split(",", 1)[1]
    _assert_401(host.post_raw(body, h), "no matching signature", "webhook-signature")


def test_correct_signature_inside_a_longer_entry_is_401(host):
    """No substring matching: the right base64 embedded in a longer value must not verify."""
    body = event_body("ping")
    h = _headers(host, body)
    good = h["webhook-signature"].split(",", 1)[1]
    h["webhook-signature"] = "v1,AAAA" + good
    _assert_401(host.post_raw(body, h), "no matching signature", "webhook-signature")
    h["webhook-signature"] = "xv1," + good
    _assert_401(host.post_raw(body, h), "no matching signature", "webhook-signature")


def test_garbled_signature_header_is_401(host):
    body = event_body("ping")
    for garbage in ["", "v1", "v1,", "v1,!!!not-base64!!!", "nonsense"]:
        h = _headers(host, body)
        h["webhook-signature"] = garbage
        r = host.post_raw(body, h)
        assert r.status == 401, (garbage, r)
        assert r.json()["error"]


@pytest.mark.parametrize("offset,needle", [(-301, "too old"), (301, "too new")])
def test_timestamp_outside_tolerance_is_401(host, offset, needle):
    body = event_body("ping")
    r = host.post_raw(body, _headers(host, body, ts=int(time.time()) + offset))
    _assert_401(r, needle)


def test_timestamp_just_inside_tolerance_is_accepted(host):
    body = event_body("ping")
    for offset in (-250, 250):
        r = host.post_raw(body, _headers(host, body, ts=int(time.time()) + offset))
        assert r.status == 202, (offset, r)


@pytest.mark.parametrize("ts", ["abc", "1.5e9", "", "-5", "17778960000000000000000"])
def test_non_integer_timestamp_is_401(host, ts):
    body = event_body("ping")
    msg_id = new_id()
    h = {"webhook-id": msg_id, "webhook-timestamp": ts,
         "webhook-signature": sign(host.secrets[0], msg_id, int(time.time()), body)}
    r = host.post_raw(body, h)
    _assert_401(r, "webhook-timestamp", "too old", "too new")


def test_tolerance_setting(make_host):
    host = make_host(extra_args=["--tolerance", "10"])
    body = event_body("ping")
    _assert_401(host.post_raw(body, _headers(host, body, ts=int(time.time()) - 20)), "too old")
    assert host.post_raw(body, _headers(host, body, ts=int(time.time()) - 2)).status == 202


def test_header_names_are_case_insensitive(host, fns):
    fns.add("_default")
    body = event_body("ping")
    h = _headers(host, body)
    odd = {"Webhook-Id": h["webhook-id"], "WEBHOOK-TIMESTAMP": h["webhook-timestamp"],
           "Webhook-Signature": h["webhook-signature"]}
    r = host.post_raw(body, odd)
    assert r.status == 202, r
    fns.wait_run(h["webhook-id"])


def test_jwt_with_unknown_kid_and_unreachable_jwks_is_401(host):
    body = event_body("ping")
    h = _headers(host, body)
    hdr = base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"k1"}').rstrip(b"=").decode()
    pl = base64.urlsafe_b64encode(b'{"iss":"x"}').rstrip(b"=").decode()
    h["webhook-signature"] = f"{hdr}.{pl}.c2lnbmF0dXJl"
    _assert_401(host.post_raw(body, h), "JWKS could not be fetched")


def test_rotation_either_secret_verifies(make_host, fns):
    fns.add("_default")
    old, new = new_secret(), new_secret()
    host = make_host(secrets=[old, new])
    for s in (old, new):
        r = host.send(secret=s)
        assert r.status == 202, (s, r)
        fns.wait_run(r.msg_id)
    r = host.send(secret=new_secret())
    assert r.status == 401, r


def test_rotation_with_secrets_flag_and_space_separator(make_host, fns):
    old, new = new_secret(), new_secret()
    host = make_host(secrets=[new_secret()], extra_args=["--secrets", f"{old} {new}"])
    # the flag wins over HOOKHOST_SECRETS (which holds an unrelated secret)
    assert host.send(secret=old).status == 202
    assert host.send(secret=new).status == 202
    assert host.send(secret=host.secrets[0]).status == 401


def test_header_with_two_entries_one_wrong_verifies(host, fns):
    fns.add("_default")
    body = event_body("ping")
    ts = int(time.time())
    for order in ("wrong good", "good wrong", "v1a good"):
        msg_id = new_id()
        good = sign(host.secrets[0], msg_id, ts, body)
        parts = {"good": good, "wrong": sign(new_secret(), msg_id, ts, body), "v1a": "v1a," + good[3:]}
        h = {"webhook-id": msg_id, "webhook-timestamp": str(ts),
             "webhook-signature": " ".join(parts[p] for p in order.split())}
        r = host.post_raw(body, h)
        assert r.status == 202, (order, r)
        fns.wait_run(msg_id)


def test_protocol_rotation_vector_header_verifies_with_either_secret_alone(make_host):
    """PROTOCOL §6.3 shape: one header with both secrets' entries, each host knows only one secret."""
    s1, s2 = VECTORS[1][0], VECTORS[2][0]
    body = event_body("ping")
    for only in (s1, s2):
        host = make_host(secrets=[only])
        msg_id = new_id()
        r = host.post_raw(body, signed_headers([s1, s2], msg_id, body))
        assert r.status == 202, (only, r)
        host.stop()


def test_secrets_file(make_host, tmp_path):
    a, b = new_secret(), new_secret()
    sf = tmp_path / "secrets.txt"
    sf.write_text(f"{a}\n{b}\n")
    host = make_host(secrets=[], env={"HOOKHOST_SECRETS": None}, extra_args=["--secrets-file", str(sf)])
    assert host.send(secret=a).status == 202
    assert host.send(secret=b).status == 202
    assert host.send(secret=new_secret()).status == 401


def test_secrets_never_logged(host, fns):
    fns.add("_default")
    r = host.send()
    assert r.status == 202
    fns.wait_run(r.msg_id)
    body = event_body("ping")
    bad = _headers(host, body)
    bad["webhook-signature"] = tamper_middle(bad["webhook-signature"])
    host.post_raw(body, bad)
    time.sleep(0.3)
    log = host.log_text()
    assert log, "expected some log output at --log debug"
    for s in host.secrets:
        assert s not in log
        assert s.removeprefix("whsec_") not in log
        assert base64.b64decode(s.removeprefix("whsec_")).decode() not in log


# Behaviour 5: only the canonical encoding verifies. The Standard Webhooks reference libraries
# compare encoded strings, so a variant that merely decodes to the right bytes is a different
# signature: accepting it would make hookhost disagree with every other receiver.

def _noncanonical_last_char(b64: str) -> str:
    """Same bytes, different text: 32 bytes leave 2 unused low bits in the last character."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    assert b64.endswith("=") and len(b64) == 44
    last = alphabet.index(b64[42])
    assert last & 3 == 0
    return b64[:42] + alphabet[last | 1] + "="


def _signed_with_url_unsafe_chars(host, body):
    """Headers whose signature holds '+' or '/', so its URL-safe spelling differs."""
    for _ in range(200):
        h = _headers(host, body)
        b64 = h["webhook-signature"].split(",", 1)[1]
        if "+" in b64 or "/" in b64:
            return h, b64
    raise AssertionError("no signature with + or / in 200 tries")


@pytest.mark.parametrize("variant", ["noncanonical_last_char", "unpadded", "url_safe_alphabet", "url_safe_unpadded"])
def test_non_canonical_base64_signature_is_401(host, fns, variant):
    fns.add("_default")
    body = event_body("ping")
    h, b64 = _signed_with_url_unsafe_chars(host, body)
    assert base64.b64decode(b64) == base64.b64decode(_noncanonical_last_char(b64))
    forms = {
        "noncanonical_last_char": _noncanonical_last_char(b64),
        "unpadded": b64.rstrip("="),
        "url_safe_alphabet": b64.replace("+", "-").replace("/", "_"),
        "url_safe_unpadded": b64.replace("+", "-").replace("/", "_").rstrip("="),
    }
    bad = dict(h, **{"webhook-signature": "v1," + forms[variant]})
    _assert_401(host.post_raw(body, bad), "no matching signature")
    time.sleep(0.3)
    assert not fns.runs_of(h["webhook-id"])
    # the canonical form of the very same signature still verifies (and the id was not burnt)
    assert host.post_raw(body, h).status == 202
    metrics = host.request("GET", "/metrics").body.decode()
    assert 'hookhost_deliveries_total{outcome="unauthorized"} 1' in metrics, metrics


# Found by a hostile review of an earlier build: the docstrings below describe each defect as it
# was found and where its cause was, not what the host does now.
def fnv_shard(s: str, shards: int = 64) -> int:
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h % shards


def test_canonically_equivalent_but_different_ids_are_two_deliveries(make_host, fns):
    """Data loss. `webhook-id`s "…caf\\u00e9" and "…cafe\\u0301" are different byte strings (each
    correctly signed), but Swift `String` equality is Unicode canonical equivalence, and the dedup
    index is a `[String: …]` dictionary (Spool/ShardedDictionary.swift, sharded by an FNV hash of
    the UTF-8 bytes). When both ids land in the same shard the second delivery is answered
    `200 duplicate` and never runs — whether it is dropped depends on the hash of the id.
    Cause: Spool/ShardedDictionary.swift + DeliveryIndex keyed by String; key by the id's bytes."""
    fns.add("ping")
    host = make_host()
    n = next(n for n in range(10_000) if fnv_shard(f"id-{n}-caf\u00e9") == fnv_shard(f"id-{n}-cafe\u0301"))
    a, b = f"id-{n}-caf\u00e9", f"id-{n}-cafe\u0301"
    assert a.encode() != b.encode()
    r1 = post_utf8(host, a, event_body("ping", {"n": 1}))
    r2 = post_utf8(host, b, event_body("ping", {"n": 2}))
    assert r1.status == 202, r1
    assert r2.status == 202, f"a different webhook-id was answered as a duplicate and will never run: {r2}"


def test_sighup_with_a_pipe_secrets_file_keeps_the_secrets(make_host, fns):
    """Wrong answer / availability. `--secrets-file <(vault read …)` (bash process substitution:
    a pipe at /dev/fd/N) works at start; the first SIGHUP re-reads the drained pipe, gets zero
    secrets, *accepts* that ("secrets reloaded","count":0 at info level) and from then on every
    delivery is `401 no HMAC secrets configured` until a restart. The same happens when a
    regular secrets file is caught empty mid-rewrite. README: "A bad file keeps the old secrets";
    expected here: refuse a non-regular file at start (exit 2 naming HOOKHOST_SECRETS_FILE) or
    keep the secrets across the reload. Cause: App/SecretsStore.swift:reload (an empty list is
    taken as valid)."""
    fns.add("ping")
    host = make_host(start=False)
    r_fd, w_fd = os.pipe()
    os.write(w_fd, (host.secrets[0] + "\n").encode())
    os.close(w_fd)
    try:
        try:
            host.start(["--secrets-file", f"/dev/fd/{r_fd}"], env={"HOOKHOST_SECRETS": None}, pass_fds=[r_fd])
        except Exception:
            assert host.proc.returncode == 2 and "HOOKHOST_SECRETS_FILE" in host.log_text(), host.log_tail()
            return
    finally:
        os.close(r_fd)
    assert host.send(event_body("ping"), type_="ping").status == 202
    os.kill(host.pid, signal.SIGHUP)
    time.sleep(0.5)
    r = host.send(event_body("ping"), type_="ping")
    assert r.status == 202, f"after SIGHUP: {r}"


def test_remembered_id_still_needs_a_valid_signature(host):
    msg_id = new_id()
    assert host.send(event_body("ping"), msg_id=msg_id).status == 202
    body = b"not json"
    # bad signature, no signature, stale timestamp: 401, not "duplicate"
    bad = signed_headers(host.secrets[0], msg_id, b"other body")
    assert host.post_raw(body, bad).status == 401
    assert host.post_raw(body, {"webhook-id": msg_id}).status == 401
    old = signed_headers(host.secrets[0], msg_id, body, ts=int(time.time()) - 3600)
    assert host.post_raw(body, old).status == 401
    # the id header twice: 401 even though the first copy is remembered
    h = signed_headers(host.secrets[0], msg_id, body)
    raw = build_request("POST", "/webhooks", body, h).replace(b"\r\n\r\n", f"\r\nwebhook-id: {msg_id}\r\n\r\n".encode(), 1)
    with RawConn(host.port) as c:
        c.send(raw)
        assert c.read_response().status == 401
