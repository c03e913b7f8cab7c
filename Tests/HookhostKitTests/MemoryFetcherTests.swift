import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct MemoryFetcherTests {
    @Test func scriptedAnswersInOrderThenTheLastRepeats() throws {
        let f = MemoryFetcher()
        let dir = makeTempDir("memfetch")
        defer { FileSystem.removeTree(dir) }
        let req = try FetchPolicy.gemini.request(for: "files/a")
        f.script("files/a", [.failure(.serverError(status: 503, retryAfter: 2)), .bytes(bytes("hi\n"), contentType: "text/plain")])
        #expect(throws: FetchError.serverError(status: 503, retryAfter: 2)) { try f.fetch(req, into: dir) }
        let r = try f.fetch(req, into: dir)
        #expect(r == FetchedResult(uri: "files/a", path: dir + "/a", bytes: 3, sha256: hexString(Crypto.sha256(bytes("hi\n"))), contentType: "text/plain"))
        #expect(try SmallFile.read(r.path, limit: 10) == bytes("hi\n"))
        #expect(try f.fetch(req, into: dir).bytes == 3)
        #expect(f.calls == ["files/a", "files/a", "files/a"])
        #expect(throws: FetchError.notFound(status: 404, url: "https://generativelanguage.googleapis.com/download/v1beta/files/b:download")) {
            try f.fetch(try FetchPolicy.gemini.request(for: "files/b"), into: dir)
        }
    }
}
