import Foundation
import Support
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The `motive` binary's own surface: `--version`, and `motive serve`'s options from the
/// environment (MOTIVE_PORT…, the flag winning) and its log format.
@Suite struct ServeCommandTests {
    /// The binary, with the environment's MOTIVE_ variables replaced by `environment`; output in
    /// files, waited for on a thread of its own.
    final class Run: @unchecked Sendable {
        let process = Process()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("serve-cli-\(UUID().uuidString)")

        init(_ arguments: [String], environment: [String: String] = [:]) throws {
            let binary = try #require(Fixture.motiveExecutable, "no motive binary beside the tests")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for name in ["stdout", "stderr"] { _ = FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: nil) }
            process.executableURL = binary
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MOTIVE_") }.merging(environment) { $1 }
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = try FileHandle(forWritingTo: folder.appendingPathComponent("stdout"))
            process.standardError = try FileHandle(forWritingTo: folder.appendingPathComponent("stderr"))
            try process.run()
        }

        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
            try? FileManager.default.removeItem(at: folder)
        }

        var stdout: String { (try? String(contentsOf: folder.appendingPathComponent("stdout"), encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOf: folder.appendingPathComponent("stderr"), encoding: .utf8)) ?? "" }

        /// The exit status, after SIGTERM first when `terminate`; nil if it had to be killed.
        func finish(terminate: Bool = false, within seconds: Double = 30) async throws -> Int32? {
            let process = process
            if terminate { process.terminate() }
            return try await RawConnection.onThread {
                let deadline = Date().addingTimeInterval(seconds)
                while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
                if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit(); return nil }
                process.waitUntilExit()
                return process.terminationStatus
            }
        }

        /// The address in "listening on HOST:PORT", once printed.
        func listening(within seconds: Double = 30) async throws -> (host: String, port: Int) {
            let (process, folder) = (process, folder)
            let line = try await RawConnection.onThread { () -> String in
                let deadline = Date().addingTimeInterval(seconds)
                while Date() < deadline {
                    let text = (try? String(contentsOf: folder.appendingPathComponent("stdout"), encoding: .utf8)) ?? ""
                    if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) { return String(line) }
                    if !process.isRunning { break }
                    Thread.sleep(forTimeInterval: 0.02)
                }
                return ""
            }
            let address = line.dropFirst("listening on ".count)
            let port = try #require(address.split(separator: ":").last.flatMap { Int($0) }, "no listening line; stderr: \(stderr)")
            return (String(address.split(separator: ":").dropLast().joined(separator: ":")), port)
        }
    }

    /// The status line of a GET on the loopback port.
    func statusLine(port: Int, _ path: String) async throws -> String {
        try await RawConnection.onThread {
            let connection = try RawConnection(port: port)
            connection.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return String(connection.readToEnd().prefix { $0 != "\r" })
        }
    }

    @Test func versionNamesTheBuild() async throws {
        let run = try Run(["--version"])
        #expect(try await run.finish() == 0)
        #expect(run.stdout == BuildInfo.description + "\n")
        #expect(run.stdout.hasPrefix(BuildInfo.version + " (commit "))
    }

    /// Every option of `motive serve` names its variable in --help (and `Serve.environment`
    /// refuses a help without a table entry, so each also has one).
    @Test func everyServeOptionNamesItsVariable() async throws {
        let run = try Run(["serve", "--experimental-dump-help"])
        #expect(try await run.finish() == 0)
        let tool = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let arguments = try #require((tool["command"] as? [String: Any])?["arguments"] as? [[String: Any]])
        var checked = 0
        for argument in arguments {
            guard let name = (argument["preferredName"] as? [String: Any])?["name"] as? String,
                  argument["kind"] as? String != "positional", !["help", "version"].contains(name) else { continue }
            let variable = EnvironmentOption(name).variable()
            #expect((argument["abstract"] as? String)?.hasSuffix("(env: \(variable))") == true, "--\(name): \(argument["abstract"] ?? "")")
            checked += 1
        }
        #expect(checked >= 19)
    }

    /// Options from the environment start the daemon; a flag on the command line wins over its
    /// variable; logs are JSON lines when stderr is not a terminal.
    @Test func serveTakesItsOptionsFromTheEnvironment() async throws {
        let state = Fixture.scratch("env-state")
        let run = try Run(["serve", "--port", "0"], environment: [
            "MOTIVE_PORT": "99999",                // not valid: --port wins, so it is never read
            "MOTIVE_HOST": "127.0.0.1", "MOTIVE_STATE_DIR": state.path, "MOTIVE_DATA_ROOT": state.path,
            "MOTIVE_TOKEN": "sesame", "MOTIVE_INFERENCE_THREADS": "1", "MOTIVE_MAX_STREAMS": "2",
        ])
        let address = try await run.listening()
        #expect(address.host == "127.0.0.1")
        let jobs = try await statusLine(port: address.port, "/v1/jobs"), health = try await statusLine(port: address.port, "/healthz")
        #expect(jobs.hasPrefix("HTTP/1.1 401"), "MOTIVE_TOKEN guards the jobs: \(jobs)")
        #expect(health.hasPrefix("HTTP/1.1 200"), "\(health)")
        #expect(try await run.finish(terminate: true) == 0)
        // The state folder is the variable's.
        #expect(FileManager.default.fileExists(atPath: state.appendingPathComponent("jobs").path))
        let lines = run.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["message"] is String && object?["level"] is String && object?["time"] is String, "\(line)")
        }
    }

    @Test func textLogsOnRequest() async throws {
        let run = try Run(["serve", "--log-format", "text"], environment: [
            "MOTIVE_LOG_FORMAT": "json", "MOTIVE_PORT": "0", "MOTIVE_STATE_DIR": Fixture.scratch("text-state").path,
            "MOTIVE_INFERENCE_THREADS": "1",
        ])
        _ = try await run.listening()
        #expect(try await run.finish(terminate: true) == 0)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.contains { $0.contains(" info motive") && $0.contains("listening on") }, "\(run.stderr)")
        #expect(!lines.contains { $0.hasPrefix("{") }, "\(run.stderr)")
    }

    /// A value the option cannot take fails before anything starts, naming the variable.
    @Test(arguments: [
        ("MOTIVE_PUBLISH_MODELS", "maybe", "MOTIVE_PUBLISH_MODELS=maybe: must be 1, true, yes, 0, false or no"),
        ("MOTIVE_PORT", "abc", "MOTIVE_PORT=abc: The value 'abc' is invalid for '--port <port>'"),
        ("MOTIVE_MAX_UPLOAD_MB", "0", "MOTIVE_MAX_UPLOAD_MB=0: --max-upload-mb must be 1…1048576"),
        ("MOTIVE_LOG_FORMAT", "xml", "MOTIVE_LOG_FORMAT=xml: The value 'xml' is invalid for '--log-format <log-format>'"),
    ])
    func badVariablesAreNamed(variable: String, value: String, message: String) async throws {
        let run = try Run(["serve"], environment: [variable: value, "MOTIVE_STATE_DIR": Fixture.scratch("bad-state").path])
        let status = try await run.finish()
        #expect(status != nil && status != 0)
        #expect(run.stderr.hasPrefix("Error: " + message), "\(run.stderr)")
        #expect(!run.stdout.contains("listening"))
    }

    /// A job's process inherits the daemon's environment, and reads none of it as options.
    @Test func runJobIgnoresTheServeVariables() async throws {
        let run = try Run(["serve", "run-job", "/nonexistent-job"], environment: ["MOTIVE_PORT": "abc", "MOTIVE_PUBLISH_MODELS": "maybe"])
        #expect(try await run.finish() != 0)
        #expect(!run.stderr.contains("MOTIVE_"), "\(run.stderr)")
    }
}
