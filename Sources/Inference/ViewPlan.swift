import Clips
import Engine
import Specs
import Video
import Zoo

/// How test views are combined into one score row per video, named as MMAction2's `average_clips`.
public enum ViewAveraging: String, Codable, Sendable, CaseIterable {
    /// Mean of the views' softmax probabilities (`average_clips='prob'`, MMAction2's usual test setting).
    case prob
    /// Mean of the views' raw scores (logits), then one softmax (`average_clips='score'`).
    case score

    /// Reads the current names, and `logit` (the old name of `score`) with a deprecation warning.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let name = try c.decode(String.self)
        guard let value = Self.parse(name) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "\(UnknownName(name, of: Self.self, kind: "view averaging"))")
        }
        self = value
    }

    /// A current name, or the deprecated `logit`.
    public static func parse(_ name: String) -> ViewAveraging? {
        if name == "logit" {
            Deprecation.warn("view averaging 'logit' is now called 'score' (MMAction2's name); 'logit' is accepted for one more release")
            return .score
        }
        return ViewAveraging(rawValue: name)
    }
}

/// How a checkpoint is tested unless a caller says otherwise: views, their averaging, and the
/// job's test pipeline and normalisation.
public struct TestSettings: Codable, Sendable, Equatable {
    public var clips: Int
    public var crops: Int
    public var averaging: ViewAveraging
    /// Replaces the default test pipeline (resize and crops) while the views are these.
    public var pipeline: ClipPipeline?
    /// The RGB frames' normalisation when it is not the preset's.
    public var normalization: Normalization?

    public init(clips: Int = 1, crops: Int = 1, averaging: ViewAveraging = .prob, pipeline: ClipPipeline? = nil,
                normalization: Normalization? = nil) {
        (self.clips, self.crops, self.averaging, self.pipeline, self.normalization) = (clips, crops, averaging, pipeline, normalization)
    }
}

/// Multi-view testing: `clips` temporal views × `crops` spatial views (1, 3 or 10) per video.
///
/// A dense 3D model gets `clips` test-mode clips spread over the video. A segment model (TSN, TSM:
/// clip length 1) gets `segments · clips` evenly spaced frames, dealt into `clips` interleaved views
/// of `segments` frames, so each view still spans the whole video.
public struct ViewPlan: Sendable, Equatable {
    public var input: InputSpec
    public var clips: Int
    public var crops: Int
    public var averaging: ViewAveraging
    /// Replaces the default test pipeline (resize and crops); its crops must give `crops` views.
    public var pipeline: ClipPipeline?
    /// The default pipeline's normalisation when it is not the preset's (a job that trained with
    /// another one tests with it too). For a two-stream model, its RGB part's.
    public var normalization: Normalization?
    /// How flow models and two-stream models compute flow from videos.
    public var flowOptions = FlowExtractionOptions()

    public init(input: InputSpec, clips: Int = 1, crops: Int = 1, averaging: ViewAveraging = .prob, pipeline: ClipPipeline? = nil,
                normalization: Normalization? = nil) {
        self.input = input
        self.clips = clips
        self.crops = crops
        self.averaging = averaging
        self.pipeline = pipeline
        self.normalization = normalization
    }

    /// The plan of `settings`.
    public init(input: InputSpec, _ settings: TestSettings) {
        self.init(input: input, clips: settings.clips, crops: settings.crops, averaging: settings.averaging,
                  pipeline: settings.pipeline, normalization: settings.normalization)
    }

    /// Views per video.
    public var count: Int { clips * crops }
    /// "CLIPSxCROPS", as requests and reports spell it.
    public var views: String { "\(clips)x\(crops)" }

    /// This plan with other views: the default pipeline for them (a job's own pipeline makes its
    /// own crops), everything else (averaging, normalisation, flow) kept.
    public func with(clips: Int, crops: Int) -> ViewPlan {
        var plan = self
        (plan.clips, plan.crops, plan.pipeline) = (clips, crops, nil)
        return plan
    }

    /// TSN and TSM (one frame per segment), and flow stacks (one stack of L frames per segment,
    /// already folded into the channels by the sample recipe).
    var isSegmentModel: Bool { input.clipLength == 1 || input.modality != .rgb }

    /// Parses "CLIPSxCROPS", e.g. "10x3".
    public static func parseViews(_ text: String) -> (clips: Int, crops: Int)? {
        let parts = text.lowercased().split(separator: "x").map { Int($0) }
        guard parts.count == 2, let clips = parts[0], let crops = parts[1], clips >= 1, [1, 3, 10].contains(crops) else { return nil }
        return (clips, crops)
    }

    public var sampler: FrameSampler {
        switch input.modality {
        case .flow, .twoStream: .flowStack(length: input.clipLength, segments: input.frames * clips, testMode: true)
        case .rgb: isSegmentModel
            ? .tsn(segments: input.frames * clips, testMode: true)
            : .dense(length: input.clipLength, interval: input.frameInterval, clips: clips, testMode: true)
        }
    }

    /// Short side `size`·8/7 and a centre crop, or ten crops; three crops of the short side `size`
    /// (the references' test protocols).
    public var testPipeline: ClipPipeline {
        if let pipeline { return pipeline }
        // A two-stream pipeline normalises the flow part; the RGB part's is `rgbNormalization`.
        let normalization = input.modality == .twoStream ? Normalization(.flow) : rgbNormalization
        let size = FrameSize.square(input.size), wide = input.size * 8 / 7
        switch crops {
        case 3: return ClipPipeline([.resizeShortSide(side: input.size), .threeCrop(size: size)], normalization: normalization)
        case 10: return ClipPipeline([.resizeShortSide(side: wide), .tenCrop(size: size)], normalization: normalization)
        default: return ClipPipeline([.resizeShortSide(side: wide), .centreCrop(size: size)], normalization: normalization)
        }
    }

    /// The RGB frames' normalisation: the job's, else the preset's.
    public var rgbNormalization: Normalization { normalization ?? Normalization(input.normalization) }

    /// Test-mode sampling of the plan's modality: flow models read flow folders (`motive flow`
    /// writes them) or compute the flow of videos; two-stream models compute it beside each
    /// segment's RGB frame.
    public var recipe: SampleRecipe {
        let source: SampleSource = switch input.modality {
        case .rgb: .rgb
        case .flow: .flow(FlowFrames())
        case .twoStream: .twoStream(rgb: rgbNormalization)
        }
        var recipe = SampleRecipe(sampler: sampler, pipeline: testPipeline, source: source)
        recipe.liveFlow = flowOptions
        return recipe
    }

    /// Loader batches [B, V', C, L, H, W] (V' = crops · sampled clips, crop-major) → the model's
    /// views [B·V, C, T, H, W], video-major.
    public func arrange(_ batch: Tensor) -> Tensor {
        let (b, v, c, l, h, w) = (batch.shape[0], batch.shape[1], batch.shape[2], batch.shape[3], batch.shape[4], batch.shape[5])
        guard isSegmentModel else { return batch.reshaped([b * v, c, l, h, w]) }
        let segments = input.frames
        ensure(l == 1 && v == crops * segments * clips, "ViewPlan: \(v) samples of \(l) frames do not make \(crops)×\(clips) views of \(segments) segments")
        // [B, crops, segments, clips, C, H, W] → [B, crops, clips, C, segments, H, W]
        return batch.reshaped([b, crops, segments, clips, c, h, w]).permuted([0, 1, 3, 4, 2, 5, 6])
            .reshaped([b * crops * clips, c, segments, h, w])
    }

    /// Per-view logits [B·V, K] → one row of class scores per video (probabilities summing to 1).
    public func combine(_ logits: Tensor) -> [[Float]] {
        let k = logits.shape[1], videos = logits.shape[0] / count
        let rows: Tensor = switch averaging {
        case .prob: logits.softmax(axis: 1).reshaped([videos, count, k]).mean(axis: 1)
        case .score: logits.reshaped([videos, count, k]).mean(axis: 1).softmax(axis: 1)
        }
        let values = rows.scalars
        return (0..<videos).map { Array(values[($0 * k)..<(($0 + 1) * k)]) }
    }

    /// The whole test path after sampling: samples [B, V', C, L, H, W] → views → the model's
    /// forward passes (at most `maxViews` views at a time) → one score row per video, for the
    /// model's main output and for each of its named streams (a two-stream model's `rgb` and `flow`).
    public func scores(_ model: VideoModel, samples: Tensor, maxViews: Int = .max) throws(ModelInputError) -> ViewScores {
        let views = arrange(samples)
        try model.check(input: views)
        let step = max(1, maxViews)
        let chunks: [ModelOutputs] = GradMode.noGrad {
            stride(from: 0, to: views.shape[0], by: step).map { start in
                model.outputs(views.sliced(axis: 0, start: start, end: min(start + step, views.shape[0])))
            }
        }
        func join(_ pick: (ModelOutputs) -> Tensor) -> [[Float]] {
            combine(chunks.count == 1 ? pick(chunks[0]) : Tensor.concat(chunks.map(pick), axis: 0))
        }
        let names = chunks.first?.streams.map(\.name) ?? []
        return ViewScores(main: join(\.main), streams: names.enumerated().map { i, name in (name, join { $0.streams[i].logits }) })
    }
}

/// Score rows per video: the model's main output, and each named stream's.
public struct ViewScores {
    public var main: [[Float]]
    public var streams: [(name: String, rows: [[Float]])]
}
