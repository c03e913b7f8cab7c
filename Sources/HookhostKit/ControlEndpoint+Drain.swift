import HookSupport
import HookHTTP

/// `POST /drain?handover=URL&wait=SECONDS` starts a drain and answers its progress at once;
/// `GET /drain` answers the progress (`DrainProgress.json`).
extension ControlEndpoint {
    static func drain(_ drainer: Drainer?, method: String, query: [String: String]) -> HTTPResponse {
        guard let drainer else { return .error(503, "no host is running on this data directory: nothing to drain") }
        if method == "GET" { return .json(200, drainer.progress.json) }
        var wait: Double?
        if let w = query["wait"] {
            guard w.utf8.allSatisfy({ decimalCharacters.contains($0) }), let s = Double(w), s.isFinite, s >= 0, s <= 86_400 else {
                return .error(400, DrainError.badWait(w).description)
            }
            wait = s
        }
        if let h = query["handover"], h.isEmpty { return .error(400, DrainError.badURL("").description) }
        switch drainer.start(handover: query["handover"], wait: wait) {
        case .success(let p): return .json(200, p.json)
        case .failure(.alreadyDraining): return .error(409, DrainError.alreadyDraining.description)
        case .failure(.noPeerSecret): return .error(409, DrainError.noPeerSecret.description)
        case .failure(let e): return .error(400, e.description)
        }
    }
}
