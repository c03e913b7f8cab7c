import Testing
@testable import HookhostKit

@Suite struct StringTrimmingTests {
    @Test(arguments: [("  a b \t", "a b"), ("\r\nkeep-alive\n", "keep-alive"), ("   ", ""), ("", ""), ("x", "x")])
    func trimsSpacesTabsAndLineBreaks(_ input: String, _ expected: String) {
        #expect(input.trimmingSpaces == expected)
        #expect(input[...].trimmingSpaces == expected)
    }
}
