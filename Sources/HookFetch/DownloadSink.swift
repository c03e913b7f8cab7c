import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
/// The state of one download across its hops and resumes: the file, the running SHA-256, how
/// many bytes are in place, and whether the server lets us resume. Receives every response of
/// the download from `CurlTransfer` and decides, per response, whether to write, drop or abort.
final class DownloadSink: TransferSink {
    let file: ResultFile
    let limits: FetchLimits
    private var hash = BackgroundSHA256()
    /// Body bytes of the result in the file (and in `hash`).
    private(set) var written = 0
    /// Status of the response being received; 0 before its head.
    private(set) var status = 0
    /// The head of the latest response (for Location, Retry-After).
    private(set) var lastHead = ResponseHead()
    /// `Content-Type` of the response the file started from, as sent.
    private(set) var contentType: String?
    /// The server advertised byte ranges for the body in the file.
    private(set) var canResume = false
    /// ETag or Last-Modified of the body in the file, sent as `If-Range` on a resume.
    private(set) var validator: String?
    /// Why the sink aborted the transfer, when it did.
    private(set) var abortReason: FetchError?
    private var discarded = 0

    init(file: ResultFile, limits: FetchLimits) {
        self.file = file
        self.limits = limits
    }

    /// Clears per-response state before the next hop or resume.
    func startResponse() {
        status = 0
        abortReason = nil
        discarded = 0
        lastHead = ResponseHead()
    }

    func receive(head: ResponseHead) -> Bool {
        status = head.status
        lastHead = head
        // Redirect and error bodies are dropped, never written into the result.
        guard (200..<300).contains(head.status) else { return true }
        do throws(FetchError) {
            if written > 0 {
                if head.status == 206 {
                    guard head.contentRangeStart == written else {
                        return abort(.network("server resumed at byte \(head.contentRangeStart.map(String.init) ?? "?"), expected \(written)"))
                    }
                } else {
                    // The Range was ignored (or If-Range did not match): the whole body again.
                    try restart()
                }
            }
            if written == 0 {
                contentType = head.value("content-type")
                validator = head.rangeValidator
            }
            canResume = head.acceptsRanges
            let remaining = head.contentLength
            if let r = remaining, written + r > limits.maxBytes { return abort(.tooLarge(limit: limits.maxBytes)) }
            // Refuse before the first byte: the expected size plus a margin must fit.
            let needed = written + (remaining ?? 0) + limits.diskMargin
            let (available, total) = file.space()
            // Larger than the whole disk: put off for lack of space, it would be put off for ever.
            if needed > total { return abort(.exceedsDisk(needed: needed, total: total)) }
            if available < needed - written { return abort(.insufficientSpace(needed: needed - written, available: available)) }
        } catch {
            return abort(error)
        }
        return true
    }

    func receive(body: UnsafeRawBufferPointer) -> Bool {
        guard (200..<300).contains(status) else {
            discarded += body.count
            return discarded <= limits.maxErrorBody
        }
        guard written + body.count <= limits.maxBytes else { return abort(.tooLarge(limit: limits.maxBytes)) }
        // A body without a length (or a lying one) was only checked against the margin at its
        // start: look again every few MB, so a download can never fill the disk the spool needs.
        if (written + body.count) / DownloadSink.spaceCheckEvery != written / DownloadSink.spaceCheckEvery {
            let (available, total) = file.space()
            if written + body.count + limits.diskMargin > total {
                return abort(.exceedsDisk(needed: written + body.count + limits.diskMargin, total: total))
            }
            if available < limits.diskMargin + body.count {
                return abort(.insufficientSpace(needed: limits.diskMargin + body.count, available: available))
            }
        }
        do throws(FetchError) { try file.write(body) } catch {
            // A body without a length that fills the disk: whether waiting can help depends on
            // whether it would fit an empty one.
            if case .diskFull = error, case let needed = written + body.count + limits.diskMargin, case let total = file.space().total, needed > total {
                return abort(.exceedsDisk(needed: needed, total: total))
            }
            return abort(error)
        }
        hash.update(body)
        written += body.count
        return true
    }

    /// Bytes written between two free-space checks while streaming.
    static let spaceCheckEvery = 4 << 20

    /// Lower-case hex digest of everything written; ends the hash.
    func finishDigest() -> String { hexString(hash.finish()) }

    private func restart() throws(FetchError) {
        try file.truncate()
        hash = BackgroundSHA256()
        written = 0
        contentType = nil
        validator = nil
    }

    private func abort(_ e: FetchError) -> Bool {
        abortReason = e
        return false
    }
}
