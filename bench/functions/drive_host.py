#!/usr/bin/env python3
"""The hookhost side of bench/functions.sh: sends N signed deliveries whose type has a function,
waits (bounded) until every one has run, and measures acknowledgements while the functions run.

  1. ingest: SENDERS threads, each with its own keep-alive connection, send the deliveries of
     DELIVERIES (a bench/gen_deliveries.py file); every answer must be 202.
  2. steady state: from the end of the ingest until HOST_LOG (the host's log, level info) holds N
     "finished" lines of FUNCTION, the queue is never empty, so the workers run functions back to
     back: functions/s is measured over that window (the ingest is left out: it shares the cores).
     /metrics (ADMIN_URL) is read at the end of the ingest and of the run: the counts printed.
  3. meanwhile a prober sends the deliveries of PROBES (a type without a function: skipped) one at
     a time at PROBE_RATE per second and times each answer: the ack latency while functions run.

Prints one line: HOST done=... seconds=... rps=... ack_p50_us=... ack_p99_us=... probes=... non202=...

usage: drive_host.py BASE_URL ADMIN_URL HOST_LOG PATH FUNCTION N DELIVERIES PROBES PROBE_RATE SENDERS TIMEOUT_S
"""
import http.client
import re
import sys
import threading
import time
import urllib.parse


def load(path):
    out = []
    with open(path) as f:
        for line in f:
            i, ts, sig, body = line.rstrip("\n").split("\t", 3)
            out.append((i, ts, sig, body.encode()))
    return out


def post(conn, path, d):
    i, ts, sig, body = d
    conn.request("POST", path, body=body, headers={
        "Content-Type": "application/json", "webhook-id": i, "webhook-timestamp": ts, "webhook-signature": sig})
    r = conn.getresponse()
    r.read()
    return r.status


def main():
    base, admin, logfile, path, function, n, dfile, pfile, rate, senders, timeout = sys.argv[1:12]
    n, rate, senders, timeout = int(n), float(rate), int(senders), float(timeout)
    host, adm = urllib.parse.urlsplit(base), urllib.parse.urlsplit(admin)
    deliveries, probes = load(dfile)[:n], load(pfile)
    bad = [0]
    lock = threading.Lock()

    def metric_ok():
        c = http.client.HTTPConnection(adm.hostname, adm.port, timeout=5)
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        c.close()
        pat = re.compile(r'^hookhost_runs_total\{function="%s",outcome="(\w+)"\} (\d+)' % re.escape(function), re.M)
        counts = {m.group(1): int(m.group(2)) for m in pat.finditer(text)}
        return counts.get("ok", 0), sum(counts.values())

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
    ok1, _ = metric_ok()

    latencies = []
    stop = threading.Event()

    def probe():
        c = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        k, next_at = 0, time.monotonic()
        while not stop.is_set() and k < len(probes):
            a = time.perf_counter()
            st = post(c, path, probes[k])
            latencies.append(time.perf_counter() - a)
            if st != 202:
                with lock:
                    bad[0] += 1
            k += 1
            next_at += 1 / rate
            time.sleep(max(0, next_at - time.monotonic()))
        c.close()

    prober = threading.Thread(target=probe)
    prober.start()
    # Finished runs are counted from the host's log ("finished" lines, one per run at the default
    # level), read as it grows: /metrics would do, but its gauges walk every delivery kept for
    # inspection under the index lock, and polling it often enough delays the acks being timed.
    # Counted with bytes.count (C speed): a Python loop over every line took a quarter of the
    # machine's CPU from the host it measures. Only runs log "finished" (the probes' type has no
    # function: skipped); the bytes a marker may straddle between reads are carried over.
    ok, ran = ok1, ok1
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
            if seen >= n:
                break
            time.sleep(0.01)
    ok, ran = metric_ok()
    t2 = time.monotonic()
    stop.set()
    prober.join()
    if ran < n:
        print(f"timed out after {timeout:.0f} s: {ran} of {n} runs finished", file=sys.stderr)
    lat = sorted(latencies)
    pct = lambda p: int(lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1e6) if lat else -1
    print(f"HOST done={ok} ran={ran} n={n} ingest_s={t1 - t0:.3f} steady_runs={ran - ok1} seconds={t2 - t1:.3f} "
          f"rps={(ran - ok1) / max(t2 - t1, 1e-9):.0f} total_rps={ran / max(t2 - t0, 1e-9):.0f} "
          f"ack_p50_us={pct(50)} ack_p99_us={pct(99)} ack_max_us={pct(100)} probes={len(lat)} non202={bad[0]}")
    sys.exit(0 if ran >= n and ok == n and bad[0] == 0 else 1)


if __name__ == "__main__":
    main()
