"""Issue 12 item 5: the deliveries CLI is pleasant — readable `show` with every attempt, `list`
with --limit/--since/next retry/fitted columns and family --type, replay of an unfinished delivery,
purge --dry-run and counts, demo --listen."""
import json
import re
import socket
import subprocess
import time

import pytest

from durability_lib import GATED, deliveries, listed, wait_state
from hostlib import event_body, free_port, hookhost_bin, new_id, wait_until

FAST_RETRY = ["--max-attempts", "3", "--retry-base", "0.2", "--retry-cap", "0.5"]

FAILS_TWICE = """#!/bin/sh
cat > /dev/null
echo "stderr of attempt $HOOKHOST_ATTEMPT" >&2
[ "$HOOKHOST_ATTEMPT" -ge 3 ] && { echo '{"ok":true}'; exit 0; }
exit 1
"""


def normalized(text: str) -> str:
    """The show output with what varies between runs (times, durations, ids) replaced."""
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "<T>", text)
    text = re.sub(r"\b\d+(\.\d)? (ms|s)\b", "<D>", text)
    text = re.sub(r"msg_[0-9a-zA-Z_]+", "<ID>", text)
    return re.sub(r'"received_at":"[^"]*"', '"received_at":"<T>"', text)


GOLDEN_HEAD = """delivery <ID>
  state        done
  type         job.done
  function     job
  attempts     3
  received     <T>
  updated      <T>
  verified by  hmac

attempts (3 kept)
  #1  <T>  <D>  retry_scheduled  exit 1  (job)
      error   exited with status 1
      next    <T>
      stderr  | stderr of attempt 1
  #2  <T>  <D>  retry_scheduled  exit 1  (job)
      error   exited with status 1
      next    <T>
      stderr  | stderr of attempt 2
  #3  <T>  <D>  done  exit 0  (job)
      stderr  | stderr of attempt 3

output (last attempt)
  {"ok":true}

stdin (the document the function reads, one line; exact bytes with --json, a signed URL without its query)
"""


def test_show_is_readable_with_every_attempt_and_json_keeps_them(make_host, fns):
    fns.add_script("job", FAILS_TWICE)
    host = make_host(extra_args=FAST_RETRY)
    r = host.send(event_body("job.done"), type_="job.done")
    assert r.status == 202, r
    wait_state(host, r.msg_id, "done", attempt=3, timeout=20)

    p = deliveries(host, "show", r.msg_id)
    text = p.stdout.decode()
    assert not text.lstrip().startswith("{"), "show is for people by default"
    assert normalized(text).startswith(GOLDEN_HEAD), normalized(text)
    stdin_line = text.rstrip("\n").splitlines()[-1].strip()
    assert json.loads(stdin_line)["delivery"]["id"] == r.msg_id

    doc = json.loads(deliveries(host, "show", "--json", r.msg_id).stdout)
    assert doc["delivery"]["id"] == r.msg_id and doc["last"]["exit_code"] == 0
    assert [a["attempt"] for a in doc["attempts"]] == [1, 2, 3]
    assert [a["exit_code"] for a in doc["attempts"]] == [1, 1, 0]
    assert "stderr of attempt 2" in doc["attempts"][1]["stderr"]
    assert all(a["started_at"] <= a["ended_at"] and a["ms"] >= 0 for a in doc["attempts"])

    # the history is on disk: the same after a restart, with the server stopped
    assert host.stop() == 0
    doc = json.loads(deliveries(host, "show", "--json", r.msg_id).stdout)
    assert [a["attempt"] for a in doc["attempts"]] == [1, 2, 3]


def test_list_limit_since_type_family_and_columns(make_host, fns):
    fns.add("batch", code=0)
    fns.add("other", code=0)
    host = make_host()
    types = ["batch.cancelled", "batch.a_rather_long_event_type_name.x", "other.thing", "batchy"]
    ids = []
    for t in types:
        r = host.send(event_body(t), type_=t)
        assert r.status == 202
        ids.append(r.msg_id)
        time.sleep(0.02)
    for i in ids:
        wait_state(host, i, "done" if not i == ids[3] else "skipped", timeout=15)

    fam = deliveries(host, "list", "--type", "batch", "--json")
    assert [d["id"] for d in json.loads(fam.stdout)["deliveries"]] == ids[:2], "--type batch matches batch.* only"

    newest = json.loads(deliveries(host, "list", "--limit", "2", "--json").stdout)["deliveries"]
    assert [d["id"] for d in newest] == ids[2:], "--limit keeps the newest, oldest first"
    assert json.loads(deliveries(host, "list", "--since", "1h", "--json").stdout)["deliveries"]
    assert json.loads(deliveries(host, "list", "--since", "2999-01-01", "--json").stdout) == {"deliveries": []}
    old = json.loads(deliveries(host, "list", "--since", "2000-01-01T00:00:00Z", "--json").stdout)["deliveries"]
    assert len(old) == 4
    bad = deliveries(host, "list", "--since", "yesterday", check=False)
    assert bad.returncode == 2 and b"--since" in bad.stderr

    lines = deliveries(host, "list").stdout.decode().splitlines()
    header = lines[0]
    assert "NEXT RETRY" in header
    # every row's STATE column starts where the header's does: the TYPE column fits the longest type
    col = header.index("STATE")
    for ln in lines[1:5]:
        assert ln[col - 2:col] == "  " and ln[col] != " ", (header, ln)
    assert lines[-1] == "4 deliveries"


def test_next_retry_column_shows_when(make_host, fns):
    fns.add("slow", code=1)
    host = make_host(extra_args=["--max-attempts", "3", "--retry-base", "300", "--retry-cap", "600"])
    r = host.send(event_body("slow"), type_="slow")
    wait_state(host, r.msg_id, "retry_scheduled", timeout=15)
    row = [ln for ln in deliveries(host, "list").stdout.decode().splitlines() if r.msg_id in ln][0]
    assert re.search(r"\bin \d+[smh]\b", row), row
    text = deliveries(host, "show", r.msg_id).stdout.decode()
    assert re.search(r"next retry\s+\S+Z \(in \d+[smh]\)", text), text


def test_replay_of_an_unfinished_delivery_says_so_and_exits_0(make_host, fns):
    fns.add_script("gate", GATED, env={})
    host = make_host()
    r = host.send(event_body("gate"), type_="gate")
    wait_until(lambda: (fns.out / f"{r.msg_id}.1.pid").exists(), 15, what="gated run")
    p = deliveries(host, "replay", r.msg_id, check=False)
    assert p.returncode == 0, p
    assert b"running" in p.stdout and b"it will run anyway" in p.stdout, p.stdout
    doc = json.loads(deliveries(host, "replay", "--json", r.msg_id).stdout)
    assert doc["replayed"] == 0 and doc["state"] == "running"
    (fns.out / "release").touch()
    wait_state(host, r.msg_id, "done", timeout=15)


def test_purge_dry_run_lists_and_counts_then_purge_counts(make_host, fns):
    fns.add("bad", code=65)
    host = make_host()
    ids = [host.send(event_body("bad.x"), type_="bad.x").msg_id for _ in range(2)]
    for i in ids:
        wait_state(host, i, "dead", timeout=15)
    dry = deliveries(host, "purge", "--dead", "--dry-run").stdout.decode()
    assert all(i in dry for i in ids), dry
    assert "would purge 2 dead letters" in dry
    assert set(listed(host, state="dead")) == set(ids), "a dry run purges nothing"
    assert deliveries(host, "purge", "--dead").stdout.decode().strip() == "purged 2 dead letters"
    assert listed(host, state="dead") == {}


def test_demo_says_so_at_once_when_its_host_dies_while_the_functions_run(tmp_path):
    """A function that kills the host (its parent): the demo must not wait out its 20 s for
    deliveries that will never finish and then print an empty report with exit 0 — it watches the
    host process and says it exited, pointing at the log."""
    fdir = tmp_path / "functions"
    fdir.mkdir()
    f = fdir / "_default"
    f.write_text("#!/bin/sh\nsleep 3\nkill -KILL $PPID\n")  # once the demo has sent everything
    f.chmod(0o755)
    t = time.monotonic()
    p = subprocess.run([str(hookhost_bin()), "demo", "--functions", str(fdir)],
                       capture_output=True, timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    took = time.monotonic() - t
    assert p.returncode == 1, p
    assert b"the host exited while the functions ran" in p.stderr and b"host.log" in p.stderr, p.stderr
    assert took < 15, f"took {took:.1f}s: waited out the deadline"


def test_demo_listens_where_asked(tmp_path):
    import os
    from pathlib import Path
    fbin = Path(os.environ.get("HOOKHOST_FUNCTIONS_BIN", Path(__file__).resolve().parents[2] / "Functions" / "bin"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        taken = s.getsockname()[1]
        p = subprocess.run([str(hookhost_bin()), "demo", "--functions", str(tmp_path), "--listen", f"127.0.0.1:{taken}"],
                           capture_output=True, timeout=30, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert p.returncode == 2 and b"--listen" in p.stderr, p
    bad = subprocess.run([str(hookhost_bin()), "demo", "--functions", str(tmp_path), "--listen", "nowhere"],
                         capture_output=True, timeout=30, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert bad.returncode == 2 and b"--listen" in bad.stderr, bad
    if not fbin.is_dir():
        pytest.skip("Functions/bin not built (Functions/build.sh)")
    port = free_port()
    p = subprocess.run([str(hookhost_bin()), "demo", "--functions", str(fbin), "--listen", f"127.0.0.1:{port}"],
                       capture_output=True, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert p.returncode == 0, p.stderr.decode()
    out = p.stdout.decode()
    assert f"host on 127.0.0.1:{port}" in out, out[:400]
    # Every example ends done, with output — the batch and video ones with the results the host
    # downloaded from the demo's stand-in API (issue 9: a demo that ends in dead letters is a defect).
    report, pipeline = out.split("waiting for the functions", 1)[1].split("\nthe pipeline the first batch started", 1)
    pipeline, recovered = pipeline.split("\na batch whose webhook never arrives", 1)
    # last, a batch whose webhook the stand-in dropped, found and run through reconcile (issue 24)
    assert "1 with no delivery received" in recovered and "(batch.succeeded) as reconcile_" in recovered, recovered
    assert "batch.succeeded done (verified_by reconcile)" in recovered, recovered
    rows = [ln for ln in report.splitlines() if ln.startswith("  ") and not ln.startswith("      ")]
    # one per event type, the batch routed by job_group to nightly-eval, and two JWT ones
    assert len(rows) == 12 and all(" done " in ln and " output {" in ln for ln in rows), report
    assert any("nightly-eval" in ln for ln in rows), report
    # the pipeline: the first batch, its retry steps, the re-submitted batches back through the host
    steps = [ln for ln in pipeline.splitlines() if ln.startswith("  ")]
    assert sum("app.batch.retry" in ln for ln in steps) == 4 and sum("standin_" in ln for ln in steps) == 12, pipeline
    assert all(ln.rstrip().endswith(" done") for ln in steps), pipeline
    assert '"succeeded":36' in report and '"bytes":200024' in report, report
