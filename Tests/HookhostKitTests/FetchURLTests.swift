import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct FetchURLTests {
    @Test func parsesAndNormalises() throws {
        let u = try #require(FetchURL("HTTPS://Generativelanguage.GoogleAPIs.com/v1beta/files/x:download?alt=media#frag"))
        #expect(u.scheme == "https")
        #expect(u.host == "generativelanguage.googleapis.com")
        #expect(u.port == 443)
        #expect(u.target == "/v1beta/files/x:download?alt=media")
        #expect(u.string == "https://generativelanguage.googleapis.com/v1beta/files/x:download?alt=media")
        #expect(u.redacted == "https://generativelanguage.googleapis.com/v1beta/files/x:download")
        #expect(FetchURL("http://127.0.0.1:8080")?.target == "/")
        #expect(FetchURL("http://h:8080?q=1")?.target == "/?q=1")
        #expect(FetchURL("http://h:80/")?.string == "http://h/")
        #expect(FetchURL("http://[::1]:9/x")?.host == "[::1]")
        #expect(FetchURL("http://h:9/")?.origin == "http://h:9")
    }

    @Test(arguments: [
        "https://generativelanguage.googleapis.com@evil.example/x",  // user-info hides the real host
        "https://evil.example\\@generativelanguage.googleapis.com/",
        "https://exa mple.com/", "https://exämple.com/", "ftp://h/x", "file:///etc/passwd", "//h/x",
        "https:///x", "https://h:0/", "https://h:65536/", "https://h:12a/", "https://[::1/x", "https://h%2e/",
        "https://h/\r\nX-Injected: 1", "",
    ])
    func rejectsAmbiguousURLs(_ text: String) {
        #expect(FetchURL(text) == nil)
    }

    @Test func resolvesLocations() throws {
        let base = try #require(FetchURL("https://api.test/download/v1beta/files/a:download?alt=media"))
        #expect(base.resolving(location: "https://cdn.test/x?sig=1")?.string == "https://cdn.test/x?sig=1")
        #expect(base.resolving(location: "//cdn.test:8443/x")?.string == "https://cdn.test:8443/x")
        #expect(base.resolving(location: "/other?x=1")?.string == "https://api.test/other?x=1")
        #expect(base.resolving(location: "?alt=json")?.string == "https://api.test/download/v1beta/files/a:download?alt=json")
        #expect(base.resolving(location: "c.json")?.string == "https://api.test/download/v1beta/files/c.json")
        #expect(base.resolving(location: "b:download") == nil)  // RFC 3986: "b:" is a scheme
        #expect(base.resolving(location: "file:///etc/passwd") == nil)
        #expect(base.resolving(location: "ftp://h/x") == nil)
        #expect(base.resolving(location: "") == nil)
        #expect(base.resolving(location: "https://a@evil.test/") == nil)
    }

    @Test func encodesOneSegment() {
        #expect(FetchURL.encodeSegment("dir/a b+c~_.-.jsonl") == "dir%2Fa%20b%2Bc~_.-.jsonl")
        #expect(FetchURL.encodeSegment("é?#") == "%C3%A9%3F%23")
    }
}
