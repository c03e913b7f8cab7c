import HookSupport

extension GeminiAPI {
    /// How a list call spells its paging fields: WebhookService uses snake_case (`page_size`,
    /// `page_token`), batches camelCase (`pageSize`, `pageToken`), as google-genai sends them.
    public enum PageStyle: Sendable {
        case snake, camel
        var sizeName: String { self == .snake ? "page_size" : "pageSize" }
        var tokenName: String { self == .snake ? "page_token" : "pageToken" }
    }

    /// How much one listing may take: a server whose pages never end, or are each as large as an
    /// answer may be, stops the listing with `.paging` instead of holding the caller for hours or
    /// its memory for gigabytes.
    public struct PagingLimits: Sendable {
        public var maxPages: Int
        /// All pages' answers together, in bytes.
        public var maxTotalBytes: Int
        public init(maxPages: Int = 1000, maxTotalBytes: Int = 64 << 20) {
            self.maxPages = maxPages
            self.maxTotalBytes = maxTotalBytes
        }
    }

    /// The next page's token from either spelling; nil (or empty) ends the listing.
    public static func nextPageToken(_ page: JSON) -> String? {
        let token = page["next_page_token"]?.stringValue ?? page["nextPageToken"]?.stringValue
        return token?.isEmpty == false ? token : nil
    }

    /// Hands each page of a list call to `body` in order, keeping none: memory holds one page at a
    /// time, whatever the listing's length. Stops with `.paging` when a server repeats a token or
    /// goes past `limits`.
    public func forEachPage(_ path: String, query: [(String, String)] = [], style: PageStyle, pageSize: Int? = nil,
                            limits: PagingLimits = PagingLimits(),
                            _ body: (JSON) throws(GeminiAPIError) -> Void) throws(GeminiAPIError) {
        var seen: Set<String> = []
        var token: String?
        var pages = 0, bytes = 0
        let fullPath = "/" + version + "/" + path
        repeat {
            var q = query
            if let pageSize { q.append((style.sizeName, String(pageSize))) }
            if let token { q.append((style.tokenName, token)) }
            let (page, size) = try send("GET", path, query: q)
            pages += 1
            bytes += size
            token = GeminiAPI.nextPageToken(page)
            try body(page)
            if let t = token {
                guard seen.insert(t).inserted else { throw .paging(path: fullPath, reason: "the server repeated page token \"\(GeminiAPI.snippet(Array(redacted(t).utf8)))\"") }
                guard pages < limits.maxPages else { throw .paging(path: fullPath, reason: "more than \(limits.maxPages) pages") }
                guard bytes < limits.maxTotalBytes else {
                    let budget = limits.maxTotalBytes % (1 << 20) == 0 ? "\(limits.maxTotalBytes >> 20) MiB" : "\(limits.maxTotalBytes) bytes"
                    throw .paging(path: fullPath, reason: "more than \(budget) of answers in \(pages) pages")
                }
            }
        } while token != nil
    }

    /// Every page of a list call, in order (for short listings; `forEachPage` keeps none).
    public func pages(_ path: String, query: [(String, String)] = [], style: PageStyle, pageSize: Int? = nil,
                      limits: PagingLimits = PagingLimits()) throws(GeminiAPIError) -> [JSON] {
        var pages: [JSON] = []
        try forEachPage(path, query: query, style: style, pageSize: pageSize, limits: limits) { pages.append($0) }
        return pages
    }

    /// The members named `key` (`webhooks`, `operations`) of every page, concatenated.
    public func list(_ path: String, items key: String, query: [(String, String)] = [], style: PageStyle,
                     pageSize: Int? = nil, limits: PagingLimits = PagingLimits()) throws(GeminiAPIError) -> [JSON] {
        var items: [JSON] = []
        let fullPath = "/" + version + "/" + path
        try forEachPage(path, query: query, style: style, pageSize: pageSize, limits: limits) { (page: JSON) throws(GeminiAPIError) in
            // An empty page may leave the member out; anything else in its place is not a listing,
            // and "no webhooks" would be a wrong answer.
            guard case .object = page else { throw .paging(path: fullPath, reason: "a page is not a JSON object") }
            switch page[key] {
            case .array(let a)?: items += a
            case nil, .null?: break
            default: throw .paging(path: fullPath, reason: "\"\(key)\" in a page is not a list")
            }
        }
        return items
    }
}
