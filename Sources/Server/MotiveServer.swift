import Datasets
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle

/// The Motive daemon: labels uploaded videos with the loaded models, runs submitted training
/// jobs one at a time and serves the models they produce.
///
///     let server = try MotiveServer(options: options, logger: logger)
///     try await server.run { host, port in print("listening on \(host):\(port)") }
///
/// Creating it loads the models (the models folder, then succeeded jobs) and the job records;
/// `makeApplication` gives the Hummingbird application, which `run` serves until SIGTERM or
/// SIGINT. Its services: the inference pool (threads that decode and run models, away from the
/// event loops) and the job worker (one training process at a time, started through `ServerOptions.jobLauncher`).
public final class MotiveServer: Sendable {
    public let options: ServerOptions
    public let metrics = ServerMetrics()
    public let models: ModelRegistry
    let board: JobBoard
    let streams: StreamBoard
    let pool: InferencePool
    let logger: Logger
    private let lock: StateLock
    private let submission: JobSubmission
    private let streamPolicy: StreamSourcePolicy
    private let spool: UploadSpool
    let datasets: DatasetStore

    public init(options: ServerOptions, logger: Logger) throws {
        self.options = options
        self.logger = logger
        let fm = FileManager.default
        do { try fm.createDirectory(at: options.stateDirectory, withIntermediateDirectories: true) } catch {
            throw ServerStartError.stateDirectory(path: options.stateDirectory.path, reason: "\(error)")
        }
        lock = try StateLock(stateDirectory: options.stateDirectory)
        let dataSandbox = try PathSandbox(root: options.dataRoot, name: "the data root")
        streamPolicy = StreamSourcePolicy(patterns: options.allowStreamSources, dataRoot: dataSandbox)
        streams = StreamBoard(limit: options.maxStreams, metrics: metrics, logger: logger)
        spool = try UploadSpool(directory: options.stateDirectory.appendingPathComponent("uploads"))
        models = ModelRegistry(metrics: metrics, folder: options.modelsDirectory, logger: logger)
        board = JobBoard(store: try JobStore(stateDirectory: options.stateDirectory), metrics: metrics, logger: logger)
        do {
            datasets = try DatasetStore(dataRoot: URL(fileURLWithPath: dataSandbox.root), stateDirectory: options.stateDirectory,
                                        limits: ArchiveLimits(maxFiles: options.maxDatasetFiles, maxBytes: options.maxDatasetBytes), board: board)
        } catch {
            throw ServerStartError.stateDirectory(path: options.dataRoot.appendingPathComponent("datasets").path, reason: "\(error)")
        }
        submission = JobSubmission(data: dataSandbox, state: try PathSandbox(root: options.stateDirectory, name: "the state directory"),
                                   datasets: datasets)
        pool = InferencePool(threads: options.inferenceThreads)
        models.rescan()
        loadJobModels()
    }

    deinit { pool.shutdown() }

    /// The models of succeeded jobs, as they were registered.
    private func loadJobModels() {
        for view in board.views() where view.state == .succeeded {
            guard let record = board.record(view.id), let checkpoint = record.checkpoint else { continue }
            let url = board.store.folder(of: record.id).appendingPathComponent(checkpoint)
            do {
                models.add(try ServedModel(name: record.modelName, checkpoint: url, source: "job", job: record.id))
            } catch {
                logger.error("job model not loaded", metadata: ["job": .string(record.id), "error": "\(error)"])
            }
        }
    }

    /// The router with every route and the middleware, and the table of what it serves.
    func makeRouter() -> (router: Router<ServerContext>, routes: [RouteDescription]) {
        let router = Router(context: ServerContext.self)
        router.add(middleware: TelemetryMiddleware(metrics: metrics))
        router.add(middleware: RequestIDMiddleware())
        let table = RouteTable(router: router)
        if let token = BearerToken(options.token) { router.add(middleware: TokenGuard(token: token, scope: options.auth)) }
        PredictRoutes(models: models, pool: pool,
                      uploads: AdmissionGate(limit: options.maxConcurrentUploads, gauge: metrics.admittedUploads),
                      gate: AdmissionGate(limit: options.maxConcurrentPredictions, gauge: metrics.admittedPredictions),
                      spool: spool,
                      receiver: UploadReceiver(limit: options.maxUploadBytes, timeout: options.requestTimeout,
                                               minRate: options.minUploadBytesPerSecond),
                      metrics: metrics, retryAfter: options.retryAfterSeconds).register(on: table)
        ModelRoutes(models: models).register(on: table)
        JobRoutes(board: board, models: models, submission: submission).register(on: table)
        DatasetRoutes(store: datasets, board: board, spool: spool,
                      receiver: UploadReceiver(limit: Int(clamping: options.maxDatasetBytes), timeout: options.requestTimeout,
                                               minRate: options.minUploadBytesPerSecond)).register(on: table)
        OperationRoutes(models: models, board: board, metrics: metrics).register(on: table)
        StreamRoutes(board: streams, models: models, policy: streamPolicy, tokenConfigured: BearerToken(options.token) != nil,
                     retryAfter: options.retryAfterSeconds).register(on: table)
        PageRoutes().register(on: table)
        return (router, table.routes)
    }

    /// Every route served, for documentation checks.
    public var routes: [RouteDescription] { makeRouter().routes }

    /// The application: the HTTP server plus the inference pool and the job worker as services.
    /// Shutdown runs in reverse: the server stops accepting and finishes its requests, then the
    /// worker stops the running job (which saves a checkpoint), then the pool stops.
    public func makeApplication(onListening: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in })
        -> some ApplicationProtocol {
        let idle = TimeAmount.seconds(Int64(options.requestTimeout.rounded(.up)) + 15)
        let headerTimeout = TimeAmount.milliseconds(Int64(options.headerTimeout * 1000))
        return Application(
            router: makeRouter().router,
            // Plain HTTP/1.1, plus the WebSocket upgrade of `GET /v1/streams/{id}/ws`.
            server: HTTPServerBuilder { responder in
                let webSocket = StreamSocketRoutes(board: self.streams, token: BearerToken(self.options.token), scope: self.options.auth).router()
                return GuardedUpgradeChannel(
                    inner: HTTP1WebSocketUpgradeChannel(
                        responder: responder, webSocketResponder: webSocket.buildResponder(),
                        configuration: .init(http1: .init(additionalChannelHandlers: [ConnectionGuard(headerTimeout: headerTimeout)], idleTimeout: idle))),
                    headerTimeout: headerTimeout)
            },
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "motive"),
            services: [pool, JobWorker(board: board, models: models, launcher: options.jobLauncher,
                                       publishTo: options.publishJobModels ? options.modelsDirectory : nil, logger: logger),
                       StreamShutdown(streams: streams)],
            onServerRunning: { channel in
                let address = channel.localAddress
                await onListening(address?.ipAddress ?? self.options.host, address?.port ?? self.options.port)
            },
            logger: logger)
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully and returns.
    public func run(onListening: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in }) async throws {
        try await makeApplication(onListening: onListening).runService()
    }
}

/// Stops every live stream when the daemon shuts down, so their event streams end too.
struct StreamShutdown: Service {
    let streams: StreamBoard

    func run() async throws {
        try? await gracefulShutdown()
        await onOwnThread(named: "motive-stream-shutdown") { streams.stopAll() }
    }
}
