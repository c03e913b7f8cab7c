"""Helpers for driving the real hookhost binary end to end.

Everything here talks to 127.0.0.1 only, every wait is bounded, and signatures are produced by the
independent `standardwebhooks` package (never by hookhost's own code).
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import re
import secrets as pysecrets
import select
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Optional

from standardwebhooks.webhooks import Webhook

REPO_ROOT = Path(__file__).resolve().parents[2]
CANARY_VAR = "HOOKHOST_E2E_CANARY"
CANARY_VALUE = "canary-must-not-reach-handlers"


def hookhost_bin() -> Path:
    """The binary under test: $HOOKHOST_BIN, else .build/debug/hookhost under the repo root."""
    p = Path(os.environ.get("HOOKHOST_BIN", ".build/debug/hookhost"))
    return p if p.is_absolute() else REPO_ROOT / p


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred: Callable[[], object], timeout: float, interval: float = 0.05, what: str = "condition"):
    """Polls pred() until it returns something truthy; bounded by timeout. Returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# Signing

def new_secret() -> str:
    """A fresh whsec_ secret whose key decodes to 32 ASCII characters, like Gemini's."""
    raw = "".join(pysecrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(32))
    return "whsec_" + base64.b64encode(raw.encode()).decode()


def sign(secret: str, msg_id: str, ts: int, body: bytes) -> str:
    """`v1,<base64>` for (id, timestamp, body) — computed by the standardwebhooks package."""
    return Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, tz=timezone.utc), body.decode("utf-8"))


def signed_headers(secret: str | Iterable[str], msg_id: str, body: bytes, ts: Optional[int] = None) -> dict:
    """The three Standard Webhooks headers; several secrets give several space-separated entries."""
    ts = int(time.time()) if ts is None else ts
    secrets_ = [secret] if isinstance(secret, str) else list(secret)
    sig = " ".join(sign(s, msg_id, ts, body) for s in secrets_)
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig}


def tamper_middle(sig_entry: str) -> str:
    """Changes a middle character of the base64 part (the last one may decode to the same bytes)."""
    version, b64 = sig_entry.split(",", 1)
    i = len(b64) // 2
    c = "A" if b64[i] != "A" else "B"
    return f"{version},{b64[:i]}{c}{b64[i + 1:]}"


def event_body(type_: str, data: Optional[dict] = None, **top) -> bytes:
    """A Gemini-shaped envelope, compact JSON."""
    doc = {"type": type_, "version": "v1", "timestamp": "2026-05-04T12:00:00Z", "data": data or {"id": "batches/abc"}}
    doc.update(top)
    return json.dumps(doc, separators=(",", ":")).encode()


_id_counter = 0


def new_id(prefix: str = "msg") -> str:
    global _id_counter
    _id_counter += 1
    return f"{prefix}_{os.getpid()}_{_id_counter}_{pysecrets.token_hex(4)}"


# ---------------------------------------------------------------------------------------------
# HTTP

@dataclass
class Response:
    status: int
    headers: dict  # lower-case names
    body: bytes
    elapsed: float = 0.0

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"Response({self.status}, {self.body[:300]!r})"


def http_request(port: int, method: str, path: str, body: Optional[bytes] = None,
                 headers: Optional[dict] = None, timeout: float = 10.0) -> Response:
    """One request on a fresh connection (http.client; header names are sent as given)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data, time.monotonic() - t0)
    finally:
        conn.close()


class RawConn:
    """A raw TCP connection for framing tests: send exact bytes, read responses one by one."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.timeout = timeout

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> bool:
        """Reads more bytes into buf; False on EOF."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no response in time")
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def read_response(self, timeout: Optional[float] = None, head: bool = False) -> Optional[Response]:
        """The next response, or None if the server closed before sending one."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline):
                if self.buf:
                    raise AssertionError(f"connection closed inside a response head: {self.buf!r}")
                return None
        head_bytes, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head_bytes.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
        assert m, f"bad status line {lines[0]!r}"
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers[k.strip().lower()] = v.strip()
        status = int(m.group(1))
        if head or status in (204, 304) or 100 <= status < 200:
            return Response(status, headers, b"")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    assert self._fill(deadline), "EOF inside chunked body"
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    assert self._fill(deadline), "EOF inside chunk"
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    break
            return Response(status, headers, body)
        if "content-length" in headers:
            n = int(headers["content-length"])
            while len(self.buf) < n:
                assert self._fill(deadline), "EOF inside body"
            body, self.buf = self.buf[:n], self.buf[n:]
            return Response(status, headers, body)
        while self._fill(deadline):
            pass
        body, self.buf = self.buf, b""
        return Response(status, headers, body)

    def closed_by_peer(self, timeout: float) -> bool:
        """True if the server closes (EOF or reset) within timeout, discarding any bytes it sends."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                continue
            try:
                if not self.sock.recv(65536):
                    return True
            except (ConnectionResetError, BrokenPipeError):
                return True
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def build_request(method: str, path: str, body: bytes = b"", headers: Optional[dict] = None,
                  content_length: bool = True) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if content_length and (body or method == "POST"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# ---------------------------------------------------------------------------------------------
# Fixture handlers

RECORDER = """#!/bin/sh
# e2e recorder handler "{name}": records stdin and the exact environment it was given.
d="$OUT/$HOOKHOST_DELIVERY_ID.$HOOKHOST_ATTEMPT"
cat > "$d.stdin.tmp" && mv "$d.stdin.tmp" "$d.stdin"
cat /proc/$$/environ > "$d.env.tmp" && mv "$d.env.tmp" "$d.env"
if [ -n "$HOOKHOST_WORK_DIR" ] && [ -d "$HOOKHOST_WORK_DIR" ] && : > "$HOOKHOST_WORK_DIR/probe" 2>/dev/null; then
  echo yes > "$d.workdir"
else
  echo no > "$d.workdir"
fi
echo "$HOOKHOST_DELIVERY_ID $HOOKHOST_ATTEMPT {name}" >> "$OUT/runs.log"
{extra}
touch "$d.done"
exit {code}
"""


@dataclass
class Run:
    id: str
    attempt: int
    function: str
    stdin: bytes
    env: dict
    workdir_ok: bool

    def stdin_json(self):
        return json.loads(self.stdin)


class Functions:
    """A functions directory whose handlers record what they get into `out`."""

    def __init__(self, root: Path):
        self.dir = root / "functions"
        self.out = root / "out"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.out.mkdir(parents=True, exist_ok=True)

    def add(self, name: str, code: int | str = 0, extra: str = "", env: Optional[dict] = None,
            sidecar: Optional[dict] = None) -> Path:
        """A recorder handler named `name`. `code` may be a shell expression (e.g. "$rc")."""
        return self.add_script(name, RECORDER.format(name=name, code=code, extra=extra), env, sidecar)

    def add_script(self, name: str, text: str, env: Optional[dict] = None, sidecar: Optional[dict] = None) -> Path:
        # sidecar first, so the handler is never visible without its OUT variable
        side = dict(sidecar or {})
        side_env = {"OUT": str(self.out)}
        side_env.update(env or {})
        side_env.update(side.get("env", {}))
        side["env"] = side_env
        (self.dir / f"{name}.json").write_text(json.dumps(side))
        tmp = self.dir / f".{name}.tmp"
        tmp.write_text(text)
        tmp.chmod(0o755)
        tmp.rename(self.dir / name)
        return self.dir / name

    def runs(self) -> list[tuple[str, int, str]]:
        p = self.out / "runs.log"
        if not p.exists():
            return []
        out = []
        for ln in p.read_text().splitlines():
            parts = ln.split(" ")
            if len(parts) == 3:
                out.append((parts[0], int(parts[1]), parts[2]))
        return out

    def runs_of(self, msg_id: str) -> list[tuple[str, int, str]]:
        return [r for r in self.runs() if r[0] == msg_id]

    def read_run(self, msg_id: str, attempt: int = 1) -> Run:
        d = self.out / f"{msg_id}.{attempt}"
        env = {}
        for item in Path(f"{d}.env").read_bytes().split(b"\0"):
            if item:
                k, _, v = item.decode("utf-8", "replace").partition("=")
                env[k] = v
        fn = next((r[2] for r in self.runs_of(msg_id) if r[1] == attempt), "?")
        return Run(msg_id, attempt, fn, Path(f"{d}.stdin").read_bytes(), env,
                   Path(f"{d}.workdir").read_text().strip() == "yes")

    def wait_run(self, msg_id: str, attempt: int = 1, timeout: float = 10.0) -> Run:
        done = self.out / f"{msg_id}.{attempt}.done"
        wait_until(done.exists, timeout, what=f"handler run {msg_id} attempt {attempt}")
        return self.read_run(msg_id, attempt)

    def ran(self, msg_id: str, attempt: int = 1) -> bool:
        return (self.out / f"{msg_id}.{attempt}.done").exists()


# ---------------------------------------------------------------------------------------------
# The host process

class HostStartError(RuntimeError):
    pass


class Host:
    """One `hookhost serve` process with its own port, data dir and log file.

    `start()` can be called again after `stop()` (or use `restart()`): the data dir, functions dir
    and port stay the same, so durability tests can kill and restart against the same spool.
    """

    def __init__(self, root: Path, functions: Optional[Functions] = None, secrets: Optional[list[str]] = None,
                 port: Optional[int] = None, path: str = "/webhooks"):
        self.root = root
        self.functions = functions or Functions(root)
        self.data = root / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.home = root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.secrets = list(secrets) if secrets is not None else [new_secret()]
        self.port = port or free_port()
        self.path = path
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0
        self.last_args: list[str] = []
        self.last_env: dict = {}
        self.log_path = root / "host.0.log"

    # -- process control ------------------------------------------------------------------

    def base_env(self) -> dict:
        """The host's environment: minimal, plus the secrets and a canary that must not leak."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            CANARY_VAR: CANARY_VALUE,
            "HOOKHOST_SECRETS": ",".join(self.secrets),
            # results must never be fetched from the internet by a test
            "HOOKHOST_API_BASE": "http://127.0.0.1:9",
            "HOOKHOST_GCS_BASE": "http://127.0.0.1:9",
            # nor keys: a JWT delivery in a test that sets no JWKS finds nothing listening
            "HOOKHOST_JWKS_URL": "http://127.0.0.1:9/jwks.json",
        }

    def default_args(self) -> list[str]:
        return ["--listen", f"127.0.0.1:{self.port}", "--path", self.path,
                "--data", str(self.data), "--functions", str(self.functions.dir),
                "--workers", "2", "--retry-base", "1", "--retry-cap", "2", "--log", "debug"]

    def start(self, extra_args: Iterable[str] = (), env: Optional[dict] = None, wait: bool = True,
              args: Optional[list[str]] = None, wrapper: Iterable[str] = (), pass_fds: Iterable[int] = ()) -> "Host":
        """Starts `hookhost serve`; `env` entries are added (value None removes a variable).
        `wrapper` is a command that execs the host (e.g. `prlimit --nofile=64:64 --`); `pass_fds`
        are descriptors the host inherits (as a careless parent would leave them)."""
        assert self.proc is None or self.proc.poll() is not None, "host already running"
        full_env = self.base_env()
        for k, v in (env or {}).items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = v
        argv = list(wrapper) + [str(hookhost_bin()), "serve"] + (self.default_args() if args is None else args) + list(extra_args)
        self.log_path = self.root / f"host.{self.starts}.log"
        self.starts += 1
        self.last_args, self.last_env = argv, full_env
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, env=full_env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True, pass_fds=tuple(pass_fds))
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, tries: int = 100, interval: float = 0.05):
        for _ in range(tries):
            if self.proc.poll() is not None:
                raise HostStartError(f"hookhost exited with {self.proc.returncode} during start-up:\n{self.log_tail()}")
            try:
                if http_request(self.port, "GET", "/healthz", timeout=1).status == 200:
                    return
            except OSError:
                pass
            time.sleep(interval)
        raise HostStartError(f"hookhost not ready after {tries * interval:.1f}s:\n{self.log_tail()}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> Optional[int]:
        """Signals the host and waits for it; SIGKILL if it outlives `timeout`. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError(f"hookhost did not exit within {timeout}s of signal {sig}")
        return self.proc.returncode

    def kill9(self) -> Optional[int]:
        return self.stop(signal.SIGKILL)

    def restart(self, extra_args: Iterable[str] = (), env: Optional[dict] = None, sig: int = signal.SIGTERM,
                wait: bool = True) -> "Host":
        self.stop(sig)
        return self.start(extra_args, env, wait)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def all_logs(self) -> str:
        return "".join(p.read_text("utf-8", "replace") for p in sorted(self.root.glob("host.*.log")))

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])

    def log_records(self) -> list[dict]:
        """Every stderr line that parses as a JSON object."""
        out = []
        for ln in self.log_text().splitlines():
            try:
                v = json.loads(ln)
            except ValueError:
                continue
            if isinstance(v, dict):
                out.append(v)
        return out

    # -- requests ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def request(self, method: str, path: str, body: Optional[bytes] = None, headers: Optional[dict] = None,
                timeout: float = 10.0) -> Response:
        return http_request(self.port, method, path, body, headers, timeout)

    def post_raw(self, body: bytes, headers: dict, timeout: float = 10.0) -> Response:
        h = {"Content-Type": "application/json"}
        h.update(headers)
        return self.request("POST", self.path, body, h, timeout)

    def send(self, body: Optional[bytes] = None, type_: str = "ping", msg_id: Optional[str] = None,
             secret: Optional[str | list[str]] = None, ts: Optional[int] = None, headers: Optional[dict] = None,
             timeout: float = 10.0) -> Response:
        """Signs (with the host's first secret unless given) and POSTs one delivery.

        The response gets `.msg_id` so callers that let this pick the id can find the run.
        """
        msg_id = msg_id or new_id()
        body = event_body(type_) if body is None else body
        h = signed_headers(secret if secret is not None else self.secrets[0], msg_id, body, ts)
        h.update(headers or {})
        r = self.post_raw(body, h, timeout)
        r.msg_id = msg_id
        return r

    def cli(self, *args: str, env: Optional[dict] = None, timeout: float = 30.0) -> subprocess.CompletedProcess:
        return run_cli(*args, env=env, timeout=timeout, home=self.home)


def run_cli(*args: str, env: Optional[dict] = None, timeout: float = 30.0, home: Optional[Path] = None) \
        -> subprocess.CompletedProcess:
    """Runs `hookhost ARGS` to completion with a minimal environment."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
                "HOME": str(home or os.environ.get("HOME", "/tmp"))}
    full_env.update(env or {})
    return subprocess.run([str(hookhost_bin()), *args], env=full_env, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout)


# ---------------------------------------------------------------------------------------------
# Processes

def pid_alive(pid: int) -> bool:
    """True while pid exists and is not a zombie (a zombie has already been killed)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def pid_exists(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


def kill_quietly(pid: int):
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


RECEIVED_AT = re.compile(rb'"received_at":"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)"')


def expected_stdin(msg_id: str, type_: str, body: bytes, user_metadata: bytes = b"null", attempt: int = 1,
                   verified_by: str = "hmac", received_at: str = "RECEIVED_AT") -> bytes:
    """The exact stdin document of CONTRACT §4 (received_at left as a placeholder)."""
    return (b'{"contract":1,"delivery":{"id":' + json.dumps(msg_id).encode()
            + b',"attempt":' + str(attempt).encode()
            + b',"received_at":"' + received_at.encode() + b'","verified_by":"' + verified_by.encode()
            + b'"},"type":' + json.dumps(type_).encode()
            + b',"event":' + body + b',"user_metadata":' + user_metadata + b',"result":null}\n')


def normalize_received_at(stdin: bytes) -> tuple[bytes, str]:
    """Replaces the one received_at value with a placeholder; returns (normalized, original value)."""
    found = RECEIVED_AT.findall(stdin)
    assert len(found) == 1, f"expected exactly one well-formed received_at (UTC, ms precision) in {stdin!r}"
    return RECEIVED_AT.sub(b'"received_at":"RECEIVED_AT"', stdin), found[0].decode()


def control_request(host: "Host", raw: bytes, timeout: float = 10.0) -> bytes:
    """One raw HTTP request on the host's control socket; the whole answer (head and body)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(host.data / "control.sock"))
        s.sendall(raw)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            head, sep, body = out.partition(b"\r\n\r\n")
            if sep:
                n = next((int(ln.split(b":", 1)[1]) for ln in head.split(b"\r\n")
                          if ln.lower().startswith(b"content-length:")), None)
                if n is not None and len(body) >= n:
                    break
        return out
    finally:
        s.close()


def raw_request(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> bytes:
    """Like build_request, but header values are sent as UTF-8 (http.client only speaks latin-1)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def post_utf8(host: Host, msg_id: str, body: bytes):
    """A signed delivery whose webhook-id (any text: "é", ".", "-h") goes out as UTF-8."""
    h = signed_headers(host.secrets[0], msg_id, body)
    h["Content-Type"] = "application/json"
    with RawConn(host.port) as c:
        c.send(raw_request("POST", host.path, body, h))
        return c.read_response()


def serve_briefly(args: list[str], env: dict, cwd: Path, wrapper: list[str] = (), settle: float = 2.0):
    """Starts `hookhost serve ARGS`; returns (returncode or None if it was still running after
    `settle` seconds and had to be stopped, stderr text)."""
    p = subprocess.Popen(list(wrapper) + [str(hookhost_bin()), "serve", *args], env=env, cwd=cwd,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        rc = p.wait(timeout=settle)
    except subprocess.TimeoutExpired:
        rc = None
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
    return rc, p.stderr.read().decode(errors="replace")


def base_env() -> dict:
    """A minimal environment for a `hookhost serve` started without the Host helper."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": "/tmp"}
