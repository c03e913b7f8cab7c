import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// The fields of `/proc/<pid>/stat` the reaper needs. Pure parsing, so it is unit-tested.
struct ProcStat: Sendable, Equatable {
    var pid: Int32
    var comm: String
    /// One letter: R, S, D, Z, T, X, …
    var state: Character
    var ppid: Int32
    var pgrp: Int32

    var isZombie: Bool { state == "Z" || state == "X" }

    /// Parses `pid (comm) state ppid pgrp …`. `comm` is up to 16 bytes chosen by the process and
    /// may hold spaces and parentheses, so it ends at the *last* `)` of the line.
    init?(line: String) {
        let bytes = Array(line.utf8)
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")), let close = bytes.lastIndex(of: UInt8(ascii: ")")), open < close,
              let pid = Int32(String(decoding: bytes[..<open], as: UTF8.self).filter { $0 != " " }) else { return nil }
        let rest = String(decoding: bytes[(close + 1)...], as: UTF8.self).split(separator: " ", omittingEmptySubsequences: true)
        guard rest.count >= 3, rest[0].count == 1, let state = rest[0].first,
              let ppid = Int32(rest[1]), let pgrp = Int32(rest[2]) else { return nil }
        self.pid = pid
        self.comm = String(decoding: bytes[(open + 1)..<close], as: UTF8.self)
        self.state = state
        self.ppid = ppid
        self.pgrp = pgrp
    }

    /// The pids of a `/proc/<pid>/task/<tid>/children` file: decimal numbers separated by spaces.
    static func pidList(_ bytes: [UInt8]) -> [Int32] {
        var out: [Int32] = []
        var n: Int32 = 0, inNumber = false
        for b in bytes {
            if b >= 0x30 && b <= 0x39 {
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int32(b - 0x30))
                n = o1 || o2 ? Int32.max : a
                inNumber = true
            } else {
                if inNumber { out.append(n) }
                n = 0; inNumber = false
            }
        }
        if inNumber { out.append(n) }
        return out
    }

    /// The `NSpid:` line of a `/proc/<pid>/status` file: the process's pid in each pid namespace,
    /// from the one /proc belongs to down to the process's own. nil when the line is missing
    /// (kernels before 4.1) or malformed.
    static func nsPids(status: [UInt8]) -> [Int32]? {
        let key = Array("NSpid:".utf8)
        for line in status.split(separator: UInt8(ascii: "\n")) where line.starts(with: key) {
            let pids = pidList(Array(line.dropFirst(key.count)))
            // Only digits and blanks may follow the key: anything else is not a list of pids.
            let blanksAndDigits = line.dropFirst(key.count).allSatisfy { $0 == 0x20 || $0 == 0x09 || ($0 >= 0x30 && $0 <= 0x39) }
            return blanksAndDigits && !pids.isEmpty && !pids.contains(Int32.max) ? pids : nil
        }
        return nil
    }

    /// Just the ppid, straight from the bytes: the cheap filter before a full parse.
    static func parentPid(_ line: ArraySlice<UInt8>) -> Int32? {
        let space = UInt8(ascii: " ")
        guard let close = line.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var i = line.index(after: close)
        while i < line.endIndex && line[i] == space { i += 1 }
        while i < line.endIndex && line[i] != space { i += 1 }  // the state letter
        while i < line.endIndex && line[i] == space { i += 1 }
        var value: Int32 = 0, digits = 0
        while i < line.endIndex, line[i] >= UInt8(ascii: "0"), line[i] <= UInt8(ascii: "9"), digits < 9 {
            value = value * 10 + Int32(line[i] - UInt8(ascii: "0"))
            digits += 1
            i += 1
        }
        return digits > 0 && (i == line.endIndex || line[i] == space) ? value : nil
    }

    init(pid: Int32, comm: String, state: Character, ppid: Int32, pgrp: Int32) {
        self.pid = pid; self.comm = comm; self.state = state; self.ppid = ppid; self.pgrp = pgrp
    }
}
