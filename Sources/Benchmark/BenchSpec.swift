import Foundation
import Inference
import Support
import Zoo

/// What a benchmark measures: the `motive bench` command line, and a daemon job of kind `bench`
/// (the same options as YAML keys, snake_case).
public struct BenchSpec: Codable, Sendable, Equatable {
    /// Each a zoo preset (random weights: cost only), a checkpoint file, a run or model folder,
    /// or `label=path` to name a point on the plots.
    public var models: [String]
    /// An annotation list to measure accuracy on (checkpoints and runs only).
    public var data: String?
    /// The folder the list's paths are relative to (default: the list's folder).
    public var root: String?
    /// Test views "CLIPSxCROPS" (default: each checkpoint's own, 1x1 for a preset).
    public var views: String?
    /// Clips per forward pass when measuring throughput.
    public var batch = 8
    /// Timed forward passes at batch 1, after one warm-up.
    public var repeats = 10
    /// Also time one SGD step at batch 2.
    public var trainStep = false
    /// Dispatch workers the engine uses (default: every core).
    public var threads: Int?
    /// Overlay the published Kinetics-400 results on the accuracy plots.
    public var published = false
    /// Where every video read must really be (the server's data root); not a YAML key.
    public var confinement: ConfinedPath?

    public init(models: [String]) { self.models = models }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case models, data, root, views, batch, repeats, trainStep = "train_step", threads, published
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        models = try c.decode([String].self, forKey: .models)
        data = try c.decodeIfPresent(String.self, forKey: .data)
        root = try c.decodeIfPresent(String.self, forKey: .root)
        views = try c.decodeIfPresent(String.self, forKey: .views)
        batch = try c.decodeIfPresent(Int.self, forKey: .batch) ?? batch
        repeats = try c.decodeIfPresent(Int.self, forKey: .repeats) ?? repeats
        trainStep = try c.decodeIfPresent(Bool.self, forKey: .trainStep) ?? trainStep
        threads = try c.decodeIfPresent(Int.self, forKey: .threads)
        published = try c.decodeIfPresent(Bool.self, forKey: .published) ?? published
    }

    /// The YAML keys, for a reader that refuses unknown ones.
    public static let keys = CodingKeys.allCases.map(\.stringValue)

    /// Models one bench may measure.
    public static let maxModels = 64
    public static let batchSizes = 1...256
    public static let repeatCounts = 1...1000
    public static let threadCounts = 1...256

    /// The parsed views, when given.
    public var viewCounts: (clips: Int, crops: Int)? { views.flatMap(ViewPlan.parseViews) }

    /// Refuses values that make no sense, naming the option.
    public func validate() throws(BenchError) {
        if models.isEmpty { throw .badOption("models", "name at least one model") }
        if models.count > Self.maxModels { throw .badOption("models", "at most \(Self.maxModels) models, got \(models.count)") }
        if let views, ViewPlan.parseViews(views) == nil { throw .badOption("views", "CLIPSxCROPS with crops 1, 3 or 10, e.g. 10x3; got \(views)") }
        if !Self.batchSizes.contains(batch) { throw .badOption("batch", "1…\(Self.batchSizes.upperBound), got \(batch)") }
        if !Self.repeatCounts.contains(repeats) { throw .badOption("repeats", "1…\(Self.repeatCounts.upperBound), got \(repeats)") }
        if let threads, !Self.threadCounts.contains(threads) { throw .badOption("threads", "1…\(Self.threadCounts.upperBound), got \(threads)") }
        var labels: [String] = []
        for entry in models { labels.append(try BenchModel(parsing: entry).label) }
        if let twice = labels.first(where: { label in labels.filter { $0 == label }.count > 1 }) {
            throw .badOption("models", "two models are labelled \"\(twice)\"; name them with label=path")
        }
    }
}

/// One model of a bench: what it is called on the plots, and where it comes from.
public struct BenchModel: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// A zoo preset with random weights.
        case preset(String)
        /// A checkpoint file, or a run or model folder.
        case checkpoint(String)
    }

    public var label: String
    public var source: Source

    /// Reads `label=path`, a path that exists, or a preset name. A name that is neither is an
    /// error with the nearest preset.
    public init(parsing entry: String) throws(BenchError) {
        var label: String?, target = entry
        if !FileManager.default.fileExists(atPath: entry) {
            (label, target) = Self.split(entry)
            if let label, label.isEmpty || target.isEmpty { throw .badOption("models", "label=path needs both, got \(entry)") }
        }
        if FileManager.default.fileExists(atPath: target) {
            source = .checkpoint(target)
            let url = URL(fileURLWithPath: target).standardizedFileURL
            // A checkpoint file is named after its folder (runs/x/best.safetensors → x).
            let isFile = url.pathExtension == "safetensors"
            self.label = label ?? (isFile ? url.deletingLastPathComponent().lastPathComponent : url.lastPathComponent)
        } else if (try? ModelZoo.preset(named: target)) != nil {
            source = .preset(target)
            self.label = label ?? target
        } else if target.contains("/") || target.hasSuffix(".safetensors") {
            throw .missingModel(target)
        } else {
            throw .unknownModel(target, suggestion: nearestMatch(target, among: ModelZoo.presets.map(\.name)))
        }
    }

    /// `label=target` as its parts; an entry whose `=` comes after a `/` (a path) has no label.
    public static func split(_ entry: String) -> (label: String?, target: String) {
        guard let eq = entry.firstIndex(of: "="), !entry[..<eq].contains("/") else { return (nil, entry) }
        return (String(entry[..<eq]), String(entry[entry.index(after: eq)...]))
    }

    /// Whether the model has trained weights (a preset has random ones).
    public var hasWeights: Bool { if case .checkpoint = source { true } else { false } }
}

public enum BenchError: Error, CustomStringConvertible, Equatable {
    case badOption(String, String)
    case unknownModel(String, suggestion: String?)
    case missingModel(String)
    case randomWeights(String)
    case unreadableModel(String, String)
    case badPublished(String, String)
    case badCompare(String, String)
    case stopped

    public var description: String {
        switch self {
        case .badOption(let option, let expected): "\(option): \(expected)"
        case .unknownModel(let name, let suggestion):
            "\(name) is not a checkpoint, a run folder or a zoo preset" + (suggestion.map { " (did you mean \"\($0)\"?)" } ?? "")
                + "; `motive models` lists the presets"
        case .missingModel(let path): "\(path) does not exist"
        case .randomWeights(let name):
            "\(name) is a preset with random weights, so its accuracy means nothing; --data needs checkpoints or runs (or leave \(name) out)"
        case .unreadableModel(let path, let why): "cannot load \(path): \(why)"
        case .badPublished(let path, let why): "published results \(path): \(why)"
        case .badCompare(let path, let why): "comparison file \(path): \(why)"
        case .stopped: "the bench was stopped"
        }
    }
}
