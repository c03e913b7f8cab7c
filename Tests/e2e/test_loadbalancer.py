"""Three replicas behind a real nginx hashing on `webhook-id` (issue 10, Build 3; CONTRACT §7 scale-out).

The nginx is Debian's, running the shipped container/nginx.conf with only the upstream addresses and
the listen port substituted. Each replica is a `hookhost serve` process with its own port, data dir
and functions dir; its function records "replica N ran id X", so the test sees where each id went.
"""
from __future__ import annotations

import http.client
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from hostlib import REPO_ROOT, Functions, Host, event_body, free_port, new_id, new_secret, signed_headers, wait_until

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None,
                                reason="nginx is not installed (scripts/install-deps.sh installs it)")


class Balancer:
    """nginx with container/nginx.conf, pointed at local replicas."""

    def __init__(self, root: Path, ports: list[int]):
        self.root = root
        self.port = free_port()
        conf = (REPO_ROOT / "container/nginx.conf").read_text()
        servers = iter(ports)
        conf, n = re.subn(r"server hookhost-\d:8080", lambda m: f"server 127.0.0.1:{next(servers)}", conf)
        assert n == len(ports)
        conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{self.port};")
        conf = conf.replace("worker_processes auto;", "worker_processes 1;")
        (root / "logs").mkdir(parents=True, exist_ok=True)
        self.conf = root / "nginx.conf"
        self.conf.write_text(conf)
        self.proc = subprocess.Popen(["nginx", "-p", str(root), "-c", str(self.conf), "-g",
                                      f"daemon off; user root; pid {root}/nginx.pid; error_log {root}/logs/error.log;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(self.up, 10, what="nginx listening")

    def up(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError("nginx exited: " + self.proc.stderr.read().decode())
        try:
            # Only /webhooks is passed on: a GET there reaches a replica, which answers 405.
            return self.get("/webhooks")[0] == 405
        except OSError:
            return False

    def get(self, path: str):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Fleet:
    def __init__(self, tmp: Path):
        self.secret = new_secret()
        self.out = tmp / "runs"
        self.out.mkdir()
        self.replicas: list[Host] = []
        for i in range(3):
            root = tmp / f"replica{i}"
            root.mkdir()
            fns = Functions(root)
            fns.dir.mkdir(parents=True, exist_ok=True)
            script = fns.dir / "lb.test"
            # One line per run, appended atomically (O_APPEND, one short write).
            script.write_text(f'#!/bin/sh\ncat >/dev/null\necho "{i} $HOOKHOST_DELIVERY_ID" >> {self.out}/runs.log\n')
            script.chmod(0o755)
            h = Host(root, functions=fns, secrets=[self.secret])
            self.replicas.append(h)
        for h in self.replicas:
            h.start()
        self.lb = Balancer(tmp / "nginx", [h.port for h in self.replicas])
        self.conn: http.client.HTTPConnection | None = None

    def send(self, msg_id: str) -> int:
        """POSTs one signed delivery through nginx (keep-alive); the status, or 0 on a connection error."""
        body = event_body("lb.test", {"id": msg_id})
        headers = {**signed_headers(self.secret, msg_id, body), "content-type": "application/json"}
        for _ in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.lb.port, timeout=10)
                self.conn.request("POST", "/webhooks", body, headers)
                r = self.conn.getresponse()
                r.read()
                return r.status
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
        return 0

    def runs(self) -> list[tuple[int, str]]:
        f = self.out / "runs.log"
        if not f.exists():
            return []
        return [(int(a), b) for a, b in (l.split() for l in f.read_text().splitlines() if l.strip())]

    def where(self) -> dict[str, set[int]]:
        placed: dict[str, set[int]] = {}
        for replica, msg_id in self.runs():
            placed.setdefault(msg_id, set()).add(replica)
        return placed

    def wait_ran(self, ids, timeout=30):
        wait_until(lambda: set(ids) <= set(self.where()), timeout, what=f"{len(ids)} runs")

    def close(self):
        if self.conn:
            self.conn.close()
        self.lb.stop()
        for h in self.replicas:
            if h.running:
                h.stop(timeout=15)


@pytest.fixture
def fleet(tmp_path):
    f = Fleet(tmp_path)
    yield f
    f.close()


def test_spread_stickiness_failover_and_rolling_restart(fleet):
    f = fleet
    # 1. Load spreads over the three replicas.
    ids = [new_id("lb") for _ in range(300)]
    assert [f.send(i) for i in ids] == [202] * 300
    f.wait_ran(ids)
    placed = f.where()
    per_replica = [sum(1 for i in ids if placed[i] == {r}) for r in range(3)]
    assert sum(per_replica) == 300, "every id ran on exactly one replica"
    assert min(per_replica) >= 30, per_replica
    print(f"spread over 3 replicas: {per_replica}")

    # 2. Every retry of an id reaches the replica that has it: a duplicate, never a second run.
    retries = ids[:100]
    assert [f.send(i) for i in retries + retries] == [200] * 200
    time.sleep(0.5)
    assert len(f.runs()) == 300

    # 3. A replica killed: the others keep serving; its ids are accepted elsewhere (at least once).
    victim = 1
    f.replicas[victim].kill9()
    fresh = [new_id("lb") for _ in range(100)]
    assert [f.send(i) for i in fresh] == [202] * 100, "nginx fails over to the live replicas"
    f.wait_ran(fresh)
    assert all(victim not in f.where()[i] for i in fresh)
    orphaned = [i for i in ids if placed[i] == {victim}][:20]
    statuses = [f.send(i) for i in orphaned]
    assert statuses == [202] * len(orphaned), "the victim's ids are new to the others: accepted again"
    # Documented consequence: they run a second time, on another replica.
    wait_until(lambda: all(len(f.where()[i]) == 2 for i in orphaned), 30, what="second runs elsewhere")

    # The victim comes back with its data: its ids hash to it again and are duplicates there.
    f.replicas[victim].start()
    time.sleep(5.5)  # nginx's fail_timeout (5 s) before it tries the replica again
    later = [i for i in ids if placed[i] == {victim}][20:40]
    assert [f.send(i) for i in later] == [200] * len(later)

    # 4. Rolling restart under load: nothing acknowledged is lost.
    acked: list[str] = []
    other: list[int] = []
    stop = threading.Event()

    def sender():
        while not stop.is_set():
            i = new_id("roll")
            s = f.send(i)
            (acked.append(i) if s == 202 else other.append(s))

    t = threading.Thread(target=sender)
    t.start()
    try:
        for h in f.replicas:
            time.sleep(0.5)
            assert h.stop(sig=signal.SIGTERM, timeout=15) == 0
            h.start()
        time.sleep(0.5)
    finally:
        stop.set()
        t.join(30)
    assert len(acked) > 50, (len(acked), other[:20])
    f.wait_ran(acked, timeout=60)
    print(f"rolling restart: {len(acked)} acknowledged, all ran; {len(other)} not acknowledged "
          f"(statuses {sorted(set(other))}), retried by the sender")


def test_only_the_delivery_path_passes_the_balancer(fleet):
    """/metrics, /readyz and /healthz stay off the public balancer: 404 from nginx itself."""
    for path in ("/metrics", "/readyz", "/healthz", "/webhooks/../metrics", "/"):
        assert fleet.lb.get(path)[0] == 404, path
    assert fleet.lb.get("/webhooks")[0] == 405  # reached a replica


@pytest.mark.skipif(shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(),
                    reason="haproxy is not installed (scripts/install-deps.sh installs it)")
def test_haproxy_starts_with_the_shipped_config_under_the_shipped_descriptor_limit(tmp_path):
    """container/haproxy.cfg under containers.conf's nofile limit: it starts, hashes deliveries to a
    replica, and passes nothing but the delivery path."""
    limits = (REPO_ROOT / "container/containers.conf").read_text()
    nofile = int(re.search(r'"nofile=(\d+):(\d+)"', limits).group(1))
    secret = new_secret()
    root = tmp_path / "r0"
    root.mkdir()
    fns = Functions(root)
    fns.add("ping")
    host = Host(root, functions=fns, secrets=[secret]).start()
    try:
        port = free_port()
        conf = (REPO_ROOT / "container/haproxy.cfg").read_text()
        conf = conf.replace("bind :8080", f"bind 127.0.0.1:{port}")
        conf = re.sub(r"server hookhost-(\d) hookhost-\d:8080", lambda m: f"server hookhost-{m.group(1)} 127.0.0.1:{host.port}", conf)
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_text(conf)
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        check = subprocess.run(["prlimit", f"--nofile={nofile}:{nofile}", "--", haproxy, "-c", "-f", str(cfg)],
                               capture_output=True, timeout=20)
        assert check.returncode == 0, check.stderr.decode() + check.stdout.decode()
        proc = subprocess.Popen(["prlimit", f"--nofile={nofile}:{nofile}", "--", haproxy, "-db", "-f", str(cfg)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            def answer(path, method="GET", body=None, headers=None):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                try:
                    c.request(method, path, body=body, headers=headers or {})
                    r = c.getresponse()
                    return r.status, r.read()
                finally:
                    c.close()

            def up():
                if proc.poll() is not None:
                    raise RuntimeError("haproxy exited: " + proc.stderr.read().decode()[-2000:])
                try:
                    return answer("/webhooks")[0] == 405
                except OSError:
                    return False
            wait_until(up, 15, what="haproxy passing requests")
            assert proc.poll() is None, "haproxy did not keep running under the shipped limit"
            for path in ("/metrics", "/readyz", "/healthz"):
                assert answer(path)[0] == 404, path
            body = event_body("ping")
            msg_id = new_id("hap")
            status, _ = answer("/webhooks", "POST", body, signed_headers(secret, msg_id, body))
            assert status == 202
            fns.wait_run(msg_id)
        finally:
            proc.terminate()
            proc.wait(10)
    finally:
        host.stop()
