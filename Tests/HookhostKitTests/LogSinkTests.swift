import Glibc
import Testing
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch
@testable import HookhostKit

@Suite struct LogSinkTests {
    /// A line of `n` bytes with its newline.
    static func line(_ i: Int) -> [UInt8] { Array("{\"msg\":\"line \(i)\",\"pad\":\"\(String(repeating: "x", count: 80))\"}\n".utf8) }

    /// Reads what `fd` gets until `count` lines came or nothing more arrives for a few seconds.
    static func readLines(_ fd: Int32, count: Int) -> [UInt8] {
        var got: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while got.lazy.filter({ $0 == 0x0A }).count < count {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 5000) > 0 else { break }
            let n = read(fd, &buf, buf.count)
            guard n > 0 else { break }
            got += buf[0..<n]
        }
        return got
    }

    @Test func aNonBlockingDescriptorIsWaitedForNotDroppedFrom() {
        // A parent that set O_NONBLOCK on a pipe it shares with the host: the writer met EAGAIN
        // as soon as the pipe was full and threw the rest of each batch away, uncounted.
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        let sink = LogSink.shared(fd: fds[1])
        let n = 2000  // ~200 KB: three times what the pipe holds
        for i in 0..<n { sink.enqueue(LogSinkTests.line(i)) }
        let got = LogSinkTests.readLines(fds[0], count: n)
        #expect(got.filter { $0 == 0x0A }.count == n)
        #expect(Array(got.suffix(LogSinkTests.line(n - 1).count)) == LogSinkTests.line(n - 1))
        #expect(sink.droppedLines == 0)
        close(fds[0])  // the write end stays open: its number keeps naming this sink
    }

    @Test func linesADescriptorRefusesAreCounted() {
        // A reader that went away (EPIPE; the writer thread blocks SIGPIPE): the lines are lost,
        // but counted, as lines dropped for a full buffer are.
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        close(fds[0])
        let sink = LogSink.shared(fd: fds[1])
        for i in 0..<3 { sink.enqueue(LogSinkTests.line(i)) }
        #expect(sink.flush(seconds: 10))
        #expect(sink.droppedLines == 3)
    }
}
