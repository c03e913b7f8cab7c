"""Pipelines (issue 20) attacked as an attacker and an unlucky operator would: emit files that are
not what they seem, lines built to confuse, fan-outs too large for one record, ids that look alike,
chain queries for what is not a pipeline, and kills around the record that commits a parent's
children. Each test drives the real binary; every wait is bounded."""
import json
import os
import random
import struct
import subprocess
import time

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
    ('{"type":"Batch.succeeded","data":{"id":"batches/forged"}}', "type Batch.succeeded is in the batch family"),
], ids=["type-twice", "metadata-key-twice", "overlong-line", "gemini-family-in-another-case"])
def test_a_key_twice_or_an_overlong_line_is_refused_naming_it(make_host, fns, line, why):
    """Which `type` of two wins was the last one, silently; routes read the first of two
    user_metadata keys, most JSON readers the last. Both are refused now. A line longer than an
    event may be is refused before it is parsed (a 32 MiB line used to be a ~1 GB tree first).
    Gemini's families are reserved in any case: `Batch.succeeded` was taken, and a functions
    directory on a case-insensitive filesystem runs `batch.succeeded` for it."""
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


def test_hookhost_run_refuses_an_id_the_host_would_refuse_as_an_emitted_events(fns):
    """`hookhost run` refuses the ids the host answers 400 to (too long, control characters),
    "so a function is never tested with one" — but took `x~e1`, the form the host keeps for
    emitted events, and ran the function as an outside delivery under it."""
    fns.add("ping", sidecar=NO_FETCH)
    p = run_cli("run", "ping", "--functions", str(fns.dir), "--id", "x~e1", "--data", "{}")
    assert p.returncode == 2 and b"ends in ~e<number>" in p.stderr, (p.stdout, p.stderr)
    assert not fns.ran("x~e1")
    assert run_cli("run", "ping", "--functions", str(fns.dir), "--id", "x~E1", "--data", "{}").returncode == 0


# ---------------------------------------------------------------------------------------------
# Attacks that held (kept as regression tests)

@pytest.mark.parametrize("make_file, why", [
    ('mkfifo "$HOOKHOST_EMIT"', "not a regular file (a FIFO)"),
    ('mkdir "$HOOKHOST_EMIT"', "not a regular file (a directory)"),
    ('ln "$OUT/host-file.jsonl" "$HOOKHOST_EMIT"', "not a file of its writer's own"),
    ('echo \'{"type":"app.x"}\' > "$HOOKHOST_EMIT"; chown 65534 "$HOOKHOST_EMIT"', "not a file of its writer's own"),
], ids=["fifo", "directory", "hard-link", "other-owner"])
def test_an_emit_file_that_is_not_the_functions_own_regular_file_is_refused(make_host, fns, make_file, why):
    """A FIFO would park the worker in open(2) or read(2); a hard link or a file of another user
    would make the host read what the function could not (the host runs these tests as root, so
    chown works: the run is as the host's own user, whose file it must be)."""
    if make_file.startswith("echo") and os.geteuid() != 0:
        pytest.skip("chown to another user needs root")
    (fns.out / "host-file.jsonl").write_text('{"type":"app.x","data":{"stolen":true}}\n')
    host = make_host(env={"HOOKHOST_MAX_ATTEMPTS": "1"})
    fns.add("ping", extra=make_file, sidecar=NO_FETCH)
    fns.add("app.x")
    host.send(event_body("ping"), msg_id="f")
    wait_until(lambda: state_of(host, "f") in ("dead", "done"), 20, what="parent finished")
    s, _ = show(host, "f")
    assert s["delivery"]["state"] == "dead" and why in s["delivery"]["error"], s["delivery"]
    assert children_of(host, "f") == []


@pytest.mark.parametrize("make_file, why", [
    ("head -c 33554433 /dev/zero | tr '\\0' '\\n' > \"$HOOKHOST_EMIT\"", "the file is larger than 32 MiB"),
    ("i=0; while [ $i -lt 10001 ]; do echo '{\"type\":\"app.x\"}'; i=$((i+1)); done > \"$HOOKHOST_EMIT\"",
     "line 10001: more than 10000 events (HOOKHOST_MAX_EMIT)"),
    ("printf '\\357\\273\\277{\"type\":\"app.x\"}\\n' > \"$HOOKHOST_EMIT\"", "line 1: not JSON"),  # a byte-order mark
    ("printf '{\"type\":\"app.x\",\"data\":{\"s\":\"\\377\"}}\\n' > \"$HOOKHOST_EMIT\"", "line 1: not JSON"),  # not UTF-8
    ("printf '{\"type\":\"app.x\"}\\000\\n' > \"$HOOKHOST_EMIT\"", "line 1: not JSON"),  # a NUL
], ids=["32MiB+1", "10001-lines", "bom", "invalid-utf8", "nul"])
def test_an_emit_file_over_its_limits_or_with_bytes_json_forbids_is_refused(make_host, fns, make_file, why):
    host = make_host(env={"HOOKHOST_MAX_ATTEMPTS": "1"})
    fns.add("ping", extra=make_file, sidecar=NO_FETCH)
    host.send(event_body("ping"), msg_id="z")
    wait_until(lambda: state_of(host, "z") in ("dead", "done"), 60, what="parent finished")
    s, _ = show(host, "z")
    assert s["delivery"]["state"] == "dead" and why in s["delivery"]["error"], s["delivery"]
    assert children_of(host, "z") == []


def test_ids_of_256_bytes_eight_generations_deep_can_be_shown_listed_and_replayed(make_host, fns):
    """The longest outside id (256 bytes, every byte percent-encoded on the control socket) with
    line numbers of five digits for eight generations: 312 bytes. Every query works on it."""
    host = make_host(env={"HOOKHOST_MAX_ATTEMPTS": "1"})
    # 9 999 blank lines first: the child's line number, so its id, is ~e10000
    fns.add("app.chain", extra='i=1; while [ $i -lt 10000 ]; do echo; i=$((i+1)); done > "$HOOKHOST_EMIT"; '
                                'echo \'{"type":"app.chain"}\' >> "$HOOKHOST_EMIT"')
    root = "\u00e9" * 128
    assert post_utf8(host, root, event_body("app.chain")).status == 202
    deepest = root + "~e10000" * 8
    assert len(deepest.encode()) == 312
    wait_until(lambda: state_of(host, deepest) == "dead", 60, what="the ninth generation refused")
    s, _ = show(host, deepest)
    assert "the chain would be 9 deep" in s["delivery"]["error"] and s["delivery"]["depth"] == 8
    assert s["parent"] == root + "~e10000" * 7
    assert len(deliveries_json(host, "list", "--root", root, "--json")["deliveries"]) == 9
    assert len(deliveries_json(host, "list", "--root", root + "~e10000" * 5, "--json")["deliveries"]) == 4
    assert "replayed" in deliveries(host, "replay", deepest).stdout.decode()
    wait_until(lambda: listed(host)[deepest]["attempt"] == 2 and state_of(host, deepest) == "dead", 30, what="replayed")


CHILDREN = 300
PARENT = """#!/bin/sh
cat > /dev/null
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT" >> "$OUT/runs.log"
i=1; while [ $i -le {n} ]; do echo '{{"type":"app.x","data":{{"i":'$i'}}}}'; i=$((i+1)); done > "$HOOKHOST_EMIT"
touch "$OUT/$HOOKHOST_DELIVERY_ID.$HOOKHOST_ATTEMPT.exited"
"""


def test_kill9_between_a_parents_exit_and_its_commit_loses_no_child_and_stores_none_twice(make_host, fns):
    """Parents emitting 300 events each, the host killed (-9) a few milliseconds after one of
    them exits, when the host is reading its file or committing it, eight times. Every parent
    ends done with exactly its 300 children, each listed once; and each parent's events were
    committed once: the `emitted` line (logged once the commit is durable) appears at most once
    per parent over all starts — a parent whose commit was durable never ran again."""
    seed = random.SystemRandom().randrange(1, 2**31)
    print(f"seed {seed}")
    rng = random.Random(seed)
    fns.add_script("ping", PARENT.format(n=CHILDREN), sidecar=NO_FETCH)  # no app.x: children are skipped, quickly
    host = make_host(extra_args=["--workers", "4"])
    parents = []
    for rnd in range(9):
        if rnd > 0:
            host.start(["--workers", "4"])
        mine = [f"k{rnd}-{i}" for i in range(3)]
        for pid in mine:
            try:
                if host.send(event_body("ping"), msg_id=pid, timeout=10).status == 202:
                    parents.append(pid)
            except OSError:
                pass
        if rnd < 8:
            wait_until(lambda: any(fns.out.glob(f"k{rnd}-*.exited")), 60, interval=0.002, what="a parent exited")
            subprocess.run(["sleep", f"{rng.uniform(0, 0.04):.3f}"], check=True)
            host.kill9()
    final = None

    def drained():
        nonlocal final
        final = deliveries_json(host, "list", "--json")["deliveries"]
        return len(final) >= len(parents) * (CHILDREN + 1) and all(d["state"] in ("done", "skipped") for d in final)

    wait_until(drained, 300, interval=0.5, what="every parent done and every child skipped")
    ids = [d["id"] for d in final]
    assert len(ids) == len(set(ids)), "an id listed twice"
    for p in parents:
        assert sorted(i for i in ids if i.startswith(p + "~")) == sorted(f"{p}~e{n}" for n in range(1, CHILDREN + 1)), p
    # logged once the commit is durable (a kill can come between the two, so some are missing)
    emitted = [json.loads(ln)["id"] for ln in host.all_logs().splitlines() if '"msg":"emitted"' in ln]
    assert len(emitted) == len(set(emitted)) and set(emitted) <= set(parents), "a parent's events committed twice"
    rerun = [p for p in parents if sum(1 for i, _ in run_order(fns) if i == p) > 1]
    print(f"{len(parents)} parents, {len(rerun)} ran again after a kill: {rerun}")


def test_power_cut_during_a_1000_child_fan_out_keeps_all_or_none_and_the_same_ids(make_host, fns, tmp_path):
    """The data directory on lazyfs (unsynced writes live in its memory): the power is cut a few
    milliseconds after a parent emitting 1 000 events exits, three times. After each restart a
    parent is either done with all 1 000 children, each once, or not done and runs again,
    emitting the same ids; in the end every parent has exactly its 1 000."""
    seed = random.SystemRandom().randrange(1, 2**31)
    print(f"seed {seed}")
    rng = random.Random(seed)
    fns.add_script("ping", PARENT.format(n=1000), sidecar=NO_FETCH)  # children are skipped (no app.x)
    root = tmp_path / "pc"
    host = make_host(start=False, root=root)
    from durability_lib import LazyFS
    fs = LazyFS(root / "backing", host.data)
    try:
        try:
            fs.mount()
        except OSError as e:
            pytest.skip(f"cannot mount lazyfs: {e}")
        parents = []
        for rnd in range(4):
            host.start()
            if rnd > 0:
                # after the cut: each earlier parent is done with all its children, or none
                for p in parents:
                    doc = deliveries_json(host, "list", "--root", p, "--json")["deliveries"]
                    kids = [d["id"] for d in doc if d["id"] != p]
                    assert doc[0]["id"] == p and len(kids) == len(set(kids)) and set(kids) <= {f"{p}~e{n}" for n in range(1, 1001)}
                    # done only with every child (a parent run again may be committing meanwhile)
                    assert doc[0]["state"] != "done" or len(kids) == 1000, (p, len(kids))
            pid = f"pc{rnd}"
            assert host.send(event_body("ping"), msg_id=pid, timeout=30).status == 202
            parents.append(pid)
            if rnd < 3:
                wait_until(lambda: (fns.out / f"{pid}.1.exited").exists(), 60, interval=0.002, what="the parent exited")
                subprocess.run(["sleep", f"{rng.uniform(0, 0.3):.3f}"], check=True)
                os.kill(host.pid, 9)
                fs.cut()
                host.stop(9)
                fs.mount()
        for p in parents:
            wait_until(lambda: len(deliveries_json(host, "list", "--root", p, "--json")["deliveries"]) == 1001, 120,
                       interval=0.5, what=f"all children of {p}")
        final = deliveries_json(host, "list", "--json")["deliveries"]
        ids = [d["id"] for d in final]
        assert len(ids) == len(set(ids))
        for p in parents:
            assert sorted(i for i in ids if i.startswith(p + "~")) == sorted(f"{p}~e{n}" for n in range(1, 1001))
        rerun = [p for p in parents if sum(1 for i, _ in run_order(fns) if i == p) > 1]
        print(f"{len(parents)} parents, {len(rerun)} ran again after a power cut: {rerun}")
    finally:
        host.stop(9)
        fs.cut()


def run_order(fns):
    """(id, attempt) per run in the order the runs started (each appended one short line)."""
    p = fns.out / "runs.log"
    return [tuple(ln.split(" ")) for ln in p.read_text().splitlines() if ln.count(" ") == 1] if p.exists() else []


def test_a_damaged_batch_record_gives_up_none_of_its_records(make_host, fns):
    """A damaged sector in the record that holds a parent's done and its children: recovery
    keeps none of them (the nested frames are never taken for records of the log's own), so the
    parent runs again — here it then answers "not ready", and no child exists at all."""
    fns.add("ping", code='$(if [ "$HOOKHOST_ATTEMPT" -gt 1 ]; then echo 75; else echo 0; fi)',
            extra=emitter("\n".join(json.dumps({"type": "app.x", "data": {"i": i}}) for i in range(5))), sidecar=NO_FETCH)
    fns.add("app.x")
    host = make_host()
    host.send(event_body("ping"), msg_id="torn")
    wait_until(lambda: all(state_of(host, f"torn~e{i}") == "done" for i in range(1, 6)), 20, what="children done")
    host.stop()
    log = host.data / "spool.log"
    data = bytearray(log.read_bytes())
    meta = data.find(b'{"k":"b","n":6}')
    assert meta > 16, "no batch record"
    start = meta - 16  # magic, length, crc, meta length
    assert data[start:start + 4] == b"HHK1"
    (length,) = struct.unpack_from("<I", data, start + 4)
    data[start + 12 + length // 2] ^= 0xFF  # one byte in the middle: inside some child's frame
    log.write_bytes(bytes(data))
    host.start()
    assert "spool: skipped damaged or torn bytes" in host.log_text()
    fns.wait_run("torn", attempt=2)
    wait_until(lambda: state_of(host, "torn") == "retry_scheduled", 20, what="parent not ready")
    assert children_of(host, "torn") == []


CRC32C_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    CRC32C_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = CRC32C_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def frame(meta: dict, body: bytes) -> bytes:
    """One spool record as README "On-disk format" describes it (written here, not by hookhost)."""
    m = json.dumps(meta, separators=(",", ":")).encode()
    payload = struct.pack("<I", len(m)) + m + body
    length = struct.pack("<I", len(payload))
    return b"HHK1" + length + struct.pack("<I", crc32c(length + payload)) + payload


def test_a_delivery_recorded_before_heads_existed_is_routed_by_its_user_metadata(make_host, fns):
    """A spool written by hand as a build from before heads wrote it: no head in the record and
    the legacy type `batch.completed`. Recovery reads the head from the body once, so the route
    on user_metadata applies and the function sees the canonical type."""
    fns.add("batch.succeeded", sidecar=NO_FETCH)
    fns.add("nightly", sidecar={"on": ["batch.succeeded"], "match": {"job_group": "nightly"}, "fetch": False})
    host = make_host(start=False)
    body = json.dumps({"type": "batch.completed", "data": {"id": "batches/old", "user_metadata": {"job_group": "nightly"}}},
                      separators=(",", ":")).encode()
    (host.data / "spool.log").write_bytes(frame({"k": "d", "id": "old1", "type": "batch.completed", "at": time.time(), "vb": "hmac"}, body))
    host.start()
    run = fns.wait_run("old1")
    assert run.function == "nightly"
    doc = run.stdin_json()
    assert doc["type"] == "batch.succeeded" and doc["user_metadata"] == {"job_group": "nightly"}

