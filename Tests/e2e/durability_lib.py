"""Helpers for the durability tests (test_durability.py): concurrent keep-alive load with per-id
outcomes, `hookhost deliveries` as JSON, a small tmpfs, and handler scripts that leave traces.

Built on hostlib (signing by the independent `standardwebhooks` package); talks to 127.0.0.1 only and
every wait is bounded.
"""
from __future__ import annotations

import errno
import http.client
import json
import os
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Optional

from hostlib import Host, event_body, signed_headers, wait_until

UNFINISHED = ("received", "running", "retry_scheduled")


# ---------------------------------------------------------------------------------------------
# `hookhost deliveries …` through the CLI

class CliError(AssertionError):
    pass


def deliveries(host: Host, *args: str, check: bool = True, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """`hookhost deliveries ARGS --data DIR` (through the control socket or directly)."""
    p = host.cli("deliveries", *args, "--data", str(host.data), timeout=timeout)
    if check and p.returncode != 0:
        raise CliError(f"hookhost deliveries {' '.join(args)} exited {p.returncode}:\n"
                       f"stdout: {p.stdout.decode(errors='replace')}\nstderr: {p.stderr.decode(errors='replace')}")
    return p


def deliveries_json(host: Host, *args: str) -> dict:
    p = deliveries(host, *args)
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        raise CliError(f"hookhost deliveries {' '.join(args)} printed no JSON ({e}): {p.stdout[:500]!r}")


def listed(host: Host, state: Optional[str] = None, type_: Optional[str] = None) -> dict[str, dict]:
    """`deliveries list --json [--state S] [--type T]` as {id: summary}."""
    args = ["list", "--json"]
    if state:
        args += ["--state", state]
    if type_:
        args += ["--type", type_]
    doc = deliveries_json(host, *args)
    assert isinstance(doc, dict) and isinstance(doc.get("deliveries"), list), doc
    return {d["id"]: d for d in doc["deliveries"]}


def show(host: Host, msg_id: str) -> tuple[dict, bytes]:
    """`deliveries show ID` parsed, and its raw stdout (to find the stdin document byte for byte)."""
    p = deliveries(host, "show", "--json", msg_id)
    return json.loads(p.stdout), p.stdout


def wait_state(host: Host, msg_id: str, state: str, timeout: float = 20.0, attempt: Optional[int] = None) -> dict:
    """Polls `deliveries list --json` until msg_id is in `state` (and at `attempt`, if given)."""
    last = {}

    def check():
        nonlocal last
        d = listed(host).get(msg_id)
        last = d
        return d if d and d["state"] == state and (attempt is None or d["attempt"] == attempt) else None

    try:
        return wait_until(check, timeout, interval=0.2, what=f"{msg_id} to be {state}")
    except TimeoutError as e:
        raise AssertionError(f"{e}; last seen: {last}") from None


def wait_drained(host: Host, timeout: float = 120.0) -> dict[str, dict]:
    """Polls until no delivery is received/running/retry_scheduled; returns the final listing."""
    last: dict[str, dict] = {}

    def check():
        nonlocal last
        last = listed(host)
        return not any(d["state"] in UNFINISHED for d in last.values())

    try:
        wait_until(check, timeout, interval=0.5, what="the queue to drain")
    except TimeoutError as e:
        stuck = [d for d in last.values() if d["state"] in UNFINISHED][:10]
        raise AssertionError(f"{e}; still unfinished (first 10): {stuck}") from None
    return last


# ---------------------------------------------------------------------------------------------
# Load: several threads, each on its own keep-alive connection

class Load:
    """Sends signed deliveries with fresh ids from `threads` keep-alive connections until stopped.

    Every id ends up in exactly one bucket:
      accepted  — answered 202
      answered  — any other answer: {id: (status, body)}
      unknown   — the request may have reached the host but no answer came back (reset, EOF, timeout)
      refused   — the connection could not even be opened (the id never reached the host)
    """

    def __init__(self, host: Host, type_: str, prefix: str, threads: int = 6):
        self.port = host.port
        self.path = host.path
        self.secret = host.secrets[0]
        self.type = type_
        self.prefix = prefix
        self.n_threads = threads
        self.lock = threading.Lock()
        self.accepted: list[str] = []
        self.answered: dict[str, tuple[int, bytes]] = {}
        self.unknown: list[str] = []
        self.refused: list[str] = []
        self.errors: list[str] = []
        self._next = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _new_id(self) -> str:
        with self.lock:
            self._next += 1
            return f"{self.prefix}-{self._next:06d}"

    def _worker(self):
        conn: Optional[http.client.HTTPConnection] = None
        while not self._stop.is_set():
            msg_id = self._new_id()
            body = event_body(self.type, {"id": msg_id})
            headers = signed_headers(self.secret, msg_id, body)
            headers["Content-Type"] = "application/json"
            fresh = conn is None
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
                    conn.connect()
            except OSError:
                with self.lock:
                    self.refused.append(msg_id)
                conn = None
                self._stop.wait(0.02)
                continue
            try:
                conn.request("POST", self.path, body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.unknown.append(msg_id)
                    if len(self.errors) < 20:
                        self.errors.append(f"{msg_id}: {type(e).__name__}: {e} (fresh connection: {fresh})")
                conn.close()
                conn = None
                continue
            with self.lock:
                if r.status == 202:
                    self.accepted.append(msg_id)
                else:
                    self.answered[msg_id] = (r.status, data)
            if r.will_close:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def start(self) -> "Load":
        self._stop.clear()
        for i in range(self.n_threads):
            t = threading.Thread(target=self._worker, name=f"load-{self.prefix}-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def accepted_count(self) -> int:
        with self.lock:
            return len(self.accepted)

    def stop(self, timeout: float = 30.0):
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        alive = [t.name for t in self._threads if t.is_alive()]
        self._threads = []
        assert not alive, f"load threads did not stop: {alive}"


def send_quietly(host: Host, msg_id: str, type_: str, body: Optional[bytes] = None):
    """host.send, with a connection-level failure returned as None instead of raised."""
    try:
        return host.send(body if body is not None else event_body(type_, {"id": msg_id}), type_=type_, msg_id=msg_id)
    except (OSError, http.client.HTTPException):
        return None


# ---------------------------------------------------------------------------------------------
# Handlers

APPEND_HANDLER = """#!/bin/sh
# one short append (O_APPEND, a single write) per run: "<id> <attempt>"
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT" >> "$OUT/{log}"
"""


def read_pairs(path: Path) -> list[tuple[str, int]]:
    """Lines "<id> <attempt>" written by APPEND_HANDLER (a torn last line is ignored)."""
    if not path.exists():
        return []
    out = []
    for ln in path.read_text().splitlines():
        parts = ln.split(" ")
        if len(parts) == 2 and parts[1].isdigit():
            out.append((parts[0], int(parts[1])))
    return out


# A handler that shows when it started (pid file = its process group, since hookhost starts every
# function as a group leader), records stdin, sleeps `$SLEEP` seconds on the attempts listed in
# `$SLEEP_ON` (all when empty), then prints a JSON object and leaves a done marker.
SLEEPER = """#!/bin/sh
d="$OUT/$HOOKHOST_DELIVERY_ID.$HOOKHOST_ATTEMPT"
cat > "$d.stdin"
echo $$ > "$d.pid"
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT" >> "$OUT/sleeper.log"
touch "$d.started"
case " ${{SLEEP_ON:-$HOOKHOST_ATTEMPT}} " in
  *" $HOOKHOST_ATTEMPT "*) sleep {seconds} ;;
esac
echo '{{"finished":true,"attempt":'"$HOOKHOST_ATTEMPT"'}}'
touch "$d.done"
"""


# A polite function: on SIGTERM (the drain) it notes it, finishes its work and exits 0. It works
# for up to `ticks` tenths of a second while "$OUT/hold" exists, else finishes at once.
POLITE = """#!/bin/sh
d="$OUT/$HOOKHOST_DELIVERY_ID.$HOOKHOST_ATTEMPT"
cat > "$d.stdin"
echo $$ > "$d.pid"
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT" >> "$OUT/sleeper.log"
finish() {{ echo '{{"finished":true,"attempt":'"$HOOKHOST_ATTEMPT"'}}'; touch "$d.done"; exit 0; }}
trap 'touch "$d.term"; finish' TERM
touch "$d.started"
i=0
while [ -e "$OUT/hold" ] && [ $i -lt {ticks} ]; do sleep 0.1; i=$((i+1)); done
finish
"""


class Reaper:
    """Kills, at teardown, the process groups of handlers that may outlive a killed host."""

    def __init__(self, out: Path):
        self.out = out

    def pids(self) -> list[int]:
        out = []
        for p in self.out.glob("*.pid"):
            try:
                out.append(int(p.read_text().strip()))
            except ValueError:
                pass
        return out

    def ours(self, pid: int) -> bool:
        """Only a live process whose environment carries our OUT dir (a pid may have been reused)."""
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            return False
        return f"OUT={self.out}".encode() in env

    def reap(self):
        for pid in self.pids():
            if not self.ours(pid):
                continue
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError, OSError):
                    pass


# ---------------------------------------------------------------------------------------------
# A small tmpfs for the data directory

@contextmanager
def tmpfs(mountpoint: Path, size: str = "2m"):
    """Mounts a tmpfs of `size` at mountpoint; raises OSError(reason) if that is not possible.
    Always unmounts on exit (lazily, if something still holds it)."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(mountpoint)],
                       capture_output=True, timeout=20)
    if p.returncode != 0:
        raise OSError(f"mount -t tmpfs failed ({p.returncode}): {(p.stderr or p.stdout).decode(errors='replace').strip()}")
    try:
        yield mountpoint
    finally:
        u = subprocess.run(["umount", str(mountpoint)], capture_output=True, timeout=20)
        if u.returncode != 0:
            subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True, timeout=20)


def fill(directory: Path, name: str = "filler", chunk: int = 4096, limit: int = 1 << 30) -> Path:
    """Writes a file until the filesystem says ENOSPC (bounded by `limit` bytes)."""
    path = directory / name
    buf = b"\0" * chunk
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while written < limit:
            try:
                n = os.write(fd, buf)
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    return path
                raise
            if n <= 0:
                break
            written += n
    finally:
        os.close(fd)
    raise AssertionError(f"filled {written} bytes into {path} without ENOSPC")


def ids_of(pairs: Iterable[tuple[str, int]]) -> set[str]:
    return {i for i, _ in pairs}


def gauge(host: Host, name: str) -> Optional[float]:
    """The value of an unlabelled metric from GET /metrics (None if absent)."""
    text = host.request("GET", "/metrics").body.decode("utf-8", "replace")
    for ln in text.splitlines():
        parts = ln.split()
        if len(parts) == 2 and parts[0] == name:
            return float(parts[1])
    return None


# A handler that records its start and then waits (bounded: 60 s) until the file $OUT/release exists.
GATED = """#!/bin/sh
echo $$ > "$OUT/$HOOKHOST_DELIVERY_ID.$HOOKHOST_ATTEMPT.pid"
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT" >> "$OUT/gated.log"
i=0
while [ ! -e "$OUT/release" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
"""


# ---------------------------------------------------------------------------------------------
# lazyfs: written data lives in memory until fsync (see lazyfs.py); killing it cuts the power

LAZYFS = Path(__file__).resolve().parent / "lazyfs.py"


class LazyFS:
    """lazyfs.py mounted at `mountpoint` over `backing`. `cut()` is a power cut: the FUSE process
    dies with everything written but not synced; `mount()` again on the same backing restarts."""

    def __init__(self, backing: Path, mountpoint: Path):
        self.backing, self.mountpoint = backing, mountpoint
        self.proc: Optional[subprocess.Popen] = None

    def mount(self):
        self.backing.mkdir(parents=True, exist_ok=True)
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        import sys
        self.proc = subprocess.Popen([sys.executable, str(LAZYFS), str(self.backing), str(self.mountpoint)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while not os.path.ismount(self.mountpoint):
            if self.proc.poll() is not None:
                raise OSError(f"lazyfs exited: {self.proc.stderr.read().decode(errors='replace')[-500:]}")
            if time.monotonic() > deadline:
                raise OSError("lazyfs did not mount within 15 s")
            time.sleep(0.05)

    def cut(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        subprocess.run(["fusermount", "-u", "-z", str(self.mountpoint)], capture_output=True, timeout=20)
        subprocess.run(["umount", "-l", str(self.mountpoint)], capture_output=True, timeout=20)


@contextmanager
def lazyfs(backing: Path, mountpoint: Path):
    """Mounts lazyfs (raises OSError when FUSE is unavailable); always unmounts."""
    fs = LazyFS(backing, mountpoint)
    fs.mount()
    try:
        yield fs
    finally:
        fs.cut()
