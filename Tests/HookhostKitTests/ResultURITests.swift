import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

@Suite struct ResultURITests {
    let policy = FetchPolicy.gemini

    @Test func everyFormResolvesToItsRequest() throws {
        let cases: [(String, String, Credential, String, String)] = [
            ("files/batch-abc123", "https://generativelanguage.googleapis.com/download/v1beta/files/batch-abc123:download?alt=media",
             .apiKey, "files/batch-abc123", "batch-abc123"),
            ("abc123", "https://generativelanguage.googleapis.com/download/v1beta/files/abc123:download?alt=media",
             .apiKey, "files/abc123", "abc123"),
            ("  files/x  ", "https://generativelanguage.googleapis.com/download/v1beta/files/x:download?alt=media", .apiKey, "files/x", "x"),
            ("https://generativelanguage.googleapis.com/v1beta/files/vid9:download?alt=media",
             "https://generativelanguage.googleapis.com/v1beta/files/vid9:download?alt=media", .apiKey,
             "https://generativelanguage.googleapis.com/v1beta/files/vid9:download?alt=media", "vid9"),
            ("gs://my-bucket/out/pred 1.jsonl", "https://storage.googleapis.com/storage/v1/b/my-bucket/o/out%2Fpred%201.jsonl?alt=media",
             .gcsToken, "gs://my-bucket/out/pred 1.jsonl", "pred_1.jsonl"),
            ("batches/abc123", "https://generativelanguage.googleapis.com/v1beta/batches/abc123", .apiKey, "batches/abc123", "abc123.json"),
            ("https://storage.googleapis.com/storage/v1/b/b/o/o?alt=media",
             "https://storage.googleapis.com/storage/v1/b/b/o/o?alt=media", .gcsToken,
             "https://storage.googleapis.com/storage/v1/b/b/o/o?alt=media", "o"),
        ]
        for (ref, url, cred, uri, name) in cases {
            let r = try policy.request(for: ref)
            #expect(r.url.string == url, "\(ref)")
            #expect(r.credential == cred, "\(ref)")
            #expect(r.uri == uri, "\(ref)")
            #expect(r.fileName == name, "\(ref)")
        }
    }

    @Test func baseWithPathPrefixIsJoined() throws {
        let p = try FetchPolicy(apiBase: "http://127.0.0.1:9000/gemini/", gcsBase: "http://127.0.0.1:9001", fetchHosts: [])
        #expect(try p.request(for: "files/a").url.string == "http://127.0.0.1:9000/gemini/download/v1beta/files/a:download?alt=media")
        #expect(try p.request(for: "batches/b").url.string == "http://127.0.0.1:9000/gemini/v1beta/batches/b")
        #expect(try p.request(for: "gs://bk/o").url.string == "http://127.0.0.1:9001/storage/v1/b/bk/o/o?alt=media")
    }

    @Test(arguments: ["", "files/", "files/../secrets", "files/a/b", "files/a?x=1", "batches/a#b", "models/gemini",
                      "ftp://h/x", "s3://bucket/key", "gs://bucket", "gs:///obj", "gs://Bucket/obj", "http://", "..",
                      "https://user@generativelanguage.googleapis.com/x"])
    func malformedReferencesAreFinal(_ ref: String) {
        do {
            _ = try policy.request(for: ref)
            Issue.record("accepted \(ref)")
        } catch {
            guard case .invalidReference = error else { Issue.record("\(ref): \(error)"); return }
            #expect(error.isFinal)
        }
    }

    @Test func urlOnAnotherHostIsRefusedAtResolution() {
        #expect(throws: FetchError.hostNotAllowed(host: "evil.example", viaRedirect: false)) {
            try policy.request(for: "https://evil.example/v1beta/files/x:download?alt=media")
        }
        // Same host, other scheme or port: another origin, not the API host.
        #expect(throws: FetchError.hostNotAllowed(host: "generativelanguage.googleapis.com:8443", viaRedirect: false)) {
            try policy.request(for: "https://generativelanguage.googleapis.com:8443/x")
        }
    }

    @Test func fileNamesAreSafe() throws {
        #expect(ResultURI.safeName("../../etc/passwd") == "_.._etc_passwd")
        #expect(ResultURI.safeName("...") == "result")
        #expect(ResultURI.safeName(String(repeating: "a", count: 300)).count == 100)
        #expect(try ResultURI(parsing: "gs://b/dir/...").fileName == "result")
        #expect(try ResultURI(parsing: "gs://b/dir/").fileName == "dir")
    }
}

extension ResultURITests {
    /// A reference that is not an id had its text repeated, unredacted, in the reason: the query
    /// of `files/abc?key=…` reached the dead letter, `deliveries show` and the log.
    @Test(arguments: ["files/abc?key=SECRET", "abc?sig=SECRET", "batches/x#SECRET", "files/a b?token=SECRET"])
    func aReasonNeverCarriesTheQueryOfAnId(_ ref: String) {
        do {
            _ = try ResultURI(parsing: ref)
            Issue.record("\(ref) parsed")
        } catch {
            #expect(!error.reason.contains("SECRET"), "\(error.reason)")
        }
    }

    @Test func aReasonShowsAHugeReferenceCutShort() {
        let ref = "files/" + String(repeating: "a", count: 100_000) + "!"
        do {
            _ = try ResultURI(parsing: ref)
            Issue.record("parsed")
        } catch {
            #expect(error.reason.utf8.count < 1000)
        }
    }
}
