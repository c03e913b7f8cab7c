import Glibc
import Synchronization

/// Where a descriptor's log lines go: a bounded buffer that a thread of its own writes out. A
/// thread that logs never waits for the descriptor — the acknowledgement path logs, and a stderr
/// pipe nobody reads would otherwise stall every 202. When the buffer is full a line is dropped
/// and counted (`droppedLines`); once the writer catches up it says how many were lost.
public final class LogSink: @unchecked Sendable {  // safe: `pending`, `writing`, `asleep`, `capacity` and `lostSinceNote` are guarded by `monitor`
    /// Bytes of unwritten lines kept before new ones are dropped, unless set.
    public static let defaultCapacity = 4 << 20
    private let fd: Int32
    private var capacity = LogSink.defaultCapacity
    private let monitor = Monitor()
    private var pending: [UInt8] = []
    private var writing = false
    /// The writer is in its long sleep (nothing came for `linger`): the next line wakes it. While
    /// it lingers, lines are not signalled — it picks them up within `linger`, one write for many
    /// lines: a wake-up per line cost the acknowledgement path a context switch each.
    private var asleep = true
    /// How long the writer waits for more lines after writing, before it sleeps until woken.
    static let linger = 0.005
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

    /// Lines dropped since start: the buffer was full, or the descriptor refused them (EPIPE, ENOSPC).
    public var droppedLines: Int { dropped.load(ordering: .relaxed) }

    /// Queues one whole line (never blocks on the descriptor).
    public func enqueue(_ line: [UInt8]) {
        let queued = monitor.locked { () -> Bool in
            guard pending.count + line.count <= capacity else {
                lostSinceNote += 1
                return false
            }
            pending += line
            if asleep {
                asleep = false
                monitor.signal()
            }
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
            monitor.broadcast()  // no lingering: write now
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
            var (batch, noted) = monitor.locked { () -> ([UInt8], Int) in
                if pending.isEmpty { monitor.wait(seconds: LogSink.linger) }
                while pending.isEmpty {
                    asleep = true
                    monitor.wait(seconds: 3600)
                }
                asleep = false
                writing = true
                var b: [UInt8] = []
                swap(&b, &pending)
                let noted = lostSinceNote
                if noted > 0 {
                    b += LogSink.lossNote(noted)
                    lostSinceNote = 0
                }
                return (b, noted)
            }
            let unwritten = LogSink.writeAll(fd, batch)
            batch.removeAll(keepingCapacity: false)
            // Lines lost are the end of the batch, so the note (its last line) went with them: its
            // count is owed again, and the note itself is no log line.
            let noteLost = unwritten > 0 && noted > 0
            let lost = unwritten - (noteLost ? 1 : 0)
            let owed = lost + (noteLost ? noted : 0)
            if lost > 0 { dropped.add(lost, ordering: .relaxed) }
            monitor.locked {
                lostSinceNote += owed
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

    /// Writes all of `bytes`; returns how many lines could not be written. A descriptor someone
    /// made non-blocking (a pipe shared with a parent that set O_NONBLOCK) is waited for as a
    /// blocking one would be — this thread is the one that may wait. Any other error (EPIPE,
    /// EBADF, ENOSPC) loses the rest of the batch, which is counted, never silently gone.
    @discardableResult
    package static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { buf -> Int in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                if n > 0 { off += n; continue }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    // Room, or an error the next write reports (a reader gone: EPIPE).
                    if poll(&p, 1, -1) >= 0 || errno == EINTR { continue }
                }
                return buf[off...].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            }
            return 0
        }
    }
}
