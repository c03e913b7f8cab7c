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

@Suite struct SecretsStoreTests {
    @Test func aSecretsFileRewrittenWithTheSameSizeAndTimesIsReloaded() throws {
        let dir = makeTempDir("sec")
        defer { FileSystem.removeTree(dir) }
        let path = dir + "/secrets"
        let a = WebhookSecret(key: Array(repeating: 1, count: 24)), b = WebhookSecret(key: Array(repeating: 2, count: 24))
        writeFile(path, a.encoded + "\n")
        var st = stat()
        stat(path, &st)
        let store = try SecretsStore(fixed: [], file: path, tolerance: 300, logger: quietLogger)
        #expect(store.verifier.secrets.map(\.fingerprint) == [a.fingerprint])
        writeFile(path, b.encoded + "\n")  // same length
        // Same modification time to the nanosecond, same size: only the content differs.
        var times = [st.st_atim, st.st_mtim]
        _ = utimensat(AT_FDCWD, path, &times, 0)
        store.reload()
        #expect(store.verifier.secrets.map(\.fingerprint) == [b.fingerprint])
    }
}
