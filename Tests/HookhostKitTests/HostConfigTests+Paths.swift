import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// Delivery paths that would collide with the host's own routes.
extension HostConfigTests {
    // Deliveries are matched first: a peer's hand-over would have been taken for a delivery.
    @Test func theHandoverPathIsNotADeliveryPathAndNeitherIsTheConsoleOnTheMainListener() throws {
        do { _ = try HostConfig.load(environment: ["HOOKHOST_PATH": "/hookhost/handover"], arguments: []); Issue.record("accepted") } catch {
            #expect(error.setting == "HOOKHOST_PATH" && error.message.contains("hand deliveries over"))
        }
        do { _ = try HostConfig.load(environment: ["HOOKHOST_CONSOLE": "main"], arguments: ["--path", "/console/x"]); Issue.record("accepted") } catch {
            #expect(error.setting.hasPrefix("HOOKHOST_PATH") && error.message.contains("console"))
        }
        #expect(try HostConfig.load(environment: [:], arguments: ["--path", "/hookhost/handover/x"]).path == "/hookhost/handover/x")
        #expect(try HostConfig.load(environment: ["HOOKHOST_CONSOLE": "admin"], arguments: ["--path", "/console"]).path == "/console")
    }
}
