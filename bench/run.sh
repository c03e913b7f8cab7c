#!/usr/bin/env bash
# Throughput and latency of hookhost's acknowledgement path next to nginx answering a static 202,
# both driven by the same wrk script with distinct signed deliveries; nginx runs before and after
# hookhost (the machine drifts), its mean is the reference. A second reference, the durable floor
# (bench/durable_floor.c: one C thread that reads, appends, fdatasyncs and answers, nothing else),
# shows what this disk allows any server that answers only after the flush. See bench/README.md.
#
# Settings (environment):
#   BENCH_THREADS (2)  BENCH_CONNECTIONS (16)  BENCH_DURATION (10, seconds)
#   BENCH_DELIVERIES (200000 per second of duration: enough that no id repeats)
#   HOOKHOST_BIN (.build/release/hookhost; built with `swift build -c release` only when the default is missing)
#   BENCH_LOG (host log level, default: the host's default)   BENCH_KEEP=1 keeps the temp dir
#   BENCH_NGINX_ONLY=1  both runs against nginx: checks the harness itself, needs no hookhost binary
#   BENCH_FLOOR=0       leaves out the durable floor
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-16}
DURATION=${BENCH_DURATION:-10}
N=${BENCH_DELIVERIES:-$((DURATION * 200000))}
NGINX_ONLY=${BENCH_NGINX_ONLY:-0}
WITH_FLOOR=${BENCH_FLOOR:-1}
source "$ROOT/bench/lib.sh"

nginx_path() { command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; }; }
if ! command -v wrk >/dev/null || [ -z "$(nginx_path)" ]; then
  WITH_BENCH=1 "$ROOT/scripts/install-deps.sh"
fi
NGINX=$(nginx_path)

BIN=
if [ "$NGINX_ONLY" != 1 ]; then BIN=$(host_binary) || exit 2; fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hookhost-bench.XXXXXX")
PIDS=()
WRK_PID=
cleanup() {
  [ -z "$WRK_PID" ] || kill "$WRK_PID" 2>/dev/null || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_http() { # URL: bounded wait until it answers at all
  for _ in $(seq 100); do
    curl -s -o /dev/null -m 1 "$1" && return 0
    sleep 0.05
  done
  echo "nothing answers at $1" >&2
  return 1
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# CPU time (user + system, all threads) a process has used so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

# --- nginx: the reference, a static 202 ------------------------------------------------------------
NGINX_PORT=$(free_port)
mkdir -p "$TMP/nginx/logs"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location = /webhooks {
      default_type application/json;
      return 202 '{"status":"accepted"}';
    }
  }
}
EOF
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' 2>"$TMP/nginx/logs/stderr" &
PIDS+=($!)
wait_http "http://127.0.0.1:$NGINX_PORT/webhooks"

# --- the durable floor: append + fdatasync + 202, one C thread, on the same disk as hookhost's spool ---
FLOOR_PORT=
if [ "$WITH_FLOOR" = 1 ]; then
  cc -O2 -o "$TMP/durable_floor" "$ROOT/bench/durable_floor.c"
  FLOOR_PORT=$(free_port)
  mkdir -p "$TMP/floor"
  "$TMP/durable_floor" "$FLOOR_PORT" "$TMP/floor/log" 2>"$TMP/floor/stderr" &
  FLOOR_PID=$!
  PIDS+=("$FLOOR_PID")
  wait_http "http://127.0.0.1:$FLOOR_PORT/webhooks"
fi

# --- hookhost: a secret, no functions (every delivery is verified, spooled, acknowledged, skipped) ---
SECRET=whsec_$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(24).hex()[:32].encode()).decode())')
HOST_PORT=$(free_port)
if [ "$NGINX_ONLY" = 1 ]; then
  HOST_URL="http://127.0.0.1:$NGINX_PORT/webhooks"
  HOST_NAME="nginx(again)"
  HOST_PID=${PIDS[0]}
else
  mkdir -p "$TMP/functions" "$TMP/data"
  # timestamps are made once, before both runs: the tolerance covers both runs
  HOOKHOST_SECRETS=$SECRET "$BIN" serve --listen "127.0.0.1:$HOST_PORT" --path /webhooks \
    --data "$TMP/data" --functions "$TMP/functions" --tolerance $((300 + 3 * DURATION + 120)) \
    ${BENCH_LOG:+--log "$BENCH_LOG"} 2>"$TMP/hookhost.log" &
  HOST_PID=$!
  PIDS+=("$HOST_PID")
  HOST_URL="http://127.0.0.1:$HOST_PORT/webhooks"
  HOST_NAME=hookhost
  wait_http "http://127.0.0.1:$HOST_PORT/healthz"
fi

echo "generating $N signed deliveries…"
python3 "$ROOT/bench/gen_deliveries.py" "$N" "$SECRET" "$TMP/deliveries.tsv"
# Hundreds of MB of dirty page cache: written back now, not by the kernel ~30 s later in the
# middle of a measured run (hookhost's fdatasyncs would queue behind it).
sync

# sanity, so a broken signature setup fails loudly instead of benchmarking 401s: the file's last
# delivery must be accepted (a thread only reaches it after using up its slice), and the same
# signature under another id must be refused
if [ "$NGINX_ONLY" != 1 ]; then
  IFS=$'\t' read -r id ts sig body < <(tail -n 1 "$TMP/deliveries.tsv")
  probe() { curl -s -o "$TMP/probe.out" -w '%{http_code}' -X POST "$HOST_URL" -H 'Content-Type: application/json' \
    -H "webhook-id: $1" -H "webhook-timestamp: $ts" -H "webhook-signature: $sig" --data-binary "$body"; }
  for want in "202 $id" "401 probe-$id"; do
    code=$(probe "${want#* }")
    if [ "$code" != "${want%% *}" ]; then
      echo "probe ${want#* } answered $code, expected ${want%% *}: $(cat "$TMP/probe.out")" >&2
      exit 1
    fi
  done
fi

run_wrk() { # NAME URL [EXPECTED-STATUS] — in the background so a signal to this script interrupts the wait at once
  echo "=== $1: wrk -t$THREADS -c$CONNS -d${DURATION}s --latency $2"
  wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$ROOT/bench/deliveries.lua" "$2" \
    -- "$TMP/deliveries.tsv" "$THREADS" "${3:-202}" "${4:-0}" >"$TMP/wrk.$1.out" &
  WRK_PID=$!
  wait "$WRK_PID"
  WRK_PID=
  cat "$TMP/wrk.$1.out"
  grep '^BENCH ' "$TMP/wrk.$1.out" | tail -n 1 >"$TMP/bench.$1"
}

field() { # FILE KEY
  tr ' ' '\n' <"$1" | awk -F= -v k="$2" '$1 == k {print $2}'
}

sleep 1
busy_percent() { # CPU time not idle over 1 s, all cores
  read -r _ a1 a2 a3 a4 a5 a6 a7 _ </proc/stat; sleep 1
  read -r _ b1 b2 b3 b4 b5 b6 b7 _ </proc/stat
  local total=$(( (b1+b2+b3+b4+b5+b6+b7) - (a1+a2+a3+a4+a5+a6+a7) ))
  echo $(( total > 0 ? 100 * (total - (b4 - a4) - (b5 - a5)) / total : 0 ))
}
BUSY=$(busy_percent)
if [ "$BUSY" -gt 10 ]; then
  echo "warning: the CPU was ${BUSY}% busy before the run: something else is running, numbers will be noisy" >&2
fi
RSS_IDLE=$(rss_kb "$HOST_PID")
run_wrk nginx "http://127.0.0.1:$NGINX_PORT/webhooks"
if [ -n "$FLOOR_PORT" ]; then
  FLOOR_CPU0=$(cpu_ticks "$FLOOR_PID")
  run_wrk floor "http://127.0.0.1:$FLOOR_PORT/webhooks"
  FLOOR_CPU=$(( $(cpu_ticks "$FLOOR_PID") - FLOOR_CPU0 ))
fi
HOST_CPU0=$(cpu_ticks "$HOST_PID")
run_wrk host "$HOST_URL"
HOST_CPU=$(( $(cpu_ticks "$HOST_PID") - HOST_CPU0 ))
RSS_AFTER=$(rss_kb "$HOST_PID")
# The same deliveries again: every one is now a duplicate, so this measures HTTP + signature check +
# dedup lookup without the disk (the acknowledgement path of the foundation, before the spool).
if [ "$NGINX_ONLY" != 1 ]; then
  SENT=$(field "$TMP/bench.host" requests)
  # a quarter of what each thread could have sent: wrk threads do not share the work evenly
  run_wrk dup "$HOST_URL" 200 $(( SENT / THREADS / 4 ))
fi
# nginx again: the machine's speed drifts between runs (nginx alone moved 127k–187k req/s here),
# so the reference is the mean of one run before and one after hookhost's.
run_wrk nginx2 "http://127.0.0.1:$NGINX_PORT/webhooks"
QUEUE_AFTER=-
if [ "$NGINX_ONLY" != 1 ]; then
  QUEUE_AFTER=$(curl -s -m 2 "http://127.0.0.1:$HOST_PORT/metrics" | awk '/^hookhost_queue_depth/ {print $2}')
fi
sleep 2
RSS_SETTLED=$(rss_kb "$HOST_PID")

A=$TMP/bench.nginx B=$TMP/bench.host
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "-" }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.3f ms", u / 1000 }'; }
# The reference rate: the mean of nginx before and after (both printed); latencies from the first.
N1=$(field "$A" rps) N2=$(field "$TMP/bench.nginx2" rps)
NGINX_RPS=$(awk -v a="$N1" -v b="$N2" 'BEGIN { printf "%.0f", (a + b) / 2 }')
sed -i "s/ rps=[0-9.]* / rps=$NGINX_RPS /" "$A"
echo
echo "nginx before / after hookhost's runs: $N1 / $N2 req/s; the reference below is their mean"

echo
printf '%-22s %14s %14s %16s\n' "" nginx "$HOST_NAME" "$HOST_NAME/nginx"
printf '%-22s %14s %14s %16s\n' "requests/s" "$(field "$A" rps)" "$(field "$B" rps)" "$(ratio "$(field "$A" rps)" "$(field "$B" rps)")"
printf '%-22s %14s %14s %16s\n' "latency p50" "$(ms "$(field "$A" p50_us)")" "$(ms "$(field "$B" p50_us)")" "$(ratio "$(field "$A" p50_us)" "$(field "$B" p50_us)")"
printf '%-22s %14s %14s %16s\n' "latency p99" "$(ms "$(field "$A" p99_us)")" "$(ms "$(field "$B" p99_us)")" "$(ratio "$(field "$A" p99_us)" "$(field "$B" p99_us)")"
printf '%-22s %14s %14s\n' "requests" "$(field "$A" requests)" "$(field "$B" requests)"
printf '%-22s %14s %14s\n' "non-202 answers" "$(field "$A" non202)" "$(field "$B" non202)"
printf '%-22s %14s %14s\n' "  by status" "$(field "$A" statuses)" "$(field "$B" statuses)"
printf '%-22s %14s %14s\n' "socket errors" \
  "$(( $(field "$A" err_connect) + $(field "$A" err_read) + $(field "$A" err_write) + $(field "$A" err_timeout) ))" \
  "$(( $(field "$B" err_connect) + $(field "$B" err_read) + $(field "$B" err_write) + $(field "$B" err_timeout) ))"
printf '%-22s %14s %14s\n' "ids reused (wrapped)" "$(field "$A" wrapped)" "$(field "$B" wrapped)"
if [ -n "$FLOOR_PORT" ]; then
  D=$TMP/bench.floor
  echo
  echo "durable floor (one C thread: read, append, fdatasync per loop turn, 202; no verification, no dedup, no index):"
  printf '%-22s %14s %14s %14s %16s\n' "" nginx "durable floor" "$HOST_NAME" "$HOST_NAME/floor"
  printf '%-22s %14s %14s %14s %16s\n' "requests/s" "$(field "$A" rps)" "$(field "$D" rps)" "$(field "$B" rps)" "$(ratio "$(field "$D" rps)" "$(field "$B" rps)")"
  printf '%-22s %14s %14s %14s\n' "latency p50" "$(ms "$(field "$A" p50_us)")" "$(ms "$(field "$D" p50_us)")" "$(ms "$(field "$B" p50_us)")"
  printf '%-22s %14s %14s %14s\n' "latency p99" "$(ms "$(field "$A" p99_us)")" "$(ms "$(field "$D" p99_us)")" "$(ms "$(field "$B" p99_us)")"
  printf '%-22s %14s %14s\n' "floor/nginx" "" "$(ratio "$(field "$A" rps)" "$(field "$D" rps)")"
  # the server's own CPU (all its threads, user + system) per request answered; wrk's is not counted
  per_request_us() { awk -v t="$1" -v hz="$TICK" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f µs", t / hz * 1e6 / n; else print "-" }'; }
  printf '%-22s %14s %14s %14s\n' "CPU per request" "" "$(per_request_us "$FLOOR_CPU" "$(field "$D" requests)")" \
    "$(per_request_us "$HOST_CPU" "$(field "$B" requests)")"
  # must be 0 for the floor's rate to mean anything (it drops a connection it cannot parse)
  printf '%-22s %14s %14s\n' "non-202, socket errors" "" \
    "$(field "$D" non202), $(( $(field "$D" err_connect) + $(field "$D" err_read) + $(field "$D" err_write) + $(field "$D" err_timeout) ))"
  kill -0 "$FLOOR_PID" 2>/dev/null || { echo "the durable floor died during the run:" >&2; cat "$TMP/floor/stderr" >&2; }
fi
if [ "$NGINX_ONLY" != 1 ]; then
  C=$TMP/bench.dup
  echo
  echo "verify only (same deliveries again: signature + dedup, answered 200 duplicate, no disk write):"
  printf '%-22s %14s %14s %16s\n' "requests/s" "$(field "$A" rps)" "$(field "$C" rps)" "$(ratio "$(field "$A" rps)" "$(field "$C" rps)")"
  printf '%-22s %14s %14s\n' "latency p50" "$(ms "$(field "$A" p50_us)")" "$(ms "$(field "$C" p50_us)")"
  printf '%-22s %14s %14s\n' "latency p99" "$(ms "$(field "$A" p99_us)")" "$(ms "$(field "$C" p99_us)")"
  printf '%-22s %14s %14s\n' "non-200 answers" "-" "$(field "$C" non202)"
fi
echo
echo "$HOST_NAME RSS: idle $((RSS_IDLE / 1024)) MB, right after the run $((RSS_AFTER / 1024)) MB, 2 s later $((RSS_SETTLED / 1024)) MB"
[ "$NGINX_ONLY" = 1 ] || echo "hookhost queue depth right after the run: ${QUEUE_AFTER:-?} unfinished deliveries (503s start at HOOKHOST_QUEUE_MAX)"
echo "($THREADS wrk threads, $CONNS connections, ${DURATION}s each, $N distinct deliveries; wrk shares the cores with the server)"
if [ "$(field "$B" wrapped)" != 0 ]; then
  echo "warning: a wrk thread ran out of deliveries and reused ids; raise BENCH_DELIVERIES" >&2
fi
if [ "$NGINX_ONLY" != 1 ] && ! kill -0 "$HOST_PID" 2>/dev/null; then
  echo "hookhost died during the run; log tail:" >&2
  tail -n 20 "$TMP/hookhost.log" >&2
  exit 1
fi
