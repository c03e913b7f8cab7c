import HookSupport
import HookNet
import HookHTTP
import HookVerify
/// Result of scanning a log image: the valid records and what was skipped.
public struct SpoolScan: Sendable {
    public var records: [(offset: Int64, length: Int, record: SpoolRecord)] = []
    /// Bytes skipped because a frame was torn or corrupt.
    public var skippedBytes = 0
    /// Where the last valid frame ends (appends continue here).
    public var validEnd: Int64 = 0
}

/// Reads frames back; stops trusting a region on a bad CRC and resynchronises on the next
/// valid frame, so one damaged record cannot hide the ones after it. One algorithm for a file
/// (read in windows) and for bytes in memory (tests).
public enum SpoolScanner {
    /// Scans bytes in memory.
    public static func scan(_ bytes: [UInt8]) -> SpoolScan {
        scan(size: Int64(bytes.count)) { offset, count in Array(bytes[Int(offset)..<(Int(offset) + count)]) }
    }

    /// Scans `size` bytes fetched through `read(offset, count)`, a window of at least `chunk`
    /// bytes (or one whole frame) at a time.
    static func scan<E: Error>(size: Int64, chunk: Int = 4 << 20, read: (Int64, Int) throws(E) -> [UInt8]) throws(E) -> SpoolScan {
        var records: [(offset: Int64, length: Int, record: SpoolRecord)] = []
        var result = try scan(size: size, chunk: chunk, bodies: true, read: read) { records.append(($0, $1, $2)) }
        result.records = records
        return result
    }

    /// The same, handing each record to `visit` as it is read instead of collecting them (a log
    /// of a million records would otherwise be held whole in memory at start). `records` of the
    /// result stays empty. Without `bodies`, see `SpoolRecord.decode`.
    static func scan<E: Error>(size: Int64, chunk: Int = 4 << 20, bodies: Bool, read: (Int64, Int) throws(E) -> [UInt8],
                               visit: (Int64, Int, SpoolRecord) -> Void) throws(E) -> SpoolScan {
        var result = SpoolScan()
        var window: [UInt8] = []
        var windowStart: Int64 = 0
        var pos: Int64 = 0
        while pos < size {
            // Keep at least one header, or a whole frame, in the window.
            var needed = SpoolRecord.headerSize
            let rel = Int(pos - windowStart)
            if rel + SpoolRecord.headerSize <= window.count, readLE(window[...], at: rel) == SpoolRecord.magic {
                needed = SpoolRecord.headerSize + min(Int(readLE(window[...], at: rel + 4)), SpoolRecord.maxPayload)
            }
            if rel + needed > window.count {
                if windowStart + Int64(window.count) >= size && windowStart <= pos && !window.isEmpty {
                    // Already at the end: a header whose frame runs past it is torn or bogus.
                    if size - pos < Int64(SpoolRecord.headerSize) { break }
                    pos += 1
                    result.skippedBytes += 1
                    continue
                }
                window = try read(pos, Int(min(Int64(max(chunk, needed)), size - pos)))
                windowStart = pos
                if window.isEmpty { break }  // the file shrank under us: nothing more to trust
                continue
            }
            if let (len, rec) = frame(at: rel, in: window, bodies: bodies) {
                let total = SpoolRecord.headerSize + len
                visit(pos, total, rec)
                pos += Int64(total)
                result.validEnd = pos
            } else {
                // Resynchronise at the next byte that can start a frame (the magic's first):
                // damage, or zeros allocated ahead, is crossed a window at a time, not byte by byte.
                let next = window[(rel + 1)...].firstIndex(of: UInt8(truncatingIfNeeded: SpoolRecord.magic)) ?? window.count
                let step = min(Int64(next - rel), size - pos)
                pos += step
                result.skippedBytes += Int(step)
            }
        }
        result.skippedBytes = max(result.skippedBytes, Int(size - result.validEnd))
        return result
    }

    /// Decodes the frame at `pos` if its magic, length and CRC are all right. `nested`: also a
    /// frame inside a batch (read where a reference points, never found by scanning the log: a
    /// torn batch must not give up some of its records).
    static func frame(at pos: Int, in bytes: [UInt8], bodies: Bool = true, nested: Bool = false) -> (Int, SpoolRecord)? {
        let magic = readLE(bytes[...], at: pos)
        guard magic == SpoolRecord.magic || (nested && magic == SpoolRecord.nestedMagic) else { return nil }
        let len = Int(readLE(bytes[...], at: pos + 4))
        guard len <= SpoolRecord.maxPayload, pos + SpoolRecord.headerSize + len <= bytes.count else { return nil }
        let crc = readLE(bytes[...], at: pos + 8)
        let lenBytes = bytes[(pos + 4)..<(pos + 8)]
        let payload = bytes[(pos + SpoolRecord.headerSize)..<(pos + SpoolRecord.headerSize + len)]
        guard CRC32C.checksum(payload, seed: CRC32C.checksum(lenBytes)) == crc else { return nil }
        guard let rec = SpoolRecord.decode(payload: payload, bodies: bodies) else { return nil }
        return (len, rec)
    }
}

func appendLE(_ v: UInt32, to out: inout [UInt8]) {
    out.append(UInt8(v & 0xFF)); out.append(UInt8(v >> 8 & 0xFF)); out.append(UInt8(v >> 16 & 0xFF)); out.append(UInt8(v >> 24))
}

func readLE(_ b: ArraySlice<UInt8>, at i: Int) -> UInt32 {
    UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
}
