import Engine
import NN

/// A zoo model: clips [N, C, T, H, W] in, class logits [N, classes] out.
open class VideoModel: Layer {
    /// The classifier heads registered on this model (one, for every zoo model).
    var heads: [ClassifierHead] = []

    /// Features before the classifier ([N, F]); what inflation tests and linear probes look at.
    open func features(_ x: Tensor) -> Tensor { fatalError("\(type(of: self)) must override features(_:)") }

    /// The dropout rate before the classifier (a job's `model.dropout`); C3D's applies to fc6 and fc7.
    open var classifierDropout: Float {
        get { heads.first?.dropout ?? 0 }
        set { for head in heads { head.dropout = newValue } }
    }
}

/// torchvision's initialisation of ResNets: He-normal (fan-out, ReLU) convs, BN γ = 1, β = 0,
/// classifier N(0, 0.01²) with zero bias.
func torchvisionInit(_ model: Module, using rng: inout Xoshiro) {
    for (_, module) in model.namedModules() {
        if let conv = module as? Conv {
            Init.kaimingNormal(conv.weight, mode: .fanOut, nonlinearity: .relu, using: &rng)
            if let b = conv.bias { Init.constant(b, 0) }
        } else if let bn = module as? BatchNorm {
            if let w = bn.weight { Init.constant(w, 1) }
            if let b = bn.bias { Init.constant(b, 0) }
        } else if let fc = module as? Linear {
            Init.normal(fc.weight, std: 0.01, using: &rng)
            if let b = fc.bias { Init.constant(b, 0) }
        }
    }
}

/// The classifier of a pooled feature vector: dropout → fully connected. Its `fc` is registered
/// on the model itself under the reference's key (`fc` in torchvision, `blocks.5.proj` in
/// pytorchvideo, `fc8` in C3D).
final class ClassifierHead {
    var dropout: Float
    let fc: Linear

    init(features: Int, classes: Int, dropout p: Float, using rng: inout Xoshiro) {
        dropout = p
        fc = Linear(features, classes, using: &rng)
    }

    func register(on model: Module, at key: String) {
        model.register(fc, at: key)
        (model as? VideoModel)?.heads.append(self)
    }

    /// [N, F] → [N, classes]; dropout only while `training`.
    func callAsFunction(_ x: Tensor, training: Bool) -> Tensor { fc(x.dropout(p: dropout, training: training)) }
}

/// TSN's segmental consensus: [N·K, F] per-segment features → [N, F], their average.
func averageConsensus(_ x: Tensor, segments: Int) -> Tensor {
    x.reshaped([x.shape[0] / segments, segments, -1]).mean(axis: 1)
}
