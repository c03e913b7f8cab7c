import HookSupport
import HookHTTP

/// The stand-in's listing of batches (`GET /{v}/batches?pageSize=&pageToken=`, as google-genai's
/// `client.batches.list` sends it), Veo operations by name, and the switch that makes webhooks
/// go missing — what `hookhost reconcile` is there to recover.
extension StandInJobs {
    /// Pages hold at most this many batches (and `pageSize` is capped to it).
    static let maxPageSize = 1000

    /// `{"operations":[batch resource…],"nextPageToken":"…"}` in creation order (PROTOCOL §8);
    /// the token is the next index, opaque to clients. Filters nothing.
    func listBatches(query: [String: String]) -> HTTPResponse {
        let size = query["pageSize"].map { Int($0) } ?? 50
        guard let size, size > 0 else { return Self.failure(400, "INVALID_ARGUMENT", "pageSize must be a whole number > 0") }
        let start: Int
        if let token = query["pageToken"], !token.isEmpty {
            guard token.hasPrefix("p"), let n = Int(token.dropFirst()), n >= 0 else {
                return Self.failure(400, "INVALID_ARGUMENT", "pageToken \(token) is not one this server gave")
            }
            start = n
        } else {
            start = 0
        }
        let (page, total) = state.withLock { s -> ([StandInBatch], Int) in
            let ids = s.order.dropFirst(start).prefix(min(size, Self.maxPageSize))
            return (ids.compactMap { s.batches[$0] }, s.order.count)
        }
        let next = start + page.count
        var w = JSONWriter()
        w.beginObject()
        w.key("operations"); w.beginArray()
        for b in page { w.raw(Self.resource(b)) }
        w.endArray()
        if next < total { w.field("nextPageToken", "p\(next)") }
        w.endObject()
        return .json(200, w.bytes)
    }

    /// `POST /standin/lose-webhooks?count=N`: the next N batches to finish send no webhook (as if
    /// every attempt had failed for 24 h). Answers `{"losing":n}` (the count still to lose).
    func loseWebhooks(query: [String: String]) -> HTTPResponse {
        guard let n = Int(query["count"] ?? "1"), n >= 0, n <= Self.maxJobs else {
            return Self.failure(400, "INVALID_ARGUMENT", "count must be a whole number from 0 to \(Self.maxJobs)")
        }
        let total = state.withLock { s -> Int in s.loseNext += n; return s.loseNext }
        return .json(200, Array(#"{"losing":\#(total)}"#.utf8))
    }

    /// Whether the webhook of a batch finishing now is to be lost (counts one down).
    func takeLoss() -> Bool {
        state.withLock { s in
            guard s.loseNext > 0 else { return false }
            s.loseNext -= 1
            return true
        }
    }

    /// `GET /{v}/operations/ID` or `/{v}/models/M/operations/ID`: any id is a finished Veo job
    /// whose video is `files/video-ID` on this server; an id starting `running` is not done yet,
    /// one starting `failed` ended with an error.
    func operation(name: String, host: String?) -> HTTPResponse {
        guard let id = name.split(separator: "/").last.map(String.init), Self.isSafeID(id) else {
            return Self.failure(400, "INVALID_ARGUMENT", "\"\(name)\" is not an operation name")
        }
        let now = Self.now()
        var w = JSONWriter()
        w.beginObject()
        w.field("name", name)
        w.key("metadata"); w.beginObject(); w.field("createTime", now); w.field("updateTime", now); w.endObject()
        if id.hasPrefix("running") {
            w.field("done", false)
        } else if id.hasPrefix("failed") {
            w.field("done", true)
            w.key("error"); w.beginObject(); w.field("code", 3); w.field("message", "the stand-in's video failed"); w.endObject()
        } else {
            w.field("done", true)
            w.key("response"); w.beginObject()
            w.field("@type", "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse")
            w.key("generateVideoResponse"); w.beginObject(); w.key("generatedSamples"); w.beginArray(); w.beginObject()
            w.key("video"); w.beginObject()
            w.field("uri", "http://\(host ?? "127.0.0.1")/download/v1beta/files/video-\(id):download?alt=media")
            w.endObject(); w.endObject(); w.endArray(); w.endObject()
            w.endObject()
        }
        w.endObject()
        return .json(200, w.bytes)
    }

    /// The query of a request target as name → value (percent escapes decoded; last wins).
    static func query(_ target: String) -> [String: String] {
        guard let q = target.firstIndex(of: "?") else { return [:] }
        var out: [String: String] = [:]
        for pair in target[target.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            out[decode(String(kv[0]))] = kv.count > 1 ? decode(String(kv[1])) : ""
        }
        return out
    }

    private static func decode(_ s: String) -> String {
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                out.append(v); i += 3
            } else {
                out.append(b[i] == UInt8(ascii: "+") ? 0x20 : b[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
