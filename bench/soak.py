#!/usr/bin/env python3
"""Soak: N distinct signed deliveries through one host with a real function (`_default` = true),
then wait for retention and the dedup TTL to pass. Prints descriptors, threads and RSS of the
host at start, at the end of the load, when the queue drained, and after expiry, side by side
with the same figures for the reference: the host's own idle start. They should come back to
where they started (flat), whatever N was.

    bench/soak.py [--deliveries 100000] [--bin .build/release/hookhost] [--senders 4]

Only 127.0.0.1. Every wait is bounded. Standard library only (it signs with hmac itself)."""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ROOT, free_port  # noqa: E402


def sample(pid: int) -> dict:
    status = open(f"/proc/{pid}/status").read()
    field = lambda k: int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith(k + ":")))
    children = 0
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1] == str(pid):
                    children += 1
            except OSError:
                pass
    return {"fds": len(os.listdir(f"/proc/{pid}/fd")), "threads": field("Threads"),
            "rss_mb": round(field("VmRSS") / 1024, 1), "children": children}


def metric(port: int, name: str) -> float:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    for ln in text.splitlines():
        parts = ln.split()
        if len(parts) == 2 and parts[0] == name:
            return float(parts[1])
    return -1


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deliveries", type=int, default=100_000)
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build/release/hookhost"))
    ap.add_argument("--senders", type=int, default=4)
    ap.add_argument("--retention", type=float, default=5)
    ap.add_argument("--dedup-ttl", type=float, default=10)
    a = ap.parse_args()
    if not os.access(a.bin, os.X_OK):
        print(f"{a.bin} is not an executable (swift build -c release)", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="hookhost-soak.")
    fdir = os.path.join(tmp, "functions")
    os.makedirs(fdir)
    shutil.copy("/bin/true", os.path.join(fdir, "_default"))
    key = os.urandom(24).hex()[:32].encode()
    secret = "whsec_" + base64.b64encode(key).decode()
    port = free_port()
    log = open(os.path.join(tmp, "host.log"), "wb")
    host = subprocess.Popen([a.bin, "serve", "--listen", f"127.0.0.1:{port}", "--data", os.path.join(tmp, "data"),
                             "--functions", fdir, "--retention", str(a.retention), "--dedup-ttl", str(a.dedup_ttl),
                             "--log", "warn", "--queue-max", str(a.deliveries + 10)],
                            env={"PATH": "/usr/bin:/bin", "HOOKHOST_SECRETS": secret}, stdout=log, stderr=log)
    rows = []
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(1)
        rows.append(("idle after start", sample(host.pid), 0))
        errors = []
        sent = [0] * a.senders

        def sender(k: int):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for i in range(k, a.deliveries, a.senders):
                msg_id, ts = f"soak-{i}", str(int(time.time()))
                body = json.dumps({"type": "soak.tick", "version": "v1", "data": {"i": i}}).encode()
                mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
                c.request("POST", "/webhooks", body, {"webhook-id": msg_id, "webhook-timestamp": ts,
                                                      "webhook-signature": "v1," + base64.b64encode(mac).decode(),
                                                      "Content-Type": "application/json"})
                r = c.getresponse()
                r.read()
                if r.status != 202:
                    errors.append(r.status)
                sent[k] += 1
            c.close()

        t0 = time.monotonic()
        threads = [threading.Thread(target=sender, args=(k,)) for k in range(a.senders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=1800)
        load_s = time.monotonic() - t0
        rows.append((f"end of load ({sum(sent)} sent in {load_s:.0f} s)", sample(host.pid), metric(port, "hookhost_queue_depth")))
        deadline = time.monotonic() + 1800
        while metric(port, "hookhost_queue_depth") > 0 and time.monotonic() < deadline:
            time.sleep(2)
        rows.append((f"queue drained ({time.monotonic() - t0:.0f} s)", sample(host.pid), metric(port, "hookhost_queue_depth")))
        # Housekeeping prunes every 30 s; wait for retention + TTL + two passes.
        time.sleep(a.retention + a.dedup_ttl + 65)
        rows.append(("after retention + TTL passes", sample(host.pid), metric(port, "hookhost_queue_depth")))
        print(f"hookhost soak: {a.deliveries} deliveries, _default = /bin/true, retention {a.retention} s, dedup TTL {a.dedup_ttl} s;"
              f" non-202 answers: {len(errors)}")
        print(f"{'':38} {'fds':>6} {'threads':>8} {'RSS MB':>8} {'children':>9} {'queue':>7}")
        for name, s, q in rows:
            print(f"{name:38} {s['fds']:>6} {s['threads']:>8} {s['rss_mb']:>8} {s['children']:>9} {int(q):>7}")
        print("(the first row is the reference: the same host idle before any delivery)")
        return 0 if not errors and host.poll() is None else 1
    finally:
        host.terminate()
        try:
            host.wait(timeout=30)
        except subprocess.TimeoutExpired:
            host.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
