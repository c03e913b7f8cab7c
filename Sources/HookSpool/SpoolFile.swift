import CSys
import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify

/// The append-only log file: positional appends with fdatasync, reads by offset, and atomic
/// replacement for compaction. Not thread-safe; `SpoolLog` serialises access (appends and
/// the append position under its file lock; the descriptor, which only `install` changes, also
/// under its swap lock, which reads share).
final class SpoolFile {
    let path: String
    let directory: String
    private(set) var fd: Int32
    /// Where the next append goes (end of the last valid record).
    private(set) var size: Int64
    /// The file's length: past `size` it holds zeros allocated ahead of the appends.
    private var allocatedEnd: Int64 = 0
    /// Whether to allocate ahead: off for read-only use, and once the filesystem says it cannot.
    private var preallocates: Bool
    /// Allocating ahead matters on this machine type: an append that grows the file makes every
    /// fdatasync also write the inode (its size) — ~150 µs per sync instead of ~110 µs measured
    /// on ext4. One larger sync per chunk pays for the allocation.
    static let preallocationChunk: Int64 = 8 << 20
    /// Free space below which the log is not allocated ahead.
    static let preallocationHeadroom: Int64 = 4 * preallocationChunk
    /// Test seam: runs just before each append's fdatasync (on the appending thread), so a test
    /// can hold a sync in progress.
    var beforeSync: (@Sendable () -> Void)?
    /// Zeros allowed after the last non-zero byte before a scan ignores the rest: no record ends
    /// in this many zero bytes (they end in a JSON `}` or a body that is JSON).
    static let zeroTailMargin: Int64 = 64 << 10

    /// `readOnly`: open an existing log for reading only (no O_CREAT, no directory fsync), so a
    /// read-only mount can be inspected; appends then fail (EBADF).
    init(directory: String, readOnly: Bool = false) throws(SpoolError) {
        self.directory = directory
        self.path = directory + "/spool.log"
        fd = readOnly ? hh_open3(path, O_RDONLY | O_CLOEXEC, 0) : hh_open3(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SpoolError("open", path: path) }
        size = 0
        preallocates = !readOnly
        if !readOnly { try SpoolFile.fsyncDirectory(directory) }
    }

    deinit { close(fd) }

    /// Reads every valid record, resynchronising past damage, and sets the append position to
    /// the end of the last valid record. Zeros allocated ahead are not damage.
    /// Each record goes to `visit` as it is read (bodies left out: see `SpoolRecord.decode`).
    func scan(_ visit: (Int64, Int, SpoolRecord) -> Void) throws(SpoolError) -> SpoolScan {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SpoolError("stat", path: path) }
        let fileSize = Int64(st.st_size)
        let dataEnd = try endOfData(fileSize)
        let scanEnd = min(fileSize, dataEnd + SpoolFile.zeroTailMargin)
        var result = try SpoolScanner.scan(size: scanEnd, bodies: false, read: { offset, count throws(SpoolError) in try read(at: offset, count: count) }, visit: visit)
        size = result.validEnd
        allocatedEnd = fileSize
        if result.validEnd >= dataEnd {
            // Only allocated zeros follow the last record: nothing torn, nothing skipped there.
            result.skippedBytes = max(0, result.skippedBytes - Int(scanEnd - result.validEnd))
        } else {
            // A torn tail is cut before the next append rather than overwritten: a shorter
            // append could leave whole frames of the torn batch behind it.
            staleTail = true
        }
        return result
    }

    /// Just past the last non-zero byte of the first `fileSize` bytes (0 if there is none).
    private func endOfData(_ fileSize: Int64) throws(SpoolError) -> Int64 {
        var end = fileSize
        while end > 0 {
            let start = max(0, end - (1 << 20))
            let chunk = try read(at: start, count: Int(end - start))
            if let last = chunk.lastIndex(where: { $0 != 0 }) { return start + Int64(last) + 1 }
            end = start
        }
        return 0
    }

    /// Appends bytes at the append position and makes them durable. On failure the file is cut
    /// back to the append position before the error is returned: a batch that failed part-way
    /// (ENOSPC after some frames, EIO on fdatasync) may have left whole, valid frames behind, and
    /// those deliveries were answered 503 — recovery must never find them.
    func append(_ bytes: [UInt8]) throws(SpoolError) -> Int64 {
        try cutStaleTail()
        let start = size
        if preallocates && start + Int64(bytes.count) > allocatedEnd { allocateAhead(to: start + Int64(bytes.count)) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + written, $0.count - written, off_t(start) + off_t(written)) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = SpoolError("write", path: path)
                discardFailedAppend()
                throw e
            }
            written += n
        }
        beforeSync?()
        guard fdatasync(fd) == 0 else {
            let e = SpoolError("fdatasync", path: path)
            discardFailedAppend()
            throw e
        }
        size = start + Int64(bytes.count)
        allocatedEnd = max(allocatedEnd, size)  // appended past what was allocated ahead
        return start
    }

    /// Extends the file with allocated zeros past `end`. Best effort, and only with room to
    /// spare: near a full disk the log must not take the space result downloads and functions
    /// need (appends then grow the file as they go). A filesystem that cannot allocate ahead is
    /// not asked again.
    private func allocateAhead(to end: Int64) {
        let chunk = SpoolFile.preallocationChunk
        let target = (end + chunk - 1) / chunk * chunk
        var vfs = statvfs()
        guard fstatvfs(fd, &vfs) == 0, Int64(vfs.f_bavail) * Int64(vfs.f_frsize) >= SpoolFile.preallocationHeadroom else { return }
        let rc = hh_fallocate(fd, off_t(allocatedEnd), off_t(target - allocatedEnd))
        if rc == 0 { allocatedEnd = target; return }
        if rc != ENOSPC && rc != EINTR { preallocates = false }
        // A failed fallocate may keep what it got: give it back (never below the records).
        let keep = max(allocatedEnd, size)
        var st = stat()
        if fstat(fd, &st) == 0, Int64(st.st_size) > keep { _ = ftruncate(fd, off_t(keep)) }
    }

    /// Bytes past `size` that a failed append left and that could not be cut yet. While set,
    /// nothing is appended: a shorter append would leave the failed batch's later frames intact.
    private(set) var staleTail = false

    private func discardFailedAppend() {
        staleTail = true
        try? cutStaleTail()
    }

    /// Truncates the file to the append position and makes the cut durable.
    private func cutStaleTail() throws(SpoolError) {
        guard staleTail else { return }
        guard ftruncate(fd, off_t(size)) == 0 else { throw SpoolError("ftruncate", path: path) }
        allocatedEnd = size
        guard fsync(fd) == 0 else { throw SpoolError("fsync", path: path) }
        staleTail = false
    }

    /// Reads `count` bytes at `offset`.
    func read(at offset: Int64, count: Int) throws(SpoolError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, count - got, off_t(offset) + off_t(got)) }
            if n < 0 { if errno == EINTR { continue }; throw SpoolError("read", path: path) }
            if n == 0 { break }
            got += n
        }
        if got < count { out.removeLast(count - got) }
        return out
    }

    /// Where a replacement log is written before it is renamed over the log.
    var replacementPath: String { path + ".compact" }

    /// Starts a replacement log next to the current one (for compaction).
    func beginReplacement() throws(SpoolError) -> SpoolReplacement {
        let tmp = replacementPath
        let nfd = hh_open3(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard nfd >= 0 else { throw SpoolError("open", path: tmp) }
        return SpoolReplacement(fd: nfd, path: tmp)
    }

    /// Makes the replacement durable (if it is not yet) and atomically puts it in place of the
    /// log. Once the rename happened the new file is the log, whatever follows: appends must go
    /// to it. The rename itself is durable only after `syncDirectory`.
    func install(_ r: SpoolReplacement) throws(SpoolError) {
        try r.sync()
        guard rename(r.path, path) == 0 else { throw SpoolError("rename", path: r.path) }
        close(fd)
        fd = r.fd
        size = r.size
        allocatedEnd = r.size
        r.installed = true
    }

    func syncDirectory() throws(SpoolError) { try SpoolFile.fsyncDirectory(directory) }

    static func fsyncDirectory(_ dir: String) throws(SpoolError) {
        let dfd = hh_open3(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        guard dfd >= 0 else { throw SpoolError("open", path: dir) }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw SpoolError("fsync", path: dir) }
    }
}

/// A log being rewritten: buffered sequential writes into a temporary file.
final class SpoolReplacement {
    let fd: Int32
    let path: String
    private(set) var size: Int64 = 0
    private var buffer: [UInt8] = []
    /// Nothing was appended since the last `sync`.
    private var synced = false
    var installed = false

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
        buffer.reserveCapacity(1 << 20)
    }

    /// Appends bytes; returns the offset they will have in the new log.
    func append(_ bytes: some Collection<UInt8>) throws(SpoolError) -> Int64 {
        let at = size
        synced = false
        buffer.append(contentsOf: bytes)
        size += Int64(bytes.count)
        if buffer.count >= 1 << 20 { try flush() }
        return at
    }

    func flush() throws(SpoolError) {
        var written = 0
        while written < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 { if errno == EINTR { continue }; throw SpoolError("write", path: path) }
            written += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes out the buffer and fsyncs (nothing to do when nothing was appended since the last time).
    func sync() throws(SpoolError) {
        guard !synced else { return }
        try flush()
        guard fsync(fd) == 0 else { throw SpoolError("fsync", path: path) }
        synced = true
    }

    /// Discards an unfinished replacement.
    func abandon() {
        guard !installed else { return }
        close(fd)
        unlink(path)
    }
}
