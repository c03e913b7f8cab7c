"""A uid per function (`HOOKHOST_FUNCTION_UIDS`; issue 18, defect 4).

With one shared function user, any function could read a running function's `pass_env` secrets
from `/proc/<pid>/environ`. Here two functions run at once, one holding GEMINI_API_KEY through
`pass_env`; the other tries to read it and is refused by the kernel, and each ran as its own uid
from the range (the documented hash of its name), with a gid of the same number. Bad ranges are
exit 2 naming the setting. Real binary, real shell handlers, real signed deliveries; needs root
(the host switches users)."""
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from hostlib import Functions, Host, event_body, wait_until
from test_results import api  # noqa: F401  (the stand-in files API, a fixture)

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")

FIRST, LAST = 100000, 165535

HOLDER = """#!/bin/sh
d="$OUT/holder"
id -u > "$d.uid.tmp" && mv "$d.uid.tmp" "$d.uid"
id -g > "$d.gid.tmp" && mv "$d.gid.tmp" "$d.gid"
printf %s "$GEMINI_API_KEY" > "$d.key"
echo $$ > "$d.pid.tmp" && mv "$d.pid.tmp" "$d.pid"
# Stay alive (bounded) until the prober has tried: its read must meet a running process.
i=0
while [ ! -e "$OUT/prober.done" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
touch "$d.done"
"""

PROBER = """#!/bin/sh
d="$OUT/prober"
id -u > "$d.uid.tmp" && mv "$d.uid.tmp" "$d.uid"
id -g > "$d.gid.tmp" && mv "$d.gid.tmp" "$d.gid"
i=0
while [ ! -e "$OUT/holder.pid" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
pid=$(cat "$OUT/holder.pid")
if [ -r /proc/$pid/status ] && [ ! -e "$OUT/holder.done" ]; then echo running; else echo gone; fi > "$d.target"
if cat /proc/$pid/environ > "$d.environ" 2> "$d.err"; then echo readable; else echo denied; fi > "$d.result"
touch "$d.done"
"""


def refused(host: Host, env: dict) -> str:
    """Starts `host` expecting exit 2; its log. A host that starts anyway is stopped."""
    host.start(env=env, wait=False)
    try:
        code = host.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        host.stop()
        pytest.fail("the host started instead of refusing:\n" + host.log_tail())
    assert code == 2, host.log_tail()
    return host.log_text()


def documented_uid(name: str, first: int = FIRST, last: int = LAST) -> int:
    """docs/reference.md: FIRST + (first 8 bytes of SHA-256(name), big-endian) mod (LAST - FIRST + 1)."""
    return first + int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % (last - first + 1)


@pytest.fixture
def open_dir():
    """A 0755 directory outside pytest's 0700 tmp tree, so the function uids can reach the handlers."""
    d = Path(tempfile.mkdtemp(prefix="hookhost-e2e-uids-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@needs_root
def test_a_function_cannot_read_another_running_functions_pass_env(open_dir):
    fns = Functions(open_dir)
    fns.dir.chmod(0o755)
    fns.out.chmod(0o777)
    fns.add_script("holder", HOLDER, sidecar={"pass_env": ["GEMINI_API_KEY"]})
    fns.add_script("prober", PROBER)
    key = "AIza-e2e-" + os.urandom(8).hex()
    host = Host(open_dir / "host", functions=fns)
    try:
        host.start(env={"HOOKHOST_FUNCTION_UIDS": f"{FIRST}-{LAST}", "GEMINI_API_KEY": key})
        assert host.send(event_body("holder"), type_="holder").status == 202
        assert host.send(event_body("prober"), type_="prober").status == 202
        wait_until((fns.out / "prober.done").exists, 20, what="the prober to run")
        wait_until((fns.out / "holder.done").exists, 20, what="the holder to finish")

        assert (fns.out / "holder.key").read_text() == key, "pass_env did not hand the key to its function"
        assert (fns.out / "prober.target").read_text().strip() == "running", "the holder was not running when probed"
        assert (fns.out / "prober.result").read_text().strip() == "denied", "a function read another function's environment"
        assert "Permission denied" in (fns.out / "prober.err").read_text()
        assert key.encode() not in (fns.out / "prober.environ").read_bytes()

        uids = {n: int((fns.out / f"{n}.uid").read_text()) for n in ("holder", "prober")}
        gids = {n: int((fns.out / f"{n}.gid").read_text()) for n in ("holder", "prober")}
        assert uids["holder"] != uids["prober"]
        assert all(FIRST <= u <= LAST for u in uids.values()), uids
        assert gids == uids, "each function's gid is its uid"
        assert uids == {n: documented_uid(n) for n in uids}, "not the documented uid of the name"
    finally:
        host.stop()
    assert '"functions run as uids of their own"' in host.log_text()


@needs_root
def test_colliding_names_get_distinct_uids(open_dir):
    # A range of 2 ids: find two names whose hashes land on the same id. The one that sorts first
    # keeps it, the other takes the next id (wrapping).
    names = [f"c{i}" for i in range(8)]
    by_slot: dict[int, list[str]] = {}
    for n in names:
        by_slot.setdefault(documented_uid(n, 200000, 200001), []).append(n)
    slot, pair = next((s, sorted(p)[:2]) for s, p in by_slot.items() if len(p) >= 2)
    fns = Functions(open_dir)
    fns.dir.chmod(0o755)
    fns.out.chmod(0o777)
    for n in pair:
        fns.add_script(n, '#!/bin/sh\nid -u > "$OUT/$HOOKHOST_EVENT_TYPE.uid.tmp" && mv "$OUT/$HOOKHOST_EVENT_TYPE.uid.tmp" "$OUT/$HOOKHOST_EVENT_TYPE.uid"\n')
    host = Host(open_dir / "host", functions=fns)
    try:
        host.start(env={"HOOKHOST_FUNCTION_UIDS": "200000-200001"})
        for n in reversed(pair):  # the later name runs first: the order of runs does not matter
            assert host.send(event_body(n), type_=n).status == 202
        for n in pair:
            wait_until((fns.out / f"{n}.uid").exists, 10, what=f"{n} to run")
        got = [int((fns.out / f"{n}.uid").read_text()) for n in pair]
        assert got == [slot, 200001 if slot == 200000 else 200000], (pair, got)
    finally:
        host.stop()


@pytest.mark.parametrize("value, says", [
    ("1e999", "expected FIRST-LAST"),
    ("abc", "expected FIRST-LAST"),
    ("100000-", "expected FIRST-LAST"),
    ("-5-10", "expected FIRST-LAST"),
    ("165535-100000", "FIRST is greater than LAST"),
    ("0-65535", "must not include 0"),
    ("100000-4294967295", "above 2147483647"),
    ("100000-100000", "at least 2"),
])
def test_bad_ranges_refuse_to_start(make_host, value, says):
    log = refused(make_host(start=False), {"HOOKHOST_FUNCTION_UIDS": value})
    assert "HOOKHOST_FUNCTION_UIDS" in log and says in log, log


@needs_root
def test_a_range_this_machine_cannot_use_refuses_to_start(make_host, fns):
    # uid 1 is a user of every Debian system (daemon): functions would run with its rights.
    host = make_host(start=False)
    log = refused(host, {"HOOKHOST_FUNCTION_UIDS": "1-100"})
    assert "HOOKHOST_FUNCTION_UIDS" in log and 'user "' in log, log
    # More functions than ids.
    for n in ("a1", "a2", "a3"):
        fns.add(n)
    log = refused(host, {"HOOKHOST_FUNCTION_UIDS": "100000-100001"})
    assert "HOOKHOST_FUNCTION_UIDS" in log and "fewer than the 3 functions" in log, log


def test_function_user_and_function_uids_together_refuse_to_start(make_host):
    log = refused(make_host(start=False), {"HOOKHOST_FUNCTION_UIDS": "100000-165535", "HOOKHOST_FUNCTION_USER": "65534:65534"})
    assert "HOOKHOST_FUNCTION_UIDS" in log and "not both" in log, log


RESULT_READER = """#!/bin/sh
d="$OUT/$HOOKHOST_DELIVERY_ID"
id -u > "$d.uid"
if cat "$HOOKHOST_RESULT_PATH" > "$d.result" 2>/dev/null; then echo yes; else echo no; fi > "$d.readable"
if : > "$HOOKHOST_WORK_DIR/probe" 2>/dev/null; then echo yes; else echo no; fi > "$d.workdir"
echo "$HOOKHOST_RESULT_PATH" > "$OUT/result.path"
touch "$d.done"
"""

RESULT_PEEKER = """#!/bin/sh
d="$OUT/$HOOKHOST_DELIVERY_ID"
p=$(cat "$OUT/result.path")
if cat "$p" > /dev/null 2>&1; then echo readable; else echo denied; fi > "$d.peek"
touch "$d.done"
"""


@needs_root
def test_a_downloaded_result_belongs_to_its_functions_uid(open_dir, api):
    fns = Functions(open_dir)
    fns.dir.chmod(0o755)
    fns.out.chmod(0o777)
    fns.add_script("batch.succeeded", RESULT_READER)
    fns.add_script("peek", RESULT_PEEKER)
    host = Host(open_dir / "host", functions=fns)
    try:
        host.start(env={"HOOKHOST_FUNCTION_UIDS": f"{FIRST}-{LAST}", "HOOKHOST_API_BASE": f"http://127.0.0.1:{api.main}",
                        "GEMINI_API_KEY": "k", "HOOKHOST_KEEP_RESULTS": "600"})
        r = host.send(event_body("batch.succeeded", {"id": "batches/b1", "output_file_uri": "files/ok-3000"}), type_="batch.succeeded")
        assert r.status == 202
        wait_until((fns.out / f"{r.msg_id}.done").exists, 20, what="the result reader to run")
        assert int((fns.out / f"{r.msg_id}.uid").read_text()) == documented_uid("batch.succeeded")
        assert (fns.out / f"{r.msg_id}.readable").read_text().strip() == "yes", "the function cannot read its result"
        assert (fns.out / f"{r.msg_id}.workdir").read_text().strip() == "yes", "the function cannot write its work dir"
        assert len((fns.out / f"{r.msg_id}.result").read_bytes()) == 3000
        # Kept (HOOKHOST_KEEP_RESULTS): another function cannot read it.
        assert Path((fns.out / "result.path").read_text().strip()).exists()
        p = host.send(event_body("peek"), type_="peek")
        wait_until((fns.out / f"{p.msg_id}.done").exists, 20, what="the peeker to run")
        assert (fns.out / f"{p.msg_id}.peek").read_text().strip() == "denied", "a function read another function's result"
    finally:
        host.stop()


RESULT_ACROSS_RESTART = """#!/bin/sh
d="$OUT/$HOOKHOST_DELIVERY_ID.$HOOKHOST_ATTEMPT"
id -u > "$d.uid"
if cat "$HOOKHOST_RESULT_PATH" > /dev/null 2>&1; then echo yes; else echo no; fi > "$d.readable"
touch "$d.started"
# The first attempt is still running when the host stops: the delivery and its result stay.
if [ "$HOOKHOST_ATTEMPT" = 1 ]; then sleep 60; fi
"""


@needs_root
def test_a_kept_result_is_downloaded_again_when_its_function_has_another_uid(open_dir, api):
    # The range changed across a restart: the result kept from the first life belongs to the
    # function's old uid, which its new uid cannot read; it is downloaded again for the new one.
    fns = Functions(open_dir)
    fns.dir.chmod(0o755)
    fns.out.chmod(0o777)
    fns.add_script("batch.succeeded", RESULT_ACROSS_RESTART)
    host = Host(open_dir / "host", functions=fns)
    env = {"HOOKHOST_API_BASE": f"http://127.0.0.1:{api.main}", "GEMINI_API_KEY": "k", "HOOKHOST_KEEP_RESULTS": "600"}
    try:
        host.start(["--shutdown-grace", "0.5"], env={**env, "HOOKHOST_FUNCTION_UIDS": "100000-165535"})
        r = host.send(event_body("batch.succeeded", {"id": "batches/b1", "output_file_uri": "files/ok-2000"}), type_="batch.succeeded")
        assert r.status == 202
        wait_until((fns.out / f"{r.msg_id}.1.started").exists, 20, what="the first attempt to start")
        assert (fns.out / f"{r.msg_id}.1.readable").read_text().strip() == "yes"
        host.stop()
        host.start(["--shutdown-grace", "0.5"], env={**env, "HOOKHOST_FUNCTION_UIDS": "200000-265535"})
        wait_until((fns.out / f"{r.msg_id}.2.started").exists, 20, what="the second attempt to start")
        assert int((fns.out / f"{r.msg_id}.2.uid").read_text()) == documented_uid("batch.succeeded", 200000, 265535)
        assert (fns.out / f"{r.msg_id}.2.readable").read_text().strip() == "yes", "the kept result is not readable by the function's new uid"
        fetches = [e for e in api.log() if "ok-2000" in e["path"]]
        assert len(fetches) == 2, fetches
    finally:
        host.stop()
