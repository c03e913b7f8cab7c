"""The pipeline examples (issue 20): the batch handler's app.batch.retry events, the retry function
and the interaction.requires_action function against the stand-in Gemini API (`hookhost demo
--api-only`), the stand-in driven by google-genai itself, and the whole loop through the host.

The functions run directly here, with the stdin document and the environment the host gives them
(HOOKHOST_EMIT in the work directory); the last tests need the host's emitting and routing."""
import base64
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from durability_lib import listed
from examplelib import examples_dir, result_of, run_function, stdin_doc
from hostlib import hookhost_bin, new_secret, wait_until

META = {"job_group": "nightly-eval", "priority": "high"}


# --- helpers -----------------------------------------------------------------------------------

def emitted(work: Path) -> list[bytes]:
    f = work / "emit.jsonl"
    return f.read_bytes().splitlines(keepends=True) if f.exists() else []


def emit_env(tmp: Path, name: str = "work") -> tuple[Path, dict]:
    """A work directory of the run's own with HOOKHOST_EMIT inside, as the host sets them."""
    work = tmp / name
    work.mkdir()
    return work, {"HOOKHOST_WORK_DIR": str(work), "HOOKHOST_EMIT": str(work / "emit.jsonl")}


def child_doc(type_: str, data: dict, delivery: str, parent: str, user_metadata=None, depth: int = 1) -> bytes:
    """The stdin document of an emitted event: `event` is the line with user_metadata filled in."""
    event = {"type": type_, "data": data, "user_metadata": user_metadata}
    return json.dumps({"contract": 1, "delivery": {"id": delivery, "attempt": 1, "received_at": "2026-05-04T12:00:01.123Z",
                                                   "verified_by": "parent", "parent": parent, "root": parent, "depth": depth},
                       "type": type_, "event": event, "user_metadata": user_metadata, "result": None},
                      separators=(",", ":")).encode() + b"\n"


class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps every POST (headers, body) and answers 202."""

    def __init__(self):
        self.posts: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, n: int, timeout: float = 15) -> list[tuple[dict, bytes]]:
        wait_until(lambda: len(self.posts) >= n, timeout, what=f"{n} webhook POST(s)")
        return self.posts

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class StandIn:
    """`hookhost demo --api-only DIR` with a signing secret and a project webhook."""

    def __init__(self, root: Path, secret: str, webhook: str, api_key: str = "k-pipeline"):
        root.mkdir(parents=True, exist_ok=True)
        self.api_key = api_key
        self.out = root.parent / f"{root.name}.stdout"
        self.out_file = open(self.out, "wb")
        self.proc = subprocess.Popen([str(hookhost_bin()), "demo", "--api-only", str(root), "--api-key", api_key, "--webhook", webhook],
                                     env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(root), "HOOKHOST_SECRETS": secret},
                                     stdin=subprocess.DEVNULL, stdout=self.out_file, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: self.out.read_text().startswith("HOOKHOST_API_BASE="), 10, what="the stand-in's base URL")
        self.base = self.out.read_text().splitlines()[0].split("=", 1)[1]

    @property
    def env(self) -> dict:
        """What the functions get through pass_env."""
        return {"GEMINI_API_KEY": self.api_key, "GOOGLE_GEMINI_BASE_URL": self.base}

    def get(self, path: str):
        import urllib.request
        req = urllib.request.Request(self.base + path, headers={"x-goog-api-key": self.api_key})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read()

    def log(self) -> str:
        return self.out.read_text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=15)
        self.out_file.close()
        return code


@pytest.fixture
def webhook_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def stand_in(tmp_path, webhook_secret, receiver):
    s = StandIn(tmp_path / "api", webhook_secret, receiver.url)
    yield s
    assert s.stop() == 0, s.log()


def verified(secret: str, post: tuple[dict, bytes]) -> dict:
    """The body of a stand-in webhook, checked with the independent standardwebhooks signer."""
    headers, body = post
    Webhook(secret).verify(body, headers)
    return json.loads(body)


# --- the batch handler emits app.batch.retry -------------------------------------------------------

JSONL = [
    {"key": "k1", "response": {"candidates": []}},
    {"key": "k2", "error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}},
    {"key": "k3", "error": {"code": 400, "message": "bad request", "status": "INVALID_ARGUMENT"}},  # would fail again
    {"key": "k4", "response": None},  # neither: not an error the API reported
    {"error": {"code": 503, "message": "no key"}},  # cannot be resubmitted by key
    {"key": 5, "error": {"code": 500, "message": "internal"}, "request": {"contents": [{"parts": [{"text": "q5"}]}]}},
]


def batch_doc(delivery, result, user_metadata=META):
    return stdin_doc("batch.succeeded", {"id": "batches/abc", "output_file_uri": "files/batch-abc"}, delivery,
                     result=result, user_metadata=user_metadata)


def test_the_batch_handler_emits_one_retry_event_per_transient_failed_key(tmp_path):
    f = tmp_path / "out.jsonl"
    f.write_text("".join(json.dumps(e) + "\n" for e in JSONL))
    work, env = emit_env(tmp_path)
    out = tmp_path / "summaries"
    doc = batch_doc("wh_retry_1", result_of(f, "files/batch-abc", "application/jsonl"))
    r = run_function("batch.succeeded", doc, tmp_path, {**env, "BATCH_SUMMARY_DIR": str(out)})
    assert r.code == 0, r.stderr
    assert r.json()["failed"] == 4 and "emitted 2 app.batch.retry events" in r.stderr, r.stderr
    lines = emitted(work)
    assert [json.loads(ln) for ln in lines] == [
        {"type": "app.batch.retry", "data": {"batch": "batches/abc", "key": "k2", "line": 2,
                                             "error": {"code": "RESOURCE_EXHAUSTED", "message": "quota"}}},
        {"type": "app.batch.retry", "data": {"batch": "batches/abc", "key": "5", "line": 6, "error": {"code": "500", "message": "internal"},
                                             "request": {"contents": [{"parts": [{"text": "q5"}]}]}}},
    ], "no user_metadata: the events inherit the batch's"
    assert all(ln.endswith(b"\n") and ln.count(b"\n") == 1 for ln in lines)

    # A second run of the delivery (say the host died before it took the first run's events)
    # finds the summary published and emits the same bytes — the host's child ids stay the same.
    work2, env2 = emit_env(tmp_path, "work2")
    r2 = run_function("batch.succeeded", doc, tmp_path, {**env2, "BATCH_SUMMARY_DIR": str(out)})
    assert r2.code == 0 and r2.stdout == r.stdout and "already summarised" in r2.stderr, r2.stderr
    assert emitted(work2) == lines


def test_an_inline_batch_s_retry_events_carry_the_request_from_its_input(tmp_path):
    resource = {"name": "batches/inl", "metadata": {
        "model": "models/gemini-2.5-flash",
        "inputConfig": {"requests": {"requests": [
            {"request": {"contents": [{"parts": [{"text": "first"}]}]}, "metadata": {"key": "a"}},
            {"request": {"contents": [{"parts": [{"text": "second"}]}]}, "metadata": {"key": "b"}}]}},
        "output": {"inlinedResponses": {"inlinedResponses": [
            {"response": {"candidates": []}, "metadata": {"key": "a"}},
            {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}, "metadata": {"key": "b"}}]}}}}
    f = tmp_path / "inl.json"
    f.write_text(json.dumps(resource))
    work, env = emit_env(tmp_path)
    doc = stdin_doc("batch.succeeded", {"id": "batches/inl"}, "wh_inline_1", result=result_of(f, "batches/inl", "application/json"),
                    user_metadata=META)
    r = run_function("batch.succeeded", doc, tmp_path, {**env, "BATCH_SUMMARY_DIR": str(tmp_path / "s")})
    assert r.code == 0, r.stderr
    [event] = [json.loads(ln) for ln in emitted(work)]
    assert event["data"]["key"] == "b" and event["data"]["request"] == {"contents": [{"parts": [{"text": "second"}]}]}
    failed = [json.loads(ln) for ln in (tmp_path / "s" / "wh_inline_1" / "failed_keys.jsonl").read_text().splitlines()]
    assert failed[0]["request"] == event["data"]["request"], "failed_keys.jsonl keeps the request too"


def test_retry_events_stop_at_the_round_limit_and_at_too_many(tmp_path):
    f = tmp_path / "out.jsonl"
    f.write_text("".join(json.dumps({"key": f"k{i}", "error": {"code": 429, "message": "quota"}}) + "\n" for i in range(3)))
    res = result_of(f, "files/batch-abc", "application/jsonl")

    work, env = emit_env(tmp_path, "w1")
    r = run_function("batch.succeeded", batch_doc("wh_round", res, {**META, "retry_round": 3}), tmp_path,
                     {**env, "BATCH_SUMMARY_DIR": str(tmp_path / "s")})
    assert r.code == 0 and emitted(work) == [] and "reached BATCH_MAX_RETRY_ROUNDS=3" in r.stderr, r.stderr

    work, env = emit_env(tmp_path, "w2")
    r = run_function("batch.succeeded", batch_doc("wh_many", res), tmp_path,
                     {**env, "BATCH_SUMMARY_DIR": str(tmp_path / "s"), "BATCH_MAX_RETRY_EVENTS": "2"})
    assert r.code == 0 and emitted(work) == [] and "3 transient failures exceed BATCH_MAX_RETRY_EVENTS=2" in r.stderr, r.stderr

    # Run by hand (no HOOKHOST_EMIT): the summary is made, and stderr says what was not emitted.
    r = run_function("batch.succeeded", batch_doc("wh_by_hand", res), tmp_path, {"BATCH_SUMMARY_DIR": str(tmp_path / "s")})
    assert r.code == 0 and "HOOKHOST_EMIT is not set" in r.stderr and "3 app.batch.retry events not emitted" in r.stderr, r.stderr


def test_an_emit_file_that_is_a_symlink_is_refused_and_the_run_retried(tmp_path):
    f = tmp_path / "out.jsonl"
    f.write_text(json.dumps({"key": "k", "error": {"code": 429, "message": "q"}}) + "\n")
    work, env = emit_env(tmp_path)
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    (work / "emit.jsonl").symlink_to(victim)
    r = run_function("batch.succeeded", batch_doc("wh_link", result_of(f, "files/batch-abc")), tmp_path,
                     {**env, "BATCH_SUMMARY_DIR": str(tmp_path / "s")})
    assert r.code == 75 and "cannot emit the retry events" in r.stderr, r.stderr
    assert victim.read_text() == "keep\n"


# --- app.batch.retry against the stand-in ----------------------------------------------------------

def serve_original_batch(api: Path, batch_id: str, keys: list[str]):
    """An original batch the stand-in serves from DIR: its resource names the model and an input file."""
    (api / "batches").mkdir(parents=True, exist_ok=True)
    (api / "files").mkdir(parents=True, exist_ok=True)
    (api / "batches" / f"{batch_id}.json").write_text(json.dumps({
        "name": f"batches/{batch_id}", "metadata": {"model": "models/gemini-2.5-flash", "state": "BATCH_STATE_SUCCEEDED",
                                                    "inputConfig": {"fileName": f"files/input-{batch_id}"}}}))
    (api / "files" / f"input-{batch_id}").write_text("".join(
        json.dumps({"key": k, "request": {"contents": [{"parts": [{"text": f"question {k}"}], "role": "user"}]}}) + "\n" for k in keys))


def test_the_retry_function_resubmits_a_failed_key_as_a_new_batch(tmp_path, stand_in, receiver, webhook_secret):
    serve_original_batch(tmp_path / "api", "orig1", ["request-8", "request-9", "request-10"])
    state = tmp_path / "retries"
    data = {"batch": "batches/orig1", "key": "request-9", "line": 9, "error": {"code": "429", "message": "quota"}}
    doc = child_doc("app.batch.retry", data, "wh_b1.e1", "wh_b1", user_metadata=META)
    r = run_function("app.batch.retry", doc, tmp_path, {**stand_in.env, "BATCH_RETRY_STATE_DIR": str(state)})
    assert r.code == 0, r.stderr + stand_in.log()
    out = r.json()
    assert out["retry_of"] == "batches/orig1" and out["key"] == "request-9" and out["retry_round"] == 1, out
    assert out["job_group"] == "nightly-eval" and out["batch"].startswith("batches/")

    # The new batch holds the original request (found in the original's input file), with the
    # original user_metadata plus the retry's marks, and comes back as a signed batch.succeeded.
    created = json.loads(stand_in.get("/v1/" + out["batch"]))
    assert created["metadata"]["inputConfig"]["requests"]["requests"] == [
        {"request": {"contents": [{"parts": [{"text": "question request-9"}], "role": "user"}]}, "metadata": {"key": "request-9"}}]
    [post] = receiver.wait(1)
    event = verified(webhook_secret, post)
    assert event["type"] == "batch.succeeded" and event["data"]["id"] == out["batch"]
    assert event["data"]["user_metadata"] == {**META, "retry_round": 1, "retry_of": "batches/orig1"}
    done = json.loads(stand_in.get("/v1/" + out["batch"]))
    assert done["metadata"]["state"] == "BATCH_STATE_SUCCEEDED"
    assert [e.get("error") for e in done["response"]["inlinedResponses"]["inlinedResponses"]] == [None], "a resubmission succeeds"

    # At least once: the same delivery again answers from its record and creates nothing.
    again = run_function("app.batch.retry", doc, tmp_path, {**stand_in.env, "BATCH_RETRY_STATE_DIR": str(state)})
    assert again.code == 0 and again.json() == out and "already resubmitted" in again.stderr, again.stderr
    assert stand_in.log().count("POST /v1/models/gemini-2.5-flash:batchGenerateContent") == 1, stand_in.log()


def test_the_retry_function_uses_the_request_in_the_event_and_says_when_there_is_none(tmp_path, stand_in):
    serve_original_batch(tmp_path / "api", "orig2", ["x"])
    env = {**stand_in.env, "BATCH_RETRY_STATE_DIR": str(tmp_path / "retries")}
    request = {"contents": [{"parts": [{"text": "carried"}]}]}
    data = {"batch": "batches/orig2", "key": "carried", "request": request, "error": {"code": "429"}}
    r = run_function("app.batch.retry", child_doc("app.batch.retry", data, "wh_b2.e1", "wh_b2", META), tmp_path, env)
    assert r.code == 0, r.stderr
    created = json.loads(stand_in.get("/v1/" + r.json()["batch"]))
    assert created["metadata"]["inputConfig"]["requests"]["requests"][0]["request"] == request

    missing = {"batch": "batches/orig2", "key": "not-there", "error": {"code": "429"}}
    r = run_function("app.batch.retry", child_doc("app.batch.retry", missing, "wh_b2.e2", "wh_b2", META), tmp_path, env)
    assert r.code == 65 and "not-there is not in batches/orig2's input" in r.stderr, r.stderr
    r = run_function("app.batch.retry", child_doc("app.batch.retry", {"key": "k"}, "wh_b2.e3", "wh_b2", META), tmp_path, env)
    assert r.code == 65 and "no data.batch" in r.stderr, r.stderr
    r = run_function("app.batch.retry", child_doc("app.batch.retry", data, "wh_b2.e4", "wh_b2", META), tmp_path,
                     {**env, "GEMINI_API_KEY": "wrong"})
    assert r.code == 1 and "HTTP 401" in r.stderr, r.stderr
    r = run_function("app.batch.retry", child_doc("app.batch.retry", data, "wh_b2.e5", "wh_b2", META), tmp_path,
                     {**env, "GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:9"})
    assert r.code == 75, r.stderr


# --- interaction.requires_action against the stand-in ------------------------------------------------

def test_the_interaction_function_answers_the_pending_function_call(tmp_path, stand_in):
    env = {**stand_in.env, "INTERACTION_ANSWERS_DIR": str(tmp_path / "answers")}
    doc = stdin_doc("interaction.requires_action", {"id": "interactions/it1"}, "wh_it1")
    r = run_function("interaction.requires_action", doc, tmp_path, env)
    assert r.code == 0, r.stderr + stand_in.log()
    out = r.json()
    assert out["interaction"] == "it1" and out["answered"] == ["call_it1"] and out["tools"] == ["add"], out
    assert out["results"] == [{"type": "function_result", "call_id": "call_it1", "name": "add", "result": {"sum": 42}}]
    assert out["next_status"] == "completed" and out["next_interaction"] != "it1"

    it = json.loads(stand_in.get("/v1/interactions/it1"))
    assert it["status"] == "completed"
    assert it["steps"][-2] == {"call_id": "call_it1", "name": "add", "result": {"sum": 42}, "type": "function_result"}

    # A second delivery answers from the record; without the record, the interaction is no longer waiting.
    again = run_function("interaction.requires_action", stdin_doc("interaction.requires_action", {"id": "interactions/it1"}, "wh_it1b"),
                         tmp_path, env)
    assert again.code == 0 and again.json() == out, again.stderr
    fresh = run_function("interaction.requires_action", doc, tmp_path, {**env, "INTERACTION_ANSWERS_DIR": str(tmp_path / "other")})
    assert fresh.code == 0 and fresh.json() == {"interaction": "it1", "status": "completed", "answered": []}, fresh.stderr
    assert stand_in.log().count("POST /v1/interactions → 200") == 1, stand_in.log()

    r = run_function("interaction.requires_action", stdin_doc("interaction.requires_action", {}, "wh_noid"), tmp_path, env)
    assert r.code == 65 and "no data.id" in r.stderr, r.stderr


# --- the stand-in speaks Gemini's API: google-genai drives it ------------------------------------------

def test_google_genai_drives_the_stand_in(tmp_path, stand_in, receiver, webhook_secret):
    genai = pytest.importorskip("google.genai", reason="google-genai (Tests/e2e/requirements.txt) is not installed")
    client = genai.Client(api_key=stand_in.api_key, http_options={"base_url": stand_in.base})

    requests = [{"contents": [{"parts": [{"text": f"q{i}"}], "role": "user"}], "metadata": {"key": f"k{i}"}} for i in range(1, 19)]
    job = client.batches.create(model="gemini-2.5-flash", src=requests,
                                config={"display_name": "sdk", "webhook_config": {"uris": [receiver.url], "user_metadata": META}})
    assert job.name.startswith("batches/") and job.state.name == "JOB_STATE_PENDING" and job.display_name == "sdk"
    [post] = receiver.wait(1)
    event = verified(webhook_secret, post)
    assert event["type"] == "batch.succeeded" and event["data"] == {"id": job.name, "user_metadata": META}
    got = client.batches.get(name=job.name)
    assert got.state.name == "JOB_STATE_SUCCEEDED" and got.model == "models/gemini-2.5-flash"
    errors = [(i, r.error.code) for i, r in enumerate(got.dest.inlined_responses) if r.error]
    assert errors == [(8, 429), (17, 429)], "every ninth request meets the quota, once"
    assert got.dest.inlined_responses[0].response.text == "stand-in answer to k1"

    # The failed keys again, in a new batch: they go through (the loop ends).
    retry = client.batches.create(model="gemini-2.5-flash", src=[requests[8], requests[17]])
    wait_until(lambda: client.batches.get(name=retry.name).state.name == "JOB_STATE_SUCCEEDED", 10, what="the retry batch")
    assert not any(r.error for r in client.batches.get(name=retry.name).dest.inlined_responses)

    # From a file: the output is a responses file, downloadable like any result.
    (tmp_path / "api" / "files").mkdir(exist_ok=True)
    (tmp_path / "api" / "files" / "in-1").write_text("".join(json.dumps({"key": f"f{i}", "request": r}) + "\n"
                                                            for i, r in enumerate(requests[:3])))
    from_file = client.batches.create(model="gemini-2.5-flash", src="files/in-1")
    wait_until(lambda: client.batches.get(name=from_file.name).state.name == "JOB_STATE_SUCCEEDED", 10, what="the file batch")
    dest = client.batches.get(name=from_file.name).dest.file_name
    lines = [json.loads(ln) for ln in stand_in.get(f"/download/v1beta/{dest}:download?alt=media").splitlines()]
    assert [ln["key"] for ln in lines] == ["f0", "f1", "f2"] and all("response" in ln for ln in lines)

    interaction = client.interactions.get(id="sdk1")
    assert interaction.status == "requires_action"
    call = [s for s in interaction.steps if s.type == "function_call"][0]
    assert (call.name, call.arguments) == ("add", {"a": 2, "b": 40})
    answer = client.interactions.create(model="gemini-2.5-flash", previous_interaction_id="sdk1",
                                        input=[{"type": "function_result", "call_id": call.id, "name": "add", "result": {"sum": 42}}])
    assert answer.status == "completed" and answer.previous_interaction_id == "sdk1" and "42" in answer.output_text
    assert client.interactions.get(id="sdk1").status == "completed"
    with pytest.raises(Exception) as refused:
        client.interactions.create(model="gemini-2.5-flash", previous_interaction_id="sdk1",
                                   input=[{"type": "function_result", "call_id": call.id, "result": {"sum": 42}}])
    assert "not waiting for a function result" in str(refused.value)
    with pytest.raises(Exception) as odd:
        client.batches.create(model="gemini-2.5-flash", src=requests[:1], config={"webhook_config": {"uris": ["file:///etc/passwd"]}})
    assert "not an http(s) URL" in str(odd.value)


# --- through the host: needs the host's emitting (HOOKHOST_EMIT) and routes ----------------------

def install(fns, name, sidecar):
    shutil.copy2(examples_dir() / name, fns.dir / name)
    (fns.dir / f"{name}.json").write_text(json.dumps(sidecar))


def summaries(d: Path) -> list[dict]:
    return [json.loads((p / "summary.json").read_text()) for p in sorted(d.iterdir()) if (p / "summary.json").exists()] if d.exists() else []


def test_the_retry_loop_closes_through_the_host(make_host, fns, tmp_path):
    """batch.succeeded (2 failed keys) → 2 app.batch.retry events → 2 new batches → their
    batch.succeeded back through the host → summaries without failures, and nothing more."""
    genai = pytest.importorskip("google.genai", reason="google-genai (Tests/e2e/requirements.txt) is not installed")
    secret = new_secret()
    out, state = tmp_path / "summaries", tmp_path / "retries"
    install(fns, "batch.succeeded", {"timeout": 60, "env": {"BATCH_SUMMARY_DIR": str(out)}})
    install(fns, "app.batch.retry", {"timeout": 60, "pass_env": ["GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"],
                                     "env": {"BATCH_RETRY_STATE_DIR": str(state)}})
    host = make_host(secrets=[secret], start=False)
    api = StandIn(tmp_path / "api", secret, host.url)
    try:
        host.start(env={"HOOKHOST_API_BASE": api.base, "GEMINI_API_KEY": api.api_key, "GOOGLE_GEMINI_BASE_URL": api.base})
        client = genai.Client(api_key=api.api_key, http_options={"base_url": api.base})
        requests = [{"contents": [{"parts": [{"text": f"q{i}"}]}], "metadata": {"key": f"k{i}"}} for i in range(1, 19)]
        first = client.batches.create(model="gemini-2.5-flash", src=requests, config={"webhook_config": {"user_metadata": META}})
        wait_until(lambda: len(summaries(out)) >= 3, 60, interval=0.2, what="the first batch and its two retries summarised")
        got = summaries(out)
        by_batch = {s["batch"]: s for s in got}
        assert by_batch[first.name]["failed"] == 2
        retries = [s for s in got if s["batch"] != first.name]
        assert len(retries) == 2 and all(s["failed"] == 0 for s in retries), got
        assert all(s["user_metadata"] == {**META, "retry_round": 1, "retry_of": first.name} for s in retries)
        assert sorted(json.loads(p.read_text())["key"] for p in state.iterdir()) == ["k18", "k9"]
        # The retries ran as children of the first delivery: verified by their parent.
        children = [d for d in listed(host, type_="app.batch.retry").values()]
        assert len(children) == 2 and all(d["state"] == "done" for d in children), children
    finally:
        assert api.stop() == 0, api.log()


def test_routes_send_batch_succeeded_to_the_job_group_s_function(make_host, fns, tmp_path):
    """nightly-eval and backfill are the batch handler under route sidecars; others go to batch.succeeded."""
    dirs = {n: tmp_path / n for n in ("general", "nightly", "backfill")}
    install(fns, "batch.succeeded", {"timeout": 60, "env": {"BATCH_SUMMARY_DIR": str(dirs["general"])}})
    route = json.loads((examples_dir() / "nightly-eval.json").read_text())
    install(fns, "nightly-eval", {**route, "env": {"BATCH_SUMMARY_DIR": str(dirs["nightly"])}})
    route = json.loads((examples_dir() / "backfill.json").read_text())
    install(fns, "backfill", {**route, "env": {"BATCH_SUMMARY_DIR": str(dirs["backfill"])}})
    api_dir = tmp_path / "api" / "files"
    api_dir.mkdir(parents=True)
    (api_dir / "batch-r").write_text(json.dumps({"key": "a", "response": {}}) + "\n")
    secret = new_secret()
    api = StandIn(tmp_path / "api", secret, "http://127.0.0.1:9/none")
    try:
        host = make_host(secrets=[secret], env={"HOOKHOST_API_BASE": api.base, "GEMINI_API_KEY": api.api_key})
        for group in ("nightly-eval", "backfill", "adhoc"):
            body = json.dumps({"type": "batch.succeeded", "version": "v1", "timestamp": "2026-05-04T12:00:00Z",
                               "data": {"id": f"batches/{group}", "output_file_uri": "files/batch-r",
                                        "user_metadata": {"job_group": group}}}).encode()
            assert host.send(body, msg_id=f"route_{group}").status == 202
        wait_until(lambda: all(summaries(d) for d in dirs.values()), 30, interval=0.2, what="each route's summary")
        assert [s["batch"] for s in summaries(dirs["nightly"])] == ["batches/nightly-eval"]
        assert [s["batch"] for s in summaries(dirs["backfill"])] == ["batches/backfill"]
        assert [s["batch"] for s in summaries(dirs["general"])] == ["batches/adhoc"]
    finally:
        assert api.stop() == 0, api.log()
