"""Issue 12: the product documents itself (docs/reference.md, serve --help, hookhost functions) and
fails loudly (non-executable functions, non-JSON stdout, nothing to verify with, exit 65 wording)."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from durability_lib import show, wait_state
from hostlib import event_body, free_port, new_id, run_cli, wait_until

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "docs" / "reference.md"


def reference_settings() -> dict[str, str]:
    """variable → default, from the generated settings table of docs/reference.md."""
    out = {}
    for ln in REFERENCE.read_text().splitlines():
        m = re.match(r"^\| `([A-Z_]+)` \| `--[a-z-]+` \| (.*?) \|", ln)
        if m:
            out[m.group(1)] = m.group(2).strip("`")
    return out


def test_serve_help_shows_every_documented_setting_with_its_default(tmp_path):
    settings = reference_settings()
    assert len(settings) >= 30, settings
    p = run_cli("serve", "--help", home=tmp_path)
    assert p.returncode == 0, p.stderr
    help_text = p.stdout.decode()
    for name, default in settings.items():
        block = help_text.split(name, 1)
        assert len(block) == 2, f"{name} missing from serve --help"
        following = block[1].split("\n  --", 1)[0]
        assert f"default: {default}" in following, (name, default, following)
    # and the other way round: nothing in --help that the reference lacks
    listed = set(re.findall(r"^  --[a-z-]+ +([A-Z_]+)$", help_text, re.M))
    assert listed == set(settings), listed ^ set(settings)


def test_functions_shows_effective_values_and_non_executable_files(fns, tmp_path):
    fns.add("batch.succeeded", sidecar={"timeout": 7, "fetch": False})
    fns.add("batch")
    (fns.dir / "batch.failed").write_text("#!/bin/sh\nexit 0\n")  # forgot chmod +x
    (fns.dir / "README.txt").write_text("notes, not a function\n")
    p = run_cli("functions", "--functions", str(fns.dir), home=tmp_path, env={"HOOKHOST_MAX_ATTEMPTS": "3"})
    out = p.stdout.decode()
    assert p.returncode == 0, p.stderr
    assert "default" not in out, out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("batch.succeeded "))
    assert "timeout=7s" in line and "max_attempts=3" in line and "fetch=false" in line and "sidecar: timeout,fetch" in line, line
    family = next(ln for ln in out.splitlines() if ln.strip().startswith("batch "))
    assert "timeout=300s" in family and "retry_later_for=86400s" in family, family
    bad = next(ln for ln in out.splitlines() if ln.strip().startswith("batch.failed "))
    assert "NOT EXECUTABLE" in bad and "chmod +x" in bad, bad
    assert "README.txt" not in out.split("routes:")[0]
    j = json.loads(run_cli("functions", "--json", "--functions", str(fns.dir), home=tmp_path).stdout)
    assert j["not_executable"] == ["batch.failed"]
    eff = next(f for f in j["functions"] if f["name"] == "batch.succeeded")["effective"]
    assert eff["timeout"] == 7 and eff["max_attempts"] == 8 and eff["fetch"] is False, eff


def test_a_non_executable_function_is_warned_about_and_named_in_the_skip(make_host, fns):
    (fns.dir / "lonely").write_text("#!/bin/sh\nexit 0\n")
    host = make_host()
    r = host.send(event_body("lonely"), type_="lonely")
    assert r.status == 202
    d = wait_state(host, r.msg_id, "skipped")
    records = host.log_records()
    assert any(x.get("msg", "").startswith("function file is not executable") and x.get("file") == "lonely" for x in records), records[:8]
    skipped = next(x for x in records if x.get("msg") == "skipped" and x.get("id") == r.msg_id)
    assert "lonely exists but is not executable (chmod +x)" in skipped["reason"], skipped


def test_non_json_stdout_keeps_its_first_bytes_and_warns(make_host, fns):
    fns.add("chatty", extra="printf 'hello from chatty %0300d' 0")
    host = make_host()
    r = host.send(event_body("chatty"), type_="chatty")
    assert r.status == 202
    wait_state(host, r.msg_id, "done")
    doc, _ = show(host, r.msg_id)
    head = doc["last"]["stdout_head"]
    assert head.startswith("hello from chatty 000") and len(head) == 200, doc["last"]
    assert doc["last"]["output"] is None
    warn = [x for x in host.log_records() if x.get("msg", "").startswith("stdout is not a JSON object")]
    assert warn and warn[0]["id"] == r.msg_id and warn[0]["stdout_head"].startswith("hello"), warn


def test_exit_65_is_named_as_the_functions_declaration(make_host, fns):
    fns.add("refuses", code=65)
    host = make_host()
    r = host.send(event_body("refuses"), type_="refuses")
    d = wait_state(host, r.msg_id, "dead")
    assert d["error"] == "function declared the input unusable (exit 65)", d


def test_readyz_is_503_when_nothing_can_verify(make_host, fns):
    fns.add("ping")
    unreachable = f"http://127.0.0.1:{free_port()}/jwks.json"
    host = make_host(extra_args=["--jwks-url", unreachable], env={"HOOKHOST_SECRETS": None})

    def reason():
        r = host.request("GET", "/readyz")
        return r.status, r.json().get("error", "")
    wait_until(lambda: "Couldn't connect" in reason()[1] or "connect" in reason()[1].lower(), 10, what="the JWKS fetch to fail")
    status, error = reason()
    assert status == 503 and "no verification method" in error and "HOOKHOST_SECRETS" in error, (status, error)
    assert host.request("GET", "/healthz").status == 200


def test_readyz_is_200_with_a_secret_even_without_jwks(make_host, fns):
    host = make_host(extra_args=["--jwks-url", f"http://127.0.0.1:{free_port()}/jwks.json"])
    assert host.request("GET", "/readyz").status == 200


def test_the_documented_signing_recipe_verifies(make_host, fns):
    """The shell recipe in docs/reference.md, run as written (with the host's secret and port)."""
    fns.add("batch.succeeded", sidecar={"fetch": False})
    host = make_host()
    text = REFERENCE.read_text()
    recipe = text.split("Make a test secret and sign by hand:", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = recipe.splitlines()
    assert sum(ln.startswith("SECRET=") for ln in lines) == 1
    script = "\n".join(ln for ln in lines if not ln.startswith("SECRET=")).replace("localhost:8080", f"127.0.0.1:{host.port}")
    # Only what a fresh Debian has: an `xxd` (vim's, not installed by default) that fails if called.
    stubs = host.root / "stub-bin"
    stubs.mkdir()
    (stubs / "xxd").write_text("#!/bin/sh\nexit 127\n")
    (stubs / "xxd").chmod(0o755)
    env = {"PATH": f"{stubs}:/usr/bin:/bin"}
    p = subprocess.run(["bash", "-c", script], env={**env, "SECRET": host.secrets[0]}, capture_output=True, timeout=20)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["status"] == "accepted", p.stdout
    # A secret that is not whsec_<base64> fails loudly, before anything is sent.
    p = subprocess.run(["bash", "-c", script], env={**env, "SECRET": "whsec_"}, capture_output=True, timeout=20)
    assert p.returncode != 0 and b"whsec_<base64>" in p.stderr, (p.returncode, p.stderr)
    # the fingerprint recipe gives what the host logs
    fp = subprocess.run(["bash", "-c", 'printf %s "${SECRET#whsec_}" | base64 -d | sha256sum | cut -c1-8'],
                        env={"SECRET": host.secrets[0], "PATH": "/usr/bin:/bin"}, capture_output=True).stdout.decode().strip()
    assert len(fp) == 8


def test_metrics_explain_themselves_and_carry_operator_gauges(make_host, fns):
    fns.add("ping")
    fns.add("refuses", code=65)
    host = make_host()
    ok = host.send(event_body("ping"), type_="ping")
    dead = host.send(event_body("refuses"), type_="refuses")
    wait_state(host, ok.msg_id, "done")
    wait_state(host, dead.msg_id, "dead")
    text = host.request("GET", "/metrics").body.decode()
    families = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    helped = set(re.findall(r"^# HELP (\S+) ", text, re.M))
    assert families and families <= helped, families - helped
    for name in ("hookhost_running", "hookhost_retry_scheduled", "hookhost_oldest_unfinished_age_seconds", "hookhost_spool_bytes"):
        assert re.search(rf"^{name} \d", text, re.M), name
    assert re.search(r'^hookhost_build_info\{version="[^"]+",commit="[^"]*"\} 1$', text, re.M), text
    assert 'hookhost_dead_letters_total{function="refuses"} 1' in text, text
    assert int(re.search(r"^hookhost_spool_bytes (\d+)", text, re.M).group(1)) > 0
    # every family exported is in the reference
    reference = REFERENCE.read_text()
    for f in families:
        assert f"`{f}" in reference, f"{f} is not documented in docs/reference.md"


def test_admin_listen_serves_probes_and_metrics_apart_from_deliveries(make_host, fns):
    fns.add("ping")
    admin_port = free_port()
    from hostlib import http_request
    host = make_host(start=False)
    host.start(["--admin-listen", f"127.0.0.1:{admin_port}"], wait=False)

    def admin_up():
        try:
            return http_request(admin_port, "GET", "/healthz", timeout=1).status == 200
        except OSError:
            return False
    wait_until(admin_up, 10, what="the admin listener")
    for path in ("/metrics", "/readyz", "/healthz"):
        assert http_request(admin_port, "GET", path).status == 200, path
        assert host.request("GET", path).status == 404, path
    assert host.send(event_body("ping"), type_="ping").status == 202
    assert http_request(admin_port, "POST", "/webhooks", b"{}").status == 404
