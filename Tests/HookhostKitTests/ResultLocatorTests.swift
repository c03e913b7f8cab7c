import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct ResultLocatorTests {
    func ref(_ type: String, _ body: String) throws -> String? {
        ResultLocator.reference(type: type, event: try JSONParser.parse(body))
    }

    @Test func batchPrefersTheOutputFile() throws {
        #expect(try ref("batch.succeeded", #"{"data":{"id":"batches/abc123","output_file_uri":"files/batch-abc123"}}"#) == "files/batch-abc123")
        #expect(try ref("batch.completed", #"{"data":{"id":"batches/abc123","output_file_uri":"files/batch-abc123"}}"#) == "files/batch-abc123")
    }

    @Test func batchWithoutAFileFallsBackToInlineResults() throws {
        #expect(try ref("batch.succeeded", #"{"data":{"id":"batches/abc123"}}"#) == "batches/abc123")
        #expect(try ref("batch.succeeded", #"{"data":{"id":"abc123"}}"#) == "batches/abc123")
        #expect(try ref("batch.succeeded", #"{"data":{"id":"abc123","output_file_uri":""}}"#) == "batches/abc123")
        #expect(try ref("batch.succeeded", #"{"data":{"id":"abc123","output_file_uri":null}}"#) == "batches/abc123")
        #expect(try ref("batch.succeeded", #"{"data":{}}"#) == nil)
        #expect(try ref("batch.succeeded", #"{"type":"batch.succeeded"}"#) == nil)
    }

    @Test func videoTakesTheFirstPresentField() throws {
        let all = #"{"data":{"id":"v","video_uri":"https://x/v1beta/files/a:download?alt=media","output_file_uri":"files/b","file_name":"files/c"}}"#
        #expect(try ref("video.generated", all) == "https://x/v1beta/files/a:download?alt=media")
        #expect(try ref("video.generated", #"{"data":{"output_file_uri":"files/b","file_name":"files/c"}}"#) == "files/b")
        #expect(try ref("video.generated", #"{"data":{"video_uri":" ","file_name":"files/c"}}"#) == "files/c")
        #expect(try ref("video.generated", #"{"data":{"video_uri":42,"file_name":"c"}}"#) == "c")
        #expect(try ref("video.generated", #"{"data":{"id":"v"}}"#) == nil)
    }

    @Test(arguments: ["batch.failed", "batch.cancelled", "batch.expired", "interaction.completed", "interaction.requires_action",
                      "interaction.failed", "ping", "video.failed", "Batch.Succeeded"])
    func otherTypesHaveNoResult(_ type: String) throws {
        #expect(try ref(type, #"{"data":{"id":"batches/a","output_file_uri":"files/b","video_uri":"files/c"}}"#) == nil)
    }
}
