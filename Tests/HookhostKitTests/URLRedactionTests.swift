import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct URLRedactionTests {
    @Test(arguments: [
        ("https://storage.googleapis.com/b/o.mp4?X-Goog-Signature=abc&X-Goog-Expires=900", "https://storage.googleapis.com/b/o.mp4"),
        ("https://h/files/x:download?alt=media", "https://h/files/x:download"),
        ("https://h/p#frag?x", "https://h/p"),
        ("https://h?sig=1", "https://h"),
        ("https://user:pass@h:8/p?q", "https://h:8/p"),
        ("https://h/a@b/c", "https://h/a@b/c"),  // an @ in the path is not user-info
        ("https://exa mple.com/x?sig=1", "https://exa mple.com/x"),  // not parseable: redacted all the same
        ("files/abc-123", "files/abc-123"),
        ("gs://bucket/dir/object", "gs://bucket/dir/object"),
        ("", ""),
    ])
    func dropsQueryFragmentAndUserInfo(_ pair: (String, String)) {
        #expect(URLRedaction.withoutQuery(pair.0) == pair.1)
    }

    @Test func everyURLShownByTheHostGoesThroughIt() throws {
        let u = try #require(FetchURL("https://h/x?sig=secret"))
        #expect(u.redacted == "https://h/x" && u.description == "https://h/x")
        #expect(HTTPJWKSSource(url: "https://h/jwks.json?key=secret").location == "https://h/jwks.json")
        // Not one FetchURL accepts (a space): the location still loses its query.
        #expect(HTTPJWKSSource(url: "https://h/j wks?key=secret").location == "https://h/j wks")
        #expect(ClientError(url: "http://127.0.0.1:1/x?token=secret", message: "refused").description == "http://127.0.0.1:1/x: refused")
    }
}
