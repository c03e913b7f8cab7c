extension String {
    /// The text with every control character (C0, DEL, C1) shown as `\xNN`: strings the API
    /// returns (a webhook's name, set by anyone holding the project's key; a job's name) are
    /// printed to a terminal, where ESC sequences would recolour, retitle or rewrite the screen
    /// and a CR would overwrite what the line said.
    var terminalSafe: String {
        guard unicodeScalars.contains(where: String.isControl) else { return self }
        var out = ""
        for s in unicodeScalars {
            if String.isControl(s) {
                let hex = Array("0123456789abcdef")
                out += "\\x" + String([hex[Int(s.value >> 4) & 15], hex[Int(s.value & 15)]])
            } else {
                out.unicodeScalars.append(s)
            }
        }
        return out
    }

    private static func isControl(_ s: Unicode.Scalar) -> Bool { s.value < 0x20 || (0x7F...0x9F).contains(s.value) }
}
