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
    meta = {"job_group": "nightly", "blob": "x" * 8000}
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
