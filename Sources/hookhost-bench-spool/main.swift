// hookhost-bench-spool DIR IDS UNFINISHED FINISHED — internal benchmark driver for
// bench/recovery.sh, not shipped in the container: writes DIR/spool.log in the real log format
// (`SpoolRecord.encoded()`, the code the host writes with), as a long-running host's log looks
// after compaction: ids remembered only for dedup as `.seen` records, FINISHED deliveries with
// their `done` record, UNFINISHED deliveries still received. IDS counts every id (all three kinds).
import Glibc
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

func fail(_ message: String, _ code: Int32) -> Never {
    let line = Array((message + "\n").utf8)
    _ = write(2, line, line.count)
    exit(code)
}

let args = CommandLine.arguments
guard args.count == 5, let ids = Int(args[2]), let unfinished = Int(args[3]), let finished = Int(args[4]),
      unfinished + finished <= ids else {
    fail("usage: hookhost-bench-spool DIR IDS UNFINISHED FINISHED", 2)
}
guard let out = fopen(args[1] + "/spool.log", "w") else { fail("cannot create \(args[1])/spool.log", 1) }
var tv = timeval()
gettimeofday(&tv, nil)
let now = Double(tv.tv_sec) + Double(tv.tv_usec) / 1e6
// Standard Webhooks style ids ("msg_" + 27 characters).
func id(_ i: Int) -> String {
    let digits = String(i)
    return "msg_bench" + String(repeating: "0", count: 22 - digits.count) + digits
}
func put(_ r: SpoolRecord) {
    let b = r.encoded()
    _ = fwrite(b, 1, b.count, out)
}
let body = Array(#"{"type":"bench.ping","version":"v1","timestamp":"2026-05-04T12:00:00Z","data":{"id":"batches/b1"}}"#.utf8)
let seenOnly = ids - unfinished - finished
for i in 0..<seenOnly { put(.seen(id: id(i), at: now - 3600 + Double(i) * 1e-3)) }
for i in seenOnly..<(seenOnly + finished) {
    let at = now - 1800 + Double(i) * 1e-3
    put(.delivery(id: id(i), type: "bench.ping", receivedAt: at, verifiedBy: .hmac, body: body))
    var s = StateChange(id: id(i), state: .done, attempt: 1, at: at + 0.01, function: "bench", exitCode: 0, durationMs: 3)
    s.attemptBase = 0
    put(.state(s))
}
for i in (seenOnly + finished)..<ids {
    put(.delivery(id: id(i), type: "bench.ping", receivedAt: now - 60 + Double(i) * 1e-4, verifiedBy: .hmac, body: body))
}
guard fflush(out) == 0, fsync(fileno(out)) == 0, fclose(out) == 0 else { fail("cannot write \(args[1])/spool.log", 1) }
