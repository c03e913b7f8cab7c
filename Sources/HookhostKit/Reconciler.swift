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

    /// Every batch the API lists (all pages) and, of them, those due an event that finished
    /// within `window` before `now`. The API filters nothing: the window is applied here, on `endTime`.
    public func batches(now: Double, window: Double) throws(GeminiAPIError) -> (listed: Int, due: [ReconcileEvent]) {
        var items: [JSON] = []
        for page in try api.pages("batches", style: .camel, pageSize: Reconciler.pageSize) {
            // `operations` is what the API and google-genai use; `batches` is accepted too.
            if case .array(let a)? = page["operations"] ?? page["batches"] { items += a }
        }
        let events = items.compactMap(ReconcileEvent.batch)
        return (items.count, ReconcileEvent.inWindow(events, now: now, window: window))
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
    public func run(into store: any DeliveryStorage, now: Double, window: Double,
                    reporting: ReconcileAdmission.Reporting) throws(GeminiAPIError) -> (listed: Int, admitted: Int, failed: Int) {
        let (listed, due) = try batches(now: now, window: window)
        let events = due.compactMap(SynthesizedEvent.init)
        // A look first: most runs find nothing missing and need no write at all.
        let missing = zip(events, ReconcileAdmission.preview(events, in: store)).filter { $0.1 == .admitted }.map(\.0)
        let outcomes = missing.isEmpty ? [] : ReconcileAdmission.admit(missing, into: store, reporting: reporting)
        return (listed, outcomes.filter { $0 == .admitted }.count,
                outcomes.filter { if case .failed = $0 { true } else { false } }.count)
    }
}
