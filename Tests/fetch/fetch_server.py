#!/usr/bin/env python3
"""Stand-in for the Gemini files/batches API and GCS, for the fetcher's tests and benchmark.

Usage: fetch_server.py PORTFILE [N] [--file PATH]
Listens on N (default 3) ports on 127.0.0.1, then writes their numbers to PORTFILE (one line).
Every request except /_log is recorded with its port, path and headers; GET /_log returns them.

Behaviour comes from the last path segment (":download" stripped), on every port:
  ok-N        N pattern bytes (i % 251), Accept-Ranges, ETag, Content-Type application/jsonl
  nolen-N     N pattern bytes without Content-Length (connection-delimited)
  missing     404            denied   403
  flaky-K     500 the first time for key K, then ok-1000
  limited-K   429 Retry-After: 7 the first time for key K, then ok-1000
  broken-N    first time: Content-Length N, half the body, then the connection closes;
              then serves Range requests with 206
  redir-same  302 to a relative path on the same port (ok-1000)
  redir-P-X   302 to http://127.0.0.1:P/plain/X
  loop        302 to itself
  bigfile     the file given with --file (sendfile, for the benchmark)
/v1beta/batches/ID returns the batch JSON; /storage/v1/b/B/o/O needs "Authorization: Bearer tok"
and returns "gcs:B/O" (O percent-decoded).
"""
import json, os, socket, sys, threading, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG, SEEN, LOCK = [], {}, threading.Lock()
BIGFILE = None


def pattern(n, start=0):
    base = bytes(i % 251 for i in range(251))
    first = start % 251
    out = (base[first:] + base * (n // 251 + 2))[:n]
    return out


def first_time(key):
    with LOCK:
        n = SEEN.get(key, 0)
        SEEN[key] = n + 1
        return n == 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_body(self, status, body, ctype="application/octet-stream", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def serve_pattern(self, n, key):
        rng = self.headers.get("Range")
        common = [("Accept-Ranges", "bytes"), ("ETag", '"%s"' % key)]
        if rng and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])
            body = pattern(n - start, start)
            self.send_body(206, body, "application/jsonl",
                           common + [("Content-Range", "bytes %d-%d/%d" % (start, n - 1, n))])
        else:
            self.send_body(200, pattern(n), "application/jsonl", common)

    def do_GET(self):
        port = self.server.server_address[1]
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_log":
            with LOCK:
                body = json.dumps(LOG).encode()
            return self.send_body(200, body, "application/json")
        with LOCK:
            LOG.append({"port": port, "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()}})
        parts = url.path.split("/")
        if url.path.startswith("/v1beta/batches/"):
            bid = parts[-1]
            body = json.dumps({"name": "batches/" + bid, "metadata": {"state": "BATCH_STATE_SUCCEEDED"},
                               "response": {"inlinedResponses": {"inlinedResponses": [{"response": {"text": "hi"}}]}}})
            return self.send_body(200, body.encode(), "application/json; charset=UTF-8")
        if url.path.startswith("/storage/v1/b/"):
            if self.headers.get("Authorization") != "Bearer tok":
                return self.send_body(401, b'{"error":"no"}', "application/json")
            # parts: ['', 'storage', 'v1', 'b', B, 'o', O]
            raw = self.path.split("/o/", 1)[1].split("?", 1)[0]
            body = ("gcs:%s/%s" % (parts[4], urllib.parse.unquote(raw))).encode()
            return self.send_body(200, body, "text/plain")
        name = parts[-1].split(":")[0]
        kind, _, arg = name.partition("-")
        if kind == "ok":
            return self.serve_pattern(int(arg), name)
        if kind == "nolen":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(pattern(int(arg)))
            self.close_connection = True
            return
        if kind == "missing":
            return self.send_body(404, b'{"error":{"code":404}}', "application/json")
        if kind == "denied":
            return self.send_body(403, b'{"error":{"code":403}}', "application/json")
        if kind == "flaky":
            if first_time(name):
                return self.send_body(500, b"oops", "text/plain")
            return self.serve_pattern(1000, name)
        if kind == "limited":
            if first_time(name):
                return self.send_body(429, b"slow down", "text/plain", [("Retry-After", "7")])
            return self.serve_pattern(1000, name)
        if kind == "broken":
            n = int(arg)
            if first_time(name):
                self.send_response(200)
                self.send_header("Content-Type", "application/jsonl")
                self.send_header("Content-Length", str(n))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("ETag", '"%s"' % name)
                self.end_headers()
                self.wfile.write(pattern(n // 2))
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            return self.serve_pattern(n, name)
        if kind == "redir":
            if arg == "same":
                loc = "../files/ok-1000:download?alt=media"
            else:
                p, _, target = arg.partition("-")
                loc = "http://127.0.0.1:%s/plain/%s" % (p, target)
            return self.send_body(302, b"", "text/plain", [("Location", loc)])
        if kind == "loop":
            return self.send_body(302, b"", "text/plain", [("Location", url.path)])
        if kind == "bigfile":
            size = os.path.getsize(BIGFILE)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            self.wfile.flush()
            with open(BIGFILE, "rb") as f:
                self.connection.sendfile(f)
            return
        self.send_body(400, b"unknown behaviour", "text/plain")


def main():
    global BIGFILE
    args = sys.argv[1:]
    if "--file" in args:
        i = args.index("--file")
        BIGFILE = args[i + 1]
        del args[i:i + 2]
    portfile = args[0]
    n = int(args[1]) if len(args) > 1 else 3
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(n)]
    for s in servers:
        s.daemon_threads = True
        threading.Thread(target=s.serve_forever, daemon=True).start()
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(" ".join(str(s.server_address[1]) for s in servers) + "\n")
    os.rename(tmp, portfile)
    threading.Event().wait()


if __name__ == "__main__":
    main()
