import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The real `motive serve` binary on a free loopback port: label a video, train a job, label
/// with its model, restart (SIGTERM, exit 0) and find both again.
@Suite(.serialized) struct EndToEndTests {
    /// A running `motive serve` and the port it reported.
    final class ServerProcess: @unchecked Sendable {
        let process = Process()
        let port: Int
        let log: URL

        init(binary: URL, state: URL) throws {
            log = state.appendingPathComponent("serve-\(UUID().uuidString.prefix(6)).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            process.executableURL = binary
            process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0", "--state-dir", state.path,
                                 "--data-root", Fixture.dataRoot.path, "--models", Fixture.modelsDirectory.path,
                                 "--inference-threads", "1"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = try FileHandle(forWritingTo: log)
            try process.run()
            // The first line is "listening on HOST:PORT".
            var line = Data()
            while !line.contains(UInt8(ascii: "\n")) {
                let byte = output.fileHandleForReading.readData(ofLength: 1)
                if byte.isEmpty { break }
                line.append(byte)
            }
            let text = String(decoding: line, as: UTF8.self)
            guard text.hasPrefix("listening on "), let port = text.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
                process.terminate()
                throw ServeFailure(message: "no listening line: \(text)\n" + ((try? String(contentsOf: log, encoding: .utf8)) ?? ""))
            }
            self.port = port
        }

        /// A test that throws before `stop` must not leave the daemon running.
        deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        /// SIGTERM, then the exit status (nil if it had to be killed).
        func stop() -> Int32? {
            process.terminate()
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            process.waitUntilExit()     // lets Foundation finish with the process, which it otherwise never frees
            return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
        }
    }

    struct ServeFailure: Error, CustomStringConvertible { let message: String; var description: String { message } }

    func json(_ response: TestClient.Response) -> JSON {
        JSON(try? JSONSerialization.jsonObject(with: Data((response.body ?? ByteBuffer()).readableBytesView)))
    }

    @Test func serveTrainRestart() async throws {
        let binary = try #require(Fixture.motiveExecutable, "build the motive executable first (swift build), or set MOTIVE_BINARY")
        let state = Fixture.scratch("e2e")
        let video = Fixture.bytes(Fixture.video("translate_right/translate_right_0001.mp4"))

        let first = try await RawConnection.onThread { try ServerProcess(binary: binary, state: state) }
        let jobID = try await TestClient.withClient(host: "127.0.0.1", port: first.port) { client in
            let labels = try await client.post("/v1/predict", headers: [.contentType: "video/mp4"], body: video)
            #expect(labels.status == .ok)
            #expect(json(labels)["labels"].count == 2 && json(labels)["model"].string == "default")

            let created = try await client.post("/v1/jobs", headers: [.contentType: "application/yaml"],
                                                body: ByteBuffer(string: Fixture.jobYAML(epochs: 1)))
            #expect(created.status == .created)
            let id = try #require(json(created)["id"].string)
            let deadline = Date().addingTimeInterval(90)
            var state = ""
            while Date() < deadline && !["succeeded", "failed", "cancelled"].contains(state) {
                try await Task.sleep(for: .milliseconds(200))
                state = json(try await client.get("/v1/jobs/\(id)"))["state"].string ?? ""
            }
            #expect(state == "succeeded")

            let trained = try await client.post("/v1/predict?model=job-\(id)", headers: [.contentType: "video/mp4"], body: video)
            #expect(trained.status == .ok && json(trained)["model"].string == "job-\(id)")
            return id
        }
        let firstExit = await Task.detached { first.stop() }.value
        #expect(firstExit == 0, "SIGTERM ends the server with status 0")

        let second = try await RawConnection.onThread { try ServerProcess(binary: binary, state: state) }
        try await TestClient.withClient(host: "127.0.0.1", port: second.port) { client in
            let job = json(try await client.get("/v1/jobs/\(jobID)"))
            #expect(job["state"].string == "succeeded")
            let models = json(try await client.get("/v1/models"))["models"].array.compactMap { $0["name"].string }
            #expect(models.contains("job-\(jobID)") && models.contains("default"))
            let again = try await client.post("/v1/predict?model=job-\(jobID)", headers: [.contentType: "video/mp4"], body: video)
            #expect(again.status == .ok)
        }
        let secondExit = await Task.detached { second.stop() }.value
        #expect(secondExit == 0)
    }
}
