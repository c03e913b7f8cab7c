import Glibc

/// A String compared and hashed by its UTF-8 bytes. Swift's `String ==` is Unicode canonical
/// equivalence (`"é" == "e\u{301}"`), but a webhook id is an opaque key: two ids that differ in a
/// byte are two deliveries, and treating one as a duplicate of the other loses it.
public struct ExactKey: Hashable, Sendable {
    public let string: String

    public init(_ string: String) { self.string = string }

    public static func == (a: ExactKey, b: ExactKey) -> Bool {
        let x = a.string.utf8, y = b.string.utf8
        guard x.count == y.count else { return false }
        // Native strings are contiguous UTF-8: one memcmp instead of a generic element loop
        // (this runs on every dedup lookup).
        let fast: Bool?? = x.withContiguousStorageIfAvailable { px in
            y.withContiguousStorageIfAvailable { py in px.count == 0 || memcmp(px.baseAddress!, py.baseAddress!, px.count) == 0 }
        }
        if let known = fast ?? nil { return known }
        return x.elementsEqual(y)
    }

    public func hash(into hasher: inout Hasher) {
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if done == nil { for b in string.utf8 { hasher.combine(b) } }
        hasher.combine(string.utf8.count)
    }
}
