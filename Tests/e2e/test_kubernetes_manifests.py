"""container/kubernetes/ is checked without a cluster (issue 23, parts 1 and 4).

- Every Kubernetes object validates with `kubernetes-validate --strict` (PyPI; the schemas ship with
  it) against the oldest and the newest Kubernetes version this repository claims.
- The custom resources and the prometheus-adapter rules have no schema there: their required fields
  are checked here, and their PromQL with `promtool`.
- The files agree with each other, with the image (container/Containerfile: users, capabilities)
  and with hookhost (its settings table, the metrics in docs/reference.md): a renamed port, setting or
  metric fails here instead of in a cluster.
"""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hostlib import REPO_ROOT, run_cli

K8S = REPO_ROOT / "container/kubernetes"
# The versions the README promises; the newest is the newest kubernetes-validate ships.
VERSIONS = ["1.30.0", "1.37.0"]
OBJECT_FILES = ["statefulset.yaml", "service.yaml", "ingress.yaml", "pdb.yaml", "hpa.yaml", "secret.yaml.example"]
REFERENCE = (REPO_ROOT / "docs/reference.md").read_text()
CONTAINERFILE = (REPO_ROOT / "container/Containerfile").read_text()


def docs(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]


def one(name: str, kind: str, obj_name: str | None = None) -> dict:
    found = [d for d in docs(name) if d["kind"] == kind and (obj_name is None or d["metadata"]["name"] == obj_name)]
    assert len(found) == 1, f"{name}: {len(found)} {kind} {obj_name or ''}"
    return found[0]


def sts() -> dict:
    return one("statefulset.yaml", "StatefulSet")


def container() -> dict:
    (c,) = sts()["spec"]["template"]["spec"]["containers"]
    return c


def env() -> dict[str, dict]:
    return {e["name"]: e for e in container()["env"]}


def env_value(name: str) -> str:
    return env()[name]["value"]


def ports() -> dict[str, int]:
    return {p["name"]: p["containerPort"] for p in container()["ports"]}


def prestop() -> list[str]:
    cmd = container()["lifecycle"]["preStop"]["exec"]["command"]
    assert cmd[:2] == ["/bin/sh", "-c"], cmd
    return cmd[2]


def metric_names_documented() -> set[str]:
    section = REFERENCE.split("\n## Metrics", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(hookhost_[a-z_]+)", section, re.M))


def settings_known() -> set[str]:
    """The settings table of the binary under test (`hookhost help settings`, the table
    docs/reference.md carries and ReferenceDocsTests compares)."""
    p = run_cli("help", "settings")
    assert p.returncode == 0, p.stderr.decode()
    return set(re.findall(r"^\| `((?:HOOKHOST|GEMINI)_[A-Z_]+)` \|", p.stdout.decode(), re.M))


def hookhost_metrics_in(promql: str) -> set[str]:
    return set(re.findall(r"\b(hookhost_[a-z_]+)\b", promql))


# ---------------------------------------------------------------------------------------------
# Schemas

@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_validates_strictly(version):
    tool = Path(sys.executable).parent / "kubernetes-validate"
    if not tool.exists():
        pytest.fail("kubernetes-validate is not installed: pip install -r Tests/e2e/requirements.txt")
    files = [str(K8S / f) for f in OBJECT_FILES]
    listed = sorted(p.name for p in K8S.iterdir() if p.suffix in (".yaml", ".yml"))
    assert sorted(f for f in OBJECT_FILES if f.endswith(".yaml")) == listed, \
        "every manifest `kubectl apply -f container/kubernetes/` applies is validated here"
    p = subprocess.run([str(tool), "--strict", "-k", version, *files], capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "ERROR" not in out, out
    assert out.count(" passed for resource ") == sum(len(docs(f)) for f in OBJECT_FILES), out


def test_the_custom_resources_have_their_required_fields():
    """KEDA's ScaledObject is not in kubernetes-validate's schemas: its required fields, here."""
    (so,) = [d for d in yaml.safe_load_all((K8S / "extras/keda-scaledobject.yaml").read_text()) if d]
    assert so["apiVersion"] == "keda.sh/v1alpha1" and so["kind"] == "ScaledObject"
    target = so["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == ("apps/v1", "StatefulSet", sts()["metadata"]["name"])
    assert 2 <= so["spec"]["minReplicaCount"] <= so["spec"]["maxReplicaCount"]
    (trigger,) = so["spec"]["triggers"]
    assert trigger["type"] == "prometheus"
    meta = trigger["metadata"]
    assert meta["serverAddress"].startswith("http") and float(meta["threshold"]) > 0
    assert isinstance(meta["threshold"], str), "KEDA trigger metadata values are strings"
    assert hookhost_metrics_in(meta["query"]) <= metric_names_documented(), meta["query"]
    check_promql([meta["query"].replace("NAMESPACE", "hookhost")])


def adapter_rules() -> list[dict]:
    values = yaml.safe_load((K8S / "extras/prometheus-adapter-values.yaml").read_text())
    return values["rules"]["custom"]


def test_the_adapter_rules_serve_the_hpa_metric_from_exported_series():
    served = {}
    for rule in adapter_rules():
        assert set(rule) == {"seriesQuery", "resources", "name", "metricsQuery"}, rule.keys()
        assert rule["resources"]["overrides"] == {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
        series = re.match(r"(hookhost_[a-z_]+)\{", rule["seriesQuery"]).group(1)
        assert re.fullmatch(rule["name"]["matches"], series)
        served[rule["name"]["as"] or series] = rule["metricsQuery"]
        assert "<<.LabelMatchers>>" in rule["metricsQuery"] and "<<.GroupBy>>" in rule["metricsQuery"]
        used = hookhost_metrics_in(rule["seriesQuery"] + rule["metricsQuery"])
        assert used <= metric_names_documented(), f"not exported by hookhost: {used - metric_names_documented()}"
    check_promql([q.replace("<<.LabelMatchers>>", 'namespace="ns",pod="hookhost-0"').replace("<<.GroupBy>>", "pod")
                  for q in served.values()])
    hpa = one("hpa.yaml", "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": sts()["metadata"]["name"]}
    assert hpa["spec"]["minReplicas"] >= 2, "a leaving pod needs a peer to hand over to"
    for m in hpa["spec"]["metrics"]:
        assert m["type"] == "Pods" and m["pods"]["metric"]["name"] in served, m


def check_promql(exprs: list[str]):
    """The queries parse: promtool checks them as recording rules."""
    if shutil.which("promtool") is None:
        pytest.skip("promtool not installed (Debian package prometheus; scripts/install-deps.sh installs it)")
    import tempfile
    rules = {"groups": [{"name": "k8s", "rules": [{"record": f"check:q{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        yaml.safe_dump(rules, f)
        f.flush()
        p = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


# ---------------------------------------------------------------------------------------------
# The files agree with each other

def test_selectors_ports_and_services_line_up():
    labels = sts()["spec"]["template"]["metadata"]["labels"]
    assert sts()["spec"]["selector"]["matchLabels"].items() <= labels.items()
    headless = one("service.yaml", "Service", sts()["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None", "the governing Service of a StatefulSet is headless"
    for svc in docs("service.yaml"):
        assert svc["spec"]["selector"].items() <= labels.items(), svc["metadata"]["name"]
        for p in svc["spec"]["ports"]:
            assert p["targetPort"] in ports(), p
    pdb = one("pdb.yaml", "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert ports()["http"] == int(env_value("HOOKHOST_LISTEN").rsplit(":", 1)[1])
    assert ports()["admin"] == int(env_value("HOOKHOST_ADMIN_LISTEN").rsplit(":", 1)[1])
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container()[probe]["httpGet"]["port"] == "admin", probe
    assert container()["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container()["livenessProbe"]["httpGet"]["path"] == "/healthz"
    mounts = {m["name"]: m["mountPath"] for m in container()["volumeMounts"]}
    assert mounts["data"] == env_value("HOOKHOST_DATA")
    assert [t["metadata"]["name"] for t in sts()["spec"]["volumeClaimTemplates"]] == ["data"]


def test_the_ingress_hashes_on_webhook_id_and_retries_only_what_was_not_stored():
    ing = one("ingress.yaml", "Ingress")
    ann = ing["metadata"]["annotations"]
    assert ann["nginx.ingress.kubernetes.io/upstream-hash-by"] == "$http_webhook_id"
    retry_on = ann["nginx.ingress.kubernetes.io/proxy-next-upstream"].split()
    assert {"error", "http_503", "non_idempotent"} <= set(retry_on)
    assert "timeout" not in retry_on, "a slow replica may have stored it: a retry elsewhere would run it twice"
    (rule,) = ing["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/webhooks", "Exact"), "only deliveries are public"
    backend = path["backend"]["service"]
    svc = one("service.yaml", "Service", backend["name"])
    assert backend["port"]["name"] in {p["name"] for p in svc["spec"]["ports"]}


def test_leaving_drains_and_hands_over_within_the_termination_grace():
    cmd = prestop()
    sleep = int(re.search(r"\bsleep (\d+)", cmd).group(1))
    argv = shlex.split(cmd.split("exec ", 1)[1])
    assert argv[0].endswith("/hookhost") and argv[1] == "drain", argv
    opts = dict(zip(argv[2::2], argv[3::2]))
    assert opts["--data"] == env_value("HOOKHOST_DATA")
    assert opts["--handover"] == env_value("HOOKHOST_HANDOVER"), "preStop and SIGTERM hand over to the same place"
    m = re.fullmatch(r"http://([a-z0-9-]+):(\d+)/hookhost/handover", opts["--handover"])
    assert m, opts["--handover"]
    svc = one("service.yaml", "Service", m.group(1))
    assert int(m.group(2)) in {p["port"] for p in svc["spec"]["ports"]}
    assert "clusterIP" not in svc["spec"], "hand-over goes to the ready pods, not to a headless name"
    grace = sts()["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    budget = sleep + int(opts["--wait"]) + int(env_value("HOOKHOST_SHUTDOWN_GRACE"))
    assert grace > budget, f"terminationGracePeriodSeconds {grace} <= preStop {sleep} + wait + shutdown grace = {budget}"


def test_settings_and_secrets():
    names = set(env())
    unknown = {n for n in names if n.startswith(("HOOKHOST_", "GEMINI_"))} - settings_known()
    assert not unknown, f"not hookhost settings: {unknown}"
    secret = one("secret.yaml.example", "Secret")
    for name in ("HOOKHOST_SECRETS", "HOOKHOST_PEER_SECRET", "GEMINI_API_KEY"):
        e = env()[name]
        assert "value" not in e, f"{name} inline"
        ref = e["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["stringData"], ref
    assert all(v == "" or v.startswith("REPLACE") for v in secret["stringData"].values()), "placeholders only"
    assert sts()["spec"]["template"]["spec"]["enableServiceLinks"] is False, \
        "the Service `hookhost` would inject HOOKHOST_PORT… variables"


def test_the_security_context_matches_the_image():
    pod = sts()["spec"]["template"]["spec"]["securityContext"]
    uid = int(re.search(r"useradd --system --uid (\d+) --gid hookhost\b", CONTAINERFILE).group(1))
    gid = int(re.search(r"groupadd --system --gid (\d+) hookhost\b", CONTAINERFILE).group(1))
    assert pod["runAsNonRoot"] is True
    assert (pod["runAsUser"], pod["runAsGroup"], pod["fsGroup"]) == (uid, gid, gid)
    assert env_value("HOOKHOST_FUNCTION_USER") == "hookfn" and "useradd --system --uid" in CONTAINERFILE
    assert re.search(r"useradd [^\n]*\bhookfn\b", CONTAINERFILE)
    assert env_value("HOOKHOST_FUNCTION_UIDS") == "", "the image's per-function uid range is switched off"
    sc = container()["securityContext"]
    caps = set(re.search(r"setcap ([a-z_,]+)\+ep /usr/local/bin/hookhost", CONTAINERFILE).group(1).split(","))
    assert {c.lower() for c in sc["capabilities"]["add"]} == {c.removeprefix("cap_") for c in caps}
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert sc["allowPrivilegeEscalation"] is True, "no_new_privs voids the binary's file capabilities"
    assert sc["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"] for m in container()["volumeMounts"]}
    assert "/tmp" in mounts, "functions get a writable /tmp on a read-only root"
