import CCurl
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool

/// A request for the small libcurl client used by `hookhost send` and the control socket.
public struct ClientRequest: Sendable {
    public var method = "GET"
    public var url: String
    public var headers: [(String, String)] = []
    public var body: [UInt8] = []
    /// Connect through this unix socket instead of TCP (the URL's host is then ignored).
    public var unixSocket: String?
    public var timeout: Double = 30
    /// Seconds to establish the connection (0: libcurl's default).
    public var connectTimeout: Double = 0
    /// Largest body kept in memory.
    public var maxResponseBytes = 64 << 20
    /// Asked about once a second during the transfer (and at its start); true aborts it, so a
    /// caller that is shutting down need not wait out `timeout` for a server that hangs.
    public var isCancelled: (@Sendable () -> Bool)?

    public init(method: String = "GET", url: String) {
        self.method = method
        self.url = url
    }
}

/// A complete response.
public struct ClientResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    /// Response header lines as (name, value), names as sent (of the last response, after redirects).
    public var headers: [(String, String)] = []
    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.first { $0.0.lowercased() == n }?.1
    }
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A transfer that failed before an HTTP status arrived.
public struct ClientError: Error, CustomStringConvertible {
    public let url: String
    public let message: String
    /// The transfer was stopped by `ClientRequest.isCancelled`, not by the server or the network.
    public var cancelled = false
    public init(url: String, message: String, cancelled: Bool = false) {
        self.url = url
        self.message = message
        self.cancelled = cancelled
    }
    public var description: String { "\(URLRedaction.withoutQuery(url)): \(message)" }
}

/// Blocking HTTP over libcurl. C pointers stay inside this type.
public enum HTTPClient {
    private final class Sink {
        var body: [UInt8] = []
        var headers: [(String, String)] = []
        let limit: Int
        /// The body went over `limit`: the abort that follows is ours, not the network's.
        var overflowed = false
        let isCancelled: (@Sendable () -> Bool)?
        init(limit: Int, isCancelled: (@Sendable () -> Bool)?) {
            self.limit = limit
            self.isCancelled = isCancelled
        }
    }

    /// Performs the request; HTTP error statuses are returned, not thrown.
    public static func perform(_ req: ClientRequest) throws(ClientError) -> ClientResponse {
        guard let curl = hh_curl_easy_init() else { throw ClientError(url: req.url, message: CurlTransfer.unavailableReason) }
        defer { hh_curl_easy_cleanup(curl) }
        return try perform(req, on: curl)
    }

    /// One request on `curl`. Every option a request uses is set each time, so a handle reused
    /// (`HTTPSession`) carries nothing of the last request but its open connection.
    static func perform(_ req: ClientRequest, on curl: UnsafeMutableRawPointer) throws(ClientError) -> ClientResponse {
        let sink = Sink(limit: req.maxResponseBytes, isCancelled: req.isCancelled)
        let ctx = Unmanaged.passUnretained(sink).toOpaque()
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { hh_curl_slist_free_all(headerList) }
        for (n, v) in req.headers { headerList = hh_curl_slist_append(headerList, "\(n): \(v)") }
        // Without this, curl adds "Expect: 100-continue" for larger bodies and waits for it.
        headerList = hh_curl_slist_append(headerList, "Expect:")
        _ = hh_curl_setopt_str(curl, CURLOPT_URL, req.url)
        _ = hh_curl_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
        _ = hh_curl_setopt_str(curl, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = hh_curl_setopt_long(curl, CURLOPT_TIMEOUT_MS, Int(req.timeout * 1000))
        if req.connectTimeout > 0 { _ = hh_curl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, Int(req.connectTimeout * 1000)) }
        // A reused handle keeps the last request's body: GET and HEAD drop it.
        if req.method == "GET" || req.method == "HEAD" { _ = hh_curl_setopt_long(curl, CURLOPT_HTTPGET, 1) }
        _ = hh_curl_setopt_str(curl, CURLOPT_CUSTOMREQUEST, req.method)
        _ = hh_curl_setopt_long(curl, CURLOPT_NOBODY, req.method == "HEAD" ? 1 : 0)
        if let sock = req.unixSocket { _ = hh_curl_setopt_str(curl, CURLOPT_UNIX_SOCKET_PATH, sock) }
        _ = hh_curl_setopt_slist(curl, CURLOPT_HTTPHEADER, headerList)
        _ = hh_curl_setopt_ptr(curl, CURLOPT_WRITEDATA, ctx)
        _ = hh_curl_setopt_writefn(curl) { ptr, size, n, ud in
            let sink = Unmanaged<Sink>.fromOpaque(ud!).takeUnretainedValue()
            let count = size * n
            guard sink.body.count + count <= sink.limit else { sink.overflowed = true; return 0 }  // aborts the transfer
            sink.body.append(contentsOf: UnsafeRawBufferPointer(start: ptr, count: count))
            return count
        }
        _ = hh_curl_setopt_ptr(curl, CURLOPT_HEADERDATA, ctx)
        _ = hh_curl_setopt_headerfn(curl) { ptr, size, n, ud in
            let sink = Unmanaged<Sink>.fromOpaque(ud!).takeUnretainedValue()
            let line = String(decoding: UnsafeRawBufferPointer(start: ptr, count: size * n), as: UTF8.self)
            if line.hasPrefix("HTTP/") { sink.headers = [] }  // a new response (after a redirect or 100)
            else if let colon = line.firstIndex(of: ":"), sink.headers.count < 200 {
                sink.headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingSpaces))
            }
            return size * n
        }
        // Set (or switched off) every time: a reused handle must not call back into the sink of a
        // request that has ended.
        _ = hh_curl_setopt_long(curl, CURLOPT_NOPROGRESS, req.isCancelled == nil ? 1 : 0)
        _ = hh_curl_setopt_ptr(curl, CURLOPT_XFERINFODATA, ctx)
        _ = hh_curl_setopt_xferinfofn(curl) { ud, _, _, _, _ in
            Unmanaged<Sink>.fromOpaque(ud!).takeUnretainedValue().isCancelled?() == true ? 1 : 0
        }
        let code: CURLcode = req.body.withUnsafeBufferPointer { buf in
            if req.method != "GET" && req.method != "HEAD" {
                _ = hh_curl_setopt_off(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(buf.count))
                _ = hh_curl_setopt_ptr(curl, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: buf.baseAddress ?? UnsafePointer(bitPattern: 1)!))
            }
            return hh_curl_easy_perform(curl)
        }
        guard code == CURLE_OK else {
            if sink.overflowed { throw ClientError(url: req.url, message: "the answer is larger than \(req.maxResponseBytes) bytes; reading stopped there") }
            if code == CURLE_ABORTED_BY_CALLBACK { throw ClientError(url: req.url, message: "cancelled", cancelled: true) }
            throw ClientError(url: req.url, message: String(cString: hh_curl_easy_strerror(code)))
        }
        var status = 0
        _ = hh_curl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        return ClientResponse(status: status, body: sink.body, headers: sink.headers)
    }
}

/// A libcurl handle kept for many requests from one thread, so they share a kept-alive
/// connection (the hand-over's senders: thousands of small POSTs to one peer).
public final class HTTPSession {
    private let curl: UnsafeMutableRawPointer

    public init?() {
        guard let c = hh_curl_easy_init() else { return nil }
        curl = c
    }

    deinit { hh_curl_easy_cleanup(curl) }

    /// Like `HTTPClient.perform`, on this session's connection. Requests without a unix socket only.
    public func perform(_ req: ClientRequest) throws(ClientError) -> ClientResponse {
        precondition(req.unixSocket == nil, "a session does not switch to a unix socket and back")
        return try HTTPClient.perform(req, on: curl)
    }
}
