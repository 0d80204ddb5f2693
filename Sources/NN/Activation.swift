import Engine

// Parameter-free layers. Each keeps the input shape unless stated.

public final class ReLU: Layer {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.relu() }
}

public final class GELU: Layer {
    public let approximate: Tensor.GELUApproximation

    public init(approximate: Tensor.GELUApproximation = .none) {
        self.approximate = approximate
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { x.gelu(approximate: approximate) }
}

public final class Sigmoid: Layer {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.sigmoid() }
}

public final class Identity: Layer {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x }
}

/// Merges axes `startAxis...endAxis`: [N, C, T, H, W] → [N, C·T·H·W] with the defaults (1, -1).
public final class Flatten: Layer {
    public let startAxis: Int
    public let endAxis: Int

    public init(startAxis: Int = 1, endAxis: Int = -1) {
        self.startAxis = startAxis
        self.endAxis = endAxis
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { x.flattened(from: startAxis, to: endAxis) }
}
