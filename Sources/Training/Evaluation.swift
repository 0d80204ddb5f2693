import Clips
import Engine
import Foundation
import Zoo

/// The validation metric that picks the `best` checkpoint.
public enum BestMetric: String, Codable, Sendable, CaseIterable {
    case top1, top5
    case meanClassAccuracy = "mean_class_accuracy"

    public func value(_ m: ClassificationMetrics) -> Double {
        switch self {
        case .top1: m.top1
        case .top5: m.top5
        case .meanClassAccuracy: m.meanClassAccuracy
        }
    }
}

/// One class and its score.
public struct LabelScore: Codable, Sendable, Equatable {
    public var label: String
    public var score: Double
    public var index: Int

    /// The `k` best of `scores`, best first (ties: lower index first).
    public static func top(_ k: Int, of scores: [Float], names: [String]) -> [LabelScore] {
        scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(k).map {
            LabelScore(label: $0 < names.count ? names[$0] : "class_\($0)", score: Double(scores[$0]), index: $0)
        }
    }
}

/// What the model said about one validation video.
public struct VideoPrediction: Codable, Sendable, Equatable {
    public var video: String
    public var label: Int
    public var predicted: Int
    public var correct: Bool
    public var labels: [LabelScore]
}

/// The outcome of evaluating a model on a list.
public struct EvaluationResult: Sendable {
    public var metrics: ClassificationMetrics
    public var videos: [VideoPrediction]
    public var classNames: [String]
    public var views: ViewPlan
    public var failed: [LoadFailure]
    public var seconds: Double
    /// A two-stream model's streams on their own ("rgb", "flow"); this result is their fusion.
    public var streams: [String: EvaluationResult] = [:]

    /// Writes `metrics.json`, `confusion.csv`, `confusion.svg` and `predictions.json` into `dir`.
    public func write(to dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        struct Summary: Encodable {
            let top1: Double, top5: Double, meanClassAccuracy: Double, videos: Int, failed: [String]
            let views: String, averaging: ViewAveraging, perClassAccuracy: [String: Double]
            enum CodingKeys: String, CodingKey {
                case top1, top5, meanClassAccuracy = "mean_class_accuracy", videos, failed, views, averaging
                case perClassAccuracy = "per_class_accuracy"
            }
        }
        var perClass: [String: Double] = [:]
        for (i, a) in metrics.perClassAccuracy.enumerated() { if let a { perClass[classNames[i]] = a } }
        let summary = Summary(top1: metrics.top1, top5: metrics.top5, meanClassAccuracy: metrics.meanClassAccuracy,
                              videos: metrics.count, failed: failed.map(\.description),
                              views: "\(views.clips)x\(views.crops)", averaging: views.averaging, perClassAccuracy: perClass)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(encoder.encode(summary), to: dir.appendingPathComponent("metrics.json"))
        try AtomicFile.write(encoder.encode(videos), to: dir.appendingPathComponent("predictions.json"))
        try AtomicFile.write(Data(metrics.confusionCSV(classNames: classNames).utf8), to: dir.appendingPathComponent("confusion.csv"))
        let svg = SVGPlot.confusion(metrics.confusion, classNames: classNames,
                                    title: String(format: "Confusion (top-1 %.1f%%, %d videos)", 100 * metrics.top1, metrics.count))
        try AtomicFile.write(Data(svg.utf8), to: dir.appendingPathComponent("confusion.svg"))
        for (name, stream) in streams { try stream.write(to: dir.appendingPathComponent(name)) }
    }
}

/// Multi-view evaluation of a model over an annotation list.
public enum Evaluator {
    /// Decodes every video's views on `workers` threads ahead of the model, runs the model on at
    /// most `batchSize` views at a time and combines each video's views into one score row.
    public static func run(model: VideoModel, list: AnnotationList, root: DataRoot, plan: ViewPlan, classNames: [String],
                           batchSize: Int = 8, workers: Int = 2,
                           progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> EvaluationResult {
        let start = Date()
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var options = ClipLoader.Options()
        options.batchSize = max(1, batchSize / plan.count)
        options.workers = workers
        options.shuffle = false
        let loader = ClipLoader(list: list, root: root, recipe: plan.recipe, options: options)
        // A two-stream model is scored per stream as well as fused: outputs 0 and 1 are its RGB
        // and flow logits, output 2 the fused scores. Any other model has one output.
        let twoStream = model as? TwoStream
        var scores: [[[Float]]] = Array(repeating: [], count: twoStream == nil ? 1 : 3)
        var labels: [Int] = [], paths: [String] = [], failed: [LoadFailure] = []
        for batch in loader.epoch(0) {
            failed += batch.failed
            let views = plan.arrange(batch.clips)
            let outputs: [Tensor] = GradMode.noGrad {
                let chunks = stride(from: 0, to: views.shape[0], by: max(batchSize, 1)).map { start -> [Tensor] in
                    let chunk = views.sliced(axis: 0, start: start, end: min(start + max(batchSize, 1), views.shape[0]))
                    guard let twoStream else { return [model(chunk)] }
                    let (rgb, flow) = twoStream.streams(chunk)
                    return [rgb, flow, twoStream.fuse(rgb: rgb, flow: flow)]
                }
                return scores.indices.map { i in Tensor.concat(chunks.map { $0[i] }, axis: 0) }
            }
            for (i, logits) in outputs.enumerated() { scores[i] += plan.combine(logits) }
            labels += batch.labels
            paths += batch.paths
            progress?(labels.count + failed.count, list.count)
        }
        let seconds = Date().timeIntervalSince(start)
        func result(_ scores: [[Float]]) throws -> EvaluationResult {
            let k = classNames.count
            let metrics = try ClassificationMetrics(scores: scores, labels: labels, classes: k)
            let videos = zip(paths, zip(labels, scores)).map { path, pair in
                let top = LabelScore.top(min(5, k), of: pair.1, names: classNames)
                return VideoPrediction(video: path, label: pair.0, predicted: top[0].index, correct: top[0].index == pair.0, labels: top)
            }
            return EvaluationResult(metrics: metrics, videos: videos, classNames: classNames, views: plan, failed: failed, seconds: seconds)
        }
        var fused = try result(scores[scores.count - 1])
        if twoStream != nil { fused.streams = ["rgb": try result(scores[0]), "flow": try result(scores[1])] }
        return fused
    }
}
