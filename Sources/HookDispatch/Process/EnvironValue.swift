import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
/// The value of `name` in a `/proc/<pid>/environ` image (NUL-separated `NAME=value`), if present.
func environValue(_ environ: [UInt8], _ name: String) -> String? {
    let prefix = Array((name + "=").utf8)
    for entry in environ.split(separator: 0, omittingEmptySubsequences: true) where entry.starts(with: prefix) {
        return String(decoding: entry.dropFirst(prefix.count), as: UTF8.self)
    }
    return nil
}
