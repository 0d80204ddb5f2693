import Engine

/// Convolution over 1, 2 or 3 spatial dims; the rank is the length of `kernelSize`.
///
/// Input [N, Cin, *S] (e.g. [N, C, T, H, W] for video), output [N, Cout, *S′] with, per spatial dim,
/// S′ = ⌊(S + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1.
///
/// Keys `weight` [Cout, Cin/groups, *kernel] and `bias` [Cout]. Initialised as torch.nn.ConvNd:
/// U(−1/√fanIn, 1/√fanIn) with fanIn = Cin/groups · ∏kernel.
public final class Conv: Layer {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: [Int]
    public let padding: [Int]
    public let dilation: [Int]
    public let groups: Int

    /// `stride`, `padding` and `dilation` default to 1, 0 and 1 in every spatial dim.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: [Int], stride: [Int]? = nil, padding: [Int]? = nil,
                dilation: [Int]? = nil, groups: Int = 1, bias: Bool = true, using rng: inout Xoshiro) {
        let rank = kernelSize.count
        ensure((1...3).contains(rank), "Conv: kernelSize \(kernelSize) must have 1 to 3 entries")
        ensure(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv: channels \(inChannels) → \(outChannels) are not divisible by groups \(groups)")
        self.stride = stride ?? Array(repeating: 1, count: rank)
        self.padding = padding ?? Array(repeating: 0, count: rank)
        self.dilation = dilation ?? Array(repeating: 1, count: rank)
        for (label, v) in [("stride", self.stride), ("padding", self.padding), ("dilation", self.dilation)] {
            ensure(v.count == rank, "Conv: \(label) \(v) needs \(rank) entries to match kernelSize \(kernelSize)")
        }
        self.groups = groups
        weight = Tensor.zeros([outChannels, inChannels / groups] + kernelSize)
        self.bias = bias ? Tensor.zeros([outChannels]) : nil
        super.init()
        registerParameter("weight", weight)
        if let b = self.bias { registerParameter("bias", b) }
        resetParameters(fanIn: Init.fans(weight.shape).fanIn, weight: weight, bias: self.bias, using: &rng)
    }

    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: [Int], stride: [Int]? = nil,
                            padding: [Int]? = nil, dilation: [Int]? = nil, groups: Int = 1, bias: Bool = true) {
        var rng = GlobalRandom.fork()
        self.init(inChannels, outChannels, kernelSize: kernelSize, stride: stride, padding: padding,
                  dilation: dilation, groups: groups, bias: bias, using: &rng)
    }

    public var kernelSize: [Int] { Array(weight.shape.dropFirst(2)) }
    public var outChannels: Int { weight.shape[0] }
    public var inChannels: Int { weight.shape[1] * groups }

    public override func forward(_ x: Tensor) -> Tensor {
        // [N, Cin, *S] → [N, Cout, *S′]
        conv(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

extension Conv {
    /// conv → `norm` (→ + `residual`) (→ ReLU). Under `GradMode.noGrad`, with a norm that uses its
    /// running statistics (evaluation mode), the norm is folded into the weights and the rest runs
    /// in the convolution's output pass (`convInference`); otherwise, and while a trace records,
    /// the ops run one by one.
    public func forward(_ x: Tensor, norm: BatchNorm?, residual: Tensor? = nil, relu: Bool = false) -> Tensor {
        if !GradMode.isEnabled, !Trace.isRecording, norm?.isFoldable ?? true {
            let folded = norm?.foldedScaleShift
            // [N, Cin, *S] → [N, Cout, *S′]
            return convInference(x, weight: weight, bias: bias, scale: folded?.scale, shift: folded?.shift, residual: residual,
                                 relu: relu, stride: stride, padding: padding, dilation: dilation, groups: groups)
        }
        return Conv.finish(self(x), norm: norm, residual: residual, relu: relu)
    }

    /// `norm` (→ + `residual`) (→ ReLU) on a convolution's output, op by op: what the fused
    /// inference path does in the convolution's output pass.
    public static func finish(_ y: Tensor, norm: BatchNorm?, residual: Tensor?, relu: Bool) -> Tensor {
        var y = y
        if let norm { y = norm(y) }
        if let residual { y = y + residual }
        return relu ? y.relu() : y
    }
}
