import Foundation

/// The file extension a downloaded video is filed under.
enum VideoFileName {
    /// Extensions by media type; parameters (`; codecs=…`) and case are ignored.
    static let extensions: [String: String] = [
        "video/mp4": "mp4", "video/webm": "webm", "video/quicktime": "mov", "video/x-matroska": "mkv",
        "video/mpeg": "mpeg", "video/ogg": "ogv", "video/3gpp": "3gp", "video/x-msvideo": "avi", "image/gif": "gif",
    ]

    /// From `content_type` when it names a known video type; else from the URI's last path
    /// segment (`gs://b/clip.webm`); else `mp4`, what Veo produces (the Files API often answers
    /// `application/octet-stream`).
    static func fileExtension(contentType: String?, uri: String) -> String {
        if let contentType {
            let mediaType = contentType.split(separator: ";", maxSplits: 1).first ?? ""
            let key = mediaType.trimmingCharacters(in: .whitespaces).lowercased()
            if let known = extensions[key] { return known }
        }
        let path = uri.split(separator: "?", maxSplits: 1).first ?? ""
        let last = path.split(separator: "/").last ?? ""
        if let dot = last.lastIndex(of: ".") {
            let ext = last[last.index(after: dot)...].lowercased()
            if (1...5).contains(ext.count), ext.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) { return ext }
        }
        return "mp4"
    }
}
