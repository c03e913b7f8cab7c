import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookSpool

@Suite struct ConsoleSamplesTests {
    @Test func labelsAreReadBackAsMetricsRenderedThem() {
        let pairs = [("function", "a\"b\\c\nd"), ("outcome", "ok")]
        #expect(ConsoleSample.labels(Metrics.render(pairs)) == ["function": "a\"b\\c\nd", "outcome": "ok"])
        #expect(ConsoleSample.labels("") == [:])
        #expect(ConsoleSample.labels(#"{outcome="accepted"}"#) == ["outcome": "accepted"])
    }

    /// Any label value reads back: a leading combining mark (which joins the opening quote into
    /// one Character) and a quote before `,outcome=` included.
    @Test(arguments: ["\u{301}x", "\u{301}", "x\"\u{301}", "a\",outcome=\"dead", "\\\u{301}", "\u{200D}\u{1F600}"])
    func oddFunctionNamesAreReadBackExactly(_ name: String) {
        let got = ConsoleSample.labels(Metrics.render([("function", name), ("outcome", "ok")]))
        #expect(got["function"].map { Array($0.unicodeScalars) } == Array(name.unicodeScalars))
        #expect(got["outcome"] == "ok")
    }

    @Test func theRingKeepsTheNewestInOrder() {
        var r = SampleRing(capacity: 3)
        for t in 1...5 { r.append(ConsoleSample(at: Double(t))) }
        #expect(r.count == 3)
        #expect(r.ordered.map(\.at) == [3, 4, 5])
        var small = SampleRing(capacity: 3)
        small.append(ConsoleSample(at: 1))
        #expect(small.ordered.map(\.at) == [1])
    }

    @Test func ratesAreDifferencesOverTimeNeverNegative() {
        #expect(ConsoleRates.perSecond(10, 30, seconds: 10) == 2)
        #expect(ConsoleRates.perSecond(30, 10, seconds: 10) == 0)
        #expect(ConsoleRates.perSecond(1, 2, seconds: 0) == nil)
    }

    @Test func theJSONHasOnePointPerPairOfSamples() throws {
        var a = ConsoleSample(at: 100), b = ConsoleSample(at: 110)
        a.accepted = 5; b.accepted = 25
        a.runs = ["f": ["ok": 1]]; b.runs = ["f": ["ok": 11, "failed": 2], "g": ["ok": 10]]
        b.queueDepth = 7; b.deadLetters = 2; b.oldestUnfinishedAge = 30; b.fetchBytes = 1000
        let doc = try JSONParser.parse(ConsoleRates.json([a, b], interval: 10))
        let points = try #require(doc["samples"].flatMap { if case .array(let p) = $0 { p } else { nil } })
        #expect(points.count == 1)
        let p = points[0]
        #expect(p["accepted_per_s"]?.doubleValue == 2)
        #expect(p["runs_per_s"]?["ok"]?.doubleValue == 2)
        #expect(p["runs_per_s"]?["failed"]?.doubleValue == 0.2)
        #expect(p["queue_depth"]?.intValue == 7 && p["dead_letters"]?.intValue == 2)
        #expect(p["download_bytes_per_s"]?.doubleValue == 100)
        #expect(try JSONParser.parse(ConsoleRates.json([a], interval: 10))["samples"] == .array([]))
    }

    @Test func aFunctionsErrorRateCountsFailedTimeoutAndDeadAmongAllRunsThatEnded() {
        var from = ConsoleSample(at: 0), to = ConsoleSample(at: 3600)
        from.runs = ["f": ["ok": 10, "failed": 1]]
        to.runs = ["f": ["ok": 16, "failed": 3, "timeout": 1, "dead": 1, "retry": 1, "skipped": 50]]
        let r = ConsoleRates.runs(of: "f", from: from, to: to)
        #expect(r.runs == 11 && r.errors == 4)  // a retry (exit 75) ended, without an error
        #expect(ConsoleRates.runs(of: "g", from: nil, to: to) == (0, 0))
    }

    @Test func theSamplerReadsTheCountersTheMetricsKeep() {
        let metrics = Metrics()
        let outcomes = metrics.indexedCounter("hookhost_deliveries_total", label: "outcome", values: ["accepted", "duplicate"])
        outcomes.add("accepted"); outcomes.add("accepted"); outcomes.add("duplicate")
        metrics.add("hookhost_runs_total", labels: [("function", "f"), ("outcome", "ok")], 3)
        metrics.add("hookhost_fetch_bytes_total", labels: [], 4096)
        let s = ConsoleSampler.read(metrics: metrics, spool: MemoryDeliveryStore(), now: 5)
        #expect(s.accepted == 2 && s.runs == ["f": ["ok": 3]] && s.fetchBytes == 4096 && s.at == 5)
    }
}
