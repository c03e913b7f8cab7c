"""The StatefulSet's pod, as far as it can run without a cluster (issue 23, part 1): the image run
with podman under the manifest's own settings — its environment, user, capabilities, read-only root
with a /tmp — next to a peer reachable as `hookhost` (the Service's name, a network alias here),
and its preStop command run verbatim.

Shows: the host starts as uid 999 with only the five capabilities; a function runs as `hookfn`; the
probes' paths answer on the admin port (and not on the delivery port); the preStop drain hands an
unfinished delivery to the peer through http://hookhost:8080/hookhost/handover and exits 0; SIGTERM
then stops the pod with exit 0.

Skips, saying why, where podman cannot run (see test_container.py).
"""
from __future__ import annotations

import json
import os
import uuid

import pytest
import yaml

from hostlib import REPO_ROOT, event_body, free_port, http_request, new_id, new_secret, signed_headers, wait_until
from test_container import IMAGE, build_image, podman, skip_reason

MANIFEST = REPO_ROOT / "container/kubernetes/statefulset.yaml"


def pod_spec() -> tuple[dict, dict]:
    sts = yaml.safe_load(MANIFEST.read_text())
    pod = sts["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    return pod, c


def run_flags(pod: dict, c: dict, env: dict) -> list[str]:
    """podman run flags for what the manifest asks of the container runtime."""
    psc, csc = pod["securityContext"], c["securityContext"]
    flags = ["--user", f"{psc['runAsUser']}:{psc['runAsGroup']}", "--group-add", str(psc["fsGroup"]),
             "--cap-drop", "ALL"]
    for cap in csc["capabilities"]["add"]:
        flags += ["--cap-add", cap]
    if not csc["allowPrivilegeEscalation"]:
        flags += ["--security-opt", "no-new-privileges"]
    if csc["readOnlyRootFilesystem"]:
        flags.append("--read-only")
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert {v["name"] for v in pod["volumes"]} == {"tmp"} and "emptyDir" in pod["volumes"][0]
    flags += ["--tmpfs", f"{mounts['tmp']}:rw,mode=1777"]
    for e in c["env"]:
        value = e["value"] if "value" in e else env[e["name"]]
        flags += ["-e", f"{e['name']}={value}"]
    return flags


class Pod:
    def __init__(self, name: str, net: str, image: str, flags: list[str], tmp, aliases=()):
        self.name, self.volume = name, name + "-data"
        self.port, self.admin = free_port(), free_port()
        self.functions, self.out = tmp / f"{name}-functions", tmp / f"{name}-out"
        self.functions.mkdir()
        self.out.mkdir()
        os.chmod(self.out, 0o777)  # written by the function user inside
        _, c = pod_spec()
        data = next(m["mountPath"] for m in c["volumeMounts"] if m["name"] == "data")
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.args = ["run", "-d", "--name", name, "--network", net, *[f"--network-alias={a}" for a in aliases],
                     "-p", f"127.0.0.1:{self.port}:{ports['http']}", "-p", f"127.0.0.1:{self.admin}:{ports['admin']}",
                     "-v", f"{self.volume}:{data}", "-v", f"{self.functions}:/functions:ro", "-v", f"{self.out}:/out",
                     *flags,
                     # podman gives a non-root user its added capabilities as ambient ones; Kubernetes
                     # runtimes do not (only the bounding set keeps them, and the binary's file
                     # capabilities raise them at exec — which no_new_privs would void). capsh --noamb
                     # clears the ambient set before the host starts, so it runs as it would in a pod.
                     "--entrypoint", "/usr/sbin/capsh", image,
                     "--noamb", "--", "-c", "exec /usr/local/bin/hookhost " + " ".join(c["args"])]

    def add_function(self, name: str, body: str):
        p = self.functions / name
        p.write_text("#!/bin/sh\n" + body)
        p.chmod(0o755)

    def start(self):
        podman(*self.args)
        _, c = pod_spec()
        probe = c["readinessProbe"]["httpGet"]["path"]

        def ready():
            try:
                return http_request(self.admin, "GET", probe, timeout=1).status == 200
            except OSError:
                return False
        try:
            wait_until(ready, 30, what=f"{self.name}: {probe} 200 on the admin port")
        except TimeoutError as e:
            logs = podman("logs", self.name, check=False)
            raise AssertionError(f"{e}:\n{(logs.stdout + logs.stderr).decode(errors='replace')[-2000:]}") from None

    def exec(self, *argv: str, check: bool = True):
        return podman("exec", self.name, *argv, check=check, timeout=120)

    def deliveries(self) -> dict[str, str]:
        out = self.exec("/usr/local/bin/hookhost", "deliveries", "list", "--json").stdout
        return {d["id"]: d["state"] for d in json.loads(out)["deliveries"]}

    def cleanup(self):
        podman("rm", "-f", "-t", "0", self.name, check=False)
        podman("volume", "rm", "-f", self.volume, check=False)


def test_the_statefulset_pod_runs_drains_and_hands_over_as_the_manifest_says(tmp_path):
    reason = skip_reason()
    if reason:
        pytest.skip("pod test skipped: " + reason)
    image = build_image(IMAGE)
    pod, c = pod_spec()
    secret = new_secret()
    env = {"HOOKHOST_SECRETS": secret, "HOOKHOST_PEER_SECRET": "peer-" + uuid.uuid4().hex * 2, "GEMINI_API_KEY": ""}
    flags = run_flags(pod, c, env)
    tag = uuid.uuid4().hex[:8]
    net = f"hookhost-e2e-{tag}"
    podman("network", "create", net)
    service = c["lifecycle"]["preStop"]["exec"]["command"][2].split("http://", 1)[1].split(":", 1)[0]
    peer = Pod(f"hookhost-e2e-peer-{tag}", net, image, flags, tmp_path, aliases=[service])
    leaver = Pod(f"hookhost-e2e-pod-{tag}", net, image, flags, tmp_path)
    try:
        for p in (peer, leaver):
            p.add_function("whoami.test", 'cat >/dev/null\nid -u > "/out/.$HOOKHOST_DELIVERY_ID" && mv "/out/.$HOOKHOST_DELIVERY_ID" "/out/$HOOKHOST_DELIVERY_ID"\n')
            p.add_function("later.test", "cat >/dev/null\n")
            p.start()
        # The host: PID 1, uid 999, exactly the five capabilities (effective), none ambient: they
        # come from the binary's file capabilities, as in a pod.
        status = leaver.exec("cat", "/proc/1/status").stdout.decode()
        fields = dict(l.split(":", 1) for l in status.splitlines() if ":" in l)
        assert fields["Uid"].split()[0] == str(pod["securityContext"]["runAsUser"])
        caps = int(fields["CapEff"].strip(), 16)
        names = {"CHOWN": 0, "DAC_OVERRIDE": 1, "KILL": 5, "SETGID": 6, "SETUID": 7}
        assert caps == sum(1 << names[n] for n in c["securityContext"]["capabilities"]["add"]), hex(caps)
        assert int(fields["CapAmb"].strip(), 16) == 0
        assert leaver.exec("cat", "/proc/1/cmdline").stdout.split(b"\0")[0].endswith(b"hookhost")
        # Probes on the admin port only.
        assert http_request(leaver.admin, "GET", c["livenessProbe"]["httpGet"]["path"]).status == 200
        assert http_request(leaver.port, "GET", "/readyz").status == 404

        def send(p: Pod, type_: str) -> str:
            msg_id = new_id("pod")
            body = event_body(type_)
            r = http_request(p.port, "POST", "/webhooks", body, {**signed_headers(secret, msg_id, body),
                                                                 "content-type": "application/json"})
            assert r.status == 202, r
            return msg_id
        ran = send(leaver, "whoami.test")
        wait_until((leaver.out / ran).exists, 20, what="the function's run")
        hookfn = leaver.exec("id", "-u", "hookfn").stdout.decode().strip()
        assert (leaver.out / ran).read_text().strip() == hookfn, "functions run as hookfn"

        # An unfinished delivery: its function paused on the leaving pod.
        leaver.exec("/usr/local/bin/hookhost", "functions", "pause", "later.test")
        waiting = send(leaver, "later.test")
        # preStop, verbatim (its `sleep 5` included), then SIGTERM.
        p = leaver.exec(*c["lifecycle"]["preStop"]["exec"]["command"], check=False)
        assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
        assert leaver.deliveries()[waiting] == "handed_over"
        assert peer.deliveries()[waiting] in ("received", "retry_scheduled", "running", "done"), peer.deliveries()
        podman("stop", "-t", str(pod["terminationGracePeriodSeconds"]), leaver.name, timeout=180)
        state = json.loads(podman("inspect", leaver.name).stdout)[0]["State"]
        assert state["ExitCode"] == 0, podman("logs", leaver.name).stderr.decode()[-2000:]
    finally:
        if os.environ.get("HOOKHOST_KEEP_CONTAINER") != "1":
            for p in (leaver, peer):
                p.cleanup()
            podman("network", "rm", "-f", net, check=False)
