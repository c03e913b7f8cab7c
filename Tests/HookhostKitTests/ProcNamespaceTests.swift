import Glibc
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct ProcNamespaceTests {
    @Test func procOfOurOwnNamespaceNeedsNoTranslation() {
        let view = ProcNamespace.make(selfLink: "4242", ownNSpids: [4242], pid: 4242)
        #expect(view == .same(selfPid: 4242))
        #expect(view.localPid(procPid: 77, nsPids: nil) == 77)
    }

    @Test func procOfAnOuterNamespaceIsTranslated() {
        // `unshare --pid --fork hookhost serve`: the host is 1 here and 5000 in /proc, and
        // /proc/1 is the machine's init.
        let view = ProcNamespace.make(selfLink: "5000", ownNSpids: [5000, 1], pid: 1)
        #expect(view == ProcNamespace(selfPid: 5000, levels: 2))
        #expect(view.localPid(procPid: 5003, nsPids: [5003, 4]) == 4)
        #expect(view.localPid(procPid: 5009, nsPids: [5009, 7, 1]) == 7)    // in a namespace below ours
        #expect(view.localPid(procPid: 3546, nsPids: [3546]) == nil)         // outside ours: not ours to signal
        #expect(view.localPid(procPid: 5003, nsPids: nil) == nil)            // vanished, or unreadable
        #expect(view.localPid(procPid: 5003, nsPids: [6000, 4]) == nil)      // a status that is not this process's
    }

    @Test func procThatCannotBeTrustedIsNotUsed() {
        #expect(ProcNamespace.make(selfLink: nil, ownNSpids: nil, pid: 1) == .unusable)          // no /proc, or it hides us
        #expect(ProcNamespace.make(selfLink: "5000", ownNSpids: nil, pid: 1) == .unusable)       // no NSpid to translate with
        #expect(ProcNamespace.make(selfLink: "12", ownNSpids: nil, pid: 12) == .same(selfPid: 12))
        #expect(ProcNamespace.make(selfLink: "5000", ownNSpids: [4000, 1], pid: 1) == .unusable)  // status of another process
        #expect(ProcNamespace.make(selfLink: "self", ownNSpids: [1], pid: 1) == .unusable)
        #expect(ProcNamespace.unusable.localPid(procPid: 5, nsPids: [5]) == nil)
    }

    @Test func thisProcessSeesItself() {
        let view = ProcNamespace.current()
        #expect(view.selfPid != nil)
        #expect(view.localPid(procPid: view.selfPid ?? 0) == getpid())
    }
}
