#!/usr/bin/env bash
# Steps per second of a 3-step chain of emitted events next to single deliveries per second, in one
# invocation: the same tiny handler (bench/functions/chain.c) is `bench.ping` (one step: the run
# ends) and `chain.step1` → `chain.step2` → `chain.step3` (each of the first two emits the next
# event through HOOKHOST_EMIT, committed durably with its `done`). Both sides run the same number of
# functions, each phase on a fresh host and data directory, alternating for BENCH_ROUNDS rounds.
# See bench/README.md ("Chains: steps per second").
#
# Settings (environment):
#   BENCH_CHAINS (4000)     chains per round: 3 x that many step runs; the single side gets as many
#                           deliveries as the chain side has steps
#   BENCH_ROUNDS (2)        single, chain, single, chain, …; the totals are over every round
#   BENCH_WORKERS (nproc)   HOOKHOST_WORKERS
#   BENCH_SENDERS (4)       connections the deliveries are sent over
#   HOOKHOST_BIN (.build/release/hookhost; built with `swift build -c release` when the default is missing)
#   BENCH_KEEP=1 keeps the temp dir (host logs, each phase's output)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CHAINS=${BENCH_CHAINS:-4000}
STEPS=3
SINGLES=$(( CHAINS * STEPS ))
ROUNDS=${BENCH_ROUNDS:-2}
WORKERS=${BENCH_WORKERS:-$(nproc)}
SENDERS=${BENCH_SENDERS:-4}
source "$ROOT/bench/lib.sh"
BIN=$(host_binary) || exit 2

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hookhost-chain.XXXXXX")
HOST_PID=
stop_host() {
  [ -n "$HOST_PID" ] || return 0
  kill "$HOST_PID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$HOST_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$HOST_PID" 2>/dev/null || true
  wait "$HOST_PID" 2>/dev/null || true
  HOST_PID=
}
cleanup() {
  stop_host
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { tr ' ' '\n' <"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }
sum_field() { local t=0 v; for f in "${@:2}"; do v=$(field "$f" "$1"); t=$(awk -v a="$t" -v b="$v" 'BEGIN { print a + b }'); done; echo "$t"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "-" }'; }
per_s() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }'; }

# One handler for every function (static: no dynamic loader, so a run costs what a spawn costs).
cc -O2 -static -o "$TMP/chain" "$ROOT/bench/functions/chain.c" 2>/dev/null \
  || cc -O2 -o "$TMP/chain" "$ROOT/bench/functions/chain.c"
mkdir -p "$TMP/functions"
for f in bench.ping chain.step1 chain.step2 chain.step3; do cp "$TMP/chain" "$TMP/functions/$f"; done

SECRET=whsec_$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(24).hex()[:32].encode()).decode())')
echo "generating $ROUNDS x ($SINGLES single + $CHAINS chain) signed deliveries…"
for r in $(seq "$ROUNDS"); do
  python3 "$ROOT/bench/gen_deliveries.py" "$SINGLES" "$SECRET" "$TMP/single.$r.tsv" bench.ping
  python3 "$ROOT/bench/gen_deliveries.py" "$CHAINS" "$SECRET" "$TMP/chain.$r.tsv" chain.step1
done
sync  # the generated files written back now, not by the kernel in the middle of a measured run

load=$(awk '{print $1}' /proc/loadavg)
if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
  echo "warning: load average $load before the run: something else is running, numbers will be noisy"
fi

# phase NAME ROUND DELIVERIES N STEPS FUNCTIONS: a fresh host, the deliveries sent, until N x STEPS runs finished.
phase() {
  local name=$1 r=$2 file=$3 n=$4 steps=$5 fns=$6
  local data="$TMP/data.$name.$r" log="$TMP/hookhost.$name.$r.log"
  local port admin
  port=$(free_port) admin=$(free_port)
  mkdir -p "$data"
  # /metrics on its own address (read twice), so rendering it never holds up the workers' records.
  HOOKHOST_SECRETS=$SECRET "$BIN" serve --listen "127.0.0.1:$port" --path /webhooks --data "$data" \
    --functions "$TMP/functions" --workers "$WORKERS" --log info --admin-listen "127.0.0.1:$admin" 2>"$log" &
  HOST_PID=$!
  for _ in $(seq 100); do curl -s -o /dev/null -m 1 "http://127.0.0.1:$admin/readyz" && break; sleep 0.05; done
  echo "=== round $r, $name: $n deliveries, $((n * steps)) function runs, $WORKERS workers"
  python3 "$ROOT/bench/functions/drive_chain.py" "http://127.0.0.1:$port" "http://127.0.0.1:$admin" "$log" /webhooks \
    "$fns" "$n" "$steps" "$file" "$SENDERS" $(( 60 + n * steps / 50 )) | tee "$TMP/$name.$r.out" || {
    echo "$name run incomplete; log tail:" >&2; tail -n 20 "$log" >&2; exit 1; }
  stop_host
}

for r in $(seq "$ROUNDS"); do
  phase single "$r" "$TMP/single.$r.tsv" "$SINGLES" 1 bench.ping
  phase chain "$r" "$TMP/chain.$r.tsv" "$CHAINS" "$STEPS" chain.step1,chain.step2,chain.step3
done

S=() C=()
for r in $(seq "$ROUNDS"); do S+=("$TMP/single.$r.out"); C+=("$TMP/chain.$r.out"); done
s_runs=$(sum_field steady_runs "${S[@]}") s_secs=$(sum_field seconds "${S[@]}")
c_runs=$(sum_field steady_runs "${C[@]}") c_secs=$(sum_field seconds "${C[@]}")
s_rps=$(per_s "$s_runs" "$s_secs") c_rps=$(per_s "$c_runs" "$c_secs")
echo
printf '%-34s %12s %14s %13s\n' "" "single" "3-step chain" "chain/single"
printf '%-34s %12s %14s %13s\n' "function runs/s (chain: steps/s)" "$s_rps" "$c_rps" "$(ratio "$s_rps" "$c_rps")"
printf '%-34s %12s %14s\n' "deliveries/s (chain: chains/s)" "$s_rps" "$(per_s "$c_runs" "$(awk -v s="$c_secs" -v k=$STEPS 'BEGIN { print s * k }')")"
for r in $(seq "$ROUNDS"); do
  printf '%-34s %12s %14s %13s\n' "  round $r runs/s" "$(field "$TMP/single.$r.out" rps)" "$(field "$TMP/chain.$r.out" rps)" \
    "$(ratio "$(field "$TMP/single.$r.out" rps)" "$(field "$TMP/chain.$r.out" rps)")"
done
printf '%-34s %12s %14s\n' "function runs per round" "$SINGLES" "$(( CHAINS * STEPS ))"
echo "(runs/s over the window after the ingest, queue never empty; the same static handler on both sides, $WORKERS workers;"
echo " a chain step's emitted event is committed with its done in one fdatasync'd record, a single run's done is not waited for)"
