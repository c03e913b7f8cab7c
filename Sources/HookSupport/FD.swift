import CSys
import Glibc

/// The errno of a failed system call, as a typed error.
public struct Errno: Error, Equatable, CustomStringConvertible {
    public let code: Int32

    /// Captures the current `errno` unless given one.
    public init(_ code: Int32 = errno) { self.code = code }

    /// A non-blocking descriptor has nothing to give, or no room, right now.
    public var wouldBlock: Bool { code == EAGAIN || code == EWOULDBLOCK }

    public var description: String { String(cString: strerror(code)) }
}

/// Calls `call` again for as long as it fails with EINTR (a signal handler ran before the call
/// did anything), and returns what it finally returned; on failure `errno` is still the call's.
/// For calls that return -1 and set errno (read, write, waitpid, accept4, …).
public func retryingEINTR<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}

/// An open file descriptor with one owner: closed when that owner lets go of it (deinit), unless
/// it was handed on with `take()` or `release()`. Non-copyable, so two owners cannot close one
/// descriptor twice, or close a number the kernel has already given to someone else.
/// The I/O helpers retry EINTR and throw every other failure as `Errno`; EAGAIN, short counts
/// and end of input are the caller's to handle.
public struct FD: ~Copyable {
    /// The descriptor; -1 when there is none (closed, taken, or never opened).
    public private(set) var raw: Int32

    /// Owns `raw` from now on; -1 stands for no descriptor.
    public init(_ raw: Int32) { self.raw = raw }

    /// open(2) with close-on-exec added.
    public init(opening path: String, _ flags: Int32, mode: mode_t = 0) throws(Errno) {
        let fd = hh_open3(path, flags | O_CLOEXEC, Int32(mode))
        guard fd >= 0 else { throw Errno() }
        raw = fd
    }

    deinit { if raw >= 0 { Glibc.close(raw) } }

    public var isOpen: Bool { raw >= 0 }

    /// Hands the descriptor to the caller, who must close it; nothing is closed here.
    public consuming func release() -> Int32 {
        let fd = raw
        discard self
        return fd
    }

    /// Moves the descriptor into a new owner, leaving this one without.
    public mutating func take() -> FD {
        let fd = raw
        raw = -1
        return FD(fd)
    }

    /// Closes it now. close(2)'s answer is ignored: the descriptor is gone whatever it says.
    public mutating func close() {
        guard raw >= 0 else { return }
        Glibc.close(raw)
        raw = -1
    }

    /// Closes it now and reports a failure, for a writer that must know its data reached the
    /// file (NFS and some FUSE filesystems report write errors only at close).
    public mutating func closeReportingErrors() throws(Errno) {
        guard raw >= 0 else { return }
        let rc = Glibc.close(raw)
        raw = -1
        if rc != 0 { throw Errno() }
    }

    // MARK: I/O; every call below goes through the one EINTR loop.

    /// The count the call answered, or its errno (taken at once, before anything can change it).
    private static func outcome(_ call: () -> Int) -> Result<Int, Errno> {
        let n = retryingEINTR(call)
        return n >= 0 ? .success(n) : .failure(Errno())
    }

    /// read(2) into `buffer`: how many bytes came, 0 at end of input.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        let fd = raw
        return try FD.outcome { Glibc.read(fd, buffer.baseAddress, buffer.count) }.get()
    }

    /// read(2) into `buffer[start...]`: how many bytes came, 0 at end of input (or no room).
    public func read(into buffer: inout [UInt8], from start: Int = 0) throws(Errno) -> Int {
        precondition(start >= 0 && start <= buffer.count, "read start \(start) outside a buffer of \(buffer.count)")
        let fd = raw
        return try buffer.withUnsafeMutableBytes { b in
            FD.outcome { Glibc.read(fd, b.baseAddress.map { $0 + start }, b.count - start) }
        }.get()
    }

    /// pread(2) at file offset `offset` into all of `buffer`: how many bytes came, 0 past the end.
    public func pread(into buffer: inout [UInt8], at offset: Int) throws(Errno) -> Int {
        let fd = raw
        return try buffer.withUnsafeMutableBytes { b in
            FD.outcome { Glibc.pread(fd, b.baseAddress, b.count, off_t(offset)) }
        }.get()
    }

    /// write(2) of `bytes`: how many were taken (possibly fewer).
    public func write(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int {
        let fd = raw
        return try FD.outcome { Glibc.write(fd, bytes.baseAddress, bytes.count) }.get()
    }

    /// write(2) of `bytes[start...]`: how many were taken (possibly fewer).
    public func write(_ bytes: [UInt8], from start: Int = 0) throws(Errno) -> Int {
        precondition(start >= 0 && start <= bytes.count, "write start \(start) outside \(bytes.count) bytes")
        let fd = raw
        return try bytes.withUnsafeBytes { b in
            FD.outcome { Glibc.write(fd, b.baseAddress.map { $0 + start }, b.count - start) }
        }.get()
    }

    /// pwrite(2) of `bytes` at file offset `offset`: how many were taken (possibly fewer).
    public func pwrite(_ bytes: [UInt8], at offset: Int) throws(Errno) -> Int {
        let fd = raw
        return try bytes.withUnsafeBytes { b in
            FD.outcome { Glibc.pwrite(fd, b.baseAddress, b.count, off_t(offset)) }
        }.get()
    }

    /// Writes all of `bytes`, however many calls that takes (on a blocking descriptor).
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        var done = 0
        while done < bytes.count {
            let n = try write(UnsafeRawBufferPointer(rebasing: bytes[done...]))
            // A file that takes nothing of a non-empty write has no room left.
            guard n > 0 else { throw Errno(ENOSPC) }
            done += n
        }
    }

    /// Writes all of `bytes`, however many calls that takes (on a blocking descriptor).
    public func writeAll(_ bytes: [UInt8]) throws(Errno) {
        var done = 0
        while done < bytes.count {
            let n = try write(bytes, from: done)
            guard n > 0 else { throw Errno(ENOSPC) }
            done += n
        }
    }
}

extension FD {
    /// The two ends of a pipe, both close-on-exec.
    public struct Pipe: ~Copyable {
        public var readEnd: FD
        public var writeEnd: FD
    }

    /// pipe2(2) with O_CLOEXEC.
    public static func pipe() throws(Errno) -> Pipe {
        var fds: [Int32] = [-1, -1]
        guard hh_pipe2(&fds) == 0 else { throw Errno() }
        return Pipe(readEnd: FD(fds[0]), writeEnd: FD(fds[1]))
    }
}
