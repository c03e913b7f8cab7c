"""Failure events (issue 21): a dead letter emits one `hookhost.dead` event, committed with the dead
state, routed like any event but never to _default; a dying hookhost.dead emits nothing."""
import json
import time

from durability_lib import deliveries, listed
from hostlib import event_body, wait_until


def state_of(host, msg_id):
    return listed(host).get(msg_id, {}).get("state")


def test_a_dead_letter_emits_one_hookhost_dead_event(make_host, fns):
    host = make_host(env={"HOOKHOST_MAX_ATTEMPTS": "2", "HOOKHOST_RETRY_BASE": "0.05"})
    fns.add("ping", code=1, extra='echo "boom" >&2')
    fns.add("hookhost.dead")
    body = event_body("ping", {"user_metadata": {"job_group": "g1"}})
    host.send(body, msg_id="x1")
    run = fns.wait_run("x1~d2", timeout=15)
    doc = run.stdin_json()
    assert doc["type"] == "hookhost.dead" and doc["delivery"]["verified_by"] == "host"
    assert doc["delivery"]["parent"] == "x1" and doc["delivery"]["depth"] == 1
    data = doc["event"]["data"]
    assert data["id"] == "x1" and data["type"] == "ping" and data["function"] == "ping" and data["attempts"] == 2
    assert "exited with status 1" in data["reason"] and data["user_metadata"] == {"job_group": "g1"}
    assert doc["user_metadata"] == {"job_group": "g1"}
    wait_until(lambda: state_of(host, "x1~d2") == "done", 10, what="event done")
    assert [r for r in fns.runs() if r[2] == "hookhost.dead"] == [("x1~d2", 1, "hookhost.dead")]
    # replayed and dead again: a new death, a new event
    deliveries(host, "replay", "x1")
    fns.wait_run("x1~d4", timeout=15)


def test_off_without_a_taker_and_never_to_default(host, fns):
    fns.add("ping", code=65)  # dead at once
    fns.add("_default")
    host.send(event_body("ping"), msg_id="y1")
    wait_until(lambda: state_of(host, "y1") == "dead", 10, what="dead")
    time.sleep(0.3)
    assert not [i for i in listed(host) if i.startswith("y1~")]
    # a family function takes it
    fns.add("hookhost")
    host.send(event_body("ping"), msg_id="y2")
    fns.wait_run("y2~d1")
    # a route takes it, by the dead delivery's job_group
    fns.add("alerts", sidecar={"on": ["hookhost.dead"], "match": {"job_group": "paging"}})
    host.send(event_body("ping", {"user_metadata": {"job_group": "paging"}}), msg_id="y3")
    r = fns.wait_run("y3~d1")
    assert r.function == "alerts"


def test_a_dying_hookhost_dead_emits_nothing(make_host, fns):
    host = make_host(env={"HOOKHOST_MAX_ATTEMPTS": "1"})
    fns.add("ping", code=65)
    fns.add("hookhost.dead", code=1)
    host.send(event_body("ping"), msg_id="z1")
    wait_until(lambda: state_of(host, "z1~d1") == "dead", 10, what="the event died")
    time.sleep(0.3)
    assert sorted(i for i in listed(host) if i.startswith("z1")) == ["z1", "z1~d1"]


def test_outside_deliveries_may_not_be_host_events(host, fns):
    fns.add("hookhost.dead")
    r = host.send(event_body("hookhost.dead", {"id": "forged"}))
    assert r.status == 400 and b"host's own" in r.body
    r = host.send(event_body("ping"), msg_id="a~d1")
    assert r.status == 400


def test_exactly_one_event_across_a_kill_at_the_moment_of_dying(make_host, fns):
    """kill -9 while deliveries are dying (bounded rounds): after restart and drain, each dead
    delivery has exactly one event, each event exactly one run, every event's parent is dead."""
    host = make_host(env={"HOOKHOST_MAX_ATTEMPTS": "1"})
    fns.add("ping", code=65)
    fns.add("hookhost.dead")
    sent = []
    for round_ in range(6):
        for i in range(30):
            mid = f"k{round_}_{i}"
            host.send(event_body("ping"), msg_id=mid)
            sent.append(mid)
        time.sleep(0.02 * round_)
        host.kill9()
        host.start()
    wait_until(lambda: all(state_of(host, m) == "dead" for m in sent), 30, what="all dead")
    events = {}
    wait_until(lambda: all(listed(host).get(i, {}).get("state") == "done"
                           for i in [k for k in listed(host) if "~d" in k]), 30, what="events done")
    ids = listed(host)
    for m in sent:
        mine = [k for k in ids if k.startswith(m + "~d")]
        assert len(mine) == 1, (m, mine)
        events[m] = mine[0]
    runs = [r for r in fns.runs() if r[2] == "hookhost.dead"]
    by_id = {}
    for r in runs:
        by_id.setdefault(r[0], []).append(r[1])
    for m, e in events.items():
        assert by_id.get(e), (m, e, "never ran")
        assert len(by_id[e]) == len(set(by_id[e])), (e, by_id[e])  # one run per attempt
        # a run the kill cut short before it logged still counts as an attempt: runs ≤ attempts
        assert ids[e]["state"] == "done" and len(by_id[e]) <= ids[e]["attempt"]
