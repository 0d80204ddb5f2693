import Clips
import Engine
import Foundation
import Training
import Video

/// What one prediction request asks for, besides the video.
struct LabelRequest: Sendable {
    var topK = 5
    /// Seconds per timeline window and between windows, when a timeline is wanted.
    var timeline: (window: Double, stride: Double)?
}

/// The answer to a prediction, as `POST /v1/predict` returns it (with the request id and model added).
struct LabelResult: Sendable {
    var labels: [LabelScore]
    var timeline: [TimelineEntry]?
    var views: String
    /// Opening the video and decoding its sampled frames; the model's forward passes; the timeline's windows.
    var decodeSeconds: Double
    var inferSeconds: Double
    var timelineSeconds: Double?
}

/// Labels one video file with a predictor, synchronously (call it on an inference thread).
enum VideoLabeler {
    /// Decoding limits for uploads: frames up to 4K UHD (the decode-bomb guard), and a watchdog
    /// on stalled demuxing.
    static let readerOptions = ReaderOptions(maxPixels: 3840 * 2160, timeout: 30)
    /// Frames far wider than tall (or the reverse) would be scaled up to huge sizes by the
    /// resize to the model's short side.
    static let maxAspectRatio = 16

    static func label(file path: String, with predictor: Predictor, _ request: LabelRequest) throws(APIError) -> LabelResult {
        var clock = Stopwatch()
        let reader: VideoReader
        let sample: Tensor
        do {
            reader = try VideoReader(path: path, options: readerOptions)
            let size = reader.info.displaySize
            guard max(size.width, size.height) <= maxAspectRatio * max(1, min(size.width, size.height)) else {
                throw APIError.undecodableVideo("the video is \(size.width)×\(size.height); frames more than \(maxAspectRatio) times wider than tall (or the reverse) are refused")
            }
            sample = try predictor.sample(reader)           // decoded frames, or their flow for a flow model
        } catch let error as APIError {
            throw error
        } catch {
            throw .undecodableVideo(describe(error, path: path))
        }
        let decode = clock.lap()
        let plan = predictor.plan, model = predictor.model
        let logits = GradMode.noGrad { model(plan.arrange(sample.unsqueezed(0))) }
        let scores = plan.combine(logits)[0]
        let k = max(1, min(request.topK, predictor.classNames.count))
        var result = LabelResult(labels: LabelScore.top(k, of: scores, names: predictor.classNames), views: "\(plan.clips)x\(plan.crops)",
                                 decodeSeconds: decode, inferSeconds: clock.lap())
        if let timeline = request.timeline {
            let windows = timelineWindows(reader.timestamps, window: timeline.window, stride: timeline.stride)
            guard windows <= maxTimelineWindows else {
                throw .badRequest("window \(timeline.window) s every \(timeline.stride) s makes \(windows) windows on this video; "
                                  + "at most \(maxTimelineWindows) are labelled per request (use a longer stride)", code: "bad_parameter")
            }
            do {
                result.timeline = try predictor.timeline(reader, window: timeline.window, stride: timeline.stride, topK: k)
            } catch {
                throw .undecodableVideo(describe(error, path: path))
            }
            result.timelineSeconds = clock.lap()
        }
        return result
    }

    /// Windows per request: each is a decode and a forward pass.
    static let maxTimelineWindows = 600

    /// How many windows `Predictor.timeline` makes over frames at `times`.
    static func timelineWindows(_ times: [Double], window: Double, stride: Double) -> Int {
        guard let first = times.first, let last = times.last, times.count > 1 else { return 1 }
        let span = (last - first) * Double(times.count) / Double(times.count - 1)
        return span <= window ? 1 : Int(((span - window) / stride).rounded(.down)) + 1
    }

    /// The decoder's message, with the spool path replaced by "upload".
    static func describe(_ error: any Error, path: String) -> String {
        "\(error)".replacingOccurrences(of: path, with: "upload")
    }
}

/// Seconds between laps.
struct Stopwatch {
    private var last = DispatchTime.now().uptimeNanoseconds

    mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) / 1e9
    }
}
