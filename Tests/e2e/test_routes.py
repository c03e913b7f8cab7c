"""Routes by user_metadata (issue 20): sidecars with `on`/`match` choose the function; `hookhost
functions` names routes that can tie; `hookhost functions route` answers offline; deliveries are
routed live by the real host with real signed deliveries and real /bin/sh handlers.

The tests that route by `user_metadata` need the host to read it from the stored delivery (the
parsed head); until then they fail here, the ones without `match` pass."""
import json

from durability_lib import listed, wait_state
from hostlib import event_body, new_id, run_cli, wait_until

NO_FETCH = {"fetch": False}
NIGHTLY = {"on": ["batch.succeeded"], "match": {"job_group": "nightly-eval"}, **NO_FETCH}
WEEKLY = {"on": ["batch.succeeded"], "match": {"job_group": ["weekly-eval", "weekly-report"]}, **NO_FETCH}


def batch_body(job_group=None, **data) -> bytes:
    d = {"id": "batches/abc", **data}
    if job_group is not None:
        d["user_metadata"] = {"job_group": job_group}
    return event_body("batch.succeeded", d)


def functions_cli(fns, *args, home):
    p = run_cli("functions", *args, "--functions", str(fns.dir), home=home)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


# --- hookhost functions / functions route (offline) --------------------------------------------

def test_functions_lists_routes_and_names_a_route_conflict_on_both(fns, tmp_path):
    fns.add("nightly-eval", sidecar=NIGHTLY)
    fns.add("nightly-copy", sidecar={"on": "batch.succeeded", "match": {"job_group": ["nightly-eval", "x"]}})
    fns.add("weekly", sidecar=WEEKLY)
    fns.add("batch", sidecar=NO_FETCH)
    rc, out, err = functions_cli(fns, home=tmp_path)
    assert rc == 0, err
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("  ") and ln.split()}
    problem = ("nightly-copy and nightly-eval can both match batch.succeeded with 1 key; "
               "such a delivery fails until one is made more specific")
    assert "ROUTE CONFLICT: " + problem in lines["nightly-eval"], out
    assert "ROUTE CONFLICT: " + problem in lines["nightly-copy"], out
    assert "on=batch.succeeded match=[job_group=nightly-eval]" in lines["nightly-eval"], out
    # Disjoint values are no conflict; neither is the family function with fewer keys.
    assert "ROUTE CONFLICT" not in lines["weekly"] and "ROUTE CONFLICT" not in lines["batch"], out

    rc, out, err = functions_cli(fns, "--json", home=tmp_path)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["route_conflicts"] == [{"functions": ["nightly-copy", "nightly-eval"], "type": "batch.succeeded",
                                       "keys": 1, "problem": problem}]
    by_name = {f["name"]: f for f in doc["functions"]}
    assert by_name["nightly-eval"]["route_conflicts"] == [problem]
    assert by_name["weekly"]["route_conflicts"] == []
    assert by_name["weekly"]["on"] == ["batch.succeeded"]
    assert by_name["weekly"]["match"] == {"job_group": ["weekly-eval", "weekly-report"]}
    assert by_name["batch"]["on"] is None and by_name["batch"]["match"] is None


def test_functions_route_says_which_function_runs_and_why(fns, tmp_path):
    fns.add("nightly-eval", sidecar=NIGHTLY)
    fns.add("weekly", sidecar=WEEKLY)
    fns.add("batch", sidecar=NO_FETCH)
    rc, out, _ = functions_cli(fns, "route", "--type", "batch.succeeded", "--metadata", '{"job_group": "nightly-eval"}',
                               home=tmp_path)
    assert rc == 0
    assert out.splitlines()[0] == f"batch.succeeded → nightly-eval ({fns.dir / 'nightly-eval'})", out
    assert "why: nightly-eval: on batch.succeeded, matched job_group=nightly-eval (1 key)" in out, out

    rc, out, _ = functions_cli(fns, "route", "--type", "batch.succeeded", "--metadata", '{"job_group": "weekly-report"}',
                               "--json", home=tmp_path)
    assert rc == 0
    doc = json.loads(out)
    assert doc["outcome"] == "run" and doc["function"] == "weekly", doc
    assert doc["metadata"] == {"job_group": "weekly-report"}

    # Nothing matches: the family function, said so; no metadata at all: the same.
    for extra in (["--metadata", '{"job_group": "other"}'], []):
        rc, out, _ = functions_cli(fns, "route", "--type", "batch.succeeded", *extra, "--json", home=tmp_path)
        doc = json.loads(out)
        assert rc == 0 and doc["function"] == "batch", doc
        assert doc["why"] == "batch: family of batch.succeeded, no route matched more keys", doc

    # The legacy name routes as the type it is delivered as.
    rc, out, _ = functions_cli(fns, "route", "--type", "batch.completed", "--metadata", '{"job_group": "nightly-eval"}',
                               "--json", home=tmp_path)
    assert rc == 0 and json.loads(out)["function"] == "nightly-eval", out

    # No function: exit 1.
    rc, out, _ = functions_cli(fns, "route", "--type", "video.generated", home=tmp_path)
    assert rc == 1 and "skipped: no function" in out, out


def test_functions_route_reports_a_conflict_and_refuses_bad_input(fns, tmp_path):
    fns.add("a", sidecar={"on": "batch.succeeded", "match": {"job_group": "x"}})
    fns.add("b", sidecar={"on": "batch", "match": {"tenant": "acme"}})
    rc, out, _ = functions_cli(fns, "route", "--type", "batch.succeeded", "--metadata", '{"job_group": "x", "tenant": "acme"}',
                               home=tmp_path)
    # One key each, exact against family: a wins.
    assert rc == 0 and "→ a " in out, out
    fns.add("c", sidecar={"on": "batch.succeeded", "match": {"tenant": "acme"}})
    rc, out, _ = functions_cli(fns, "route", "--type", "batch.succeeded", "--metadata", '{"job_group": "x", "tenant": "acme"}',
                               "--json", home=tmp_path)
    doc = json.loads(out)
    assert rc == 1 and doc["outcome"] == "conflict" and doc["conflict"] == ["a", "c"], doc
    assert doc["why"] == "a and c both match batch.succeeded with 1 key; make one more specific"

    for bad in ("[1]", "null", '"x"', "{", "nightly"):
        rc, out, err = functions_cli(fns, "route", "--type", "batch.succeeded", "--metadata", bad, home=tmp_path)
        assert rc == 2 and "--metadata" in err and "JSON object" in err, (bad, rc, err)
    rc, _, err = functions_cli(fns, "route", "--type", "../etc", home=tmp_path)
    assert rc == 2 and "--type" in err, err
    rc, _, err = functions_cli(fns, "route", home=tmp_path)
    assert rc == 2 and "--type" in err, err


def test_a_broken_route_is_a_sidecar_error_not_a_crash(fns, tmp_path):
    fns.add("deep", sidecar={"on": "ping", "match": {".".join(["s"] * 17): 1}})
    fns.add("huge", sidecar={"on": "ping", "match": {"big": [1] * 65}})
    fns.add("inf")
    (fns.dir / "inf.json").write_text('{"on": "ping", "match": {"n": 1e999}}')  # json.dumps cannot write it
    rc, out, err = functions_cli(fns, "--json", home=tmp_path)
    assert rc == 0, err
    errors = {f["name"]: f["sidecar_error"] for f in json.loads(out)["functions"]}
    assert "sidecar match" in errors["deep"] and "at most 16" in errors["deep"], errors
    assert "at most 64" in errors["huge"], errors
    assert "1e999 is out of range" in errors["inf"], errors


# --- deliveries (the real host) -----------------------------------------------------------------

def test_a_route_conflict_fails_the_delivery_naming_both_until_dead(make_host, fns):
    fns.add("a", sidecar={"on": "app.report"})
    fns.add("b", sidecar={"on": ["app.report", "app.other"]})
    host = make_host(extra_args=["--max-attempts", "2"])
    r = host.send(event_body("app.report"))
    assert r.status == 202, r
    d = wait_state(host, r.msg_id, "dead", timeout=30)
    assert d["attempt"] == 2, d
    assert d["error"] == "route conflict: a and b both match app.report with 0 keys; make one more specific; no attempts left", d
    assert fns.runs() == []
    assert any(rec.get("msg") == "route conflict; retry scheduled" and rec.get("functions") == "a,b"
               for rec in host.log_records()), host.log_tail()
    # Said at start, and by `hookhost status`, before any delivery hits it.
    assert any(rec.get("msg") == "route conflict" and rec.get("functions") == "a,b" for rec in host.log_records()), host.log_tail()
    st = host.cli("status", "--data", str(host.data)).stdout.decode()
    assert "ROUTE CONFLICT: a and b can both match app.report" in st, st


def test_a_route_added_while_a_delivery_is_queued_takes_it(make_host, fns):
    # One worker, held by a run that waits for a go: the second delivery stays queued meanwhile.
    hold = 'i=0; while [ ! -e "$OUT/go" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done'
    fns.add("hold", extra=hold)
    fns.add("app", sidecar=NO_FETCH)
    host = make_host(extra_args=["--workers", "1"])
    held = host.send(event_body("hold"))
    wait_until(lambda: fns.runs_of(held.msg_id), 10, what="the holding run to start")
    queued = host.send(event_body("app.report"))
    assert queued.status == 202
    assert listed(host)[queued.msg_id]["state"] == "received"
    fns.add("reporter", sidecar={"on": ["app.report"]})
    (fns.out / "go").touch()
    run = fns.wait_run(queued.msg_id)
    assert run.function == "reporter", fns.runs()
    # Taken away again: the next one goes back to the family function.
    (fns.dir / "reporter").unlink()
    again = host.send(event_body("app.report"))
    assert fns.wait_run(again.msg_id).function == "app"


# These route by user_metadata: they need the stored head (Dispatcher.routingMetadata).

def test_two_functions_on_batch_succeeded_by_job_group_and_the_family_fallback(make_host, fns):
    fns.add("nightly-eval", sidecar=NIGHTLY)
    fns.add("weekly", sidecar=WEEKLY)
    fns.add("batch", sidecar=NO_FETCH)
    host = make_host()
    sent = {
        "nightly-eval": host.send(batch_body("nightly-eval")),
        "weekly": host.send(batch_body("weekly-report")),
        "batch": host.send(batch_body("adhoc")),
    }
    no_metadata = host.send(batch_body())
    top_level = host.send(event_body("batch.succeeded", {"id": "batches/x"}, user_metadata={"job_group": "nightly-eval"}))
    for function, r in sent.items():
        assert r.status == 202, r
        run = fns.wait_run(r.msg_id)
        assert run.function == function, (function, fns.runs())
        assert run.stdin_json()["user_metadata"]["job_group"] in ("nightly-eval", "weekly-report", "adhoc")
    assert fns.wait_run(no_metadata.msg_id).function == "batch"
    assert fns.wait_run(top_level.msg_id).function == "nightly-eval"


def test_dotted_paths_list_values_and_numbers_route_deliveries(make_host, fns):
    fns.add("eu", sidecar={"on": "batch", "match": {"tenant.region": ["eu-west", "eu-north"]}, **NO_FETCH})
    fns.add("tier-one", sidecar={"on": "batch.succeeded", "match": {"tier": 1}, **NO_FETCH})
    fns.add("_default", sidecar=NO_FETCH)
    host = make_host()
    cases = [
        ({"tenant": {"region": "eu-north"}}, "eu"),
        ({"tenant": {"region": "us"}}, "_default"),
        ({"tier": 1.0}, "tier-one"),
        ({"tier": "1"}, "_default"),
    ]
    sent = [(host.send(event_body("batch.succeeded", {"id": "batches/x", "user_metadata": um})), want) for um, want in cases]
    for r, want in sent:
        assert fns.wait_run(r.msg_id).function == want, (want, fns.runs())


def test_a_route_by_job_group_added_while_queued_takes_the_delivery(make_host, fns):
    hold = 'i=0; while [ ! -e "$OUT/go" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done'
    fns.add("hold", extra=hold)
    fns.add("batch", sidecar=NO_FETCH)
    host = make_host(extra_args=["--workers", "1"])
    held = host.send(event_body("hold"))
    wait_until(lambda: fns.runs_of(held.msg_id), 10, what="the holding run to start")
    queued = host.send(batch_body("nightly-eval"))
    assert listed(host)[queued.msg_id]["state"] == "received"
    fns.add("nightly-eval", sidecar=NIGHTLY)
    (fns.out / "go").touch()
    assert fns.wait_run(queued.msg_id).function == "nightly-eval", fns.runs()


def test_a_metadata_tie_fails_the_delivery_naming_both(make_host, fns):
    fns.add("by-group", sidecar={"on": "batch.succeeded", "match": {"job_group": "nightly-eval"}, **NO_FETCH})
    fns.add("by-tenant", sidecar={"on": "batch.succeeded", "match": {"tenant": "acme"}, **NO_FETCH})
    fns.add("batch", sidecar=NO_FETCH)
    host = make_host(extra_args=["--max-attempts", "1"])
    tie = host.send(event_body("batch.succeeded", {"id": "batches/x", "user_metadata": {"job_group": "nightly-eval", "tenant": "acme"}}))
    one = host.send(batch_body("nightly-eval"))
    d = wait_state(host, tie.msg_id, "dead", timeout=30)
    assert d["error"].startswith("route conflict: by-group and by-tenant both match batch.succeeded with 1 key; make one more specific"), d
    assert fns.wait_run(one.msg_id).function == "by-group"
    assert fns.runs_of(tie.msg_id) == []
