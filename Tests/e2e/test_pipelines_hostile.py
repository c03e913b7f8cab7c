"""Pipelines (issue 20) attacked as an attacker and an unlucky operator would: emit files that are
not what they seem, lines built to confuse, fan-outs too large for one record, ids that look alike,
chain queries for what is not a pipeline, and kills around the record that commits a parent's
children. Each test drives the real binary; every wait is bounded."""
import json
import os
import random
import struct
import subprocess

import pytest

from durability_lib import deliveries, deliveries_json, listed, show
from hostlib import control_request, event_body, post_utf8, raw_request, run_cli, wait_until

NO_FETCH = {"fetch": False}


def emitter(lines: str) -> str:
    """Handler text for fns.add(extra=...): writes `lines` to $HOOKHOST_EMIT."""
    return f"cat > \"$HOOKHOST_EMIT\" <<'EOF'\n{lines}\nEOF\n"


def state_of(host, msg_id):
    return listed(host).get(msg_id, {}).get("state")


def children_of(host, parent):
    return sorted(i for i in listed(host) if i.startswith(parent + "~e"))


# ---------------------------------------------------------------------------------------------
# Defects found (each failed before its fix)

def test_events_too_large_for_one_spool_record_fail_the_run_and_survive_a_restart(make_host, fns):
    """10 000 children inheriting a few KiB of user_metadata need more than one spool frame
    (64 MiB) holds. That record used to be written anyway: the children ran, the parent was
    done — and at the next start the frame was read as damage: every child gone, the parent run
    again. Now the run fails naming the line past the budget, and nothing is emitted."""
    host = make_host(env={"HOOKHOST_MAX_ATTEMPTS": "1"})
    meta = {"job_group": "nightly", "blob": "x" * 16000}
    loop = 'i=0; while [ $i -lt 5000 ]; do echo \'{"type":"app.x"}\'; i=$((i+1)); done > "$HOOKHOST_EMIT"'
    fns.add("ping", extra=loop, sidecar=NO_FETCH)
    fns.add("app.x")
    assert host.send(event_body("ping", {"id": "x", "user_metadata": meta}), msg_id="big").status == 202
    wait_until(lambda: state_of(host, "big") in ("done", "dead"), 120, what="parent finished")
    s, _ = show(host, "big")
    assert s["delivery"]["state"] == "dead", s["delivery"]
    assert "MiB in the spool" in s["delivery"]["error"] and "nothing emitted" in s["delivery"]["error"]
    assert children_of(host, "big") == []
    host.kill9()
    host.start()
    s, _ = show(host, "big")
    assert s["delivery"]["state"] == "dead" and s["delivery"]["attempt"] == 1  # not run again
    assert "spool: skipped damaged or torn bytes" not in host.log_text()


def test_a_delivery_whose_user_metadata_is_most_of_a_32_mib_body_survives_a_restart(make_host, fns):
    """The head stored user_metadata a second time (base64, so 4/3 of it) next to the body: with
    HOOKHOST_MAX_BODY at its 32 MiB maximum, a body that is mostly user_metadata made a record
    over the 64 MiB a spool frame holds. It was answered 202, and at the next start read as
    damage: an acknowledged delivery lost. The head now says where the user_metadata lies."""
    host = make_host(env={"HOOKHOST_MAX_BODY": str(32 << 20)})
    fns.add("ping", code=75, sidecar=NO_FETCH)  # not ready: stays unfinished across the restart
    meta = {"job_group": "nightly", "blob": "y" * (28 << 20)}
    assert host.send(event_body("ping", {"id": "x", "user_metadata": meta}), msg_id="huge", timeout=120).status == 202
    fns.wait_run("huge", timeout=60)
    host.kill9()
    host.start()
    assert "spool: skipped damaged or torn bytes" not in host.log_text()
    run = fns.wait_run("huge", attempt=2, timeout=60)
    assert run.stdin_json()["user_metadata"] == meta


LONG_LINE = '{"type":"app.a","data":{"k":"' + "x" * (1 << 20) + '"}}'


@pytest.mark.parametrize("line, why", [
    ('{"type":"app.a","type":"app.b"}', 'key "type" appears twice'),
    ('{"type":"app.a","user_metadata":{"job_group":"a","job_group":"b"}}', 'user_metadata holds the key "job_group" twice'),
    (LONG_LINE, f"the line is {len(LONG_LINE)} bytes; an event may have at most 1048576"),
], ids=["type-twice", "metadata-key-twice", "overlong-line"])
def test_a_key_twice_or_an_overlong_line_is_refused_naming_it(make_host, fns, line, why):
    """Which `type` of two wins was the last one, silently; routes read the first of two
    user_metadata keys, most JSON readers the last. Both are refused now. A line longer than an
    event may be is refused before it is parsed (a 32 MiB line used to be a ~1 GB tree first)."""
    host = make_host(env={"HOOKHOST_MAX_ATTEMPTS": "1"})
    fns.add("ping", extra=emitter(line), sidecar=NO_FETCH)
    fns.add("app.a")
    fns.add("app.b")
    host.send(event_body("ping"), msg_id="k")
    wait_until(lambda: state_of(host, "k") in ("dead", "done"), 20, what="parent finished")
    s, _ = show(host, "k")
    assert s["delivery"]["state"] == "dead" and why in s["delivery"]["error"], s["delivery"]
    assert children_of(host, "k") == []


def test_list_root_of_an_emitted_event_shows_the_steps_below_it_and_an_unknown_id_is_an_error(host, fns):
    """`--root` of an emitted event showed that event alone, hiding what it emitted; an id that
    names nothing printed "0 deliveries" and exit 0, like a pipeline that happens to be empty."""
    fns.add("ping", extra=emitter("\n".join(json.dumps({"type": "app.x", "data": {"i": i}}) for i in range(2))), sidecar=NO_FETCH)
    fns.add("app.x", extra=emitter(json.dumps({"type": "app.y"})))
    fns.add("app.y")
    host.send(event_body("ping"), msg_id="t")
    wait_until(lambda: all(state_of(host, i) == "done" for i in ("t~e1~e1", "t~e2~e1")), 20, what="pipeline done")
    doc = deliveries_json(host, "list", "--root", "t~e1", "--json")["deliveries"]
    assert [d["id"] for d in doc] == ["t~e1", "t~e1~e1"]
    text = deliveries(host, "list", "--root", "t~e1").stdout.decode()
    assert "t~e1~e1" in text and "t~e2" not in text and "2 deliveries" in text
    p = deliveries(host, "list", "--root", "nope", check=False)
    assert p.returncode == 1 and "no delivery nope" in p.stderr.decode(), (p.stdout, p.stderr)
    raw = control_request(host, raw_request("GET", "/deliveries?root=nope"))
    assert raw.startswith(b"HTTP/1.1 404"), raw[:200]
    # the same answers from the spool itself, with the host stopped
    host.stop()
    assert [d["id"] for d in deliveries_json(host, "list", "--root", "t~e1", "--json")["deliveries"]] == ["t~e1", "t~e1~e1"]
    assert deliveries(host, "list", "--root", "nope", check=False).returncode == 1


def test_pipelines_of_ids_that_differ_only_in_unicode_composition_stay_apart(host, fns):
    """Ids are bytes: `é` and `e` + U+0301 are two deliveries (the spool agrees), but the chain
    queries compared them as Swift strings, so each showed the other's children as its own."""
    fns.add("ping", extra=emitter(json.dumps({"type": "app.x"})), sidecar=NO_FETCH)
    fns.add("app.x")
    composed, decomposed = "\u00e9", "e\u0301"
    for i in (composed, decomposed):
        assert post_utf8(host, i, event_body("ping")).status == 202
    wait_until(lambda: state_of(host, composed + "~e1") == "done" and state_of(host, decomposed + "~e1") == "done", 20,
               what="both children done")
    doc = deliveries_json(host, "list", "--root", composed, "--json")["deliveries"]
    assert [d["id"].encode() for d in doc] == [composed.encode(), (composed + "~e1").encode()]
    s, _ = show(host, decomposed)
    assert [c["id"].encode() for c in s["children"]] == [(decomposed + "~e1").encode()]
