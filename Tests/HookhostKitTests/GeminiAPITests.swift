import Testing
@testable import HookSupport
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
}
