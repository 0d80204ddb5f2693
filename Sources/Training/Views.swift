import Clips
import Engine
import Video
import Zoo

/// How test views are combined into one score per video.
public enum ViewAveraging: String, Codable, Sendable, CaseIterable {
    /// Mean of the views' softmax scores (MMAction2's `average_clips='prob'`, its default for testing).
    case score
    /// Mean of the raw logits, then one softmax (`average_clips='score'` in MMAction2's naming).
    case logit
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

    public init(input: InputSpec, clips: Int = 1, crops: Int = 1, averaging: ViewAveraging = .score, pipeline: ClipPipeline? = nil,
                normalization: Normalization? = nil) {
        self.input = input
        self.clips = clips
        self.crops = crops
        self.averaging = averaging
        self.pipeline = pipeline
        self.normalization = normalization
    }

    /// Views per video.
    public var count: Int { clips * crops }
    /// TSN and TSM (one frame per segment), and flow stacks (one stack of L frames per segment,
    /// already folded into the channels by the sample recipe).
    var isSegmentModel: Bool { input.clipLength == 1 || input.isFlow || input.isTwoStream }

    /// Parses "CLIPSxCROPS", e.g. "10x3".
    public static func parseViews(_ text: String) -> (clips: Int, crops: Int)? {
        let parts = text.lowercased().split(separator: "x").map { Int($0) }
        guard parts.count == 2, let clips = parts[0], let crops = parts[1], clips >= 1, [1, 3, 10].contains(crops) else { return nil }
        return (clips, crops)
    }

    public var sampler: FrameSampler {
        if input.isFlow || input.isTwoStream {
            return .flowStack(length: input.clipLength, segments: input.frames * clips, testMode: true)
        }
        return isSegmentModel
            ? .tsn(segments: input.frames * clips, testMode: true)
            : .dense(length: input.clipLength, interval: input.frameInterval, clips: clips, testMode: true)
    }

    /// Short side `size`·8/7 and a centre crop, or ten crops; three crops of the short side `size`
    /// (the references' test protocols).
    public var testPipeline: ClipPipeline {
        if let pipeline { return pipeline }
        // A two-stream pipeline normalises the flow part; the RGB part's is `rgbNormalization`.
        let normalization = input.isTwoStream ? Normalization(.flow) : rgbNormalization
        let size = FrameSize.square(input.size), wide = input.size * 8 / 7
        switch crops {
        case 3: return ClipPipeline([.resizeShortSide(side: input.size), .threeCrop(size: size)], normalization: normalization)
        case 10: return ClipPipeline([.resizeShortSide(side: wide), .tenCrop(size: size)], normalization: normalization)
        default: return ClipPipeline([.resizeShortSide(side: wide), .centreCrop(size: size)], normalization: normalization)
        }
    }

    /// The RGB frames' normalisation: the job's, else the preset's.
    public var rgbNormalization: Normalization {
        normalization ?? Normalization(Normalization.Preset(rawValue: input.normalization) ?? .imagenet)
    }

    /// Flow models read flow folders (`motive flow` writes them) or compute the flow of videos;
    /// two-stream models compute it beside each segment's RGB frame.
    public var recipe: SampleRecipe {
        var recipe = SampleRecipe(sampler: sampler, pipeline: testPipeline, flow: input.isFlow ? FlowFrames() : nil)
        recipe.twoStreamRGB = input.isTwoStream ? rgbNormalization : nil
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
        let rows: Tensor = averaging == .score
            ? logits.softmax(axis: 1).reshaped([videos, count, k]).mean(axis: 1)
            : logits.reshaped([videos, count, k]).mean(axis: 1).softmax(axis: 1)
        let values = rows.scalars
        return (0..<videos).map { Array(values[($0 * k)..<(($0 + 1) * k)]) }
    }
}
