import Glibc
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

/// `hookhost send`: signs one delivery like Gemini does and POSTs it.
enum SendCommand {
    static let help = """
    hookhost send URL --type T [--data JSON | --body FILE] [--secret whsec_… | --jwt-key PEM --kid K [--aud A]]
                  [--id ID] [--timestamp UNIX]

      --type T         event type (batch.succeeded, video.generated, …)
      --data JSON      the event's "data" object; the envelope (type, version, timestamp) is added
      --body FILE      send this file as the body instead, byte for byte ("-" reads stdin);
                       over 32 MiB (the largest HOOKHOST_MAX_BODY) it is refused, never cut short
      --secret S       signing secret (default: the first of HOOKHOST_SECRETS)
      --id ID          webhook-id (default: a fresh msg_… id)
      --timestamp T    webhook-timestamp in Unix seconds (default: now)
      --jwt-key PEM    sign like a dynamic (per-job) webhook: an RS256 JWT made with this private
                       key (hookhost keys new) instead of an HMAC; needs --kid
      --kid K          the key's kid, as in the JWKS (printed by hookhost keys new)
      --aud A          put this audience in the token's aud claim (see HOOKHOST_AUDIENCE)
    Prints the HTTP status and answer; exits 0 on 2xx, 1 otherwise.
    """

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: ["--type", "--data", "--body", "--secret", "--id", "--timestamp", "--jwt-key", "--kid", "--aud"])
        try a.expectPositional(atMost: 1, "send")
        guard let url = a.positional.first else { throw UsageError("send needs a URL") }
        let jwtKey = try jwtSigningKey(a)
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
        let id = a.options["--id"] ?? "msg_" + hexString(Crypto.randomBytes(12))
        let timestamp = a.options["--timestamp"] ?? String(Int(SystemClock().now()))
        guard WebhookVerifier.isTimestampSyntax(timestamp) else {
            throw UsageError("--timestamp must be Unix seconds (1 to 12 ASCII digits), got \"\(timestamp)\"")
        }
        let req: ClientRequest
        if let (key, kid) = jwtKey {
            req = SignedDelivery.jwtRequest(url: url, key: key, kid: kid, audience: a.options["--aud"], id: id, timestamp: timestamp, body: body)
        } else {
            guard let secretText = a.options["--secret"] ?? environment()["HOOKHOST_SECRETS"]?.split(whereSeparator: { $0 == " " || $0 == "," }).first.map(String.init) else {
                throw UsageError("send needs --secret whsec_… (or HOOKHOST_SECRETS), or --jwt-key PEM --kid K")
            }
            let secret: WebhookSecret
            do { secret = try WebhookSecret(secretText) } catch { throw UsageError("--secret: \(error)") }
            req = SignedDelivery.request(url: url, secret: secret, id: id, timestamp: timestamp, body: body)
        }
        let resp: ClientResponse
        do { resp = try HTTPClient.perform(req) } catch { throw RuntimeError("send failed: \(error)") }
        print("\(resp.status) \(resp.bodyText.trimmingNewlines)")
        return (200..<300).contains(resp.status) ? 0 : 1
    }
}

/// The private key and kid of `--jwt-key`/`--kid`, or nil when signing with a secret.
func jwtSigningKey(_ a: Arguments) throws -> (RSAPrivateKey, String)? {
    guard let path = a.options["--jwt-key"] else {
        if a.options["--kid"] != nil || a.options["--aud"] != nil { throw UsageError("--kid and --aud need --jwt-key") }
        return nil
    }
    guard a.options["--secret"] == nil else { throw UsageError("use either --secret or --jwt-key") }
    guard let kid = a.options["--kid"] else { throw UsageError("--jwt-key needs --kid (printed by hookhost keys new)") }
    guard KeyID.isSafe(kid) else { throw UsageError("--kid: use 1-128 characters of A-Z a-z 0-9 . _ - (not starting with a dot)") }
    let pem: [UInt8]
    do { pem = try SmallFile.read(path, limit: 1 << 20) } catch { throw UsageError("--jwt-key: \(error)") }
    let key: RSAPrivateKey
    do { key = try RSAPrivateKey(pem: pem) } catch { throw UsageError("--jwt-key \(path): \(error)") }
    // Still signed (a test of the refusal may want it), but said: the host answers 401.
    do { _ = try RSAPublicKey(modulus: key.modulus, exponent: key.exponent) } catch {
        CLI.fail("warning: --jwt-key \(path): \(error); hookhost refuses this key, so the delivery will be answered 401")
    }
    return (key, kid)
}

extension String {
    var trimmingNewlines: String {
        var s = Substring(self)
        while s.last == "\n" || s.last == "\r" { s = s.dropLast() }
        return String(s)
    }
}
