import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real `motive predict --stream`: a recorded video piped through standard input gets the
/// labels `motive predict --window` gives the file, window for window; a clean end exits 0, and
/// a stall, a refused connection, a missing file or an unknown scheme exit non-zero with a
/// message. The bundled model (`Models/default`) labels the bundled `Samples/zoom_in.mp4`.
/// The tests wait for `motive` and ffmpeg on threads of their own, never on the cooperative pool
/// that every test in the process shares (and that may not give a test a turn for seconds).
// One test at a time: each runs ffmpeg and the motive binary beside the other suites, on two cores.
@Suite(.serialized) struct StreamCLITests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let model = repository.appendingPathComponent("Models/default").path
    static let video = repository.appendingPathComponent("Samples/zoom_in.mp4").path

    func motive() throws -> URL {
        try #require(Fixture.motiveExecutable, "build the motive executable first (swift build), or set MOTIVE_BINARY")
    }

    func ffmpeg() throws -> URL {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        let path = folders.map { "\($0)/ffmpeg" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        return URL(fileURLWithPath: try #require(path, "ffmpeg is not installed (make deps installs it): this test pipes video into motive with it"))
    }

    @Test func standardInputGetsTheFilesTimeline() async throws {
        let window = ["--window", "0.64s", "--stride", "0.32s", "--top-k", "3"]
        let file = try await CLIRun.run(try motive(), ["predict", "--model", Self.model] + window + [Self.video])
        #expect(file.status == 0, "motive predict: \(file.stderr)")
        let timeline = try #require(JSON(parsing: file.stdout)["timeline"].array.nonEmpty, "no timeline in \(file.stdout)")

        // ffmpeg -i zoom_in.mp4 -c copy -f mpegts - | motive predict --stream -
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }    // each child gets only its own end
        let (readEnd, writeEnd) = (FileHandle(fileDescriptor: ends[0], closeOnDealloc: true), FileHandle(fileDescriptor: ends[1], closeOnDealloc: true))
        let producer = try CLIRun.start(try ffmpeg(), ["-v", "error", "-nostdin", "-i", Self.video, "-c", "copy", "-f", "mpegts", "-"], stdout: writeEnd)
        let consumer = try CLIRun.start(try motive(), ["predict", "--model", Self.model, "--stream", "-", "--stall-timeout", "5"] + window,
                                        stdin: readEnd)
        try writeEnd.close()                                   // the children hold the pipe now
        try readEnd.close()
        let stream = try await consumer.finish(within: 60)
        let produced = try await producer.finish(within: 10)
        #expect(produced.status == 0, "ffmpeg: \(producer.stderr)")
        #expect(stream.status == 0, "motive predict --stream -: \(stream.stderr)")

        let decisions = stream.stdout.split(separator: "\n").map { JSON(parsing: String($0)) }
        try #require(decisions.count == timeline.count, "\(decisions.count) decisions, the file's timeline has \(timeline.count) windows:\n\(stream.stdout)")
        for (k, (decision, entry)) in zip(decisions, timeline).enumerated() {
            #expect(Set(decision.keys) == ["t_start", "t_end", "labels", "latency_ms", "dropped"], "decision \(k): \(decision.keys)")
            #expect(decision["t_start"].double == entry["start"].double && decision["t_end"].double == entry["end"].double,
                    "window \(k): \(String(describing: decision["t_start"].double))…\(String(describing: decision["t_end"].double)) s")
            #expect(labels(decision) == labels(entry), "window \(k): \(labels(decision)) ≠ \(labels(entry))")
            #expect(decision["labels"][0]["label"].string == "zoom_in")
            #expect(decision["dropped"].int == 0)
        }
    }

    /// A preset labelled online, a line per labelled frame, from a file given as the stream.
    @Test func onlinePrintsALinePerLabelledFrame() async throws {
        let run = try await CLIRun.run(try motive(), ["predict", "--model", "tsm_r50_tiny", "--classes", "10", "--stream", Self.video,
                                                      "--online", "--every", "4", "--smooth", "2", "--top-k", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        let decisions = run.stdout.split(separator: "\n").map { JSON(parsing: String($0)) }
        #expect(decisions.count == 8, "32 frames, every 4th: \(run.stdout)")
        for (k, decision) in decisions.enumerated() {
            #expect(decision["labels"].count == 2)
            #expect(decision["t_end"].double.map { abs($0 - Double(4 * k) / 25) < 1e-6 } == true, "decision \(k) ends at \(String(describing: decision["t_end"].double))")
            #expect(decision["t_start"].double.map { abs($0 - Double(4 * max(0, k - 1)) / 25) < 1e-6 } == true)
        }
    }

    /// A server that accepts and sends nothing: the stream fails after the stall timeout.
    @Test func aStallExitsNonZero() async throws {
        let listener = try SilentListener()
        let run = try await CLIRun.run(try motive(), ["predict", "--model", Self.model, "--stream", "tcp://127.0.0.1:\(listener.port)", "--stall-timeout", "1"])
        let took = try #require(run.seconds, "motive did not exit")
        #expect(run.status != 0 && run.status != nil)
        #expect(run.stderr.contains("no data for 1.0 s (stall timeout)"), "\(run.stderr)")
        #expect(took >= 0.9 && took < 15, "took \(took) s")
        withExtendedLifetime(listener) {}
    }

    @Test(arguments: [
        ("refused", "tcp://127.0.0.1:PORT", "Connection refused"),
        ("missing", "/nonexistent/motive/stream.ts", "no such file"),
        ("scheme", "ftp://127.0.0.1/live.ts", "cannot be streamed (scheme ftp"),
    ])
    func failuresExitNonZeroWithAMessage(_ what: String, _ source: String, _ message: String) async throws {
        let port = try SilentListener().port                   // released: nothing listens there
        let run = try await CLIRun.run(try motive(), ["predict", "--model", Self.model, "--stream", source.replacingOccurrences(of: "PORT", with: "\(port)"),
                                                      "--stall-timeout", "5"])
        #expect(run.status != 0 && run.status != nil, "\(what): exit status \(String(describing: run.status))")
        #expect(run.stderr.contains(message), "\(what): \(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test func streamFlagsAreValidated() async throws {
        for arguments in [["--stream", "-", Self.video], ["--stream", "-", "--online", "--window", "2s"], ["--stream", "-", "--ring", "0"],
                          ["--online", Self.video]] {
            let run = try await CLIRun.run(try motive(), ["predict", "--model", Self.model] + arguments)
            #expect(run.status != 0 && run.status != nil && !run.stderr.isEmpty, "\(arguments) was accepted")
        }
    }

    /// The class, index and score of each label, in order.
    func labels(_ json: JSON) -> [String] {
        json["labels"].array.map { "\($0["label"].string ?? "?")#\($0["index"].int ?? -1)=\($0["score"].double ?? .nan)" }
    }
}

extension JSON {
    fileprivate init(parsing text: String) { self.init(try? JSONSerialization.jsonObject(with: Data(text.utf8))) }
    fileprivate var keys: [String] { (value as? [String: Any]).map { Array($0.keys) } ?? [] }
}

extension Array {
    fileprivate var nonEmpty: Self? { isEmpty ? nil : self }
}

/// A child process with its output in files (no pipe to fill up), killed if still running when
/// released: a failing test leaves none behind.
private final class CLIRun {
    private let process = Process()
    private let folder = FileManager.default.temporaryDirectory.appendingPathComponent("motive-cli-\(UUID().uuidString)")
    private var launched = Date()
    private(set) var status: Int32?
    /// From the launch to the exit, once `finish` has seen it exit (nil if it had to be killed).
    private(set) var seconds: Double?

    /// Runs to the end (at most `seconds`, then killed: status nil).
    static func run(_ executable: URL, _ arguments: [String], within seconds: Double = 60) async throws -> CLIRun {
        try await CLIRun(executable, arguments, stdin: nil, stdout: nil).finish(within: seconds)
    }

    static func start(_ executable: URL, _ arguments: [String], stdin: FileHandle? = nil, stdout: FileHandle? = nil) throws -> CLIRun {
        try CLIRun(executable, arguments, stdin: stdin, stdout: stdout)
    }

    private init(_ executable: URL, _ arguments: [String], stdin: FileHandle?, stdout: FileHandle?) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["stdout", "stderr"] { _ = FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: nil) }
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = stdin ?? FileHandle.nullDevice
        process.standardOutput = try stdout ?? FileHandle(forWritingTo: folder.appendingPathComponent("stdout"))
        process.standardError = try FileHandle(forWritingTo: folder.appendingPathComponent("stderr"))
        launched = Date()
        try process.run()
    }

    /// Waits up to `seconds` for the exit (then kills it) and sets `status`: the exit status, or
    /// nil if killed. Waits on a thread of its own, which also times the exit.
    @discardableResult
    func finish(within seconds: Double) async throws -> CLIRun {
        let process = process
        let exited = try await RawConnection.onThread { () -> Date? in
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            let exited = process.isRunning ? nil : Date()
            if exited == nil { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            return exited
        }
        if let exited {
            status = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
            self.seconds = exited.timeIntervalSince(launched)
        } else {
            status = nil
        }
        return self
    }

    var stdout: String { (try? String(contentsOf: folder.appendingPathComponent("stdout"), encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: folder.appendingPathComponent("stderr"), encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()                            // killed: a few milliseconds
        }
        try? FileManager.default.removeItem(at: folder)
    }
}

/// A loopback TCP socket that listens and never accepts: the kernel completes a client's
/// handshake, then nothing is ever sent. Released, its port is free again.
private final class SilentListener {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = fd >= 0 && withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard listening else {
            if fd >= 0 { close(fd) }
            throw CLIError(description: "cannot listen on loopback: \(String(cString: strerror(errno)))")
        }
        (self.fd, port) = (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    deinit { close(fd) }
}

private struct CLIError: Error, CustomStringConvertible { let description: String }
