import Testing
@testable import HookhostKit

@Suite struct ConsolePacingTests {
    @Test func cheapWorkGoesOnAtOnceAndAScanRestsSixTimesItsLength() {
        #expect(ConsolePacing.rest(after: 0) == 0)
        #expect(ConsolePacing.rest(after: 0.001) == 0)
        #expect(ConsolePacing.rest(after: 0.04) == 0.04 * 6)
        // The console has at most a seventh of the time for its work.
        let work = 0.04
        #expect(work / (work + ConsolePacing.rest(after: work)) <= 1.0 / 7 + 1e-9)
    }

    @Test func aRestIsBoundedWhateverTheClockSaid() {
        #expect(ConsolePacing.rest(after: 60) == ConsolePacing.maxRest)
        #expect(ConsolePacing.rest(after: -1) == 0)
        #expect(ConsolePacing.rest(after: .nan) == 0)
        #expect(ConsolePacing.rest(after: .infinity) == 0)
    }
}
