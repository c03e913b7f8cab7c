import Glibc
import Synchronization

/// Severity of a log line; lines below the configured level are dropped.
public enum LogLevel: Int, Sendable, Comparable {
    case debug = 0, info, warn, error

    public init?(name: String) {
        switch name.lowercased() {
        case "debug": self = .debug
        case "info": self = .info
        case "warn", "warning": self = .warn
        case "error": self = .error
        default: return nil
        }
    }

    var name: String { ["debug", "info", "warn", "error"][rawValue] }
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// A value in a structured log line.
public enum LogValue: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String), int(Int), double(Double), bool(Bool)
    public init(stringLiteral s: String) { self = .string(s) }
    public init(integerLiteral i: Int) { self = .int(i) }
}

/// JSON-lines logger on stderr. Lines go whole through the descriptor's `LogSink`, so concurrent
/// lines never interleave and logging never waits for a slow reader.
public final class Logger: Sendable {
    private let minLevel: Atomic<Int>
    private let clock: any WallClock
    private let sink: LogSink

    public init(level: LogLevel = .info, clock: any WallClock = SystemClock(), fd: Int32 = 2) {
        self.minLevel = Atomic(level.rawValue)
        self.clock = clock
        self.sink = LogSink.shared(fd: fd)
    }

    /// Lines this logger's descriptor lost because nobody read them fast enough.
    public var droppedLines: Int { sink.droppedLines }


    public var level: LogLevel {
        get { LogLevel(rawValue: minLevel.load(ordering: .relaxed)) ?? .info }
        set { minLevel.store(newValue.rawValue, ordering: .relaxed) }
    }

    public func enabled(_ level: LogLevel) -> Bool { level.rawValue >= minLevel.load(ordering: .relaxed) }

    /// Writes `{"ts":…,"level":…,"msg":…, fields…}`.
    public func log(_ level: LogLevel, _ msg: String, _ fields: KeyValuePairs<String, LogValue> = [:]) {
        guard enabled(level) else { return }
        var w = JSONWriter(reserve: 160)
        w.beginObject()
        w.field("ts", formatTimestamp(clock.now()))
        w.field("level", level.name)
        w.field("msg", msg)
        for (k, v) in fields {
            w.key(k)
            switch v {
            case .string(let s): w.string(s)
            case .int(let i): w.int(i)
            case .double(let d): w.double(d)
            case .bool(let b): w.bool(b)
            }
        }
        w.endObject()
        var line = w.bytes
        line.append(0x0A)
        sink.enqueue(line)
    }

    public func debug(_ msg: String, _ f: KeyValuePairs<String, LogValue> = [:]) { log(.debug, msg, f) }
    public func info(_ msg: String, _ f: KeyValuePairs<String, LogValue> = [:]) { log(.info, msg, f) }
    public func warn(_ msg: String, _ f: KeyValuePairs<String, LogValue> = [:]) { log(.warn, msg, f) }
    public func error(_ msg: String, _ f: KeyValuePairs<String, LogValue> = [:]) { log(.error, msg, f) }
}
