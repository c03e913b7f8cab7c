import Glibc
import Synchronization
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// Result directories that are no longer needed: a finished delivery's, and what a crash left.
extension FetchStage {
    /// Deletes the result directory of a delivery that is finished, unless results are kept.
    func discard(_ id: String) {
        if config.keepResults == 0 { FileSystem.removeTree(directory(for: id)) }
    }

    /// Deletes result directories no unfinished delivery uses and that are older than `keepFor`:
    /// a crash mid-download, a kept result that expired.
    func sweep(unfinished: [DeliveryInfo], keepFor: Double) {
        let live = Set(unfinished.map { directory(for: $0.id) })
        let now = Double(time(nil))
        for name in (try? DirectoryEntries.names(config.resultsRoot)) ?? [] {
            let dir = config.resultsRoot + "/" + name
            guard !live.contains(dir) else { continue }
            var st = stat()
            guard stat(dir, &st) == 0 else { continue }
            if now - Double(st.st_mtim.tv_sec) >= keepFor { FileSystem.removeTree(dir) }
        }
    }
}
