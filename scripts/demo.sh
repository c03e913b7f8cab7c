#!/usr/bin/env bash
# One command from a fresh Debian 12 machine with Swift: installs the system packages, builds
# hookhost and the example functions, and runs `hookhost demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_TESTS=0 scripts/install-deps.sh  # the demo needs no test tools (no nginx, no podman)
echo "== building hookhost" >&2
swift build
echo "== building the example functions into Functions/bin" >&2
Functions/build.sh
exec .build/debug/hookhost demo --functions Functions/bin "$@"
