import Engine
import NN

/// A zoo model: clips [N, C, T, H, W] in, class logits [N, classes] out.
open class VideoModel: Layer {
    /// The classifier heads registered on this model (one, for every zoo model).
    var heads: [ClassifierHead] = []

    /// Features before the classifier ([N, F]); what inflation tests and linear probes look at.
    open func features(_ x: Tensor) -> Tensor { fatalError("\(type(of: self)) must override features(_:)") }

    /// Channels per input frame: 3 for RGB; flow and two-stream models say theirs.
    open var inputChannels: Int { 3 }

    /// Checks a batch of views before the forward pass, so that a wrong input is a typed error at
    /// the model's boundary rather than a failed invariant deep in an op.
    public func check(input x: Tensor) throws(ModelInputError) {
        let model = String(describing: type(of: self))
        guard x.rank == 5, x.shape[1] == inputChannels, x.shape.allSatisfy({ $0 > 0 }) else {
            throw ModelInputError(model: model, shape: x.shape, expected: "views [N, \(inputChannels), T, H, W] (N, T, H, W > 0)")
        }
        if let expected = inputProblem(x) { throw ModelInputError(model: model, shape: x.shape, expected: expected) }
    }

    /// The FLOPs of one forward pass on `x`, counted from shapes (fvcore's convention: one
    /// multiply-add is one FLOP) without doing the arithmetic. `motive flops`, `motive models`
    /// and `motive bench` all count through this.
    public func flops(input x: Tensor) -> FLOPCounter {
        FLOPs.count(dryRun: true) { _ = self(x) }
    }

    /// What this model needs of a rank-5 input with the right channels beyond that (its
    /// segments, or a fixed clip size), said as the expected shape; nil when `x` fits.
    open func inputProblem(_ x: Tensor) -> String? { nil }

    /// The main output and any named streams' logits, each [N, classes]. A two-stream model
    /// reports its `rgb` and `flow` streams beside their fusion; other models have no streams.
    open func outputs(_ x: Tensor) -> ModelOutputs { ModelOutputs(main: self(x)) }

    /// How a model of several streams fuses their scores; models of one stream ignore it.
    open func configure(fusion: TwoStream.Fusion) {}

    /// Starts the model from an image model's weights (a 2D ResNet inflated or reused, a ViT):
    /// returns the keys left as initialised. Models without such a start throw.
    open func importImageWeights(_ state: [String: Tensor]) throws -> [String] {
        throw ImageWeightsError.unsupported(String(describing: type(of: self)))
    }

    /// The dropout rate before the classifier (a job's `model.dropout`); C3D's applies to fc6 and fc7.
    open var classifierDropout: Float {
        get { heads.first?.dropout ?? 0 }
        set { for head in heads { head.dropout = newValue } }
    }
}

/// A model's logits: the main output and named streams'.
public struct ModelOutputs {
    public var main: Tensor
    public var streams: [(name: String, logits: Tensor)]

    public init(main: Tensor, streams: [(name: String, logits: Tensor)] = []) { (self.main, self.streams) = (main, streams) }
}

/// An input whose shape the model cannot take.
public struct ModelInputError: Error, CustomStringConvertible, Equatable {
    public let model: String
    public let shape: [Int]
    /// The input the model takes, in N, C, T, H, W.
    public let expected: String

    public var description: String { "\(model) takes \(expected), got \(shape)" }
}

public enum ImageWeightsError: Error, CustomStringConvertible, Equatable {
    case unsupported(String)
    case notAResNet(depth: Int, width: Int)

    public var description: String {
        switch self {
        case .unsupported(let model):
            "\(model) has no image-model start; inflate_from works for the TSN/TSM presets (a 2D ResNet; cross-modality for flow), "
                + "the Slow/C2D/I3D presets (a 2D ResNet) and TimeSformer (a timm ViT)"
        case .notAResNet(let depth, let width):
            "it is not a ResNet of \(depth) layers and width \(width) (torchvision keys: conv1, bn1, layer1…4, fc)"
        }
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
