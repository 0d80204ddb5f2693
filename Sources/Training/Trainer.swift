import Clips
import Engine
import Foundation
import NN
import Video
import Zoo

/// The annotated videos of a job: lists read from the config, paths under one data root.
public struct TrainingData: Sendable {
    public let train: AnnotationList
    public let val: AnnotationList?
    public let root: DataRoot
    public let classNames: [String]

    /// Reads `data.train_list` / `data.val_list` (video or rawframe lists), and `classes.txt`
    /// beside the train list when there is one.
    public static func load(_ c: DataSection, relativeTo base: URL? = nil) throws -> TrainingData {
        func url(_ path: String) -> URL { URL(fileURLWithPath: path, relativeTo: base).standardizedFileURL }
        let trainURL = url(c.trainList)
        let classesURL = trainURL.deletingLastPathComponent().appendingPathComponent("classes.txt")
        let classes = FileManager.default.fileExists(atPath: classesURL.path) ? try AnnotationList.readClassNames(classesURL) : []
        let train = try AnnotationList.readVideoList(trainURL, classes: classes)
        let val = try c.valList.map { try AnnotationList.readVideoList(url($0), classes: classes) }
        let root = DataRoot(c.root.map { url($0) } ?? trainURL.deletingLastPathComponent())
        let count = max(classes.count, (train.items.map(\.label).max() ?? -1) + 1)
        return TrainingData(train: train, val: val, root: root,
                            classNames: classes.isEmpty ? (0..<count).map { "class_\($0)" } : classes)
    }
}

/// What one epoch of training did.
public struct EpochStats: Sendable, Codable {
    public var epoch: Int
    public var loss: Double
    public var top1: Double
    public var clips: Int
    public var seconds: Double
    public var failed: Int
}

/// Trains a zoo model on a job config: epochs of shuffled batches from a `ClipLoader`, cross-entropy,
/// SGD or AdamW with a per-step learning-rate schedule, and a checkpoint after each epoch.
public final class Trainer {
    public let config: JobConfig
    public let preset: ModelPreset
    public let model: VideoModel
    public let optimizer: any Optimizer
    public let data: TrainingData
    public private(set) var epoch = 0
    public private(set) var step = 0
    let loader: ClipLoader
    let schedule: any LRSchedule

    public init(config: JobConfig, data: TrainingData) throws {
        self.config = config
        self.data = data
        preset = try ModelZoo.preset(named: config.model.preset)
        model = preset.build(classes: config.model.classes ?? data.classNames.count, seed: config.train.seed)
        let named = model.namedParameters()
        let decay: DecayPolicy = config.optimizer.noDecayNormBias ? .excludeNormAndBias : .all
        let lr = Float(config.optimizer.lr)
        switch config.optimizer.type {
        case .sgd:
            optimizer = SGD(parameters: named, learningRate: lr, momentum: Float(config.optimizer.momentum),
                            nesterov: config.optimizer.nesterov, weightDecay: Float(config.optimizer.weightDecay), decayPolicy: decay)
        case .adamw:
            optimizer = AdamW(parameters: named, learningRate: lr, weightDecay: Float(config.optimizer.weightDecay), decayPolicy: decay)
        }
        let s = config.schedule
        let base: any LRSchedule
        switch s.policy {
        case .cosine: base = CosineLR(baseLR: lr, minLR: Float(s.minLR), length: Double(s.epochs))
        case .multistep: base = MultiStepLR(baseLR: lr, milestones: s.milestones.map(Double.init), gamma: Float(s.gamma))
        case .constant: base = ConstantLR(baseLR: lr)
        }
        func warmed<S: LRSchedule>(_ schedule: S) -> any LRSchedule {
            s.warmupEpochs > 0 ? schedule.withWarmup(length: s.warmupEpochs) : schedule
        }
        schedule = warmed(base)
        let input = preset.input
        let sampler = try config.data.sampler ?? FrameSampler(clipLength: input.clipLength, frameInterval: input.frameInterval,
                                                              clipCount: input.clips)
        let normalization = Normalization(Normalization.Preset(rawValue: input.normalization) ?? .imagenet)
        let size = FrameSize.square(input.size)
        let pipeline = config.data.trainPipeline
            ?? ClipPipeline([.resizeShortSide(side: input.size), .centreCrop(size: size), .flip(HorizontalFlip())], normalization: normalization)
        var options = ClipLoader.Options()
        options.batchSize = config.data.batchSize
        options.workers = config.data.workers
        options.seed = config.train.seed
        loader = ClipLoader(list: data.train, root: data.root, recipe: SampleRecipe(sampler: sampler, pipeline: pipeline), options: options)
    }

    /// Loader batches [B, V, C, T, H, W] as the model's input [B, C, T, H, W]: one view as it is;
    /// one-frame views (TSN segments) become the T axis.
    static func modelInput(_ clips: Tensor) -> Tensor {
        let (b, v, c, t, h, w) = (clips.shape[0], clips.shape[1], clips.shape[2], clips.shape[3], clips.shape[4], clips.shape[5])
        if v == 1 { return clips.reshaped([b, c, t, h, w]) }
        ensure(t == 1, "Trainer: \(v) views of \(t) frames per video; training takes one view, or one-frame segments")
        return clips.reshaped([b, v, c, h, w]).permuted([0, 2, 1, 3, 4])
    }

    /// One epoch over the training list.
    @discardableResult
    public func trainEpoch() throws -> EpochStats {
        model.train()
        let start = Date()
        let steps = max(1, loader.batchesPerEpoch)
        var lossSum = 0.0, correct = 0, seen = 0, failed = 0, batches = 0
        for batch in loader.epoch(epoch) {
            failed += batch.failed.count
            optimizer.learningRate = schedule.learningRate(at: Double(epoch) + Double(batches) / Double(steps))
            let logits = model(Self.modelInput(batch.clips))
            let loss = crossEntropy(logits, targets: batch.labels, labelSmoothing: Float(config.train.labelSmoothing))
            guard loss.item.isFinite else { throw TrainingError.diverged(epoch: epoch, step: step, loss: Double(loss.item)) }
            optimizer.zeroGrad()
            loss.backward()
            if let maxNorm = config.train.clipNorm { clipGradNorm(model.parameters(), maxNorm: Float(maxNorm)) }
            optimizer.step()
            step += 1
            batches += 1
            lossSum += Double(loss.item) * Double(batch.labels.count)
            let k = logits.shape[1], values = logits.scalars
            for (i, label) in batch.labels.enumerated() {
                let row = values[(i * k)..<((i + 1) * k)]
                if row.indices.max(by: { row[$0] < row[$1] }) == label + i * k { correct += 1 }
            }
            seen += batch.labels.count
        }
        epoch += 1
        return EpochStats(epoch: epoch, loss: lossSum / Double(max(seen, 1)), top1: Double(correct) / Double(max(seen, 1)),
                          clips: seen, seconds: Date().timeIntervalSince(start), failed: failed)
    }

    /// Writes the model, optimizer state and progress (atomically).
    public func save(to url: URL) throws {
        let info = CheckpointInfo(preset: preset.name, classNames: data.classNames, input: preset.input,
                                  epoch: epoch, step: step, config: config)
        try Checkpoint.save(model: model, optimizer: optimizer, info: info, to: url)
    }

    /// Continues from a checkpoint written by `save(to:)`: weights, optimizer state, epoch and step.
    public func resume(from url: URL) throws {
        let (info, state, optimizerState) = try Checkpoint.read(url)
        guard info.preset == preset.name else {
            throw CheckpointError.incompatible(path: url.path, reason: "it holds \(info.preset), the job trains \(preset.name)")
        }
        try model.loadStateDict(state)
        try optimizer.loadStateDict(optimizerState)
        epoch = info.epoch
        step = info.step
    }
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case diverged(epoch: Int, step: Int, loss: Double)

    public var description: String {
        switch self {
        case .diverged(let epoch, let step, let loss):
            "training diverged: the loss was \(loss) at step \(step) (epoch \(epoch + 1)); the last checkpoint is kept"
        }
    }
}
