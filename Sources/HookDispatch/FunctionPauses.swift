import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// The functions paused in one data directory, kept in `DATA/paused.json` so a pause survives
/// restarts, crashes and power cuts: each change rewrites the file atomically and durably
/// (`AtomicFile`) before it takes effect or is answered.
///
/// A file of its own rather than a spool record: a pause is operator configuration, not a
/// delivery's state. As a record it would have to be carried through every compaction and could
/// only be read by opening the spool (its lock, or the control socket) — `hookhost functions`
/// reads this file as it is, and a change is one rename, as all-or-nothing as a record's CRC.
public final class FunctionPauses: Sendable {
    public static let fileName = "paused.json"
    /// The data directory the file is in; nil: kept in memory only (tests, tools).
    public let directory: String?
    private let current: Mutex<PauseList>
    /// Held across a change's file write, so the file ends as the last change left it.
    private let changing = Mutex<Void>(())
    private let observers = Mutex<[Observer]>([])

    struct Observer: Sendable {
        let paused: @Sendable (String) -> Void
        let resumed: @Sendable (String) -> Void
    }

    /// Nothing paused, nothing kept on disk.
    public init() {
        directory = nil
        current = Mutex(PauseList())
    }

    init(directory: String, list: PauseList) {
        self.directory = directory
        current = Mutex(list)
    }

    /// The pauses of the data directory `directory`; none when it has no file.
    public static func load(directory: String) throws(PauseFileError) -> FunctionPauses {
        FunctionPauses(directory: directory, list: try read(directory: directory))
    }

    /// What the file says now (`hookhost functions` reads it without taking the data directory's lock).
    public static func read(directory: String) throws(PauseFileError) -> PauseList {
        let path = directory + "/" + fileName
        let bytes: [UInt8]
        do { bytes = try SmallFile.read(path, limit: 1 << 20) } catch {
            if error.isMissing { return PauseList() }
            throw .unreadable(path: path, error.description)
        }
        switch PauseList.decode(bytes) {
        case .success(let list): return list
        case .failure(let problem): throw .unreadable(path: path, problem.reason)
        }
    }

    public var path: String? { directory.map { $0 + "/" + FunctionPauses.fileName } }

    public func isPaused(_ name: String) -> Bool { current.withLock { $0.contains(name) } }

    public var list: PauseList { current.withLock { $0 } }

    /// Pauses `name`: durable before it returns, and observers (the dispatcher) have seen it — no
    /// run of it starts after this returns. False if it was paused already.
    @discardableResult
    public func pause(_ name: String, at now: Double) throws(PauseFileError) -> Bool {
        try change(name) { $0.pause(name, at: now) }
    }

    /// Resumes `name`: durable before it returns, and its waiting deliveries are due again. False
    /// if it was not paused.
    @discardableResult
    public func resume(_ name: String) throws(PauseFileError) -> Bool {
        try change(name) { $0.resume(name) }
    }

    private func change(_ name: String, _ edit: (inout PauseList) -> Bool) throws(PauseFileError) -> Bool {
        try changing.withLock { _ throws(PauseFileError) -> Bool in
            var next = current.withLock { $0 }
            guard edit(&next) else { return false }
            if let directory {
                do throws(SystemError) { try AtomicFile.replace(directory: directory, name: FunctionPauses.fileName, with: next.encoded()) } catch {
                    throw .notWritten(path: directory + "/" + FunctionPauses.fileName, error.description)
                }
            }
            current.withLock { $0 = next }
            let paused = next.contains(name)
            for o in observers.withLock({ $0 }) { paused ? o.paused(name) : o.resumed(name) }
            return true
        }
    }

    /// `paused` runs (before `pause` returns) after a function was paused, `resumed` after one was resumed.
    func observe(paused: @escaping @Sendable (String) -> Void, resumed: @escaping @Sendable (String) -> Void) {
        observers.withLock { $0.append(Observer(paused: paused, resumed: resumed)) }
    }
}

/// The pause file could not be read or written; nothing changed.
public enum PauseFileError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, String)
    case notWritten(path: String, String)

    public var description: String {
        switch self {
        case .unreadable(let path, let why): "cannot read \(path): \(why)"
        case .notWritten(let path, let why): "cannot write \(path): \(why)"
        }
    }
}
