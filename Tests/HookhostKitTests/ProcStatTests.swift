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

@Suite struct ProcStatTests {
    @Test func aChildrenFileIsAListOfPids() {
        #expect(ProcStat.pidList(Array("12 345 6 ".utf8)) == [12, 345, 6])
        #expect(ProcStat.pidList([]) == [])
        #expect(ProcStat.pidList(Array("7".utf8)) == [7])
    }

    @Test func nsPidListsThePidInEachNamespace() {
        let status = Array("Name:\tsleep\nTgid:\t4242\nNSpid:\t4242\t17\t1\nNSpgid:\t4242\t17\t1\n".utf8)
        #expect(ProcStat.nsPids(status: status) == [4242, 17, 1])
        #expect(ProcStat.nsPids(status: Array("NSpid:\t9\n".utf8)) == [9])
        #expect(ProcStat.nsPids(status: Array("Name:\tx\nPid:\t9\n".utf8)) == nil)  // kernels before 4.1
        for bad in ["NSpid:\n", "NSpid:\t12x\t3\n", "NSpid:\t99999999999\n"] {
            #expect(ProcStat.nsPids(status: Array(bad.utf8)) == nil, "\(bad)")
        }
    }

    @Test func parsesAPlainLine() {
        let s = ProcStat(line: "4242 (sleep) S 17 4240 4240 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 123 0 0\n")
        #expect(s == ProcStat(pid: 4242, comm: "sleep", state: "S", ppid: 17, pgrp: 4240))
    }

    @Test func commMayHoldSpacesAndParentheses() {
        // A process may name itself anything up to 15 bytes, including ") Z 1 " to mislead a parser
        // that stops at the first ')'.
        let s = ProcStat(line: "77 (a) Z 1 (b c)) R 5 70 70 0 -1\n")
        #expect(s == ProcStat(pid: 77, comm: "a) Z 1 (b c)", state: "R", ppid: 5, pgrp: 70))
        #expect(s?.isZombie == false)
        #expect(ProcStat(line: "9 ( ) Z 3 9")?.isZombie == true)
    }

    @Test func parentPidFastPathAgreesWithTheFullParse() {
        for line in ["4242 (sleep) S 17 4240 4240 0", "77 (a) Z 1 (b c)) R 5 70 70 0 -1\n", "9 ( ) Z 3 9", "1 (x) S 0 1"] {
            #expect(ProcStat.parentPid(ArraySlice(line.utf8)) == ProcStat(line: line)?.ppid, "\(line)")
        }
        for line in ["", "12 (y) S", "12 (y) S x1 1", "12 y S 1 1"] {
            #expect(ProcStat.parentPid(ArraySlice(line.utf8)) == nil, "\(line)")
        }
    }

    @Test func rejectsGarbage() {
        for line in ["", "12", "12 (x", "x (y) S 1 1", "12 (y) S", "12 (y) SS 1 1", "12 (y) S one 1"] {
            #expect(ProcStat(line: line) == nil, "\(line)")
        }
    }

    @Test func environValueFindsTheExactName() {
        let env = Array("A=1\0HOOKHOST_DELIVERY_ID_X=no\0HOOKHOST_DELIVERY_ID=wh_1\0".utf8)
        #expect(environValue(env, "HOOKHOST_DELIVERY_ID") == "wh_1")
        #expect(environValue(env, "B") == nil)
        #expect(environValue([], "A") == nil)
    }
}
