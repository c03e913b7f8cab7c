import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
/// Where results may be downloaded from and which credential goes where (CONTRACT §5). Pure:
/// built from settings, answers questions about URLs, does no I/O.
///
/// Allowed: the API base's origin, the GCS base's origin, and the extra host patterns.
/// The API key goes only to the API origin, the GCS token only to the GCS origin, and neither to a
/// hop whose origin differs from the request's first URL (a redirect to another host, port or
/// scheme drops the credential even when that host is allowed).
public struct FetchPolicy: Sendable, Equatable {
    public let apiBase: FetchURL
    public let gcsBase: FetchURL
    public let extraHosts: [HostPattern]

    /// From values already checked (the app parses its settings into these).
    public init(apiBase: FetchURL, gcsBase: FetchURL, extraHosts: [HostPattern]) {
        self.apiBase = apiBase
        self.gcsBase = gcsBase
        self.extraHosts = extraHosts
    }

    /// Parses the three values; an error names the parameter at fault.
    public init(apiBase: String, gcsBase: String, fetchHosts: [String]) throws(ConfigError) {
        guard let a = FetchPolicy.base(apiBase) else {
            throw ConfigError(setting: "apiBase", message: "expected an http(s) URL without query, got \"\(apiBase)\"")
        }
        guard let g = FetchPolicy.base(gcsBase) else {
            throw ConfigError(setting: "gcsBase", message: "expected an http(s) URL without query, got \"\(gcsBase)\"")
        }
        var patterns: [HostPattern] = []
        for entry in fetchHosts {
            guard let p = HostPattern(entry) else { throw ConfigError(setting: "fetchHosts", message: "\"\(entry)\" is not host or host:port") }
            patterns.append(p)
        }
        self.init(apiBase: a, gcsBase: g, extraHosts: patterns)
    }

    /// A base URL results are fetched under: http(s), with a host, without a query.
    public static func base(_ text: String) -> FetchURL? {
        guard let u = FetchURL(text), !u.target.contains("?") else { return nil }
        return u
    }

    /// The defaults of CONTRACT §2.
    public static let gemini = try! FetchPolicy(apiBase: "https://generativelanguage.googleapis.com",
                                                gcsBase: "https://storage.googleapis.com", fetchHosts: [])

    /// True when `url` may be requested at all.
    public func allows(_ url: FetchURL) -> Bool {
        url.origin == apiBase.origin || url.origin == gcsBase.origin || extraHosts.contains { $0.matches(url) }
    }

    /// The credential to send on a hop of `request` that goes to `hop`: the request's own
    /// credential, only on the request's first origin, and only when that origin is the
    /// credential's home. Everything else gets none.
    public func credential(for request: FetchRequest, hop: FetchURL) -> Credential {
        guard hop.origin == request.url.origin else { return .none }
        switch request.credential {
        case .apiKey where hop.origin == apiBase.origin: return .apiKey
        case .gcsToken where hop.origin == gcsBase.origin: return .gcsToken
        default: return .none
        }
    }

    /// Resolves an event's reference to the request to make; throws (final) for a reference that
    /// is malformed or on a host that is not allowed, so nothing is ever requested for it.
    public func request(for reference: String) throws(FetchError) -> FetchRequest {
        let uri = try ResultURI(parsing: reference)
        let url: FetchURL
        let credential: Credential
        switch uri {
        case .file(let id):
            url = apiBase.appending(path: "/download/v1beta/files/\(FetchURL.encodeSegment(id)):download?alt=media")
            credential = .apiKey
        case .batch(let id):
            url = apiBase.appending(path: "/v1beta/batches/\(FetchURL.encodeSegment(id))")
            credential = .apiKey
        case .gcs(let bucket, let object):
            url = gcsBase.appending(path: "/storage/v1/b/\(FetchURL.encodeSegment(bucket))/o/\(FetchURL.encodeSegment(object))?alt=media")
            credential = .gcsToken
        case .url(let u):
            url = u
            credential = u.origin == apiBase.origin ? .apiKey : u.origin == gcsBase.origin ? .gcsToken : .none
        }
        guard allows(url) else { throw .hostNotAllowed(host: url.authority, viaRedirect: false) }
        return FetchRequest(uri: uri.reported, url: url, credential: credential, fileName: uri.fileName)
    }
}
