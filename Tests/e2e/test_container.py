"""The container image, built and run with podman (issue 10, Build 1–2).

No registry is reachable here, so the test builds the Containerfile's `prebuilt` target: the base is
made locally with debootstrap (container/local-base.sh, cached in .build/container/ and podman's
storage) and the binary under test is the one built on this machine, with the Swift runtime
libraries `ldd` lists next to it. Everything else — users, volume, mount, HEALTHCHECK, STOPSIGNAL,
file capabilities — is the same Containerfile a registry build uses.

Skips, saying why, when podman or debootstrap is missing or cannot run here; set
HOOKHOST_CONTAINER_TESTS=0 to skip on purpose.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from hostlib import REPO_ROOT, event_body, free_port, http_request, new_id, new_secret, signed_headers, wait_until

CONF = REPO_ROOT / "container" / "containers.conf"
BASE = "localhost/hookhost-base:bookworm"
IMAGE = "localhost/hookhost-test:e2e"


def podman(*args: str, timeout: float = 120, check: bool = True, input_: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "CONTAINERS_CONF": str(CONF)}
    p = subprocess.run(["podman", *args], env=env, capture_output=True, timeout=timeout, input=input_)
    if check and p.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed ({p.returncode}):\n{p.stderr.decode(errors='replace')[-3000:]}")
    return p


def skip_reason() -> str | None:
    if os.environ.get("HOOKHOST_CONTAINER_TESTS") == "0":
        return "HOOKHOST_CONTAINER_TESTS=0"
    if shutil.which("podman") is None:
        return "podman is not installed (scripts/install-deps.sh installs it with WITH_CONTAINERS=1)"
    if os.geteuid() != 0:
        return "the container test runs podman as root"
    info = subprocess.run(["podman", "info"], env={**os.environ, "CONTAINERS_CONF": str(CONF)}, capture_output=True, timeout=60)
    if info.returncode != 0:
        return "podman cannot run here: " + info.stderr.decode(errors="replace").strip()[-300:]
    have_base = subprocess.run(["podman", "image", "exists", BASE], env={**os.environ, "CONTAINERS_CONF": str(CONF)}).returncode == 0
    if not have_base and not (REPO_ROOT / ".build/container/base.tar").is_file() and shutil.which("debootstrap") is None:
        return "no base image and debootstrap is not installed to make one"
    return None


def build_image(tag: str, *flags: str) -> str:
    """The image made by container/build.sh (the offline route users run), with the debug build."""
    reason = skip_reason()
    if reason:
        pytest.skip("container test skipped: " + reason)
    p = subprocess.run([str(REPO_ROOT / "container/build.sh"), "--debug", "--tag", tag, *flags], capture_output=True,
                       timeout=1800, env={**os.environ, "CONTAINERS_CONF": str(CONF)})
    err = p.stderr.decode(errors="replace")
    if p.returncode != 0 and "debootstrap" in err and "podman build" not in err:
        pytest.skip("container test skipped: cannot make the base image: " + err[-500:])
    assert p.returncode == 0, err[-3000:]
    assert p.stdout.decode().strip().splitlines()[-1] == tag
    return tag


@pytest.fixture(scope="module")
def image():
    return build_image(IMAGE)


class Container:
    def __init__(self, image: str, tmp: Path):
        self.name = "hookhost-e2e-" + uuid.uuid4().hex[:8]
        self.volume = self.name + "-data"
        self.port = free_port()
        self.secret = new_secret()
        self.functions = tmp / "functions"
        self.functions.mkdir()
        self.out = tmp / "out"
        self.out.mkdir()
        os.chmod(self.out, 0o777)  # written by the functions' uids inside
        self.image = image

    def add_function(self, name: str, body: str):
        p = self.functions / name
        p.write_text("#!/bin/sh\n" + body)
        p.chmod(0o755)

    def run(self):
        podman("run", "-d", "--name", self.name, "-p", f"127.0.0.1:{self.port}:8080",
               "-v", f"{self.volume}:/var/lib/hookhost", "-v", f"{self.functions}:/functions:ro", "-v", f"{self.out}:/out",
               "-e", f"HOOKHOST_SECRETS={self.secret}", "-e", "HOOKHOST_WORKERS=2", self.image)
        wait_until(self.ready, 30, what=f"container {self.name} ready")

    def ready(self) -> bool:
        try:
            return http_request(self.port, "GET", "/readyz", timeout=1).status == 200
        except OSError:
            return False

    def send(self, type_: str, msg_id: str | None = None):
        msg_id = msg_id or new_id("ctr")
        body = event_body(type_, {"n": 1})
        r = http_request(self.port, "POST", "/webhooks", body, {**signed_headers(self.secret, msg_id, body),
                                                                 "content-type": "application/json"}, timeout=10)
        return msg_id, r

    def cleanup(self):
        podman("rm", "-f", "-t", "0", self.name, check=False)
        podman("volume", "rm", "-f", self.volume, check=False)


@pytest.fixture
def container(image, tmp_path):
    c = Container(image, tmp_path)
    yield c
    if os.environ.get("HOOKHOST_KEEP_CONTAINER") != "1":
        c.cleanup()


def image_uid(name: str) -> int:
    """The uid the image's HOOKHOST_FUNCTION_UIDS=40000-59999 gives a function (docs/reference.md, Isolation)."""
    return 40000 + int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % 20000


def test_image_runs_each_function_as_its_own_uid_and_stops_cleanly_on_sigterm(container):
    c = container
    # stdin first; the user file, written last (renamed into place), says the run is complete.
    for name in ("whoami.test", "other.test"):
        c.add_function(name, 'cat > "/out/$HOOKHOST_DELIVERY_ID.json"\n'
                       'id -u > "/out/.$HOOKHOST_DELIVERY_ID.tmp" && mv "/out/.$HOOKHOST_DELIVERY_ID.tmp" "/out/$HOOKHOST_DELIVERY_ID.user"\n')
    c.run()

    ids = []
    for i in range(6):
        name = "whoami.test" if i % 2 == 0 else "other.test"
        msg_id, r = c.send(name)
        assert r.status == 202, r
        ids.append((msg_id, name))
    for msg_id, name in ids:
        f = c.out / f"{msg_id}.user"
        wait_until(f.exists, 20, what=f"function run for {msg_id}")
        assert int(f.read_text()) == image_uid(name)
        stdin = json.loads((c.out / f"{msg_id}.json").read_text())
        assert stdin["delivery"]["id"] == msg_id and stdin["type"] == name
    assert image_uid("whoami.test") != image_uid("other.test")
    ids = [i for i, _ in ids]
    # A retry of a delivered id is a duplicate.
    assert c.send("whoami.test", ids[0])[1].status == 200

    # The host itself is PID 1 and runs as the non-root `hookhost` user.
    status = podman("exec", c.name, "cat", "/proc/1/status").stdout.decode()
    uid = next(l.split()[1] for l in status.splitlines() if l.startswith("Uid:"))
    passwd = podman("exec", c.name, "getent", "passwd", "hookhost").stdout.decode()
    assert uid == passwd.split(":")[2] and uid != "0", (status, passwd)
    cmdline = podman("exec", c.name, "cat", "/proc/1/cmdline").stdout
    assert cmdline.split(b"\0")[0].endswith(b"hookhost")

    # HEALTHCHECK as declared in the image.
    hc = podman("healthcheck", "run", c.name, check=False)
    assert hc.returncode == 0, hc.stderr

    # SIGTERM (the image's STOPSIGNAL): a clean, fast exit — far below podman's 10 s SIGKILL.
    t0 = time.monotonic()
    podman("stop", "-t", "10", c.name)
    took = time.monotonic() - t0
    state = json.loads(podman("inspect", c.name).stdout)[0]["State"]
    logs = podman("logs", c.name).stderr.decode() + podman("logs", c.name).stdout.decode()
    assert state["ExitCode"] == 0, logs[-2000:]
    assert took < 5, f"stop took {took:.1f}s"
    assert '"stopped"' in logs


def test_data_volume_keeps_the_spool_across_containers(container):
    c = container
    c.add_function("vol.test", "cat > /dev/null\n")
    c.run()
    msg_id, r = c.send("vol.test")
    assert r.status == 202
    podman("stop", "-t", "10", c.name)
    podman("rm", c.name)
    c.run()  # same volume, new container
    assert c.send("vol.test", msg_id)[1].status == 200  # remembered: dedup survives the container


def test_the_python_image_runs_a_python_handler(tmp_path):
    """container/build.sh --python: the image with python3 runs a handler written in Python."""
    image = build_image(IMAGE + "-python", "--python")
    c = Container(image, tmp_path)
    try:
        p = c.functions / "py.test"
        p.write_text("#!/usr/bin/env python3\nimport json, os, sys\n"
                     "doc = json.load(sys.stdin)\n"
                     "open('/out/' + doc['delivery']['id'] + '.py', 'w').write(doc['type'])\n")
        p.chmod(0o755)
        c.run()
        msg_id, r = c.send("py.test")
        assert r.status == 202
        f = c.out / f"{msg_id}.py"
        wait_until(f.exists, 20, what="the python handler's output")
        assert f.read_text() == "py.test"
    finally:
        c.cleanup()
