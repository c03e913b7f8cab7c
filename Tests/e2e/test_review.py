"""Hostile review of the current build: every test here names a behaviour the README/CONTRACT
promises (or that an operator can reasonably rely on) and FAILED on the reviewed build; each
docstring says what happens today and where the cause is believed to be.

Only 127.0.0.1 is used; every loop and wait is bounded."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from durability_lib import listed, show, wait_state
from hostlib import (Functions, Host, RawConn, control_request, event_body, hookhost_bin, pid_alive, signed_headers, wait_until)


# ---------------------------------------------------------------------------------------------
# helpers

def raw_request(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> bytes:
    """Like hostlib.build_request, but header values are sent as UTF-8 (http.client only speaks latin-1)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def post_utf8(host: Host, msg_id: str, body: bytes):
    h = signed_headers(host.secrets[0], msg_id, body)
    h["Content-Type"] = "application/json"
    with RawConn(host.port) as c:
        c.send(raw_request("POST", host.path, body, h))
        return c.read_response()


def rss_mb(pid: int) -> float:
    for ln in open(f"/proc/{pid}/status"):
        if ln.startswith("VmRSS:"):
            return int(ln.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def serve_briefly(args: list[str], env: dict, cwd: Path, wrapper: list[str] = (), settle: float = 2.0):
    """Starts `hookhost serve ARGS`; returns (returncode or None if it was still running after
    `settle` seconds and had to be stopped, stderr text)."""
    p = subprocess.Popen(list(wrapper) + [str(hookhost_bin()), "serve", *args], env=env, cwd=cwd,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        rc = p.wait(timeout=settle)
    except subprocess.TimeoutExpired:
        rc = None
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
    return rc, p.stderr.read().decode(errors="replace")


def base_env() -> dict:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": "/tmp"}


def fnv_shard(s: str, shards: int = 64) -> int:
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h % shards


# ---------------------------------------------------------------------------------------------
# Dedup: ids are compared as Unicode text, not as the bytes that were signed

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


# ---------------------------------------------------------------------------------------------
# Start-up under a low descriptor limit

@pytest.mark.parametrize("nofile", [10, 16, 20])
def test_low_fd_limit_at_start_is_a_message_not_a_crash(tmp_path, fns, nofile):
    """Crash. With `prlimit --nofile=N:N` (N 8…20) and the default HTTP threads, the host logs a
    warning about the limit and then dies of SIGILL: `EventLoop.init` has
    `precondition(epfd >= 0 && wakeFD >= 0, "epoll/eventfd creation failed")`
    (Net/EventLoop.swift:69). Expected: it runs, or exits 1/2 with one `hookhost:` line."""
    rc, err = serve_briefly(["--listen", "127.0.0.1:0", "--data", str(tmp_path / "d"), "--functions", str(fns.dir),
                             "--http-threads", "4", "--shutdown-grace", "0"],
                            base_env(), tmp_path, wrapper=["prlimit", f"--nofile={nofile}:{nofile}", "--"])
    assert rc is None or rc >= 0, f"killed by signal {-rc}: {err[-400:]}"
    if rc not in (None, 0):
        assert rc in (1, 2) and "hookhost:" in err and "Precondition" not in err, (rc, err[-400:])


# ---------------------------------------------------------------------------------------------
# Sidecars

def test_fifo_sidecar_does_not_stall_every_worker(make_host, fns):
    """Resource exhaustion. A sidecar `<fn>.json` that is a FIFO (a named pipe left by a
    config-management tool, or a `mkfifo` typo) is opened with a blocking `open(O_RDONLY)` in
    `SmallFile.read` from `FunctionTable.resolve` on a worker thread: each delivery for that
    function parks a worker forever, so with 2 workers no other function ever runs again, every
    delivery stays `received`, `hookhost functions` hangs, and shutdown waits the whole grace
    period. Expected: the sidecar is unusable (not a regular file), the delivery fails naming
    it, and other functions keep running. Cause: Support/SmallFile.swift:read (no O_NONBLOCK /
    S_ISREG check), Dispatch/FunctionTable.swift:resolve."""
    fns.add("ping")
    fns.add("piped")
    side = fns.dir / "piped.json"
    side.unlink()
    os.mkfifo(side)
    host = make_host(extra_args=["--workers", "2", "--max-attempts", "1", "--shutdown-grace", "1"])
    try:
        for i in range(2):
            assert host.send(event_body("piped", {"i": i}), type_="piped").status == 202
        time.sleep(1)
        r = host.send(event_body("ping"), type_="ping")
        assert r.status == 202
        ran = True
        try:
            fns.wait_run(r.msg_id, timeout=10)
        except TimeoutError:
            ran = False
        assert ran, "one FIFO sidecar stalled every worker: an unrelated function never ran"
        p = subprocess.run(["timeout", "10", str(hookhost_bin()), "functions", "--functions", str(fns.dir)],
                           capture_output=True, timeout=30)
        assert p.returncode != 124, "`hookhost functions` hangs on a FIFO sidecar"
    finally:
        # Unblock whatever is stuck in open(): a writer appears, then goes away (EOF).
        for _ in range(20):
            try:
                fd = os.open(side, os.O_RDWR | os.O_NONBLOCK)
                os.close(fd)
            except OSError:
                break
            time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# Handler output and scratch space

TRUNCATED = """#!/bin/sh
cat > /dev/null
python3 -c '
import sys
pad = 1048576 - len(b"{\\"a\\":\\"\\"}")
sys.stdout.write("{\\"a\\":\\"" + "x" * pad + "\\"}")
sys.stdout.write(" and then this is not JSON any more")
'
"""


def test_stdout_cut_at_the_limit_is_not_stored_as_output(make_host, fns):
    """Wrong answer. stdout is kept only up to 1 MiB (`ProcessSpec.stdoutLimit`); when the first
    1 MiB happens to be a complete JSON object, the cut copy is stored as the delivery's output
    although the function's stdout was not one JSON object (README: "A function's stdout is
    stored … when it is one JSON object … anything else is dropped"). `ProcessResult.
    stdoutTruncated` is computed but never looked at. Cause: Dispatch/Dispatcher.swift:run
    (`output = Dispatcher.jsonObjectOutput(r.stdout)` ignores `r.stdoutTruncated`)."""
    fns.add_script("chatty", TRUNCATED)
    host = make_host()
    r = host.send(event_body("chatty"), type_="chatty")
    assert r.status == 202
    wait_state(host, r.msg_id, "done", timeout=30)
    out = show(host, r.msg_id)[0]["last"]["output"]
    assert out is None, f"a cut-off stdout was stored as output ({len(json.dumps(out))} bytes)"


NON_UTF8_NAME = """#!/bin/sh
cat > /dev/null
touch "$(printf 'report-\\377.txt')"
echo "$HOOKHOST_WORK_DIR" > "$OUT/$HOOKHOST_DELIVERY_ID.workdir-path"
"""


def test_work_dir_is_removed_even_with_a_non_utf8_file_name(make_host, fns):
    """Resource exhaustion (disk). A function that leaves a file whose name is not UTF-8 in its
    `HOOKHOST_WORK_DIR` (a download named by the remote side, a tar extract) makes the work dir
    outlive the run: `DirectoryEntries.names` decodes d_name with `String(cString:)`, which
    repairs the invalid byte to U+FFFD, so `unlink` gets a name that does not exist and `rmdir`
    fails. One leaked directory per run until the next restart. Cause: Support/
    DirectoryEntries.swift:names (String names) used by Support/FileSystem.swift:removeTree."""
    fns.add_script("untidy", NON_UTF8_NAME, env={"OUT": str(fns.out)})
    host = make_host()
    r = host.send(event_body("untidy"), type_="untidy")
    assert r.status == 202
    wait_state(host, r.msg_id, "done", timeout=15)
    work = Path((fns.out / f"{r.msg_id}.workdir-path").read_text().strip())
    try:
        wait_until(lambda: not work.exists(), 5, what="the work dir to be removed")
    except TimeoutError:
        left = [os.fsencode(p.name) for p in work.iterdir()]
        raise AssertionError(f"work dir {work} left behind after the run, holding {left}")


# ---------------------------------------------------------------------------------------------
# Settings an unlucky operator gets wrong

@pytest.mark.parametrize("how", ["env", "flag"])
def test_empty_data_setting_is_refused_and_never_empties_the_working_directorys_work(tmp_path, fns, how):
    """Data loss. `HOOKHOST_DATA=` (an unset variable in a compose file: `HOOKHOST_DATA=${DATA}`)
    or `--data ""` is accepted and means the current directory: the host writes `spool.log` and
    `lock` there and — at start-up, `FileSystem.removeTree(dataDir + "/work")` — deletes the
    operator's `./work` directory and everything in it. Expected: exit 2 naming HOOKHOST_DATA,
    nothing deleted. Cause: App/HostConfig.swift (HOOKHOST_DATA accepts ""), App/Host.swift
    (removeTree of DATA/work at start)."""
    cwd = tmp_path / "project"
    (cwd / "work").mkdir(parents=True)
    precious = cwd / "work" / "notes.txt"
    precious.write_text("the operator's own file\n")
    env = base_env()
    args = ["--listen", "127.0.0.1:0", "--functions", str(fns.dir), "--shutdown-grace", "0"]
    if how == "env":
        env["HOOKHOST_DATA"] = ""
    else:
        args += ["--data", ""]
    rc, err = serve_briefly(args, env, cwd)
    assert precious.exists(), "hookhost deleted ./work/notes.txt from its working directory"
    assert rc == 2 and "HOOKHOST_DATA" in err, (rc, err[-300:])


@pytest.mark.parametrize("how", ["env", "flag"])
def test_empty_functions_setting_is_refused(tmp_path, how):
    """Wrong answer. `HOOKHOST_FUNCTIONS=` / `--functions ""` is accepted and means the working
    directory: any executable there named like an event type (or `_default`) is run with
    deliveries on stdin. README: "a missing functions directory … exits with code 2".
    Cause: App/HostConfig.swift (HOOKHOST_FUNCTIONS accepts ""), FileSystem.absolute("") = cwd."""
    cwd = tmp_path / "somewhere"
    cwd.mkdir()
    env = base_env()
    args = ["--listen", "127.0.0.1:0", "--data", str(tmp_path / "d"), "--shutdown-grace", "0"]
    if how == "env":
        env["HOOKHOST_FUNCTIONS"] = ""
    else:
        args += ["--functions", ""]
    rc, err = serve_briefly(args, env, cwd)
    assert rc == 2 and "HOOKHOST_FUNCTIONS" in err, (rc, err[-300:])


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/webhooks?x=1"])
def test_a_delivery_path_that_can_never_receive_is_refused_or_works(make_host, fns, path):
    """Wrong answer. `--path /healthz` (or `/readyz`, `/metrics`) is accepted, but the probe
    check runs first, so every delivery is answered `405 use GET`; `--path '/webhooks?x=1'` is
    accepted, but the query is stripped before matching, so every delivery is `404`. The host
    starts, looks healthy, and never accepts a webhook. Expected: exit 2 naming HOOKHOST_PATH,
    or deliveries on that path are accepted. Cause: App/HostConfig.swift (HOOKHOST_PATH only
    checks a leading / and no spaces), App/DeliveryEndpoint.swift:respond."""
    fns.add("ping")
    host = make_host(start=False, path=path)
    host.start(wait=False)

    def up():
        if host.proc.poll() is not None:
            return True
        try:
            socket.create_connection(("127.0.0.1", host.port), timeout=1).close()
            return True
        except OSError:
            return False

    wait_until(up, 10, what="the host to listen or exit")
    if host.proc.poll() is not None:
        assert host.proc.returncode == 2 and "HOOKHOST_PATH" in host.log_text(), host.log_tail()
        return
    r = host.send(event_body("ping"), type_="ping")
    assert r.status == 202, f"host started with --path {path} but a signed delivery there gets {r}"


# ---------------------------------------------------------------------------------------------
# The control socket and the CLI

def test_deliveries_cli_works_while_serving_with_a_long_data_path(make_host, fns):
    """Wrong answer (operator tooling). With a data directory whose path makes
    `DATA/control.sock` 100 bytes or more (common: Kubernetes volume paths), the control socket
    is silently not created (`controlPath.utf8.count < 100` in App/Host.swift, a warning in the
    log), and `hookhost deliveries list` against the running server fails with exit 1 "a server
    holds … but its control socket does not answer". README: these commands "work while `serve`
    runs". Cause: App/Host.swift (control socket skipped), sun_path limit not worked around
    (bind/connect through a short relative path or /proc/self/fd)."""
    host = make_host(start=False)
    parent = host.root / "volumes"
    long_dir = parent / ("v" * max(1, 101 - len(str(parent)) - 1 - len("/control.sock")))
    long_dir.mkdir(parents=True)
    assert len(str(long_dir / "control.sock")) >= 100
    host.data = long_dir
    host.start()
    fns.add("ping")
    r = host.send(event_body("ping"), type_="ping")
    assert r.status == 202
    p = host.cli("deliveries", "list", "--json", "--data", str(long_dir))
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    assert r.msg_id in p.stdout.decode()


@pytest.mark.parametrize("msg_id", [".", ".."])
def test_show_finds_dot_ids_while_the_server_runs(make_host, fns, msg_id):
    """Wrong answer. Ids `.` and `..` are accepted (202), but `hookhost deliveries show .` while
    the server runs prints the whole delivery *list* (exit 0) and `show ..` says "no delivery"
    (exit 1): `ControlEndpoint.percentEncode` leaves `.` unescaped and libcurl removes dot
    segments from `http://hookhost/deliveries/.`. (With the server stopped both work.) `replay`
    is affected the same way. Cause: App/SpoolAdmin.swift:percentEncode (escape `.`) or
    Sources/hookhost/DeliveriesCommand.swift:perform (CURLOPT_PATH_AS_IS)."""
    fns.add("ping")
    host = make_host()
    r = post_utf8(host, msg_id, event_body("ping"))
    assert r.status == 202, r
    wait_state(host, msg_id, "done", timeout=15)
    p = host.cli("deliveries", "show", "--json", msg_id, "--data", str(host.data))
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    doc = json.loads(p.stdout)
    assert isinstance(doc, dict) and doc.get("delivery", {}).get("id") == msg_id, p.stdout[:300]


@pytest.mark.parametrize("msg_id", ["-h", "--help", "--x"])
def test_ids_that_look_like_options_can_be_shown(make_host, fns, msg_id):
    """Cosmetic. A webhook id is any header-safe text, so `-h`, `--help` or `--x` are real ids
    (accepted 202), but `hookhost deliveries show -h` prints the help (exit 0) and `show --x`
    fails "unknown option" (exit 2); there is no `--` to end the options either. Cause:
    Sources/hookhost/CLI.swift:main (`rest.contains("-h")` anywhere) and Arguments (no `--`)."""
    fns.add("ping")
    host = make_host()
    r = post_utf8(host, msg_id, event_body("ping"))
    assert r.status == 202, r
    wait_state(host, msg_id, "done", timeout=15)
    attempts = [("show", "--json", msg_id), ("show", "--json", "--", msg_id)]
    outs = []
    for args in attempts:
        p = host.cli("deliveries", *args, "--data", str(host.data))
        outs.append((args, p.returncode, p.stdout[:120], p.stderr[:120]))
        if p.returncode == 0:
            try:
                if json.loads(p.stdout)["delivery"]["id"] == msg_id:
                    return
            except (ValueError, KeyError, TypeError):
                pass
    raise AssertionError(f"no way to show delivery {msg_id!r}: {outs}")


# ---------------------------------------------------------------------------------------------
# Containment across a host crash

SLOW_SERIAL = """#!/bin/sh
cat > /dev/null
echo $$ > "$OUT/$HOOKHOST_DELIVERY_ID.$HOOKHOST_ATTEMPT.pid"
echo "start $HOOKHOST_ATTEMPT" >> "$OUT/serial.log"
sleep 6
echo "end $HOOKHOST_ATTEMPT" >> "$OUT/serial.log"
"""


def test_after_kill9_a_function_never_runs_next_to_its_own_rerun(make_host, fns):
    """Wrong answer (containment / concurrency). When the host is SIGKILLed, the function it was
    running (its own process group, started by posix_spawn without a parent-death signal) keeps
    running, re-parented to init. On restart the delivery runs again (`attempt + 1`, as
    documented) *while attempt 1 is still running*: two copies of one delivery run at once
    despite the sidecar's `max_concurrency: 1`, and CONTRACT §4 "Nothing a function starts
    outlives it" does not hold for the function itself. Expected: the old run is gone before the
    rerun starts. Cause: Dispatch/ProcessRunner.swift (no PR_SET_PDEATHSIG / no cleanup of a
    previous life's runs at start in App/Host.swift)."""
    fns.add_script("serial", SLOW_SERIAL, sidecar={"max_concurrency": 1})
    host = make_host()
    r = host.send(event_body("serial"), type_="serial")
    assert r.status == 202
    pidfile = fns.out / f"{r.msg_id}.1.pid"
    wait_until(pidfile.exists, 10, what="attempt 1 to start")
    pid1 = int(pidfile.read_text().strip())
    try:
        host.kill9()
        host.start()
        wait_until((fns.out / f"{r.msg_id}.2.pid").exists, 10, what="attempt 2 to start")
        overlap = pid_alive(pid1)
        assert not overlap, ("attempt 1 (pid %d) is still running while attempt 2 started; log: %s"
                             % (pid1, (fns.out / "serial.log").read_text().split("\n")))
    finally:
        try:
            os.killpg(pid1, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# ---------------------------------------------------------------------------------------------
# Secrets

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


# ---------------------------------------------------------------------------------------------
# Memory held by unauthenticated clients

def test_unauthenticated_partial_uploads_cannot_grow_memory_without_bound(host):
    """Resource exhaustion. Every connection may buffer a whole `HOOKHOST_MAX_BODY` before
    anything is verified, and the only cap is the connection count derived from the descriptor
    limit (`max_connections` ≈ 19,900 here): 300 unauthenticated clients each sending 1 MiB − 1
    of a 1 MiB body grow the host's RSS by ~300 MB today, so ~20 GB is reachable by one client
    machine within the 10 s read timeout (OOM kill = every queued answer lost). Expected: a
    total budget for in-flight request bytes (excess connections get 503 or wait).
    Cause: Net/EventLoop.swift:readAvailable (per-connection cap only)."""
    before = rss_mb(host.pid)
    head = (f"POST {host.path} HTTP/1.1\r\nHost: x\r\nContent-Length: {1 << 20}\r\n"
            "webhook-id: x\r\nwebhook-timestamp: 1\r\nwebhook-signature: v1,x\r\n\r\n").encode()
    chunk = b"x" * ((1 << 20) - 1)
    conns = []
    try:
        for _ in range(300):
            s = socket.create_connection(("127.0.0.1", host.port), timeout=10)
            conns.append(s)
            try:
                s.sendall(head + chunk)
            except OSError:
                pass  # refused or reset: that is a bound too
        time.sleep(1)
        grown = rss_mb(host.pid) - before
        assert host.request("GET", "/healthz").status == 200
        assert grown < 150, f"RSS grew {grown:.0f} MB for 300 unauthenticated partial uploads"
    finally:
        for s in conns:
            s.close()


# ---------------------------------------------------------------------------------------------
# HTTP conformance

def test_absolute_form_request_target_is_served(host):
    """Cosmetic. RFC 9112 §3.2.2: a server MUST accept the absolute-form request target
    (`GET http://127.0.0.1/healthz HTTP/1.1`); hookhost answers 404 because the target is
    compared as a path. Cause: HTTP/HTTPRequest.swift:path."""
    with RawConn(host.port) as c:
        c.send(b"GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        r = c.read_response()
    assert r is not None and r.status == 200, r


# ---------------------------------------------------------------------------------------------
# Read-only data directories

class ReadOnlyView:
    """A read-only bind mount of a directory (root only); always unmounted."""

    def __init__(self, src: Path, dst: Path):
        self.src, self.dst = src, dst

    def __enter__(self):
        self.dst.mkdir(parents=True, exist_ok=True)
        p = subprocess.run(["mount", "--bind", str(self.src), str(self.dst)], capture_output=True, timeout=20)
        if p.returncode != 0:
            pytest.skip(f"cannot bind-mount: {p.stderr.decode(errors='replace')}")
        p = subprocess.run(["mount", "-o", "remount,ro,bind", str(self.dst)], capture_output=True, timeout=20)
        if p.returncode != 0:
            subprocess.run(["umount", str(self.dst)], capture_output=True, timeout=20)
            pytest.skip(f"cannot remount read-only: {p.stderr.decode(errors='replace')}")
        return self.dst

    def __exit__(self, *exc):
        u = subprocess.run(["umount", str(self.dst)], capture_output=True, timeout=20)
        if u.returncode != 0:
            subprocess.run(["umount", "-l", str(self.dst)], capture_output=True, timeout=20)


def _stopped_host_with_a_dead_letter(make_host, fns):
    fns.add("broken", code=1)
    host = make_host(extra_args=["--max-attempts", "1"])
    r = host.send(event_body("broken"), type_="broken")
    assert r.status == 202
    wait_state(host, r.msg_id, "dead", timeout=15)
    host.stop()
    return host, r.msg_id


def test_list_and_show_work_on_a_read_only_data_dir(make_host, fns):
    """Wrong answer (operator tooling). README: "`list` and `show` only read". On a stopped
    host's data directory mounted read-only (a backup snapshot, a volume attached ro for
    inspection) both fail with exit 1 "cannot open the spool: open …/spool.log: Read-only file
    system": the direct path opens the log `O_RDWR | O_CREAT` (and fsyncs the directory) even to
    read. Cause: Spool/SpoolFile.swift:init (always read-write), used by
    Sources/hookhost/DeliveriesCommand.swift:direct for GETs."""
    host, dead_id = _stopped_host_with_a_dead_letter(make_host, fns)
    with ReadOnlyView(host.data, host.root / "snapshot") as ro:
        p = host.cli("deliveries", "list", "--json", "--data", str(ro))
        assert p.returncode == 0, p.stderr.decode(errors="replace")
        assert dead_id in p.stdout.decode()
        p = host.cli("deliveries", "show", dead_id, "--data", str(ro))
        assert p.returncode == 0, p.stderr.decode(errors="replace")


def test_read_only_data_dir_is_not_reported_as_in_use_by_another_hookhost(make_host, fns):
    """Wrong answer (diagnosis). `hookhost serve --data <read-only dir>` exits 2 with
    "… is in use by another hookhost process" — no other process exists; the lock file could not
    be *created* (EROFS; the same for EACCES when the host runs as a user who cannot write the
    directory). The operator is sent hunting for a phantom process. Cause: App/Host.swift:
    DataLock.tryAcquire returns nil for any open(2) failure and `acquire` words every nil as "in
    use"."""
    host, _ = _stopped_host_with_a_dead_letter(make_host, fns)
    (host.data / "lock").unlink()  # as on a fresh volume: the lock file has to be created
    with ReadOnlyView(host.data, host.root / "ro-data") as ro:
        rc, err = serve_briefly(["--listen", "127.0.0.1:0", "--data", str(ro), "--functions", str(fns.dir)],
                                base_env(), host.root)
    assert rc == 2, (rc, err[-300:])
    assert "in use by another" not in err and "HOOKHOST_DATA" in err, err[-300:]


# ---------------------------------------------------------------------------------------------
# `hookhost send` arguments

@pytest.mark.parametrize("ts", ["\u0661\u0662\u0663", "\u00bd", ""])
def test_send_refuses_a_timestamp_that_is_not_ascii_digits(tmp_path, ts):
    """Cosmetic. `send --timestamp` is checked with `Character.isNumber`, which is true for
    Arabic-Indic digits and `½`, and `allSatisfy` is true for an empty string: the CLI goes on
    to sign and send a header every receiver refuses (401), instead of exit 2 naming the option.
    Cause: Sources/hookhost/SendCommand.swift:run."""
    p = subprocess.run([str(hookhost_bin()), "send", "http://127.0.0.1:9/webhooks", "--type", "ping",
                        "--secret", "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=", "--timestamp", ts],
                       env=base_env(), capture_output=True, timeout=30)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 2 and "--timestamp" in err, (p.returncode, err)


# ---------------------------------------------------------------------------------------------
# Control socket: a filter that is not understood must not widen the action

control_raw = control_request



@pytest.mark.parametrize("query", ["typ=nosuch", "Type=nosuch", "id=nosuch"])
def test_purge_with_a_misspelt_filter_purges_nothing(make_host, fns, query):
    """Data loss (operator action). `POST /dead/purge?typ=nosuch` (or `Type=`, `id=`) on DATA/control.sock (a typo,
    or `Type=` in a hand-written curl) ignores the unknown parameter and purges *every* dead
    letter, of every type, irrecoverably. The control API refuses an empty or repeated name
    (400) but not an unknown one. Expected: 400 naming the parameter, nothing purged.
    Cause: App/SpoolAdmin.swift:ControlEndpoint.query/answer (unknown parameters ignored)."""
    fns.add("keepme", code=1)
    fns.add("other", code=1)
    host = make_host(extra_args=["--max-attempts", "1"])
    keep = host.send(event_body("keepme"), type_="keepme").msg_id
    other = host.send(event_body("other"), type_="other").msg_id
    wait_state(host, keep, "dead", timeout=15)
    wait_state(host, other, "dead", timeout=15)
    out = control_raw(host, f"POST /dead/purge?{query} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
    dead = listed(host, state="dead")
    assert keep in dead and other in dead, f"answer {out[:120]!r}; dead letters left: {sorted(dead)}"
    assert out.startswith(b"HTTP/1.1 400"), out[:200]


# ---------------------------------------------------------------------------------------------
# Secrets given as flags

PEEK_CMDLINE = """#!/bin/sh
cat > /dev/null
id -u > "$OUT/$HOOKHOST_DELIVERY_ID.uid"
tr '\\0' ' ' < /proc/$PPID/cmdline > "$OUT/$HOOKHOST_DELIVERY_ID.cmdline" 2>&1
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_secrets_given_as_flags_are_not_readable_by_functions():
    """Secret exposure. Every setting has a `serve` flag (CONTRACT §2 names `--gemini-api-key`;
    `--secrets` works the same way), and the host keeps its argv as it was: every function —
    even one running as `HOOKHOST_FUNCTION_USER`, which README says "cannot read the host's
    /proc/<pid>/environ … or a 0600 secrets file" — reads the webhook secret and the API key in
    plain text from the world-readable `/proc/$PPID/cmdline` (so does every local user, `ps`).
    Expected: the host scrubs secret values from its argv after parsing (or refuses secrets
    as flags). Cause: Sources/hookhost/ServeCommand.swift / App/HostConfig.swift:load."""
    d = Path(tempfile.mkdtemp(prefix="hookhost-review-", dir="/tmp"))
    d.chmod(0o755)
    host = None
    try:
        fns = Functions(d)
        fns.dir.chmod(0o755)
        fns.out.chmod(0o777)
        fns.add_script("peek", PEEK_CMDLINE)
        host = Host(d / "host", functions=fns)
        api_key = "AIza-review-canary-key"
        host.start(["--secrets", host.secrets[0], "--gemini-api-key", api_key, "--function-user", "65534:65534"],
                   env={"HOOKHOST_SECRETS": None})
        r = host.send(event_body("peek"), type_="peek")
        assert r.status == 202
        out = fns.out / f"{r.msg_id}.cmdline"
        wait_until(lambda: out.exists() and out.stat().st_size > 0, 10, what="the function to read the cmdline")
        time.sleep(0.2)
        seen = out.read_text(errors="replace")
        assert (fns.out / f"{r.msg_id}.uid").read_text().strip() == "65534"
        assert host.secrets[0] not in seen, "the function read the webhook secret from /proc/<host>/cmdline"
        assert api_key not in seen, "the function read GEMINI_API_KEY from /proc/<host>/cmdline"
    finally:
        if host is not None:
            host.stop()
        shutil.rmtree(d, ignore_errors=True)
