"""`hookhost webhooks …` against the stand-in WebhookService (`hookhost demo --api-only`), and the
stand-in itself checked by Google's own client (google-genai, pinned in requirements.txt).

The stand-in logs every WebhookService request with its body's field names; the SDK's requests
recorded there are the reference, and a request hookhost sends that the SDK would not send (another
method, path, query parameter or field) fails `test_hookhost_sends_only_what_the_sdk_sends`.
"""
from __future__ import annotations

import json
import re

import pytest
from standardwebhooks.webhooks import Webhook

from hostlib import run_cli, wait_until
from webhookslib import API_KEY, Receiver, StandIn, cli, sdk_client, stand_in  # noqa: F401 (stand_in is a fixture)


# --- the stand-in, checked by google-genai ---------------------------------------------------------

def drive_sdk(stand_in: StandIn, receiver: Receiver) -> set:
    """Every WebhookService call google-genai has, each parsed into its types; returns their shapes."""
    from google.genai._gaos.types.webhooks import Webhook as SDKWebhook
    client = sdk_client(stand_in)
    mark = stand_in.mark()
    created = [client.webhooks.create(uri=receiver.url, subscribed_events=["batch.succeeded", "video.generated"], name=f"hook-{i}")
               for i in range(3)]
    for w in created:
        assert isinstance(w, SDKWebhook) and w.id and w.new_signing_secret.startswith("whsec_")
        assert w.subscribed_events == ["batch.succeeded", "video.generated"] and w.state == "enabled"
    # Every page, two at a time.
    seen, token, pages = [], None, 0
    while True:
        page = client.webhooks.list(page_size=2, page_token=token) if token else client.webhooks.list(page_size=2)
        pages += 1
        seen += [w.id for w in page.webhooks or []]
        token = page.next_page_token
        if not token:
            break
        assert pages < 10
    assert pages == 2 and seen == [w.id for w in created]
    first = created[0]
    got = client.webhooks.get(first.id)
    assert got.id == first.id and got.new_signing_secret is None and got.signing_secrets[0].truncated_secret
    updated = client.webhooks.update(first.id, name="renamed", uri=receiver.url + "?v=2", subscribed_events=["batch.failed"],
                                     state="disabled", update_mask="name,uri,subscribed_events,state")
    assert (updated.name, updated.uri, updated.subscribed_events, updated.state) == ("renamed", receiver.url + "?v=2", ["batch.failed"], "disabled")
    assert client.webhooks.update(first.id, state="enabled", update_mask="state").state == "enabled"
    # A ping arrives at the uri signed with the webhook's secret (checked by standardwebhooks).
    client.webhooks.ping(created[1].id)
    headers, body = wait_until(lambda: receiver.posts and receiver.posts[-1], 10, what="the ping")
    Webhook(created[1].new_signing_secret).verify(body, headers)
    assert json.loads(body)["type"] == "webhook.ping"
    rotated = client.webhooks.rotate_signing_secret(created[1].id, revocation_behavior="revoke_previous_secrets_after_h24")
    assert rotated.secret.startswith("whsec_") and rotated.secret != created[1].new_signing_secret
    secrets = client.webhooks.get(created[1].id).signing_secrets
    assert len(secrets) == 2 and secrets[0].expire_time is None and secrets[1].expire_time is not None
    # During the grace period a ping is signed with both: either secret verifies it.
    receiver.posts.clear()
    client.webhooks.ping(created[1].id)
    headers, body = wait_until(lambda: receiver.posts and receiver.posts[-1], 10, what="the second ping")
    Webhook(created[1].new_signing_secret).verify(body, headers)
    Webhook(rotated.secret).verify(body, headers)
    client.webhooks.rotate_signing_secret(created[1].id, revocation_behavior="revoke_previous_secrets_immediately")
    assert len(client.webhooks.get(created[2].id).signing_secrets) == 1
    assert len(client.webhooks.get(created[1].id).signing_secrets) == 1
    client.webhooks.delete(created[2].id)
    from google.genai import errors as genai_errors
    with pytest.raises(Exception) as e:
        client.webhooks.get(created[2].id)
    assert "404" in str(e.value) or isinstance(e.value, genai_errors.APIError)
    return set(stand_in.requests(mark))


@pytest.fixture(scope="module")
def sdk_shapes(tmp_path_factory):
    s = StandIn(tmp_path_factory.mktemp("sdk") / "api")
    r = Receiver()
    try:
        yield drive_sdk(s, r)
    finally:
        r.close()
        assert s.stop() == 0, s.log()


def test_the_stand_in_is_checked_by_googles_own_client(sdk_shapes):
    paths = {(m, p) for m, p, _, _ in sdk_shapes}
    assert paths == {("POST", "/v1/webhooks"), ("GET", "/v1/webhooks"), ("GET", "/v1/webhooks/{id}"),
                     ("PATCH", "/v1/webhooks/{id}"), ("DELETE", "/v1/webhooks/{id}"),
                     ("POST", "/v1/webhooks/{id}:ping"), ("POST", "/v1/webhooks/{id}:rotateSigningSecret")}
    # What the SDK sends, as PROTOCOL §8 recorded it.
    assert ("POST", "/v1/webhooks", frozenset(), frozenset({"name", "subscribed_events", "uri"})) in sdk_shapes
    assert ("GET", "/v1/webhooks", frozenset({"page_size", "page_token"}), frozenset()) in sdk_shapes
    assert ("PATCH", "/v1/webhooks/{id}", frozenset({"update_mask"}), frozenset({"state"})) in sdk_shapes
    assert ("POST", "/v1/webhooks/{id}:rotateSigningSecret", frozenset(), frozenset({"revocation_behavior"})) in sdk_shapes


def test_the_sdk_lists_batches_from_the_stand_in(stand_in):
    import urllib.error
    import urllib.request
    try:
        urllib.request.urlopen(urllib.request.Request(stand_in.base + "/v1/batches?pageSize=1", headers={"x-goog-api-key": API_KEY}), timeout=10)
    except urllib.error.HTTPError as e:
        if e.code == 404:
            pytest.skip("the stand-in has no GET /v1/batches listing on this branch (it comes with branch reconcile)")
    client = sdk_client(stand_in)
    batches = list(client.batches.list(config={"page_size": 2}))
    assert all(b.name.startswith("batches/") for b in batches)


# --- hookhost webhooks, against the same stand-in ---------------------------------------------------

def union_by_path(shapes) -> dict:
    out: dict = {}
    for m, p, q, f in shapes:
        qs, fs = out.get((m, p), (frozenset(), frozenset()))
        out[(m, p)] = (qs | q, fs | f)
    return out


def test_hookhost_sends_only_what_the_sdk_sends(sdk_shapes, stand_in, tmp_path):
    secrets = tmp_path / "secrets"
    mark = stand_in.mark()
    ids = []
    for i in range(3):
        code, out, err = cli(stand_in, "create", "--uri", f"http://127.0.0.1:9/h{i}", "--events", "batch.succeeded", "--name", f"n{i}",
                             secrets_file=secrets)
        assert code == 0, err
        ids.append(re.search(r"created webhook (\S+):", out).group(1))
    code, out, err = cli(stand_in, "list", "--page-size", "2")
    assert code == 0, err
    assert all(i in out for i in ids)
    code, out, err = cli(stand_in, "list", "--json", "--page-size", "2")
    assert [w["id"] for w in json.loads(out)["webhooks"]] == ids
    for args in (["get", ids[0]], ["update", ids[0], "--name", "x", "--uri", "http://127.0.0.1:9/x", "--events", "batch.failed",
                                    "--state", "disabled"],
                 ["update", ids[0], "--state", "enabled"], ["ping", ids[0]], ["rotate", ids[0]], ["rotate", ids[0], "--revoke", "now"],
                 ["delete", ids[2]]):
        code, out, err = cli(stand_in, *args, secrets_file=secrets)
        assert code == 0, (args, out, err)
    mine = stand_in.requests(mark)
    assert len(mine) >= 10
    sdk = union_by_path(sdk_shapes)
    for method, path, query, fields in mine:
        assert (method, path) in sdk, f"hookhost sent {method} {path}, which google-genai never sends"
        sdk_query, sdk_fields = sdk[(method, path)]
        assert query <= sdk_query, f"{method} {path}: query {sorted(query - sdk_query)} not sent by google-genai"
        assert fields <= sdk_fields, f"{method} {path}: fields {sorted(fields - sdk_fields)} not sent by google-genai"
    # update sends exactly the fields it changes.
    patches = [r for r in mine if r[0] == "PATCH"]
    assert patches[0][3] == {"name", "uri", "subscribed_events", "state"} and patches[1][3] == {"state"}


def test_api_errors_show_geminis_status_and_message_and_never_the_key(stand_in, tmp_path):
    code, out, err = cli(stand_in, "list", key="denied-" + API_KEY)
    assert code == 1
    assert "HTTP 403 PERMISSION_DENIED: The caller does not have permission" in err
    code, out, err = cli(stand_in, "get", "nope")
    assert code == 1 and "HTTP 404 NOT_FOUND" in err and "webhook nope not found" in err
    code, out, err = cli(stand_in, "list", key="wrong-key")
    assert code == 1 and "HTTP 401" in err
    r = run_cli("webhooks", "list", env={"HOOKHOST_API_BASE": stand_in.base})
    assert r.returncode == 2 and b"GEMINI_API_KEY" in r.stderr


def test_create_without_a_secrets_file_is_refused_before_gemini_is_asked(stand_in):
    mark = stand_in.mark()
    code, out, err = cli(stand_in, "create", "--uri", "http://127.0.0.1:9/h", "--events", "batch.succeeded")
    assert code == 2 and "HOOKHOST_SECRETS_FILE" in err and "--secrets-file" in err
    assert stand_in.requests(mark) == []


def test_a_webhook_gemini_disabled_is_shown_loudly(stand_in, tmp_path):
    code, out, err = cli(stand_in, "create", "--uri", "http://127.0.0.1:9/h", "--events", "batch.succeeded", secrets_file=tmp_path / "s")
    hook_id = re.search(r"created webhook (\S+):", out).group(1)
    client = sdk_client(stand_in)  # kept: a client that is collected closes its connection pool
    client.webhooks.update(hook_id, state="disabled_due_to_failed_deliveries", update_mask="state")
    for args in (["list"], ["get", hook_id]):
        code, out, err = cli(stand_in, *args)
        assert code == 0, err
        assert "DISABLED BY GEMINI (failed deliveries)" in out
        assert f"WARNING: Gemini disabled webhook {hook_id}" in out and f"hookhost webhooks update {hook_id} --state enabled" in out
    code, out, err = cli(stand_in, "delete", hook_id)
    assert code == 0 and out.startswith(f"deleted webhook {hook_id}: http://127.0.0.1:9/h for batch.succeeded")



def test_ping_wait_takes_whole_seconds_within_its_range(stand_in):
    for bad in ("0.5", "1e999", "0", "3601", "-1", "", "nan"):
        code, out, err = cli(stand_in, "ping", "hook1", "--wait", bad)
        assert code == 2 and "--wait takes whole seconds, 1 … 3600" in err, (bad, code, out, err)
