"""Issue 24, hostile review: `hookhost webhooks` writing HOOKHOST_SECRETS_FILE when two rotations
race, the disk is full or the directory is not writable, and listing from an API whose pages are
huge and never end. Real binary, a scripted API on 127.0.0.1 (hostile_api.py)."""
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from durability_lib import tmpfs
from hostile_api import Answer, HostileAPI
from hostlib import hookhost_bin, new_secret, wait_until

KEY = "AIzaWebhooksHostile-9fQ2mX7rL4tV1cB8nZ"


@pytest.fixture
def api_server():
    servers = []

    def make(answer):
        s = HostileAPI(answer)
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.stop()


def cli_args(api: HostileAPI, secrets: Path | None) -> tuple[dict, list]:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp", "HOOKHOST_API_BASE": api.base, "GEMINI_API_KEY": KEY}
    if secrets is not None:
        env["HOOKHOST_SECRETS_FILE"] = str(secrets)
    return env, [str(hookhost_bin()), "webhooks"]


def run(api: HostileAPI, secrets: Path | None, *args: str, binary: str | None = None, **kw) -> subprocess.CompletedProcess:
    env, argv = cli_args(api, secrets)
    if binary:
        argv[0] = binary
    p = subprocess.run(argv + list(args), env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120, **kw)
    assert KEY[:10] not in (p.stdout + p.stderr).decode(errors="replace"), "the API key must never be printed"
    return p


def out_of(p) -> str:
    return f"rc={p.returncode}\n--- stdout\n{p.stdout.decode(errors='replace')}\n--- stderr\n{p.stderr.decode(errors='replace')}"


def test_two_rotations_at_once_leave_the_secret_gemini_signs_with(tmp_path, api_server):
    old, first, second = new_secret(), new_secret(), new_secret()
    order = [first, second]  # Gemini hands out secrets in the order the requests reach it
    arrived = []
    lock = threading.Lock()

    def rotate(r):
        with lock:
            n = len(arrived)
            arrived.append(r.path)
        if n == 0:
            api.released.wait(60)  # the first answer is held until the test lets it go
        return Answer(body={"secret": order[n]})
    api = api_server(rotate)
    secrets = tmp_path / "secrets"
    secrets.write_text(f"{old} webhook=wh1\n")
    secrets.chmod(0o600)
    env, argv = cli_args(api, secrets)
    cmd = argv + ["rotate", "wh1", "--revoke", "now"]
    one = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: len(arrived) == 1, 30, what="the first rotation at Gemini")
    two = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # The second may finish first only if it reached Gemini meanwhile; either way the first is
    # then answered, and the file must end with what Gemini signs with: the last secret it made.
    try:
        two.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    api.release()
    errs = []
    for p in (one, two):
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, (out, err)
        assert KEY[:10] not in (out + err).decode()
        errs.append(err.decode())
    assert "waiting for another run that is changing" in errs[1], errs  # why the second sat still
    text = secrets.read_text()
    assert len(arrived) == 2
    assert second in text and first not in text and old not in text, text


def test_create_on_a_full_disk_is_refused_before_gemini_is_asked(tmp_path, api_server):
    api = api_server(lambda r: Answer(body={"id": "wh9", "new_signing_secret": new_secret(), "uri": "https://x.example/h"}))
    try:
        ctx = tmpfs(tmp_path / "small", size="8k")
        mount = ctx.__enter__()
    except OSError as e:
        pytest.skip(f"no tmpfs: {e}")
    try:
        secrets = mount / "secrets"
        secrets.write_text("# the host's secrets\n" + "#" * 5000 + "\n")  # two of the disk's two pages
        secrets.chmod(0o600)
        p = run(api, secrets, "create", "--uri", "https://x.example/h", "--events", "batch.succeeded")
        assert p.returncode == 1 and "No space left" in p.stderr.decode(), out_of(p)
        assert api.count() == 0, "Gemini was asked for a secret that could not be stored"
        assert secrets.read_text().startswith("# the host's secrets\n")
        assert [n for n in os.listdir(mount) if n.endswith(".tmp")] == []
    finally:
        ctx.__exit__(None, None, None)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the CLI as another user")
def test_create_in_a_directory_it_cannot_write_is_refused_before_gemini_is_asked(api_server):
    api = api_server(lambda r: Answer(body={"id": "wh9", "new_signing_secret": new_secret(), "uri": "https://x.example/h"}))
    root = Path(tempfile.mkdtemp(prefix="hookhost-e2e-secrets-", dir="/tmp"))
    try:
        root.chmod(0o755)
        binary = root / "hookhost"
        shutil.copy2(hookhost_bin(), binary)
        binary.chmod(0o755)
        etc = root / "etc"
        etc.mkdir(mode=0o755)  # root's: uid 65534 may read it, not add files
        secrets, lock = etc / "secrets", etc / ".secrets.lock"
        for f, text in ((secrets, "# secrets\n"), (lock, "")):
            f.write_text(text)
            os.chown(f, 65534, 65534)
            f.chmod(0o600)
        p = run(api, secrets, "create", "--uri", "https://x.example/h", "--events", "batch.succeeded",
                binary=str(binary), user=65534, group=65534, extra_groups=[])
        assert p.returncode == 1 and "Permission denied" in p.stderr.decode(), out_of(p)
        assert api.count() == 0, "Gemini was asked for a secret that could not be stored"
        assert "whsec_" not in p.stdout.decode()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_listing_of_endless_huge_pages_stops_within_its_byte_budget(tmp_path, api_server):
    pad = "x" * (8 << 20)
    api = api_server(lambda r: Answer(body=('{"webhooks":[{"id":"w","pad":"%s"}],"next_page_token":"t%d"}' % (pad, api.count())).encode()))
    # Under an address-space limit: a client that kept every page would fail here, not take the machine.
    env, argv = cli_args(api, None)
    p = subprocess.run(["prlimit", "--as=4000000000", "--"] + argv + ["list"], env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=300)
    assert p.returncode == 1 and "MiB of answers" in p.stderr.decode(), out_of(p)[-2000:]
    assert api.count() <= 9, api.count()


@pytest.mark.parametrize("how", ["socket removed", "host stopped (SIGSTOP)"])
def test_ping_wait_with_a_control_socket_that_does_not_answer_asks_gemini_for_nothing(make_host, api_server, how):
    api = api_server(lambda r: Answer(body={}))
    host = make_host()
    if how == "socket removed":
        (host.data / "control.sock").unlink()
    else:
        os.kill(host.pid, signal.SIGSTOP)
    try:
        p = run(api, None, "ping", "wh1", "--wait", "1", "--data", str(host.data))
    finally:
        if how != "socket removed":
            os.kill(host.pid, signal.SIGCONT)
    assert p.returncode == 1 and "control socket does not answer" in p.stderr.decode(), out_of(p)
    assert "not asked to ping" in p.stderr.decode(), out_of(p)
    assert api.count() == 0, "Gemini was asked for a ping nobody could see arrive"


def test_control_characters_from_the_api_never_reach_the_terminal(api_server):
    # A webhook's name is set by anyone holding the project's key; ESC sequences in it would
    # recolour or retitle the operator's terminal, a CR overwrite the line.
    hook = {"id": "wh1", "name": "\x1b]0;owned\x07\x1b[2Jname", "uri": "https://x.example/h\r\nfake: line",
            "state": "enabled", "subscribed_events": ["batch.succeeded\x1b[31m"]}
    api = api_server(lambda r: Answer(body={"webhooks": [hook]} if r.path.endswith("/webhooks") else hook))
    for args in (["list"], ["get", "wh1"]):
        p = run(api, None, *args)
        assert p.returncode == 0, out_of(p)
        assert b"\x1b" not in p.stdout and b"\r" not in p.stdout and b"\x07" not in p.stdout, p.stdout
        assert b"\\x1b]0;owned" in p.stdout, p.stdout
    bad = api_server(lambda r: Answer(400, {"error": {"code": 400, "message": "no\x1b[2J\rsuch", "status": "INVALID\x1b[0m"}}))
    p = run(bad, None, "get", "wh1")
    assert p.returncode == 1 and b"\x1b" not in p.stderr and b"\r" not in p.stderr and b"HTTP 400" in p.stderr and b"such" in p.stderr, out_of(p)
