import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

extension Reaper {
    /// Children of this process (`host`: its pid here), from /proc (unreadable or vanished entries
    /// are skipped): each one's stat with `pid` and `ppid` in our own numbers (`pgrp` stays in
    /// /proc's), and its pid in /proc. Runs after every function (coalesced), under the lock
    /// workers need to spawn: the kernel's per-thread child lists name just our children (a
    /// handful) where a scan of /proc reads every process on the machine; the scan remains for
    /// kernels without them (CONFIG_PROC_CHILDREN). A list read while children come and go may
    /// miss one; the next sweep (at most `interval` later) finds it.
    static func children(in view: ProcNamespace, host: Int32) -> [(stat: ProcStat, procPid: Int32)] {
        guard let me = view.selfPid else { return [] }
        var reader = StatReader()
        let found: [ProcStat]
        if let pids = childList(of: me) {
            found = pids.compactMap { reader.stat(of: String($0), parent: me) }
        } else {
            guard let names = try? DirectoryEntries.names("/proc") else { return [] }
            found = names.compactMap { name in
                guard let first = name.utf8.first, first >= 0x30 && first <= 0x39 else { return nil }
                return reader.stat(of: name, parent: me)
            }
        }
        return found.compactMap { stat in
            guard let local = view.localPid(procPid: stat.pid) else { return nil }
            var ours = stat
            ours.pid = local
            ours.ppid = host
            return (ours, stat.pid)
        }
    }

    /// The pids in `/proc/<parent>/task/*/children` (a child belongs to the thread that started
    /// it); nil when the kernel does not provide these files.
    static func childList(of parent: Int32) -> [Int32]? {
        guard let tids = try? DirectoryEntries.names("/proc/\(parent)/task") else { return nil }
        var pids: [Int32] = []
        var any = false
        for tid in tids {
            guard let bytes = FileSystem.read("/proc/\(parent)/task/\(tid)/children", limit: 1 << 20) else { continue }
            any = true
            pids += ProcStat.pidList(bytes)
        }
        return any || tids.isEmpty ? pids : nil
    }

    /// Reads `/proc/<pid>/stat` files into one reused buffer, building a `ProcStat` only for
    /// children of `parent`.
    private struct StatReader {
        var buf = [UInt8](repeating: 0, count: 1024)
        var path = [CChar](repeating: 0, count: 32)

        mutating func stat(of name: String, parent: Int32) -> ProcStat? {
            guard name.utf8.count <= 16 else { return nil }
            // "/proc/<digits>/stat" built in place: no String per entry.
            var k = 0
            for c in "/proc/".utf8 { path[k] = CChar(bitPattern: c); k += 1 }
            for c in name.utf8 { path[k] = CChar(bitPattern: c); k += 1 }
            for c in "/stat".utf8 { path[k] = CChar(bitPattern: c); k += 1 }
            path[k] = 0
            let file = FD(open(path, O_RDONLY | O_CLOEXEC))
            guard file.isOpen, let n = try? file.read(into: &buf) else { return nil }
            guard n > 0, ProcStat.parentPid(buf[0..<n]) == parent else { return nil }
            return ProcStat(line: String(decoding: buf[0..<n], as: UTF8.self))
        }
    }
}
