import HookSupport
import HookNet
/// An HTTP response; `encode` produces the wire bytes.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// Close the connection after sending (malformed input, shutdown).
    public var close: Bool

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = [], close: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.close = close
    }

    /// A JSON response with `Content-Type: application/json`.
    public static func json(_ status: Int, _ body: [UInt8], headers: [(String, String)] = [], close: Bool = false) -> HTTPResponse {
        var b = body
        b.append(0x0A)
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: b, close: close)
    }

    /// `{"error": message}` with the given status.
    public static func error(_ status: Int, _ message: String, headers: [(String, String)] = [], close: Bool = false) -> HTTPResponse {
        var w = JSONWriter()
        w.beginObject(); w.field("error", message); w.endObject()
        return json(status, w.bytes, headers: headers, close: close)
    }

    /// What an answer given before any responder saw the request (a malformed or oversized one,
    /// a timeout) carries: whatever path it was for — the operator console's included — it is
    /// never sniffed into a page, nor run, nor framed.
    public static let unrouted: [(String, String)] = [("X-Content-Type-Options", "nosniff"),
                                                      ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")]

    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", contentType)], body: Array(text.utf8))
    }

    /// Wire bytes for HTTP/1.1, with Content-Length and, when closing, `Connection: close`.
    /// An answer to HEAD keeps the Content-Length but sends no body.
    public func encode(keepAlive: Bool, head: Bool = false) -> [UInt8] {
        var headText = "HTTP/1.1 \(status) \(HTTPResponse.reason(status))\r\n"
        for (n, v) in headers { headText += "\(n): \(v)\r\n" }
        headText += "Content-Length: \(body.count)\r\n"
        if !keepAlive || close { headText += "Connection: close\r\n" }
        headText += "\r\n"
        var out = Array(headText.utf8)
        if !head { out.append(contentsOf: body) }
        return out
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 415: return "Unsupported Media Type"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Status"
        }
    }
}
