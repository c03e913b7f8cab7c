"""Pipelines (issue 20): functions emit follow-up events through HOOKHOST_EMIT; the events are
stored in the same durable write as their parent's `done` and run like deliveries."""
import json
import os
import time

import pytest

from durability_lib import deliveries, deliveries_json, listed, show, wait_state
from hostlib import event_body, wait_until

NO_FETCH = {"fetch": False}


def emitter(lines: str, code: int = 0) -> str:
    """Handler text for fns.add(extra=...): writes `lines` to $HOOKHOST_EMIT, then exits `code`."""
    return f"cat > \"$HOOKHOST_EMIT\" <<'EOF'\n{lines}\nEOF\n"


def state_of(host, msg_id):
    return listed(host).get(msg_id, {}).get("state")


def test_children_are_stored_with_the_parents_done_and_run_with_their_chain(host, fns):
    meta = {"job_group": "nightly"}
    lines = "\n".join([
        json.dumps({"type": "app.step", "data": {"n": 1}}),
        "",  # blank lines are skipped but counted: ids follow line numbers
        json.dumps({"type": "app.step", "data": {"n": 3}, "user_metadata": {"job_group": "other"}}),
        json.dumps({"type": "app.step.done", "data": {"n": 4}, "user_metadata": None}),
    ])
    fns.add("batch.succeeded", extra=emitter(lines), sidecar=NO_FETCH)
    fns.add("app.step")
    fns.add("app")  # the family handler takes app.step.done
    r = host.send(event_body("batch.succeeded", {"id": "batches/p1", "user_metadata": meta}), msg_id="p1")
    assert r.status == 202
    first = fns.wait_run("p1~e1")
    third = fns.wait_run("p1~e3")
    fourth = fns.wait_run("p1~e4")
    assert not fns.ran("p1~e2")
    doc = first.stdin_json()
    assert doc["delivery"]["verified_by"] == "parent"
    assert doc["delivery"]["parent"] == "p1" and doc["delivery"]["root"] == "p1" and doc["delivery"]["depth"] == 1
    assert doc["type"] == "app.step"
    assert doc["event"] == {"type": "app.step", "data": {"n": 1}, "user_metadata": meta}  # inherited
    assert doc["user_metadata"] == meta
    assert first.env["HOOKHOST_EMIT"].endswith("/emit.jsonl")
    assert third.stdin_json()["user_metadata"] == {"job_group": "other"}
    assert fourth.stdin_json()["user_metadata"] is None and fourth.function == "app"
    wait_until(lambda: all(state_of(host, i) == "done" for i in ("p1", "p1~e1", "p1~e3", "p1~e4")), 10, what="chain done")
    ids = listed(host)
    assert sorted(i for i in ids if i.startswith("p1")) == ["p1", "p1~e1", "p1~e3", "p1~e4"]
    m = host.request("GET", "/metrics").body.decode()
    assert 'hookhost_emitted_total{type="app.step"} 2' in m and 'hookhost_emitted_total{type="app.step.done"} 1' in m


def test_a_failed_run_emits_nothing(host, fns):
    fns.add("ping", code=1, extra=emitter(json.dumps({"type": "app.x", "data": {}})))
    fns.add("app.x")
    host.send(event_body("ping"), msg_id="f1")
    fns.wait_run("f1")
    wait_until(lambda: state_of(host, "f1") == "retry_scheduled", 10, what="retry")
    assert "f1~e1" not in listed(host)
    assert not fns.ran("f1~e1")


@pytest.mark.parametrize("content, why", [
    ('{"type":"batch.succeeded","data":{}}', "line 1: type batch.succeeded is in the batch family"),
    ('{"type":"hookhost.dead","data":{}}', "line 1: type hookhost.dead is in the hookhost family"),
    ('{"type":"app.x","data":{}}\n{"type":"app.x",', "line 2: not JSON"),
    ('{"type":"app.x","dta":{}}', 'line 1: unknown key \\"dta\\"'),
    ('{"type":"app.x","data":[1]}', 'line 1: \\"data\\" must be an object'),
    ('{"type":"app/x"}', "line 1: type is not a plain dotted name"),
    ('[1]', "line 1: not a JSON object"),
])
def test_a_bad_line_fails_the_run_naming_it_and_nothing_is_emitted(make_host, fns, content, why):
    host = make_host(env={"HOOKHOST_MAX_ATTEMPTS": "1"})
    fns.add("ping", extra=emitter(content))
    fns.add("app.x")
    host.send(event_body("ping"), msg_id="b1")
    wait_until(lambda: state_of(host, "b1") == "dead", 10, what="dead")
    out = deliveries(host, "show", "b1").stdout.decode()
    assert why in out.replace('"', '\\"') or why.replace('\\"', '"') in out, out
    assert "nothing emitted" in out
    assert not [i for i in listed(host) if i.startswith("b1~")]


def test_emit_limits_count_and_depth(make_host, fns):
    host = make_host(env={"HOOKHOST_MAX_EMIT": "2", "HOOKHOST_MAX_DEPTH": "2", "HOOKHOST_MAX_ATTEMPTS": "1"})
    three = "\n".join(json.dumps({"type": "app.x", "data": {"i": i}}) for i in range(3))
    fns.add("ping", extra=emitter(three))
    # app.chain emits one more app.chain each time: depth 1 and 2 are allowed, the third generation is not
    fns.add("app.chain", extra=emitter(json.dumps({"type": "app.chain", "data": {}})))
    fns.add("app.x")
    host.send(event_body("ping"), msg_id="many")
    wait_until(lambda: state_of(host, "many") == "dead", 10, what="too many refused")
    assert "more than 2 events (HOOKHOST_MAX_EMIT)" in deliveries(host, "show", "many").stdout.decode()
    host.send(event_body("app.chain"), msg_id="c")
    wait_until(lambda: state_of(host, "c~e1~e1") == "dead", 10, what="third generation refused")
    assert state_of(host, "c") == "done" and state_of(host, "c~e1") == "done"
    assert "the chain would be 3 deep; HOOKHOST_MAX_DEPTH is 2" in deliveries(host, "show", "c~e1~e1").stdout.decode()
    assert "c~e1~e1~e1" not in listed(host)


def test_a_chain_eight_deep_and_the_ninth_refused(make_host, fns):
    host = make_host(env={"HOOKHOST_MAX_ATTEMPTS": "1"})
    fns.add("app.chain", extra=emitter(json.dumps({"type": "app.chain", "data": {}})))
    host.send(event_body("app.chain"), msg_id="d")
    deepest = "d" + "~e1" * 8
    wait_until(lambda: state_of(host, deepest) == "dead", 20, what="depth 8 refused to emit")
    assert all(state_of(host, "d" + "~e1" * k) == "done" for k in range(8))
    assert deepest + "~e1" not in listed(host)
    doc = fns.read_run(deepest).stdin_json()
    assert doc["delivery"]["depth"] == 8 and doc["delivery"]["root"] == "d" and doc["delivery"]["parent"] == "d" + "~e1" * 7


def test_a_replayed_parent_emits_the_same_ids_and_dedup_keeps_children_single(host, fns):
    fns.add("ping", extra=emitter(json.dumps({"type": "app.x", "data": {}})))
    fns.add("app.x")
    host.send(event_body("ping"), msg_id="r1")
    wait_until(lambda: state_of(host, "r1~e1") == "done", 10, what="child done")
    deliveries(host, "replay", "r1")
    fns.wait_run("r1", attempt=2)
    wait_until(lambda: state_of(host, "r1") == "done", 10, what="parent done again")
    time.sleep(0.5)
    assert [r for r in fns.runs() if r[0] == "r1~e1"] == [("r1~e1", 1, "app.x")]


def test_an_emit_file_that_is_a_symlink_is_refused(make_host, fns, tmp_path):
    secret = tmp_path / "host-secret.txt"
    secret.write_text('{"type":"app.x","data":{"stolen":true}}\n')
    host = make_host(env={"HOOKHOST_MAX_ATTEMPTS": "1"})
    fns.add("ping", extra=f'ln -s "{secret}" "$HOOKHOST_EMIT"')
    fns.add("app.x")
    host.send(event_body("ping"), msg_id="s1")
    wait_until(lambda: state_of(host, "s1") == "dead", 10, what="refused")
    assert "symbolic link" in deliveries(host, "show", "s1").stdout.decode()
    assert "s1~e1" not in listed(host)


def test_outside_deliveries_may_not_take_a_childs_id(host, fns):
    fns.add("ping")
    r = host.send(event_body("ping"), msg_id="x~e1")
    assert r.status == 400 and b"reserved for events emitted by functions" in r.body


def test_children_survive_a_restart_with_their_chain(host, fns):
    fns.add("ping", extra=emitter(json.dumps({"type": "app.x", "data": {"k": 1}})))
    fns.add("app.x", code=75)  # not ready: stays unfinished across the restart
    host.send(event_body("ping"), msg_id="k1")
    fns.wait_run("k1~e1")
    host.kill9()
    host.start()
    fns.wait_run("k1~e1", attempt=2)
    doc = fns.read_run("k1~e1", attempt=2).stdin_json()
    assert doc["delivery"]["parent"] == "k1" and doc["delivery"]["verified_by"] == "parent"
    assert doc["event"]["data"] == {"k": 1}


def test_chains_are_visible_in_show_and_list_root(host, fns):
    two = "\n".join(json.dumps({"type": "app.x", "data": {"i": i}}) for i in range(2))
    fns.add("ping", extra=emitter(two), sidecar=NO_FETCH)
    fns.add("app.x", extra=emitter(json.dumps({"type": "app.y", "data": {}})))
    fns.add("app.y")
    host.send(event_body("ping"), msg_id="v")
    host.send(event_body("ping"), msg_id="other")
    wait_until(lambda: state_of(host, "v~e2~e1") == "done", 10, what="chain done")
    doc = deliveries_json(host, "list", "--root", "v", "--json")["deliveries"]
    # depth first: each step followed by what it emitted (children in arrival order)
    assert [d["id"] for d in doc] in (["v", "v~e1", "v~e1~e1", "v~e2", "v~e2~e1"], ["v", "v~e2", "v~e2~e1", "v~e1", "v~e1~e1"])
    assert [d.get("depth", 0) for d in doc] == [0, 1, 2, 1, 2]
    assert all(d["state"] == "done" for d in doc)
    grandchild = next(d for d in doc if d["id"] == "v~e1~e1")
    assert grandchild["parent"] == "v~e1" and grandchild["root"] == "v"
    text = deliveries(host, "list", "--root", "v").stdout.decode()
    assert "\n    v~e1~e1 " in text and "5 deliveries" in text and "other" not in text
    s, _ = show(host, "v~e1")
    assert s["parent"] == "v" and [c["id"] for c in s["children"]] == ["v~e1~e1"]
    assert s["delivery"]["verified_by"] == "parent" and s["delivery"]["depth"] == 1
    s, _ = show(host, "v")
    assert s["parent"] is None and sorted(c["id"] for c in s["children"]) == ["v~e1", "v~e2"]
    t = deliveries(host, "show", "v").stdout.decode()
    assert "children (2 emitted by its runs)" in t and "v~e2" in t
    t = deliveries(host, "show", "v~e2~e1").stdout.decode()
    assert "parent" in t and "v~e2" in t and "root" in t
    # the same answers with the host stopped (read straight from the spool)
    host.stop()
    doc = deliveries_json(host, "list", "--root", "v", "--json")["deliveries"]
    assert sorted(d["id"] for d in doc) == ["v", "v~e1", "v~e1~e1", "v~e2", "v~e2~e1"]
    assert deliveries(host, "list", "--root", "", check=False).returncode == 2


def test_hookhost_run_routes_by_metadata_and_lists_what_would_be_emitted(fns, tmp_path):
    from hostlib import run_cli
    fns.add("batch.succeeded", extra=emitter(json.dumps({"type": "app.general", "data": {}})), sidecar=NO_FETCH)
    fns.add("nightly", extra=emitter(json.dumps({"type": "app.nightly", "data": {"k": 1}})),
            sidecar={"on": ["batch.succeeded"], "match": {"job_group": "nightly"}, "fetch": False})
    p = run_cli("run", "batch.succeeded", "--functions", str(fns.dir), "--id", "L1",
                "--data", json.dumps({"id": "batches/1", "user_metadata": {"job_group": "nightly"}}))
    out = p.stdout.decode()
    assert p.returncode == 0, out + p.stderr.decode()
    assert "function  nightly  (nightly: on batch.succeeded, matched job_group=nightly (1 key))" in out, out
    assert "emitted (1 event the host would store" in out and "L1~e1  app.nightly" in out, out
    bad = fns.add("ping", extra=emitter('{"type":"video.x"}'))
    p = run_cli("run", "ping", "--functions", str(fns.dir), "--data", "{}")
    assert p.returncode == 1 and "line 1: type video.x is in the video family" in p.stdout.decode(), p.stdout.decode()


def test_emitted_events_are_routed_by_their_user_metadata(host, fns):
    lines = "\n".join([json.dumps({"type": "app.step", "data": {}}),  # inherits job_group nightly
                       json.dumps({"type": "app.step", "data": {}, "user_metadata": {"job_group": "other"}})])
    fns.add("ping", extra=emitter(lines))
    fns.add("app.step")
    fns.add("nightly-step", sidecar={"on": ["app.step"], "match": {"job_group": "nightly"}})
    host.send(event_body("ping", {"user_metadata": {"job_group": "nightly"}}), msg_id="rt")
    assert fns.wait_run("rt~e1").function == "nightly-step"
    assert fns.wait_run("rt~e2").function == "app.step"
