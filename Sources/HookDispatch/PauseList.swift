import HookSupport
import HookSpool
import HookNet
import HookHTTP
import HookVerify
import HookFetch

/// Which functions an operator paused, and since when. Pure: the set, its changes, and the JSON
/// it is kept as (`{"paused":[{"function":"F","since":1777896000.5}]}`).
public struct PauseList: Sendable, Equatable {
    /// Paused function → when it was paused (seconds since the epoch).
    public private(set) var since: [String: Double] = [:]

    public init() {}

    public func contains(_ name: String) -> Bool { since[name] != nil }

    public var isEmpty: Bool { since.isEmpty }

    /// The paused functions, sorted.
    public var names: [String] { since.keys.sorted() }

    /// Pauses `name` from `now`; false if it was paused already (since then, unchanged).
    @discardableResult
    public mutating func pause(_ name: String, at now: Double) -> Bool {
        guard since[name] == nil else { return false }
        since[name] = now
        return true
    }

    /// False if it was not paused.
    @discardableResult
    public mutating func resume(_ name: String) -> Bool { since.removeValue(forKey: name) != nil }

    /// A name a function can have: one a delivery can be routed to (`FunctionTable.routableNames`).
    public static func isFunctionName(_ name: String) -> Bool { name == "_default" || EventType.isValid(name) }

    public func encoded() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("paused")
        w.beginArray()
        for name in names {
            w.beginObject(); w.field("function", name); w.key("since"); w.double(since[name]!); w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes + [0x0A]
    }

    /// The list a file holds; a reason when it is not one (a file edited by hand). Nothing in it
    /// is guessed at: a pause misread would let a function the operator stopped run again.
    public static func decode(_ bytes: [UInt8]) -> Result<PauseList, PauseFileProblem> {
        guard let doc = try? JSONParser.parse(bytes) else { return .failure(PauseFileProblem("not JSON")) }
        guard case .array(let items)? = doc["paused"] else { return .failure(PauseFileProblem("no \"paused\" list")) }
        var list = PauseList()
        for (i, item) in items.enumerated() {
            guard let name = item["function"]?.stringValue, isFunctionName(name) else {
                return .failure(PauseFileProblem("entry \(i + 1): \"function\" is not a function name"))
            }
            guard let at = item["since"]?.doubleValue, at.isFinite else {
                return .failure(PauseFileProblem("entry \(i + 1) (\(name)): \"since\" is not a time"))
            }
            list.since[name] = at
        }
        return .success(list)
    }
}

/// Why a pause file could not be read as one.
public struct PauseFileProblem: Error, Equatable, CustomStringConvertible {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
