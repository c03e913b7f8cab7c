import Glibc
import Synchronization
import Testing
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch
@testable import HookhostKit

/// Counts SIGUSR2 deliveries for `aReadInterruptedByASignalIsRetried`.
private let interruptions = Atomic<Int>(0)

/// A lock-guarded value a test shares with the thread it starts.
private final class Shared<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ v: Value) { value = Mutex(v) }
}

@Suite struct FDTests {
    /// Whether the read end of a pipe reports end of input (every write end closed) within a
    /// few seconds; false while a write end is still open somewhere.
    func seesEndOfInput(_ readEnd: borrowing FD) -> Bool {
        var p = pollfd(fd: readEnd.raw, events: Int16(POLLIN), revents: 0)
        // Bounded: a forked child of a parallel test may hold a copy of the write end briefly.
        guard poll(&p, 1, 5000) == 1 else { return false }
        var byte: [UInt8] = [0]
        return (try? readEnd.read(into: &byte)) == 0
    }

    @Test func closesWhenItGoesAway() throws {
        var pipe = try FD.pipe()
        do {
            let writer = pipe.writeEnd.take()
            let moved = writer.isOpen && !pipe.writeEnd.isOpen
            #expect(moved)
        }
        let ended = seesEndOfInput(pipe.readEnd)
        #expect(ended)
    }

    @Test func aTakenDescriptorHasOneOwner() throws {
        var pipe = try FD.pipe()
        let raw = pipe.writeEnd.raw
        var first = pipe.writeEnd.take()
        let second = first.take()
        #expect(second.raw == raw && !first.isOpen)
        first.close()  // nothing to close: the descriptor went to `second`
        #expect(try second.write(Array("x".utf8)) == 1)
    }

    @Test func releaseHandsTheDescriptorOnWithoutClosingIt() throws {
        var pipe = try FD.pipe()
        let raw = pipe.writeEnd.take().release()
        #expect(write(raw, "ok", 2) == 2)
        var buf = [UInt8](repeating: 0, count: 2)
        #expect(try pipe.readEnd.read(into: &buf) == 2 && buf == Array("ok".utf8))
        close(raw)
        let ended = seesEndOfInput(pipe.readEnd)
        #expect(ended)
    }

    @Test func shortWritesAndReadsOnAFullPipe() throws {
        let pipe = try FD.pipe()
        _ = fcntl(pipe.writeEnd.raw, F_SETFL, O_NONBLOCK)
        _ = fcntl(pipe.readEnd.raw, F_SETFL, O_NONBLOCK)
        let big = [UInt8](repeating: 7, count: 4 << 20)
        // A pipe holds far less than 4 MiB: the write takes part of it, and then none.
        let taken = try pipe.writeEnd.write(big)
        #expect(taken > 0 && taken < big.count)
        #expect(throws: Errno(EAGAIN)) { try pipe.writeEnd.write(big, from: taken) }
        #expect(Errno(EAGAIN).wouldBlock)
        // Reads fill only the room they are given, from `start` on.
        var buf = [UInt8](repeating: 0, count: 8)
        #expect(try pipe.readEnd.read(into: &buf, from: 5) == 3)
        #expect(buf == [0, 0, 0, 0, 0, 7, 7, 7])
        var drained = 3
        for _ in 0..<(taken / 65536 + 2) {
            var chunk = [UInt8](repeating: 0, count: 65536)
            guard let n = try? pipe.readEnd.read(into: &chunk) else { break }
            drained += n
        }
        #expect(drained == taken)
        #expect(throws: Errno(EAGAIN)) { try pipe.readEnd.read(into: &buf) }
    }

    @Test func writeAllGetsEverythingThroughAPipeInPieces() throws {
        var pipe = try FD.pipe()
        let sent = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let reader = pipe.readEnd.take().release()
        let received = Shared<[UInt8]>([])
        let thread = startThread(name: "fd-test-reader") {
            let fd = FD(reader)
            var all: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 50_000)
            // Bounded by the sender: it closes its end after 3 MiB.
            while let n = try? fd.read(into: &chunk), n > 0 { all += chunk[..<n] }
            received.value.withLock { $0 = all }
        }
        try pipe.writeEnd.writeAll(sent)
        pipe.writeEnd.close()
        thread.join()
        #expect(received.value.withLock { $0 } == sent)
    }

    @Test func preadAndPwriteUseTheOffsetNotThePosition() throws {
        let path = makeTempDir("fd") + "/file"
        let file = try FD(opening: path, O_RDWR | O_CREAT | O_EXCL, mode: 0o600)
        #expect(try file.write(Array("0123456789".utf8)) == 10)
        #expect(try file.pwrite(Array("ab".utf8), at: 3) == 2)
        var buf = [UInt8](repeating: 0, count: 4)
        #expect(try file.pread(into: &buf, at: 2) == 4)
        #expect(buf == Array("2ab5".utf8))
        var tail = [UInt8](repeating: 0, count: 4)
        #expect(try file.pread(into: &tail, at: 8) == 2)
        #expect(try file.pread(into: &tail, at: 10) == 0)
        // The file position is still where the plain write left it.
        #expect(try file.read(into: &buf) == 0)
    }

    @Test func openFailuresCarryTheirErrno() {
        #expect(throws: Errno(ENOENT)) { _ = try FD(opening: "/nonexistent/dir/file", O_RDONLY) }
    }

    @Test func retryingEINTRRetriesOnlyEINTR() {
        var calls = 0
        let r = retryingEINTR { () -> Int in
            calls += 1
            if calls < 3 { errno = EINTR; return -1 }
            return 42
        }
        #expect(r == 42 && calls == 3)
        calls = 0
        let failed = retryingEINTR { () -> Int32 in
            calls += 1
            errno = EBADF
            return -1
        }
        #expect(failed == -1 && errno == EBADF && calls == 1)
    }

    /// A read blocked on an empty pipe is interrupted by a signal whose handler does not ask for
    /// restarts (no SA_RESTART), so read(2) fails with EINTR; `FD.read` must read again and
    /// return the byte that comes later, not the EINTR.
    @Test func aReadInterruptedByASignalIsRetried() throws {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in interruptions.add(1, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        var previous = sigaction()
        guard sigaction(SIGUSR2, &action, &previous) == 0 else { Issue.record("sigaction: \(Errno())"); return }
        defer { sigaction(SIGUSR2, &previous, nil) }

        var pipe = try FD.pipe()
        let reader = pipe.readEnd.take().release()
        let thread = Shared<UInt>(0)
        let outcome = Shared<Result<Int, Errno>?>(nil)
        let handle = startThread(name: "fd-test-eintr") {
            // startThread blocks every signal; this one is let through to interrupt the read.
            var usr2 = sigset_t()
            sigemptyset(&usr2)
            sigaddset(&usr2, SIGUSR2)
            pthread_sigmask(SIG_UNBLOCK, &usr2, nil)
            thread.value.withLock { $0 = UInt(pthread_self()) }
            let fd = FD(reader)
            var buf = [UInt8](repeating: 0, count: 8)
            let r = Result { () throws(Errno) -> Int in try fd.read(into: &buf) }
            outcome.value.withLock { $0 = r }
        }
        let before = interruptions.load(ordering: .relaxed)
        // Signal only once the thread sits in read(2) on our pipe; bounded waits throughout.
        #expect(waitUntilBlockedInRead(fd: reader))
        pthread_kill(pthread_t(thread.value.withLock { $0 }), SIGUSR2)
        for _ in 0..<5000 where interruptions.load(ordering: .relaxed) == before { usleep(1000) }
        #expect(interruptions.load(ordering: .relaxed) > before)
        // Interrupted, it went back to reading instead of returning.
        #expect(waitUntilBlockedInRead(fd: reader))
        #expect(outcome.value.withLock { $0 } == nil)
        #expect(try pipe.writeEnd.write([9]) == 1)
        handle.join()
        #expect(outcome.value.withLock { $0 } == .success(1))
    }

    /// Whether some thread of this process is (within a few seconds) blocked in read(2) on `fd`,
    /// as /proc/self/task/*/syscall shows: the syscall number, then its arguments in hex.
    func waitUntilBlockedInRead(fd: Int32) -> Bool {
        #if arch(x86_64)
        let read = "0"
        #elseif arch(arm64)
        let read = "63"
        #endif
        let prefix = "\(read) 0x\(String(fd, radix: 16)) "
        for _ in 0..<5000 {
            for tid in (try? DirectoryEntries.names("/proc/self/task")) ?? [] {
                let line = String(decoding: FileSystem.read("/proc/self/task/\(tid)/syscall") ?? [], as: UTF8.self)
                if line.hasPrefix(prefix) { return true }
            }
            usleep(1000)
        }
        return false
    }
}
