import Glibc
import HookhostKit

/// `hookhost send`: signs one delivery like Gemini does and POSTs it.
enum SendCommand {
    static let help = """
    hookhost send URL --type T [--data JSON | --body FILE] [--secret whsec_…] [--id ID] [--timestamp UNIX]

      --type T         event type (batch.succeeded, video.generated, …)
      --data JSON      the event's "data" object; the envelope (type, version, timestamp) is added
      --body FILE      send this file as the body instead, byte for byte ("-" reads stdin);
                       over 32 MiB (the largest HOOKHOST_MAX_BODY) it is refused, never cut short
      --secret S       signing secret (default: the first of HOOKHOST_SECRETS)
      --id ID          webhook-id (default: a fresh msg_… id)
      --timestamp T    webhook-timestamp in Unix seconds (default: now)
      --jwt-key, --kid dynamic-webhook signing (not available yet)
    Prints the HTTP status and answer; exits 0 on 2xx, 1 otherwise.
    """

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: ["--type", "--data", "--body", "--secret", "--id", "--timestamp", "--jwt-key", "--kid"])
        try a.expectPositional(atMost: 1, "send")
        guard let url = a.positional.first else { throw UsageError("send needs a URL") }
        if a.options["--jwt-key"] != nil { throw UsageError("--jwt-key: dynamic (JWT) signing is not available yet; use --secret") }
        let body: [UInt8]
        if let file = a.options["--body"] {
            guard a.options["--data"] == nil else { throw UsageError("use either --data or --body") }
            body = try BodyFile.contents(of: file)
        } else {
            guard let type = a.options["--type"] else { throw UsageError("send needs --type (or --body FILE)") }
            let data = a.options["--data"] ?? "{}"
            guard let parsed = try? JSONParser.parse(data), parsed.isObject else { throw UsageError("--data must be a JSON object") }
            body = SignedDelivery.envelope(type: type, data: data, at: SystemClock().now())
        }
        guard let secretText = a.options["--secret"] ?? environment()["HOOKHOST_SECRETS"]?.split(whereSeparator: { $0 == " " || $0 == "," }).first.map(String.init) else {
            throw UsageError("send needs --secret whsec_… (or HOOKHOST_SECRETS)")
        }
        let secret: WebhookSecret
        do { secret = try WebhookSecret(secretText) } catch { throw UsageError("--secret: \(error)") }
        let id = a.options["--id"] ?? "msg_" + hexString(Crypto.randomBytes(12))
        let timestamp = a.options["--timestamp"] ?? String(Int(SystemClock().now()))
        guard timestamp.allSatisfy(\.isNumber) else { throw UsageError("--timestamp must be Unix seconds") }
        let req = SignedDelivery.request(url: url, secret: secret, id: id, timestamp: timestamp, body: body)
        HTTPClient.globalInit()
        let resp: ClientResponse
        do { resp = try HTTPClient.perform(req) } catch { throw RuntimeError("send failed: \(error)") }
        print("\(resp.status) \(resp.bodyText.trimmingNewlines)")
        return (200..<300).contains(resp.status) ? 0 : 1
    }
}

extension String {
    var trimmingNewlines: String {
        var s = Substring(self)
        while s.last == "\n" || s.last == "\r" { s = s.dropLast() }
        return String(s)
    }
}
