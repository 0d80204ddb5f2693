import Engine
import NN

/// PyTorchVideo's single-pathway 3D ResNet-50s (`pytorchvideo.models.hub`: `slow_r50`,
/// `c2d_r50`, `i3d_r50`), with its keys (`blocks.0.conv.weight`,
/// `blocks.1.res_blocks.0.branch2.conv_a.weight`, `blocks.5.proj.weight`, …).
///
/// Input [N, 3, T, 224, 224] (8 frames by default, `kinetics`-style 0.45/0.225 normalisation) →
/// [N, classes]. Stem: T×7×7 conv, BN, ReLU, 1×3×3 max pool. Four bottleneck stages
/// (3, 4, 6, 3 blocks): conv_a is kT×1×1 with a temporal kernel per stage (and, for I3D, per
/// block), conv_b 1×3×3 carries the spatial stride, conv_c 1×1×1. C2D and I3D halve T with a
/// 2×1×1 max pool after the first stage. Head: global average pool, dropout, `proj`.
public final class SlowResNet: VideoModel {
    public struct Config: Sendable, Equatable {
        public var stemTemporalKernel = 1
        /// conv_a's temporal kernel per stage; a stage's list cycles over its blocks.
        public var temporalKernels: [[Int]] = [[1], [1], [3], [3]]
        public var poolAfterFirstStage = false
        public var blocks = [3, 4, 6, 3]
        public var width = 64
        public var classes = 400
        public var dropout: Float = 0.5
        public init() {}
    }

    public let config: Config
    let stemConv: Conv
    let stemNorm: BatchNorm
    let stages: [PyTorchVideoStage]
    let head: ClassifierHead

    public init(_ config: Config, using rng: inout Xoshiro) {
        self.config = config
        let w = config.width, kt = config.stemTemporalKernel
        stemConv = Conv(3, w, kernelSize: [kt, 7, 7], stride: [1, 2, 2], padding: [kt / 2, 3, 3], bias: false, using: &rng)
        stemNorm = BatchNorm(w)
        var dimIn = w
        var stages: [PyTorchVideoStage] = []
        for (s, count) in config.blocks.enumerated() {
            let inner = w << s, out = inner * 4, stride = s == 0 ? 1 : 2
            let kernels = config.temporalKernels[s]
            stages.append(PyTorchVideoStage(depth: count, dimIn: dimIn, inner: inner, stride: stride,
                                      temporalKernel: { kernels[$0 % kernels.count] }, using: &rng))
            dimIn = out
        }
        self.stages = stages
        head = ClassifierHead(features: dimIn, classes: config.classes, dropout: config.dropout, using: &rng)
        super.init()
        register(stemConv, at: "blocks.0.conv")
        register(stemNorm, at: "blocks.0.norm")
        // The optional pool after the first stage is a block of its own and shifts the indices.
        var index = 1
        for (s, stage) in stages.enumerated() {
            register(stage, at: "blocks.\(index)")
            index += s == 0 && config.poolAfterFirstStage ? 2 : 1
        }
        head.register(on: self, at: "blocks.\(index).proj")
        // PyTorchVideo's "resnet" initialisation is torchvision's: He-normal fan-out convs, unit BN, N(0, 0.01²) classifier.
        torchvisionInit(self, using: &rng)
    }

    /// [N, 3, T, H, W] → [N, 32·width]
    public override func features(_ x: Tensor) -> Tensor {
        ensure(x.rank == 5 && x.shape[1] == 3, "SlowResNet: input \(x.shape) should be [N, 3, T, H, W]")
        var y = stemConv.forward(x, norm: stemNorm, relu: true)
        y = maxPool(y, kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1])
        for (s, stage) in stages.enumerated() {
            y = stage(y)
            if s == 0 && config.poolAfterFirstStage { y = maxPool(y, kernel: [2, 1, 1], stride: [2, 1, 1]) }
        }
        return globalAvgPool(y)
    }

    /// [N, 3, T, H, W] → [N, classes]
    public override func forward(_ x: Tensor) -> Tensor { head(features(x), training: isTraining) }

    /// A torchvision image ResNet inflated into the 3D kernels (`Inflation`).
    public override func importImageWeights(_ state: [String: Tensor]) throws -> [String] {
        try Inflation.inflate(state, into: self)
    }

    /// C2D and I3D halve time after the first stage: they need two frames at least.
    public override func inputProblem(_ x: Tensor) -> String? {
        config.poolAfterFirstStage && x.shape[2] < 2 ? "clips [N, 3, T ≥ 2, H, W]" : nil
    }
}

/// PyTorchVideo's stage of bottleneck blocks, under `res_blocks.0`, `res_blocks.1`, …: conv_a
/// kT×1×1 (kT from `temporalKernel(block)`), conv_b 1×3×3 with the stage's spatial stride on the
/// first block, conv_c 1×1×1 to 4·inner channels; a strided 1×1×1 shortcut where the shape changes.
final class PyTorchVideoStage: Layer {
    let blocks: [ResidualBlock]

    static let keys = BlockKeys(convs: ["branch2.conv_a", "branch2.conv_b", "branch2.conv_c"],
                                norms: ["branch2.norm_a", "branch2.norm_b", "branch2.norm_c"],
                                shortcut: ("branch1_conv", "branch1_norm"), shortcutFirst: true)

    init(depth: Int, dimIn: Int, inner: Int, stride: Int, temporalKernel: (Int) -> Int, using rng: inout Xoshiro) {
        let out = inner * 4
        var blocks: [ResidualBlock] = []
        for b in 0..<depth {
            let cin = b == 0 ? dimIn : out, st = b == 0 ? stride : 1, t = temporalKernel(b)
            let units = [
                ConvNorm(conv: Conv(cin, inner, kernelSize: [t, 1, 1], padding: [t / 2, 0, 0], bias: false, using: &rng), norm: BatchNorm(inner)),
                ConvNorm(conv: Conv(inner, inner, kernelSize: [1, 3, 3], stride: [1, st, st], padding: [0, 1, 1], bias: false, using: &rng), norm: BatchNorm(inner)),
                ConvNorm(conv: Conv(inner, out, kernelSize: [1, 1, 1], bias: false, using: &rng), norm: BatchNorm(out)),
            ]
            let shortcut = cin != out || st != 1
                ? ConvNorm(conv: Conv(cin, out, kernelSize: [1, 1, 1], stride: [1, st, st], bias: false, using: &rng), norm: BatchNorm(out))
                : nil
            blocks.append(ResidualBlock(units: units, shortcut: shortcut, keys: Self.keys))
        }
        self.blocks = blocks
        super.init()
        for (i, b) in blocks.enumerated() { register(b, at: "res_blocks.\(i)") }
    }

    override func forward(_ x: Tensor) -> Tensor { blocks.reduce(x) { $1($0) } }
}
