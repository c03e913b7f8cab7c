import Testing
@testable import HookSupport

@Suite struct RateLimitedLogTests {
    /// The console's wrong-token line is limited by the wall clock: one set back by a day must not
    /// silence it for a day while guesses go on.
    @Test func aClockSetBackDoesNotSilenceIt() {
        var log = RateLimitedLog(interval: 10)
        #expect(log.shouldLog(now: 1_800_000_000) == 0)
        #expect(log.shouldLog(now: 1_800_000_001) == nil)
        #expect(log.shouldLog(now: 1_800_000_000 - 86_400) == 1)
        #expect(log.shouldLog(now: 1_800_000_000 - 86_399) == nil)  // and limited from there on
        #expect(log.shouldLog(now: 1_800_000_000 - 86_390) == 1)
    }
}
