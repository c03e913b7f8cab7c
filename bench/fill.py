#!/usr/bin/env python3
"""POSTs every delivery of a bench/gen_deliveries.py file once, over keep-alive connections from a
few threads, and fails unless each got 202 — to fill a replica with a known number of deliveries.

usage: fill.py FILE PORT [THREADS]       (to http://127.0.0.1:PORT/webhooks; THREADS: 8)
"""
import http.client
import sys
import threading


def main() -> None:
    path, port = sys.argv[1], int(sys.argv[2])
    nthreads = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    lines = open(path).read().splitlines()
    bad: list[str] = []

    def worker(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for line in lines[k::nthreads]:
            msg_id, ts, sig, body = line.split("\t", 3)
            conn.request("POST", "/webhooks", body.encode(), {
                "content-type": "application/json", "webhook-id": msg_id,
                "webhook-timestamp": ts, "webhook-signature": sig})
            r = conn.getresponse()
            r.read()
            if r.status != 202:
                bad.append(f"{msg_id}: {r.status}")
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if bad:
        sys.exit(f"fill.py: {len(bad)} of {len(lines)} not accepted, e.g. {bad[:3]}")


if __name__ == "__main__":
    main()
