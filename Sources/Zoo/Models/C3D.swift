import Engine
import NN

/// C3D (Tran et al., ICCV 2015) with the layer names of the Sports-1M checkpoint ports:
/// `conv1a`, `conv2a`, `conv3a/b`, `conv4a/b`, `conv5a/b`, `fc6`, `fc7`, `fc8`.
///
/// Input [N, 3, 16, 112, 112] (`c3d` normalisation) → [N, classes]. Eight 3×3×3 convs with
/// ReLU, max pools (1,2,2) then (2,2,2) ×4, the last padded (0,1,1), so the features are
/// 512·1·4·4 = 8192; fc6 and fc7 of 4096 with ReLU and dropout; fc8.
///
/// With `batchNorm` (MMAction2's `norm_cfg=BN3d`) each conv loses its bias and is followed by a
/// batch norm, under MMAction2's ConvModule keys: `conv1a.conv`, `conv1a.bn`.
public final class C3D: VideoModel {
    public struct Config: Sendable, Equatable {
        public var classes = 487
        /// Channel multiplier on 64/128/256/512 (1 for the paper's network).
        public var width: Float = 1
        public var hidden = 4096
        public var dropout: Float = 0.5
        /// Input frames and size; they fix fc6's width.
        public var frames = 16
        public var size = 112
        /// A batch norm after every conv. Plain C3D has ten layers and no normalisation: from
        /// scratch on small data its loss can stay at ln(classes) (see bench/c3d_reference.py).
        public var batchNorm = false
        public init() {}
    }

    public let config: Config
    let convs: [Conv]
    /// One per conv with `batchNorm`, else empty.
    let norms: [BatchNorm]
    let fc6: Linear, fc7: Linear
    let head: ClassifierHead
    /// fc6 and fc7's dropout (`config.dropout` unless a job sets `model.dropout`).
    var hiddenDropout: Float

    public override var classifierDropout: Float {
        get { hiddenDropout }
        set { hiddenDropout = newValue }
    }

    static let names = ["conv1a", "conv2a", "conv3a", "conv3b", "conv4a", "conv4b", "conv5a", "conv5b"]

    public init(_ config: Config, using rng: inout Xoshiro) {
        self.config = config
        hiddenDropout = config.dropout
        let c = [64, 128, 256, 256, 512, 512, 512, 512].map { max(1, Int((Float($0) * config.width).rounded())) }
        var cin = 3
        var convs: [Conv] = []
        for cout in c {
            convs.append(Conv(cin, cout, kernelSize: [3, 3, 3], padding: [1, 1, 1], bias: !config.batchNorm, using: &rng))
            cin = cout
        }
        self.convs = convs
        norms = config.batchNorm ? c.map { BatchNorm($0) } : []
        // T: ÷1 then ÷2 four times; H, W: ÷2 four times, then (x + 2)/2 at pool5.
        let t = max(1, config.frames / 16), s = (config.size / 16 + 2) / 2
        fc6 = Linear(c[7] * t * s * s, config.hidden, using: &rng)
        fc7 = Linear(config.hidden, config.hidden, using: &rng)
        head = ClassifierHead(features: config.hidden, classes: config.classes, dropout: 0, using: &rng)
        super.init()
        for (i, (name, conv)) in zip(Self.names, convs).enumerated() {
            if config.batchNorm {
                register(conv, at: name + ".conv")
                register(norms[i], at: name + ".bn")
            } else {
                registerModule(name, conv)
            }
        }
        registerModule("fc6", fc6)
        registerModule("fc7", fc7)
        head.register(on: self, at: "fc8")
        // MMAction2's C3D initialisation (its backbone's init_std 0.005, I3DHead's 0.01): He-normal
        // (fan-out, ReLU) convs, N(0, 0.005²) fc6 and fc7, N(0, 0.01²) fc8, zero biases.
        for conv in convs {
            Init.kaimingNormal(conv.weight, mode: .fanOut, nonlinearity: .relu, using: &rng)
            if let b = conv.bias { Init.constant(b, 0) }
        }
        for (fc, std) in [(fc6, Float(0.005)), (fc7, 0.005), (head.fc, 0.01)] {
            Init.normal(fc.weight, std: std, using: &rng)
            if let b = fc.bias { Init.constant(b, 0) }
        }
    }

    /// [N, 3, T, H, W] → [N, hidden] (fc7's activations).
    public override func features(_ x: Tensor) -> Tensor {
        ensure(x.rank == 5 && x.shape[1] == 3, "C3D: input \(x.shape) should be [N, 3, T, H, W]")
        var y = x
        for (i, conv) in convs.enumerated() {
            y = conv.forward(y, norm: norms.isEmpty ? nil : norms[i], relu: true)
            switch i {
            case 0: y = maxPool(y, kernel: [1, 2, 2], stride: [1, 2, 2])
            case 1, 3, 5: y = maxPool(y, kernel: [2, 2, 2], stride: [2, 2, 2])
            case 7: y = maxPool(y, kernel: [2, 2, 2], stride: [2, 2, 2], padding: [0, 1, 1])
            default: break
            }
        }
        y = y.flattened(from: 1)
        y = fc6(y).relu().dropout(p: hiddenDropout, training: isTraining)
        return fc7(y).relu().dropout(p: hiddenDropout, training: isTraining)
    }

    /// [N, 3, T, H, W] → [N, classes]
    public override func forward(_ x: Tensor) -> Tensor { head(features(x), training: isTraining) }

    /// The fully connected layers (C3D) or the position and time embeddings (TimeSformer) fix the clip's size.
    public override func inputProblem(_ x: Tensor) -> String? {
        (x.shape[2], x.shape[3], x.shape[4]) == (config.frames, config.size, config.size)
            ? nil : "clips [N, 3, \(config.frames), \(config.size), \(config.size)]"
    }
}
