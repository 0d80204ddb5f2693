import Benchmark
import Foundation
import Support
import Training
import Logging
import ServiceLifecycle

/// Runs queued jobs one at a time, oldest first, each in a training process of its own
/// (started by the `JobLauncher` the tool provides; see `TrainingJobProcess`) watched from a thread. On shutdown it asks
/// the running job to stop: the process saves `last.safetensors` after its current step and the
/// job goes back to the queue, to resume on the next start.
final class JobWorker: Service, Sendable {
    let board: JobBoard
    let models: ModelRegistry
    let launcher: JobLauncher?
    /// The models folder a succeeded job's model is also written into (`--publish-models`).
    let publishTo: URL?
    let logger: Logger

    init(board: JobBoard, models: ModelRegistry, launcher: JobLauncher?, publishTo: URL? = nil, logger: Logger) {
        self.board = board
        self.models = models
        self.launcher = launcher
        self.publishTo = publishTo
        self.logger = logger
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in board.wakeups {
                while let job = board.claimNext() { await execute(job) }
            }
        } onGracefulShutdown: { [board] in
            board.beginShutdown()
        }
    }

    /// Trains `job` and settles it.
    func execute(_ job: JobRecord) async {
        var logger = self.logger
        logger[metadataKey: "job"] = .string(job.id)
        logger.info("job started", metadata: ["attempt": .stringConvertible(job.attempts), "kind": .string(job.kind.rawValue),
                                              "models": .string(job.config?.model.preset ?? job.bench?.models.joined(separator: " ") ?? "")])
        let outcome = await onOwnThread(named: "motive-job-\(job.id)") { [self] in supervise(job) }
        switch outcome {
        case .finished(let checkpoint):
            do {
                let url = board.store.folder(of: job.id).appendingPathComponent(checkpoint)
                let model = try ServedModel(name: job.modelName, checkpoint: url, source: "job", job: job.id)
                // Served first, then succeeded: whoever sees the job succeed finds its model.
                if models.add(model) != nil { logger.warning("model replaced by the job's", metadata: ["model": .string(job.modelName)]) }
                if let publishTo { publish(url, name: job.modelName, into: publishTo, logger: logger) }
                board.finish(job.id, outcome: outcome)
                logger.info("job succeeded", metadata: ["model": .string(job.modelName)])
            } catch {
                board.finish(job.id, outcome: .failed("trained, but its checkpoint cannot be served: \(error)"))
                logger.error("job's model not loaded", metadata: ["error": "\(error)"])
            }
        case .completed:
            board.finish(job.id, outcome: outcome)
            logger.info("job succeeded")
        case .stopped:
            board.finish(job.id, outcome: outcome)
            logger.info("job stopped", metadata: ["state": .string(board.record(job.id)?.state.rawValue ?? "")])
        case .failed(let message):
            board.finish(job.id, outcome: outcome)
            logger.error("job failed", metadata: ["error": .string(message)])
        }
    }

    /// Writes the model into the shared models folder, for the other replicas. Published before
    /// the job is marked succeeded, so a client that sees it succeed finds the model on every
    /// replica. A failure is logged: the job still succeeded, and this replica serves its model.
    private func publish(_ checkpoint: URL, name: String, into folder: URL, logger: Logger) {
        do {
            try ModelPublisher.publish(checkpoint: checkpoint, name: name, into: folder)
            logger.info("model published", metadata: ["model": .string(name), "folder": .string(folder.path)])
        } catch {
            logger.error("model not published", metadata: ["model": .string(name), "folder": .string(folder.path), "error": "\(error)"])
        }
    }

    /// The blocking part: starts the training process, relays its events to the board until it
    /// exits, and tells how it ended.
    private func supervise(_ job: JobRecord) -> JobBoard.RunOutcome {
        let folder = board.store.folder(of: job.id)
        let errorLog = folder.appendingPathComponent("stderr.log")
        guard let launcher else { return .failed("this server was started without a way to run training processes") }
        let process = Process()
        let processes = job.config?.distributed.processes ?? 1
        if processes > 1 {
            // One rank per process, each running the same job command; rank 0 reports the events.
            guard let mpirun = MPIRunCommand.locate() else { return .failed("distributed.processes: \(processes) needs mpirun, and the server has none") }
            process.executableURL = mpirun
            process.arguments = MPIRunCommand.arguments(processes: processes, hostfile: job.config?.distributed.hostfile)
                + [launcher.executable.path] + launcher.arguments + [folder.path]
            // A child inherits the starting thread's blocked signals, and mpirun, unlike the job
            // process, only sees signals that are not blocked: this thread is the job's own.
            var none = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, nil)
        } else {
            process.executableURL = launcher.executable
            process.arguments = launcher.arguments + [folder.path]
        }
        process.standardInput = FileHandle.nullDevice
        let events = Pipe()
        process.standardOutput = events
        do {
            if !FileManager.default.fileExists(atPath: errorLog.path) { _ = FileManager.default.createFile(atPath: errorLog.path, contents: nil) }
            let errors = try FileHandle(forWritingTo: errorLog)
            try errors.seekToEnd()
            process.standardError = errors
            try process.run()
        } catch {
            return .failed("cannot start the training process \(launcher.executable.path): \(error)")
        }
        // mpirun passes SIGUSR1 to every rank at once (SIGTERM only after a delay, then kills).
        let stopper = ChildProcessStopper(process, signal: processes > 1 ? SIGUSR1 : SIGTERM)
        defer { stopper.exited() }
        board.attach(stopper, to: job.id)
        var finished: String?, failure: String?, interrupted = false, benchFinished = false
        var lines = LineReader(events.fileHandleForReading)
        while let line = lines.next() {
            if let bench = BenchEvent.decode(line) {
                if case .progress(let progress) = bench { board.record(progress, job: job.id) }
                if case .finished = bench { benchFinished = true }
                continue
            }
            guard let event = RunEvent.decode(line) else { continue }
            board.record(event, job: job.id)
            if case .ready(let checkpoint) = event { finished = checkpoint }
            if case .failed(let message) = event { failure = message }
            if case .interrupted = event { interrupted = true }
        }
        process.waitUntilExit()
        if let failure { return .failed(failure) }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let how = process.terminationReason == .exit ? "exited with status \(process.terminationStatus)"
                : "killed by \(Self.signalName(process.terminationStatus))"
            let reason = Self.reason(in: errorLog)
            return .failed("training process \(how)" + (reason.isEmpty ? "" : ": " + reason))
        }
        if let finished { return .finished(checkpoint: finished) }
        if benchFinished { return .completed }
        // A clean exit that neither finished nor was asked to stop would only run again, forever.
        guard interrupted || stopper.stopRequested else {
            let reason = Self.reason(in: errorLog)
            return .failed("training process exited without finishing" + (reason.isEmpty ? "" : ": " + reason))
        }
        return .stopped
    }

    /// `SIGABRT` for 6.
    static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [SIGABRT: "SIGABRT", SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGILL: "SIGILL", SIGBUS: "SIGBUS",
                                      SIGFPE: "SIGFPE", SIGTRAP: "SIGTRAP", SIGTERM: "SIGTERM", SIGINT: "SIGINT", SIGPIPE: "SIGPIPE"]
        return names[signal] ?? "signal \(signal)"
    }

    /// Why a training process died, from its stderr: the runtime's "Fatal error" line, else its
    /// "Swift runtime failure" with the first frame of Motive's code; else the last line that is
    /// not part of a crash dump (at most 300 characters). The backtrace stays in the file.
    static func reason(in file: URL) -> String {
        let lines = ((try? String(contentsOf: file, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        if let fatal = lines.last(where: { $0.contains("Fatal error") }) { return fatal }
        if let failure = lines.first(where: { $0.contains("Swift runtime failure:") }) {
            let text = failure.replacingOccurrences(of: "***", with: "").trimmingCharacters(in: .whitespaces)
            let frame = lines.first { $0.contains(" at /") && !$0.contains("<compiler-generated>") }
            let place = frame.flatMap { $0.components(separatedBy: " at /").last }.map { " at " + $0.split(separator: "/").suffix(3).joined(separator: "/") }
            return text + (place ?? "")
        }
        let meaningful = lines.last { line in
            let text = line.trimmingCharacters(in: .whitespaces)
            guard text.contains(where: \.isLetter) else { return false }
            // Backtrace frames ("12 0x00005555 in foo at /x.swift:3", "#3 ..."), dump banners and registers.
            if let first = text.first, first.isNumber || first == "#" { return false }
            let dump = ["0x", "Thread ", "Backtrace", "💣", "Crashed", "Registers", "Images", "Press ", "***"]
            return !dump.contains { text.hasPrefix($0) } && !text.contains(" at /")
        }
        guard let meaningful else { return "" }
        let text = meaningful.trimmingCharacters(in: .whitespaces)
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }
}

/// Stops a training process: SIGTERM (SIGUSR1 for `mpirun`), which makes it checkpoint after
/// its current step and exit. Sent again every second until it exits: a signal that arrives
/// while the process is still starting, before it listens for it, is lost (the server ignores
/// SIGTERM itself, and children inherit that).
final class ChildProcessStopper: JobStopper, @unchecked Sendable {
    private let process: Process
    private let signal: Int32
    private let lock = NSLock()
    private var timer: (any DispatchSourceTimer)?
    private var done = false
    private var requested = false

    init(_ process: Process, signal: Int32 = SIGTERM) { (self.process, self.signal) = (process, signal) }

    /// Whether `stop()` has been called.
    var stopRequested: Bool { lock.withLock { requested } }

    func stop() {
        lock.withLock {
            requested = true
            guard !done, timer == nil else { return }
            let pid = process.processIdentifier
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.schedule(deadline: .now(), repeating: 1)
            let signal = self.signal
            timer.setEventHandler { kill(pid, signal) }
            timer.resume()
            self.timer = timer
        }
    }

    /// The process has exited (and been reaped): no more signals to its pid.
    func exited() {
        lock.withLock {
            done = true
            timer?.cancel()
            timer = nil
        }
    }
}

