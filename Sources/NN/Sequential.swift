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

    /// Shape: whatever the first layer takes → whatever the last layer gives.
    public override func forward(_ x: Tensor) -> Tensor {
        layers.reduce(x) { y, layer in layer(y) }
    }
}
