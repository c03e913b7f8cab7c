"""Helpers for the `hookhost webhooks` e2e tests: the stand-in WebhookService (`hookhost demo
--api-only`) with its request log, a loopback receiver, the CLI run with the API settings, and a
host reading a secrets file."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hostlib import event_body, hookhost_bin, new_id, run_cli, wait_until

API_KEY = "k-webhooks-e2e"
LOG_LINE = re.compile(r"^(GET|POST|PATCH|DELETE) (\S+) → (\d+) fields=(\S*)$")


class StandIn:
    """`hookhost demo --api-only DIR --api-key KEY`, its stdout (base URL, then the request log) in a file."""

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.out = root.parent / f"{root.name}.stdout"
        self.out_file = open(self.out, "wb")
        self.proc = subprocess.Popen([str(hookhost_bin()), "demo", "--api-only", str(root), "--api-key", API_KEY],
                                     env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(root)},
                                     stdin=subprocess.DEVNULL, stdout=self.out_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_until(lambda: self.out.read_text().startswith("HOOKHOST_API_BASE="), 10, what="the stand-in's base URL")
        self.base = self.out.read_text().splitlines()[0].split("=", 1)[1]

    def log(self) -> str:
        return self.out.read_text()

    def mark(self) -> int:
        return len(self.log().splitlines())

    def requests(self, since: int = 0) -> list[tuple[str, str, frozenset, frozenset]]:
        """(method, path with ids as {id}, query names, body field names) of each WebhookService request."""
        out = []
        for line in self.log().splitlines()[since:]:
            m = LOG_LINE.match(line)
            if not m:
                continue
            method, target, _status, fields = m.groups()
            path, _, query = target.partition("?")
            path = re.sub(r"^(/v1[a-z0-9]*/webhooks)/[^/:]+", r"\1/{id}", path)
            names = frozenset(kv.split("=", 1)[0] for kv in query.split("&") if kv)
            out.append((method, path, names, frozenset(f for f in fields.split(",") if f)))
        return out

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=15)
        self.out_file.close()
        return code


class Receiver:
    """A loopback endpoint that records the POSTs it gets (headers, body)."""

    def __init__(self):
        self.posts: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in(tmp_path):
    s = StandIn(tmp_path / "api")
    yield s
    assert s.stop() == 0, s.log()


def cli(stand_in: StandIn, *args: str, key: str = API_KEY, secrets_file: Path | None = None, data: Path | None = None):
    env = {"GEMINI_API_KEY": key, "HOOKHOST_API_BASE": stand_in.base}
    if secrets_file is not None:
        env["HOOKHOST_SECRETS_FILE"] = str(secrets_file)
    if data is not None:
        env["HOOKHOST_DATA"] = str(data)
    r = run_cli("webhooks", *args, env=env, timeout=60)
    out, err = r.stdout.decode(), r.stderr.decode()
    assert key not in out and key not in err, "the API key was printed"
    return r.returncode, out, err


def sdk_client(stand_in: StandIn):
    from google import genai
    return genai.Client(api_key=API_KEY, http_options={"base_url": stand_in.base, "api_version": "v1"})


# --- the secret reaches a running host ---------------------------------------------------------------

def start_host_with_file(make_host, tmp_path, first_line: str = "# secrets of this host\n"):
    secrets = tmp_path / "secrets"
    fd = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, first_line.encode())
    os.close(fd)
    host = make_host(secrets=[], env={"HOOKHOST_SECRETS_FILE": str(secrets)})
    return host, secrets


def create(stand_in, host, secrets) -> tuple[str, str]:
    """Creates a webhook pointing at the host; returns (id, the secret as written in the file)."""
    code, out, err = cli(stand_in, "create", "--uri", host.url, "--events", "batch.succeeded", secrets_file=secrets)
    assert code == 0, err
    assert "whsec_" not in out + err, "the secret was printed without --show-secret"
    hook_id = re.search(r"created webhook (\S+):", out).group(1)
    line = next(l for l in secrets.read_text().splitlines() if f"webhook={hook_id}" in l)
    return hook_id, line.split()[0]


def accepted(host, secret: str) -> bool:
    return host.send(event_body("batch.succeeded"), type_="batch.succeeded", msg_id=new_id("wh"), secret=secret).status in (200, 202, 204)
