#!/usr/bin/env python3
"""Recovery time: restart on a spool with many remembered ids and unfinished deliveries.

Writes the spool once with hookhost-bench-spool (the real record encoder): --ids remembered ids in
all, of which --unfinished deliveries still to run and --finished done deliveries within retention;
the rest are ids remembered only for dedup (as compaction leaves them). Then, --runs times, copies
it into a fresh data dir, starts the host and times exec → /readyz answering 200, and reads the
host's "spool: recovered" line. Prints each run next to the read floor (time to read the log file
to /dev/null, page cache warm like the host's) and the host's RSS right after recovery.

    bench/recovery.py [--bin .build/release/hookhost] [--ids 1000000] [--unfinished 10000] [--finished 100000] [--runs 5]

Only 127.0.0.1; every wait is bounded."""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ROOT, free_port, ready, rss_mb  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build/release/hookhost"))
    ap.add_argument("--gen", default=os.path.join(ROOT, ".build/release/hookhost-bench-spool"))
    ap.add_argument("--ids", type=int, default=1_000_000)
    ap.add_argument("--unfinished", type=int, default=10_000)
    ap.add_argument("--finished", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    for b in (a.bin, a.gen):
        if not os.access(b, os.X_OK):
            print(f"{b} is not an executable (swift build -c release)", file=sys.stderr)
            return 2
    tmp = tempfile.mkdtemp(prefix="hookhost-recovery.")
    try:
        os.makedirs(f"{tmp}/pristine")
        os.makedirs(f"{tmp}/functions")
        t0 = time.monotonic()
        subprocess.run([a.gen, f"{tmp}/pristine", str(a.ids), str(a.unfinished), str(a.finished)], check=True)
        size = os.path.getsize(f"{tmp}/pristine/spool.log")
        print(f"spool: {a.ids} remembered ids ({a.unfinished} unfinished, {a.finished} done within retention), "
              f"{size / 1e6:.0f} MB, written in {time.monotonic() - t0:.1f} s")
        rows = []
        for run in range(a.runs):
            data = f"{tmp}/data{run}"
            os.makedirs(data)
            shutil.copy(f"{tmp}/pristine/spool.log", f"{data}/spool.log")
            t = time.monotonic()
            with open(f"{data}/spool.log", "rb") as f:
                while f.read(1 << 20):
                    pass
            floor = time.monotonic() - t
            port = free_port()
            log = open(f"{tmp}/host{run}.log", "wb")
            t = time.monotonic()
            p = subprocess.Popen([a.bin, "serve", "--listen", f"127.0.0.1:{port}", "--data", data, "--functions", f"{tmp}/functions",
                                  "--queue-max", str(a.unfinished + 1000)],
                                 env={"PATH": "/usr/bin:/bin", "HOOKHOST_SECRETS": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"},
                                 stdout=log, stderr=log)
            try:
                while not ready(port):
                    if p.poll() is not None or time.monotonic() - t > 120:
                        print(open(f"{tmp}/host{run}.log").read()[-2000:], file=sys.stderr)
                        return 1
                    time.sleep(0.005)
                took = time.monotonic() - t
                rss = rss_mb(p.pid)
            finally:
                p.terminate()
                try:
                    p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
            recovered = next((ln.strip() for ln in open(f"{tmp}/host{run}.log") if "spool: recovered" in ln), "(no recovered line)")
            rows.append((took, floor, rss, recovered))
            shutil.rmtree(data, ignore_errors=True)
        print(f"{'run':>4} {'start→ready s':>14} {'read floor s':>13} {'RSS MB':>8}")
        for i, (took, floor, rss, _) in enumerate(rows):
            print(f"{i + 1:>4} {took:>14.2f} {floor:>13.2f} {rss:>8.1f}")
        best = min(rows)
        print(f"best start→ready {best[0]:.2f} s (target ≤ 3 s), read floor {best[1]:.2f} s; the host's line:")
        print("  " + rows[-1][3][:300])
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
