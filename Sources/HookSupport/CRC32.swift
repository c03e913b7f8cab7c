import CSys

/// CRC-32C (Castagnoli), used to detect torn or corrupted spool records.
public enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    /// Checksum of `bytes`, optionally continuing from a previous value. With the CPU's CRC32
    /// instruction when it has one: every record is checksummed when written and again at each
    /// recovery, a byte at a time that was ~10 % of a restart on a large log.
    public static func checksum<C: Collection>(_ bytes: C, seed: UInt32 = 0) -> UInt32 where C.Element == UInt8 {
        if hh_has_sse42() != 0, let c = bytes.withContiguousStorageIfAvailable({ hh_crc32c_sse42(~seed, $0.baseAddress, $0.count) }) {
            return ~c
        }
        return tableChecksum(bytes, seed: seed)
    }

    /// The portable version (CPUs without SSE4.2; tests compare the two).
    static func tableChecksum<C: Collection>(_ bytes: C, seed: UInt32 = 0) -> UInt32 where C.Element == UInt8 {
        var c = ~seed
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }
}
