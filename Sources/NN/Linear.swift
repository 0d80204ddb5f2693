import Engine

/// y = x · Wᵀ + b over the last axis: [..., in] → [..., out].
///
/// Keys `weight` [out, in] and `bias` [out]. Initialised as torch.nn.Linear: both U(−1/√in, 1/√in)
/// (Kaiming-uniform with a = √5 for the weight).
public final class Linear: Layer {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, using rng: inout Xoshiro) {
        weight = Tensor.zeros([outFeatures, inFeatures])
        self.bias = bias ? Tensor.zeros([outFeatures]) : nil
        super.init()
        registerParameter("weight", weight)
        if let b = self.bias { registerParameter("bias", b) }
        resetParameters(fanIn: inFeatures, weight: weight, bias: self.bias, using: &rng)
    }

    public convenience init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        var rng = GlobalRandom.fork()
        self.init(inFeatures, outFeatures, bias: bias, using: &rng)
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public override func forward(_ x: Tensor) -> Tensor {
        linear(x, weight: weight, bias: bias)  // [..., in] → [..., out]
    }

    /// GELU(forward(x)) as one op (`linearGELU`): in place on the product when there is no graph.
    public func forwardGELU(_ x: Tensor) -> Tensor {
        linearGELU(x, weight: weight, bias: bias)  // [..., in] → [..., out]
    }
}

/// PyTorch's default for Linear and ConvNd: weight Kaiming-uniform with a = √5, which is
/// U(−1/√fanIn, 1/√fanIn), and bias U(−1/√fanIn, 1/√fanIn).
func resetParameters(fanIn: Int, weight: Tensor, bias: Tensor?, using rng: inout Xoshiro) {
    Init.kaimingUniform(weight, nonlinearity: .leakyReLU(slope: Float(5).squareRoot()), using: &rng)
    if let bias, fanIn > 0 {
        let bound = 1 / Float(fanIn).squareRoot()
        Init.uniform(bias, low: -bound, high: bound, using: &rng)
    }
}
