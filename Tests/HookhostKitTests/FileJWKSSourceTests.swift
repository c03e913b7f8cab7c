import Glibc
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct FileJWKSSourceTests {
    @Test func aRemovedJWKSFileIsNotReReadOnEveryPoll() throws {
        let dir = makeTempDir("jwks")
        defer { FileSystem.removeTree(dir) }
        let path = dir + "/jwks.json"
        writeFile(path, JWTFixtures.jwks)
        let source = FileJWKSSource(path: path)
        _ = try source.fetch()
        #expect(!source.changed())
        unlink(path)
        #expect(source.changed())
        #expect(throws: JWKSFetchError.self) { _ = try source.fetch() }
        #expect(!source.changed())  // still missing: the cache's backoff retries, not the 2 s poll
        writeFile(path, JWTFixtures.jwks)
        #expect(source.changed())
    }
}
