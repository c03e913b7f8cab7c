import Testing
@testable import HookFetch
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookDispatch
@testable import HookhostKit

@Suite struct FetchErrorTests {
    /// A URL in a reason came whole: a 100 KB result URL (the event's, or a redirect's) made a
    /// 100 KB dead-letter reason, kept with the delivery and printed by `deliveries list`.
    @Test func everyReasonShowsAURLCutShortAndWithoutItsQuery() {
        let long = "https://h/" + String(repeating: "p", count: 100_000) + "?sig=SECRET"
        let host = String(repeating: "h", count: 100_000)
        let errors: [FetchError] = [.notFound(status: 404, url: long), .rejected(status: 400, url: long), .badRedirect(location: long),
                                    .accessDenied(status: 403, url: long, credential: .apiKey, configured: true),
                                    .hostNotAllowed(host: host, viaRedirect: true)]
        for e in errors {
            #expect(e.reason.utf8.count < 1000, "\(e.reason.prefix(100))")
            #expect(!e.reason.contains("SECRET"))
        }
    }
}
