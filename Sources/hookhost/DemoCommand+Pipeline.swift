import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// The demo's pipeline part: a batch routed by its `user_metadata`, and the chain the first
/// batch starts (retry events emitted per failed key, re-submitted batches coming back).
extension DemoCommand {
    /// The same batch event, for the `nightly-eval` route (a function chosen by `user_metadata`).
    static let routedBatch = (type: "batch.succeeded",
                              data: #"{"id":"batches/demo10","output_file_uri":"files/batch-demo10","user_metadata":{"job_group":"nightly-eval"}}"#)

    /// Deliveries as the control API lists them (`query` appended to `/deliveries`).
    static func listed(_ sock: String, _ query: String) -> [JSON] {
        var req = ClientRequest(url: "http://hookhost/deliveries" + query)
        req.unixSocket = sock
        guard let r = try? HTTPClient.perform(req), r.status == 200,
              case .array(let items)? = (try? JSONParser.parse(r.body))?["deliveries"] else { return [] }
        return items
    }

    static func isFinished(_ d: JSON) -> Bool { ["done", "dead", "skipped"].contains(d["state"]?.stringValue ?? "") }

    /// Waits (bounded) until the pipeline of `root` is finished and the batches its steps
    /// re-submitted have come back through the host and finished too; then prints both.
    static func printPipeline(_ sock: String, root: String, known: Set<String>, host: DemoHostWatch) throws {
        let deadline = monotonicNow() + 20
        var chain: [JSON] = [], followUps: [JSON] = []
        while true {
            chain = listed(sock, "?root=" + ControlEndpoint.percentEncode(root))
            // Batches that arrived from the stand-in API, not sent by the demo itself.
            followUps = listed(sock, "?type=batch.succeeded").filter { !known.contains($0["id"]?.stringValue ?? "") }
            // Every retry step of this demo's batches re-submits one batch, which comes back.
            let retries = listed(sock, "?type=app.batch.retry").count
            let settled = chain.allSatisfy(isFinished) && followUps.count >= retries && followUps.allSatisfy(isFinished)
            if settled || monotonicNow() > deadline { break }
            guard host.pause(0.2) else { throw RuntimeError("the host exited while the pipeline ran") }
        }
        print("\nthe pipeline the first batch started (hookhost deliveries list --root \(root)):")
        for d in chain { print(row(d, indent: d["depth"]?.intValue ?? 0)) }
        if followUps.isEmpty {
            print("  (no batch was re-submitted)")
        } else {
            print("batches the retry steps re-submitted (this demo's three batches each had 4 failed keys), back through the host as new deliveries, routed by their job_group (user_metadata.retry_of names the original):")
            for d in followUps { print(row(d, indent: 1)) }
        }
    }

    static func row(_ d: JSON, indent: Int) -> String {
        let s = { (k: String) in d[k]?.stringValue ?? "-" }
        let id = String(repeating: "  ", count: indent) + s("id")
        var line = "  \(id.padded(44)) \(s("type").padded(24)) \(s("function").padded(16)) \(s("state"))"
        if d["state"]?.stringValue != "done", let e = d["error"]?.stringValue { line += "  " + e }
        return line
    }
}
