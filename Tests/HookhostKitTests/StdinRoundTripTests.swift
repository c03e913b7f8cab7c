import Foundation
import HookEvent
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// The host's stdin writer (`FunctionInput.encode`) against the functions' reader (`HookInput.decode`):
/// every field the host writes must come out of `HookEvent` as the same value, for both delivery
/// kinds, with and without a result and user_metadata, with large numbers and non-ASCII text.
@Suite struct StdinRoundTripTests {
    /// Writes one stdin document the way the dispatcher does (user_metadata located in the body).
    func encode(id: String = "wh_msg_0001", attempt: Int = 1, receivedAt: Double = 1777896001.123,
                jwt: JWTIdentity? = nil, type: String, body: String, result: FetchedResult? = nil) throws -> [UInt8] {
        let raw = Array(body.utf8)
        let parsed = try JSONParser.parse(raw)
        return FunctionInput.encode(id: id, attempt: attempt, receivedAt: receivedAt, verifiedBy: jwt == nil ? .hmac : .jwt,
                                    jwt: jwt, type: type, body: raw,
                                    userMetadata: FunctionInput.userMetadata(body: raw, parsed: parsed), result: result)
    }

    func decode(_ bytes: [UInt8]) throws -> HookInput {
        try HookInput.decode(from: Data(bytes))
    }

    @Test func hmacDeliveryWithoutResultOrMetadata() throws {
        let input = try decode(try encode(attempt: 3, type: "batch.failed",
                                          body: #"{"type":"batch.failed","version":"v1","timestamp":"2026-05-04T12:00:00.250Z","data":{"id":"batches/b1","error_code":429,"error_message":"quota"}}"#))
        #expect(input.contract == 1)
        #expect(input.delivery == HookInput.Delivery(id: "wh_msg_0001", attempt: 3, receivedAt: "2026-05-04T12:00:01.123Z", verifiedBy: "hmac"))
        #expect(input.delivery.keyID == nil && input.delivery.claims == nil)
        #expect(input.type == "batch.failed")
        #expect(input.event.type == "batch.failed")
        #expect(input.event.version == "v1")
        #expect(input.event.timestamp == "2026-05-04T12:00:00.250Z")
        #expect(input.event.data.id == "batches/b1")
        #expect(input.event.data.errorCode == "429")
        #expect(input.event.data.errorMessage == "quota")
        #expect(input.userMetadata == nil && input.metadata == nil)
        #expect(input.result == nil)
    }

    @Test func hmacDeliveryWithResultAndMetadata() throws {
        // A 5 GB batch file: `bytes` beyond 32 bits must stay exact.
        let result = FetchedResult(uri: "files/batch-abc123", path: "/var/lib/hookhost/results/wh_msg_0001/batch-abc123.jsonl",
                                   bytes: 5_000_000_123, sha256: String(repeating: "ab", count: 32), contentType: "application/jsonl; charset=utf-8")
        let body = #"{"type":"batch.completed","data":{"id":"batches/abc123","output_file_uri":"files/batch-abc123","user_metadata":{"job_group":"nightly-eval","priority":"high","n":42,"on":true,"none":null,"list":[1,"two",{"x":3.5}]}}}"#
        let input = try decode(try encode(type: "batch.succeeded", body: body, result: result))
        #expect(input.type == "batch.succeeded")   // the alias is delivered under its new name…
        #expect(input.event.type == "batch.completed")   // …while the event stays as sent
        #expect(input.event.version == nil && input.event.timestamp == nil)
        #expect(input.event.data.outputFileUri == "files/batch-abc123")
        let expected: [String: JSONValue] = ["job_group": "nightly-eval", "priority": "high", "n": 42, "on": true, "none": nil,
                                             "list": [1, "two", ["x": 3.5]]]
        #expect(input.userMetadata == expected)
        #expect(input.metadata == expected)
        #expect(input.event.data.userMetadata == expected)
        #expect(input.result == HookInput.Result(uri: result.uri, path: result.path, bytes: 5_000_000_123,
                                                 sha256: result.sha256, contentType: "application/jsonl; charset=utf-8"))
    }

    @Test func resultWithoutContentTypeAndTopLevelMetadata() throws {
        let result = FetchedResult(uri: "batches/abc", path: "/r/batches-abc.json", bytes: 0, sha256: "e3b0c442", contentType: nil)
        let input = try decode(try encode(type: "batch.succeeded",
                                          body: #"{"type":"batch.succeeded","user_metadata":{"job_group":"top"},"data":{"id":"abc"}}"#,
                                          result: result))
        #expect(input.result?.contentType == nil)
        #expect(input.result?.bytes == 0)
        #expect(input.result?.uri == "batches/abc")
        #expect(input.userMetadata == ["job_group": "top"])
        #expect(input.event.data.userMetadata == nil)
    }

    @Test func jwtDeliveryCarriesKeyIDAndClaims() throws {
        let claims = #" {"iss":"https://generativelanguage.googleapis.com","aud":["hookhost","other"],"exp":1777899600,"iat":1777896000,"nested":{"ü":"ñ"}} "#
        let jwt = JWTIdentity(keyID: "key-2026.05_a", claims: Array(claims.utf8))
        let result = FetchedResult(uri: "https://generativelanguage.googleapis.com/v1beta/files/v1:download?alt=media",
                                   path: "/r/v1.mp4", bytes: 1_048_576, sha256: "00", contentType: "video/mp4")
        let input = try decode(try encode(jwt: jwt, type: "video.generated",
                                          body: #"{"type":"video.generated","data":{"id":"models/veo/operations/op1","video_uri":"https://generativelanguage.googleapis.com/v1beta/files/v1:download?alt=media"}}"#,
                                          result: result))
        #expect(input.delivery.verifiedBy == "jwt")
        #expect(input.delivery.keyID == "key-2026.05_a")
        let expected: [String: JSONValue] = ["iss": "https://generativelanguage.googleapis.com", "aud": ["hookhost", "other"],
                                             "exp": 1777899600, "iat": 1777896000, "nested": ["ü": "ñ"]]
        #expect(input.delivery.claims == expected)
        #expect(input.event.data.videoUri == result.uri)
        #expect(input.result?.contentType == "video/mp4")
        #expect(input.result?.bytes == 1_048_576)
    }

    @Test func jwtDeliveryWithoutResultOrMetadata() throws {
        let jwt = JWTIdentity(keyID: "k", claims: Array("{}".utf8))
        let input = try decode(try encode(jwt: jwt, type: "interaction.completed",
                                          body: #"{"type":"interaction.completed","data":{"id":"interactions/i1"}}"#))
        #expect(input.delivery.keyID == "k")
        #expect(input.delivery.claims == [:])
        #expect(input.result == nil && input.userMetadata == nil)
        #expect(input.event.data.id == "interactions/i1")
    }

    @Test func unicodeAndEscapesSurviveInEveryStringField() throws {
        // Raw UTF-8, \u escapes (a surrogate pair among them), quotes, backslashes and control escapes.
        let body = #"{"type":"ping","data":{"id":"caf\u00e9 \"q\" \\ \n\t 🎬","error_message":"naïve \ud83d\ude80 日本語","user_metadata":{"ключ":"значение","e\u0301":"\u0000"}}}"#
        let result = FetchedResult(uri: "files/vidéo-🎬", path: "/r/ディレクトリ/\"odd\" name\\.mp4", bytes: 7,
                                   sha256: "ff", contentType: "video/mp4; name=\"ü\"")
        let input = try decode(try encode(id: "wh_ü_\"id\"", type: "ping", body: body, result: result))
        #expect(input.delivery.id == "wh_ü_\"id\"")
        #expect(input.event.data.id == "café \"q\" \\ \n\t 🎬")
        #expect(input.event.data.errorMessage == "naïve 🚀 日本語")
        #expect(input.userMetadata == ["ключ": "значение", "e\u{301}": "\u{0}"])
        #expect(input.result?.uri == "files/vidéo-🎬")
        #expect(input.result?.path == "/r/ディレクトリ/\"odd\" name\\.mp4")
        #expect(input.result?.contentType == "video/mp4; name=\"ü\"")
    }

    @Test func largeNumbersDecodeWithoutFailing() throws {
        // Numbers are `Double` in `JSONValue` (documented): exact up to 2^53, nearest double beyond.
        let body = #"{"type":"ping","data":{"id":12345678901234,"error_code":9007199254740992,"big":123456789012345678901234567890,"neg":-9007199254740991,"exp":1.5e300,"frac":0.1},"user_metadata":{"huge":98765432109876543210}}"#
        let input = try decode(try encode(attempt: Int(Int32.max) + 1, type: "ping", body: body))
        #expect(input.delivery.attempt == 2_147_483_648)
        #expect(input.event.data.id == "12345678901234")
        #expect(input.event.data.errorCode == "9007199254740992")
        #expect(input.event.data["neg"]?.intValue == -9_007_199_254_740_991)
        #expect(input.event.data["big"]?.doubleValue == 123456789012345678901234567890.0)
        #expect(input.event.data["exp"]?.doubleValue == 1.5e300)
        #expect(input.event.data["frac"]?.doubleValue == 0.1)
        #expect(input.userMetadata?["huge"]?.doubleValue == 98765432109876543210.0)
    }

    @Test func whitespaceAndKeyOrderOfTheBodyDoNotMatter() throws {
        let body = "\n { \"data\" : { \"user_metadata\" : { \"b\" : 1 , \"a\" : [ ] } , \"id\" : \"x\" } ,\r\n \"type\" : \"ping\" } \n"
        let input = try decode(try encode(type: "ping", body: body))
        #expect(input.event.type == "ping")
        #expect(input.event.data.id == "x")
        #expect(input.userMetadata == ["b": 1, "a": []])
    }

    @Test func unusualDataShapesAreReadLeniently() throws {
        // `data` not an object, `timestamp` not a string, no `version`: still a valid event.
        let input = try decode(try encode(type: "ping", body: #"{"type":"ping","timestamp":1777896000,"data":[1,2]}"#))
        #expect(input.event.data.raw == [1, 2])
        #expect(input.event.data.id == nil)
        #expect(input.event.timestamp == nil && input.event.version == nil)
    }

    @Test func receivedAtIsTheHostsMillisecondTimestamp() throws {
        let input = try decode(try encode(receivedAt: 1777896001.9999, type: "ping", body: #"{"type":"ping"}"#))
        #expect(input.delivery.receivedAt == "2026-05-04T12:00:02.000Z")
    }

    @Test func hookEventsOwnEncodingReadsBackEqual() throws {
        // What a test of a handler would build by hand (HookInput's initialisers) survives its own Codable.
        let original = try decode(try encode(jwt: JWTIdentity(keyID: "k1", claims: Array(#"{"a":[1,{"b":null}]}"#.utf8)),
                                             type: "batch.succeeded",
                                             body: #"{"type":"batch.succeeded","data":{"id":"batches/z","user_metadata":{"g":"x"}}}"#,
                                             result: FetchedResult(uri: "files/z", path: "/p", bytes: 3, sha256: "aa", contentType: nil)))
        let again = try HookInput.decode(from: try JSONEncoder().encode(original))
        #expect(again == original)
    }
}
