import Engine
@_exported import Specs
import NN

/// What a preset expects as input, and how its clips are sampled.
public struct InputSpec: Codable, Sendable, Equatable {
    /// Frames per view (segments for TSN/TSM).
    public var frames: Int
    public var size: Int
    /// The RGB frames' normalisation.
    public var normalization: NormalizationPreset
    public var clipLength: Int
    public var frameInterval: Int
    public var clips: Int
    /// RGB frames, stacks of `clipLength` optical-flow frames per segment, or both.
    public var modality: Modality

    public init(frames: Int, size: Int, normalization: NormalizationPreset, clipLength: Int, frameInterval: Int, clips: Int,
                modality: Modality = .rgb) {
        (self.frames, self.size, self.normalization) = (frames, size, normalization)
        (self.clipLength, self.frameInterval, self.clips, self.modality) = (clipLength, frameInterval, clips, modality)
    }

    enum CodingKeys: String, CodingKey { case frames, size, normalization, clipLength, frameInterval, clips, modality }

    /// Checkpoints written before flow models have no `modality`: they are RGB.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(frames: try c.decode(Int.self, forKey: .frames), size: try c.decode(Int.self, forKey: .size),
                  normalization: try c.decode(NormalizationPreset.self, forKey: .normalization),
                  clipLength: try c.decode(Int.self, forKey: .clipLength), frameInterval: try c.decode(Int.self, forKey: .frameInterval),
                  clips: try c.decode(Int.self, forKey: .clips), modality: try c.decodeIfPresent(Modality.self, forKey: .modality) ?? .rgb)
    }

    /// Input channels: 3 for RGB, 2·clipLength for a flow stack, both for two streams.
    public var channels: Int {
        switch modality {
        case .rgb: 3
        case .flow: 2 * clipLength
        case .twoStream: 3 + 2 * clipLength
        }
    }
    /// [1, C, T, H, W], one view.
    public var shape: [Int] { [1, channels, frames, size, size] }
}

/// A named architecture in the zoo.
public struct ModelPreset: Sendable {
    public let name: String
    /// Where the architecture (and its state-dict keys) come from.
    public let source: String
    public let input: InputSpec
    public let defaultClasses: Int
    let make: @Sendable (_ classes: Int, _ rng: inout Xoshiro) -> VideoModel

    /// A freshly initialised model (`classes` defaults to the reference's).
    /// The most classes a model may have: a classifier this wide already holds 100,000 rows.
    public static let maxClasses = 100_000

    /// Refuses a class count outside 1…`maxClasses` (from a flag, a checkpoint or a list)
    /// before `build` allocates a classifier for it.
    public static func checkClasses(_ classes: Int) throws(ZooError) {
        guard (1...maxClasses).contains(classes) else { throw .classCount(classes) }
    }

    /// The most elements an input given by hand (`motive flops --input`) may hold: 1 GiB of floats.
    public static let maxInputElements = 1 << 28

    /// Refuses an input shape [N, C, T, H, W] the preset's model cannot take (another channel
    /// count) or that would not fit in memory, before a tensor of it is made.
    public func checkInput(_ shape: [Int]) throws(ZooError) {
        let expected = input.shape
        guard shape.count == expected.count, shape.count >= 2, shape.allSatisfy({ $0 > 0 }) else {
            throw .inputShape(shape, reason: "expected \(expected.count) positive sizes like \(expected)")
        }
        guard shape[1] == expected[1] else { throw .inputShape(shape, reason: "\(name) takes \(expected[1]) channels") }
        var elements = 1
        for size in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow, product <= Self.maxInputElements else {
                throw .inputShape(shape, reason: "more than \(Self.maxInputElements) elements")
            }
            elements = product
        }
    }

    public func build(classes: Int? = nil, seed: UInt64 = 0) -> VideoModel {
        var rng = Xoshiro(seed: seed)
        return make(classes ?? defaultClasses, &rng)
    }
}

public enum ZooError: Error, CustomStringConvertible, Equatable {
    case unknownPreset(String, suggestion: String?)
    case classCount(Int)
    case inputShape([Int], reason: String)

    public var description: String {
        switch self {
        case .inputShape(let shape, let reason): "input \(shape) does not fit: \(reason)"
        case .classCount(let classes): "a model has 1…\(ModelPreset.maxClasses) classes, not \(classes)"
        case .unknownPreset(let name, let suggestion):
            "unknown model \"\(name)\"" + (suggestion.map { " (did you mean \"\($0)\"?)" } ?? "") + "; `motive models` lists them"
        }
    }
}

public enum ModelZoo {
    public static func preset(named name: String) throws(ZooError) -> ModelPreset {
        if let p = presets.first(where: { $0.name == name }) { return p }
        throw .unknownPreset(name, suggestion: nearestMatch(name, among: presets.map(\.name)))
    }

    public static let presets: [ModelPreset] = videoResNets + imageResNets + twoStreams + [c3d, c3dTiny] + slowResNets + slowFasts + timesformers

    // MARK: torchvision video ResNets

    static func videoResNet(_ name: String, blocks: [Int], convs: [ConvKind], stem: VideoResNet.Config.Stem,
                            tiny: Bool) -> ModelPreset {
        let input = tiny ? InputSpec(frames: 8, size: 64, normalization: .kinetics, clipLength: 8, frameInterval: 2, clips: 1)
                         : InputSpec(frames: 16, size: 112, normalization: .kinetics, clipLength: 16, frameInterval: 2, clips: 1)
        return ModelPreset(name: name, source: "torchvision.models.video" + (tiny ? " (¼ width)" : ""), input: input,
                           defaultClasses: tiny ? 10 : 400) { classes, rng in
            var c = VideoResNet.Config()
            c.blocks = blocks; c.convs = convs; c.stem = stem; c.classes = classes
            if tiny { c.width = 16 }
            return VideoResNet(c, using: &rng)
        }
    }

    static let videoResNets: [ModelPreset] = [false, true].flatMap { tiny -> [ModelPreset] in
        let suffix = tiny ? "_tiny" : ""
        return [
            videoResNet("r3d_18" + suffix, blocks: [2, 2, 2, 2], convs: Array(repeating: .full3D, count: 4), stem: .basic, tiny: tiny),
            videoResNet("mc3_18" + suffix, blocks: [2, 2, 2, 2], convs: [.full3D, .spatial, .spatial, .spatial], stem: .basic, tiny: tiny),
            videoResNet("r2plus1d_18" + suffix, blocks: [2, 2, 2, 2], convs: Array(repeating: .twoPlusOne, count: 4), stem: .r2plus1d, tiny: tiny),
            videoResNet("r2plus1d_34" + suffix, blocks: [3, 4, 6, 3], convs: Array(repeating: .twoPlusOne, count: 4), stem: .r2plus1d, tiny: tiny),
        ]
    }

    // MARK: TSN and TSM on torchvision's image ResNets

    static func imageResNet(_ name: String, depth: Int, shift: Bool, tiny: Bool, flowFrames: Int? = nil) -> ModelPreset {
        // MMAction2's Kinetics flow TSN samples 3 segments; its RGB TSN 8.
        let segments = tiny ? 4 : (flowFrames == nil ? 8 : 3)
        let input = flowFrames.map {
            InputSpec(frames: segments, size: tiny ? 64 : 224, normalization: .flow, clipLength: $0, frameInterval: 1,
                      clips: segments, modality: .flow)
        } ?? InputSpec(frames: segments, size: tiny ? 64 : 224, normalization: .imagenet, clipLength: 1, frameInterval: 1, clips: segments)
        var source = "torchvision.models.resnet\(depth)" + (shift ? " + TSM residual shift (Lin et al. 2019)" : " (TSN, Wang et al. 2016)")
        if let l = flowFrames { source += " on stacks of \(l) optical-flow frames (\(2 * l) channels)" }
        return ModelPreset(name: name, source: source + (tiny ? ", ¼ width" : ""), input: input,
                           defaultClasses: tiny ? 10 : 400) { classes, rng in
            var c = ResNet2D.Config()
            c.depth = depth; c.segments = segments; c.temporalShift = shift; c.classes = classes
            c.inputChannels = input.channels
            c.dropout = shift || depth == 50 ? 0.5 : 0.4
            if tiny { c.width = 16 }
            return ResNet2D(c, using: &rng)
        }
    }

    static let imageResNets: [ModelPreset] = [false, true].flatMap { tiny -> [ModelPreset] in
        let suffix = tiny ? "_tiny" : ""
        return [
            imageResNet("tsn_r18" + suffix, depth: 18, shift: false, tiny: tiny),
            imageResNet("tsn_r50" + suffix, depth: 50, shift: false, tiny: tiny),
            imageResNet("tsm_r50" + suffix, depth: 50, shift: true, tiny: tiny),
            imageResNet("tsn_r18_flow" + suffix, depth: 18, shift: false, tiny: tiny, flowFrames: 5),
            imageResNet("tsn_r50_flow" + suffix, depth: 50, shift: false, tiny: tiny, flowFrames: 5),
        ]
    }

    // MARK: Two-stream TSN

    /// An RGB TSN and a flow TSN of the same backbone and segments, fused 1 : 1.5 (TSN). The
    /// streams train as `tsn_rNN` and `tsn_rNN_flow` jobs; `motive two-stream` joins their checkpoints.
    static func twoStream(_ name: String, depth: Int, tiny: Bool) -> ModelPreset {
        let segments = tiny ? 4 : 3, flowFrames = 5
        let input = InputSpec(frames: segments, size: tiny ? 64 : 224, normalization: .imagenet, clipLength: flowFrames,
                              frameInterval: 1, clips: segments, modality: .twoStream)
        return ModelPreset(name: name, source: "TSN two-stream (Wang et al. 2016): torchvision resnet\(depth) on RGB and on "
                           + "\(flowFrames) flow frames, late fusion" + (tiny ? ", ¼ width" : ""),
                           input: input, defaultClasses: tiny ? 10 : 400) { classes, rng in
            var c = ResNet2D.Config()
            c.depth = depth; c.segments = segments; c.classes = classes; c.dropout = 0.4
            if tiny { c.width = 16 }
            var f = c
            f.inputChannels = 2 * flowFrames
            return TwoStream(rgb: ResNet2D(c, using: &rng), flow: ResNet2D(f, using: &rng))
        }
    }

    static let twoStreams: [ModelPreset] = [
        twoStream("two_stream_tsn_r50", depth: 50, tiny: false),
        twoStream("two_stream_tsn_tiny", depth: 18, tiny: true),
    ]

    /// The two-stream preset whose streams are `rgb` and `flow`, if there is one.
    public static func twoStreamPreset(rgb: String, flow: String) -> ModelPreset? {
        switch (rgb, flow) {
        case ("tsn_r50", "tsn_r50_flow"): twoStreams[0]
        case ("tsn_r18_tiny", "tsn_r18_flow_tiny"): twoStreams[1]
        default: nil
        }
    }

    // MARK: PyTorchVideo's single-pathway ResNet-50s

    static func slowResNet(_ name: String, stemKernel: Int, kernels: [[Int]], pool: Bool, tiny: Bool) -> ModelPreset {
        let input = tiny ? InputSpec(frames: 8, size: 64, normalization: .slowfast, clipLength: 8, frameInterval: 4, clips: 1)
                         : InputSpec(frames: 8, size: 224, normalization: .slowfast, clipLength: 8, frameInterval: 8, clips: 1)
        return ModelPreset(name: name, source: "pytorchvideo.models.hub." + name.replacingOccurrences(of: "_tiny", with: "") + (tiny ? " (¼ width)" : ""),
                           input: input, defaultClasses: tiny ? 10 : 400) { classes, rng in
            var c = SlowResNet.Config()
            c.stemTemporalKernel = stemKernel; c.temporalKernels = kernels; c.poolAfterFirstStage = pool; c.classes = classes
            if tiny { c.width = 16 }
            return SlowResNet(c, using: &rng)
        }
    }

    static let slowResNets: [ModelPreset] = [false, true].flatMap { tiny -> [ModelPreset] in
        let suffix = tiny ? "_tiny" : ""
        return [
            slowResNet("slow_r50" + suffix, stemKernel: 1, kernels: [[1], [1], [3], [3]], pool: false, tiny: tiny),
            slowResNet("c2d_r50" + suffix, stemKernel: 1, kernels: [[1], [1], [1], [1]], pool: true, tiny: tiny),
            slowResNet("i3d_r50" + suffix, stemKernel: 5, kernels: [[3], [3, 1], [3, 1], [1, 3]], pool: true, tiny: tiny),
        ]
    }

    // MARK: SlowFast

    static func slowFast(_ name: String, alpha: Int, tiny: Bool) -> ModelPreset {
        let input = tiny ? InputSpec(frames: 16, size: 64, normalization: .slowfast, clipLength: 16, frameInterval: 2, clips: 1)
                         : InputSpec(frames: 32, size: 224, normalization: .slowfast, clipLength: 32, frameInterval: 2, clips: 1)
        let source = alpha == 8 ? "PySlowFast SLOWFAST_4x16_R50 (α=8, β=1/8) in pytorchvideo's layout and keys"
                                : "pytorchvideo.models.hub.slowfast_r50 (α=4, β=1/8)"
        return ModelPreset(name: name, source: source + (tiny ? ", ¼ width" : ""),
                           input: input, defaultClasses: tiny ? 10 : 400) { classes, rng in
            var c = SlowFast.Config()
            // PySlowFast's 4×16 configuration fuses with a 5×1×1 kernel, the 8×8 one with 7×1×1.
            c.alpha = alpha; c.fusionKernel = alpha == 8 ? 5 : 7; c.classes = classes
            if tiny { c.width = 16 }
            return SlowFast(c, using: &rng)
        }
    }

    static let slowFasts: [ModelPreset] = [
        slowFast("slowfast_r50", alpha: 4, tiny: false), slowFast("slowfast_r50_4x16", alpha: 8, tiny: false),
        slowFast("slowfast_r50_tiny", alpha: 4, tiny: true), slowFast("slowfast_r50_4x16_tiny", alpha: 8, tiny: true),
    ]

    // MARK: TimeSformer

    static func timeSformer(_ name: String, source: String, input: InputSpec, classes: Int,
                            configure: @escaping @Sendable (inout TimeSformer.Config) -> Void) -> ModelPreset {
        ModelPreset(name: name, source: source, input: input, defaultClasses: classes) { classes, rng in
            var c = TimeSformer.Config()
            c.frames = input.frames; c.size = input.size; c.classes = classes
            configure(&c)
            return TimeSformer(c, using: &rng)
        }
    }

    static let timesformers: [ModelPreset] = [
        timeSformer("timesformer_base", source: "transformers TimesformerForVideoClassification (divided space-time, ViT-B/16)",
                    input: InputSpec(frames: 8, size: 224, normalization: .slowfast, clipLength: 8, frameInterval: 32, clips: 1),
                    classes: 400) { _ in },
        timeSformer("timesformer_hr", source: "transformers TimesformerForVideoClassification, TimeSformer-HR (16×448)",
                    input: InputSpec(frames: 16, size: 448, normalization: .slowfast, clipLength: 16, frameInterval: 16, clips: 1),
                    classes: 400) { _ in },
        timeSformer("timesformer_tiny", source: "TimeSformer, 4 blocks of 96 dims, 3 heads, 8×8 patches",
                    input: InputSpec(frames: 8, size: 64, normalization: .slowfast, clipLength: 8, frameInterval: 4, clips: 1),
                    classes: 10) { c in
            c.patch = 8; c.dim = 96; c.depth = 4; c.heads = 3; c.mlpDim = 384
        },
    ]

    // MARK: C3D

    static let c3d = ModelPreset(name: "c3d", source: "C3D (Tran et al. 2015), Sports-1M port layer names",
                                 input: InputSpec(frames: 16, size: 112, normalization: .c3d, clipLength: 16, frameInterval: 1, clips: 1),
                                 defaultClasses: 487) { classes, rng in
        var c = C3D.Config()
        c.classes = classes
        return C3D(c, using: &rng)
    }

    /// Batch norm after each conv (MMAction2's `norm_cfg`): without it this small C3D does not
    /// leave ln 10 on the synthetic dataset, in Motive or in PyTorch (bench/c3d_reference.py).
    static let c3dTiny = ModelPreset(name: "c3d_tiny", source: "C3D, ¼ width, 256-wide fc6/fc7, batch norm after each conv",
                                     input: InputSpec(frames: 16, size: 64, normalization: .c3d, clipLength: 16, frameInterval: 1, clips: 1),
                                     defaultClasses: 10) { classes, rng in
        var c = C3D.Config()
        c.classes = classes; c.width = 0.25; c.hidden = 256; c.size = 64; c.batchNorm = true
        return C3D(c, using: &rng)
    }
}

/// The candidate closest to `name` by edit distance, if within `maxDistance` edits.
public func nearestMatch(_ name: String, among candidates: [String], maxDistance: Int = 3) -> String? {
    // Names far longer than every candidate are more than maxDistance away; skip the quadratic work.
    guard name.count <= (candidates.map(\.count).max() ?? 0) + maxDistance else { return nil }
    return candidates.min { editDistance($0, name) < editDistance($1, name) }.flatMap { editDistance($0, name) <= maxDistance ? $0 : nil }
}

/// Levenshtein distance, for "did you mean" suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var row = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var previous = row[0]
        row[0] = i
        for j in 1...max(b.count, 1) where !b.isEmpty {
            let current = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
            previous = current
        }
    }
    return row[b.count]
}
