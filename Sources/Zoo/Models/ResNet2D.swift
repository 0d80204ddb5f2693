import Engine
import NN

/// TSN and TSM: torchvision's image ResNet (18 or 50 layers, keys identical to
/// `torchvision.models.resnet18/50`, so an ImageNet checkpoint loads as it is) run on every
/// segment, with the segments' pooled features averaged before `fc`.
///
/// Input [N, 3, K, H, W]: K segments (one frame each, TSN sampling) → [N, classes]. With
/// `temporalShift` (TSM), every block first shifts 1/8 of its input channels one segment forward
/// and 1/8 one segment back along the K segments of a clip (the residual shift of Lin et al.).
public final class ResNet2D: VideoModel {
    public struct Config: Codable, Sendable, Equatable {
        public var depth = 50
        public var segments = 8
        public var temporalShift = false
        public var width = 64
        public var classes = 400
        public var dropout: Float = 0
        public init() {}
    }

    public let config: Config
    let conv1: Conv
    let bn1: BatchNorm
    let stages: [Stage]
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
        conv1 = Conv(3, w, kernelSize: [7, 7], stride: [2, 2], padding: [3, 3], bias: false, using: &rng)
        bn1 = BatchNorm(w)
        var inplanes = w
        var stages: [Stage] = []
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
            stages.append(Stage(blocks))
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

    /// [N, 3, K, H, W] → [N, 8·width·expansion], the consensus of the segments' pooled features.
    public override func features(_ x: Tensor) -> Tensor {
        ensure(x.rank == 5 && x.shape[1] == 3 && x.shape[2] == config.segments,
               "ResNet2D: input \(x.shape) should be [N, 3, \(config.segments) segments, H, W]")
        let n = x.shape[0], k = x.shape[2]
        // Fold the segments into the batch, clip by clip: [N·K, 3, H, W].
        let frames = x.permuted([0, 2, 1, 3, 4]).reshaped([n * k, 3, x.shape[3], x.shape[4]])
        var y = bn1(conv1(frames)).relu()
        y = maxPool(y, kernel: [3, 3], stride: [2, 2], padding: [1, 1])
        y = stages.reduce(y) { $1($0) }
        return averageConsensus(globalAvgPool(y), segments: k)
    }

    /// [N, 3, K, H, W] → [N, classes]
    public override func forward(_ x: Tensor) -> Tensor { head(features(x), training: isTraining) }
}
