"""The CLI says what is true (CONTRACT §6): a missing data dir is reported as missing, read-only
commands leave no trace on disk, stray arguments are usage errors, and `send` never sends a body
it had to cut short."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from hostlib import hookhost_bin, new_id, new_secret, run_cli

# The largest HOOKHOST_MAX_BODY a server accepts: `send` refuses bodies over it.
SEND_BODY_LIMIT = 32 << 20


def tree(root: Path) -> dict:
    """Every entry under root (root included) with its type, size and mtime: any creation or write shows."""
    out = {}
    if not os.path.lexists(root):
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [""] + dirnames + filenames:
            p = Path(dirpath) / name if name else Path(dirpath)
            st = os.lstat(p)
            out[str(p.relative_to(root.parent))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def cli_in(cwd: Path, *args: str, env=None, stdin=subprocess.DEVNULL, input_=None) -> subprocess.CompletedProcess:
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(cwd)}
    full_env.update(env or {})
    return subprocess.run([str(hookhost_bin()), *args], env=full_env, cwd=cwd, input=input_,
                          stdin=None if input_ is not None else stdin, capture_output=True, timeout=60)


def out_of(p) -> str:
    return p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


# --- a missing data directory ---------------------------------------------------------------

@pytest.mark.parametrize("args", [["list"], ["list", "--json"], ["show", "x"], ["replay", "x"], ["retry-dead"],
                                  ["purge", "--dead"], []])
def test_deliveries_on_missing_data_dir_says_it_is_missing(tmp_path, args):
    data = tmp_path / "no-such-data"
    p = run_cli("deliveries", *args, "--data", str(data), home=tmp_path)
    err = out_of(p)
    assert p.returncode in (1, 2), (p.returncode, err)
    assert str(data) in err, err
    assert "server" not in err.lower(), f"no server holds a directory that does not exist: {err!r}"
    assert not data.exists(), "the CLI must not create the data directory"


def test_deliveries_on_missing_data_dir_from_environment(tmp_path):
    data = tmp_path / "gone"
    p = run_cli("deliveries", "list", env={"HOOKHOST_DATA": str(data)}, home=tmp_path)
    assert p.returncode in (1, 2) and str(data) in out_of(p) and "server" not in out_of(p).lower(), out_of(p)
    assert not data.exists()


def test_deliveries_on_a_file_instead_of_a_directory(tmp_path):
    data = tmp_path / "a-file"
    data.write_text("x")
    p = run_cli("deliveries", "list", "--data", str(data), home=tmp_path)
    assert p.returncode in (1, 2) and str(data) in out_of(p) and "server" not in out_of(p).lower(), out_of(p)


# --- read-only commands create nothing -------------------------------------------------------

READ_ONLY = [["list"], ["list", "--json"], ["list", "--state", "dead"], ["show", "nope"]]


def test_read_only_deliveries_on_empty_data_dir_create_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    before = tree(data)
    for args in READ_ONLY:
        p = run_cli("deliveries", *args, "--data", str(data), home=tmp_path)
        assert p.returncode == (1 if args[0] == "show" else 0), (args, out_of(p))
        assert tree(data) == before, (args, sorted(set(tree(data)) - set(before)))
    p = run_cli("deliveries", "list", "--json", "--data", str(data), home=tmp_path)
    assert json.loads(p.stdout) == {"deliveries": []}
    p = run_cli("deliveries", "show", "nope", "--data", str(data), home=tmp_path)
    assert "nope" in out_of(p)


def test_read_only_deliveries_on_a_stopped_hosts_spool_change_nothing(host, fns):
    fns.add("_default")
    r = host.send()
    assert r.status == 202
    fns.wait_run(r.msg_id)
    host.stop()
    before = tree(host.data)
    for args in READ_ONLY + [["show", r.msg_id]]:
        p = host.cli("deliveries", *args, "--data", str(host.data))
        assert p.returncode == (1 if args == ["show", "nope"] else 0), (args, out_of(p))
        assert tree(host.data) == before, args
    doc = json.loads(host.cli("deliveries", "list", "--json", "--data", str(host.data)).stdout)
    assert [d["id"] for d in doc["deliveries"]] == [r.msg_id]


def test_functions_command_creates_nothing(tmp_path, fns):
    fns.add("_default")
    fns.add("batch", sidecar={"timeout": 5})
    work = tmp_path / "cwd"
    work.mkdir()
    before = (tree(work), tree(fns.dir))
    for args in (["functions", "--functions", str(fns.dir)], ["functions", "--json", "--functions", str(fns.dir)]):
        p = cli_in(work, *args)
        assert p.returncode == 0, out_of(p)
    assert (tree(work), tree(fns.dir)) == before
    # and the default ./Functions/bin, missing here, is reported without being created
    p = cli_in(work, "functions")
    assert p.returncode == 2 and "does not exist" in out_of(p), out_of(p)
    assert tree(work) == before[0]


# --- unexpected arguments --------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["functions", "EXTRA"],
    ["functions", "--json", "EXTRA"],
    ["deliveries", "list", "EXTRA"],
    ["deliveries", "show", "id1", "EXTRA"],
    ["deliveries", "replay", "id1", "EXTRA"],
    ["deliveries", "retry-dead", "EXTRA"],
    ["deliveries", "purge", "--dead", "EXTRA"],
    ["send", "http://127.0.0.1:9/webhooks", "EXTRA", "--type", "ping", "--secret", "SECRET"],
    ["demo", "EXTRA"],
    ["serve", "EXTRA"],
    ["version", "EXTRA"],
    ["help", "send", "EXTRA"],
])
def test_unexpected_argument_is_exit_2_naming_it(tmp_path, fns, args):
    data = tmp_path / "data"
    data.mkdir()
    args = [a.replace("SECRET", new_secret()) for a in args]
    if args[0] == "deliveries":
        args += ["--data", str(data)]
    if args[0] in ("functions", "demo"):
        args += ["--functions", str(fns.dir)]
    p = run_cli(*args, home=tmp_path, timeout=30)
    assert p.returncode == 2, (args, p.returncode, out_of(p))
    assert "EXTRA" in p.stderr.decode(), (args, out_of(p))


# --- send --body over the limit --------------------------------------------------------------

def _deliveries_total(host) -> int:
    text = host.request("GET", "/metrics").body.decode()
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
               if line.startswith("hookhost_deliveries_total{"))


@pytest.mark.parametrize("source,extra", [("file", 1), ("file", 1 << 20), ("stdin", 1)])
def test_send_body_over_the_limit_is_refused_not_truncated(host, tmp_path, source, extra):
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(SEND_BODY_LIMIT + extra)  # sparse: cheap to make
    base = ["send", host.url, "--type", "ping", "--secret", host.secrets[0], "--id", new_id("big")]
    if source == "file":
        p = host.cli(*base, "--body", str(big))
    else:
        p = cli_in(tmp_path, *base, "--body", "-", input_=big.read_bytes())
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 2, (p.returncode, out_of(p))
    assert str(SEND_BODY_LIMIT) in err and ("larger" in err or "limit" in err), err
    if source == "file":
        assert str(big) in err, err
    assert _deliveries_total(host) == 0, "nothing may reach the server"


def test_send_body_at_the_limit_is_sent_whole(host, tmp_path):
    """The limit itself is allowed: exactly SEND_BODY_LIMIT bytes go out (the host answers 413 at its own 1 MiB)."""
    big = tmp_path / "edge.json"
    with open(big, "wb") as f:
        f.truncate(SEND_BODY_LIMIT)
    p = host.cli("send", host.url, "--type", "ping", "--secret", host.secrets[0], "--body", str(big))
    assert "413" in out_of(p), out_of(p)


def test_send_small_body_file_is_sent_byte_for_byte(host, fns, tmp_path):
    fns.add("_default")
    body = b'{"type":"ping","data":{"n": 1}}'
    f = tmp_path / "body.json"
    f.write_bytes(body)
    msg_id = new_id("file")
    p = host.cli("send", host.url, "--secret", host.secrets[0], "--body", str(f), "--id", msg_id)
    assert p.returncode == 0, out_of(p)
    assert fns.wait_run(msg_id).stdin_json()["event"] == json.loads(body)
