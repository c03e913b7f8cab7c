"""Issue 21 (flow control), pause/resume and replay/purge by filter, end to end with the real binary:
a function paused during a burst stays paused across kill -9 and runs nothing until resumed, then
everything runs once; replay and purge select by state, function, type and arrival time, the dry
run lists exactly what the real run takes, replays obey the function's concurrency limit, and bad
filters are usage errors."""
from __future__ import annotations

import json
import re
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from durability_lib import Load, deliveries, deliveries_json, listed, wait_drained, wait_state
from hostlib import Host, event_body, wait_until

# Records each run ("<id> <attempt>") with one short append.
APPEND = """#!/bin/sh
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT" >> "$OUT/runs.log"
"""

# Refuses its input for good (exit 65: dead at once) until $OUT/ok exists.
REFUSES_UNTIL_OK = """#!/bin/sh
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT" >> "$OUT/runs.log"
[ -e "$OUT/ok" ] && exit 0
exit 65
"""

# Notes an overlap when another run of it is under way (mkdir is atomic), then holds its run a
# little so that runs started together would overlap.
EXCLUSIVE = """#!/bin/sh
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT" >> "$OUT/runs.log"
if mkdir "$OUT/inside" 2>/dev/null; then
  sleep 0.2
  rmdir "$OUT/inside"
else
  echo "$HOOKHOST_DELIVERY_ID" >> "$OUT/overlaps.log"
fi
[ -e "$OUT/ok" ] && exit 0
exit 65
"""


def runs(out: Path) -> Counter:
    """How many times each delivery id ran."""
    p = out / "runs.log"
    if not p.exists():
        return Counter()
    return Counter(ln.split(" ")[0] for ln in p.read_text().splitlines() if ln.strip())


def functions_cli(host: Host, *args: str, check: bool = True):
    p = host.cli("functions", *args, "--data", str(host.data), "--functions", str(host.functions.dir))
    if check:
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return p


def metric(host: Host, name: str, **labels: str) -> float | None:
    text = host.request("GET", "/metrics").body.decode()
    want = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for ln in text.splitlines():
        if ln.startswith(want + " "):
            return float(ln.split(" ")[1])
    return None


def running_count(host: Host) -> int:
    return sum(1 for d in listed(host).values() if d["state"] in ("running", "fetching"))


def test_pause_during_a_burst_survives_kill9_and_resume_runs_everything_once(make_host, fns):
    fns.add_script("job", APPEND)
    host = make_host()
    load = Load(host, "job", "burst", threads=3).start()
    try:
        wait_until(lambda: load.accepted_count() >= 40, 60, what="a first part of the burst accepted")
        p = functions_cli(host, "pause", "job")
        assert b"paused job" in p.stdout, p.stdout
        # A run under way when the pause came finishes; none starts after it.
        wait_until(lambda: running_count(host) == 0, 30, what="runs under way at the pause to finish")
        ran_before = runs(fns.out)
        accepted_at_pause = load.accepted_count()
        wait_until(lambda: load.accepted_count() >= accepted_at_pause + 60, 60, what="more of the burst accepted while paused")
    finally:
        load.stop()
    assert not load.answered and not load.unknown and not load.refused, (load.answered, load.unknown[:5], load.refused[:5])
    accepted = set(load.accepted)

    again = functions_cli(host, "pause", "job")
    assert b"already paused" in again.stdout, again.stdout
    waiting = {i for i, d in listed(host).items() if d["state"] == "received"}
    assert waiting and waiting == accepted - set(ran_before), "every accepted delivery that did not run waits"
    # Each waiting delivery is marked, spent no attempt, and the gauge counts the ones held back.
    for d in listed(host).values():
        if d["id"] in waiting:
            assert d["waiting"] == "paused" and d["attempt"] == 0, d
    wait_until(lambda: metric(host, "hookhost_waiting", function="job", reason="paused") == len(waiting), 30,
               what="every waiting delivery parked")
    assert metric(host, "hookhost_function_paused", function="job") == 1
    text = deliveries(host, "list").stdout.decode()
    assert "WAITING" in text.splitlines()[0] and re.search(r"\breceived\b.*\bpaused\b", text), text
    assert runs(fns.out) == ran_before

    host.kill9()
    host.start()
    listing = functions_cli(host, "--json")
    job = next(f for f in json.loads(listing.stdout)["functions"] if f["name"] == "job")
    assert job["paused"] is True
    assert "PAUSED" in functions_cli(host).stdout.decode()
    assert metric(host, "hookhost_function_paused", function="job") == 1
    # After the restart every waiting delivery went through a worker and was held back again.
    wait_until(lambda: metric(host, "hookhost_waiting", function="job", reason="paused") == len(waiting), 30,
               what="the recovered deliveries parked")
    after = listed(host)
    assert accepted <= set(after), "nothing acknowledged is lost"
    assert {i for i, d in after.items() if d["state"] == "received"} == waiting
    assert runs(fns.out) == ran_before, "nothing ran while paused, across the restart"

    p = functions_cli(host, "resume", "job")
    assert f"{len(waiting)} deliveries".encode() in p.stdout, p.stdout
    final = wait_drained(host)
    assert all(final[i]["state"] == "done" for i in accepted)
    counts = runs(fns.out)
    assert set(counts) == accepted and set(counts.values()) == {1}, "every delivery ran exactly once"
    assert all(final[i]["attempt"] == 1 for i in accepted), "waiting spent no attempt"
    assert metric(host, "hookhost_function_paused", function="job") == 0
    assert b"was not paused" in functions_cli(host, "resume", "job").stdout


def test_pause_names_a_function_of_the_directory_offline_and_online(make_host, fns):
    fns.add_script("job", APPEND)
    host = make_host(start=False)
    # Stopped host: the data directory is changed directly.
    p = functions_cli(host, "pause", "nope", check=False)
    assert p.returncode == 1 and b"no function nope" in p.stderr, p
    assert not (host.data / "paused.json").exists()
    assert b"paused job" in functions_cli(host, "pause", "job").stdout
    assert json.loads((host.data / "paused.json").read_text())["paused"][0]["function"] == "job"
    p = functions_cli(host, "pause", check=False)
    assert p.returncode == 2 and b"NAME" in p.stderr

    host.start()
    r = host.send(event_body("job"), type_="job")
    assert r.status == 202
    wait_until(lambda: metric(host, "hookhost_waiting", function="job", reason="paused") == 1, 20, what="the delivery parked")
    assert listed(host)[r.msg_id]["waiting"] == "paused" and runs(fns.out) == Counter()
    assert host.cli("functions", "pause", "nope", "--data", str(host.data)).returncode == 1
    assert json.loads(functions_cli(host, "resume", "job", "--json").stdout) == {
        "function": "job", "paused": False, "changed": True, "since": None, "waiting": 1}
    wait_state(host, r.msg_id, "done")
    assert listed(host)[r.msg_id]["waiting"] is None and runs(fns.out) == Counter({r.msg_id: 1})


def boundary(earlier: list[dict], later: list[dict]) -> str:
    """A UTC time between the last arrival of `earlier` and the first of `later`."""
    def t(d):
        return datetime.strptime(d["received_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
    mid = (max(map(t, earlier)) + min(map(t, later))) / 2
    return datetime.fromtimestamp(mid, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def send_dead(host: Host, type_: str) -> str:
    r = host.send(event_body(type_), type_=type_)
    assert r.status == 202, r
    return r.msg_id


def test_replay_and_purge_by_each_filter_dry_run_equals_the_real_count(make_host, fns):
    fns.add_script("alpha", REFUSES_UNTIL_OK)
    fns.add_script("beta", REFUSES_UNTIL_OK)
    host = make_host()
    first = {"a1": send_dead(host, "alpha.one"), "a2": send_dead(host, "alpha.one"), "b1": send_dead(host, "beta.one")}
    for i in first.values():
        wait_state(host, i, "dead")
    # Later arrivals: a separate time range for --since/--until (a gap, not a measured time).
    time.sleep(0.5)
    second = {"a3": send_dead(host, "alpha.one"), "t1": send_dead(host, "alpha.two"), "t2": send_dead(host, "alpha.two"),
              "b2": send_dead(host, "beta.one")}
    for i in second.values():
        wait_state(host, i, "dead")
    ids = {**first, **second}
    everything = listed(host)
    cut = boundary([everything[i] for i in first.values()], [everything[i] for i in second.values()])

    def check(args: list[str], expected: set[str]):
        before = runs(fns.out)
        dry = deliveries_json(host, "replay", *args, "--dry-run", "--json")
        assert {d["id"] for d in dry["deliveries"]} == {ids[k] for k in expected}, (args, dry)
        text = deliveries(host, "replay", *args, "--dry-run").stdout.decode()
        assert f"would replay {len(expected)} " in text, text
        assert deliveries_json(host, "replay", *args, "--json") == {"replayed": len(expected)}, args
        for k in expected:
            wait_until(lambda: runs(fns.out)[ids[k]] == before[ids[k]] + 1, 20, what=f"{k} ran again")
        for k in ids:
            wait_state(host, ids[k], "dead")
        after = runs(fns.out)
        assert {k for k in ids if after[ids[k]] != before[ids[k]]} == expected, args

    check(["--state", "dead", "--type", "alpha"], {"a1", "a2", "a3", "t1", "t2"})
    check(["--state", "dead", "--type", "alpha.two"], {"t1", "t2"})
    check(["--state", "dead", "--function", "beta"], {"b1", "b2"})
    check(["--state", "dead", "--since", cut], {"a3", "t1", "t2", "b2"})
    check(["--state", "dead", "--until", cut], {"a1", "a2", "b1"})
    check(["--state", "dead", "--function", "alpha", "--since", cut, "--until", "2999-01-01"], {"a3", "t1", "t2"})
    check(["--state", "dead", "--function", "gamma"], set())

    # purge takes the same filters: the dry run lists what then goes, and nothing else goes
    dry = deliveries_json(host, "purge", "--state", "dead", "--type", "beta", "--dry-run", "--json")
    assert {d["id"] for d in dry["deliveries"]} == {ids["b1"], ids["b2"]}
    assert "would purge 2 dead letters" in deliveries(host, "purge", "--dead", "--type", "beta", "--dry-run").stdout.decode()
    assert deliveries_json(host, "purge", "--state", "dead", "--type", "beta", "--json") == {"purged": 2}
    assert "purged 2 dead letters" in deliveries(host, "purge", "--dead", "--function", "alpha", "--until", cut).stdout.decode()
    left = listed(host)
    assert {k for k in ids if ids[k] in left} == {"a3", "t1", "t2"}

    # a finished (done) delivery replays too, by state
    (fns.out / "ok").touch()
    assert "replayed 3 dead letters" in deliveries(host, "replay", "--state", "dead").stdout.decode()
    for k in ("a3", "t1", "t2"):
        wait_state(host, ids[k], "done")
    before = runs(fns.out)
    assert deliveries_json(host, "replay", "--state", "done", "--type", "alpha.two", "--json") == {"replayed": 2}
    for k in ("t1", "t2"):
        wait_until(lambda: runs(fns.out)[ids[k]] == before[ids[k]] + 1, 20, what=f"{k} replayed")
        wait_state(host, ids[k], "done")
    assert runs(fns.out)[ids["a3"]] == before[ids["a3"]]


def test_replayed_dead_letters_obey_the_functions_concurrency_limit(make_host, fns):
    fns.add_script("solo", EXCLUSIVE, sidecar={"max_concurrency": 1})
    host = make_host(extra_args=["--workers", "4"])
    sent = [send_dead(host, "solo") for _ in range(8)]
    for i in sent:
        wait_state(host, i, "dead")
    (fns.out / "ok").touch()
    (fns.out / "overlaps.log").unlink(missing_ok=True)
    assert deliveries_json(host, "replay", "--state", "dead", "--function", "solo", "--json") == {"replayed": 8}
    for i in sent:
        wait_state(host, i, "done")
    assert not (fns.out / "overlaps.log").exists(), (fns.out / "overlaps.log").read_text()
    assert all(runs(fns.out)[i] == 2 for i in sent)


def test_bad_filters_are_usage_errors(make_host, fns):
    fns.add_script("alpha", REFUSES_UNTIL_OK)
    host = make_host()
    dead = send_dead(host, "alpha")
    wait_state(host, dead, "dead")
    for args in (["replay", "--state", "running"], ["replay", "--state", "received", "--dry-run"], ["replay", "--function", "alpha"],
                 ["replay", "--dry-run"], ["replay", dead, "--state", "dead"], ["replay", "--id", dead, "--type", "alpha"],
                 ["replay", "--state", "bogus"], ["replay", "--state", "dead", "--since", "yesterday"],
                 ["replay", "--state", "dead", "--since", "1h", "--until", "2h"], ["replay", "--state", "dead", "--function", ""],
                 ["purge"], ["purge", "--state", "received"], ["purge", "--dead", "--state", "done"],
                 ["list", "--until", "soon"], ["show", "--function", "alpha", dead], ["retry-dead", "--since", "1h"]):
        p = deliveries(host, *args, check=False)
        assert p.returncode == 2 and p.stderr.strip(), (args, p.returncode, p.stdout, p.stderr)
    assert listed(host)[dead]["state"] == "dead" and runs(fns.out)[dead] == 1, "nothing acted on"
    # --id is the positional ID spelt out
    assert deliveries_json(host, "replay", "--id", dead, "--json") == {"replayed": 1}
    wait_until(lambda: runs(fns.out)[dead] == 2, 20, what="the replay by --id")


def test_an_unreadable_pause_file_refuses_the_start_and_is_named(make_host, fns):
    fns.add_script("job", APPEND)
    host = make_host(start=False)
    (host.data / "paused.json").write_text('{"paused":[{"function":"job"}]}')
    host.start(wait=False)
    assert host.proc.wait(timeout=20) == 2
    log = host.log_text()
    assert "paused.json" in log and "since" in log and "delete it" in log, log
    listing = functions_cli(host)
    assert b"PAUSE FILE ERROR" in listing.stdout, listing.stdout
    p = functions_cli(host, "resume", "job", check=False)
    assert p.returncode == 1 and b"paused.json" in p.stderr, p
    (host.data / "paused.json").unlink()
    host.start()
    r = host.send(event_body("job"), type_="job")
    wait_state(host, r.msg_id, "done")
