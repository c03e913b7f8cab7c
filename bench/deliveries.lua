-- wrk script: POSTs pre-signed deliveries (from bench/gen_deliveries.py) to the URL's path.
--   wrk -t2 -c16 -d10s --latency -s bench/deliveries.lua http://127.0.0.1:PORT/webhooks -- FILE THREADS
-- Thread k (0-based) sends lines k, k+THREADS, k+2*THREADS, ... so no webhook-id is sent twice in a run
-- unless a thread runs out of lines and starts over (counted as "wrapped"; its repeats answer 200 duplicate).
-- Every answer other than 202 is counted per status; done() prints one machine-readable BENCH line.

local threads = {}
local next_tid = 0

function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
   table.insert(threads, thread)
end

function init(args)
   local file, nthreads = args[1], tonumber(args[2])
   -- the answer every request should get: 202 (new deliveries) or 200 (a replay of the same file: duplicates)
   expect = tonumber(args[3]) or 202
   -- optional: use only the first LIMIT deliveries of this thread's slice (the ones an earlier run sent)
   local limit = tonumber(args[4])
   assert(file and nthreads, "usage: ... -- FILE THREADS")
   reqs, n, pos, wrapped, non202, statuses = {}, 0, 0, 0, 0, {}
   local i = 0
   for line in io.lines(file) do
      if i % nthreads == tid then
         local id, ts, sig, body = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t(.*)$")
         n = n + 1
         reqs[n] = wrk.format("POST", wrk.path, {
            ["Host"] = wrk.host,
            ["Content-Type"] = "application/json",
            ["webhook-id"] = id,
            ["webhook-timestamp"] = ts,
            ["webhook-signature"] = sig,
         }, body)
      end
      i = i + 1
   end
   if limit and limit > 0 and n > limit then n = limit end
   assert(n > 0, "no deliveries for thread " .. tid .. " in " .. file)
end

function request()
   pos = pos + 1
   if pos > n then
      pos = 1
      wrapped = wrapped + 1
   end
   return reqs[pos]
end

function response(status, headers, body)
   if status ~= expect then
      non202 = non202 + 1
      local k = tostring(status)
      statuses[k] = (statuses[k] or 0) + 1
   end
end

function done(summary, latency, requests)
   local non, wr, loaded, detail = 0, 0, 0, {}
   for _, t in ipairs(threads) do
      non = non + t:get("non202")
      wr = wr + t:get("wrapped")
      loaded = loaded + t:get("n")
      for k, v in pairs(t:get("statuses")) do detail[k] = (detail[k] or 0) + v end
   end
   local parts = {}
   for k, v in pairs(detail) do table.insert(parts, k .. ":" .. v) end
   table.sort(parts)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d rps=%.0f p50_us=%d p99_us=%d non202=%d statuses=%s wrapped=%d loaded=%d " ..
      "err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
      summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(99), non,
      (#parts > 0 and table.concat(parts, ",") or "-"), wr, loaded,
      e.connect, e.read, e.write, e.timeout))
end
