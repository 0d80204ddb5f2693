import Foundation
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif

/// Headless Chromium, started for one test in a folder of its own, and stopped (with every
/// process it started) when the test is done, whether it passed or not.
/// `@unchecked`: the `Process` is read-only after launch, and only `stop` (run once, under a lock) acts on it.
final class Chromium: @unchecked Sendable {
    /// Debian's launcher (`make deps` installs it), or `CHROMIUM`.
    static let executable = URL(fileURLWithPath: ProcessInfo.processInfo.environment["CHROMIUM"] ?? "/usr/bin/chromium")

    /// The browser's DevTools endpoint, `ws://127.0.0.1:PORT/devtools/browser/ID`.
    let endpoint: String
    /// Chromium's stderr, for failure messages.
    let log: URL
    private let process: Process
    /// Holds the profile, the log, crash reports and caches. Every process of this browser names
    /// it on its command line (helpers and crash handlers included, whatever their process group),
    /// which is how `stop` finds them.
    private let folder: URL
    private let stopped = NIOLockedValueBox(false)

    /// Starts Chromium with its profile and log in `folder`, and waits (at most `timeout`) for
    /// the line `DevTools listening on ws://…` on its stderr.
    static func launch(in folder: URL, timeout: Duration = .seconds(20)) async throws -> Chromium {
        let profile = folder.appendingPathComponent("profile")
        let log = folder.appendingPathComponent("chromium.log")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = executable
        // The WebSocket client sends `Origin: ws://127.0.0.1`, which DevTools refuses unless allowed.
        process.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
                             "--remote-allow-origins=ws://127.0.0.1", "--user-data-dir=\(profile.path)", "about:blank"]
        // Crash reports and caches go into the folder, not the user's home.
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["XDG_CONFIG_HOME": folder.appendingPathComponent("config").path, "XDG_CACHE_HOME": folder.appendingPathComponent("cache").path]) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while true {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let start = text.range(of: "DevTools listening on ")?.upperBound,
               let end = text[start...].firstIndex(of: "\n") {
                return Chromium(endpoint: String(text[start..<end]), log: log, process: process, folder: folder)
            }
            let failure: String? = !process.isRunning ? "Chromium exited with status \(process.terminationStatus)"
                : ContinuousClock.now > deadline ? "Chromium did not report its DevTools endpoint within \(timeout)" : nil
            if let failure {
                shutDown(process, folder: folder)
                throw DevToolsError(message: "\(failure); its stderr:\n\(Self.tail(of: log))")
            }
            do { try await Task.sleep(for: .milliseconds(50)) } catch {
                shutDown(process, folder: folder)
                throw error
            }
        }
    }

    private init(endpoint: String, log: URL, process: Process, folder: URL) {
        (self.endpoint, self.log, self.process, self.folder) = (endpoint, log, process, folder)
    }

    deinit { stopInBackground() }

    /// `ws://127.0.0.1:PORT`, the endpoint's scheme and authority.
    var origin: String {
        guard let path = endpoint.range(of: "/devtools/") else { return endpoint }
        return String(endpoint[..<path.lowerBound])
    }

    /// A new tab showing about:blank, and a session on its own WebSocket.
    func openPage() async throws -> DevToolsSession {
        let browser = try await DevToolsSession.connect(endpoint)
        defer { browser.close() }
        let target = try await browser.send("Target.createTarget", ["url": "about:blank"])
        guard let id = target["targetId"].string else { throw DevToolsError(message: "Target.createTarget gave no targetId") }
        return try await DevToolsSession.connect("\(origin)/devtools/page/\(id)")
    }

    /// SIGTERM to the browser, SIGKILL after 5 s; then SIGKILL to each of its processes still
    /// running, for at most 5 s more; then the profile goes. Safe to call more than once. The
    /// waiting happens on a thread of its own (never on a cooperative thread that the daemons of
    /// other tests need); `stop()` awaits it, `stopInBackground()` (for `defer`) does not.
    func stop() async {
        guard claimStop() else { return }
        let (process, folder) = (process, folder)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread { Self.shutDown(process, folder: folder); done.resume() }.start()
        }
    }

    func stopInBackground() {
        guard claimStop() else { return }
        let (process, folder) = (process, folder)
        Thread { Self.shutDown(process, folder: folder) }.start()
    }

    private func claimStop() -> Bool { stopped.withLockedValue { let first = !$0; $0 = true; return first } }

    private static func shutDown(_ process: Process, folder: URL) {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        let deadline = Date().addingTimeInterval(5)
        var left = processes(naming: folder)
        while !left.isEmpty && Date() < deadline {
            for pid in left { kill(pid, SIGKILL) }
            usleep(20_000)
            left = processes(naming: folder)
        }
        try? FileManager.default.removeItem(at: folder.appendingPathComponent("profile"))
    }

    /// The processes still running whose command line names this browser's folder.
    var processes: [pid_t] { Self.processes(naming: folder) }

    private static func processes(naming folder: URL) -> [pid_t] {
        let marker = Data(folder.path.utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = pid_t(entry), pid != getpid(),
                  let commandLine = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                  commandLine.range(of: marker) != nil else { return nil }
            return pid
        }
    }

    static func tail(of log: URL, lines: Int = 20) -> String {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}

struct DevToolsError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// One Chrome DevTools Protocol connection: commands with numbered replies over a WebSocket.
/// Every command waits at most its timeout; events are only kept when they report a problem
/// (an uncaught exception, a console or log error), for the test to show.
final class DevToolsSession: Sendable {
    private struct State {
        var nextID = 0
        var writer: WebSocketOutboundWriter?
        var pending: [Int: CheckedContinuation<Data, any Error>] = [:]
        var timers: [Int: Task<Void, Never>] = [:]
        var closed = false
        var problems: [String] = []
    }

    private let state = NIOLockedValueBox(State())
    private let connection = NIOLockedValueBox<Task<Void, Never>?>(nil)

    private init() {}

    /// Connects to a DevTools WebSocket URL, within `timeout`.
    static func connect(_ url: String, timeout: Duration = .seconds(10)) async throws -> DevToolsSession {
        let session = DevToolsSession()
        let (opened, signal) = AsyncStream.makeStream(of: Result<Void, any Error>.self)
        let task = Task {
            do {
                try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 64 << 20),
                                                  logger: Logger(label: "devtools") { _ in SwiftLogNoOpLogHandler() }) { inbound, outbound, _ in
                    session.state.withLockedValue { $0.writer = outbound }
                    signal.yield(.success(()))
                    for try await message in inbound.messages(maxSize: 64 << 20) {
                        if case .text(let text) = message { session.receive(Data(text.utf8)) }
                    }
                }
                signal.yield(.failure(DevToolsError(message: "the DevTools connection to \(url) closed")))
            } catch {
                signal.yield(.failure(DevToolsError(message: "DevTools connection to \(url): \(error)")))
            }
            session.closeAll()
        }
        session.connection.withLockedValue { $0 = task }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            signal.yield(.failure(DevToolsError(message: "no DevTools connection to \(url) within \(timeout)")))
        }
        defer { timer.cancel() }
        for await result in opened {
            try result.get()
            return session
        }
        throw DevToolsError(message: "no DevTools connection to \(url)")
    }

    /// Sends a command and returns its `result`; a protocol error or no answer within `timeout` throws.
    @discardableResult
    func send(_ method: String, _ params: [String: Any] = [:], timeout: Duration = .seconds(15)) async throws -> JSON {
        let (id, writer) = state.withLockedValue { state -> (Int, WebSocketOutboundWriter?) in
            state.nextID += 1
            return (state.nextID, state.closed ? nil : state.writer)
        }
        guard let writer else { throw DevToolsError(message: "\(method): the DevTools connection is closed") }
        let text = String(decoding: try JSONSerialization.data(withJSONObject: ["id": id, "method": method, "params": params]), as: UTF8.self)
        let reply = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Data, any Error>) in
            state.withLockedValue { state in
                state.pending[id] = continuation
                state.timers[id] = Task {
                    try? await Task.sleep(for: timeout)
                    if !Task.isCancelled { self.finish(id, .failure(DevToolsError(message: "\(method): no answer within \(timeout)"))) }
                }
            }
            Task {
                do { try await writer.writeTextMessage(text) } catch { self.finish(id, .failure(error)) }
            }
        }
        let answer = JSON(try? JSONSerialization.jsonObject(with: reply))
        if let error = answer["error"].value {
            throw DevToolsError(message: "\(method): \(error)")
        }
        return answer["result"]
    }

    /// Evaluates a JavaScript expression in the page and returns its value (awaiting a promise);
    /// an exception in the page throws, with its description.
    @discardableResult
    func evaluate(_ expression: String, timeout: Duration = .seconds(15)) async throws -> JSON {
        let result = try await send("Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true], timeout: timeout)
        if result["exceptionDetails"].value != nil {
            let details = result["exceptionDetails"]
            throw DevToolsError(message: "the page threw: \(details["exception"]["description"].string ?? details["text"].string ?? "?")")
        }
        return result["result"]["value"]
    }

    /// Uncaught exceptions, console errors and log errors (a refused Content-Security-Policy among them) seen so far.
    var problems: [String] { state.withLockedValue { $0.problems } }

    func close() {
        connection.withLockedValue { $0?.cancel() }
        closeAll()
    }

    private func receive(_ data: Data) {
        let message = JSON(try? JSONSerialization.jsonObject(with: data))
        if let id = message["id"].int {
            finish(id, .success(data))
            return
        }
        let params = message["params"]
        let problem: String? = switch message["method"].string {
        case "Runtime.exceptionThrown":
            "exception: " + (params["exceptionDetails"]["exception"]["description"].string ?? params["exceptionDetails"]["text"].string ?? "?")
        case "Runtime.consoleAPICalled" where params["type"].string == "error":
            "console.error: " + params["args"].array.map { $0["value"].string ?? $0["description"].string ?? "?" }.joined(separator: " ")
        // Failed requests are left out: the page reports them itself, and the test checks what it shows.
        case "Log.entryAdded" where params["entry"]["level"].string == "error" && params["entry"]["source"].string != "network":
            "log (\(params["entry"]["source"].string ?? "?")): \(params["entry"]["text"].string ?? "?") \(params["entry"]["url"].string ?? "")"
        default: nil
        }
        if let problem { state.withLockedValue { $0.problems.append(problem) } }
    }

    private func finish(_ id: Int, _ result: Result<Data, any Error>) {
        let (continuation, timer) = state.withLockedValue { state in
            (state.pending.removeValue(forKey: id), state.timers.removeValue(forKey: id))
        }
        timer?.cancel()
        continuation?.resume(with: result)
    }

    private func closeAll() {
        let ids = state.withLockedValue { state -> [Int] in
            state.closed = true
            return Array(state.pending.keys)
        }
        for id in ids { finish(id, .failure(DevToolsError(message: "the DevTools connection closed"))) }
    }
}
