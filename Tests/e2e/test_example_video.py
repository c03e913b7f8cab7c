"""Functions/Sources/video-generated, run directly: filing into VIDEO_LIBRARY_DIR/<job_group>/,
hard link or copy, the extension from content_type or URI, idempotency, exit codes."""
import json
import os
from pathlib import Path

import pytest

from examplelib import hidden_leftovers, result_of, run_function, stdin_doc

VIDEO_URI = "https://generativelanguage.googleapis.com/v1beta/files/vid1:download?alt=media"


def fake_mp4(path: Path, size: int = 300_000) -> Path:
    path.write_bytes(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + os.urandom(size))
    return path


def video_doc(delivery, result, user_metadata=None, data_metadata=None):
    data = {"id": "models/veo-3/operations/op1", "video_uri": VIDEO_URI}
    if data_metadata is not None:
        data["user_metadata"] = data_metadata
    return stdin_doc("video.generated", data, delivery, result=result, user_metadata=user_metadata)


def test_files_the_video_under_its_job_group(tmp_path):
    src = fake_mp4(tmp_path / "download.bin")
    lib = tmp_path / "library"
    meta = {"job_group": "launch/../trailers", "shot": 3}
    r = run_function("video.generated", video_doc("wh_vid_1", result_of(src, VIDEO_URI, "video/mp4", "ab" * 32), meta),
                     tmp_path, {"VIDEO_LIBRARY_DIR": str(lib)})
    assert r.code == 0, r.stderr
    group = lib / "launch_.._trailers"  # one safe path component, never a way out of the library
    video, record = group / "wh_vid_1.mp4", group / "wh_vid_1.json"
    assert r.json() == {"video": str(video), "record": str(record), "group": "launch_.._trailers",
                        "bytes": src.stat().st_size, "delivery": "wh_vid_1"}
    assert video.read_bytes() == src.read_bytes()
    assert video.stat().st_ino == src.stat().st_ino, "same file system: a hard link, not a copy"
    assert json.loads(record.read_text()) == {
        "delivery": "wh_vid_1", "event_type": "video.generated", "id": "models/veo-3/operations/op1",
        "timestamp": "2026-05-04T12:00:00Z", "uri": VIDEO_URI, "bytes": src.stat().st_size, "sha256": "ab" * 32,
        "content_type": "video/mp4", "user_metadata": meta, "video": str(video)}
    assert sorted(p.name for p in lib.rglob("*")) == ["launch_.._trailers", "wh_vid_1.json", "wh_vid_1.mp4"]
    src.unlink()  # what the host does after the run: the library keeps the video
    assert video.read_bytes()[4:8] == b"ftyp"


def test_a_second_run_of_the_same_delivery_changes_nothing(tmp_path):
    src = fake_mp4(tmp_path / "d.bin")
    lib = tmp_path / "library"
    doc = video_doc("wh_twice", result_of(src, VIDEO_URI, "video/mp4"), {"job_group": "g"})
    first = run_function("video.generated", doc, tmp_path, {"VIDEO_LIBRARY_DIR": str(lib)})
    assert first.code == 0, first.stderr
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (lib / "g").iterdir()}
    src.unlink()  # gone after the first run: the retry must not need it
    second = run_function("video.generated", doc, tmp_path, {"VIDEO_LIBRARY_DIR": str(lib)})
    assert second.code == 0, second.stderr
    assert second.stdout == first.stdout and "already filed" in second.stderr
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (lib / "g").iterdir()} == before


def test_a_run_that_died_before_its_record_is_redone_cleanly(tmp_path):
    src = fake_mp4(tmp_path / "d.bin")
    lib = tmp_path / "library"
    doc = video_doc("wh_crash", result_of(src, VIDEO_URI, "video/mp4"))
    assert run_function("video.generated", doc, tmp_path, {"VIDEO_LIBRARY_DIR": str(lib)}).code == 0
    (lib / "ungrouped" / "wh_crash.json").unlink()
    # The video is still a link to the same download: rename(2) between two links of one file does
    # nothing, and the temporary name must not stay behind.
    r = run_function("video.generated", doc, tmp_path, {"VIDEO_LIBRARY_DIR": str(lib)})
    assert r.code == 0, r.stderr
    assert sorted(p.name for p in (lib / "ungrouped").iterdir()) == ["wh_crash.json", "wh_crash.mp4"]
    assert not hidden_leftovers(lib)


@pytest.mark.parametrize("content_type,uri,ext", [
    ("video/webm; codecs=vp9", VIDEO_URI, "webm"),
    ("VIDEO/QuickTime", "files/x", "mov"),
    (None, "gs://bucket/renders/clip.MKV", "mkv"),
    ("application/octet-stream", "files/video-abc", "mp4"),
    (None, VIDEO_URI, "mp4"),
], ids=["webm-with-params", "case", "from-uri", "octet-stream", "default"])
def test_extension_from_content_type_then_uri(tmp_path, content_type, uri, ext):
    src = fake_mp4(tmp_path / "d.bin", 1000)
    lib = tmp_path / "library"
    r = run_function("video.generated", video_doc("wh_ext", result_of(src, uri, content_type)), tmp_path,
                     {"VIDEO_LIBRARY_DIR": str(lib)})
    assert r.code == 0, r.stderr
    assert r.json()["video"] == str(lib / "ungrouped" / f"wh_ext.{ext}")


def test_job_group_is_also_read_from_event_data(tmp_path):
    src = fake_mp4(tmp_path / "d.bin", 10)
    r = run_function("video.generated", video_doc("wh_data", result_of(src, VIDEO_URI, "video/mp4"), None, {"job_group": 42}),
                     tmp_path, {"VIDEO_LIBRARY_DIR": str(tmp_path / "lib")})
    assert r.code == 0 and r.json()["group"] == "42", r


def test_copies_when_a_hard_link_is_not_possible(tmp_path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK) or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs a writable /dev/shm on another file system than the test's tmp dir")
    src = fake_mp4(shm / f"hookhost-test-{os.getpid()}.bin")
    try:
        lib = tmp_path / "library"
        r = run_function("video.generated", video_doc("wh_copy", result_of(src, VIDEO_URI, "video/mp4")), tmp_path,
                         {"VIDEO_LIBRARY_DIR": str(lib)})
        assert r.code == 0 and "copied" in r.stderr, r
        assert (lib / "ungrouped" / "wh_copy.mp4").read_bytes() == src.read_bytes()
        assert not hidden_leftovers(lib)
    finally:
        src.unlink()


def test_exit_codes(tmp_path):
    lib = tmp_path / "library"
    env = {"VIDEO_LIBRARY_DIR": str(lib)}
    src = fake_mp4(tmp_path / "d.bin", 100)
    # not downloaded yet → later
    r = run_function("video.generated", video_doc("wh_1", None), tmp_path, env)
    assert r.code == 75 and "no result file yet" in r.stderr
    # the download vanished before the run → later (a new attempt downloads it again)
    gone = {"uri": VIDEO_URI, "path": str(tmp_path / "gone"), "bytes": 5, "sha256": "0" * 64, "content_type": None}
    assert run_function("video.generated", video_doc("wh_2", gone), tmp_path, env).code == 75
    # a directory where the video should be → never works
    d = tmp_path / "adir"
    d.mkdir()
    as_dir = {**gone, "path": str(d)}
    assert run_function("video.generated", video_doc("wh_3", as_dir), tmp_path, env).code == 65
    # another size than the host downloaded → a failed attempt
    wrong = {**result_of(src, VIDEO_URI, "video/mp4"), "bytes": 99}
    r = run_function("video.generated", video_doc("wh_4", wrong), tmp_path, env)
    assert r.code == 1 and "the host downloaded 99" in r.stderr
    # no library configured → a failed attempt naming the setting
    r = run_function("video.generated", video_doc("wh_5", result_of(src, VIDEO_URI)), tmp_path)
    assert r.code == 1 and "VIDEO_LIBRARY_DIR" in r.stderr
    # the library cannot be written (a file in the way) → later
    blocker = tmp_path / "blocked"
    blocker.write_text("")
    r = run_function("video.generated", video_doc("wh_6", result_of(src, VIDEO_URI)), tmp_path,
                     {"VIDEO_LIBRARY_DIR": str(blocker)})
    assert r.code == 75 and "cannot file the video" in r.stderr
    assert not lib.exists() or not any(lib.rglob("*.mp4"))
