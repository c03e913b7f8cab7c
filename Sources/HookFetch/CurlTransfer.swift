import CCurl
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool

/// Receives one response from `CurlTransfer.perform`. Either method returning false aborts the
/// transfer; the sink remembers why.
protocol TransferSink: AnyObject {
    /// The final response's head, before any body byte.
    func receive(head: ResponseHead) -> Bool
    /// A chunk of body. The buffer is libcurl's and is valid only during the call.
    func receive(body: UnsafeRawBufferPointer) -> Bool
}

/// Transfer settings that stay the same across the hops and resumes of one download.
struct TransferOptions {
    var connectTimeout: Double
    var lowSpeedBytesPerSecond: Int
    var lowSpeedSeconds: Int
    var bufferSize: Int
}

/// One libcurl easy handle, used for single GET requests with redirects off (the fetcher follows
/// them itself so it can re-check the host and drop credentials). The only place in Fetch that
/// touches C pointers; not thread-safe, one per download.
final class CurlTransfer {
    /// How `perform` ended: `code` 0 is CURLE_OK; `message` is libcurl's detailed text.
    struct Outcome {
        let code: Int32
        let message: String
        var ok: Bool { code == 0 }
    }

    private let handle: UnsafeMutableRawPointer
    /// libcurl writes its detailed error text here ("Failed to connect to … : Connection refused").
    private let errorBuffer: UnsafeMutablePointer<CChar>

    /// Why no handle could be made: libcurl missing (it is opened on first use), or out of memory.
    static var unavailableReason: String {
        hh_curl_available() != 0 ? "libcurl could not create a handle"
            : "libcurl could not be loaded (\(String(cString: hh_curl_load_error()))); install libcurl4 (Debian: apt-get install -y libcurl4) and restart hookhost"
    }

    init?() {
        guard let h = hh_curl_easy_init() else { return nil }
        handle = h
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        hh_curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// The context both callbacks reach through `Unmanaged`; lives for the duration of `perform`.
    private final class Context {
        var head = ResponseHead()
        let sink: TransferSink
        init(sink: TransferSink) { self.sink = sink }
    }

    /// Performs `GET url` with `headers`; never follows redirects, never throws.
    func perform(url: String, headers: [(String, String)], options: TransferOptions, sink: TransferSink) -> Outcome {
        let ctx = Context(sink: sink)
        var list: UnsafeMutablePointer<curl_slist>?
        defer { hh_curl_slist_free_all(list) }
        for (n, v) in headers { list = hh_curl_slist_append(list, "\(n): \(v)") }
        errorBuffer[0] = 0
        _ = hh_curl_setopt_str(handle, CURLOPT_URL, url)
        _ = hh_curl_setopt_long(handle, CURLOPT_HTTPGET, 1)
        _ = hh_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = hh_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        // The path we built is the path requested: libcurl must not collapse `.`/`..` segments.
        _ = hh_curl_setopt_long(handle, CURLOPT_PATH_AS_IS, 1)
        _ = hh_curl_setopt_str(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = hh_curl_setopt_str(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        _ = hh_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout * 1000))
        _ = hh_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, options.lowSpeedBytesPerSecond)
        _ = hh_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, options.lowSpeedSeconds)
        // The 16 KB default halves loopback throughput (PLATFORM.md).
        _ = hh_curl_setopt_long(handle, CURLOPT_BUFFERSIZE, options.bufferSize)
        _ = hh_curl_setopt_ptr(handle, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer))
        _ = hh_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, list)
        let opaque = Unmanaged.passUnretained(ctx).toOpaque()
        _ = hh_curl_setopt_ptr(handle, CURLOPT_HEADERDATA, opaque)
        _ = hh_curl_setopt_ptr(handle, CURLOPT_WRITEDATA, opaque)
        _ = hh_curl_setopt_headerfn(handle) { ptr, size, n, ud in
            let ctx = Unmanaged<Context>.fromOpaque(ud!).takeUnretainedValue()
            let count = size * n
            let line = String(decoding: UnsafeRawBufferPointer(start: ptr, count: count), as: UTF8.self)
            if let head = ctx.head.consume(line: line), !ctx.sink.receive(head: head) { return 0 }
            return count
        }
        _ = hh_curl_setopt_writefn(handle) { ptr, size, n, ud in
            let ctx = Unmanaged<Context>.fromOpaque(ud!).takeUnretainedValue()
            let count = size * n
            // Returning less than `count` makes libcurl abort with CURLE_WRITE_ERROR.
            return ctx.sink.receive(body: UnsafeRawBufferPointer(start: ptr, count: count)) ? count : 0
        }
        let code = withExtendedLifetime(ctx) { hh_curl_easy_perform(handle) }
        // The slist is freed after this call: make sure the handle no longer points at it.
        _ = hh_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, nil)
        let detail = String(cString: errorBuffer)
        return Outcome(code: Int32(code.rawValue), message: detail.isEmpty ? String(cString: hh_curl_easy_strerror(code)) : detail)
    }
}
