import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

extension TestClientProtocol {
    /// Submits a job config; `token` adds the bearer header.
    func submitJob(_ yaml: String, token: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/yaml"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: "/v1/jobs", method: .post, headers: headers, body: ByteBuffer(string: yaml))
    }

    /// Polls a job until its state is one of `states`; returns its last view. `token` adds the bearer header.
    @discardableResult
    func waitForJob(_ id: String, in states: Set<String>, timeout: Double = 90, token: String? = nil,
                    sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSON {
        let deadline = Date().addingTimeInterval(timeout)
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        while true {
            let job = try await execute(uri: "/v1/jobs/\(id)", method: .get, headers: headers).json
            if let state = job["state"].string, states.contains(state) { return job }
            if Date() > deadline {
                Issue.record("job \(id) still \(job["state"].string ?? "?") after \(timeout) s", sourceLocation: sourceLocation)
                return job
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
