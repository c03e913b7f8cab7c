import Foundation

/// Reads a file one line at a time with `getline`, so memory stays bounded by the longest line,
/// not the file: batch outputs can be gigabytes.
final class LineReader {
    private let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var buffer: UnsafeMutablePointer<CChar>?
    private var capacity = 0
    /// Bytes consumed so far, line terminators included: at the end, the file's size as read.
    private(set) var bytesRead = 0

    /// Opens `path`; throws the `errno` text when it can't.
    init(path: String) throws {
        guard let file = fopen(path, "r") else {
            throw LineReaderError(path: path, reason: String(cString: strerror(errno)))
        }
        self.path = path
        self.file = file
    }

    deinit {
        free(buffer)
        fclose(file)
    }

    /// The next line without its terminator, as raw bytes; `nil` at end of file.
    /// The buffer is only valid until the next call.
    func next() throws -> UnsafeRawBufferPointer? {
        clearerr(file)
        let count = getline(&buffer, &capacity, file)
        guard count >= 0, let buffer else {
            if ferror(file) != 0 { throw LineReaderError(path: path, reason: String(cString: strerror(errno))) }
            return nil
        }
        bytesRead += count
        var length = count
        while length > 0, buffer[length - 1] == 0x0A || buffer[length - 1] == 0x0D { length -= 1 }
        return UnsafeRawBufferPointer(start: buffer, count: length)
    }
}

struct LineReaderError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "\(path): \(reason)" }
}
