// hookhost-bench-fetch URL DIR — internal benchmark driver for bench/fetch.sh, not shipped in
// the container: fetches one URL through CurlFetcher (URL's origin as the API base) and prints
// one JSON line with bytes, seconds, sha256 and this process's peak RSS.
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
guard args.count == 3, let url = FetchURL(args[1]) else {
    fail("usage: hookhost-bench-fetch URL DIR", 2)
}
do {
    let policy = try FetchPolicy(apiBase: url.origin, gcsBase: "https://storage.googleapis.com", fetchHosts: [])
    let fetcher = CurlFetcher(policy: policy, credentials: FetchCredentials(apiKey: "bench-key", gcsTokenFile: nil))
    let start = monotonicNow()
    let r = try fetcher.fetch(try policy.request(for: url.string), into: args[2])
    let seconds = monotonicNow() - start
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    print(#"{"bytes":\#(r.bytes),"seconds":\#(seconds),"sha256":"\#(r.sha256)","path":"\#(r.path)","peak_rss_kb":\#(usage.ru_maxrss)}"#)
} catch let e as FetchError {
    fail("fetch failed: \(e.reason)", 1)
} catch {
    fail("\(error)", 2)
}
