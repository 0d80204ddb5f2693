/// One model's row of a benchmark: its cost on paper, its cost measured here, and (with a
/// validation list) its accuracy. Field names are those of `bench.jsonl`.
public struct BenchResult: Codable, Sendable, Equatable {
    /// The model's label on the plots.
    public var model: String
    public var preset: String
    /// One view, [1, C, T, H, W].
    public var input: [Int]
    public var paramsM: Double
    /// fvcore's count (one multiply-add is one FLOP) for one view, as `motive flops` gives it.
    public var gflopsPerView: Double
    /// Test views "CLIPSxCROPS".
    public var views: String
    public var gflopsPerVideo: Double
    /// One no-grad forward pass of one view at batch 1.
    public var latencyMsP50: Double
    public var latencyMsP90: Double
    /// Views per second at the bench's batch size.
    public var clipsPerS: Double
    /// GFLOPs per view × views per second.
    public var achievedGflopsPerS: Double
    /// Growth of resident memory while the model ran (latency and throughput), MiB.
    public var peakRssMb: Double
    /// One SGD step (momentum 0.9, cross-entropy) at batch 2, seconds.
    public var trainSPerStepB2: Double?
    /// Accuracy on the bench's list (fractions), through `motive eval`'s code.
    public var top1: Double?
    public var top5: Double?
    public var meanClassAccuracy: Double?
    /// Per video: decoding, sampling and transforms; the forward passes of its views.
    public var decodeMsPerVideo: Double?
    public var inferMsPerVideo: Double?
    /// This row ÷ the PyTorch row of the same model (`--compare`).
    public var latencyVsTorch: Double?
    public var trainStepVsTorch: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, preset, input, paramsM = "params_m", gflopsPerView = "gflops_per_view", views, gflopsPerVideo = "gflops_per_video"
        case latencyMsP50 = "latency_ms_p50", latencyMsP90 = "latency_ms_p90", clipsPerS = "clips_per_s"
        case achievedGflopsPerS = "achieved_gflops_per_s", peakRssMb = "peak_rss_mb", trainSPerStepB2 = "train_s_per_step_b2"
        case top1, top5, meanClassAccuracy = "mean_class_accuracy", decodeMsPerVideo = "decode_ms_per_video"
        case inferMsPerVideo = "infer_ms_per_video", latencyVsTorch = "latency_vs_torch", trainStepVsTorch = "train_step_vs_torch"
    }

    /// Every field name, in `bench.jsonl`'s order.
    public static let fieldNames = CodingKeys.allCases.map(\.stringValue)
}
