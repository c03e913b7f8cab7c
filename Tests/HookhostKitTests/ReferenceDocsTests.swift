import Glibc
import Testing
@testable import HookhostKit
@testable import HookSupport
@testable import HookNet
@testable import HookHTTP
@testable import HookVerify
@testable import HookSpool
@testable import HookFetch
@testable import HookDispatch

/// docs/reference.md is the contract users read: it must keep up with the code. Adding a setting
/// to `HostConfig.settings` without documenting it (default, range, flag) fails here.
@Suite struct ReferenceDocsTests {
    static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Tests/HookhostKitTests/<file>
        return parts.joined(separator: "/")
    }()

    static func read(_ relative: String) -> String {
        (try? SmallFile.read(root + "/" + relative, limit: 4 << 20)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    @Test func everySettingIsDocumentedInCode() {
        for name in HostConfig.settingNames {
            #expect(HostConfig.documentation[name] != nil, "\(name) has no entry in HostConfig.documentation (App/SettingDocs.swift)")
        }
        #expect(Set(HostConfig.documentation.keys).subtracting(HostConfig.settingNames).isEmpty, "documented settings that do not exist")
    }

    @Test func everySettingHasItsRowInTheReference() {
        let doc = Self.read("docs/reference.md")
        #expect(!doc.isEmpty, "docs/reference.md is missing")
        for name in HostConfig.settingNames {
            let row = HostConfig.referenceRow(name)
            #expect(doc.contains(row), "docs/reference.md lacks (or has a stale) row for \(name); expected:\n\(row)")
        }
    }

    @Test func everySidecarKeyAndRangeIsInTheReference() {
        let doc = Self.read("docs/reference.md")
        for (key, range) in FunctionSettings.ranges {
            #expect(doc.contains("`\(key)`"), "sidecar key \(key) missing")
            #expect(doc.contains(range.expectation), "sidecar range of \(key) missing: \(range.expectation)")
        }
        for key in ["fetch", "env", "pass_env", "on", "match"] { #expect(doc.contains("`\(key)`")) }
    }

    @Test func theRouteBoundsAreTheOnesInTheReference() {
        // Lines wrap anywhere: compared with every run of spaces and line breaks as one space.
        let doc = Self.read("docs/reference.md").split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        for phrase in ["at most \(RouteSpec.maxOn), each a plain dotted name", "most \(RouteSpec.maxKeys) keys, \(RouteSpec.maxValues) values per list",
                       "paths of at most \(RouteSpec.maxPathBytes) bytes and \(RouteSpec.maxSegments) segments",
                       "values of at most \(RouteSpec.maxValueBytes) bytes", "`hookhost functions route --type T"] {
            #expect(doc.contains(phrase), "docs/reference.md lacks: \(phrase)")
        }
    }

    @Test func theReadmeLinksTheReferenceAndNotTheUnshippedContract() {
        let readme = Self.read("README.md") + Self.read("Functions/README.md")
        #expect(readme.contains("docs/reference.md"))
        #expect(!readme.contains("CONTRACT"), "README points at CONTRACT, which users do not have")
    }
}
