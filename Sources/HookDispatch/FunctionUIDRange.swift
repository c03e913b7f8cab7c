import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// `HOOKHOST_FUNCTION_UIDS`: the ids functions run as, one uid (and the gid of the same number)
/// per function, so one function cannot read another's `/proc/<pid>/environ` (its `pass_env`
/// secrets), signal it or ptrace it. `FIRST-LAST`, both inclusive.
public struct FunctionUIDRange: Sendable, Equatable, CustomStringConvertible {
    public let first: UInt32
    public let last: UInt32

    public static let setting = "HOOKHOST_FUNCTION_UIDS"
    /// Ids above this are refused: tools that keep ids in a signed 32-bit integer misread them,
    /// and (uid_t)-1 means "unchanged" to setresuid.
    public static let highest: UInt32 = 2_147_483_647
    /// Fewer ids than two isolate nothing.
    public static let minimumCount: UInt64 = 2

    public init(first: UInt32, last: UInt32) {
        precondition(first <= last)
        self.first = first; self.last = last
    }

    public var count: UInt64 { UInt64(last - first) + 1 }
    public var description: String { "\(first)-\(last)" }
    public func contains(_ id: UInt32) -> Bool { id >= first && id <= last }

    /// Parses `FIRST-LAST` (decimal digits only; spaces around the numbers allowed); the message
    /// says what is wrong and names the setting.
    public static func parse(_ text: String) -> Result<FunctionUIDRange, ConfigError> {
        func bad(_ m: String) -> Result<FunctionUIDRange, ConfigError> { .failure(ConfigError(setting: setting, message: m)) }
        let shown = "\"\(text.prefix(60))\""
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        // At most 10 digits: every value that fits is parsed exactly, then range-checked.
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 10 && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
              let a = UInt64(parts[0]), let b = UInt64(parts[1]) else {
            return bad("expected FIRST-LAST, two integers from 1 to \(highest) (e.g. 100000-165535), got \(shown)")
        }
        if a == 0 || b == 0 { return bad("the range must not include 0: functions would run as root, got \(shown)") }
        if a > UInt64(highest) || b > UInt64(highest) { return bad("ids above \(highest) are not accepted, got \(shown)") }
        if a > b { return bad("FIRST is greater than LAST in \(shown); write the lower id first") }
        let r = FunctionUIDRange(first: UInt32(a), last: UInt32(b))
        if r.count < minimumCount {
            return bad("\(shown) holds \(r.count) id; give at least \(minimumCount) (one per function)")
        }
        return .success(r)
    }
}

/// What the machine says about a range: every reason it cannot be used, checked at start so a
/// bad range is exit 2 rather than functions that fail to start (or run as someone else).
/// Pure: the callers read the files.
public struct FunctionUIDCheck: Sendable {
    public var hostUID: UInt32
    public var hostGID: UInt32
    /// `/proc/self/uid_map` and `gid_map` (nil: unreadable, not checked).
    public var uidMap: String?
    public var gidMap: String?
    /// `/etc/passwd` and `/etc/group` (nil: unreadable, not checked).
    public var passwd: String?
    public var group: String?
    /// Names in the functions directory at start.
    public var functions: Int

    public init(hostUID: UInt32, hostGID: UInt32, uidMap: String?, gidMap: String?, passwd: String?, group: String?, functions: Int) {
        self.hostUID = hostUID; self.hostGID = hostGID
        self.uidMap = uidMap; self.gidMap = gidMap
        self.passwd = passwd; self.group = group
        self.functions = functions
    }

    /// The first problem of `range` here, or nil.
    public func problem(_ range: FunctionUIDRange) -> String? {
        if range.contains(hostUID) {
            return "\(range) holds the host's own uid \(hostUID): functions could read its environment and spool"
        }
        if range.contains(hostGID) {
            return "\(range) holds the host's own gid \(hostGID) (each function's gid is its uid): functions could read the host's group files"
        }
        for (name, map) in [("uid_map", uidMap), ("gid_map", gidMap)] {
            guard let map, let missing = FunctionUIDCheck.unmapped(range, map: map) else { continue }
            return "id \(missing) of \(range) is not mapped in this user namespace (/proc/self/\(name)): functions could not switch to it; use ids the namespace maps"
        }
        for (kind, file) in [("user", passwd), ("group", group)] {
            guard let file, let (name, id) = FunctionUIDCheck.entryInRange(range, file: file) else { continue }
            return "\(kind) \"\(name)\" (id \(id)) is in \(range): a function would run with its rights; pick ids no user or group has (e.g. 100000-165535)"
        }
        if UInt64(functions) > range.count {
            return "\(range) holds \(range.count) ids, fewer than the \(functions) functions in HOOKHOST_FUNCTIONS"
        }
        return nil
    }

    /// The first id of `range` no line of a uid_map/gid_map (`inside outside count`) covers.
    static func unmapped(_ range: FunctionUIDRange, map: String) -> UInt32? {
        var spans: [(UInt64, UInt64)] = []  // inside ids [start, end)
        for line in map.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count == 3, let inside = UInt64(f[0]), let n = UInt64(f[2]) else { continue }
            spans.append((inside, inside + n))
        }
        var next = UInt64(range.first)
        for (start, end) in spans.sorted(by: { $0.0 < $1.0 }) where start <= next && end > next {
            next = end
            if next > UInt64(range.last) { return nil }
        }
        // Spans sorted by start: one that starts past `next` leaves a gap at `next`.
        return UInt32(next)
    }

    /// A user or group (name, id) of an /etc/passwd or /etc/group file whose id is in `range`.
    static func entryInRange(_ range: FunctionUIDRange, file: String) -> (String, UInt32)? {
        for line in file.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 3, let id = UInt32(f[2]), range.contains(id) else { continue }
            return (String(f[0]), id)
        }
        return nil
    }
}
