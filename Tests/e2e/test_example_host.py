"""The example functions under the real host: installed like Functions/build.sh installs them, fed
signed deliveries, their output stored as the delivery's output (events without a result; the
result-carrying examples are run directly in test_example_batch/video.py)."""
import json
import shutil

from durability_lib import show, wait_state
from examplelib import examples_dir
from hostlib import event_body


def install(fns, name, env):
    shutil.copy2(examples_dir() / name, fns.dir / name)
    (fns.dir / f"{name}.json").write_text(json.dumps({"timeout": 60, "env": env}))


def test_interaction_and_default_examples_run_under_the_host(make_host, fns, tmp_path):
    state, log = tmp_path / "interactions", tmp_path / "events.log"
    install(fns, "interaction", {"INTERACTION_STATE_DIR": str(state)})
    install(fns, "_default", {"EVENT_LOG": str(log)})
    host = make_host()
    r1 = host.send(event_body("interaction.completed", {"id": "interactions/h1"}), type_="interaction.completed")
    r2 = host.send(event_body("batch.expired", {"id": "batches/h2"}), type_="batch.expired")
    assert (r1.status, r2.status) == (202, 202), (r1, r2)
    wait_state(host, r1.msg_id, "done")
    wait_state(host, r2.msg_id, "done")

    out1 = show(host, r1.msg_id)[0]["last"]["output"]
    assert out1 == {"interaction": "interactions/h1", "event_status": "completed", "status": "completed",
                    "record": str(state / "interactions_h1.json")}
    rec = json.loads((state / "interactions_h1.json").read_text())
    assert rec["deliveries"] == [{"delivery": r1.msg_id, "status": "completed", "timestamp": "2026-05-04T12:00:00Z"}]

    out2 = show(host, r2.msg_id)[0]["last"]["output"]
    assert out2 == {"logged": True, "log": str(log), "delivery": r2.msg_id}
    [line] = [json.loads(ln) for ln in log.read_text().splitlines()]
    assert (line["type"], line["delivery"], line["id"], line["attempt"]) == ("batch.expired", r2.msg_id, "batches/h2", 1)
