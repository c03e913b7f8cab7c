#!/usr/bin/env bash
# JWT-verified vs HMAC-verified deliveries/s, in the same run against the same host (release
# build, empty functions dir): wrk sends distinct HMAC deliveries and distinct JWT deliveries
# (bench/gen_jwt_deliveries.py; keys from a JWKS file) in alternating rounds — H, J, H, J … —
# so neither side always meets the larger index or a noisy moment. Prints both rates (all rounds
# of a side together), each round's, and JWT/HMAC (target ≥ 0.8).
# Last, the ceiling one RSA-2048 verify per delivery puts on that ratio at the measured HMAC rate.
#
# Settings: BENCH_THREADS (2) BENCH_CONNECTIONS (16) BENCH_DURATION (10 s per side, split over
#           BENCH_ROUNDS (2) rounds)
#           HOOKHOST_BIN (.build/release/hookhost)  PYTHON (.build/venv/bin/python: needs cryptography)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
THREADS=${BENCH_THREADS:-2}; CONNS=${BENCH_CONNECTIONS:-16}; DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-2}
SLICE=$(( (DURATION + ROUNDS - 1) / ROUNDS ))
N=$((SLICE * 60000))
PY=${PYTHON:-$ROOT/.build/venv/bin/python}
command -v wrk >/dev/null || WITH_BENCH=1 "$ROOT/scripts/install-deps.sh"
source "$ROOT/bench/lib.sh"
BIN=$(host_binary) || exit 2

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hookhost-jwtbench.XXXXXX")
HOST_PID=
cleanup() { [ -n "$HOST_PID" ] && kill "$HOST_PID" 2>/dev/null && wait "$HOST_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

SECRET=whsec_$(head -c 32 /dev/urandom | base64 | tr -d '\n')
echo "generating $N HMAC and $N JWT deliveries…" >&2
for r in $(seq "$ROUNDS"); do python3 "$ROOT/bench/gen_deliveries.py" "$N" "$SECRET" "$TMP/hmac.$r.tsv"; done
# JWT deliveries are made once with one key (and its JWKS), then cut into one file per round.
"$PY" "$ROOT/bench/gen_jwt_deliveries.py" "$((N * ROUNDS))" "$TMP/jwt.all.tsv" "$TMP/jwks.json"
split -n "l/$ROUNDS" -d -a 3 "$TMP/jwt.all.tsv" "$TMP/jwt.part."
for r in $(seq "$ROUNDS"); do mv "$TMP/jwt.part.$(printf '%03d' $((r - 1)))" "$TMP/jwt.$r.tsv"; done
rm -f "$TMP/jwt.all.tsv"
# The generated files are hundreds of MB of dirty page cache: the kernel writes them back ~30 s
# later, in the middle of a round, and every fdatasync then queues behind that (p99 of 50–110 ms
# in the last round, whichever side it was). Written back now, before anything is measured.
sync
mkdir -p "$TMP/functions" "$TMP/data"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The JWT deliveries reuse 500 tokens (signing one per delivery in Python would take minutes),
# which the host refuses by default (a token is good for one webhook-id): reuse is allowed here,
# so the replay memory (a SHA-256, a map entry and a ~100-byte spool record per token) is not measured.
HOOKHOST_SECRETS=$SECRET "$BIN" serve --listen "127.0.0.1:$PORT" --data "$TMP/data" --functions "$TMP/functions" \
  --jwks-file "$TMP/jwks.json" --jwt-allow-reuse true --log warn >"$TMP/host.log" 2>&1 &
HOST_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

run() {  # name file
  wrk -t"$THREADS" -c"$CONNS" -d"${SLICE}s" --latency -s "$ROOT/bench/deliveries.lua" \
    "http://127.0.0.1:$PORT/webhooks" -- "$2" "$THREADS" >"$TMP/wrk.$1.out"
  grep '^BENCH ' "$TMP/wrk.$1.out" | tail -n 1
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
HREQ=0; HUS=0; JREQ=0; JUS=0; ROWS=""
for r in $(seq "$ROUNDS"); do
  H=$(run "hmac$r" "$TMP/hmac.$r.tsv")
  J=$(run "jwt$r" "$TMP/jwt.$r.tsv")
  HREQ=$((HREQ + $(field "$H" requests))); HUS=$((HUS + $(field "$H" duration_us)))
  JREQ=$((JREQ + $(field "$J" requests))); JUS=$((JUS + $(field "$J" duration_us)))
  ROWS+="$(printf '%-14s %12s %12s' "  round $r" "$(field "$H" rps)" "$(field "$J" rps)")"$'\n'
done
HRPS=$(awk -v r="$HREQ" -v u="$HUS" 'BEGIN{printf "%.0f", r / (u / 1e6)}')
JRPS=$(awk -v r="$JREQ" -v u="$JUS" 'BEGIN{printf "%.0f", r / (u / 1e6)}')
printf '%-14s %12s %12s %12s\n' "" hmac jwt jwt/hmac
printf '%-14s %12s %12s %12s\n' "requests/s" "$HRPS" "$JRPS" "$(awk -v a="$HRPS" -v b="$JRPS" 'BEGIN{printf "%.2f", b/a}')"
printf '%s' "$ROWS"
printf '%-14s %12s %12s\n' "p50/p99 µs (last)" "$(field "$H" p50_us)/$(field "$H" p99_us)" "$(field "$J" p50_us)/$(field "$J" p99_us)"
printf '%-14s %12s %12s\n' "non-202" "$(field "$H" non202)" "$(field "$J" non202)"
printf '%-14s %12s %12s\n' "statuses" "$(field "$H" statuses)" "$(field "$J" statuses)"
# The ceiling RSA alone puts on the ratio: with the cores saturated (they are: wrk shares them), a
# JWT delivery costs an HMAC one's CPU plus one RSA-2048 verify, so JWT/HMAC ≤ 1 / (1 + verify ×
# HMAC rate / cores). The verify time is OpenSSL's own, measured now (`openssl speed`).
VERIFY_S=$(openssl speed -seconds 1 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ && $7 > 0 {printf "%.9f", 1 / $7}')
CORES=$(nproc)
if [ -n "$VERIFY_S" ]; then
  printf '%-14s %12s\n' "RSA verify" "$(awk -v v="$VERIFY_S" 'BEGIN{printf "%.1f µs", v * 1e6}') (openssl speed rsa2048, this machine, now)"
  printf '%-14s %12s\n' "ceiling" "$(awk -v v="$VERIFY_S" -v h="$HRPS" -v c="$CORES" 'BEGIN{printf "%.2f", 1 / (1 + v * h / c)}') (JWT/HMAC if the verify were a JWT delivery's only extra cost, $CORES cores)"
fi
