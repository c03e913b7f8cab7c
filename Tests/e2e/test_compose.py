"""container/compose.yaml (issue 23, part 4): `podman-compose config` accepts it and it agrees with
the balancer configs; where podman works, `up` runs the replicas behind nginx and a delivery goes
through: 202, a retry of it 200 (same replica), and no 5xx while a replica stops.

No registry is reachable here: the hookhost image is the one test_container.py builds
(container/build.sh --debug), and nginx is Debian's nginx-light installed on the same debootstrap
base (apt inside `podman build`); both are passed through the compose file's image overrides.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from hostlib import REPO_ROOT, event_body, free_port, new_id, new_secret, signed_headers, wait_until
from lbkit import answer
from test_container import BASE, CONF, IMAGE, build_image, podman, skip_reason

COMPOSE = REPO_ROOT / "container/compose.yaml"
NGINX_IMAGE = "localhost/hookhost-test-nginx:e2e"
REPLICAS = ["hookhost-1", "hookhost-2", "hookhost-3"]


def compose(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    tool = Path(sys.executable).parent / "podman-compose"
    if not tool.exists():
        pytest.fail("podman-compose is not installed: pip install -r Tests/e2e/requirements.txt")
    full = {**os.environ, "CONTAINERS_CONF": str(CONF), **(env or {})}
    return subprocess.run([str(tool), *args], env=full, capture_output=True, text=True, timeout=timeout)


def config(env: dict) -> dict:
    p = compose("-f", str(COMPOSE), "config", env=env, timeout=60)
    assert p.returncode == 0, p.stderr[-3000:]
    return yaml.safe_load(p.stdout)


def test_podman_compose_config_accepts_it_and_it_matches_the_balancers():
    secret, peer = new_secret(), "peer-" + uuid.uuid4().hex * 2
    doc = config({"HOOKHOST_SECRETS": secret, "HOOKHOST_PEER_SECRET": peer})
    services = doc["services"]
    assert [s for s in services if s.startswith("hookhost-")] == REPLICAS
    volumes = set()
    for name in REPLICAS:
        s = services[name]
        env = s["environment"]
        assert env["HOOKHOST_SECRETS"] == secret and env["HOOKHOST_PEER_SECRET"] == peer, "from the environment"
        (vol,) = s["volumes"]
        assert vol.endswith(":/var/lib/hookhost")
        volumes.add(vol.split(":")[0])
        grace = int(env["HOOKHOST_SHUTDOWN_GRACE"])
        assert int(s["stop_grace_period"].rstrip("s")) > grace, "podman stop must not SIGKILL a draining replica"
        m = re.fullmatch(r"http://([a-z0-9-]+):(\d+)/hookhost/handover", env["HOOKHOST_HANDOVER"])
        assert m and m.group(1) == "lb" and m.group(1) in services, env["HOOKHOST_HANDOVER"]
    assert len(volumes) == len(REPLICAS), "a volume per replica"
    nginx = (REPO_ROOT / "container/nginx.conf").read_text()
    assert f"listen {m.group(2)};" in nginx, "the hand-over URL is the balancer's port"
    assert re.findall(r"server (hookhost-\d):8080", nginx) == REPLICAS
    haproxy = (REPO_ROOT / "container/haproxy.cfg").read_text()
    assert re.findall(r"server hookhost-\d (hookhost-\d):8080", haproxy) == REPLICAS
    assert set(services["lb"]["depends_on"]) == set(REPLICAS)
    # Without secrets it still parses (`down`, `ps`, `logs` need none); they are simply empty.
    bare = config({"HOOKHOST_SECRETS": "", "HOOKHOST_PEER_SECRET": ""})
    assert bare["services"]["hookhost-1"]["environment"]["HOOKHOST_PEER_SECRET"] == ""


def nginx_image() -> str:
    if podman("image", "exists", NGINX_IMAGE, check=False).returncode == 0:
        return NGINX_IMAGE
    ctx = REPO_ROOT / ".build/container/nginx-ctx"
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "Containerfile").write_text(
        f"FROM {BASE}\n"
        "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light"
        " && rm -rf /var/lib/apt/lists/*\n"
        'CMD ["nginx", "-g", "daemon off;"]\n')
    p = podman("build", "-q", "-t", NGINX_IMAGE, str(ctx), timeout=600, check=False)
    if p.returncode != 0:
        pytest.skip("compose up skipped: cannot build a local nginx image: " + p.stderr.decode(errors="replace")[-400:])
    return NGINX_IMAGE


def test_compose_up_serves_deliveries_through_nginx_and_a_stopping_replica_costs_no_5xx():
    reason = skip_reason()
    if reason:
        pytest.skip("compose up skipped: " + reason)
    image = build_image(IMAGE)
    lb_image = nginx_image()
    project = "hookhost-e2e-" + uuid.uuid4().hex[:6]
    port = free_port()
    secret = new_secret()
    env = {"HOOKHOST_IMAGE": image, "NGINX_IMAGE": lb_image, "LB_PORT": str(port),
           "HOOKHOST_SECRETS": secret, "HOOKHOST_PEER_SECRET": "peer-" + uuid.uuid4().hex * 2}
    base = ["-p", project, "-f", str(COMPOSE)]
    try:
        p = compose(*base, "up", "-d", "--no-build", *REPLICAS, "lb", env=env)
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]

        def through() -> bool:
            try:
                return answer(port, "/webhooks")[0] == 405  # nginx up and a replica behind it
            except OSError:
                return False
        wait_until(through, 60, interval=0.2, what="nginx passing requests to a replica")

        def send(msg_id: str) -> int:
            body = event_body("compose.test", {"id": msg_id})
            return answer(port, "/webhooks", "POST", body, {**signed_headers(secret, msg_id, body),
                                                            "content-type": "application/json"})[0]
        ids = [new_id("compose") for _ in range(30)]
        assert [send(i) for i in ids] == [202] * 30
        assert [send(i) for i in ids[:10]] == [200] * 10, "a retry reaches the replica that has it"

        # One replica stops (SIGTERM, its drain and hand-over) while deliveries keep coming.
        stopper = subprocess.Popen([str(Path(sys.executable).parent / "podman-compose"), *base, "stop", "hookhost-2"],
                                   env={**os.environ, "CONTAINERS_CONF": str(CONF), **env},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        statuses = []
        while stopper.poll() is None and len(statuses) < 2000:
            statuses.append(send(new_id("compose-stop")))
        stopper.wait(120)
        statuses += [send(new_id("compose-after")) for _ in range(30)]
        assert all(s == 202 for s in statuses), sorted(set(statuses))
        print(f"compose up: 3 replicas behind nginx; {len(statuses)} deliveries while one stopped, all 202")
    finally:
        if os.environ.get("HOOKHOST_KEEP_CONTAINER") != "1":
            compose(*base, "down", "-v", "-t", "5", env=env)
