import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
/// The forms a result reference takes in an event (PROTOCOL §5). Parsing is pure and strict:
/// ids are single path segments, so a reference can never steer the path of an API request.
public enum ResultURI: Sendable, Equatable {
    /// `files/<id>` or a bare `<id>`: `GET {api}/download/v1beta/files/<id>:download?alt=media`.
    case file(id: String)
    /// `batches/<id>` (inline batch results): `GET {api}/v1beta/batches/<id>`, saved as JSON.
    case batch(id: String)
    /// `gs://bucket/object`: GCS JSON API media download with a bearer token.
    case gcs(bucket: String, object: String)
    /// A full http(s) URL (Veo's `video_uri`), requested as is when its host is allowed.
    case url(FetchURL)

    /// Parses a reference; throws `.invalidReference` (final) for anything else.
    public init(parsing raw: String) throws(FetchError) {
        let r = raw.trimmingSpaces
        let lower = r.lowercased()
        func invalid(_ why: String) -> FetchError { .invalidReference(raw, why: why) }
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            guard let u = FetchURL(r) else { throw invalid("not a well-formed http(s) URL") }
            self = .url(u)
        } else if lower.hasPrefix("gs://") {
            let rest = r.dropFirst(5)
            guard let slash = rest.firstIndex(of: "/") else { throw invalid("gs:// URI without an object name") }
            let bucket = String(rest[..<slash]), object = String(rest[rest.index(after: slash)...])
            guard !bucket.isEmpty, bucket.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || "-_.".contains($0) }) else {
                throw invalid("bad bucket name")
            }
            guard !object.isEmpty, object.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else { throw invalid("bad object name") }
            // GCS refuses these names; as path segments they would steer the request elsewhere.
            guard bucket != "." && bucket != "..", object != "." && object != ".." else { throw invalid("bad bucket or object name") }
            self = .gcs(bucket: bucket, object: object)
        } else if r.contains(":") && r.contains("//") {
            throw invalid("unsupported scheme (expected files/, batches/, gs:// or https://)")
        } else if lower.hasPrefix("files/") {
            self = .file(id: try ResultURI.id(String(r.dropFirst(6)), raw))
        } else if lower.hasPrefix("batches/") {
            self = .batch(id: try ResultURI.id(String(r.dropFirst(8)), raw))
        } else if !r.contains("/") {
            self = .file(id: try ResultURI.id(r, raw))
        } else {
            throw invalid("expected files/<id>, batches/<id>, a bare id, gs://bucket/object or an https URL")
        }
    }

    /// An API resource id: one segment of letters, digits, `-`, `_`, `.` (not `.` or `..`).
    private static func id(_ s: String, _ raw: String) throws(FetchError) -> String {
        guard !s.isEmpty, s.count <= 256, s != ".", s != "..",
              s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            // Shown redacted like the reference: `files/abc?key=…` is not an id, and its query must
            // not reach the dead letter through this part of the reason either.
            throw .invalidReference(raw, why: "\"\(FetchError.shown(s))\" is not a resource id")
        }
        return s
    }

    /// `result.uri` as the function sees it.
    public var reported: String {
        switch self {
        case .file(let id): "files/\(id)"
        case .batch(let id): "batches/\(id)"
        case .gcs(let b, let o): "gs://\(b)/\(o)"
        case .url(let u): u.string
        }
    }

    /// The local file name: the id or the last path segment, reduced to safe characters.
    public var fileName: String {
        switch self {
        case .file(let id): return ResultURI.safeName(id)
        case .batch(let id): return ResultURI.safeName(id) + ".json"
        case .gcs(_, let o): return ResultURI.safeName(String(o.split(separator: "/").last ?? ""))
        case .url(let u):
            // ".../files/<id>:download?alt=media" → "<id>"
            let path = u.target.split(separator: "?").first ?? ""
            let last = path.split(separator: "/").last ?? ""
            return ResultURI.safeName(String(last.split(separator: ":").first ?? ""))
        }
    }

    /// Letters, digits, `-`, `_`, `.` only; no leading dot (temp files are dot-files); at most
    /// 100 characters; "result" when nothing is left.
    static func safeName(_ s: String) -> String {
        var out = String(s.map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) ? $0 : "_" }.prefix(100))
        while out.hasPrefix(".") { out.removeFirst() }
        return out.isEmpty ? "result" : out
    }
}
