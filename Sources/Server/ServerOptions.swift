import Foundation

/// How a server runs: where it listens, what it serves and its limits (`motive serve`'s options).
public struct ServerOptions: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port; the bound address is reported through `onListening`.
    public var port = 8080
    /// A folder of models: each subfolder holding a checkpoint is one model named after it.
    public var modelsDirectory: URL?
    /// When set, a succeeded job's model is also written into `modelsDirectory` (as
    /// `NAME/model.safetensors`), for the other replicas that serve the same folder.
    public var publishJobModels = false
    /// Job records, run directories and upload spool.
    public var stateDirectory: URL
    /// Every data path of a submitted job must resolve inside this folder.
    public var dataRoot: URL
    /// When set, the routes that `auth` names need `Authorization: Bearer <token>`.
    public var token: String?
    /// Which routes the token guards.
    public var auth = AuthScope.jobs
    public var maxUploadBytes = 200 << 20
    /// Uploads received at once; past it, 503 with `Retry-After`.
    public var maxConcurrentUploads = 32
    /// Predictions admitted to inference at once (waiting or running, uploads complete); past it,
    /// 503 with `Retry-After`.
    public var maxConcurrentPredictions = 16
    /// Seconds a request body may take before the minimum rate applies: the body's deadline is
    /// this plus one second for every `minUploadBytesPerSecond` bytes received. Past it, 408.
    public var requestTimeout: Double = 30
    /// The slowest upload accepted once `requestTimeout` is spent, in bytes per second.
    public var minUploadBytesPerSecond = 32 << 10
    /// Seconds a connection may take to send a request's headers, from its opening or from the
    /// end of the previous response (so also how long an idle keep-alive connection stays open).
    public var headerTimeout: Double = 20
    /// Threads that decode and run models. The engine already spreads each op over every core,
    /// so more threads than about half the cores mostly adds contention.
    public var inferenceThreads = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
    /// Globs over `host:port` (network sources) or device paths that `POST /v1/streams` may open;
    /// none by default, so the daemon opens no network source unless told which.
    public var allowStreamSources: [String] = []
    /// Streams labelled at once; past it, 503.
    public var maxStreams = 4
    /// An uploaded dataset's most members (files and folders) once unpacked.
    public var maxDatasetFiles = 200_000
    /// An uploaded dataset's largest size once unpacked, whatever the archive's headers claim;
    /// also the largest archive accepted.
    public var maxDatasetBytes: Int64 = 20 << 30
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

/// The routes a token guards. `/healthz`, `/metrics` and `/openapi.yaml` are always open.
public enum AuthScope: String, Sendable, CaseIterable {
    /// Every `/v1/jobs…`, `/v1/datasets…` and `/v1/streams…` route, reads included, and `POST /v1/models/rescan`.
    case jobs
    /// The job routes, predictions (TorchServe's `/predictions/…` too) and `/v1/models…`.
    case all

    /// Whether a request to `path` needs the token under this scope.
    public func guards(path: String) -> Bool {
        func under(_ prefix: String) -> Bool { path == prefix || path.hasPrefix(prefix + "/") }
        if under("/v1/jobs") || under("/v1/streams") || under("/v1/datasets") || path == "/v1/models/rescan" { return true }
        return self == .all && (under("/v1/predict") || under("/predictions") || under("/v1/models"))
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
