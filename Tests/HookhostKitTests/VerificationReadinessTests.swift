import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct VerificationReadinessTests {
    @Test func nothingToVerifyWithIsNotReady() {
        let never = JWKSStatus(location: "https://x/jwks.json", keys: 0, age: nil, failing: true, lastError: "Couldn't connect")
        let notYet = JWKSStatus(location: "https://x/jwks.json", keys: 0, age: nil, failing: false, lastError: nil)
        let ok = JWKSStatus(location: "https://x/jwks.json", keys: 2, age: 5, failing: false, lastError: nil)
        #expect(VerificationReadiness.problem(hmacSecrets: 1, jwks: never) == nil)
        #expect(VerificationReadiness.problem(hmacSecrets: 0, jwks: ok) == nil)
        #expect(VerificationReadiness.problem(hmacSecrets: 0, jwks: never)?.contains("Couldn't connect") == true)
        #expect(VerificationReadiness.problem(hmacSecrets: 0, jwks: notYet)?.contains("not fetched yet") == true)
        #expect(VerificationReadiness.problem(hmacSecrets: 0, jwks: nil)?.contains("no verification method") == true)
        // Secrets kept past their expiry verify nothing: not ready, and the answer says why.
        #expect(VerificationReadiness.problem(hmacSecrets: 0, expiredSecrets: 2, jwks: nil)?.contains("2 expired") == true)
        #expect(VerificationReadiness.problem(hmacSecrets: 0, expiredSecrets: 1, jwks: ok) == nil)
    }
}
