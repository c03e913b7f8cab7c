"""The shipped balancers retry a POST a replica refused on the next replica (issue 23, part 3).

A replica answers 503 only when it stored nothing — draining, queue full, disk full — so the
shipped container/nginx.conf (`proxy_next_upstream error http_503 non_idempotent`) and
container/haproxy.cfg (`retry-on conn-failure empty-response 503`, `option redispatch 1`,
`option http-buffer-request`) send it to the next replica on the ring instead of handing the sender
a 503 that it would retry only after a backoff. Real nginx and HAProxy, real `hookhost serve`
processes, signed deliveries.

The refusing replica is made deterministic without timing: its only function is paused and its
queue holds one delivery (`--queue-max 1`), so every delivery hashed to it gets 503 (queue full)
for as long as the test runs.
"""
from __future__ import annotations

import shutil

import pytest

from hostlib import Functions, Host, event_body, new_id, new_secret, signed_headers, wait_until
from lbkit import HAPROXY, HAProxy, Nginx, answer

FN = "lb.test"


def make_replica(root, i: int, secret: str, out) -> Host:
    fns = Functions(root)
    script = fns.dir / FN
    # One line per run, appended atomically (O_APPEND, one short write).
    script.write_text(f'#!/bin/sh\ncat >/dev/null\necho "{i} $HOOKHOST_DELIVERY_ID" >> {out}/runs.log\n')
    script.chmod(0o755)
    return Host(root, functions=fns, secrets=[secret])


def runs(out) -> dict[str, list[int]]:
    f = out / "runs.log"
    placed: dict[str, list[int]] = {}
    if f.exists():
        for ln in f.read_text().splitlines():
            replica, msg_id = ln.split()
            placed.setdefault(msg_id, []).append(int(replica))
    return placed


def post(port: int, secret: str, msg_id: str) -> int:
    body = event_body(FN, {"id": msg_id})
    return answer(port, "/webhooks", "POST", body, {**signed_headers(secret, msg_id, body),
                                                    "content-type": "application/json"})[0]


@pytest.fixture(params=["nginx", "haproxy"])
def balancer_kind(request):
    if request.param == "nginx" and shutil.which("nginx") is None:
        pytest.skip("nginx is not installed (scripts/install-deps.sh installs it)")
    if request.param == "haproxy" and HAPROXY is None:
        pytest.skip("haproxy is not installed (scripts/install-deps.sh installs it)")
    return request.param


def test_a_post_refused_with_503_is_retried_on_the_next_replica(tmp_path, balancer_kind):
    secret = new_secret()
    out = tmp_path / "runs"
    out.mkdir()
    replicas = []
    for i in range(3):
        root = tmp_path / f"replica{i}"
        root.mkdir()
        replicas.append(make_replica(root, i, secret, out))
    full = replicas[1]
    # Paused while stopped (DATA/paused.json), then one delivery fills its queue of one.
    p = full.cli("functions", "pause", FN, "--data", str(full.data), "--functions", str(full.functions.dir))
    assert p.returncode == 0, p.stderr.decode()
    lb = None
    try:
        full.start(["--queue-max", "1"])
        for h in (replicas[0], replicas[2]):
            h.start()
        assert post(full.port, secret, new_id("fill")) == 202
        refused = new_id("direct")
        assert post(full.port, secret, refused) == 503, "the full replica refuses (stored nothing)"

        lb = (Nginx(tmp_path / "nginx", [h.port for h in replicas]) if balancer_kind == "nginx"
              else HAProxy(tmp_path / "haproxy", [h.port for h in replicas]))
        ids = [new_id("retry") for _ in range(90)]
        statuses = [post(lb.port, secret, i) for i in ids]
        assert statuses == [202] * len(ids), (
            f"{balancer_kind} handed the sender {sorted(set(statuses) - {202})} instead of retrying elsewhere")
        wait_until(lambda: set(ids) <= set(runs(out)), 30, what="every acknowledged delivery ran")
        placed = runs(out)
        assert all(len(placed[i]) == 1 for i in ids), "each ran once"
        assert all(placed[i] != [1] for i in ids), "nothing ran on the full replica"
        # Proof the full replica was asked: it counted its refusals (nothing else reached it).
        metrics = full.request("GET", "/metrics").body.decode()
        unavailable = next(float(l.split()[-1]) for l in metrics.splitlines()
                           if l.startswith('hookhost_deliveries_total{outcome="unavailable"}'))
        assert unavailable >= 2, f"the balancer never tried the full replica ({unavailable} refusals)"
        # Its first refusal came from the test itself; the ids the ring gives it were retried.
        print(f"{balancer_kind}: {len(ids)} deliveries, all 202; the full replica refused {int(unavailable) - 1} "
              f"that the balancer then placed on the next replica")
    finally:
        if lb:
            lb.stop()
        for h in replicas:
            if h.running:
                h.stop()


def test_the_handover_path_passes_the_balancer_and_nothing_else_new(tmp_path, balancer_kind):
    """/hookhost/handover reaches a replica (its own JSON answer, not the balancer's 404) so a
    draining replica can hand over through the balancer; other paths stay closed."""
    secret = new_secret()
    root = tmp_path / "r0"
    root.mkdir()
    host = make_replica(root, 0, secret, tmp_path).start()
    lb = None
    try:
        lb = (Nginx(tmp_path / "nginx", [host.port]) if balancer_kind == "nginx"
              else HAProxy(tmp_path / "haproxy", [host.port]))
        direct = host.request("POST", "/hookhost/handover", b"{}", {"webhook-id": "x", "content-type": "application/json"})
        via = answer(lb.port, "/hookhost/handover", "POST", b"{}", {"webhook-id": "x", "content-type": "application/json"})
        assert via[0] == direct.status and via[1] == direct.body, (via, direct)
        for path in ("/hookhost", "/hookhost/handover/x", "/hookhost/drain", "/metrics"):
            assert answer(lb.port, path)[0] == 404, path
    finally:
        if lb:
            lb.stop()
        host.stop()
