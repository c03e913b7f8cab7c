"""Functions/scripts/_default.sh (POSIX sh + sed/grep), installed as _default: one JSON line per
delivery in EVENT_LOG, idempotent, escaped, exit codes."""
import json
import subprocess

from examplelib import examples_dir, run_function, stdin_doc


def log_lines(path):
    return [json.loads(ln) for ln in path.read_text().splitlines()]


def test_appends_one_json_line_per_delivery(tmp_path):
    log = tmp_path / "logs" / "events.log"  # the directory is created
    env = {"EVENT_LOG": str(log)}
    for delivery, type_ in (("wh_1", "batch.expired"), ("wh_2", "batch.cancelled"), ("wh_1", "batch.expired")):
        r = run_function("_default", stdin_doc(type_, {"id": f"batches/{delivery}"}, delivery), tmp_path, env)
        assert r.code == 0, r.stderr
        assert r.json() == {"logged": True, "log": str(log), "delivery": delivery}
    assert log_lines(log) == [
        {"received_at": "2026-05-04T12:00:01.123Z", "type": "batch.expired", "delivery": "wh_1", "attempt": 1, "id": "batches/wh_1"},
        {"received_at": "2026-05-04T12:00:01.123Z", "type": "batch.cancelled", "delivery": "wh_2", "attempt": 1, "id": "batches/wh_2"},
    ], "the repeated delivery is not appended again"


def test_odd_values_stay_valid_json(tmp_path):
    log = tmp_path / "events.log"
    # a quote and a backslash in the delivery id, an escaped id, a pretty-printed body whose first
    # "id" is data.id but which has more of them, and JWT claims with "id" before the event
    body = b'{\n  "type": "ping",\n  "data": {\n    "id": "caf\\u00e9 \\"x\\"",\n    "inner": {"id": "not this"}\n  }\n}'
    doc = stdin_doc("ping", {}, 'wh_"q\\', event=body)
    doc = doc.replace(b'"verified_by":"hmac"}', b'"verified_by":"jwt","key_id":"k","claims":{"id":"claim","type":"ping","event":1}}')
    r = run_function("_default", doc, tmp_path, {"EVENT_LOG": str(log)})
    assert r.code == 0, r.stderr
    assert r.json()["delivery"] == 'wh_"q\\'
    [line] = log_lines(log)
    assert line["delivery"] == 'wh_"q\\' and line["id"] == 'café "x"' and line["type"] == "ping"


def test_without_event_log_it_only_logs_to_stderr(tmp_path):
    r = run_function("_default", stdin_doc("ping", {"id": "p"}, "wh_p"), tmp_path)
    assert r.code == 0 and r.json() == {"logged": False, "reason": "EVENT_LOG is not set"}
    assert "type=ping delivery=wh_p attempt=1 id=p" in r.stderr


def test_not_a_hookhost_document_is_permanent(tmp_path):
    for doc in (b"", b"hello\n", b'{"type":"ping"}\n'):
        p = subprocess.run([str(examples_dir() / "_default")], input=doc, capture_output=True, timeout=30,
                           env={"PATH": "/usr/bin:/bin", "EVENT_LOG": str(tmp_path / "l")})
        assert p.returncode == 65, (doc, p)
    assert not (tmp_path / "l").exists()


def test_an_unwritable_log_asks_for_a_retry(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = run_function("_default", stdin_doc("ping", {"id": "p"}, "wh_w"), tmp_path, {"EVENT_LOG": str(blocker / "events.log")})
    assert r.code == 75, r
