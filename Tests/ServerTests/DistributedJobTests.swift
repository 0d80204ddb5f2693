import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import Testing

/// Jobs with `distributed: {processes: N}`: the daemon starts them under `mpirun` (Open MPI,
/// which `make deps` installs), follows rank 0's events, and stops every rank on cancel.
@Suite(.serialized) struct DistributedJobTests {
    @Test func aTwoProcessJobTrainsAndServes() async throws {
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            let yaml = Fixture.jobYAML(epochs: 1, extra: "\ndistributed: {processes: 2}\noutput: {model_name: two-ranks}\n")
            let created = try await client.submitJob(yaml)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.json["id"].string)
            let job = try await client.waitForJob(id, in: ["succeeded", "failed"], timeout: 180)
            #expect(job["state"].string == "succeeded", "\(job["error"].string ?? "")")
            #expect(job["processes"].int == 2)
            #expect(job["last_epoch"]["val_top1"].double != nil)

            // Rank 0 alone reported: one start, and the global batch of 2 × 4.
            let log = try await client.execute(uri: "/v1/jobs/\(id)/log", method: .get).text
            #expect(log.components(separatedBy: "\"event\":\"start\"").count == 2, "\(log)")
            #expect(log.contains("2 processes × data.batch_size 4 = a global batch of 8"), "\(log)")
            let predicted = try await client.execute(uri: "/v1/predict?model=two-ranks", method: .post,
                                                     headers: .contentType("video/mp4"), body: Fixture.bytes(Fixture.video()))
            #expect(predicted.status == .ok && predicted.json["model"].string == "two-ranks")
        }
    }

    @Test func cancellingStopsEveryRank() async throws {
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            let created = try await client.submitJob(Fixture.jobYAML(epochs: 200, extra: "\ndistributed: {processes: 2}\n"))
            let id = try #require(created.json["id"].string)
            // Past the first step: the ranks listen for the stop by then.
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                let view = try await client.execute(uri: "/v1/jobs/\(id)", method: .get).json
                if (view["step"].int ?? 0) >= 1 || view["state"].string != "running" && view["state"].string != "queued" { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            let before = Self.ranks()
            #expect(before.count == 2, "rank processes while the job runs: \(before)")
            let cancel = try await client.execute(uri: "/v1/jobs/\(id)", method: .delete)
            #expect(cancel.status == .accepted)
            let stopped = try await client.waitForJob(id, in: ["cancelled", "succeeded", "failed"], timeout: 60)
            #expect(stopped["state"].string == "cancelled", "\(stopped["error"].string ?? "")")
            #expect((stopped["epoch"].int ?? 200) < 200)
            // Every rank is gone, not only mpirun.
            let gone = await Self.waitUntil(seconds: 10) { Self.ranks().isEmpty }
            #expect(gone, "ranks left: \(Self.ranks())")
        }
    }

    @Test func hostfilesAreReadUnderTheDataRoot() async throws {
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            let outside = try await client.submitJob(Fixture.jobYAML(extra: "\ndistributed: {processes: 2, hostfile: /etc/hosts}\n"))
            #expect(outside.status == .badRequest && outside.errorCode == "path_outside_root", "\(outside.text)")
            let missing = try await client.submitJob(Fixture.jobYAML(extra: "\ndistributed: {processes: 2, hostfile: hosts.txt}\n"))
            #expect(missing.status == .badRequest && missing.errorCode == "bad_path", "\(missing.text)")
        }
    }

    /// This test process's `motive serve run-job` grandchildren that mpirun started (a rank has
    /// OMPI_COMM_WORLD_RANK in its environment).
    static func ranks() -> [Int32] {
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
        return pids.filter { pid in
            guard let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                  let command = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let words = command.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return words.contains("run-job") && words.contains(where: { $0.contains(Fixture.root.path) })
                && environ.split(separator: 0).contains { $0.starts(with: Array("OMPI_COMM_WORLD_RANK=".utf8)) }
        }
    }

    static func waitUntil(seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return condition()
    }
}
