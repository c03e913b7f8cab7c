"""`hookhost webhooks` with a running host: the secret Gemini shows once reaches the host through the
secrets file (no restart), rotation keeps both secrets until the old one's expiry (or not at all),
and `ping --wait` answers "is my endpoint reachable and my secret right?" — or says which it is not.
"""
from __future__ import annotations

import os
import re
import stat
import time

from hostlib import wait_until
from webhookslib import accepted, cli, create, start_host_with_file, stand_in  # noqa: F401 (stand_in is a fixture)


def test_create_writes_the_secret_0600_and_the_running_host_accepts_it_without_restart(stand_in, make_host, tmp_path):
    host, secrets = start_host_with_file(make_host, tmp_path)
    pid = host.pid
    hook_id, secret = create(stand_in, host, secrets)
    st = os.lstat(secrets)
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert secrets.read_text().startswith("# secrets of this host\n")
    wait_until(lambda: accepted(host, secret), 15, interval=0.3, what="the host to accept the new secret")
    assert host.pid == pid and host.running
    # And Gemini's own ping, end to end.
    code, out, err = cli(stand_in, "ping", hook_id, "--wait", "30", data=host.data)
    assert code == 0, err
    assert "ping arrived and verified" in out


def test_rotate_after_24h_keeps_both_until_the_old_ones_expiry(stand_in, make_host, tmp_path):
    host, secrets = start_host_with_file(make_host, tmp_path)
    hook_id, old = create(stand_in, host, secrets)
    wait_until(lambda: accepted(host, old), 15, interval=0.3, what="the first secret")
    code, out, err = cli(stand_in, "rotate", hook_id, secrets_file=secrets)
    assert code == 0, err
    assert "whsec_" not in out
    lines = [l for l in secrets.read_text().splitlines() if f"webhook={hook_id}" in l]
    assert len(lines) == 2 and lines[0].startswith(old) and "expires=" in lines[0]
    new = lines[1].split()[0]
    wait_until(lambda: accepted(host, new), 15, interval=0.3, what="the rotated secret")
    assert accepted(host, old), "the old secret must verify during the grace period"
    # The test's short expiry, written into the file as an operator would (the 24 h are not waited for).
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3))
    secrets.write_text(re.sub(r"expires=\S+", f"expires={soon}", secrets.read_text()))
    wait_until(lambda: not accepted(host, old), 20, interval=0.3, what="the old secret to expire")
    assert accepted(host, new)
    status = host.cli("status", "--data", str(host.data))
    assert b"expired " + soon.encode() in status.stdout, status.stdout


def test_rotate_now_refuses_the_old_secret_at_once(stand_in, make_host, tmp_path):
    host, secrets = start_host_with_file(make_host, tmp_path)
    hook_id, old = create(stand_in, host, secrets)
    wait_until(lambda: accepted(host, old), 15, interval=0.3, what="the first secret")
    code, out, err = cli(stand_in, "rotate", hook_id, "--revoke", "now", secrets_file=secrets)
    assert code == 0, err
    assert old not in secrets.read_text()
    new = next(l for l in secrets.read_text().splitlines() if f"webhook={hook_id}" in l).split()[0]
    wait_until(lambda: accepted(host, new), 15, interval=0.3, what="the new secret")
    assert not accepted(host, old)


# --- ping --wait: each way it can fail says so ----------------------------------------------------------

def test_ping_wait_when_the_host_is_down(stand_in, make_host, tmp_path):
    host, secrets = start_host_with_file(make_host, tmp_path)
    hook_id, _ = create(stand_in, host, secrets)
    host.stop()
    mark = stand_in.mark()
    code, out, err = cli(stand_in, "ping", hook_id, "--wait", "5", data=host.data)
    assert code == 1 and "no hookhost serve is running" in err
    assert stand_in.requests(mark) == [], "Gemini must not be asked when nothing can watch"


def test_ping_wait_when_the_host_has_the_wrong_secret(stand_in, make_host, tmp_path):
    host, secrets = start_host_with_file(make_host, tmp_path, first_line="whsec_" + "QUJD" * 8 + "\n")
    # The webhook's secret goes to another file: the host never learns it.
    hook_id, _ = create(stand_in, host, tmp_path / "elsewhere")
    code, out, err = cli(stand_in, "ping", hook_id, "--wait", "5", data=host.data)
    assert code == 1 and "signature was rejected" in err, err


def test_ping_wait_when_the_endpoint_is_unreachable(stand_in, make_host, tmp_path):
    host, secrets = start_host_with_file(make_host, tmp_path)
    code, out, err = cli(stand_in, "create", "--uri", "http://127.0.0.1:9/nothing", "--events", "batch.succeeded", secrets_file=secrets)
    hook_id = re.search(r"created webhook (\S+):", out).group(1)
    code, out, err = cli(stand_in, "ping", hook_id, "--wait", "3", data=host.data)
    assert code == 1 and "could not reach" in err, err


def test_ping_wait_when_the_api_answers_403(stand_in, make_host, tmp_path):
    host, secrets = start_host_with_file(make_host, tmp_path)
    hook_id, _ = create(stand_in, host, secrets)
    code, out, err = cli(stand_in, "ping", hook_id, "--wait", "5", key="denied-key", data=host.data)
    assert code == 1 and "HTTP 403 PERMISSION_DENIED" in err


def test_a_host_whose_every_secret_has_expired_is_not_ready(make_host, tmp_path):
    # Every signed delivery would be refused: a load balancer must see that in /readyz.
    from hostlib import new_secret
    old, fresh = new_secret(), new_secret()
    host, secrets = start_host_with_file(make_host, tmp_path, first_line=f"{old} expires=1970-01-01T00:00:00Z\n")
    wait_until(lambda: host.request("GET", "/readyz").status == 503, 10, what="/readyz to say not ready")
    answer = host.request("GET", "/readyz").body.decode()
    assert "1 expired" in answer, answer
    assert not accepted(host, old)
    secrets.write_text(f"{old} expires=1970-01-01T00:00:00Z\n{fresh}\n")
    wait_until(lambda: host.request("GET", "/readyz").status == 200, 15, interval=0.3, what="/readyz to turn ready with a usable secret")
    assert accepted(host, fresh)
