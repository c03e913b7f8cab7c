"""`hookhost webhooks …` against the stand-in WebhookService (`hookhost demo --api-only`), and the
stand-in itself checked by Google's own client (google-genai, pinned in requirements.txt).

The stand-in logs every WebhookService request with its body's field names; the SDK's requests
recorded there are the reference, and a request hookhost sends that the SDK would not send (another
method, path, query parameter or field) fails `test_hookhost_sends_only_what_the_sdk_sends`.
"""
from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from hostlib import event_body, hookhost_bin, new_id, run_cli, wait_until

API_KEY = "k-webhooks-e2e"
LOG_LINE = re.compile(r"^(GET|POST|PATCH|DELETE) (\S+) → (\d+) fields=(\S*)$")


class StandIn:
    """`hookhost demo --api-only DIR --api-key KEY`, its stdout (base URL, then the request log) in a file."""

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.out = root.parent / f"{root.name}.stdout"
        self.out_file = open(self.out, "wb")
        self.proc = subprocess.Popen([str(hookhost_bin()), "demo", "--api-only", str(root), "--api-key", API_KEY],
                                     env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(root)},
                                     stdin=subprocess.DEVNULL, stdout=self.out_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_until(lambda: self.out.read_text().startswith("HOOKHOST_API_BASE="), 10, what="the stand-in's base URL")
        self.base = self.out.read_text().splitlines()[0].split("=", 1)[1]

    def log(self) -> str:
        return self.out.read_text()

    def mark(self) -> int:
        return len(self.log().splitlines())

    def requests(self, since: int = 0) -> list[tuple[str, str, frozenset, frozenset]]:
        """(method, path with ids as {id}, query names, body field names) of each WebhookService request."""
        out = []
        for line in self.log().splitlines()[since:]:
            m = LOG_LINE.match(line)
            if not m:
                continue
            method, target, _status, fields = m.groups()
            path, _, query = target.partition("?")
            path = re.sub(r"^(/v1[a-z0-9]*/webhooks)/[^/:]+", r"\1/{id}", path)
            names = frozenset(kv.split("=", 1)[0] for kv in query.split("&") if kv)
            out.append((method, path, names, frozenset(f for f in fields.split(",") if f)))
        return out

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=15)
        self.out_file.close()
        return code


class Receiver:
    """A loopback endpoint that records the POSTs it gets (headers, body)."""

    def __init__(self):
        self.posts: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in(tmp_path):
    s = StandIn(tmp_path / "api")
    yield s
    assert s.stop() == 0, s.log()


def cli(stand_in: StandIn, *args: str, key: str = API_KEY, secrets_file: Path | None = None, data: Path | None = None):
    env = {"GEMINI_API_KEY": key, "HOOKHOST_API_BASE": stand_in.base}
    if secrets_file is not None:
        env["HOOKHOST_SECRETS_FILE"] = str(secrets_file)
    if data is not None:
        env["HOOKHOST_DATA"] = str(data)
    r = run_cli("webhooks", *args, env=env, timeout=60)
    out, err = r.stdout.decode(), r.stderr.decode()
    assert key not in out and key not in err, "the API key was printed"
    return r.returncode, out, err


def sdk_client(stand_in: StandIn):
    from google import genai
    return genai.Client(api_key=API_KEY, http_options={"base_url": stand_in.base, "api_version": "v1"})


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
    batches = list(sdk_client(stand_in).batches.list(config={"page_size": 2}))
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


# --- the secret reaches a running host ---------------------------------------------------------------

def start_host_with_file(make_host, tmp_path, first_line: str = "# secrets of this host\n"):
    secrets = tmp_path / "secrets"
    fd = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, first_line.encode())
    os.close(fd)
    host = make_host(secrets=[], env={"HOOKHOST_SECRETS_FILE": str(secrets)})
    return host, secrets


def create(stand_in, host, secrets) -> tuple[str, str]:
    """Creates a webhook pointing at the host; returns (id, the secret as written in the file)."""
    code, out, err = cli(stand_in, "create", "--uri", host.url, "--events", "batch.succeeded", secrets_file=secrets)
    assert code == 0, err
    assert "whsec_" not in out + err, "the secret was printed without --show-secret"
    hook_id = re.search(r"created webhook (\S+):", out).group(1)
    line = next(l for l in secrets.read_text().splitlines() if f"webhook={hook_id}" in l)
    return hook_id, line.split()[0]


def accepted(host, secret: str) -> bool:
    return host.send(event_body("batch.succeeded"), type_="batch.succeeded", msg_id=new_id("wh"), secret=secret).status in (200, 202, 204)


def test_create_writes_the_secret_0600_and_the_running_host_accepts_it_without_restart(stand_in, make_host, tmp_path):
    host, secrets = start_host_with_file(make_host, tmp_path)
    pid = host.pid
    hook_id, secret = create(stand_in, host, secrets)
    st = os.lstat(secrets)
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert secrets.read_text().startswith("# secrets of this host\n")
    wait_until(lambda: accepted(host, secret), 15, interval=0.3, what="the host to accept the new secret")
    assert host.pid == pid and host.running
    # And Gemini's own ping, end to end.
    code, out, err = cli(stand_in, "ping", hook_id, "--wait", "30", data=host.data)
    assert code == 0, err
    assert "ping arrived and verified" in out


def test_rotate_after_24h_keeps_both_until_the_old_ones_expiry(stand_in, make_host, tmp_path):
    host, secrets = start_host_with_file(make_host, tmp_path)
    hook_id, old = create(stand_in, host, secrets)
    wait_until(lambda: accepted(host, old), 15, interval=0.3, what="the first secret")
    code, out, err = cli(stand_in, "rotate", hook_id, secrets_file=secrets)
    assert code == 0, err
    assert "whsec_" not in out
    lines = [l for l in secrets.read_text().splitlines() if f"webhook={hook_id}" in l]
    assert len(lines) == 2 and lines[0].startswith(old) and "expires=" in lines[0]
    new = lines[1].split()[0]
    wait_until(lambda: accepted(host, new), 15, interval=0.3, what="the rotated secret")
    assert accepted(host, old), "the old secret must verify during the grace period"
    # The test's short expiry, written into the file as an operator would (the 24 h are not waited for).
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3))
    secrets.write_text(re.sub(r"expires=\S+", f"expires={soon}", secrets.read_text()))
    wait_until(lambda: not accepted(host, old), 20, interval=0.3, what="the old secret to expire")
    assert accepted(host, new)
    status = host.cli("status", "--data", str(host.data))
    assert b"expired " + soon.encode() in status.stdout, status.stdout


def test_rotate_now_refuses_the_old_secret_at_once(stand_in, make_host, tmp_path):
    host, secrets = start_host_with_file(make_host, tmp_path)
    hook_id, old = create(stand_in, host, secrets)
    wait_until(lambda: accepted(host, old), 15, interval=0.3, what="the first secret")
    code, out, err = cli(stand_in, "rotate", hook_id, "--revoke", "now", secrets_file=secrets)
    assert code == 0, err
    assert old not in secrets.read_text()
    new = next(l for l in secrets.read_text().splitlines() if f"webhook={hook_id}" in l).split()[0]
    wait_until(lambda: accepted(host, new), 15, interval=0.3, what="the new secret")
    assert not accepted(host, old)


# --- ping --wait: each way it can fail says so ----------------------------------------------------------

def test_ping_wait_when_the_host_is_down(stand_in, make_host, tmp_path):
    host, secrets = start_host_with_file(make_host, tmp_path)
    hook_id, _ = create(stand_in, host, secrets)
    host.stop()
    mark = stand_in.mark()
    code, out, err = cli(stand_in, "ping", hook_id, "--wait", "5", data=host.data)
    assert code == 1 and "no hookhost serve is running" in err
    assert stand_in.requests(mark) == [], "Gemini must not be asked when nothing can watch"


def test_ping_wait_when_the_host_has_the_wrong_secret(stand_in, make_host, tmp_path):
    host, secrets = start_host_with_file(make_host, tmp_path, first_line="whsec_" + "QUJD" * 8 + "\n")
    # The webhook's secret goes to another file: the host never learns it.
    hook_id, _ = create(stand_in, host, tmp_path / "elsewhere")
    code, out, err = cli(stand_in, "ping", hook_id, "--wait", "5", data=host.data)
    assert code == 1 and "signature was rejected" in err, err


def test_ping_wait_when_the_endpoint_is_unreachable(stand_in, make_host, tmp_path):
    host, secrets = start_host_with_file(make_host, tmp_path)
    code, out, err = cli(stand_in, "create", "--uri", "http://127.0.0.1:9/nothing", "--events", "batch.succeeded", secrets_file=secrets)
    hook_id = re.search(r"created webhook (\S+):", out).group(1)
    code, out, err = cli(stand_in, "ping", hook_id, "--wait", "3", data=host.data)
    assert code == 1 and "could not reach" in err, err


def test_ping_wait_when_the_api_answers_403(stand_in, make_host, tmp_path):
    host, secrets = start_host_with_file(make_host, tmp_path)
    hook_id, _ = create(stand_in, host, secrets)
    code, out, err = cli(stand_in, "ping", hook_id, "--wait", "5", key="denied-key", data=host.data)
    assert code == 1 and "HTTP 403 PERMISSION_DENIED" in err
