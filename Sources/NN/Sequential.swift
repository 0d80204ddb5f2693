import Engine

/// Layers applied in order. Children are named "0", "1", …, so keys read `0.weight`, `1.running_mean`,
/// like torch.nn.Sequential.
public final class Sequential: Layer {
    public let layers: [Layer]

    public init(_ layers: [Layer]) {
        self.layers = layers
        super.init()
        for (i, layer) in layers.enumerated() { registerModule(String(i), layer) }
    }

    public convenience init(_ layers: Layer...) { self.init(layers) }

    public var count: Int { layers.count }
    public subscript(index: Int) -> Layer { layers[index] }

    /// Shape: whatever the first layer takes → whatever the last layer gives. Under
    /// `GradMode.noGrad`, a `Conv` followed by an evaluation-mode `BatchNorm` and/or a `ReLU` runs
    /// as one fused convolution (`Conv.forward(_:norm:relu:)`).
    public override func forward(_ x: Tensor) -> Tensor {
        guard !GradMode.isEnabled else { return layers.reduce(x) { y, layer in layer(y) } }
        var y = x, i = 0
        while i < layers.count {
            guard let conv = layers[i] as? Conv else {
                y = layers[i](y)
                i += 1
                continue
            }
            var next = i + 1
            let norm = next < layers.count ? (layers[next] as? BatchNorm).flatMap { $0.isFoldable ? $0 : nil } : nil
            if norm != nil { next += 1 }
            let relu = next < layers.count && layers[next] is ReLU
            if relu { next += 1 }
            y = conv.forward(y, norm: norm, relu: relu)
            i = next
        }
        return y
    }
}
