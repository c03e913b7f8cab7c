import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookSpool
@testable import HookDispatch

@Suite struct ReconcileEventTests {
    func parse(_ s: String) -> JSON { try! JSONParser.parse(s) }

    @Test func batchStatesMapToTheEventsGeminiSends() {
        let item = { (state: String, extra: String) in
            self.parse(#"{"name":"batches/b1","metadata":{"state":"\#(state)","createTime":"2026-05-04T11:00:00Z","endTime":"2026-05-04T12:00:00.250Z"\#(extra)},"done":true}"#)
        }
        let ok = ReconcileEvent.batch(item("BATCH_STATE_SUCCEEDED", #","output":{"responsesFile":"files/batch-b1"}"#))!
        #expect(ok.type == "batch.succeeded" && ok.finishedAt == 1_777_896_000.25)
        #expect(String(decoding: ok.body!, as: UTF8.self)
                == #"{"type":"batch.succeeded","version":"v1","timestamp":"2026-05-04T12:00:00.250Z","data":{"id":"batches/b1","output_file_uri":"files/batch-b1"}}"#)
        let inline = ReconcileEvent.batch(item("BATCH_STATE_SUCCEEDED", #","output":{"inlinedResponses":{}}"#))!
        // No file: the host downloads batches/<id>, as for a real delivery without one.
        let head = SynthesizedEvent(inline)!.head
        #expect(head.result == "batches/b1" && head.job == "batches/b1")
        let failed = ReconcileEvent.batch(parse(#"{"name":"batches/b1","metadata":{"state":"BATCH_STATE_FAILED","endTime":"2026-05-04T12:00:00Z"},"error":{"code":13,"message":"boom"},"done":true}"#))!
        #expect(failed.type == "batch.failed")
        #expect(String(decoding: failed.body!, as: UTF8.self).contains(#""error_code":13,"error_message":"boom""#))
        #expect(ReconcileEvent.batch(item("BATCH_STATE_EXPIRED", ""))!.type == "batch.expired")
        #expect(ReconcileEvent.batch(item("BATCH_STATE_CANCELLED", ""))!.type == nil)
        #expect(ReconcileEvent.batch(item("BATCH_STATE_RUNNING", ""))!.type == nil)
        #expect(ReconcileEvent.batch(parse(#"{"metadata":{}}"#)) == nil)
        let meta = ReconcileEvent.batch(item("BATCH_STATE_EXPIRED", #","webhookConfig":{"user_metadata":{"route":"a"}}"#))!
        #expect(String(decoding: meta.body!, as: UTF8.self).hasSuffix(#""data":{"id":"batches/b1","user_metadata":{"route":"a"}}}"#))
    }

    @Test func operationsAndInteractions() {
        let video = ReconcileEvent.operation(parse(#"{"name":"models/veo/operations/op1","done":true,"response":{"generateVideoResponse":{"generatedSamples":[{"video":{"uri":"https://x/v1beta/files/f:download?alt=media"}}]}}}"#))!
        #expect(video.type == "video.generated")
        #expect(SynthesizedEvent(video)!.head.result == "https://x/v1beta/files/f:download?alt=media")
        #expect(ReconcileEvent.operation(parse(#"{"name":"operations/op2","done":false}"#))!.type == nil)
        #expect(ReconcileEvent.operation(parse(#"{"name":"operations/op3","done":true,"error":{"code":3}}"#))!.type == nil)
        for (status, type) in [("completed", "interaction.completed"), ("requires_action", "interaction.requires_action"),
                               ("failed", "interaction.failed"), ("in_progress", nil), ("cancelled", nil)] {
            #expect(ReconcileEvent.interaction(parse(#"{"id":"i1","status":"\#(status)"}"#), id: "i1")!.type == type)
        }
    }

    @Test func theIdIsDeterministicAndPassesTheDeliveryIdRules() {
        let a = ReconcileEvent(job: "batches/b1", state: "BATCH_STATE_SUCCEEDED", type: "batch.succeeded")
        let b = ReconcileEvent(job: "b1", state: "anything", type: "batch.succeeded")
        #expect(a.id == b.id)  // the job's last segment and the type, nothing else
        #expect(a.id!.hasPrefix("reconcile_b1_succeeded_") && a.id!.utf8.count == "reconcile_b1_succeeded_".utf8.count + 12)
        #expect(a.id != ReconcileEvent(job: "b1", state: "", type: "batch.failed").id)
        // Cleaned alike, told apart by the hash.
        let x = ReconcileEvent(job: "a b", state: "", type: "interaction.requires_action").id!
        let y = ReconcileEvent(job: "a+b", state: "", type: "interaction.requires_action").id!
        #expect(x != y && x.hasPrefix("reconcile_a-b_requires-action_"))
        let long = ReconcileEvent(job: String(repeating: "z", count: 1000), state: "", type: "batch.expired").id!
        #expect(long.utf8.count <= DeliveryEndpoint.maxIDLength && !EmitFile.isChildID(long))
        #expect(ReconcileEvent(job: "b1", state: "x").id == nil)
    }

    @Test func admissionChecksTheIdAgainstTheJob() {
        let e = ReconcileEvent(job: "batches/b1", state: "", type: "batch.expired")
        #expect(SynthesizedEvent.check(id: e.id!, body: e.body!).map(\.job) == .success("batches/b1"))
        guard case .failure = SynthesizedEvent.check(id: "reconcile_other", body: e.body!) else { Issue.record("a foreign id was taken"); return }
        guard case .failure = SynthesizedEvent.check(id: e.id!, body: bytes(#"{"type":"ping","data":{"id":"b1"}}"#)) else { Issue.record("ping taken"); return }
    }

    @Test func theWindowKeepsWhatFinishedWithinIt() {
        let now = 1_000_000.0
        let events = [ReconcileEvent(job: "old", state: "", type: "batch.succeeded", finishedAt: now - 3 * 86400),
                      ReconcileEvent(job: "new", state: "", type: "batch.succeeded", finishedAt: now - 3600),
                      ReconcileEvent(job: "unknown", state: "", type: "batch.succeeded"),
                      ReconcileEvent(job: "running", state: "", finishedAt: now)]
        #expect(ReconcileEvent.inWindow(events, now: now, window: 48 * 3600).map(\.job) == ["new", "unknown"])
    }

    @Test func timesAndDurations() throws {
        #expect(ReconcileEvent.parseTime("2026-05-04T12:00:00Z") == 1_777_896_000)
        #expect(ReconcileEvent.parseTime("2026-05-04T14:00:00.5+02:00") == 1_777_896_000.5)
        #expect(ReconcileEvent.parseTime("2026-05-04T12:00:00.123456789Z")! - 1_777_896_000.123456789 < 1e-6)
        for bad in ["2026-05-04", "2026-13-04T12:00:00Z", "2026-05-04T12:00:00", "2026-05-04T12:00:00.Z", "2026-05-04T12:00:00Zx"] {
            #expect(ReconcileEvent.parseTime(bad) == nil, "\(bad)")
        }
        #expect(try ReconcileWindow.parse("48h").get() == 172_800)
        #expect(try ReconcileWindow.parse("30m").get() == 1800)
        #expect(try ReconcileWindow.parse("2d").get() == 172_800)
        #expect(try ReconcileWindow.parse("90").get() == 90)
        for bad in ["1e999", "0x10", "+5", "0", "-1h", "", "h", "366d", "1.5.h", "inf"] {
            #expect((try? ReconcileWindow.parse(bad).get()) == nil, "\(bad)")
        }
    }
}
