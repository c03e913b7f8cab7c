#!/usr/bin/env bash
# Deployment numbers (issue 10, Show), all in one run on this machine:
#   1. deliveries through nginx (container/nginx.conf) to 1 replica vs to 3 replicas
#      (on 2 shared cores this shows the balancer's and the replicas' overhead, not scaling)
#   2. HTTPS vs HTTP acknowledgements per second against one host (no balancer)
#   3. image size and container start-to-ready time (podman; skipped with a reason if unavailable)
#   4. the hand-over rate (issue 23): N unfinished deliveries (their function paused) handed from a
#      draining replica to a peer by `hookhost drain --handover`, directly and through nginx, in
#      deliveries/s (the peer's function is paused too, so it only stores them: the hand-over alone)
# wrk -t2 -c16 with distinct pre-signed deliveries (bench/deliveries.lua), fresh ids per run.
# The last lines print the balancer numbers and the hand-over rates side by side.
# Env: HOOKHOST_BIN (.build/release/hookhost), BENCH_DURATION (5 s), BENCH_CONNECTIONS (16),
#      BENCH_IMAGE (localhost/hookhost-test:e2e, made by Tests/e2e/test_container.py),
#      BENCH_HANDOVER_N (10000)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${BENCH_DURATION:-5}
CONNS=${BENCH_CONNECTIONS:-16}
N=$((DURATION * 40000))
BIN=${HOOKHOST_BIN:-.build/release/hookhost}
[[ $BIN = /* ]] || BIN=$ROOT/$BIN
[ -x "$BIN" ] || { echo "no hookhost at $BIN (swift build -c release, or set HOOKHOST_BIN)" >&2; exit 2; }
command -v wrk >/dev/null && command -v nginx >/dev/null || WITH_BENCH=1 scripts/install-deps.sh
TMP=$(mktemp -d /tmp/hookhost-deploy-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -z "${CTR:-}" ] || CONTAINERS_CONF=$ROOT/container/containers.conf podman rm -f -t 0 "$CTR" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ok() { for _ in $(seq 200); do curl -sk -o /dev/null -m 1 -f "$1" && return 0; sleep 0.05; done; echo "no answer at $1" >&2; return 1; }
HANDOVER_N=${BENCH_HANDOVER_N:-10000}
# Every host gets it: it only enables POST /hookhost/handover (and hand-over from the drain below).
export HOOKHOST_PEER_SECRET; HOOKHOST_PEER_SECRET=$(head -c 32 /dev/urandom | base64)
SUMMARY=()
# A balancer answers only the delivery path: GET there reaches a replica, which answers 405.
wait_code() { for _ in $(seq 200); do [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$1")" = "$2" ] && return 0; sleep 0.05; done; echo "no $2 at $1" >&2; return 1; }
SECRET=$(python3 -c 'import base64,secrets; print("whsec_"+base64.b64encode(secrets.token_bytes(32)).decode())')

# Both starters set PORT (not command substitution: a subshell would lose PIDS and hold the pipe).
start_host() { # NAME [extra serve args…]
  local name=$1; shift
  local port; port=$(free_port)
  mkdir -p "$TMP/$name/data" "$TMP/$name/functions"
  HOOKHOST_SECRETS=$SECRET "$BIN" serve --listen "127.0.0.1:$port" --data "$TMP/$name/data" \
    --functions "$TMP/$name/functions" --tolerance 3600 --log warn "$@" >/dev/null 2>"$TMP/$name.log" &
  PIDS+=($!)
  PORT=$port
}

start_nginx() { # NAME BACKEND-PORT…
  local name=$1; shift
  local port; port=$(free_port)
  mkdir -p "$TMP/$name/logs"
  python3 - "$ROOT/container/nginx.conf" "$TMP/$name/nginx.conf" "$port" "$@" <<'PY'
import re, sys
src, dst, port, *backends = sys.argv[1:]
conf = open(src).read()
upstream = "".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n" for p in backends)
conf = re.sub(r"(?m)^\s*server hookhost-\d:8080[^\n]*\n", "", conf)
conf = conf.replace("keepalive 64;", upstream + "        keepalive 64;")
conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{port};").replace("worker_processes auto;", "worker_processes 1;")
open(dst, "w").write(conf)
PY
  nginx -p "$TMP/$name" -c "$TMP/$name/nginx.conf" -g "daemon off; user root; pid $TMP/$name/nginx.pid; error_log $TMP/$name/logs/error.log;" >/dev/null 2>&1 &
  PIDS+=($!)
  PORT=$port
}

run() { # LABEL URL
  local file="$TMP/deliveries.$RANDOM.tsv"
  python3 bench/gen_deliveries.py "$N" "$SECRET" "$file" >/dev/null
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s bench/deliveries.lua "$2" -- "$file" 2 202 0 >"$TMP/wrk.out"
  local line; line=$(grep '^BENCH ' "$TMP/wrk.out" | tail -1)
  local rps; rps=$(awk '/^Requests\/sec/ {printf "%d", $2}' "$TMP/wrk.out")
  local p99; p99=$(awk '$1 == "99%" {print $2}' "$TMP/wrk.out")
  printf '%-34s %8s acks/s   p99 %-8s %s\n' "$1" "$rps" "$p99" "${line#BENCH }"
  case "$1" in nginx*) SUMMARY+=("$(printf '%-34s %8s acks/s' "$1" "$rps")") ;; esac
}

handover() { # LABEL PEER-URL: fills a fresh leaver with HANDOVER_N paused deliveries, drains it to PEER-URL
  local name=leaver$RANDOM file="$TMP/handover.$RANDOM.tsv"
  mkdir -p "$TMP/$name/data" "$TMP/$name/functions"
  printf '#!/bin/sh\ncat >/dev/null\n' >"$TMP/$name/functions/bench.handover"; chmod +x "$TMP/$name/functions/bench.handover"
  "$BIN" functions pause bench.handover --data "$TMP/$name/data" --functions "$TMP/$name/functions" >/dev/null
  start_host "$name"; local port=$PORT
  wait_ok "http://127.0.0.1:$port/healthz"
  python3 bench/gen_deliveries.py "$HANDOVER_N" "$SECRET" "$file" bench.handover >/dev/null
  python3 bench/fill.py "$file" "$port"
  local t0 t1; t0=$(date +%s%N)
  "$BIN" drain --handover "$2" --wait 0 --data "$TMP/$name/data" >"$TMP/$name.drain" 2>&1 \
    || { echo "drain failed:" >&2; tail -5 "$TMP/$name.drain" >&2; exit 1; }
  t1=$(date +%s%N)
  local ms=$(( (t1 - t0) / 1000000 )); [ "$ms" -gt 0 ] || ms=1
  local line; line=$(printf '%-34s %8d deliveries/s   (%d in %d ms)' "$1" $(( HANDOVER_N * 1000 / ms )) "$HANDOVER_N" "$ms")
  echo "$line"; SUMMARY+=("$line")
}

start_host r1; R1=$PORT; start_host r2; R2=$PORT; start_host r3; R3=$PORT
# The hand-over peer: its copy of the function is paused too, so it stores what it receives.
mkdir -p "$TMP/peer/data" "$TMP/peer/functions"
printf '#!/bin/sh\ncat >/dev/null\n' >"$TMP/peer/functions/bench.handover"; chmod +x "$TMP/peer/functions/bench.handover"
"$BIN" functions pause bench.handover --data "$TMP/peer/data" --functions "$TMP/peer/functions" >/dev/null
start_host peer; P1=$PORT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/tls.key" -out "$TMP/tls.crt" \
  -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
start_host tls --tls-cert "$TMP/tls.crt" --tls-key "$TMP/tls.key"; T1=$PORT
for p in "$R1" "$R2" "$R3" "$P1"; do wait_ok "http://127.0.0.1:$p/healthz"; done
wait_ok "https://127.0.0.1:$T1/healthz"
start_nginx lb1 "$R1"; N1=$PORT; start_nginx lb3 "$R1" "$R2" "$R3"; N3=$PORT; start_nginx lbp "$P1"; NP=$PORT
wait_code "http://127.0.0.1:$N1/webhooks" 405; wait_code "http://127.0.0.1:$N3/webhooks" 405; wait_code "http://127.0.0.1:$NP/webhooks" 405

echo "== $(nproc) cores, wrk -t2 -c$CONNS -d${DURATION}s, $(basename "$BIN") $(readlink -f "$BIN" | grep -o 'debug\|release')"
run "direct, 1 replica (HTTP)" "http://127.0.0.1:$R2/webhooks"
run "nginx -> 1 replica" "http://127.0.0.1:$N1/webhooks"
run "nginx -> 3 replicas" "http://127.0.0.1:$N3/webhooks"
run "direct, HTTPS (TLS 1.3, keep-alive)" "https://127.0.0.1:$T1/webhooks"
run "direct, HTTP (same run)" "http://127.0.0.1:$R3/webhooks"
handover "hand-over, direct to the peer" "http://127.0.0.1:$P1/hookhost/handover"
handover "hand-over, through nginx" "http://127.0.0.1:$NP/hookhost/handover"

export CONTAINERS_CONF=$ROOT/container/containers.conf
IMAGE=${BENCH_IMAGE:-localhost/hookhost-test:e2e}
if command -v podman >/dev/null && podman image exists "$IMAGE" 2>/dev/null; then
  size=$(podman image inspect "$IMAGE" --format '{{.Size}}')
  echo "image $IMAGE: $((size / 1000000)) MB"
  CTR=hookhost-bench-$$
  port=$(free_port)
  t0=$(date +%s%N)
  podman run -d --name "$CTR" -p "127.0.0.1:$port:8080" -e HOOKHOST_SECRETS="$SECRET" "$IMAGE" >/dev/null
  for _ in $(seq 600); do curl -s -o /dev/null -f -m 1 "http://127.0.0.1:$port/readyz" && break; sleep 0.01; done
  t1=$(date +%s%N)
  echo "container start-to-ready (podman run → /readyz 200): $(( (t1 - t0) / 1000000 )) ms"
  t0=$(date +%s%N); podman stop -t 10 "$CTR" >/dev/null; t1=$(date +%s%N)
  echo "container stop (SIGTERM → exited): $(( (t1 - t0) / 1000000 )) ms, exit code $(podman inspect "$CTR" --format '{{.State.ExitCode}}')"
else
  echo "image/container numbers skipped: no podman or no image $IMAGE (run Tests/e2e/test_container.py first)"
fi

echo "== side by side (nginx: acknowledgements; hand-over: $HANDOVER_N unfinished deliveries drained to a peer)"
printf '%s\n' "${SUMMARY[@]}"
