"""Issue 19.5: metrics an operator can alert on from the start — every known function's run and
dead-letter series exist at zero (also for a function added while the host runs), a result download
that fails dead-letters into hookhost_dead_letters_total like a run does, and downloads are counted
by outcome and timed."""
from __future__ import annotations

import re

from durability_lib import wait_state
from hostlib import event_body, wait_until
from test_results import api  # noqa: F401  (the stand-in files API, a fixture)

OUTCOMES = ("ok", "retry", "failed", "timeout", "dead")


def metrics(host) -> str:
    return host.request("GET", "/metrics").body.decode()


def value(text: str, sample: str):
    m = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def test_every_function_has_its_series_at_zero_from_the_start_and_when_added(make_host, fns):
    fns.add("ping")
    fns.add("batch.succeeded")
    host = make_host()
    text = metrics(host)
    for f in ("ping", "batch.succeeded"):
        for o in OUTCOMES:
            assert value(text, f'hookhost_runs_total{{function="{f}",outcome="{o}"}}') == 0, (f, o)
        assert value(text, f'hookhost_dead_letters_total{{function="{f}"}}') == 0, f
    assert value(text, 'hookhost_runs_total{function="",outcome="skipped"}') == 0
    for o in ("ok", "failed", "final", "no_space"):
        assert value(text, f'hookhost_fetches_total{{outcome="{o}"}}') == 0, o
    assert value(text, "hookhost_fetch_seconds_count") == 0
    assert value(text, "hookhost_ready") == 1
    assert value(text, "hookhost_disk_size_bytes") > 0 and value(text, "hookhost_disk_free_bytes") >= 0

    fns.add("video.generated")  # added while the host runs: there at the next scrape
    text = metrics(host)
    assert value(text, 'hookhost_dead_letters_total{function="video.generated"}') == 0
    assert value(text, 'hookhost_runs_total{function="video.generated",outcome="failed"}') == 0
    # and a counter that moved is not reset by that
    r = host.send(event_body("ping"), type_="ping")
    wait_state(host, r.msg_id, "done")
    assert value(metrics(host), 'hookhost_runs_total{function="ping",outcome="ok"}') == 1


def test_a_failed_download_is_a_dead_letter_of_its_function(make_host, fns):
    fns.add("video.generated")
    # Results from the default API base (nothing listens there): a transient failure, and with
    # one attempt a dead letter; a foreign host: a final failure, dead at once.
    host = make_host(extra_args=["--max-attempts", "1"])
    transient = host.send(event_body("video.generated", {"video_uri": "files/x"}), type_="video.generated")
    final = host.send(event_body("video.generated", {"video_uri": "http://127.0.0.2:1/files/y"}), type_="video.generated")
    wait_state(host, transient.msg_id, "dead")
    wait_state(host, final.msg_id, "dead")
    assert not fns.ran(transient.msg_id) and not fns.ran(final.msg_id)

    def counted():
        t = metrics(host)
        return t if value(t, "hookhost_fetch_seconds_count") == 2 else None
    text = wait_until(counted, 5, what="both downloads to be counted")
    assert value(text, 'hookhost_dead_letters_total{function="video.generated"}') == 2, text
    assert value(text, 'hookhost_fetches_total{outcome="failed"}') == 1
    assert value(text, 'hookhost_fetches_total{outcome="final"}') == 1
    assert value(text, 'hookhost_fetches_total{outcome="ok"}') == 0
    assert value(text, "hookhost_dead_letters") == 2


def test_a_download_is_counted_ok_with_its_bytes_and_time(make_host, fns, api):  # noqa: F811
    fns.add("video.generated")
    host = make_host(env={"HOOKHOST_API_BASE": f"http://127.0.0.1:{api.main}"})
    r = host.send(event_body("video.generated", {"video_uri": "files/ok-3000"}), type_="video.generated")
    wait_state(host, r.msg_id, "done")
    text = metrics(host)
    assert value(text, 'hookhost_fetches_total{outcome="ok"}') == 1
    assert value(text, "hookhost_fetch_bytes_total") == 3000
    assert value(text, "hookhost_fetch_seconds_count") == 1
    assert value(text, 'hookhost_fetch_seconds_bucket{le="+Inf"}') == 1
