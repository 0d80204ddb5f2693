import ArgumentParser
import Engine
import Foundation
import Inference
import NN
import Support
import TensorIO
import Training
import Video
import Zoo

/// `motive predict`: labels for videos (whole, or a timeline of windows), or logits of `.npy` clips.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Label videos with a trained model (one JSON line per video), or print the logits of .npy clip tensors.",
        discussion: """
        --model takes a Motive checkpoint, a run directory (its best checkpoint, else its last) or a zoo preset name \
        (with --weights, or untrained). --weights takes a Motive checkpoint or a raw state dict (torch.save .pth/.pt, or \
        safetensors) in the preset's own keys or, with --from, in a public layout (mmaction2, tsm, pyslowfast, …). \
        A .npy input is a normalised float32 C×T×H×W or N×C×T×H×W tensor.
        """)

    @Option(help: "A checkpoint, a run directory, or a preset name (see `motive models`).") var model: String
    @Option(help: "With a preset name: weights (a Motive checkpoint, or a state dict: .pth/.pt or safetensors).") var weights: String?
    @Option(help: "The key layout of a --weights state dict: \(CheckpointLayout.allCases.map(\.rawValue).joined(separator: "|")) (default: motive, the preset's own keys).") var from: String?
    @Option(help: "With a preset name: number of classes (default: the preset's, or the weights' classifier size).") var classes: Int?
    @Option(help: "true: every key of --weights must match; false: load what fits and report the rest.") var strict = true
    @Option(name: .customLong("top-k"), help: "Labels per video.") var topK = 5
    @Option(help: "Test views CLIPSxCROPS, e.g. 10x3 (default: the checkpoint's eval setting, else 1x1).") var views: String?
    @Option(help: "Combine views as MMAction2's average_clips: prob (mean of probabilities) or score (mean of logits).") var average: ViewAveraging?
    @Option(help: "Timeline: window length, e.g. 2s or 500ms.") var window: String?
    @Option(help: "Timeline: step between windows (default: the window).") var stride: String?
    @Flag(help: "For .npy inputs: print the raw logits (the default for .npy).") var logits = false
    @Option(help: "Label a live source as it plays (one JSON line per decision): a URL (rtsp, rtsps, rtmp, http, https, udp, tcp, srt, rtp), - for standard input, a file or named pipe, or a V4L2 device such as /dev/video0.")
    var stream: String?
    @Flag(help: "With --stream: label every frame (or every --every-th) through online TSM (TSM models).") var online = false
    @Option(help: "With --online: label every k-th frame.") var every = 1
    @Option(help: "With --online: average the probabilities of the last N decisions.") var smooth = 4
    @Flag(help: "With --stream: pace a file or pipe at its frame rate, as a camera would deliver it.") var realtime = false
    @Option(name: .customLong("stall-timeout"), help: "With --stream: seconds without data before the stream fails.") var stallTimeout = 10.0
    @Flag(help: "With --stream: reopen a network source that fails or ends (up to 5 times in a row, backing off to 8 s).") var reconnect = false
    @Flag(help: "With --stream and a file: follow it as it grows; it ends once it stops growing for --stall-timeout.") var follow = false
    @Option(help: "With --stream: frames the decoder may run ahead of labelling; past it a live source drops the oldest.") var ring = 64
    @Argument(help: "Videos (any FFmpeg-readable file) or .npy clip tensors.") var inputs: [String] = []

    func validate() throws {
        if stream != nil {
            guard inputs.isEmpty else { throw ValidationError("--stream labels one source; give no other inputs") }
            if online && (window != nil || stride != nil) { throw ValidationError("--online labels frame by frame; --window and --stride go with window mode") }
            guard every >= 1, smooth >= 1, ring >= 1 else { throw ValidationError("--every, --smooth and --ring must be ≥ 1") }
            guard stallTimeout > 0, stallTimeout.isFinite else { throw ValidationError("--stall-timeout must be positive") }
        } else {
            guard !inputs.isEmpty else { throw ValidationError("give at least one video or .npy file, or --stream SOURCE") }
            if online || realtime || reconnect || follow { throw ValidationError("--online, --realtime, --reconnect and --follow go with --stream") }
        }
        if let views, ViewPlan.parseViews(views) == nil { throw ValidationError("--views must look like 10x3 (crops 1, 3 or 10), got \(views)") }
        if let window, parseDuration(window) == nil { throw ValidationError("--window must look like 2s or 500ms, got \(window)") }
        if let stride, parseDuration(stride) == nil { throw ValidationError("--stride must look like 1s or 500ms, got \(stride)") }
        if stride != nil && window == nil { throw ValidationError("--stride needs --window") }
        guard topK >= 1 else { throw ValidationError("--top-k must be ≥ 1") }
        if from != nil && weights == nil { throw ValidationError("--from needs --weights") }
    }

    func run() throws {
        let predictor = try makePredictor()
        if let stream { return try label(stream: stream, predictor) }
        var failures = 0
        for input in inputs {
            if input.lowercased().hasSuffix(".npy") {
                try printLogits(of: input, predictor.model)
                continue
            }
            do {
                try predictVideo(input, predictor)
            } catch {
                failures += 1
                struct Failure: Encodable { let video: String; let error: String }
                print(try compactJSON(Failure(video: input, error: "\(error)")))
            }
        }
        if failures > 0 { throw CLIError("\(failures) of \(inputs.count) inputs failed") }
    }

    func makePredictor() throws -> Predictor {
        let source = try PredictorSource.named(model, weights: weights, layout: try from.map { try KeyMaps.layout(named: $0) } ?? .motive,
                                               classes: classes, strict: strict)
        let (predictor, notes) = try Predictor.load(source, ViewOverrides(views: views.flatMap(ViewPlan.parseViews), averaging: average))
        for note in notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        return predictor
    }

    func predictVideo(_ path: String, _ predictor: Predictor) throws {
        struct Output: Encodable {
            let video: String, model: String, labels: [LabelScore], views: String
            var timeline: [TimelineEntry]?
        }
        let timeline = window.flatMap(parseDuration).map { (window: $0, stride: stride.flatMap(parseDuration) ?? $0) }
        let result = try predictor.predict(file: path, PredictionRequest(topK: topK, timeline: timeline))
        print(try compactJSON(Output(video: path, model: predictor.preset, labels: result.labels, views: result.views,
                                     timeline: result.timeline)))
    }

    /// Labels a live source until it ends; SIGINT or SIGTERM stops it cleanly.
    func label(stream: String, _ predictor: Predictor) throws {
        var options = LiveOptions()
        (options.stallTimeout, options.reconnect, options.realtime, options.follow, options.capacity) = (stallTimeout, reconnect, realtime, follow, ring)
        let mode: StreamMode = online ? .online(every: every, smoothing: smooth)
            : .window(window: window.flatMap(parseDuration) ?? 2, stride: stride.flatMap(parseDuration) ?? 0.5)
        let labeller = try StreamLabeller(predictor: predictor, mode: mode, topK: topK)
        let source = try LiveSource(LiveInput(stream), options: options)
        let signals = StopSignals { count in
            if count > 1 { _exit(130) }    // not exit(): its handlers would run beside the decoding threads
            source.stop()
        }
        defer { signals.cancel() }
        try labeller.run(source) { decision in
            FileHandle.standardOutput.write(Data((try compactJSON(decision) + "\n").utf8))   // unbuffered: a line per decision as it is made
        }
    }

    func printLogits(of clip: String, _ net: VideoModel) throws {
        var x = try NPY.read(URL(fileURLWithPath: clip))
        if x.rank == 4 { x = x.unsqueezed(0) }
        guard x.rank == 5, x.shape[1] == 3 else { throw CLIError("\(clip): shape \(x.shape) is not C×T×H×W or N×C×T×H×W with C = 3") }
        let y = GradMode.noGrad { net(x) }
        struct Output: Encodable { let model: String; let logits: [[Float]] }
        let rows = (0..<y.shape[0]).map { Array(y.scalars[($0 * y.shape[1])..<(($0 + 1) * y.shape[1])]) }
        print(try jsonString(Output(model: model, logits: rows)))
    }
}

extension ViewAveraging: ExpressibleByArgument {
    public init?(argument: String) { guard let value = Self.parse(argument) else { return nil }; self = value }
}

func compactJSON<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
