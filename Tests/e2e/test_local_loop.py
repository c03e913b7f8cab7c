"""Issue 19 item 3, the author's local loop: `hookhost run` (one run of a function, as the host
would run it), `hookhost new` (skeletons that pass `hookhost run` as generated), `hookhost demo
--api-only DIR` (the stand-in files/batches API, serving a directory) and the "did you mean"
report for a function file that kept its extension. Real binary, real functions, 127.0.0.1 only.
"""
import hashlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hostlib import (CANARY_VAR, REPO_ROOT, event_body, hookhost_bin, new_id, normalize_received_at, pid_alive, run_cli,
                     wait_until)


def out_of(p) -> str:
    return f"rc={p.returncode}\n--- stdout\n{p.stdout.decode(errors='replace')}\n--- stderr\n{p.stderr.decode(errors='replace')}"


def run_local(*args, env=None, cwd=None, timeout=60) -> subprocess.CompletedProcess:
    """`hookhost run ARGS` with the same minimal environment the e2e host gets (and `env` on top)."""
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": "/tmp"}
    full.update(env or {})
    return subprocess.run([str(hookhost_bin()), "run", *args], env=full, cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout)


def outcome_of(p) -> str:
    line = next(ln for ln in p.stdout.decode().splitlines() if ln.startswith("outcome"))
    return line.split()[1].rstrip(":")


# --- hookhost run: the same stdin and environment as the host ------------------------------------

def test_run_gives_the_function_what_the_host_gives_it(make_host, fns, tmp_path):
    """The recorder function records its stdin and environment; one delivery through a real host,
    then the same event through `hookhost run` with the same id: the documents are identical but
    for received_at, and so is the environment but for the scratch directory's path."""
    fns.add("batch.succeeded", sidecar={"fetch": False, "env": {"KEEP": "me"}, "pass_env": ["FROM_HOST", CANARY_VAR]})
    host = make_host(env={"FROM_HOST": "host value"})
    body = event_body("batch.succeeded", {"id": "batches/b1", "user_metadata": {"job_group": "g"}})
    msg_id = new_id("loop")
    assert host.send(body, msg_id=msg_id).status == 202
    from_host = fns.wait_run(msg_id)
    # The same event, locally, with the host's environment (as a shell that had it would run it).
    event = tmp_path / "event.json"
    event.write_bytes(body)
    (fns.out / f"{msg_id}.1.done").unlink()
    env = {k: v for k, v in host.base_env().items() if k in ("PATH", "HOME", "LANG", CANARY_VAR)}
    env["FROM_HOST"] = "host value"
    p = run_local("--event", str(event), "--functions", str(fns.dir), "--id", msg_id, env=env)
    assert p.returncode == 0, out_of(p)
    local = fns.wait_run(msg_id)
    assert normalize_received_at(local.stdin)[0] == normalize_received_at(from_host.stdin)[0]
    assert from_host.stdin_json()["user_metadata"] == {"job_group": "g"}
    strip = lambda e: {k: v for k, v in e.items() if k not in ("HOOKHOST_WORK_DIR", "HOOKHOST_EMIT")}  # noqa: E731
    assert strip(local.env) == strip(from_host.env)
    assert local.env["FROM_HOST"] == "host value" and local.env["KEEP"] == "me"
    assert CANARY_VAR not in local.env, "HOOKHOST_* variables are never passed"
    assert local.workdir_ok, "HOOKHOST_WORK_DIR must be a writable directory"
    assert not Path(local.env["HOOKHOST_WORK_DIR"]).exists(), "the scratch directory is removed after the run"
    out = p.stdout.decode()
    assert "function  batch.succeeded  (exact match for batch.succeeded)" in out, out
    assert f"delivery  {msg_id}, attempt 1, type batch.succeeded" in out, out


@pytest.mark.parametrize("code,outcome,rc", [(0, "ok", 0), (75, "retry", 1), (65, "dead", 1), (1, "failed", 1),
                                             ("sleep", "timeout", 1)])
def test_run_reports_each_outcome_and_exits_0_only_when_ok(fns, tmp_path, code, outcome, rc):
    if code == "sleep":
        fns.add_script("batch", "#!/bin/sh\ncat >/dev/null\necho '{\"slow\":true}'\necho going to sleep >&2\nsleep 30\n",
                       sidecar={"timeout": 1})
    else:
        fns.add_script("batch", f"#!/bin/sh\ncat >/dev/null\necho '{{\"n\": [1, 2], \"ok\": true}}'\necho 'said on stderr' >&2\nexit {code}\n")
    started = time.monotonic()
    p = run_local("batch.failed", "--data", '{"id":"batches/x"}', "--functions", str(fns.dir))
    assert p.returncode == rc, out_of(p)
    assert outcome_of(p) == outcome, out_of(p)
    out = p.stdout.decode()
    assert "function  batch  (family of batch.failed: no function named batch.failed)" in out, out
    if code == "sleep":
        assert "exit code  none (timed out)" in out and "timed out after 1 s" in out, out
        assert "going to sleep" in out, "stderr is shown"
        assert time.monotonic() - started < 25, "the process group was killed at the timeout"
    else:
        assert f"exit code  {code}" in out, out
        # stdout printed indented because it is JSON; stderr's end shown
        assert '    "n": [\n      1,\n      2\n    ],\n    "ok": true' in out, out
        assert "| said on stderr" in out, out
    assert "duration" in out


def test_run_with_a_result_file(fns, tmp_path):
    fns.add("video.generated")
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(5000))
    msg_id = new_id("res")
    p = run_local("video.generated", "--data", '{"id":"ops/1","video_uri":"files/video-abc"}', "--result", str(video),
                  "--id", msg_id, "--functions", str(fns.dir), cwd=tmp_path)
    assert p.returncode == 0, out_of(p)
    run = fns.read_run(msg_id)
    result = run.stdin_json()["result"]
    assert result == {"uri": "files/video-abc", "path": str(video), "bytes": video.stat().st_size,
                      "sha256": hashlib.sha256(video.read_bytes()).hexdigest(), "content_type": None}
    assert run.env["HOOKHOST_RESULT_PATH"] == str(video)
    # relative path, an explicit uri and content type
    p = run_local("video.generated", "--data", '{"id":"ops/1"}', "--result", "clip.mp4", "--result-uri", "gs://b/clip.mp4",
                  "--content-type", "video/mp4", "--id", msg_id + "b", "--functions", str(fns.dir), cwd=tmp_path)
    assert p.returncode == 0, out_of(p)
    result = fns.read_run(msg_id + "b").stdin_json()["result"]
    assert (result["uri"], result["path"], result["content_type"]) == ("gs://b/clip.mp4", str(video), "video/mp4")
    # without --result the function gets null, and is told why the host's run would differ
    p = run_local("video.generated", "--data", '{"id":"ops/1","video_uri":"files/video-abc"}', "--id", msg_id + "c",
                  "--functions", str(fns.dir))
    assert p.returncode == 0, out_of(p)
    assert fns.read_run(msg_id + "c").stdin_json()["result"] is None
    assert "note: the event names files/video-abc" in p.stdout.decode(), out_of(p)


def test_run_refuses_what_the_host_refuses_and_says_when_nothing_runs(fns, tmp_path):
    fns.add("batch.succeeded")
    cases = {
        "array.json": (b"[1]", "not a JSON object"),
        "notype.json": (b'{"data":{}}', 'no string "type"'),
        "broken.json": (b'{"type":', "not JSON"),
    }
    for name, (body, needle) in cases.items():
        (tmp_path / name).write_bytes(body)
        p = run_local("--event", str(tmp_path / name), "--functions", str(fns.dir))
        assert p.returncode == 2 and needle in p.stderr.decode() and "400" in p.stderr.decode(), out_of(p)
    (tmp_path / "ok.json").write_bytes(event_body("batch.succeeded"))
    p = run_local("video.generated", "--event", str(tmp_path / "ok.json"), "--functions", str(fns.dir))
    assert p.returncode == 2 and "routes by the event's type" in p.stderr.decode(), out_of(p)
    # TYPE may be left out with --event; batch.completed is delivered as batch.succeeded
    (tmp_path / "legacy.json").write_bytes(event_body("batch.completed"))
    p = run_local("--event", str(tmp_path / "legacy.json"), "--functions", str(fns.dir))
    assert p.returncode == 0 and "type batch.succeeded" in p.stdout.decode(), out_of(p)
    # no function: exit 1, and what the host would do
    p = run_local("interaction.failed", "--data", "{}", "--functions", str(fns.dir))
    assert p.returncode == 1, out_of(p)
    assert "no function for interaction.failed" in p.stdout.decode() and "skipped" in p.stdout.decode(), out_of(p)
    assert "interaction.failed, interaction, _default" in p.stdout.decode()


def test_run_with_function_path_and_its_sidecar(tmp_path):
    fn = tmp_path / "elsewhere" / "handler.sh"
    fn.parent.mkdir()
    fn.write_text("#!/bin/sh\ncat >/dev/null\necho \"$GREETING $HOOKHOST_EVENT_TYPE\" >&2\nexit 65\n")
    fn.chmod(0o755)
    (tmp_path / "elsewhere" / "handler.sh.json").write_text('{"env": {"GREETING": "hello"}}')
    p = run_local("ping", "--data", "{}", "--function", str(fn))
    assert p.returncode == 1 and outcome_of(p) == "dead", out_of(p)
    assert "named by --function" in p.stdout.decode() and "| hello ping" in p.stdout.decode(), out_of(p)
    fn.chmod(0o644)
    p = run_local("ping", "--data", "{}", "--function", str(fn))
    assert p.returncode == 2 and "chmod +x" in p.stderr.decode(), out_of(p)


def test_run_help_says_the_exit_status():
    p = run_cli("help", "run")
    assert p.returncode == 0
    assert "0 when the outcome is ok, 1 otherwise" in p.stdout.decode()
    p = run_cli("--help")
    for command in ("hookhost run", "hookhost new", "--api-only"):
        assert command in p.stdout.decode(), command


# --- hookhost new: skeletons that pass hookhost run as generated ------------------------------------

@pytest.mark.parametrize("lang,name,type_", [("sh", "batch.failed", "batch.failed"), ("python", "video.generated", "video.generated"),
                                             ("sh", "_default", "ping"), ("python", "interaction", "interaction.completed")])
def test_new_script_skeleton_passes_run_as_generated(tmp_path, lang, name, type_):
    fdir = tmp_path / "functions"  # made by `new`
    p = run_cli("new", name, "--lang", lang, "--functions", str(fdir), home=tmp_path)
    assert p.returncode == 0, out_of(p)
    assert (fdir / name).stat().st_mode & 0o111 and json.loads((fdir / f"{name}.json").read_text())["timeout"] == 60
    assert fdir.stat().st_mode & 0o777 != 0o700, "a functions directory others (a function user) can reach"
    p = run_local(type_, "--data", '{"id":"x-1"}', "--functions", str(fdir))
    assert p.returncode == 0 and outcome_of(p) == "ok", out_of(p)
    out = p.stdout.decode()
    assert "a JSON object: the host stores it as the delivery's output" in out, out
    assert f'"handled": "{type_}"' in out, out
    # never overwrites
    p = run_cli("new", name, "--lang", lang, "--functions", str(fdir), home=tmp_path)
    assert p.returncode == 1 and "already exists" in p.stderr.decode(), out_of(p)


def test_new_refuses_names_that_never_run(tmp_path):
    for name, needle in [("batch.completed", "batch.succeeded"), ("a/b", "cannot be a function's name"), ("x..y", "cannot be")]:
        p = run_cli("new", name, "--lang", "sh", "--functions", str(tmp_path / "f"), home=tmp_path)
        assert p.returncode == 2 and needle in p.stderr.decode(), out_of(p)
    p = run_cli("new", "batch.failed", "--lang", "ruby", "--functions", str(tmp_path / "f"), home=tmp_path)
    assert p.returncode == 2 and "--lang" in p.stderr.decode(), out_of(p)
    assert not (tmp_path / "f").exists()


def test_new_swift_package_builds_and_passes_run(tmp_path):
    """The generated package depends on HookEvent by URL and version; HOOKHOST_EVENT_PATH (the
    documented override) points it at this checkout, since tests have no network."""
    fdir = tmp_path / "functions"
    p = subprocess.run([str(hookhost_bin()), "new", "batch.succeeded", "--lang", "swift", "--functions", str(fdir)],
                       cwd=tmp_path, env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8"},
                       capture_output=True, timeout=30)
    assert p.returncode == 0, out_of(p)
    pkg = tmp_path / "batch-succeeded"
    manifest = (pkg / "Package.swift").read_text()
    version = run_cli("version").stdout.decode().split()[1]
    assert f'.package(url: "https://github.com/hookhost/hookhost", from: "{version}")' in manifest, manifest
    assert 'Context.environment["HOOKHOST_EVENT_PATH"]' in manifest
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path)), "LANG": "C.UTF-8",
           "HOOKHOST_EVENT_PATH": str(REPO_ROOT)}
    b = subprocess.run([str(pkg / "build.sh")], cwd=tmp_path, env=env, capture_output=True, timeout=900)
    assert b.returncode == 0, out_of(b)
    assert (fdir / "batch.succeeded").stat().st_mode & 0o111 and (fdir / "batch.succeeded.json").exists()
    result = tmp_path / "out.jsonl"
    result.write_text('{"key":"a","response":{}}\n')
    p = run_local("batch.succeeded", "--data", '{"id":"batches/b1","output_file_uri":"files/batch-b1"}', "--result", str(result),
                  "--functions", str(fdir))
    assert p.returncode == 0 and outcome_of(p) == "ok", out_of(p)
    assert '"result_bytes": 26' in p.stdout.decode() and '"id": "batches/b1"' in p.stdout.decode(), out_of(p)


# --- demo --api-only: the stand-in API for result downloads -----------------------------------------

class StandIn:
    def __init__(self, root: Path, *extra: str):
        self.proc = subprocess.Popen([str(hookhost_bin()), "demo", "--api-only", str(root), *extra],
                                     env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(root)},
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        first = self.proc.stdout.readline().decode().strip()
        assert first.startswith("HOOKHOST_API_BASE=http://127.0.0.1:"), (first, self.proc.stderr.read() if self.proc.poll() is not None else "")
        self.base = first.split("=", 1)[1]

    def get(self, path: str, headers=None):
        req = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers.get("Content-Type"), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=15)


def test_api_only_serves_files_and_batches_from_a_directory(tmp_path):
    root = tmp_path / "api"
    (root / "files").mkdir(parents=True)
    (root / "batches").mkdir()
    (root / "files" / "batch-abc").write_bytes(b'{"key":"k1"}\n')
    (root / "video-1.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    (root / "batches" / "b7.json").write_bytes(b'{"name":"batches/b7"}')
    (tmp_path / "secret").write_text("outside")
    api = StandIn(root)
    try:
        assert api.get("/download/v1beta/files/batch-abc:download?alt=media")[::2] == (200, b'{"key":"k1"}\n')
        assert api.get("/download/v1beta/files/video-1.mp4:download?alt=media")[:2] == (200, "video/mp4")
        assert api.get("/v1beta/batches/b7") == (200, "application/json", b'{"name":"batches/b7"}')
        status, _, body = api.get("/download/v1beta/files/missing:download?alt=media")
        assert status == 404 and json.loads(body)["error"]["code"] == 404
        assert api.get("/download/v1beta/files/..:download")[0] == 400
        assert api.get("/download/v1beta/files/%2e%2e%2fsecret:download")[0] in (400, 404)
        assert api.get("/other")[0] == 404
    finally:
        assert api.stop() == 0
    log = api.proc.stdout.read().decode()
    assert "GET /v1beta/batches/b7 → 200" in log and "stopped" in log, log


def test_api_only_with_a_key_refuses_requests_without_it(tmp_path):
    (tmp_path / "x").write_bytes(b"x")
    api = StandIn(tmp_path, "--api-key", "k-123")
    try:
        assert api.get("/download/v1beta/files/x:download?alt=media")[0] == 401
        assert api.get("/download/v1beta/files/x:download?alt=media", {"x-goog-api-key": "k-123"})[::2] == (200, b"x")
    finally:
        assert api.stop() == 0


def test_the_recipe_a_host_downloads_from_the_stand_in(make_host, fns, tmp_path):
    """README's recipe: serve a directory, point HOOKHOST_API_BASE at it; the function gets the file
    — the same result `hookhost run --result` hands over, but for its path."""
    root = tmp_path / "api"
    (root / "files").mkdir(parents=True)
    payload = b'{"key":"a","response":{}}\n' * 50
    (root / "files" / "batch-r1").write_bytes(payload)
    api = StandIn(root, "--api-key", "demo-key")
    try:
        fns.add("batch.succeeded")
        host = make_host(env={"HOOKHOST_API_BASE": api.base, "GEMINI_API_KEY": "demo-key"})
        body = event_body("batch.succeeded", {"id": "batches/r1", "output_file_uri": "files/batch-r1"})
        msg_id = new_id("recipe")
        assert host.send(body, msg_id=msg_id).status == 202
        result = fns.wait_run(msg_id, timeout=20).stdin_json()["result"]
        assert (result["uri"], result["bytes"], result["sha256"]) == ("files/batch-r1", len(payload), hashlib.sha256(payload).hexdigest())
        local_id = msg_id + "-local"
        (tmp_path / "event.json").write_bytes(body)
        p = run_local("--event", str(tmp_path / "event.json"), "--result", str(root / "files" / "batch-r1"),
                      "--content-type", result["content_type"], "--id", local_id, "--functions", str(fns.dir))
        assert p.returncode == 0, out_of(p)
        local = fns.read_run(local_id).stdin_json()["result"]
        assert {k: v for k, v in local.items() if k != "path"} == {k: v for k, v in result.items() if k != "path"}
    finally:
        assert api.stop() == 0


# --- did you mean -------------------------------------------------------------------------------------

def test_a_function_that_kept_its_extension_is_reported(make_host, fns):
    fns.add_script("video.generated.py", "#!/bin/sh\nexit 0\n")
    fns.add_script("batch.succeeded.sh", "#!/bin/sh\nexit 0\n")
    problem = ("video.generated.py is not run for video.generated: a function's file name is the event type exactly; "
               "did you mean video.generated?")
    p = run_cli("functions", "--functions", str(fns.dir))
    assert p.returncode == 0 and problem in p.stdout.decode(), out_of(p)
    assert "batch.succeeded.sh is not run for batch.succeeded" in p.stdout.decode()
    doc = json.loads(run_cli("functions", "--json", "--functions", str(fns.dir)).stdout)
    assert {m["file"]: m["did_you_mean"] for m in doc["misnamed"]} == {"batch.succeeded.sh": "batch.succeeded",
                                                                         "video.generated.py": "video.generated"}
    assert [f["name"] for f in doc["functions"]] == [], "a misnamed file is not listed as a function"
    p = run_local("video.generated", "--data", "{}", "--functions", str(fns.dir))
    assert p.returncode == 1 and problem in p.stdout.decode(), out_of(p)
    host = make_host()
    wait_until(lambda: problem in host.log_text(), 10, what="the warning at start")
    warning = next(r for r in host.log_records() if r.get("msg") == problem)
    assert warning["level"] == "warn" and warning["did_you_mean"] == "video.generated"


def test_interrupting_run_stops_the_function_it_started(fns, tmp_path):
    """The function runs in a process group of its own (the terminal's Ctrl-C does not reach it):
    hookhost run passes the interrupt on instead of leaving it running, then reports."""
    fns.add_script("ping", '#!/bin/sh\ncat >/dev/null\necho $$ > "$OUT/pid.tmp" && mv "$OUT/pid.tmp" "$OUT/pid"\nexec sleep 60\n')
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": "/tmp"}
    p = subprocess.Popen([str(hookhost_bin()), "run", "ping", "--data", "{}", "--functions", str(fns.dir)], env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        pid = int(wait_until(lambda: (fns.out / "pid").exists() and (fns.out / "pid").read_text().strip(), 10, what="the function"))
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 1, (out, err)
    assert b"killed by signal 15" in out and b"stopped by an interrupt" in out, out
    assert not pid_alive(pid), "the function must not outlive hookhost run"


def test_run_kills_what_the_function_detached_as_the_host_does(fns):
    """A function that setsid-detaches a child and exits: the host (a child subreaper) kills the
    orphan once the function has ended; hookhost run must too, not leave it running."""
    fns.add_script("ping", '#!/bin/sh\ncat >/dev/null\n'
                   'setsid sh -c \'echo $$ > "$OUT/orphan.tmp" && mv "$OUT/orphan.tmp" "$OUT/orphan"; exec sleep 120\' '
                   '</dev/null >/dev/null 2>&1 &\n'
                   'i=0; while [ ! -s "$OUT/orphan" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done\necho "{}"\n')
    p = run_local("ping", "--data", "{}", "--functions", str(fns.dir))
    pid = int((fns.out / "orphan").read_text().strip())
    try:
        assert p.returncode == 0, out_of(p)
        assert not pid_alive(pid), "a process the function detached outlived hookhost run"
    finally:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("bad", ["x" * 257, "a\nb", "a\x1bb"], ids=["257-bytes", "newline", "escape"])
def test_run_refuses_a_delivery_id_the_host_never_accepts(fns, bad):
    fns.add_script("ping", '#!/bin/sh\ncat >/dev/null\necho "{}"\n')
    p = run_local("ping", "--data", "{}", "--functions", str(fns.dir), "--id", bad)
    assert p.returncode == 2 and "--id" in p.stderr.decode(), out_of(p)
    assert "outcome" not in p.stdout.decode(), out_of(p)


def test_new_never_writes_through_a_dangling_symlink(tmp_path):
    """A dangling symlink is something at the target: new names it and writes nothing (not the
    sidecar, and not the package wherever the link points)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ping").symlink_to(tmp_path / "gone")
    p = subprocess.run([str(hookhost_bin()), "new", "ping", "--lang", "sh", "--functions", str(bin_dir)], capture_output=True)
    assert p.returncode == 1 and "already exists" in p.stderr.decode(), out_of(p)
    assert sorted(x.name for x in bin_dir.iterdir()) == ["ping"], out_of(p)
    (tmp_path / "ping").symlink_to(tmp_path / "elsewhere")
    p = subprocess.run([str(hookhost_bin()), "new", "ping", "--lang", "swift", "--functions", str(bin_dir)], cwd=tmp_path,
                       capture_output=True)
    assert p.returncode == 1 and "already exists" in p.stderr.decode(), out_of(p)
    assert not (tmp_path / "elsewhere").exists(), out_of(p)


def test_run_says_why_a_directory_is_no_function(tmp_path):
    (tmp_path / "fn").mkdir()
    p = run_local("ping", "--data", "{}", "--function", str(tmp_path / "fn"))
    assert p.returncode == 2 and "is a directory" in p.stderr.decode() and "chmod" not in p.stderr.decode(), out_of(p)


def test_new_refuses_a_functions_directory_with_a_line_break(tmp_path):
    """build.sh names the functions directory in a comment: a line break in it would end the
    comment and run the rest as a command. serve refuses such a HOOKHOST_FUNCTIONS; so does new."""
    evil = f"{tmp_path}/fx\ntouch {tmp_path}/PWNED\n"
    for lang in ("swift", "sh"):
        p = subprocess.run([str(hookhost_bin()), "new", "ping", "--lang", lang, "--functions", evil], cwd=tmp_path, capture_output=True)
        assert p.returncode == 2 and "control character" in p.stderr.decode(), out_of(p)
    assert not (tmp_path / "ping").exists()
    p = subprocess.run([str(hookhost_bin()), "new", "ping", "--lang", "swift", "--dir", "pkg\n"], cwd=tmp_path, capture_output=True)
    assert p.returncode == 2 and "control character" in p.stderr.decode(), out_of(p)
