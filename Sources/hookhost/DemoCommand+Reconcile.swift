import HookhostKit
import HookSupport
import HookSpool
import HookFetch

/// The demo's last step: a batch whose webhook is lost (the stand-in drops it, as if Gemini had
/// given up after 24 h), found and recovered by the same code `hookhost reconcile --apply` runs.
extension DemoCommand {
    static func showReconcile(_ jobs: StandInJobs, apiPort: UInt16, sock: String, host: DemoHostWatch) throws {
        print("\na batch whose webhook never arrives, recovered by reconcile (hookhost reconcile --apply):")
        jobs.state.withLock { $0.loseNext += 1 }
        let created = jobs.createBatch(model: "gemini-2.5-flash", body: Array(#"{"batch":{"displayName":"demo-lost","inputConfig":{"requests":{"requests":[{"request":{"contents":[{"parts":[{"text":"lost?"}]}]},"metadata":{"key":"lost-1"}}]}}}}"#.utf8))
        guard let name = (try? JSONParser.parse(created.body))?["name"]?.stringValue else { return print("  (the stand-in made no batch)") }
        for _ in 0..<100 where !(jobs.state.withLock { $0.batches[String(name.dropFirst("batches/".count))]?.succeeded ?? false }) {
            guard host.pause(0.1) else { throw RuntimeError("the host exited during the demo") }
        }
        print("  \(name) succeeded; its batch.succeeded was dropped on purpose")
        guard let base = FetchURL("http://127.0.0.1:\(apiPort)") else { return }
        let due: [ReconcileEvent]
        do { due = try Reconciler(api: GeminiAPI(base: base, version: "v1", apiKey: DemoAPI.apiKey)).batches(now: SystemClock().now(), window: ReconcileWindow.defaultSeconds).due } catch {
            return print("  reconcile failed: \(error)")
        }
        var request = JSONWriter()
        request.beginObject(); request.key("events"); request.beginArray()
        for e in due.compactMap(SynthesizedEvent.init) {
            request.beginObject(); request.field("id", e.id); request.field("body", String(decoding: e.body, as: UTF8.self)); request.endObject()
        }
        request.endArray(); request.endObject()
        var req = ClientRequest(method: "POST", url: "http://hookhost/deliveries/admit")
        req.unixSocket = sock
        req.body = request.bytes
        guard let r = try? HTTPClient.perform(req), r.status == 200, let doc = try? JSONParser.parse(r.body),
              case .array(let admitted)? = doc["admitted"], case .array(let seen)? = doc["seen"] else { return print("  the host refused the events") }
        print("  reconcile: \(due.count) finished \(due.count == 1 ? "batch" : "batches") listed, \(seen.count) delivered, \(admitted.count) with no delivery received")
        let ids = admitted.compactMap { $0["id"]?.stringValue }
        for a in admitted { print("  recovered \(a["job"]?.stringValue ?? "?") (\(a["type"]?.stringValue ?? "?")) as \(a["id"]?.stringValue ?? "?")") }
        for _ in 0..<100 where !allFinished(sock, ids) {
            guard host.pause(0.1) else { throw RuntimeError("the host exited during the demo") }
        }
        for id in ids {
            let d = show(sock, id)?["delivery"]
            print("  \(id): \(d?["function"]?.stringValue ?? "-") \(d?["state"]?.stringValue ?? "?") (verified_by \(d?["verified_by"]?.stringValue ?? "?"))")
        }
    }
}
