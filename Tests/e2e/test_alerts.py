"""Issue 19.5: the Prometheus alert rules shipped in container/alerts.yml are valid (`promtool check
rules`), fire when they should and only then (promtool's rule unit tests, on made-up series), and
use only metrics a real host exports from its start."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hostlib import REPO_ROOT

RULES = REPO_ROOT / "container" / "alerts.yml"

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None,
                                reason="promtool not installed (Debian package prometheus; scripts/install-deps.sh installs it)")


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, timeout=60)


def test_promtool_accepts_the_rules():
    p = promtool("check", "rules", str(RULES))
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    assert b"SUCCESS: 5 rules found" in p.stdout, p.stdout


def rule_names() -> list[str]:
    return re.findall(r"^\s*- alert: (\S+)$", RULES.read_text(), re.M)


def without_annotations(text: str) -> str:
    """The rules without their annotations: promtool's unit tests compare annotations verbatim, and
    these are prose (their templates are checked by `check rules`); expressions, `for` and labels
    are what the tests are about."""
    out, skip_deeper_than = [], None
    for ln in text.splitlines():
        indent = len(ln) - len(ln.lstrip())
        if skip_deeper_than is not None and (not ln.strip() or indent > skip_deeper_than):
            continue
        skip_deeper_than = None
        if ln.strip() == "annotations:":
            skip_deeper_than = indent
            continue
        out.append(ln)
    return "\n".join(out) + "\n"


def series(name: str, instance: str, values: str, **labels) -> dict:
    ls = {"instance": instance, "job": "hookhost", **labels}
    return {"series": name + "{" + ",".join(f'{k}="{v}"' for k, v in ls.items()) + "}", "values": values}


def alert(name: str, at: str, *firing: dict) -> dict:
    return {"eval_time": at, "alertname": name, "exp_alerts": [{"exp_labels": f} for f in firing]}


def test_each_rule_fires_for_the_bad_host_only_and_after_its_for(tmp_path):
    """Two hosts scraped every minute: h1 healthy throughout, h2 going wrong in every way."""
    (tmp_path / "alerts.yml").write_text(without_annotations(RULES.read_text()))
    bad = {"instance": "h2", "job": "hookhost"}
    tests = {
        "rule_files": ["alerts.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                series("hookhost_dead_letters_total", "h1", "0x60", function="refuses"),
                series("hookhost_dead_letters_total", "h2", "0x60", function="ping"),
                # one dead letter at minute 3, none after
                series("hookhost_dead_letters_total", "h2", "0 0 0 1x60", function="refuses"),
                series("hookhost_oldest_unfinished_age_seconds", "h1", "0x60"),
                # a stuck queue: over 2 h from minute 4 on
                series("hookhost_oldest_unfinished_age_seconds", "h2", "7000+60x60"),
                series("hookhost_ready", "h1", "1x60"),
                series("hookhost_ready", "h2", "1 1 0x60"),
                series("hookhost_jwks_failing", "h1", "0x60"),
                series("hookhost_jwks_failing", "h2", "0 1x60"),
                series("hookhost_disk_free_bytes", "h1", "50x60"),
                series("hookhost_disk_size_bytes", "h1", "100x60"),
                series("hookhost_disk_free_bytes", "h2", "5x60"),
                series("hookhost_disk_size_bytes", "h2", "100x60"),
            ],
            "alert_rule_test": [
                alert("HookhostDeadLettersRising", "2m"),
                alert("HookhostDeadLettersRising", "5m", {**bad, "function": "refuses", "severity": "warning"}),
                alert("HookhostDeadLettersRising", "30m"),
                alert("HookhostOldestUnfinishedTooOld", "10m"),
                alert("HookhostOldestUnfinishedTooOld", "15m", {**bad, "severity": "warning"}),
                alert("HookhostNotReady", "5m"),
                alert("HookhostNotReady", "8m", {**bad, "severity": "critical"}),
                alert("HookhostJWKSStale", "20m"),
                alert("HookhostJWKSStale", "35m", {**bad, "severity": "warning"}),
                alert("HookhostDiskNearlyFull", "3m"),
                alert("HookhostDiskNearlyFull", "6m", {**bad, "severity": "warning"}),
            ],
        }],
    }
    # YAML is a superset of JSON.
    (tmp_path / "alerts_test.yml").write_text(json.dumps(tests, indent=1))
    p = promtool("test", "rules", str(tmp_path / "alerts_test.yml"))
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    tested = {t["alertname"] for t in tests["tests"][0]["alert_rule_test"]}
    assert tested == set(rule_names()), set(rule_names()) ^ tested


def test_every_metric_the_rules_use_is_exported_by_a_host_from_its_start(make_host, fns):
    fns.add("ping")
    host = make_host()
    text = host.request("GET", "/metrics").body.decode()
    exported = {re.split(r"[{ ]", ln, 1)[0] for ln in text.splitlines() if ln and not ln.startswith("#")}
    used = set()
    for expr in re.findall(r"^\s*expr: (.*)$", RULES.read_text(), re.M):
        used |= set(re.findall(r"\bhookhost_[a-z_]+\b", expr))
    assert len(used) >= 6, used
    assert used <= exported, used - exported
