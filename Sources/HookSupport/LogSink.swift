import Glibc
import Synchronization

/// Where a descriptor's log lines go: a bounded buffer that a thread of its own writes out. A
/// thread that logs never waits for the descriptor — the acknowledgement path logs, and a stderr
/// pipe nobody reads would otherwise stall every 202. When the buffer is full a line is dropped
/// and counted (`droppedLines`); once the writer catches up it says how many were lost.
public final class LogSink: @unchecked Sendable {  // safe: `pending`, `writing` and `lostSinceNote` are guarded by `monitor`
    /// Bytes of unwritten lines kept before new ones are dropped, unless set.
    public static let defaultCapacity = 4 << 20
    private let fd: Int32
    private var capacity = LogSink.defaultCapacity
    private let monitor = Monitor()
    private var pending: [UInt8] = []
    private var writing = false
    private var lostSinceNote = 0
    private let dropped = Atomic<Int>(0)

    private init(fd: Int32) {
        self.fd = fd
        startThread(name: "log-writer") { [self] in run() }
    }

    /// One sink per descriptor, shared by every logger writing to it (so their lines stay in order).
    public static func shared(fd: Int32) -> LogSink {
        registry.withLock { sinks in
            if let s = sinks[fd] { return s }
            let s = LogSink(fd: fd)
            sinks[fd] = s
            return s
        }
    }

    private static let registry = Mutex<[Int32: LogSink]>([:])

    /// Sets how many bytes of unwritten lines are kept before new ones are dropped.
    public func setCapacity(_ bytes: Int) { monitor.locked { capacity = bytes } }

    /// Lines dropped since start because the buffer was full.
    public var droppedLines: Int { dropped.load(ordering: .relaxed) }

    /// Queues one whole line (never blocks on the descriptor).
    public func enqueue(_ line: [UInt8]) {
        let queued = monitor.locked { () -> Bool in
            guard pending.count + line.count <= capacity else {
                lostSinceNote += 1
                return false
            }
            let wasIdle = pending.isEmpty
            pending += line
            if wasIdle { monitor.signal() }
            return true
        }
        if !queued { dropped.add(1, ordering: .relaxed) }
    }

    /// Waits until what is queued now has been written, at most `seconds` (a reader that never
    /// reads must not keep the process from exiting). True when everything was written.
    @discardableResult
    public func flush(seconds: Double = 2) -> Bool {
        let deadline = monotonicNow() + seconds
        return monitor.locked { () -> Bool in
            while !pending.isEmpty || writing {
                let left = deadline - monotonicNow()
                if left <= 0 { return false }
                monitor.wait(seconds: min(left, 0.05))
            }
            return true
        }
    }

    private func run() {
        while true {
            var batch = monitor.locked { () -> [UInt8] in
                while pending.isEmpty { monitor.wait(seconds: 3600) }
                writing = true
                var b: [UInt8] = []
                swap(&b, &pending)
                if lostSinceNote > 0 {
                    b += LogSink.lossNote(lostSinceNote)
                    lostSinceNote = 0
                }
                return b
            }
            LogSink.writeAll(fd, batch)
            batch.removeAll(keepingCapacity: false)
            monitor.locked {
                writing = false
                monitor.broadcast()  // flush() waits for this
            }
        }
    }

    private static func lossNote(_ n: Int) -> [UInt8] {
        var w = JSONWriter(reserve: 120)
        w.beginObject()
        w.field("level", "warn")
        w.field("msg", "log lines dropped: the log descriptor was not read fast enough")
        w.key("count"); w.int(n)
        w.endObject()
        return w.bytes + [0x0A]
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
                off += n
            }
        }
    }
}
