import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch

/// The value a delivery is grouped by for flow control (`concurrency.key`, `rate.key`): a JSON
/// scalar compared as routes compare them (`1` and `1.0` are one key, `1` and `"1"` are two), or
/// `none` — one key shared by every delivery without a value there. Pure.
public struct FlowKey: Hashable, Sendable, CustomStringConvertible {
    /// Nil: the shared "none" key.
    public let value: MatchValue?

    public init(_ value: MatchValue?) { self.value = value }

    public static let none = FlowKey(nil)

    public var description: String { value?.description ?? "none" }
}

/// Where a delivery's flow key is read, as a sidecar names it: `type` (the canonical event type)
/// or `user_metadata.<dotted path>` (walking objects, as route `match` paths do). Pure.
public struct FlowKeyPath: Sendable, Equatable, CustomStringConvertible {
    public enum Root: Sendable, Equatable {
        case type
        case userMetadata([String])
    }

    /// As written in the sidecar.
    public let text: String
    public let root: Root

    public var description: String { text }

    /// The roots a key may name, for error messages and docs.
    static let expectation = "type or user_metadata.<dotted path>, e.g. user_metadata.job_group"

    /// Parses a sidecar's key text; nil with the reason when it names no supported place.
    public static func parse(_ text: String) -> Result<FlowKeyPath, FlowKeyPathError> {
        if text == "type" { return .success(FlowKeyPath(text: text, root: .type)) }
        let prefix = "user_metadata."
        guard text.hasPrefix(prefix) else { return .failure(.unsupportedRoot) }
        let path = String(text.dropFirst(prefix.count))
        guard path.utf8.count <= RouteSpec.maxPathBytes else { return .failure(.tooLong(RouteSpec.maxPathBytes)) }
        guard !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return .failure(.controlCharacter) }
        let segments = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !segments.contains(where: \.isEmpty) else { return .failure(.emptySegment) }
        guard segments.count <= RouteSpec.maxSegments else { return .failure(.tooManySegments(RouteSpec.maxSegments)) }
        return .success(FlowKeyPath(text: text, root: .userMetadata(segments)))
    }

    /// The key of a delivery of `type` with `userMetadata`: the scalar at the path, else `none`
    /// (a missing key, `null`, an object or an array there, no `user_metadata` at all).
    public func key(type: String, userMetadata: JSON?) -> FlowKey {
        switch root {
        case .type:
            return FlowKey(.string(type))
        case .userMetadata(let segments):
            guard var node = userMetadata else { return .none }
            for segment in segments {
                guard let next = node[segment] else { return .none }
                node = next
            }
            guard let v = MatchValue(node), v != .null else { return .none }
            return FlowKey(v)
        }
    }
}

/// Why a sidecar's flow key text names no place a key can be read from.
public enum FlowKeyPathError: Error, Equatable, CustomStringConvertible {
    case unsupportedRoot
    case tooLong(Int)
    case controlCharacter
    case emptySegment
    case tooManySegments(Int)

    public var description: String {
        switch self {
        case .unsupportedRoot: "must be \(FlowKeyPath.expectation)"
        case .tooLong(let n): "the path is longer than \(n) bytes"
        case .controlCharacter: "holds a control character"
        case .emptySegment: "has an empty segment (a dotted path like user_metadata.tenant.region)"
        case .tooManySegments(let n): "has more than \(n) segments"
        }
    }
}
