"""A scripted stand-in for the Gemini API that misbehaves on purpose (issue 24's hostile review):
each test gives a function that answers a request, and the server records what it was asked.
Loopback only; every wait inside is bounded by `release()` or the server's shutdown."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional
from urllib.parse import parse_qs, urlparse


class Req:
    def __init__(self, method: str, target: str, headers, body: bytes):
        self.method = method
        self.target = target
        u = urlparse(target)
        self.path = u.path
        self.query = {k: v[0] for k, v in parse_qs(u.query).items()}
        self.headers = headers
        self.body = body


class Answer:
    """status and body; `chunks` instead streams that many copies of `body` (a huge answer)."""

    def __init__(self, status: int = 200, body: bytes | dict = b"{}", chunks: int = 0, content_type: str = "application/json"):
        self.status = status
        self.body = json.dumps(body).encode() if isinstance(body, dict) else body
        self.chunks = chunks
        self.content_type = content_type


class HostileAPI:
    def __init__(self, answer: Callable[[Req], Optional[Answer]]):
        self.answer = answer
        self.requests: list[Req] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                req = Req(self.command, self.path, self.headers, self.rfile.read(n) if n else b"")
                with api.lock:
                    api.requests.append(req)
                a = api.answer(req)
                if a is None:  # hang until released (or the server stops)
                    api.released.wait(120)
                    self.close_connection = True
                    return
                self.send_response(a.status)
                self.send_header("Content-Type", a.content_type)
                self.send_header("Content-Length", str(len(a.body) * max(1, a.chunks)))
                self.end_headers()
                try:
                    for _ in range(max(1, a.chunks)):
                        self.wfile.write(a.body)
                except OSError:
                    self.close_connection = True

            do_GET = do_POST = do_PATCH = do_DELETE = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self, pred: Callable[[Req], bool] = lambda r: True) -> int:
        with self.lock:
            return sum(1 for r in self.requests if pred(r))

    def release(self):
        self.released.set()

    def stop(self):
        self.release()
        self.server.shutdown()
        self.server.server_close()


def rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def finished_batch(name: str, end: float) -> dict:
    return {"name": name, "done": True,
            "metadata": {"state": "BATCH_STATE_SUCCEEDED", "endTime": rfc3339(end), "output": {"responsesFile": "files/" + name.split("/")[-1]}}}
