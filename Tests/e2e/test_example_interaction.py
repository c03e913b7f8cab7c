"""Functions/Sources/interaction (family handler), run directly: one record per interaction,
out-of-order and repeated deliveries, concurrent updates, exit codes."""
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

from examplelib import examples_dir, hidden_leftovers, run_function, stdin_doc


def interaction(tmp_path, type_, delivery, ts, iid="interactions/i1", **data):
    state = tmp_path / "state"
    doc = stdin_doc(type_, {"id": iid, **data}, delivery, timestamp=ts)
    return run_function("interaction", doc, tmp_path, {"INTERACTION_STATE_DIR": str(state)})


def record(tmp_path, name="interactions_i1"):
    return json.loads((tmp_path / "state" / f"{name}.json").read_text())


def test_completed_is_recorded(tmp_path):
    r = interaction(tmp_path, "interaction.completed", "wh_c", "2026-05-04T12:00:00Z",
                    user_metadata={"ticket": "T-1"})
    assert r.code == 0, r.stderr
    path = str(tmp_path / "state" / "interactions_i1.json")
    assert r.json() == {"interaction": "interactions/i1", "event_status": "completed", "status": "completed", "record": path}
    assert record(tmp_path) == {
        "interaction": "interactions/i1", "status": "completed", "updated_at": "2026-05-04T12:00:00Z",
        "user_metadata": {"ticket": "T-1"},
        "deliveries": [{"delivery": "wh_c", "status": "completed", "timestamp": "2026-05-04T12:00:00Z"}]}
    assert not hidden_leftovers(tmp_path / "state")


def test_a_bare_id_gets_its_prefix(tmp_path):
    r = interaction(tmp_path, "interaction.completed", "wh_bare", "2026-05-04T12:00:00Z", iid="i1")
    assert r.code == 0 and r.json()["interaction"] == "interactions/i1", r


def test_requires_action_then_completed(tmp_path):
    r = interaction(tmp_path, "interaction.requires_action", "wh_1", "2026-05-04T12:00:00Z")
    assert r.code == 0 and "requires action" in r.stderr, r
    assert record(tmp_path)["status"] == "requires_action"
    r = interaction(tmp_path, "interaction.completed", "wh_2", "2026-05-04T12:05:00.5Z")
    assert r.json()["status"] == "completed"
    rec = record(tmp_path)
    assert (rec["status"], rec["updated_at"]) == ("completed", "2026-05-04T12:05:00.5Z")
    assert [d["delivery"] for d in rec["deliveries"]] == ["wh_1", "wh_2"]


def test_an_older_event_arriving_late_does_not_undo_a_newer_status(tmp_path):
    interaction(tmp_path, "interaction.completed", "wh_new", "2026-05-04T14:00:00+02:00")  # = 12:00Z
    r = interaction(tmp_path, "interaction.requires_action", "wh_old", "2026-05-04T11:59:59.999Z")
    assert r.code == 0, r.stderr
    assert r.json()["event_status"] == "requires_action" and r.json()["status"] == "completed"
    # same instant: a final status wins over requires_action, whichever came first
    r = interaction(tmp_path, "interaction.requires_action", "wh_tie", "2026-05-04T12:00:00Z")
    assert r.json()["status"] == "completed"
    assert [d["delivery"] for d in record(tmp_path)["deliveries"]] == ["wh_new", "wh_old", "wh_tie"]


def test_the_same_delivery_twice_changes_nothing(tmp_path):
    first = interaction(tmp_path, "interaction.failed", "wh_f", "2026-05-04T12:00:00Z",
                        error_code=13, error_message="model error: ünïcode")
    assert first.code == 0, first.stderr
    assert first.json()["error_code"] == "13" and first.json()["error_message"] == "model error: ünïcode"
    before = (tmp_path / "state" / "interactions_i1.json").read_bytes()
    second = interaction(tmp_path, "interaction.failed", "wh_f", "2026-05-04T12:00:00Z",
                         error_code=13, error_message="model error: ünïcode")
    assert second.code == 0 and second.stdout == first.stdout
    assert (tmp_path / "state" / "interactions_i1.json").read_bytes() == before
    assert record(tmp_path)["error_code"] == "13"


def test_concurrent_events_for_one_interaction_are_all_kept(tmp_path):
    # Twenty deliveries at once: the lock serialises read-modify-write, so none is lost.
    with ThreadPoolExecutor(max_workers=10) as pool:
        runs = list(pool.map(lambda i: interaction(tmp_path, "interaction.requires_action", f"wh_{i:02}",
                                                   f"2026-05-04T12:00:{i:02}Z"), range(20)))
    assert all(r.code == 0 for r in runs), [r.stderr for r in runs if r.code]
    rec = record(tmp_path)
    assert sorted(d["delivery"] for d in rec["deliveries"]) == [f"wh_{i:02}" for i in range(20)]
    assert rec["updated_at"] == "2026-05-04T12:00:19Z"
    assert not hidden_leftovers(tmp_path / "state")


def test_without_an_id_or_with_bad_stdin_it_is_permanent(tmp_path):
    doc = stdin_doc("interaction.completed", {"status": "done"}, "wh_noid")
    r = run_function("interaction", doc, tmp_path, {"INTERACTION_STATE_DIR": str(tmp_path / "state")})
    assert r.code == 65 and "no data.id" in r.stderr, r
    p = subprocess.run([str(examples_dir() / "interaction")], input=b'{"contract":1,"delivery":{}}', capture_output=True,
                       env={"PATH": "/usr/bin:/bin"}, timeout=60)
    assert p.returncode == 65 and b"missing key" in p.stderr, p


def test_a_record_that_is_not_one_is_not_overwritten(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "interactions_i1.json").write_text("not json")
    r = interaction(tmp_path, "interaction.completed", "wh_x", "2026-05-04T12:00:00Z")
    assert r.code == 75 and "is not a record" in r.stderr, r
    assert (state / "interactions_i1.json").read_text() == "not json"
