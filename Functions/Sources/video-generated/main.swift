// video.generated: keeps the generated video — copies the downloaded file to `VIDEO_OUT_DIR`
// (set it in the sidecar's `env`), else to the private `HOOKHOST_WORK_DIR`, as `<delivery id>.mp4`.
import Foundation
import HookEvent

/// A delivery id as a safe file name: the id comes from a request header, so it must not be able
/// to name another directory (`/`, `..`) or hide the file (leading `.`).
func fileName(for deliveryID: String) -> String {
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    var name = String(deliveryID.map { allowed.contains($0) ? $0 : "_" }.prefix(200))
    if name.isEmpty || name.hasPrefix(".") { name = "_" + name }
    return name + ".mp4"
}

let input = HookInput.readOrExit()
let environment = ProcessInfo.processInfo.environment

guard let result = input.result else {
    // No file yet (fetch off, or nothing to fetch in the event): worth another look later.
    HookExit.fail("video.generated: delivery \(input.delivery.id) has no result file; retry later",
                  code: HookExit.retryLater)
}

let files = FileManager.default
var info = stat()
guard stat(result.path, &info) == 0 else {
    // The host downloaded it before starting us; if it is gone, a later attempt fetches it again.
    HookExit.fail("video.generated: result file \(result.path): \(String(cString: strerror(errno)))",
                  code: HookExit.retryLater)
}
guard info.st_mode & S_IFMT == S_IFREG else {
    HookExit.fail("video.generated: \(result.path) is not a regular file", code: HookExit.permanentFailure)
}
let bytes = Int(info.st_size)
if bytes != result.bytes {
    HookOutput.log("video.generated: \(result.path) has \(bytes) bytes, the host reported \(result.bytes)")
}

guard let outDir = [environment["VIDEO_OUT_DIR"], environment["HOOKHOST_WORK_DIR"]]
    .compactMap({ $0 }).first(where: { !$0.isEmpty })
else {
    HookExit.fail("video.generated: set VIDEO_OUT_DIR or HOOKHOST_WORK_DIR", code: 1)
}

let destination = URL(fileURLWithPath: outDir).appendingPathComponent(fileName(for: input.delivery.id))
// Copy beside the destination, then rename: readers never see a half-copied video, and a retry
// of the same delivery (at-least-once) replaces the file instead of failing on it.
let partial = URL(fileURLWithPath: outDir)
    .appendingPathComponent(".\(destination.lastPathComponent).\(getpid()).partial")
do {
    try files.createDirectory(atPath: outDir, withIntermediateDirectories: true)
} catch {
    HookExit.fail("video.generated: cannot create \(outDir): \(error.localizedDescription)", code: 1)
}
do {
    try? files.removeItem(at: partial)
    try files.copyItem(at: URL(fileURLWithPath: result.path), to: partial)
} catch {
    try? files.removeItem(at: partial)
    HookExit.fail("video.generated: cannot copy to \(partial.path): \(error.localizedDescription)", code: 1)
}
guard rename(partial.path, destination.path) == 0 else {
    let reason = String(cString: strerror(errno))
    try? files.removeItem(at: partial)
    HookExit.fail("video.generated: cannot rename to \(destination.path): \(reason)", code: 1)
}

HookOutput.write(["video": .string(destination.path), "bytes": .from(bytes)])
