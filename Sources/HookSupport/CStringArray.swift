import Glibc

/// A NULL-terminated array of C strings (an `argv` or `envp` for exec or posix_spawn), copied
/// once and freed when the array goes away. A class so a spawn closure can hold it.
public final class CStringArray {
    /// The strings and the terminating NULL, as execve(2) takes them.
    public let pointers: [UnsafeMutablePointer<CChar>?]

    public init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
    }

    deinit { for p in pointers { free(p) } }
}
