import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// How /proc numbers processes, next to the numbers `kill` and `waitpid` take here. /proc may
/// belong to an outer pid namespace (`unshare --pid --fork` without `--mount-proc`, a container
/// given the machine's /proc): then `/proc/<getpid()>` is some other process, and a pid read
/// from /proc must be translated (through the `NSpid:` line) before it is signalled or reaped.
struct ProcNamespace: Sendable, Equatable {
    /// This process as /proc numbers it; nil when /proc is missing or cannot see this process
    /// (then nothing is learnt from it).
    var selfPid: Int32?
    /// How many pid namespaces an `NSpid:` line lists from /proc's down to ours: a process of our
    /// namespace (or a deeper one) has its pid here at index `levels - 1`. 1: /proc is ours.
    var levels: Int

    /// /proc is this namespace's: no translation.
    static func same(selfPid: Int32) -> ProcNamespace { ProcNamespace(selfPid: selfPid, levels: 1) }
    /// Nothing can be learnt from /proc.
    static let unusable = ProcNamespace(selfPid: nil, levels: 1)

    /// Pure: from `readlink /proc/self` (nil when unreadable), this process's own `NSpid:` list
    /// (nil on kernels without it) and `getpid()`.
    static func make(selfLink: String?, ownNSpids: [Int32]?, pid: Int32) -> ProcNamespace {
        guard let link = selfLink, let inProc = Int32(link), inProc > 0 else { return .unusable }
        guard let ns = ownNSpids else {
            // No NSpid: the numbers can only be trusted when they are plainly ours.
            return inProc == pid ? .same(selfPid: pid) : .unusable
        }
        guard ns.first == inProc, ns.last == pid else { return .unusable }
        return ProcNamespace(selfPid: inProc, levels: ns.count)
    }

    /// Pure: our pid for a process /proc calls `procPid`, given its `NSpid:` list; nil when it
    /// is not in our namespace (we could not signal it) or the list does not fit.
    func localPid(procPid: Int32, nsPids: [Int32]?) -> Int32? {
        guard selfPid != nil else { return nil }
        if levels == 1 { return procPid }
        guard let ns = nsPids, ns.first == procPid, ns.count >= levels else { return nil }
        return ns[levels - 1]
    }

    /// This process's view, read from /proc.
    static func current() -> ProcNamespace {
        var buf = [CChar](repeating: 0, count: 32)
        let n = readlink("/proc/self", &buf, buf.count - 1)
        let link = n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
        let own = FileSystem.read("/proc/self/status", limit: 64 << 10).flatMap(ProcStat.nsPids(status:))
        return make(selfLink: link, ownNSpids: own, pid: getpid())
    }

    /// Our pid for the process /proc calls `procPid` (reads its status only when /proc is not ours).
    func localPid(procPid: Int32) -> Int32? {
        if levels == 1 { return selfPid == nil ? nil : procPid }
        return localPid(procPid: procPid, nsPids: FileSystem.read("/proc/\(procPid)/status", limit: 64 << 10).flatMap(ProcStat.nsPids(status:)))
    }
}
