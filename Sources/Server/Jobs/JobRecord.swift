import Benchmark
import Datasets
import Foundation
import Inference
import Support
import Training

/// Where a training job is in its life.
public enum JobState: String, Codable, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled

    public var isFinished: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// What a job does: train a model, bench models, or check an uploaded dataset.
public enum JobKind: String, Codable, Sendable, CaseIterable {
    case train, bench, check
}

/// What a submitted job asks for, checked and with its paths made real.
public enum JobWork: Sendable, Equatable {
    case train(JobConfig)
    case bench(BenchSpec)
    case check(DatasetCheckSpec)
}

/// A dataset check job: the uploaded dataset's name and its lists (inside the data root).
public struct DatasetCheckSpec: Codable, Sendable, Equatable {
    public var name: String
    public var lists: DatasetLists
}

/// A job as stored in the state folder (`jobs/<id>/job.json`): everything needed to list it
/// and to run or resume it after a restart.
///
/// Records outlive the Motive that wrote them, so reading is tolerant: a field an older Motive
/// did not write takes its default, a field a newer one added is ignored, and a `last_epoch` of
/// another shape is dropped (it only informs). Only what a job cannot run without is required:
/// `id`, `sequence`, `state`, `submitted_at`, and `config`, `bench` or `dataset_check`.
public struct JobRecord: Codable, Sendable, Equatable {
    /// The format `job.json` is written in (`schema_version`). Records written before the field
    /// existed have none and read as 1. Raise it when a field changes meaning, and read the old
    /// meaning in `init(from:)`; a record of Tests/Fixtures/job-record-vN.json keeps each readable.
    public static let currentSchemaVersion = 1

    /// The format this record was read in; a record is always written in the current one.
    public var schemaVersion = JobRecord.currentSchemaVersion
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

    /// A dataset check job's dataset.
    public var check: DatasetCheckSpec?

    public var kind: JobKind { check != nil ? .check : bench != nil ? .bench : .train }

    public init(id: String, sequence: Int, state: JobState, work: JobWork, modelName: String, submittedAt: Date) {
        (self.id, self.sequence, self.state, self.modelName, self.submittedAt) = (id, sequence, state, modelName, submittedAt)
        switch work {
        case .train(let config): self.config = config
        case .bench(let spec): bench = spec
        case .check(let spec): check = spec
        }
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case id, sequence, state, config, bench, modelName = "model_name", submittedAt = "submitted_at", startedAt = "started_at"
        case finishedAt = "finished_at", attempts, cancelRequested = "cancel_requested", error, epoch, step
        case lastEpoch = "last_epoch", checkpoint, dataRoot = "data_root", check = "dataset_check"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decodeIfPresent(Int.self, forKey: .schemaVersion) ?? 1
        id = try c.decode(String.self, forKey: .id)
        sequence = try c.decode(Int.self, forKey: .sequence)
        state = try c.decode(JobState.self, forKey: .state)
        config = try c.decodeIfPresent(JobConfig.self, forKey: .config)
        bench = try c.decodeIfPresent(BenchSpec.self, forKey: .bench)
        check = try c.decodeIfPresent(DatasetCheckSpec.self, forKey: .check)
        guard config != nil || bench != nil || check != nil else {
            throw DecodingError.keyNotFound(CodingKeys.config, .init(codingPath: c.codingPath, debugDescription: "neither config, bench nor dataset_check"))
        }
        modelName = try c.decodeIfPresent(String.self, forKey: .modelName) ?? (config != nil ? "job-\(id)" : "")
        submittedAt = try c.decode(Date.self, forKey: .submittedAt)
        startedAt = try c.decodeIfPresent(Date.self, forKey: .startedAt)
        finishedAt = try c.decodeIfPresent(Date.self, forKey: .finishedAt)
        attempts = try c.decodeIfPresent(Int.self, forKey: .attempts) ?? 0
        cancelRequested = try c.decodeIfPresent(Bool.self, forKey: .cancelRequested) ?? false
        error = try c.decodeIfPresent(String.self, forKey: .error)
        epoch = try c.decodeIfPresent(Int.self, forKey: .epoch) ?? 0
        step = try c.decodeIfPresent(Int.self, forKey: .step) ?? 0
        lastEpoch = try? c.decodeIfPresent(EpochRecord.self, forKey: .lastEpoch)
        checkpoint = try c.decodeIfPresent(String.self, forKey: .checkpoint)
        dataRoot = try c.decodeIfPresent(ConfinedPath.self, forKey: .dataRoot)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.currentSchemaVersion, forKey: .schemaVersion)
        try c.encode(id, forKey: .id)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(state, forKey: .state)
        try c.encodeIfPresent(config, forKey: .config)
        try c.encodeIfPresent(bench, forKey: .bench)
        try c.encodeIfPresent(check, forKey: .check)
        try c.encode(modelName, forKey: .modelName)
        try c.encode(submittedAt, forKey: .submittedAt)
        try c.encodeIfPresent(startedAt, forKey: .startedAt)
        try c.encodeIfPresent(finishedAt, forKey: .finishedAt)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(cancelRequested, forKey: .cancelRequested)
        try c.encodeIfPresent(error, forKey: .error)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(step, forKey: .step)
        try c.encodeIfPresent(lastEpoch, forKey: .lastEpoch)
        try c.encodeIfPresent(checkpoint, forKey: .checkpoint)
        try c.encodeIfPresent(dataRoot, forKey: .dataRoot)
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
    /// The uploaded dataset a check job checks, or a training job trains on.
    public var dataset: String?

    enum CodingKeys: String, CodingKey {
        case id, kind, state, modelName = "model_name", preset, models, submittedAt = "submitted_at", startedAt = "started_at"
        case finishedAt = "finished_at", epoch, epochs, step, progress, benchProgress = "bench_progress", lastEpoch = "last_epoch", etaSeconds = "eta_s"
        case attempts, cancelRequested = "cancel_requested", error, processes, dataset
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
        dataset = record.check?.name ?? record.config?.data.dataset
    }
}
