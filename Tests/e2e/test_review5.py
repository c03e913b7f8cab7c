"""Hostile review of: duplicate answered before the body is parsed, the in-place head parser,
the short-read rule on plain TCP, inline admission completions on the spool writer, the worker
wake economy. Only 127.0.0.1; every loop and wait bounded; no speed thresholds."""
from __future__ import annotations

import json
import socket
import time

from hostlib import RawConn, build_request, event_body, new_id, signed_headers, wait_until


def signed_request(host, body: bytes, msg_id: str | None = None, extra: dict | None = None) -> bytes:
    h = signed_headers(host.secrets[0], msg_id or new_id(), body)
    h.update(extra or {})
    return build_request("POST", "/webhooks", body, h)


def read_all(conn: RawConn, n: int, timeout: float = 10) -> list:
    out = []
    for _ in range(n):
        r = conn.read_response(timeout=timeout)
        if r is None:
            break
        out.append(r)
    return out


def test_request_and_fin_in_one_send_gets_its_answer_then_close(host):
    req = signed_request(host, event_body("ping"))
    with RawConn(host.port) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.send(req)
        c.sock.shutdown(socket.SHUT_WR)
        r = c.read_response()
        assert r is not None and r.status == 202, r
        assert c.closed_by_peer(5)


def test_pipelined_requests_and_fin_split_at_odd_places_all_answered_in_order(host):
    ids = [new_id() for _ in range(4)]
    reqs = [signed_request(host, event_body("ping"), i) for i in ids]
    # a duplicate of the first, and a malformed-JSON duplicate of the second, pipelined too
    reqs.append(signed_request(host, event_body("ping"), ids[0]))
    blob = b"".join(reqs)
    with RawConn(host.port) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cuts = [1, 17, len(reqs[0]) - 1, len(reqs[0]) + 3, len(blob) // 2, len(blob) - 2]
        prev = 0
        for cut in cuts + [len(blob)]:
            c.send(blob[prev:cut])
            prev = cut
            time.sleep(0.02)
        c.sock.shutdown(socket.SHUT_WR)
        rs = read_all(c, len(reqs))
        assert [r.status for r in rs] == [202, 202, 202, 202, 200], [(r.status, r.body) for r in rs]
        assert [json.loads(r.body)["id"] for r in rs] == ids + [ids[0]]
        assert c.closed_by_peer(5)


def test_request_larger_than_one_read_then_a_pipelined_one(host):
    big = event_body("ping", {"pad": "x" * (200 * 1024)})
    a, b = new_id(), new_id()
    blob = signed_request(host, big, a) + signed_request(host, event_body("ping"), b)
    with RawConn(host.port) as c:
        c.send(blob)
        rs = read_all(c, 2)
        assert [(r.status, json.loads(r.body)["id"]) for r in rs] == [(202, a), (202, b)], rs
        # still keep-alive
        c.send(signed_request(host, event_body("ping"), a))
        r = c.read_response()
        assert r.status == 200 and json.loads(r.body)["status"] == "duplicate"


def test_remembered_id_still_needs_a_valid_signature(host):
    msg_id = new_id()
    assert host.send(event_body("ping"), msg_id=msg_id).status == 202
    body = b"not json"
    # bad signature, no signature, stale timestamp: 401, not "duplicate"
    bad = signed_headers(host.secrets[0], msg_id, b"other body")
    assert host.post_raw(body, bad).status == 401
    assert host.post_raw(body, {"webhook-id": msg_id}).status == 401
    old = signed_headers(host.secrets[0], msg_id, body, ts=int(time.time()) - 3600)
    assert host.post_raw(body, old).status == 401
    # the id header twice: 401 even though the first copy is remembered
    h = signed_headers(host.secrets[0], msg_id, body)
    raw = build_request("POST", "/webhooks", body, h).replace(b"\r\n\r\n", f"\r\nwebhook-id: {msg_id}\r\n\r\n".encode(), 1)
    with RawConn(host.port) as c:
        c.send(raw)
        assert c.read_response().status == 401


def test_header_count_at_the_limit_and_one_over(host):
    body = event_body("ping")
    h = signed_headers(host.secrets[0], new_id(), body)
    base = build_request("POST", "/webhooks", body, h)
    n_base = base.split(b"\r\n\r\n", 1)[0].count(b"\r\n")  # header lines in it
    for extra, want in ((100 - n_base, 202), (101 - n_base, 431)):
        h2 = dict(h)
        h2["webhook-id"] = new_id()
        h2.update(signed_headers(host.secrets[0], h2["webhook-id"], body))
        for i in range(extra):
            h2[f"x-pad-{i}"] = "y"
        with RawConn(host.port) as c:
            c.send(build_request("POST", "/webhooks", body, h2))
            r = c.read_response()
            assert r.status == want, (extra, r.status, r.body)


def test_odd_request_lines_are_refused(host):
    for line, want in ((b"POST  /webhooks HTTP/1.1", 400), (b"POST /webhooks  HTTP/1.1", 400),
                       (b"POST /webhooks HTTP/1.10", 505), (b"POST\t/webhooks HTTP/1.1", 400),
                       (b"POST /webhooks HTTP/1.1 ", 400), (b" /webhooks HTTP/1.1", 400),
                       (b"POST  HTTP/1.1", 400), (b"POST /web\rhooks HTTP/1.1", 400)):
        with RawConn(host.port) as c:
            c.send(line + b"\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            r = c.read_response()
            assert r is not None and r.status == want, (line, r and r.status)
