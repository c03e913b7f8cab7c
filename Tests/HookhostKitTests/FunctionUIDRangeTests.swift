import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct FunctionUIDRangeTests {
    @Test func parsesFirstDashLast() throws {
        let r = try FunctionUIDRange.parse("100000-165535").get()
        #expect(r == FunctionUIDRange(first: 100_000, last: 165_535) && r.count == 65_536)
        #expect(try FunctionUIDRange.parse(" 7 - 8 ").get() == FunctionUIDRange(first: 7, last: 8))
        #expect(try FunctionUIDRange.parse("1-2147483647").get().count == 2_147_483_647)
    }

    @Test func badValuesAreRefusedNamingTheSetting() {
        let cases: [(String, String)] = [
            ("1e999", "expected FIRST-LAST"), ("abc", "expected FIRST-LAST"), ("", "expected FIRST-LAST"), ("100000", "expected FIRST-LAST"),
            ("100000-", "expected FIRST-LAST"), ("-5-10", "expected FIRST-LAST"), ("+5-10", "expected FIRST-LAST"), ("5-10-15", "expected FIRST-LAST"),
            ("99999999999-100000000000", "expected FIRST-LAST"), ("1.5-10", "expected FIRST-LAST"),
            ("0-65535", "must not include 0"), ("0-0", "must not include 0"),
            ("165535-100000", "FIRST is greater than LAST"),
            ("100000-4294967295", "above 2147483647"), ("2147483648-2147483649", "above 2147483647"),
            ("100000-100000", "at least 2"),
        ]
        for (value, says) in cases {
            guard case .failure(let e) = FunctionUIDRange.parse(value) else { Issue.record("accepted \(value)"); continue }
            #expect(e.setting == "HOOKHOST_FUNCTION_UIDS")
            #expect(e.message.contains(says), "\(value): \(e.message)")
        }
    }

    @Test func theSettingAndItsConflictWithTheFunctionUser() throws {
        #expect(try HostConfig.load(environment: ["HOOKHOST_FUNCTION_UIDS": "100000-165535"], arguments: []).functionUIDs?.first == 100_000)
        #expect(try HostConfig.load(environment: ["HOOKHOST_FUNCTION_UIDS": "1-2"], arguments: ["--function-uids=5-9"]).functionUIDs?.last == 9)
        #expect(try HostConfig.load(environment: ["HOOKHOST_FUNCTION_UIDS": ""], arguments: []).functionUIDs == nil)
        #expect(throws: ConfigError.self) {
            try HostConfig.load(environment: ["HOOKHOST_FUNCTION_UIDS": "100000-165535", "HOOKHOST_FUNCTION_USER": "1:1"], arguments: [])
        }
        // An empty value unsets the other, as the message says.
        let c = try HostConfig.load(environment: ["HOOKHOST_FUNCTION_UIDS": "", "HOOKHOST_FUNCTION_USER": "1:1"], arguments: [])
        #expect(c.functionUser?.uid == 1 && c.functionUIDs == nil)
    }

    func check(uidMap: String? = "0 0 4294967295\n", passwd: String? = "root:x:0:0::/root:/bin/sh\n", functions: Int = 1,
               hostUID: UInt32 = 0, hostGID: UInt32 = 0) -> FunctionUIDCheck {
        FunctionUIDCheck(hostUID: hostUID, hostGID: hostGID, uidMap: uidMap, gidMap: uidMap, passwd: passwd, group: "root:x:0:\n", functions: functions)
    }

    @Test func whatTheMachineSaysAboutARange() {
        let r = FunctionUIDRange(first: 100_000, last: 165_535)
        #expect(check().problem(r) == nil)
        #expect(check(hostUID: 100_500).problem(r)?.contains("host's own uid 100500") == true)
        #expect(check(hostGID: 165_535).problem(r)?.contains("host's own gid") == true)
        // A rootless container maps 65536 ids: 100000 is not among them.
        #expect(check(uidMap: "0 1000 1\n1 100000 65536\n").problem(r)?.contains("id 100000") == true)
        #expect(check(uidMap: "0 1000 1\n1 100000 65536\n").problem(FunctionUIDRange(first: 40_000, last: 59_999)) == nil)
        // Two spans that together cover it; a gap in the middle is named.
        #expect(check(uidMap: "0 0 120000\n120000 500000 50000\n").problem(r) == nil)
        #expect(check(uidMap: "0 0 120000\n120001 500000 50000\n").problem(r)?.contains("id 120000 ") == true)
        #expect(check(uidMap: nil).problem(r) == nil)  // unreadable: not checked
        #expect(check(passwd: "root:x:0:0::/:/bin/sh\nalice:x:100001:100001::/home/alice:/bin/sh\n").problem(r)?.contains("user \"alice\" (id 100001)") == true)
        #expect(check(functions: 65_537).problem(r)?.contains("fewer than the 65537 functions") == true)
    }
}
