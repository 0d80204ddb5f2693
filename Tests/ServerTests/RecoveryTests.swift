import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import Testing

/// Jobs survive the server: a shutdown stops the running job at a checkpoint and queues it; the
/// next server resumes it from there; a record left "running" by a crash (kill -9) resumes too;
/// queued jobs stay queued and finished jobs keep their models.
@Suite(.serialized) struct RecoveryTests {
    func jobFile(_ state: URL, _ id: String) -> URL { state.appendingPathComponent("jobs/\(id)/job.json") }

    func record(_ state: URL, _ id: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: jobFile(state, id))) as? [String: Any])
    }

    /// Runs a test client against a server on `state`; the server (and its state lock) is gone
    /// when this returns.
    func withServer(_ state: URL, _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let server = try Fixture.server(Fixture.options(state: state))
        try await server.makeApplication().test(.router, test)
    }

    @Test func shutdownCheckpointsAndTheNextServerResumes() async throws {
        let state = Fixture.scratch("recovery")
        let ids = IDs()
        try await withServer(state) { client in
            // Enough epochs that the job cannot finish before the shutdown's stop request reaches it.
            let running = try #require(try await client.submitJob(Fixture.jobYAML(epochs: 40)).json["id"].string)
            let queued = try #require(try await client.submitJob(Fixture.jobYAML(epochs: 1)).json["id"].string)
            ids.set(running, queued)
            // Wait for the first epoch's checkpoint, then leave: the test harness shuts the server down.
            let deadline = Date().addingTimeInterval(60)
            while (try await client.execute(uri: "/v1/jobs/\(running)", method: .get).json["epoch"].int ?? 0) < 1 && Date() < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        let (running, queued) = ids.get()
        let stopped = try record(state, running)
        #expect(stopped["state"] as? String == "queued", "a job stopped by a shutdown goes back to the queue")
        #expect(stopped["attempts"] as? Int == 1)
        #expect(FileManager.default.fileExists(atPath: state.appendingPathComponent("jobs/\(running)/run/last.safetensors").path))
        #expect(try record(state, queued)["state"] as? String == "queued")
        let log = try String(contentsOf: state.appendingPathComponent("jobs/\(running)/run/log.jsonl"), encoding: .utf8)
        #expect(log.contains("\"event\":\"interrupted\""))

        try await withServer(state) { client in
            let resumed = try await client.waitForJob(running, in: ["succeeded", "failed"])
            #expect(resumed["state"].string == "succeeded" && resumed["attempts"].int == 2)
            let second = try await client.waitForJob(queued, in: ["succeeded", "failed"])
            #expect(second["state"].string == "succeeded")
        }
        let log2 = try String(contentsOf: state.appendingPathComponent("jobs/\(running)/run/log.jsonl"), encoding: .utf8)
        let starts = log2.split(separator: "\n").filter { $0.contains("\"event\":\"start\"") }
        #expect(starts.count == 2 && !(starts.last?.contains("\"epoch\":0,") ?? true), "the second run starts after a saved epoch or step")

        // A crash (kill -9) leaves a record "running": the next server queues it and resumes; the
        // finished jobs are listed with their models.
        var crashed = try record(state, running)
        crashed["state"] = "running"
        try JSONSerialization.data(withJSONObject: crashed).write(to: jobFile(state, running), options: .atomic)
        try await withServer(state) { client in
            let job = try await client.waitForJob(running, in: ["succeeded", "failed"])
            #expect(job["state"].string == "succeeded")
            let models = try await client.execute(uri: "/v1/models", method: .get).json["models"].array.compactMap { $0["name"].string }
            #expect(models.contains("job-\(running)") && models.contains("job-\(queued)"))
            #expect(try await client.execute(uri: "/v1/jobs", method: .get).json["jobs"].count == 2)
        }
    }

    @Test func oneServerPerStateFolder() throws {
        let state = Fixture.scratch("locked")
        let first = try Fixture.server(Fixture.options(state: state))
        #expect(throws: ServerStartError.self) { try Fixture.server(Fixture.options(state: state)) }
        _ = first
    }
}

/// Ids handed out of a test closure.
final class IDs: @unchecked Sendable {
    private let lock = NSLock()
    private var values = ("", "")
    func set(_ a: String, _ b: String) { lock.withLock { values = (a, b) } }
    func get() -> (String, String) { lock.withLock { values } }
}
