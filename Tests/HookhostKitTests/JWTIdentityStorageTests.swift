import Dispatch
import Synchronization
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// The key id and claims of a JWT delivery travel from admission through the spool to stdin.
@Suite struct JWTIdentityStorageTests {
    static let identity = JWTIdentity(keyID: "key-1", claims: bytes(#"{"iss":"https://x","deep":[[[{"a":"\u00e9"}]]]}"#))

    @Test func deliveryRecordRoundTripsKeyAndClaims() {
        let rec = SpoolRecord.delivery(id: "a", type: "t", receivedAt: 1, verifiedBy: .jwt, body: bytes("{}"), jwt: Self.identity)
        #expect(SpoolScanner.scan(rec.encoded()).records.map(\.record) == [rec])
    }

    @Test func recordsWrittenBeforeJWTSupportStillDecode() {
        // The metadata of a delivery record as the previous version wrote it: no kid, no claims.
        let meta = bytes(#"{"k":"d","id":"old","type":"t","at":1.5,"vb":"hmac"}"#)
        var payload: [UInt8] = []
        appendLE(UInt32(meta.count), to: &payload)
        payload += meta + bytes("{}")
        #expect(SpoolRecord.decode(payload: payload[...]) == .delivery(id: "old", type: "t", receivedAt: 1.5, verifiedBy: .hmac, body: bytes("{}")))
    }

    @Test func spoolHandsTheIdentityToTheRunAndToShow() throws {
        let dir = makeTempDir("jwtid")
        defer { FileSystem.removeTree(dir) }
        for store in [try openSpool(dir) as any DeliveryStore, MemoryDeliveryStore()] {
            let done = Mutex<AdmitResult?>(nil)
            let sem = DispatchSemaphore(value: 0)
            store.admit(id: "j1", type: "t", verifiedBy: .jwt, jwt: Self.identity, body: bytes(#"{"type":"t"}"#)) { r in
                done.withLock { $0 = r }; sem.signal()
            }
            sem.wait()
            #expect(done.withLock { $0 } == .accepted)
            #expect(store.show("j1")?.jwt == Self.identity)
            let job = try #require(take(store))
            #expect(job.verifiedBy == .jwt && job.jwt == Self.identity)
            if let s = store as? Spool { s.stopWriter() }
        }
    }

    @Test func stdinCarriesKeyIDAndClaimsForJWTOnly() {
        let jwt = FunctionInput.encode(id: "i", attempt: 1, receivedAt: 0, verifiedBy: .jwt, jwt: Self.identity, type: "t",
                                       body: bytes(#"{"type":"t"}"#), userMetadata: nil, result: nil)
        #expect(String(decoding: jwt, as: UTF8.self).contains(
            #""verified_by":"jwt","key_id":"key-1","claims":{"iss":"https://x","deep":[[[{"a":"\u00e9"}]]]}},"type""#))
        let hmac = FunctionInput.encode(id: "i", attempt: 1, receivedAt: 0, verifiedBy: .hmac, type: "t",
                                        body: bytes(#"{"type":"t"}"#), userMetadata: nil, result: nil)
        let text = String(decoding: hmac, as: UTF8.self)
        #expect(!text.contains("key_id") && !text.contains("claims"))
    }
}
