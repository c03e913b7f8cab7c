#!/usr/bin/env bash
# Runs every test: Swift unit tests, then the example functions' build, then the end-to-end suite
# against the real binary (and the examples).
# Usage: scripts/test.sh            (installs system packages when missing; needs root or sudo)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "== swift build" >&2
swift build
echo "== swift test (unit)" >&2
swift test
echo "== example functions (Functions/build.sh)" >&2
# Built before the e2e run: Tests/e2e/test_example_*.py run them (HOOKHOST_EXAMPLES makes a missing
# build a failure there, not a skip).
Functions/build.sh
export HOOKHOST_EXAMPLES="$PWD/Functions/bin"
echo "== end-to-end (pytest)" >&2
if [ ! -x .build/venv/bin/pytest ]; then
  python3 -m venv .build/venv
fi
# Every run: a venv made before a requirement was added gets it (pip does nothing when all are there).
.build/venv/bin/pip install -q -r Tests/e2e/requirements.txt
# -rs: every skip prints its reason; no -x: the closing line counts what passed, failed and skipped
HOOKHOST_BIN="$PWD/.build/debug/hookhost" .build/venv/bin/pytest -q -rs Tests/e2e "$@"
