import Clips
import Engine
import Foundation
import Video
import Zoo

/// How a live stream is labelled.
public enum StreamMode: Sendable, Equatable {
    /// Every `stride` seconds, the last `window` seconds of frames, sampled with the model's test
    /// sampler as `Predictor.predict` samples a timeline's window. Any RGB model.
    case window(window: Double, stride: Double)
    /// Every `every`-th frame through `OnlineTSM` (past-only shift with per-block caches), its
    /// probabilities averaged over the last `smoothing` decisions. TSM models only.
    case online(every: Int, smoothing: Int)
}

/// One decision on a live stream.
public struct StreamDecision: Codable, Sendable, Equatable {
    /// The stream time the labels cover, in seconds from the first frame: the window, or (online)
    /// the first and last frame of the smoothing span.
    public var tStart: Double
    public var tEnd: Double
    public var labels: [LabelScore]
    /// From the decoding of the frame that made the decision possible (the first past a window,
    /// or the frame labelled online) to the decision.
    public var latencyMs: Double
    /// Frames not labelled so far: dropped by the source's ring, or skipped to catch up.
    public var dropped: Int

    /// Times are rounded to the microsecond, as a stride's multiples print.
    public init(tStart: Double, tEnd: Double, labels: [LabelScore], latencyMs: Double, dropped: Int) {
        func micro(_ t: Double) -> Double { (t * 1e6).rounded() / 1e6 }
        (self.tStart, self.tEnd, self.labels, self.latencyMs, self.dropped) = (micro(tStart), micro(tEnd), labels, latencyMs, dropped)
    }

    enum CodingKeys: String, CodingKey {
        case tStart = "t_start", tEnd = "t_end", labels, latencyMs = "latency_ms", dropped
    }
}

public enum StreamError: Error, CustomStringConvertible, Equatable {
    case notOnline(preset: String)
    case notRGB(preset: String)
    case badMode(String)

    public var description: String {
        switch self {
        case .notOnline(let preset): "online labelling needs a TSM model (its past-only shift); \(preset) is not one"
        case .notRGB(let preset): "live labelling needs an RGB model; \(preset) reads optical flow"
        case .badMode(let reason): reason
        }
    }
}

/// Labels a live source as it plays, through the one predict path (`Predictor`): window mode
/// samples each window's frames as a timeline window of the same frames is sampled from a file,
/// so a recorded video streamed through a pipe gets the labels `motive predict --window` gives it.
/// `@unchecked Sendable`: it may be handed to the thread that runs it; `run` is called from one thread at a time.
public final class StreamLabeller: @unchecked Sendable {
    public let predictor: Predictor
    public let mode: StreamMode
    public let topK: Int
    private let online: OnlineTSM?

    public init(predictor: Predictor, mode: StreamMode, topK: Int = 3) throws(StreamError) {
        guard case .rgb = predictor.plan.recipe.source else { throw .notRGB(preset: predictor.preset) }
        switch mode {
        case .window(let window, let stride):
            guard window.isFinite, stride.isFinite, window > 0, stride > 0 else {
                throw .badMode("a window and a stride must be finite and positive, got \(window) s and \(stride) s")
            }
            online = nil
        case .online(let every, let smoothing):
            guard every >= 1, smoothing >= 1 else { throw .badMode("online labelling needs every ≥ 1 and smoothing ≥ 1") }
            guard let net = predictor.model as? ResNet2D, net.config.temporalShift else { throw .notOnline(preset: predictor.preset) }
            online = OnlineTSM(net)
        }
        self.predictor = predictor
        self.mode = mode
        self.topK = max(1, min(topK, predictor.classNames.count))
    }

    /// Starts `source` and labels it until it ends (returns), fails (throws) or is stopped
    /// (returns); `decide` gets each decision as it is made, on the calling thread.
    public func run(_ source: LiveSource, decide: (StreamDecision) throws -> Void) throws {
        source.start()
        defer { source.stop() }
        switch mode {
        case .window(let window, let stride): try runWindows(source, window: window, stride: stride, decide: decide)
        case .online(let every, let smoothing): try runOnline(source, every: every, smoothing: smoothing, decide: decide)
        }
    }

    private func labels(_ scores: [Float]) -> [LabelScore] { LabelScore.top(topK, of: scores, names: predictor.classNames) }

    private func stack(_ frames: ArraySlice<LiveFrame>, size: FrameSize) -> FrameStack {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(frames.count * size.width * size.height * 3)
        for frame in frames { pixels.append(contentsOf: frame.pixels) }
        return FrameStack(count: frames.count, height: size.height, width: size.width, pixels: pixels)
    }

    // MARK: - Window mode

    /// Window k covers [k·stride, k·stride + window) seconds, with the 1e-6 s tolerance of
    /// `Predictor.timelineWindows`. It is labelled once a frame at or past its end has arrived;
    /// at the end of the stream, the windows the file's timeline would still have are labelled.
    /// A source that drops frames (a live one) skips to the newest complete window when several
    /// are due, so decisions stay current; one that does not drop labels every window.
    private func runWindows(_ source: LiveSource, window: Double, stride: Double, decide: (StreamDecision) throws -> Void) throws {
        let epsilon = 1e-6
        var buffer: [LiveFrame] = []
        var k = 0, dropped = 0
        var last: LiveFrame?
        func start(_ k: Int) -> Double { Double(k) * stride }

        func label(_ k: Int, end: Double) throws {
            let lo = buffer.firstIndex { $0.time >= start(k) - epsilon } ?? buffer.count
            let hi = buffer.firstIndex { $0.time >= end - epsilon } ?? buffer.count
            guard hi > lo else { return }
            let scores = try predictor.scores(frames: stack(buffer[lo..<hi], size: source.size))
            // From the arrival of the frame that completed the window (at the end: the last frame).
            let latency = (LiveSource.now() - (hi < buffer.count ? buffer[hi] : buffer[buffer.count - 1]).arrival) * 1000
            try decide(StreamDecision(tStart: start(k), tEnd: end, labels: labels(scores), latencyMs: latency, dropped: dropped))
        }

        while let batch = try source.next() {
            buffer.append(contentsOf: batch.frames)
            dropped = batch.dropped
            last = batch.frames.last
            let now = last!.time
            // Windows whose end a frame has reached.
            let due = Int(((now - window + epsilon) / stride).rounded(.down)) + 1
            if source.dropsFrames && due - k > 1 { k = due - 1 }
            while k < due {
                try label(k, end: start(k) + window)
                k += 1
                buffer.removeFirst(buffer.firstIndex { $0.time >= start(k) - epsilon } ?? buffer.count)
            }
        }
        // The end: the windows a file of these frames would still have (Predictor.timelineWindows).
        guard let last else { return }
        let interval = last.sequence > 0 ? last.time / Double(last.sequence) : 0
        let end = last.time + interval
        let count = end <= window ? 1 : Int(((end - window + epsilon) / stride).rounded(.down)) + 1
        while k < count {
            try label(k, end: min(start(k) + window, end))
            k += 1
        }
    }

    // MARK: - Online mode

    private func runOnline(_ source: LiveSource, every: Int, smoothing: Int, decide: (StreamDecision) throws -> Void) throws {
        guard let online else { return }
        online.reset()
        // One centre crop per frame, the model's own test resize and normalisation.
        let pipeline = predictor.plan.with(clips: 1, crops: 1).recipe.pipeline
        var recent: [(time: Double, scores: [Float])] = []
        var skipped = 0
        var rng = Xoshiro(seed: 0)
        while let batch = try source.next() {
            var frames = batch.frames.filter { $0.sequence % every == 0 }
            // Behind a live source: label the newest frame, skip the rest.
            if source.dropsFrames && frames.count > 1 {
                skipped += frames.count - 1
                frames = [frames.last!]
            }
            for frame in frames {
                let views = pipeline(FrameStack(count: 1, height: source.size.height, width: source.size.width, pixels: frame.pixels),
                                     using: &rng)                                  // [1, C, 1, H, W]
                let x = views.reshaped([1, views.shape[1], views.shape[3], views.shape[4]])
                let scores = online.step(x).softmax(axis: 1).scalars
                recent.append((frame.time, scores))
                if recent.count > smoothing { recent.removeFirst() }
                var mean = [Float](repeating: 0, count: scores.count)
                for entry in recent { for i in mean.indices { mean[i] += entry.scores[i] / Float(recent.count) } }
                let latency = (LiveSource.now() - frame.arrival) * 1000
                try decide(StreamDecision(tStart: recent[0].time, tEnd: frame.time, labels: labels(mean), latencyMs: latency,
                                          dropped: batch.dropped + skipped))
            }
        }
    }
}
