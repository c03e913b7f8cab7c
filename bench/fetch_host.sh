#!/usr/bin/env bash
# A result download through the whole host, next to `curl -o` of the same file in the same run:
# a local file served on 127.0.0.1 (Tests/fetch/fetch_server.py, sendfile), a release host whose
# HOOKHOST_API_BASE points there, one signed video.generated delivery naming the file. Prints the
# host's download time (its `fetched` log line) and curl's, the ratio, and the host's peak RSS
# (VmHWM) — which must stay flat in the file size.
#
# Settings: BENCH_SIZE_MB (1024)  BENCH_RUNS (3, best of)  HOOKHOST_BIN (.build/release/hookhost)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MB=${BENCH_SIZE_MB:-1024}
RUNS=${BENCH_RUNS:-3}
BIN=${HOOKHOST_BIN:-.build/release/hookhost}
[[ $BIN = /* ]] || BIN=$ROOT/$BIN
[ -x "$BIN" ] || swift build -c release >&2
DIR=$(mktemp -d /tmp/hookhost-bench-fh.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do { kill -9 "$p"; wait "$p"; } 2>/dev/null || true; done; rm -rf "$DIR"; }
trap cleanup EXIT

FILE=$DIR/src.bin
head -c $((MB * 1048576)) /dev/urandom > "$FILE"
cat "$FILE" > /dev/null
python3 "$ROOT/Tests/fetch/fetch_server.py" "$DIR/ports" 1 --file "$FILE" & PIDS+=($!)
for _ in $(seq 100); do [ -s "$DIR/ports" ] && break; sleep 0.1; done
API=http://127.0.0.1:$(cat "$DIR/ports")
KEY=bench-key
SECRET=whsec_$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(24).hex()[:32].encode()).decode())')
mkdir -p "$DIR/fn"
printf '#!/bin/sh\ncat > /dev/null\n' > "$DIR/fn/video.generated"; chmod +x "$DIR/fn/video.generated"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HOOKHOST_SECRETS=$SECRET GEMINI_API_KEY=$KEY HOOKHOST_API_BASE=$API "$BIN" serve --listen "127.0.0.1:$PORT" \
  --data "$DIR/data" --functions "$DIR/fn" 2>"$DIR/host.log" & HOST=$!; PIDS+=($HOST)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.05; done

best() { sort -g | head -1; }
curl_s=(); host_ms=()
for i in $(seq "$RUNS"); do
  t0=$(date +%s.%N)
  curl -s -o "$DIR/curl.out" -H "x-goog-api-key: $KEY" "$API/download/v1beta/files/bigfile:download?alt=media"
  curl_s+=("$(echo "$(date +%s.%N) - $t0" | bc)")
  rm -f "$DIR/curl.out"
  "$BIN" send "http://127.0.0.1:$PORT/webhooks" --type video.generated --data '{"video_uri":"files/bigfile"}' \
    --secret "$SECRET" --id "fh-$i" >/dev/null
  for _ in $(seq 600); do grep '"msg":"fetched"' "$DIR/host.log" | grep -q "\"fh-$i\"" && break; sleep 0.1; done
  ms=$(grep "\"msg\":\"fetched\"" "$DIR/host.log" | grep "\"fh-$i\"" | sed "s/.*\"ms\":\([0-9]*\).*/\1/" | tail -1 || true)
  host_ms+=("${ms:-nan}")
done
C=$(printf '%s\n' "${curl_s[@]}" | best)
H=$(printf '%s\n' "${host_ms[@]}" | best)
RSS=$(awk '/^VmHWM/ {print $2}' "/proc/$HOST/status")
awk -v mb="$MB" -v c="$C" -v h="$H" -v rss="$RSS" 'BEGIN {
  printf "%-10s %14s %14s %7s %18s\n", "size", "curl MB/s", "hookhost MB/s", "ratio", "host peak RSS"
  printf "%-10s %14.0f %14.0f %7.2f %15.1f MB\n", mb " MB", mb / c, mb / (h / 1000), (mb / (h / 1000)) / (mb / c), rss / 1024 }'
echo "(best of $RUNS; hookhost's time is its fetched line: request to file renamed, SHA-256 included)"
