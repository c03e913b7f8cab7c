import Dispatch
import Glibc
import Synchronization
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// The endpoint stores what the authenticator verified, whenever and on whichever thread it answers.
@Suite struct DeliveryEndpointTests {
    func post(_ endpoint: DeliveryEndpoint, body: String, headers: [(String, String)]) -> HTTPResponse {
        let req = HTTPRequest(method: "POST", target: "/webhooks", headers: headers.map { (name: $0.0, value: $0.1) }, body: bytes(body))
        let sem = DispatchSemaphore(value: 0)
        let box = Mutex<HTTPResponse?>(nil)
        endpoint.respond(to: req) { r in box.withLock { $0 = r }; sem.signal() }
        sem.wait()
        return box.withLock { $0! }
    }

    func endpoint(_ auth: any Authenticator, _ store: any DeliveryStorage) -> DeliveryEndpoint {
        DeliveryEndpoint(path: "/webhooks", authenticator: auth, spool: store, metrics: Metrics(), logger: quietLogger, functionsReady: { true })
    }

    @Test func jwtDeliveryVerifiedLaterIsStoredWithItsIdentity() throws {
        let identity = JWTIdentity(keyID: "k1", claims: bytes(#"{"a":1}"#))
        let verified = VerifiedDelivery(id: "jwt-1", timestamp: nil, verifiedBy: .jwt, jwt: identity)
        let store = MemoryDeliveryStore()
        let r = post(endpoint(DeferredAuthenticator(answer: .success(verified)), store), body: #"{"type":"ping"}"#,
                     headers: [("webhook-id", "jwt-1"), ("webhook-signature", "a.b.c")])
        #expect(r.status == 202)
        let shown = try #require(store.show("jwt-1"))
        #expect(shown.info.verifiedBy == .jwt && shown.jwt == identity)
    }

    @Test func rejectionIsNamedAndBusyIs503() {
        let store = MemoryDeliveryStore()
        let r = post(endpoint(DeferredAuthenticator(answer: .failure(.jwt(.badSignature))), store), body: "{}", headers: [])
        #expect(r.status == 401 && String(decoding: r.body, as: UTF8.self).contains("JWT signature does not verify"))
        let b = post(endpoint(DeferredAuthenticator(answer: .failure(.busy("too many waiting"))), store), body: "{}", headers: [])
        #expect(b.status == 503 && b.headers.contains { $0.0 == "Retry-After" })
        #expect(store.list().isEmpty)
    }

    /// `hookhost drain` leaves the host running: its 503s and readiness say "draining", and only
    /// a SIGTERM (even one after a drain) says "shutting down".
    @Test func aDrainSaysDrainingAndAShutdownSaysShuttingDown() {
        let store = MemoryDeliveryStore()
        let e = endpoint(AcceptingAuthenticator(), store)
        #expect(e.readinessProblems().isEmpty)
        func refusal() -> String {
            let r = post(e, body: #"{"type":"ping"}"#, headers: [("webhook-id", "d-1")])
            #expect(r.status == 503 && r.headers.contains { $0.0 == "Retry-After" })
            return String(decoding: r.body, as: UTF8.self)
        }
        e.startDraining(.drain)
        #expect(e.readinessProblems() == ["draining"])
        #expect(refusal().contains("draining; retry later"))
        e.startDraining(.shutdown)
        e.startDraining(.drain)
        #expect(e.readinessProblems() == ["shutting down"])
        #expect(refusal().contains("shutting down; retry later"))
        #expect(store.list().isEmpty)
    }

    /// The spool's writer learns that a delivery is durable; it must only hand that over. The
    /// answer, the count and the log line are made on the connection's own event loop: on the
    /// writer, a slow one of them delayed every later commit.
    @Test func anAdmissionIsAnsweredAndLoggedOnItsLoopNotOnTheSpoolWriter() throws {
        let dir = makeTempDir("endpoint")
        defer { FileSystem.removeTree(dir) }
        let spool = try openSpool(dir)
        defer { spool.stopTaking(); spool.stopWriter() }
        let clock = ThreadRecordingClock()
        let metrics = Metrics()
        let endpoint = DeliveryEndpoint(path: "/webhooks", authenticator: AcceptingAuthenticator(), spool: spool, metrics: metrics,
                                        logger: Logger(level: .info, clock: clock, fd: open("/dev/null", O_WRONLY | O_CLOEXEC)),
                                        functionsReady: { true })
        let (listener, port) = try Listener.open(.inet(host: "127.0.0.1", port: 0))
        defer { close(listener) }
        let server = try HTTPServer(listeners: [listener], loops: 1, config: HTTPServerConfig(), responder: endpoint, logger: quietLogger)
        server.start()
        defer { server.stop(); server.join() }

        let body = #"{"type":"ping"}"#
        let answer = exchange(port, "POST /webhooks HTTP/1.1\r\nHost: x\r\nwebhook-id: on-loop-1\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        #expect(answer.hasPrefix("HTTP/1.1 202"), "answer: \(answer)")
        // The endpoint's logger reads its clock once per line, on the thread that makes the line.
        #expect(eventually(500) { !clock.threads.isEmpty }, "the delivery was never logged")
        #expect(clock.threads == ["http-0"])
        #expect(metrics.render().contains(#"hookhost_deliveries_total{outcome="accepted"} 1"#))
    }

    /// Sends `request` to 127.0.0.1:`port` and reads the answer until the server closes (bounded
    /// by a 10 s receive timeout).
    func exchange(_ port: UInt16, _ request: String) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { return "connect failed: errno \(errno)" }
        let out = Array(request.utf8)
        guard out.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == out.count else { return "send failed" }
        var got: [UInt8] = [], buf = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<1_000 {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            got += buf[0..<n]
        }
        return String(decoding: got, as: UTF8.self)
    }
}

/// Accepts every delivery at once (on the calling thread) as HMAC-verified.
struct AcceptingAuthenticator: Authenticator {
    func authenticate(_ m: WebhookMessage, completion: @escaping @Sendable (Result<VerifiedDelivery, AuthenticationError>) -> Void) {
        completion(.success(VerifiedDelivery(id: m.id ?? "", timestamp: m.timestamp, verifiedBy: .hmac)))
    }
}

/// The system time, noting the name of each thread that asks for it.
final class ThreadRecordingClock: WallClock {
    private let names = Mutex<[String]>([])
    func now() -> Double {
        let name = currentThreadName()
        names.withLock { $0.append(name) }
        return SystemClock().now()
    }
    var threads: [String] { names.withLock { $0 } }
}
