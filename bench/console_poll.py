#!/usr/bin/env python3
"""Acknowledgements per second with and without open consoles: a host over a spool of N deliveries
(written by hookhost-bench-spool), wrk sending signed deliveries for 8 s, then again while POLLERS
threads each ask what one open console page asks once a second ("filtered": each console its own filter, so no two share an answer). Prints both rates and how the
polls were answered (200 / 503).

usage: bench/console_poll.py HOOKHOST_BIN [N=200000] [deliveries|filtered|overview|functions|dead] [POLLERS=50]
(needs wrk; the hookhost-bench-spool binary next to HOOKHOST_BIN, which `swift build` makes)"""
import os, subprocess, sys, tempfile, threading, time, http.client, re, json, base64
BIN = sys.argv[1]; N = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
MODE = sys.argv[3] if len(sys.argv) > 3 else "deliveries"
POLLERS = int(sys.argv[4]) if len(sys.argv) > 4 else 50
root = tempfile.mkdtemp(prefix="h22load")
data, fns = os.path.join(root, "data"), os.path.join(root, "fns"); os.makedirs(data); os.makedirs(fns)
secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
bench = os.path.join(os.path.dirname(BIN), "hookhost-bench-spool")
if N: subprocess.run([bench, data, str(N), "0", str(N)], check=True, stdout=subprocess.DEVNULL)
import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
env = {"PATH": os.environ["PATH"], "HOME": root, "HOOKHOST_SECRETS": secret, "HOOKHOST_CONSOLE": "main", "HOOKHOST_API_BASE": "http://127.0.0.1:9"}
log = open(os.path.join(root, "host.log"), "wb")
p = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--path", "/webhooks", "--data", data, "--functions", fns, "--workers", "2"], env=env, stdout=log, stderr=log)
def get(path, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout); c.request("GET", path); r = c.getresponse(); b = r.read(); c.close(); return r.status, b
for _ in range(200):
    try:
        if get("/healthz")[0] == 200: break
    except OSError: pass
    time.sleep(0.05)
repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
files = []
for k in range(2):
    f = os.path.join(root, f"d{k}.tsv"); subprocess.run(["python3", f"{repo}/bench/gen_deliveries.py", "60000", secret, f], check=True); files.append(f)
def wrk(f):
    out = subprocess.run(["wrk", "-t1", "-c8", "-d8s", "-s", f"{repo}/bench/deliveries.lua", f"http://127.0.0.1:{port}/webhooks", "--", f, "1"], capture_output=True, text=True).stdout
    m = re.search(r"Requests/sec:\s*([\d.]+)", out); bl = [l for l in out.splitlines() if "BENCH" in l or "Non-2xx" in l or "Latency" in l]
    return float(m.group(1)) if m else None, bl
base, bl = wrk(files[0]); print("baseline acks/s", base, bl, flush=True)
stop = threading.Event(); stats = {"ok": 0, "503": 0, "other": 0, "max": 0.0, "lat": []}
lock = threading.Lock()
paths = {"deliveries": ["/console/api/deliveries?limit=50"], "filtered": ["/console/api/deliveries?limit=50&since={i}"], "overview": ["/console/api/status", "/console/api/samples"],
         "functions": ["/console/api/functions"], "dead": ["/console/api/dead"]}[MODE]
def poller(i):
    time.sleep(i * 1.0 / POLLERS)
    while not stop.is_set():
        t0 = time.monotonic()
        for path in paths:
            try:
                st, _ = get(path.replace("{i}", str(i)))
            except Exception as e:
                st = -1
            dt = time.monotonic() - t0
            with lock:
                stats["ok" if st == 200 else "503" if st == 503 else "other"] += 1; stats["lat"].append(dt)
        time.sleep(max(0, 1.0 - (time.monotonic() - t0)))
ts = [threading.Thread(target=poller, args=(i,), daemon=True) for i in range(POLLERS)]
for t in ts: t.start()
time.sleep(1.5)
loaded, bl2 = wrk(files[1]); print(f"with {POLLERS} consoles polling {MODE}: acks/s", loaded, bl2, flush=True)
stop.set(); [t.join() for t in ts]
lat = sorted(stats["lat"]); print("poll answers:", {k: stats[k] for k in ("ok", "503", "other")}, "p50 %.3f p99 %.3f" % (lat[len(lat)//2], lat[int(len(lat)*.99)]) if lat else "")
p.terminate(); p.wait()
