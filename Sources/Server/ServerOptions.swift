import Foundation

/// How a server runs: where it listens, what it serves and its limits (`motive serve`'s options).
public struct ServerOptions: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port; the bound address is reported through `onListening`.
    public var port = 8080
    /// A folder of models: each subfolder holding a checkpoint is one model named after it.
    public var modelsDirectory: URL?
    /// Job records, run directories and upload spool.
    public var stateDirectory: URL
    /// Every data path of a submitted job must resolve inside this folder.
    public var dataRoot: URL
    /// When set, `POST` and `DELETE` on `/v1/jobs` need `Authorization: Bearer <token>`.
    public var token: String?
    public var maxUploadBytes = 200 << 20
    /// Predictions admitted at once (uploading, waiting or running); past it, 503 with `Retry-After`.
    public var maxConcurrentPredictions = 16
    /// Seconds a client may take to send a request body; past it, 408.
    public var requestTimeout: Double = 60
    /// Threads that decode and run models. The engine already spreads each op over every core,
    /// so more threads than about half the cores mostly adds contention.
    public var inferenceThreads = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
    /// Seconds a client is told to wait after a 503.
    public var retryAfterSeconds = 1
    /// How a job's training process is started: the command-line tool provides it (its own
    /// executable and verb). Without one, submitted jobs fail with a clear message.
    public var jobLauncher: JobLauncher?

    /// The running executable (on Linux through /proc, which names it even when started by a relative path).
    public static var currentExecutable: URL {
        let proc = URL(fileURLWithPath: "/proc/self/exe")
        if FileManager.default.fileExists(atPath: proc.path) { return proc.resolvingSymlinksInPath() }
        return Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
    }

    public init(stateDirectory: URL, dataRoot: URL) {
        self.stateDirectory = stateDirectory
        self.dataRoot = dataRoot
    }
}

/// The command that trains one job in a process of its own (`TrainingJobProcess` on the other
/// side): `executable`, `arguments`, then the job's folder.
public struct JobLauncher: Sendable, Equatable {
    public var executable: URL
    public var arguments: [String]

    public init(executable: URL, arguments: [String]) {
        (self.executable, self.arguments) = (executable, arguments)
    }
}
