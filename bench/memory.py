#!/usr/bin/env python3
"""Memory that must not grow with traffic. Three figures, each for hookhost and (with --ref-bin)
for a reference build measured in the same run:

  idle RSS          the host one second after start (with what it is made of, from smaps_rollup)
  after N           RSS right after N distinct deliveries were accepted, and once all were finished
                    (skipped: empty functions directory), default retention (1 day) — so every
                    finished delivery is still held for inspection
  per remembered id (RSS once retention pruned the deliveries and only dedup ids remain - idle RSS) / N,
                    next to the average id length (the floor for keeping the ids themselves)

    bench/memory.py [--bin .build/release/hookhost] [--ref-bin OLD_BINARY] [--deliveries 200000]

Deliveries are pre-signed by bench/gen_deliveries.py and sent by wrk with bench/deliveries.lua (the
run.sh harness), stopped once the host counted N accepted. Only 127.0.0.1; every wait is bounded."""
from __future__ import annotations

import argparse
import base64
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ROOT, free_port, rss_mb  # noqa: E402


def rollup(pid: int) -> dict:
    out = {}
    for ln in open(f"/proc/{pid}/smaps_rollup"):
        p = ln.split()
        if len(p) >= 2 and p[0].endswith(":") and p[1].isdigit():
            out[p[0][:-1]] = int(p[1]) / 1024
    return out


def metrics(port: int) -> dict:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    m = {}
    for ln in text.splitlines():
        p = ln.split()
        if len(p) == 2 and not ln.startswith("#"):
            m[p[0]] = float(p[1])
    return m


class Host:
    extra_env: dict = {}

    def __init__(self, binary: str, tmp: str, secret: str, *, retention: float, ttl: float, n: int):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(dir=tmp)
        os.makedirs(f"{self.dir}/functions")
        self.log = open(f"{self.dir}/host.log", "wb")
        self.p = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--data", f"{self.dir}/data",
                                   "--functions", f"{self.dir}/functions", "--retention", str(retention), "--dedup-ttl", str(ttl),
                                   "--queue-max", str(n + 10), "--tolerance", "3600", "--log", "warn"],
                                  env={"PATH": "/usr/bin:/bin", "HOOKHOST_SECRETS": secret, **Host.extra_env}, stdout=self.log, stderr=self.log)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("host did not start")

    def accepted(self) -> float:
        return metrics(self.port).get('hookhost_deliveries_total{outcome="accepted"}', 0)

    def queue(self) -> float:
        return metrics(self.port).get("hookhost_queue_depth", -1)

    def send(self, n: int, deliveries: str) -> float:
        """Sends until the host accepted n; returns seconds taken."""
        t0 = time.monotonic()
        wrk = subprocess.Popen(["wrk", "-t2", "-c16", "-d600s", "-s", f"{ROOT}/bench/deliveries.lua",
                                f"http://127.0.0.1:{self.port}/webhooks", "--", deliveries, "2", "202", str(n // 2)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while self.accepted() < n and time.monotonic() - t0 < 600:
                time.sleep(0.1)
        finally:
            wrk.send_signal(signal.SIGINT)
            wrk.wait(timeout=30)
        return time.monotonic() - t0

    def drain(self) -> None:
        deadline = time.monotonic() + 600
        while self.queue() > 0 and time.monotonic() < deadline:
            time.sleep(0.5)

    def stop(self) -> None:
        self.p.terminate()
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()


def measure(binary: str, tmp: str, secret: str, n: int, deliveries: str) -> dict:
    r = {}
    h = Host(binary, tmp, secret, retention=86400, ttl=259200, n=n)
    try:
        time.sleep(1)
        r["idle"] = rss_mb(h.p.pid)
        r["idle_rollup"] = rollup(h.p.pid)
        r["send_s"] = h.send(n, deliveries)
        r["after"] = rss_mb(h.p.pid)
        h.drain()
        r["drained"] = rss_mb(h.p.pid)
    finally:
        h.stop()
    # Retention 1 s, TTL 1 h: once housekeeping (every 30 s) ran, only the dedup ids are left.
    h = Host(binary, tmp, secret, retention=1, ttl=3600, n=n)
    try:
        time.sleep(1)
        idle = rss_mb(h.p.pid)
        h.send(n, deliveries)
        h.drain()
        time.sleep(33)
        r["ids_only"] = rss_mb(h.p.pid)
        r["per_id"] = (r["ids_only"] - idle) * 1024 * 1024 / n
    finally:
        h.stop()
    return r


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build/release/hookhost"))
    ap.add_argument("--ref-bin", help="a reference build (e.g. main's) measured the same way in the same run")
    ap.add_argument("--deliveries", type=int, default=200_000)
    ap.add_argument("--host-env", action="append", default=[], help="K=V for the host's environment (malloc tuning experiments)")
    a = ap.parse_args()
    Host.extra_env = dict(kv.split("=", 1) for kv in a.host_env)
    tmp = tempfile.mkdtemp(prefix="hookhost-memory.")
    try:
        key = os.urandom(24).hex()[:32].encode()
        secret = "whsec_" + base64.b64encode(key).decode()
        deliveries = f"{tmp}/deliveries.tsv"
        subprocess.run([sys.executable, f"{ROOT}/bench/gen_deliveries.py", str(a.deliveries), secret, deliveries], check=True)
        id_len = sum(len(ln.split("\t", 1)[0]) for ln in open(deliveries)) / a.deliveries
        runs = [("hookhost", a.bin)] + ([("reference", a.ref_bin)] if a.ref_bin else [])
        results = [(name, measure(b, tmp, secret, a.deliveries, deliveries)) for name, b in runs]
        n = a.deliveries
        print(f"hookhost memory: {n} distinct deliveries (empty functions dir: each is skipped), ids {id_len:.0f} bytes on average")
        print(f"{'':44}" + "".join(f"{name:>14}" for name, _ in results) + f"{'target':>10}")
        rows = [("idle RSS MB", "idle", "%.1f", "15"),
                (f"RSS right after {n} accepted MB", "after", "%.1f", "60"),
                ("RSS once all were finished MB", "drained", "%.1f", ""),
                ("RSS with only the ids left MB", "ids_only", "%.1f", ""),
                ("RSS bytes per remembered id", "per_id", "%.0f", "150")]
        for label, k, fmt, target in rows:
            print(f"{label:44}" + "".join(f"{fmt % r[k]:>14}" for _, r in results) + f"{target:>10}")
        for name, r in results:
            ro = r["idle_rollup"]
            print(f"idle {name}: Rss {ro.get('Rss', 0):.1f} = anon {ro.get('Anonymous', 0):.1f} + file-backed "
                  f"{ro.get('Rss', 0) - ro.get('Anonymous', 0):.1f} MB (shared libraries, mostly); sending took {r['send_s']:.1f} s")
        print(f"(floor for the ids alone: {id_len:.0f} bytes each)")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
