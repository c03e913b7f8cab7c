#!/usr/bin/env bash
# Builds the example functions in release mode and installs them under their event-type names:
#   ./build.sh            → Functions/bin/
#   ./build.sh DIR        → DIR (e.g. the directory HOOKHOST_FUNCTIONS points at)
# Extra `swift build` flags come from SWIFT_BUILD_FLAGS, e.g. "--static-swift-stdlib" for a container.
# Safe to re-run, also while hookhost is serving from DIR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-"$here/bin"}

# Swift executable target → event type it handles.
swift_functions=(
    "batch-succeeded:batch.succeeded"
    "video-generated:video.generated"
    "interaction:interaction"
    "batch-retry:app.batch.retry"
    "interaction-requires-action:interaction.requires_action"
    # Routes: the batch handler again, chosen by user_metadata.job_group (see their sidecars).
    "batch-succeeded:nightly-eval"
    "batch-succeeded:backfill"
)

# Copy to a temporary name in DIR, then rename: hookhost picks functions up while running, so it
# must never see a half-written file, and overwriting a binary that is executing fails (ETXTBSY).
install_file() { # source name mode
    local tmp="$dest/.$2.tmp.$$"
    cp "$1" "$tmp"
    chmod "$3" "$tmp"
    mv -f "$tmp" "$dest/$2"
    echo "  $2  ← ${1#"$here/"}"
}

echo "==> building functions (release)"
# shellcheck disable=SC2086 # SWIFT_BUILD_FLAGS is a list of flags
swift build -c release --package-path "$here" ${SWIFT_BUILD_FLAGS:-}
# shellcheck disable=SC2086
products=$(swift build -c release --package-path "$here" ${SWIFT_BUILD_FLAGS:-} --show-bin-path)

mkdir -p "$dest"
echo "==> installing into $dest"

# Sidecars first, so a function never runs without the settings meant for it.
for sidecar in "$here"/scripts/*.json; do
    [ -e "$sidecar" ] || continue
    install_file "$sidecar" "$(basename "$sidecar")" 644
done

for entry in "${swift_functions[@]}"; do
    target=${entry%%:*}
    name=${entry#*:}
    if [ ! -x "$products/$target" ]; then
        echo "error: built product $products/$target not found" >&2
        exit 1
    fi
    install_file "$products/$target" "$name" 755
done

for script in "$here"/scripts/*.sh; do
    [ -e "$script" ] || continue
    install_file "$script" "$(basename "$script" .sh)" 755
done

echo "==> done: $(find "$dest" -maxdepth 1 -type f ! -name '.*' | wc -l) files in $dest"
