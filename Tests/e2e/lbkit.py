"""Real nginx and HAProxy running the shipped container/nginx.conf and container/haproxy.cfg, pointed
at `hookhost serve` processes on loopback ports (issue 23).

Only what has to differ on a test machine is substituted — the listen address, the replicas'
addresses, worker count, pid/socket paths — so the retry, hashing and routing rules under test are
the shipped ones. Both can change their replica set while they run: nginx by a graceful reload
(`nginx -s reload`: new workers take new connections, old ones finish theirs), HAProxy through its
runtime API (the shipped `stats socket`), as an operator would.
"""
from __future__ import annotations

import http.client
import re
import shutil
import socket
import subprocess
from pathlib import Path

from hostlib import REPO_ROOT, free_port, wait_until

HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)


def answer(port: int, path: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def nginx_conf(ports: list[int], listen_port: int) -> str:
    """container/nginx.conf with its upstream servers replaced by 127.0.0.1:PORT (any number)."""
    conf = (REPO_ROOT / "container/nginx.conf").read_text()
    template = re.search(r"(?m)^(\s*)server hookhost-\d:8080( [^\n]*)\n", conf)
    assert template, "container/nginx.conf: no `server hookhost-N:8080` line"
    indent, params = template.group(1), template.group(2).rstrip(";")
    conf = re.sub(r"(?m)^\s*server hookhost-\d:8080[^\n]*\n", "", conf)
    servers = "".join(f"{indent}server 127.0.0.1:{p}{params};\n" for p in ports)
    conf = conf.replace(f"{indent}keepalive ", servers + f"{indent}keepalive ", 1)
    assert conf.count("listen 8080;") == 1
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{listen_port};")
    return conf.replace("worker_processes auto;", "worker_processes 1;")


class Nginx:
    name = "nginx"

    def __init__(self, root: Path, ports: list[int], port: int | None = None):
        self.root = root
        self.port = port or free_port()
        (root / "logs").mkdir(parents=True, exist_ok=True)
        self.conf = root / "nginx.conf"
        self.conf.write_text(nginx_conf(ports, self.port))
        self.globals = f"daemon off; user root; pid {root}/nginx.pid; error_log {root}/logs/error.log;"
        self.proc = subprocess.Popen(["nginx", "-p", str(root), "-c", str(self.conf), "-g", self.globals],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(self.up, 10, what="nginx listening")

    def up(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError("nginx exited: " + self.proc.stderr.read().decode())
        try:
            return answer(self.port, "/webhooks")[0] == 405  # reached a replica
        except OSError:
            return False

    def set_replicas(self, ports: list[int]):
        """Rewrites the upstream and reloads gracefully; returns once the new workers serve."""
        self.conf.write_text(nginx_conf(ports, self.port))
        p = subprocess.run(["nginx", "-p", str(self.root), "-c", str(self.conf), "-g", self.globals, "-s", "reload"],
                           capture_output=True, timeout=20)
        assert p.returncode == 0, p.stderr.decode()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def haproxy_conf(ports: list[int], listen_port: int, sock: Path) -> str:
    """container/haproxy.cfg with server hookhost-N at 127.0.0.1:ports[N-1] (three slots: the
    shipped count; a slot past `ports` starts in maintenance)."""
    conf = (REPO_ROOT / "container/haproxy.cfg").read_text()
    assert conf.count("bind :8080") == 1
    conf = conf.replace("bind :8080", f"bind 127.0.0.1:{listen_port}")
    conf = conf.replace("stats socket /tmp/haproxy.sock", f"stats socket {sock}")
    assert str(sock) in conf, "container/haproxy.cfg: no `stats socket /tmp/haproxy.sock`"

    def server(m: re.Match) -> str:
        n = int(m.group(1))
        if n <= len(ports):
            return f"server hookhost-{n} 127.0.0.1:{ports[n - 1]}{m.group(2)}"
        return f"server hookhost-{n} 127.0.0.1:9{m.group(2)} disabled"
    conf, n = re.subn(r"server hookhost-(\d) hookhost-\d:8080([^\n]*)", server, conf)
    assert n >= len(ports), f"container/haproxy.cfg has {n} servers, {len(ports)} wanted"
    return conf


class HAProxy:
    name = "haproxy"

    def __init__(self, root: Path, ports: list[int], nofile: int | None = None, port: int | None = None):
        assert HAPROXY, "haproxy is not installed"
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.port = port or free_port()
        self.sock = root / "haproxy.sock"
        self.cfg = root / "haproxy.cfg"
        self.cfg.write_text(haproxy_conf(ports, self.port, self.sock))
        wrap = ["prlimit", f"--nofile={nofile}:{nofile}", "--"] if nofile else []
        check = subprocess.run([*wrap, HAPROXY, "-c", "-f", str(self.cfg)], capture_output=True, timeout=20)
        assert check.returncode == 0, check.stderr.decode() + check.stdout.decode()
        self.proc = subprocess.Popen([*wrap, HAPROXY, "-db", "-f", str(self.cfg)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(self.up, 15, what="haproxy passing requests")

    def up(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError("haproxy exited: " + self.proc.stderr.read().decode()[-2000:])
        try:
            return answer(self.port, "/webhooks")[0] == 405
        except OSError:
            return False

    def command(self, line: str) -> str:
        """One runtime-API command on the stats socket; its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(str(self.sock))
            s.sendall(line.encode() + b"\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        return out.decode()

    def state(self, slot: int) -> str:
        """The server's operational state as `show servers state` reports it (2 = running)."""
        for ln in self.command("show servers state hookhost").splitlines():
            f = ln.split()
            if len(f) > 5 and f[3] == f"hookhost-{slot}":
                return f[5]
        raise AssertionError(f"hookhost-{slot} not in `show servers state`")

    def take_out(self, slot: int):
        out = self.command(f"set server hookhost/hookhost-{slot} state maint")
        assert out.strip() == "", out

    def put_in(self, slot: int, port: int):
        """Points slot at a replica and puts it in rotation (after its health checks pass)."""
        for cmd in (f"set server hookhost/hookhost-{slot} addr 127.0.0.1 port {port}",
                    f"set server hookhost/hookhost-{slot} state ready"):
            out = self.command(cmd)
            assert "No such" not in out and "Require" not in out, (cmd, out)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
