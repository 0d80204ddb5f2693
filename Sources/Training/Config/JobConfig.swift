import Clips
import Inference
import Support

/// A training job, as written in YAML. Keys are snake_case; every section has defaults except
/// `model.preset` and the data lists.
public struct JobConfig: Codable, Sendable, Equatable {
    public var model: ModelSection
    public var data: DataSection
    public var optimizer = OptimizerSection()
    public var schedule = ScheduleSection()
    public var train = TrainSection()
    public var eval = EvalSection()
    public var output = OutputSection()
    public var distributed = DistributedSection()

    enum CodingKeys: String, CodingKey, CaseIterable { case model, data, optimizer, schedule, train, eval, output, distributed }

    public init(model: ModelSection, data: DataSection) {
        self.model = model
        self.data = data
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(ModelSection.self, forKey: .model)
        data = try c.decode(DataSection.self, forKey: .data)
        optimizer = try c.decodeIfPresent(OptimizerSection.self, forKey: .optimizer) ?? .init()
        schedule = try c.decodeIfPresent(ScheduleSection.self, forKey: .schedule) ?? .init()
        train = try c.decodeIfPresent(TrainSection.self, forKey: .train) ?? .init()
        eval = try c.decodeIfPresent(EvalSection.self, forKey: .eval) ?? .init()
        output = try c.decodeIfPresent(OutputSection.self, forKey: .output) ?? .init()
        distributed = try c.decodeIfPresent(DistributedSection.self, forKey: .distributed) ?? .init()
    }
}

public struct ModelSection: Codable, Sendable, Equatable {
    /// A zoo preset (`motive models`).
    public var preset: String
    public var classes: Int?
    /// A checkpoint (safetensors) to start from.
    public var pretrained: String?
    /// A 2D image model to start from: a torchvision ResNet state dict inflated into a Slow/C2D/I3D
    /// preset, or a timm ViT state dict into TimeSformer (.safetensors or .pth).
    public var inflateFrom: String?
    public var dropout: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case preset, classes, pretrained, inflateFrom = "inflate_from", dropout
    }
}

public struct DataSection: Codable, Sendable, Equatable {
    /// The training list; nil when `dataset` names the data instead, until the daemon resolves it.
    public var trainList: String?
    public var valList: String?
    /// A dataset uploaded to the daemon (`PUT /v1/datasets/NAME`), instead of list paths: the
    /// daemon fills in its lists and root. Exactly one of `dataset` and `train_list` is given.
    public var dataset: String?
    /// Folder the lists' paths are relative to (default: the train list's folder).
    public var root: String?
    public var modality: Modality = .rgb
    public var sampler: FrameSampler?
    public var trainPipeline: ClipPipeline?
    public var testPipeline: ClipPipeline?
    public var batchSize = 8
    public var workers = 2
    /// Not a config key: the folder every file of the job must really be in (the server sets its
    /// data root here, so that symlinks under it cannot lead a job's reads elsewhere).
    public var confinement: ConfinedPath?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case trainList = "train_list", valList = "val_list", dataset, root, modality, sampler
        case trainPipeline = "train_pipeline", testPipeline = "test_pipeline", batchSize = "batch_size", workers
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        trainList = try c.decodeIfPresent(String.self, forKey: .trainList)
        valList = try c.decodeIfPresent(String.self, forKey: .valList)
        dataset = try c.decodeIfPresent(String.self, forKey: .dataset)
        // A record the daemon wrote holds both: the dataset's name and the lists it resolved to.
        // What a user may write is checked in ConfigLoader.validate.
        guard trainList != nil || dataset != nil else {
            throw DecodingError.keyNotFound(CodingKeys.trainList, .init(codingPath: c.codingPath + [CodingKeys.trainList],
                                                                         debugDescription: "give data.train_list, or data.dataset for a dataset uploaded to the daemon"))
        }
        root = try c.decodeIfPresent(String.self, forKey: .root)
        modality = try c.decodeIfPresent(Modality.self, forKey: .modality) ?? .rgb
        sampler = try c.decodeIfPresent(FrameSampler.self, forKey: .sampler)
        trainPipeline = try c.decodeIfPresent(ClipPipeline.self, forKey: .trainPipeline)
        testPipeline = try c.decodeIfPresent(ClipPipeline.self, forKey: .testPipeline)
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? 8
        workers = try c.decodeIfPresent(Int.self, forKey: .workers) ?? 2
    }
}

public struct OptimizerSection: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case sgd, adamw }
    public var type: Kind = .sgd
    public var lr: Double = 0.01
    public var momentum: Double = 0.9
    public var weightDecay: Double = 1e-4
    public var nesterov = false
    /// No weight decay on norm and bias parameters.
    public var noDecayNormBias = false

    enum CodingKeys: String, CodingKey, CaseIterable {
        case type, lr, momentum, weightDecay = "weight_decay", nesterov, noDecayNormBias = "no_decay_norm_bias"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = OptimizerSection()
        type = try c.decodeIfPresent(Kind.self, forKey: .type) ?? d.type
        lr = try c.decodeIfPresent(Double.self, forKey: .lr) ?? d.lr
        momentum = try c.decodeIfPresent(Double.self, forKey: .momentum) ?? d.momentum
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? d.weightDecay
        nesterov = try c.decodeIfPresent(Bool.self, forKey: .nesterov) ?? d.nesterov
        noDecayNormBias = try c.decodeIfPresent(Bool.self, forKey: .noDecayNormBias) ?? d.noDecayNormBias
    }
}

public struct ScheduleSection: Codable, Sendable, Equatable {
    public enum Policy: String, Codable, Sendable, CaseIterable { case cosine, multistep, constant }
    public var epochs = 10
    public var warmupEpochs: Double = 0
    public var policy: Policy = .cosine
    public var milestones: [Int] = []
    public var gamma: Double = 0.1
    public var minLR: Double = 0

    enum CodingKeys: String, CodingKey, CaseIterable {
        case epochs, warmupEpochs = "warmup_epochs", policy, milestones, gamma, minLR = "min_lr"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ScheduleSection()
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? d.epochs
        warmupEpochs = try c.decodeIfPresent(Double.self, forKey: .warmupEpochs) ?? d.warmupEpochs
        policy = try c.decodeIfPresent(Policy.self, forKey: .policy) ?? d.policy
        milestones = try c.decodeIfPresent([Int].self, forKey: .milestones) ?? d.milestones
        gamma = try c.decodeIfPresent(Double.self, forKey: .gamma) ?? d.gamma
        minLR = try c.decodeIfPresent(Double.self, forKey: .minLR) ?? d.minLR
    }
}

public struct TrainSection: Codable, Sendable, Equatable {
    public var accumulate = 1
    public var clipNorm: Double?
    public var labelSmoothing: Double = 0
    public var mixupAlpha: Double = 0
    public var cutmixAlpha: Double = 0
    public var seed: UInt64 = 0
    public var preciseBNBatches = 0
    /// How a step uses the cores (see `ComputeMode`).
    public var compute: ComputeMode = .intraOp
    /// In a distributed run, normalise with the batch statistics of every process's batch
    /// together (SyncBatchNorm), rather than each process's own.
    public var syncBN = false

    enum CodingKeys: String, CodingKey, CaseIterable {
        case accumulate, clipNorm = "clip_norm", labelSmoothing = "label_smoothing", mixupAlpha = "mixup_alpha"
        case cutmixAlpha = "cutmix_alpha", seed, preciseBNBatches = "precise_bn_batches", compute, syncBN = "sync_bn"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainSection()
        accumulate = try c.decodeIfPresent(Int.self, forKey: .accumulate) ?? d.accumulate
        clipNorm = try c.decodeIfPresent(Double.self, forKey: .clipNorm)
        labelSmoothing = try c.decodeIfPresent(Double.self, forKey: .labelSmoothing) ?? d.labelSmoothing
        mixupAlpha = try c.decodeIfPresent(Double.self, forKey: .mixupAlpha) ?? d.mixupAlpha
        cutmixAlpha = try c.decodeIfPresent(Double.self, forKey: .cutmixAlpha) ?? d.cutmixAlpha
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        preciseBNBatches = try c.decodeIfPresent(Int.self, forKey: .preciseBNBatches) ?? d.preciseBNBatches
        compute = try c.decodeIfPresent(ComputeMode.self, forKey: .compute) ?? d.compute
        syncBN = try c.decodeIfPresent(Bool.self, forKey: .syncBN) ?? d.syncBN
    }
}

public struct EvalSection: Codable, Sendable, Equatable {
    /// Evaluate every N epochs.
    public var interval = 1
    public var clips = 1
    public var crops = 1
    /// Average the views' probabilities (`prob`) or their raw scores (`score`), as MMAction2's `average_clips`.
    public var average: ViewAveraging = .prob

    enum CodingKeys: String, CodingKey, CaseIterable { case interval, clips, crops, average }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        interval = try c.decodeIfPresent(Int.self, forKey: .interval) ?? 1
        clips = try c.decodeIfPresent(Int.self, forKey: .clips) ?? 1
        crops = try c.decodeIfPresent(Int.self, forKey: .crops) ?? 1
        average = try c.decodeIfPresent(ViewAveraging.self, forKey: .average) ?? .prob
    }
}

public struct OutputSection: Codable, Sendable, Equatable {
    public var dir = "runs"
    public var keepLast = 3
    public var saveBestBy = "top1"
    /// The name the server registers the trained model under (default `job-<id>`).
    public var modelName: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dir, keepLast = "keep_last", saveBestBy = "save_best_by", modelName = "model_name"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dir = try c.decodeIfPresent(String.self, forKey: .dir) ?? "runs"
        keepLast = try c.decodeIfPresent(Int.self, forKey: .keepLast) ?? 3
        saveBestBy = try c.decodeIfPresent(String.self, forKey: .saveBestBy) ?? "top1"
        modelName = try c.decodeIfPresent(String.self, forKey: .modelName)
    }
}

/// Training on several processes (`mpirun -np N motive train`); see docs/training.md.
public struct DistributedSection: Codable, Sendable, Equatable {
    /// The processes the job trains on. Under `mpirun` it must equal `-np`; outside it, a value
    /// above 1 is refused with the command to run. The daemon starts such a job with `mpirun`.
    public var processes: Int?
    /// An Open MPI hostfile naming the machines (`host slots=N` lines), for a job the daemon runs:
    /// it passes the file to `mpirun --hostfile`. Without one the processes share the daemon's machine.
    public var hostfile: String?
    /// Seconds a collective (a gradient average, a broadcast) waits for every process before the
    /// run stops with an error that names the processes that did not come.
    public var timeout: Double = 300

    enum CodingKeys: String, CodingKey, CaseIterable { case processes, hostfile, timeout }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        processes = try c.decodeIfPresent(Int.self, forKey: .processes)
        hostfile = try c.decodeIfPresent(String.self, forKey: .hostfile)
        timeout = try c.decodeIfPresent(Double.self, forKey: .timeout) ?? DistributedSection().timeout
    }
}
