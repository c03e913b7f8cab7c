import Testing
@testable import HookSupport
@testable import HookSpool
@testable import HookDispatch
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookFetch
@testable import HookhostKit

@Suite struct PauseListTests {
    @Test func pausingTwiceChangesNothingAndResumeSaysWhetherItWasPaused() {
        var l = PauseList()
        let first = l.pause("job", at: 10), second = l.pause("job", at: 20)
        #expect(first && !second)
        #expect(l.since["job"] == 10)
        #expect(l.contains("job") && l.names == ["job"])
        let resumed = l.resume("job"), again = l.resume("job")
        #expect(resumed && !again)
        #expect(l.isEmpty)
    }

    @Test func theFileFormRoundTrips() throws {
        var l = PauseList()
        l.pause("batch.succeeded", at: 1_777_896_000.25)
        l.pause("_default", at: 5)
        let text = String(decoding: l.encoded(), as: UTF8.self)
        #expect(text == #"{"paused":[{"function":"_default","since":5},{"function":"batch.succeeded","since":1777896000.25}]}"# + "\n")
        #expect(try PauseList.decode(l.encoded()).get() == l)
        #expect(try PauseList.decode(Array(#"{"paused":[]}"#.utf8)).get().isEmpty)
    }

    @Test(arguments: [("", "not JSON"), ("[]", "no \"paused\" list"), (#"{"paused":{}}"#, "no \"paused\" list"),
                      (#"{"paused":[{"function":"../x","since":1}]}"#, "entry 1: \"function\" is not a function name"),
                      (#"{"paused":[{"function":"a","since":1},{"since":1}]}"#, "entry 2: \"function\" is not a function name"),
                      (#"{"paused":[{"function":"a","since":"now"}]}"#, "entry 1 (a): \"since\" is not a time")])
    func aFileThatIsNotAPauseListIsRefusedSayingWhy(_ text: String, _ reason: String) {
        guard case .failure(let problem) = PauseList.decode(Array(text.utf8)) else {
            Issue.record("\(text) decoded")
            return
        }
        #expect(problem.reason == reason)
    }

    @Test func functionNamesAreTheOnesARouteCanHave() {
        #expect(PauseList.isFunctionName("batch.succeeded") && PauseList.isFunctionName("_default") && PauseList.isFunctionName("job"))
        #expect(!PauseList.isFunctionName("") && !PauseList.isFunctionName("a/b") && !PauseList.isFunctionName(".hidden"))
    }
}
