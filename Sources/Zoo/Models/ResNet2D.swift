import Engine
import NN

/// TSN and TSM: torchvision's image ResNet (18 or 50 layers, keys identical to
/// `torchvision.models.resnet18/50`, so an ImageNet checkpoint loads as it is) run on every
/// segment, with the segments' pooled features averaged before `fc`.
///
/// Input [N, C, K, H, W]: K segments (one frame each, TSN sampling; C = 3) or K stacks of L
/// optical-flow frames (C = 2L, x and y interleaved; TSN's temporal stream) → [N, classes]. With
/// `temporalShift` (TSM), every block first shifts 1/8 of its input channels one segment forward
/// and 1/8 one segment back along the K segments of a clip (the residual shift of Lin et al.).
public final class ResNet2D: VideoModel {
    public struct Config: Sendable, Equatable {
        public var depth = 50
        public var segments = 8
        public var temporalShift = false
        public var width = 64
        public var classes = 400
        public var dropout: Float = 0
        /// 3 for RGB frames, 2L for stacks of L flow frames.
        public var inputChannels = 3
        public init() {}
    }

    public let config: Config
    let conv1: Conv
    let bn1: BatchNorm
    let stages: [TorchvisionStage]
    let head: ClassifierHead

    public init(_ config: Config, using rng: inout Xoshiro) {
        let layout: (blocks: [Int], bottleneck: Bool)
        switch config.depth {
        case 18: layout = ([2, 2, 2, 2], false)
        case 34: layout = ([3, 4, 6, 3], false)
        case 50: layout = ([3, 4, 6, 3], true)
        case 101: layout = ([3, 4, 23, 3], true)
        default: fatalError("ResNet2D: depth must be 18, 34, 50 or 101, got \(config.depth)")
        }
        self.config = config
        let w = config.width, expansion = layout.bottleneck ? 4 : 1
        conv1 = Conv(config.inputChannels, w, kernelSize: [7, 7], stride: [2, 2], padding: [3, 3], bias: false, using: &rng)
        bn1 = BatchNorm(w)
        var inplanes = w
        var stages: [TorchvisionStage] = []
        for (s, count) in layout.blocks.enumerated() {
            let planes = w << s, out = planes * expansion
            var blocks: [ResidualBlock] = []
            for b in 0..<count {
                let stride = b == 0 && s > 0 ? 2 : 1, cin = b == 0 ? inplanes : out
                let units: [ConvNorm]
                if layout.bottleneck {
                    // torchvision's v1.5 bottleneck: the stride sits on the 3×3 conv.
                    units = [
                        ConvNorm(conv: Conv(cin, planes, kernelSize: [1, 1], bias: false, using: &rng), norm: BatchNorm(planes)),
                        ConvNorm(conv: ConvKind.image2D.make(planes, planes, mid: 0, stride: stride, rng: &rng), norm: BatchNorm(planes)),
                        ConvNorm(conv: Conv(planes, out, kernelSize: [1, 1], bias: false, using: &rng), norm: BatchNorm(out)),
                    ]
                } else {
                    units = [
                        ConvNorm(conv: ConvKind.image2D.make(cin, planes, mid: 0, stride: stride, rng: &rng), norm: BatchNorm(planes)),
                        ConvNorm(conv: ConvKind.image2D.make(planes, planes, mid: 0, stride: 1, rng: &rng), norm: BatchNorm(planes)),
                    ]
                }
                let shortcut = stride != 1 || cin != out
                    ? ConvNorm(conv: Conv(cin, out, kernelSize: [1, 1], stride: [stride, stride], bias: false, using: &rng), norm: BatchNorm(out))
                    : nil
                blocks.append(ResidualBlock(units: units, shortcut: shortcut, keys: .torchvisionImage(units: units.count),
                                            shiftSegments: config.temporalShift ? config.segments : nil))
            }
            inplanes = out
            stages.append(TorchvisionStage(blocks))
        }
        self.stages = stages
        head = ClassifierHead(features: w * 8 * expansion, classes: config.classes, dropout: config.dropout, using: &rng)
        super.init()
        registerModule("conv1", conv1)
        registerModule("bn1", bn1)
        for (i, stage) in stages.enumerated() { registerModule("layer\(i + 1)", stage) }
        head.register(on: self, at: "fc")
        torchvisionInit(self, using: &rng)
    }

    /// [N, C, K, H, W] → [N, 8·width·expansion], the consensus of the segments' pooled features.
    public override func features(_ x: Tensor) -> Tensor {
        let c = config.inputChannels
        ensure(x.rank == 5 && x.shape[1] == c && x.shape[2] == config.segments,
               "ResNet2D: input \(x.shape) should be [N, \(c), \(config.segments) segments, H, W]")
        let n = x.shape[0], k = x.shape[2]
        // Fold the segments into the batch, clip by clip: [N·K, C, H, W].
        let frames = x.permuted([0, 2, 1, 3, 4]).reshaped([n * k, c, x.shape[3], x.shape[4]])
        var y = conv1.forward(frames, norm: bn1, relu: true)
        y = maxPool(y, kernel: [3, 3], stride: [2, 2], padding: [1, 1])
        y = stages.reduce(y) { $1($0) }
        return averageConsensus(globalAvgPool(y), segments: k)
    }

    /// [N, C, K, H, W] → [N, classes]
    public override func forward(_ x: Tensor) -> Tensor { head(features(x), training: isTraining) }

    /// 3 for RGB frames, 2L for a stack of L flow frames.
    public override var inputChannels: Int { config.inputChannels }

    public override func inputProblem(_ x: Tensor) -> String? {
        x.shape[2] == config.segments ? nil : "[N, \(config.inputChannels), \(config.segments) segments, H, W]"
    }

    /// A torchvision image ResNet (or an RGB TSN): every tensor of the same key and shape loads,
    /// and a flow model's `conv1` is built from the RGB one (cross-modality). Returns the keys
    /// left as initialised (a classifier for other classes).
    public override func importImageWeights(_ state: [String: Tensor]) throws -> [String] {
        let report = try load(state, strict: false) { report in
            let left = Set(report.missing.map(\.key) + report.mismatched.map(\.key))
            guard !left.contains("conv1.weight"), stateDict().count - left.count > 1 else {
                throw ImageWeightsError.notAResNet(depth: config.depth, width: config.width)
            }
        }
        return report.missing.map(\.key) + report.mismatched.map(\.key)
    }

    /// Cross-modality initialisation (Wang et al. 2016): an RGB `conv1.weight` [O, 3, 7, 7] loaded
    /// into a flow model becomes its mean over the three input channels, repeated for each of the
    /// model's 2L channels, so an ImageNet or RGB checkpoint starts the temporal stream.
    public override func adaptStateDict(_ dict: [String: Tensor]) -> [String: Tensor] {
        let c = config.inputChannels
        guard c != 3, let rgb = dict["conv1.weight"], rgb.rank == 4, rgb.shape[1] == 3 else { return dict }
        var out = dict
        out["conv1.weight"] = Self.crossModality(rgb, channels: c)
        return out
    }

    /// [O, I, kh, kw] → [O, channels, kh, kw]: every new input channel is the mean over the old ones.
    public static func crossModality(_ weight: Tensor, channels: Int) -> Tensor {
        let (o, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3]), plane = kh * kw
        let mean = weight.detached().mean(axis: 1).scalars             // [O, kh·kw]
        var out = [Float](repeating: 0, count: o * channels * plane)
        for oc in 0..<o {
            for ic in 0..<channels {
                let to = (oc * channels + ic) * plane
                for p in 0..<plane { out[to + p] = mean[oc * plane + p] }
            }
        }
        return Tensor(out, shape: [o, channels, kh, kw])
    }
}
