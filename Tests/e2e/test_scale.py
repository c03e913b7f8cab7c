"""Three replicas behind a real balancer under continuous signed load: scale in with drain and
hand-over, scale out, rolling restart of all — nothing acknowledged is lost, nothing runs twice, and
the sender never sees a 5xx (issue 23, Show). Once with nginx, once with HAProxy, each running its
shipped config (Tests/e2e/lbkit.py substitutes only addresses).

- Replicas are `hookhost serve` processes with their own port and data dir, all sharing
  HOOKHOST_PEER_SECRET, with HOOKHOST_HANDOVER pointing at the balancer.
- The function records every run in one shared log ("replica id attempt exit"). The first run of
  about one delivery in four, on whichever replica, answers exit 75 ("not ready yet"), so at any
  moment some acknowledged deliveries wait for a retry: a leaving replica has something to hand
  over. It ignores SIGTERM (finishes its short run), so a stop never cuts a recorded run short.
- The sender is one thread, paced, one fresh connection per delivery, bounded in count and time. A
  connection error (none expected: the balancer itself never goes away) resends the same id, as a
  real sender would, and such ids are exempt from the no-second-run check.
- Scale in: `hookhost drain --handover <balancer>/hookhost/handover` on replica 3 (exit 0: everything
  finished or handed over), then SIGTERM, then it leaves the balancer (nginx reload; HAProxy runtime
  API). Scale out: a fresh replica takes the free slot. Rolling restart: each replica in turn gets
  SIGTERM (a drain with hand-over within HOOKHOST_SHUTDOWN_GRACE, HOOKHOST_HANDOVER) and restarts on
  its data dir; the next one goes once the balancer sends it deliveries again.
- No timing thresholds: every wait is for an event, bounded.
"""
from __future__ import annotations

import http.client
import json
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from hostlib import Functions, Host, event_body, free_port, new_id, new_secret, signed_headers, wait_until
from lbkit import HAPROXY, HAProxy, Nginx

FN = "scale.test"
SCRIPT = """#!/bin/sh
trap '' TERM
cat >/dev/null
id=$HOOKHOST_DELIVERY_ID
case "$id" in
  *[0-3])
    # The first run anywhere says "not ready yet"; the mark is shared by all replicas.
    if mkdir "{marks}/$id" 2>/dev/null; then
      echo "{i} $id $HOOKHOST_ATTEMPT 75" >> "{log}"
      exit 75
    fi ;;
esac
echo "{i} $id $HOOKHOST_ATTEMPT 0" >> "{log}"
"""


class Fleet:
    def __init__(self, tmp: Path, kind: str):
        self.tmp = tmp
        self.kind = kind
        self.secret = new_secret()
        self.peer_secret = "peer-" + uuid.uuid4().hex + uuid.uuid4().hex
        self.runs_dir = tmp / "runs"
        (self.runs_dir / "marks").mkdir(parents=True)
        self.log = self.runs_dir / "runs.log"
        self.lb_port = free_port()
        self.handover_url = f"http://127.0.0.1:{self.lb_port}/hookhost/handover"
        self.made = 0
        self.slots: dict[int, Host] = {}  # balancer slot (1..3) -> replica in it
        self.all: list[Host] = []
        self.lb = None

    def replica(self) -> Host:
        self.made += 1
        i = self.made
        root = self.tmp / f"replica{i}"
        fns = Functions(root)
        script = fns.dir / FN
        script.write_text(SCRIPT.format(i=i, marks=self.runs_dir / "marks", log=self.log))
        script.chmod(0o755)
        h = Host(root, functions=fns, secrets=[self.secret])
        h.index = i
        self.all.append(h)
        return h

    def env(self) -> dict:
        return {"HOOKHOST_PEER_SECRET": self.peer_secret, "HOOKHOST_HANDOVER": self.handover_url,
                "HOOKHOST_SHUTDOWN_GRACE": "20", "HOOKHOST_LOG": "info"}

    def start(self, h: Host) -> Host:
        return h.start(["--retry-base", "2", "--retry-cap", "4", "--log", "info"], env=self.env())

    def start_balancer(self):
        ports = [self.slots[s].port for s in sorted(self.slots)]
        self.lb = (Nginx(self.tmp / "nginx", ports, port=self.lb_port) if self.kind == "nginx"
                   else HAProxy(self.tmp / "haproxy", ports, port=self.lb_port))

    def set_slot(self, slot: int, h: Host | None):
        if h is None:
            del self.slots[slot]
        else:
            self.slots[slot] = h
        if self.kind == "nginx":
            self.lb.set_replicas([self.slots[s].port for s in sorted(self.slots)])
        elif h is None:
            self.lb.take_out(slot)
        else:
            self.lb.put_in(slot, h.port)

    def runs(self) -> list[tuple[int, str, int, int]]:
        if not self.log.exists():
            return []
        out = []
        for ln in self.log.read_text().splitlines():
            r, i, a, rc = ln.split()
            out.append((int(r), i, int(a), int(rc)))
        return out

    def close(self):
        if self.lb:
            self.lb.stop()
        for h in self.all:
            if h.running:
                h.stop(timeout=40)


def accepted(h: Host) -> float:
    """Deliveries this process acknowledged since it started (its counter starts at 0)."""
    text = h.request("GET", "/metrics", timeout=5).body.decode()
    return sum(float(l.split()[-1]) for l in text.splitlines()
               if l.startswith('hookhost_deliveries_total{outcome="accepted"}'))


def deliveries(h: Host, *args: str) -> list[dict]:
    p = h.cli("deliveries", "list", "--data", str(h.data), "--json", *args)
    assert p.returncode == 0, p.stderr.decode()
    return json.loads(p.stdout)["deliveries"]


class Sender(threading.Thread):
    """Continuous signed load through the balancer, paced, bounded (count and time)."""

    def __init__(self, fleet: Fleet, limit: int = 30000, seconds: float = 150):
        super().__init__(daemon=True)
        self.f = fleet
        self.limit = limit
        self.deadline = time.monotonic() + seconds
        self.stop_flag = threading.Event()
        self.acked: list[str] = []
        self.server_errors: list[tuple[str, int, bytes]] = []
        self.other: list[tuple[str, int]] = []
        self.resent: set[str] = set()

    def post(self, msg_id: str) -> tuple[int, bytes]:
        body = event_body(FN, {"id": msg_id})
        headers = {**signed_headers(self.f.secret, msg_id, body), "content-type": "application/json"}
        for _ in range(5):
            c = http.client.HTTPConnection("127.0.0.1", self.f.lb_port, timeout=30)
            try:
                c.request("POST", "/webhooks", body, headers)
                r = c.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                self.resent.add(msg_id)
            finally:
                c.close()
        return 0, b"connection errors"

    def run(self):
        while not self.stop_flag.is_set() and len(self.acked) < self.limit and time.monotonic() < self.deadline:
            msg_id = new_id("scale")
            status, body = self.post(msg_id)
            if status in (200, 202):
                self.acked.append(msg_id)
            elif status >= 500:
                self.server_errors.append((msg_id, status, body[:200]))
            else:
                self.other.append((msg_id, status))
            time.sleep(0.005)  # pacing, so the replicas' two workers keep up with the load

    def wait_acked(self, n: int, what: str):
        target = len(self.acked) + n
        wait_until(lambda: len(self.acked) >= target or not self.is_alive(), 60, what=what)
        assert self.is_alive(), "the sender stopped early"

    def finish(self):
        self.stop_flag.set()
        self.join(60)
        assert not self.is_alive()


def wait_in_rotation(h: Host, what: str):
    """The balancer sends this replica deliveries again (its own counter, since its start)."""
    wait_until(lambda: accepted(h) > 0, 60, interval=0.1, what=what)


@pytest.fixture(params=["nginx", "haproxy"])
def fleet(request, tmp_path):
    if request.param == "nginx" and shutil.which("nginx") is None:
        pytest.skip("nginx is not installed (scripts/install-deps.sh installs it)")
    if request.param == "haproxy" and HAPROXY is None:
        pytest.skip("haproxy is not installed (scripts/install-deps.sh installs it)")
    f = Fleet(tmp_path, request.param)
    yield f
    f.close()


def test_scale_in_out_and_rolling_restart_under_load_lose_nothing_and_show_no_5xx(fleet):
    f = fleet
    for slot in (1, 2, 3):
        f.slots[slot] = f.start(f.replica())
    f.start_balancer()
    sender = Sender(f)
    sender.start()
    try:
        sender.wait_acked(200, "load flowing through the balancer")

        # Scale in: replica 3 drains and hands everything over through the balancer, then stops
        # and leaves the balancer's configuration.
        leaving = f.slots[3]
        before = len(deliveries(leaving))
        p = leaving.cli("drain", "--handover", f.handover_url, "--wait", "10", "--data", str(leaving.data), timeout=90)
        assert p.returncode == 0, (p.stdout.decode(), p.stderr.decode())
        assert leaving.stop(sig=signal.SIGTERM, timeout=40) == 0
        f.set_slot(3, None)
        left = deliveries(leaving)
        unfinished = [d for d in left if d["state"] not in ("done", "skipped", "dead", "handed_over")]
        assert unfinished == [], unfinished[:5]
        handed = [d for d in left if d["state"] == "handed_over"]
        print(f"{f.kind}: scale-in: replica {leaving.index} had {before} deliveries, handed over "
              f"{len(handed)}; drain said: {p.stdout.decode().strip().splitlines()[-1:]}")
        sender.wait_acked(200, "load on two replicas")

        # Scale out: a fresh replica takes the free slot.
        fresh = f.start(f.replica())
        f.set_slot(3, fresh)
        wait_in_rotation(fresh, "the new replica receiving deliveries")

        # Rolling restart: SIGTERM (drain + hand-over within the grace), back on the same data dir.
        for slot in (1, 2, 3):
            h = f.slots[slot]
            assert h.stop(sig=signal.SIGTERM, timeout=40) == 0, h.log_tail()
            f.start(h)
            wait_in_rotation(h, f"replica {h.index} back in rotation after its restart")
        sender.wait_acked(100, "load after the rolling restart")
    finally:
        sender.finish()

    assert sender.server_errors == [], f"the sender saw 5xx: {sender.server_errors[:10]}"
    assert sender.other == [], sender.other[:10]
    acked = set(sender.acked)

    def completed() -> dict[str, list[int]]:
        done: dict[str, list[int]] = {}
        for replica, msg_id, _attempt, rc in f.runs():
            if rc == 0:
                done.setdefault(msg_id, []).append(replica)
        return done
    try:
        wait_until(lambda: acked <= set(completed()), 60, interval=0.2,
                   what=f"all {len(acked)} acknowledged deliveries to complete")
    except TimeoutError:
        missing = sorted(acked - set(completed()))
        where = {i: [(h.index, d["state"], d.get("error")) for h in f.all for d in deliveries(h) if d["id"] == i]
                 for i in missing[:10]}
        raise AssertionError(f"{len(missing)} acknowledged deliveries never completed; where they are: {where}") from None
    done = completed()
    twice = {i: r for i, r in done.items() if len(r) > 1 and i not in sender.resent}
    assert twice == {}, f"ran to completion more than once: {list(twice.items())[:10]}"
    retried_elsewhere = sum(1 for _, i, _, rc in f.runs() if rc == 75)
    moved = {i for i in acked if len({r for r, j, _, _ in f.runs() if j == i}) > 1}
    print(f"{f.kind}: {len(acked)} acknowledged, all completed exactly once; {len(sender.resent)} resent "
          f"after a connection error; {retried_elsewhere} answered exit 75 first; {len(moved)} ran "
          f"their attempts on two replicas (handed over)")
    assert moved, "some deliveries waiting for a retry were handed over and finished elsewhere"


def test_a_delivery_handed_back_to_the_replica_it_came_from_runs(tmp_path):
    """A rolling restart hands over in both directions: A leaves and hands X to B; A comes back; B
    leaves and, X's id hashing to A again, hands X back to A. A knows X only as `handed_over` (it
    gave it away): it must take X again (202) and run it — answering "duplicate" would let B mark X
    handed over too, and X, acknowledged to its sender, would never run anywhere."""
    peer_secret = "peer-" + uuid.uuid4().hex + uuid.uuid4().hex
    env = {"HOOKHOST_PEER_SECRET": peer_secret}
    secret = new_secret()
    a = Host(tmp_path / "a", secrets=[secret])
    b = Host(tmp_path / "b", secrets=[secret])
    for h in (a, b):
        h.functions.add(FN)
    # X waits on A (paused there), then on B (paused there too), so it is unfinished at each drain.
    for h in (a, b):
        p = h.cli("functions", "pause", FN, "--data", str(h.data), "--functions", str(h.functions.dir))
        assert p.returncode == 0, p.stderr.decode()
    try:
        a.start(env=env)
        b.start(env=env)
        r = a.send(type_=FN)
        assert r.status == 202
        x = r.msg_id
        p = a.cli("drain", "--handover", f"http://127.0.0.1:{b.port}/hookhost/handover", "--wait", "0",
                  "--data", str(a.data), timeout=60)
        assert p.returncode == 0, (p.stdout.decode(), p.stderr.decode())
        assert a.stop() == 0
        p = a.cli("functions", "resume", FN, "--data", str(a.data), "--functions", str(a.functions.dir))
        assert p.returncode == 0, p.stderr.decode()
        a.start(env=env)  # back, on its data: X is `handed_over` here
        p = b.cli("drain", "--handover", f"http://127.0.0.1:{a.port}/hookhost/handover", "--wait", "0",
                  "--data", str(b.data), timeout=60)
        assert p.returncode == 0, (p.stdout.decode(), p.stderr.decode())
        assert [d["state"] for d in deliveries(b) if d["id"] == x] == ["handed_over"]
        a.functions.wait_run(x, timeout=20)
    finally:
        for h in (a, b):
            if h.running:
                h.stop()
