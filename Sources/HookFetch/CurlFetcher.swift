import Glibc
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool

/// The real `Fetcher`: libcurl, redirects followed here (each hop re-checked against the policy,
/// credentials only on the first origin), streamed to disk with a SHA-256, resumed with `Range`
/// after a broken transfer when the server allows it. Never holds the file in memory.
public struct CurlFetcher: Fetcher {
    public let policy: FetchPolicy
    public let credentials: FetchCredentials
    public let limits: FetchLimits
    public let clock: any WallClock

    public init(policy: FetchPolicy, credentials: FetchCredentials, limits: FetchLimits = FetchLimits(),
                clock: any WallClock = SystemClock()) {
        self.policy = policy
        self.credentials = credentials
        self.limits = limits
        self.clock = clock
    }

    public func fetch(_ request: FetchRequest, into directory: String) throws(FetchError) -> FetchedResult {
        guard let transfer = CurlTransfer() else { throw .local(CurlTransfer.unavailableReason) }
        let file = try ResultFile(directory: directory, name: request.fileName)
        let sink = DownloadSink(file: file, limits: limits)
        var resumes = 0
        while true {
            let before = sink.written
            do throws(FetchError) {
                try followRedirects(request, transfer: transfer, sink: sink)
                break
            } catch {
                // Only a broken body is resumed; statuses and policy refusals are answers.
                guard case .network = error, sink.canResume, sink.written > before, resumes < limits.maxResumes else { throw error }
                resumes += 1
                // A short, growing pause before the next Range request (a server that just broke
                // the body often needs a moment); a condition wait, so the thread holds no sleep.
                let pause = Monitor()
                pause.locked { pause.wait(seconds: 0.2 * Double(resumes)) }
            }
        }
        let digest = sink.finishDigest()
        let path = try file.commit(as: request.fileName)
        return FetchedResult(uri: request.uri, path: path, bytes: sink.written, sha256: digest, contentType: sink.contentType)
    }

    /// One pass from the request's URL to a 2xx, following at most `maxRedirects` redirects; sends
    /// `Range` when the file already holds part of the body.
    private func followRedirects(_ request: FetchRequest, transfer: CurlTransfer, sink: DownloadSink) throws(FetchError) {
        var url = request.url
        for hop in 0...limits.maxRedirects {
            // Checked on every hop: a redirect to a host that is not allowed is never requested.
            guard policy.allows(url) else { throw .hostNotAllowed(host: url.authority, viaRedirect: hop > 0) }
            let credential = policy.credential(for: request, hop: url)
            var headers: [(String, String)] = []
            if let h = try credentials.header(for: credential) { headers.append(h) }
            if sink.written > 0 {
                headers.append(("Range", "bytes=\(sink.written)-"))
                if let v = sink.validator { headers.append(("If-Range", v)) }
            }
            sink.startResponse()
            let outcome = transfer.perform(url: url.string, headers: headers, options: transferOptions, sink: sink)
            if let e = sink.abortReason { throw e }
            let status = sink.status
            if (200..<300).contains(status) {
                guard outcome.ok else { throw .network(outcome.message) }
                return
            }
            if FetchPolicy.isRedirect(status) {
                let location = sink.lastHead.value("location") ?? ""
                guard let next = url.resolving(location: location) else { throw .badRedirect(location: location) }
                url = next
                continue
            }
            // No status at all: the connection failed before an answer.
            guard status > 0 else { throw .network(outcome.message) }
            throw FetchPolicy.classify(status: status, retryAfter: sink.lastHead.value("retry-after"), url: url,
                                       credential: credential, credentialConfigured: credentials.isConfigured(credential),
                                       now: clock.now())
        }
        throw .tooManyRedirects(limit: limits.maxRedirects)
    }

    private var transferOptions: TransferOptions {
        TransferOptions(connectTimeout: limits.connectTimeout, lowSpeedBytesPerSecond: limits.lowSpeedBytesPerSecond,
                        lowSpeedSeconds: limits.lowSpeedSeconds, bufferSize: limits.bufferSize)
    }
}
