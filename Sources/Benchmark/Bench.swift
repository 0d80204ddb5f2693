import Dispatch
import Engine
import Foundation
import Inference
import NN
import Support
import Zoo

/// Where a benchmark is, for a progress line or a job's events.
public struct BenchProgress: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable {
        case loading, latency, throughput, accuracy
        case trainStep = "train_step"
    }
    /// The model being measured (0-based) of `models`, and its label.
    public var index: Int
    public var models: Int
    public var model: String
    public var phase: Phase
    /// Within the phase: runs or videos done of `total`.
    public var done: Int
    public var total: Int
}

/// Measures models: cost counted from shapes, speed and memory measured on this machine, and
/// accuracy through the evaluation path that `motive eval` uses (`Evaluator`).
public enum Bench {
    /// Timed SGD steps at batch 2, after one warm-up.
    public static let trainRepeats = 2
    /// Timed forward passes at the bench's batch size, after one warm-up.
    public static let throughputRepeats = 3

    /// Checks a spec without loading any model: its options, each model's name or path (a
    /// folder must hold a checkpoint), and that a validation list goes with trained models only.
    @discardableResult
    public static func check(_ spec: BenchSpec) throws(BenchError) -> [BenchModel] {
        try spec.validate()
        var models: [BenchModel] = []
        for entry in spec.models {
            let model = try BenchModel(parsing: entry)
            if spec.data != nil, !model.hasWeights { throw .randomWeights(model.label) }
            if case .checkpoint(let path) = model.source {
                do { _ = try CheckpointLocator.resolve(path) } catch { throw .unreadableModel(entry, "\(error)") }
            }
            models.append(model)
        }
        return models
    }

    /// Loads every model before any is measured, so that a model that cannot load fails the
    /// whole bench at once.
    public static func load(_ spec: BenchSpec) throws -> [(model: BenchModel, predictor: Predictor)] {
        let overrides = ViewOverrides(views: spec.viewCounts)
        return try check(spec).map { model in
            switch model.source {
            case .preset(let name):
                do {
                    return (model, try Predictor.load(.preset(name: name, weights: nil, layout: .motive, classes: nil, strict: true), overrides).predictor)
                } catch { throw BenchError.unreadableModel(name, "\(error)") }
            case .checkpoint(let path):
                do { return (model, try Predictor.load(.checkpoint(path), overrides).predictor) } catch { throw BenchError.unreadableModel(path, "\(error)") }
            }
        }
    }

    /// Measures every model of `spec`, one after another, and returns their rows in order;
    /// `measured` gets each row as soon as it is done. A set `stop` flag ends the bench between
    /// two models (`BenchError.stopped`).
    public static func run(_ spec: BenchSpec, progress: @escaping (BenchProgress) -> Void = { _ in },
                           measured: (BenchResult) -> Void = { _ in }, stop: StopFlag? = nil) throws -> [BenchResult] {
        let loaded = try load(spec)
        if let threads = spec.threads { Parallel.setWorkers(threads) }
        var results: [BenchResult] = []
        for (i, entry) in loaded.enumerated() {
            if stop?.isSet == true { throw BenchError.stopped }
            let report = { (phase: BenchProgress.Phase, done: Int, total: Int) in
                progress(BenchProgress(index: i, models: loaded.count, model: entry.model.label, phase: phase, done: done, total: total))
            }
            let result = try measure(entry.predictor, label: entry.model.label, spec: spec, stop: stop, progress: report)
            measured(result)
            results.append(result)
        }
        return results
    }

    /// One model's row. A set `stop` flag ends it between two timed runs (`BenchError.stopped`);
    /// an accuracy pass, once started, runs to its end.
    public static func measure(_ predictor: Predictor, label: String, spec: BenchSpec, stop: StopFlag? = nil,
                               progress: @escaping (BenchProgress.Phase, Int, Int) -> Void = { _, _, _ in }) throws -> BenchResult {
        func report(_ phase: BenchProgress.Phase, _ done: Int, _ total: Int) throws(BenchError) {
            if stop?.isSet == true { throw .stopped }
            progress(phase, done, total)
        }
        let model = predictor.model.eval()
        try report(.loading, 0, 1)
        var rng = Xoshiro(seed: 0)
        let shape = predictor.plan.input.shape
        let view = Tensor.normal(shape, using: &rng)
        try model.check(input: view)
        let parameters = model.parameters().reduce(0) { $0 + $1.count }
        let gflops = Double(model.flops(input: view).total) / 1e9

        // Memory: the high-water mark of this model's running, over both runs.
        let ((latencies, batchTimes), peakGrowth) = try ProcessMemory.peakGrowth { () throws(BenchError) in
            let latencies = try forwardSeconds(model, view, repeats: spec.repeats) { run throws(BenchError) in
                try report(.latency, run, spec.repeats + 1)
            }
            var batchShape = shape
            batchShape[0] = spec.batch
            let batch = Tensor.normal(batchShape, using: &rng)
            let batchTimes = try forwardSeconds(model, batch, repeats: throughputRepeats) { run throws(BenchError) in
                try report(.throughput, run, throughputRepeats + 1)
            }
            return (latencies, batchTimes)
        }
        let clipsPerSecond = Double(spec.batch) / percentile(batchTimes, 0.5)

        var result = BenchResult(
            model: label, preset: predictor.preset, input: shape, paramsM: Double(parameters) / 1e6, gflopsPerView: gflops,
            views: predictor.plan.views, gflopsPerVideo: gflops * Double(predictor.plan.count),
            latencyMsP50: 1000 * percentile(latencies, 0.5), latencyMsP90: 1000 * percentile(latencies, 0.9),
            clipsPerS: clipsPerSecond, achievedGflopsPerS: gflops * clipsPerSecond,
            peakRssMb: Double(peakGrowth ?? 0) / 1_048_576)

        if let list = spec.data {
            try report(.accuracy, 0, 1)
            let evaluation = try Evaluator.run(predictor, listPath: list, root: spec.root, confinement: spec.confinement, batchSize: 8,
                                               workers: min(2, spec.threads ?? 2)) { done, total in
                progress(.accuracy, done, total)
            }
            let videos = Double(evaluation.metrics.count)
            result.top1 = evaluation.metrics.top1
            result.top5 = evaluation.metrics.top5
            result.meanClassAccuracy = evaluation.metrics.meanClassAccuracy
            result.decodeMsPerVideo = 1000 * evaluation.decodeSeconds / videos
            result.inferMsPerVideo = 1000 * evaluation.inferSeconds / videos
        }
        // Last: the step changes the weights.
        if spec.trainStep {
            let steps = try trainStepSeconds(model, shape: shape, classes: predictor.classNames.count, repeats: trainRepeats,
                                             rng: &rng) { (run: Int) throws(BenchError) in
                try report(.trainStep, run, trainRepeats + 1)
            }
            result.trainSPerStepB2 = percentile(steps, 0.5)
            model.eval()
        }
        return result
    }

    /// Seconds of `repeats` no-grad forward passes of `model` (in evaluation mode) on `x`, after
    /// one warm-up pass; `progress` hears of each pass, the warm-up as 0.
    public static func forwardSeconds(_ model: VideoModel, _ x: Tensor, repeats: Int,
                                      progress: (Int) throws(BenchError) -> Void = { _ in }) throws(BenchError) -> [Double] {
        try forwardRuns(model, x, repeats: repeats, progress: progress) { _, body in Stopwatch.time(body) }
    }

    /// Runs run 0 (the warm-up) … `repeats`, each timed by `time`, and returns the timed runs' seconds.
    static func forwardRuns(_ model: VideoModel, _ x: Tensor, repeats: Int, progress: (Int) throws(BenchError) -> Void,
                            time: (_ run: Int, _ body: () -> Void) -> Double) throws(BenchError) -> [Double] {
        model.eval()
        var times: [Double] = []
        for run in 0...repeats {
            try progress(run)
            let seconds = time(run) { _ = GradMode.noGrad { model(x) } }
            if run > 0 { times.append(seconds) }
        }
        return times
    }

    /// Seconds of `repeats` SGD steps (momentum 0.9, cross-entropy against labels 0 and 1) at
    /// batch 2 on inputs of `shape`'s view size, after one warm-up step. The steps change the
    /// weights; the model is left in training mode.
    public static func trainStepSeconds(_ model: VideoModel, shape: [Int], classes: Int, repeats: Int, rng: inout Xoshiro,
                                        progress: (Int) throws(BenchError) -> Void = { _ in }) throws(BenchError) -> [Double] {
        try trainStepRuns(model, shape: shape, classes: classes, repeats: repeats, rng: &rng, progress: progress) { _, body in
            Stopwatch.time(body)
        }
    }

    static func trainStepRuns(_ model: VideoModel, shape: [Int], classes: Int, repeats: Int, rng: inout Xoshiro,
                              progress: (Int) throws(BenchError) -> Void,
                              time: (_ run: Int, _ body: () -> Void) -> Double) throws(BenchError) -> [Double] {
        var batchShape = shape
        batchShape[0] = 2
        let x = Tensor.normal(batchShape, using: &rng)
        let targets = [0, 1 % max(classes, 1)]
        model.train()
        let optimizer = SGD(parameters: model.namedParameters(), learningRate: 0.01, momentum: 0.9)
        var times: [Double] = []
        for run in 0...repeats {
            try progress(run)
            let seconds = time(run) {
                optimizer.zeroGrad()
                crossEntropy(model(x), targets: targets).backward()
                optimizer.step()
            }
            if run > 0 { times.append(seconds) }
        }
        return times
    }

    /// Where the time of one forward pass at `input` (no grad) and of one training step at batch 2
    /// goes, each profiled after a warm-up run with the same protocol as `forwardSeconds` and
    /// `trainStepSeconds`. The step changes the weights.
    public static func profile(_ model: VideoModel, input: Tensor, classes: Int, rng: inout Xoshiro)
        -> (inference: Profile, trainStep: Profile) {
        var inference: Profile?, trainStep: Profile?
        // Runs 0 and 1 warm up; run 2 is recorded into `slot`. The second warm-up matters for
        // training: the buffer pool reaches its steady state only after the first full step,
        // and a step that still faults in fresh memory charges it to whichever layer touches it.
        let recorded = 2
        func time(_ run: Int, _ body: () -> Void, into slot: inout Profile?) -> Double {
            guard run == recorded else { return Stopwatch.time(body) }
            let p = Profiler.record(body)
            slot = p
            return p.wallSeconds
        }
        // Neither call throws: only the progress hook could.
        _ = try? forwardRuns(model, input, repeats: recorded, progress: { _ in }) { time($0, $1, into: &inference) }
        _ = try? trainStepRuns(model, shape: input.shape, classes: classes, repeats: recorded, rng: &rng, progress: { _ in }) {
            time($0, $1, into: &trainStep)
        }
        return (inference!, trainStep!)
    }

    /// Nearest-rank percentile: the value at rank ⌈q·n⌉ of the sorted values.
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
