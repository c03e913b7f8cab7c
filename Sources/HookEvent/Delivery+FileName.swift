extension HookInput.Delivery {
    /// The delivery id made safe to use as one file or directory name, for idempotent output:
    /// write to `<dir>/<fileName>…` and a retry of the same delivery finds or replaces its own file.
    ///
    /// The id comes from a request header, so it must not name another directory (`/`, `..`) or
    /// hide the file (a leading `.`): every byte outside `A-Z a-z 0-9 . _ -` becomes `_`, a leading
    /// `.` gets a `_` in front, and the result is at most 200 characters.
    public var fileName: String { HookInput.safeFileName(id) }
}

extension HookInput {
    /// `text` (a delivery id, an interaction id, a `user_metadata` value) as one safe path
    /// component; see `Delivery.fileName`. Distinct texts may map to the same name (`a/b`, `a_b`).
    public static func safeFileName(_ text: String, maxLength: Int = 200) -> String {
        var name = String(text.unicodeScalars.prefix(maxLength).map { scalar -> Character in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": return Character(scalar)
            default: return "_"
            }
        })
        if name.isEmpty || name.hasPrefix(".") { name = "_" + name }
        return name
    }
}
