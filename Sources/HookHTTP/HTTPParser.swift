import HookSupport
import HookNet
/// Limits applied while parsing; every one has a safe default.
public struct HTTPLimits: Sendable {
    public var maxHeaderBytes: Int = 16 * 1024
    public var maxHeaderCount: Int = 100
    public var maxBodyBytes: Int = 1 << 20
    /// Paths (without a query) whose requests may carry more than `maxBodyBytes`: a hand-over
    /// wraps a maximal delivery in base64 and its history. Decided from the head, like any 413.
    public var largerBodies: [String: Int] = [:]
    public init(maxHeaderBytes: Int = 16 * 1024, maxHeaderCount: Int = 100, maxBodyBytes: Int = 1 << 20) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
    }

    /// The body limit of a request to `target`.
    func maxBodyBytes(for target: String) -> Int {
        guard !largerBodies.isEmpty else { return maxBodyBytes }
        let path = target.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(target[..<$0]) } ?? target
        return largerBodies[path].map { max($0, maxBodyBytes) } ?? maxBodyBytes
    }

    /// The largest body any request may carry (what a connection may have to buffer).
    public var largestBody: Int { largerBodies.values.reduce(maxBodyBytes, max) }
}

/// Why a request cannot be served; maps to exactly one status, after which the connection closes.
public struct HTTPParseError: Error, Equatable, CustomStringConvertible {
    public let status: Int
    public let message: String
    public var description: String { message }

    static func bad(_ m: String) -> HTTPParseError { HTTPParseError(status: 400, message: m) }
}

/// Outcome of feeding the bytes received so far.
public enum HTTPParseResult: Sendable {
    /// More bytes are needed. `headerEnd` is known once the header block is complete.
    case incomplete
    /// A whole request, and how many bytes of the buffer it used (the rest belongs to the next).
    case complete(HTTPRequest, consumed: Int)
}

/// A pure HTTP/1.x request parser: give it the connection's buffered bytes, it tells whether a whole
/// request is there. Strict where leniency enables smuggling: CRLF line ends, no obs-fold, no
/// whitespace before ':', one Content-Length, no Transfer-Encoding.
public struct HTTPParser: Sendable {
    public var limits: HTTPLimits

    public init(limits: HTTPLimits = HTTPLimits()) { self.limits = limits }

    /// Parses the request at the start of `buffer`.
    public func parse(_ buffer: [UInt8]) throws(HTTPParseError) -> HTTPParseResult {
        guard let headerEnd = HTTPParser.findHeaderEnd(buffer, limit: limits.maxHeaderBytes) else {
            if buffer.count > limits.maxHeaderBytes {
                throw HTTPParseError(status: 431, message: "request header block larger than \(limits.maxHeaderBytes) bytes")
            }
            // Reject garbage early instead of waiting for a timeout.
            try HTTPParser.checkPartialRequestLine(buffer)
            return .incomplete
        }
        var (request, contentLength) = try parseHead(buffer[0..<headerEnd])
        let total = headerEnd + 4 + contentLength
        guard buffer.count >= total else { return .incomplete }
        request.body = Array(buffer[(headerEnd + 4)..<total])
        return .complete(request, consumed: total)
    }

    /// Whether a complete head asks for `100 Continue` before its body is sent.
    public func expectsContinue(_ buffer: [UInt8]) -> Bool {
        guard let headerEnd = HTTPParser.findHeaderEnd(buffer, limit: limits.maxHeaderBytes),
              let (req, length) = try? parseHead(buffer[0..<headerEnd]) else { return false }
        return length > 0 && req.versionMinor >= 1 && req.header("expect")?.lowercased() == "100-continue"
    }

    static func findHeaderEnd(_ b: [UInt8], limit: Int) -> Int? {
        let n = min(b.count, limit + 4)
        guard n >= 4 else { return nil }
        var i = 0
        while i + 3 < n {
            if b[i + 3] != 0x0A { i += 1; continue }  // skip fast on the most selective byte
            if b[i] == 0x0D, b[i + 1] == 0x0A, b[i + 2] == 0x0D { return i }
            i += 1
        }
        return nil
    }

    static func checkPartialRequestLine(_ b: [UInt8]) throws(HTTPParseError) {
        // A line ending in a bare LF would otherwise wait for a CRLF CRLF that never comes.
        var i = b.firstIndex(of: 0x0A)
        while let lf = i {
            if lf == 0 || b[lf - 1] != 0x0D { throw .bad("line not terminated by CRLF") }
            i = b[(lf + 1)...].firstIndex(of: 0x0A)
        }
        // A method is a token; anything else in the first bytes is not HTTP.
        for c in b.prefix(16) {
            if c == 0x20 { return }
            if !isTokenChar(c) { throw .bad("malformed request line") }
        }
    }

    private func parseHead(_ head: ArraySlice<UInt8>) throws(HTTPParseError) -> (HTTPRequest, Int) {
        // Walked line by line in place: a delivery's head is parsed on every request, and arrays
        // of lines and request-line parts cost more than the checks themselves.
        var lines = HeadLines(head)
        guard let requestLine = try lines.next() else { throw .bad("empty request") }
        if requestLine.contains(0x0D) { throw .bad("stray CR in request line") }
        guard let sp1 = requestLine.firstIndex(of: 0x20),
              let sp2 = requestLine[(sp1 + 1)...].firstIndex(of: 0x20),
              !requestLine[(sp2 + 1)...].contains(0x20) else { throw .bad("malformed request line") }
        let methodBytes = requestLine[..<sp1], targetBytes = requestLine[(sp1 + 1)..<sp2], versionBytes = requestLine[(sp2 + 1)...]
        guard !methodBytes.isEmpty, !targetBytes.isEmpty else { throw .bad("malformed request line") }
        guard methodBytes.allSatisfy(HTTPParser.isTokenChar) else { throw .bad("malformed method") }
        guard targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw .bad("malformed request target") }
        let minor: Int
        if versionBytes.elementsEqual("HTTP/1.1".utf8) {
            minor = 1
        } else if versionBytes.elementsEqual("HTTP/1.0".utf8) {
            minor = 0
        } else {
            if versionBytes.starts(with: "HTTP/".utf8) { throw HTTPParseError(status: 505, message: "unsupported HTTP version") }
            throw .bad("malformed HTTP version")
        }
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(8)
        var contentLength: Int?
        var hasTransferEncoding = false
        var hasHost = false
        while let line = try lines.next() {
            guard headers.count < limits.maxHeaderCount else {
                throw HTTPParseError(status: 431, message: "more than \(limits.maxHeaderCount) header fields")
            }
            guard let first = line.first else { throw .bad("empty header line") }
            if first == 0x20 || first == 0x09 { throw .bad("obsolete header line folding") }
            guard let colon = line.firstIndex(of: 0x3A) else { throw .bad("header line without ':'") }
            let nameBytes = line[line.startIndex..<colon]
            guard !nameBytes.isEmpty, nameBytes.allSatisfy(HTTPParser.isTokenChar) else { throw .bad("malformed header name") }
            var v = line[(colon + 1)...]
            while let f = v.first, f == 0x20 || f == 0x09 { v = v.dropFirst() }
            while let l = v.last, l == 0x20 || l == 0x09 { v = v.dropLast() }
            guard v.allSatisfy({ $0 >= 0x20 || $0 == 0x09 }), !v.contains(0x7F) else { throw .bad("control character in header value") }
            // Names are ASCII tokens (checked above): lower-case bytes, no Unicode case mapping.
            let name = nameBytes.contains(where: { $0 >= 0x41 && $0 <= 0x5A })
                ? String(decoding: nameBytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
                : String(decoding: nameBytes, as: UTF8.self)
            let value = String(decoding: v, as: UTF8.self)
            switch name {
            case "content-length":
                guard !value.isEmpty, value.utf8.count <= 18, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      let n = Int(value) else { throw .bad("invalid Content-Length") }
                if let existing = contentLength, existing != n { throw .bad("conflicting Content-Length headers") }
                contentLength = n
            case "transfer-encoding":
                hasTransferEncoding = true
            case "host":
                // RFC 9112 §3.2: two Host lines are a 400. Which one a proxy and this host each
                // believed would decide who is "loopback" to the console.
                if hasHost { throw .bad("more than one Host header") }
                hasHost = true
            default: break
            }
            headers.append((name, value))
        }
        if hasTransferEncoding {
            if contentLength != nil { throw .bad("both Content-Length and Transfer-Encoding") }
            throw HTTPParseError(status: 411, message: "chunked request bodies are not supported; send Content-Length")
        }
        let length = contentLength ?? 0
        let target = String(decoding: targetBytes, as: UTF8.self)
        let limit = limits.maxBodyBytes(for: target)
        if length > limit {
            throw HTTPParseError(status: 413, message: "body of \(length) bytes exceeds the \(limit)-byte limit")
        }
        let method = String(decoding: methodBytes, as: UTF8.self)
        return (HTTPRequest(method: method, target: target, versionMinor: minor, headers: headers), length)
    }

    static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }
}

/// The CRLF-terminated lines of a header block (without its final CRLF CRLF), one at a time.
private struct HeadLines {
    private let head: ArraySlice<UInt8>
    private var start: Int
    private var done = false

    init(_ head: ArraySlice<UInt8>) {
        self.head = head
        start = head.startIndex
    }

    /// The next line without its CRLF; nil after the last. A bare LF is an error.
    mutating func next() throws(HTTPParseError) -> ArraySlice<UInt8>? {
        guard !done else { return nil }
        var i = start
        while i < head.endIndex {
            if head[i] == 0x0A {
                guard i > start, head[i - 1] == 0x0D else { throw .bad("line not terminated by CRLF") }
                defer { start = i + 1 }
                return head[start..<(i - 1)]
            }
            i += 1
        }
        done = true
        return head[start..<head.endIndex]
    }
}
