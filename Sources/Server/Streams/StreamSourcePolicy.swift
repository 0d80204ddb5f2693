import Foundation
import Video
#if canImport(Glibc)
import Glibc
#endif

/// Which sources the daemon may open for a stream. Without such a rule a client could make the
/// daemon fetch any URL its network reaches. Network sources must match an `--allow-stream-source`
/// pattern (a glob over `host:port`, none by default); capture devices must match one too (a glob
/// over the device path); files and named pipes are read under the data root only; standard
/// input is the daemon's own and never a stream.
struct StreamSourcePolicy: Sendable {
    let patterns: [String]
    let dataRoot: PathSandbox

    /// The input `text` names, once allowed.
    func admit(_ text: String) throws(APIError) -> LiveInput {
        let input: LiveInput
        do { input = try LiveInput(text) } catch { throw .badRequest("\(error)", code: "bad_source") }
        switch input {
        case .standardInput:
            throw .badRequest("`-` (standard input) is the command line's; the daemon streams URLs, devices and files under the data root",
                              code: "bad_source")
        case .network:
            guard let endpoint = input.endpoint, !endpoint.host.isEmpty else {
                throw .badRequest("\(text): a network source needs a host", code: "bad_source")
            }
            let key = "\(endpoint.host):\(endpoint.port.map(String.init) ?? "")"
            guard matches(key) else {
                throw APIError(.forbidden, code: "source_not_allowed",
                               "\(key) matches no --allow-stream-source pattern (\(patterns.isEmpty ? "none are set" : patterns.joined(separator: ", ")))")
            }
            return input
        case .device(let path):
            guard matches(path) else {
                throw APIError(.forbidden, code: "source_not_allowed", "the device \(path) matches no --allow-stream-source pattern")
            }
            return input
        case .file(let path):
            return .file(try dataRoot.resolveExisting(path, key: "source"))
        }
    }

    private func matches(_ key: String) -> Bool {
        patterns.contains { fnmatch($0.lowercased(), key.lowercased(), 0) == 0 }
    }
}
