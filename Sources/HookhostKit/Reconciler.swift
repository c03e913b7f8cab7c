import HookSupport
import HookSpool
import HookFetch

/// The Gemini API side of `hookhost reconcile`: lists finished batches, fetches named operations
/// and interactions, and turns them into the events their webhooks would have carried.
public struct Reconciler: Sendable {
    public let api: GeminiAPI
    /// Batches per page asked for (the API may answer fewer).
    public static let pageSize = 100

    public init(api: GeminiAPI) { self.api = api }

    /// A listing's bounds: 10 000 pages of 100 is a million batches, far more than a project
    /// keeps; 512 MiB of answers is some ten times what that many take. Pages are not kept, so
    /// memory holds one page and the events due, whatever the API answers.
    public static let listingLimits = GeminiAPI.PagingLimits(maxPages: 10_000, maxTotalBytes: 512 << 20)

    /// Every batch the API lists (all pages) and, of them, those due an event that finished
    /// within `window` before `now`. The API filters nothing: the window is applied here, on `endTime`.
    /// A batch listed again on a later page (a listing that shifted while it was read) counts once,
    /// as first seen: two events for one job would be two runs of its function.
    public func batches(now: Double, window: Double) throws(GeminiAPIError) -> (listed: Int, due: [ReconcileEvent]) {
        var names: Set<String> = []
        var listed = 0
        var due: [ReconcileEvent] = []
        try api.forEachPage("batches", style: .camel, pageSize: Reconciler.pageSize, limits: Reconciler.listingLimits) { page in
            // `operations` is what the API and google-genai use; `batches` is accepted too.
            guard case .array(let items)? = page["operations"] ?? page["batches"] else { return }
            for item in items {
                guard let name = item["name"]?.stringValue else { listed += 1; continue }
                guard names.insert(name).inserted else { continue }
                listed += 1
                if let e = ReconcileEvent.batch(item) { due += ReconcileEvent.inWindow([e], now: now, window: window) }
            }
        }
        return (listed, due)
    }

    /// `GET /{v}/operations/…`: a Veo job by its name (`models/…/operations/…`, `operations/…`, or a bare id).
    public func operation(_ name: String) throws(GeminiAPIError) -> ReconcileEvent? {
        let path = name.contains("/") ? GeminiAPI.path(name: name) : GeminiAPI.path("operations", name)
        return ReconcileEvent.operation(try api.request("GET", path))
    }

    /// `GET /{v}/interactions/{id}`.
    public func interaction(_ id: String) throws(GeminiAPIError) -> ReconcileEvent? {
        let bare = id.hasPrefix("interactions/") ? String(id.dropFirst("interactions/".count)) : id
        return ReconcileEvent.interaction(try api.request("GET", GeminiAPI.path("interactions", bare)), id: bare)
    }

    /// One run inside the host: lists, and admits an event for each finished batch the store has
    /// no completion of. Returns how many were listed and admitted; throws what the API said.
    /// `mayAdmit` is asked once the listing is done (it can take minutes): false admits nothing.
    public func run(into store: any DeliveryStorage, now: Double, window: Double, reporting: ReconcileAdmission.Reporting,
                    mayAdmit: () -> Bool = { true }) throws(GeminiAPIError) -> (listed: Int, admitted: Int, failed: Int) {
        let (listed, due) = try batches(now: now, window: window)
        guard mayAdmit() else { return (listed, 0, 0) }
        let events = due.compactMap(SynthesizedEvent.init)
        // A look first: most runs find nothing missing and need no write at all.
        let missing = zip(events, ReconcileAdmission.preview(events, in: store)).filter { $0.1 == .admitted }.map(\.0)
        let outcomes = missing.isEmpty ? [] : ReconcileAdmission.admit(missing, into: store, reporting: reporting)
        return (listed, outcomes.filter { $0 == .admitted }.count,
                outcomes.filter { if case .failed = $0 { true } else { false } }.count)
    }
}
