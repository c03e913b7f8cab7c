"""Durability promises (CONTRACT §3, §4, §6, §7; README "Deliveries: the spool…"): kill -9 under load
loses no acknowledged delivery, interrupted runs resume with attempt + 1, a full disk answers 503 and
recovers, dead letters and replay through the CLI (server running and stopped), retries survive a
restart, SIGTERM drains, finished deliveries are pruned while their ids stay remembered; plus the
documented on-disk recovery (torn tail, damaged record), racing copies of one id, and queue-full 503.

Functional checks only: every wait is bounded, no assertion is about how fast something happened.
"""
from __future__ import annotations

import json
import os
import random
import signal
import threading
import time

import pytest

from durability_lib import (APPEND_HANDLER, GATED, POLITE, SLEEPER, Load, Reaper, deliveries, deliveries_json, fill, gauge, listed,
                            lazyfs, read_pairs, send_quietly, show, tmpfs, wait_drained, wait_state)
from hostlib import RawConn, build_request, event_body, http_request, new_id, pid_alive, signed_headers, wait_until

SEED = int(os.environ.get("HOOKHOST_E2E_SEED", "0")) or random.SystemRandom().randrange(1, 2**31)


@pytest.fixture
def rng():
    print(f"durability RNG seed: {SEED} (re-run with HOOKHOST_E2E_SEED={SEED})")
    return random.Random(SEED)


@pytest.fixture
def reaper(fns):
    r = Reaper(fns.out)
    yield r
    r.reap()


def assert_not_run_again(host, fns, ran, type_="ping"):
    """Bounded negative check that nothing ran for ids re-sent as duplicates: a fresh sentinel
    delivery sent afterwards runs and the queue drains, and `ran()` still holds."""
    sentinel = new_id("sentinel")
    r = host.send(event_body(type_, {"id": sentinel}), type_=type_, msg_id=sentinel)
    assert r.status == 202, r
    wait_state(host, sentinel, "done", timeout=30)
    wait_drained(host, timeout=30)
    ran()


# =============================================================================================
# 1. kill -9 under concurrent load

CRASH_ROUNDS = 3


def test_kill9_under_load_loses_no_acknowledged_delivery(make_host, fns, rng):
    fns.add_script("crash", APPEND_HANDLER.format(log="crash.log"))
    host = make_host(extra_args=["--workers", "4"])
    log = fns.out / "crash.log"
    loads: list[Load] = []
    for rnd in range(CRASH_ROUNDS + 1):
        if rnd > 0:
            host.start(["--workers", "4"])
        load = Load(host, "crash", prefix=f"r{rnd}-{SEED}", threads=6).start()
        loads.append(load)
        if rnd < CRASH_ROUNDS:
            # kill at a random moment: after a random number of acknowledgements plus a random delay
            target = rng.randrange(300, 1200)
            delay = rng.uniform(0, 0.3)
            wait_until(lambda: load.accepted_count() >= target or not host.running, 90, interval=0.005,
                       what=f"{target} acknowledgements in round {rnd}")
            time.sleep(delay)
            assert host.running, f"hookhost died on its own under load:\n{host.log_tail()}"
            host.kill9()
            load.stop()
            print(f"round {rnd}: kill -9 after >= {target} acks + {delay:.3f}s: accepted {len(load.accepted)}, "
                  f"unknown {len(load.unknown)}, refused {len(load.refused)}, other {len(load.answered)}")
        else:
            wait_until(lambda: load.accepted_count() >= 500 or not host.running, 90, interval=0.01,
                       what="500 acknowledgements in the last round")
            load.stop()
        assert not load.answered, f"round {rnd}: fresh ids answered other than 202: {list(load.answered.items())[:5]}"

    accepted = [i for ld in loads for i in ld.accepted]
    unknown = [i for ld in loads for i in ld.unknown]
    assert len(accepted) >= 2000, len(accepted)

    final = wait_drained(host, timeout=180)
    ran = {i for i, _ in read_pairs(log)}
    missing_runs = [i for i in accepted if i not in ran]
    assert not missing_runs, f"{len(missing_runs)} acknowledged deliveries never reached the handler: {missing_runs[:10]}"
    missing_listed = [i for i in accepted if i not in final]
    assert not missing_listed, f"{len(missing_listed)} acknowledged deliveries are not in the spool: {missing_listed[:10]}"
    done = listed(host, state="done")
    not_done = [(i, final[i]["state"]) for i in accepted if i not in done]
    assert not not_done, f"acknowledged deliveries not done: {not_done[:10]}"
    # whatever the spool holds (an unanswered id may or may not be in it) has finished cleanly
    assert all(d["state"] == "done" for d in final.values()), [d for d in final.values() if d["state"] != "done"][:5]
    assert gauge(host, "hookhost_queue_depth") == 0
    assert gauge(host, "hookhost_dead_letters") == 0

    # Duplicates: ids accepted before each crash and in the last round answer 200 duplicate, and nothing runs again.
    runs_before = read_pairs(log)
    sample = []
    for ld in loads:
        sample += rng.sample(ld.accepted, min(15, len(ld.accepted)))
    for msg_id in sample:
        r = host.send(event_body("crash", {"id": msg_id}), type_="crash", msg_id=msg_id)
        assert r.status == 200, (msg_id, r)
        assert r.json() == {"status": "duplicate", "id": msg_id}, r

    def nothing_ran_again():
        after = [p for p in read_pairs(log)[len(runs_before):] if not p[0].startswith("sentinel")]
        assert not after, f"handler ran again for re-sent duplicates: {after[:10]}"

    assert_not_run_again(host, fns, nothing_ran_again, type_="crash")

    # The sender retries every id that got no answer (as Gemini would): each is accepted or a
    # duplicate, and afterwards every one of them has run.
    for msg_id in unknown:
        r = host.send(event_body("crash", {"id": msg_id}), type_="crash", msg_id=msg_id)
        assert r.status in (200, 202), (msg_id, r)
    wait_drained(host, timeout=60)
    ran = {i for i, _ in read_pairs(log)}
    assert not [i for i in unknown if i not in ran], "re-sent unanswered ids that never ran"


def test_torn_tail_and_damaged_record_do_not_hide_other_deliveries(make_host, fns):
    """README "On-disk format": a torn tail is overwritten by the next append; a damaged record is
    skipped and the scanner re-synchronises, so the records after it survive."""
    fns.add("ping")
    host = make_host()
    a, b = new_id("a"), new_id("b")
    for i in (a, b):
        assert host.send(event_body("ping", {"id": i}), type_="ping", msg_id=i).status == 202
        wait_state(host, i, "done")
    assert host.stop() == 0

    log = host.data / "spool.log"
    image = log.read_bytes()
    assert image[:4] == b"HHK1", image[:16]
    # a torn write: the first 40 bytes of a frame (its header claims more than follows)
    with open(log, "ab") as f:
        f.write(image[:40])
    host.start()
    spool = listed(host)
    assert spool[a]["state"] == "done" and spool[b]["state"] == "done", spool
    c = new_id("c")
    assert host.send(event_body("ping", {"id": c}), type_="ping", msg_id=c).status == 202
    wait_state(host, c, "done")
    host.kill9()
    host.start()
    spool = listed(host)
    assert all(spool[i]["state"] == "done" for i in (a, b, c)), spool
    assert host.send(event_body("ping", {"id": a}), type_="ping", msg_id=a).status == 200
    assert host.stop() == 0

    # damage b's delivery record (one byte of its id): b may be lost, a and c must not be
    image = bytearray(log.read_bytes())
    at = image.find(b.encode())
    assert at > 0
    image[at + len(b) - 1] ^= 0x01
    log.write_bytes(bytes(image))
    host.start()
    spool = listed(host)
    assert spool.get(a, {}).get("state") == "done" and spool.get(c, {}).get("state") == "done", spool
    d = new_id("d")
    assert host.send(event_body("ping", {"id": d}), type_="ping", msg_id=d).status == 202
    wait_state(host, d, "done")
    host.kill9()
    host.start()
    spool = listed(host)
    assert all(spool.get(i, {}).get("state") == "done" for i in (a, c, d)), spool
    assert len(fns.runs_of(a)) == 1 and len(fns.runs_of(c)) == 1 and len(fns.runs_of(d)) == 1


def test_concurrent_copies_of_one_id_are_accepted_once(host, fns):
    """Copies of one id racing each other (Gemini retrying while the first copy is being written):
    exactly one 202, the rest 200 duplicate, one run."""
    fns.add_script("race", APPEND_HANDLER.format(log="race.log"))
    ids = [new_id("race") for _ in range(40)]
    answers: dict[str, list] = {i: [] for i in ids}
    lock = threading.Lock()

    def sender(k):
        for i in ids:
            r = send_quietly(host, i, "race")
            with lock:
                answers[i].append(r.status if r is not None else None)

    threads = [threading.Thread(target=sender, args=(k,), daemon=True) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    for i, st in answers.items():
        assert st.count(202) == 1 and st.count(200) == 3, (i, st)
    wait_drained(host, timeout=30)
    runs = read_pairs(fns.out / "race.log")
    assert sorted(runs) == sorted((i, 1) for i in ids), [r for r in runs if runs.count(r) > 1][:5]


def test_racing_copies_on_keepalive_connections_get_their_own_answers(host, fns):
    """Each answer on a keep-alive connection belongs to the request it follows: a racing copy of an
    id answered `duplicate` must not also be answered `accepted` later, which would hand that stale
    answer to the next (here pipelined) request on the same connection."""
    fns.add_script("race", APPEND_HANDLER.format(log="race.log"))
    wrong = []
    for n in range(40):
        x = new_id("copy")
        conns = [RawConn(host.port) for _ in range(3)]
        barrier = threading.Barrier(len(conns))
        got: dict[int, list] = {}

        def go(k):
            c = conns[k]
            y = f"{x}-next-{k}"
            reqs = b""
            for msg_id in (x, y):
                body = event_body("race", {"id": msg_id})
                h = signed_headers(host.secrets[0], msg_id, body)
                h["Content-Type"] = "application/json"
                reqs += build_request("POST", host.path, body, h)
            barrier.wait(10)
            c.send(reqs)
            answers = []
            for _ in range(2):
                r = c.read_response(timeout=10)
                answers.append(None if r is None else (r.status, json.loads(r.body).get("id")))
            got[k] = answers

        threads = [threading.Thread(target=go, args=(k,), daemon=True) for k in range(len(conns))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        for c in conns:
            c.close()
        for k in range(len(conns)):
            a = got.get(k)
            if a is None or a[0] is None or a[0][1] != x or a[1] is None or a[1] != (202, f"{x}-next-{k}"):
                wrong.append((x, k, a))
        statuses = sorted(got[k][0][0] for k in got if got[k][0])
        if statuses != [200, 200, 202]:
            wrong.append((x, "first answers", statuses))
    assert not wrong, f"{len(wrong)} wrong answers, e.g. {wrong[:4]}"


def test_queue_full_answers_503_and_accepts_again_when_drained(make_host, fns):
    fns.add_script("gated", GATED)
    host = make_host(extra_args=["--queue-max", "3", "--workers", "1"])
    try:
        first = [new_id("q") for _ in range(3)]
        for i in first:
            assert host.send(event_body("gated", {"id": i}), type_="gated", msg_id=i).status == 202
        assert gauge(host, "hookhost_queue_depth") == 3
        over = new_id("over")
        r = host.send(event_body("gated", {"id": over}), type_="gated", msg_id=over)
        assert r.status == 503, r
        assert r.headers.get("retry-after", "").strip().isdigit(), r.headers
        assert over not in listed(host)
    finally:
        (fns.out / "release").touch()
    wait_drained(host, timeout=30)
    r = host.send(event_body("gated", {"id": over}), type_="gated", msg_id=over)
    assert r.status == 202, r
    wait_state(host, over, "done")


# =============================================================================================
# 2. A handler interrupted by kill -9 runs again with attempt + 1

def test_interrupted_run_resumes_with_next_attempt(make_host, fns, reaper):
    fns.add_script("slow", SLEEPER.format(seconds=30), env={"SLEEP_ON": "1"})
    host = make_host()
    msg_id = new_id("interrupted")
    body = event_body("slow", {"id": msg_id, "n": 1})
    r = host.send(body, type_="slow", msg_id=msg_id)
    assert r.status == 202, r
    started = fns.out / f"{msg_id}.1.started"
    wait_until(started.exists, 15, what="attempt 1 to start")
    assert listed(host)[msg_id]["state"] == "running"
    dup = host.send(body, type_="slow", msg_id=msg_id)
    assert dup.status == 200 and dup.json() == {"status": "duplicate", "id": msg_id}, dup
    host.kill9()

    host.start()
    wait_until((fns.out / f"{msg_id}.2.done").exists, 20, what="attempt 2 after the restart")
    stdin = (fns.out / f"{msg_id}.2.stdin").read_bytes()
    doc = json.loads(stdin)
    assert doc["delivery"]["attempt"] == 2, doc
    assert doc["delivery"]["id"] == msg_id
    assert doc["event"] == json.loads(body)
    first = json.loads((fns.out / f"{msg_id}.1.stdin").read_bytes())
    assert doc["delivery"]["received_at"] == first["delivery"]["received_at"]
    d = wait_state(host, msg_id, "done", attempt=2)
    assert d["attempt"] == 2
    dup = host.send(body, type_="slow", msg_id=msg_id)
    assert dup.status == 200 and dup.json() == {"status": "duplicate", "id": msg_id}, dup
    wait_drained(host, timeout=10)
    lines = [p for p in read_pairs(fns.out / "sleeper.log") if p[0] == msg_id]
    assert lines == [(msg_id, 1), (msg_id, 2)], lines
    assert not (fns.out / f"{msg_id}.1.done").exists()


def test_power_cut_under_load_loses_no_acknowledged_delivery(make_host, fns, tmp_path):
    """The data directory is lazyfs: what was written but not fsync'd lives only in its memory. Two
    power cuts (host and lazyfs SIGKILLed together) under load; after each, remount and restart:
    every 202'd delivery must be in the spool and run. A host that answered before fdatasync fails
    this (a kill -9 alone cannot show it: the page cache survives)."""
    fns.add_script("crash", APPEND_HANDLER.format(log="cut.log"))
    root = tmp_path / "pc"
    host = make_host(start=False, root=root)
    backing = root / "backing"
    fs = None
    try:
        from durability_lib import LazyFS
        fs = LazyFS(backing, host.data)
        try:
            fs.mount()
        except OSError as e:
            pytest.skip(f"cannot mount lazyfs: {e}")
        loads = []
        for rnd in range(3):
            host.start(["--workers", "2"])
            load = Load(host, "crash", prefix=f"cut{rnd}", threads=4).start()
            loads.append(load)
            wait_until(lambda: load.accepted_count() >= 150 or not host.running, 90, interval=0.01,
                       what=f"150 acknowledgements in round {rnd}")
            if rnd < 2:
                # the power goes: the host and the filesystem's unsynced data at once
                os.kill(host.pid, signal.SIGKILL)
                fs.cut()
                host.stop(signal.SIGKILL)
                load.stop()
                fs.mount()
            else:
                load.stop()
            assert not load.answered, list(load.answered.items())[:5]
        accepted = [i for ld in loads for i in ld.accepted]
        final = wait_drained(host, timeout=120)
        missing = [i for i in accepted if i not in final]
        assert not missing, f"{len(missing)} of {len(accepted)} acknowledged deliveries lost to a power cut: {missing[:10]}"
        ran = {i for i, _ in read_pairs(fns.out / "cut.log")}
        assert not [i for i in accepted if i not in ran], "acknowledged deliveries never ran"
    finally:
        host.stop(signal.SIGKILL)
        if fs is not None:
            fs.cut()


# =============================================================================================
# 3. Disk full: 503 + Retry-After, /readyz 503, recovery when space returns

# Bodies bigger than a page: such a record never fits in bytes the spool file already has allocated.
BIG_PAD = "x" * 8192


@pytest.fixture
def small_disk_host(make_host, fns, tmp_path):
    """A running host whose data directory is a 2 MB tmpfs (skips if it cannot be mounted); at
    teardown the host is killed and the tmpfs unmounted, also when the test failed."""
    fns.add("ping")
    host = make_host(start=False, root=tmp_path / "diskfull")
    cm = tmpfs(host.data, "2m")
    try:
        cm.__enter__()
    except OSError as e:
        pytest.skip(f"cannot mount a tmpfs for the data directory: {e}")
    try:
        host.start()
        r = host.send(event_body("ping", {"id": "before"}), type_="ping")
        assert r.status == 202, r
        fns.wait_run(r.msg_id)
        assert host.request("GET", "/readyz").status == 200
        yield host
    finally:
        host.stop(signal.SIGKILL)
        cm.__exit__(None, None, None)


def send_big(host, prefix):
    msg_id = new_id(prefix)
    return msg_id, host.send(event_body("ping", {"id": msg_id}, pad=BIG_PAD), type_="ping", msg_id=msg_id)


def test_disk_full_answers_503_and_recovers(small_disk_host, fns):
    host = small_disk_host
    filler = fill(host.data)
    refused = []
    for i in range(5):
        msg_id, r = send_big(host, "full")
        assert r.status == 503, (i, r)
        assert r.headers.get("retry-after", "").strip().isdigit(), r.headers
        refused.append(msg_id)
    # /readyz turns 503 (checked right after a refused write, see the next test for its stability)
    for _ in range(5):
        if host.request("GET", "/readyz").status == 503:
            break
        msg_id, r = send_big(host, "full")
        assert r.status == 503, r
        refused.append(msg_id)
    else:
        raise AssertionError("/readyz never answered 503 while deliveries were refused for a full disk")

    filler.unlink()
    accepted = None
    for _ in range(60):  # the host probes every ~2 s
        msg_id, r = send_big(host, "recovered")
        if r.status == 202:
            accepted = msg_id
            break
        assert r.status == 503, r
        refused.append(msg_id)
        time.sleep(0.25)
    assert accepted, "deliveries still refused after the disk had space again"
    wait_until(lambda: host.request("GET", "/readyz").status == 200, 10, what="/readyz 200 after recovery")
    fns.wait_run(accepted, timeout=15)

    spool = listed(host)
    assert not [i for i in refused if i in spool], "deliveries answered 503 are in the spool"
    assert spool[accepted]["state"] in ("running", "done")
    # a refused id was never accepted, so it is not a duplicate later
    again = refused[0]
    r = host.send(event_body("ping", {"id": again}), type_="ping", msg_id=again)
    assert r.status == 202, r
    fns.wait_run(again, timeout=15)
    # and everything survives a restart (nothing torn by the failed writes)
    host.kill9()
    host.start()
    spool = listed(host)
    assert accepted in spool and again in spool
    assert not [i for i in refused[1:] if i in spool]


def test_readyz_stays_503_while_disk_is_full(small_disk_host):
    host = small_disk_host
    filler = fill(host.data)
    _, r = send_big(host, "full")
    assert r.status == 503, r
    # sampled across three of the writer's ~2 s probe intervals, with the disk still full
    statuses = []
    for _ in range(30):
        statuses.append(host.request("GET", "/readyz").status)
        time.sleep(0.2)
    _, r = send_big(host, "stillfull")
    assert r.status == 503, r
    assert set(statuses) == {503}, f"/readyz said ready while the disk was still full: {statuses}"
    filler.unlink()


def test_503_is_final_after_a_partly_failed_group_write(make_host, fns, tmp_path, reaper):
    """The data directory is lazyfs over a small tmpfs: bursts fill the disk so fdatasync fails with
    ENOSPC after part of a batch reached it, then fdatasync fails with EIO after a whole batch did.
    After that, one more write, a kill -9 and a restart: no delivery answered 503 may reappear or run."""
    fns.add("ping")
    root = tmp_path / "lazy"
    host = make_host(start=False, root=root)
    backing = root / "backing"
    try:
        disk = tmpfs(backing, "2m")
        disk.__enter__()
    except OSError as e:
        pytest.skip(f"cannot mount a tmpfs: {e}")
    try:
        try:
            fs = lazyfs(backing, host.data)
            fs.__enter__()
        except OSError as e:
            pytest.skip(f"cannot mount lazyfs: {e}")
        try:
            host.start()
            filler = fill(backing)  # the backing fills up; writes into lazyfs still "succeed" until synced
            refused = []
            for i, room in enumerate((30_000, 70_000, 110_000)):
                os.truncate(filler, max(0, filler.stat().st_size - room))
                refused += burst_send(host, f"burst{i}", 96)
            assert refused, "the burst never hit the full disk"
            filler.unlink()
            # Then a device error: the batch reaches the disk whole, but fdatasync says EIO.
            wait_until(lambda: host.request("GET", "/readyz").status == 200, 15, what="/readyz 200 after space returned")
            (backing / ".fail-fsync").touch()
            eio = burst_send(host, "eio", 32)
            assert eio, "no delivery was refused while fdatasync failed"
            refused += eio
            (backing / ".fail-fsync").unlink()
            wait_until(lambda: host.request("GET", "/readyz").status == 200, 15, what="/readyz 200 after space returned")
            msg_id = new_id("after")
            r = host.send(event_body("ping", {"id": msg_id}), type_="ping", msg_id=msg_id)
            assert r.status == 202, r
            fns.wait_run(msg_id, timeout=15)
            host.kill9()
            host.start()
            spool = listed(host)
            assert msg_id in spool
            back = [i for i in refused if i in spool]
            assert not back, f"{len(back)} of {len(refused)} deliveries answered 503 came back after a restart: {back[:5]}"
            wait_drained(host, timeout=30)
            ran = {x[0] for x in fns.runs()}
            assert not [i for i in refused if i in ran], "a delivery answered 503 ran"
        finally:
            host.stop(signal.SIGKILL)
            fs.__exit__(None, None, None)
    finally:
        disk.__exit__(None, None, None)


def burst_send(host, prefix, n):
    """Sends n signed deliveries at once (signed beforehand, one connection each) so they are
    committed in batches; returns the ids answered 503."""
    ids = [new_id(prefix) for _ in range(n)]
    raw = []
    for msg_id in ids:
        body = event_body("ping", {"id": msg_id}, pad="y" * 1500)
        h = {"Content-Type": "application/json"}
        h.update(signed_headers(host.secrets[0], msg_id, body))
        raw.append(build_request("POST", host.path, body, h))
    conns = [RawConn(host.port, timeout=30) for _ in ids]
    for c, req in zip(conns, raw):
        c.send(req)
    refused = []
    for msg_id, c in zip(ids, conns):
        r = c.read_response(timeout=30)
        c.sock.close()
        assert r is not None and r.status in (202, 503), r
        if r.status == 503:
            refused.append(msg_id)
    return refused


# =============================================================================================
# 4. Dead letters and replay through the CLI while the server runs

FAST_RETRY = ["--max-attempts", "2", "--retry-base", "0.2", "--retry-cap", "0.5"]


def test_dead_letter_show_and_replay_while_running(make_host, fns):
    fns.add("fails", code=1, extra="echo 'stderr-tail-marker: it broke' >&2")
    host = make_host(extra_args=FAST_RETRY)
    msg_id = new_id("dead")
    body = b'{"type":"fails","version":"v1","data":{"id":"x","user_metadata":{"k":"v"}},"big":12345678901234567890}'
    r = host.send(body, type_="fails", msg_id=msg_id)
    assert r.status == 202, r
    wait_state(host, msg_id, "dead", attempt=2)
    assert msg_id in listed(host, state="dead")
    assert [a for _, a, _ in fns.runs_of(msg_id)] == [1, 2]

    doc, raw = show(host, msg_id)
    assert doc["delivery"]["id"] == msg_id and doc["delivery"]["state"] == "dead"
    assert "status 1" in (doc["delivery"]["error"] or ""), doc["delivery"]
    last = doc["last"]
    assert last["exit_code"] == 1, last
    assert "status 1" in (last["error"] or ""), last
    assert "stderr-tail-marker: it broke" in (last["stderr"] or ""), last
    got = fns.read_run(msg_id, 2).stdin
    assert doc["stdin"] == json.loads(got)
    assert got.rstrip(b"\n") in raw, "show does not contain the exact stdin bytes of the last attempt"

    # fix the function, replay through the running server
    fns.add("fails", code=0)
    p = deliveries(host, "replay", msg_id)
    assert p.returncode == 0
    run = fns.wait_run(msg_id, 3, timeout=15)
    assert run.stdin_json()["delivery"]["attempt"] == 3
    assert run.env["HOOKHOST_ATTEMPT"] == "3"
    d = wait_state(host, msg_id, "done", attempt=3)
    assert d["error"] in (None, ""), d
    assert msg_id not in listed(host, state="dead")


def test_retry_dead_purge_and_unknown_ids_while_running(make_host, fns):
    fns.add("bad.a", code=65)
    fns.add("bad.b", code=65)
    host = make_host(extra_args=FAST_RETRY)
    a_ids = [new_id("a") for _ in range(2)]
    b_id = new_id("b")
    for i in a_ids:
        assert host.send(event_body("bad.a", {"id": i}), type_="bad.a", msg_id=i).status == 202
    assert host.send(event_body("bad.b", {"id": b_id}), type_="bad.b", msg_id=b_id).status == 202
    for i in a_ids + [b_id]:
        wait_state(host, i, "dead", attempt=1)
    assert set(listed(host, state="dead", type_="bad.a")) == set(a_ids)

    fns.add("bad.a", code=0)
    out = deliveries_json(host, "retry-dead", "--type", "bad.a", "--json")
    assert out == {"replayed": 2}, out
    for i in a_ids:
        fns.wait_run(i, 2, timeout=15)
        wait_state(host, i, "done", attempt=2)
    assert set(listed(host, state="dead")) == {b_id}

    out = deliveries_json(host, "purge", "--dead", "--json")
    assert out == {"purged": 1}, out
    assert b_id not in listed(host)
    # a purged delivery's id is still remembered
    r = host.send(event_body("bad.b", {"id": b_id}), type_="bad.b", msg_id=b_id)
    assert r.status == 200 and r.json()["status"] == "duplicate", r

    for cmd in (["show", "no-such-delivery"], ["replay", "no-such-delivery"], ["show", b_id]):
        p = deliveries(host, *cmd, check=False)
        assert p.returncode == 1, (cmd, p)
        assert p.stderr.strip(), cmd


@pytest.mark.parametrize("code,attempts,final", [
    (65, [1], "dead"),       # EX_DATAERR: dead at once
    (1, [1, 2], "dead"),     # failure: retried until max-attempts
    ("$( [ \"$HOOKHOST_ATTEMPT\" -ge 2 ] && echo 0 || echo 75 )", [1, 2], "done"),  # 75 then success
], ids=["65-dead-at-once", "1-retried", "75-then-0"])
def test_exit_codes_decide_retry_or_dead(make_host, fns, code, attempts, final):
    fns.add("codes", code=code)
    host = make_host(extra_args=FAST_RETRY)
    r = host.send(event_body("codes"), type_="codes")
    assert r.status == 202, r
    d = wait_state(host, r.msg_id, final, attempt=attempts[-1])
    assert d["attempt"] == attempts[-1]
    wait_drained(host, timeout=10)
    assert [a for _, a, _ in fns.runs_of(r.msg_id)] == attempts


def test_exit_75_spends_no_attempt_and_is_bounded_by_retry_later_for(make_host, fns):
    """CONTRACT §4: "try again later" is retried past max-attempts (2 here) until retry_later_for
    has passed since the first such answer, then dead-lettered saying so."""
    fns.add("later", code=75, sidecar={"retry_later_for": 1.5})
    host = make_host(extra_args=FAST_RETRY)
    r = host.send(event_body("later"), type_="later")
    assert r.status == 202, r
    d = wait_state(host, r.msg_id, "dead", timeout=30)
    runs = [a for _, a, _ in fns.runs_of(r.msg_id)]
    assert len(runs) >= 3 and runs == list(range(1, len(runs) + 1)), runs
    assert "exit 75" in d["error"] and "retry_later_for" in d["error"], d


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill9", "sigterm"])
def test_retry_later_for_counts_across_restarts(make_host, fns, sig):
    """Issue 18 (5): the host stops while a run of an exit-75 function is going; the run's start
    record must keep when "not ready" began, or every restart starts the bound afresh and the
    delivery is retried for ever. Each cycle: a run answers 75, the next one starts, the host is
    stopped (its run cut short: nothing recorded) and started again."""
    fns.add("later", code=75, extra="sleep 1", sidecar={"retry_later_for": 3})
    host = make_host(extra_args=FAST_RETRY)
    r = host.send(event_body("later"), type_="later")
    assert r.status == 202, r

    def started() -> int:
        return max((a for _, a, _ in fns.runs_of(r.msg_id)), default=0)

    def dead() -> bool:
        d = listed(host).get(r.msg_id)
        return d is not None and d["state"] == "dead"

    killed, restarts = 0, 0
    for _ in range(8):
        wait_until(lambda: started() > killed or dead(), 15, what="a run after the restart")
        k = started()
        wait_until(lambda: fns.ran(r.msg_id, k) or dead(), 15, what=f"run {k} to answer 75")
        wait_until(lambda: started() > k or dead(), 15, what="the next run to start")
        if dead():
            break
        killed = started()
        host.restart(sig=sig)
        restarts += 1
    assert dead(), f"still not dead-lettered after {restarts} restarts: {listed(host).get(r.msg_id)}"
    assert restarts >= 1
    doc, _ = show(host, r.msg_id)
    err = json.dumps(doc)
    assert "exit 75" in err and "retry_later_for: 3 s" in err, doc


# =============================================================================================
# 5. The same commands while the server is stopped (lock-based direct mode)

def test_cli_works_while_server_stopped_and_replay_runs_at_next_start(make_host, fns):
    fns.add("fails", code=1, extra="echo 'stopped-mode-stderr' >&2")
    fns.add("skipme.never", code=0)
    host = make_host(extra_args=FAST_RETRY)
    dead_id, other_dead = new_id("dead"), new_id("dead2")
    for i in (dead_id, other_dead):
        assert host.send(event_body("fails", {"id": i}), type_="fails", msg_id=i).status == 202
        wait_state(host, i, "dead", attempt=2)
    assert host.stop() == 0
    assert not (host.data / "control.sock").exists()

    spool = listed(host)
    assert spool[dead_id]["state"] == "dead" and spool[other_dead]["state"] == "dead", spool
    doc, raw = show(host, dead_id)
    assert doc["last"]["exit_code"] == 1 and "stopped-mode-stderr" in doc["last"]["stderr"], doc
    assert fns.read_run(dead_id, 2).stdin.rstrip(b"\n") in raw
    assert deliveries(host, "show", "unknown-id", check=False).returncode == 1
    assert deliveries(host, "replay", "unknown-id", check=False).returncode == 1

    fns.add("fails", code=0)
    assert deliveries(host, "replay", dead_id).returncode == 0
    assert listed(host)[dead_id]["state"] == "received"
    assert not fns.ran(dead_id, 3), "a replay ran with no server"
    assert deliveries_json(host, "purge", "--dead", "--json") == {"purged": 1}
    assert set(listed(host)) == {dead_id}

    host.start(FAST_RETRY)
    fns.wait_run(dead_id, 3, timeout=15)
    wait_state(host, dead_id, "done", attempt=3)
    r = host.send(event_body("fails", {"id": other_dead}), type_="fails", msg_id=other_dead)
    assert r.status == 200, r


# =============================================================================================
# 6. A scheduled retry survives a restart

def test_scheduled_retry_survives_restart(make_host, fns):
    # 75 on attempt 1, 0 afterwards. Retry delays are fully jittered in [0, base), so with several
    # deliveries at least one (all but surely) is still waiting when the host stops.
    fns.add("flaky", code="$( [ \"$HOOKHOST_ATTEMPT\" -ge 2 ] && echo 0 || echo 75 )")
    args = ["--retry-base", "8", "--retry-cap", "8"]
    host = make_host(extra_args=args)
    ids = [new_id("flaky") for _ in range(5)]
    for i in ids:
        assert host.send(event_body("flaky", {"id": i}), type_="flaky", msg_id=i).status == 202
    for i in ids:
        fns.wait_run(i, 1, timeout=15)
        wait_until(lambda: listed(host)[i]["state"] in ("retry_scheduled", "running", "done"), 10)
    assert host.stop(signal.SIGTERM) == 0
    spool = listed(host)  # direct mode
    waiting = [i for i in ids if spool[i]["state"] == "retry_scheduled"]
    assert waiting, f"every retry fired before the stop (jitter): {spool}"
    for i in waiting:
        assert spool[i]["attempt"] == 1 and spool[i]["next_at"], spool[i]
        assert not fns.ran(i, 2)

    host.start(args)
    for i in waiting:
        run = fns.wait_run(i, 2, timeout=30)
        assert run.stdin_json()["delivery"]["attempt"] == 2
        wait_state(host, i, "done", attempt=2)
    assert all(len(fns.runs_of(i)) == 2 for i in ids), [fns.runs_of(i) for i in ids]


# =============================================================================================
# 7. SIGTERM: drain, finish the running function, exit 0

def test_sigterm_drains_and_finishes_running_function(make_host, fns, reaper):
    # The running function gets SIGTERM at once (polite shutdown); it notes it and finishes once
    # `hold` is removed (a function that ended at once let the host exit before /readyz was asked).
    fns.add_script("slow", POLITE.format(ticks=300).replace("""trap 'touch "$d.term"; finish' TERM""", """trap 'touch "$d.term"' TERM"""))
    (fns.out / "hold").touch()
    grace = 20
    args = ["--shutdown-grace", str(grace), "--workers", "1"]
    host = make_host(extra_args=args)
    msg_id, queued = new_id("drain"), new_id("queued")
    assert host.send(event_body("slow", {"id": msg_id}), type_="slow", msg_id=msg_id).status == 202
    wait_until((fns.out / f"{msg_id}.1.started").exists, 15, what="the function to start")
    # the only worker is busy: this one is still waiting when SIGTERM comes
    assert host.send(event_body("slow", {"id": queued}), type_="slow", msg_id=queued).status == 202
    host.proc.send_signal(signal.SIGTERM)

    ready = None
    deadline = time.monotonic() + grace + 10
    while host.running and time.monotonic() < deadline:
        try:
            ready = host.request("GET", "/readyz", timeout=5)
        except OSError:
            assert not host.running, "connection refused while the host still runs"
            break
        if ready.status == 503:
            break
        time.sleep(0.02)
    assert ready is not None and ready.status == 503, ready

    late_id = new_id("late")
    late = send_quietly(host, late_id, "slow")
    if late is None:
        assert not host.running, "a delivery got no answer while the host was still draining"
    else:
        assert late.status == 503, late
        assert late.headers.get("retry-after", "").strip().isdigit(), late.headers

    wait_until((fns.out / f"{msg_id}.1.term").exists, 10, what="the function to get SIGTERM")
    (fns.out / "hold").unlink()  # now the function finishes, within the grace period
    rc = host.proc.wait(timeout=grace + 15)
    assert rc == 0, host.log_tail()
    assert (fns.out / f"{msg_id}.1.done").exists(), "the running function did not finish"
    assert (fns.out / f"{msg_id}.1.term").exists(), "the running function got no SIGTERM"
    assert not (fns.out / f"{queued}.1.started").exists(), "a queued delivery started while draining"
    assert listed(host)[queued]["state"] == "received"

    host.start(args)
    wait_until((fns.out / f"{queued}.1.done").exists, 20, what="the queued delivery to run after the restart")
    wait_drained(host, timeout=15)
    spool = listed(host)
    assert spool[msg_id]["state"] == "done" and spool[msg_id]["attempt"] == 1, spool[msg_id]
    doc, _ = show(host, msg_id)
    assert doc["last"]["output"] == {"finished": True, "attempt": 1}, doc["last"]
    assert late_id not in spool
    assert [p for p in read_pairs(fns.out / "sleeper.log") if p[0] == msg_id] == [(msg_id, 1)]


def test_second_sigterm_during_drain_does_not_abandon_it(make_host, fns, reaper):
    """A repeated SIGTERM (an impatient operator, a supervisor re-sending it) is still a SIGTERM: the
    drain goes on, the running function finishes and is recorded, the host exits 0."""
    # Unlike POLITE, it notes SIGTERM and goes on until `hold` is removed: the drain lasts as long
    # as the test needs (a function that ends at once let the host exit before /readyz was asked).
    fns.add_script("slow", POLITE.format(ticks=300).replace("""trap 'touch "$d.term"; finish' TERM""", """trap 'touch "$d.term"' TERM"""))
    (fns.out / "hold").touch()
    host = make_host(extra_args=["--shutdown-grace", "20"])
    msg_id = new_id("twice")
    assert host.send(event_body("slow", {"id": msg_id}), type_="slow", msg_id=msg_id).status == 202
    wait_until((fns.out / f"{msg_id}.1.started").exists, 15, what="the function to start")
    host.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: host.request("GET", "/readyz").status == 503, 10, what="the drain to start")
    wait_until((fns.out / f"{msg_id}.1.term").exists, 10, what="the function to get SIGTERM")
    host.proc.send_signal(signal.SIGTERM)
    (fns.out / "hold").unlink()  # now the function finishes, within the grace period
    rc = host.proc.wait(timeout=35)
    assert rc == 0, f"exit {rc} after a second SIGTERM during the drain:\n{host.log_tail(5)}"
    wait_until((fns.out / f"{msg_id}.1.done").exists, 10, what="the function to finish")
    host.start()
    assert listed(host)[msg_id]["state"] == "done", listed(host)[msg_id]


def test_sigterm_when_idle_exits_0_at_once(make_host, fns):
    """Idle, shutdown waits for threads to exit, not for a fixed sleep: even with a keep-alive client
    connected and a secrets file watched, SIGTERM ends the host well within 0.12 s."""
    fns.add("ping")
    host = make_host(start=False)
    secrets_file = host.root / "secrets"
    secrets_file.write_text(host.secrets[0] + "\n")
    host.start(env={"HOOKHOST_SECRETS": None, "HOOKHOST_SECRETS_FILE": str(secrets_file)})
    r = host.send(event_body("ping"))
    assert r.status == 202, r
    wait_state(host, r.msg_id, "done")
    # the best of three: a loaded machine may delay one of them
    best = None
    for attempt in range(3):
        if attempt:
            host.start(env={"HOOKHOST_SECRETS": None, "HOOKHOST_SECRETS_FILE": str(secrets_file)})
        with RawConn(host.port) as idle:
            idle.send(build_request("GET", "/healthz"))
            assert idle.read_response().status == 200
            t0 = time.monotonic()
            host.proc.send_signal(signal.SIGTERM)
            rc = host.proc.wait(timeout=10)
            took = time.monotonic() - t0
        assert rc == 0, host.log_tail()
        best = took if best is None else min(best, took)
    assert best < 0.12, f"idle SIGTERM took {best:.3f} s"
    assert host.log_records()[-1]["msg"] == "stopped"


def test_sigterm_reaches_a_function_that_ignores_it_and_sigkill_follows_after_the_grace(make_host, fns, reaper):
    """TERM at once, KILL after HOOKHOST_SHUTDOWN_GRACE: a function that ignores SIGTERM is still
    running a moment into the grace period, then killed; the cut-short run spends no attempt."""
    fns.add_script("stubborn", "#!/bin/sh\ntrap '' TERM\n" + SLEEPER.format(seconds=30).split("\n", 1)[1], env={"SLEEP_ON": "1"})
    host = make_host(extra_args=["--shutdown-grace", "2", "--max-attempts", "1"])
    msg_id = new_id("stubborn")
    assert host.send(event_body("stubborn", {"id": msg_id}), type_="stubborn", msg_id=msg_id).status == 202
    wait_until((fns.out / f"{msg_id}.1.started").exists, 15, what="the function to start")
    pid = int((fns.out / f"{msg_id}.1.pid").read_text())
    t0 = time.monotonic()
    host.proc.send_signal(signal.SIGTERM)
    time.sleep(1)
    assert pid_alive(pid), "a function ignoring SIGTERM was killed before the grace period ended"
    assert host.proc.wait(timeout=20) == 0
    assert time.monotonic() - t0 >= 1.9
    wait_until(lambda: not pid_alive(pid), 10, what="the function to be killed after the grace period")
    records = host.log_records()
    assert any(r.get("msg") == "shutdown: asked running function to stop" and r.get("id") == msg_id for r in records), records[-8:]
    assert any(r.get("msg") == "shutdown: killed function still running after the grace period" and r.get("id") == msg_id
               for r in records), records[-8:]
    assert listed(host)[msg_id]["state"] in ("received", "retry_scheduled", "running"), listed(host)[msg_id]


def test_sigterm_grace_expiry_kills_function_and_it_resumes(make_host, fns, reaper):
    # max-attempts 1: the run cut short by the shutdown must resume, not use up the budget
    fns.add_script("slow", SLEEPER.format(seconds=30), env={"SLEEP_ON": "1"})
    host = make_host(extra_args=["--shutdown-grace", "1", "--max-attempts", "1"])
    msg_id = new_id("grace")
    assert host.send(event_body("slow", {"id": msg_id}), type_="slow", msg_id=msg_id).status == 202
    wait_until((fns.out / f"{msg_id}.1.started").exists, 15, what="the function to start")
    pid = int((fns.out / f"{msg_id}.1.pid").read_text())
    assert host.stop(signal.SIGTERM, timeout=20) == 0
    wait_until(lambda: not pid_alive(pid), 10, what="the function outliving the grace period to be killed")
    assert not (fns.out / f"{msg_id}.1.done").exists()
    # The worker whose function was killed is joined before the spool writer stops, and records
    # nothing: the kill was the shutdown's doing, not a failed attempt (with max-attempts 1 that
    # would be a dead letter). The last line is written after every thread has exited.
    records = host.log_records()
    assert not [r for r in records if r.get("id") == msg_id and r.get("msg") in ("finished", "dead", "retry_scheduled")], records[-6:]
    assert records[-1]["msg"] == "stopped" and records[-1]["unfinished"] == 1, records[-1]
    assert listed(host)[msg_id]["state"] in ("received", "retry_scheduled"), listed(host)[msg_id]

    host.start(["--shutdown-grace", "1", "--max-attempts", "1"])
    run_done = fns.out / f"{msg_id}.2.done"
    wait_until(run_done.exists, 20, what="attempt 2 after the restart")
    assert json.loads((fns.out / f"{msg_id}.2.stdin").read_bytes())["delivery"]["attempt"] == 2
    wait_state(host, msg_id, "done", attempt=2)


# =============================================================================================
# 8. Retention: finished deliveries are pruned, their ids stay remembered

def test_retention_prunes_done_but_dedup_remembers(make_host, fns):
    fns.add("ping")
    fns.add("never", code=65)
    args = ["--retention", "1"]
    host = make_host(extra_args=args)
    done_id, dead_id = new_id("ret"), new_id("retdead")
    assert host.send(event_body("ping", {"id": done_id}), type_="ping", msg_id=done_id).status == 202
    assert host.send(event_body("never", {"id": dead_id}), type_="never", msg_id=dead_id).status == 202
    wait_state(host, done_id, "done")
    wait_state(host, dead_id, "dead")
    assert host.stop() == 0
    updated = listed(host)[done_id]["updated_at"]
    time.sleep(1.5)  # past the 1 s retention
    host.start(args)

    spool = listed(host)
    assert done_id not in spool, f"done delivery (updated {updated}) still listed after retention: {spool.get(done_id)}"
    assert dead_id in spool and spool[dead_id]["state"] == "dead", "dead letters are kept until replayed or purged"
    assert deliveries(host, "show", done_id, check=False).returncode == 1
    assert gauge(host, "hookhost_dead_letters") == 1
    assert gauge(host, "hookhost_queue_depth") == 0

    r = host.send(event_body("ping", {"id": done_id}), type_="ping", msg_id=done_id)
    assert r.status == 200 and r.json() == {"status": "duplicate", "id": done_id}, r

    def ran_once():
        assert [a for _, a, _ in fns.runs_of(done_id)] == [1], fns.runs_of(done_id)

    assert_not_run_again(host, fns, ran_once)
    assert done_id not in listed(host)


def test_id_accepted_again_after_dedup_ttl_survives_kill9(make_host, fns, reaper):
    """With retention and dedup TTL expired, an id may be accepted again; that second, acknowledged
    delivery must survive kill -9 like any other (it is a new delivery, not the old done one)."""
    fns.add("ping")
    fns.add_script("slow", SLEEPER.format(seconds=30), env={"SLEEP_ON": "1"})
    args = ["--retention", "1", "--dedup-ttl", "1", "--workers", "1"]
    host = make_host(extra_args=args)
    reused = new_id("reused")
    assert host.send(event_body("ping", {"id": reused}), type_="ping", msg_id=reused).status == 202
    wait_state(host, reused, "done")
    assert host.stop() == 0
    time.sleep(1.5)
    host.start(args)
    assert reused not in listed(host)

    # occupy the only worker, so the re-sent delivery stays queued (received) when the host dies
    blocker = new_id("blocker")
    assert host.send(event_body("slow", {"id": blocker}), type_="slow", msg_id=blocker).status == 202
    wait_until((fns.out / f"{blocker}.1.started").exists, 15, what="the blocker to start")
    r = host.send(event_body("ping", {"id": reused, "second": True}), type_="ping", msg_id=reused)
    assert r.status == 202, r
    assert listed(host)[reused]["state"] == "received"
    host.kill9()

    host.start(args)
    wait_until(lambda: len(fns.runs_of(reused)) >= 2, 20,
               what="the re-accepted delivery to run after kill -9 (it was acknowledged with 202)")
    last_attempt = max(a for _, a, _ in fns.runs_of(reused))
    doc = fns.read_run(reused, last_attempt).stdin_json()
    assert doc["event"]["data"].get("second") is True, doc


def test_spool_log_is_not_extended_on_every_restart(host):
    sizes = []
    for i in range(6):
        r = host.send(type_="ping")
        assert r.status == 202, r
        host.restart()
        sizes.append(os.path.getsize(host.data / "spool.log"))
    assert len(set(sizes)) == 1, sizes


def test_skipped_record_is_written_when_the_host_stops_right_after(host):
    # No function for this type: the delivery is skipped, a lazy bookkeeping record.
    ids = []
    for _ in range(5):
        r = host.send(type_="nohandler.review3")
        assert r.status == 202, r
        ids.append(r.msg_id)
    for i in ids:
        wait_state(host, i, "skipped", timeout=10)
    assert host.stop() == 0
    host.start()
    recovered = [r for r in host.log_records() if r.get("msg") == "spool: recovered"]
    assert recovered and recovered[0].get("unfinished") == 0, recovered
    for i in ids:
        wait_state(host, i, "skipped", timeout=10)


def _listed_ids(host) -> set:
    p = host.cli("deliveries", "list", "--data", str(host.data), "--json")
    assert p.returncode == 0, p.stderr
    v = json.loads(p.stdout)
    return {d["id"] for d in (v["deliveries"] if isinstance(v, dict) else v)}


def test_junk_in_the_allocated_zeros_is_cut_and_later_appends_survive(host):
    first = [host.send(type_="ping").msg_id for _ in range(3)]
    host.stop()
    log = host.data / "spool.log"
    size = os.path.getsize(log)
    assert size >= 1 << 20, size  # allocated ahead
    with open(log, "r+b") as f:
        f.seek(size // 2)
        f.write(b"\x48\x48\x4b\x31garbage-from-a-torn-write" * 10)
    host.start()
    later = [host.send(type_="ping").msg_id for _ in range(3)]
    host.stop()
    assert _listed_ids(host) == set(first + later)
    host.start()
    assert http_request(host.port, "GET", "/healthz").status == 200
    host.stop()
    assert _listed_ids(host) == set(first + later)


def test_a_log_of_only_zeros_is_an_empty_log(host):
    host.stop()
    log = host.data / "spool.log"
    with open(log, "wb") as f:
        f.truncate(8 << 20)
    host.start()
    ids = [host.send(type_="ping").msg_id for _ in range(2)]
    host.stop()
    assert _listed_ids(host) == set(ids)
    assert "skipped damaged" not in host.all_logs()
