import Clips
import Engine
import Foundation
import Inference
import NN
import Support
import TensorIO
import Video
import Zoo

/// The annotated videos of a job: lists read from the config, paths under one data root.
public struct TrainingData: Sendable {
    public let train: AnnotationList
    public let val: AnnotationList?
    public let root: DataRoot
    public let classNames: [String]

    /// Reads `data.train_list` / `data.val_list` (video or rawframe lists), and `classes.txt`
    /// beside the train list when there is one. With `data.confinement` (the server's data root),
    /// each of these, and every file read later through `root`, is opened at its real path only
    /// when that lies inside the confinement.
    public static func load(_ c: DataSection, relativeTo base: URL? = nil) throws -> TrainingData {
        func written(_ path: String) -> URL { URL(fileURLWithPath: path, relativeTo: base).standardizedFileURL }
        func url(_ path: String) throws -> URL {
            guard let confinement = c.confinement else { return written(path) }
            guard let real = confinement.check(written(path)) else { throw TrainingError.outsideDataRoot(path) }
            return real
        }
        guard let trainList = c.trainList else { throw TrainingError.unresolvedDataset(c.dataset ?? "") }
        let trainURL = try url(trainList)
        // A link named classes.txt counts as one even when it dangles: whether its target exists
        // outside the root must not show.
        let listFolder = written(trainList).deletingLastPathComponent()
        let classesPath = listFolder.appendingPathComponent("classes.txt").path
        let classesLink = (try? FileManager.default.destinationOfSymbolicLink(atPath: classesPath)) != nil
        let classes = FileManager.default.fileExists(atPath: classesPath) || classesLink
            ? try AnnotationList.readClassNames(url(classesPath)) : []
        let train = try AnnotationList.readList(trainURL, classes: classes)
        guard !train.items.isEmpty else { throw TrainingError.emptyTrainList(trainList) }
        let val = try c.valList.map { try AnnotationList.readList(url($0), classes: classes) }
        let root = DataRoot(try c.root.map { try url($0) } ?? listFolder, confinedTo: c.confinement)
        if let confinement = c.confinement {
            // Every entry up front, so a job is refused before it runs; the loader checks again
            // (and a frame folder's files) when it opens them.
            for (list, items) in [(trainList, train.items), (c.valList ?? "", val?.items ?? [])] {
                for (i, item) in items.enumerated() where confinement.check(root.url.appendingPathComponent(item.path)) == nil {
                    throw TrainingError.outsideDataRoot("\(list) entry \(i + 1): \(item.path)")
                }
            }
        }
        let labelMax = train.items.map(\.label).max() ?? -1
        guard labelMax < ModelPreset.maxClasses else { throw TrainingError.labelOutOfRange(label: labelMax, classes: ModelPreset.maxClasses) }
        let count = max(classes.count, labelMax + 1)
        return TrainingData(train: train, val: val, root: root,
                            classNames: classes.isEmpty ? (0..<count).map { "class_\($0)" } : classes)
    }
}

/// What one epoch of training did.
public struct EpochStats: Sendable, Codable, Equatable {
    public var epoch: Int
    public var loss: Double
    public var top1: Double
    public var clips: Int
    public var seconds: Double
    public var failed: Int
    public var learningRate: Double = 0
    /// False when the epoch stopped early (an interrupt). `epoch` is 1-based either way: the
    /// epoch these figures are of, finished or not.
    public var complete = true

    enum CodingKeys: String, CodingKey {
        case epoch, loss, top1, clips, seconds, failed, learningRate = "lr", complete
    }
}

/// Trains a zoo model on a job config: epochs of shuffled batches from a `ClipLoader`,
/// cross-entropy (with label smoothing, mixup or cutmix), SGD or AdamW with a per-batch learning
/// rate schedule, gradient accumulation and clipping, and optional precise BN statistics.
///
/// Every batch draws its random numbers (dropout, mixing) from a generator seeded by (seed, step),
/// and the loader's from (seed, epoch, position), so the same config gives the same weights, and a
/// resumed run continues exactly as if it had never stopped.
public final class Trainer {
    public let config: JobConfig
    public let preset: ModelPreset
    public let model: VideoModel
    public let optimizer: any Optimizer
    public let data: TrainingData
    /// Completed epochs.
    public private(set) var epoch = 0
    /// Batches trained since the start of the run.
    public private(set) var step = 0
    /// Batches of epoch `epoch` already trained (non-zero after an interrupt mid-epoch).
    public private(set) var batchInEpoch = 0
    public private(set) var bestScore: Double?
    /// Asked after every optimizer step; true stops the epoch there.
    public var shouldStop: () -> Bool = { false }
    public var onStep: ((StepProgress) -> Void)?
    /// Messages about what was loaded from `pretrained` / `inflate_from`.
    public private(set) var notes: [String] = []
    /// A flow dataset's `flow.json` (how its flow was extracted), read from the data root.
    public private(set) var flowExtraction: FlowExtractionOptions?
    let loader: ClipLoader
    /// The loader's most recent failed video, named when a whole epoch fails.
    private let lastFailure = Locked<LoadFailure?>(nil)
    let schedule: any LRSchedule
    let mixer: BatchMixer
    private(set) var replicas: Replicas?
    /// The other processes of a distributed run (nil, or a group of one: this process alone).
    public let group: (any ProcessGroup)?
    /// Samples trained since the last optimizer step, which weight this process's gradients.
    private var samplesSinceStep = 0
    /// Whether the processes agreed, at the last gradient average, to stop.
    private var agreedStop = false
    /// With `train.sync_bn` in a distributed run: what the batch norms sum through.
    private var statisticsSync: GroupStatisticsSync?

    /// True for the process that writes the run's files: the only one, or rank 0.
    public var isPrimary: Bool { (group?.rank ?? 0) == 0 }
    var distributed: (any ProcessGroup)? { group.flatMap { $0.size > 1 ? $0 : nil } }

    public convenience init(config: JobConfig, data: TrainingData) throws {
        try self.init(config: config, data: data, relativeTo: nil)
    }

    /// `relativeTo` resolves `model.pretrained` and `model.inflate_from` paths.
    /// With a `group` of several processes, each reads its share of every epoch, the processes
    /// start from process 0's weights, and every optimizer step averages their gradients.
    public init(config: JobConfig, data: TrainingData, relativeTo base: URL?, reducer: any GradientReducer = LocalSumReducer(),
                group: (any ProcessGroup)? = nil) throws {
        self.config = config
        self.data = data
        self.group = group
        let processes = group?.size ?? 1
        if let wanted = config.distributed.processes, wanted != processes {
            throw processes == 1 ? DistributedError.notUnderMPI(processes: wanted) : DistributedError.processCount(config: wanted, running: processes)
        }
        preset = try ModelZoo.preset(named: config.model.preset)
        let classes = config.model.classes ?? data.classNames.count
        let labelMax = (data.train.items.map(\.label) + (data.val?.items.map(\.label) ?? [])).max() ?? 0
        guard labelMax < classes else {
            throw TrainingError.labelOutOfRange(label: labelMax, classes: classes)
        }
        try ModelPreset.checkClasses(classes)
        model = preset.build(classes: classes, seed: config.train.seed)
        if let p = config.model.dropout { model.classifierDropout = Float(p) }
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
        schedule = Self.schedule(config.schedule, lr: lr)
        mixer = BatchMixer(mixupAlpha: config.train.mixupAlpha, cutmixAlpha: config.train.cutmixAlpha)
        let input = preset.input
        let sampler = try config.data.sampler ?? FrameSampler(clipLength: input.clipLength, frameInterval: input.frameInterval,
                                                              clipCount: input.clips)
        var options = ClipLoader.Options()
        options.batchSize = config.data.batchSize
        options.workers = config.data.workers
        options.seed = config.train.seed
        if let group, group.size > 1 { options.shard = ClipLoader.Shard(index: group.rank, count: group.size) }
        loader = ClipLoader(list: data.train, root: data.root,
                            recipe: SampleRecipe(sampler: sampler, pipeline: config.data.trainPipeline ?? Self.defaultTrainPipeline(input),
                                                 source: input.modality == .flow ? .flow(FlowFrames()) : .rgb),
                            options: options, onFailure: { [lastFailure] failure in lastFailure.withLock { $0 = failure } })
        if input.modality == .flow {
            let file = try data.root.resolve(FlowDataset.optionsFile)
            if let json = FileManager.default.contents(atPath: file.path) {
                do { flowExtraction = try JSONDecoder().decode(FlowExtractionOptions.self, from: json) } catch {
                    throw TrainingError.badFlowOptions(path: file.path, reason: "\(error)")
                }
            } else {
                notes.append("no \(FlowDataset.optionsFile) in \(data.root.url.path): predictions on raw videos will compute flow with the defaults")
            }
        }
        try loadInitialWeights(relativeTo: base)
        if config.train.compute == .dataParallel && Parallel.workers > 1 {
            replicas = Replicas(primary: model, preset: preset, classes: classes, count: Parallel.workers, reducer: reducer)
            for replica in replicas!.models { replica.classifierDropout = model.classifierDropout }
        }
        if let group = distributed {
            let prints = try group.allGather(DistributedTraining.fingerprint(config), what: "the config check")
            let differing = prints.indices.filter { prints[$0] != prints[0] }
            guard differing.isEmpty else { throw DistributedError.configMismatch(ranks: differing) }
            try group.broadcast(model.stateDict().map(\.1), what: "rank 0's initial weights")
            replicas?.synchronize()
            if config.train.syncBN {
                let sync = GroupStatisticsSync(group: group)
                for case let bn as BatchNorm in model.namedModules().map(\.1) { bn.sync = sync }
                statisticsSync = sync
            }
        }
    }

    static func schedule(_ s: ScheduleSection, lr: Float) -> any LRSchedule {
        let base: any LRSchedule
        switch s.policy {
        case .cosine: base = CosineLR(baseLR: lr, minLR: Float(s.minLR), length: Double(s.epochs))
        case .multistep: base = MultiStepLR(baseLR: lr, milestones: s.milestones.map(Double.init), gamma: Float(s.gamma))
        case .constant: base = ConstantLR(baseLR: lr)
        }
        func warmed<S: LRSchedule>(_ schedule: S) -> any LRSchedule {
            s.warmupEpochs > 0 ? schedule.withWarmup(length: s.warmupEpochs) : schedule
        }
        return warmed(base)
    }

    /// Short side `size`·8/7, a multi-scale crop resized to `size`, a horizontal flip: the TSN recipe.
    /// Motion classes that a mirror turns into each other (left/right) need a config without the flip.
    static func defaultTrainPipeline(_ input: InputSpec) -> ClipPipeline {
        let size = FrameSize.square(input.size)
        return ClipPipeline([.resizeShortSide(side: input.size * 8 / 7), .multiScaleCrop(MultiScaleCrop(inputSize: size)),
                             .resize(size: size), .flip(HorizontalFlip())],
                            normalization: Normalization(input.normalization))
    }

    /// `model.pretrained`: a Motive checkpoint or a plain state dict; keys whose shape differs (a
    /// classifier for other classes) stay initialised, and are listed in `notes`.
    /// `model.inflate_from`: a 2D torchvision ResNet state dict, inflated into a Slow/I3D preset.
    func loadInitialWeights(relativeTo base: URL?) throws {
        func url(_ path: String) -> URL { URL(fileURLWithPath: path, relativeTo: base).standardizedFileURL }
        if let path = config.model.inflateFrom {
            let left: [String]
            do {
                left = try model.importImageWeights(try Self.readStateDict(url(path)))
            } catch let error as TrainingError { throw error } catch {
                throw TrainingError.badInitialWeights(path: path, reason: "\(error)")
            }
            notes.append("inflated \(path); left as initialised: \(left.isEmpty ? "nothing" : left.joined(separator: ", "))")
        }
        if let path = config.model.pretrained {
            // Keys whose shape differs (a classifier for other classes) stay initialised.
            let report = try model.load(try Self.readStateDict(url(path)), strict: false) { report in
                guard report.missing.count + report.mismatched.count < self.model.stateDict().count else {
                    throw TrainingError.badInitialWeights(path: path, reason: "none of its tensors fit \(self.preset.name)")
                }
            }
            let skipped = report.missing.map(\.key) + report.mismatched.map(\.key)
            let loaded = model.stateDict().count - skipped.count
            notes.append("loaded \(loaded) tensors from \(path)" + (skipped.isEmpty ? "" : "; kept initialised: " + skipped.joined(separator: ", ")))
        }
    }

    /// A Motive checkpoint's model, or a raw state dict (safetensors or torch.save).
    static func readStateDict(_ url: URL) throws -> [String: Tensor] {
        if let checkpoint = try? Checkpoint.read(url) { return checkpoint.model }
        do { return try Inference.readStateDict(url) } catch {
            throw TrainingError.badInitialWeights(path: url.path, reason: "\(error)")
        }
    }

    /// Loader batches [B, V, C, T, H, W] as the model's input [B, C, T, H, W]: one view as it is;
    /// one-frame views (TSN segments) become the T axis.
    static func modelInput(_ clips: Tensor) throws(TrainingError) -> Tensor {
        let (b, v, c, t, h, w) = (clips.shape[0], clips.shape[1], clips.shape[2], clips.shape[3], clips.shape[4], clips.shape[5])
        if v == 1 { return clips.reshaped([b, c, t, h, w]) }
        guard t == 1 else { throw .severalViews(views: v, frames: t) }
        return clips.reshaped([b, v, c, h, w]).permuted([0, 2, 1, 3, 4])
    }

    /// A seed for everything random in batch `step`.
    func seed(forStep step: Int, salt: UInt64) -> UInt64 {
        var rng = Xoshiro(seed: config.train.seed ^ (UInt64(step) &* 0x9E37_79B9_7F4A_7C15) ^ salt)
        return rng.next()
    }

    public var batchesPerEpoch: Int { max(1, loader.batchesPerEpoch) }

    /// Trains until the end of the current epoch, or until `shouldStop` says so after a step.
    @discardableResult
    public func trainEpoch() throws -> EpochStats {
        model.train()
        replicas?.synchronize()
        let start = Date()
        let steps = batchesPerEpoch, accumulate = config.train.accumulate
        let smoothing = Float(config.train.labelSmoothing)
        var lossSum = 0.0, correct = 0, seen = 0, failed = 0, batch = batchInEpoch
        var lr = Double(optimizer.learningRate)
        optimizer.zeroGrad()
        for loaded in loader.epoch(epoch, skipping: batchInEpoch) {
            failed += loaded.failed.count
            lr = Double(schedule.learningRate(at: Double(epoch) + Double(batch) / Double(steps)))
            optimizer.learningRate = Float(lr)
            let scale = 1 / Float(accumulate)
            var logits: Tensor?, loss: Float = 0
            // A distributed shard's batch whose videos all failed arrives empty: no forward pass,
            // but the process still takes part in the step.
            if !loaded.labels.isEmpty {
                let input = try Self.modelInput(loaded.clips)
                try model.check(input: input)                       // a typed error, not a failed engine check
                var rng = Xoshiro(seed: seed(forStep: step, salt: 0x4D49_5855))
                let targets = mixer.mix(input, labels: loaded.labels, using: &rng)
                statisticsSync?.what = "step \(step)"
                if let replicas {
                    (logits, loss) = replicas.step(input, seed: seed(forStep: step, salt: 0)) { y, range in
                        targets.loss(y, range, smoothing: smoothing) * scale
                    }
                } else {
                    (logits, loss) = GlobalRandom.withSeed(seed(forStep: step, salt: 0)) {
                        let y = model(input)
                        let l = targets.loss(y, 0..<loaded.labels.count, smoothing: smoothing)
                        if l.item.isFinite { (l * scale).backward() }
                        return (y.detached(), l.item * scale)
                    }
                }
            }
            try statisticsSync?.check()
            samplesSinceStep += loaded.labels.count
            let batchLoss = Double(loss) * Double(accumulate)
            guard batchLoss.isFinite else { throw TrainingError.diverged(epoch: epoch, step: step, loss: batchLoss) }
            batch += 1
            step += 1
            if batch % accumulate == 0 || batch == steps {
                var takeStep = true
                if let group = distributed {
                    let agreed = try DistributedTraining.averageGradients(model.parameters(), samples: samplesSinceStep, stop: shouldStop(),
                                                                          group: group, what: "the gradient average of step \(step)")
                    (takeStep, agreedStop) = (agreed.samples > 0, agreed.stop)
                }
                samplesSinceStep = 0
                if takeStep {
                    if let maxNorm = config.train.clipNorm { clipGradNorm(model.parameters(), maxNorm: Float(maxNorm)) }
                    optimizer.step()
                }
                optimizer.zeroGrad()
                replicas?.synchronize()
            }
            lossSum += batchLoss * Double(loaded.labels.count)
            if let logits { correct += Self.correct(logits, loaded.labels) }
            seen += loaded.labels.count
            let elapsed = Date().timeIntervalSince(start)
            // Every process trains at the pace of the slowest, so the job's throughput is this
            // process's times their number.
            onStep?(StepProgress(epoch: epoch + 1, epochs: config.schedule.epochs, batch: batch, batches: steps, step: step,
                                 loss: lossSum / Double(max(seen, 1)), top1: Double(correct) / Double(max(seen, 1)), learningRate: lr,
                                 clipsPerSecond: Double(seen * (group?.size ?? 1)) / max(elapsed, 1e-9),
                                 epochETA: elapsed / Double(batch - batchInEpoch) * Double(steps - batch),
                                 batchLoss: loaded.labels.isEmpty ? nil : batchLoss))
            if batch < steps && batch % accumulate == 0 && (distributed == nil ? shouldStop() : agreedStop) {
                return finish(try figures(EpochStats(epoch: epoch + 1, loss: lossSum, top1: Double(correct), clips: seen, seconds: elapsed,
                                                     failed: failed, learningRate: lr, complete: false)), batch: batch)
            }
        }
        let stats = try figures(EpochStats(epoch: epoch + 1, loss: lossSum, top1: Double(correct), clips: seen,
                                           seconds: Date().timeIntervalSince(start), failed: failed, learningRate: lr))
        if stats.clips == 0 && batchInEpoch < steps {
            throw TrainingError.noUsableVideos(epoch: epoch, example: lastFailure.withLock { $0 }.map(\.description) ?? "no reason given")
        }
        if config.train.preciseBNBatches > 0 { try recalibrateBatchNorm(batches: config.train.preciseBNBatches) }
        if let group = distributed {
            // Batch-norm statistics are each process's own while it trains; what is evaluated and
            // saved is rank 0's, on every process.
            try group.broadcast(model.namedBuffers().map(\.1), what: "rank 0's batch-norm statistics after epoch \(epoch + 1)")
        }
        return finish(stats, batch: 0)
    }

    /// Whether the run should stop at an epoch's end: this process's request, or, in a
    /// distributed run, any process's (all of them must agree).
    public func stopRequested() throws -> Bool {
        guard let group = distributed else { return shouldStop() }
        return try group.sum([shouldStop() ? 1 : 0], what: "the stop check after epoch \(epoch)")[0] > 0
    }

    /// The epoch's figures from its sums (`loss` over samples, `top1` the correct count): their
    /// means over every process's samples, and every process's clips and failures.
    private func figures(_ sums: EpochStats) throws -> EpochStats {
        var stats = sums
        var totals = [sums.loss, sums.top1, Double(sums.clips), Double(sums.failed)]
        if let group = distributed { totals = try group.sum(totals, what: "the figures of epoch \(sums.epoch)") }
        stats.loss = totals[0] / max(totals[2], 1)
        stats.top1 = totals[1] / max(totals[2], 1)
        stats.clips = Int(totals[2])
        stats.failed = Int(totals[3])
        return stats
    }

    private func finish(_ stats: EpochStats, batch: Int) -> EpochStats {
        if stats.complete { epoch += 1 }
        batchInEpoch = batch
        return stats
    }

    /// How many rows of `logits` [N, K] have their largest entry at the label.
    static func correct(_ logits: Tensor, _ labels: [Int]) -> Int {
        let k = logits.shape[1], values = logits.data
        var n = 0
        for (i, label) in labels.enumerated() {
            let row = values + i * k
            var best = 0
            for j in 1..<max(k, 1) where row[j] > row[best] { best = j }
            if best == label { n += 1 }
        }
        return n
    }

    /// Precise BN (Wu & Johnson 2021, as in PySlowFast): replaces every BatchNorm's running
    /// statistics by their average over `batches` training batches of the current weights, with
    /// no gradient and no weight change.
    public func recalibrateBatchNorm(batches: Int) throws {
        let norms = model.namedModules().compactMap { $0.1 as? BatchNorm }
        guard !norms.isEmpty else { return }
        let momenta = norms.map(\.momentum)
        for bn in norms {
            bn.runningMean?.fill(0)
            bn.runningVar?.fill(1)
            bn.numBatchesTracked?.fill(0)
            bn.momentum = nil                     // the cumulative average of the batches' statistics
        }
        model.train()
        var seen = 0
        // A stream of its own (epoch number offset), so training's order is untouched.
        for loaded in loader.epoch(1_000_000 + epoch) where seen < batches && !loaded.labels.isEmpty {
            let input = try Self.modelInput(loaded.clips)
            try model.check(input: input)                       // a typed error, not a failed engine check
            statisticsSync?.what = "precise batch norm, batch \(seen + 1)"
            _ = GradMode.noGrad { GlobalRandom.withSeed(seed(forStep: seen, salt: 0x42_4E)) { model(input) } }
            try statisticsSync?.check()
            seen += 1
        }
        for (bn, m) in zip(norms, momenta) { bn.momentum = m }
    }

    /// Evaluates on the validation list with the config's views, or returns nil without one.
    public func evaluate(progress: ((Int, Int) -> Void)? = nil) throws -> EvaluationResult? {
        guard let val = data.val, val.count > 0 else { return nil }
        if let group = distributed {
            return try Evaluator.run(model: model, list: val, root: data.root, plan: viewPlan, classNames: data.classNames,
                                     batchSize: config.data.batchSize, workers: config.data.workers,
                                     shard: ClipLoader.Shard(index: group.rank, count: group.size)) { part in
                try group.gather(part, to: 0, what: "the evaluation of epoch \(epoch)")
            }
        }
        return try Evaluator.run(model: model, list: val, root: data.root, plan: viewPlan, classNames: data.classNames,
                                 batchSize: config.data.batchSize, workers: config.data.workers, progress: progress)
    }

    /// The preset's input spec with the job's sampler, when it sets one: what the model was
    /// trained on, and so what a checkpoint records for evaluation and serving.
    public var input: InputSpec {
        var spec = preset.input
        if let s = config.data.sampler {
            spec.clipLength = s.clipLength
            spec.frameInterval = s.frameInterval
            spec.clips = s.clipCount
            spec.frames = s.clipLength == 1 ? s.clipCount : s.clipLength
        }
        return spec
    }

    /// How the job tests its model: in validation, and (recorded in its checkpoints) wherever it is served.
    public var testing: TestSettings {
        TestSettings(clips: config.eval.clips, crops: config.eval.crops, averaging: config.eval.average,
                     pipeline: config.data.testPipeline,
                     normalization: config.data.testPipeline?.normalization ?? config.data.trainPipeline?.normalization)
    }

    public var viewPlan: ViewPlan { ViewPlan(input: input, testing) }

    /// Records a validation score; true when it is the best so far.
    @discardableResult
    public func record(score: Double) -> Bool {
        guard bestScore.map({ score > $0 }) ?? true else { return false }
        bestScore = score
        return true
    }

    /// Writes the model, optimizer state and progress (atomically).
    public func save(to url: URL) throws {
        var info = CheckpointInfo(preset: preset.name, classNames: data.classNames, input: input,
                                  epoch: epoch, step: step, bestTop1: bestScore)
        info.config = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(config))
        info.testing = testing
        info.batch = batchInEpoch
        info.flow = flowExtraction
        if let group = distributed { info.processes = group.size }
        try Checkpoint.save(model: model, optimizer: optimizer, info: info, to: url)
    }

    /// Continues from a checkpoint written by `save(to:)`: weights, optimizer state, epoch, step
    /// and the position in a half-done epoch.
    public func resume(from url: URL) throws {
        let (info, state, optimizerState) = try Checkpoint.read(url)
        guard info.preset == preset.name else {
            throw CheckpointError.incompatible(path: url.path, reason: "it holds \(info.preset), the job trains \(preset.name)")
        }
        let processes = group?.size ?? 1
        // An epoch's end resumes on any number of processes; a position inside an epoch counts
        // batches of one process's share, so it needs as many processes as wrote it.
        guard (info.batch ?? 0) == 0 || (info.processes ?? 1) == processes else {
            throw DistributedError.resumeProcessCount(checkpoint: info.processes ?? 1, running: processes)
        }
        try model.loadStateDict(state)
        try optimizer.loadStateDict(optimizerState)
        epoch = info.epoch
        step = info.step
        batchInEpoch = info.batch ?? 0
        bestScore = info.bestTop1
        replicas?.synchronize()
    }
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case diverged(epoch: Int, step: Int, loss: Double)
    case labelOutOfRange(label: Int, classes: Int)
    case badInitialWeights(path: String, reason: String)
    case severalViews(views: Int, frames: Int)
    case noUsableVideos(epoch: Int, example: String)
    case badFlowOptions(path: String, reason: String)
    /// A file the job reads (named as the config or the lists name it) leads outside the
    /// server's data root, through a symlink or `..`.
    case outsideDataRoot(String)
    case emptyTrainList(String)
    /// `data.dataset` names a dataset of the daemon, which only the daemon turns into lists.
    case unresolvedDataset(String)

    public var description: String {
        switch self {
        case .diverged(let epoch, let step, let loss):
            "training diverged: the loss was \(loss) at step \(step) (epoch \(epoch + 1)); the last checkpoint is kept"
        case .labelOutOfRange(let label, let classes):
            "the lists have label \(label) but the model has \(classes) classes (set model.classes or fix classes.txt)"
        case .badInitialWeights(let path, let reason): "cannot start from \(path): \(reason)"
        case .badFlowOptions(let path, let reason): "\(path) (how the flow was extracted) is unreadable: \(reason)"
        case .outsideDataRoot(let path): "\(path) is outside the data root"
        case .emptyTrainList(let path): "data.train_list \(path) lists no videos"
        case .unresolvedDataset(let name):
            "data.dataset: \(name) is a dataset uploaded to the daemon; submit the job to the daemon, or give data.train_list"
        case .noUsableVideos(let epoch, let example):
            "no training video could be loaded in epoch \(epoch + 1); for example \(example)"
        case .severalViews(let views, let frames):
            "the training pipeline gives \(views) views of \(frames) frames per video; training takes one view, "
                + "or one-frame segments (check data.sampler and data.train_pipeline)"
        }
    }
}
