import Glibc
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookSpool
@testable import HookDispatch
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookFetch

@Suite struct FunctionSeriesTests {
    @Test func everyExecutableFunctionHasItsSeriesAtZeroAndAddedOnesJoinAtTheNextScrape() {
        let dir = makeTempDir("fseries")
        defer { FileSystem.removeTree(dir) }
        writeNoopFunction(dir, "batch.succeeded")
        writeFile(dir + "/lonely", "#!/bin/sh\n", mode: 0o644)  // not executable: no runs of it
        let m = Metrics()
        m.describeDispatch()
        let series = FunctionSeries(table: FunctionTable(directory: dir), metrics: m)
        series.refresh()
        m.beforeRender { series.refresh() }
        var text = m.render()
        for o in ["ok", "retry", "failed", "timeout", "dead"] {
            #expect(text.contains("hookhost_runs_total{function=\"batch.succeeded\",outcome=\"\(o)\"} 0\n"), "\(o)")
        }
        #expect(!text.contains("function=\"batch.succeeded\",outcome=\"skipped\""))
        #expect(text.contains("hookhost_runs_total{function=\"\",outcome=\"skipped\"} 0\n"))
        #expect(text.contains("hookhost_dead_letters_total{function=\"batch.succeeded\"} 0\n"))
        #expect(!text.contains("lonely"))
        // A run already counted is not reset by a later refresh.
        m.deadLetter(function: "batch.succeeded")
        writeNoopFunction(dir, "ping")
        chmod(dir + "/lonely", 0o755)
        text = m.render()
        #expect(text.contains("hookhost_dead_letters_total{function=\"batch.succeeded\"} 1\n"))
        #expect(text.contains("hookhost_dead_letters_total{function=\"ping\"} 0\n"))
        #expect(text.contains("hookhost_runs_total{function=\"lonely\",outcome=\"ok\"} 0\n"))
    }
}
