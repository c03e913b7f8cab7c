import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
/// The head of one HTTP response as libcurl hands it over, line by line. Pure, so it is tested
/// from literals.
public struct ResponseHead: Sendable, Equatable {
    /// One header field; the name is lower-cased, the value trimmed but otherwise as sent.
    public struct Field: Sendable, Equatable {
        public let name: String
        public let value: String
    }

    public var status = 0
    public var fields: [Field] = []

    public init(status: Int = 0, fields: [Field] = []) {
        self.status = status
        self.fields = fields
    }

    /// The first value of `name` (case-insensitive), or nil.
    public func value(_ name: String) -> String? {
        let n = name.lowercased()
        return fields.first { $0.name == n }?.value
    }

    /// `Content-Length` when present and a plain non-negative integer.
    public var contentLength: Int? { value("content-length").flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil } }

    /// The first byte position of a 206's `Content-Range: bytes <first>-<last>/<total>`.
    public var contentRangeStart: Int? {
        guard let v = value("content-range"), v.lowercased().hasPrefix("bytes ") else { return nil }
        let range = v.dropFirst(6).split(separator: "/").first ?? ""
        return range.split(separator: "-").first.flatMap { Int($0.trimmingSpaces) }
    }

    /// The server said it can serve byte ranges of this resource.
    public var acceptsRanges: Bool {
        status == 206 || (value("accept-ranges")?.lowercased().split(separator: ",").contains { $0.trimmingSpaces == "bytes" } ?? false)
    }

    /// A validator for `If-Range`: a strong ETag, else Last-Modified (RFC 9110 §13.1.5).
    public var rangeValidator: String? {
        if let e = value("etag"), !e.hasPrefix("W/") { return e }
        return value("last-modified")
    }

    /// Feeds one header line (with or without CRLF). Returns the complete head at the blank line
    /// that ends a final (non-1xx) response; interim 1xx heads are dropped.
    public mutating func consume(line raw: String) -> ResponseHead? {
        let line = raw.trimmingSpaces
        if line.isEmpty {
            guard status >= 200 else { self = ResponseHead(); return nil }
            let done = self
            self = ResponseHead()
            return done
        }
        if line.hasPrefix("HTTP/") {
            // A status line starts a new response (after 1xx, or after a redirect libcurl followed).
            let parts = line.split(separator: " ", maxSplits: 2)
            self = ResponseHead(status: parts.count > 1 ? Int(parts[1]) ?? 0 : 0)
            return nil
        }
        guard let colon = line.firstIndex(of: ":") else { return nil }
        fields.append(Field(name: line[..<colon].lowercased(), value: String(line[line.index(after: colon)...]).trimmingSpaces))
        return nil
    }
}
