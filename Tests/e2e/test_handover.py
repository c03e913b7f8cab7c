"""Drain with hand-over: a leaving replica hands its unfinished deliveries to a peer.

Two real hosts on loopback ports sharing HOOKHOST_PEER_SECRET (each with its own webhook secret:
a hand-over never uses one), real signed deliveries, real handler executables.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import time

from handoverlib import PEER_SECRET, deliveries, drain, functions, hosts, metric, pause, resume, send_many, show  # noqa: F401
from hostlib import Functions, hookhost_bin, http_request, new_id, wait_until


def test_mixed_unfinished_deliveries_move_with_their_attempts_and_history(tmp_path, hosts):
    # On the leaver: one function fails (retry backoff), one answers "later" (exit 75), one is
    # paused, one succeeds. On the peer all four succeed.
    leaver = hosts("leaver", functions(tmp_path / "fa", failing=1, later=75, held=0, fine=0),
                   extra=["--retry-base", "3600", "--retry-cap", "3600"])
    peer = hosts("peer", functions(tmp_path / "fb", failing=0, later=0, held=0, fine=0), start=False)
    for h in (leaver, peer):
        pause(h, "held")
    peer.start(env={"HOOKHOST_PEER_SECRET": PEER_SECRET})
    ids = {kind: [leaver.send(type_=kind).msg_id for _ in range(2)] for kind in ("failing", "later", "held", "fine")}
    for kind in ("failing", "later", "fine"):
        for i in ids[kind]:
            leaver.functions.wait_run(i)
    wait_until(lambda: all(deliveries(leaver)[i]["state"] == "done" for i in ids["fine"]), 10, what="fine runs done")
    before = deliveries(leaver)
    moving = ids["failing"] + ids["later"] + ids["held"]
    assert {before[i]["state"] for i in ids["failing"] + ids["later"]} == {"retry_scheduled"}
    assert {before[i]["state"] for i in ids["held"]} == {"received"}

    r = drain(leaver, "--handover", f"http://127.0.0.1:{peer.port}", "--wait", "5")
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr)
    assert "handed over 6" in out and "0 unfinished left here" in out

    after = deliveries(leaver)
    assert {after[i]["state"] for i in moving} == {"handed_over"}
    assert {after[i]["state"] for i in ids["fine"]} == {"done"}
    assert http_request(leaver.port, "GET", "/readyz").status == 503
    refused = leaver.send(type_="fine")
    assert refused.status == 503 and refused.headers.get("retry-after")

    got = deliveries(peer)
    assert set(got) == set(moving), "exactly the unfinished ones moved"
    for i in moving:
        s = show(peer, i)
        d = s["delivery"]
        # Same arrival, verification, attempts spent and retry time as on the leaver.
        assert (d["verified_by"], d["attempt"], d["received_at"]) == ("hmac", before[i]["attempt"], before[i]["received_at"])
        if i not in ids["held"]:
            assert d["next_at"] == before[i]["next_at"] is not None
        history = s["attempts"]
        assert history[-1]["error"].startswith(f"handed over from ") and history[-1]["state"] == "retry_scheduled"
        if i in ids["held"]:
            assert len(history) == 1
        else:
            assert len(history) == 2 and history[0]["attempt"] == 1
            assert history[0]["exit_code"] == (1 if i in ids["failing"] else 75)
    # The peer runs them: those paused there too once resumed; the others when their retry is
    # due (full jitter up to an hour here, so a retry never races the test's looks).
    assert not any(peer.functions.ran(i) for i in ids["held"])
    resume(peer, "held")
    for i in ids["held"]:
        assert peer.functions.wait_run(i, 1).function == "held"
    wait_until(lambda: all(deliveries(peer)[i]["state"] == "done" for i in ids["held"]), 20, what="peer runs done")
    assert not any(leaver.functions.ran(i, 2) for i in moving), "the leaver never ran them again"
    assert metric(peer, "hookhost_handover_total", direction="received", outcome="accepted") == 6
    assert metric(leaver, "hookhost_handover_total", direction="sent", outcome="accepted") == 6
    # Handed over is final here: not replayed (the peer runs it), but purged like done.
    r = leaver.cli("deliveries", "replay", "--data", str(leaver.data), "--", moving[0])
    assert r.returncode == 1 and "handed over" in r.stderr.decode(), r.stderr
    r = leaver.cli("deliveries", "purge", "--state", "handed_over", "--data", str(leaver.data))
    assert r.returncode == 0 and "6" in r.stdout.decode(), (r.stdout, r.stderr)
    assert set(deliveries(leaver)) == set(ids["fine"])


def test_ten_thousand_with_the_leaver_killed_half_way_arrive_exactly_once(tmp_path, hosts):
    n = 10_000
    leaver = hosts("leaver", functions(tmp_path / "fa", bulk=0), start=False)
    peer = hosts("peer", functions(tmp_path / "fb", bulk=0), start=False)
    for h in (leaver, peer):  # paused: they stay unfinished on both sides
        pause(h, "bulk")
        h.start(env={"HOOKHOST_PEER_SECRET": PEER_SECRET})
    ids = [new_id("bulk") for _ in range(n)]
    send_many(leaver, ids, "bulk")
    assert len(deliveries(leaver)) == n

    started = time.monotonic()
    proc = subprocess.Popen([str(hookhost_bin()), "drain", "--data", str(leaver.data), "--handover", f"http://127.0.0.1:{peer.port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    received = lambda: metric(peer, "hookhost_handover_total", direction="received", outcome="accepted")  # noqa: E731
    wait_until(lambda: received() >= n // 2, 120, interval=0.02, what="half handed over")
    leaver.kill9()
    first_rate = received() / (time.monotonic() - started)
    proc.communicate(timeout=30)
    on_peer_after_kill = len(deliveries(peer))

    leaver.start(env={"HOOKHOST_PEER_SECRET": PEER_SECRET})
    states = [d["state"] for d in deliveries(leaver).values()]
    marked = states.count("handed_over")
    assert len(states) == n and marked + states.count("received") == n, "nothing lost by the kill"
    assert marked <= on_peer_after_kill < n

    r = drain(leaver, "--handover", f"http://127.0.0.1:{peer.port}")
    assert r.returncode == 0, (r.stdout, r.stderr)
    on_peer = deliveries(peer)
    assert sorted(on_peer) == sorted(ids), "every id arrived, each once"
    assert {d["state"] for d in on_peer.values()} == {"retry_scheduled"}  # waiting for the paused function
    assert {d["state"] for d in deliveries(leaver).values()} == {"handed_over"}
    # What the peer stored but the leaver had not marked when it was killed came again: refused
    # as duplicates, then marked.
    duplicates = metric(peer, "hookhost_handover_total", direction="received", outcome="duplicate")
    assert duplicates == on_peer_after_kill - marked
    assert metric(peer, "hookhost_handover_total", direction="received", outcome="accepted") == n
    print(f"\nhand-over rate before the kill: {first_rate:.0f} deliveries/s; "
          f"{on_peer_after_kill - marked} in flight at the kill, refused as duplicates after the restart")


GATE = 'i=0; while [ ! -e "$OUT/release" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done'


def test_runs_under_way_finish_here_and_what_was_not_started_in_time_is_handed_over(tmp_path, hosts):
    # Two workers, three deliveries of a function that waits for a file: two run, one is due.
    fa = Functions(tmp_path / "fa")
    fa.add("gate", extra=GATE)
    leaver = hosts("leaver", fa)
    peer = hosts("peer", functions(tmp_path / "fb", gate=0))
    ids = [leaver.send(type_="gate").msg_id for _ in range(3)]
    wait_until(lambda: sorted(d["state"] for d in deliveries(leaver).values()) == ["received", "running", "running"], 10,
               what="two running, one due")
    r = drain(leaver, "--handover", f"http://127.0.0.1:{peer.port}", "--wait", "1")
    text = r.stdout.decode()
    assert r.returncode == 1 and "the wait ran out with 2 still running" in text, (text, r.stderr)
    due = next(i for i, d in deliveries(leaver).items() if d["state"] == "handed_over")
    assert list(deliveries(peer)) == [due]
    (fa.out / "release").touch()
    wait_until(lambda: sorted(d["state"] for d in deliveries(leaver).values()) == ["done", "done", "handed_over"], 30,
               what="the runs under way to finish here")
    peer.functions.wait_run(due)
    assert not fa.ran(due), "the handed-over one never ran here"
    r = drain(leaver, "--handover", f"http://127.0.0.1:{peer.port}")
    assert r.returncode == 0 and "handed over 0" in r.stdout.decode(), r.stdout


def test_due_deliveries_finish_here_within_the_wait(tmp_path, hosts):
    fa = Functions(tmp_path / "fa")
    fa.add("gate", extra=GATE)
    leaver = hosts("leaver", fa)
    peer = hosts("peer", functions(tmp_path / "fb", gate=0))
    ids = [leaver.send(type_="gate").msg_id for _ in range(3)]
    wait_until(lambda: sorted(d["state"] for d in deliveries(leaver).values()) == ["received", "running", "running"], 10,
               what="two running, one due")
    proc = subprocess.Popen([str(hookhost_bin()), "drain", "--data", str(leaver.data), "--handover", f"http://127.0.0.1:{peer.port}",
                             "--wait", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"PATH": os.environ.get("PATH", "")})
    wait_until(lambda: http_request(leaver.port, "GET", "/readyz").status == 503, 10, what="draining")
    (fa.out / "release").touch()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, (out, err)
    assert "handed over 0" in out.decode() and "0 unfinished left here" in out.decode()
    assert {d["state"] for d in deliveries(leaver).values()} == {"done"}
    assert all(fa.ran(i) for i in ids) and deliveries(peer) == {}


def test_a_wrong_or_missing_peer_secret_is_refused_and_nothing_is_removed(tmp_path, hosts):
    leaver = hosts("leaver", functions(tmp_path / "fa", held=0))
    other = hosts("other", functions(tmp_path / "fb", held=0),
                  env={"HOOKHOST_PEER_SECRET": "whsec_" + base64.b64encode(os.urandom(32)).decode()})
    off = hosts("off", functions(tmp_path / "fc", held=0), env={"HOOKHOST_PEER_SECRET": ""})
    pause(leaver, "held")
    ids = [leaver.send(type_="held").msg_id for _ in range(3)]

    r = drain(leaver, "--handover", f"http://127.0.0.1:{other.port}")
    text = r.stdout.decode() + r.stderr.decode()
    assert r.returncode == 1, text
    assert "401" in text and "HOOKHOST_PEER_SECRET" in text
    assert {deliveries(leaver)[i]["state"] for i in ids} == {"received"}, "nothing removed"
    assert deliveries(other) == {}
    assert "hand-over refused" in other.log_text() and PEER_SECRET not in other.log_text()

    # A peer without a secret has no hand-over endpoint; a request without a signature is 401.
    assert http_request(off.port, "POST", "/hookhost/handover", b"{}").status == 404
    unsigned = http_request(other.port, "POST", "/hookhost/handover", b"{}", {"webhook-id": "x"})
    assert unsigned.status == 401 and "hookhost-peer-timestamp" in unsigned.body.decode()
    # Signed with the right secret but malformed: 400 naming what.
    body = (b'{"v":1,"id":"x","type":"held","body":"","received_at":1e999,"verified_by":"hmac","state":"received",'
            b'"attempt":0,"attempt_base":0,"head":{},"from":{"name":"a","address":""}}')
    ts = str(int(time.time()))
    key = base64.b64decode(PEER_SECRET[len("whsec_"):])
    sig = base64.b64encode(hmac.new(key, b"x." + ts.encode() + b"." + body, hashlib.sha256).digest()).decode()
    bad = http_request(leaver.port, "POST", "/hookhost/handover", body,
                       {"webhook-id": "x", "hookhost-peer-timestamp": ts, "hookhost-peer-signature": "v1," + sig})
    # The leaver is draining (503) — ask a peer that is not.
    assert bad.status == 503
    peer = hosts("peer", functions(tmp_path / "fd", held=0))
    bad = http_request(peer.port, "POST", "/hookhost/handover", body,
                       {"webhook-id": "x", "hookhost-peer-timestamp": ts, "hookhost-peer-signature": "v1," + sig})
    assert bad.status == 400 and "received_at must be seconds" in bad.body.decode(), bad.body

    # Without a peer secret of its own, a replica refuses to start a hand-over.
    r = drain(off, "--handover", f"http://127.0.0.1:{peer.port}")
    assert r.returncode == 1 and "HOOKHOST_PEER_SECRET is not set" in r.stderr.decode()
    # The second drain of the leaver, to the right peer, hands everything over.
    r = drain(leaver, "--handover", f"http://127.0.0.1:{peer.port}")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert sorted(deliveries(peer)) == sorted(ids)


def test_sigterm_with_handover_set_hands_over_within_the_grace(tmp_path, hosts):
    peer = hosts("peer", functions(tmp_path / "fb", held=0))
    leaver = hosts("leaver", functions(tmp_path / "fa", held=0), start=False)
    pause(leaver, "held")
    leaver.start(["--shutdown-grace", "20"], {"HOOKHOST_PEER_SECRET": PEER_SECRET,
                                              "HOOKHOST_HANDOVER": f"http://127.0.0.1:{peer.port}/hookhost/handover"})
    ids = [leaver.send(type_="held").msg_id for _ in range(5)]
    assert leaver.stop(signal.SIGTERM, timeout=20) == 0
    assert "drain: ended" in leaver.log_text()
    states = {i: d["state"] for i, d in deliveries(leaver).items()}
    assert states == {i: "handed_over" for i in ids}
    for i in ids:  # not paused on the peer: it runs them
        peer.functions.wait_run(i)


def test_handover_setting_needs_the_peer_secret(tmp_path, hosts):
    h = hosts("h", functions(tmp_path / "f", held=0), start=False)
    r = subprocess.run([str(hookhost_bin()), "serve", *h.default_args()], capture_output=True, timeout=30,
                       env={**h.base_env(), "HOOKHOST_HANDOVER": "http://127.0.0.1:9"})
    assert r.returncode == 2 and b"HOOKHOST_HANDOVER" in r.stderr and b"HOOKHOST_PEER_SECRET" in r.stderr
    r = subprocess.run([str(hookhost_bin()), "serve", *h.default_args()], capture_output=True, timeout=30,
                       env={**h.base_env(), "HOOKHOST_PEER_SECRET": "too-short"})
    assert r.returncode == 2 and b"at least 32" in r.stderr and b"too-short" not in r.stderr
