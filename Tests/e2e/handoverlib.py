"""Helpers for the hand-over tests: two hosts sharing a peer secret, their spools, the drain CLI."""
from __future__ import annotations

import base64
import http.client
import json
import os
import re
import subprocess
import threading
from pathlib import Path

import pytest

from hostlib import Functions, Host, event_body, http_request, signed_headers

PEER_SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def hosts(tmp_path, request):
    """hosts(name, fns, env=..., extra=...) -> a started Host with its own data and functions."""
    made: list[Host] = []

    def make(name: str, fns: Functions, env: dict | None = None, extra=(), start=True) -> Host:
        h = Host(tmp_path / name, functions=fns)
        made.append(h)
        if start:
            h.start(extra, {"HOOKHOST_PEER_SECRET": PEER_SECRET, **(env or {})})
        return h

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for h in made:
        if failed:
            print(f"--- {h.root.name} log ---\n{h.log_tail(40)}")
        try:
            h.stop(timeout=20)
        except AssertionError as e:
            print(f"teardown: {e}")


def functions(root: Path, **codes) -> Functions:
    f = Functions(root)
    for name, code in codes.items():
        f.add(name, code=code)
    return f


def pause(h: Host, name: str):
    r = h.cli("functions", "pause", name, "--data", str(h.data), "--functions", str(h.functions.dir))
    assert r.returncode == 0, r.stderr


def resume(h: Host, name: str):
    r = h.cli("functions", "resume", name, "--data", str(h.data), "--functions", str(h.functions.dir))
    assert r.returncode == 0, r.stderr


def deliveries(h: Host) -> dict[str, dict]:
    r = h.cli("deliveries", "list", "--json", "--data", str(h.data), timeout=60)
    assert r.returncode == 0, r.stderr
    return {d["id"]: d for d in json.loads(r.stdout)["deliveries"]}


def show(h: Host, msg_id: str) -> dict:
    r = h.cli("deliveries", "show", "--json", "--data", str(h.data), "--", msg_id)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def drain(h: Host, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return h.cli("drain", "--data", str(h.data), *args, timeout=timeout)


def metric(h: Host, name: str, **labels) -> float:
    text = http_request(h.port, "GET", "/metrics").body.decode()
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(rf"^{re.escape(name)}\{{{re.escape(want)}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def send_many(h: Host, msg_ids: list[str], type_: str, threads: int = 4):
    """Signed deliveries over keep-alive connections, a few at once."""
    def worker(chunk: list[str]):
        conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=30)
        for msg_id in chunk:
            body = event_body(type_, {"id": msg_id})
            headers = signed_headers(h.secrets[0], msg_id, body)
            headers["Content-Type"] = "application/json"
            conn.request("POST", h.path, body, headers)
            r = conn.getresponse()
            r.read()
            assert r.status == 202, (msg_id, r.status)
        conn.close()

    chunks = [msg_ids[i::threads] for i in range(threads)]
    ts = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
