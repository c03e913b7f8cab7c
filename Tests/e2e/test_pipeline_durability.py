"""Emitted events under crashes (issue 20, "Show"): a parent's children and its
`done` are one spool record, so after a kill -9 or a power cut either the parent is done and every
child is stored, or neither and the parent runs again, emitting the same ids.

How it is checked, from outside the host:
- Every function run appends "<id> <attempt>" to a log in the test's `out` directory at its end
  (O_APPEND, one write). That directory is not the data directory: a kill -9 does not touch it
  and the power cut (lazyfs) only wipes the data directory's unsynced bytes, so the logs hold every
  run that happened, without an fsync of their own.
- After every kill or cut, with the host down, `hookhost deliveries list --json --data DIR` reads
  the spool as the next start will: what it shows done is durably done. From then on such a
  delivery must never run again (no logged run with a higher attempt) and must stay done at that
  attempt, and each snapshot must be all-or-nothing per parent (done with all N children stored,
  or not done and no child stored).
- Attempts per id are distinct (the start record is durable before a function starts, so a run cut
  short is followed by attempt + 1): runs never exceed attempts.

Every wait is bounded, only 127.0.0.1, no assertion about how fast anything happened.
"""
from __future__ import annotations

import json
import os
import random
import re
import select
import signal
import time
from collections import defaultdict
from pathlib import Path

import pytest

from durability_lib import APPEND_HANDLER, LazyFS, deliveries, read_pairs, show, wait_drained
from hostlib import event_body, wait_until

SEED = int(os.environ.get("HOOKHOST_E2E_SEED", "0")) or random.SystemRandom().randrange(1, 2**31)

# A parent: N children written to $HOOKHOST_EMIT, its run logged, and as its last act (the host
# sees it exit right after) a line to the test through a FIFO: the test wakes at once, where polling
# a file would see the exit too late to land a kill before the commit. Once the test stops
# listening it removes the FIFO, and the line goes to a plain file instead of blocking.
# `{after}` runs after the events are written (the power-cut test holds a run there).
PARENT = """#!/bin/sh
cat > /dev/null
i=1
while [ $i -le {n} ]; do
  echo '{{"type":"app.child","data":{{"i":'$i'}}}}'
  i=$((i + 1))
done > "$HOOKHOST_EMIT"
{after}
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT" >> "$OUT/parents.log"
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT" > "$OUT/exits.fifo"
"""

# Holds a run (bounded: 60 s) while $OUT/hold.<id>.<attempt> exists: the parent has written its
# events but not exited, so its `done` cannot have been committed.
HOLD = """h="$OUT/hold.$HOOKHOST_DELIVERY_ID.$HOOKHOST_ATTEMPT"
if [ -e "$h" ]; then
  echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT" >> "$OUT/holding.log"
  k=0
  while [ -e "$h" ] && [ $k -lt 600 ]; do sleep 0.1; k=$((k + 1)); done
fi"""

CHILD_ID = re.compile(r"^(?P<parent>.+)~e(?P<line>[1-9][0-9]*)$")


class Exits:
    """The read end of $OUT/exits.fifo, where parents announce their exit."""

    def __init__(self, out: Path):
        self.path = out / "exits.fifo"
        os.mkfifo(self.path)
        # Held for the whole test, so a parent's open for writing never waits; read-write, so the
        # FIFO always has a writer and select() waits for data instead of reporting EOF at once.
        self.fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)
        self.buf = b""

    def drain(self):
        self._read(0)
        self.buf = b""

    def _read(self, timeout: float) -> bool:
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except BlockingIOError:
            return False
        self.buf += chunk
        return bool(chunk)

    def wait(self, k: int, timeout: float, what: str) -> list[str]:
        """The next k exit lines (bounded by timeout)."""
        deadline = time.monotonic() + timeout
        while self.buf.count(b"\n") < k:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            self._read(min(left, 0.5))
        lines = self.buf.split(b"\n")
        self.buf = b"\n".join(lines[k:])
        return [ln.decode() for ln in lines[:k]]

    def wait_for(self, msg_id: str, timeout: float) -> str:
        """Until the exit of msg_id (bounded): its line."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.wait(1, max(0.0, deadline - time.monotonic()), what=f"{msg_id} to exit")[0]
            if line.split(" ")[0] == msg_id:
                return line

    def close(self):
        self.path.unlink()  # first: a parent opening it now creates a plain file, never blocks
        os.close(self.fd)


@pytest.fixture
def exits(fns):
    e = Exits(fns.out)
    yield e
    e.close()


@pytest.fixture
def rng():
    print(f"pipeline durability RNG seed: {SEED} (re-run with HOOKHOST_E2E_SEED={SEED})")
    return random.Random(SEED)


def spool_list(host) -> list[dict]:
    """`deliveries list --json` as the raw list (duplicates would show), server up or down."""
    doc = json.loads(deliveries(host, "list", "--json", timeout=120).stdout)
    return doc["deliveries"]


def unique_by_id(rows: list[dict], when: str) -> dict[str, dict]:
    ids = [d["id"] for d in rows]
    twice = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    assert not twice, f"{when}: ids stored twice: {twice[:10]}"
    return {d["id"]: d for d in rows}


class Ledger:
    """What the test knows about the spool across kills: the sent parents, what each offline
    snapshot showed durably done, and the checks every snapshot and the final state must pass."""

    def __init__(self, children_per_parent: int):
        self.n = children_per_parent
        self.parents: set[str] = set()
        self.durable_done: dict[str, int] = {}  # id -> attempt it was first seen durably done at

    def children_of(self, parent: str) -> set[str]:
        return {f"{parent}~e{k}" for k in range(1, self.n + 1)}

    def check_spool(self, rows: list[dict], when: str) -> dict[str, dict]:
        """Unique ids, well-formed child ids, and all-or-nothing per parent; remembers what is done."""
        spool = unique_by_id(rows, when)
        kids: dict[str, set[str]] = defaultdict(set)
        for i in spool:
            if i in self.parents:
                continue
            m = CHILD_ID.match(i)
            assert m and m["parent"] in self.parents and 1 <= int(m["line"]) <= self.n, f"{when}: unexpected id {i!r}"
            kids[m["parent"]].add(i)
        for p in self.parents:
            d = spool.get(p)
            if d is not None and d["state"] == "done":
                # line numbers were checked above, so nothing but the N expected ids can be there
                missing = self.children_of(p) - kids[p]
                assert not missing, f"{when}: {p} is done but {len(missing)} of its children are not stored, e.g. {sorted(missing)[:5]}"
            else:
                assert not kids[p], f"{when}: {p} is {d and d['state']} yet {len(kids[p])} of its children are stored"
        for i, d in spool.items():
            if d["state"] != "done":
                assert i not in self.durable_done, f"{when}: {i} was durably done at attempt {self.durable_done[i]}, now {d}"
                continue
            first = self.durable_done.setdefault(i, d["attempt"])
            assert d["attempt"] == first, f"{when}: {i} was durably done at attempt {first}, now done at {d['attempt']} (it ran again)"
        return spool

    def check_runs(self, runs: list[tuple[str, int]], spool: dict[str, dict], what: str):
        """Per id: distinct attempts (runs <= attempts), the last run is the one recorded done, and
        nothing ran past an attempt that was seen durably done."""
        by_id: dict[str, list[int]] = defaultdict(list)
        for i, a in runs:
            by_id[i].append(a)
        for i, attempts in by_id.items():
            assert i in spool, f"{what} {i} ran but is not stored"
            assert len(set(attempts)) == len(attempts), f"{what} {i} ran twice with one attempt: {attempts}"
            d = spool[i]
            assert max(attempts) <= d["attempt"], f"{what} {i} ran with attempts {attempts}, the spool says {d['attempt']}"
            if i in self.durable_done:
                late = [a for a in attempts if a > self.durable_done[i]]
                assert not late, f"{what} {i} ran again (attempts {late}) after it was durably done at attempt {self.durable_done[i]}"
        for i, d in spool.items():
            if d["state"] == "done":
                assert d["attempt"] in by_id.get(i, []), f"{what} {i} is done at attempt {d['attempt']} but that run is not logged: {by_id.get(i)}"


def count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def final_checks(host, fns, ledger: Ledger, args: list[str]):
    """Drain, then the promises; a clean restart after that runs nothing again."""
    wait_drained(host, timeout=240)
    final = ledger.check_spool(spool_list(host), "final")
    not_done = {p: final.get(p, {}).get("state") for p in ledger.parents if final.get(p, {}).get("state") != "done"}
    assert not not_done, f"parents not done: {dict(list(not_done.items())[:10])}"
    for p in ledger.parents:
        children = {i for i in final if i.startswith(p + "~e")}
        assert children == ledger.children_of(p), f"{p}: {len(children)} children stored, {ledger.n} expected"
        bad = [c for c in children if final[c]["state"] != "done"]
        assert not bad, f"{p}: children not done: {[(c, final[c]['state']) for c in bad[:5]]}"
    parent_runs = read_pairs(fns.out / "parents.log")
    child_runs = read_pairs(fns.out / "children.log")
    ledger.check_runs(parent_runs, {i: d for i, d in final.items() if i in ledger.parents}, "parent")
    ledger.check_runs(child_runs, {i: d for i, d in final.items() if i not in ledger.parents}, "child")

    # A clean restart: nothing runs again (bounded: a fresh parent runs with its children, then
    # the queue is empty and the logs hold nothing else new).
    assert host.stop() == 0, host.log_tail()
    host.start(args)
    sentinel = "sentinel"
    ledger.parents.add(sentinel)
    assert host.send(event_body("fan", {"id": sentinel}), type_="fan", msg_id=sentinel).status == 202
    chain = {sentinel} | ledger.children_of(sentinel)

    def sentinel_done():
        spool = spool_index(host)
        return all(spool.get(i, {}).get("state") == "done" for i in chain)

    wait_until(sentinel_done, 120, interval=0.5, what="the sentinel parent and its children to be done")
    wait_drained(host, timeout=60)
    again = [r for r in read_pairs(fns.out / "parents.log")[len(parent_runs):] if r[0] != sentinel]
    again += [r for r in read_pairs(fns.out / "children.log")[len(child_runs):] if not r[0].startswith(sentinel + "~")]
    assert not again, f"ran again after a clean restart: {again[:10]}"
    ledger.check_spool(spool_list(host), "after a clean restart")
    return final


def spool_index(host) -> dict[str, dict]:
    return {d["id"]: d for d in spool_list(host)}


# =============================================================================================
# 1. kill -9 between a parent's exit and the commit, many times, under load

KILLS_MIN, KILLS_MAX, HITS_WANTED = 20, 25, 3
PARENTS_PER_ROUND = 8
CHILDREN = 20


def test_kill9_between_a_parents_exit_and_its_commit_loses_and_doubles_nothing(make_host, fns, rng, exits):
    fns.add_script("fan", PARENT.format(n=CHILDREN, after=""))
    fns.add_script("app.child", APPEND_HANDLER.format(log="children.log"))
    # Many attempts: each kill that lands in a run costs that run an attempt; none may go dead here.
    args = ["--workers", "4", "--max-attempts", "100"]
    host = make_host(start=False)
    plog = fns.out / "parents.log"
    ledger = Ledger(CHILDREN)
    kills = hits = 0
    landed: set[tuple[str, int]] = set()
    # Bounded: at least KILLS_MIN kills, more (up to KILLS_MAX) until HITS_WANTED of them landed
    # between a parent's last act and its commit (seen afterwards: logged, yet not done on disk).
    while kills < KILLS_MIN or (hits < HITS_WANTED and kills < KILLS_MAX):
        host.start(args)
        exits.drain()  # lines from the last life's functions
        batch = [f"p{kills:02d}-{k}" for k in range(PARENTS_PER_ROUND)]
        ledger.parents.update(batch)
        for p in batch:
            r = host.send(event_body("fan", {"id": p}), type_="fan", msg_id=p)
            assert r.status == 202, (p, r)
        # The kill: a random number of this round's parents after they exited, plus a random
        # delay, while the other parents and the children of earlier rounds run.
        k = rng.randrange(1, PARENTS_PER_ROUND + 1)
        exits.wait(k, 60, what=f"{k} parents to exit in round {kills}")
        delay = rng.choice([0, 0, rng.uniform(0, 0.002), rng.uniform(0, 0.01)])
        if delay:
            time.sleep(delay)
        # Read before the kill: its functions outlive the host (killed at its next start), and a
        # parent logging after the kill did not exit before it.
        logged = read_pairs(plog)
        assert host.running, f"hookhost died on its own:\n{host.log_tail()}"
        host.kill9()
        kills += 1
        spool = ledger.check_spool(spool_list(host), f"after kill {kills}")
        # A parent whose latest run had logged its exit while the spool has that attempt not
        # done (the offline view shows an interrupted run as retry_scheduled): the kill landed
        # between the run's last act and its commit.
        latest: dict[str, int] = {}
        for i, a in logged:
            latest[i] = max(a, latest.get(i, 0))
        new = sorted((i, a) for i, a in latest.items() if (i, a) not in landed
                     and spool.get(i, {}).get("state") != "done" and spool.get(i, {}).get("attempt") == a)
        landed.update(new)
        hits += bool(new)
        print(f"kill {kills} ({k} exits + {delay * 1000:.1f} ms): {len(latest)} parents ran, {len(new)} more exited without a durable done: {new[:4]}")

    host.start(args)
    final = final_checks(host, fns, ledger, args)
    parent_runs = read_pairs(plog)
    reran = sorted({i for i, a in parent_runs if a > 1 and i in ledger.parents})
    print(f"{kills} kills, {hits} between a parent's exit and its commit ({len(landed)} runs); {len(ledger.parents)} parents, "
          f"{len(final) - len(ledger.parents)} children; parents run again after a kill: {len(reran)}")
    assert hits >= HITS_WANTED, f"only {hits} kills of {kills} landed between a parent's exit and its commit (seed {SEED})"


# =============================================================================================
# 2. Power cuts during a 1,000-child fan-out

FANOUT = 1000


def cut_power(host, fs: LazyFS):
    """The host and the filesystem's unsynced data go at once; the filesystem comes back."""
    os.kill(host.pid, signal.SIGKILL)
    fs.cut()
    host.stop(signal.SIGKILL)
    fs.mount()


def test_power_cuts_during_a_thousand_child_fan_out(make_host, fns, tmp_path, rng, exits):
    fns.add_script("fan", PARENT.format(n=FANOUT, after=HOLD))
    fns.add_script("app.child", APPEND_HANDLER.format(log="children.log"))
    args = ["--workers", "2", "--max-attempts", "100"]
    root = tmp_path / "pc"
    host = make_host(start=False, root=root)
    fs = LazyFS(root / "backing", host.data)
    try:
        fs.mount()
    except OSError as e:
        pytest.skip(f"cannot mount lazyfs: {e}")
    clog, plog = fns.out / "children.log", fns.out / "parents.log"

    def children_run(parent: str) -> int:
        try:
            return clog.read_bytes().count(f"{parent}~e".encode())
        except FileNotFoundError:
            return 0

    ledger = Ledger(FANOUT)
    try:
        # Where each cut lands; every round sends one more 1,000-child parent.
        plan = ["parent holding (events written, not exited)", "0-10 ms after the parent exits",
                "10-60 ms after the parent exits", "early in its fan-out", "late in its fan-out"]
        uncommitted: dict[str, int] = {}  # parent -> its attempt on disk at the cut
        for rnd, when in enumerate(plan):
            host.start(args)
            exits.drain()
            p = f"fan{rnd}"
            ledger.parents.add(p)
            if rnd == 0:
                (fns.out / f"hold.{p}.1").touch()
            before = count_lines(clog)
            assert host.send(event_body("fan", {"id": p}), type_="fan", msg_id=p).status == 202
            if rnd == 0:
                wait_until(lambda: (p, 1) in read_pairs(fns.out / "holding.log"), 60, what=f"{p} to hold")
            elif rnd in (1, 2):
                exits.wait_for(p, 60)
                time.sleep(rng.uniform(0, 0.01) if rnd == 1 else rng.uniform(0.01, 0.06))
            else:
                # its own children: those of earlier rounds' parents run first
                k = rng.randrange(1, 300) if rnd == 3 else rng.randrange(500, 900)
                wait_until(lambda: children_run(p) >= k or not host.running, 120, interval=0.005,
                           what=f"{k} children of {p} to run")
            assert host.running, f"hookhost died on its own:\n{host.log_tail()}"
            cut_power(host, fs)
            spool = ledger.check_spool(spool_list(host), f"after cut {rnd + 1} ({when})")
            state = spool.get(p, {}).get("state")
            stored = sum(1 for i in spool if i.startswith(p + "~e"))
            print(f"cut {rnd + 1} ({when}): {p} {state}, {stored} of its children stored, "
                  f"{count_lines(clog) - before} child runs this round")
            if rnd == 0:
                # held with its events written: not committed (offline, an interrupted run shows as retry_scheduled)
                assert state != "done" and stored == 0, (state, stored)
            if state != "done" and spool[p]["attempt"] >= 1:  # it ran (attempt 0: not started yet)
                uncommitted[p] = spool[p]["attempt"]
        assert "fan0" in uncommitted, uncommitted

        host.start(args)
        final = final_checks(host, fns, ledger, args)
        for p, cut_at in uncommitted.items():
            # It ran again after the cut and committed then, with the ids of its lines (final_checks:
            # exactly ~e1 … ~e1000, each once, all done).
            assert final[p]["attempt"] > cut_at, (p, cut_at, final[p])
        # The events behind the ids: child ~ek is line k of its parent's run, whichever run committed.
        for p in sorted(ledger.parents - {"sentinel"}):
            for k in sorted({1, FANOUT, *rng.sample(range(2, FANOUT), 3)}):
                doc, _ = show(host, f"{p}~e{k}")
                stdin = doc["stdin"]
                assert stdin["event"]["data"] == {"i": k}, (p, k, stdin)
                assert stdin["delivery"]["parent"] == p and stdin["delivery"]["verified_by"] == "parent", (p, k, stdin)
        print(f"uncommitted at a cut (attempt on disk), re-run with the same ids: {uncommitted}")
    finally:
        host.stop(signal.SIGKILL)
        fs.cut()
