import CSys
import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// The user functions run as (`HOOKHOST_FUNCTION_USER`: a name or `uid:gid`), so they cannot read
/// the host's environment, spool or secrets files.
public struct FunctionUser: Sendable, Equatable, CustomStringConvertible {
    public let uid: UInt32
    public let gid: UInt32
    /// As configured, for messages.
    public let spelling: String

    public var description: String { "\(spelling) (uid \(uid), gid \(gid))" }

    public init(uid: UInt32, gid: UInt32, spelling: String) {
        self.uid = uid; self.gid = gid; self.spelling = spelling
    }

    /// Parses `uid:gid` or resolves a user name (its primary group); the message says why not.
    public static func resolve(_ value: String, lookup: (String) -> (UInt32, UInt32)? = FunctionUser.lookup) -> Result<FunctionUser, ConfigError> {
        let setting = "HOOKHOST_FUNCTION_USER"
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2 {
            guard let u = UInt32(parts[0]), let g = UInt32(parts[1]), u != UInt32.max, g != UInt32.max else {
                return .failure(ConfigError(setting: setting, message: "expected a user name or uid:gid, got \"\(value)\""))
            }
            return .success(FunctionUser(uid: u, gid: g, spelling: value))
        }
        guard parts.count == 1, !value.isEmpty else {
            return .failure(ConfigError(setting: setting, message: "expected a user name or uid:gid, got \"\(value)\""))
        }
        guard let (u, g) = lookup(value) else {
            return .failure(ConfigError(setting: setting, message: "no such user \"\(value)\""))
        }
        return .success(FunctionUser(uid: u, gid: g, spelling: value))
    }

    /// getpwnam_r: (uid, gid) of a user name, nil when unknown.
    public static func lookup(_ name: String) -> (UInt32, UInt32)? {
        var uid: UInt32 = 0, gid: UInt32 = 0
        return hh_lookup_user(name, &uid, &gid) == 0 ? (uid, gid) : nil
    }

    /// Whether this process may switch to another user and still signal its functions: root, or
    /// CAP_SETUID + CAP_SETGID + CAP_KILL in the effective set (`CapEff` of /proc/self/status).
    public static func mayRunFunctionsAsAnotherUser() -> Bool {
        if geteuid() == 0 { return true }
        let status = String(decoding: FileSystem.read("/proc/self/status", limit: 1 << 16) ?? [], as: UTF8.self)
        return capabilitiesAllowSwitching(status: status)
    }

    /// Pure part of the check, for tests: CAP_KILL (5), CAP_SETGID (6), CAP_SETUID (7).
    static func capabilitiesAllowSwitching(status: String) -> Bool {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let caps = UInt64(line.dropFirst("CapEff:".count).filter { !$0.isWhitespace }, radix: 16) else { return false }
        let needed: UInt64 = (1 << 5) | (1 << 6) | (1 << 7)
        return caps & needed == needed
    }
}
