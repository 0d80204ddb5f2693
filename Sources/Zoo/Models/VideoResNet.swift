import Engine
import NN

/// torchvision's video ResNets (`torchvision.models.video`): R3D, MC3 and R(2+1)D, with its
/// state-dict keys (`stem.0.weight`, `layer1.0.conv1.0.weight`, `fc.weight`, …).
///
/// Input [N, 3, T, H, W] (16×112×112 by default, `kinetics` normalisation) → [N, classes].
/// Stem: 3×7×7 conv (R3D, MC3) or 1×7×7 then 3×1×1 through 45 channels (R(2+1)D); four stages
/// of basic blocks with 64·2ⁱ channels, stride 2 from the second stage on; global pool; `fc`.
public final class VideoResNet: VideoModel {
    public struct Config: Sendable, Equatable {
        public enum Stem: String, Sendable { case basic, r2plus1d }
        public var blocks: [Int] = [2, 2, 2, 2]
        public var convs: [ConvKind] = [.full3D, .full3D, .full3D, .full3D]
        public var stem: Stem = .basic
        public var width = 64
        public var classes = 400
        public var dropout: Float = 0
        public init() {}
    }

    public let config: Config
    let stem: Sequential
    let stages: [TorchvisionStage]
    let head: ClassifierHead

    public init(_ config: Config, using rng: inout Xoshiro) {
        ensure(config.blocks.count == 4 && config.convs.count == 4, "VideoResNet: need 4 stages, got \(config.blocks) / \(config.convs)")
        self.config = config
        let w = config.width
        switch config.stem {
        case .basic:
            stem = Sequential(Conv(3, w, kernelSize: [3, 7, 7], stride: [1, 2, 2], padding: [1, 3, 3], bias: false, using: &rng),
                              BatchNorm(w), ReLU())
        case .r2plus1d:
            let mid = w * 45 / 64
            stem = Sequential(Conv(3, mid, kernelSize: [1, 7, 7], stride: [1, 2, 2], padding: [0, 3, 3], bias: false, using: &rng),
                              BatchNorm(mid), ReLU(),
                              Conv(mid, w, kernelSize: [3, 1, 1], stride: [1, 1, 1], padding: [1, 0, 0], bias: false, using: &rng),
                              BatchNorm(w), ReLU())
        }
        var inplanes = w
        var stages: [TorchvisionStage] = []
        for (s, (count, kind)) in zip(config.blocks, config.convs).enumerated() {
            let planes = w << s, stride = s == 0 ? 1 : 2
            var blocks: [ResidualBlock] = []
            for b in 0..<count {
                let blockIn = b == 0 ? inplanes : planes, blockStride = b == 0 ? stride : 1
                // torchvision computes the (2+1)D middle width once per block, from the block's
                // input and output widths, and uses it for both convs.
                let mid = (blockIn * planes * 27) / (blockIn * 9 + 3 * planes)
                let units = [
                    ConvNorm(conv: kind.make(blockIn, planes, mid: mid, stride: blockStride, rng: &rng), norm: BatchNorm(planes)),
                    ConvNorm(conv: kind.make(planes, planes, mid: mid, stride: 1, rng: &rng), norm: BatchNorm(planes)),
                ]
                let shortcut = blockStride != 1 || blockIn != planes
                    ? ConvNorm(conv: Conv(blockIn, planes, kernelSize: [1, 1, 1], stride: kind.shortcutStride(blockStride),
                                          bias: false, using: &rng), norm: BatchNorm(planes))
                    : nil
                blocks.append(ResidualBlock(units: units, shortcut: shortcut, keys: .torchvisionVideo))
            }
            inplanes = planes
            stages.append(TorchvisionStage(blocks))
        }
        self.stages = stages
        head = ClassifierHead(features: w << 3, classes: config.classes, dropout: config.dropout, using: &rng)
        super.init()
        registerModule("stem", stem)
        for (i, stage) in stages.enumerated() { registerModule("layer\(i + 1)", stage) }
        head.register(on: self, at: "fc")
        torchvisionInit(self, using: &rng)
    }

    /// [N, 3, T, H, W] → [N, 8·width]
    public override func features(_ x: Tensor) -> Tensor {
        ensure(x.rank == 5 && x.shape[1] == 3, "VideoResNet: input \(x.shape) should be [N, 3, T, H, W]")
        return globalAvgPool(stages.reduce(stem(x)) { $1($0) })
    }

    /// [N, 3, T, H, W] → [N, classes]
    public override func forward(_ x: Tensor) -> Tensor { head(features(x), training: isTraining) }
}
