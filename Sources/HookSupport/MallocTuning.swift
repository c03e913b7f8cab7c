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
///
/// An operator's own setting (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`, or the same in
/// `GLIBC_TUNABLES`) wins: glibc reads those before `main`, and mallopt would silently replace them.
public func tuneMalloc() {
    let plan = MallocTuning.plan(environment: FileSystem.env)
    hh_malloc_tune(plan.arenas ?? 0, plan.mmapThreshold ?? -1)
}

struct MallocTuning: Equatable {
    var arenas: Int32?
    var mmapThreshold: Int32?

    static func plan(environment: (String) -> String?) -> MallocTuning {
        let tunables = environment("GLIBC_TUNABLES") ?? ""
        func set(_ variable: String, _ tunable: String) -> Bool {
            environment(variable) != nil || tunables.contains(tunable + "=")
        }
        return MallocTuning(arenas: set("MALLOC_ARENA_MAX", "glibc.malloc.arena_max") ? nil : 2,
                            mmapThreshold: set("MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold") ? nil : 128 << 10)
    }
}
