import CCurl
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// shim.h's loader kept its state in `static` locals of a `static inline` function: every Swift
/// file (LLVM module) calling it got its own copy, so libcurl was dlopen'ed and curl_global_init
/// run once per calling file (concurrently from the fetchers and the JWKS refresher), and
/// hh_curl_loaded() only knew about its own file's copy.
@Suite struct CurlLoaderTests {
    @Test func libcurlIsLoadedOnceForTheWholeProcess() {
        guard CurlTransfer() != nil else { return }  // loads libcurl through CurlTransfer.swift's call sites
        #expect(hh_curl_loaded() != 0, "the loader's state must be shared by every caller")
    }
}
