"""Issue 21 (flow control) attacked as an attacker and an unlucky operator would: times that name
no real moment, control requests the API does not speak, a pause file swapped for a FIFO, a
directory or a symlink, failure events whose taker is paused, rate-limited or in a route conflict,
replays of failure events, replays with the host stopped, and thousands of dead letters replayed
at once — through the real binary, with real signed deliveries and real handlers."""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import threading
import time
from collections import Counter
from pathlib import Path

from durability_lib import deliveries, deliveries_json, listed, wait_state
from hostlib import Host, control_request, event_body, raw_request, wait_until

# Records each run ("<id> <attempt>") with one short append.
APPEND = """#!/bin/sh
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT" >> "$OUT/runs.log"
"""

# Refuses its input for good (exit 65: dead at once).
REFUSES = """#!/bin/sh
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT" >> "$OUT/runs.log"
exit 65
"""


def runs(out: Path) -> Counter:
    p = out / "runs.log"
    if not p.exists():
        return Counter()
    return Counter(ln.split(" ")[0] for ln in p.read_text().splitlines() if ln.strip())


def functions_cli(host: Host, *args: str, check: bool = True, timeout: float = 30.0):
    p = host.cli("functions", *args, "--data", str(host.data), "--functions", str(host.functions.dir), timeout=timeout)
    if check:
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return p


def control(host: Host, method: str, target: str) -> tuple[int, dict]:
    """One request on the control socket, target sent exactly as given."""
    answer = control_request(host, raw_request(method, target))
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, (json.loads(body) if body.strip() else {})


def metric(host: Host, series: str) -> float | None:
    for ln in host.request("GET", "/metrics").body.decode().splitlines():
        if ln.startswith(series + " "):
            return float(ln.rsplit(" ", 1)[1])
    return None


class Sender:
    """Signed deliveries on one keep-alive connection (HMAC by hand: thousands per test)."""

    def __init__(self, host: Host):
        self.host = host
        self.key = base64.b64decode(host.secrets[0].removeprefix("whsec_"))
        self.conn = http.client.HTTPConnection("127.0.0.1", host.port, timeout=30)

    def send(self, msg_id: str, body: bytes) -> int:
        ts = str(int(time.time()))
        sig = base64.b64encode(hmac.new(self.key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
        self.conn.request("POST", self.host.path, body=body, headers={
            "webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": "v1," + sig, "Content-Type": "application/json"})
        r = self.conn.getresponse()
        r.read()
        return r.status

    def close(self):
        self.conn.close()


def send_many(host: Host, ids: list[str], type_: str, metadata=None) -> None:
    s = Sender(host)
    try:
        for i in ids:
            body = event_body(type_, {"id": i, **({"user_metadata": metadata(i)} if metadata else {})})
            assert s.send(i, body) == 202, i
    finally:
        s.close()


def rss_kib(pid: int) -> int:
    for ln in Path(f"/proc/{pid}/status").read_text().splitlines():
        if ln.startswith("VmRSS:"):
            return int(ln.split()[1])
    return -1


# ---------------------------------------------------------------------------------------------
# Filters: times that name no real moment


def test_filter_times_that_name_no_real_moment_are_usage_errors(make_host, fns):
    """`--since 2026-02-30` used to become 2 March (timegm normalises), `.5e3Z` added 500 s, a hex
    duration was read as seconds and `1e308d` was minus infinity: each is refused now, naming the
    option, and nothing is acted on."""
    fns.add_script("alpha", REFUSES)
    host = make_host()
    dead = host.send(event_body("alpha"), type_="alpha").msg_id
    wait_state(host, dead, "dead")
    bad = ["2026-02-30", "2026-04-31T10:00:00Z", "2025-02-29", "2026-05-01T24:00:00Z", "2026-05-01T10:00:60Z",
           "2026-05-01T10:00:00.5e3Z", "2026-05-01T10:00:00.Z", "2026-05-01T10:00:00.-1Z", "0x10", "0x1p4m",
           "1e308d", "1e999", "nan", "inf", "-5m", "+5m", "5 m", ""]
    for when in bad:
        for args in (["list", "--since", when], ["list", "--until", when],
                     ["replay", "--state", "dead", "--since", when], ["purge", "--dead", "--until", when]):
            p = deliveries(host, *args, check=False)
            assert p.returncode == 2, (args, p.returncode, p.stdout, p.stderr)
            err = p.stderr.decode()
            assert args[-2] in err and "UTC time" in err, (args, err)
    assert listed(host)[dead]["state"] == "dead" and runs(fns.out)[dead] == 1, "nothing acted on"
    # The real forms still work, leap day and fractions included.
    for when in ["2024-02-29", "2026-02-28T23:59:59Z", "2026-05-01T10:00:00.5Z", "1.5h", "90s", "7d", "0"]:
        p = deliveries(host, "list", "--since", when, check=False)
        assert p.returncode == 0, (when, p.stderr)
    assert dead in {d["id"] for d in deliveries_json(host, "list", "--json", "--since", "2024-02-29")["deliveries"]}
    assert deliveries_json(host, "list", "--json", "--since", "0")["deliveries"] == []


# ---------------------------------------------------------------------------------------------
# The control API: what it does not speak is refused, never guessed at


def test_control_requests_it_does_not_understand_are_refused(make_host, fns):
    fns.add_script("alpha", REFUSES)
    host = make_host()
    dead = host.send(event_body("alpha"), type_="alpha").msg_id
    wait_state(host, dead, "dead")
    for target in ["/deliveries/replay?state=dead&since=0x10", "/deliveries/replay?state=dead&until=0x1p40",
                   "/deliveries/replay?state=dead&since=1e999", "/deliveries/replay?state=dead&since=nan",
                   "/deliveries/replay?state=dead&since=-inf", "/deliveries/replay?state=dead&since=",
                   "/deliveries/replay?state=dead&since=5&until=4", "/deliveries/replay?state=dead&since=5&until=5",
                   "/deliveries/replay?state=dead&state=dead", "/deliveries/replay?state=dead&=x",
                   "/deliveries/replay?state=dead&function=", "/deliveries/replay?state=de%61d&typo=1",
                   "/deliveries/replay?state=running", "/deliveries/purge?state=received",
                   "/deliveries/replay?state=dead&since=1%2E5e9x"]:
        status, doc = control(host, "POST", target)
        assert status == 400 and doc.get("error"), (target, status, doc)
    assert listed(host)[dead]["state"] == "dead" and runs(fns.out)[dead] == 1, "nothing acted on"
    # Escapes are exactly %XX of two hex digits: `%+a` and `%-0` are not bytes 0x0A and 0x00.
    status, doc = control(host, "POST", "/functions/%+a/pause")
    assert status == 404 and "%+a" in doc["error"], doc
    status, doc = control(host, "POST", "/functions/al%-0pha/pause")
    assert status == 404 and "al%-0pha" in doc["error"], doc
    # Other methods on the actions are unknown requests, and change nothing.
    for method in ("PUT", "DELETE", "PATCH"):
        status, _ = control(host, method, "/deliveries/replay?state=dead")
        assert status in (404, 405), (method, status)
    # Percent-encoded values are decoded once: state=de%61d is dead.
    status, doc = control(host, "POST", "/deliveries/replay?state=de%61d&function=al%70ha")
    assert (status, doc) == (200, {"replayed": 1})
    wait_until(lambda: runs(fns.out)[dead] == 2, 20, what="the replay")


# ---------------------------------------------------------------------------------------------
# The pause file swapped under the host


def test_pause_file_swapped_for_a_fifo_a_directory_or_a_symlink(make_host, fns, tmp_path):
    fns.add_script("job", APPEND)
    host = make_host()
    pause_file = host.data / "paused.json"
    # A FIFO: reading it must not hang `hookhost functions`, and a pause replaces it.
    os.mkfifo(pause_file)
    p = functions_cli(host, timeout=10)
    assert b"PAUSE FILE ERROR" in p.stdout and b"FIFO" in p.stdout, p.stdout
    assert b"paused job" in functions_cli(host, "pause", "job", timeout=10).stdout
    assert pause_file.is_file() and json.loads(pause_file.read_text())["paused"][0]["function"] == "job"
    # A directory: the change is refused, named, and nothing changes in the host.
    pause_file.unlink()
    pause_file.mkdir()
    p = functions_cli(host, "resume", "job", check=False, timeout=10)
    assert p.returncode == 1 and b"paused.json" in p.stderr, p
    r = host.send(event_body("job"), type_="job")
    assert r.status == 202
    wait_until(lambda: metric(host, 'hookhost_waiting{function="job",reason="paused"}') == 1, 20, what="parked: still paused")
    assert runs(fns.out) == Counter()
    pause_file.rmdir()
    # A symlink: replaced by the file itself; what it pointed to is left alone.
    target = tmp_path / "elsewhere.json"
    target.write_text("precious\n")
    pause_file.symlink_to(target)
    assert b"resumed job" in functions_cli(host, "resume", "job", timeout=10).stdout
    assert target.read_text() == "precious\n"
    assert pause_file.is_file() and not pause_file.is_symlink()
    assert json.loads(pause_file.read_text()) == {"paused": []}
    wait_state(host, r.msg_id, "done")
    # A temporary file left by a writer killed mid-write (garbage, even a symlink) is no obstacle.
    (host.data / ".paused.json.tmp").write_text("{\"paused\":[{\"func")
    assert b"paused job" in functions_cli(host, "pause", "job", timeout=10).stdout
    assert not (host.data / ".paused.json.tmp").exists()
    host.kill9()
    host.start()
    assert metric(host, 'hookhost_function_paused{function="job"}') == 1
    assert host.running


# ---------------------------------------------------------------------------------------------
# Failure events under flow control


def test_dead_events_wait_for_a_paused_rate_limited_taker_and_each_runs_once(make_host, fns):
    fns.add_script("ping", REFUSES)
    fns.add_script("hookhost.dead", APPEND, sidecar={"rate": {"limit": 5, "per": 0.5}})
    host = make_host(env={"HOOKHOST_MAX_ATTEMPTS": "1"})
    functions_cli(host, "pause", "hookhost.dead")
    ids = [f"many{i:03d}" for i in range(40)]
    send_many(host, ids, "ping")
    events = {i + "~d1" for i in ids}
    wait_until(lambda: events <= set(listed(host)), 30, what="one event per dead letter")
    wait_until(lambda: metric(host, 'hookhost_waiting{function="hookhost.dead",reason="paused"}') == len(ids), 30,
               what="every event parked while its taker is paused")
    assert not events & set(runs(fns.out)), "nothing ran while paused"
    host.kill9()
    host.start()
    functions_cli(host, "resume", "hookhost.dead")
    wait_until(lambda: all(listed(host)[e]["state"] == "done" for e in events), 60, what="every event done")
    counts = runs(fns.out)
    assert {e: counts[e] for e in events} == {e: 1 for e in events}, "each event ran exactly once"
    everything = listed(host)
    assert all(everything[e]["attempt"] == 1 for e in events), "waiting spent no attempt"
    assert not [i for i in everything if i.count("~d") > 1], "no event about an event"


def test_a_route_conflict_on_hookhost_dead_dies_once_and_reports_nothing(make_host, fns):
    fns.add_script("ping", REFUSES)
    fns.add_script("_default", APPEND)
    fns.add_script("pager-a", APPEND, sidecar={"on": ["hookhost.dead"]})
    fns.add_script("pager-b", APPEND, sidecar={"on": ["hookhost.dead"]})
    host = make_host(env={"HOOKHOST_MAX_ATTEMPTS": "2", "HOOKHOST_RETRY_BASE": "0.05"})
    r = host.send(event_body("ping"), type_="ping", msg_id="rc1")
    wait_state(host, "rc1", "dead")
    e = wait_state(host, "rc1~d1", "dead", attempt=2, timeout=30)
    assert "route conflict" in (e["error"] or ""), e
    time.sleep(0.5)  # a second event would be committed with the event's own death, not later
    assert sorted(i for i in listed(host) if i.startswith("rc1")) == ["rc1", "rc1~d1"]
    assert runs(fns.out) == Counter({r.msg_id: 1}), "neither pager nor _default ran the event"
    # Replaying the dead event (it still conflicts) reports nothing either; settled, it runs once.
    assert deliveries_json(host, "replay", "--state", "dead", "--type", "hookhost", "--json") == {"replayed": 1}
    wait_state(host, "rc1~d1", "dead", attempt=4, timeout=30)
    (fns.dir / "pager-b").unlink()
    assert deliveries_json(host, "replay", "--json", "--id", "rc1~d1") == {"replayed": 1}
    wait_state(host, "rc1~d1", "done", timeout=30)
    assert runs(fns.out)["rc1~d1"] == 1
    assert sorted(i for i in listed(host) if i.startswith("rc1")) == ["rc1", "rc1~d1"]


# ---------------------------------------------------------------------------------------------
# Replays


def test_replay_with_the_host_stopped_runs_each_once_after_the_start(make_host, fns):
    fns.add_script("alpha", REFUSES)
    host = make_host(env={"HOOKHOST_MAX_ATTEMPTS": "1"})
    ids = [f"off{i}" for i in range(12)]
    send_many(host, ids, "alpha")
    for i in ids:
        wait_state(host, i, "dead")
    host.stop()
    fns.add_script("alpha", APPEND)
    before = runs(fns.out)
    dry = deliveries_json(host, "replay", "--state", "dead", "--dry-run", "--json")
    assert sorted(d["id"] for d in dry["deliveries"]) == sorted(ids)
    assert deliveries_json(host, "replay", "--state", "dead", "--json") == {"replayed": len(ids)}
    assert deliveries_json(host, "replay", "--state", "dead", "--json") == {"replayed": 0}, "queued, not dead any more"
    host.start()
    for i in ids:
        wait_state(host, i, "done")
    counts = runs(fns.out)
    assert all(counts[i] == before[i] + 1 for i in ids)


def test_thousands_of_dead_letters_replayed_in_one_write(make_host, fns):
    """Dead letters made without a process each (a route conflict kills at once), replayed by one
    request: the dry run counts what the real run then does, the answer comes in one write, and the
    replayed deliveries go the same way again (each dies once more, reporting nothing twice)."""
    n = 3000
    fns.add_script("one", APPEND, sidecar={"on": ["bulk"]})
    fns.add_script("two", APPEND, sidecar={"on": ["bulk"]})
    host = make_host(env={"HOOKHOST_MAX_ATTEMPTS": "1"})
    ids = [f"bulk{i:05d}" for i in range(n)]
    send_many(host, ids, "bulk")
    wait_until(lambda: len(listed(host, state="dead")) == n, 120, interval=0.5, what="every delivery dead")
    rss_before = rss_kib(host.pid)
    dry = deliveries_json(host, "replay", "--state", "dead", "--type", "bulk", "--dry-run", "--json")
    assert len(dry["deliveries"]) == n
    t0 = time.monotonic()
    assert deliveries_json(host, "replay", "--state", "dead", "--type", "bulk", "--json") == {"replayed": n}
    took = time.monotonic() - t0
    print(f"replayed {n} in {took:.2f}s; host RSS {rss_before} -> {rss_kib(host.pid)} KiB")
    wait_until(lambda: all(d["attempt"] == 2 for d in listed(host, state="dead").values())
               and len(listed(host, state="dead")) == n, 120, interval=0.5, what="every replayed delivery dead again")
    assert runs(fns.out) == Counter(), "a conflict runs nothing"
    assert not [i for i in listed(host) if "~d" in i], "no taker for hookhost.dead: no event"

    # A purge racing a replay: the control socket takes one action at a time, so each delivery is
    # either purged (dead when the purge looked) or still there — never purged while queued.
    answers: dict[str, dict] = {}

    def act(*args: str):
        answers[args[0]] = deliveries_json(host, *args, "--json")

    threads = [threading.Thread(target=act, args=("replay", "--state", "dead")),
               threading.Thread(target=act, args=("purge", "--dead"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    def settled():
        d = listed(host)
        return (d,) if all(x["state"] == "dead" for x in d.values()) else None

    left = wait_until(settled, 120, interval=0.5, what="everything left dead again")[0]
    assert len(left) + answers["purge"]["purged"] == n, (len(left), answers)
    assert answers["replay"]["replayed"] in (0, n), answers


# ---------------------------------------------------------------------------------------------
# Pause storms and fairness across kill -9

# Notes its start ("<id> <attempt> <time>"); the delivery named in $OUT/hold runs until $OUT/release.
STARTS = """#!/bin/bash
t=$EPOCHREALTIME
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT $t" >> "$OUT/starts.log"
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT" >> "$OUT/runs.log"
if [ "$HOOKHOST_DELIVERY_ID" = "$(cat "$OUT/hold" 2>/dev/null)" ]; then
  i=0
  while [ ! -e "$OUT/release" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
fi
cat > /dev/null
"""


def starts(out: Path) -> list[tuple[str, int, float]]:
    p = out / "starts.log"
    if not p.exists():
        return []
    rows = [ln.split(" ") for ln in p.read_text().splitlines()]
    return sorted(((r[0], int(r[1]), float(r[2])) for r in rows if len(r) == 3), key=lambda r: r[2])


def test_a_pause_resume_storm_loses_nothing_and_runs_each_once(make_host, fns):
    fns.add_script("job", STARTS, sidecar={"max_concurrency": 2, "concurrency": {"key": "user_metadata.g", "limit": 1}})
    host = make_host(extra_args=["--workers", "4"])
    ids = [f"storm{i:03d}" for i in range(150)]
    sender = threading.Thread(target=send_many, args=(host, ids, "job", lambda i: {"g": int(i[-3:]) % 5}))
    sender.start()
    for k in range(40):
        status, doc = control(host, "POST", f"/functions/job/{'pause' if k % 2 == 0 else 'resume'}")
        assert status == 200, (k, status, doc)
        time.sleep(0.01 * (k % 4))
    sender.join(60)
    assert not sender.is_alive()
    functions_cli(host, "resume", "job")
    wait_until(lambda: all(d["state"] == "done" for d in listed(host).values()) and len(listed(host)) == len(ids), 90,
               interval=0.3, what="every delivery done")
    assert runs(fns.out) == Counter({i: 1 for i in ids}), "each delivery ran exactly once"
    assert all(d["attempt"] == 1 for d in listed(host).values()), "pauses spent no attempt"
    assert metric(host, 'hookhost_waiting{function="job",reason="paused"}') == 0


def test_keys_still_take_turns_after_a_kill9(make_host, fns):
    """1 000 deliveries of job group A, then 10 of B, one run at a time and limit 1 per key, the
    host killed while A's first runs: after the restart B's first run still starts before A's 20th."""
    fns.add_script("grouped", STARTS, sidecar={"max_concurrency": 1, "concurrency": {"key": "user_metadata.job_group", "limit": 1}})
    (fns.out / "hold").write_text("a0000")
    host = make_host()
    send_many(host, ["a0000"], "grouped", lambda i: {"job_group": "A"})
    wait_until(lambda: starts(fns.out), 20, what="A's first run")
    send_many(host, [f"a{i:04d}" for i in range(1, 1000)], "grouped", lambda i: {"job_group": "A"})
    send_many(host, [f"b{i:04d}" for i in range(10)], "grouped", lambda i: {"job_group": "B"})
    host.kill9()
    before = len(starts(fns.out))
    (fns.out / "release").touch()
    host.start()
    wait_until(lambda: sum(1 for s in starts(fns.out) if s[0].startswith("b")) >= 1, 60, what="B's first run")
    wait_until(lambda: sum(1 for s in starts(fns.out)[before:] if s[0].startswith("a")) >= 20, 120, what="A's 20th run")
    after = [s[0] for s in starts(fns.out)[before:]]
    a20 = [i for i, s in enumerate(after) if s.startswith("a")][19]
    b1 = next(i for i, s in enumerate(after) if s.startswith("b"))
    assert b1 < a20, after[:30]
