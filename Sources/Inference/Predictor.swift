import Clips
import Engine
import Foundation
import Video
import Zoo

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

/// One window of a timeline.
public struct TimelineEntry: Codable, Sendable, Equatable {
    public var start: Double
    public var end: Double
    public var labels: [LabelScore]
}

/// What a caller asks of one prediction, besides the video.
public struct PredictionRequest: Sendable {
    public var topK: Int
    /// Labels per window of `window` seconds every `stride` seconds, as well as for the whole video.
    public var timeline: (window: Double, stride: Double)?

    public init(topK: Int = 5, timeline: (window: Double, stride: Double)? = nil) {
        (self.topK, self.timeline) = (topK, timeline)
    }
}

/// The labels of one video, with the time each stage took.
public struct Prediction: Sendable {
    public var labels: [LabelScore]
    /// Scores of every class (probabilities), in class order.
    public var scores: [Float]
    public var timeline: [TimelineEntry]?
    /// The test views, "CLIPSxCROPS".
    public var views: String
    /// Decoding and sampling (and, for flow models, computing the flow); the model's forward
    /// passes; the timeline's windows, each a decode and a forward pass.
    public var decodeSeconds: Double
    public var inferSeconds: Double
    public var timelineSeconds: Double?
}

public enum PredictionError: Error, CustomStringConvertible, Equatable {
    case badWindow(window: Double, stride: Double)
    case tooManyWindows(count: Double, limit: Int)
    case badInput(ModelInputError)

    public var description: String {
        switch self {
        case .badWindow(let w, let s):
            "a timeline needs a finite window and stride of at least one frame, got \(w) s and \(s) s"
        case .tooManyWindows(let n, let limit):
            "the timeline would have \(n < 1e15 ? String(Int(n)) : String(format: "%.3g", n)) windows; at most \(limit) are labelled (use a longer stride)"
        case .badInput(let error): "\(error)"
        }
    }
}

/// A trained model ready to label videos: its preset, classes and view plan. This is the one
/// predict path: `motive predict`, `motive eval`, the daemon and a job's smoke test all label
/// through it. Safe to use from several threads at once (the model only reads its weights in
/// evaluation mode).
public final class Predictor: @unchecked Sendable {
    public let model: VideoModel
    public let classNames: [String]
    public let plan: ViewPlan
    public let preset: String

    /// Windows a timeline may have: each is a decode and a forward pass.
    public static let maxTimelineWindows = 600

    public init(model: VideoModel, preset: String, classNames: [String], plan: ViewPlan) {
        self.model = model.eval()
        self.preset = preset
        self.classNames = classNames
        self.plan = plan
    }

    /// The same model with another plan (another number of views, say); no weights are copied.
    public func with(plan: ViewPlan) -> Predictor { Predictor(model: model, preset: preset, classNames: classNames, plan: plan) }

    /// The test views of the frames `window` of an open video: decoded frames, or for a flow
    /// model the flow computed from them. [V', C, L, H, W].
    public func sample(_ reader: VideoReader, window: Range<Int>? = nil) throws -> Tensor {
        var rng = Xoshiro(seed: 0)                          // test-mode sampling and crops draw nothing
        var recipe = plan.recipe
        recipe.flowThreads = Parallel.workers              // one video: live TV-L1 on every core (same flow either way)
        return try recipe.sample(reader, window: window, using: &rng)
    }

    /// Class probabilities of the frames `window` of an open video (all of it by default).
    public func scores(_ reader: VideoReader, window: Range<Int>? = nil) throws -> [Float] {
        try scores(sample: sample(reader, window: window))
    }

    /// Class probabilities of frames already decoded (a live stream's window), sampled as the
    /// same frames of a file would be. RGB models only.
    public func scores(frames: FrameStack) throws -> [Float] {
        var rng = Xoshiro(seed: 0)
        return try scores(sample: plan.recipe.sample(frames: frames, using: &rng))
    }

    /// Class probabilities of one sampled video [V', C, L, H, W].
    public func scores(sample: Tensor) throws -> [Float] {
        do {
            return try plan.scores(model, samples: sample.unsqueezed(0)).main[0]
        } catch {
            throw PredictionError.badInput(error)
        }
    }

    /// Labels an open video: the whole of it, and a timeline when `request` asks for one.
    public func predict(_ reader: VideoReader, _ request: PredictionRequest = .init()) throws -> Prediction {
        var clock = Stopwatch()
        // A bad timeline is refused before any decoding.
        let windows = try request.timeline.map { try Self.timelineWindows(reader.timestamps, window: $0.window, stride: $0.stride) }
        let sample = try sample(reader)
        let decode = clock.lap()
        let scores = try scores(sample: sample)
        let k = max(1, min(request.topK, classNames.count))
        var result = Prediction(labels: LabelScore.top(k, of: scores, names: classNames), scores: scores, views: plan.views,
                                decodeSeconds: decode, inferSeconds: clock.lap())
        if let windows {
            result.timeline = try windows.map { window in
                let s = try self.scores(reader, window: window.frames)
                return TimelineEntry(start: window.start, end: window.end, labels: LabelScore.top(k, of: s, names: classNames))
            }
            result.timelineSeconds = clock.lap()
        }
        return result
    }

    /// Opens `path` with `options` and labels it.
    public func predict(file path: String, options: ReaderOptions = .init(), _ request: PredictionRequest = .init()) throws -> Prediction {
        try predict(VideoReader(path: path, options: options), request)
    }

    /// One window of a timeline: its frames, and its start and end in seconds from the first frame.
    public struct TimelineWindow: Equatable, Sendable {
        public var frames: Range<Int>
        public var start: Double
        public var end: Double
    }

    /// The windows of `window` seconds every `stride` seconds over frames at `times` (a video
    /// shorter than one window gets one window for all of it). Refuses a window or stride that is
    /// not finite or shorter than one frame, and more than `maxTimelineWindows` windows, before
    /// any arithmetic that could overflow.
    public static func timelineWindows(_ times: [Double], window: Double, stride: Double) throws(PredictionError) -> [TimelineWindow] {
        guard let first = times.first, let last = times.last else { return [] }
        let frame = times.count > 1 ? (last - first) / Double(times.count - 1) : 0
        guard window.isFinite, stride.isFinite, window > 0, stride > 0, window >= frame, stride >= frame else {
            throw .badWindow(window: window, stride: stride)
        }
        let end = last + frame, span = end - first
        let count = span <= window ? 1 : ((span - window + 1e-6) / stride).rounded(.down) + 1
        guard count <= Double(maxTimelineWindows) else { throw .tooManyWindows(count: count, limit: maxTimelineWindows) }
        var windows: [TimelineWindow] = []
        for i in 0..<Int(count) {
            let start = first + Double(i) * stride, stop = min(start + window, end)
            let lo = times.firstIndex { $0 >= start - 1e-6 } ?? times.count
            let hi = times.firstIndex { $0 >= stop - 1e-6 } ?? times.count
            if hi > lo { windows.append(TimelineWindow(frames: lo..<hi, start: start - first, end: stop - first)) }
        }
        return windows
    }
}

/// Seconds between laps.
public struct Stopwatch {
    private var last = DispatchTime.now().uptimeNanoseconds

    public init() {}

    /// The seconds `body` takes.
    public static func time(_ body: () -> Void) -> Double {
        var clock = Stopwatch()
        body()
        return clock.lap()
    }

    public mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) / 1e9
    }
}

/// Parses "2s", "500ms", "1.5" (seconds) or "1m"; nil unless finite and positive.
public func parseDuration(_ text: String) -> Double? {
    let t = text.trimmingCharacters(in: .whitespaces).lowercased()
    let (number, scale): (Substring, Double) =
        t.hasSuffix("ms") ? (t.dropLast(2), 0.001) : t.hasSuffix("s") ? (t.dropLast(), 1) : t.hasSuffix("m") ? (t.dropLast(), 60) : (Substring(t), 1)
    guard let value = Double(number), value.isFinite, value > 0, (value * scale).isFinite, value * scale > 0 else { return nil }
    return value * scale
}
