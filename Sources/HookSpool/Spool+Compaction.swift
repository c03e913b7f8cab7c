import CSys
import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify

extension Spool {
    /// A compaction cut short by a crash leaves its replacement log behind, as large as the live
    /// part of the log. It is never the only copy of anything (the log is replaced only by
    /// renaming a complete, synced replacement over it), so it is removed at start.
    func removeUnfinishedCompaction() {
        let leftover = log.replacementPath
        var st = stat()
        guard lstat(leftover, &st) == 0 else { return }
        if unlink(leftover) == 0 {
            logger.warn("spool: removed the replacement log of a compaction a crash interrupted", ["file": .string(leftover), "bytes": .int(Int(st.st_size))])
        } else {
            logger.error("spool: cannot remove the replacement log of an interrupted compaction", ["file": .string(leftover), "error": .string(String(cString: strerror(errno)))])
        }
    }

    func compactIfNeeded() {
        let size = log.atEnd { $0 }
        guard size > config.compactMinBytes else { return }
        // Only worth it when at least half the log is dead weight (superseded state records,
        // pruned deliveries): a log of live deliveries would be copied for nothing.
        guard size > board.liveBytes * 2,
              compacting.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return }
        let t = startThread(name: "spool-compact", nice: 5) { [self] in
            compact()
            compacting.store(false, ordering: .releasing)
        }
        // Joined by `stopWriter` (a compaction under way finishes before the log closes).
        compactor.withLock { $0 = t }
    }

    /// Rewrites the log with only what is still needed: live deliveries (their original frames,
    /// copied), remembered ids and the JWTs still bound to a delivery. Appends go on meanwhile;
    /// only the final step, which copies what was appended since the snapshot and swaps the
    /// files, holds the file lock (briefly).
    func compact() {
        let started = monotonicNow()
        // 1. Snapshot what is live and where the log ends now. Lock order everywhere: file, then index.
        let (cut, index) = log.atEnd { end in (end, board.withIndex { $0 }) }  // copy-on-write: cheap until mutated
        let live = index.liveRecords()
        do throws(SpoolError) {
            let out = try log.beginReplacement()
            defer { out.abandon() }
            // 2. Copy without any lock: bytes before `cut` never change.
            var moved: [Int64: Int64] = [:]
            moved.reserveCapacity(live.count * 2)
            for (body, state, earlier) in live {
                // A record inside a batch (an emitted event, its parent's outcome) moves out on its own.
                moved[body.offset] = try out.append(SpoolRecord.standalone(try log.readStable(at: body.offset, count: body.length)))
                // The attempt history too: `show` prints every attempt kept, not only the last.
                for s in earlier + (state.map { [$0] } ?? []) where s.offset < cut {
                    moved[s.offset] = try out.append(SpoolRecord.standalone(try log.readStable(at: s.offset, count: s.length)))
                }
            }
            // Ids remembered only for dedup: written from the snapshot's id table, one at a time.
            try index.forEachRememberedOnly { (id, at) throws(SpoolError) in _ = try out.append(SpoolRecord.seen(id: id, at: at).encoded()) }
            // The job completions seen, for as long as their ids are: most deliveries' own records are gone.
            for mark in index.jobs.records() { _ = try out.append(mark.encoded()) }
            // JWTs still bound to their delivery. Taken after `cut`: a binding whose record lies
            // before it was made before its record was queued, so it is in this list.
            for use in replayMemory.live() { _ = try out.append(SpoolRecord.token(use).encoded()) }
            // 3. Catch up with what was appended meanwhile, so that the step holding the file lock
            // has little left to copy.
            let tailBase = out.size
            var copied = cut
            for _ in 0..<8 {
                let end = log.atEnd { $0 }
                if end - copied < 1 << 20 { break }
                _ = try out.append(try log.readStable(at: copied, count: Int(end - copied)))
                copied = end
            }
            try out.sync()  // the bulk is made durable before the file lock is held
            // 4. Under the file lock: copy the rest of the tail, swap, move index positions.
            try log.install(out, tailFrom: copied) {
                board.withIndex { index in
                    index.remap { r in
                        if r.offset >= cut { return SpoolRef(offset: r.offset - cut + tailBase, length: r.length) }
                        // Every live position was copied in step 2 (`atEnd` waited until the index
                        // knew every record below `cut`, so the snapshot saw them all).
                        return SpoolRef(offset: moved[r.offset] ?? r.offset, length: r.length)
                    }
                }
            }
            hh_malloc_trim()  // the snapshot and offset map were large and short-lived
            logger.info("spool: compacted", ["before_bytes": .int(Int(cut)), "after_bytes": .int(Int(log.atEnd { $0 })),
                                             "ms": .int(Int((monotonicNow() - started) * 1000))])
        } catch {
            logger.error("spool: compaction failed; keeping the current log", ["error": .string(error.description)])
        }
    }
}
