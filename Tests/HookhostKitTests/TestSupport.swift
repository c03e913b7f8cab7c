import Glibc
import Synchronization
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// A clock tests move by hand.
final class ManualClock: WallClock {
    private let t: Mutex<Double>
    init(_ start: Double) { t = Mutex(start) }
    func now() -> Double { t.withLock { $0 } }
    func advance(_ s: Double) { t.withLock { $0 += s } }
}

/// A fresh temporary directory.
func makeTempDir(_ tag: String = "t") -> String {
    var template = Array("/tmp/hookhost-\(tag)-XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: p!)
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Writes a file (close-on-exec: a parallel test's spawn must not inherit the write end, or
/// executing this file fails with ETXTBSY).
func writeFile(_ path: String, _ content: String, mode: mode_t = 0o644) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    precondition(fd >= 0)
    var b = Array(content.utf8)
    _ = b.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    chmod(path, mode)
}

/// A function in `fnDir` that exits 0 at once, with `sidecar` (JSON) as its `NAME.json` if given.
func writeNoopFunction(_ fnDir: String, _ name: String, sidecar: String? = nil) {
    writeFile(fnDir + "/" + name, "#!/bin/sh\n", mode: 0o755)
    if let sidecar { writeFile(fnDir + "/" + name + ".json", sidecar) }
}

/// A dispatcher config for tests: scratch dirs under `dir/work`, `workers` workers, and no nice
/// value (workers run at the test's own priority).
func testDispatcherConfig(root dir: String, workers: Int, environment: [String] = []) -> DispatcherConfig {
    var config = DispatcherConfig(workRoot: dir + "/work", baseEnvironment: environment)
    config.workers = workers
    config.nice = nil
    return config
}

let quietLogger = Logger(level: .error, fd: open("/dev/null", O_WRONLY))

/// Waits (bounded: `tries` × 10 ms) until `cond` holds; whether it does.
func eventually(_ tries: Int = 500, _ cond: () -> Bool) -> Bool {
    for _ in 0..<tries where !cond() { usleep(10_000) }
    return cond()
}

/// Deterministic generator so a failure names a reproducible seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A JWT delivery's key id and claims (nested, non-ASCII), as the spool and stdin must carry them.
let sampleJWTIdentity = JWTIdentity(keyID: "key-1", claims: bytes(#"{"iss":"https://x","deep":[[[{"a":"\u00e9"}]]]}"#))
