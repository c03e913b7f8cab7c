"""Concurrency limits: HOOKHOST_WORKERS bounds functions running at once; a sidecar's
max_concurrency bounds one function without starving the others."""
from __future__ import annotations

import time

import pytest

from hostlib import wait_until

# Appends "start <name> <id> <t>" / "end <name> <id> <t>" (one small O_APPEND write each).
SPAN = """#!/bin/sh
echo "start {name} $HOOKHOST_DELIVERY_ID $(date +%s.%N)" >> "$OUT/spans.log"
sleep {secs}
echo "end {name} $HOOKHOST_DELIVERY_ID $(date +%s.%N)" >> "$OUT/spans.log"
"""


def spans(fns) -> dict[str, tuple[str, float, float]]:
    p = fns.out / "spans.log"
    if not p.exists():
        return {}
    starts, out = {}, {}
    for ln in p.read_text().splitlines():
        kind, name, msg_id, t = ln.split(" ")
        if kind == "start":
            starts[msg_id] = (name, float(t))
        elif msg_id in starts:
            out[msg_id] = (starts[msg_id][0], starts[msg_id][1], float(t))
    return out


def all_spans(fns, n: int):
    s = spans(fns)
    return s if len(s) == n else None


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    cur = best = 0
    for _, d in events:
        cur += d
        best = max(best, cur)
    return best


def test_workers_bound_functions_running_at_once(make_host, fns):
    fns.add_script("slow", SPAN.format(name="slow", secs="0.6"))
    host = make_host(extra_args=["--workers", "2"])
    ids = [f"w{i}" for i in range(5)]
    for i in ids:
        assert host.send(type_="slow", msg_id=i).status == 202
    done = wait_until(lambda: all_spans(fns, len(ids)), 30, what="all runs")
    assert max_overlap([(s, e) for _, s, e in done.values()]) == 2


def test_sidecar_max_concurrency_limits_one_function_not_the_others(make_host, fns):
    fns.add_script("limited", SPAN.format(name="limited", secs="0.5"), sidecar={"max_concurrency": 1})
    fns.add_script("free", SPAN.format(name="free", secs="0.5"))
    host = make_host(extra_args=["--workers", "3"])
    limited = [f"l{i}" for i in range(4)]
    free = [f"f{i}" for i in range(2)]
    for i in limited:
        assert host.send(type_="limited", msg_id=i).status == 202
    for i in free:
        assert host.send(type_="free", msg_id=i).status == 202
    done = wait_until(lambda: all_spans(fns, 6), 30, what="all runs")
    lim = [(s, e) for name, s, e in done.values() if name == "limited"]
    fr = [(s, e) for name, s, e in done.values() if name == "free"]
    assert max_overlap(lim) == 1, lim
    # The free function was not queued behind the four limited runs (~2 s of them).
    last_limited_end = max(e for _, e in lim)
    assert all(e < last_limited_end for _, e in fr), (fr, lim)
    assert max_overlap(lim + fr) <= 3


# The first delivery (h0) runs until the test creates $OUT/release (at most a minute); the
# others end at once.
HELD = """#!/bin/sh
cat >/dev/null
echo "start $HOOKHOST_DELIVERY_ID" >> "$OUT/held.log"
if [ "$HOOKHOST_DELIVERY_ID" = h0 ]; then
  i=0
  while [ ! -e "$OUT/release" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
fi
echo "end $HOOKHOST_DELIVERY_ID" >> "$OUT/held.log"
"""


@pytest.mark.parametrize("change", ["raise", "remove"])
def test_waiting_deliveries_follow_a_raised_limit_or_a_removed_function_while_a_run_holds_the_slot(make_host, fns, change):
    """Deliveries waiting for a `max_concurrency` slot waited for the running delivery of that
    function to end, whatever happened meanwhile: a sidecar raising the limit, or the function
    removed (its deliveries then belong to `_default`), took effect for them only when the
    running one ended — with a long run, minutes or hours later."""
    fns.add_script("held", HELD, sidecar={"max_concurrency": 1})
    fns.add("_default")
    host = make_host(extra_args=["--workers", "4"])
    log = fns.out / "held.log"
    try:
        assert host.send(type_="held", msg_id="h0").status == 202
        wait_until(lambda: log.exists() and "start h0" in log.read_text(), 10, what="h0 to start")
        waiting = ["h1", "h2", "h3"]
        for i in waiting:
            assert host.send(type_="held", msg_id=i).status == 202
        time.sleep(1)  # taken by the idle workers, which find the only slot held by h0
        assert "start h1" not in log.read_text()
        if change == "raise":
            fns.add_script("held", HELD, sidecar={"max_concurrency": 4})
            wait_until(lambda: all(f"end {i}" in log.read_text() for i in waiting), 15, what="the waiting deliveries to run")
        else:
            (fns.dir / "held").unlink()
            (fns.dir / "held.json").unlink()
            wait_until(lambda: all(fns.ran(i) for i in waiting), 15, what="the waiting deliveries to run as _default")
        assert "end h0" not in log.read_text()  # all while h0 still held its slot
    finally:
        (fns.out / "release").touch()
