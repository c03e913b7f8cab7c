/// A parsed JSON value. Numbers keep their source text so large integers survive untouched.
public indirect enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSON])
    case object([JSONMember])

    /// The member value for `key` in an object (first occurrence), else nil.
    public subscript(key: String) -> JSON? { member(key)?.value }

    /// The member (value and its raw byte range) for `key` in an object.
    public func member(_ key: String) -> JSONMember? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }
    }

    /// The string payload, when this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// An integer when this is a number without fraction or exponent that fits in Int.
    public var intValue: Int? {
        if case .number(let n) = self { return Int(n) }
        return nil
    }

    /// A Double for any number.
    public var doubleValue: Double? {
        if case .number(let n) = self { return Double(n) }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }
}

/// One member of a JSON object; `valueRange` indexes the raw bytes the value was parsed from.
public struct JSONMember: Sendable, Equatable {
    public let key: String
    public let value: JSON
    public let valueRange: Range<Int>
}
