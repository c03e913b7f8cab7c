import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct FunctionIdentitiesTests {
    let range = FunctionUIDRange(first: 100_000, last: 165_535)

    @Test func aNamesUidIsTheDocumentedHashOfIt() {
        let ids = FunctionIdentities(range: range, names: ["batch.succeeded", "ping"])
        // SHA-256("ping") starts 758d61f26a444483: 0x758d61f26a444483 mod 65536 = 0x4483.
        #expect(ids.user(for: "ping") == FunctionUser(uid: 100_000 + 0x4483, gid: 100_000 + 0x4483, spelling: "HOOKHOST_FUNCTION_UIDS for ping"))
        // The same in another host (a restart), whatever else is in the directory.
        let again = FunctionIdentities(range: range, names: ["ping", "x", "y"]).user(for: "ping")
        #expect(again?.uid == UInt32(100_000 + 0x4483))
        #expect(ids.user(for: "batch.succeeded")?.uid != ids.user(for: "ping")?.uid)
    }

    /// Names of `count` that land on the same slot, the first in byte order first.
    func collidingNames(count: UInt64) -> (String, String) {
        var bySlot: [UInt64: String] = [:]
        for i in 0..<1000 {
            let n = "f\(i)"
            let s = FunctionIdentities.slot(of: n, count: count)
            if let other = bySlot[s] { return other < n ? (other, n) : (n, other) }
            bySlot[s] = n
        }
        fatalError("no collision among 1000 names in \(count) slots")
    }

    @Test func collisionsAreResolvedInByteOrderAtStart() {
        let small = FunctionUIDRange(first: 500, last: 509)
        let (a, b) = collidingNames(count: small.count)
        let slot = UInt32(FunctionIdentities.slot(of: a, count: small.count))
        // Listed in either order, the name that sorts first keeps the slot.
        for names in [[a, b], [b, a]] {
            let ids = FunctionIdentities(range: small, names: names)
            #expect(ids.user(for: a)?.uid == 500 + slot)
            #expect(ids.user(for: b)?.uid == 500 + (slot + 1) % 10)
        }
    }

    @Test func aFunctionAddedLaterNeverTakesAUidGivenOut() {
        let small = FunctionUIDRange(first: 500, last: 509)
        let (a, b) = collidingNames(count: small.count)
        // b was there at start; a, which sorts first, comes later: b keeps its uid.
        let ids = FunctionIdentities(range: small, names: [b])
        let bUID = ids.user(for: b)?.uid
        #expect(bUID == 500 + UInt32(FunctionIdentities.slot(of: b, count: small.count)))
        let aUID = ids.user(for: a)?.uid
        #expect(aUID != nil && aUID != bUID)
        #expect(ids.user(for: b)?.uid == bUID)
    }

    @Test func everyNameGetsItsOwnUidUntilTheRangeIsFull() {
        let tiny = FunctionUIDRange(first: 7, last: 9)
        let ids = FunctionIdentities(range: tiny, names: [])
        let uids = ["a", "b", "c"].compactMap { ids.user(for: $0)?.uid }
        #expect(Set(uids) == [7, 8, 9])
        #expect(ids.user(for: "d") == nil)
        #expect(ids.user(for: "b")?.uid == uids[1])  // still answered for those that have one
        #expect(ids.user(for: "a")?.gid == ids.user(for: "a")?.uid)
    }
}
