"""What start-up leaves or drops silently (issue 18, defect 9).

A compaction cut short by a crash leaves `spool.log.compact` behind; start-up removes it and says
so. The admin listener and the control socket either serve or the host does not start: exit 2 and
one line naming the setting — never a host whose /readyz, /metrics or `hookhost deliveries`
answer nowhere. Real binary; every wait bounded."""
import json
import os
import shutil
import socket
import subprocess

import pytest

from hostlib import Host, control_request, free_port, http_request, wait_until


def refused(host: Host, extra_args=(), env=None) -> str:
    """Starts `host` expecting exit 2; its log. A host that starts anyway is stopped."""
    host.start(extra_args, env, wait=False)
    try:
        code = host.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        host.stop()
        pytest.fail("the host started instead of refusing:\n" + host.log_tail())
    assert code == 2, host.log_tail()
    return host.log_text()


def test_a_leftover_compaction_file_is_removed_at_start(make_host):
    host = make_host(start=False)
    leftover = host.data / "spool.log.compact"
    # What a kill -9 during compaction leaves: a large replacement log that was never renamed.
    with open(leftover, "wb") as f:
        f.write(b"\x00" * 4096)
        f.truncate(80 << 20)
    host.start()
    assert not leftover.exists(), "spool.log.compact survived the start"
    lines = [r for r in host.log_records() if "compaction" in r.get("msg", "") and r.get("file") == str(leftover)]
    assert lines and lines[0]["bytes"] == 80 << 20, host.log_tail()
    # The spool itself is untouched and works.
    r = host.send()
    assert r.status == 202


def test_an_admin_address_in_use_refuses_to_start(make_host):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        log = refused(make_host(start=False), ["--admin-listen", f"127.0.0.1:{taken.getsockname()[1]}"])
    finally:
        taken.close()
    assert "HOOKHOST_ADMIN_LISTEN" in log, log


def test_a_control_socket_that_cannot_be_made_refuses_to_start(make_host):
    host = make_host(start=False)
    # A non-empty directory where the socket goes: it cannot be replaced, so bind fails.
    (host.data / "control.sock").mkdir()
    (host.data / "control.sock" / "keep").write_text("x")
    log = refused(host)
    assert "HOOKHOST_DATA" in log and "control socket" in log, log


def socket_inodes(pid: int) -> dict[int, int]:
    """fd -> socket inode, for the sockets `pid` holds."""
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            out[int(fd)] = int(target[8:-1])
    return out


def epoll_watched(pid: int) -> set[int]:
    """The descriptors some epoll instance of `pid` watches (`tfd:` lines of its fdinfo): a
    listener no event loop watches is served nowhere."""
    watched = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:[eventpoll]":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                watched |= {int(ln.split()[1]) for ln in f if ln.startswith("tfd:")}
        except OSError:
            continue
    return watched


def tcp_listener_inode(port: int) -> int | None:
    with open("/proc/net/tcp") as f:
        for ln in list(f)[1:]:
            fields = ln.split()
            if fields[1] == f"0100007F:{port:04X}" and fields[3] == "0A":
                return int(fields[9])
    return None


def unix_listener_inode(path: str) -> int | None:
    with open("/proc/net/unix") as f:
        for ln in list(f)[1:]:
            fields = ln.split()
            if len(fields) >= 8 and fields[7] == path and int(fields[3], 16) & 0x10000:  # __SO_ACCEPTCON
                return int(fields[6])
    return None


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs prlimit")
def test_with_any_descriptor_limit_admin_and_control_are_served_or_the_start_fails(make_host):
    """Every descriptor limit from "nothing opens" to "everything fits": the host either exits 2
    naming a setting, or starts with its admin listener and control socket each watched by an
    event loop. Their servers need descriptors of their own (an epoll and an eventfd each), so
    some limit in between makes exactly that fail, after the main listener is up. (Whether they
    answer cannot be asked at such a limit: no descriptor is left to accept a connection, and
    raising a running process's hard limit needs CAP_SYS_RESOURCE.)"""
    host = make_host(start=False)
    admin_port = free_port()
    outcomes = []
    for limit in range(6, 40):
        for stale in host.data.iterdir():
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
        host.start(["--admin-listen", f"127.0.0.1:{admin_port}", "--http-threads", "1", "--workers", "1", "--fetchers", "1"],
                   wait=False, wrapper=["prlimit", f"--nofile={limit}:{limit}", "--"])
        try:
            wait_until(lambda: host.proc.poll() is not None or '"listening"' in host.log_text(), 15,
                       what=f"the host with {limit} descriptors to exit or start")
            if host.proc.poll() is not None:
                assert host.proc.returncode == 2, f"limit {limit}:\n{host.log_tail()}"
                line = next((ln for ln in host.log_text().splitlines() if "configuration error:" in ln), None)
                assert line, f"limit {limit}: no configuration error line:\n{host.log_tail()}"
                outcomes.append((limit, line.split("configuration error:")[1].split(":")[0].strip()))
                continue
            sockets = socket_inodes(host.pid)
            watched = epoll_watched(host.pid)
            for what, inode in (("admin listener", tcp_listener_inode(admin_port)),
                                ("control socket", unix_listener_inode(str(host.data / "control.sock")))):
                assert inode is not None, f"limit {limit}: no {what} is listening\n{host.log_tail()}"
                fds = [fd for fd, i in sockets.items() if i == inode]
                assert fds and set(fds) & watched, f"limit {limit}: the {what} is open but no event loop serves it"
            outcomes.append((limit, "up"))
        finally:
            host.stop()
        break  # the first limit that starts shows both served; higher limits only add headroom
    assert outcomes and outcomes[-1][1] == "up", f"no descriptor limit up to 39 let the host start: {outcomes}"
    # The limits just below the first that starts are refused naming what could not be made.
    refusals = {what for _, what in outcomes}
    assert any("HOOKHOST_ADMIN_LISTEN" in w for w in refusals) and any("HOOKHOST_DATA" in w for w in refusals), outcomes
