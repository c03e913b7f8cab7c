"""The function interface (CONTRACT §4): routing, exact stdin, exact environment, exit codes,
retries, timeouts — with real /bin/sh fixture handlers."""
import json
import os
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from durability_lib import show, wait_state
from hostlib import (CANARY_VALUE, CANARY_VAR, event_body, expected_stdin, hookhost_bin, kill_quietly,
                     normalize_received_at, pid_alive, wait_until)

NO_FETCH = {"fetch": False}


def assert_no_run(fns, msg_id, attempt=1, seconds=1.0):
    """Bounded negative check: the given attempt does not start within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert not fns.ran(msg_id, attempt), f"{msg_id} attempt {attempt} ran: {fns.runs_of(msg_id)}"
        time.sleep(0.05)


def log_has_state(host, msg_id, state):
    """A JSON log line about msg_id carrying the state name (CONTRACT §7 logs)."""
    for rec in host.log_records():
        if msg_id in json.dumps(rec) and state in [v for v in rec.values() if isinstance(v, str)]:
            return True
    return False


# --- stdin -------------------------------------------------------------------------------------

def test_stdin_is_the_exact_contract_document(host, fns):
    fns.add("ping")
    # odd spacing, key order, a big integer, escapes and non-ASCII: all must survive byte for byte
    body = ('{"version":"v1",  "type": "ping", "n": 123456789012345678901234567890, "f": 1.50,'
            ' "s": "caf\u00e9 \\u00e9 \\"q\\" \\n", "data": {"id": "x", "user_metadata":{"job":"n","k":[1,2]}}}').encode()
    before = datetime.now(timezone.utc)
    r = host.send(body)
    assert r.status == 202, r
    run = fns.wait_run(r.msg_id)
    norm, received_at = normalize_received_at(run.stdin)
    assert norm == expected_stdin(r.msg_id, "ping", body, b'{"job":"n","k":[1,2]}')
    t = datetime.strptime(received_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs((t - before).total_seconds()) < 30, received_at
    assert run.function == "ping"


@pytest.mark.parametrize("body,um", [
    (b'{"type":"ping","data":{"id":"a","user_metadata":{"a":1}}}', b'{"a":1}'),
    (b'{"type":"ping","data":{"id":"a"},"user_metadata":{"top":true}}', b'{"top":true}'),
    (b'{"type":"ping","user_metadata":{"top":1},"data":{"user_metadata":{"inner":2}}}', b'{"inner":2}'),
    (b'{"type":"ping","data":{"id":"a"}}', b'null'),
    (b'{"type":"ping"}', b'null'),
    (b'{"type":"ping","data":{"user_metadata":{ "z" : 1,\n "a" : 98765432109876543210 }}}',
     b'{ "z" : 1,\n "a" : 98765432109876543210 }'),
], ids=["data", "top-level", "data-wins", "absent", "no-data", "raw-bytes"])
def test_user_metadata(host, fns, body, um):
    fns.add("ping")
    r = host.send(body)
    assert r.status == 202, r
    norm, _ = normalize_received_at(fns.wait_run(r.msg_id).stdin)
    assert norm == expected_stdin(r.msg_id, "ping", body, um)


# --- environment -------------------------------------------------------------------------------

def test_handler_environment_is_exactly_the_contract(host, fns):
    fns.add("ping", env={"GREETING": "hello world", "EMPTY": ""})
    r = host.send(event_body("ping"))
    assert r.status == 202, r
    run = fns.wait_run(r.msg_id)
    env = run.env
    expected_keys = {"HOOKHOST_EVENT_TYPE", "HOOKHOST_DELIVERY_ID", "HOOKHOST_ATTEMPT", "HOOKHOST_WORK_DIR", "HOOKHOST_EMIT",
                     "PATH", "HOME", "LANG", "OUT", "GREETING", "EMPTY"}
    assert set(env) == expected_keys, f"extra: {set(env) - expected_keys}, missing: {expected_keys - set(env)}"
    assert env["HOOKHOST_EVENT_TYPE"] == "ping"
    assert env["HOOKHOST_DELIVERY_ID"] == r.msg_id
    assert env["HOOKHOST_ATTEMPT"] == "1"
    assert env["OUT"] == str(fns.out)
    assert env["GREETING"] == "hello world" and env["EMPTY"] == ""
    assert env["PATH"]
    assert env["HOOKHOST_EMIT"] == env["HOOKHOST_WORK_DIR"] + "/emit.jsonl"
    assert run.workdir_ok, "HOOKHOST_WORK_DIR must be an existing writable directory"
    values = "\n".join(env.values())
    assert CANARY_VALUE not in values and CANARY_VAR not in env
    for s in host.secrets:
        assert s not in values and s.removeprefix("whsec_") not in values
    assert not any(s in run.stdin.decode() for s in host.secrets)


def test_pass_env_hands_named_host_variables_to_that_function_only(make_host, fns):
    # CONTRACT §4 pass_env: named host variables reach the function that asks for them; the host's
    # own HOOKHOST_* settings (webhook secrets among them) are never handed over, even when named.
    fns.add("ping", env={"SHARED": "from-sidecar"},
            sidecar={"pass_env": ["GEMINI_API_KEY", "MY_CUSTOM", "SHARED", "HOOKHOST_SECRETS", "NOT_SET_ANYWHERE"]})
    fns.add("other")
    host = make_host(env={"GEMINI_API_KEY": "gk-123", "MY_CUSTOM": "custom value=with equals", "SHARED": "from-host"})
    r = host.send(event_body("ping"))
    assert r.status == 202, r
    env = fns.wait_run(r.msg_id).env
    assert env["GEMINI_API_KEY"] == "gk-123" and env["MY_CUSTOM"] == "custom value=with equals"
    assert env["SHARED"] == "from-sidecar", "a sidecar's explicit env wins over pass_env"
    assert "HOOKHOST_SECRETS" not in env and "NOT_SET_ANYWHERE" not in env
    values = "\n".join(env.values())
    assert not any(s in values or s.removeprefix("whsec_") in values for s in host.secrets)
    wait_until(lambda: "HOOKHOST_SECRETS" in host.log_text() and "pass_env" in host.log_text(), 5,
               what="a warning naming the refused variable")

    r2 = host.send(event_body("other"), type_="other")
    assert r2.status == 202, r2
    other = fns.wait_run(r2.msg_id).env
    assert not {"GEMINI_API_KEY", "MY_CUSTOM", "SHARED"} & set(other), other


def test_work_dir_is_private_per_delivery(host, fns):
    fns.add("ping")
    ids = [host.send(event_body("ping")).msg_id for _ in range(2)]
    dirs = [fns.wait_run(i).env["HOOKHOST_WORK_DIR"] for i in ids]
    assert dirs[0] != dirs[1]
    for d in dirs:
        assert not Path(d).resolve().is_relative_to(fns.out.resolve())


# --- routing -----------------------------------------------------------------------------------

def test_routing_exact_then_family_then_default(host, fns):
    fns.add("batch.succeeded", sidecar=NO_FETCH)
    fns.add("batch", sidecar=NO_FETCH)
    fns.add("_default", sidecar=NO_FETCH)
    cases = [("batch.succeeded", "batch.succeeded", "batch.succeeded"),
             ("batch.failed", "batch", "batch.failed"),
             ("batch", "batch", "batch"),
             ("interaction.completed", "_default", "interaction.completed"),
             ("batch.completed", "batch.succeeded", "batch.succeeded"),
             ("ping", "_default", "ping")]
    sent = []
    for type_, _, _ in cases:
        body = event_body(type_, {"id": "batches/x"})
        r = host.send(body)
        assert r.status == 202, (type_, r)
        sent.append((r.msg_id, body))
    for (msg_id, body), (type_, fn, stdin_type) in zip(sent, cases):
        run = fns.wait_run(msg_id)
        assert run.function == fn, (type_, run.function)
        doc = run.stdin_json()
        assert doc["type"] == stdin_type and run.env["HOOKHOST_EVENT_TYPE"] == stdin_type, type_
        norm, _ = normalize_received_at(run.stdin)
        assert norm == expected_stdin(msg_id, stdin_type, body), type_  # event stays as sent


def test_no_matching_function_is_acknowledged_and_skipped(host, fns):
    fns.add("batch", sidecar=NO_FETCH)
    r = host.send(event_body("ping"))
    assert r.status == 202, r
    assert r.json() == {"status": "accepted", "id": r.msg_id}
    time.sleep(1.0)
    assert fns.runs() == []
    # a skipped id is still remembered
    assert host.send(event_body("ping"), msg_id=r.msg_id).status == 200


def test_non_executable_file_is_not_a_function(host, fns):
    fns.add("_default")
    p = fns.add("ping")
    p.chmod(0o644)
    r = host.send(event_body("ping"))
    assert fns.wait_run(r.msg_id).function == "_default"


def _function_for_new_delivery(host, fns, type_="ping"):
    """Sends one delivery and returns the name of the function that ran it (None if none within 1 s)."""
    r = host.send(event_body(type_))
    assert r.status == 202, r
    try:
        return fns.wait_run(r.msg_id, timeout=1.0).function
    except TimeoutError:
        return None


def test_function_added_and_removed_without_restart(host, fns):
    assert _function_for_new_delivery(host, fns) is None
    fns.add("ping")
    # "without a restart": allow a short, bounded reload delay
    wait_until(lambda: _function_for_new_delivery(host, fns) == "ping", 6.0,
               what="a newly added function to be picked up")
    fns.add("_default")
    os.unlink(fns.dir / "ping")
    os.unlink(fns.dir / "ping.json")
    wait_until(lambda: _function_for_new_delivery(host, fns) == "_default", 6.0,
               what="a removed function to be dropped")


# --- exit codes and retries --------------------------------------------------------------------

def test_exit_0_runs_once(host, fns):
    fns.add("ping", code=0)
    r = host.send(event_body("ping"))
    fns.wait_run(r.msg_id)
    assert_no_run(fns, r.msg_id, attempt=2, seconds=2.5)


def test_exit_75_is_retried_with_attempt_2(host, fns):
    fns.add("ping", code='$([ "$HOOKHOST_ATTEMPT" -lt 2 ] && echo 75 || echo 0)')
    body = event_body("ping")
    r = host.send(body)
    assert r.status == 202
    first = fns.wait_run(r.msg_id, 1)
    t1 = time.monotonic()
    second = fns.wait_run(r.msg_id, 2, timeout=10)
    assert time.monotonic() - t1 < 8
    assert second.env["HOOKHOST_ATTEMPT"] == "2"
    doc = second.stdin_json()
    assert doc["delivery"]["attempt"] == 2
    n1, ra1 = normalize_received_at(first.stdin)
    n2, ra2 = normalize_received_at(second.stdin)
    assert ra1 == ra2, "received_at is when the delivery arrived, not when the attempt ran"
    assert n2 == expected_stdin(r.msg_id, "ping", body, attempt=2)
    assert_no_run(fns, r.msg_id, attempt=3, seconds=2.5)


def test_exit_65_is_dead_at_once(host, fns):
    fns.add("ping", code=65)
    r = host.send(event_body("ping"))
    fns.wait_run(r.msg_id)
    assert_no_run(fns, r.msg_id, attempt=2, seconds=3.0)
    assert log_has_state(host, r.msg_id, "dead"), "expected a `dead` log line for the delivery"


def test_failure_is_retried_until_max_attempts_then_dead(make_host, fns):
    host = make_host(extra_args=["--max-attempts", "3"])
    fns.add("ping", code=1)
    r = host.send(event_body("ping"))
    for attempt in (1, 2, 3):
        run = fns.wait_run(r.msg_id, attempt, timeout=10)
        assert run.env["HOOKHOST_ATTEMPT"] == str(attempt)
    assert_no_run(fns, r.msg_id, attempt=4, seconds=3.0)
    assert log_has_state(host, r.msg_id, "dead"), "expected a `dead` log line for the delivery"


def test_sidecar_max_attempts(host, fns):
    fns.add("ping", code=3, sidecar={"max_attempts": 2})
    r = host.send(event_body("ping"))
    fns.wait_run(r.msg_id, 2, timeout=10)
    assert_no_run(fns, r.msg_id, attempt=3, seconds=3.0)


# --- timeouts and process groups ---------------------------------------------------------------

HANG = """#!/bin/sh
p="$OUT/$HOOKHOST_DELIVERY_ID.$HOOKHOST_ATTEMPT"
echo $$ > "$p.parent.pid"
sleep 1000 &
echo $! > "$p.child.pid"
touch "$p.started"
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT hang" >> "$OUT/runs.log"
wait
touch "$p.survived"
"""


def _check_timeout_kills_group(host, fns):
    r = host.send(event_body("ping"))
    assert r.status == 202
    p = fns.out / f"{r.msg_id}.1"
    started = Path(f"{p}.started")
    wait_until(lambda: started.exists() and Path(f"{p}.child.pid").exists(), 10, what="hanging handler to start")
    t0 = time.monotonic()
    parent = int(Path(f"{p}.parent.pid").read_text())
    child = int(Path(f"{p}.child.pid").read_text())
    try:
        wait_until(lambda: not pid_alive(parent) and not pid_alive(child), 10,
                   what=f"handler {parent} and grandchild {child} to be killed")
        assert time.monotonic() - t0 > 0.5, "killed before the timeout elapsed"
        assert not Path(f"{p}.survived").exists()
        # the host reaps its direct child
        wait_until(lambda: not os.path.exists(f"/proc/{parent}"), 5, what="handler to be reaped (no zombie)")
        assert host.running
    finally:
        kill_quietly(child)
        kill_quietly(parent)
    return r.msg_id


def test_function_timeout_kills_the_process_group(make_host, fns):
    host = make_host(extra_args=["--function-timeout", "1", "--max-attempts", "1"])
    fns.add_script("ping", HANG)
    _check_timeout_kills_group(host, fns)


def test_sidecar_timeout_kills_the_process_group(make_host, fns):
    host = make_host(extra_args=["--function-timeout", "300", "--max-attempts", "1"])
    fns.add_script("ping", HANG, sidecar={"timeout": 1})
    _check_timeout_kills_group(host, fns)


def test_timeout_counts_as_an_attempt_and_is_retried(make_host, fns):
    host = make_host(extra_args=["--function-timeout", "1", "--max-attempts", "2"])
    fns.add_script("ping", HANG)
    r = host.send(event_body("ping"))
    try:
        wait_until(lambda: (fns.out / f"{r.msg_id}.2.started").exists(), 12, what="second attempt after timeout")
        time.sleep(3.0)
        assert not (fns.out / f"{r.msg_id}.3.started").exists()
    finally:
        for f in fns.out.glob(f"{r.msg_id}.*.pid"):
            kill_quietly(int(f.read_text()))


def test_202_comes_back_before_a_slow_handler_finishes(make_host, fns):
    host = make_host(extra_args=["--workers", "1"])
    fns.add("ping", extra="sleep 5")
    t0 = time.monotonic()
    r1 = host.send(event_body("ping"))
    assert r1.status == 202 and time.monotonic() - t0 < 2.0, (r1, time.monotonic() - t0)
    wait_until(lambda: (fns.out / f"{r1.msg_id}.1.stdin").exists(), 5, what="slow handler to start")
    # the only worker is busy: the next delivery is still acknowledged at once
    t0 = time.monotonic()
    r2 = host.send(event_body("ping"))
    assert r2.status == 202 and time.monotonic() - t0 < 2.0, (r2, time.monotonic() - t0)
    assert not fns.ran(r1.msg_id), "handler finished before the answer?"


# --- pipes ---------------------------------------------------------------------------------------

def test_handler_that_ignores_stdin_does_not_hurt_the_host(host, fns):
    """Host writes a large stdin into a handler that exits at once (EPIPE, not SIGPIPE death)."""
    fns.add_script("ping", '#!/bin/sh\necho "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT quick" >> "$OUT/runs.log"\nexit 0\n')
    big = b'{"type":"ping","pad":"' + b"x" * 600_000 + b'"}'
    ids = []
    for _ in range(3):
        r = host.send(big)
        assert r.status == 202, r
        ids.append(r.msg_id)
    wait_until(lambda: all(fns.runs_of(i) for i in ids), 10, what="all quick handlers to run")
    time.sleep(0.3)
    assert host.running, host.log_tail()
    assert host.request("GET", "/healthz").status == 200


def test_handler_with_large_output_does_not_deadlock(host, fns):
    fns.add("ping", extra='head -c 3000000 /dev/zero | tr "\\0" a\nhead -c 3000000 /dev/zero | tr "\\0" b >&2\n'
                          'echo \'{"ok":true}\'')
    r = host.send(event_body("ping"))
    assert r.status == 202
    fns.wait_run(r.msg_id, timeout=15)
    assert_no_run(fns, r.msg_id, attempt=2, seconds=1.5)
    assert host.running


# Found by a hostile review of an earlier build: the docstrings below describe each defect as it
# was found and where its cause was, not what the host does now.
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
