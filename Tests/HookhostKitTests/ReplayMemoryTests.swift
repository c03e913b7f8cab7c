import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// The replay memory: a JWT is bound to the webhook-id it first came with until it expires, in
/// memory (TokenLedger) and in the spool, across restarts and compaction.
@Suite struct ReplayMemoryTests {
    static func digest(_ n: UInt8) -> TokenDigest { TokenDigest(Crypto.sha256([n])) }

    @Test func aTokenIsBoundToItsFirstDeliveryUntilItExpires() {
        var l = TokenLedger()
        let t = Self.digest(1)
        #expect(l.bind(TokenUse(digest: t, id: "a", until: 100), now: 0) == .first)
        #expect(l.bind(TokenUse(digest: t, id: "a", until: 100), now: 50) == .sameDelivery)
        #expect(l.bind(TokenUse(digest: t, id: "b", until: 100), now: 100) == .otherDelivery)
        // Ids compare byte for byte (a decomposed é is another id).
        #expect(l.bind(TokenUse(digest: Self.digest(2), id: "\u{e9}", until: 100), now: 0) == .first)
        #expect(l.bind(TokenUse(digest: Self.digest(2), id: "e\u{301}", until: 100), now: 0) == .otherDelivery)
        // Past its end the token cannot verify any more; an entry not pruned yet does not count.
        #expect(l.bind(TokenUse(digest: t, id: "b", until: 200), now: 101) == .first)
        #expect(l.bind(TokenUse(digest: t, id: "a", until: 200), now: 101) == .otherDelivery)
    }

    @Test func pruningForgetsOnlyExpiredTokens() {
        var l = TokenLedger()
        _ = l.bind(TokenUse(digest: Self.digest(1), id: "a", until: 10), now: 0)
        _ = l.bind(TokenUse(digest: Self.digest(2), id: "b", until: 20), now: 0)
        #expect(l.prune(now: 15) == 1)
        #expect(l.live(now: 15) == [TokenUse(digest: Self.digest(2), id: "b", until: 20)])
    }

    @Test func loadingKeepsTheFirstBindingAndSkipsExpiredOnes() {
        var l = TokenLedger()
        l.load(TokenUse(digest: Self.digest(1), id: "a", until: 100), now: 50)
        l.load(TokenUse(digest: Self.digest(1), id: "b", until: 100), now: 50)
        l.load(TokenUse(digest: Self.digest(2), id: "c", until: 40), now: 50)
        #expect(l.count == 1)
        #expect(l.bind(TokenUse(digest: Self.digest(1), id: "b", until: 100), now: 50) == .otherDelivery)
    }

    @Test func digestsRoundTripTheirBytes() {
        let h = Crypto.sha256(bytes("token"))
        #expect(TokenDigest(h).bytes == h)
        #expect(TokenDigest(h) != TokenDigest(Crypto.sha256(bytes("other"))))
    }

    @Test func bindingsAreRecordsThatRoundTrip() {
        // Plain ones are read without the JSON parser (recovery reads one per JWT delivery).
        let plain = SpoolRecord.token(TokenUse(digest: Self.digest(7), id: "wh_1", until: 1777896360.5))
        let (meta, body) = SpoolRecordTests.metaAndBody(plain)
        #expect(SpoolRecord.decodeCommon(meta: meta, body: body, bodies: false) == plain)
        let escaped = SpoolRecord.token(TokenUse(digest: Self.digest(8), id: "wh_\"1", until: 1e12))
        #expect(SpoolRecord.decodeCommon(meta: SpoolRecordTests.metaAndBody(escaped).0, body: [], bodies: false) == nil)
        for r in [plain, escaped] { #expect(SpoolScanner.scan(r.encoded()).records.map(\.record) == [r]) }
    }

    @Test func bindingsSurviveARestartAndACompaction() throws {
        let dir = makeTempDir("replay")
        defer { FileSystem.removeTree(dir) }
        let now = SystemClock().now()
        let live = TokenUse(digest: Self.digest(1), id: "a", until: now + 3600)
        let expired = TokenUse(digest: Self.digest(2), id: "b", until: now - 1)
        let s = try openSpool(dir)
        #expect(s.replayMemory.bind(live) == .first)
        #expect(s.replayMemory.bind(expired) == .first)  // (a clock set back; not remembered once read)
        // Durable with (ahead of) the delivery's own record, which is what the 202 waits for.
        #expect(admitSync(s, "a") == .accepted)
        s.stopTaking(); s.stopWriter()

        let r = try openSpool(dir)
        #expect(r.replayMemory.count == 1)
        #expect(r.replayMemory.bind(TokenUse(digest: live.digest, id: "x", until: live.until)) == .otherDelivery)
        #expect(r.replayMemory.bind(live) == .sameDelivery)
        #expect(r.replayMemory.bind(TokenUse(digest: expired.digest, id: "x", until: now + 60)) == .first)
        // Compaction rewrites the log without the records it held the bindings in.
        r.compact()
        r.stopTaking(); r.stopWriter()

        let c = try openSpool(dir)
        defer { c.stopTaking(); c.stopWriter() }
        #expect(c.replayMemory.bind(TokenUse(digest: live.digest, id: "y", until: live.until)) == .otherDelivery)
        #expect(c.replayMemory.bind(TokenUse(digest: expired.digest, id: "y", until: now + 60)) == .otherDelivery)
    }
}
