import Synchronization
import Testing
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch
@testable import HookhostKit

@Suite struct MetricsTests {
    @Test func indexedCounterSeriesExistAtZeroAndCount() {
        let m = Metrics()
        m.describe("x_total", "Things by kind.")
        let c = m.indexedCounter("x_total", label: "kind", values: ["a", "b"])
        c.add("b"); c.add("b"); c.add("other")
        let text = m.render()
        #expect(text.contains("# HELP x_total Things by kind.\n# TYPE x_total counter\n"))
        #expect(text.contains("x_total{kind=\"a\"} 0\n"))
        #expect(text.contains("x_total{kind=\"b\"} 2\n"))
        #expect(text.contains("x_total{kind=\"other\"} 1\n"))
    }

    @Test func histogramRendersBucketsSumAndCount() {
        let m = Metrics()
        m.observe("d_seconds", labels: [("f", "x")], 0.02)
        m.observe("d_seconds", labels: [], 400)
        let text = m.render()
        #expect(text.contains("# TYPE d_seconds histogram\n"))
        #expect(text.contains("d_seconds_bucket{f=\"x\",le=\"0.01\"} 0\n"))
        #expect(text.contains("d_seconds_bucket{f=\"x\",le=\"0.025\"} 1\n"))
        #expect(text.contains("d_seconds_bucket{f=\"x\",le=\"+Inf\"} 1\n"))
        #expect(text.contains("d_seconds_bucket{le=\"300\"} 0\n"))
        #expect(text.contains("d_seconds_bucket{le=\"+Inf\"} 1\n"))
        #expect(text.contains("d_seconds_count{f=\"x\"} 1\n"))
    }

    /// Two samplers adding to one gauge family (the app's gauges and a component's): one HELP and
    /// TYPE, and the family's samples together, as the text format requires.
    @Test func sampledGaugesOfOneFamilyStayTogether() {
        let m = Metrics(gauges: { [("g_waiting{function=\"a\"}", 1), ("g_other", 5)] })
        m.describe("g_waiting", "Waiting.")
        m.sampledGauges { [("g_waiting{function=\"b\"}", 2)] }
        let text = m.render()
        #expect(text.contains("# HELP g_waiting Waiting.\n# TYPE g_waiting gauge\ng_waiting{function=\"a\"} 1\ng_waiting{function=\"b\"} 2\n# TYPE g_other gauge\ng_other 5\n"), "\(text)")
        #expect(text.components(separatedBy: "# TYPE g_waiting").count == 2)
    }

    @Test func labelValuesAreEscaped() {
        #expect(Metrics.render([("k", "a\"b\\c\nd")]) == "{k=\"a\\\"b\\\\c\\nd\"}")
    }

    @Test func gaugesGetOneHeaderPerFamily() {
        let m = Metrics(gauges: { [("g{a=\"1\"}", 1), ("g{a=\"2\"}", 2)] })
        m.describe("g", "A gauge.")
        #expect(m.render() == "# HELP g A gauge.\n# TYPE g gauge\ng{a=\"1\"} 1\ng{a=\"2\"} 2\n")
    }

    @Test func sampledGaugesFollowTheRegistrysOwnAndAreReadAtEachScrape() {
        let m = Metrics(gauges: { [("g", 1)] })
        let n = Mutex(0.0)
        m.sampledGauges { [("w{r=\"a\"}", n.withLock { $0 }), ("w{r=\"b\"}", 0)] }
        m.describe("w", "Waiting.")
        #expect(m.render() == "# TYPE g gauge\ng 1\n# HELP w Waiting.\n# TYPE w gauge\nw{r=\"a\"} 0\nw{r=\"b\"} 0\n")
        n.withLock { $0 = 3 }
        #expect(m.render().contains("w{r=\"a\"} 3\n"))
    }
}

@Suite struct MetricsZeroSeriesTests {
    @Test func aDeclaredHistogramRendersAtZeroAndKeepsObservations() {
        let m = Metrics()
        m.declareHistogram("f_seconds", labels: [])
        #expect(m.render().contains("f_seconds_bucket{le=\"+Inf\"} 0\n"))
        #expect(m.render().contains("f_seconds_count 0\n"))
        m.observe("f_seconds", labels: [], 0.2)
        m.declareHistogram("f_seconds", labels: [])
        #expect(m.render().contains("f_seconds_count 1\n"))
    }

    @Test func preparersRunBeforeEachRender() {
        let m = Metrics()
        let n = Mutex(0)
        m.beforeRender { n.withLock { $0 += 1; m.add("late_total", labels: [("k", "v\($0)")], 0) } }
        #expect(m.render().contains("late_total{k=\"v1\"} 0\n"))
        #expect(m.render().contains("late_total{k=\"v2\"} 0\n"))
    }
}

@Suite struct MetricsLabelEscapingTests {
    /// A quote or backslash followed by a combining mark is one Character with it, and was left
    /// unescaped (the value ended there: not Prometheus text). Function names and types are
    /// plain dotted names today; label values in general need not be.
    @Test(arguments: [("x\"\u{301}", #"{function="x\"\#u{301}"}"#), ("\\\u{301}", #"{function="\\\#u{301}"}"#),
                      ("a\"b\\c\nd", #"{function="a\"b\\c\nd"}"#), ("plain", #"{function="plain"}"#)])
    func quotesBackslashesAndNewlinesAreEscapedScalarByScalar(_ name: String, _ rendered: String) {
        #expect(Array(Metrics.render([("function", name)]).unicodeScalars) == Array(rendered.unicodeScalars))
    }
}
