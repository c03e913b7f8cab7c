"""Functions/Sources/batch-succeeded, run directly: a streamed JSONL summary, inline results,
idempotency on delivery.id, exit codes (65 malformed, 75 not yet, 1 changed file), bounded memory."""
import json
import random
import subprocess

from examplelib import examples_dir, hidden_leftovers, result_of, run_function, stdin_doc

DATA = {"id": "batches/abc123", "output_file_uri": "files/batch-abc123"}
META = {"job_group": "nightly-eval", "priority": "high"}


def make_jsonl(path, n=3000):
    """n lines of mixed results, with what real files have: blank lines, CRLF, any key order,
    numeric and non-ASCII keys, null members. Returns the expected counts and failures."""
    rng = random.Random(7)
    lines, failures = [], []
    expected = {"succeeded": 0, "failed": 0, "unrecognised": 0, "errors_by_code": {}}
    for i in range(n):
        key = f"req-{i}" if i % 500 else f"ключ-{i} 🎬"
        if i == 1234:
            key = 1234  # a number is a key too
        lineno = len(lines) + 1
        if i % 7 == 3:
            err = {"code": 429, "message": f"quota {i}", "status": "RESOURCE_EXHAUSTED"}
            entry = {"error": err, "key": key}  # error first
            code = "RESOURCE_EXHAUSTED"
        elif i % 11 == 5:
            err = {"code": 500, "message": "x" * 800}  # no status: the code counts
            entry = {"key": key, "error": err}
            code = "500"
        elif i == 2500:
            entry = {"key": key, "response": None, "error": None}
            code = "NO_RESPONSE"
            err = {"message": "neither response nor error"}
        else:
            entry = {"key": key, "error": None, "response": {"candidates": [{"content": {"parts": [{"text": "ok " * rng.randint(1, 30)}]}}]}}
            code = None
        if code is None:
            expected["succeeded"] += 1
        else:
            expected["unrecognised" if code == "NO_RESPONSE" else "failed"] += 1
            if code != "NO_RESPONSE":
                expected["errors_by_code"][code] = expected["errors_by_code"].get(code, 0) + 1
            failures.append({"key": str(key), "line": lineno, "code": code, "message": err["message"][:500]})
        ending = "\r\n" if i % 13 == 0 else "\n"
        lines.append(json.dumps(entry, ensure_ascii=i % 2 == 0) + ending)
        if i % 100 == 99:
            lines.append("  \n")  # blank lines are skipped, but still numbered
    path.write_text("".join(lines).rstrip("\n"), encoding="utf-8")  # no newline after the last line
    expected["entries"] = n
    return expected, failures


def batch_doc(delivery, result, **kw):
    return stdin_doc("batch.succeeded", DATA, delivery, result=result, user_metadata=META, **kw)


def test_summarises_a_jsonl_file_line_by_line(tmp_path):
    f = tmp_path / "batch-abc123.jsonl"
    expected, failures = make_jsonl(f)
    out = tmp_path / "summaries"
    r = run_function("batch.succeeded", batch_doc("wh_batch_1", result_of(f, "files/batch-abc123", "application/jsonl")),
                     tmp_path, {"BATCH_SUMMARY_DIR": str(out)})
    assert r.code == 0, r.stderr
    summary = r.json()
    d = out / "wh_batch_1"
    assert summary == {**expected, "delivery": "wh_batch_1", "batch": "batches/abc123", "source": "file",
                       "uri": "files/batch-abc123", "bytes": f.stat().st_size, "user_metadata": META, "output": str(d)}
    assert (d / "summary.json").read_bytes() == r.stdout, "stdout and summary.json are the same document"
    got = [json.loads(ln) for ln in (d / "failed_keys.jsonl").read_text(encoding="utf-8").splitlines()]
    assert got == failures
    assert sorted(p.name for p in out.iterdir()) == ["wh_batch_1"] and not hidden_leftovers(out)


def test_a_second_run_of_the_same_delivery_changes_nothing(tmp_path):
    f = tmp_path / "b.jsonl"
    make_jsonl(f, 300)
    out = tmp_path / "summaries"
    env = {"BATCH_SUMMARY_DIR": str(out)}
    doc = batch_doc("wh_again", result_of(f, "files/b"))
    first = run_function("batch.succeeded", doc, tmp_path, env)
    assert first.code == 0, first.stderr
    files = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "wh_again").iterdir()}
    f.unlink()  # the host deletes results after a run; a retry must not need it again
    second = run_function("batch.succeeded", doc.replace(b'"attempt":1', b'"attempt":2'), tmp_path, env)
    assert second.code == 0, second.stderr
    assert second.stdout == first.stdout
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "wh_again").iterdir()} == files
    assert [p.name for p in out.iterdir()] == ["wh_again"] and not hidden_leftovers(out)


def test_each_delivery_gets_its_own_directory_with_a_safe_name(tmp_path):
    f = tmp_path / "b.jsonl"
    make_jsonl(f, 50)
    out = tmp_path / "summaries"
    for delivery in ("wh_a", "../../escape", ".hidden"):
        r = run_function("batch.succeeded", batch_doc(delivery, result_of(f, "files/b")), tmp_path, {"BATCH_SUMMARY_DIR": str(out)})
        assert r.code == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["_.._.._escape", "_.hidden", "wh_a"]
    assert not (tmp_path / "escape").exists()


def test_a_malformed_line_is_permanent_and_leaves_nothing(tmp_path):
    f = tmp_path / "bad.jsonl"
    make_jsonl(f, 2000)
    lines = f.read_text(encoding="utf-8").split("\n")
    lines[1499] = '{"key":"req-x","response":{'  # cut short
    f.write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path / "summaries"
    r = run_function("batch.succeeded", batch_doc("wh_bad", result_of(f, "files/bad")), tmp_path, {"BATCH_SUMMARY_DIR": str(out)})
    assert r.code == 65, r.stderr
    assert "line 1500" in r.stderr and r.stdout == b""
    assert list(out.iterdir()) == [], "no summary, no partial directory"


def test_inline_results_from_the_batch_resource(tmp_path):
    resource = {"name": "batches/abc123", "metadata": {"@type": "type.googleapis.com/…GenerateContentBatch", "output": {
        "inlinedResponses": {"inlinedResponses": [
            {"response": {"candidates": []}, "metadata": {"key": "first"}},
            {"error": {"code": 3, "message": "bad request", "status": "INVALID_ARGUMENT"}, "metadata": {"key": "second"}},
            {"response": {"candidates": []}},
            {"error": {"code": 3, "message": "no key"}},
        ]}}}}
    f = tmp_path / "batches-abc123.json"
    f.write_text(json.dumps(resource, indent=2))
    out = tmp_path / "summaries"
    r = run_function("batch.succeeded", batch_doc("wh_inline", result_of(f, "batches/abc123", "application/json")),
                     tmp_path, {"BATCH_SUMMARY_DIR": str(out)})
    assert r.code == 0, r.stderr
    s = r.json()
    assert (s["source"], s["entries"], s["succeeded"], s["failed"], s["unrecognised"]) == ("inline", 4, 2, 2, 0)
    assert s["errors_by_code"] == {"INVALID_ARGUMENT": 1, "3": 1} and s["bytes"] == f.stat().st_size
    got = [json.loads(ln) for ln in (out / "wh_inline" / "failed_keys.jsonl").read_text().splitlines()]
    assert got == [{"key": "second", "line": 2, "code": "INVALID_ARGUMENT", "message": "bad request"},
                   {"key": None, "line": 4, "code": "3", "message": "no key"}]


def test_a_batch_resource_without_inline_results_is_permanent(tmp_path):
    f = tmp_path / "r.json"
    f.write_text('{"name":"batches/x","metadata":{"state":"JOB_STATE_SUCCEEDED"}}')
    r = run_function("batch.succeeded", batch_doc("wh_noinline", result_of(f, "batches/x")), tmp_path,
                     {"BATCH_SUMMARY_DIR": str(tmp_path / "s")})
    assert r.code == 65 and "inlinedResponses" in r.stderr, r


def test_no_result_yet_asks_for_a_retry(tmp_path):
    out = tmp_path / "s"
    r = run_function("batch.succeeded", batch_doc("wh_none", None), tmp_path, {"BATCH_SUMMARY_DIR": str(out)})
    assert r.code == 75 and "no result file yet" in r.stderr, r
    assert not out.exists()


def test_a_vanished_result_file_asks_for_a_retry(tmp_path):
    res = {"uri": "files/gone", "path": str(tmp_path / "gone.jsonl"), "bytes": 10, "sha256": "0" * 64, "content_type": None}
    r = run_function("batch.succeeded", batch_doc("wh_gone", res), tmp_path, {"BATCH_SUMMARY_DIR": str(tmp_path / "s")})
    assert r.code == 75 and "cannot open" in r.stderr, r
    assert not hidden_leftovers(tmp_path / "s")


def test_a_file_of_another_size_than_downloaded_is_a_failed_attempt(tmp_path):
    f = tmp_path / "b.jsonl"
    make_jsonl(f, 20)
    res = result_of(f, "files/b")
    res["bytes"] += 1
    out = tmp_path / "s"
    r = run_function("batch.succeeded", batch_doc("wh_size", res), tmp_path, {"BATCH_SUMMARY_DIR": str(out)})
    assert r.code == 1 and "the host downloaded" in r.stderr, r
    assert list(out.iterdir()) == []


def test_malformed_stdin_is_permanent(tmp_path):
    for doc in (b"", b"not json\n", b'{"contract":1,"type":"batch.succeeded"}\n'):
        p = subprocess.run([str(examples_dir() / "batch.succeeded")], input=doc, capture_output=True, timeout=60,
                           env={"PATH": "/usr/bin:/bin", "BATCH_SUMMARY_DIR": str(tmp_path / "s")})
        assert p.returncode == 65, (doc, p)
        assert b"hookhost input" in p.stderr and p.stdout == b""


def test_without_a_summary_dir_it_uses_the_scratch_dir_and_says_so(tmp_path):
    f = tmp_path / "b.jsonl"
    make_jsonl(f, 10)
    r = run_function("batch.succeeded", batch_doc("wh_scratch", result_of(f, "files/b")), tmp_path)
    assert r.code == 0 and "BATCH_SUMMARY_DIR is not set" in r.stderr, r
    assert r.json()["output"].startswith(str(tmp_path / "work-"))


def test_memory_stays_flat_on_a_large_file(tmp_path):
    # ~86 MB of 2 KB responses: streamed, so the peak RSS stays near the ~21 MB a Foundation
    # process starts with, far below the file (measured: the same for 3 MB and 285 MB).
    big = tmp_path / "big.jsonl"
    with open(big, "w") as out:
        for i in range(48_000):
            entry = {"key": f"k{i}", "error": {"code": 500, "message": "boom"}} if i % 10 == 0 \
                else {"key": f"k{i}", "response": {"text": "ok " * 650}}
            out.write(json.dumps(entry) + "\n")
    size = big.stat().st_size
    assert size > 80_000_000
    r = run_function("batch.succeeded", batch_doc("wh_big", result_of(big, "files/big")), tmp_path,
                     {"BATCH_SUMMARY_DIR": str(tmp_path / "s")})
    assert r.code == 0, r.stderr
    s = r.json()
    assert (s["entries"], s["failed"], s["bytes"]) == (48_000, 4_800, size)
    assert 0 < r.max_rss_kb < 48 * 1024, f"peak RSS {r.max_rss_kb} KB for a {size >> 20} MB file"
