"""Issue 24 part 2: `hookhost reconcile` finds the jobs whose completion event never came and, with
--apply, admits the event Gemini would have sent; HOOKHOST_RECONCILE_EVERY does the same inside
the host. Real binary, the stand-in API (`hookhost demo --api-only`) whose webhooks are signed and
POSTed for real (two of them "lost" on purpose), real recorder functions, 127.0.0.1 only.
"""
import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hostlib import Functions, Host, event_body, hookhost_bin, new_id, run_cli, wait_until

API_KEY = "reconcile-test-key-7f3a9c"


class StandIn:
    """`hookhost demo --api-only` with a key, reporting created batches to `webhook`."""

    def __init__(self, root: Path, secret: str, webhook: str | None):
        root.mkdir(parents=True, exist_ok=True)
        (root / "files").mkdir(exist_ok=True)
        self.root = root
        self.log = root / "standin.log"
        args = [str(hookhost_bin()), "demo", "--api-only", str(root), "--api-key", API_KEY]
        if webhook:
            args += ["--webhook", webhook]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(args, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(root), "HOOKHOST_SECRETS": secret},
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
        wait_until(lambda: self.log.read_text().startswith("HOOKHOST_API_BASE=") and "\n" in self.log.read_text(), 10, what="stand-in base URL")
        self.base = self.log.read_text().splitlines()[0].split("=", 1)[1]

    def call(self, method: str, path: str, body: dict | None = None, key: str = API_KEY):
        req = urllib.request.Request(self.base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"x-goog-api-key": key, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def create_batch(self, n: int = 0) -> str:
        status, doc = self.call("POST", "/v1/models/gemini-2.5-flash:batchGenerateContent", {"batch": {
            "displayName": f"reconcile-{n}",
            "inputConfig": {"requests": {"requests": [{"request": {"contents": [{"parts": [{"text": "q"}]}]}, "metadata": {"key": f"k{n}"}}]}}}})
        assert status == 200, doc
        return doc["name"]

    def lose(self, count: int):
        assert self.call("POST", f"/standin/lose-webhooks?count={count}")[0] == 200

    def all_batches(self) -> list[dict]:
        items, token = [], None
        for _ in range(100):
            status, doc = self.call("GET", "/v1/batches?pageSize=3" + (f"&pageToken={token}" if token else ""))
            assert status == 200, doc
            items += doc.get("operations", [])
            token = doc.get("nextPageToken")
            if not token:
                return items
        raise AssertionError("paging did not end")

    def wait_finished(self, names: list[str]):
        def done():
            state = {b["name"]: b["metadata"]["state"] for b in self.all_batches()}
            return all(state.get(n) == "BATCH_STATE_SUCCEEDED" for n in names)
        wait_until(done, 20, what=f"batches {names} succeeded")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)


@pytest.fixture
def world(tmp_path):
    fns = Functions(tmp_path)
    for name in ("batch.succeeded", "video.generated", "interaction.requires_action"):
        fns.add(name)
    host = Host(tmp_path, fns)
    standin = StandIn(tmp_path / "api", host.secrets[0], host.url)
    env = {"HOOKHOST_API_BASE": standin.base, "GEMINI_API_KEY": API_KEY}
    yield host, standin, env
    host.stop()
    standin.stop()


def reconcile(host: Host, env: dict, *args: str) -> subprocess.CompletedProcess:
    p = host.cli("reconcile", "--data", str(host.data), *args, env=env, timeout=60)
    text = p.stdout.decode() + p.stderr.decode()
    assert API_KEY not in text, "the API key must never be printed"
    return p


def out_of(p) -> str:
    return f"rc={p.returncode}\n--- stdout\n{p.stdout.decode(errors='replace')}\n--- stderr\n{p.stderr.decode(errors='replace')}"


def job_of(stdin: dict) -> str:
    return stdin["event"]["data"]["id"]


def five_three_two(host: Host, standin: StandIn, env: dict) -> tuple[list[str], list[str]]:
    host.start(env=env)
    delivered = [standin.create_batch(i) for i in range(3)]
    standin.wait_finished(delivered)
    wait_until(lambda: len(host.functions.runs()) == 3, 20, what="the three delivered batches run")
    standin.lose(2)
    lost = [standin.create_batch(10 + i) for i in range(2)]
    standin.wait_finished(lost)
    wait_until(lambda: standin.log.read_text().count("lost on purpose") == 2, 10, what="two webhooks lost")
    return delivered, lost


def test_reconcile_finds_the_two_lost_batches_and_apply_runs_each_once(world):
    host, standin, env = world
    delivered, lost = five_three_two(host, standin, env)

    p = reconcile(host, env)
    assert p.returncode == 0, out_of(p)
    out = p.stdout.decode()
    for name in lost:
        assert name in out and "no delivery received" in out, out
    for name in delivered:
        assert name not in out, out
    assert "5 batches listed, 5 finished in the last 48h; 2 with no delivery received" in out, out
    assert len(host.functions.runs()) == 3, "a report admits nothing"

    p = reconcile(host, env, "--apply")
    assert p.returncode == 0, out_of(p)
    out = p.stdout.decode()
    assert "2 recovered" in out and out.count("recovered as reconcile_") == 2, out
    wait_until(lambda: len(host.functions.runs()) == 5, 20, what="the two recovered batches run")
    recovered = [r for r in host.functions.runs() if r[0].startswith("reconcile_")]
    assert len(recovered) == 2 and all(r[2] == "batch.succeeded" for r in recovered), recovered
    jobs = {}
    for rid, attempt, _ in recovered:
        stdin = host.functions.read_run(rid, attempt).stdin_json()
        assert stdin["delivery"]["verified_by"] == "reconcile", stdin
        jobs[job_of(stdin)] = rid
    assert sorted(jobs) == sorted(lost), jobs
    assert any("recovered batch" in r.get("msg", "") and r.get("id") in jobs.values() for r in host.log_records()), host.log_tail()
    metrics = host.request("GET", "/metrics").body.decode()
    assert 'hookhost_reconciled_total{type="batch.succeeded"} 2' in metrics, metrics

    # A second --apply adds nothing.
    p = reconcile(host, env, "--apply")
    assert p.returncode == 0 and "0 recovered" in p.stdout.decode(), out_of(p)

    # A late real delivery of a recovered job (new webhook-id, signed): 200 duplicate, not run.
    late = host.send(event_body("batch.succeeded", {"id": lost[0]}), msg_id=new_id("late"))
    assert late.status == 200 and json.loads(late.body)["status"] == "duplicate", (late.status, late.body)
    wait_until(lambda: any("already recovered by reconcile" in r.get("msg", "") for r in host.log_records()), 10,
               what="the late delivery logged as already recovered")
    # Real deliveries of one job under two webhook-ids are not deduplicated by job (as before).
    again = host.send(event_body("batch.succeeded", {"id": delivered[0]}), msg_id=new_id("resent"))
    assert again.status == 202, (again.status, again.body)
    wait_until(lambda: host.functions.ran(again.msg_id), 20, what="the re-sent real delivery runs")
    assert len([r for r in host.functions.runs() if r[0].startswith("reconcile_")]) == 2
    assert not host.functions.ran(late.msg_id)
    # A sender may not take a synthesized event's id (it would keep that job from being recovered).
    forged = host.send(event_body("batch.succeeded", {"id": "batches/other"}), msg_id="reconcile_other_succeeded_000000000000")
    assert forged.status == 400 and b"reserved" in forged.body, (forged.status, forged.body)

    # After a restart (the job index rebuilt from the spool) nothing is recovered twice either.
    host.restart(env=env)
    p = reconcile(host, env, "--apply")
    assert p.returncode == 0 and "0 recovered" in p.stdout.decode(), out_of(p)
    late2 = host.send(event_body("batch.succeeded", {"id": lost[1]}), msg_id=new_id("late"))
    assert late2.status == 200 and json.loads(late2.body)["status"] == "duplicate", (late2.status, late2.body)


def test_reconcile_apply_with_the_host_stopped_runs_at_the_next_start(world):
    host, standin, env = world
    _, lost = five_three_two(host, standin, env)
    host.stop()
    p = reconcile(host, env)
    assert p.returncode == 0 and "2 with no delivery received" in p.stdout.decode(), out_of(p)
    p = reconcile(host, env, "--apply")
    assert p.returncode == 0 and "2 recovered" in p.stdout.decode(), out_of(p)
    host.start(env=env)
    wait_until(lambda: len(host.functions.runs()) == 5, 20, what="the recovered batches run after the start")


def test_kill9_during_apply_loses_and_duplicates_nothing(world):
    host, standin, env = world
    host.start(env=env)
    standin.lose(30)
    lost = [standin.create_batch(i) for i in range(30)]
    standin.wait_finished(lost)
    apply = subprocess.Popen([str(hookhost_bin()), "reconcile", "--apply", "--data", str(host.data)],
                             env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(host.home), **env},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Whenever the kill lands (before, during or after the admission), a re-run makes it whole.
    wait_until(lambda: (host.data / "spool.log").exists(), 10)
    host.kill9()
    apply.communicate(timeout=60)
    host.start(env=env)
    p = reconcile(host, env, "--apply")
    assert p.returncode == 0, out_of(p)
    wait_until(lambda: len({job_of(json.loads((host.functions.out / f"{r[0]}.{r[1]}.stdin").read_text()))
                            for r in host.functions.runs()}) == 30, 60, what="every lost batch run")
    by_job: dict[str, set[str]] = {}
    for rid, attempt, _ in host.functions.runs():
        by_job.setdefault(job_of(host.functions.read_run(rid, attempt).stdin_json()), set()).add(rid)
    assert sorted(by_job) == sorted(lost)
    assert all(len(ids) == 1 for ids in by_job.values()), by_job  # one delivery per job: nothing added twice
    p = reconcile(host, env, "--apply")
    assert "0 recovered" in p.stdout.decode(), out_of(p)


def test_reconcile_every_recovers_a_lost_batch_without_any_cli(world):
    host, standin, env = world
    standin.lose(1)
    name = standin.create_batch(1)
    standin.wait_finished([name])  # finished while the host was down: its webhook went nowhere
    host.start(env={**env, "HOOKHOST_RECONCILE_EVERY": "30", "HOOKHOST_RECONCILE_WINDOW": "2d"})
    wait_until(lambda: any(r[0].startswith("reconcile_") for r in host.functions.runs()), 30, what="the in-host reconcile run")
    rid, attempt, fn = host.functions.runs()[0]
    assert fn == "batch.succeeded" and job_of(host.functions.read_run(rid, attempt).stdin_json()) == name
    assert any("recovered batch " + name in r.get("msg", "") for r in host.log_records()), host.log_tail()
    metrics = host.request("GET", "/metrics").body.decode()
    assert 'hookhost_reconciled_total{type="batch.succeeded"} 1' in metrics and 'hookhost_reconcile_runs_total{outcome="ok"}' in metrics


def test_reconcile_every_refuses_bad_values(tmp_path):
    for var, value, needle in [("HOOKHOST_RECONCILE_EVERY", "5", "HOOKHOST_RECONCILE_EVERY"),
                               ("HOOKHOST_RECONCILE_WINDOW", "1e999", "HOOKHOST_RECONCILE_WINDOW"),
                               ("HOOKHOST_RECONCILE_WINDOW", "400d", "365d")]:
        host = Host(tmp_path / var / value.replace(".", "_"))
        with pytest.raises(Exception) as e:
            host.start(env={var: value})
        assert needle in str(e.value), str(e.value)
        host.stop()


def test_named_operation_and_interaction(world):
    host, standin, env = world
    host.start(env=env)
    (standin.root / "files" / "video-op1").write_bytes(b"\0\0\0\x18ftypmp42" + b"x" * 100)
    p = reconcile(host, env, "--operation", "models/veo-3.0-generate-001/operations/op1", "--interaction", "int1")
    assert p.returncode == 0, out_of(p)
    out = p.stdout.decode()
    assert "operations/op1" in out and "int1" in out and out.count("  no delivery received") == 2, out
    p = reconcile(host, env, "--apply", "--operation", "models/veo-3.0-generate-001/operations/op1,operations/running1",
                  "--interaction", "int1")
    assert p.returncode == 0 and "2 recovered" in p.stdout.decode() and "no event due" in p.stdout.decode(), out_of(p)
    wait_until(lambda: len(host.functions.runs()) == 2, 20, what="video.generated and interaction.requires_action run")
    fns = sorted(r[2] for r in host.functions.runs())
    assert fns == ["interaction.requires_action", "video.generated"], fns
    video = next(r for r in host.functions.runs() if r[2] == "video.generated")
    stdin = host.functions.read_run(video[0], video[1]).stdin_json()
    assert stdin["delivery"]["verified_by"] == "reconcile"
    assert stdin["result"]["bytes"] == 112, stdin


def test_api_errors_are_shown_with_status_and_message_and_no_key(world):
    host, standin, env = world
    host.start(env=env)
    p = reconcile(host, {**env, "GEMINI_API_KEY": "wrong-key-" + API_KEY[:4]})
    assert p.returncode == 1 and "401" in p.stderr.decode() and "API key not valid" in p.stderr.decode(), out_of(p)
    assert "wrong-key" not in p.stderr.decode() + p.stdout.decode()
    p = reconcile(host, {k: v for k, v in env.items() if k != "GEMINI_API_KEY"})
    assert p.returncode == 1 and "GEMINI_API_KEY" in p.stderr.decode(), out_of(p)
    p = reconcile(host, env, "--since", "1e999")
    assert p.returncode == 2 and "--since" in p.stderr.decode(), out_of(p)


def test_google_genai_lists_the_stand_ins_batches_through_every_page(world):
    genai = pytest.importorskip("google.genai")
    host, standin, env = world
    names = [standin.create_batch(i) for i in range(5)]
    standin.wait_finished(names)
    client = genai.Client(api_key=API_KEY, http_options={"base_url": standin.base, "api_version": "v1"})
    seen = []
    pager = client.batches.list(config={"page_size": 2})
    for job in pager:
        assert job.name and job.state is not None and job.create_time is not None and job.end_time is not None, job
        seen.append(job.name)
    assert sorted(seen) == sorted(names), seen
    requests = [ln for ln in standin.log.read_text().splitlines() if ln.startswith("GET /v1/batches?")]
    assert any("pageSize=2" in ln for ln in requests) and any("pageToken=" in ln for ln in requests), requests
