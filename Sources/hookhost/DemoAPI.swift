import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// The demo's stand-in for the Gemini files, batches and interactions API, on a loopback port: the
/// host downloads batch output and videos from it exactly as it would from Google, so the example
/// functions get real files with no network and no API key; batches created here (`jobs`) report
/// back to the demo host with a signed `batch.succeeded`.
struct DemoAPI: HTTPResponder {
    /// The key the demo host is given; a request without it is refused like the real API would.
    static let apiKey = "demo-api-key"

    /// Created batches and interactions.
    let jobs: StandInJobs
    /// Project webhooks (WebhookService), for `hookhost webhooks` pointed at the demo.
    let webhooks = StandInWebhooks()

    /// `secret` signs the `batch.succeeded` of created batches, sent to `webhook` (the demo host)
    /// unless the batch names its own URIs.
    init(secret: WebhookSecret, webhook: String) {
        // The keys the demo's batch output fails (`batchOutput`): resubmitted, they go through.
        let failed = (1...40).filter { $0 % 9 == 0 }.map { "request-\($0)" }
        jobs = StandInJobs(secret: secret, projectWebhook: webhook, failedBefore: failed)
    }

    func respond(to request: HTTPRequest, _ respond: @escaping @Sendable (HTTPResponse) -> Void) {
        guard request.header("x-goog-api-key") == DemoAPI.apiKey else {
            return respond(.json(401, Array(#"{"error":{"code":401,"message":"API key not valid"}}"#.utf8)))
        }
        if let answer = webhooks.answer(request) { return respond(answer) }
        if let answer = jobs.answer(request) { return respond(answer) }
        let path = request.path
        if path.hasPrefix("/download/v1beta/files/"), let name = path.split(separator: "/").last?.split(separator: ":").first {
            if name.hasPrefix("input-") {
                return respond(HTTPResponse(status: 200, headers: [("Content-Type", "application/jsonl")], body: DemoAPI.batchInput()))
            }
            if name.hasPrefix("batch-") {
                return respond(HTTPResponse(status: 200, headers: [("Content-Type", "application/jsonl")], body: DemoAPI.batchOutput()))
            }
            if name.hasPrefix("video-") {
                return respond(HTTPResponse(status: 200, headers: [("Content-Type", "video/mp4")], body: DemoAPI.video()))
            }
            return respond(.json(404, Array(#"{"error":{"code":404,"message":"file not found"}}"#.utf8)))
        }
        if path.hasPrefix("/v1beta/batches/") || path.hasPrefix("/v1/batches/"), let id = path.split(separator: "/").last {
            // The input is named so a function can find a failed key's request (`batchInput`).
            let doc = #"{"name":"batches/\#(id)","metadata":{"model":"models/gemini-2.5-flash","inputConfig":{"fileName":"files/input-\#(id)"},"state":"BATCH_STATE_SUCCEEDED"},"response":{"inlinedResponses":{"inlinedResponses":[{"response":{"candidates":[{"content":{"parts":[{"text":"inline answer"}]}}]}}]}}}"#
            return respond(.json(200, Array(doc.utf8)))
        }
        respond(.json(404, Array(#"{"error":{"code":404,"message":"not found"}}"#.utf8)))
    }

    /// A batch output file as Gemini writes it: one JSON object per line, keyed, a few errors.
    static func batchOutput() -> [UInt8] {
        var out = ""
        for i in 1...40 {
            if i % 9 == 0 {
                out += #"{"key":"request-\#(i)","error":{"code":429,"message":"Resource has been exhausted"}}"# + "\n"
            } else {
                out += #"{"response":{"candidates":[{"content":{"parts":[{"text":"answer \#(i)"}],"role":"model"},"finishReason":"STOP"}]},"key":"request-\#(i)"}"# + "\n"
            }
        }
        return Array(out.utf8)
    }

    /// The input file `batchOutput` answers: one `{"key":…,"request":{…}}` per line.
    static func batchInput() -> [UInt8] {
        var out = ""
        for i in 1...40 {
            out += #"{"key":"request-\#(i)","request":{"contents":[{"parts":[{"text":"question \#(i)"}],"role":"user"}]}}"# + "\n"
        }
        return Array(out.utf8)
    }

    /// Enough of an MP4 to be recognised as one (`ftyp` box), then filler.
    static func video() -> [UInt8] {
        var b: [UInt8] = [0, 0, 0, 0x18] + Array("ftypmp42".utf8) + [0, 0, 0, 0] + Array("mp42isom".utf8)
        b += (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        return b
    }
}
