import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// Which uid each function runs as under `HOOKHOST_FUNCTION_UIDS`; its gid is the same number.
///
/// A name's uid is `FIRST + (first 8 bytes of SHA-256(name), big-endian) mod (LAST - FIRST + 1)`,
/// so it is the same across restarts and machines. Two names never share one: at start the
/// names in the functions directory are placed in byte order, and a name whose uid is taken
/// takes the next free one above it (wrapping to FIRST). A function added while the host runs
/// is placed the same way among what is already given out, and nothing given out changes until
/// the host restarts — a uid is never handed to a second function while the first may still be
/// running. So a uid moves only across a restart, and only for a name whose hash collides with
/// a name that sorts before it and was added since.
public final class FunctionIdentities: Sendable {
    public let range: FunctionUIDRange
    private let state = Mutex<(byName: [String: UInt32], taken: Set<UInt32>)>(([:], []))

    /// Places `names` (the functions directory at start) in byte order.
    public init(range: FunctionUIDRange, names: [String]) {
        self.range = range
        for name in names.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) { _ = user(for: name) }
    }

    /// The user `function` runs as, placing it if it is new; nil when every id is taken.
    public func user(for function: String) -> FunctionUser? {
        let id = state.withLock { s -> UInt32? in
            if let id = s.byName[function] { return id }
            guard UInt64(s.taken.count) < range.count else { return nil }
            // Bounded: fewer ids are taken than the range holds, so a free one is this close.
            var offset = FunctionIdentities.slot(of: function, count: range.count)
            while s.taken.contains(range.first + UInt32(offset)) { offset = (offset + 1) % range.count }
            let id = range.first + UInt32(offset)
            s.byName[function] = id
            s.taken.insert(id)
            return id
        }
        return id.map { FunctionUser(uid: $0, gid: $0, spelling: "\(FunctionUIDRange.setting) for \(function)") }
    }

    /// Every function placed so far and its uid (for tests and messages).
    public var assigned: [String: UInt32] { state.withLock { $0.byName } }

    /// Where a name lands in a range of `count` ids before collisions are resolved.
    static func slot(of name: String, count: UInt64) -> UInt64 {
        let digest = Crypto.sha256(Array(name.utf8))
        let head = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return head % count
    }
}
