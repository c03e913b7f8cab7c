"""Running the example functions of Functions/ (built by Functions/build.sh) directly, with stdin
documents shaped exactly like the host's (CONTRACT §4) and the environment the host gives them."""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

REPO = Path(__file__).resolve().parents[2]


def examples_dir() -> Path:
    """HOOKHOST_EXAMPLES (scripts/test.sh sets it after building), else Functions/bin.

    Named but missing is a failure (CI built them and lost them); unnamed and missing is a skip,
    so the rest of the suite runs without a release build of the examples."""
    named = os.environ.get("HOOKHOST_EXAMPLES")
    d = Path(named) if named else REPO / "Functions" / "bin"
    if not (d / "batch.succeeded").is_file():
        msg = f"example functions not built in {d}: run Functions/build.sh"
        if named:
            pytest.fail(msg)
        pytest.skip(msg)
    return d


def stdin_doc(type_: str, data: dict, delivery: str, attempt: int = 1, result: Optional[dict] = None,
              user_metadata: Optional[dict] = None, timestamp: Optional[str] = "2026-05-04T12:00:00Z",
              received_at: str = "2026-05-04T12:00:01.123Z", event: Optional[bytes] = None) -> bytes:
    """The stdin document, compact and in the host's key order; `event` overrides the body bytes."""
    body = {"type": type_, "version": "v1", "data": data}
    if timestamp is not None:
        body["timestamp"] = timestamp
    event = event if event is not None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    d = lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode()  # noqa: E731
    return (b'{"contract":1,"delivery":{"id":' + d(delivery) + b',"attempt":' + d(attempt)
            + b',"received_at":' + d(received_at) + b',"verified_by":"hmac"},"type":' + d(type_)
            + b',"event":' + event + b',"user_metadata":' + d(user_metadata) + b',"result":' + d(result) + b'}\n')


def result_of(path: Path, uri: str, content_type: Optional[str] = None, sha256: str = "0" * 64) -> dict:
    return {"uri": uri, "path": str(path), "bytes": path.stat().st_size, "sha256": sha256, "content_type": content_type}


@dataclass
class Run:
    code: int
    stdout: bytes
    stderr: str
    max_rss_kb: int

    def json(self):
        assert self.stdout.endswith(b"\n") and self.stdout.count(b"\n") == 1, self.stdout
        return json.loads(self.stdout)


def run_function(name: str, doc: bytes, tmp: Path, env: Optional[dict] = None, timeout: float = 120) -> Run:
    """Runs examples/<name> like the host does (stdin, the contract's environment) and samples its
    peak RSS (VmHWM)."""
    info = json.loads(doc)
    work = tmp / f"work-{os.urandom(4).hex()}"
    work.mkdir()
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), "LANG": "C.UTF-8",
                "HOOKHOST_EVENT_TYPE": info["type"], "HOOKHOST_DELIVERY_ID": info["delivery"]["id"],
                "HOOKHOST_ATTEMPT": str(info["delivery"]["attempt"]), "HOOKHOST_WORK_DIR": str(work)}
    if info.get("result"):
        full_env["HOOKHOST_RESULT_PATH"] = info["result"]["path"]
    full_env.update(env or {})
    full_env = {k: v for k, v in full_env.items() if v is not None}
    stdin_path, out_path, err_path = (tmp / f".{os.urandom(4).hex()}.{n}" for n in ("in", "out", "err"))
    stdin_path.write_bytes(doc)
    exe = (examples_dir() / name).resolve()
    peak = 0
    with open(stdin_path, "rb") as i, open(out_path, "wb") as o, open(err_path, "wb") as e:
        p = subprocess.Popen([str(exe)], stdin=i, stdout=o, stderr=e, env=full_env)
        deadline = time.monotonic() + timeout
        while p.poll() is None:
            peak = max(peak, _hwm_kb(p.pid, exe))
            if time.monotonic() > deadline:
                p.kill()
                p.wait()
                break
            time.sleep(0.005)
    run = Run(p.returncode, out_path.read_bytes(), err_path.read_text(errors="replace"), peak)
    for f in (stdin_path, out_path, err_path):
        f.unlink()
    return run


def _hwm_kb(pid: int, exe: Path) -> int:
    """The process's RSS high-water mark, once it runs `exe`: not ru_maxrss, which on Linux also
    counts the forking parent's memory (the pytest process), and not before the exec."""
    try:
        if os.readlink(f"/proc/{pid}/exe") != str(exe):
            return 0
        with open(f"/proc/{pid}/status") as f:
            m = re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M)
        return int(m.group(1)) if m else 0
    except OSError:
        return 0


def hidden_leftovers(d: Path) -> list[str]:
    """Temporary names (`.…partial…`) anywhere under d: an atomic writer must leave none."""
    return [str(p) for p in d.rglob(".*") if "partial" in p.name]
