"""Hand-over of the largest delivery a host takes: the envelope (its body in base64, its history) is
larger than HOOKHOST_MAX_BODY, so `/hookhost/handover` has its own limit; a peer with a smaller
HOOKHOST_MAX_BODY refuses it (413) and it stays on the leaver.

Real hosts on loopback sharing HOOKHOST_PEER_SECRET, real signed deliveries, real handlers.
"""
from __future__ import annotations

import json

from handoverlib import deliveries, drain, functions, hosts, pause  # noqa: F401
from hostlib import event_body, new_id

MAX_BODY = 1 << 20


def body_of_exactly(size: int, msg_id: str) -> bytes:
    bare = event_body("held", {"id": msg_id, "pad": ""})
    body = event_body("held", {"id": msg_id, "pad": "x" * (size - len(bare))})
    assert len(body) == size
    return body


def test_a_delivery_of_exactly_max_body_bytes_is_handed_over(tmp_path, hosts):
    limit = ["--max-body", str(MAX_BODY)]
    leaver = hosts("leaver", functions(tmp_path / "fa", held=0), extra=limit)
    small = hosts("small", functions(tmp_path / "fs", held=0), extra=["--max-body", str(MAX_BODY - 1)])
    peer = hosts("peer", functions(tmp_path / "fb", held=0), extra=limit)
    pause(leaver, "held")
    msg_id = new_id()
    body = body_of_exactly(MAX_BODY, msg_id)
    assert leaver.send(body, type_="held", msg_id=msg_id).status == 202

    # A peer that would not take this delivery from a sender does not take it handed over either.
    r = drain(leaver, "--handover", f"http://127.0.0.1:{small.port}", "--wait", "0")
    text = r.stdout.decode() + r.stderr.decode()
    assert r.returncode == 1, text
    assert "413" in text, text
    assert deliveries(leaver)[msg_id]["state"] == "received" and deliveries(small) == {}
    assert "exceeds this host's HOOKHOST_MAX_BODY" in small.log_text()

    r = drain(leaver, "--handover", f"http://127.0.0.1:{peer.port}", "--wait", "0")
    assert r.returncode == 0, (r.stdout.decode(), r.stderr.decode())
    assert deliveries(leaver)[msg_id]["state"] == "handed_over"
    run = peer.functions.wait_run(msg_id, timeout=20)
    assert run.stdin_json()["event"] == json.loads(body)
