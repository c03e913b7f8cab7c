import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct StringTrimmingTests {
    @Test(arguments: [("  a b \t", "a b"), ("\r\nkeep-alive\n", "keep-alive"), ("   ", ""), ("", ""), ("x", "x")])
    func trimsSpacesTabsAndLineBreaks(_ input: String, _ expected: String) {
        #expect(input.trimmingSpaces == expected)
        #expect(input[...].trimmingSpaces == expected)
    }
}
