#!/usr/bin/env python3
"""One measured phase of bench/chain.sh: sends N signed deliveries, waits (bounded) until
N x STEPS function runs have finished, and prints how fast they ran.

  1. ingest: SENDERS threads, each with its own keep-alive connection, send the deliveries of
     DELIVERIES (a bench/gen_deliveries.py file); every answer must be 202.
  2. steady state: from the end of the ingest until HOST_LOG (the host's log, level info) holds
     N x STEPS "finished" lines, the workers run functions back to back (for a chain, every
     finished step but the last adds its next step to the queue). Runs/s is measured over that
     window, from /metrics (ADMIN_URL, read at both ends only: its gauges walk every delivery kept)
     summed over FUNCTIONS (comma-separated); the ingest is left out, it shares the cores.

Prints one line: PHASE runs=... ok=... seconds=... rps=... deliveries_rps=... total_rps=... non202=...

usage: drive_chain.py BASE_URL ADMIN_URL HOST_LOG PATH FUNCTIONS N STEPS DELIVERIES SENDERS TIMEOUT_S
"""
import http.client
import re
import sys
import threading
import time
import urllib.parse


def load(path, n):
    out = []
    with open(path) as f:
        for line in f:
            i, ts, sig, body = line.rstrip("\n").split("\t", 3)
            out.append((i, ts, sig, body.encode()))
            if len(out) == n:
                break
    return out


def post(conn, path, d):
    i, ts, sig, body = d
    conn.request("POST", path, body=body, headers={
        "Content-Type": "application/json", "webhook-id": i, "webhook-timestamp": ts, "webhook-signature": sig})
    r = conn.getresponse()
    r.read()
    return r.status


def main():
    base, admin, logfile, path, functions, n, steps, dfile, senders, timeout = sys.argv[1:11]
    n, steps, senders, timeout = int(n), int(steps), int(senders), float(timeout)
    functions = functions.split(",")
    host, adm = urllib.parse.urlsplit(base), urllib.parse.urlsplit(admin)
    deliveries = load(dfile, n)
    assert len(deliveries) == n, f"{dfile} holds {len(deliveries)} deliveries, {n} wanted"
    want = n * steps
    bad = [0]
    lock = threading.Lock()

    def runs():
        """(ok, all) runs of FUNCTIONS so far, from /metrics."""
        c = http.client.HTTPConnection(adm.hostname, adm.port, timeout=10)
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        c.close()
        ok = total = 0
        for f in functions:
            pat = re.compile(r'^hookhost_runs_total\{function="%s",outcome="(\w+)"\} (\d+)' % re.escape(f), re.M)
            for m in pat.finditer(text):
                total += int(m.group(2))
                ok += int(m.group(2)) if m.group(1) == "ok" else 0
        return ok, total

    def send(slice_):
        c = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        for d in slice_:
            if post(c, path, d) != 202:
                with lock:
                    bad[0] += 1
        c.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=send, args=(deliveries[k::senders],)) for k in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t1 = time.monotonic()
    _, ran1 = runs()

    # Finished runs are counted from the log as it grows (bytes.count: C speed, so the counting
    # takes little CPU from the host it measures); the bytes a marker may straddle between two
    # reads are carried over. Only function runs log "finished".
    marker = b'"msg":"finished"'
    seen, carry = 0, b""
    deadline = t1 + timeout
    with open(logfile, "rb") as log:
        while time.monotonic() < deadline:
            chunk = log.read()
            if chunk:
                data = carry + chunk
                seen += data.count(marker)
                carry = data[-(len(marker) - 1):]
            if seen >= want:
                break
            time.sleep(0.01)
    t2 = time.monotonic()
    ok, ran = runs()
    if ran < want:
        print(f"timed out after {timeout:.0f} s: {ran} of {want} runs finished", file=sys.stderr)
    window = max(t2 - t1, 1e-9)
    print(f"PHASE runs={ran} ok={ok} want={want} ingest_s={t1 - t0:.3f} steady_runs={ran - ran1} seconds={window:.3f} "
          f"rps={(ran - ran1) / window:.0f} deliveries_rps={(ran - ran1) / steps / window:.0f} "
          f"total_rps={ran / max(t2 - t0, 1e-9):.0f} non202={bad[0]}")
    sys.exit(0 if ran >= want and ok == want and bad[0] == 0 else 1)


if __name__ == "__main__":
    main()
