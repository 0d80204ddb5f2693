import Benchmark
import Foundation
import Inference
import Support
import Training

/// Where a training job is in its life.
public enum JobState: String, Codable, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled

    public var isFinished: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// What a job does: train a model, or bench models.
public enum JobKind: String, Codable, Sendable, CaseIterable {
    case train, bench
}

/// What a submitted job asks for, checked and with its paths made real.
public enum JobWork: Sendable, Equatable {
    case train(JobConfig)
    case bench(BenchSpec)
}

/// A job as stored in the state folder (`jobs/<id>/job.json`): everything needed to list it
/// and to run or resume it after a restart.
public struct JobRecord: Codable, Sendable, Equatable {
    public var id: String
    /// Submission order; the queue runs the lowest first.
    public var sequence: Int
    public var state: JobState
    /// A training job's config, its data paths made absolute (inside the data root).
    public var config: JobConfig?
    /// A bench job's spec, its paths made absolute (inside the data root, or a served model's).
    public var bench: BenchSpec?
    /// The name a training job's model is served under once it succeeds.
    public var modelName: String
    public var submittedAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Times the job has started; above 1 it resumed after a restart.
    public var attempts = 0
    public var cancelRequested = false
    public var error: String?
    /// Completed epochs and optimizer steps, as of the last epoch.
    public var epoch = 0
    public var step = 0
    public var lastEpoch: EpochRecord?
    /// The served checkpoint, relative to the job's folder (`run/best.safetensors`).
    public var checkpoint: String?
    /// The server's data root when the job was submitted: the training process reads no file
    /// whose real path lies outside it.
    public var dataRoot: ConfinedPath?

    public var kind: JobKind { bench != nil ? .bench : .train }

    public init(id: String, sequence: Int, state: JobState, work: JobWork, modelName: String, submittedAt: Date) {
        (self.id, self.sequence, self.state, self.modelName, self.submittedAt) = (id, sequence, state, modelName, submittedAt)
        switch work {
        case .train(let config): self.config = config
        case .bench(let spec): bench = spec
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, sequence, state, config, bench, modelName = "model_name", submittedAt = "submitted_at", startedAt = "started_at"
        case finishedAt = "finished_at", attempts, cancelRequested = "cancel_requested", error, epoch, step
        case lastEpoch = "last_epoch", checkpoint, dataRoot = "data_root"
    }
}

/// What `GET /v1/jobs/{id}` returns.
public struct JobView: Codable, Sendable, Equatable {
    public var id: String
    public var kind: JobKind
    public var state: JobState
    /// A training job's model name and preset.
    public var modelName: String?
    public var preset: String?
    /// A bench job's models: presets, and the labels of checkpoints (never their paths).
    public var models: [String]?
    public var submittedAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Completed epochs (the one in progress while running), of `epochs` (training jobs).
    public var epoch: Int
    public var epochs: Int?
    public var step: Int
    public var progress: StepProgress?
    /// Where a running bench is.
    public var benchProgress: BenchProgress?
    public var lastEpoch: EpochRecord?
    public var etaSeconds: Double?
    public var attempts: Int
    public var cancelRequested: Bool
    public var error: String?
    /// The processes a training job runs on (`distributed.processes`; 1 without).
    public var processes: Int?

    enum CodingKeys: String, CodingKey {
        case id, kind, state, modelName = "model_name", preset, models, submittedAt = "submitted_at", startedAt = "started_at"
        case finishedAt = "finished_at", epoch, epochs, step, progress, benchProgress = "bench_progress", lastEpoch = "last_epoch", etaSeconds = "eta_s"
        case attempts, cancelRequested = "cancel_requested", error, processes
    }

    init(_ record: JobRecord, progress: StepProgress?, benchProgress: BenchProgress? = nil) {
        let live = record.state == .running ? progress : nil
        id = record.id
        kind = record.kind
        state = record.state
        modelName = record.kind == .train ? record.modelName : nil
        preset = record.config?.model.preset
        // The server resolved each model to a path and gave it a label: the view shows labels only.
        models = record.bench?.models.map { BenchModel.split($0).label ?? $0 }
        self.benchProgress = record.state == .running ? benchProgress : nil
        submittedAt = record.submittedAt
        startedAt = record.startedAt
        finishedAt = record.finishedAt
        epoch = live?.epoch ?? record.epoch
        epochs = record.config?.schedule.epochs
        step = max(live?.step ?? 0, record.step)
        self.progress = live
        lastEpoch = record.lastEpoch
        etaSeconds = live?.etaSeconds
        attempts = record.attempts
        cancelRequested = record.cancelRequested
        error = record.error
        processes = record.config.map { $0.distributed.processes ?? 1 }
    }
}
