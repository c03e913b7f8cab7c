"""Hostile review of: spool preallocation, lazy bookkeeping records, the compact id table,
connection dealing across HTTP loops. Only 127.0.0.1; every loop and wait bounded."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import socket

from hostlib import http_request, new_id, wait_until
from durability_lib import wait_state


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_short_connections_dealt_across_loops_leak_no_descriptors(make_host):
    host = make_host(extra_args=["--http-threads", "4"])
    assert http_request(host.port, "GET", "/healthz").status == 200
    base = fd_count(host.pid)
    for i in range(2000):
        with socket.create_connection(("127.0.0.1", host.port), timeout=5) as s:
            if i % 2 == 0:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                data = b""
                for _ in range(100):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                assert data.startswith(b"HTTP/1.1 200"), data[:80]
            # odd ones: connect and hang up without a request
    wait_until(lambda: fd_count(host.pid) <= base, 10, what=f"descriptors back to {base} (now {fd_count(host.pid)})")


def test_spool_log_is_not_extended_on_every_restart(host):
    sizes = []
    for i in range(6):
        r = host.send(type_="ping")
        assert r.status == 202, r
        host.restart()
        sizes.append(os.path.getsize(host.data / "spool.log"))
    assert len(set(sizes)) == 1, sizes


def test_listing_a_stopped_host_leaves_the_log_untouched(host):
    for _ in range(3):
        assert host.send(type_="ping").status == 202
    host.stop()
    log = host.data / "spool.log"
    before = (os.path.getsize(log), hashlib.sha256(log.read_bytes()).hexdigest())
    p = host.cli("deliveries", "list", "--data", str(host.data), "--json")
    assert p.returncode == 0, p.stderr
    assert len(json.loads(p.stdout)["deliveries"] if p.stdout.strip().startswith(b"{") else json.loads(p.stdout)) == 3
    assert (os.path.getsize(log), hashlib.sha256(log.read_bytes()).hexdigest()) == before


def test_skipped_record_is_written_when_the_host_stops_right_after(host):
    # No function for this type: the delivery is skipped, a lazy bookkeeping record.
    ids = []
    for _ in range(5):
        r = host.send(type_="nohandler.review3")
        assert r.status == 202, r
        ids.append(r.msg_id)
    for i in ids:
        wait_state(host, i, "skipped", timeout=10)
    assert host.stop() == 0
    host.start()
    recovered = [r for r in host.log_records() if r.get("msg") == "spool: recovered"]
    assert recovered and recovered[0].get("unfinished") == 0, recovered
    for i in ids:
        wait_state(host, i, "skipped", timeout=10)


def _listed_ids(host) -> set:
    p = host.cli("deliveries", "list", "--data", str(host.data), "--json")
    assert p.returncode == 0, p.stderr
    v = json.loads(p.stdout)
    return {d["id"] for d in (v["deliveries"] if isinstance(v, dict) else v)}


def test_junk_in_the_allocated_zeros_is_cut_and_later_appends_survive(host):
    first = [host.send(type_="ping").msg_id for _ in range(3)]
    host.stop()
    log = host.data / "spool.log"
    size = os.path.getsize(log)
    assert size >= 1 << 20, size  # allocated ahead
    with open(log, "r+b") as f:
        f.seek(size // 2)
        f.write(b"\x48\x48\x4b\x31garbage-from-a-torn-write" * 10)
    host.start()
    later = [host.send(type_="ping").msg_id for _ in range(3)]
    host.stop()
    assert _listed_ids(host) == set(first + later)
    host.start()
    assert http_request(host.port, "GET", "/healthz").status == 200
    host.stop()
    assert _listed_ids(host) == set(first + later)


def test_a_log_of_only_zeros_is_an_empty_log(host):
    host.stop()
    log = host.data / "spool.log"
    with open(log, "wb") as f:
        f.truncate(8 << 20)
    host.start()
    ids = [host.send(type_="ping").msg_id for _ in range(2)]
    host.stop()
    assert _listed_ids(host) == set(ids)
    assert "skipped damaged" not in host.all_logs()
