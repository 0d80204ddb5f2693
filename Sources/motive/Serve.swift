import ArgumentParser
import Dispatch
import Distributed
import Foundation
import Logging
import Server
import Support

/// `motive serve`: the HTTP daemon (predictions, training jobs, the models they make).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve predictions and training jobs over HTTP (GET /openapi.yaml describes the API).",
        discussion: """
        Prints "listening on HOST:PORT" once it accepts connections; logs go to stderr (--log-format). SIGTERM or SIGINT \
        stops accepting, finishes the requests in flight, checkpoints the running job (it resumes on the next start) and exits 0.

        Every option can also be set from the environment, as the variable named after it: MOTIVE_, then the option \
        in capitals with - as _ (MOTIVE_MAX_UPLOADS=8). An option on the command line wins over its variable. A flag's \
        variable is 1, true or yes, or 0, false or no; --allow-stream-source's holds patterns separated by commas.
        """,
        subcommands: [RunJob.self])

    @Option(help: env("host", "Address to listen on.")) var host = "127.0.0.1"
    @Option(help: env("port", "Port to listen on (0: any free port).")) var port = 8080
    @Option(help: env("models", "A folder of models: each subfolder holding a checkpoint is a model named after it.")) var models: String?
    @Flag(help: env("publish-models", "Also write each succeeded job's model into the --models folder (NAME/model.safetensors), for replicas sharing it."))
    var publishModels = false
    @Option(help: env("state-dir", "Job records, run directories and the upload spool.")) var stateDir = "motive-state"
    @Option(help: env("data-root", "Data paths of submitted jobs are read from and confined to this folder.")) var dataRoot = "."
    @Option(help: env("token", "Bearer token for the routes --auth names (default: none, and every route is open).")) var token: String?
    @Option(help: env("auth", "Routes the token guards: jobs (every /v1/jobs route) or all (also predictions and models).")) var auth = AuthScope.jobs
    @Option(name: .customLong("max-upload-mb"), help: env("max-upload-mb", "Largest video upload, in MB.")) var maxUploadMB = 200
    @Option(help: env("max-uploads", "Uploads received at once; past it, 503 with Retry-After.")) var maxUploads = 32
    @Option(help: env("max-concurrent", "Predictions waiting for or running inference at once (uploads complete); past it, 503 with Retry-After."))
    var maxConcurrent = 16
    @Option(help: env("request-timeout", "Seconds a request body may take, plus one second per --min-upload-rate KB received; past it, 408."))
    var requestTimeout: Double = 30
    @Option(help: env("min-upload-rate", "Slowest upload accepted once --request-timeout is spent, in KB/s.")) var minUploadRate = 32
    @Option(help: env("header-timeout", "Seconds a connection may take to send a request's headers (also the keep-alive idle time)."))
    var headerTimeout: Double = 20
    @Option(help: env("inference-threads", "Threads that decode and run models (default: half the cores).")) var inferenceThreads: Int?
    @Option(help: env("log-level", "Log level: trace, debug, info, notice, warning, error or critical.")) var logLevel = "info"
    @Option(help: env("log-format", "Log lines: json (one object per line) or text (default: text when stderr is a terminal, else json)."))
    var logFormat: LogFormat?
    @Option(name: .customLong("allow-stream-source"),
            help: env("allow-stream-source", "A glob over host:port (or a device path) that POST /v1/streams may open, e.g. '127.0.0.1:*' or '/dev/video*'; repeat for more (default: none)."))
    var allowStreamSources: [String] = []
    @Option(help: env("max-streams", "Live streams labelled at once; past it, 503.")) var maxStreams = 4
    @Option(name: .customLong("max-dataset-files"), help: env("max-dataset-files", "An uploaded dataset's most files and folders once unpacked."))
    var maxDatasetFiles = 200_000
    @Option(name: .customLong("max-dataset-gb"), help: env("max-dataset-gb", "An uploaded dataset's largest size once unpacked (and its archive's), in GB."))
    var maxDatasetGB: Double = 20

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
        guard maxDatasetFiles >= 1 else { throw ValidationError("--max-dataset-files must be at least 1") }
        guard maxDatasetGB > 0, maxDatasetGB <= 1_000_000 else { throw ValidationError("--max-dataset-gb must be above 0") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level must be trace, debug, info, notice, warning, error or critical") }
    }

    func run() throws {
        (logFormat ?? .standardErrorDefault).bootstrap(level: Logger.Level(rawValue: logLevel) ?? .info)
        var options = ServerOptions(stateDirectory: URL(fileURLWithPath: stateDir), dataRoot: URL(fileURLWithPath: dataRoot))
        options.host = host
        options.port = port
        options.modelsDirectory = models.map { URL(fileURLWithPath: $0) }
        options.publishJobModels = publishModels
        options.token = token
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
        options.maxDatasetFiles = maxDatasetFiles
        options.maxDatasetBytes = Int64(maxDatasetGB * Double(1 << 30))
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
extension LogFormat: ExpressibleByArgument {}

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

extension Serve {
    /// The options `motive serve` also reads from the environment: every one it has. `env(_:_:)`
    /// names each option's variable in its help, and refuses a name missing here.
    static let environment: [EnvironmentOption] = [
        .init("host"), .init("port"), .init("models"), .init("publish-models", .flag), .init("state-dir"), .init("data-root"),
        .init("token"), .init("auth"), .init("max-upload-mb"), .init("max-uploads"), .init("max-concurrent"),
        .init("request-timeout"), .init("min-upload-rate"), .init("header-timeout"), .init("inference-threads"),
        .init("log-level"), .init("log-format"), .init("allow-stream-source", .list), .init("max-streams"), .init("max-dataset-files"), .init("max-dataset-gb"),
    ]

    /// The command line with `motive serve`'s environment added: only for the daemon itself (not
    /// `serve run-job`, whose processes inherit the daemon's environment), and not for `--help`.
    static func commandLine(_ arguments: [String], environment: [String: String]) throws -> EnvironmentArguments.Applied {
        let unchanged = EnvironmentArguments.Applied(arguments: arguments, sources: [])
        guard arguments.first == configuration.commandName ?? "serve",
              arguments.dropFirst().first != RunJob.configuration.commandName,
              !arguments.contains(where: { ["-h", "--help", "help"].contains($0) }) else { return unchanged }
        var applied = try EnvironmentArguments.apply(Self.environment, to: Array(arguments.dropFirst()), environment: environment)
        applied.arguments.insert(arguments[0], at: 0)
        return applied
    }
}

/// An option's help with the variable that also sets it: "… (env: MOTIVE_PORT)".
private func env(_ name: String, _ text: String) -> ArgumentHelp {
    guard let option = Serve.environment.first(where: { $0.name == name }) else {
        preconditionFailure("--\(name) is missing from Serve.environment")
    }
    return ArgumentHelp("\(text) (env: \(option.variable()))")
}
