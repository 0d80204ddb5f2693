import Foundation
import Inference
import Support
import Yams

/// One epoch's line of `metrics.csv` (and its `epoch` event in `log.jsonl`).
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainTop1: Double
    public var learningRate: Double
    public var seconds: Double
    public var clipsPerSecond: Double
    public var failed: Int
    public var valTop1: Double?
    public var valTop5: Double?
    public var valMeanClassAccuracy: Double?
    public var best = false

    enum CodingKeys: String, CodingKey {
        case epoch, trainLoss = "train_loss", trainTop1 = "train_top1", learningRate = "lr", seconds
        case clipsPerSecond = "clips_per_s", failed, valTop1 = "val_top1", valTop5 = "val_top5"
        case valMeanClassAccuracy = "val_mean_class_accuracy", best
    }
}

/// A training job with its run directory:
///
///     config.yaml           the resolved config
///     log.jsonl             one JSON object per event (start, step every few batches, epoch, checkpoint…)
///     metrics.csv           one row per epoch; curves.svg, its loss and accuracy curves
///     epoch_NNNN.safetensors  the last `output.keep_last` epochs; last.safetensors and
///     best.safetensors      (by `output.save_best_by` on the validation list) link to them
///     eval/                 the final evaluation: metrics.json, confusion.csv/.svg, predictions.json
///     tb/                   TensorBoard event files: per-epoch train/ and val/ scalars, per-batch batch/ ones
public final class TrainingRun {
    public let trainer: Trainer
    public let directory: URL
    public private(set) var history: [EpochRecord] = []
    /// Set from any thread (a signal handler, a cancel request); the run stops after the current step.
    public let stopFlag = StopFlag()
    let configFile: String?
    /// Step events go to `log.jsonl` every this many batches (and always at an epoch's end).
    public var logEvery = 10

    /// `resume` is a run directory (its `last.safetensors`) or a checkpoint file; the run
    /// directory defaults to the resumed one, else `output.dir`. With a `group` of several
    /// processes, every one trains and only rank 0 writes the run directory; each reads `resume`
    /// (so across machines the run directory is on a shared file system).
    public init(config: JobConfig, configFile: String? = nil, directory: URL? = nil, resume: URL? = nil,
                group: (any ProcessGroup)? = nil) throws {
        let base = configFile.map { URL(fileURLWithPath: $0).deletingLastPathComponent() }
        var checkpoint = resume
        var isDir: ObjCBool = false
        if let resume, FileManager.default.fileExists(atPath: resume.path, isDirectory: &isDir), isDir.boolValue {
            checkpoint = resume.appendingPathComponent(CheckpointLocator.resumeName)
        }
        let dir = directory ?? (isDir.boolValue ? resume : nil) ?? URL(fileURLWithPath: config.output.dir)
        self.directory = dir.standardizedFileURL
        self.configFile = configFile
        let data = try TrainingData.load(config.data, relativeTo: base)
        group?.timeout = config.distributed.timeout
        trainer = try Trainer(config: config, data: data, relativeTo: base, group: group)
        if trainer.isPrimary {
            try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
            AtomicFile.removeLeftovers(in: self.directory)          // a killed earlier attempt's half-written files
        }
        if let checkpoint {
            guard FileManager.default.fileExists(atPath: checkpoint.path) else { throw CheckpointError.unreadable(path: checkpoint.path, reason: "no such file") }
            try trainer.resume(from: checkpoint)
            history = Self.readHistory(directory: self.directory).filter { $0.epoch <= trainer.epoch }
        }
        if trainer.isPrimary { try AtomicFile.write(Data(try YAMLEncoder().encode(config).utf8), to: file("config.yaml")) }
    }

    func file(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// Trains the remaining epochs. Returns normally when finished or stopped on request; throws
    /// on divergence or bad data, with the last good checkpoint left in place.
    public func run(_ events: @escaping (RunEvent) -> Void = { _ in }) throws {
        let config = trainer.config, epochs = config.schedule.epochs
        let bestMetric = BestMetric(rawValue: config.output.saveBestBy) ?? .top1
        trainer.shouldStop = { [stopFlag] in stopFlag.isSet }
        /// Every event goes to `events`; those a reader of the run needs also to `log.jsonl`.
        let primary = trainer.isPrimary
        func emit(_ event: RunEvent, logged: Bool = true) {
            if logged && primary { append(event.line(time: Date())) }
            events(event)
        }
        emit(.started(preset: trainer.preset.name, videos: trainer.data.train.count, classes: trainer.data.classNames.count,
                      directory: directory.path, fromEpoch: trainer.epoch, step: trainer.step))
        // TensorBoard's events, rank 0's like every file of the run: a write that fails is
        // reported once and ends the events, never the training.
        var tensorBoard: TensorBoardWriter?
        func toTensorBoard(_ scalars: [(tag: String, value: Double)], step: Int) {
            guard let writer = tensorBoard else { return }
            do { try writer.scalars(scalars, step: step) } catch {
                tensorBoard = nil
                emit(.note("TensorBoard: \(error); training goes on without events"))
            }
        }
        if primary {
            do { tensorBoard = try TensorBoardWriter(directory: file("tb")) } catch { emit(.note("TensorBoard: \(error); training goes on without events")) }
        }
        for note in trainer.notes { emit(.note(note)) }
        if let group = trainer.group, group.size > 1 {
            emit(.note("distributed: \(group.size) processes × data.batch_size \(config.data.batchSize) = a global batch of "
                       + "\(group.size * config.data.batchSize)" + (config.train.accumulate > 1 ? " (× \(config.train.accumulate) accumulated)" : "")))
        }
        let averageEpoch = history.isEmpty ? nil : history.map(\.seconds).reduce(0, +) / Double(history.count)
        trainer.onStep = { [self] progress in
            var progress = progress
            let perEpoch = averageEpoch ?? progress.epochETA / Double(max(progress.batches - progress.batch, 1)) * Double(progress.batches)
            progress.etaSeconds = progress.epochETA + Double(epochs - progress.epoch) * perEpoch
            emit(.step(progress), logged: progress.batch % logEvery == 0 || progress.batch == progress.batches)
            toTensorBoard(progress.tensorBoardScalars, step: progress.step)
        }
        defer { trainer.onStep = nil }
        while trainer.epoch < epochs {
            let stats: EpochStats
            do { stats = try trainer.trainEpoch() } catch {
                emit(.failed("\(error)"))
                throw error
            }
            guard stats.complete else {
                if primary { try trainer.save(to: file(CheckpointLocator.resumeName)) }
                emit(interrupted())
                return
            }
            var record = EpochRecord(epoch: stats.epoch, trainLoss: stats.loss, trainTop1: stats.top1, learningRate: stats.learningRate,
                                     seconds: stats.seconds, clipsPerSecond: Double(stats.clips) / max(stats.seconds, 1e-9),
                                     failed: stats.failed)
            let last = stats.epoch == epochs
            var evaluation: EvaluationResult?
            if trainer.data.val != nil && (stats.epoch % config.eval.interval == 0 || last) {
                emit(.evaluating(epoch: stats.epoch), logged: false)
                evaluation = try trainer.evaluate()          // in a distributed run, rank 0's alone
                if let m = evaluation?.metrics {
                    (record.valTop1, record.valTop5, record.valMeanClassAccuracy) = (m.top1, m.top5, m.meanClassAccuracy)
                    record.best = trainer.record(score: bestMetric.value(m))
                }
            }
            // A resume starts from `last.safetensors`, whose metadata carries the best score so
            // far; so the epoch's best link and its record go to disk before it becomes `last`. A
            // run killed in between redoes the epoch, and the same result replaces them.
            let checkpoint = file(String(format: "epoch_%04d.safetensors", stats.epoch))
            history.append(record)
            if primary {
                try trainer.save(to: checkpoint)
                if record.best { try AtomicFile.link(checkpoint, as: file("best.safetensors")) }
                try writeReports()
                if last, let evaluation { try evaluation.write(to: file("eval")) }
                toTensorBoard(record.tensorBoardScalars, step: record.epoch)
            }
            emit(.epoch(record))
            if primary {
                try AtomicFile.link(checkpoint, as: file("last.safetensors"))
                try pruneCheckpoints(keep: config.output.keepLast)
            }
            emit(.checkpoint(checkpoint.path), logged: false)
            // Every process asks, so that all of them stop at the same epoch.
            let stop = try trainer.stopRequested()
            if stop && !last {
                emit(interrupted())
                return
            }
        }
        let best = FileManager.default.fileExists(atPath: file("best.safetensors").path) ? file("best.safetensors") : nil
        emit(.finished(last: file("last.safetensors").path, best: best?.path))
    }

    /// A stop on request: where the run stands (the batch is 0 at an epoch's end) and the
    /// command that continues it.
    private func interrupted() -> RunEvent {
        .interrupted(epoch: trainer.epoch + 1, batch: trainer.batchInEpoch,
                     resume: "motive train \(configFile ?? "CONFIG.yaml") --resume \(directory.path)")
    }

    /// Deletes epoch checkpoints beyond the newest `keep` (best and last are links and survive).
    func pruneCheckpoints(keep: Int) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let epochs = names.filter { $0.hasPrefix("epoch_") && $0.hasSuffix(".safetensors") }.sorted()
        for name in epochs.dropLast(keep) { try? FileManager.default.removeItem(at: file(name)) }
    }

    /// Rewrites `metrics.csv` and `curves.svg` from the history.
    func writeReports() throws {
        func cell(_ v: Double?) -> String { v.map { String(format: "%.6g", $0) } ?? "" }
        var csv = "epoch,train_loss,train_top1,lr,seconds,clips_per_s,failed,val_top1,val_top5,val_mean_class_accuracy,best\n"
        for r in history {
            csv += "\(r.epoch),\(cell(r.trainLoss)),\(cell(r.trainTop1)),\(cell(r.learningRate)),\(cell(r.seconds)),"
                + "\(cell(r.clipsPerSecond)),\(r.failed),\(cell(r.valTop1)),\(cell(r.valTop5)),\(cell(r.valMeanClassAccuracy)),\(r.best)\n"
        }
        try AtomicFile.write(Data(csv.utf8), to: file("metrics.csv"))
        let x = history.map { Double($0.epoch) }
        var accuracy = [PlotSeries(name: "train top-1", points: zip(x, history.map(\.trainTop1)).map { (x: $0, y: $1) })]
        let val = history.compactMap { r in r.valTop1.map { (x: Double(r.epoch), y: $0) } }
        if !val.isEmpty { accuracy.append(PlotSeries(name: "val top-1", points: val)) }
        let svg = SVGPlot.lines(title: "\(trainer.preset.name): training curves", xLabel: "epoch", panels: [
            (title: "loss", series: [PlotSeries(name: "train loss", points: zip(x, history.map(\.trainLoss)).map { (x: $0, y: $1) })]),
            (title: "accuracy", series: accuracy),
        ])
        try AtomicFile.write(Data(svg.utf8), to: file("curves.svg"))
    }

    private func append(_ line: Data) {
        let url = file("log.jsonl")
        if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        guard let handle = try? FileHandle(forWritingTo: url) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: line)
    }

    /// The epoch records of an earlier run in `directory`, from its `log.jsonl` (the last record per epoch).
    public static func readHistory(directory: URL) -> [EpochRecord] {
        guard let text = try? Data(contentsOf: directory.appendingPathComponent("log.jsonl")) else { return [] }
        var byEpoch: [Int: EpochRecord] = [:]
        for line in text.split(separator: UInt8(ascii: "\n")) {
            if case .epoch(let record)? = RunEvent.decode(Data(line)) { byEpoch[record.epoch] = record }
        }
        return byEpoch.keys.sorted().map { byEpoch[$0]! }
    }
}
