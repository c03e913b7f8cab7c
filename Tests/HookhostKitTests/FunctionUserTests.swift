import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct FunctionUserTests {
    func resolve(_ v: String) -> FunctionUser? {
        try? FunctionUser.resolve(v, lookup: { $0 == "hookfn" ? (990, 991) : nil }).get()
    }

    @Test func uidGidOrName() throws {
        #expect(resolve("65534:65534") == FunctionUser(uid: 65534, gid: 65534, spelling: "65534:65534"))
        #expect(resolve("hookfn") == FunctionUser(uid: 990, gid: 991, spelling: "hookfn"))
        #expect(try FunctionUser.resolve("root").get().uid == 0)  // the real getpwnam_r
    }

    @Test func badValuesNameTheSetting() {
        for v in ["", "nobody-here", "1:", ":1", "1:2:3", "a:b", "-1:0", "4294967295:0"] {
            guard case .failure(let e) = FunctionUser.resolve(v, lookup: { _ in nil }) else { Issue.record("accepted \(v)"); continue }
            #expect(e.setting == "HOOKHOST_FUNCTION_USER")
        }
    }

    @Test func flagAndVariable() throws {
        let byEnv = try HostConfig.load(environment: ["HOOKHOST_FUNCTION_USER": "65534:65534"], arguments: [])
        #expect(byEnv.functionUser?.uid == 65534)
        let byFlag = try HostConfig.load(environment: ["HOOKHOST_FUNCTION_USER": "1:1"], arguments: ["--function-user=7:8"])
        #expect(byFlag.functionUser == FunctionUser(uid: 7, gid: 8, spelling: "7:8"))
        #expect(try HostConfig.load(environment: [:], arguments: []).functionUser == nil)
        #expect(throws: ConfigError.self) { try HostConfig.load(environment: [:], arguments: ["--function-user", "no-such-user-hookhost"]) }
        do {
            _ = try HostConfig.load(environment: [:], arguments: ["--function-user", "no-such-user-hookhost"])
        } catch {
            #expect(error.setting.contains("HOOKHOST_FUNCTION_USER"))
        }
    }

    @Test func capabilitiesNeeded() {
        #expect(FunctionUser.capabilitiesAllowSwitching(status: "Name:\tx\nCapEff:\t00000000000000e0\n"))
        #expect(FunctionUser.capabilitiesAllowSwitching(status: "CapEff:\t000001ffffffffff\n"))
        #expect(!FunctionUser.capabilitiesAllowSwitching(status: "CapEff:\t00000000000000c0\n"))  // no CAP_KILL
        #expect(!FunctionUser.capabilitiesAllowSwitching(status: "CapEff:\t0000000000000000\n"))
        #expect(!FunctionUser.capabilitiesAllowSwitching(status: "garbage"))
    }
}
