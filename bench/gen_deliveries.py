#!/usr/bin/env python3
"""Writes N distinct signed deliveries for bench/deliveries.lua, one per line:

    <webhook-id> TAB <webhook-timestamp> TAB <webhook-signature> TAB <body>

Standard Webhooks v1 signatures (HMAC-SHA256 over "id.timestamp.body" with the base64-decoded
secret), computed with the standard library so the bench needs nothing beyond python3.

usage: gen_deliveries.py N SECRET OUT_FILE [TYPE] [KEYS]   (TYPE: bench.ping; ids are prefixed with it)

KEYS: each delivery carries data.user_metadata.job_group, one of KEYS groups, in bursts: the first
N/KEYS deliveries are g0, the next g1, and so on (flow control's concurrency keys).
"""
import base64
import hashlib
import hmac
import os
import sys
import time


def main() -> None:
    n, secret, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    etype = sys.argv[4] if len(sys.argv) > 4 else "bench.ping"
    keys = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    prefix = "bench" if etype == "bench.ping" else etype.replace(".", "_")
    b64 = secret.removeprefix("whsec_")
    key = base64.b64decode(b64 + "=" * (-len(b64) % 4))
    ts = str(int(time.time()))
    run = os.urandom(4).hex()  # ids differ between bench runs too
    with open(out, "w", buffering=1 << 20) as f:
        for i in range(n):
            msg_id = f"{prefix}_{run}_{i:08d}"
            meta = f',"user_metadata":{{"job_group":"g{i * keys // n}"}}' if keys else ""
            body = f'{{"type":"{etype}","version":"v1","timestamp":"2026-05-04T12:00:00Z","data":{{"id":"batches/b{i}"{meta}}}}}'
            mac = hmac.new(key, f"{msg_id}.{ts}.{body}".encode(), hashlib.sha256).digest()
            f.write(f"{msg_id}\t{ts}\tv1,{base64.b64encode(mac).decode()}\t{body}\n")


if __name__ == "__main__":
    main()
