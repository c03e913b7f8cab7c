#!/usr/bin/env bash
# Result download throughput: a local file served on 127.0.0.1 (Tests/fetch/fetch_server.py,
# sendfile) fetched by `curl -o` and by hookhost's CurlFetcher (the hookhost-bench-fetch driver),
# alternating in the same run. Prints both throughputs side by side, their ratio, the fetcher's
# peak RSS at each size (it must stay flat in the file size), and checks the fetcher's SHA-256.
#
# Settings (environment):
#   BENCH_SIZES_MB ("100 1024")  file sizes; the ratio is taken at the largest
#   BENCH_RUNS (3)               runs per tool and size; the best of each is reported
#   BENCH_DIR (a temp dir)       where the file and the downloads go (same filesystem for both)
#   BENCH_KEEP=1                 keep BENCH_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SIZES=${BENCH_SIZES_MB:-"100 1024"}
RUNS=${BENCH_RUNS:-3}
DIR=${BENCH_DIR:-$(mktemp -d /tmp/hookhost-bench-fetch.XXXXXX)}
mkdir -p "$DIR"
SERVER_PID=

cleanup() {
  [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null || true
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$DIR"
}
trap cleanup EXIT

nice -n 10 swift build -c release --product hookhost-bench-fetch >/dev/null
BIN=$(swift build -c release --show-bin-path)/hookhost-bench-fetch

best() { sort -g | head -1; }

printf "%-8s %14s %14s %7s %16s\n" size curl_MB/s fetcher_MB/s ratio fetcher_peak_RSS
for MB in $SIZES; do
  FILE=$DIR/src-$MB.bin
  [ -f "$FILE" ] || head -c $((MB * 1048576)) /dev/urandom > "$FILE"
  cat "$FILE" > /dev/null  # into the page cache: measure the transfer, not the source disk
  rm -f "$DIR/ports"
  python3 "$ROOT/Tests/fetch/fetch_server.py" "$DIR/ports" 1 --file "$FILE" & SERVER_PID=$!
  for _ in $(seq 100); do [ -s "$DIR/ports" ] && break; sleep 0.1; done
  URL="http://127.0.0.1:$(cat "$DIR/ports")/download/v1beta/files/bigfile:download?alt=media"

  curl_times=() fetch_times=() rss=()
  for _ in $(seq "$RUNS"); do
    rm -rf "$DIR/out"; mkdir -p "$DIR/out"
    curl_times+=("$(curl -s -o "$DIR/out/curl.bin" -w '%{time_total}' "$URL")")
    rm -rf "$DIR/out"; mkdir -p "$DIR/out"
    line=$("$BIN" "$URL" "$DIR/out")
    fetch_times+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$line")")
    rss+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["peak_rss_kb"])' "$line")")
    sha=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sha256"])' "$line")
  done
  want=$(sha256sum "$FILE" | cut -d' ' -f1)
  [ "$sha" = "$want" ] || { echo "SHA-256 mismatch: fetcher $sha, file $want" >&2; exit 1; }
  ct=$(printf '%s\n' "${curl_times[@]}" | best)
  ft=$(printf '%s\n' "${fetch_times[@]}" | best)
  peak=$(printf '%s\n' "${rss[@]}" | sort -g | tail -1)
  python3 - "$MB" "$ct" "$ft" "$peak" <<'PY'
import sys
mb, ct, ft, rss = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print("%-8s %14.0f %14.0f %7.2f %13.1f MB" % ("%d MB" % mb, mb / ct, mb / ft, ct / ft, rss / 1024))
PY
  kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
  rm -rf "$DIR/out"
done
echo "(best of $RUNS runs each, alternating; ratio = fetcher/curl throughput; target ≥ 0.9, RSS < 40 MB and flat)"
