import Clips
import Engine
import Foundation
import Support
import Zoo

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
    /// Wall time of the whole evaluation.
    public var seconds: Double
    /// The stages, summed over videos: decoding, sampling and transforms (on the loader's
    /// workers, ahead of the model), and the model's forward passes with view averaging.
    public var decodeSeconds = 0.0
    public var inferSeconds = 0.0
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
                              views: views.views, averaging: views.averaging, perClassAccuracy: perClass)
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

/// One process's share of an evaluation: the scores of the videos it loaded, by list position.
struct EvaluationPart: Codable {
    struct Failure: Codable { var path: String, reason: String }
    var positions: [Int] = []
    var labels: [Int] = []
    var paths: [String] = []
    var main: [[Float]] = []
    var streams: [String: [[Float]]] = [:]
    var streamOrder: [String] = []
    var failed: [Failure] = []
    var decodeSeconds = 0.0
    var inferSeconds = 0.0
}

/// Multi-view evaluation over an annotation list.
public enum Evaluator {
    /// Decodes every video's views on `workers` threads ahead of the model, scores them through
    /// the plan (`ViewPlan.scores`, at most `batchSize` views per forward pass) and measures the
    /// model's main output and each of its streams.
    public static func run(model: VideoModel, list: AnnotationList, root: DataRoot, plan: ViewPlan, classNames: [String],
                           batchSize: Int = 8, workers: Int = 2,
                           progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> EvaluationResult {
        let start = Date()
        let part = try score(model: model, list: list, root: root, plan: plan, batchSize: batchSize, workers: workers, progress: progress)
        return try assemble([part], plan: plan, classNames: classNames, seconds: Date().timeIntervalSince(start))
    }

    /// Evaluation shared by several processes: process `shard.index` of `shard.count` scores the
    /// videos at list positions index, index + count, …; `gather` brings every process's part to
    /// the one that measures them (its result), and the others get nil.
    public static func run(model: VideoModel, list: AnnotationList, root: DataRoot, plan: ViewPlan, classNames: [String],
                           batchSize: Int = 8, workers: Int = 2, shard: ClipLoader.Shard,
                           gather: (_ part: [UInt8]) throws -> [[UInt8]]?) throws -> EvaluationResult? {
        let start = Date()
        let positions = Array(stride(from: shard.index, to: list.count, by: shard.count))
        let mine = AnnotationList(items: positions.map { list.items[$0] }, classes: list.classes)
        var part = try score(model: model, list: mine, root: root, plan: plan, batchSize: batchSize, workers: workers, progress: nil)
        part.positions = part.positions.map { positions[$0] }
        guard let bytes = try gather(Array(JSONEncoder().encode(part))) else { return nil }
        let parts = try bytes.map { try JSONDecoder().decode(EvaluationPart.self, from: Data($0)) }
        return try assemble(parts, plan: plan, classNames: classNames, seconds: Date().timeIntervalSince(start))
    }

    /// Scores every video of `list` (none may load: the part is then empty).
    static func score(model: VideoModel, list: AnnotationList, root: DataRoot, plan: ViewPlan, batchSize: Int, workers: Int,
                      progress: ((_ done: Int, _ total: Int) -> Void)?) throws -> EvaluationPart {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var options = ClipLoader.Options()
        options.batchSize = max(1, batchSize / plan.count)
        options.workers = workers
        options.shuffle = false
        let loader = ClipLoader(list: list, root: root, recipe: plan.recipe, options: options)
        var part = EvaluationPart()
        let pathPositions = Dictionary(list.items.enumerated().map { ($1.path, $0) }, uniquingKeysWith: { first, _ in first })
        let stream = loader.epoch(0)
        while let batch = stream.next() {
            part.failed += batch.failed.map { EvaluationPart.Failure(path: $0.path, reason: $0.reason) }
            part.decodeSeconds += batch.decodeSeconds
            var clock = Stopwatch()
            let scores = try plan.scores(model, samples: batch.clips, maxViews: batchSize)
            part.inferSeconds += clock.lap()
            part.main += scores.main
            for (name, rows) in scores.streams {
                if part.streams[name] == nil { part.streamOrder.append(name) }
                part.streams[name, default: []] += rows
            }
            part.labels += batch.labels
            part.paths += batch.paths
            progress?(part.labels.count + part.failed.count, list.count)
        }
        part.failed += stream.unreported.map { EvaluationPart.Failure(path: $0.path, reason: $0.reason) }
        part.positions = part.paths.map { pathPositions[$0] ?? 0 }
        return part
    }

    /// Measures the parts' videos together, in list order.
    static func assemble(_ parts: [EvaluationPart], plan: ViewPlan, classNames: [String], seconds: Double) throws -> EvaluationResult {
        var rows: [(position: Int, part: Int, row: Int)] = []
        for (p, part) in parts.enumerated() { rows += part.positions.indices.map { (part.positions[$0], p, $0) } }
        rows.sort { ($0.position, $0.part, $0.row) < ($1.position, $1.part, $1.row) }
        let failed = parts.flatMap(\.failed).map { LoadFailure(path: $0.path, reason: $0.reason) }
        guard !rows.isEmpty else { throw EvaluationError.nothingLoaded(failed) }
        let labels = rows.map { parts[$0.part].labels[$0.row] }, paths = rows.map { parts[$0.part].paths[$0.row] }
        func result(_ scores: [[Float]]) throws -> EvaluationResult {
            let k = classNames.count
            let metrics = try ClassificationMetrics(scores: scores, labels: labels, classes: k)
            let videos = zip(paths, zip(labels, scores)).map { path, pair in
                let top = LabelScore.top(min(5, k), of: pair.1, names: classNames)
                return VideoPrediction(video: path, label: pair.0, predicted: top[0].index, correct: top[0].index == pair.0, labels: top)
            }
            return EvaluationResult(metrics: metrics, videos: videos, classNames: classNames, views: plan, failed: failed, seconds: seconds,
                                    decodeSeconds: parts.reduce(0) { $0 + $1.decodeSeconds },
                                    inferSeconds: parts.reduce(0) { $0 + $1.inferSeconds })
        }
        var fused = try result(rows.map { parts[$0.part].main[$0.row] })
        for name in parts.first(where: { !$0.positions.isEmpty })?.streamOrder ?? [] {
            fused.streams[name] = try result(rows.map { parts[$0.part].streams[name]![$0.row] })
        }
        return fused
    }

    /// Evaluates a predictor on the list at `listPath` (paths relative to `root`, by default
    /// the list's folder), checking its labels against the model's classes. With `confinement`
    /// (the server's data root), no video is read whose real path lies outside it.
    public static func run(_ predictor: Predictor, listPath: String, root: String? = nil, confinement: ConfinedPath? = nil,
                           batchSize: Int = 8, workers: Int = 2,
                           progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> EvaluationResult {
        let listURL = URL(fileURLWithPath: listPath)
        let list = try AnnotationList.readList(listURL, classes: predictor.classNames)
        if let bad = list.items.first(where: { $0.label >= predictor.classNames.count }) {
            throw EvaluationError.labelOutOfRange(list: listPath, video: bad.path, label: bad.label, classes: predictor.classNames.count)
        }
        let dataRoot = DataRoot(root.map { URL(fileURLWithPath: $0) } ?? listURL.deletingLastPathComponent(), confinedTo: confinement)
        return try run(model: predictor.model, list: list, root: dataRoot, plan: predictor.plan, classNames: predictor.classNames,
                       batchSize: batchSize, workers: workers, progress: progress)
    }
}

public enum EvaluationError: Error, CustomStringConvertible {
    case labelOutOfRange(list: String, video: String, label: Int, classes: Int)
    case nothingLoaded([LoadFailure])

    public var description: String {
        switch self {
        case .labelOutOfRange(let list, let video, let label, let classes):
            "\(list): \(video) has label \(label) but the model has \(classes) classes"
        case .nothingLoaded(let failures):
            "no video of the list could be loaded" + (failures.isEmpty ? "" : ":\n  " + failures.prefix(20).map(\.description).joined(separator: "\n  "))
        }
    }
}
