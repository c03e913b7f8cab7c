#!/usr/bin/env python3
"""Writes N distinct JWT-signed deliveries for bench/deliveries.lua (same line format as
gen_deliveries.py) and the JWKS that verifies them:

    <webhook-id> TAB <webhook-timestamp> TAB <JWT> TAB <body>

The RS256 tokens are made with `cryptography` (an independent signer). RSA signing is slow in
Python, so TOKENS distinct tokens are reused round-robin; they carry no body hash, so each still
verifies against its delivery's body and the host does the full RS256 verification every time.
The host must run with `--jwt-allow-reuse true` (by default a token is good for one webhook-id).

usage: gen_jwt_deliveries.py N OUT_FILE JWKS_FILE [TOKENS]   (needs the e2e venv: cryptography)
"""
import base64
import json
import os
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def main() -> None:
    n, out, jwks_out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    ntok = int(sys.argv[4]) if len(sys.argv) > 4 else 500
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = key.public_key().public_numbers()
    kid = "bench-key"
    with open(jwks_out, "w") as f:
        json.dump({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                             "n": b64u(pub.n.to_bytes(256, "big")), "e": b64u(pub.e.to_bytes(3, "big"))}]}, f)
    now = int(time.time())
    header = b64u(json.dumps({"alg": "RS256", "kid": kid, "typ": "JWT"}).encode())
    tokens = []
    for i in range(ntok):
        payload = b64u(json.dumps({"iss": "bench", "iat": now, "exp": now + 3600, "jti": f"t{i}"}).encode())
        si = f"{header}.{payload}".encode()
        tokens.append(si.decode() + "." + b64u(key.sign(si, padding.PKCS1v15(), hashes.SHA256())))
    run = os.urandom(4).hex()
    with open(out, "w", buffering=1 << 20) as f:
        for i in range(n):
            body = f'{{"type":"bench.ping","version":"v1","timestamp":"2026-05-04T12:00:00Z","data":{{"id":"batches/b{i}"}}}}'
            f.write(f"jwt_{run}_{i:08d}\t{now}\t{tokens[i % ntok]}\t{body}\n")


if __name__ == "__main__":
    main()
