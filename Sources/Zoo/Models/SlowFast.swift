import Engine
import NN

/// SlowFast (Feichtenhofer et al. 2019) as `pytorchvideo.models.hub.slowfast_r50`, with its keys
/// (`blocks.0.multipathway_blocks.0.conv.weight`, `blocks.1.multipathway_fusion.conv_fast_to_slow.weight`,
/// …, `blocks.6.proj.weight`).
///
/// Input: the fast clip [N, 3, T, H, W] (32×224² by default). The slow pathway sees T/α of its
/// frames, picked as PySlowFast's PackPathway does (linspace(0, T−1, T/α), truncated). The fast
/// pathway has β = 1/8 of the channels; after the stem and each of the first three stages a
/// 7×1×1 conv with temporal stride α (then BN, ReLU) carries it into the slow pathway, whose
/// features it is concatenated to. Head: both pathways average-pooled, concatenated, `proj`.
public final class SlowFast: VideoModel {
    public struct Config: Sendable, Equatable {
        public var alpha = 4
        public var betaInverse = 8
        public var fusionKernel = 7
        public var fusionRatio = 2
        public var blocks = [3, 4, 6, 3]
        public var width = 64
        public var classes = 400
        public var dropout: Float = 0.5
        public init() {}
    }

    struct Pathway {
        let stemConv: Conv, stemNorm: BatchNorm
        let stages: [PyTorchVideoStage]
    }

    struct Fusion {
        let conv: Conv, norm: BatchNorm
    }

    public let config: Config
    let pathways: [Pathway]      // 0 slow, 1 fast
    let fusions: [Fusion]        // after the stem and stages 1–3
    let head: ClassifierHead

    public init(_ config: Config, using rng: inout Xoshiro) {
        self.config = config
        let slowWidth = config.width, fastWidth = config.width / config.betaInverse
        let fusionOut = { (fast: Int) in fast * config.fusionRatio }
        let temporal = [[1, 1, 3, 3], [3, 3, 3, 3]]
        var pathways: [Pathway] = []
        for (p, (width, stemT)) in [(slowWidth, 1), (fastWidth, 5)].enumerated() {
            let stemConv = Conv(3, width, kernelSize: [stemT, 7, 7], stride: [1, 2, 2], padding: [stemT / 2, 3, 3], bias: false, using: &rng)
            var dimIn = width
            var stages: [PyTorchVideoStage] = []
            for (s, count) in config.blocks.enumerated() {
                // The slow pathway also takes the fused fast features of the previous stage.
                if p == 0 { dimIn += fusionOut(fastWidth << (s == 0 ? 0 : s + 1)) }
                let inner = width << s, t = temporal[p][s]
                stages.append(PyTorchVideoStage(depth: count, dimIn: dimIn, inner: inner, stride: s == 0 ? 1 : 2,
                                          temporalKernel: { _ in t }, using: &rng))
                dimIn = inner * 4
            }
            pathways.append(Pathway(stemConv: stemConv, stemNorm: BatchNorm(width), stages: stages))
        }
        self.pathways = pathways
        fusions = (0..<4).map { s in
            let fast = s == 0 ? fastWidth : (fastWidth << (s + 1))
            return Fusion(conv: Conv(fast, fusionOut(fast), kernelSize: [config.fusionKernel, 1, 1], stride: [config.alpha, 1, 1],
                                     padding: [config.fusionKernel / 2, 0, 0], bias: false, using: &rng),
                          norm: BatchNorm(fusionOut(fast)))
        }
        head = ClassifierHead(features: (slowWidth + fastWidth) << 5, classes: config.classes, dropout: config.dropout, using: &rng)
        super.init()
        for i in 0..<5 {
            for (p, pathway) in pathways.enumerated() {
                if i == 0 {
                    register(pathway.stemConv, at: "blocks.0.multipathway_blocks.\(p).conv")
                    register(pathway.stemNorm, at: "blocks.0.multipathway_blocks.\(p).norm")
                } else {
                    register(pathway.stages[i - 1], at: "blocks.\(i).multipathway_blocks.\(p)")
                }
            }
            if i < 4 {
                register(fusions[i].conv, at: "blocks.\(i).multipathway_fusion.conv_fast_to_slow")
                register(fusions[i].norm, at: "blocks.\(i).multipathway_fusion.norm")
            }
        }
        head.register(on: self, at: "blocks.6.proj")
        torchvisionInit(self, using: &rng)
    }

    /// The slow pathway's frames of a T-frame fast clip: linspace(0, T − 1, T/α), truncated.
    public static func slowIndices(frames t: Int, alpha: Int) -> [Int] {
        let n = max(1, t / alpha)
        return (0..<n).map { n == 1 ? 0 : Int(Double(t - 1) * Double($0) / Double(n - 1)) }
    }

    /// Fast clip [N, 3, T, H, W] → [N, 32·(width + width/β)]
    public override func features(_ x: Tensor) -> Tensor {
        ensure(x.rank == 5 && x.shape[1] == 3, "SlowFast: input \(x.shape) should be the fast clip [N, 3, T, H, W]")
        var slow = x.indexSelect(axis: 2, indices: Self.slowIndices(frames: x.shape[2], alpha: config.alpha))
        var fast = x
        func stem(_ y: Tensor, _ p: Pathway) -> Tensor {
            maxPool(p.stemConv.forward(y, norm: p.stemNorm, relu: true), kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1])
        }
        slow = stem(slow, pathways[0])
        fast = stem(fast, pathways[1])
        for s in 0..<4 {
            // Lateral connection: fast → slow, then concatenated on the channels.
            let fused = fusions[s].conv.forward(fast, norm: fusions[s].norm, relu: true)
            slow = Tensor.concat([slow, fused], axis: 1)
            slow = pathways[0].stages[s](slow)
            fast = pathways[1].stages[s](fast)
        }
        return Tensor.concat([globalAvgPool(slow), globalAvgPool(fast)], axis: 1)
    }

    /// Fast clip [N, 3, T, H, W] → [N, classes]
    public override func forward(_ x: Tensor) -> Tensor { head(features(x), training: isTraining) }

    /// The lateral connections stride time by alpha, and the slow pathway takes every alpha-th
    /// frame: the two agree only when alpha divides the frame count.
    public override func inputProblem(_ x: Tensor) -> String? {
        x.shape[2] % config.alpha == 0 ? nil : "clips [N, 3, T, H, W] with T a multiple of \(config.alpha)"
    }
}
