"""Flow control (issue 21): concurrency keys served in turn, rate limits, and deliveries that
wait for them without a worker, a start record or an attempt — through the real binary, from the
functions' own start records."""
from __future__ import annotations

import json

from durability_lib import listed
from hostlib import event_body, run_cli, wait_until

# The function's first act is to note its id, attempt and the time ($EPOCHREALTIME: no fork).
STARTS = """#!/bin/bash
t=$EPOCHREALTIME
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT $t" >> "$OUT/starts.log"
cat > /dev/null
"""

# ...and the delivery `first` runs until the test creates $OUT/release (at most a minute).
HOLD = """if [ "$HOOKHOST_DELIVERY_ID" = {first} ]; then
  i=0
  while [ ! -e "$OUT/release" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
fi
"""

KEYED = {"key": "user_metadata.job_group", "limit": 1}


def starts(fns) -> list[tuple[str, int, float]]:
    """(id, attempt, time) of every run so far, in the order they started."""
    p = fns.out / "starts.log"
    if not p.exists():
        return []
    out = []
    for ln in p.read_text().splitlines():
        parts = ln.split(" ")
        if len(parts) == 3:
            out.append((parts[0], int(parts[1]), float(parts[2])))
    return sorted(out, key=lambda s: s[2])


def started(fns, n: int):
    s = starts(fns)
    return s if len(s) >= n else None


def metric(host, series: str):
    for ln in host.request("GET", "/metrics").body.decode().splitlines():
        if ln.startswith(series + " "):
            return float(ln.rsplit(" ", 1)[1])
    return None


def waiting(host, function: str, reason: str):
    return metric(host, f'hookhost_waiting{{function="{function}",reason="{reason}"}}')


def grouped(group: str) -> bytes:
    return event_body("grouped", {"id": "batches/x", "user_metadata": {"job_group": group}})


def most_in_any_window(times: list[float], per: float) -> int:
    """The most starts in any half-open window [t, t + per)."""
    s = sorted(times)
    most = lo = 0
    for hi in range(len(s)):
        while s[hi] - s[lo] >= per:
            lo += 1
        most = max(most, hi - lo + 1)
    return most


def test_a_group_with_a_backlog_does_not_hold_another_group(make_host, fns):
    """1 000 deliveries of group A, then 10 of group B, one run per group and one at a time for the
    function: once A's first run ends, the groups take turns, so B's first run starts before A's
    20th (it was after all of A's, first come first served)."""
    fns.add_script("grouped", STARTS + HOLD.format(first="a0"), sidecar={"max_concurrency": 1, "concurrency": KEYED})
    host = make_host(extra_args=["--workers", "4"])
    ids = [f"a{i}" for i in range(1000)] + [f"b{i}" for i in range(10)]
    try:
        assert host.send(grouped("A"), type_="grouped", msg_id="a0").status == 202
        wait_until(lambda: started(fns, 1), 10, what="a0 to start")
        for msg_id in ids[1:]:
            assert host.send(grouped(msg_id[0].upper()), type_="grouped", msg_id=msg_id).status == 202
        # All wait in the host, none in a worker: A's for their group, B's for the function's slot.
        wait_until(lambda: waiting(host, "grouped", "key") == 999 and waiting(host, "grouped", "concurrency") == 10,
                   30, what="hookhost_waiting to count A's 999 and B's 10")
        assert [s[0] for s in starts(fns)] == ["a0"]
        unstarted = listed(host, state="received")
        assert len(unstarted) == 1009 and all(d["attempt"] == 0 for d in unstarted.values())
    finally:
        (fns.out / "release").touch()
    done = wait_until(lambda: started(fns, len(ids)), 180, what="every run")
    order = [s[0] for s in done]
    assert sorted(order) == sorted(ids), "each delivery runs once"
    assert order.index("b0") < order.index("a19"), order[:40]
    assert order[:4] == ["a0", "b0", "a1", "b1"], order[:10]  # the groups take turns
    assert [i for i in order if i[0] == "a"] == ids[:1000], "a group's own runs keep their order"
    assert all(attempt == 1 for _, attempt, _ in done)
    wait_until(lambda: waiting(host, "grouped", "key") == 0 and waiting(host, "grouped", "concurrency") == 0, 10,
               what="nothing waiting")


def test_starts_never_exceed_the_rate_in_any_window_and_spend_no_attempt(make_host, fns):
    """100 deliveries with `limit 10 per 1 s`: no more than 10 start in any second, each on its
    first attempt, none dead; while they wait, they hold no worker (another function's delivery
    runs at once) and have no start record (still `received`, attempt 0)."""
    fns.add_script("limited", STARTS, sidecar={"rate": {"limit": 10, "per": 1}})
    fns.add_script("other", STARTS)
    host = make_host(extra_args=["--workers", "2"])
    ids = [f"r{i}" for i in range(100)]
    for msg_id in ids:
        assert host.send(event_body("limited"), type_="limited", msg_id=msg_id).status == 202
    wait_until(lambda: (waiting(host, "limited", "rate") or 0) >= 50, 10, what="deliveries waiting for the rate")
    assert host.send(event_body("other"), type_="other", msg_id="o1").status == 202
    wait_until(lambda: any(s[0] == "o1" for s in starts(fns)), 10, what="the other function's run")
    held = {k: d for k, d in listed(host, state="received").items() if k.startswith("r")}
    assert len(held) >= 40 and all(d["attempt"] == 0 for d in held.values()), held
    done = wait_until(lambda: (lambda s: s if len(s) == len(ids) else None)([s for s in starts(fns) if s[0][0] == "r"]),
                      60, what="every limited run")
    assert sorted(s[0] for s in done) == sorted(ids), "each delivery runs once"
    assert most_in_any_window([t for _, _, t in done], 1.0) <= 10, " ".join(f"{i}:{t - done[0][2]:.4f}" for i, _, t in done)
    assert all(attempt == 1 for _, attempt, _ in done)
    wait_until(lambda: all(d["state"] == "done" for k, d in listed(host).items() if k.startswith("r")), 10, what="all done")
    assert not [k for k in listed(host, state="dead")]


def test_functions_shows_flow_control_and_a_bad_value_is_a_sidecar_error(fns):
    fns.add("grouped", sidecar={"max_concurrency": 8, "concurrency": {"key": "user_metadata.job_group", "limit": 2},
                                "rate": {"limit": 60, "per": 60}})
    fns.add("tenants", sidecar={"rate": {"limit": 5, "per": 0.5, "key": "user_metadata.tenant"}})
    fns.add("broken")
    (fns.dir / "broken.json").write_text('{"rate": {"limit": 10, "per": 1e999}}')
    fns.add("unknown")
    (fns.dir / "unknown.json").write_text('{"concurrency": {"key": "user_metadata.g", "limit": 2, "scope": "x"}}')
    p = run_cli("functions", "--functions", str(fns.dir))
    assert p.returncode == 0, p.stderr
    lines = {ln.split()[0]: ln for ln in p.stdout.decode().splitlines() if ln.startswith("  ")}
    assert "concurrency=2@user_metadata.job_group rate=60/60s" in lines["grouped"], lines["grouped"]
    assert "sidecar: max_concurrency,concurrency,rate" in lines["grouped"], lines["grouped"]
    assert "rate=5/0.5s@user_metadata.tenant" in lines["tenants"], lines["tenants"]
    assert "SIDECAR ERROR" in lines["broken"] and "sidecar rate.per: expected a number of seconds from 0.001 up to 86400, got 1e999" \
        in lines["broken"], lines["broken"]
    assert "SIDECAR ERROR" in lines["unknown"] and 'unknown key "scope"' in lines["unknown"], lines["unknown"]
    doc = json.loads(run_cli("functions", "--functions", str(fns.dir), "--json").stdout)
    by_name = {f["name"]: f for f in doc["functions"]}
    assert by_name["grouped"]["concurrency"] == {"key": "user_metadata.job_group", "limit": 2}
    assert by_name["grouped"]["rate"] == {"limit": 60, "per": 60, "key": None}
    assert by_name["tenants"]["rate"] == {"limit": 5, "per": 0.5, "key": "user_metadata.tenant"}
    assert by_name["tenants"]["concurrency"] is None
