import Glibc
import HookhostKit
import HookSupport
import HookHTTP
import HookFetch

/// `webhooks ping ID --wait S`: "is my endpoint reachable and is my secret right?" answered end
/// to end — Gemini sends, the running host verifies and stores, the CLI sees it in the spool.
extension WebhooksCommand {
    static let defaultPingType = "webhook.ping"

    static func ping(_ a: Arguments, _ s: Settings, id: String) throws -> Int32 {
        var wait: Double?
        if let text = a.options["--wait"] {
            guard text.utf8.count <= 4, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Double(text), n >= 1, n <= 3600 else {
                throw UsageError("--wait takes whole seconds, 1 … 3600, not \"\(text)\"")
            }
            wait = n
        }
        let type = a.options["--type"] ?? defaultPingType
        guard !type.isEmpty, type.utf8.count <= 200 else { throw UsageError("--type takes an event type") }
        guard let wait else {
            _ = try s.api.request("POST", GeminiAPI.path("webhooks", id, method: "ping"))
            print("asked Gemini to ping webhook \(id); add --wait 30 to see it arrive at the host")
            return 0
        }
        // The host first: with none running there is nothing to watch, and Gemini is not asked.
        guard case .running = ServerProbe.check(s.data, create: false) else {
            throw RuntimeError("no hookhost serve is running with data directory \(s.data) (its control socket DATA/control.sock): start the host, or give its --data / HOOKHOST_DATA")
        }
        let host = HostWatch(data: s.data)
        // Its control socket next: a host that holds the lock but cannot answer (socket removed,
        // process stopped) could not show the ping, so Gemini is not asked for one.
        do { _ = try host.control("/status", timeout: 5) } catch {
            throw RuntimeError("\((error as? RuntimeError)?.message ?? "\(error)"); Gemini was not asked to ping (restart the host, or see why it does not answer)")
        }
        let unauthorizedBefore = host.unauthorizedCount()
        // Whole seconds, rounded down: the spool's `since` compares with the delivery's received_at.
        let since = (SystemClock().now() - 1).rounded(.down)
        _ = try s.api.request("POST", GeminiAPI.path("webhooks", id, method: "ping"))
        print("asked Gemini to ping webhook \(id); waiting up to \(formatSeconds(wait)) s for it at the host")
        let deadline = monotonicNow() + wait
        let pause = Monitor()
        while true {
            if let delivery = try host.delivery(type: type, since: since) {
                print("ping arrived and verified: delivery \(delivery.id) (\(type)) received at \(delivery.receivedAt) — the endpoint is reachable and the secret is right")
                return 0
            }
            if monotonicNow() >= deadline { break }
            // A bounded pause between polls (a condition wait: nothing signals it).
            pause.locked { pause.wait(seconds: min(0.2, max(0, deadline - monotonicNow()))) }
        }
        switch (unauthorizedBefore, host.unauthorizedCount()) {
        case (.success(let before), .success(let after)) where after > before:
            throw RuntimeError("the ping reached the host but its signature was rejected (\(after - before) unauthorized since the ping): the host's secrets do not include webhook \(id)'s current secret; rotate it (hookhost webhooks rotate \(id)) so the new one is written to the secrets file")
        case (.success, .success):
            throw RuntimeError("no ping arrived within \(formatSeconds(wait)) s and the host refused nothing meanwhile: Gemini could not reach the webhook's uri (is it public, is TLS valid, does it route to this host's listener and path?)")
        case (.failure(let why), _), (_, .failure(let why)):
            throw RuntimeError("no verified ping arrived within \(formatSeconds(wait)) s: either Gemini could not reach the webhook's uri, or the host rejected its signature (see the host's log for \"unauthorized\"); which one could not be told: the host's unauthorized counter could not be read — \(why.message)")
        }
    }

    static func formatSeconds(_ s: Double) -> String {
        s == s.rounded() ? String(Int(s)) : String(s)
    }
}

/// The running host, seen through its control socket (deliveries, status) and metrics.
struct HostWatch {
    let data: String

    struct Delivery {
        let id: String
        let receivedAt: String
    }

    func control(_ path: String, timeout: Double = 10) throws -> JSON {
        var req = ClientRequest(method: "GET", url: "http://hookhost" + path)
        req.timeout = timeout
        let r: ClientResponse
        do {
            r = try ControlSocketPath.withShortPath(data) { sock in
                req.unixSocket = sock
                return try HTTPClient.perform(req)
            }
        } catch {
            throw RuntimeError("the host holds \(data) but its control socket does not answer: \(error)")
        }
        guard r.status == 200, let doc = try? JSONParser.parse(r.body) else {
            throw RuntimeError("the host's control socket answered HTTP \(r.status) to GET \(path)")
        }
        return doc
    }

    /// The first delivery of `type` received at or after `since` (the control API's filters).
    func delivery(type: String, since: Double) throws -> Delivery? {
        let doc = try control("/deliveries?type=\(ControlEndpoint.percentEncode(type))&since=\(Int(since))")
        guard let first = doc["deliveries"]?.arrayValue?.first(where: { $0["type"]?.stringValue == type }) else { return nil }
        return Delivery(id: first["id"]?.stringValue ?? "?", receivedAt: first["received_at"]?.stringValue ?? "?")
    }

    /// `hookhost_deliveries_total{outcome="unauthorized"}` from the host's /metrics (found through
    /// its status: the admin listener if set, else the main one), or why it could not be read.
    func unauthorizedCount() -> Result<Int, RuntimeError> {
        let status: JSON
        do { status = try control("/status") } catch {
            return .failure(RuntimeError("its status did not answer: \((error as? RuntimeError)?.message ?? "\(error)")"))
        }
        guard let listen = status["listen"]?.stringValue else { return .failure(RuntimeError("its status names no listen address")) }
        let env = environment()
        let address = env["HOOKHOST_ADMIN_LISTEN"].flatMap { $0.isEmpty ? nil : $0 } ?? listen
        guard let base = Self.metricsBase(address, tls: env["HOOKHOST_TLS_CERT"].map { !$0.isEmpty } ?? false) else {
            return .failure(RuntimeError("no metrics address in \"\(address)\" (HOOKHOST_ADMIN_LISTEN or the host's listen address)"))
        }
        var req = ClientRequest(method: "GET", url: base + "/metrics")
        if base.hasPrefix("unix:") { req = ClientRequest(method: "GET", url: "http://hookhost/metrics"); req.unixSocket = String(base.dropFirst(5)) }
        req.timeout = 5
        let r: ClientResponse
        do { r = try HTTPClient.perform(req) } catch { return .failure(RuntimeError("\(base)/metrics: \(error)")) }
        guard r.status == 200 else { return .failure(RuntimeError("\(base)/metrics answered HTTP \(r.status) (HOOKHOST_ADMIN_LISTEN)")) }
        guard let n = Self.counter(r.bodyText, name: "hookhost_deliveries_total", label: "outcome=\"unauthorized\"") else {
            return .failure(RuntimeError("\(base)/metrics has no hookhost_deliveries_total{outcome=\"unauthorized\"}"))
        }
        return .success(n)
    }

    /// `http://127.0.0.1:PORT` for a listen address (any-address becomes loopback); `unix:/path` kept.
    static func metricsBase(_ listen: String, tls: Bool) -> String? {
        if listen.hasPrefix("unix:") { return listen }
        guard let colon = listen.lastIndex(of: ":") else { return nil }
        var host = String(listen[..<colon])
        let port = listen[listen.index(after: colon)...]
        if host == "0.0.0.0" || host.isEmpty { host = "127.0.0.1" }
        if host == "[::]" { host = "[::1]" }
        return (tls ? "https://" : "http://") + host + ":" + port
    }

    /// The value of one labelled counter in Prometheus text; nil when absent.
    static func counter(_ text: String, name: String, label: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") && line.contains(label) {
            if let value = line.split(separator: " ").last, let n = Double(value) { return Int(n) }
        }
        return nil
    }
}
