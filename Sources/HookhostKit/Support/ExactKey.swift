/// A String compared and hashed by its UTF-8 bytes. Swift's `String ==` is Unicode canonical
/// equivalence (`"é" == "e\u{301}"`), but a webhook id is an opaque key: two ids that differ in a
/// byte are two deliveries, and treating one as a duplicate of the other loses it.
public struct ExactKey: Hashable, Sendable {
    public let string: String

    public init(_ string: String) { self.string = string }

    public static func == (a: ExactKey, b: ExactKey) -> Bool { a.string.utf8.elementsEqual(b.string.utf8) }

    public func hash(into hasher: inout Hasher) {
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if done == nil { for b in string.utf8 { hasher.combine(b) } }
        hasher.combine(string.utf8.count)
    }
}
