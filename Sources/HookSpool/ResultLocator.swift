import HookSupport
import HookNet
import HookHTTP
import HookVerify
/// Finds the result an event points at (CONTRACT §5). Pure: event type and parsed body in,
/// a reference string out.
public enum ResultLocator {
    /// The reference to fetch, or nil when this event type has none or the body names none.
    ///
    /// - `batch.succeeded` / `batch.completed`: `data.output_file_uri`; without one, the inline
    ///   results at `batches/<data.id>`.
    /// - `video.generated`: `data.video_uri`, then `data.output_file_uri`, then `data.file_name`.
    /// Whether events of `type` can point at a result at all (decided before the body is read).
    public static func mayCarryResult(type: String) -> Bool {
        type == "batch.succeeded" || type == "batch.completed" || type == "video.generated"
    }

    public static func reference(type: String, event: JSON) -> String? {
        let data = event["data"]
        func field(_ key: String) -> String? {
            guard let s = data?[key]?.stringValue?.trimmingSpaces, !s.isEmpty else { return nil }
            return s
        }
        switch type {
        case "batch.succeeded", "batch.completed":
            if let f = field("output_file_uri") { return f }
            guard let id = field("id") else { return nil }
            return id.hasPrefix("batches/") ? id : "batches/" + id
        case "video.generated":
            return field("video_uri") ?? field("output_file_uri") ?? field("file_name")
        default:
            return nil
        }
    }
}
