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

    /// Why `HOOKHOST_FUNCTION_USER` isolates nothing here, or nil. Root, or the host's own uid,
    /// can read the host's environment and spool; gid 0 or the host's gid can read what is
    /// group-readable by root or by the host. Such a user was accepted, and the operator was
    /// told functions "cannot read the host".
    static func functionUserProblem(_ u: FunctionUser, hostUID: UInt32, hostGID: UInt32) -> String? {
        if u.uid == 0 { return "\(u) is root: functions would read everything the host can; give an unprivileged user" }
        if u.uid == hostUID { return "\(u) is the host's own uid: functions would read its environment and spool; give another user" }
        if u.gid == 0 { return "\(u) has gid 0 (root's group): functions could read files of that group; give a user with a group of its own" }
        if u.gid == hostGID { return "\(u) has the host's own gid \(hostGID): functions could read the host's group files; give a user with another group" }
        return nil
    }
}
