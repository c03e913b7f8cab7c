import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct CompactJWSTests {
    @Test func compactJWSRefusesAnEmptySignatureAndNonASCII() {
        let h = Base64URL.encode(Array(#"{"alg":"RS256","kid":"k1"}"#.utf8)), p = Base64URL.encode(Array(#"{"sub":"x"}"#.utf8))
        #expect(throws: JWTError.self) { try CompactJWS.parse("\(h).\(p).") }
        #expect(throws: JWTError.self) { try CompactJWS.parse("\(h).\(p)é.AQAB") }
        #expect(throws: JWTError.self) { try CompactJWS.parse("\(h).\(p).AQAB=") }
        #expect(throws: JWTError.self) { try CompactJWS.parse("\(h).\(p).AR") }
        #expect((try? CompactJWS.parse("\(h).\(p).AQAB"))?.signature == [1, 0, 1])
    }
}
