import Clips
import Engine
import Foundation
import Video
import Zoo

/// Labels for one video, or for one window of it.
public struct VideoLabels: Codable, Sendable, Equatable {
    public var labels: [LabelScore]
    /// Class scores of every class (probabilities), in class order.
    public var scores: [Float]
}

/// One window of a timeline.
public struct TimelineEntry: Codable, Sendable, Equatable {
    public var start: Double
    public var end: Double
    public var labels: [LabelScore]
}

/// A trained model ready to label videos: its checkpoint's preset, classes and input spec, and
/// the view plan (clips × crops) to test with. Safe to use from several threads at once (the
/// model only reads its weights in evaluation mode).
public final class Predictor: @unchecked Sendable {
    public let model: VideoModel
    public let classNames: [String]
    public let plan: ViewPlan
    public let preset: String
    /// For flow and two-stream models: how flow is computed from raw videos (the training data's extraction).
    public var flowOptions: FlowExtractionOptions { plan.flowOptions }

    public init(model: VideoModel, preset: String, classNames: [String], plan: ViewPlan) {
        self.model = model.eval()
        self.preset = preset
        self.classNames = classNames
        self.plan = plan
    }

    /// Loads a Motive checkpoint. Without `views`, tests as its job config did (one view if none).
    public convenience init(checkpoint url: URL, views: (clips: Int, crops: Int)? = nil, averaging: ViewAveraging? = nil) throws {
        let (model, info) = try Checkpoint.loadModel(url)
        let eval = info.config?.eval
        var plan = ViewPlan(input: info.input, clips: views?.clips ?? eval?.clips ?? 1, crops: views?.crops ?? eval?.crops ?? 1,
                            averaging: averaging ?? eval?.average ?? .score,
                            pipeline: views == nil ? info.config?.data.testPipeline : nil,
                            normalization: info.config.flatMap { $0.data.testPipeline?.normalization ?? $0.data.trainPipeline?.normalization })
        plan.flowOptions = info.flow ?? .init()
        self.init(model: model, preset: info.preset, classNames: info.classNames, plan: plan)
    }

    /// A run directory's best checkpoint (else its last), or the file itself.
    public static func checkpointFile(_ path: String) -> URL {
        let url = URL(fileURLWithPath: path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue else { return url }
        let best = url.appendingPathComponent("best.safetensors")
        return FileManager.default.fileExists(atPath: best.path) ? best : url.appendingPathComponent("last.safetensors")
    }

    /// The test views of the frames `window` of an open video: decoded frames, or for a flow
    /// model the flow computed from them.
    public func sample(_ reader: VideoReader, window: Range<Int>? = nil) throws -> Tensor {
        var rng = Xoshiro(seed: 0)                          // test-mode sampling and crops draw nothing
        if plan.input.isTwoStream {
            return try plan.recipe.twoStreamSample(reader, window: window, options: flowOptions, rgb: plan.rgbNormalization, using: &rng)
        }
        return plan.input.isFlow
            ? try plan.recipe.liveFlowSample(reader, window: window, options: flowOptions, using: &rng)
            : try plan.recipe.sample(reader, window: window, using: &rng)
    }

    /// Class probabilities of the frames `window` of an open video (all of it by default).
    public func scores(_ reader: VideoReader, window: Range<Int>? = nil) throws -> [Float] {
        let sample = try sample(reader, window: window)
        let views = plan.arrange(sample.unsqueezed(0))
        let logits = GradMode.noGrad { model(views) }
        return plan.combine(logits)[0]
    }

    public func labels(_ reader: VideoReader, window: Range<Int>? = nil, topK: Int = 5) throws -> VideoLabels {
        let s = try scores(reader, window: window)
        return VideoLabels(labels: LabelScore.top(max(1, min(topK, classNames.count)), of: s, names: classNames), scores: s)
    }

    /// Labels per window of `window` seconds every `stride` seconds (frame times from the
    /// reader's timestamps; a video shorter than one window gets one entry for all of it).
    public func timeline(_ reader: VideoReader, window: Double, stride: Double, topK: Int = 5) throws -> [TimelineEntry] {
        guard window > 0, stride > 0 else { throw PredictionError.badWindow(window: window, stride: stride) }
        let times = reader.timestamps
        guard let first = times.first, let last = times.last else { throw LoaderError.noFrames(reader.source) }
        let frameDuration = times.count > 1 ? (last - first) / Double(times.count - 1) : 0
        let end = last + frameDuration
        var entries: [TimelineEntry] = []
        var start = first
        repeat {
            let stop = min(start + window, end)
            let lo = times.firstIndex { $0 >= start - 1e-6 } ?? times.count
            let hi = times.firstIndex { $0 >= stop - 1e-6 } ?? times.count
            if hi > lo {
                let result = try labels(reader, window: lo..<hi, topK: topK)
                entries.append(TimelineEntry(start: start - first, end: stop - first, labels: result.labels))
            }
            start += stride
        } while start + window <= end + 1e-6
        return entries
    }
}

public enum PredictionError: Error, CustomStringConvertible, Equatable {
    case badWindow(window: Double, stride: Double)

    public var description: String {
        switch self {
        case .badWindow(let w, let s): "a timeline needs a positive window and stride, got \(w) s and \(s) s"
        }
    }
}

/// Parses "2s", "500ms", "1.5" (seconds) or "1m".
public func parseDuration(_ text: String) -> Double? {
    let t = text.trimmingCharacters(in: .whitespaces).lowercased()
    let (number, scale): (Substring, Double) =
        t.hasSuffix("ms") ? (t.dropLast(2), 0.001) : t.hasSuffix("s") ? (t.dropLast(), 1) : t.hasSuffix("m") ? (t.dropLast(), 60) : (Substring(t), 1)
    guard let value = Double(number), value.isFinite, value > 0 else { return nil }
    return value * scale
}
