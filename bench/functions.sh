#!/usr/bin/env bash
# Functions completed per second: hookhost running a tiny handler for every delivery, next to the
# spawn floor (a bare posix_spawn + stdin pipe + waitpid loop of the same handler, at the same
# concurrency), in one invocation, printed side by side with the ratio. A second reference, the
# contract floor, adds to each run of the same loop what hookhost's promises cost whatever the
# implementation: a durable record before the spawn, a scratch directory, an outcome record. Also
# the ack latency of deliveries sent while the functions run. Then, on a fresh host, the same number
# of runs under flow control: BENCH_KEYS job groups (bursts of one group after another) with one
# run per group at a time (`concurrency`), printed next to the plain rate. See bench/README.md
# ("Functions per second").
#
# Settings (environment):
#   BENCH_RUNS (20000)      deliveries sent to hookhost, and runs of the spawn floor
#   BENCH_WORKERS (nproc)   HOOKHOST_WORKERS, and the floor's concurrency
#   BENCH_PROBE_RATE (100)  acks timed per second while the functions run
#   BENCH_SENDERS (4)       connections the deliveries are sent over
#   BENCH_KEYS (1000)       job groups of the flow-control run (0 skips it)
#   HOOKHOST_BIN (.build/release/hookhost; built with `swift build -c release` when the default is missing)
#   BENCH_LOG (host log level: info — the default — or debug: finished runs are counted from its lines)   BENCH_KEEP=1 keeps the temp dir   BENCH_HOST_ONLY=1 skips the floor
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

RUNS=${BENCH_RUNS:-20000}
WORKERS=${BENCH_WORKERS:-$(nproc)}
PROBE_RATE=${BENCH_PROBE_RATE:-100}
SENDERS=${BENCH_SENDERS:-4}
KEYS=${BENCH_KEYS:-1000}
source "$ROOT/bench/lib.sh"
BIN=$(host_binary) || exit 2

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hookhost-fbench.XXXXXX")
HOST_PID=
cleanup() {
  if [ -n "$HOST_PID" ]; then
    kill "$HOST_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$HOST_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$HOST_PID" 2>/dev/null || true
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The handler (static: no dynamic loader, so a run costs what a spawn costs) and the floor.
cc -O2 -static -o "$TMP/handler" "$ROOT/bench/functions/handler.c" 2>/dev/null \
  || cc -O2 -o "$TMP/handler" "$ROOT/bench/functions/handler.c"
cc -O2 -pthread -o "$TMP/spawn_floor" "$ROOT/bench/functions/spawn_floor.c"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { tr ' ' '\n' <"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "-" }'; }
ms() { awk -v u="$1" 'BEGIN { if (u < 0) print "-"; else printf "%.2f ms", u / 1000 }'; }

SECRET=whsec_$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(24).hex()[:32].encode()).decode())')
echo "generating $RUNS signed deliveries (+ probes)…"
python3 "$ROOT/bench/gen_deliveries.py" "$RUNS" "$SECRET" "$TMP/deliveries.tsv" bench.ping
python3 "$ROOT/bench/gen_deliveries.py" $(( RUNS / 10 + 1000 )) "$SECRET" "$TMP/probes.tsv" probe.ping
[ "$KEYS" -le 0 ] || python3 "$ROOT/bench/gen_deliveries.py" "$RUNS" "$SECRET" "$TMP/keyed.tsv" bench.keyed "$KEYS"

# The floor feeds a document of the size hookhost hands the function for these deliveries.
python3 - "$TMP/stdin.json" <<'PY'
import json, sys
body = {"type": "bench.ping", "version": "v1", "timestamp": "2026-05-04T12:00:00Z", "data": {"id": "batches/b12345"}}
doc = {"id": "bench_0123abcd_00012345", "attempt": 1, "received_at": "2026-12-02T01:02:03.456Z", "verified_by": "hmac",
       "type": "bench.ping", "event": body, "user_metadata": None, "result": None}
open(sys.argv[1], "w").write(json.dumps(doc, separators=(",", ":")) + "\n")
PY
sync  # the generated files written back now, not by the kernel in the middle of a measured run

# --- the spawn floor ---------------------------------------------------------------------------
if [ "${BENCH_HOST_ONLY:-0}" != 1 ]; then
  echo "=== spawn floor: $RUNS runs, $WORKERS at once"
  "$TMP/spawn_floor" "$TMP/handler" "$RUNS" "$WORKERS" "$TMP/stdin.json" | tee "$TMP/floor.out"
  echo "=== contract floor: the same, plus a fdatasync'd record before each spawn, a scratch dir, an outcome record"
  mkdir -p "$TMP/contract"
  "$TMP/spawn_floor" "$TMP/handler" "$RUNS" "$WORKERS" "$TMP/stdin.json" "$TMP/contract" | tee "$TMP/contract.out"
  rm -rf "$TMP/contract"
else
  echo "FLOOR rps=0" >"$TMP/floor.out"
  echo "CONTRACT rps=0" >"$TMP/contract.out"
fi

# --- hookhost: the handler installed for bench.ping ------------------------------------------
mkdir -p "$TMP/functions" "$TMP/data"
cp "$TMP/handler" "$TMP/functions/bench.ping"
# The same handler under flow control: one run per job group at a time.
cp "$TMP/handler" "$TMP/functions/bench.keyed"
echo '{"concurrency": {"key": "user_metadata.job_group", "limit": 1}}' >"$TMP/functions/bench.keyed.json"
# Starts a host on a fresh data directory ($1), logging to $TMP/hookhost.log.
start_host() {
  mkdir -p "$1"
  PORT=$(free_port) ADMIN_PORT=$(free_port)
  # /metrics on its own address (read twice), so rendering it never holds up a timed ack's loop.
  HOOKHOST_SECRETS=$SECRET "$BIN" serve --listen "127.0.0.1:$PORT" --path /webhooks --data "$1" \
    --functions "$TMP/functions" --workers "$WORKERS" --log "${BENCH_LOG:-info}" --admin-listen "127.0.0.1:$ADMIN_PORT" \
    2>"$TMP/hookhost.log" &
  HOST_PID=$!
  for _ in $(seq 100); do curl -s -o /dev/null -m 1 "http://127.0.0.1:$ADMIN_PORT/readyz" && break; sleep 0.05; done
}
# The host's CPU time so far, in µs per delivery of the run ($1 deliveries): ingest and run,
# steadier than functions/s on a machine others share.
host_cpu_us() {
  awk -v tck="$(getconf CLK_TCK)" -v n="$1" '{ printf "%.0f", ($14 + $15) / tck * 1e6 / n }' "/proc/$HOST_PID/stat"
}
stop_host() {
  kill "$HOST_PID" 2>/dev/null || true
  wait "$HOST_PID" 2>/dev/null || true
  HOST_PID=
}
start_host "$TMP/data"
echo "=== hookhost: $RUNS deliveries of bench.ping over $SENDERS connections, $WORKERS workers; acks timed at $PROBE_RATE/s meanwhile"
python3 "$ROOT/bench/functions/drive_host.py" "http://127.0.0.1:$PORT" "http://127.0.0.1:$ADMIN_PORT" "$TMP/hookhost.log" /webhooks bench.ping "$RUNS" \
  "$TMP/deliveries.tsv" "$TMP/probes.tsv" "$PROBE_RATE" "$SENDERS" $(( 60 + RUNS / 50 )) | tee "$TMP/host.out" || {
  echo "hookhost run incomplete; log tail:" >&2; tail -n 20 "$TMP/hookhost.log" >&2; exit 1; }
PLAIN_CPU=$(host_cpu_us "$RUNS")
if [ "$KEYS" -gt 0 ]; then
  # A fresh host and spool: both runs start from the same state.
  stop_host
  start_host "$TMP/data-keyed"
  echo "=== hookhost, flow control: $RUNS deliveries of bench.keyed, $KEYS job groups in bursts, concurrency limit 1 per group"
  python3 "$ROOT/bench/functions/drive_host.py" "http://127.0.0.1:$PORT" "http://127.0.0.1:$ADMIN_PORT" "$TMP/hookhost.log" /webhooks bench.keyed "$RUNS" \
    "$TMP/keyed.tsv" "$TMP/probes.tsv" "$PROBE_RATE" "$SENDERS" $(( 60 + RUNS / 50 )) | tee "$TMP/keyed.out" || {
    echo "hookhost flow-control run incomplete; log tail:" >&2; tail -n 20 "$TMP/hookhost.log" >&2; exit 1; }
  KEYED_CPU=$(host_cpu_us "$RUNS")
else
  echo "HOST rps=0" >"$TMP/keyed.out"
fi

F=$TMP/floor.out C=$TMP/contract.out H=$TMP/host.out K=$TMP/keyed.out
echo
printf '%-30s %12s %12s %10s\n' "" "spawn floor" hookhost ratio
printf '%-30s %12s %12s %10s\n' "functions/s ($WORKERS at once)" "$(field "$F" rps)" "$(field "$H" rps)" "$(ratio "$(field "$F" rps)" "$(field "$H" rps)")"
printf '%-30s %12s %12s %10s\n' "  contract floor instead" "$(field "$C" rps)" "$(field "$H" rps)" "$(ratio "$(field "$C" rps)" "$(field "$H" rps)")"
printf '%-30s %12s %12s\n' "  incl. the ingest" "" "$(field "$H" total_rps)"
printf '%-30s %12s %12s\n' "ack p50 while functions run" "" "$(ms "$(field "$H" ack_p50_us)")"
printf '%-30s %12s %12s\n' "ack p99 while functions run" "" "$(ms "$(field "$H" ack_p99_us)")"
printf '%-30s %12s %12s\n' "acks timed" "" "$(field "$H" probes)"
if [ "$KEYS" -gt 0 ]; then
  echo
  printf '%-30s %12s %12s %10s\n' "" plain "$KEYS keys" ratio
  printf '%-30s %12s %12s %10s\n' "hookhost functions/s" "$(field "$H" rps)" "$(field "$K" rps)" "$(ratio "$(field "$H" rps)" "$(field "$K" rps)")"
  printf '%-30s %12s %12s\n' "ack p99 while functions run" "$(ms "$(field "$H" ack_p99_us)")" "$(ms "$(field "$K" ack_p99_us)")"
  printf '%-30s %12s %12s %10s\n' "host CPU µs per delivery" "$PLAIN_CPU" "$KEYED_CPU" "$(ratio "$PLAIN_CPU" "$KEYED_CPU")"
  echo "(flow control: the same handler, concurrency {key: user_metadata.job_group, limit: 1}, deliveries in bursts of one group, a fresh host;"
  echo " the machine's load moves either figure by ±20 %: compare several runs)"
fi
echo "(hookhost's rate is over the window after the ingest, queue never empty; the floor is posix_spawn + stdin pipe + waitpid, same handler;"
echo " the contract floor adds, per run, a fdatasync'd record before the spawn, mkdir/rmdir of a scratch dir, an unsynced outcome record)"
