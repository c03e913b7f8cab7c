import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

extension Host {
    /// The uids of `HOOKHOST_FUNCTION_UIDS`, placed for the functions in `table` now; a range
    /// this machine cannot use (the host's own ids, unmapped ids, a user's or group's id, fewer
    /// ids than functions) is a start-up error naming the setting.
    static func functionIdentities(_ range: FunctionUIDRange, table: FunctionTable) throws(ConfigError) -> FunctionIdentities {
        let setting = "\(FunctionUIDRange.setting) (\(HostConfig.flag(for: FunctionUIDRange.setting)))"
        guard FunctionUser.mayRunFunctionsAsAnotherUser() else {
            throw ConfigError(setting: setting, message: "running each function as a uid of its own needs the host to start as root or with CAP_SETUID, CAP_SETGID and CAP_KILL")
        }
        func text(_ path: String) -> String? { FileSystem.read(path, limit: 64 << 20).map { String(decoding: $0, as: UTF8.self) } }
        let names = table.routableNames()
        let check = FunctionUIDCheck(hostUID: geteuid(), hostGID: getegid(), uidMap: text("/proc/self/uid_map"), gidMap: text("/proc/self/gid_map"),
                                     passwd: text("/etc/passwd"), group: text("/etc/group"), functions: names.count)
        if let problem = check.problem(range) { throw ConfigError(setting: setting, message: problem) }
        return FunctionIdentities(range: range, names: names)
    }
}
