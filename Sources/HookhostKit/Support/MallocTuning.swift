import CSys

/// Sets glibc malloc up so RSS follows what the host remembers (call first thing in `main`).
///
/// Measured with bench/memory.py (200k deliveries): with glibc's defaults RSS stayed at 105 MB
/// after 200k deliveries and at 98 MB (411 bytes per id) once only the dedup ids were left,
/// although the index itself holds ~25 MB. Two defaults cause it:
/// - one malloc arena per thread that allocates (up to 8 per core): every HTTP loop's short-lived
///   request objects fragment its own arena, and a page with one live object in it stays;
/// - the dynamic mmap threshold: once a large block is freed, glibc raises the threshold to its
///   size, so the index's growing tables and id arenas (hundreds of KB each) move into those
///   fragmented heaps instead of their own mappings, which `free` would give back whole.
/// Two arenas (this is a 2-core deployment target: two cores cannot contend harder) and a fixed
/// 128 KiB threshold: 66 MB and 111 bytes per id in the same run.
public func tuneMalloc() {
    hh_malloc_tune(2, 128 << 10)
}
