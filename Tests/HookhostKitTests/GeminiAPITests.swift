import Glibc
import Synchronization
import Testing
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookFetch
@testable import HookhostKit

@Suite struct GeminiAPITests {
    static let base = FetchURL("http://127.0.0.1:9/prefix/")!

    @Test func versionsAreCheckedStrictly() {
        for ok in ["v1", "v1beta", "v1alpha", "v2", "v2beta3", "v10alpha"] { #expect(GeminiAPI.isValidVersion(ok), "\(ok)") }
        for bad in ["", "v", "1", "V1", "v1/../x", "v1beta/", "v1gamma", "v1 ", "v1%2F", "..", "v99999", "v1beta12345"] {
            #expect(!GeminiAPI.isValidVersion(bad), "\(bad)")
        }
    }

    @Test func aMissingKeyOrABadVersionIsRefused() {
        #expect(throws: GeminiAPIError.missingKey) { try GeminiAPI(base: Self.base, version: "v1", apiKey: nil) }
        #expect(throws: GeminiAPIError.missingKey) { try GeminiAPI(base: Self.base, version: "v1", apiKey: "") }
        #expect(throws: GeminiAPIError.badVersion("v1/..")) { try GeminiAPI(base: Self.base, version: "v1/..", apiKey: "k") }
        #expect(GeminiAPIError.missingKey.description.contains("GEMINI_API_KEY"))
    }

    @Test func idsAndQueriesArePercentEncoded() throws {
        let api = try GeminiAPI(base: Self.base, version: "v1", apiKey: "secret-key")
        #expect(api.url(GeminiAPI.path("webhooks")) == "http://127.0.0.1:9/prefix/v1/webhooks")
        #expect(api.url(GeminiAPI.path("webhooks", "abc_1-2.3~", method: "ping")) == "http://127.0.0.1:9/prefix/v1/webhooks/abc_1-2.3~:ping")
        #expect(GeminiAPI.path("webhooks", "a/b?c#d:e") == "webhooks/a%2Fb%3Fc%23d%3Ae")
        #expect(GeminiAPI.path("webhooks", "..") == "webhooks/%2E%2E")
        #expect(GeminiAPI.path("webhooks", "é") == "webhooks/%C3%A9")
        #expect(GeminiAPI.path(name: "batches/x y") == "batches/x%20y")
        #expect(GeminiAPI.path(name: "operations/../secret") == "operations/%2E%2E/secret")
        #expect(api.url("webhooks", query: [("update_mask", "uri,name"), ("page_token", "a+b=&c")])
                == "http://127.0.0.1:9/prefix/v1/webhooks?update_mask=uri%2Cname&page_token=a%2Bb%3D%26c")
        #expect(!api.description.contains("secret-key"))
    }

    @Test func errorsCarryGeminisStatusAndMessage() {
        let call = GeminiAPIError.Call(method: "POST", path: "/v1/webhooks")
        let body = Array(#"{"error":{"code":403,"message":"Permission denied on project","status":"PERMISSION_DENIED"}}"#.utf8)
        #expect(throws: GeminiAPIError.api(call, status: 403, message: "Permission denied on project", apiStatus: "PERMISSION_DENIED")) {
            try GeminiAPI.interpret(status: 403, body: body, call: call)
        }
        let e = GeminiAPIError.api(call, status: 403, message: "Permission denied on project", apiStatus: "PERMISSION_DENIED")
        #expect(e.description == "POST /v1/webhooks: Gemini answered HTTP 403 PERMISSION_DENIED: Permission denied on project")
        #expect(e.httpStatus == 403)
        // A proxy's HTML page: the status and a printable snippet.
        #expect(throws: GeminiAPIError.api(call, status: 502, message: "<html> bad gateway", apiStatus: nil)) {
            try GeminiAPI.interpret(status: 502, body: Array("<html>\nbad gateway".utf8), call: call)
        }
        #expect(throws: GeminiAPIError.notJSON(call, status: 200, snippet: "ok")) {
            try GeminiAPI.interpret(status: 200, body: Array("ok".utf8), call: call)
        }
        #expect((try? GeminiAPI.interpret(status: 200, body: [], call: call)) == .object([]))
        #expect((try? GeminiAPI.interpret(status: 200, body: Array(#"{"a":"b"}"#.utf8), call: call))?["a"]?.stringValue == "b")
    }

    @Test func theKeyEchoedByAServerIsRedacted() {
        let call = GeminiAPIError.Call(method: "GET", path: "/v1/webhooks")
        let e = GeminiAPIError.api(call, status: 400, message: "bad key sekrit-123", apiStatus: nil).redacting("sekrit-123")
        #expect(!e.description.contains("sekrit-123"))
    }

    @Test func anErrorPageQuotingTheKeyIsRedactedBeforeItIsCut() {
        let key = "AIzaSecretKey0123456789"
        let call = GeminiAPIError.Call(method: "GET", path: "/v1/batches")
        // 195 characters before the key: a 200-character snippet would end inside it.
        let body = Array(("<html>" + String(repeating: "x", count: 189) + key + "</html>").utf8)
        do {
            _ = try GeminiAPI.interpret(status: 403, body: body, call: call, key: key)
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("AIza"), "\(error.description)")
        }
        // A 2xx body is data: kept byte for byte, even where it holds the key's text.
        #expect((try? GeminiAPI.interpret(status: 200, body: Array(#"{"a":"\#(key)"}"#.utf8), call: call, key: key))?["a"]?.stringValue == key)
    }

    @Test func bothSpellingsOfTheNextPageTokenAreRead() throws {
        #expect(GeminiAPI.nextPageToken(try JSONParser.parse(#"{"next_page_token":"t1"}"#)) == "t1")
        #expect(GeminiAPI.nextPageToken(try JSONParser.parse(#"{"nextPageToken":"t2"}"#)) == "t2")
        #expect(GeminiAPI.nextPageToken(try JSONParser.parse(#"{"nextPageToken":""}"#)) == nil)
        #expect(GeminiAPI.nextPageToken(try JSONParser.parse(#"{}"#)) == nil)
    }

    @Test func aRefusedConnectionIsAConnectionError() throws {
        // Port 9 on loopback (discard) is closed here: nothing answers.
        let api = try GeminiAPI(base: Self.base, version: "v1", apiKey: "k")
        do {
            _ = try api.request("GET", "webhooks")
            Issue.record("expected a connection error")
        } catch {
            guard case .connection(let call, _) = error else { Issue.record("got \(error)"); return }
            #expect(call.description == "GET /v1/webhooks")
        }
    }

    @Test func theVersionSettingDefaultsToV1AndIsValidated() throws {
        #expect(try HostConfig.load(environment: [:], arguments: []).apiVersion == "v1")
        #expect(try HostConfig.load(environment: ["HOOKHOST_API_VERSION": "v1beta"], arguments: []).apiVersion == "v1beta")
        #expect(throws: ConfigError.self) { try HostConfig.load(environment: ["HOOKHOST_API_VERSION": "v1/../x"], arguments: []) }
    }

    /// Pages by either spelling of the token, as a server answers them; records what it was asked.
    final class Pages: HTTPResponder {
        let seen = Mutex<[String]>([])
        let camel: Bool
        let loop: Bool
        init(camel: Bool, loop: Bool = false) { self.camel = camel; self.loop = loop }
        func respond(to request: HTTPRequest, _ respond: @escaping @Sendable (HTTPResponse) -> Void) {
            seen.withLock { $0.append(request.target + " key=" + (request.header("x-goog-api-key") ?? "-")) }
            let next = loop ? "again" : request.target.contains("oken=p2") ? "" : request.target.contains("oken=p1") ? "p2" : "p1"
            let tokenName = camel ? "nextPageToken" : "next_page_token"
            respond(.json(200, Array(#"{"items":[{"n":"\#(request.target)"}],"\#(tokenName)":"\#(next)"}"#.utf8)))
        }
    }

    /// One answer for every request.
    final class Fixed: HTTPResponder {
        let body: String
        init(_ body: String) { self.body = body }
        func respond(to request: HTTPRequest, _ respond: @escaping @Sendable (HTTPResponse) -> Void) {
            respond(.json(200, Array(body.utf8)))
        }
    }

    func withServer(_ responder: any HTTPResponder, _ body: (FetchURL) throws -> Void) throws {
        let (listener, port) = try Listener.open(.inet(host: "127.0.0.1", port: 0))
        defer { close(listener) }
        let server = try HTTPServer(listeners: [listener], loops: 1, config: HTTPServerConfig(), responder: responder, logger: quietLogger)
        server.start()
        defer { server.stop(); server.join() }
        try body(FetchURL("http://127.0.0.1:\(port)")!)
    }

    @Test func thePagerFollowsBothSpellingsToTheEnd() throws {
        for camel in [false, true] {
            let pages = Pages(camel: camel)
            try withServer(pages) { base in
                let api = try GeminiAPI(base: base, version: "v1", apiKey: "the-key")
                let items = try api.list(camel ? "batches" : "webhooks", items: "items", style: camel ? .camel : .snake, pageSize: 2)
                #expect(items.count == 3)
                let asked = pages.seen.withLock { $0 }
                #expect(asked == (camel
                    ? ["/v1/batches?pageSize=2 key=the-key", "/v1/batches?pageSize=2&pageToken=p1 key=the-key", "/v1/batches?pageSize=2&pageToken=p2 key=the-key"]
                    : ["/v1/webhooks?page_size=2 key=the-key", "/v1/webhooks?page_size=2&page_token=p1 key=the-key", "/v1/webhooks?page_size=2&page_token=p2 key=the-key"]))
            }
        }
    }

    @Test func aServerThatRepeatsATokenStopsThePager() throws {
        try withServer(Pages(camel: false, loop: true)) { base in
            let api = try GeminiAPI(base: base, version: "v1", apiKey: "k")
            #expect(throws: GeminiAPIError.paging(path: "/v1/webhooks", reason: "the server repeated page token \"again\"")) {
                try api.pages("webhooks", style: .snake)
            }
        }
    }

    @Test func aPageThatIsNotAListingIsAnErrorNotAnEmptyList() throws {
        for (answer, reason) in [("[1,2]", "a page is not a JSON object"), (#"{"webhooks":"none"}"#, "\"webhooks\" in a page is not a list")] {
            try withServer(Fixed(answer)) { base in
                let api = try GeminiAPI(base: base, version: "v1", apiKey: "k")
                #expect(throws: GeminiAPIError.paging(path: "/v1/webhooks", reason: reason)) {
                    try api.list("webhooks", items: "webhooks", style: .snake)
                }
            }
        }
        try withServer(Fixed("{}")) { base in
            let none = try GeminiAPI(base: base, version: "v1", apiKey: "k").list("webhooks", items: "webhooks", style: .snake)
            #expect(none.isEmpty)
        }
    }
}
