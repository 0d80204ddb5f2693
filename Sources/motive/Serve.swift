import ArgumentParser
import Dispatch
import Distributed
import Foundation
import Logging
import Server

/// `motive serve`: the HTTP daemon (predictions, training jobs, the models they make).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve predictions and training jobs over HTTP (GET /openapi.yaml describes the API).",
        discussion: """
        Prints "listening on HOST:PORT" once it accepts connections; logs go to stderr as JSON lines. SIGTERM or SIGINT \
        stops accepting, finishes the requests in flight, checkpoints the running job (it resumes on the next start) and exits 0.
        """,
        subcommands: [RunJob.self])

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port).") var port = 8080
    @Option(help: "A folder of models: each subfolder holding a checkpoint is a model named after it.") var models: String?
    @Flag(help: "Also write each succeeded job's model into the --models folder (NAME/model.safetensors), for replicas sharing it.")
    var publishModels = false
    @Option(help: "Job records, run directories and the upload spool.") var stateDir = "motive-state"
    @Option(help: "Data paths of submitted jobs are read from and confined to this folder.") var dataRoot = "."
    @Option(help: "Bearer token for the routes --auth names (default: the environment's MOTIVE_TOKEN; none: open).") var token: String?
    @Option(help: "Routes the token guards: jobs (every /v1/jobs route) or all (also predictions and models).") var auth = AuthScope.jobs
    @Option(name: .customLong("max-upload-mb"), help: "Largest video upload, in MB.") var maxUploadMB = 200
    @Option(help: "Uploads received at once; past it, 503 with Retry-After.") var maxUploads = 32
    @Option(help: "Predictions waiting for or running inference at once (uploads complete); past it, 503 with Retry-After.") var maxConcurrent = 16
    @Option(help: "Seconds a request body may take, plus one second per --min-upload-rate KB received; past it, 408.") var requestTimeout: Double = 30
    @Option(help: "Slowest upload accepted once --request-timeout is spent, in KB/s.") var minUploadRate = 32
    @Option(help: "Seconds a connection may take to send a request's headers (also the keep-alive idle time).") var headerTimeout: Double = 20
    @Option(help: "Threads that decode and run models (default: half the cores).") var inferenceThreads: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.") var logLevel = "info"
    @Option(name: .customLong("allow-stream-source"),
            help: "A glob over host:port (or a device path) that POST /v1/streams may open, e.g. '127.0.0.1:*' or '/dev/video*'; repeat for more (default: none).")
    var allowStreamSources: [String] = []
    @Option(help: "Live streams labelled at once; past it, 503.") var maxStreams = 4

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        if publishModels, models == nil { throw ValidationError("--publish-models needs --models") }
        guard (1...(1 << 20)).contains(maxUploadMB) else { throw ValidationError("--max-upload-mb must be 1…1048576") }
        guard maxConcurrent >= 1 else { throw ValidationError("--max-concurrent must be ≥ 1") }
        guard maxUploads >= 1 else { throw ValidationError("--max-uploads must be ≥ 1") }
        guard requestTimeout > 0, requestTimeout <= 86400 else { throw ValidationError("--request-timeout must be in (0, 86400] seconds") }
        guard headerTimeout > 0, headerTimeout <= 3600 else { throw ValidationError("--header-timeout must be in (0, 3600] seconds") }
        guard (1...(1 << 20)).contains(minUploadRate) else { throw ValidationError("--min-upload-rate must be 1…1048576 KB/s") }
        if let inferenceThreads, inferenceThreads < 1 { throw ValidationError("--inference-threads must be ≥ 1") }
        guard (1...64).contains(maxStreams) else { throw ValidationError("--max-streams must be 1…64") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level must be trace, debug, info, notice, warning, error or critical") }
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        var options = ServerOptions(stateDirectory: URL(fileURLWithPath: stateDir), dataRoot: URL(fileURLWithPath: dataRoot))
        options.host = host
        options.port = port
        options.modelsDirectory = models.map { URL(fileURLWithPath: $0) }
        options.publishJobModels = publishModels
        options.token = token ?? ProcessInfo.processInfo.environment["MOTIVE_TOKEN"]
        options.maxUploadBytes = maxUploadMB << 20
        options.auth = auth
        options.maxConcurrentUploads = maxUploads
        options.maxConcurrentPredictions = maxConcurrent
        options.requestTimeout = requestTimeout
        options.minUploadBytesPerSecond = minUploadRate << 10
        options.headerTimeout = headerTimeout
        if let inferenceThreads { options.inferenceThreads = inferenceThreads }
        options.allowStreamSources = allowStreamSources
        options.maxStreams = maxStreams
        options.jobLauncher = RunJob.launcher
        let server = try MotiveServer(options: options, logger: Logger(label: "motive"))
        // The root command is synchronous: serve on Swift's concurrency pool and wait here.
        let outcome = ServeOutcome()
        Task {
            do {
                try await server.run { host, port in say("listening on \(host):\(port)") }
            } catch {
                outcome.error = error
            }
            outcome.done.signal()
        }
        outcome.done.wait()
        if let error = outcome.error { throw error }
    }
}

extension AuthScope: ExpressibleByArgument {}

extension Serve {
    /// `motive serve run-job JOB_FOLDER`: the training process of one job, started by the server.
    struct RunJob: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run-job", abstract: "Train one job of the server's state folder (started by the server).", shouldDisplay: false)

        @Argument(help: "The job's folder, <state-dir>/jobs/<id>.") var jobFolder: String

        /// This executable with this verb: how the server starts a job's process.
        static var launcher: JobLauncher {
            JobLauncher(executable: ServerOptions.currentExecutable, arguments: ["serve", configuration.commandName ?? "run-job"])
        }

        func run() throws {
            // The server starts a job of several processes under mpirun: this is then one rank.
            let group = try MPILaunch.join()
            let status = TrainingJobProcess.run(jobFolder: URL(fileURLWithPath: jobFolder), group: group)
            if let group, group.size > 1, status != 0 { group.abort(code: status) }   // one rank's failure ends them all
            group?.finish()
            if status != 0 { throw ExitCode(status) }
        }
    }
}

/// How the server task ended, handed back to the waiting main thread.
final class ServeOutcome: @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    var error: (any Error)?
}
