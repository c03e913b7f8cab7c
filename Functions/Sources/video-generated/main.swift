// video.generated: files the generated video into a library, grouped by the job that asked for it:
//
//   $VIDEO_LIBRARY_DIR/<user_metadata.job_group, or "ungrouped">/<delivery id>.<mp4, webm, …>
//   $VIDEO_LIBRARY_DIR/<…>/<delivery id>.json   where it came from: event, URI, bytes, sha256, metadata
//
// and prints where it put them. hookhost deletes its download after the run, so the video is
// hard-linked (no copy, same disk) or else copied. Runs at least once per delivery: the names
// depend only on the delivery, each file appears with one rename, and a filed video is not redone.
import Foundation
import HookEvent

let input = HookInput.readOrExit()

guard let result = input.result else {
    // hookhost downloads the video before starting us; none yet means: try again later.
    HookExit.fail("video.generated: delivery \(input.delivery.id) has no result file yet; retry later",
                  code: HookExit.retryLater)
}
guard let library = ProcessInfo.processInfo.environment["VIDEO_LIBRARY_DIR"], !library.isEmpty else {
    // Not 65: the input is fine, the setup is not; retries show the message until it is fixed.
    HookExit.fail("video.generated: set VIDEO_LIBRARY_DIR in the sidecar's env (see Functions/README.md)", code: 1)
}

// user_metadata is the job's own (webhook_config), but still untrusted as a path: one safe component.
let group = HookInput.safeFileName(input.metadata?["job_group"]?.scalarText ?? "ungrouped")
let folder = URL(fileURLWithPath: library).appendingPathComponent(group).path
let name = input.delivery.fileName
let ext = VideoFileName.fileExtension(contentType: result.contentType, uri: result.uri)
let videoPath = folder + "/" + name + "." + ext
let recordPath = folder + "/" + name + ".json"
let output: [String: JSONValue] = [
    "video": .string(videoPath), "record": .string(recordPath), "group": .string(group),
    "bytes": .from(result.bytes), "delivery": .string(input.delivery.id),
]

if size(of: videoPath) == result.bytes, size(of: recordPath) != nil {
    // Filed by an earlier run of this delivery (hookhost may already have deleted its download).
    HookOutput.log("video.generated: \(videoPath) already filed")
    HookOutput.write(output)
    exit(HookExit.success)
}

var info = stat()
guard stat(result.path, &info) == 0 else {
    HookExit.fail("video.generated: result file \(result.path): \(String(cString: strerror(errno))); retry later",
                  code: HookExit.retryLater)
}
guard info.st_mode & S_IFMT == S_IFREG else {
    HookExit.fail("video.generated: \(result.path) is not a regular file", code: HookExit.permanentFailure)
}
guard Int(info.st_size) == result.bytes else {
    // Changed since the host downloaded (and hashed) it: a failed attempt, retried, then dead-lettered.
    HookExit.fail("video.generated: \(result.path) has \(info.st_size) bytes, the host downloaded \(result.bytes)", code: 1)
}

do {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let method = try LibraryFile.place(result.path, at: videoPath)
    let record: [String: JSONValue] = [
        "delivery": .string(input.delivery.id), "event_type": .string(input.event.type),
        "id": .from(input.event.data.id), "timestamp": .from(input.event.timestamp),
        "uri": .string(result.uri), "bytes": .from(result.bytes), "sha256": .string(result.sha256),
        "content_type": .from(result.contentType), "user_metadata": input.metadata.map(JSONValue.object) ?? .null,
        "video": .string(videoPath),
    ]
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    // The record last: a video without its record is redone by the next run, never taken as filed.
    try LibraryFile.write(try encoder.encode(record) + Data("\n".utf8), at: recordPath)
    HookOutput.log("video.generated: \(method.rawValue) \(result.path) → \(videoPath)")
} catch {
    // Disk full, permissions: the input is fine, so try again later.
    HookExit.fail("video.generated: cannot file the video: \(error)", code: HookExit.retryLater)
}
HookOutput.write(output)

/// The size of the regular file at `path`, or `nil`.
func size(of path: String) -> Int? {
    var info = stat()
    guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
    return Int(info.st_size)
}
