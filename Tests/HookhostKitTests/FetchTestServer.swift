import Glibc
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// Tests/fetch/fetch_server.py running on 127.0.0.1 for one test: started in init (bounded
/// wait for its ports), stopped in deinit.
final class FetchTestServer {
    let pid: pid_t
    let ports: [Int]
    let dir: String

    static let script: String = {
        // #filePath is .../Tests/HookhostKitTests/FetchTestServer.swift
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)
        return parts.joined(separator: "/") + "/fetch/fetch_server.py"
    }()

    init(ports count: Int = 3) throws {
        dir = makeTempDir("fetchsrv")
        let portFile = dir + "/ports"
        let argv = ["python3", FetchTestServer.script, portFile, String(count)]
        var cargs = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        var p: pid_t = 0
        let rc = posix_spawnp(&p, "python3", nil, nil, &cargs, environ)
        guard rc == 0 else { throw TestFailure("cannot start python3: \(rc)") }
        pid = p
        var found: [Int] = []
        for _ in 0..<200 {  // ≤ 10 s
            if let b = try? SmallFile.read(portFile, limit: 256) {
                found = String(decoding: b, as: UTF8.self).split(separator: " ").compactMap { Int($0.trimmingSpaces) }
                break
            }
            usleep(50_000)
        }
        ports = found
        guard found.count == count else {
            kill(p, SIGKILL); waitpid(p, nil, 0)
            throw TestFailure("fetch_server.py did not report its ports")
        }
    }

    deinit {
        // SIGKILL: the test runner's blocked/ignored signals are inherited through posix_spawn,
        // so SIGTERM may never reach a fixture that has nothing to clean up anyway.
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        FileSystem.removeTree(dir)
    }

    func base(_ i: Int = 0) -> String { "http://127.0.0.1:\(ports[i])" }

    /// Every request the server recorded (all ports): port, path, lower-cased headers.
    func log() throws -> [(port: Int, path: String, headers: [String: String])] {
        let r = try HTTPClient.perform(ClientRequest(url: base() + "/_log"))
        guard case .array(let items) = try JSONParser.parse(r.body) else { return [] }
        return items.map { item in
            var h: [String: String] = [:]
            if case .object(let members) = item["headers"] ?? .null { for m in members { h[m.key] = m.value.stringValue } }
            return (item["port"]?.intValue ?? 0, item["path"]?.stringValue ?? "", h)
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// The bytes fetch_server.py serves for `ok-N`: i % 251.
func servedPattern(_ n: Int) -> [UInt8] { (0..<n).map { UInt8($0 % 251) } }
