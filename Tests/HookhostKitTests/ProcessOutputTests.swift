import Testing
@testable import HookDispatch
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookhostKit

@Suite struct ProcessOutputTests {
    @Test func stdoutKeepsTheFirstBytesUpToItsLimitAndNotesTheRest() {
        var o = ProcessOutput(stdoutLimit: 5, stderrLimit: 10)
        o.appendStdout(ArraySlice(Array("abc".utf8)))
        #expect(!o.stdoutTruncated)
        o.appendStdout(ArraySlice(Array("de".utf8)))
        #expect(o.stdout == Array("abcde".utf8) && !o.stdoutTruncated)
        o.appendStdout(ArraySlice(Array("f".utf8)))
        #expect(o.stdout == Array("abcde".utf8) && o.stdoutTruncated)
        var cut = ProcessOutput(stdoutLimit: 2, stderrLimit: 10)
        cut.appendStdout(ArraySlice(Array("xyz".utf8)))
        #expect(cut.stdout == Array("xy".utf8) && cut.stdoutTruncated)
    }

    @Test func stderrKeepsTheLastBytes() {
        var o = ProcessOutput(stdoutLimit: 5, stderrLimit: 4)
        o.appendStderr(ArraySlice(Array("abc".utf8)))
        o.appendStderr(ArraySlice(Array("defg".utf8)))
        #expect(o.stderrTail == Array("defg".utf8))
        o.appendStderr(ArraySlice(Array("hijklm".utf8)))
        #expect(o.stderrTail == Array("jklm".utf8))
        #expect(o.stdout.isEmpty && !o.stdoutTruncated)
    }
}
